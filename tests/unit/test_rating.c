/* test_rating.c - the rating engine against docs/rating.md: every worked example of the page
 * (named after its section), the edges of each rule, plan compilation errors, a 100,000-prefix
 * destination table checked against a brute-force search, and property tests over generated
 * contracts (seeded splitmix64; set AJ_RATING_SEED to replay, the seed is printed on failure).
 *
 * Every expected value is worked out by hand from docs/rating.md; none is copied from the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_rating.h"

/* ------------------------------------------------------------------------------------------ */
/* Time: days from a civil date (Howard Hinnant), written here so the inputs do not depend on  */
/* the code under test.                                                                        */

#define SEC_MS INT64_C(1000)
#define MIN_MS INT64_C(60000)
#define HOUR_MS INT64_C(3600000)
#define DAY_MS INT64_C(86400000)

static int64_t days_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* UTC instant of a UTC civil time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s) {
    return days_civil(y, mo, d) * DAY_MS + ((int64_t)h * 3600 + mi * 60 + s) * SEC_MS;
}

/* UTC instant of a civil time in America/Sao_Paulo (UTC-3 all of 2026: no DST since 2019). */
static int64_t brt(int y, int mo, int d, int h, int mi, int s) {
    return utc(y, mo, d, h, mi, s) + 3 * HOUR_MS;
}

/* ------------------------------------------------------------------------------------------ */
/* Contracts built by hand. Strings are malloc'ed and owned by the contract.                   */

#define VOICE AJ_SERVICE_VOICE
#define SMS AJ_SERVICE_SMS
#define MMS AJ_SERVICE_MMS
#define DATA AJ_SERVICE_DATA

#define MON 0x01
#define TUE 0x02
#define WED 0x04
#define THU 0x08
#define FRI 0x10
#define SAT 0x20
#define SUN 0x40
#define WEEKDAYS 0x1F
#define WEEKEND 0x60
#define EVERYDAY 0x7F

static void *xrealloc(void *p, size_t n, size_t size) {
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q) abort();
    return q;
}

static char *xdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static char *xndup(const char *s, size_t n) {
    char *d = strndup(s, n);
    if (!d) abort();
    return d;
}

/* Capacity of an array of n elements grown by APPEND: the next power of two. */
static size_t cap_of(size_t n) {
    size_t c = 1;
    while (c < n) c *= 2;
    return c;
}

/* Grows arr (of n elements, capacity cap_of(n)) so that it holds one more. */
static void *grow(void *arr, size_t n, size_t size) {
    return n == 0 || (n & (n - 1)) == 0 ? xrealloc(arr, cap_of(n + 1), size) : arr;
}

/* Appends a zeroed element to arr (of n elements) and returns it. Every array of a test contract
 * is built by APPEND, so its capacity is always cap_of(n). */
#define APPEND(arr, n)                                                                             \
    ((arr) = grow((arr), (n), sizeof(*(arr))), memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* "A,B,C" -> malloc'ed array of malloc'ed names; NULL or "" -> none. */
static char **names_of(const char *csv, size_t *n) {
    char **v = NULL;
    *n = 0;
    if (!csv || !*csv) return NULL;
    for (const char *p = csv; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char **slot = APPEND(v, *n);
        *slot = xndup(p, len);
        p += len;
        if (*p == ',') p++;
    }
    return v;
}

/* A contract of account, version, [from, to), time zone tz; default zone OTHER, default band
 * OFFPEAK, BRL, currency decimals 2 HALF_UP (aj_contract_init). */
static aj_contract *ct_new(const char *account, int32_t version, int64_t from, int64_t to, const char *tz) {
    aj_contract *c = calloc(1, sizeof(*c));
    if (!c) abort();
    aj_contract_init(c);
    c->account = xdup(account);
    c->contract_id = xdup("CT-TEST");
    c->version = version;
    c->effective_from = from;
    c->effective_to = to;
    memcpy(c->currency, "BRL", 4);
    c->time_zone = xdup(tz);
    c->default_zone = xdup("OTHER");
    c->default_band = xdup("OFFPEAK");
    return c;
}

static aj_zone *ct_zone(aj_contract *c, const char *name, const char *prefixes) {
    aj_zone *z = APPEND(c->zones, c->n_zones);
    z->name = xdup(name);
    z->prefixes = names_of(prefixes, &z->n_prefixes);
    return z;
}

static aj_band *ct_band(aj_contract *c, const char *name) {
    aj_band *b = APPEND(c->bands, c->n_bands);
    b->name = xdup(name);
    return b;
}

static void band_window(aj_band *b, uint8_t days, int32_t from_minute, int32_t to_minute) {
    aj_window *w = APPEND(b->windows, b->n_windows);
    w->days = days;
    w->from_minute = from_minute;
    w->to_minute = to_minute;
}

static void band_holiday(aj_band *b, int64_t day) {
    int64_t *h = APPEND(b->holidays, b->n_holidays);
    *h = day;
}

/* A rate (aj_rate_init: decimals 6, HALF_UP); the pointer is valid until the next rate. */
static aj_rate *ct_rate(aj_contract *c, aj_service s, const char *zone, const char *band, aj_money price,
                        int64_t unit, int64_t first, int64_t next) {
    aj_rate *r = APPEND(c->rates, c->n_rates);
    aj_rate_init(r);
    r->service = s;
    r->zone = xdup(zone);
    r->band = band ? xdup(band) : NULL;
    r->price = price;
    r->rate_unit = unit;
    r->first_increment = first;
    r->next_increment = next;
    return r;
}

static void rate_tier(aj_rate *r, int64_t start, aj_money price, int64_t increment) {
    aj_tier *t = APPEND(r->tiers, r->n_tiers);
    t->start = start;
    t->price = price;
    t->increment = increment;
}

static void ct_allowance(aj_contract *c, const char *name, aj_service s, int64_t units, const char *zones) {
    aj_allowance *a = APPEND(c->allowances, c->n_allowances);
    a->name = xdup(name);
    a->service = s;
    a->units = units;
    a->zones = names_of(zones, &a->n_zones);
}

static void ct_discount(aj_contract *c, const char *name, aj_service s, int64_t ppm, aj_money cap,
                        const char *zones) {
    aj_discount *d = APPEND(c->discounts, c->n_discounts);
    d->name = xdup(name);
    d->service = s;
    d->percent_ppm = ppm;
    d->cap = cap;
    d->zones = names_of(zones, &d->n_zones);
}

static void ct_promo(aj_contract *c, const char *name, aj_service s, aj_promo_kind kind, int64_t value,
                     int32_t priority, int64_t from, int64_t to, const char *zones) {
    aj_promotion *m = APPEND(c->promotions, c->n_promotions);
    m->name = xdup(name);
    m->service = s;
    m->kind = kind;
    m->value = value;
    m->priority = priority;
    m->valid_from = from;
    m->valid_to = to;
    m->zones = names_of(zones, &m->n_zones);
}

static void ct_line(aj_contract *c, const char *id, aj_money monthly, int32_t quantity, int64_t from, int64_t to) {
    aj_line *l = APPEND(c->lines, c->n_lines);
    aj_line_init(l);
    l->line_id = xdup(id);
    l->service = VOICE;
    l->monthly_price = monthly;
    l->quantity = quantity;
    l->active_from = from;
    l->active_to = to;
}

/* ------------------------------------------------------------------------------------------ */
/* Store, records, charges.                                                                    */

static void put_ok(aj_contract_store *s, aj_contract *c) {
    char detail[512] = "";
    aj_err rc = aj_contract_store_put(s, c, detail, sizeof(detail));
    if (rc != AJ_E_OK) print_error("put: %s\n", detail);
    assert_int_equal(rc, AJ_E_OK);
}

/* A store holding c alone. */
static aj_contract_store *store_of(aj_contract *c) {
    aj_contract_store *s = aj_contract_store_create();
    assert_non_null(s);
    put_ok(s, c);
    return s;
}

/* The plan of account ACC1 in force at t. */
static const aj_plan *plan_at(const aj_contract_store *s, int64_t t) {
    const aj_plan *p = aj_contract_store_find(s, "ACC1", t, NULL);
    assert_non_null(p);
    return p;
}

static aj_usage mk_usage(aj_service service, const char *dest, int64_t start, int64_t quantity) {
    aj_usage u;
    memset(&u, 0, sizeof(u));
    snprintf(u.record_id, sizeof(u.record_id), "R1");
    snprintf(u.account, sizeof(u.account), "ACC1");
    snprintf(u.subscriber, sizeof(u.subscriber), "5511999990000");
    snprintf(u.destination, sizeof(u.destination), "%s", dest);
    snprintf(u.cycle_id, sizeof(u.cycle_id), "2026-10");
    snprintf(u.currency, sizeof(u.currency), "BRL");
    u.service = service;
    u.start_ms = start;
    u.quantity = quantity;
    return u;
}

/* Rates u and returns its charge (asserting AJ_E_OK); the whole charge goes to out if not NULL. */
static aj_money rate_of(const aj_plan *p, const aj_usage *u, const aj_counters *state, const aj_hyp *h,
                        aj_charge *out) {
    aj_charge tmp;
    aj_charge *c = out ? out : &tmp;
    memset(c, 0, sizeof(*c));
    assert_int_equal(aj_rating_rate_usage(p, u, state, h, c), AJ_E_OK);
    return c->amount;
}

static aj_money rate_q(const aj_plan *p, aj_service s, const char *dest, int64_t start, int64_t q) {
    aj_usage u = mk_usage(s, dest, start, q);
    return rate_of(p, &u, NULL, NULL, NULL);
}

static size_t zone_index(const aj_plan *p, const char *name) {
    for (size_t i = 0; i < aj_plan_zone_count(p); i++)
        if (strcmp(aj_plan_zone_name(p, i), name) == 0) return i;
    fail_msg("no zone %s", name);
    return 0;
}

static size_t band_index(const aj_plan *p, const char *name) {
    for (size_t i = 0; i < aj_plan_band_count(p); i++)
        if (strcmp(aj_plan_band_name(p, i), name) == 0) return i;
    fail_msg("no band %s", name);
    return 0;
}

static void assert_draw(const aj_charge *c, size_t i, aj_counter_kind kind, const char *name, int64_t amount) {
    assert_true(i < c->n_draws);
    assert_int_equal(c->draws[i].kind, kind);
    assert_string_equal(c->draws[i].name, name);
    assert_int_equal(c->draws[i].amount, amount);
}

/* A contract with one rate for `service` in the default zone, no bands. */
static aj_contract *one_rate(aj_service service, aj_money price, int64_t unit, int64_t first, int64_t next,
                             aj_money fee, int32_t decimals, aj_rounding rounding) {
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    aj_rate *r = ct_rate(c, service, "OTHER", NULL, price, unit, first, next);
    r->connect_fee = fee;
    r->decimals = decimals;
    r->rounding = rounding;
    return c;
}

#define T2026 utc(2026, 10, 6, 15, 0, 0)
#define NUM_LOCAL "+55 11 3123-4567"
#define NUM_MOBILE "+55 11 91234-5678"
#define NUM_NATIONAL "00552133334444"
#define NUM_OTHER "+81312345678"

/* ========================================================================================== */
/* docs/rating.md, Money (the rounding table, applied as R1 at 0 and 2 decimals)               */

typedef struct round_case {
    aj_money price;      /* per minute; a 30 s call costs price / 2 */
    int32_t decimals;
    aj_money want[AJ_ROUND__COUNT];   /* HALF_UP, HALF_EVEN, UP, DOWN */
} round_case;

static void test_docs_money_rounding_table(void **state) {
    (void)state;
    static const round_case cases[] = {
        /* the table of the page at 0 decimals: 2.5, 3.5, 2.1, 2.9 */
        {5000000, 0, {3000000, 2000000, 3000000, 2000000}},
        {7000000, 0, {4000000, 4000000, 4000000, 3000000}},
        {4200000, 0, {2000000, 2000000, 3000000, 2000000}},
        {5800000, 0, {3000000, 3000000, 3000000, 2000000}},
        /* the same at 2 decimals: 0.025, 0.035, 0.021, 0.029 */
        {50000, 2, {30000, 20000, 30000, 20000}},
        {70000, 2, {40000, 40000, 40000, 30000}},
        {42000, 2, {20000, 20000, 30000, 20000}},
        {58000, 2, {30000, 30000, 30000, 20000}},
        /* exact: never moved */
        {80000, 2, {40000, 40000, 40000, 40000}},
        {4000000, 0, {2000000, 2000000, 2000000, 2000000}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int r = 0; r < AJ_ROUND__COUNT; r++) {
            aj_contract_store *s = store_of(one_rate(VOICE, cases[i].price, 60, 1, 1, 0, cases[i].decimals, (aj_rounding)r));
            aj_money got = rate_q(plan_at(s, T2026), VOICE, NUM_OTHER, T2026, 30);
            if (got != cases[i].want[r])
                print_error("case %zu %s: want %lld got %lld\n", i, aj_rounding_name((aj_rounding)r),
                            (long long)cases[i].want[r], (long long)got);
            assert_int_equal(got, cases[i].want[r]);
            aj_contract_store_destroy(s);
        }
}

/* Ties at 6 decimals (half a micro-unit): price 1 per 2 units, 1 unit = 0.5 micro. */
static void test_rounding_ties_at_micro(void **state) {
    (void)state;
    static const aj_money want[AJ_ROUND__COUNT] = {1, 0, 1, 0};
    static const aj_money want3[AJ_ROUND__COUNT] = {2, 2, 2, 1};   /* 3 units = 1.5 */
    for (int r = 0; r < AJ_ROUND__COUNT; r++) {
        aj_contract_store *s = store_of(one_rate(SMS, 1, 2, 1, 1, 0, 6, (aj_rounding)r));
        assert_int_equal(rate_q(plan_at(s, T2026), SMS, NUM_OTHER, T2026, 1), want[r]);
        assert_int_equal(rate_q(plan_at(s, T2026), SMS, NUM_OTHER, T2026, 3), want3[r]);
        aj_contract_store_destroy(s);
    }
}

/* R2 is rounded as R1: a 50% discount of 0.25 is 0.125 -> each method at 2 decimals. */
static void test_r2_rounding_each_method(void **state) {
    (void)state;
    /* 125 s at 0.12/min with 1/1 = 0.25 exactly; off 0.125 */
    static const aj_money want[AJ_ROUND__COUNT] = {120000, 130000, 120000, 130000};
    for (int r = 0; r < AJ_ROUND__COUNT; r++) {
        aj_contract *c = one_rate(VOICE, 120000, 60, 1, 1, 0, 2, (aj_rounding)r);
        ct_discount(c, "HALF", VOICE, 500000, 0, NULL);
        aj_contract_store *s = store_of(c);
        aj_charge ch;
        aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 125);
        assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), want[r]);
        assert_int_equal(ch.trace.discount_amount, 250000 - want[r]);
        aj_contract_store_destroy(s);
    }
}

/* ========================================================================================== */
/* docs/rating.md, Contract versions                                                            */

static aj_contract *versioned(int32_t version, int64_t from, int64_t to, aj_money price) {
    aj_contract *c = ct_new("ACC1", version, from, to, "America/Sao_Paulo");
    ct_rate(c, VOICE, "OTHER", NULL, price, 60, 1, 1);
    return c;
}

