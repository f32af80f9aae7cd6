/* aj_gen.c - a deterministic synthetic carrier workload with a ground truth of its errors.
 *
 * The generator prices every record with its own arithmetic (gen_charge below), written from
 * docs/rating.md and not from rating/: it walks a record increment by increment (the engine
 * takes runs of increments in closed form), finds bands with its own fixed offsets of the two
 * time zones it uses (the engine reads tzdata) and keeps its own allowance and discount
 * counters. So the ground truth checks the engine rather than repeating it. Errors are
 * injected only where the documented classification order names exactly the injected reason
 * (see gen_explains), so precision and recall can reach 100% per class.
 */
#include "aj_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_ingest.h"

/* ---- deterministic randomness: splitmix64 ---- */

static uint64_t gen_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t gen_below(uint64_t *s, int64_t n) {
    return n <= 1 ? 0 : (int64_t)(gen_next(s) % (uint64_t)n);
}

static int gen_chance_ppm(uint64_t *s, int64_t ppm) {
    return gen_below(s, 1000000) < ppm;
}

/* ---- time: the two zones of the catalogue, by their 2026 rules ---- */

#define GEN_DAY 86400000LL
#define GEN_HOUR 3600000LL
#define GEN_CYCLE "2026-10"
#define GEN_OCT1 20727                            /* 2026-10-01, days since 1970-01-01 */
#define GEN_NOV1 (GEN_OCT1 + 31)
#define GEN_CONTRACT_START 1767225600000LL       /* 2026-01-01T00:00:00Z */
#define GEN_LISBON_WINTER 1792890000000LL        /* 2026-10-25T01:00:00Z: WEST (+1) -> WET (0) */

enum { TZ_SAO_PAULO, TZ_LISBON };
static const char *const gen_tz_names[] = {"America/Sao_Paulo", "Europe/Lisbon"};

/* UTC offset in ms at t, valid for 2026-09..2026-12 (Sao Paulo has had no DST since 2019). */
static int64_t gen_offset(int tz, int64_t t) {
    if (tz == TZ_SAO_PAULO) return -3 * GEN_HOUR;
    return t < GEN_LISBON_WINTER ? GEN_HOUR : 0;
}

