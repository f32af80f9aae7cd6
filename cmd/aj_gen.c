/* aj_gen.c - a deterministic synthetic carrier workload with a ground truth of its errors.
 *
 * The generator prices every record with its own arithmetic (gen_price below), written from
 * docs/rating.md and not from rating/, so the ground truth checks the engine rather than
 * repeating it. Errors are injected only where the documented classification order names
 * exactly the injected reason (see gen_explains), so precision and recall can reach 100%.
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

/* ---- the carrier's catalogue ---- */

enum { Z_LOCAL, Z_MOBILE, Z_NATIONAL, Z_INTL_A, Z_INTL_B, Z_OTHER, Z_COUNT };

static const char *const gen_zone_names[Z_COUNT] = {"LOCAL", "MOBILE", "NATIONAL", "INTL_A", "INTL_B", "OTHER"};
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

typedef struct gen_rate {
    int present;
    aj_money connect_fee, price;
    int64_t rate_unit, first, next;
} gen_rate;

/* Base rates of plan template 0, micro-units: [service][zone]. */
static gen_rate gen_base(aj_service s, int z) {
    static const aj_money voice_price[Z_COUNT] = {50000, 250000, 120000, 450000, 1200000, 2000000};
    static const aj_money voice_fee[Z_COUNT] = {0, 20000, 10000, 50000, 100000, 0};
    static const aj_money sms_price[Z_COUNT] = {30000, 50000, 60000, 150000, 250000, 300000};
    gen_rate r = {1, 0, 0, 1, 1, 1};

    switch (s) {
    case AJ_SERVICE_VOICE:
        r.connect_fee = voice_fee[z];
        r.price = voice_price[z];
        r.rate_unit = 60;
        r.first = z >= Z_INTL_A ? 60 : 30;
        r.next = z >= Z_INTL_A ? 60 : 6;
        break;
    case AJ_SERVICE_SMS:
        r.price = sms_price[z];
        break;
    case AJ_SERVICE_MMS:
        r.price = 200000;
        break;
    case AJ_SERVICE_DATA:
        if (z != Z_OTHER) r.present = 0;
        r.price = 500000;
        r.rate_unit = 1048576;
        r.first = 1024;
        r.next = 1024;
        break;
    default:
        r.present = 0;
    }
    return r;
}

/* Plan templates scale prices by num/den (exact on the base prices). */
static const int64_t gen_scale[3][2] = {{1, 1}, {4, 5}, {5, 4}};

/* What an amendment (contract version 2) changes: lower prices in three cells. */
static gen_rate gen_rate_of(int tmpl, int version, aj_service s, int z) {
    gen_rate r = gen_base(s, z);
    r.price = r.price * gen_scale[tmpl][0] / gen_scale[tmpl][1];
    r.connect_fee = r.connect_fee * gen_scale[tmpl][0] / gen_scale[tmpl][1];
    if (version >= 2 && ((s == AJ_SERVICE_VOICE && (z == Z_NATIONAL || z == Z_MOBILE)) ||
                         (s == AJ_SERVICE_SMS && z == Z_NATIONAL)))
        r.price = r.price * 5 / 6;
    return r;
}

/* Charge per docs/rating.md "Usage charge", computed independently of rating/. */
static aj_money gen_price(const gen_rate *r, int64_t q) {
    __int128 billed, n, units;
    if (q <= 0) return 0;
    billed = q <= r->first ? r->first : r->first + ((q - r->first + r->next - 1) / r->next) * r->next;
    n = billed * r->price;
    units = n / r->rate_unit;
    if (2 * (n % r->rate_unit) >= r->rate_unit) units++;   /* HALF_UP, n >= 0 */
    return (aj_money)(units + r->connect_fee);
}

/* ---- accounts ---- */