static void test_docs_contract_versions(void **state) {
    (void)state;
    aj_contract_store *s = aj_contract_store_create();
    const aj_plan *p;
    int known = -1;

    put_ok(s, versioned(1, utc(2026, 1, 1, 0, 0, 0), utc(2026, 10, 15, 0, 0, 0), 120000));
    put_ok(s, versioned(2, utc(2026, 10, 15, 0, 0, 0), INT64_MAX, 100000));
    aj_contract *v3 = versioned(3, utc(2026, 10, 20, 0, 0, 0), INT64_MAX, 100000);
    v3->status = AJ_CONTRACT_TERMINATED;
    put_ok(s, v3);
    assert_int_equal(aj_contract_store_versions(s), 3);
    assert_int_equal(aj_contract_store_accounts(s), 1);

    /* 2026-10-14T23:59:59Z: v1; a 60 s call at 0.12/min costs 0.12 */
    p = aj_contract_store_find(s, "ACC1", utc(2026, 10, 14, 23, 59, 59), &known);
    assert_non_null(p);
    assert_int_equal(known, 1);
    assert_int_equal(aj_plan_contract(p)->version, 1);
    assert_int_equal(rate_q(p, VOICE, NUM_OTHER, utc(2026, 10, 14, 23, 59, 59), 60), 120000);
    /* one millisecond before effective_to is still v1 */
    p = aj_contract_store_find(s, "ACC1", utc(2026, 10, 15, 0, 0, 0) - 1, NULL);
    assert_int_equal(aj_plan_contract(p)->version, 1);
    /* 2026-10-15T00:00:00Z: v2 (effective_to of v1 is exclusive) */
    p = aj_contract_store_find(s, "ACC1", utc(2026, 10, 15, 0, 0, 0), NULL);
    assert_int_equal(aj_plan_contract(p)->version, 2);
    assert_int_equal(rate_q(p, VOICE, NUM_OTHER, utc(2026, 10, 15, 0, 0, 0), 60), 100000);
    /* 2026-10-21: v2 and v3 are both in force, the highest version wins: v3, TERMINATED. The record
     * check USAGE_AFTER_TERMINATION (adjust) makes the call cost nothing. */
    p = aj_contract_store_find(s, "ACC1", utc(2026, 10, 21, 12, 0, 0), NULL);
    assert_int_equal(aj_plan_contract(p)->version, 3);
    assert_int_equal(aj_plan_contract(p)->status, AJ_CONTRACT_TERMINATED);
    assert_int_equal(aj_plan_contract(aj_contract_store_find(s, "ACC1", utc(2026, 10, 19, 23, 59, 59), NULL))->version, 2);
    /* before v1: no version in force, but the account is known */
    known = -1;
    assert_null(aj_contract_store_find(s, "ACC1", utc(2025, 12, 31, 23, 59, 59), &known));
    assert_int_equal(known, 1);
    assert_int_equal(aj_plan_contract(aj_contract_store_nearest(s, "ACC1", utc(2025, 6, 1, 0, 0, 0)))->version, 1);
    known = -1;
    assert_null(aj_contract_store_find(s, "NOBODY", utc(2026, 10, 21, 0, 0, 0), &known));
    assert_int_equal(known, 0);
    /* a recurring charge of a cycle starting before v1: period_end - 1 ms finds it */
    assert_null(aj_contract_store_find(s, "ACC1", brt(2025, 12, 1, 0, 0, 0), NULL));
    assert_int_equal(aj_plan_contract(aj_contract_store_find(s, "ACC1", brt(2026, 1, 1, 0, 0, 0) - 1, NULL))->version, 1);
    /* previous: the highest lower version */
    p = aj_contract_store_find(s, "ACC1", utc(2026, 10, 16, 0, 0, 0), NULL);
    assert_int_equal(aj_plan_contract(aj_contract_store_previous(s, p))->version, 1);

    /* A version received again replaces the stored one. */
    put_ok(s, versioned(2, utc(2026, 10, 15, 0, 0, 0), INT64_MAX, 90000));
    assert_int_equal(aj_contract_store_versions(s), 3);
    p = aj_contract_store_find(s, "ACC1", utc(2026, 10, 16, 0, 0, 0), NULL);
    assert_int_equal(rate_q(p, VOICE, NUM_OTHER, utc(2026, 10, 16, 0, 0, 0), 60), 90000);

    /* A contract that cannot be compiled is refused, the other versions stand. */
    char detail[512] = "";
    assert_int_equal(aj_contract_store_put(s, versioned(4, 5, 5, 1), detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    assert_int_equal(aj_contract_store_versions(s), 3);
    assert_int_equal(aj_plan_contract(aj_contract_store_find(s, "ACC1", utc(2026, 10, 16, 0, 0, 0), NULL))->version, 2);
    aj_contract_store_destroy(s);
}

/* docs/rating.md, Contract versions, Backdated amendments */
static void test_docs_backdated_amendments(void **state) {
    (void)state;
    aj_contract_store *s = aj_contract_store_create();
    int64_t t12 = utc(2026, 10, 12, 15, 0, 0), t11 = utc(2026, 10, 11, 15, 0, 0);

    put_ok(s, versioned(1, utc(2026, 1, 1, 0, 0, 0), INT64_MAX, 120000));
    assert_int_equal(aj_contract_store_backdated(s), 0);
    /* the call of 2026-10-12 is rated with v1 */
    const aj_plan *p = plan_at(s, t12);
    assert_int_equal(aj_plan_contract(p)->version, 1);
    aj_money rated12 = rate_q(p, VOICE, NUM_OTHER, t12, 60);
    assert_int_equal(rated12, 120000);
    aj_contract_store_mark_rated(s, "ACC1", t12);
    /* v2 effective from 2026-10-10 arrives: backdated */
    put_ok(s, versioned(2, utc(2026, 10, 10, 0, 0, 0), INT64_MAX, 100000));
    assert_int_equal(aj_contract_store_backdated(s), 1);
    /* a call of 2026-10-11 arriving after it is rated with v2 */
    p = plan_at(s, t11);
    assert_int_equal(aj_plan_contract(p)->version, 2);
    assert_int_equal(rate_q(p, VOICE, NUM_OTHER, t11, 60), 100000);
    /* the call of 2026-10-12 keeps its v1 rating: nothing re-rates it */
    assert_int_equal(rated12, 120000);
    /* "at or before": effective_from equal to the latest rated start counts, one ms later does not */
    put_ok(s, versioned(3, t12, INT64_MAX, 100000));
    assert_int_equal(aj_contract_store_backdated(s), 2);
    put_ok(s, versioned(4, t12 + 1, INT64_MAX, 100000));
    assert_int_equal(aj_contract_store_backdated(s), 2);
    /* an earlier record start does not move the mark back */
    aj_contract_store_mark_rated(s, "ACC1", t11);
    put_ok(s, versioned(5, t12 + 2, INT64_MAX, 100000));
    assert_int_equal(aj_contract_store_backdated(s), 2);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Destinations                                                                 */

static aj_contract *destinations_contract(void) {
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    ct_zone(c, "LOCAL", "5511");
    ct_zone(c, "MOBILE", "55119");
    ct_zone(c, "NATIONAL", "55");
    ct_rate(c, VOICE, "LOCAL", NULL, 90000, 60, 30, 6);
    ct_rate(c, VOICE, "MOBILE", NULL, 300000, 60, 30, 6)->connect_fee = 20000;
    ct_rate(c, VOICE, "NATIONAL", NULL, 120000, 60, 30, 6)->connect_fee = 10000;
    ct_rate(c, DATA, "OTHER", NULL, 500000, 1048576, 1024, 1024);
    return c;
}

static void test_docs_destinations(void **state) {
    (void)state;
    aj_contract_store *s = store_of(destinations_contract());
    const aj_plan *p = plan_at(s, T2026);
    char prefix[AJ_NUMBER_LEN + 1];
    static const struct {
        const char *dest, *zone, *prefix;
    } cases[] = {
        {"+55 11 91234-5678", "MOBILE", "55119"},   /* the page: 55119 beats 5511 and 55 */
        {"00552133334444", "NATIONAL", "55"},       /* the page: leading 00 dropped */
        {"+81312345678", "OTHER", ""},              /* the page: no prefix */
        {"(55) 11.3123-4567", "LOCAL", "5511"},     /* ( ) . are dropped too */
        {"+0055119", "MOBILE", "55119"},            /* + then the 00 access prefix */
        {"5511", "LOCAL", "5511"},                  /* the prefix itself */
        {"551", "NATIONAL", "55"},
        {"5", "OTHER", ""},                         /* shorter than every prefix */
        {"55#119", "OTHER", ""},                    /* does not normalize */
        {"anonymous", "OTHER", ""},
        {"", "OTHER", ""},                          /* empty destination */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t z = aj_plan_zone_of(p, VOICE, cases[i].dest, prefix);
        if (strcmp(aj_plan_zone_name(p, z), cases[i].zone) != 0) print_error("destination %s\n", cases[i].dest);
        assert_string_equal(aj_plan_zone_name(p, z), cases[i].zone);
        assert_string_equal(prefix, cases[i].prefix);
    }
    /* the normalized digits of the page's first example */
    char digits[AJ_NUMBER_LEN + 1];
    assert_int_equal(aj_normalize_number("+55 11 91234-5678", digits, sizeof(digits)), 13);
    assert_string_equal(digits, "5511912345678");
    /* DATA has no destination: the default zone whatever the number */
    assert_string_equal(aj_plan_zone_name(p, aj_plan_zone_of(p, DATA, "+55 11 91234-5678", prefix)), "OTHER");
    assert_string_equal(prefix, "");
    /* rating uses the zone and records it in the trace */
    aj_charge ch;
    aj_usage u = mk_usage(VOICE, "+55 11 91234-5678", T2026, 30);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 150000 + 20000);   /* 30 s x 0.005 + fee 0.02 */
    assert_string_equal(ch.trace.zone, "MOBILE");
    assert_string_equal(ch.trace.matched_prefix, "55119");
    u = mk_usage(DATA, "+55 11 91234-5678", T2026, 1024);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 488);
    assert_string_equal(ch.trace.zone, "OTHER");
    assert_string_equal(ch.trace.matched_prefix, "");
    /* a VOICE call to the default zone, which has no VOICE rate */
    u = mk_usage(VOICE, NUM_OTHER, T2026, 30);
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(aj_rating_rate_usage(p, &u, NULL, NULL, &ch), AJ_E_NO_RATE);
    assert_string_equal(ch.trace.zone, "OTHER");
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Time bands                                                                   */

/* The page's example: Sao Paulo, PEAK MON..FRI 08:00-20:00 at 0.30/min, no-band rate 0.12/min,
 * 30/6, decimals 2 HALF_UP (decimals overridable for the edges). */
static aj_contract *docs_bands_contract(aj_band_mode mode, int32_t decimals, int64_t first, int64_t next) {
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    c->band_mode = mode;
    ct_zone(c, "LOCAL", "5511");
    band_window(ct_band(c, "PEAK"), WEEKDAYS, 8 * 60, 20 * 60);
    aj_rate *r = ct_rate(c, VOICE, "LOCAL", "PEAK", 300000, 60, first, next);
    r->decimals = decimals;
    r = ct_rate(c, VOICE, "LOCAL", NULL, 120000, 60, first, next);
    r->decimals = decimals;
    r = ct_rate(c, SMS, "LOCAL", "PEAK", 100000, 1, 1, 1);
    r = ct_rate(c, SMS, "LOCAL", NULL, 50000, 1, 1, 1);
    return c;
}

static void test_docs_time_bands(void **state) {
    (void)state;
    int64_t start = utc(2026, 10, 6, 22, 58, 0);   /* Tuesday 19:58 local */
    aj_charge ch;
    assert_int_equal(start, brt(2026, 10, 6, 19, 58, 0));

    /* AT_START: all 300 s in PEAK: 300 x 0.30 / 60 = 1.50 */
    aj_contract_store *s = store_of(docs_bands_contract(AJ_BAND_AT_START, 2, 30, 6));
    const aj_plan *p = plan_at(s, start);
    assert_string_equal(aj_plan_band_name(p, aj_plan_band_at(p, start)), "PEAK");
    aj_usage u = mk_usage(VOICE, NUM_LOCAL, start, 300);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 1500000);
    assert_int_equal(ch.trace.billed_quantity, 300);
    assert_string_equal(ch.trace.band, "PEAK");
    assert_string_equal(ch.trace.bands, "PEAK");
    /* a rate naming a band, else the no-band rate */
    assert_int_equal(aj_plan_rate(p, VOICE, zone_index(p, "LOCAL"), band_index(p, "PEAK"))->price, 300000);
    assert_int_equal(aj_plan_rate(p, VOICE, zone_index(p, "LOCAL"), band_index(p, "OFFPEAK"))->price, 120000);
    aj_contract_store_destroy(s);

    /* SPLIT: 120 s PEAK (0-30, 30-36 .. 114-120), 180 s OFFPEAK: 0.60 + 0.36 = 0.96 */
    s = store_of(docs_bands_contract(AJ_BAND_SPLIT, 2, 30, 6));
    p = plan_at(s, start);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 960000);
    assert_int_equal(ch.trace.billed_quantity, 300);
    assert_string_equal(ch.trace.band, "PEAK");
    assert_string_equal(ch.trace.bands, "PEAK,OFFPEAK");
    /* SPLIT is VOICE only: 3 SMS at the same instant are all PEAK */
    u = mk_usage(SMS, NUM_LOCAL, start, 3);
    assert_int_equal(rate_of(p, &u, NULL, NULL, NULL), 300000);
    aj_contract_store_destroy(s);
}

/* docs/rating.md, Time bands (the DST example) */
static aj_contract *lisbon_contract(aj_band_mode mode) {
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "Europe/Lisbon");
    c->band_mode = mode;
    band_window(ct_band(c, "PEAK"), WEEKDAYS, 8 * 60, 20 * 60);
    band_window(ct_band(c, "NIGHT"), EVERYDAY, 60, 90);   /* 01:00-01:30 local, every day */
    ct_rate(c, VOICE, "OTHER", "PEAK", 300000, 60, 1, 1);
    ct_rate(c, VOICE, "OTHER", "NIGHT", 60000, 60, 1, 1);   /* 1000 micro per second */
    ct_rate(c, VOICE, "OTHER", NULL, 120000, 60, 1, 1);     /* 2000 micro per second */
    return c;
}

static void test_docs_time_bands_dst(void **state) {
    (void)state;
    aj_contract_store *s = store_of(lisbon_contract(AJ_BAND_AT_START));
    const aj_plan *p = plan_at(s, 0);
    const struct {
        int64_t t;
        const char *band;
    } at[] = {
        {utc(2026, 10, 23, 7, 30, 0), "PEAK"},             /* the page: Friday 08:30 WEST */
        {utc(2026, 10, 26, 7, 30, 0), "OFFPEAK"},          /* the page: Monday 07:30 WET */
        {utc(2026, 10, 23, 7, 0, 0), "PEAK"},              /* Friday 08:00 local = 07:00Z */
        {utc(2026, 10, 23, 7, 0, 0) - 1, "OFFPEAK"},
        {utc(2026, 10, 26, 8, 0, 0), "PEAK"},              /* Monday 08:00 local = 08:00Z */
        {utc(2026, 10, 26, 8, 0, 0) - 1, "OFFPEAK"},
        {utc(2026, 10, 23, 18, 59, 59), "PEAK"},           /* Friday 19:59:59 WEST */
        {utc(2026, 10, 23, 19, 0, 0), "OFFPEAK"},          /* Friday 20:00 WEST */
        {utc(2026, 10, 26, 19, 59, 59), "PEAK"},           /* Monday 19:59:59 WET */
        {utc(2026, 10, 24, 10, 0, 0), "OFFPEAK"},          /* Saturday */
        {utc(2026, 10, 25, 0, 10, 0), "NIGHT"},            /* 01:10 WEST, the first 01:10 */
        {utc(2026, 10, 25, 0, 30, 0), "OFFPEAK"},          /* 01:30 WEST */
        {utc(2026, 10, 25, 1, 10, 0), "NIGHT"},            /* 01:10 WET, the second 01:10 */
        {utc(2026, 10, 25, 1, 30, 0), "OFFPEAK"},
    };
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        const char *got = aj_plan_band_name(p, aj_plan_band_at(p, at[i].t));
        if (strcmp(got, at[i].band) != 0) print_error("case %zu: %s\n", i, got);
        assert_string_equal(got, at[i].band);
    }
    aj_contract_store_destroy(s);
}

/* Edges of SPLIT in Europe/Lisbon across the change of 2026-10-25 01:00Z (02:00 WEST -> 01:00 WET)
 * with NIGHT 01:00-01:30 local: the repeated hour holds NIGHT twice. */
