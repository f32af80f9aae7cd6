/* aj_fixtures.h - contracts built in code for the rating and adjust tests.
 *
 * Everything is built through aj_contract_init, aj_rate_init and aj_line_init so the fields
 * whose zero is not the default (currency decimals 2, rate decimals 6, line quantity 1,
 * effective_to / active_to INT64_MAX, ...) have their defaults; tests change what they need.
 */
#ifndef AJ_FIXTURES_H
#define AJ_FIXTURES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_types.h"

static inline char *fx_dup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static inline void *fx_grow(void *v, size_t n, size_t size) {
    void *g = realloc(v, (n + 1) * size);
    if (!g) abort();
    memset((char *)g + n * size, 0, size);
    return g;
}

/* A comma-separated list ("LOCAL,MOBILE") as an owned array of names; "" or NULL: none. */
static inline char **fx_names(const char *csv, size_t *n) {
    char **out = NULL;
    *n = 0;
    if (!csv || !*csv) return NULL;
    for (const char *p = csv;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        out = fx_grow(out, *n, sizeof(*out));
        out[*n] = calloc(len + 1, 1);
        if (!out[*n]) abort();
        memcpy(out[(*n)++], p, len);
        if (!end) break;
        p = end + 1;
    }
    return out;
}

/* ---- the basic catalogue ---- */

/* Appends a rate (aj_rate_init defaults: decimals 6, HALF_UP, no tiers, no min/max). band NULL:
 * every band without a rate of its own. */
static inline aj_rate *fx_add_rate(aj_contract *c, aj_service s, const char *zone, const char *band, aj_money fee,
                                   aj_money price, int64_t unit, int64_t first, int64_t next) {
    c->rates = fx_grow(c->rates, c->n_rates, sizeof(*c->rates));
    aj_rate *r = &c->rates[c->n_rates++];
    aj_rate_init(r);
    r->service = s;
    r->zone = fx_dup(zone);
    r->band = band ? fx_dup(band) : NULL;
    r->connect_fee = fee;
    r->price = price;
    r->rate_unit = unit;
    r->first_increment = first;
    r->next_increment = next;
    return r;
}

/* The rate of (service, zone, band) (band NULL: the rate with no band), or NULL. */
static inline aj_rate *fx_rate(aj_contract *c, aj_service s, const char *zone, const char *band) {
    for (size_t i = 0; i < c->n_rates; i++) {
        aj_rate *r = &c->rates[i];
        if (r->service == s && strcmp(r->zone, zone) == 0 &&
            ((!band && !r->band) || (band && r->band && strcmp(band, r->band) == 0)))
            return r;
    }
    return NULL;
}

/* Appends a line (aj_line_init defaults; active_from INT64_MIN / active_to INT64_MAX: always). */
static inline aj_line *fx_add_line(aj_contract *c, const char *id, aj_service s, aj_money monthly, int32_t quantity,
                                   int64_t active_from, int64_t active_to) {
    c->lines = fx_grow(c->lines, c->n_lines, sizeof(*c->lines));
    aj_line *l = &c->lines[c->n_lines++];
    aj_line_init(l);
    l->line_id = fx_dup(id);
    l->service = s;
    l->monthly_price = monthly;
    l->quantity = quantity;
    l->active_from = active_from;
    l->active_to = active_to;
    return l;
}

/*
 * Contract CT-1 of account ACC1, BRL (currency decimals 2 HALF_UP), ACTIVE, time zone
 * America/Sao_Paulo, no bands (every instant is in the default band), AT_START:
 *   zones LOCAL {5511}, MOBILE {55119}, NATIONAL {55}, INTL {1, 44}; default OTHER
 *   VOICE LOCAL     0.09/min 30/6 fee 0
 *   VOICE MOBILE    0.30/min 30/6 fee 0.02
 *   VOICE NATIONAL  national_price/min 30/6 fee 0.01
 *   VOICE INTL      0.60/min 60/60
 *   SMS   LOCAL     0.05/msg
 *   DATA  OTHER     0.50 per MiB, 1024/1024
 *   every rate: decimals 6, HALF_UP, no tiers, no minimum or maximum
 *   line ACC1-L0 VOICE 49.90/month x 1, always active
 * national_price (micro-units per minute) varies between versions (amendments in tests).
 */