#define GEN_CYCLE "2026-10"
#define GEN_CYCLE_START 1790812800000LL      /* 2026-10-01T00:00:00Z */
#define GEN_CYCLE_END 1793491200000LL        /* 2026-11-01T00:00:00Z */
#define GEN_CONTRACT_START 1767225600000LL   /* 2026-01-01T00:00:00Z */
#define GEN_DAY 86400000LL
#define GEN_MAX_LINES 4

typedef struct gen_account {
    char id[AJ_KEY_LEN + 1];
    int tmpl;
    int64_t amend_ms;     /* version 2 from here; 0 when the account has one version */
    int n_lines;
    aj_money line_price[GEN_MAX_LINES];
} gen_account;

static void gen_account_make(gen_account *a, int64_t i, uint64_t *rng) {
    snprintf(a->id, sizeof(a->id), "ACC%06lld", (long long)i);
    a->tmpl = (int)gen_below(rng, 3);
    a->amend_ms = gen_below(rng, 2) ? GEN_CYCLE_START + (5 + gen_below(rng, 20)) * GEN_DAY : 0;
    a->n_lines = 1 + (int)gen_below(rng, GEN_MAX_LINES);
    for (int l = 0; l < a->n_lines; l++)
        a->line_price[l] = (29900000 + 10000000 * gen_below(rng, 5)) * gen_scale[a->tmpl][0] / gen_scale[a->tmpl][1];
}

static char *gen_strdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