static void test_split_dst_lisbon(void **state) {
    (void)state;
    aj_contract_store *s = store_of(lisbon_contract(AJ_BAND_SPLIT));
    const aj_plan *p = plan_at(s, 0);
    aj_charge ch;
    static const struct {
        int h, mi;
        int64_t q;
        aj_money want;
        const char *bands;
    } cases[] = {
        /* 00:50Z = 01:50 WEST: 600 s OFFPEAK to 01:00Z, then 01:00-01:20 WET NIGHT */
        {0, 50, 1800, 600 * 2000 + 1200 * 1000, "OFFPEAK,NIGHT"},
        /* ... to 01:30Z: the band edge right after the change */
        {0, 50, 2400, 600 * 2000 + 1800 * 1000, "OFFPEAK,NIGHT"},
        /* ... past it: OFFPEAK again */
        {0, 50, 3000, 600 * 2000 + 1800 * 1000 + 600 * 2000, "OFFPEAK,NIGHT,OFFPEAK"},
        /* 00:10Z = 01:10 WEST NIGHT to 00:30Z, OFFPEAK to 01:00Z, NIGHT (01:00 WET) to 01:10Z */
        {0, 10, 3600, 1200 * 1000 + 1800 * 2000 + 600 * 1000, "NIGHT,OFFPEAK,NIGHT"},
        /* ending exactly at the change */
        {0, 50, 600, 600 * 2000, "OFFPEAK"},
        /* starting exactly at the change */
        {1, 0, 60, 60 * 1000, "NIGHT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aj_usage u = mk_usage(VOICE, NUM_OTHER, utc(2026, 10, 25, cases[i].h, cases[i].mi, 0), cases[i].q);
        aj_money got = rate_of(p, &u, NULL, NULL, &ch);
        if (got != cases[i].want) print_error("case %zu: got %lld bands %s\n", i, (long long)got, ch.trace.bands);
        assert_int_equal(got, cases[i].want);
        assert_string_equal(ch.trace.bands, cases[i].bands);
    }
    aj_contract_store_destroy(s);
    /* AT_START: all 1800 s of the first call OFFPEAK */
    s = store_of(lisbon_contract(AJ_BAND_AT_START));
    assert_int_equal(rate_q(plan_at(s, 0), VOICE, NUM_OTHER, utc(2026, 10, 25, 0, 50, 0), 1800), 1800 * 2000);
    aj_contract_store_destroy(s);
}

/* Edges of SPLIT in Sao Paulo: PEAK weekdays 08-20, WEEKEND Sat+Sun all day, NIGHT 00-06 every
 * day, HOLIDAY on 2026-10-12 (no windows); per second: PEAK 5000, OFFPEAK 2000, WEEKEND 1000,
 * NIGHT 500, HOLIDAY 250 micro; 1/1, decimals 6. */
static aj_contract *edge_bands_contract(aj_band_mode mode) {
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    c->band_mode = mode;
    ct_zone(c, "LOCAL", "5511");
    band_window(ct_band(c, "PEAK"), WEEKDAYS, 8 * 60, 20 * 60);
    band_window(ct_band(c, "WEEKEND"), WEEKEND, 0, 1440);
    band_window(ct_band(c, "NIGHT"), EVERYDAY, 0, 6 * 60);
    band_holiday(ct_band(c, "HOLIDAY"), days_civil(2026, 10, 12));
    ct_rate(c, VOICE, "LOCAL", "PEAK", 300000, 60, 1, 1);
    ct_rate(c, VOICE, "LOCAL", "WEEKEND", 60000, 60, 1, 1);
    ct_rate(c, VOICE, "LOCAL", "NIGHT", 30000, 60, 1, 1);
    ct_rate(c, VOICE, "LOCAL", "HOLIDAY", 15000, 60, 1, 1);
    ct_rate(c, VOICE, "LOCAL", NULL, 120000, 60, 1, 1);
    return c;
}

static void test_split_band_edges(void **state) {
    (void)state;
    aj_contract_store *s = store_of(edge_bands_contract(AJ_BAND_SPLIT));
    const aj_plan *p = plan_at(s, 0);
    aj_charge ch;
    static const struct {
        int mo, d, h, mi, sec, ms;
        int64_t q;
        aj_money want;
        const char *bands;
    } cases[] = {
        /* Tuesday 19:58, 120 s: ends exactly at 20:00, all PEAK */
        {10, 6, 19, 58, 0, 0, 120, 120 * 5000, "PEAK"},
        /* Tuesday 20:00:00: starts exactly at the boundary, all OFFPEAK */
        {10, 6, 20, 0, 0, 0, 60, 60 * 2000, "OFFPEAK"},
        /* 19:59:59: one second of PEAK */
        {10, 6, 19, 59, 59, 0, 60, 5000 + 59 * 2000, "PEAK,OFFPEAK"},
        /* 19:59:59.500: increment 0 (19:59:59.5) PEAK, 1 and 2 (20:00:00.5, 20:00:01.5) OFFPEAK */
        {10, 6, 19, 59, 59, 500, 3, 5000 + 2 * 2000, "PEAK,OFFPEAK"},
        /* 19:59:58.001: increments at 58.001 and 59.001 PEAK, 00.001 OFFPEAK */
        {10, 6, 19, 59, 58, 1, 3, 2 * 5000 + 2000, "PEAK,OFFPEAK"},
        /* Tuesday 23:59 -> Wednesday 00:00 NIGHT */
        {10, 6, 23, 59, 0, 0, 120, 60 * 2000 + 60 * 500, "OFFPEAK,NIGHT"},
        /* Friday 23:59 -> Saturday: WEEKEND (listed before NIGHT) */
        {10, 9, 23, 59, 0, 0, 120, 60 * 2000 + 60 * 1000, "OFFPEAK,WEEKEND"},
        /* Sunday 23:59 -> Monday 00:00 NIGHT */
        {10, 18, 23, 59, 0, 0, 120, 60 * 1000 + 60 * 500, "WEEKEND,NIGHT"},
        /* Sunday 23:59 -> Monday 2026-10-12, a holiday */
        {10, 11, 23, 59, 0, 0, 120, 60 * 1000 + 60 * 250, "WEEKEND,HOLIDAY"},
        /* the holiday beats PEAK's window although PEAK is listed first */
        {10, 12, 10, 0, 0, 0, 60, 60 * 250, "HOLIDAY"},
        /* Wednesday 05:59 -> 06:00 OFFPEAK -> 08:00 PEAK: three bands */
        {10, 7, 5, 59, 0, 0, 60 + 7200 + 60, 60 * 500 + 7200 * 2000 + 60 * 5000, "NIGHT,OFFPEAK,PEAK"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t start = brt(2026, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, cases[i].sec) + cases[i].ms;
        aj_usage u = mk_usage(VOICE, NUM_LOCAL, start, cases[i].q);
        aj_money got = rate_of(p, &u, NULL, NULL, &ch);
        if (got != cases[i].want) print_error("case %zu: got %lld bands %s\n", i, (long long)got, ch.trace.bands);
        assert_int_equal(got, cases[i].want);
        assert_string_equal(ch.trace.bands, cases[i].bands);
    }
    aj_contract_store_destroy(s);

    /* The first increment is f long whatever band boundary falls inside it (the page's plan,
     * 30/6, decimals 2): Tuesday 19:59:50, 60 s: 0-30 PEAK (0.15), 30-60 OFFPEAK (0.06). */
    s = store_of(docs_bands_contract(AJ_BAND_SPLIT, 2, 30, 6));
    assert_int_equal(rate_q(plan_at(s, 0), VOICE, NUM_LOCAL, brt(2026, 10, 6, 19, 59, 50), 60), 210000);
    /* 19:57:59.500, 300 s: boundary at elapsed 120.5; the increment starting at 120 is PEAK,
     * so PEAK 0..126 (126 x 0.005 = 0.63), OFFPEAK 126..300 (174 x 0.002 = 0.348): 0.978 -> 0.98 */
    assert_int_equal(rate_q(plan_at(s, 0), VOICE, NUM_LOCAL, brt(2026, 10, 6, 19, 57, 59) + 500, 300), 980000);
    aj_contract_store_destroy(s);
    s = store_of(docs_bands_contract(AJ_BAND_SPLIT, 6, 30, 6));
    assert_int_equal(rate_q(plan_at(s, 0), VOICE, NUM_LOCAL, brt(2026, 10, 6, 19, 57, 59) + 500, 300), 978000);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Increments and tiers                                                         */

static void test_docs_increments_table(void **state) {
    (void)state;
    static const struct {
        int64_t q, billed;
    } cases[] = {{29, 30}, {30, 30}, {31, 36}, {35, 36}, {36, 36}, {37, 42}, {0, 0},
                 /* edges around the first and second increments */
                 {1, 30}, {41, 42}, {42, 42}, {43, 48}};
    aj_contract_store *s = store_of(one_rate(VOICE, 120000, 60, 30, 6, 0, 6, AJ_ROUND_HALF_UP));
    const aj_plan *p = plan_at(s, T2026);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t b = -1;
        aj_charge ch;
        assert_int_equal(aj_rating_billed(cases[i].q, 30, 6, &b), AJ_E_OK);
        assert_int_equal(b, cases[i].billed);
        aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, cases[i].q);
        /* 0.12/min = 2000 micro per second of B */
        assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), cases[i].billed * 2000);
        assert_int_equal(ch.trace.billed_quantity, cases[i].billed);
        assert_int_equal(ch.trace.quantity, cases[i].q);
        assert_int_equal(ch.trace.first_increment, 30);
        assert_int_equal(ch.trace.next_increment, 6);
    }
    aj_contract_store_destroy(s);
}

/* VOICE 0.12/min, 30/6, tier from 600 s at 0.06/min with 60 s increments. */
static aj_contract *tiers_contract(int32_t decimals) {
    aj_contract *c = one_rate(VOICE, 120000, 60, 30, 6, 0, decimals, AJ_ROUND_HALF_UP);
    rate_tier(&c->rates[0], 600, 60000, 60);
    return c;
}

static void test_docs_tiers(void **state) {
    (void)state;
    aj_contract_store *s = store_of(tiers_contract(6));
    const aj_plan *p = plan_at(s, T2026);
    aj_charge ch;
    static const struct {
        int64_t q, billed;
        aj_money want;
        int32_t tier;
    } cases[] = {
        {650, 660, 1260000, 1},   /* the page: 600 s at 0.12 = 1.20, 600-660 at 0.06 = 0.06 */
        {600, 600, 1200000, 0},   /* the page: no increment starts at or after 600 */
        {599, 600, 1200000, 0},
        {601, 660, 1260000, 1},   /* one second after the tier start */
        {660, 660, 1260000, 1},
        {661, 720, 1320000, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, cases[i].q);
        assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), cases[i].want);
        assert_int_equal(ch.trace.billed_quantity, cases[i].billed);
        assert_int_equal(ch.trace.tiers, cases[i].tier);
    }
    aj_contract_store_destroy(s);

    /* A tier start inside an increment: tier from 100 s. Increments 0-30, 30-36 .. 90-96, 96-102
     * (starts at 96 < 100: tier 0, 6 s long), then 102-162 in tier 1. */
    aj_contract *c = one_rate(VOICE, 120000, 60, 30, 6, 0, 6, AJ_ROUND_HALF_UP);
    rate_tier(&c->rates[0], 100, 60000, 60);
    s = store_of(c);
    p = plan_at(s, T2026);
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 100);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 102 * 2000);
    assert_int_equal(ch.trace.billed_quantity, 102);
    u.quantity = 102;
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 102 * 2000);
    u.quantity = 103;
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 102 * 2000 + 60 * 1000);
    assert_int_equal(ch.trace.billed_quantity, 162);
    aj_contract_store_destroy(s);

    /* A tier start inside the first increment: f = 30, tier from 10 s at 0.06/min with 5 s
     * increments: 0-30 is tier 0 whatever falls inside it, then 30-35, 35-40 in tier 1. */
    c = one_rate(VOICE, 120000, 60, 30, 6, 0, 6, AJ_ROUND_HALF_UP);
    rate_tier(&c->rates[0], 10, 60000, 5);
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 38);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 30 * 2000 + 10 * 1000);
    assert_int_equal(ch.trace.billed_quantity, 40);
    aj_contract_store_destroy(s);

    /* Two tiers: from 60 at 0.06/min 10 s, from 120 at 0.03/min 30 s; 1/1 first increments. */
    c = one_rate(VOICE, 120000, 60, 1, 1, 0, 6, AJ_ROUND_HALF_UP);
    rate_tier(&c->rates[0], 60, 60000, 10);
    rate_tier(&c->rates[0], 120, 30000, 30);
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 121);
    /* 0-60 at 2000, 60-120 at 1000, 120-150 at 500 */
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 60 * 2000 + 60 * 1000 + 30 * 500);
    assert_int_equal(ch.trace.billed_quantity, 150);
    assert_int_equal(ch.trace.tiers, 2);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Allowances                                                                   */

static aj_contract *allowance_contract(void) {
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    ct_zone(c, "LOCAL", "5511");
    ct_zone(c, "MOBILE", "55119");
    ct_zone(c, "NATIONAL", "55");
    ct_rate(c, VOICE, "LOCAL", NULL, 90000, 60, 30, 6)->decimals = 2;
    ct_rate(c, VOICE, "OTHER", NULL, 90000, 60, 30, 6)->decimals = 2;
    ct_allowance(c, "FRANQUIA", VOICE, 6000, "LOCAL,MOBILE,NATIONAL");
    return c;
}

static void test_docs_allowances(void **state) {
    (void)state;
    aj_contract_store *s = store_of(allowance_contract());
    const aj_plan *p = plan_at(s, T2026);
    aj_counters st = {0};
    aj_charge ch;

    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 5980), AJ_E_OK);
    /* the page: 65 s LOCAL, B = 66, C = 20, pays 46 s: 0.069 -> 0.07; 20 drawn */
    aj_usage u = mk_usage(VOICE, NUM_LOCAL, T2026, 65);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 70000);
    assert_int_equal(ch.trace.billed_quantity, 66);
    assert_int_equal(ch.trace.free_units, 20);
    assert_string_equal(ch.trace.allowance, "FRANQUIA");
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 20);
    /* rating is pure: the state is unchanged until the caller commits */
    assert_int_equal(aj_counters_used(&st, AJ_COUNTER_ALLOWANCE, "FRANQUIA"), 5980);
    assert_int_equal(aj_charge_commit(&ch, &st), AJ_E_OK);
    assert_int_equal(aj_counters_used(&st, AJ_COUNTER_ALLOWANCE, "FRANQUIA"), 6000);   /* exhausted */
    /* the next call pays all 66 s: 0.099 -> 0.10, nothing drawn */
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 100000);
    assert_int_equal(ch.n_draws, 0);
    assert_int_equal(ch.trace.free_units, 0);
    aj_counters_free(&st);

    /* Exhausted exactly at the end of the record: 66 left, B = 66: charge 0, 66 drawn. */
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 5934), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 0);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 66);
    /* one unit short: 1 s at 0.0015 = 0.0015 -> 0.00 at 2 decimals (HALF_UP) */
    aj_counters_free(&st);
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 5935), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 0);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 65);
    aj_counters_free(&st);

    /* A zone the allowance does not list: nothing drawn. */
    u = mk_usage(VOICE, NUM_OTHER, T2026, 65);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 100000);
    assert_int_equal(ch.n_draws, 0);
    aj_contract_store_destroy(s);
}

/* Allowances in listed order; covered units from the front (the tier plan); mid-record exhaustion. */
static void test_allowance_edges(void **state) {
    (void)state;
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    ct_zone(c, "LOCAL", "5511");
    ct_zone(c, "NATIONAL", "55");
    ct_rate(c, VOICE, "LOCAL", NULL, 60000, 60, 1, 1);      /* 1000 per second */
    ct_rate(c, VOICE, "NATIONAL", NULL, 60000, 60, 1, 1);
    ct_allowance(c, "A1", VOICE, 50, "LOCAL");
    ct_allowance(c, "A2", VOICE, 100, NULL);
    ct_allowance(c, "A3", SMS, 100, NULL);
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, T2026);
    aj_charge ch;
    aj_counters st = {0};

    /* LOCAL 120 s: A1 50 then A2 70, charge 0 */
    aj_usage u = mk_usage(VOICE, NUM_LOCAL, T2026, 120);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 0);
    assert_int_equal(ch.n_draws, 2);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "A1", 50);
    assert_draw(&ch, 1, AJ_COUNTER_ALLOWANCE, "A2", 70);
    assert_string_equal(ch.trace.allowance, "A1");
    assert_int_equal(ch.trace.free_units, 120);
    /* LOCAL 200 s: C = 150 < B, pays 50 s */
    u.quantity = 200;
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 50000);
    assert_int_equal(ch.trace.free_units, 150);
    /* NATIONAL 120 s: only A2 */
    u = mk_usage(VOICE, NUM_NATIONAL, T2026, 120);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 20000);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "A2", 100);
    assert_string_equal(ch.trace.allowance, "A2");
    /* in input order: commit two records, the third finds A1 and A2 exhausted */
    u = mk_usage(VOICE, NUM_LOCAL, T2026, 100);
    rate_of(p, &u, &st, NULL, &ch);
    assert_int_equal(aj_charge_commit(&ch, &st), AJ_E_OK);   /* A1 50, A2 50 */
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 50000);   /* A2 50, pays 50 */
    assert_int_equal(aj_charge_commit(&ch, &st), AJ_E_OK);
    assert_int_equal(aj_counters_used(&st, AJ_COUNTER_ALLOWANCE, "A1"), 50);
    assert_int_equal(aj_counters_used(&st, AJ_COUNTER_ALLOWANCE, "A2"), 100);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 100000);
    assert_int_equal(ch.n_draws, 0);
    aj_counters_free(&st);
    aj_contract_store_destroy(s);

    /* Covered units come from the front: the tier plan with 600 units left pays only 600-660 at
     * tier 1 (0.06). */
    c = tiers_contract(6);
    ct_allowance(c, "BIG", VOICE, 600, NULL);
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 650);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 60000);
    assert_int_equal(ch.trace.free_units, 600);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "BIG", 600);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Usage charge                                                                 */

static void test_docs_usage_charge_table(void **state) {
    (void)state;
    static const struct {
        aj_service service;
        aj_money price;
        int64_t unit, first, next;
        aj_money fee;
        int32_t decimals;
        aj_rounding rounding;
        int64_t q, billed;
        aj_money want;
    } rows[] = {
        {VOICE, 120000, 60, 30, 6, 10000, 6, AJ_ROUND_HALF_UP, 37, 42, 94000},
        {VOICE, 100000, 60, 1, 1, 0, 6, AJ_ROUND_HALF_UP, 1, 1, 1667},
        {DATA, 500000, 1048576, 1024, 1024, 0, 6, AJ_ROUND_HALF_UP, 1, 1024, 488},
        {SMS, 50000, 1, 1, 1, 0, 6, AJ_ROUND_HALF_UP, 3, 3, 150000},
        {VOICE, 90000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_UP, 50, 54, 80000},
        {VOICE, 90000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_EVEN, 30, 30, 40000},
        {VOICE, 90000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_UP, 30, 30, 50000},
        {VOICE, 90000, 60, 30, 6, 0, 2, AJ_ROUND_UP, 36, 36, 60000},
        {VOICE, 90000, 60, 30, 6, 0, 2, AJ_ROUND_DOWN, 42, 42, 60000},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        aj_contract_store *s = store_of(one_rate(rows[i].service, rows[i].price, rows[i].unit, rows[i].first,
                                                 rows[i].next, rows[i].fee, rows[i].decimals, rows[i].rounding));
        aj_charge ch;
        aj_usage u = mk_usage(rows[i].service, NUM_OTHER, T2026, rows[i].q);
        aj_money got = rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch);
        if (got != rows[i].want) print_error("row %zu: got %lld\n", i, (long long)got);
        assert_int_equal(got, rows[i].want);
        assert_int_equal(ch.trace.billed_quantity, rows[i].billed);
        assert_int_equal(ch.trace.connect_fee, rows[i].fee);
        assert_int_equal(ch.trace.decimals, rows[i].decimals);
        assert_int_equal(ch.trace.rounding, rows[i].rounding);
        assert_int_equal(ch.trace.price, rows[i].price);
        assert_int_equal(ch.trace.rate_unit, rows[i].unit);
        aj_contract_store_destroy(s);
    }
}