static inline aj_contract *fx_contract(int version, int64_t from, int64_t to, int64_t national_price) {
    static const char *const zones[][3] = {{"LOCAL", "5511", NULL}, {"MOBILE", "55119", NULL},
                                           {"NATIONAL", "55", NULL}, {"INTL", "1", "44"}};
    aj_contract *c = calloc(1, sizeof(*c));
    if (!c) abort();
    aj_contract_init(c);
    c->account = fx_dup("ACC1");
    c->contract_id = fx_dup("CT-1");
    c->version = version;
    c->effective_from = from;
    c->effective_to = to;
    memcpy(c->currency, "BRL", 4);
    c->time_zone = fx_dup("America/Sao_Paulo");
    c->default_zone = fx_dup("OTHER");
    c->zones = calloc(4, sizeof(*c->zones));
    if (!c->zones) abort();
    for (int z = 0; z < 4; z++) {
        aj_zone *zone = &c->zones[c->n_zones++];
        zone->name = fx_dup(zones[z][0]);
        zone->prefixes = calloc(2, sizeof(char *));
        if (!zone->prefixes) abort();
        for (int p = 1; p < 3 && zones[z][p]; p++) zone->prefixes[zone->n_prefixes++] = fx_dup(zones[z][p]);
    }
    fx_add_rate(c, AJ_SERVICE_VOICE, "LOCAL", NULL, 0, 90000, 60, 30, 6);
    fx_add_rate(c, AJ_SERVICE_VOICE, "MOBILE", NULL, 20000, 300000, 60, 30, 6);
    fx_add_rate(c, AJ_SERVICE_VOICE, "NATIONAL", NULL, 10000, national_price, 60, 30, 6);
    fx_add_rate(c, AJ_SERVICE_VOICE, "INTL", NULL, 0, 600000, 60, 60, 60);
    fx_add_rate(c, AJ_SERVICE_SMS, "LOCAL", NULL, 0, 50000, 1, 1, 1);
    fx_add_rate(c, AJ_SERVICE_DATA, "OTHER", NULL, 0, 500000, 1048576, 1024, 1024);
    fx_add_line(c, "ACC1-L0", AJ_SERVICE_VOICE, 49900000, 1, INT64_MIN, INT64_MAX);
    return c;
}

/* ---- the optional rules (docs/rating.md "Time bands" .. "Discounts") ---- */

#define FX_MON 0x01
#define FX_TUE 0x02
#define FX_WED 0x04
#define FX_THU 0x08
#define FX_FRI 0x10
#define FX_SAT 0x20
#define FX_SUN 0x40

/* Appends a band with one weekly window (days mask, local minutes [from, to)) and no holiday. */
static inline aj_band *fx_add_band(aj_contract *c, const char *name, uint8_t days, int32_t from_minute,
                                   int32_t to_minute) {
    c->bands = fx_grow(c->bands, c->n_bands, sizeof(*c->bands));
    aj_band *b = &c->bands[c->n_bands++];
    b->name = fx_dup(name);
    b->windows = calloc(1, sizeof(*b->windows));
    if (!b->windows) abort();
    b->windows[0] = (aj_window){days, from_minute, to_minute};
    b->n_windows = 1;
    return b;
}

/* Appends a tier to r: from `start` elapsed units on, price per rate_unit, increments. */
static inline void fx_add_tier(aj_rate *r, int64_t start, aj_money price, int64_t increment) {
    r->tiers = fx_grow(r->tiers, r->n_tiers, sizeof(*r->tiers));
    r->tiers[r->n_tiers++] = (aj_tier){start, price, increment};
}

/* zones: comma-separated zone names, "" for every zone. */
static inline void fx_add_allowance(aj_contract *c, const char *name, aj_service s, const char *zones, int64_t units) {
    c->allowances = fx_grow(c->allowances, c->n_allowances, sizeof(*c->allowances));
    aj_allowance *a = &c->allowances[c->n_allowances++];
    a->name = fx_dup(name);
    a->service = s;
    a->zones = fx_names(zones, &a->n_zones);
    a->units = units;
}

static inline void fx_add_discount(aj_contract *c, const char *name, aj_service s, const char *zones,
                                   int64_t percent_ppm, aj_money cap) {
    c->discounts = fx_grow(c->discounts, c->n_discounts, sizeof(*c->discounts));
    aj_discount *d = &c->discounts[c->n_discounts++];
    d->name = fx_dup(name);
    d->service = s;
    d->zones = fx_names(zones, &d->n_zones);
    d->percent_ppm = percent_ppm;
    d->cap = cap;
}

static inline void fx_add_promotion(aj_contract *c, const char *name, aj_service s, const char *zones,
                                    aj_promo_kind kind, int64_t value, int32_t priority, int64_t valid_from,
                                    int64_t valid_to) {
    c->promotions = fx_grow(c->promotions, c->n_promotions, sizeof(*c->promotions));
    aj_promotion *m = &c->promotions[c->n_promotions++];
    m->name = fx_dup(name);
    m->service = s;
    m->zones = fx_names(zones, &m->n_zones);
    m->kind = kind;
    m->value = value;
    m->priority = priority;
    m->valid_from = valid_from;
    m->valid_to = valid_to;
}

/* Drops every line of the inventory (a contract whose closes add no MRC_MISSING). */
static inline void fx_no_lines(aj_contract *c) {
    for (size_t i = 0; i < c->n_lines; i++) free(c->lines[i].line_id);
    free(c->lines);
    c->lines = NULL;
    c->n_lines = 0;
}

/* 2026-10-01T00:00:00Z and 2026-11-01T00:00:00Z (UTC ms): FX_PROMOTION's window. */
#define FX_PROMO_FROM 1790812800000LL
#define FX_PROMO_TO 1793491200000LL

enum {
    FX_BANDS = 1u << 0,
    FX_TIERS = 1u << 1,
    FX_ALLOWANCE = 1u << 2,
    FX_DISCOUNT = 1u << 3,
    FX_PROMOTION = 1u << 4,
    FX_MINMAX = 1u << 5,
};