/* The contract version of an account, built as the domain struct (freed by the caller). */
static aj_contract *gen_contract(const gen_account *a, int version) {
    aj_contract *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->account = gen_strdup(a->id);
    char cid[AJ_ID_LEN + 1];
    snprintf(cid, sizeof(cid), "CT-%s", a->id);
    c->contract_id = gen_strdup(cid);
    c->version = version;
    c->status = AJ_CONTRACT_ACTIVE;
    c->effective_from = version == 1 ? GEN_CONTRACT_START : a->amend_ms;
    c->effective_to = version == 1 && a->amend_ms ? a->amend_ms : INT64_MAX;
    memcpy(c->currency, "BRL", 4);
    c->time_zone = gen_strdup("America/Sao_Paulo");
    c->default_zone = gen_strdup(gen_zone_names[Z_OTHER]);
    c->zones = calloc(Z_OTHER, sizeof(*c->zones));
    c->rates = calloc((size_t)AJ_SERVICE__COUNT * Z_COUNT, sizeof(*c->rates));
    c->lines = calloc(GEN_MAX_LINES, sizeof(*c->lines));
    if (!c->zones || !c->rates || !c->lines) abort();
    for (int z = 0; z < Z_OTHER; z++) {
        aj_zone *zone = &c->zones[c->n_zones++];
        zone->name = gen_strdup(gen_zone_names[z]);
        zone->prefixes = calloc(6, sizeof(char *));
        if (!zone->prefixes) abort();
        for (int p = 0; gen_zone_prefixes[z][p]; p++) zone->prefixes[zone->n_prefixes++] = gen_strdup(gen_zone_prefixes[z][p]);
    }
    for (int s = 0; s < AJ_SERVICE__COUNT; s++)
        for (int z = 0; z < Z_COUNT; z++) {
            gen_rate g = gen_rate_of(a->tmpl, version, (aj_service)s, z);
            if (!g.present) continue;
            aj_rate *r = &c->rates[c->n_rates++];
            r->service = (aj_service)s;
            r->zone = gen_strdup(gen_zone_names[z]);
            r->connect_fee = g.connect_fee;
            r->price = g.price;
            r->rate_unit = g.rate_unit;
            r->first_increment = g.first;
            r->next_increment = g.next;
        }
    for (int l = 0; l < a->n_lines; l++) {
        char lid[AJ_ID_LEN + 1];
        snprintf(lid, sizeof(lid), "%s-L%d", a->id, l);
        c->lines[l].line_id = gen_strdup(lid);
        c->lines[l].service = AJ_SERVICE_VOICE;
        c->lines[l].monthly_price = a->line_price[l];
    }
    c->n_lines = (size_t)a->n_lines;
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

/* ---- error injection ---- */

static const int64_t gen_increments[][2] = {{60, 60}, {1, 1}, {30, 6}, {60, 1}, {30, 30}, {60, 6}, {60, 30}};

/*
 * The reason docs/rating.md's classification gives a legacy charge (first hypothesis that
 * reproduces it, in the documented order), or -1 when it equals the right charge.
 */
static int gen_explains(const gen_account *a, int version, aj_service s, int z, int64_t q,
                        aj_money legacy) {
    gen_rate r = gen_rate_of(a->tmpl, version, s, z);
    aj_money right = gen_price(&r, q);
    if (legacy == right) return -1;
    for (int v = version - 1; v >= 1; v--) {
        gen_rate old = gen_rate_of(a->tmpl, v, s, z);
        if (old.present && gen_price(&old, q) == legacy) return AJ_REASON_STALE_CONTRACT_VERSION;
    }
    for (size_t i = 0; i < sizeof(gen_increments) / sizeof(gen_increments[0]); i++) {
        gen_rate alt = r;
        alt.first = gen_increments[i][0];
        alt.next = gen_increments[i][1];
        if (alt.first == r.first && alt.next == r.next) continue;
        if (gen_price(&alt, q) == legacy) return AJ_REASON_WRONG_INCREMENT;
    }
    for (int oz = 0; oz < Z_COUNT; oz++) {
        gen_rate other = gen_rate_of(a->tmpl, version, s, oz);
        if (oz != z && other.present && gen_price(&other, q) == legacy) return AJ_REASON_WRONG_ZONE;
    }
    if (q > 0 && r.connect_fee > 0 && right - r.connect_fee == legacy) return AJ_REASON_MISSING_CONNECT_FEE;
    return AJ_REASON_PRICE_MISMATCH;
}

/* Legacy charge with an error of the given reason, or the right charge when that error
 * does not apply to the record. */
static aj_money gen_wrong(uint64_t *rng, const gen_account *a, int version, aj_service s, int z,
                          int64_t q, aj_reason reason) {
    gen_rate r = gen_rate_of(a->tmpl, version, s, z);
    switch (reason) {
    case AJ_REASON_STALE_CONTRACT_VERSION:
        if (version < 2) break;
        {
            gen_rate old = gen_rate_of(a->tmpl, version - 1, s, z);
            return gen_price(&old, q);
        }
    case AJ_REASON_WRONG_INCREMENT:
        if (s != AJ_SERVICE_VOICE) break;
        r.first = r.first == 30 ? 60 : 1;
        r.next = r.first;
        return gen_price(&r, q);
    case AJ_REASON_WRONG_ZONE: {
        int oz = (int)gen_below(rng, Z_COUNT);
        gen_rate other = gen_rate_of(a->tmpl, version, s, oz);
        if (oz == z || !other.present) break;
        return gen_price(&other, q);
    }
    case AJ_REASON_MISSING_CONNECT_FEE:
        if (q > 0 && r.connect_fee > 0) return gen_price(&r, q) - r.connect_fee;
        break;
    default:
        break;
    }
    return gen_price(&r, q);
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
        snprintf(buf, len, "%s,DEAD_LETTER:%s,%lld,", t->record_id, aj_err_name(t->dead_reason), (long long)t->legacy);
    else
        snprintf(buf, len, "%s,%s,%lld,%lld", t->record_id, aj_reason_name(t->reason), (long long)t->legacy,
                 (long long)t->correct);
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

static aj_err gen_add_truth(gen_ctx *g, const aj_truth *t) {
    if (g->n_truths == g->cap_truths) {
        size_t cap = g->cap_truths ? g->cap_truths * 2 : 1024;
        aj_truth *grown = realloc(g->truths, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        g->truths = grown;
        g->cap_truths = cap;
    }
    g->truths[g->n_truths++] = *t;
    return AJ_E_OK;
}

static aj_err gen_contracts(gen_ctx *g, const gen_account *accts) {
    aj_err rc = AJ_E_OK;
    for (int64_t i = 0; i < g->o->accounts && !rc; i++)
        for (int v = 1; v <= (accts[i].amend_ms ? 2 : 1) && !rc; v++) {
            aj_contract *c = gen_contract(&accts[i], v);
            g->buf.len = 0;
            if (!(rc = aj_encode_contract(g->enc, c, &g->buf)))
                rc = g->out->contract(g->out->opaque, c->account, g->buf.data, g->buf.len);
            aj_contract_free(c);
            g->counts.contracts++;
        }
    return rc;
}

static aj_err gen_recurring(gen_ctx *g, const gen_account *accts, uint64_t *rng) {
    aj_event ev;
    aj_err rc;

    for (int64_t i = 0; i < g->o->accounts; i++) {
        const gen_account *a = &accts[i];
        /* Each line's charge, plus now and then a charge for a line no longer in the inventory. */
        int extra = gen_chance_ppm(rng, g->o->error_ppm) ? 1 : 0;
        for (int l = 0; l < a->n_lines + extra; l++) {
            aj_recurring *r = &ev.u.recurring;
            aj_truth t;
            memset(&ev, 0, sizeof(ev));
            memset(&t, 0, sizeof(t));
            ev.kind = AJ_EVENT_RECURRING;
            snprintf(r->record_id, sizeof(r->record_id), "RC-%s-%s-%d", a->id, GEN_CYCLE, l);
            memcpy(r->account, a->id, sizeof(r->account));
            snprintf(r->line_id, sizeof(r->line_id), "%s-L%d", a->id, l < a->n_lines ? l : 9);
            r->service = AJ_SERVICE_VOICE;
            memcpy(r->cycle_id, GEN_CYCLE, sizeof(GEN_CYCLE));
            r->period_start_ms = GEN_CYCLE_START;
            r->period_end_ms = GEN_CYCLE_END;
            memcpy(r->currency, "BRL", 4);
            snprintf(r->tariff_code, sizeof(r->tariff_code), "MENS_T%d", a->tmpl);
            if (l >= a->n_lines) {
                r->legacy_amount = 19900000;
                t.reason = AJ_REASON_UNKNOWN_LINE;
                t.correct = 0;
            } else {
                r->legacy_amount = a->line_price[l];
                if (gen_chance_ppm(rng, g->o->error_ppm)) {
                    r->legacy_amount = a->line_price[l] / 5 * 6;
                    t.reason = AJ_REASON_RECURRING_PRICE;
                    t.correct = a->line_price[l];
                }
            }
            if (r->legacy_amount != (l < a->n_lines ? a->line_price[l] : 0)) {
                memcpy(t.record_id, r->record_id, sizeof(t.record_id));
                t.legacy = r->legacy_amount;
                if ((rc = gen_add_truth(g, &t))) return rc;
            }
            if ((rc = gen_emit_event(g, &ev))) return rc;
            g->counts.recurring++;
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
    default: u->start_ms = GEN_CONTRACT_START - GEN_DAY; return AJ_E_NO_CONTRACT;
    }
}

static aj_err gen_usage(gen_ctx *g, const gen_account *accts, uint64_t *rng) {
    static const aj_reason classes[] = {AJ_REASON_STALE_CONTRACT_VERSION, AJ_REASON_WRONG_INCREMENT,
                                        AJ_REASON_WRONG_ZONE, AJ_REASON_MISSING_CONNECT_FEE};
    static const char *const svc_code[] = {"VOZ", "SMS", "MMS", "DAD"};
    aj_event ev;
    aj_err rc;

    for (int64_t i = 0; i < g->o->records; i++) {
        const gen_account *a = &accts[gen_below(rng, g->o->accounts)];
        aj_usage *u = &ev.u.usage;
        int64_t svc = gen_below(rng, 100), w = gen_below(rng, 1000), z = 0;
        aj_truth t;

        memset(&ev, 0, sizeof(ev));
        memset(&t, 0, sizeof(t));
        ev.kind = AJ_EVENT_USAGE;
        snprintf(u->record_id, sizeof(u->record_id), "U%010lld", (long long)i);
        memcpy(u->account, a->id, sizeof(u->account));
        snprintf(u->subscriber, sizeof(u->subscriber), "%.20s-L%d", a->id, (int)gen_below(rng, a->n_lines) % 10);
        u->service = svc < 60 ? AJ_SERVICE_VOICE : svc < 85 ? AJ_SERVICE_SMS : svc < 90 ? AJ_SERVICE_MMS : AJ_SERVICE_DATA;
        u->start_ms = GEN_CYCLE_START + gen_below(rng, (GEN_CYCLE_END - GEN_CYCLE_START) / 1000) * 1000;
        while (w >= gen_zone_weight[z]) w -= gen_zone_weight[z++];
        snprintf(u->origin, sizeof(u->origin), "+5511%08lld", (long long)gen_below(rng, 100000000));
        z = u->service == AJ_SERVICE_DATA ? Z_OTHER : gen_number(rng, (int)z, u->destination, sizeof(u->destination));
        if (u->service == AJ_SERVICE_DATA) snprintf(u->destination, sizeof(u->destination), "internet");
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
        memcpy(u->currency, "BRL", 4);
        snprintf(u->tariff_code, sizeof(u->tariff_code), "%s_%s_T%d", svc_code[u->service], gen_zone_names[z], a->tmpl);

        int version = a->amend_ms && u->start_ms >= a->amend_ms ? 2 : 1;
        gen_rate r = gen_rate_of(a->tmpl, version, u->service, (int)z);
        aj_money right = gen_price(&r, u->quantity);
        u->legacy_charge = right;
        if (gen_chance_ppm(rng, g->o->invalid_ppm)) {
            t.dead_letter = 1;
            t.dead_reason = gen_invalidate(rng, u);
        } else if (gen_chance_ppm(rng, g->o->error_ppm)) {
            aj_reason want = classes[gen_below(rng, 4)];
            aj_money legacy = gen_wrong(rng, a, version, u->service, (int)z, u->quantity, want);
            /* Inject only what the documented classification attributes to this reason. */
            if (legacy >= 0 && gen_explains(a, version, u->service, (int)z, u->quantity, legacy) == (int)want) {
                u->legacy_charge = legacy;
                t.reason = want;
                t.correct = right;
            }
        }
        if (t.dead_letter || u->legacy_charge != right) {
            memcpy(t.record_id, u->record_id, sizeof(t.record_id));
            t.legacy = u->legacy_charge;
            if ((rc = gen_add_truth(g, &t))) return rc;
            if (t.dead_letter) g->counts.invalid++;
        }
        if ((rc = gen_emit_event(g, &ev))) return rc;
        g->counts.usage++;
    }
    return AJ_E_OK;
}

static aj_err gen_closes(gen_ctx *g, const gen_account *accts) {
    aj_event ev;
    aj_err rc;
    for (int64_t i = 0; i < g->o->accounts; i++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = AJ_EVENT_CYCLE_CLOSE;
        memcpy(ev.u.close.account, accts[i].id, sizeof(ev.u.close.account));
        memcpy(ev.u.close.cycle_id, GEN_CYCLE, sizeof(GEN_CYCLE));
        ev.u.close.period_start_ms = GEN_CYCLE_START;
        ev.u.close.period_end_ms = GEN_CYCLE_END;
        if ((rc = gen_emit_event(g, &ev))) return rc;
        g->counts.closes++;
    }
    return AJ_E_OK;
}

aj_err aj_gen_run(const aj_gen_opts *o, const aj_gen_out *out, aj_gen_counts *counts) {
    uint64_t rng = o->seed;
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
        (rc = gen_usage(&g, accts, &rng)) || (rc = gen_closes(&g, accts)))
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