/* The start rate's connect fee, minimum, maximum and rounding apply to the whole record (SPLIT):
 * PEAK fee 0.05 decimals 2, OFFPEAK fee 0 decimals 6: a call starting in PEAK rounds to cents. */
static void test_start_rate_rules(void **state) {
    (void)state;
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    c->band_mode = AJ_BAND_SPLIT;
    band_window(ct_band(c, "PEAK"), WEEKDAYS, 8 * 60, 20 * 60);
    aj_rate *r = ct_rate(c, VOICE, "OTHER", "PEAK", 300000, 60, 1, 1);
    r->connect_fee = 50000;
    r->decimals = 2;
    r->rounding = AJ_ROUND_UP;
    r = ct_rate(c, VOICE, "OTHER", NULL, 1000, 60, 1, 1);   /* 16.67 micro per second */
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, 0);
    /* 19:59:59 + 2 s: 1 s PEAK (5000) + 1 s OFFPEAK (16.666..) + fee 50000 = 55016.67 -> UP 0.06 */
    assert_int_equal(rate_q(p, VOICE, NUM_OTHER, brt(2026, 10, 6, 19, 59, 59), 2), 60000);
    /* starting in OFFPEAK: its rules: 20:00:00 + 2 s = 33.33 -> 33 */
    assert_int_equal(rate_q(p, VOICE, NUM_OTHER, brt(2026, 10, 6, 20, 0, 0), 2), 33);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Minimum and maximum                                                          */

static void test_docs_minimum_maximum(void **state) {
    (void)state;
    aj_charge ch;
    /* INTL 1.20/min 60/60 minimum 1.00: a 20 s call costs 1.20 */
    aj_contract *c = one_rate(VOICE, 1200000, 60, 60, 60, 0, 2, AJ_ROUND_HALF_UP);
    c->rates[0].min_charge = 1000000;
    aj_contract_store *s = store_of(c);
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 20);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 1200000);
    assert_int_equal(ch.trace.clamp, AJ_CLAMP_NONE);
    aj_contract_store_destroy(s);
    /* at 0.60/min: 0.60 -> 1.00 */
    c = one_rate(VOICE, 600000, 60, 60, 60, 0, 2, AJ_ROUND_HALF_UP);
    c->rates[0].min_charge = 1000000;
    ct_allowance(c, "ALL", VOICE, 60, NULL);
    s = store_of(c);
    const aj_plan *p = plan_at(s, T2026);
    aj_counters used = {0};
    assert_int_equal(aj_counters_add(&used, AJ_COUNTER_ALLOWANCE, "ALL", 60), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &used, NULL, &ch), 1000000);
    assert_int_equal(ch.trace.clamp, AJ_CLAMP_MIN);
    /* wholly covered by the allowance: pays only its connect fee (0 here), no minimum */
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 0);
    assert_int_equal(ch.trace.clamp, AJ_CLAMP_NONE);
    /* partly covered (C = 30 < B = 60 with 30 left): 30 s = 0.30 -> minimum 1.00 */
    aj_counters_free(&used);
    assert_int_equal(aj_counters_add(&used, AJ_COUNTER_ALLOWANCE, "ALL", 30), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &used, NULL, &ch), 1000000);
    aj_counters_free(&used);
    aj_contract_store_destroy(s);
    /* wholly covered with a connect fee 0.05: 0.05, not the minimum */
    c = one_rate(VOICE, 600000, 60, 60, 60, 50000, 2, AJ_ROUND_HALF_UP);
    c->rates[0].min_charge = 1000000;
    ct_allowance(c, "ALL", VOICE, 600, NULL);
    s = store_of(c);
    assert_int_equal(rate_q(plan_at(s, T2026), VOICE, NUM_OTHER, T2026, 20), 50000);
    aj_contract_store_destroy(s);
    /* DATA maximum 15.00: 40 MiB at 0.50/MiB = 20.00 -> 15.00 */
    c = one_rate(DATA, 500000, 1048576, 1024, 1024, 0, 2, AJ_ROUND_HALF_UP);
    c->rates[0].max_charge = 15000000;
    s = store_of(c);
    u = mk_usage(DATA, "", T2026, 40 * 1048576);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 15000000);
    assert_int_equal(ch.trace.clamp, AJ_CLAMP_MAX);
    /* 30 MiB = 15.00 exactly: not above the maximum */
    u.quantity = 30 * 1048576;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 15000000);
    assert_int_equal(ch.trace.clamp, AJ_CLAMP_NONE);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Promotions (the Christmas offer of seed 000)                                 */

static aj_contract *christmas_contract(int32_t bonus_priority) {
    aj_contract *c = one_rate(VOICE, 120000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_UP);
    ct_promo(c, "NATAL", VOICE, AJ_PROMO_PERCENT_OFF, 500000, 1, utc(2026, 12, 20, 0, 0, 0), utc(2026, 12, 27, 0, 0, 0),
             NULL);
    ct_promo(c, "BONUS", VOICE, AJ_PROMO_FREE_UNITS, 300, bonus_priority, utc(2026, 12, 1, 0, 0, 0), INT64_MAX, NULL);
    return c;
}

static void test_docs_promotions(void **state) {
    (void)state;
    int64_t t = utc(2026, 12, 22, 15, 0, 0);
    aj_usage u = mk_usage(VOICE, NUM_OTHER, t, 125);
    aj_charge ch;
    aj_counters st = {0};

    /* BONUS wins (priority 2): B = 126, all covered: 0.00, 126 drawn */
    aj_contract_store *s = store_of(christmas_contract(2));
    const aj_plan *p = plan_at(s, t);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 0);
    assert_string_equal(ch.trace.promotion, "BONUS");
    assert_int_equal(ch.trace.billed_quantity, 126);
    assert_int_equal(ch.trace.free_units, 126);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_FREE_UNITS, "BONUS", 126);
    /* BONUS exhausted: still BONUS, 126 x 0.002 = 0.252 -> 0.25 */
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_FREE_UNITS, "BONUS", 300), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 250000);
    assert_string_equal(ch.trace.promotion, "BONUS");
    assert_int_equal(ch.trace.promotion_amount, 0);
    assert_int_equal(ch.n_draws, 0);
    /* 50 left: covers 0-50 from the front, pays 76 s: 0.152 -> 0.15 */
    aj_counters_free(&st);
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_FREE_UNITS, "BONUS", 250), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 150000);
    assert_draw(&ch, 0, AJ_COUNTER_FREE_UNITS, "BONUS", 50);
    aj_counters_free(&st);
    aj_contract_store_destroy(s);

    /* BONUS priority 0: NATAL: 0.25 - R2(0.125 -> 0.13) = 0.12 */
    s = store_of(christmas_contract(0));
    p = plan_at(s, t);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 120000);
    assert_string_equal(ch.trace.promotion, "NATAL");
    assert_int_equal(ch.trace.promotion_amount, 130000);
    assert_int_equal(ch.n_draws, 0);
    /* valid_from inclusive, valid_to exclusive */
    u.start_ms = utc(2026, 12, 20, 0, 0, 0);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 120000);
    u.start_ms = utc(2026, 12, 27, 0, 0, 0);   /* NATAL over: BONUS applies */
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 0);
    assert_string_equal(ch.trace.promotion, "BONUS");
    u.start_ms = utc(2026, 12, 27, 0, 0, 0) - 1;
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 120000);
    u.start_ms = utc(2026, 11, 30, 23, 59, 59);   /* neither: 0.25 */
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 250000);
    assert_string_equal(ch.trace.promotion, "");
    aj_contract_store_destroy(s);

    /* BONUS priority 1 too: a tie goes to the first listed (NATAL) */
    s = store_of(christmas_contract(1));
    u.start_ms = t;
    assert_int_equal(rate_of(plan_at(s, t), &u, NULL, NULL, &ch), 120000);
    assert_string_equal(ch.trace.promotion, "NATAL");
    aj_contract_store_destroy(s);
}

/* A FREE_UNITS promotion is drawn before the allowances; a PRICE promotion replaces tier prices. */
static void test_promotion_free_units_and_price(void **state) {
    (void)state;
    aj_contract *c = one_rate(VOICE, 60000, 60, 1, 1, 0, 6, AJ_ROUND_HALF_UP);   /* 1000 per s */
    ct_allowance(c, "A", VOICE, 100, NULL);
    ct_promo(c, "FREE", VOICE, AJ_PROMO_FREE_UNITS, 50, 0, 0, INT64_MAX, NULL);
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, T2026);
    aj_charge ch;
    aj_counters st = {0};
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 120);

    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 0);
    assert_int_equal(ch.n_draws, 2);
    assert_draw(&ch, 0, AJ_COUNTER_FREE_UNITS, "FREE", 50);
    assert_draw(&ch, 1, AJ_COUNTER_ALLOWANCE, "A", 70);
    assert_string_equal(ch.trace.allowance, "FREE");
    u.quantity = 200;
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 50000);
    /* free units used up: the allowance alone */
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_FREE_UNITS, "FREE", 50), AJ_E_OK);
    u.quantity = 120;
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 20000);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "A", 100);
    assert_string_equal(ch.trace.allowance, "A");
    aj_counters_free(&st);
    aj_contract_store_destroy(s);

    /* PRICE 0.03/min on the tier plan: increments unchanged (B = 660), every increment at 0.03:
     * 660 x 500 = 0.33; with a connect fee 0.01 and a minimum 0.50 unchanged */
    c = tiers_contract(6);
    ct_promo(c, "CHEAP", VOICE, AJ_PROMO_PRICE, 30000, 0, 0, INT64_MAX, NULL);
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 650);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 330000);
    assert_int_equal(ch.trace.billed_quantity, 660);
    assert_string_equal(ch.trace.promotion, "CHEAP");
    aj_contract_store_destroy(s);
    c = tiers_contract(6);
    c->rates[0].connect_fee = 10000;
    c->rates[0].min_charge = 500000;
    ct_promo(c, "CHEAP", VOICE, AJ_PROMO_PRICE, 30000, 0, 0, INT64_MAX, NULL);
    s = store_of(c);
    assert_int_equal(rate_q(plan_at(s, T2026), VOICE, NUM_OTHER, T2026, 650), 500000);   /* 0.34 -> min 0.50 */
    /* 1300 s: B = 1320 (60 s increments from 600), 1320 x 500 + 0.01 = 0.67 */
    assert_int_equal(rate_q(plan_at(s, T2026), VOICE, NUM_OTHER, T2026, 1300), 670000);
    aj_contract_store_destroy(s);
    /* a promotion of another zone or service does not apply */
    c = destinations_contract();
    ct_promo(c, "MOBONLY", VOICE, AJ_PROMO_PRICE, 0, 0, 0, INT64_MAX, "MOBILE");
    ct_promo(c, "SMSONLY", SMS, AJ_PROMO_PRICE, 0, 5, 0, INT64_MAX, NULL);
    s = store_of(c);
    assert_int_equal(rate_q(plan_at(s, T2026), VOICE, NUM_LOCAL, T2026, 30), 45000);
    assert_int_equal(rate_q(plan_at(s, T2026), VOICE, NUM_MOBILE, T2026, 30), 20000);   /* fee only */
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Discounts                                                                    */

static void test_docs_discounts(void **state) {
    (void)state;
    aj_contract *c = one_rate(VOICE, 120000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_UP);
    ct_discount(c, "FIDELIDADE", VOICE, 100000, 5000000, NULL);
    ct_discount(c, "SECOND", VOICE, 500000, 0, NULL);   /* never: the first matching applies */
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, T2026);
    aj_charge ch;
    aj_counters st = {0};
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 630);   /* 630 s x 0.002 = 1.26 */

    /* 1.26: d = 0.126 -> 0.13: 1.13 */
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 1130000);
    assert_string_equal(ch.trace.discount, "FIDELIDADE");
    assert_int_equal(ch.trace.discount_amount, 130000);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_DISCOUNT, "FIDELIDADE", 130000);
    /* 4.95 already discounted: d = min(0.13, 0.05): 1.21 */
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_DISCOUNT, "FIDELIDADE", 4950000), AJ_E_OK);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 1210000);
    assert_int_equal(ch.trace.discount_amount, 50000);
    assert_draw(&ch, 0, AJ_COUNTER_DISCOUNT, "FIDELIDADE", 50000);
    /* the cap reached: nothing off */
    assert_int_equal(aj_charge_commit(&ch, &st), AJ_E_OK);
    assert_int_equal(aj_counters_used(&st, AJ_COUNTER_DISCOUNT, "FIDELIDADE"), 5000000);
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 1260000);
    assert_int_equal(ch.trace.discount_amount, 0);
    aj_counters_free(&st);
    aj_contract_store_destroy(s);

    /* after a PERCENT_OFF promotion: 1.26 - 50% (0.63) = 0.63; 10% = 0.063 -> 0.06: 0.57 */
    c = one_rate(VOICE, 120000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_UP);
    ct_promo(c, "HALF", VOICE, AJ_PROMO_PERCENT_OFF, 500000, 0, 0, INT64_MAX, NULL);
    ct_discount(c, "FIDELIDADE", VOICE, 100000, 0, NULL);
    s = store_of(c);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 570000);
    assert_int_equal(ch.trace.promotion_amount, 630000);
    assert_int_equal(ch.trace.discount_amount, 60000);
    assert_int_equal(ch.n_draws, 0);   /* no cap: nothing to count */
    aj_contract_store_destroy(s);

    /* a discount listing another zone does not apply; the next matching one does */
    c = destinations_contract();
    ct_discount(c, "MOB", VOICE, 500000, 0, "MOBILE");
    ct_discount(c, "ANY", VOICE, 100000, 0, NULL);
    s = store_of(c);
    /* LOCAL 600 s at 0.09 = 0.90, 10% = 0.09: 0.81 */
    assert_int_equal(rate_q(plan_at(s, T2026), VOICE, NUM_LOCAL, T2026, 600), 810000);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Recurring charges                                                            */