static int64_t gen_floor_div(int64_t a, int64_t b) {
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* UTC instant of local midnight starting local day d. */
static int64_t gen_midnight(int tz, int64_t d) {
    return d * GEN_DAY - gen_offset(tz, d * GEN_DAY - GEN_HOUR);
}

static int64_t gen_local_day(int tz, int64_t t) {
    return gen_floor_div(t + gen_offset(tz, t), GEN_DAY);
}

/* ---- the carrier's catalogue ---- */

enum { Z_LOCAL, Z_MOBILE, Z_NATIONAL, Z_INTL_A, Z_INTL_B, Z_OTHER, Z_COUNT };
enum { B_PEAK, B_WEEKEND, B_OFFPEAK, B_COUNT };   /* the contract's bands in order, default last */

static const char *const gen_zone_names[Z_COUNT] = {"LOCAL", "MOBILE", "NATIONAL", "INTL_A", "INTL_B", "OTHER"};
static const char *const gen_band_names[B_COUNT] = {"PEAK", "WEEKEND", "OFFPEAK"};
static const char *const gen_zone_prefixes[Z_COUNT][6] = {
    {"5511", "5521", NULL},
    {"55119", "55219", "55319", NULL},
    {"55", NULL},
    {"1", "44", "33", "34", "49", NULL},
    {"86", "91", "234", "880", NULL},
    {NULL},   /* default zone */
};
/* How often each zone is called, per thousand. */
static const int gen_zone_weight[Z_COUNT] = {350, 250, 200, 100, 50, 50};

/* Band of instant t: holidays (WEEKEND), then PEAK MON-FRI 08:00-20:00, WEEKEND SAT-SUN, else
 * OFFPEAK. */
static int gen_band(int tz, int64_t t) {
    int64_t lt = t + gen_offset(tz, t), day = gen_floor_div(lt, GEN_DAY);
    int64_t minute = (lt - day * GEN_DAY) / 60000;
    int weekday = (int)(((day + 3) % 7 + 7) % 7) + 1;   /* 1970-01-01 was a Thursday (4) */
    int64_t holiday = tz == TZ_SAO_PAULO ? GEN_OCT1 + 11 : GEN_OCT1 + 4;   /* Oct 12 / Oct 5 */
    if (day == holiday) return B_WEEKEND;
    if (weekday <= 5 && minute >= 480 && minute < 1200) return B_PEAK;
    if (weekday >= 6) return B_WEEKEND;
    return B_OFFPEAK;
}

typedef struct gen_rate {
    int present;
    aj_money connect_fee, price;
    int64_t rate_unit, first, next;
    int64_t tier_start;          /* 0: no second tier */
    aj_money tier_price;
    int64_t tier_inc;
    aj_money min_charge, max_charge;
    int32_t decimals;
    aj_rounding rounding;
} gen_rate;

/* Plan templates scale prices by num/den (exact on the base prices). */
static const int64_t gen_scale[3][2] = {{1, 1}, {4, 5}, {5, 4}};

/* The rate of (service, zone, band) in template tmpl, contract version `version`. Version 2
 * lowers three prices by 1/6; PEAK voice costs 3/2 of the rest; MOBILE and NATIONAL voice
 * halve their price from the tenth minute on. */
static gen_rate gen_rate_of(int tmpl, int version, aj_service s, int z, int band) {
    static const aj_money voice_price[Z_COUNT] = {90000, 300000, 120000, 600000, 1200000, 2000000};
    static const aj_money voice_fee[Z_COUNT] = {0, 20000, 10000, 50000, 100000, 0};
    static const aj_money sms_price[Z_COUNT] = {30000, 50000, 60000, 150000, 250000, 300000};
    gen_rate r;
    memset(&r, 0, sizeof(r));
    r.present = 1;
    r.rate_unit = r.first = r.next = 1;
    r.decimals = 6;
    r.rounding = AJ_ROUND_HALF_UP;
    switch (s) {
    case AJ_SERVICE_VOICE:
        r.connect_fee = voice_fee[z] * gen_scale[tmpl][0] / gen_scale[tmpl][1];
        r.price = voice_price[z] * gen_scale[tmpl][0] / gen_scale[tmpl][1];
        if (version >= 2 && (z == Z_NATIONAL || z == Z_MOBILE)) r.price = r.price * 5 / 6;
        if (band == B_PEAK) r.price = r.price * 3 / 2;
        r.rate_unit = 60;
        r.first = z >= Z_INTL_A ? 60 : 30;
        r.next = z >= Z_INTL_A ? 60 : 6;
        if (z == Z_MOBILE || z == Z_NATIONAL) {
            r.tier_start = 600;
            r.tier_price = r.price / 2;
            r.tier_inc = 60;
        }
        if (z == Z_INTL_B) r.min_charge = 1500000;
        r.decimals = 2;
        break;
    case AJ_SERVICE_SMS:
        r.price = sms_price[z] * gen_scale[tmpl][0] / gen_scale[tmpl][1];
        if (version >= 2 && z == Z_NATIONAL) r.price = r.price * 5 / 6;
        break;
    case AJ_SERVICE_MMS:
        r.price = 200000;
        break;
    case AJ_SERVICE_DATA:
        if (z != Z_OTHER) r.present = 0;
        r.price = 500000;
        r.rate_unit = 1048576;
        r.first = r.next = 102400;
        r.max_charge = 15000000;
        r.decimals = 2;
        r.rounding = AJ_ROUND_HALF_EVEN;
        break;
    default:
        r.present = 0;
    }
    return r;
}

/* Allowance, discount and promotions of the catalogue. */
#define GEN_ALLOW_VOICE 3600   /* FRANQUIA: seconds on LOCAL, MOBILE, NATIONAL (templates 1, 2) */
#define GEN_ALLOW_SMS 50       /* SMS50: messages (template 0) */
#define GEN_BONUS 300          /* BONUS: free voice seconds, Oct 10 on, priority 2 */

static int gen_allowance_applies(int tmpl, aj_service s, int z) {
    if (tmpl == 0) return s == AJ_SERVICE_SMS;
    return s == AJ_SERVICE_VOICE && z <= Z_NATIONAL;
}

static int64_t gen_allowance_units(int tmpl) {
    return tmpl == 0 ? GEN_ALLOW_SMS : GEN_ALLOW_VOICE;
}

enum { P_NONE = -1, P_LOCAL_PROMO, P_BONUS, P_ROSA };

/* The promotion in force for a record (highest priority among those that apply). */
static int gen_promotion(int tz, aj_service s, int z, int64_t start) {
    int64_t oct10 = gen_midnight(tz, GEN_OCT1 + 9), oct16 = gen_midnight(tz, GEN_OCT1 + 15);
    int64_t oct21 = gen_midnight(tz, GEN_OCT1 + 20), oct1 = gen_midnight(tz, GEN_OCT1);
    if (s == AJ_SERVICE_VOICE && start >= oct10) return P_BONUS;   /* priority 2 beats LOCAL_PROMO */
    if (s == AJ_SERVICE_VOICE && z == Z_LOCAL && start >= oct1 && start < oct16) return P_LOCAL_PROMO;
    if (s == AJ_SERVICE_SMS && start >= oct10 && start < oct21) return P_ROSA;
    return P_NONE;
}

/* The one-time charge price list (docs/rating.md, "One-time charges"): version 2 lowers the
 * SIM swap. GEN_OTC_UNLISTED is a code no contract lists (OTC_NOT_IN_CONTRACT). */
enum { O_ACTIVATION, O_SIM_SWAP, O_PORTABILITY, O_COUNT };
static const char *const gen_otc_codes[O_COUNT] = {"ACTIVATION", "SIM_SWAP", "PORTABILITY"};
static const char *const gen_otc_texts[O_COUNT] = {"Line activation", "SIM card replacement", "Number portability"};
#define GEN_OTC_UNLISTED "PREMIUM_SUPPORT"
#define GEN_OTC_UNLISTED_AMOUNT 9900000

/* Price of code o in template tmpl, contract version `version` (1 or 2). */
static aj_money gen_otc_price(int tmpl, int version, int o) {
    static const aj_money base[O_COUNT] = {49900000, 25000000, 15000000};
    aj_money p = base[o] * gen_scale[tmpl][0] / gen_scale[tmpl][1];
    if (o == O_SIM_SWAP && version >= 2) p = p * 4 / 5;
    return p;
}

/* ---- accounts ---- */

#define GEN_MAX_LINES 4

typedef struct gen_line {
    aj_money price;
    int32_t quantity;
    int64_t from, to;   /* activation / deactivation, INT64_MIN / INT64_MAX when none */
} gen_line;

typedef struct gen_account {
    char id[AJ_KEY_LEN + 1];
    char currency[AJ_CURRENCY_LEN + 1];
    int tmpl, tz, split;
    int64_t start_ms;       /* version 1 from here */
    int64_t amend_ms;       /* version 2 from here; 0 when none */
    int64_t terminate_ms;   /* a TERMINATED version from here; 0 when none */
    int64_t period_start, period_end;
    int n_lines;
    gen_line lines[GEN_MAX_LINES];
    /* what the account-cycle has consumed, by the generator's own count */
    int64_t allowance_used, bonus_used;
    aj_money discount_used;
    aj_money legacy_base;   /* what the legacy chain charged on accepted records: its tax base */
} gen_account;

static void gen_account_make(gen_account *a, int64_t i, uint64_t *rng) {
    memset(a, 0, sizeof(*a));
    snprintf(a->id, sizeof(a->id), "ACC%06lld", (long long)i);
    a->tmpl = (int)gen_below(rng, 3);
    a->tz = gen_below(rng, 4) == 0 ? TZ_LISBON : TZ_SAO_PAULO;
    memcpy(a->currency, "BRL", 4);   /* one carrier's currency, whatever the account's time zone */
    a->split = (int)(i & 1);
    a->period_start = gen_midnight(a->tz, GEN_OCT1);
    a->period_end = gen_midnight(a->tz, GEN_NOV1);
    a->start_ms = GEN_CONTRACT_START;
    int64_t kind = gen_below(rng, 100);
    if (kind < 2) {
        a->start_ms = gen_midnight(a->tz, GEN_OCT1 + 7);   /* a contract that starts on Oct 8 */
    } else if (kind < 4) {
        a->terminate_ms = gen_midnight(a->tz, GEN_OCT1 + 19 + gen_below(rng, 5));
    } else if (kind < 54) {
        a->amend_ms = gen_midnight(a->tz, GEN_OCT1 + 4 + gen_below(rng, 20)) + gen_below(rng, 86400) * 1000;
    }
    a->n_lines = 1 + (int)gen_below(rng, GEN_MAX_LINES);
    for (int l = 0; l < a->n_lines; l++) {
        gen_line *ln = &a->lines[l];
        ln->price = (29900000 + 10000000 * gen_below(rng, 5)) * gen_scale[a->tmpl][0] / gen_scale[a->tmpl][1];
        ln->quantity = l == 0 ? 1 + (int32_t)gen_below(rng, 3) : 1;
        ln->from = INT64_MIN;
        ln->to = INT64_MAX;
        int64_t d = gen_below(rng, 100);
        if (d < 8)   /* activated during the cycle, at a random instant */
            ln->from = a->period_start + (3 + gen_below(rng, 25)) * GEN_DAY + gen_below(rng, 86400) * 1000;
        else if (d < 12)   /* deactivated during the cycle */
            ln->to = a->period_start + (3 + gen_below(rng, 25)) * GEN_DAY + gen_below(rng, 86400) * 1000;
        else if (d < 15)   /* deactivated before it: legacy chains keep charging such lines */
            ln->to = a->period_start - (1 + gen_below(rng, 20)) * GEN_DAY;
        if (a->start_ms > GEN_CONTRACT_START && ln->from < a->start_ms) ln->from = a->start_ms;
        if (a->terminate_ms && ln->to > a->terminate_ms) ln->to = a->terminate_ms;
        if (ln->to <= ln->from) ln->from = INT64_MIN;   /* gone before it would have started */
    }
}

static char *gen_strdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static char **gen_names(const int *zones, int n) {
    char **v = calloc((size_t)n + 1, sizeof(*v));
    if (!v) abort();
    for (int i = 0; i < n; i++) v[i] = gen_strdup(gen_zone_names[zones[i]]);
    return v;
}

/* Contract version `version` of an account (3: the TERMINATED one), as the domain struct. */
static aj_contract *gen_contract(const gen_account *a, int version) {
    static const int domestic[] = {Z_LOCAL, Z_MOBILE, Z_NATIONAL};
    static const int local[] = {Z_LOCAL};
    aj_contract *c = calloc(1, sizeof(*c));
    char buf[AJ_ID_LEN + 1];
    if (!c) abort();
    aj_contract_init(c);
    c->account = gen_strdup(a->id);
    snprintf(buf, sizeof(buf), "CT-%s", a->id);
    c->contract_id = gen_strdup(buf);
    c->version = version;
    int rated = version == 3 ? (a->amend_ms ? 2 : 1) : version;
    c->status = version == 3 ? AJ_CONTRACT_TERMINATED : AJ_CONTRACT_ACTIVE;
    c->effective_from = version == 1 ? a->start_ms : version == 2 ? a->amend_ms : a->terminate_ms;
    c->effective_to = INT64_MAX;
    if (version == 1 && a->amend_ms) c->effective_to = a->amend_ms;
    if (version < 3 && a->terminate_ms) c->effective_to = a->terminate_ms;
    memcpy(c->currency, a->currency, sizeof(c->currency));
    c->time_zone = gen_strdup(gen_tz_names[a->tz]);
    c->default_zone = gen_strdup(gen_zone_names[Z_OTHER]);
    c->band_mode = a->split ? AJ_BAND_SPLIT : AJ_BAND_AT_START;
    c->default_band = gen_strdup(gen_band_names[B_OFFPEAK]);

    if (!(c->zones = calloc(Z_OTHER, sizeof(*c->zones)))) abort();
    for (int z = 0; z < Z_OTHER; z++) {
        aj_zone *zone = &c->zones[c->n_zones++];
        zone->name = gen_strdup(gen_zone_names[z]);
        if (!(zone->prefixes = calloc(6, sizeof(char *)))) abort();
        for (int p = 0; gen_zone_prefixes[z][p]; p++) zone->prefixes[zone->n_prefixes++] = gen_strdup(gen_zone_prefixes[z][p]);
    }
    if (!(c->bands = calloc(2, sizeof(*c->bands)))) abort();
    c->n_bands = 2;
    c->bands[B_PEAK].name = gen_strdup("PEAK");
    if (!(c->bands[B_PEAK].windows = calloc(1, sizeof(aj_window)))) abort();
    c->bands[B_PEAK].windows[0] = (aj_window){0x1f, 480, 1200};
    c->bands[B_PEAK].n_windows = 1;
    c->bands[B_WEEKEND].name = gen_strdup("WEEKEND");
    if (!(c->bands[B_WEEKEND].windows = calloc(1, sizeof(aj_window)))) abort();
    c->bands[B_WEEKEND].windows[0] = (aj_window){0x60, 0, 1440};
    c->bands[B_WEEKEND].n_windows = 1;
    if (!(c->bands[B_WEEKEND].holidays = calloc(1, sizeof(int64_t)))) abort();
    c->bands[B_WEEKEND].holidays[0] = a->tz == TZ_SAO_PAULO ? GEN_OCT1 + 11 : GEN_OCT1 + 4;
    c->bands[B_WEEKEND].n_holidays = 1;

    if (!(c->rates = calloc((size_t)AJ_SERVICE__COUNT * Z_COUNT * 2, sizeof(*c->rates)))) abort();
    for (int s = 0; s < AJ_SERVICE__COUNT; s++)
        for (int z = 0; z < Z_COUNT; z++)
            for (int peak = 0; peak < 2; peak++) {
                if (peak && s != AJ_SERVICE_VOICE) continue;
                gen_rate g = gen_rate_of(a->tmpl, rated, (aj_service)s, z, peak ? B_PEAK : B_OFFPEAK);
                if (!g.present) continue;
                aj_rate *r = &c->rates[c->n_rates++];
                aj_rate_init(r);
                r->service = (aj_service)s;
                r->zone = gen_strdup(gen_zone_names[z]);
                r->band = peak ? gen_strdup("PEAK") : NULL;
                r->connect_fee = g.connect_fee;
                r->price = g.price;
                r->rate_unit = g.rate_unit;
                r->first_increment = g.first;
                r->next_increment = g.next;
                if (g.tier_start) {
                    if (!(r->tiers = calloc(1, sizeof(*r->tiers)))) abort();
                    r->tiers[0] = (aj_tier){g.tier_start, g.tier_price, g.tier_inc};
                    r->n_tiers = 1;
                }
                r->min_charge = g.min_charge;
                r->max_charge = g.max_charge;
                r->decimals = g.decimals;
                r->rounding = g.rounding;
            }
    if (!(c->allowances = calloc(1, sizeof(*c->allowances)))) abort();
    c->n_allowances = 1;
    c->allowances[0].name = gen_strdup(a->tmpl == 0 ? "SMS50" : "FRANQUIA");
    c->allowances[0].service = a->tmpl == 0 ? AJ_SERVICE_SMS : AJ_SERVICE_VOICE;
    c->allowances[0].units = gen_allowance_units(a->tmpl);
    if (a->tmpl) {
        c->allowances[0].zones = gen_names(domestic, 3);
        c->allowances[0].n_zones = 3;
    }
    if (!(c->discounts = calloc(1, sizeof(*c->discounts)))) abort();
    c->n_discounts = 1;
    if (a->tmpl == 2)
        c->discounts[0] = (aj_discount){gen_strdup("FIDELIDADE"), AJ_SERVICE_VOICE, NULL, 0, 100000, 3000000};
    else
        c->discounts[0] = (aj_discount){gen_strdup("DADOS5"), AJ_SERVICE_DATA, NULL, 0, 50000, 0};
    if (!(c->promotions = calloc(3, sizeof(*c->promotions)))) abort();
    c->n_promotions = 3;
    c->promotions[0] = (aj_promotion){gen_strdup("LOCAL_PROMO"), AJ_SERVICE_VOICE, gen_names(local, 1), 1,
                                      gen_midnight(a->tz, GEN_OCT1), gen_midnight(a->tz, GEN_OCT1 + 15),
                                      AJ_PROMO_PRICE, 50000, 1};
    c->promotions[1] = (aj_promotion){gen_strdup("BONUS"), AJ_SERVICE_VOICE, NULL, 0, gen_midnight(a->tz, GEN_OCT1 + 9),
                                      INT64_MAX, AJ_PROMO_FREE_UNITS, GEN_BONUS, 2};
    c->promotions[2] = (aj_promotion){gen_strdup("OUTUBRO_ROSA"), AJ_SERVICE_SMS, NULL, 0,
                                      gen_midnight(a->tz, GEN_OCT1 + 9), gen_midnight(a->tz, GEN_OCT1 + 20),
                                      AJ_PROMO_PERCENT_OFF, 200000, 0};
    if (!(c->lines = calloc(GEN_MAX_LINES, sizeof(*c->lines)))) abort();
    for (int l = 0; l < a->n_lines; l++) {
        aj_line *ln = &c->lines[c->n_lines++];
        aj_line_init(ln);
        snprintf(buf, sizeof(buf), "%s-L%d", a->id, l);
        ln->line_id = gen_strdup(buf);
        ln->service = AJ_SERVICE_VOICE;
        ln->monthly_price = a->lines[l].price;
        ln->quantity = a->lines[l].quantity;
        ln->active_from = a->lines[l].from;
        ln->active_to = a->lines[l].to;
    }
    if (!(c->taxes = calloc(3, sizeof(*c->taxes)))) abort();
    uint32_t all = (1u << AJ_SERVICE__COUNT) - 1;
    c->taxes[0] = (aj_tax){gen_strdup(a->tz == TZ_LISBON ? "IVA" : "ICMS"), all, a->tz == TZ_LISBON ? 230000 : 250000,
                           a->tz == TZ_LISBON ? AJ_TAX_EXCLUSIVE : AJ_TAX_GROSS_UP};
    c->n_taxes = 1;
    if (a->tz == TZ_SAO_PAULO) {
        c->taxes[c->n_taxes++] = (aj_tax){gen_strdup("PIS"), all, 6500, AJ_TAX_GROSS_UP};
        c->taxes[c->n_taxes++] = (aj_tax){gen_strdup("COFINS"), all, 30000, AJ_TAX_GROSS_UP};
    }
    if (!(c->one_time_charges = calloc(O_COUNT, sizeof(*c->one_time_charges)))) abort();
    for (int o = 0; o < O_COUNT; o++)
        c->one_time_charges[c->n_one_time_charges++] =
            (aj_otc_price){gen_strdup(gen_otc_codes[o]), gen_strdup(gen_otc_texts[o]), gen_otc_price(a->tmpl, rated, o)};
    return c;
}

/* ---- numbers ---- */

/* Zone of digits by the longest prefix of the catalogue (independent of rating/). */
static int gen_zone_of(const char *digits) {
    int best = Z_OTHER;
    size_t best_len = 0;
    for (int z = 0; z < Z_OTHER; z++)
        for (int p = 0; gen_zone_prefixes[z][p]; p++) {
            size_t n = strlen(gen_zone_prefixes[z][p]);
            if (n > best_len && strncmp(digits, gen_zone_prefixes[z][p], n) == 0) {
                best = z;
                best_len = n;
            }
        }
    return best;
}

/* A destination number in zone z (by the longest-prefix rule), written in one of the ways
 * switches write numbers. Returns the zone it really belongs to. */
static int gen_number(uint64_t *rng, int z, char *out, size_t len) {
    char digits[24];
    const char *prefix = "7";   /* no zone has it: the default zone */
    if (z != Z_OTHER) {
        int n = 0;
        while (gen_zone_prefixes[z][n]) n++;
        prefix = gen_zone_prefixes[z][gen_below(rng, n)];
    }
    size_t k = strlen(prefix);
    memcpy(digits, prefix, k);
    while (k < 12) digits[k++] = (char)('0' + gen_below(rng, 10));
    digits[k] = '\0';
    switch (gen_below(rng, 4)) {
    case 0: snprintf(out, len, "+%s", digits); break;
    case 1: snprintf(out, len, "00%s", digits); break;
    case 2: snprintf(out, len, "+%.2s %.2s %s", digits, digits + 2, digits + 4); break;
    default: snprintf(out, len, "%s", digits); break;
    }
    return gen_zone_of(digits);
}

/* ---- the generator's own rater ---- */

enum {
    G_NO_TIERS = 1, G_NO_ALLOWANCE = 2, G_NO_PROMOTION = 4, G_NO_DISCOUNT = 8, G_NO_MINMAX = 16, G_NO_FEE = 32,
};

typedef struct gen_hyp {
    unsigned flags;
    int zone, band;        /* -1: the record's */
    int64_t first, next;   /* 0: the rate's */
} gen_hyp;

static const gen_hyp gen_none = {0, -1, -1, 0, 0};

/* A usage record as the generator sees it. */
typedef struct gen_rec {
    aj_service s;
    int zone;
    int64_t q, start;
} gen_rec;

/* What rating a record draws from the account-cycle. */
typedef struct gen_draw {
    int64_t bonus, allowance;
    aj_money discount;
} gen_draw;

/* n / d rounded to `decimals` by r (n >= 0). */
static aj_money gen_round(__int128 n, __int128 d, int32_t decimals, aj_rounding r) {
    __int128 step = 1;
    for (int i = decimals; i < 6; i++) step *= 10;
    d *= step;
    __int128 q = n / d, rem = n % d;
    if (r == AJ_ROUND_HALF_UP && 2 * rem >= d) q++;
    if (r == AJ_ROUND_HALF_EVEN && (2 * rem > d || (2 * rem == d && q % 2 == 1))) q++;
    if (r == AJ_ROUND_UP && rem) q++;
    return (aj_money)(q * step);
}

/* The record's charge under version and hypothesis h, increment by increment (docs/rating.md,
 * "Increments and tiers" to "Discounts"); -1 when a rate is missing. */
static aj_money gen_charge(const gen_account *a, int version, const gen_rec *rec, const gen_hyp *h, gen_draw *draw) {
    int zone = h->zone >= 0 ? h->zone : rec->zone;
    int band0 = h->band >= 0 ? h->band : gen_band(a->tz, rec->start);
    gen_rate r0 = gen_rate_of(a->tmpl, version, rec->s, zone, band0);
    int split = a->split && rec->s == AJ_SERVICE_VOICE && h->band < 0;
    int promo = h->flags & G_NO_PROMOTION ? P_NONE : gen_promotion(a->tz, rec->s, zone, rec->start);
    int64_t bonus_left = 0, allow_left = 0, e = 0;
    __int128 num = 0;

    if (draw) memset(draw, 0, sizeof(*draw));
    if (!r0.present) return -1;
    if (rec->q == 0) return 0;
    if (promo == P_BONUS) bonus_left = GEN_BONUS - a->bonus_used;
    if (!(h->flags & G_NO_ALLOWANCE) && gen_allowance_applies(a->tmpl, rec->s, zone))
        allow_left = gen_allowance_units(a->tmpl) - a->allowance_used;
    int64_t avail = bonus_left + allow_left;
    while (e < rec->q) {
        int band = split ? gen_band(a->tz, rec->start + e * 1000) : band0;
        gen_rate r = gen_rate_of(a->tmpl, version, rec->s, zone, band);
        int tier = !(h->flags & G_NO_TIERS) && r.tier_start && e >= r.tier_start;
        int64_t len = e == 0 ? (h->first ? h->first : r0.first) : h->next ? h->next : tier ? r.tier_inc : r.next;
        aj_money price = promo == P_LOCAL_PROMO ? 50000 : tier ? r.tier_price : r.price;
        int64_t n = 1;
        if (e > 0 && !split && (tier || !r.tier_start || (h->flags & G_NO_TIERS)))
            n = (rec->q - e + len - 1) / len;   /* the rest is one run: count it at once (DATA, 1/1) */
        int64_t from = e > avail ? e : avail;
        if (e + n * len > from) num += (__int128)(e + n * len - from) * price;
        e += n * len;
    }
    int64_t covered = avail < e ? avail : e;
    aj_money fee = h->flags & G_NO_FEE ? 0 : r0.connect_fee;
    aj_money amount = gen_round(num + (__int128)fee * r0.rate_unit, r0.rate_unit, r0.decimals, r0.rounding);
    if (!(h->flags & G_NO_MINMAX) && covered < e) {
        if (r0.min_charge && amount < r0.min_charge) amount = r0.min_charge;
        else if (r0.max_charge && amount > r0.max_charge) amount = r0.max_charge;
    }
    if (promo == P_ROSA) {
        aj_money off = gen_round((__int128)amount * 200000, 1000000, r0.decimals, r0.rounding);
        amount -= off < amount ? off : amount;
    }
    aj_money disc = 0;
    if (!(h->flags & G_NO_DISCOUNT)) {
        if (a->tmpl == 2 && rec->s == AJ_SERVICE_VOICE) {
            disc = gen_round((__int128)amount * 100000, 1000000, r0.decimals, r0.rounding);
            if (disc > 3000000 - a->discount_used) disc = 3000000 - a->discount_used;
        } else if (a->tmpl != 2 && rec->s == AJ_SERVICE_DATA) {
            disc = gen_round((__int128)amount * 50000, 1000000, r0.decimals, r0.rounding);
        }
        if (disc > amount) disc = amount;
        amount -= disc;
    }
    if (draw) {
        draw->bonus = bonus_left < covered ? bonus_left : covered;
        draw->allowance = covered - draw->bonus;
        draw->discount = a->tmpl == 2 ? disc : 0;
    }
    return amount;
}

/* ---- error injection ---- */

static const int64_t gen_increments[][2] = {{60, 60}, {1, 1}, {30, 6}, {60, 1}, {30, 30}, {60, 6}, {60, 30}, {6, 6}};

/* The reason docs/rating.md's classification gives a legacy charge (first hypothesis that
 * reproduces it, in the documented order), or -1 when it equals the right charge. */
static int gen_explains(const gen_account *a, int version, const gen_rec *rec, aj_money legacy) {
    gen_hyp h;
    if (legacy == gen_charge(a, version, rec, &gen_none, NULL)) return -1;
    for (int v = version - 1; v >= 1; v--)
        if (gen_charge(a, v, rec, &gen_none, NULL) == legacy) return AJ_REASON_STALE_CONTRACT_VERSION;
    for (int z = 0; z < Z_COUNT; z++) {
        h = gen_none;
        h.zone = z;
        if (gen_charge(a, version, rec, &h, NULL) == legacy) return AJ_REASON_WRONG_ZONE;
    }
    for (int b = 0; b < B_COUNT; b++) {
        h = gen_none;
        h.band = b;
        if (gen_charge(a, version, rec, &h, NULL) == legacy) return AJ_REASON_WRONG_TIME_BAND;
    }
    for (size_t i = 0; i < sizeof(gen_increments) / sizeof(gen_increments[0]); i++) {
        h = gen_none;
        h.first = gen_increments[i][0];
        h.next = gen_increments[i][1];
        if (gen_charge(a, version, rec, &h, NULL) == legacy) return AJ_REASON_INCREMENT_ROUNDING;
    }
    gen_rate r0 = gen_rate_of(a->tmpl, version, rec->s, rec->zone, gen_band(a->tz, rec->start));
    h = gen_none;
    h.flags = G_NO_FEE;
    if (r0.connect_fee > 0 && rec->q > 0 && gen_charge(a, version, rec, &h, NULL) == legacy) return AJ_REASON_CONNECT_FEE;
    if (rec->q == 0 && r0.connect_fee > 0 && legacy == r0.connect_fee) return AJ_REASON_CONNECT_FEE;
    static const struct {
        unsigned flag;
        aj_reason reason;
    } rules[] = {
        {G_NO_TIERS, AJ_REASON_TIER_NOT_APPLIED},           {G_NO_ALLOWANCE, AJ_REASON_ALLOWANCE_NOT_APPLIED},
        {G_NO_PROMOTION, AJ_REASON_PROMOTION_NOT_APPLIED}, {G_NO_DISCOUNT, AJ_REASON_DISCOUNT_NOT_APPLIED},
        {G_NO_MINMAX, AJ_REASON_MIN_MAX_CHARGE},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        h = gen_none;
        h.flags = rules[i].flag;
        if (gen_charge(a, version, rec, &h, NULL) == legacy) return rules[i].reason;
    }
    return AJ_REASON_RATE_MISMATCH;
}

/* A legacy charge with an error of class `reason` for the record, or -1 when that error cannot
 * be made on it. */
static aj_money gen_wrong(uint64_t *rng, const gen_account *a, int version, const gen_rec *rec, aj_reason reason) {
    gen_hyp h = gen_none;
    switch (reason) {
    case AJ_REASON_STALE_CONTRACT_VERSION:
        return version >= 2 ? gen_charge(a, version - 1, rec, &h, NULL) : -1;
    case AJ_REASON_WRONG_ZONE:
        h.zone = (int)gen_below(rng, Z_COUNT);
        break;
    case AJ_REASON_WRONG_TIME_BAND:
        h.band = (int)gen_below(rng, B_COUNT);
        break;
    case AJ_REASON_INCREMENT_ROUNDING:
        h.first = h.next = rec->zone >= Z_INTL_A ? 1 : 60;
        break;
    case AJ_REASON_CONNECT_FEE:
        if (rec->q == 0) return gen_rate_of(a->tmpl, version, rec->s, rec->zone, gen_band(a->tz, rec->start)).connect_fee;
        h.flags = G_NO_FEE;
        break;
    case AJ_REASON_TIER_NOT_APPLIED: h.flags = G_NO_TIERS; break;
    case AJ_REASON_ALLOWANCE_NOT_APPLIED: h.flags = G_NO_ALLOWANCE; break;
    case AJ_REASON_PROMOTION_NOT_APPLIED: h.flags = G_NO_PROMOTION; break;
    case AJ_REASON_DISCOUNT_NOT_APPLIED: h.flags = G_NO_DISCOUNT; break;
    case AJ_REASON_MIN_MAX_CHARGE: h.flags = G_NO_MINMAX; break;
    case AJ_REASON_RATE_MISMATCH: {
        aj_money right = gen_charge(a, version, rec, &h, NULL);
        return right < 0 ? -1 : right + 370000 + 10000 * gen_below(rng, 50);
    }
    default:
        return -1;
    }
    return gen_charge(a, version, rec, &h, NULL);
}

/* Version of the account's contract in force at t: 0 none, 3 the TERMINATED one. */
static int gen_version_at(const gen_account *a, int64_t t) {
    if (t < a->start_ms) return 0;
    if (a->terminate_ms && t >= a->terminate_ms) return 3;
    return a->amend_ms && t >= a->amend_ms ? 2 : 1;
}

/* Expected amount of line l over the cycle (docs/rating.md, "Recurring charges", R3 2 decimals
 * HALF_UP); *days gets its active local days, full the unprorated amount. */
static aj_money gen_line_amount(const gen_account *a, const gen_line *l, int64_t *days, aj_money *full) {
    int64_t first = GEN_OCT1, end = GEN_NOV1;
    if (l->from != INT64_MIN && gen_local_day(a->tz, l->from) > first) first = gen_local_day(a->tz, l->from);
    if (l->to != INT64_MAX && gen_local_day(a->tz, l->to) < end) end = gen_local_day(a->tz, l->to);
    *days = end > first ? end - first : 0;
    *full = gen_round((__int128)l->price * l->quantity * 31, 31, 2, AJ_ROUND_HALF_UP);
    return gen_round((__int128)l->price * l->quantity * *days, 31, 2, AJ_ROUND_HALF_UP);
}

/* ---- the run ---- */

void aj_gen_defaults(aj_gen_opts *o) {
    o->accounts = 2000;
    o->records = 300000;
    o->error_ppm = 50000;
    o->invalid_ppm = 2000;
    o->seed = 42;
}

aj_err aj_gen_parse_rate(const char *s, int64_t *ppm) {
    aj_money m;
    size_t n = strlen(s);
    char buf[64];
    int percent = n > 0 && s[n - 1] == '%';

    if (n == 0 || n >= sizeof(buf)) return AJ_E_ARG;
    memcpy(buf, s, n + 1);
    if (percent) buf[n - 1] = '\0';
    /* A rate is a decimal: parse it exactly as money (6 decimals = parts per million). */
    if (aj_money_parse(buf, &m) != AJ_E_OK || m < 0) return AJ_E_ARG;
    if (percent) m /= 100;
    if (m > AJ_MICRO) return AJ_E_ARG;
    *ppm = m;
    return AJ_E_OK;
}

void aj_truth_csv(const aj_truth *t, char *buf, size_t len) {
    if (t->dead_letter)
        snprintf(buf, len, ",%s,DEAD_LETTER:%s,%lld,", t->record_id, aj_err_name(t->dead_reason), (long long)t->legacy);
    else
        snprintf(buf, len, "%s,%s,%s,%lld,%lld", t->correction_id, t->record_id, aj_reason_name(t->reason),
                 (long long)t->legacy, (long long)t->correct);
}

typedef struct gen_ctx {
    const aj_gen_opts *o;
    const aj_gen_out *out;
    aj_encoder *enc;
    aj_bytes buf;
    aj_truth *truths;
    size_t n_truths, cap_truths;
    aj_gen_counts counts;
} gen_ctx;

static aj_err gen_emit_event(gen_ctx *g, const aj_event *ev) {
    aj_err rc;
    g->buf.len = 0;
    if ((rc = aj_encode_event(g->enc, ev, &g->buf))) return rc;
    return g->out->event(g->out->opaque, aj_event_account(ev), g->buf.data, g->buf.len);
}

/* Records an expected correction (reason, legacy, correct) with its id. */
static aj_err gen_add_truth(gen_ctx *g, const char *correction_id, const char *record_id, aj_reason reason,
                            aj_money legacy, aj_money correct) {
    if (g->n_truths == g->cap_truths) {
        size_t cap = g->cap_truths ? g->cap_truths * 2 : 1024;
        aj_truth *grown = realloc(g->truths, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        g->truths = grown;
        g->cap_truths = cap;
    }
    aj_truth *t = &g->truths[g->n_truths++];
    memset(t, 0, sizeof(*t));
    snprintf(t->correction_id, sizeof(t->correction_id), "%s", correction_id);
    snprintf(t->record_id, sizeof(t->record_id), "%s", record_id);
    t->reason = reason;
    t->legacy = legacy;
    t->correct = correct;
    return AJ_E_OK;
}

static aj_err gen_add_dead(gen_ctx *g, const char *record_id, aj_err reason, aj_money legacy) {
    aj_err rc = gen_add_truth(g, "", record_id, AJ_REASON__COUNT, legacy, 0);
    if (rc) return rc;
    g->truths[g->n_truths - 1].dead_letter = 1;
    g->truths[g->n_truths - 1].dead_reason = reason;
    g->counts.invalid++;
    return AJ_E_OK;
}

static aj_err gen_contracts(gen_ctx *g, const gen_account *accts) {
    aj_err rc = AJ_E_OK;
    for (int64_t i = 0; i < g->o->accounts && !rc; i++)
        for (int v = 1; v <= 3 && !rc; v++) {
            if ((v == 2 && !accts[i].amend_ms) || (v == 3 && !accts[i].terminate_ms)) continue;
            aj_contract *c = gen_contract(&accts[i], v);
            g->buf.len = 0;
            if (!(rc = aj_encode_contract(g->enc, c, &g->buf)))
                rc = g->out->contract(g->out->opaque, c->account, g->buf.data, g->buf.len);
            aj_contract_free(c);
            g->counts.contracts++;
        }
    return rc;
}

static void gen_recurring_event(aj_event *ev, const gen_account *a, const char *record_id, const char *line_id,
                                aj_money legacy) {
    aj_recurring *r = &ev->u.recurring;
    memset(ev, 0, sizeof(*ev));
    ev->kind = AJ_EVENT_RECURRING;
    snprintf(r->record_id, sizeof(r->record_id), "%s", record_id);
    memcpy(r->account, a->id, sizeof(r->account));
    snprintf(r->line_id, sizeof(r->line_id), "%s", line_id);
    r->service = AJ_SERVICE_VOICE;
    memcpy(r->cycle_id, GEN_CYCLE, sizeof(GEN_CYCLE));
    r->period_start_ms = a->period_start;
    r->period_end_ms = a->period_end;
    r->legacy_amount = legacy;
    memcpy(r->currency, a->currency, sizeof(r->currency));
    snprintf(r->tariff_code, sizeof(r->tariff_code), "MENS_T%d", a->tmpl);
}

/* The recurring charges of the cycle: each line's (legacy chains keep charging deactivated
 * lines: MRC_INACTIVE_LINE), with errors of the MRC_ classes, now and then a charge for a line
 * the inventory does not have. */
static aj_err gen_recurring(gen_ctx *g, gen_account *accts, uint64_t *rng) {
    char rid[AJ_ID_LEN + 1], lid[AJ_ID_LEN + 1], cid[AJ_ID_LEN + 8];
    aj_event ev;
    aj_err rc;

    for (int64_t i = 0; i < g->o->accounts; i++) {
        gen_account *a = &accts[i];
        for (int l = 0; l < a->n_lines; l++) {
            int64_t days;
            aj_money full, right = gen_line_amount(a, &a->lines[l], &days, &full), legacy = right;
            aj_reason reason = AJ_REASON__COUNT;
            snprintf(rid, sizeof(rid), "RC-%s-%s-%d", a->id, GEN_CYCLE, l);
            snprintf(lid, sizeof(lid), "%s-L%d", a->id, l);
            if (days == 0) {
                /* Legacy chains keep charging disconnected lines (when errors are wanted). */
                if (!g->o->error_ppm) continue;
                legacy = full;
                reason = AJ_REASON_MRC_INACTIVE_LINE;
            } else if (gen_chance_ppm(rng, g->o->error_ppm)) {
                switch (gen_below(rng, 4)) {
                case 0:
                    if (days < 31) {
                        legacy = full;
                        reason = AJ_REASON_MRC_PRORATION;
                    }
                    break;
                case 1:
                    legacy = right + 10000000;
                    if (legacy != full || days == 31) reason = AJ_REASON_MRC_PRICE_MISMATCH;
                    else legacy = right;
                    break;
                case 2:
                    reason = AJ_REASON_MRC_DUPLICATE;
                    break;
                default:
                    reason = AJ_REASON_MRC_MISSING;
                }
            }
            if (reason == AJ_REASON_MRC_MISSING) {
                snprintf(cid, sizeof(cid), "COR-MISSING-%s-%s", lid, GEN_CYCLE);
                snprintf(rid, sizeof(rid), "MISSING-%s-%s", lid, GEN_CYCLE);
                if ((rc = gen_add_truth(g, cid, rid, reason, 0, right))) return rc;
                continue;
            }
            if (reason != AJ_REASON__COUNT && reason != AJ_REASON_MRC_DUPLICATE && legacy != right) {
                snprintf(cid, sizeof(cid), "COR-%s", rid);
                if ((rc = gen_add_truth(g, cid, rid, reason, legacy, reason == AJ_REASON_MRC_INACTIVE_LINE ? 0 : right)))
                    return rc;
            }
            gen_recurring_event(&ev, a, rid, lid, legacy);
            if ((rc = gen_emit_event(g, &ev))) return rc;
            g->counts.recurring++;
            a->legacy_base += legacy;
            if (reason == AJ_REASON_MRC_DUPLICATE && legacy > 0) {
                a->legacy_base += legacy;
                snprintf(rid, sizeof(rid), "RC-%s-%s-%d-B", a->id, GEN_CYCLE, l);
                snprintf(cid, sizeof(cid), "COR-%s", rid);
                if ((rc = gen_add_truth(g, cid, rid, reason, legacy, 0))) return rc;
                gen_recurring_event(&ev, a, rid, lid, legacy);
                if ((rc = gen_emit_event(g, &ev))) return rc;
                g->counts.recurring++;
            }
        }
        if (gen_chance_ppm(rng, g->o->error_ppm)) {
            snprintf(rid, sizeof(rid), "RC-%s-%s-X", a->id, GEN_CYCLE);
            snprintf(lid, sizeof(lid), "%s-L9", a->id);
            snprintf(cid, sizeof(cid), "COR-%s", rid);
            if ((rc = gen_add_truth(g, cid, rid, AJ_REASON_MRC_INACTIVE_LINE, 19900000, 0))) return rc;
            a->legacy_base += 19900000;
            gen_recurring_event(&ev, a, rid, lid, 19900000);
            if ((rc = gen_emit_event(g, &ev))) return rc;
            g->counts.recurring++;
        }
    }
    return AJ_E_OK;
}

static void gen_one_time_event(aj_event *ev, const gen_account *a, const char *record_id, int line, const char *code,
                               int64_t at, int64_t quantity, aj_money legacy) {
    aj_one_time *o = &ev->u.one_time;
    memset(ev, 0, sizeof(*ev));
    ev->kind = AJ_EVENT_ONE_TIME;
    snprintf(o->record_id, sizeof(o->record_id), "%s", record_id);
    memcpy(o->account, a->id, sizeof(o->account));
    snprintf(o->subscriber, sizeof(o->subscriber), "%.20s-L%d", a->id, line);
    snprintf(o->charge_code, sizeof(o->charge_code), "%s", code);
    o->charged_ms = at;
    memcpy(o->cycle_id, GEN_CYCLE, sizeof(GEN_CYCLE));
    o->quantity = quantity;
    o->legacy_amount = legacy;
    memcpy(o->currency, a->currency, sizeof(o->currency));
    snprintf(o->tariff_code, sizeof(o->tariff_code), "OTC_%.20s", code);
}

/* The one-time charges of the cycle, drawn from their own random stream (so that adding them
 * left every other record of a seed as it was): an activation for 5% of the accounts, a SIM swap
 * (one to three cards) for 10%, a portability fee for 3%; with errors of the OTC_ classes, each
 * injected only on a charge whose contract is in force, so the documented order of the checks
 * (duplicates, no contract, termination, price list) names exactly the injected reason. Outside
 * the contract the legacy chain charges the first version's price: NO_CONTRACT or
 * USAGE_AFTER_TERMINATION, as for usage. */
static aj_err gen_one_time(gen_ctx *g, gen_account *accts, uint64_t *rng) {
    static const int64_t chance[O_COUNT] = {50000, 100000, 30000};
    int64_t err_ppm = g->o->error_ppm > 250000 ? 1000000 : g->o->error_ppm * 4;
    char rid[AJ_ID_LEN + 1], cid[AJ_ID_LEN + 8];
    aj_event ev;
    aj_err rc;

    for (int64_t i = 0; i < g->o->accounts; i++) {
        gen_account *a = &accts[i];
        int64_t span = (a->period_end - a->period_start) / 1000;
        for (int o = 0; o < O_COUNT; o++) {
            if (!gen_chance_ppm(rng, chance[o])) continue;
            int line = (int)gen_below(rng, a->n_lines);
            int64_t at = a->period_start + gen_below(rng, span) * 1000;
            int64_t quantity = o == O_SIM_SWAP ? 1 + gen_below(rng, 3) : 1;
            int version = gen_version_at(a, at);
            int in_force = version == 1 || version == 2;
            aj_money right = in_force ? gen_otc_price(a->tmpl, version, o) * quantity : 0;
            aj_money legacy = right;
            int dup = 0;
            snprintf(rid, sizeof(rid), "OT-%s-%s", a->id, gen_otc_codes[o]);
            snprintf(cid, sizeof(cid), "COR-%s", rid);
            if (!in_force) {
                if (g->o->error_ppm) {
                    legacy = gen_otc_price(a->tmpl, 1, o) * quantity;
                    if ((rc = gen_add_truth(g, cid, rid, version == 0 ? AJ_REASON_NO_CONTRACT
                                                                     : AJ_REASON_USAGE_AFTER_TERMINATION,
                                            legacy, 0)))
                        return rc;
                }
            } else if (gen_chance_ppm(rng, err_ppm)) {
                if (gen_below(rng, 2)) {
                    /* A price typed in by hand, or the previous version's. */
                    legacy = version == 2 && o == O_SIM_SWAP ? gen_otc_price(a->tmpl, 1, o) * quantity
                                                             : right + 1000000 * (1 + gen_below(rng, 20));
                    if ((rc = gen_add_truth(g, cid, rid, AJ_REASON_OTC_PRICE_MISMATCH, legacy, right))) return rc;
                } else {
                    dup = 1 + (int)gen_below(rng, 2);
                }
            }
            gen_one_time_event(&ev, a, rid, line, gen_otc_codes[o], at, quantity, legacy);
            if ((rc = gen_emit_event(g, &ev))) return rc;
            g->counts.one_time++;
            a->legacy_base += legacy;
            if (dup) {
                /* 1: the same record delivered again; 2: the same charge for the line under a new
                 * id. Either way charged once. */
                if (dup == 2) {
                    snprintf(rid, sizeof(rid), "OT-%s-%s-D", a->id, gen_otc_codes[o]);
                    snprintf(cid, sizeof(cid), "COR-%s", rid);
                } else {
                    snprintf(cid, sizeof(cid), "COR-%s#2", rid);
                }
                if ((rc = gen_add_truth(g, cid, rid, AJ_REASON_OTC_DUPLICATE, legacy, 0))) return rc;
                gen_one_time_event(&ev, a, rid, line, gen_otc_codes[o], at, quantity, legacy);
                if ((rc = gen_emit_event(g, &ev))) return rc;
                g->counts.one_time++;
                a->legacy_base += legacy;
            }
        }
        /* Now and then a charge the contract does not have (in force at the cycle's middle). */
        int64_t mid = a->period_start + 15 * GEN_DAY;
        int version = gen_version_at(a, mid);
        if ((version == 1 || version == 2) && gen_chance_ppm(rng, err_ppm / 2)) {
            snprintf(rid, sizeof(rid), "OT-%s-%s", a->id, GEN_OTC_UNLISTED);
            snprintf(cid, sizeof(cid), "COR-%s", rid);
            if ((rc = gen_add_truth(g, cid, rid, AJ_REASON_OTC_NOT_IN_CONTRACT, GEN_OTC_UNLISTED_AMOUNT, 0))) return rc;
            gen_one_time_event(&ev, a, rid, 0, GEN_OTC_UNLISTED, mid, 1, GEN_OTC_UNLISTED_AMOUNT);
            if ((rc = gen_emit_event(g, &ev))) return rc;
            g->counts.one_time++;
            a->legacy_base += GEN_OTC_UNLISTED_AMOUNT;
        }
    }
    return AJ_E_OK;
}

/* Makes a usage record invalid in one of the ways docs/dead-letters.md lists. */
static aj_err gen_invalidate(uint64_t *rng, aj_usage *u) {
    switch (gen_below(rng, 5)) {
    case 0: u->service = AJ_SERVICE_VOICE; u->quantity = -(1 + gen_below(rng, 100)); return AJ_E_NEGATIVE_QUANTITY;
    case 1: u->service = AJ_SERVICE__COUNT; return AJ_E_UNKNOWN_SERVICE;   /* encodes as "UNKNOWN" */
    case 2: memcpy(u->currency, "USD", 4); return AJ_E_CURRENCY_MISMATCH;
    case 3: u->destination[0] = '\0'; u->subscriber[0] = '\0'; return AJ_E_MISSING_FIELD;
    default: snprintf(u->account, sizeof(u->account), "ACC-UNKNOWN"); return AJ_E_NO_CONTRACT;
    }
}

/* Usage error classes the generator injects by re-rating under a wrong hypothesis. */
static const aj_reason gen_classes[] = {
    AJ_REASON_STALE_CONTRACT_VERSION, AJ_REASON_WRONG_ZONE,           AJ_REASON_WRONG_TIME_BAND,
    AJ_REASON_INCREMENT_ROUNDING,     AJ_REASON_CONNECT_FEE,          AJ_REASON_TIER_NOT_APPLIED,
    AJ_REASON_ALLOWANCE_NOT_APPLIED,  AJ_REASON_PROMOTION_NOT_APPLIED, AJ_REASON_DISCOUNT_NOT_APPLIED,
    AJ_REASON_MIN_MAX_CHARGE,         AJ_REASON_RATE_MISMATCH,
};
#define GEN_N_CLASSES (sizeof(gen_classes) / sizeof(gen_classes[0]))

/* A usage record of account a, with its right charge as the legacy one. */
static void gen_usage_record(uint64_t *rng, const gen_account *a, int64_t i, aj_event *ev, gen_rec *rec) {
    static const char *const svc_code[] = {"VOZ", "SMS", "MMS", "DAD"};
    aj_usage *u = &ev->u.usage;
    int64_t svc = gen_below(rng, 100), w = gen_below(rng, 1000);
    int z = 0;

    memset(ev, 0, sizeof(*ev));
    ev->kind = AJ_EVENT_USAGE;
    snprintf(u->record_id, sizeof(u->record_id), "U%010lld", (long long)i);
    memcpy(u->account, a->id, sizeof(u->account));
    snprintf(u->subscriber, sizeof(u->subscriber), "%.20s-L%d", a->id, (int)gen_below(rng, a->n_lines) % 10);
    u->service = svc < 60 ? AJ_SERVICE_VOICE : svc < 85 ? AJ_SERVICE_SMS : svc < 90 ? AJ_SERVICE_MMS : AJ_SERVICE_DATA;
    u->start_ms = a->period_start + gen_below(rng, (a->period_end - a->period_start) / 1000) * 1000;
    while (w >= gen_zone_weight[z]) w -= gen_zone_weight[z++];
    snprintf(u->origin, sizeof(u->origin), "+5511%08lld", (long long)gen_below(rng, 100000000));
    if (u->service == AJ_SERVICE_DATA) {
        z = Z_OTHER;
        snprintf(u->destination, sizeof(u->destination), "internet");
    } else {
        z = gen_number(rng, z, u->destination, sizeof(u->destination));
    }
    switch (u->service) {
    case AJ_SERVICE_VOICE:
        u->quantity = gen_below(rng, 100) < 3 ? 0 : gen_below(rng, 100) < 90 ? 1 + gen_below(rng, 600) : 600 + gen_below(rng, 3000);
        break;
    case AJ_SERVICE_SMS: u->quantity = gen_below(rng, 100) < 95 ? 1 : 2 + gen_below(rng, 2); break;
    case AJ_SERVICE_MMS: u->quantity = 1; break;
    default: u->quantity = 1 + gen_below(rng, 50 * 1048576); break;
    }
    u->roaming = gen_below(rng, 100) < 2;
    memcpy(u->cycle_id, GEN_CYCLE, sizeof(GEN_CYCLE));
    memcpy(u->currency, a->currency, sizeof(u->currency));
    snprintf(u->tariff_code, sizeof(u->tariff_code), "%s_%s_T%d", svc_code[u->service], gen_zone_names[z], a->tmpl);
    rec->s = u->service;
    rec->zone = z;
    rec->q = u->quantity;
    rec->start = u->start_ms;
}

static aj_err gen_usage(gen_ctx *g, gen_account *accts, uint64_t *rng) {
    char cid[AJ_ID_LEN + 8];
    aj_event ev;
    gen_rec rec;
    gen_draw draw;
    aj_err rc;

    for (int64_t i = 0; i < g->o->records; i++) {
        gen_account *a = &accts[gen_below(rng, g->o->accounts)];
        aj_usage *u = &ev.u.usage;
        gen_usage_record(rng, a, i, &ev, &rec);
        int version = gen_version_at(a, rec.start);
        /* The legacy chain rates with the version it has, whatever the dates. */
        int legacy_version = version == 0 ? 1 : version == 3 ? (a->amend_ms ? 2 : 1) : version;
        aj_money right = gen_charge(a, legacy_version, &rec, &gen_none, &draw);
        /* Outside the contract the legacy chain charges as it always did (an error), unless
         * the workload is to have none. */
        if ((version == 0 || version == 3) && !g->o->error_ppm) right = 0;
        u->legacy_charge = right;
        snprintf(cid, sizeof(cid), "COR-%s", u->record_id);

        int valid = 1;
        if (gen_chance_ppm(rng, g->o->invalid_ppm)) {
            aj_err why = gen_invalidate(rng, u);
            valid = 0;
            if ((rc = gen_add_dead(g, u->record_id, why, u->legacy_charge))) return rc;
        } else if (version == 0 || version == 3) {
            /* No contract in force yet, or terminated: whatever the legacy chain charged goes. */
            if (right > 0 &&
                (rc = gen_add_truth(g, cid, u->record_id,
                                    version == 0 ? AJ_REASON_NO_CONTRACT : AJ_REASON_USAGE_AFTER_TERMINATION, right, 0)))
                return rc;
        } else {
            if (gen_chance_ppm(rng, g->o->error_ppm)) {
                /* Try the classes from a random one on until one is unambiguous on this record. */
                size_t first = (size_t)gen_below(rng, GEN_N_CLASSES);
                for (size_t k = 0; k < GEN_N_CLASSES; k++) {
                    aj_reason want = gen_classes[(first + k) % GEN_N_CLASSES];
                    /* RATE_MISMATCH fits any record: only when it was the class drawn. */
                    if (k > 0 && want == AJ_REASON_RATE_MISMATCH) continue;
                    aj_money legacy = gen_wrong(rng, a, version, &rec, want);
                    if (legacy >= 0 && gen_explains(a, version, &rec, legacy) == (int)want) {
                        u->legacy_charge = legacy;
                        if ((rc = gen_add_truth(g, cid, u->record_id, want, legacy, right))) return rc;
                        break;
                    }
                }
            }
            a->bonus_used += draw.bonus;
            a->allowance_used += draw.allowance;
            a->discount_used += draw.discount;
        }
        if ((rc = gen_emit_event(g, &ev))) return rc;
        g->counts.usage++;
        if (valid) a->legacy_base += u->legacy_charge;
        /* Now and then the legacy chain bills a record twice: the same record again, or the same
         * call under a new id (a mediation file loaded twice). */
        if (u->legacy_charge > 0 && (version == 1 || version == 2) && strcmp(u->currency, a->currency) == 0 &&
            u->service < AJ_SERVICE__COUNT && u->quantity >= 0 && u->subscriber[0] && u->destination[0] &&
            strcmp(u->account, a->id) == 0 && gen_chance_ppm(rng, g->o->error_ppm / 10)) {
            if (gen_below(rng, 2)) {
                snprintf(cid, sizeof(cid), "COR-%s#2", u->record_id);
            } else {
                size_t n = strlen(u->record_id);
                if (n + 2 < sizeof(u->record_id)) memcpy(u->record_id + n, "-D", 3);
                snprintf(cid, sizeof(cid), "COR-%s", u->record_id);
            }
            if ((rc = gen_add_truth(g, cid, u->record_id, AJ_REASON_DUPLICATE_USAGE, u->legacy_charge, 0))) return rc;
            if ((rc = gen_emit_event(g, &ev))) return rc;
            g->counts.usage++;
            a->legacy_base += u->legacy_charge;
        }
    }
    return AJ_E_OK;
}

/* The taxes of an account's contract on its legacy base, by the generator's own arithmetic
 * (docs/invoice.md, "Taxes"): every tax covers every service; exclusive ones on the base,
 * gross-up ones on base / (1 - the sum of the gross-up rates); cents, HALF_UP. */
static int gen_taxes(const gen_account *a, aj_legacy_tax *out) {
    int lisbon = a->tz == TZ_LISBON;
    __int128 base = a->legacy_base;
    if (lisbon) {
        out[0] = (aj_legacy_tax){"IVA", gen_round(base * 230000, 1000000, 2, AJ_ROUND_HALF_UP)};
        return 1;
    }
    static const struct { const char *name; int64_t ppm; } br[] = {{"ICMS", 250000}, {"PIS", 6500}, {"COFINS", 30000}};
    int64_t sum = 250000 + 6500 + 30000;
    for (int i = 0; i < 3; i++) {
        out[i] = (aj_legacy_tax){"", gen_round(base * br[i].ppm, 1000000 - sum, 2, AJ_ROUND_HALF_UP)};
        snprintf(out[i].name, sizeof(out[i].name), "%s", br[i].name);
    }
    return 3;
}

/* The cycle closes carry the legacy invoice's taxes; now and then the first is wrong (a rate
 * typed in by hand): TAX_MISMATCH. */
static aj_err gen_closes(gen_ctx *g, const gen_account *accts, uint64_t *rng) {
    char cid[AJ_ID_LEN + 8], rid[AJ_ID_LEN + 1];
    aj_event ev;
    aj_err rc;
    for (int64_t i = 0; i < g->o->accounts; i++) {
        const gen_account *a = &accts[i];
        aj_cycle_close *cl = &ev.u.close;
        memset(&ev, 0, sizeof(ev));
        ev.kind = AJ_EVENT_CYCLE_CLOSE;
        memcpy(cl->account, a->id, sizeof(cl->account));
        memcpy(cl->cycle_id, GEN_CYCLE, sizeof(GEN_CYCLE));
        cl->period_start_ms = a->period_start;
        cl->period_end_ms = a->period_end;
        cl->n_legacy_taxes = (size_t)gen_taxes(a, cl->legacy_taxes);
        aj_legacy_tax *t = &cl->legacy_taxes[0];
        if (a->legacy_base > 0 && gen_chance_ppm(rng, g->o->error_ppm)) {
            aj_money right = t->amount;
            /* One to fifty cents either way, never below zero. */
            aj_money wrong = right + (gen_below(rng, 2) ? 1 : -1) * 10000 * (1 + gen_below(rng, 50));
            if (wrong < 0) wrong = right + 10000;
            t->amount = wrong;
            snprintf(rid, sizeof(rid), "TAX-%s-%s-%s", t->name, a->id, GEN_CYCLE);
            snprintf(cid, sizeof(cid), "COR-%s", rid);
            if ((rc = gen_add_truth(g, cid, rid, AJ_REASON_TAX_MISMATCH, wrong, right))) return rc;
        }
        if ((rc = gen_emit_event(g, &ev))) return rc;
        g->counts.closes++;
    }
    return AJ_E_OK;
}

aj_err aj_gen_run(const aj_gen_opts *o, const aj_gen_out *out, aj_gen_counts *counts) {
    uint64_t rng = o->seed;
    uint64_t otc_rng = o->seed ^ 0x4f54432d67656e31ULL;   /* the one-time charges' own stream */
    gen_account *accts = NULL;
    gen_ctx g;
    aj_err rc = AJ_E_NOMEM;

    memset(&g, 0, sizeof(g));
    g.o = o;
    g.out = out;
    if (o->accounts <= 0 || o->accounts > 999999 || o->records < 0) return AJ_E_ARG;
    if (!(g.enc = aj_encoder_create()) || !(accts = calloc((size_t)o->accounts, sizeof(*accts)))) goto end;
    for (int64_t i = 0; i < o->accounts; i++) gen_account_make(&accts[i], i, &rng);
    if ((rc = gen_contracts(&g, accts)) || (rc = gen_recurring(&g, accts, &rng)) ||
        (rc = gen_one_time(&g, accts, &otc_rng)) || (rc = gen_usage(&g, accts, &rng)) ||
        (rc = gen_closes(&g, accts, &rng)))
        goto end;
    for (size_t i = 0; i < g.n_truths && !rc; i++) rc = out->truth(out->opaque, &g.truths[i]);
    g.counts.truths = (int64_t)g.n_truths;
    if (counts) *counts = g.counts;
end:
    free(accts);
    free(g.truths);
    aj_bytes_free(&g.buf);
    aj_encoder_destroy(g.enc);
    return rc;
}