/*
 * The extended catalogue, added to an fx_contract by flag:
 *   FX_BANDS      band PEAK = MON..FRI 08:00-20:00 local, default band OFFPEAK;
 *                 VOICE NATIONAL PEAK 0.30/min 30/6 fee 0.01 (the no-band NATIONAL rate is
 *                 OFFPEAK's; the other zones have only no-band rates, so both bands)
 *   FX_TIERS      VOICE NATIONAL (no-band rate): tier from 600 s at 0.06/min, 60 s increments
 *   FX_ALLOWANCE  FRANQUIA: 50 billed s per cycle of VOICE in LOCAL, MOBILE, NATIONAL
 *   FX_DISCOUNT   FIDELIDADE: 10% of VOICE, cap 5.00 per cycle
 *   FX_PROMOTION  OUTUBRO: PERCENT_OFF 50% of VOICE, priority 1, starts in
 *                 [FX_PROMO_FROM, FX_PROMO_TO)
 *   FX_MINMAX     VOICE INTL minimum 1.00; DATA OTHER maximum 15.00
 */
static inline aj_contract *fx_extend(aj_contract *c, unsigned what) {
    if (what & FX_BANDS) {
        fx_add_band(c, "PEAK", FX_MON | FX_TUE | FX_WED | FX_THU | FX_FRI, 8 * 60, 20 * 60);
        c->default_band = fx_dup("OFFPEAK");
        fx_add_rate(c, AJ_SERVICE_VOICE, "NATIONAL", "PEAK", 10000, 300000, 60, 30, 6);
    }
    if (what & FX_TIERS) fx_add_tier(fx_rate(c, AJ_SERVICE_VOICE, "NATIONAL", NULL), 600, 60000, 60);
    if (what & FX_ALLOWANCE) fx_add_allowance(c, "FRANQUIA", AJ_SERVICE_VOICE, "LOCAL,MOBILE,NATIONAL", 50);
    if (what & FX_DISCOUNT) fx_add_discount(c, "FIDELIDADE", AJ_SERVICE_VOICE, "", 100000, 5000000);
    if (what & FX_PROMOTION)
        fx_add_promotion(c, "OUTUBRO", AJ_SERVICE_VOICE, "", AJ_PROMO_PERCENT_OFF, 500000, 1, FX_PROMO_FROM,
                         FX_PROMO_TO);
    if (what & FX_MINMAX) {
        fx_rate(c, AJ_SERVICE_VOICE, "INTL", NULL)->min_charge = 1000000;
        fx_rate(c, AJ_SERVICE_DATA, "OTHER", NULL)->max_charge = 15000000;
    }
    return c;
}

/* A usage record of ACC1 (subscriber ACC1-L0, cycle 2026-10, BRL, tariff VOZ_T0). */
static inline aj_usage fx_usage(const char *id, aj_service s, const char *dest, int64_t q, aj_money legacy,
                                int64_t start) {
    aj_usage u;
    memset(&u, 0, sizeof(u));
    snprintf(u.record_id, sizeof(u.record_id), "%s", id);
    memcpy(u.account, "ACC1", 5);
    memcpy(u.subscriber, "ACC1-L0", 8);
    u.service = s;
    u.start_ms = start;
    u.quantity = q;
    snprintf(u.destination, sizeof(u.destination), "%s", dest);
    memcpy(u.cycle_id, "2026-10", 8);
    u.legacy_charge = legacy;
    memcpy(u.currency, "BRL", 4);
    memcpy(u.tariff_code, "VOZ_T0", 7);
    return u;
}

/* Adds a one-time charge to c's price list (docs/rating.md "One-time charges"). */
static inline aj_otc_price *fx_add_otc(aj_contract *c, const char *code, const char *description, aj_money price) {
    c->one_time_charges = fx_grow(c->one_time_charges, c->n_one_time_charges, sizeof(*c->one_time_charges));
    aj_otc_price *o = &c->one_time_charges[c->n_one_time_charges++];
    o->code = fx_dup(code);
    o->description = fx_dup(description);
    o->price = price;
    return o;
}

/* A one-time charge of ACC1 (line ACC1-L0, cycle 2026-10, BRL, tariff OTC). */
static inline aj_one_time fx_one_time(const char *id, const char *code, int64_t quantity, aj_money legacy,
                                      int64_t at) {
    aj_one_time o;
    memset(&o, 0, sizeof(o));
    snprintf(o.record_id, sizeof(o.record_id), "%s", id);
    memcpy(o.account, "ACC1", 5);
    memcpy(o.subscriber, "ACC1-L0", 8);
    snprintf(o.charge_code, sizeof(o.charge_code), "%s", code);
    o.charged_ms = at;
    memcpy(o.cycle_id, "2026-10", 8);
    o.quantity = quantity;
    o.legacy_amount = legacy;
    memcpy(o.currency, "BRL", 4);
    memcpy(o.tariff_code, "OTC", 4);
    return o;
}

#endif /* AJ_FIXTURES_H */