static void test_docs_recurring_charges(void **state) {
    (void)state;
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    int64_t ps = utc(2026, 10, 1, 3, 0, 0), pe = utc(2026, 11, 1, 3, 0, 0);
    static const struct {
        const char *id;
        int64_t from, to, days;
        aj_money want;
    } lines[] = {
        /* the page: activated 2026-10-10T12:00Z (09:00 local): 22 days, 70.8258 -> 70.83 */
        {"L-DOC", 0, 0, 22, 70830000},
        /* activation exactly at local midnight of Oct 10 */
        {"L-MIDNIGHT", 1, 0, 22, 70830000},
        /* one ms before it: local Oct 9 23:59:59.999: 23 days, 74.0451 -> 74.05 */
        {"L-MIDNIGHT-1", 2, 0, 23, 74050000},
        /* 2026-10-10T01:00Z: UTC date Oct 10, local date Oct 9: 23 days */
        {"L-UTC-DATE", 3, 0, 23, 74050000},
        /* deactivated at local midnight of Oct 20: Oct 10..19, 10 days, 32.1935 -> 32.19 */
        {"L-DEACT", 1, 4, 10, 32190000},
        /* deactivated 1 ms earlier: local Oct 19 does not count: 9 days, 28.9741 -> 28.97 */
        {"L-DEACT-1", 1, 5, 9, 28970000},
        /* deactivated 2026-10-21T01:00Z: local Oct 20 22:00: 10 days */
        {"L-DEACT-UTC", 1, 6, 10, 32190000},
        /* active all the cycle */
        {"L-FULL", 7, 7, 31, 99800000},
        /* activated 2026-10-01T02:00Z (local Sep 30): the whole period */
        {"L-BEFORE", 8, 7, 31, 99800000},
        /* deactivated at the period start (local Oct 1 00:00): no day */
        {"L-GONE", 7, 9, 0, 0},
        /* activated on the last local day: 1 day, 3.2193 -> 3.22 */
        {"L-LAST", 10, 7, 1, 3220000},
        /* activated at the period end: no day */
        {"L-LATE", 11, 7, 0, 0},
    };
    const int64_t inst[] = {
        utc(2026, 10, 10, 12, 0, 0), utc(2026, 10, 10, 3, 0, 0), utc(2026, 10, 10, 3, 0, 0) - 1,
        utc(2026, 10, 10, 1, 0, 0), utc(2026, 10, 20, 3, 0, 0), utc(2026, 10, 20, 3, 0, 0) - 1,
        utc(2026, 10, 21, 1, 0, 0), 0, utc(2026, 10, 1, 2, 0, 0), utc(2026, 10, 1, 3, 0, 0),
        utc(2026, 10, 31, 3, 0, 0), utc(2026, 11, 1, 3, 0, 0)};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        int64_t from = lines[i].from == 7 ? INT64_MIN : inst[lines[i].from];
        int64_t to = lines[i].to == 7 || lines[i].to == 0 ? INT64_MAX : inst[lines[i].to];
        ct_line(c, lines[i].id, 49900000, 2, from, to);
    }
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, ps);
    int64_t first = 0, end_day = 0;
    aj_rating_period_days(aj_plan_tz(p), ps, pe, &first, &end_day);
    assert_int_equal(first, days_civil(2026, 10, 1));
    assert_int_equal(end_day, days_civil(2026, 11, 1));
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const aj_line *l = aj_plan_line(p, lines[i].id);
        aj_money amount = -1;
        int64_t d = -1, pd = -1;
        assert_non_null(l);
        assert_int_equal(aj_rating_line_amount(p, l, ps, pe, 1, &amount, &d, &pd), AJ_E_OK);
        if (d != lines[i].days || amount != lines[i].want)
            print_error("%s: D %lld amount %lld\n", lines[i].id, (long long)d, (long long)amount);
        assert_int_equal(pd, 31);
        assert_int_equal(d, lines[i].days);
        assert_int_equal(amount, lines[i].want);
        assert_int_equal(aj_rating_line_days(aj_plan_tz(p), l, first, end_day), lines[i].days);
    }
    /* legacy: the unprorated amount 99.80, delta -28.97 */
    aj_money full = 0;
    int64_t d = 0, pd = 0;
    assert_int_equal(aj_rating_line_amount(p, aj_plan_line(p, "L-DOC"), ps, pe, 0, &full, &d, &pd), AJ_E_OK);
    assert_int_equal(full, 99800000);
    assert_int_equal(d, 31);
    assert_int_equal(70830000 - full, -28970000);
    assert_null(aj_plan_line(p, "L-NOPE"));
    aj_contract_store_destroy(s);

    /* R3 uses the contract's rounding: DOWN gives 70.82 */
    c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    c->rounding = AJ_ROUND_DOWN;
    ct_line(c, "L-DOC", 49900000, 2, utc(2026, 10, 10, 12, 0, 0), INT64_MAX);
    s = store_of(c);
    p = plan_at(s, ps);
    aj_money amount = 0;
    assert_int_equal(aj_rating_line_amount(p, aj_plan_line(p, "L-DOC"), ps, pe, 1, &amount, &d, &pd), AJ_E_OK);
    assert_int_equal(amount, 70820000);
    aj_contract_store_destroy(s);

    /* Europe/Lisbon across the change of 2026-10-25: the period [Oct 1 00:00 WEST, Nov 1 00:00
     * WET) has 31 days; a line activated 2026-10-24T23:30Z (local Oct 25 00:30 WEST) or
     * 2026-10-25T23:30Z (local Oct 25 23:30 WET) is active Oct 25..31: 7 days, 49.90 x 7 / 31 =
     * 11.2677 -> 11.27; one activated 2026-10-24T22:30Z (local Oct 24 23:30 WEST): 8 days, 12.88 */
    c = ct_new("ACC1", 1, 0, INT64_MAX, "Europe/Lisbon");
    ct_line(c, "A", 49900000, 1, utc(2026, 10, 24, 23, 30, 0), INT64_MAX);
    ct_line(c, "B", 49900000, 1, utc(2026, 10, 25, 23, 30, 0), INT64_MAX);
    ct_line(c, "C", 49900000, 1, utc(2026, 10, 24, 22, 30, 0), INT64_MAX);
    s = store_of(c);
    p = plan_at(s, 0);
    ps = utc(2026, 9, 30, 23, 0, 0);
    pe = utc(2026, 11, 1, 0, 0, 0);
    static const struct {
        const char *id;
        int64_t days;
        aj_money want;
    } lis[] = {{"A", 7, 11270000}, {"B", 7, 11270000}, {"C", 8, 12880000}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(aj_rating_line_amount(p, aj_plan_line(p, lis[i].id), ps, pe, 1, &amount, &d, &pd), AJ_E_OK);
        assert_int_equal(pd, 31);
        assert_int_equal(d, lis[i].days);
        assert_int_equal(amount, lis[i].want);
    }
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* docs/rating.md, Reasons (the rating half of the example: the expected charge and the       */
/* INCREMENT_ROUNDING hypothesis that reproduces the legacy 0.09)                               */

static void test_docs_reasons_example(void **state) {
    (void)state;
    aj_contract_store *s = store_of(destinations_contract());
    const aj_plan *p = plan_at(s, T2026);
    aj_charge ch;
    aj_usage u = mk_usage(VOICE, NUM_LOCAL, T2026, 37);
    assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 63000);
    assert_int_equal(ch.trace.billed_quantity, 42);
    aj_hyp h = AJ_HYP_NONE;
    h.first_increment = 60;
    h.next_increment = 60;
    assert_int_equal(rate_of(p, &u, NULL, &h, &ch), 90000);
    assert_int_equal(ch.trace.billed_quantity, 60);
    assert_int_equal(ch.trace.first_increment, 60);
    assert_int_equal(ch.trace.next_increment, 60);
    assert_int_equal(63000 - 90000, -27000);
    /* the hypotheses tried before it do not give 0.09: MOBILE 42 x 0.005 + 0.02 = 0.23,
     * NATIONAL 42 x 0.002 + 0.01 = 0.094 */
    h = AJ_HYP_NONE;
    h.zone = (int32_t)zone_index(p, "MOBILE");
    assert_int_equal(rate_of(p, &u, NULL, &h, NULL), 230000);
    h.zone = (int32_t)zone_index(p, "NATIONAL");
    assert_int_equal(rate_of(p, &u, NULL, &h, NULL), 94000);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* Hypotheses: each flag and override changes the charge as the page says.                      */

static void test_hypotheses(void **state) {
    (void)state;
    aj_charge ch;
    aj_hyp h;
    aj_counters st = {0};

    /* NO_TIERS: the tier plan, 650 s all in tier 0: 30 + 104 x 6 = 654 s x 0.002 = 1.308 */
    aj_contract_store *s = store_of(tiers_contract(6));
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 650);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_TIERS;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 1308000);
    assert_int_equal(ch.trace.billed_quantity, 654);
    assert_int_equal(ch.trace.tiers, 0);
    /* increments 1/1 for every tier: 600 x 0.002 + 50 x 0.001 = 1.25 */
    h = AJ_HYP_NONE;
    h.first_increment = 1;
    h.next_increment = 1;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 1250000);
    assert_int_equal(ch.trace.billed_quantity, 650);
    aj_contract_store_destroy(s);

    /* NO_ALLOWANCE: the allowance example pays all 66 s: 0.099 -> 0.10 */
    s = store_of(allowance_contract());
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_ALLOWANCE, "FRANQUIA", 5980), AJ_E_OK);
    u = mk_usage(VOICE, NUM_LOCAL, T2026, 65);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_ALLOWANCE;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, &st, &h, &ch), 100000);
    assert_int_equal(ch.n_draws, 0);
    aj_counters_free(&st);
    aj_contract_store_destroy(s);

    /* NO_ALLOWANCE keeps a promotion's free units; NO_PROMOTION drops them */
    aj_contract *c = one_rate(VOICE, 60000, 60, 1, 1, 0, 6, AJ_ROUND_HALF_UP);
    ct_allowance(c, "A", VOICE, 100, NULL);
    ct_promo(c, "FREE", VOICE, AJ_PROMO_FREE_UNITS, 50, 0, 0, INT64_MAX, NULL);
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 120);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_ALLOWANCE;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 70000);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_FREE_UNITS, "FREE", 50);
    h.flags = AJ_HYP_NO_PROMOTION;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 20000);
    assert_int_equal(ch.n_draws, 1);
    assert_draw(&ch, 0, AJ_COUNTER_ALLOWANCE, "A", 100);
    h.flags = AJ_HYP_NO_PROMOTION | AJ_HYP_NO_ALLOWANCE;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 120000);
    assert_int_equal(ch.n_draws, 0);
    aj_contract_store_destroy(s);

    /* NO_PROMOTION on the Christmas offer: 0.252 -> 0.25 whichever promotion won */
    u = mk_usage(VOICE, NUM_OTHER, utc(2026, 12, 22, 15, 0, 0), 125);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_PROMOTION;
    for (int prio = 0; prio <= 2; prio += 2) {
        s = store_of(christmas_contract(prio));
        assert_int_equal(rate_of(plan_at(s, u.start_ms), &u, NULL, &h, &ch), 250000);
        assert_string_equal(ch.trace.promotion, "");
        assert_int_equal(ch.n_draws, 0);
        aj_contract_store_destroy(s);
    }

    /* NO_DISCOUNT: 1.26 */
    c = one_rate(VOICE, 120000, 60, 30, 6, 0, 2, AJ_ROUND_HALF_UP);
    ct_discount(c, "FIDELIDADE", VOICE, 100000, 5000000, NULL);
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 630);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_DISCOUNT;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 1260000);
    assert_int_equal(ch.n_draws, 0);
    assert_int_equal(ch.trace.discount_amount, 0);
    aj_contract_store_destroy(s);

    /* NO_MINMAX: 0.60 stays 0.60; 20.00 stays 20.00 */
    c = one_rate(VOICE, 600000, 60, 60, 60, 0, 2, AJ_ROUND_HALF_UP);
    c->rates[0].min_charge = 1000000;
    s = store_of(c);
    u = mk_usage(VOICE, NUM_OTHER, T2026, 20);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_MINMAX;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 600000);
    assert_int_equal(ch.trace.clamp, AJ_CLAMP_NONE);
    aj_contract_store_destroy(s);
    c = one_rate(DATA, 500000, 1048576, 1024, 1024, 0, 2, AJ_ROUND_HALF_UP);
    c->rates[0].max_charge = 15000000;
    s = store_of(c);
    u = mk_usage(DATA, "", T2026, 40 * 1048576);
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 20000000);
    aj_contract_store_destroy(s);

    /* NO_CONNECT_FEE: 37 s at 0.12/min with fee 0.01: 0.084 */
    s = store_of(one_rate(VOICE, 120000, 60, 30, 6, 10000, 6, AJ_ROUND_HALF_UP));
    u = mk_usage(VOICE, NUM_OTHER, T2026, 37);
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_CONNECT_FEE;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, &h, &ch), 84000);
    assert_int_equal(ch.trace.connect_fee, 0);
    aj_contract_store_destroy(s);

    /* zone: a LOCAL call rated as NATIONAL: 42 x 0.002 + 0.01 = 0.094; as the default zone
     * (no VOICE rate): NO_RATE */
    s = store_of(destinations_contract());
    const aj_plan *p = plan_at(s, T2026);
    u = mk_usage(VOICE, NUM_LOCAL, T2026, 37);
    h = AJ_HYP_NONE;
    h.zone = (int32_t)zone_index(p, "NATIONAL");
    assert_int_equal(rate_of(p, &u, NULL, &h, &ch), 94000);
    assert_string_equal(ch.trace.zone, "NATIONAL");
    assert_string_equal(ch.trace.matched_prefix, "");
    h.zone = (int32_t)zone_index(p, "OTHER");
    assert_int_equal(aj_rating_rate_usage(p, &u, NULL, &h, &ch), AJ_E_NO_RATE);
    aj_contract_store_destroy(s);

    /* band: the page's SPLIT call (0.96) rated wholly in PEAK (1.50) or OFFPEAK (0.60) */
    s = store_of(docs_bands_contract(AJ_BAND_SPLIT, 2, 30, 6));
    p = plan_at(s, 0);
    u = mk_usage(VOICE, NUM_LOCAL, utc(2026, 10, 6, 22, 58, 0), 300);
    h = AJ_HYP_NONE;
    h.band = (int32_t)band_index(p, "PEAK");
    assert_int_equal(rate_of(p, &u, NULL, &h, &ch), 1500000);
    assert_string_equal(ch.trace.band, "PEAK");
    h.band = (int32_t)band_index(p, "OFFPEAK");
    assert_int_equal(rate_of(p, &u, NULL, &h, &ch), 600000);
    assert_string_equal(ch.trace.band, "OFFPEAK");
    assert_string_equal(ch.trace.bands, "OFFPEAK");
    /* no hypothesis: 0.96 */
    assert_int_equal(rate_of(p, &u, NULL, NULL, NULL), 960000);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* Zero quantity, empty records, overflow                                                       */

static void test_zero_quantity(void **state) {
    (void)state;
    aj_contract *c = one_rate(VOICE, 120000, 60, 30, 6, 10000, 2, AJ_ROUND_UP);
    c->rates[0].min_charge = 1000000;
    ct_rate(c, DATA, "OTHER", NULL, 500000, 1048576, 1024, 1024)->connect_fee = 10000;
    ct_rate(c, SMS, "OTHER", NULL, 50000, 1, 1, 1)->connect_fee = 10000;
    ct_allowance(c, "A", VOICE, 100, NULL);
    ct_promo(c, "FREE", VOICE, AJ_PROMO_FREE_UNITS, 100, 0, 0, INT64_MAX, NULL);
    ct_discount(c, "D", VOICE, 100000, 1000000, NULL);
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, T2026);
    static const aj_service services[] = {VOICE, SMS, DATA};
    static const char *const dests[] = {NUM_OTHER, "", "not a number"};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            aj_charge ch;
            aj_usage u = mk_usage(services[i], dests[j], T2026, 0);
            assert_int_equal(rate_of(p, &u, NULL, NULL, &ch), 0);
            assert_int_equal(ch.n_draws, 0);
            assert_int_equal(ch.trace.billed_quantity, 0);
            assert_int_equal(ch.trace.free_units, 0);
            assert_int_equal(ch.trace.clamp, AJ_CLAMP_NONE);
        }
    /* an empty destination with usage: the default zone, fee and minimum apply */
    aj_counters st = {0};
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_FREE_UNITS, "FREE", 100), AJ_E_OK);
    assert_int_equal(aj_counters_add(&st, AJ_COUNTER_ALLOWANCE, "A", 100), AJ_E_OK);
    aj_usage u = mk_usage(VOICE, "", T2026, 1);
    aj_charge ch;
    /* 30 s x 0.002 + 0.01 = 0.07 -> minimum 1.00 -> 10% off = 0.90 */
    assert_int_equal(rate_of(p, &u, &st, NULL, &ch), 900000);
    aj_counters_free(&st);
    aj_contract_store_destroy(s);
}

static void test_overflow(void **state) {
    (void)state;
    aj_charge ch;
    int64_t b = 0;

    assert_int_equal(aj_rating_billed(INT64_MAX, 30, 6, &b), AJ_E_OVERFLOW);
    assert_int_equal(aj_rating_billed(INT64_MAX, 1, 1, &b), AJ_E_OK);
    assert_int_equal(b, INT64_MAX);
    assert_int_equal(aj_rating_billed(INT64_MAX - 1, INT64_MAX, 1, &b), AJ_E_OK);
    assert_int_equal(b, INT64_MAX);

    /* 1,000,000.00 per second x 10^8 s = 10^20 micro: does not fit */
    aj_contract_store *s = store_of(one_rate(VOICE, INT64_C(1000000000000), 1, 1, 1, 0, 6, AJ_ROUND_HALF_UP));
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, INT64_C(100000000));
    memset(&ch, 0x5a, sizeof(ch));
    assert_int_equal(aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    /* 9 x 10^6 s = 9 x 10^18: fits */
    u.quantity = 9000000;
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), INT64_C(9000000000000000000));
    u.quantity = 9223373;   /* 9.223373 x 10^18 > INT64_MAX */
    assert_int_equal(aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    aj_contract_store_destroy(s);

    /* the largest price for 2 units */
    s = store_of(one_rate(SMS, INT64_MAX, 1, 1, 1, 0, 6, AJ_ROUND_HALF_UP));
    assert_int_equal(rate_q(plan_at(s, T2026), SMS, NUM_OTHER, T2026, 1), INT64_MAX);
    u = mk_usage(SMS, NUM_OTHER, T2026, 2);
    assert_int_equal(aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    aj_contract_store_destroy(s);
    /* INT64_MAX rounded up to cents does not fit */
    s = store_of(one_rate(SMS, INT64_MAX, 1, 1, 1, 0, 2, AJ_ROUND_HALF_UP));
    u = mk_usage(SMS, NUM_OTHER, T2026, 1);
    assert_int_equal(aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    aj_contract_store_destroy(s);
    /* price + connect fee */
    s = store_of(one_rate(SMS, 1, 1, 1, 1, INT64_MAX, 6, AJ_ROUND_HALF_UP));
    assert_int_equal(aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    aj_contract_store_destroy(s);
    /* a billed quantity that does not fit */
    s = store_of(one_rate(VOICE, 1, 60, 30, 6, 0, 6, AJ_ROUND_HALF_UP));
    u = mk_usage(VOICE, NUM_OTHER, T2026, INT64_MAX);
    assert_int_equal(aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    aj_contract_store_destroy(s);
}

/* docs/rating.md, Money: the increments are summed as one fraction over the least common
 * multiple of the rate units involved; when that multiple does not fit in 64 bits the record
 * stops with OVERFLOW rather than wrapping. Two bands (SPLIT) with coprime rate units 4000000001
 * and 4000000003: their lcm is about 1.6e19. The same call inside one band costs 60 micro. */
static void test_overflow_only_when_result_does_not_fit(void **state) {
    (void)state;
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "UTC");
    c->band_mode = AJ_BAND_SPLIT;
    band_window(ct_band(c, "PEAK"), EVERYDAY, 8 * 60, 20 * 60);
    ct_rate(c, VOICE, "OTHER", "PEAK", INT64_C(4000000001), INT64_C(4000000001), 1, 1);
    ct_rate(c, VOICE, "OTHER", NULL, INT64_C(4000000003), INT64_C(4000000003), 1, 1);
    aj_contract_store *s = store_of(c);
    aj_charge ch;
    aj_usage u = mk_usage(VOICE, NUM_OTHER, utc(2026, 10, 6, 19, 59, 30), 60);
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(aj_rating_rate_usage(plan_at(s, 0), &u, NULL, NULL, &ch), AJ_E_OVERFLOW);
    u = mk_usage(VOICE, NUM_OTHER, utc(2026, 10, 6, 10, 0, 0), 60);
    assert_int_equal(aj_rating_rate_usage(plan_at(s, 0), &u, NULL, NULL, &ch), AJ_E_OK);
    assert_int_equal(ch.amount, 60);
    aj_contract_store_destroy(s);
}

/* "Charges are never negative" (Money): a maximum not on the R1 grid followed by a 100%
 * PERCENT_OFF. max 1.50 at 0 decimals HALF_UP; a 60 s call at 3.00/min = 3 -> max 1.50; off =
 * R2(1.50 x 100%) = 2, but "at most the charge" (Promotions): off = 1.50 -> 0. */
static void test_never_negative_off_grid_max(void **state) {
    (void)state;
    aj_contract *c = one_rate(VOICE, 3000000, 60, 1, 1, 0, 0, AJ_ROUND_HALF_UP);
    c->rates[0].max_charge = 1500000;
    ct_promo(c, "ALL", VOICE, AJ_PROMO_PERCENT_OFF, 1000000, 0, 0, INT64_MAX, NULL);
    aj_contract_store *s = store_of(c);
    aj_money got = rate_q(plan_at(s, T2026), VOICE, NUM_OTHER, T2026, 60);
    aj_contract_store_destroy(s);
    assert_int_equal(got, 0);
}

/* docs/rating.md, Destinations: "+, spaces, -, (, ), . are dropped, and a leading 00 is dropped
 * too": "0 0 55 11 3123-4567" has the digits 00551131234567, whose leading 00 is dropped ->
 * 551131234567 -> LOCAL.
 */
static void test_destinations_separated_leading_00(void **state) {
    (void)state;
    aj_contract_store *s = store_of(destinations_contract());
    const aj_plan *p = plan_at(s, T2026);
    char prefix[AJ_NUMBER_LEN + 1];
    static const char *const dests[] = {"0 0 55 11 3123-4567", "0-0-551131234567", "0.0.551131234567"};
    int bad = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *got = aj_plan_zone_name(p, aj_plan_zone_of(p, VOICE, dests[i], prefix));
        if (strcmp(got, "LOCAL") != 0) {
            print_error("%s -> %s (want LOCAL)\n", dests[i], got);
            bad++;
        }
    }
    aj_contract_store_destroy(s);
    assert_int_equal(bad, 0);
}

/* docs/rating.md, Increments and tiers, rule 2 in SPLIT: each next increment is as long as the
 * increment of the rate of the band in force at its start. PEAK 0.30/min 30/6, OFFPEAK (no-band)
 * 0.12/min 60/60; Tuesday 19:59:00 local, 100 s: 0-30 PEAK, 30-36 .. 54-60 PEAK, then at 20:00
 * one 60 s OFFPEAK increment 60-120: B = 120, 60 x 0.005 + 60 x 0.002 = 0.42. */
static void test_split_increment_of_the_band(void **state) {
    (void)state;
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "America/Sao_Paulo");
    c->band_mode = AJ_BAND_SPLIT;
    band_window(ct_band(c, "PEAK"), WEEKDAYS, 8 * 60, 20 * 60);
    ct_rate(c, VOICE, "OTHER", "PEAK", 300000, 60, 30, 6);
    ct_rate(c, VOICE, "OTHER", NULL, 120000, 60, 60, 60);
    aj_contract_store *s = store_of(c);
    aj_charge ch;
    aj_usage u = mk_usage(VOICE, NUM_OTHER, brt(2026, 10, 6, 19, 59, 0), 100);
    assert_int_equal(rate_of(plan_at(s, 0), &u, NULL, NULL, &ch), 420000);
    assert_int_equal(ch.trace.billed_quantity, 120);
    assert_string_equal(ch.trace.bands, "PEAK,OFFPEAK");
    /* starting in OFFPEAK at 07:59:30, 100 s: 0-60 OFFPEAK (its f = 60), at 08:00:30 PEAK 6 s
     * increments 60-102: B = 102, 60 x 0.002 + 42 x 0.005 = 0.33 */
    u.start_ms = brt(2026, 10, 6, 7, 59, 30);
    assert_int_equal(rate_of(plan_at(s, 0), &u, NULL, NULL, &ch), 330000);
    assert_int_equal(ch.trace.billed_quantity, 102);
    aj_contract_store_destroy(s);
}

/* docs/rating.md, Allowances: "each matching allowance in listed order", at most 16 per
 * contract. Nine allowances of 10 s each cover a 90 s call: charge 0; a 17th is refused. */
static void test_allowances_more_than_eight(void **state) {
    (void)state;
    aj_contract *c = one_rate(VOICE, 60000, 60, 1, 1, 0, 6, AJ_ROUND_HALF_UP);
    char name[8];
    for (int i = 0; i < 9; i++) {
        snprintf(name, sizeof(name), "A%d", i);
        ct_allowance(c, name, VOICE, 10, NULL);
    }
    aj_contract_store *s = store_of(c);
    aj_usage u = mk_usage(VOICE, NUM_OTHER, T2026, 80);
    aj_charge ch;
    /* eight allowances used: fine either way */
    assert_int_equal(rate_of(plan_at(s, T2026), &u, NULL, NULL, &ch), 0);
    assert_int_equal(ch.n_draws, 8);
    u.quantity = 90;
    memset(&ch, 0, sizeof(ch));
    aj_err rc = aj_rating_rate_usage(plan_at(s, T2026), &u, NULL, NULL, &ch);
    aj_contract_store_destroy(s);
    if (rc != AJ_E_OK) print_error("rc %s\n", aj_err_str(rc));
    assert_int_equal(rc, AJ_E_OK);
    assert_int_equal(ch.amount, 0);
    assert_int_equal(ch.n_draws, 9);

    c = one_rate(VOICE, 60000, 60, 1, 1, 0, 6, AJ_ROUND_HALF_UP);
    for (int i = 0; i < AJ_MAX_ALLOWANCES + 1; i++) {
        snprintf(name, sizeof(name), "A%d", i);
        ct_allowance(c, name, VOICE, 10, NULL);
    }
    char detail[256];
    s = aj_contract_store_create();
    assert_int_equal(aj_contract_store_put(s, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    assert_non_null(strstr(detail, "17 allowances"));
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* Plan compilation errors (docs/rating.md, Contract versions: "cannot be compiled")            */

static aj_contract *valid_contract(void) {
    aj_contract *c = ct_new("ACC1", 7, 0, INT64_MAX, "America/Sao_Paulo");
    ct_zone(c, "LOCAL", "5511,5512");
    ct_zone(c, "NATIONAL", "55");
    band_window(ct_band(c, "PEAK"), WEEKDAYS, 480, 1200);
    aj_rate *r = ct_rate(c, VOICE, "LOCAL", "PEAK", 300000, 60, 30, 6);
    rate_tier(r, 600, 60000, 60);
    rate_tier(r, 1200, 30000, 60);
    ct_rate(c, VOICE, "LOCAL", NULL, 120000, 60, 30, 6);
    ct_rate(c, VOICE, "NATIONAL", NULL, 120000, 60, 30, 6);
    ct_allowance(c, "A1", VOICE, 100, "LOCAL");
    ct_discount(c, "D1", VOICE, 100000, 0, "NATIONAL");
    ct_promo(c, "P1", VOICE, AJ_PROMO_PRICE, 1, 0, 0, INT64_MAX, "LOCAL");
    return c;
}

static void bad_unknown_rate_zone(aj_contract *c) { free(c->rates[1].zone); c->rates[1].zone = xdup("NOWHERE"); }
static void bad_unknown_rate_band(aj_contract *c) { free(c->rates[1].band); c->rates[1].band = xdup("NOPE"); }
static void bad_two_rates_band(aj_contract *c) { ct_rate(c, VOICE, "LOCAL", "PEAK", 1, 60, 1, 1); }
static void bad_two_rates_noband(aj_contract *c) { ct_rate(c, VOICE, "NATIONAL", NULL, 1, 60, 1, 1); }
static void bad_prefix_two_zones(aj_contract *c) { ct_zone(c, "MOBILE", "99,5512"); }
static void bad_prefix_twice_one_zone(aj_contract *c) { ct_zone(c, "MOBILE", "99,99"); }
static void bad_band_twice(aj_contract *c) { band_window(ct_band(c, "PEAK"), WEEKEND, 0, 1440); }
static void bad_zone_twice(aj_contract *c) { ct_zone(c, "LOCAL", "77"); }
static void bad_allowance_twice(aj_contract *c) { ct_allowance(c, "A1", SMS, 5, NULL); }
static void bad_discount_twice(aj_contract *c) { ct_discount(c, "D1", SMS, 5, 0, NULL); }
static void bad_promo_twice(aj_contract *c) { ct_promo(c, "P1", SMS, AJ_PROMO_PRICE, 1, 0, 0, INT64_MAX, NULL); }
static void bad_time_zone(aj_contract *c) { free(c->time_zone); c->time_zone = xdup("Mars/Olympus"); }
static void bad_effective_equal(aj_contract *c) { c->effective_from = 1000; c->effective_to = 1000; }
static void bad_effective_before(aj_contract *c) { c->effective_from = 1000; c->effective_to = 999; }
static void bad_tiers_descending(aj_contract *c) { c->rates[0].tiers[1].start = 300; }
static void bad_tiers_equal(aj_contract *c) { c->rates[0].tiers[1].start = 600; }
static void bad_tier_at_zero(aj_contract *c) { c->rates[0].tiers[0].start = 0; }
static void bad_allowance_zone(aj_contract *c) { ct_allowance(c, "A2", VOICE, 5, "LOCAL,MARS"); }
static void bad_discount_zone(aj_contract *c) { ct_discount(c, "D2", VOICE, 5, 0, "VENUS"); }
static void bad_promo_zone(aj_contract *c) { ct_promo(c, "P2", VOICE, AJ_PROMO_PRICE, 1, 0, 0, INT64_MAX, "PLUTO"); }
static void bad_rate_unit(aj_contract *c) { c->rates[2].rate_unit = 0; }
static void bad_first_increment(aj_contract *c) { c->rates[2].first_increment = -6; }
static void bad_next_increment(aj_contract *c) { c->rates[2].next_increment = 0; }
static void bad_tier_increment(aj_contract *c) { c->rates[0].tiers[0].increment = 0; }
static void bad_negative_price(aj_contract *c) { c->rates[2].price = -1; }
static void bad_negative_fee(aj_contract *c) { c->rates[2].connect_fee = -1; }
static void bad_max_below_min(aj_contract *c) { c->rates[2].min_charge = 100; c->rates[2].max_charge = 99; }
static void bad_decimals(aj_contract *c) { c->rates[2].decimals = 7; }
static void bad_decimals_negative(aj_contract *c) { c->rates[2].decimals = -1; }

/* Appends a one-time charge to c's price list. */
static void ct_otc(aj_contract *c, const char *code, aj_money price) {
    aj_otc_price *grown = realloc(c->one_time_charges, (c->n_one_time_charges + 1) * sizeof(*grown));
    assert_non_null(grown);
    c->one_time_charges = grown;
    aj_otc_price *o = &c->one_time_charges[c->n_one_time_charges++];
    o->code = strdup(code);
    o->description = strdup("");
    o->price = price;
}

static void bad_otc_twice(aj_contract *c) { ct_otc(c, "ACTIVATION", 1); ct_otc(c, "ACTIVATION", 2); }
static void bad_otc_negative(aj_contract *c) { ct_otc(c, "SIM_SWAP", -1); }
static void bad_otc_no_code(aj_contract *c) { ct_otc(c, "", 1); }

static void test_plan_compilation_errors(void **state) {
    (void)state;
    static const struct {
        const char *name;
        void (*mutate)(aj_contract *);
        const char *detail;
    } cases[] = {
        {"rate names an unknown zone", bad_unknown_rate_zone, "NOWHERE"},
        {"rate names an unknown band", bad_unknown_rate_band, "NOPE"},
        {"two rates for (VOICE, LOCAL, PEAK)", bad_two_rates_band, "two rates"},
        {"two no-band rates for (VOICE, NATIONAL)", bad_two_rates_noband, "two rates"},
        {"a prefix in two zones", bad_prefix_two_zones, "5512"},
        {"a prefix twice in one zone", bad_prefix_twice_one_zone, "99"},
        {"a band defined twice", bad_band_twice, "PEAK"},
        {"a zone defined twice", bad_zone_twice, "LOCAL"},
        {"an allowance defined twice", bad_allowance_twice, "A1"},
        {"a discount defined twice", bad_discount_twice, "D1"},
        {"a promotion defined twice", bad_promo_twice, "P1"},
        {"an unknown time zone", bad_time_zone, "Mars/Olympus"},
        {"effective_to == effective_from", bad_effective_equal, "effective_to"},
        {"effective_to < effective_from", bad_effective_before, "effective_to"},
        {"tiers descending", bad_tiers_descending, "tier"},
        {"tiers with equal starts", bad_tiers_equal, "tier"},
        {"a tier starting at 0", bad_tier_at_zero, "tier"},
        {"an allowance names an unknown zone", bad_allowance_zone, "MARS"},
        {"a discount names an unknown zone", bad_discount_zone, "VENUS"},
        {"a promotion names an unknown zone", bad_promo_zone, "PLUTO"},
        {"rate_unit 0", bad_rate_unit, "rate_unit"},
        {"a negative first increment", bad_first_increment, "increment"},
        {"next increment 0", bad_next_increment, "increment"},
        {"a tier increment 0", bad_tier_increment, "increment"},
        {"a negative price", bad_negative_price, "negative"},
        {"a negative connect fee", bad_negative_fee, "negative"},
        {"max_charge below min_charge", bad_max_below_min, "max_charge"},
        {"decimals 7", bad_decimals, "decimals"},
        {"decimals -1", bad_decimals_negative, "decimals"},
        {"a one-time charge listed twice", bad_otc_twice, "one-time charge ACTIVATION listed twice"},
        {"a one-time charge with a negative price", bad_otc_negative, "one-time charge SIM_SWAP has a negative price"},
        {"a one-time charge without a code", bad_otc_no_code, "has no code"},
    };
    aj_contract_store *s = aj_contract_store_create();
    char detail[512];

    put_ok(s, valid_contract());
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aj_contract *c = valid_contract();
        c->version = 8 + (int32_t)i;
        cases[i].mutate(c);
        detail[0] = '\0';
        aj_err rc = aj_contract_store_put(s, c, detail, sizeof(detail));
        if (rc != AJ_E_BAD_CONTRACT || !strstr(detail, cases[i].detail))
            print_error("%s: rc %d detail \"%s\" (want \"%s\")\n", cases[i].name, (int)rc, detail, cases[i].detail);
        assert_int_equal(rc, AJ_E_BAD_CONTRACT);
        assert_non_null(strstr(detail, cases[i].detail));
    }
    /* every refused version left the valid one standing */
    assert_int_equal(aj_contract_store_versions(s), 1);
    assert_int_equal(aj_plan_contract(aj_contract_store_find(s, "ACC1", T2026, NULL))->version, 7);
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* Property tests: splitmix64, seed printed on failure                                         */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi - lo < 2^63). */
static int64_t rnd(uint64_t *s, int64_t lo, int64_t hi) {
    return lo + (int64_t)(splitmix64(s) % (uint64_t)(hi - lo + 1));
}

static uint64_t base_seed(void) {
    const char *e = getenv("AJ_RATING_SEED");
    return e && *e ? strtoull(e, NULL, 0) : UINT64_C(0x20261006A1B2C3D4);
}

/* Fails the test naming the seed and the case. */
#define PCHECK(cond, seed, casei)                                                                 \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            print_error("property failed: %s (AJ_RATING_SEED=0x%016llx; contract seed 0x%016llx, " \
                        "case %zu)\n", #cond, (unsigned long long)base_seed(),                    \
                        (unsigned long long)(seed), (size_t)(casei));                            \
            fail();                                                                              \
        }                                                                                        \
    } while (0)

typedef struct gen_opts {
    int allowances;   /* allowances and FREE_UNITS promotions */
    int caps;         /* discount caps */
    int extras;       /* fees, min/max, promotions, discounts */
    int grid_minmax;  /* min/max on the rate's R1 grid */
    int exact_split;  /* 1/1, no tiers, decimals 6, per-second prices exact, VOICE only extras-free */
    int mode;         /* -1: random band mode */
} gen_opts;

static const char *const gen_tzs[] = {"UTC", "America/Sao_Paulo", "Europe/Lisbon"};

static void gen_rate(uint64_t *s, const gen_opts *o, aj_contract *c, aj_service svc, const char *zone,
                     const char *band) {
    static const int64_t units[] = {1, 60, 1000, 1048576};
    int64_t unit = units[rnd(s, 0, 3)];
    aj_money price = rnd(s, 0, 2000000);
    int64_t first = svc == DATA ? rnd(s, 1, 2048) : rnd(s, 1, 60);
    int64_t next = svc == DATA ? rnd(s, 1, 2048) : rnd(s, 1, 60);
    int64_t n_tiers = rnd(s, 0, 2);
    int32_t decimals = (int32_t)rnd(s, 0, 6);
    aj_rounding rounding = (aj_rounding)rnd(s, 0, AJ_ROUND__COUNT - 1);
    aj_money fee = rnd(s, 0, 2) == 0 ? rnd(s, 0, 100000) : 0;
    aj_money mn = rnd(s, 0, 3) == 0 ? rnd(s, 1, 500000) : 0;
    aj_money mx = rnd(s, 0, 3) == 0 ? mn + rnd(s, 1, 3000000) : 0;
    if (o->exact_split) {
        unit = 60;
        price = 60 * rnd(s, 0, 10000);
        first = next = 1;
        n_tiers = 0;
        decimals = 6;
        fee = mn = mx = 0;
    }
    if (!o->extras) fee = mn = mx = 0;
    if (o->grid_minmax) {
        int64_t step = 1;
        for (int32_t d = decimals; d < 6; d++) step *= 10;
        mn -= mn % step;
        mx -= mx % step;
        if (mx && mx < mn) mx = mn;
    }
    aj_rate *r = ct_rate(c, svc, zone, band, price, unit, first, next);
    r->decimals = decimals;
    r->rounding = rounding;
    r->connect_fee = fee;
    r->min_charge = mn;
    r->max_charge = mx;
    int64_t start = 0;
    for (int64_t t = 0; t < n_tiers; t++) {
        start += svc == DATA ? rnd(s, 1, 100000) : rnd(s, 1, 400);
        aj_money tp = rnd(s, 0, 2000000);
        int64_t inc = svc == DATA ? rnd(s, 1, 4096) : rnd(s, 1, 60);
        rate_tier(&c->rates[c->n_rates - 1], start, tp, inc);
    }
}

#define Y2026 utc(2026, 1, 1, 0, 0, 0)

/* A random contract of account (version 1, in force from 1970 on). The same seed and options
 * give the same contract, whatever o->mode. */
static aj_contract *gen_contract(uint64_t seed, const gen_opts *o, const char *account) {
    uint64_t st = seed;
    uint64_t *s = &st;
    aj_contract *c = ct_new(account, 1, 0, INT64_MAX, gen_tzs[rnd(s, 0, 2)]);
    char name[16], pfx[16];
    int64_t m = rnd(s, 0, 1);
    c->band_mode = (aj_band_mode)(o->mode >= 0 ? o->mode : m);
    int64_t nz = rnd(s, 0, 3);
    for (int64_t z = 0; z < nz; z++) {
        snprintf(name, sizeof(name), "Z%d", (int)z);
        aj_zone *zone = ct_zone(c, name, NULL);
        int64_t np = rnd(s, 1, 3);
        for (int64_t j = 0; j < np; j++) {
            int len = snprintf(pfx, sizeof(pfx), "%c%c", (char)('1' + z), (char)('1' + j));
            for (int64_t k = rnd(s, 0, 3); k > 0; k--) pfx[len++] = (char)('0' + rnd(s, 0, 9));
            pfx[len] = '\0';
            char **slot = APPEND(zone->prefixes, zone->n_prefixes);
            *slot = xdup(pfx);
        }
    }
    int64_t nb = o->exact_split ? rnd(s, 1, 3) : rnd(s, 0, 3);
    for (int64_t b = 0; b < nb; b++) {
        snprintf(name, sizeof(name), "B%d", (int)b);
        aj_band *band = ct_band(c, name);
        for (int64_t w = o->exact_split ? rnd(s, 2, 4) : rnd(s, 1, 2); w > 0; w--) {
            int32_t from = rnd(s, 0, 3) == 0 ? 0 : (int32_t)rnd(s, 0, 1439);
            int32_t to = rnd(s, 0, 3) == 0 ? 1440 : (int32_t)rnd(s, from + 1, 1440);
            band_window(band, (uint8_t)rnd(s, 1, 127), from, to);
        }
        if (rnd(s, 0, 3) == 0) band_holiday(band, days_civil(2026, 1, 1) + rnd(s, 0, 364));
    }
    static const aj_service svcs[] = {VOICE, SMS, MMS, DATA};
    for (size_t si = 0; si < 4; si++) {
        if (o->exact_split && svcs[si] != VOICE) continue;
        for (int64_t z = 0; z <= nz; z++) {
            char zname[16];
            if (z < nz)
                snprintf(zname, sizeof(zname), "Z%d", (int)z);
            else
                snprintf(zname, sizeof(zname), "OTHER");
            gen_rate(s, o, c, svcs[si], zname, NULL);
            if (svcs[si] != VOICE) continue;
            for (int64_t b = 0; b < nb; b++)
                if (rnd(s, 0, 1)) {
                    snprintf(name, sizeof(name), "B%d", (int)b);
                    gen_rate(s, o, c, VOICE, zname, name);
                }
        }
    }
    if (o->allowances)
        for (int64_t a = rnd(s, 0, 2); a > 0; a--) {
            aj_service svc = svcs[rnd(s, 0, 3)];
            snprintf(name, sizeof(name), "A%d", (int)a);
            int zoned = nz > 0 && rnd(s, 0, 1);
            if (zoned) snprintf(pfx, sizeof(pfx), "Z%d", (int)rnd(s, 0, nz - 1));
            ct_allowance(c, name, svc, svc == DATA ? rnd(s, 0, 2000000) : rnd(s, 0, 600), zoned ? pfx : NULL);
        }
    if (o->extras) {
        for (int64_t d = rnd(s, 0, 1); d > 0; d--) {
            aj_service svc = svcs[rnd(s, 0, 3)];
            aj_money cap = o->caps && rnd(s, 0, 1) ? rnd(s, 0, 5000000) : 0;
            int zoned = nz > 0 && rnd(s, 0, 1);
            if (zoned) snprintf(pfx, sizeof(pfx), "Z%d", (int)rnd(s, 0, nz - 1));
            ct_discount(c, "D", svc, rnd(s, 0, 1000000), cap, zoned ? pfx : NULL);
        }
        for (int64_t k = rnd(s, 0, 2); k > 0; k--) {
            aj_service svc = svcs[rnd(s, 0, 3)];
            aj_promo_kind kind = (aj_promo_kind)rnd(s, o->allowances ? 0 : 1, 2);
            int64_t value = kind == AJ_PROMO_FREE_UNITS ? rnd(s, 0, 600)
                          : kind == AJ_PROMO_PRICE      ? rnd(s, 0, 2000000)
                                                        : rnd(s, 0, 1000000);
            int64_t from = Y2026 + rnd(s, 0, 364) * DAY_MS;
            int64_t to = rnd(s, 0, 3) == 0 ? INT64_MAX : from + rnd(s, 1, 120) * DAY_MS;
            int zoned = nz > 0 && rnd(s, 0, 1);
            if (zoned) snprintf(pfx, sizeof(pfx), "Z%d", (int)rnd(s, 0, nz - 1));
            snprintf(name, sizeof(name), "P%d", (int)k);
            ct_promo(c, name, svc, kind, value, (int32_t)rnd(s, 0, 3), from, to, zoned ? pfx : NULL);
        }
    }
    return c;
}

/* A random record for contract c; voice_max bounds VOICE durations. */
static aj_usage gen_usage(uint64_t *s, const aj_contract *c, int only_voice, int64_t voice_max) {
    static const aj_service svcs[] = {VOICE, SMS, MMS, DATA};
    aj_service svc = only_voice ? VOICE : svcs[rnd(s, 0, 3)];
    char dest[AJ_NUMBER_LEN + 1];
    int len = 0;
    if (c->n_zones && rnd(s, 0, 1)) {
        const aj_zone *z = &c->zones[rnd(s, 0, (int64_t)c->n_zones - 1)];
        len = snprintf(dest, sizeof(dest), "+%s", z->prefixes[rnd(s, 0, (int64_t)z->n_prefixes - 1)]);
    } else {
        dest[len++] = (char)('1' + rnd(s, 0, 8));
    }
    while (len < 13) dest[len++] = (char)('0' + rnd(s, 0, 9));
    dest[len] = '\0';
    int64_t start;
    switch (rnd(s, 0, 7)) {
    case 0: start = utc(2026, 10, 25, 1, 0, 0) + rnd(s, -7200, 7200) * SEC_MS; break;   /* EU autumn */
    case 1: start = utc(2026, 3, 29, 1, 0, 0) + rnd(s, -7200, 7200) * SEC_MS; break;    /* EU spring */
    default: start = Y2026 + rnd(s, 0, 365 * 86400 - 1) * SEC_MS; break;
    }
    if (rnd(s, 0, 3) == 0) start += rnd(s, 1, 999);
    int64_t q = svc == VOICE ? rnd(s, 0, voice_max) : svc == DATA ? rnd(s, 0, 5000000) : rnd(s, 0, 20);
    if (rnd(s, 0, 15) == 0) q = 0;
    return mk_usage(svc, dest, start, q);
}

/* Random consumption of the contract's allowances, free units and capped discounts. */
static void gen_state(uint64_t *s, const aj_contract *c, aj_counters *st) {
    for (size_t i = 0; i < c->n_allowances; i++)
        if (rnd(s, 0, 1)) aj_counters_add(st, AJ_COUNTER_ALLOWANCE, c->allowances[i].name, rnd(s, 0, c->allowances[i].units + 100));
    for (size_t i = 0; i < c->n_promotions; i++)
        if (c->promotions[i].kind == AJ_PROMO_FREE_UNITS && rnd(s, 0, 1))
            aj_counters_add(st, AJ_COUNTER_FREE_UNITS, c->promotions[i].name, rnd(s, 0, c->promotions[i].value + 100));
    for (size_t i = 0; i < c->n_discounts; i++)
        if (c->discounts[i].cap && rnd(s, 0, 1))
            aj_counters_add(st, AJ_COUNTER_DISCOUNT, c->discounts[i].name, rnd(s, 0, c->discounts[i].cap + 100000));
}

static aj_hyp gen_hyp(uint64_t *s, const aj_plan *p) {
    aj_hyp h = AJ_HYP_NONE;
    h.flags = (unsigned)rnd(s, 0, 63);
    if (rnd(s, 0, 3) == 0) h.zone = (int32_t)rnd(s, 0, (int64_t)aj_plan_zone_count(p) - 1);
    if (rnd(s, 0, 3) == 0) h.band = (int32_t)rnd(s, 0, (int64_t)aj_plan_band_count(p) - 1);
    if (rnd(s, 0, 3) == 0) {
        h.first_increment = rnd(s, 1, 60);
        h.next_increment = rnd(s, 1, 60);
    }
    return h;
}

#define PROP_CONTRACTS 200
#define PROP_RECORDS 6

/* Same input twice -> byte-identical aj_charge; a second compilation of the same contract gives
 * the same amount, trace and draws. */
static void test_prop_determinism(void **state) {
    (void)state;
    uint64_t base = base_seed();
    gen_opts o = {1, 1, 1, 0, 0, -1};
    aj_contract_store *s1 = aj_contract_store_create(), *s2 = aj_contract_store_create();
    char account[16];
    size_t rated = 0;
    for (size_t i = 0; i < PROP_CONTRACTS; i++) {
        uint64_t seed = base + i * UINT64_C(0x10001);
        snprintf(account, sizeof(account), "G%zu", i);
        put_ok(s1, gen_contract(seed, &o, account));
        put_ok(s2, gen_contract(seed, &o, account));
        const aj_plan *p1 = aj_contract_store_find(s1, account, 0, NULL);
        const aj_plan *p2 = aj_contract_store_find(s2, account, 0, NULL);
        const aj_contract *c = aj_plan_contract(p1);
        uint64_t rs = seed ^ UINT64_C(0xABCDEF);
        for (size_t k = 0; k < PROP_RECORDS; k++) {
            aj_usage u = gen_usage(&rs, c, 0, 4000);
            aj_counters st = {0};
            gen_state(&rs, c, &st);
            aj_hyp h = rnd(&rs, 0, 2) == 0 ? gen_hyp(&rs, p1) : AJ_HYP_NONE;
            aj_charge a, b, x;
            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            memset(&x, 0, sizeof(x));
            aj_err ra = aj_rating_rate_usage(p1, &u, &st, &h, &a);
            aj_err rb = aj_rating_rate_usage(p1, &u, &st, &h, &b);
            aj_err rx = aj_rating_rate_usage(p2, &u, &st, &h, &x);
            PCHECK(ra == rb && ra == rx, seed, i * PROP_RECORDS + k);
            PCHECK(memcmp(&a, &b, sizeof(a)) == 0, seed, i * PROP_RECORDS + k);
            PCHECK(a.amount == x.amount, seed, i * PROP_RECORDS + k);
            PCHECK(memcmp(&a.trace, &x.trace, sizeof(a.trace)) == 0, seed, i * PROP_RECORDS + k);
            PCHECK(a.n_draws == x.n_draws, seed, i * PROP_RECORDS + k);
            for (size_t d = 0; d < a.n_draws; d++) {
                PCHECK(a.draws[d].kind == x.draws[d].kind && a.draws[d].amount == x.draws[d].amount, seed, i);
                PCHECK(strcmp(a.draws[d].name, x.draws[d].name) == 0, seed, i);
            }
            rated += ra == AJ_E_OK;
            aj_counters_free(&st);
        }
    }
    /* hypotheses naming a zone without a rate give NO_RATE; most records rate */
    assert_true(rated > PROP_CONTRACTS * PROP_RECORDS / 2);
    aj_contract_store_destroy(s1);
    aj_contract_store_destroy(s2);
}

/* Charges are never negative (docs/rating.md, Money), whatever the contract, state, hypothesis.
 * Passes with the default seed (the generator rarely builds the case of
 * test_never_negative_off_grid_max); if it fails, that is the mechanism to check. */
static void test_prop_never_negative(void **state) {
    (void)state;
    uint64_t base = base_seed() ^ UINT64_C(0x5555);
    gen_opts o = {1, 1, 1, 0, 0, -1};
    aj_contract_store *s = aj_contract_store_create();
    char account[16];
    for (size_t i = 0; i < PROP_CONTRACTS; i++) {
        uint64_t seed = base + i * UINT64_C(0x10001);
        snprintf(account, sizeof(account), "G%zu", i);
        put_ok(s, gen_contract(seed, &o, account));
        const aj_plan *p = aj_contract_store_find(s, account, 0, NULL);
        const aj_contract *c = aj_plan_contract(p);
        uint64_t rs = seed ^ UINT64_C(0x1234);
        for (size_t k = 0; k < PROP_RECORDS; k++) {
            aj_usage u = gen_usage(&rs, c, 0, 4000);
            aj_counters st = {0};
            gen_state(&rs, c, &st);
            aj_hyp h = rnd(&rs, 0, 1) ? gen_hyp(&rs, p) : AJ_HYP_NONE;
            aj_charge ch;
            memset(&ch, 0, sizeof(ch));
            aj_err rc = aj_rating_rate_usage(p, &u, &st, &h, &ch);
            PCHECK(rc == AJ_E_OK || rc == AJ_E_NO_RATE, seed, i * PROP_RECORDS + k);
            if (rc == AJ_E_OK) {
                if (ch.amount < 0)
                    print_error("negative %lld: quantity %lld clamp %d promotion %s (-%lld) discount %s (-%lld)\n",
                                (long long)ch.amount, (long long)u.quantity, (int)ch.trace.clamp, ch.trace.promotion,
                                (long long)ch.trace.promotion_amount, ch.trace.discount,
                                (long long)ch.trace.discount_amount);
                PCHECK(ch.amount >= 0, seed, i * PROP_RECORDS + k);
            }
            aj_counters_free(&st);
        }
    }
    aj_contract_store_destroy(s);
}

/* More usage is never cheaper: charge(q + 1) >= charge(q) and charge(q + k) >= charge(q), with no
 * allowances and no discount caps (min/max on the R1 grid). */
static void test_prop_more_usage_never_cheaper(void **state) {
    (void)state;
    uint64_t base = base_seed() ^ UINT64_C(0xAAAA);
    gen_opts o = {0, 0, 1, 1, 0, -1};
    aj_contract_store *s = aj_contract_store_create();
    char account[16];
    for (size_t i = 0; i < PROP_CONTRACTS; i++) {
        uint64_t seed = base + i * UINT64_C(0x10001);
        snprintf(account, sizeof(account), "G%zu", i);
        put_ok(s, gen_contract(seed, &o, account));
        const aj_plan *p = aj_contract_store_find(s, account, 0, NULL);
        const aj_contract *c = aj_plan_contract(p);
        uint64_t rs = seed ^ UINT64_C(0x9876);
        for (size_t k = 0; k < PROP_RECORDS; k++) {
            aj_usage u = gen_usage(&rs, c, 0, 4000);
            aj_charge a, b, d;
            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            memset(&d, 0, sizeof(d));
            PCHECK(aj_rating_rate_usage(p, &u, NULL, NULL, &a) == AJ_E_OK, seed, k);
            u.quantity += 1;
            PCHECK(aj_rating_rate_usage(p, &u, NULL, NULL, &b) == AJ_E_OK, seed, k);
            u.quantity += rnd(&rs, 1, 500);
            PCHECK(aj_rating_rate_usage(p, &u, NULL, NULL, &d) == AJ_E_OK, seed, k);
            if (b.amount < a.amount || d.amount < b.amount)
                print_error("q %lld: %lld, q+1: %lld, q+k: %lld\n", (long long)(a.trace.quantity),
                            (long long)a.amount, (long long)b.amount, (long long)d.amount);
            PCHECK(b.amount >= a.amount, seed, i * PROP_RECORDS + k);
            PCHECK(d.amount >= b.amount, seed, i * PROP_RECORDS + k);
            PCHECK(b.trace.billed_quantity >= a.trace.billed_quantity, seed, i * PROP_RECORDS + k);
        }
    }
    aj_contract_store_destroy(s);
}

/* SPLIT, no tiers, 1/1, decimals 6, exact per-second prices: a call across band boundaries costs
 * exactly the sum of its parts rated as separate calls, and the sum over its seconds of the
 * price of the band in force at each. */
static void test_prop_split_is_additive(void **state) {
    (void)state;
    uint64_t base = base_seed() ^ UINT64_C(0x3333);
    gen_opts o = {0, 0, 0, 0, 1, AJ_BAND_SPLIT};
    aj_contract_store *s = aj_contract_store_create();
    char account[16], prefix[AJ_NUMBER_LEN + 1];
    size_t crossing = 0, n = 0;
    for (size_t i = 0; i < 120; i++) {
        uint64_t seed = base + i * UINT64_C(0x10001);
        snprintf(account, sizeof(account), "G%zu", i);
        put_ok(s, gen_contract(seed, &o, account));
        const aj_plan *p = aj_contract_store_find(s, account, 0, NULL);
        const aj_contract *c = aj_plan_contract(p);
        uint64_t rs = seed ^ UINT64_C(0x4242);
        for (size_t k = 0; k < 3; k++, n++) {
            aj_usage u = gen_usage(&rs, c, 1, 7200);
            if (u.quantity < 2) u.quantity = 2;
            if (k > 0) {
                /* two calls of three are moved to straddle the next band change (within 2 days) */
                int64_t t0 = u.start_ms - u.start_ms % MIN_MS, frac = u.start_ms % SEC_MS;
                for (int64_t m = 1; m <= 2880; m++)
                    if (aj_plan_band_at(p, t0 + m * MIN_MS) != aj_plan_band_at(p, t0 + (m - 1) * MIN_MS)) {
                        u.start_ms = t0 + m * MIN_MS - rnd(&rs, 1, u.quantity - 1) * SEC_MS + frac;
                        break;
                    }
            }
            size_t zone = aj_plan_zone_of(p, VOICE, u.destination, prefix);
            aj_money whole = rate_of(p, &u, NULL, NULL, NULL), parts = 0, reference = 0;
            int64_t part_start = 0;
            size_t part_band = aj_plan_band_at(p, u.start_ms), n_parts = 0;
            for (int64_t e = 0; e <= u.quantity; e++) {
                size_t band = e < u.quantity ? aj_plan_band_at(p, u.start_ms + e * SEC_MS) : SIZE_MAX;
                if (e < u.quantity) reference += aj_plan_rate(p, VOICE, zone, band)->price / 60;
                if (band != part_band) {
                    aj_usage part = u;
                    part.start_ms = u.start_ms + part_start * SEC_MS;
                    part.quantity = e - part_start;
                    parts += rate_of(p, &part, NULL, NULL, NULL);
                    part_start = e;
                    part_band = band;
                    n_parts++;
                }
            }
            crossing += n_parts > 1;
            if (whole != parts || whole != reference)
                print_error("whole %lld parts %lld (%zu) reference %lld\n", (long long)whole, (long long)parts, n_parts,
                            (long long)reference);
            PCHECK(whole == parts, seed, n);
            PCHECK(whole == reference, seed, n);
        }
    }
    /* enough calls actually cross a boundary for the property to mean something */
    if (crossing < n / 4) print_error("only %zu of %zu calls cross a boundary\n", crossing, n);
    assert_true(crossing >= n / 4);
    aj_contract_store_destroy(s);
}

/* AT_START equals SPLIT when the call does not cross a boundary (and always for non-VOICE). */
static void test_prop_at_start_equals_split_inside_a_band(void **state) {
    (void)state;
    uint64_t base = base_seed() ^ UINT64_C(0x7777);
    gen_opts oa = {1, 1, 1, 0, 0, AJ_BAND_AT_START}, os = oa;
    os.mode = AJ_BAND_SPLIT;
    aj_contract_store *s = aj_contract_store_create();
    char acc_a[16], acc_s[16];
    size_t compared_voice = 0, crossing_voice = 0;
    for (size_t i = 0; i < PROP_CONTRACTS; i++) {
        uint64_t seed = base + i * UINT64_C(0x10001);
        snprintf(acc_a, sizeof(acc_a), "A%zu", i);
        snprintf(acc_s, sizeof(acc_s), "S%zu", i);
        put_ok(s, gen_contract(seed, &oa, acc_a));
        put_ok(s, gen_contract(seed, &os, acc_s));
        const aj_plan *pa = aj_contract_store_find(s, acc_a, 0, NULL);
        const aj_plan *ps = aj_contract_store_find(s, acc_s, 0, NULL);
        assert_int_equal(aj_plan_contract(pa)->band_mode, AJ_BAND_AT_START);
        assert_int_equal(aj_plan_contract(ps)->band_mode, AJ_BAND_SPLIT);
        uint64_t rs = seed ^ UINT64_C(0x6666);
        for (size_t k = 0; k < PROP_RECORDS; k++) {
            aj_usage u = gen_usage(&rs, aj_plan_contract(pa), 0, 900);
            aj_counters st = {0};
            gen_state(&rs, aj_plan_contract(pa), &st);
            aj_charge a, b;
            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            aj_err ra = aj_rating_rate_usage(pa, &u, &st, NULL, &a);
            int crosses = 0;
            if (u.service == VOICE && ra == AJ_E_OK) {
                size_t b0 = aj_plan_band_at(pa, u.start_ms);
                for (int64_t e = 1; e < a.trace.billed_quantity && !crosses; e++)
                    crosses = aj_plan_band_at(pa, u.start_ms + e * SEC_MS) != b0;
            }
            if (!crosses) {
                aj_err rb = aj_rating_rate_usage(ps, &u, &st, NULL, &b);
                PCHECK(ra == rb, seed, i * PROP_RECORDS + k);
                PCHECK(a.amount == b.amount, seed, i * PROP_RECORDS + k);
                PCHECK(memcmp(&a.trace, &b.trace, sizeof(a.trace)) == 0, seed, i * PROP_RECORDS + k);
                PCHECK(a.n_draws == b.n_draws, seed, i * PROP_RECORDS + k);
                compared_voice += u.service == VOICE;
            } else {
                crossing_voice++;
            }
            aj_counters_free(&st);
        }
    }
    assert_true(compared_voice >= 50);
    (void)crossing_voice;
    aj_contract_store_destroy(s);
}

/* ========================================================================================== */
/* Destinations: 100,000 random prefixes against a brute-force longest-prefix search            */

#define NPREFIX 100000
#define NZONES_BIG 16
#define HBITS 18

typedef struct pfx_entry {
    uint64_t key;   /* value * 16 + length; 0 = empty */
    int32_t zone;
} pfx_entry;

static uint64_t pfx_key(const char *digits, int len) {
    uint64_t v = 0;
    for (int i = 0; i < len; i++) v = v * 10 + (uint64_t)(digits[i] - '0');
    return v * 16 + (uint64_t)len;
}

static pfx_entry *pfx_slot(pfx_entry *t, uint64_t key) {
    uint64_t h = (key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - HBITS);
    while (t[h].key && t[h].key != key) h = (h + 1) & ((UINT64_C(1) << HBITS) - 1);
    return &t[h];
}

static void test_destinations_100k_prefixes(void **state) {
    (void)state;
    uint64_t seed = base_seed() ^ UINT64_C(0x100000), rs = seed;
    pfx_entry *table = calloc((size_t)1 << HBITS, sizeof(*table));
    char (*prefixes)[12] = calloc(NPREFIX, sizeof(*prefixes));
    aj_contract *c = ct_new("ACC1", 1, 0, INT64_MAX, "UTC");
    char name[16];
    assert_non_null(table);
    assert_non_null(prefixes);
    for (int z = 0; z < NZONES_BIG; z++) {
        snprintf(name, sizeof(name), "Z%02d", z);
        ct_zone(c, name, NULL);
    }
    for (size_t n = 0; n < NPREFIX;) {
        char d[12];
        int len = (int)rnd(&rs, 2, 8);
        d[0] = (char)('1' + rnd(&rs, 0, 7));   /* no prefix starts with 9: numbers 9... miss */
        for (int i = 1; i < len; i++) d[i] = (char)('0' + rnd(&rs, 0, 9));
        d[len] = '\0';
        pfx_entry *e = pfx_slot(table, pfx_key(d, len));
        if (e->key) continue;   /* already drawn */
        e->key = pfx_key(d, len);
        e->zone = (int32_t)rnd(&rs, 0, NZONES_BIG - 1);
        memcpy(prefixes[n++], d, (size_t)len + 1);
        aj_zone *zone = &c->zones[e->zone];
        char **slot = APPEND(zone->prefixes, zone->n_prefixes);
        *slot = xdup(d);
    }
    aj_contract_store *s = store_of(c);
    const aj_plan *p = plan_at(s, 0);
    size_t hits = 0, misses = 0;
    for (size_t i = 0; i < 100000; i++) {
        char digits[20], dest[AJ_NUMBER_LEN + 1], got_prefix[AJ_NUMBER_LEN + 1];
        int len = (int)rnd(&rs, 8, 15), have = 0;
        if (rnd(&rs, 0, 1)) {   /* half extend a prefix of the table */
            const char *pf = prefixes[rnd(&rs, 0, NPREFIX - 1)];
            have = (int)strlen(pf);
            memcpy(digits, pf, (size_t)have);
        } else {
            digits[have++] = (char)('1' + rnd(&rs, 0, 8));
        }
        while (have < len) digits[have++] = (char)('0' + rnd(&rs, 0, 9));
        digits[len] = '\0';
        switch (rnd(&rs, 0, 3)) {
        case 0: snprintf(dest, sizeof(dest), "%s", digits); break;
        case 1: snprintf(dest, sizeof(dest), "+%s", digits); break;
        case 2: snprintf(dest, sizeof(dest), "00%s", digits); break;
        default: snprintf(dest, sizeof(dest), "+%.2s (%.3s) %s-", digits, digits + 2, digits + 5); break;
        }
        /* brute force: every length from the longest down */
        int want_len = 0;
        int32_t want_zone = -1;
        for (int l = len < 8 ? len : 8; l >= 2 && want_zone < 0; l--) {
            pfx_entry *e = pfx_slot(table, pfx_key(digits, l));
            if (e->key) {
                want_zone = e->zone;
                want_len = l;
            }
        }
        size_t z = aj_plan_zone_of(p, VOICE, dest, got_prefix);
        if (want_zone < 0) {
            PCHECK(strcmp(aj_plan_zone_name(p, z), "OTHER") == 0, seed, i);
            PCHECK(got_prefix[0] == '\0', seed, i);
            misses++;
        } else {
            snprintf(name, sizeof(name), "Z%02d", (int)want_zone);
            if (strcmp(aj_plan_zone_name(p, z), name) != 0)
                print_error("%s: want %s (%.*s) got %s (%s)\n", dest, name, want_len, digits, aj_plan_zone_name(p, z),
                            got_prefix);
            PCHECK(strcmp(aj_plan_zone_name(p, z), name) == 0, seed, i);
            PCHECK((int)strlen(got_prefix) == want_len && strncmp(got_prefix, digits, (size_t)want_len) == 0, seed, i);
            hits++;
        }
    }
    assert_true(hits > 50000);
    assert_true(misses > 1000);
    aj_contract_store_destroy(s);
    free(table);
    free(prefixes);
}

/* ========================================================================================== */

/* ========================================================================================== */
/* docs/rating.md "One-time charges": price x quantity, exact, of the version in force        */

static aj_one_time mk_one_time(const char *code, int64_t quantity, int64_t at) {
    aj_one_time o;
    memset(&o, 0, sizeof(o));
    strcpy(o.record_id, "OT-1");
    strcpy(o.account, "ACC1");
    strcpy(o.subscriber, "ACC1-L0");
    snprintf(o.charge_code, sizeof(o.charge_code), "%s", code);
    o.charged_ms = at;
    strcpy(o.cycle_id, "2026-10");
    o.quantity = quantity;
    strcpy(o.currency, "BRL");
    return o;
}

static void test_one_time_amount(void **state) {
    (void)state;
    aj_contract *v1 = valid_contract(), *v2 = valid_contract();
    const aj_otc_price *price;
    aj_money amount;

    /* v1 until T2026 + 10 days, v2 (SIM swap 19.999999) from then on. */
    v1->effective_to = T2026 + 10 * DAY_MS;
    ct_otc(v1, "ACTIVATION", 49900000);
    ct_otc(v1, "SIM_SWAP", 25000000);
    v2->version = 8;
    v2->effective_from = T2026 + 10 * DAY_MS;
    ct_otc(v2, "ACTIVATION", 49900000);
    ct_otc(v2, "SIM_SWAP", 19999999);
    aj_contract_store *s = store_of(v1);
    put_ok(s, v2);

    aj_one_time o = mk_one_time("SIM_SWAP", 3, T2026);
    const aj_plan *p = plan_at(s, o.charged_ms);
    assert_int_equal(aj_rating_one_time_amount(p, &o, &price, &amount), AJ_E_OK);
    assert_int_equal(amount, 75000000);   /* 3 x 25.00, exact */
    assert_string_equal(price->code, "SIM_SWAP");
    /* one millisecond before the amendment: still v1; at it: v2, 3 x 19.999999, no rounding */
    o.charged_ms = T2026 + 10 * DAY_MS - 1;
    assert_int_equal(aj_rating_one_time_amount(plan_at(s, o.charged_ms), &o, &price, &amount), AJ_E_OK);
    assert_int_equal(amount, 75000000);
    o.charged_ms = T2026 + 10 * DAY_MS;
    assert_int_equal(aj_rating_one_time_amount(plan_at(s, o.charged_ms), &o, &price, &amount), AJ_E_OK);
    assert_int_equal(amount, 59999997);
    /* zero units cost nothing */
    o.quantity = 0;
    assert_int_equal(aj_rating_one_time_amount(plan_at(s, o.charged_ms), &o, &price, &amount), AJ_E_OK);
    assert_int_equal(amount, 0);
    /* a code the contract does not list */
    aj_one_time x = mk_one_time("ROAMING_PACK", 1, T2026);
    assert_int_equal(aj_rating_one_time_amount(plan_at(s, T2026), &x, &price, &amount), AJ_E_NOT_FOUND);
    assert_null(price);
    assert_int_equal(amount, 0);
    /* a product that does not fit */
    x = mk_one_time("ACTIVATION", INT64_MAX / 1000, T2026);
    assert_int_equal(aj_rating_one_time_amount(plan_at(s, T2026), &x, &price, &amount), AJ_E_OVERFLOW);
    assert_int_equal(amount, 0);
    assert_non_null(aj_plan_one_time(plan_at(s, T2026), "ACTIVATION"));
    assert_null(aj_plan_one_time(plan_at(s, T2026), "activation"));   /* codes are case-sensitive */
    aj_contract_store_destroy(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        /* docs/rating.md worked examples, by section */
        cmocka_unit_test(test_docs_money_rounding_table),
        cmocka_unit_test(test_docs_contract_versions),
        cmocka_unit_test(test_docs_backdated_amendments),
        cmocka_unit_test(test_docs_destinations),
        cmocka_unit_test(test_docs_time_bands),
        cmocka_unit_test(test_docs_time_bands_dst),
        cmocka_unit_test(test_docs_increments_table),
        cmocka_unit_test(test_docs_tiers),
        cmocka_unit_test(test_docs_allowances),
        cmocka_unit_test(test_docs_usage_charge_table),
        cmocka_unit_test(test_docs_minimum_maximum),
        cmocka_unit_test(test_docs_promotions),
        cmocka_unit_test(test_docs_discounts),
        cmocka_unit_test(test_docs_recurring_charges),
        cmocka_unit_test(test_docs_reasons_example),
        /* edges */
        cmocka_unit_test(test_rounding_ties_at_micro),
        cmocka_unit_test(test_r2_rounding_each_method),
        cmocka_unit_test(test_split_band_edges),
        cmocka_unit_test(test_split_dst_lisbon),
        cmocka_unit_test(test_allowance_edges),
        cmocka_unit_test(test_start_rate_rules),
        cmocka_unit_test(test_promotion_free_units_and_price),
        cmocka_unit_test(test_hypotheses),
        cmocka_unit_test(test_zero_quantity),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_overflow_only_when_result_does_not_fit),
        cmocka_unit_test(test_never_negative_off_grid_max),
        cmocka_unit_test(test_destinations_separated_leading_00),
        cmocka_unit_test(test_split_increment_of_the_band),
        cmocka_unit_test(test_allowances_more_than_eight),
        cmocka_unit_test(test_plan_compilation_errors),
        cmocka_unit_test(test_one_time_amount),
        cmocka_unit_test(test_destinations_100k_prefixes),
        /* properties */
        cmocka_unit_test(test_prop_determinism),
        cmocka_unit_test(test_prop_never_negative),
        cmocka_unit_test(test_prop_more_usage_never_cheaper),
        cmocka_unit_test(test_prop_split_is_additive),
        cmocka_unit_test(test_prop_at_start_equals_split_inside_a_band),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
