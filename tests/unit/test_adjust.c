/* test_adjust.c - corrections and their reasons, account-cycle state, recurring charges,
 * invoices, rejections.
 *
 * Every expected amount is computed by hand from docs/rating.md (the arithmetic is in the
 * comments; amounts in micro-units, 1 BRL = 1000000). The contracts are aj_fixtures.h's
 * fx_contract (NATIONAL 0.12/min 30/6 fee 0.01, LOCAL 0.09/min 30/6, MOBILE 0.30/min 30/6 fee
 * 0.02, INTL 0.60/min 60/60, SMS LOCAL 0.05, DATA 0.50/MiB 1024/1024, decimals 6 HALF_UP)
 * with the rules of fx_extend where a test needs them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "aj_adjust.h"
#include "aj_fixtures.h"

/* UTC ms; local times are America/Sao_Paulo (UTC-3, no DST in 2026). */
#define JAN1 1767225600000LL        /* 2026-01-01T00:00Z */
#define P_SEP 1788231600000LL       /* 2026-09-01T03:00Z = Sep 1 00:00 local */
#define P_OCT 1790823600000LL       /* 2026-10-01T03:00Z = Oct 1 00:00 local */
#define P_NOV 1793502000000LL       /* 2026-11-01T03:00Z = Nov 1 00:00 local */
#define P_DEC 1796094000000LL       /* 2026-12-01T03:00Z */
#define OCT05 1791212400000LL       /* 2026-10-05T15:00Z, Mon 12:00 local */
#define OCT06_PEAK 1791291600000LL  /* 2026-10-06T13:00Z, Tue 10:00 local */
#define OCT06_OFF 1791334800000LL   /* 2026-10-07T01:00Z, Tue 22:00 local */
#define OCT10 1791590400000LL       /* 2026-10-10T00:00Z */
#define OCT10_NOON 1791633600000LL  /* 2026-10-10T12:00Z, Oct 10 09:00 local */
#define OCT15 1792022400000LL       /* 2026-10-15T00:00Z */
#define OCT17_0200 1792202400000LL  /* 2026-10-17T02:00Z, Oct 16 23:00 local */
#define OCT20 1792454400000LL       /* 2026-10-20T00:00Z */
#define OCT21 1792594800000LL       /* 2026-10-21T15:00Z */
#define SEP15 1789473600000LL       /* 2026-09-15T12:00Z */
#define NOV05 1793890800000LL       /* 2026-11-05T15:00Z */
#define MIN 60000LL
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

#define NATIONAL_NR "+552133334444"
#define LOCAL_NR "+551131234567"
#define MOBILE_NR "+5511912345678"
#define INTL_NR "+12125550100"

#define MAX_COR 64
#define MAX_INV 8

#define MAX_LINES 32

typedef struct fx {
    aj_contract_store *store;
    aj_adjust *adj;
    aj_correction cor[MAX_COR];
    int n_cor;
    aj_invoice inv[MAX_INV];
    int32_t versions[MAX_INV][8];
    aj_invoice_line lines[MAX_INV][MAX_LINES];
    aj_invoice_adjustment adjs[MAX_INV][MAX_LINES * 2];
    int n_inv;
    int64_t offset;
    char detail[256];
} fx;

static aj_err on_correction(void *opaque, const aj_correction *c) {
    fx *f = opaque;
    if (f->n_cor == MAX_COR) return AJ_E_NOMEM;
    f->cor[f->n_cor++] = *c;
    return AJ_E_OK;
}

static aj_err on_invoice(void *opaque, const aj_invoice *inv) {
    fx *f = opaque;
    if (f->n_inv == MAX_INV || inv->n_versions > 8 || inv->n_lines > MAX_LINES || inv->n_adjustments > 2 * MAX_LINES)
        return AJ_E_NOMEM;
    /* The arrays are borrowed for the call: kept as copies. */
    f->inv[f->n_inv] = *inv;
    if (inv->n_versions) memcpy(f->versions[f->n_inv], inv->versions, inv->n_versions * sizeof(int32_t));
    if (inv->n_lines) memcpy(f->lines[f->n_inv], inv->lines, inv->n_lines * sizeof(*inv->lines));
    if (inv->n_adjustments) memcpy(f->adjs[f->n_inv], inv->adjustments, inv->n_adjustments * sizeof(*inv->adjustments));
    f->inv[f->n_inv].versions = f->versions[f->n_inv];
    f->inv[f->n_inv].lines = f->lines[f->n_inv];
    f->inv[f->n_inv].adjustments = f->adjs[f->n_inv];
    f->n_inv++;
    return AJ_E_OK;
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    if (!f || !(f->store = aj_contract_store_create())) return -1;
    aj_adjust_out out = {f, on_correction, on_invoice};
    if (!(f->adj = aj_adjust_create(f->store, &out))) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    aj_adjust_destroy(f->adj);
    aj_contract_store_destroy(f->store);
    free(f);
    return 0;
}

static void put(fx *f, aj_contract *c) {
    char detail[256];
    aj_err rc = aj_contract_store_put(f->store, c, detail, sizeof(detail));
    if (rc) fail_msg("contract refused: %s: %s", aj_err_name(rc), detail);
}

/* fx_contract v1 from 2026-01-01, open-ended, NATIONAL 0.12/min, with fx_extend's rules. */
static aj_contract *base(fx *f, unsigned what) {
    aj_contract *c = fx_extend(fx_contract(1, JAN1, INT64_MAX, 120000), what);
    put(f, c);
    return c;
}

static aj_err feed_usage(fx *f, aj_usage u) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    ev.pos = (aj_position){"cdr.usage", 3, f->offset++};
    ev.u.usage = u;
    return aj_adjust_event(f->adj, &ev, f->detail, sizeof(f->detail));
}

/* A recurring charge of ACC1 for cycle 2026-10 (period Oct 1 00:00 local to Nov 1 00:00 local). */
static aj_err feed_recurring(fx *f, const char *id, const char *line, aj_service s, aj_money legacy) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_RECURRING;
    ev.pos = (aj_position){"cdr.recurring", 0, f->offset++};
    aj_recurring *r = &ev.u.recurring;
    snprintf(r->record_id, sizeof(r->record_id), "%s", id);
    memcpy(r->account, "ACC1", 5);
    snprintf(r->line_id, sizeof(r->line_id), "%s", line);
    r->service = s;
    memcpy(r->cycle_id, "2026-10", 8);
    r->period_start_ms = P_OCT;
    r->period_end_ms = P_NOV;
    r->legacy_amount = legacy;
    memcpy(r->currency, "BRL", 4);
    memcpy(r->tariff_code, "MRC_T0", 7);
    return aj_adjust_event(f->adj, &ev, f->detail, sizeof(f->detail));
}

static aj_err feed_close_cycle(fx *f, const char *account, const char *cycle, int64_t start, int64_t end) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CYCLE_CLOSE;
    ev.pos = (aj_position){"cdr.close", 0, f->offset++};
    snprintf(ev.u.close.account, sizeof(ev.u.close.account), "%s", account);
    snprintf(ev.u.close.cycle_id, sizeof(ev.u.close.cycle_id), "%s", cycle);
    ev.u.close.period_start_ms = start;
    ev.u.close.period_end_ms = end;
    return aj_adjust_event(f->adj, &ev, f->detail, sizeof(f->detail));
}

static aj_err feed_close(fx *f) {
    return feed_close_cycle(f, "ACC1", "2026-10", P_OCT, P_NOV);
}

static aj_usage in_cycle(aj_usage u, const char *cycle) {
    snprintf(u.cycle_id, sizeof(u.cycle_id), "%s", cycle);
    return u;
}

/* Feeds u, expects it accepted with no correction. */
static void expect_none(fx *f, aj_usage u) {
    int before = f->n_cor;
    aj_err rc = feed_usage(f, u);
    if (rc) fail_msg("%s: %s (%s)", u.record_id, aj_err_name(rc), f->detail);
    if (f->n_cor != before)
        fail_msg("%s: unexpected correction %s %s legacy %lld -> %lld (%s)", u.record_id,
                 f->cor[f->n_cor - 1].correction_id, aj_reason_name(f->cor[f->n_cor - 1].reason),
                 (long long)f->cor[f->n_cor - 1].legacy_amount, (long long)f->cor[f->n_cor - 1].corrected_amount,
                 f->cor[f->n_cor - 1].hypothesis);
}

/* Checks a correction: id, reason, amounts (delta = corrected - legacy) and a hypothesis substring. */
static void check_cor(const aj_correction *c, const char *id, aj_reason reason, aj_money legacy, aj_money corrected,
                      const char *hyp) {
    if (strcmp(c->correction_id, id) != 0 || c->reason != reason || c->legacy_amount != legacy ||
        c->corrected_amount != corrected || c->delta != corrected - legacy)
        fail_msg("want %s %s %lld -> %lld, got %s %s %lld -> %lld delta %lld (%s)", id, aj_reason_name(reason),
                 (long long)legacy, (long long)corrected, c->correction_id, aj_reason_name(c->reason),
                 (long long)c->legacy_amount, (long long)c->corrected_amount, (long long)c->delta, c->hypothesis);
    if (hyp && !strstr(c->hypothesis, hyp)) fail_msg("%s: hypothesis '%s' lacks '%s'", id, c->hypothesis, hyp);
}

/* Feeds u, expects it accepted with exactly one correction as described; returns it. */
static const aj_correction *expect_cor(fx *f, aj_usage u, const char *id, aj_reason reason, aj_money corrected,
                                       const char *hyp) {
    int before = f->n_cor;
    aj_err rc = feed_usage(f, u);
    if (rc) fail_msg("%s: %s (%s)", u.record_id, aj_err_name(rc), f->detail);
    if (f->n_cor != before + 1) fail_msg("%s: %d corrections, want 1", u.record_id, f->n_cor - before);
    const aj_correction *c = &f->cor[f->n_cor - 1];
    check_cor(c, id, reason, u.legacy_charge, corrected, hyp);
    assert_string_equal(c->record_id, u.record_id);
    assert_string_equal(c->account, u.account);
    assert_string_equal(c->cycle_id, u.cycle_id);
    assert_int_equal(c->kind, AJ_KIND_USAGE);
    assert_int_equal(c->service, u.service);
    assert_string_equal(c->currency, "BRL");
    assert_string_equal(c->contract_id, "CT-1");
    assert_string_equal(c->tariff_code, u.tariff_code);
    assert_int_equal(c->trace.quantity, u.quantity);
    return c;
}

/* ---- no correction ---- */

static void test_right_charge_no_correction(void **state) {
    fx *f = *state;
    base(f, 0);
    /* 37 s NATIONAL: B = 30 + 6 x ceil(7/6) = 42; 42 x 120000 / 60 = 84000, + fee 10000 = 94000 */
    expect_none(f, fx_usage("u1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    /* 3 SMS LOCAL: 3 x 50000 = 150000 */
    expect_none(f, fx_usage("u2", AJ_SERVICE_SMS, LOCAL_NR, 3, 150000, OCT05 + MIN));
    /* 1 byte of DATA: B = 1024; 1024 x 500000 / 1048576 = 488.28 -> 488 (HALF_UP, 6 decimals) */
    expect_none(f, fx_usage("u3", AJ_SERVICE_DATA, "internet", 1, 488, OCT05 + 2 * MIN));
    const aj_adjust_stats *st = aj_adjust_get_stats(f->adj);
    assert_int_equal(st->usage, 3);
    assert_int_equal(st->corrections, 0);
    assert_int_equal(st->classified, 0);
    assert_int_equal(aj_adjust_open_cycles(f->adj), 1);
}

/* ---- one test per usage reason (docs/rating.md "Record checks" and "Reasons") ---- */

static void test_reason_duplicate_usage(void **state) {
    fx *f = *state;
    base(f, 0);
    /* d1 37 s NATIONAL = 94000 (see above): right, remembered. */
    expect_none(f, fx_usage("d1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    /* The same record id again (another call): expected 0, the 2nd and 3rd occurrences get #2, #3. */
    expect_cor(f, fx_usage("d1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05 + MIN), "COR-d1#2",
               AJ_REASON_DUPLICATE_USAGE, 0, "record id d1 already charged in cycle 2026-10 (occurrence 2)");
    expect_cor(f, fx_usage("d1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05 + 2 * MIN), "COR-d1#3",
               AJ_REASON_DUPLICATE_USAGE, 0, "occurrence 3");
    /* The same call under a new id: same subscriber, start, normalized destination (+55 21 3333-4444
     * -> 552133334444), quantity and service. */
    expect_cor(f, fx_usage("d2", AJ_SERVICE_VOICE, "+55 21 3333-4444", 37, 94000, OCT05), "COR-d2",
               AJ_REASON_DUPLICATE_USAGE, 0, "same call");
    /* Another quantity is another call: 38 s -> B 42 -> 94000, right. */
    expect_none(f, fx_usage("d3", AJ_SERVICE_VOICE, NATIONAL_NR, 38, 94000, OCT05));
    /* Duplicates are per account-cycle: d1's call with cycle 2026-11 is new. */
    expect_none(f, in_cycle(fx_usage("d1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "2026-11"));
    assert_int_equal(aj_adjust_get_stats(f->adj)->by_reason[AJ_REASON_DUPLICATE_USAGE], 3);
    assert_int_equal(aj_adjust_get_stats(f->adj)->classified, 0);
}

static void test_reason_usage_after_termination(void **state) {
    fx *f = *state;
    base(f, 0);
    aj_contract *v2 = fx_contract(2, OCT20, INT64_MAX, 120000);
    v2->status = AJ_CONTRACT_TERMINATED;
    put(f, v2);
    /* Before the termination v1 rates it: 94000, right. */
    expect_none(f, fx_usage("t1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    /* On Oct 21 v2 (TERMINATED, the highest version in force) applies: expected 0. */
    const aj_correction *c = expect_cor(f, fx_usage("t2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT21), "COR-t2",
                                        AJ_REASON_USAGE_AFTER_TERMINATION, 0, "terminated");
    assert_int_equal(c->contract_version, 2);
}

static void test_reason_no_contract(void **state) {
    fx *f = *state;
    put(f, fx_contract(1, OCT10, INT64_MAX, 120000));
    /* ACC1 has a version, but none in force on Oct 5: a correction to 0, with the nearest version. */
    const aj_correction *c = expect_cor(f, fx_usage("n1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "COR-n1",
                                        AJ_REASON_NO_CONTRACT, 0, "no contract version in force");
    assert_int_equal(c->contract_version, 1);
    /* From Oct 10 v1 is in force: 94000, right. */
    expect_none(f, fx_usage("n2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT10 + 60 * MIN));
    /* An account with no contract at all is a dead letter, not a correction. */
    aj_usage u = fx_usage("n3", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05);
    memcpy(u.account, "ACC9", 5);
    assert_int_equal(feed_usage(f, u), AJ_E_NO_CONTRACT);
    assert_non_null(strstr(f->detail, "ACC9"));
    assert_int_equal(f->n_cor, 1);
    assert_int_equal(aj_adjust_get_stats(f->adj)->usage, 2);
}

static void test_reason_stale_contract_version(void **state) {
    fx *f = *state;
    put(f, fx_contract(1, JAN1, OCT15, 120000));
    put(f, fx_contract(2, OCT15, INT64_MAX, 100000));
    /* Oct 5 is v1's: 94000, right. */
    expect_none(f, fx_usage("s0", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    /* Oct 20 is v2's: 42 x 100000 / 60 = 70000 + 10000 = 80000; legacy 94000 is v1's rating. */
    const aj_correction *c = expect_cor(f, fx_usage("s1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT20), "COR-s1",
                                        AJ_REASON_STALE_CONTRACT_VERSION, 80000, "rated with contract version 1");
    assert_int_equal(c->contract_version, 2);
    assert_int_equal(c->trace.contract_version, 2);
    assert_int_equal(c->delta, -14000);
    assert_string_equal(c->source.origin, "cdr.usage");
    assert_int_equal(c->source.partition, 3);
    assert_int_equal(c->source.offset, 1);
}

static void test_reason_wrong_zone(void **state) {
    fx *f = *state;
    base(f, 0);
    /* MOBILE (55119 beats 5511): 42 x 300000 / 60 = 210000 + 20000 = 230000; legacy as LOCAL:
     * 42 x 90000 / 60 = 63000 (zones are tried in order: LOCAL is the first that gives it). */
    const aj_correction *c = expect_cor(f, fx_usage("z1", AJ_SERVICE_VOICE, MOBILE_NR, 37, 63000, OCT05), "COR-z1",
                                        AJ_REASON_WRONG_ZONE, 230000, "rated as zone LOCAL instead of MOBILE");
    assert_string_equal(c->trace.zone, "MOBILE");
    assert_string_equal(c->trace.matched_prefix, "55119");
}

static void test_reason_wrong_time_band(void **state) {
    fx *f = *state;
    base(f, FX_BANDS);
    /* Tue 22:00 local is OFFPEAK (the no-band NATIONAL rate): 94000, right. */
    expect_none(f, fx_usage("b0", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT06_OFF));
    /* Tue 10:00 local is PEAK: 42 x 300000 / 60 = 210000 + 10000 = 220000; legacy 94000 is the
     * OFFPEAK rating. No zone gives 94000 at PEAK (LOCAL 63000, MOBILE 230000, INTL 600000). */
    const aj_correction *c = expect_cor(f, fx_usage("b1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT06_PEAK),
                                        "COR-b1", AJ_REASON_WRONG_TIME_BAND, 220000, "rated in band OFFPEAK instead of PEAK");
    assert_string_equal(c->trace.band, "PEAK");
}

static void test_reason_increment_rounding(void **state) {
    fx *f = *state;
    base(f, 0);
    /* The docs' example: 37 s LOCAL 0.09/min 30/6: B 42 -> 63000; legacy 0.09 = 60/60 (B 60 x 1500). */
    expect_cor(f, fx_usage("i1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 90000, OCT05), "COR-i1", AJ_REASON_INCREMENT_ROUNDING,
               63000, "rated with increments 60/60 instead of 30/6 (billed 60 instead of 42)");
    assert_int_equal(f->cor[0].delta, -27000);
}

static void test_reason_connect_fee(void **state) {
    fx *f = *state;
    base(f, 0);
    /* 40 s NATIONAL: B = 30 + 12 = 42 -> 84000 + 10000 = 94000; legacy 84000 without the fee. No
     * increment candidate gives 84000 (60/60 130000, 1/1 40 x 2000 + 10000 = 90000, 6/6 94000). */
    expect_cor(f, fx_usage("f1", AJ_SERVICE_VOICE, NATIONAL_NR, 40, 84000, OCT05), "COR-f1", AJ_REASON_CONNECT_FEE,
               94000, "connect fee of 0.010000 not charged");
    /* 0 s: costs nothing, no fee either; legacy charged the 0.01 fee. */
    expect_cor(f, fx_usage("f2", AJ_SERVICE_VOICE, NATIONAL_NR, 0, 10000, OCT05 + MIN), "COR-f2",
               AJ_REASON_CONNECT_FEE, 0, "charged on a record with nothing used");
}

static void test_reason_tier_not_applied(void **state) {
    fx *f = *state;
    base(f, FX_TIERS);
    /* 600 s: increments 0-30 and 6 s ones up to 600, all tier 0: 600 x 2000 = 1200000 + 10000. */
    expect_none(f, fx_usage("k0", AJ_SERVICE_VOICE, NATIONAL_NR, 600, 1210000, OCT05));
    /* 650 s: tier 0 up to 600 (1200000), then one 60 s increment of tier 1 (600-660):
     * 60 x 60000 / 60 = 60000; + 10000 = 1270000. Legacy: every increment in tier 0 (6 s):
     * B = 30 + 6 x ceil(620/6) = 654; 654 x 2000 = 1308000 + 10000 = 1318000. */
    const aj_correction *c = expect_cor(f, fx_usage("k1", AJ_SERVICE_VOICE, NATIONAL_NR, 650, 1318000, OCT05 + 20 * MIN),
                                        "COR-k1", AJ_REASON_TIER_NOT_APPLIED, 1270000, "tiers not applied");
    assert_int_equal(c->trace.billed_quantity, 660);
    assert_int_equal(c->trace.tiers, 1);
}

static void test_reason_allowance_not_applied(void **state) {
    fx *f = *state;
    base(f, FX_ALLOWANCE);
    /* 37 s LOCAL: B 42, FRANQUIA covers 42 of its 50 -> 0 (LOCAL has no fee); legacy 63000. */
    const aj_correction *c = expect_cor(f, fx_usage("a1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05), "COR-a1",
                                        AJ_REASON_ALLOWANCE_NOT_APPLIED, 0,
                                        "allowance FRANQUIA not applied (42 billed units were covered)");
    assert_int_equal(c->trace.free_units, 42);
    assert_string_equal(c->trace.allowance, "FRANQUIA");
}

static void test_reason_promotion_not_applied(void **state) {
    fx *f = *state;
    base(f, FX_PROMOTION);
    /* 37 s NATIONAL in October: 94000 - R2(94000 x 50% = 47000) = 47000; legacy 94000. */
    const aj_correction *c = expect_cor(f, fx_usage("m1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "COR-m1",
                                        AJ_REASON_PROMOTION_NOT_APPLIED, 47000, "promotion OUTUBRO not applied");
    assert_int_equal(c->trace.promotion_amount, 47000);
    /* In November the promotion is over: 94000, right. */
    expect_none(f, in_cycle(fx_usage("m2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, NOV05), "2026-11"));
}

static void test_reason_discount_not_applied(void **state) {
    fx *f = *state;
    base(f, FX_DISCOUNT);
    /* 37 s NATIONAL: 94000 - R2(94000 x 10% = 9400) = 84600; legacy 94000. */
    const aj_correction *c = expect_cor(f, fx_usage("c1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "COR-c1",
                                        AJ_REASON_DISCOUNT_NOT_APPLIED, 84600, "discount FIDELIDADE not applied");
    assert_int_equal(c->trace.discount_amount, 9400);
}

static void test_reason_min_max_charge(void **state) {
    fx *f = *state;
    base(f, FX_MINMAX);
    /* 20 s INTL 60/60: B 60 x 600000 / 60 = 600000 < minimum 1000000 -> 1000000; legacy 600000. */
    const aj_correction *c = expect_cor(f, fx_usage("x1", AJ_SERVICE_VOICE, INTL_NR, 20, 600000, OCT05), "COR-x1",
                                        AJ_REASON_MIN_MAX_CHARGE, 1000000, "minimum charge of the rate not applied");
    assert_int_equal(c->trace.clamp, AJ_CLAMP_MIN);
    /* 40 MiB of DATA: 41943040 x 500000 / 1048576 = 20000000 > maximum 15000000; legacy 20000000. */
    c = expect_cor(f, fx_usage("x2", AJ_SERVICE_DATA, "internet", 41943040, 20000000, OCT05 + MIN), "COR-x2",
                   AJ_REASON_MIN_MAX_CHARGE, 15000000, "maximum charge of the rate not applied");
    assert_int_equal(c->trace.clamp, AJ_CLAMP_MAX);
}

static void test_reason_rate_mismatch(void **state) {
    fx *f = *state;
    base(f, 0);
    /* 12345 is no hypothesis's charge of a 37 s NATIONAL call (94000). */
    expect_cor(f, fx_usage("p1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 12345, OCT05), "COR-p1", AJ_REASON_RATE_MISMATCH,
               94000, "no single hypothesis reproduces it");
    assert_int_equal(aj_adjust_get_stats(f->adj)->classified, 1);
}

/* Where two reasons reproduce the legacy charge, the order of docs/rating.md names it. */
static void test_reason_order(void **state) {
    fx *f = *state;
    base(f, 0);
    /* 37 s NATIONAL, legacy 84000: increments 1/1 with the fee (37 x 2000 + 10000 = 84000) AND the
     * fee left out (42 x 2000 = 84000) both give it: INCREMENT_ROUNDING (4) before CONNECT_FEE (5). */
    expect_cor(f, fx_usage("o1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 84000, OCT05), "COR-o1",
               AJ_REASON_INCREMENT_ROUNDING, 94000, "increments 1/1 instead of 30/6");
    /* Record checks: a repeated id at a time with no version in force is DUPLICATE_USAGE (check 4)
     * before NO_CONTRACT (check 5). Account ACC1 has versions; none on 2025-12-31. */
    expect_cor(f, fx_usage("o2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, JAN1 - 86400000LL), "COR-o2",
               AJ_REASON_NO_CONTRACT, 0, "no contract version in force");
    expect_cor(f, fx_usage("o2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, JAN1 - 86400000LL + MIN), "COR-o2#2",
               AJ_REASON_DUPLICATE_USAGE, 0, "occurrence 2");
}

static void test_reason_order_promotion_before_discount(void **state) {
    fx *f = *state;
    aj_contract *c = fx_contract(1, JAN1, INT64_MAX, 120000);
    fx_add_promotion(c, "DEZ", AJ_SERVICE_VOICE, "", AJ_PROMO_PERCENT_OFF, 100000, 1, FX_PROMO_FROM, FX_PROMO_TO);
    fx_add_discount(c, "FIDELIDADE", AJ_SERVICE_VOICE, "", 100000, 0);
    put(f, c);
    /* 37 s NATIONAL: 94000 - 10% promotion (9400) = 84600 - 10% discount (8460) = 76140. Without
     * the promotion: 94000 - 9400 = 84600; without the discount: 84600 too. Legacy 84600:
     * PROMOTION_NOT_APPLIED (8) before DISCOUNT_NOT_APPLIED (9). */
    expect_cor(f, fx_usage("o3", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 84600, OCT05), "COR-o3",
               AJ_REASON_PROMOTION_NOT_APPLIED, 76140, "promotion DEZ not applied");
}

/* ---- account-cycle state ---- */

static void test_duplicate_does_not_consume_allowance(void **state) {
    fx *f = *state;
    base(f, FX_ALLOWANCE);
    /* a1 37 s LOCAL: B 42, all covered (8 of FRANQUIA's 50 left) -> 0, right. */
    expect_none(f, fx_usage("a1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 0, OCT05));
    /* Its id again, and its call again: duplicates, expected 0, nothing drawn. */
    expect_cor(f, fx_usage("a1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05 + MIN), "COR-a1#2",
               AJ_REASON_DUPLICATE_USAGE, 0, "already charged");
    expect_cor(f, fx_usage("a2", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05), "COR-a2", AJ_REASON_DUPLICATE_USAGE, 0,
               "same call");
    /* a3: still 8 left: B 42, C 8, pays 34 x 1500 = 51000, right (0 left would give 63000). */
    expect_none(f, fx_usage("a3", AJ_SERVICE_VOICE, LOCAL_NR, 37, 51000, OCT05 + 2 * MIN));
    assert_int_equal(f->n_cor, 2);
}

static void test_allowance_input_order_per_account_cycle(void **state) {
    fx *f = *state;
    base(f, FX_ALLOWANCE);
    /* Legacy ignores FRANQUIA (50 s per cycle): every 37 s LOCAL call (B 42) billed 63000.
     * October, in input order: 42 covered -> 0; 8 covered -> 34 x 1500 = 51000; none -> 63000.
     * November has its own 50. Records of the two cycles interleave. */
    const aj_correction *c = expect_cor(f, fx_usage("o1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05), "COR-o1",
                                        AJ_REASON_ALLOWANCE_NOT_APPLIED, 0, "42 billed units were covered");
    assert_int_equal(c->trace.free_units, 42);
    c = expect_cor(f, in_cycle(fx_usage("n1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, NOV05), "2026-11"), "COR-n1",
                   AJ_REASON_ALLOWANCE_NOT_APPLIED, 0, "42 billed units were covered");
    c = expect_cor(f, fx_usage("o2", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05 + MIN), "COR-o2",
                   AJ_REASON_ALLOWANCE_NOT_APPLIED, 51000, "8 billed units were covered");
    assert_int_equal(c->trace.free_units, 8);
    expect_none(f, fx_usage("o3", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05 + 2 * MIN));
    c = expect_cor(f, in_cycle(fx_usage("n2", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, NOV05 + MIN), "2026-11"), "COR-n2",
                   AJ_REASON_ALLOWANCE_NOT_APPLIED, 51000, "8 billed units were covered");
    assert_int_equal(aj_adjust_open_cycles(f->adj), 2);
}

static void test_discount_cap_carried(void **state) {
    fx *f = *state;
    aj_contract *c = fx_contract(1, JAN1, INT64_MAX, 120000);
    fx_add_discount(c, "FIDELIDADE", AJ_SERVICE_VOICE, "", 100000, 15000);
    put(f, c);
    /* 37 s NATIONAL 94000, 10% capped at 0.015 per cycle; legacy without the discount:
     * d = 9400 -> 84600 (9400 used); d = min(9400, 15000 - 9400) = 5600 -> 88400; d = 0 -> 94000. */
    const aj_correction *k = expect_cor(f, fx_usage("k1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "COR-k1",
                                        AJ_REASON_DISCOUNT_NOT_APPLIED, 84600, "discount FIDELIDADE");
    assert_int_equal(k->trace.discount_amount, 9400);
    k = expect_cor(f, fx_usage("k2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05 + MIN), "COR-k2",
                   AJ_REASON_DISCOUNT_NOT_APPLIED, 88400, "discount FIDELIDADE");
    assert_int_equal(k->trace.discount_amount, 5600);
    expect_none(f, fx_usage("k3", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05 + 2 * MIN));
    /* November's cap is fresh: 84600 again. */
    expect_cor(f, in_cycle(fx_usage("k4", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, NOV05), "2026-11"), "COR-k4",
               AJ_REASON_DISCOUNT_NOT_APPLIED, 84600, "discount FIDELIDADE");
}

static void test_rejected_record_changes_no_state(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, FX_ALLOWANCE));
    /* August is invoiced, then September: August's delay period is over. */
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-08", P_SEP - 31 * DAY, P_SEP), AJ_E_OK);
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-09", P_SEP, P_OCT), AJ_E_OK);
    assert_int_equal(f->n_inv, 2);
    /* Three rejects with the id of the record that follows (and, but for the first, its call). */
    aj_usage u = fx_usage("x1", AJ_SERVICE_SMS, INTL_NR, 1, 50000, OCT05);   /* no SMS INTL rate */
    assert_int_equal(feed_usage(f, u), AJ_E_NO_RATE);
    u = fx_usage("x1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05);
    memcpy(u.currency, "USD", 4);
    assert_int_equal(feed_usage(f, u), AJ_E_CURRENCY_MISMATCH);
    assert_int_equal(feed_usage(f, in_cycle(fx_usage("x1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05), "2026-08")),
                     AJ_E_LATE_USAGE);
    assert_int_equal(f->n_cor, 0);
    assert_int_equal(aj_adjust_get_stats(f->adj)->usage, 0);
    /* x1 is rated as if none came: not a duplicate (COR-x1, not #2), FRANQUIA whole: B 42 all
     * covered -> 0; legacy 63000. */
    const aj_correction *c = expect_cor(f, fx_usage("x1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05), "COR-x1",
                                        AJ_REASON_ALLOWANCE_NOT_APPLIED, 0, "42 billed units were covered");
    assert_int_equal(c->trace.free_units, 42);
    assert_int_equal(aj_adjust_get_stats(f->adj)->usage, 1);
}

/* DISAGREES: docs/rating.md "Record checks": "A record rejected at 1-3, or at NO_RATE below,
 * changes no state" (and aj_adjust.h: "Reject codes leave the state unchanged"): a NO_RATE reject
 * must not leave an (empty) account-cycle open. Docs: 0 open cycles; the engine: 1 (aj_begin_record
 * creates the account-cycle before rating finds no rate). */
static void test_rejected_record_opens_no_cycle(void **state) {
    fx *f = *state;
    base(f, 0);
    assert_int_equal(feed_usage(f, fx_usage("x1", AJ_SERVICE_SMS, INTL_NR, 1, 50000, OCT05)), AJ_E_NO_RATE);
    aj_usage u = fx_usage("x2", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05);
    memcpy(u.currency, "USD", 4);
    assert_int_equal(feed_usage(f, u), AJ_E_CURRENCY_MISMATCH);
    assert_int_equal(aj_adjust_open_cycles(f->adj), 0);
}

/* ---- recurring charges ---- */

/* v1 of ACC1 with the inventory of the recurring tests (period 2026-10: P = 31 local days). */
static void recurring_contract(fx *f) {
    aj_contract *c = fx_contract(1, JAN1, INT64_MAX, 120000);
    /* L0 (fixture) VOICE 49.90 x 1, always active */
    fx_add_line(c, "ACC1-L1", AJ_SERVICE_VOICE, 49900000, 2, OCT10_NOON, INT64_MAX);   /* from Oct 10 local */
    fx_add_line(c, "ACC1-L2", AJ_SERVICE_DATA, 30000000, 1, INT64_MIN, SEP15);        /* gone Sep 15 */
    fx_add_line(c, "ACC1-L3", AJ_SERVICE_SMS, 10000000, 1, OCT17_0200, INT64_MAX);    /* from Oct 16 local */
    fx_add_line(c, "ACC1-L4", AJ_SERVICE_VOICE, 29900000, 1, INT64_MIN, INT64_MAX);   /* always */
    fx_add_line(c, "ACC1-L5", AJ_SERVICE_VOICE, 19900000, 1, INT64_MIN, P_OCT);       /* gone Oct 1 00:00 local */
    put(f, c);
}

static const aj_correction *expect_rec(fx *f, const char *id, const char *line, aj_service s, aj_money legacy,
                                       const char *cor_id, aj_reason reason, aj_money corrected, const char *hyp) {
    int before = f->n_cor;
    aj_err rc = feed_recurring(f, id, line, s, legacy);
    if (rc) fail_msg("%s: %s (%s)", id, aj_err_name(rc), f->detail);
    if (f->n_cor != before + 1) fail_msg("%s: %d corrections, want 1", id, f->n_cor - before);
    const aj_correction *c = &f->cor[f->n_cor - 1];
    check_cor(c, cor_id, reason, legacy, corrected, hyp);
    assert_int_equal(c->kind, AJ_KIND_RECURRING);
    assert_int_equal(c->service, s);
    assert_string_equal(c->record_id, id);
    assert_string_equal(c->tariff_code, "MRC_T0");
    return c;
}

static void test_recurring_reasons(void **state) {
    fx *f = *state;
    recurring_contract(f);
    /* L0 49.90 x 1 x 31/31 = 49.90: right. */
    assert_int_equal(feed_recurring(f, "rc0", "ACC1-L0", AJ_SERVICE_VOICE, 49900000), AJ_E_OK);
    assert_int_equal(f->n_cor, 0);
    /* L0 again under another id: MRC_DUPLICATE, expected 0. */
    expect_rec(f, "rc0b", "ACC1-L0", AJ_SERVICE_VOICE, 49900000, "COR-rc0b", AJ_REASON_MRC_DUPLICATE, 0,
               "already charged in cycle 2026-10");
    /* The docs' example: L1 49.90 x 2 from Oct 10 local: D = 22 (Oct 10..31), 99.80 x 22 / 31 =
     * 70.8258 -> R3 (2 decimals HALF_UP) 70.83; legacy the whole 99.80 -> MRC_PRORATION, -28.97. */
    const aj_correction *c = expect_rec(f, "rc1", "ACC1-L1", AJ_SERVICE_VOICE, 99800000, "COR-rc1",
                                        AJ_REASON_MRC_PRORATION, 70830000, "active 22 of 31 days");
    assert_int_equal(c->delta, -28970000);
    assert_string_equal(c->trace.bands, "22 of 31 days");
    /* L2 deactivated Sep 15: D = 0 -> MRC_INACTIVE_LINE, expected 0. */
    expect_rec(f, "rc2", "ACC1-L2", AJ_SERVICE_DATA, 30000000, "COR-rc2", AJ_REASON_MRC_INACTIVE_LINE, 0,
               "not active in cycle 2026-10");
    /* L9 is not in the inventory: MRC_INACTIVE_LINE, expected 0. */
    expect_rec(f, "rc3", "ACC1-L9", AJ_SERVICE_VOICE, 19900000, "COR-rc3", AJ_REASON_MRC_INACTIVE_LINE, 0,
               "not in the inventory");
    /* L4 29.90 whole month charged 35.00: MRC_PRICE_MISMATCH, -5.10. */
    c = expect_rec(f, "rc4", "ACC1-L4", AJ_SERVICE_VOICE, 35000000, "COR-rc4", AJ_REASON_MRC_PRICE_MISMATCH, 29900000,
                   "ACC1-L4");
    assert_int_equal(c->delta, -5100000);

    /* The close: L3 (SMS 10.00 from Oct 16 local, 23:00) was never charged: D = 16 (Oct 16..31),
     * 10.00 x 16 / 31 = 5.16129 -> 5.16, legacy 0. L0, L1, L2, L4 were charged; L5's
     * deactivation date is Oct 1 (not counted): D = 0, nothing. */
    int before = f->n_cor;
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_cor, before + 1);
    c = &f->cor[before];
    check_cor(c, "COR-MISSING-ACC1-L3-2026-10", AJ_REASON_MRC_MISSING, 0, 5160000, "16 of 31 days");
    assert_string_equal(c->record_id, "MISSING-ACC1-L3-2026-10");
    assert_int_equal(c->kind, AJ_KIND_RECURRING);
    assert_int_equal(c->service, AJ_SERVICE_SMS);
    assert_string_equal(c->cycle_id, "2026-10");
    assert_int_equal(f->n_inv, 1);
    const aj_adjust_stats *st = aj_adjust_get_stats(f->adj);
    assert_int_equal(st->recurring, 6);
    assert_int_equal(st->by_reason[AJ_REASON_MRC_INACTIVE_LINE], 2);
    assert_int_equal(st->by_reason[AJ_REASON_MRC_MISSING], 1);
}

/* DISAGREES: docs/rating.md "Correction ids": the n-th record with the same id in an
 * account-cycle gets COR-<record_id>#<n>, recurring charges included. Docs: COR-rc0#2; the
 * engine: COR-rc0 (aj_adjust_recurring always passes occurrence 1). */
static void test_recurring_duplicate_id(void **state) {
    fx *f = *state;
    recurring_contract(f);
    assert_int_equal(feed_recurring(f, "rc0", "ACC1-L0", AJ_SERVICE_VOICE, 49900000), AJ_E_OK);
    /* The same record redelivered: MRC_DUPLICATE, expected 0, its 2nd occurrence. */
    expect_rec(f, "rc0", "ACC1-L0", AJ_SERVICE_VOICE, 49900000, "COR-rc0#2", AJ_REASON_MRC_DUPLICATE, 0,
               "already charged");
}

/* ---- invoices ---- */

static void test_invoice_at_close(void **state) {
    fx *f = *state;
    aj_contract *v1 = fx_contract(1, JAN1, OCT15, 120000);
    fx_add_line(v1, "ACC1-L3", AJ_SERVICE_SMS, 10000000, 1, OCT17_0200, INT64_MAX);
    put(f, v1);
    put(f, fx_contract(2, OCT15, INT64_MAX, 100000));
    /* USAGE VOICE: a 94000 right (v1); b 94000 -> 80000 STALE (v2), delta -14000. */
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    expect_cor(f, fx_usage("b", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT20), "COR-b",
               AJ_REASON_STALE_CONTRACT_VERSION, 80000, "version 1");
    /* USAGE SMS: 2 x 50000 = 100000, right. */
    expect_none(f, fx_usage("c", AJ_SERVICE_SMS, LOCAL_NR, 2, 100000, OCT05 + MIN));
    /* RECURRING VOICE (v1 in force on Oct 1): L0 49.90 right; L9 unknown 19.90 -> 0. */
    assert_int_equal(feed_recurring(f, "r0", "ACC1-L0", AJ_SERVICE_VOICE, 49900000), AJ_E_OK);
    expect_rec(f, "r9", "ACC1-L9", AJ_SERVICE_VOICE, 19900000, "COR-r9", AJ_REASON_MRC_INACTIVE_LINE, 0, NULL);
    assert_int_equal(aj_adjust_open_cycles(f->adj), 1);
    /* The close adds RECURRING SMS: MRC_MISSING of L3, 0 -> 5160000 (10.00 x 16 / 31). */
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_cor, 3);
    check_cor(&f->cor[2], "COR-MISSING-ACC1-L3-2026-10", AJ_REASON_MRC_MISSING, 0, 5160000, NULL);
    assert_int_equal(f->n_inv, 1);
    const aj_invoice *inv = &f->inv[0];
    assert_string_equal(inv->invoice_id, "INV-ACC1-2026-10-r1");
    assert_string_equal(inv->account, "ACC1");
    assert_string_equal(inv->cycle_id, "2026-10");
    assert_int_equal(inv->revision, 1);
    assert_int_equal(inv->status, AJ_INV_ISSUED);
    assert_int_equal(inv->period_start_ms, P_OCT);
    assert_int_equal(inv->period_end_ms, P_NOV);
    /* Issued Nov 1 (local), due Oct 31 + 30 days = Nov 30: days since 1970-01-01. */
    assert_int_equal(inv->issue_date, 20758);
    assert_int_equal(inv->due_date, 20787);
    assert_string_equal(inv->currency, "BRL");
    assert_string_equal(inv->contract_id, "CT-1");
    assert_int_equal(inv->n_versions, 2);
    assert_int_equal(inv->versions[0], 1);
    assert_int_equal(inv->versions[1], 2);
    /* Lines by kind, service, item; the default policy applies the overcharges (a's and b's
     * lines, L9's) and flags the undercharge (L3: legacy 0 stays billed). */
    const struct { const char *id; int64_t records, quantity; aj_money legacy, corrected, billed; int64_t corrections; }
        want[] = {
            {"USAGE/VOICE/NATIONAL", 2, 74, 188000, 174000, 174000, 1},   /* 94000+94000 / 94000+80000 */
            {"USAGE/SMS/LOCAL", 1, 2, 100000, 100000, 100000, 0},
            {"RECURRING/ACC1-L0", 1, 1, 49900000, 49900000, 49900000, 0},
            {"RECURRING/ACC1-L9", 1, 1, 19900000, 0, 0, 1},
            {"RECURRING/ACC1-L3", 1, 1, 0, 5160000, 0, 1},
        };
    assert_int_equal(inv->n_lines, 5);
    for (size_t i = 0; i < 5; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        if (strcmp(l->line_id, want[i].id) != 0 || l->records != want[i].records || l->quantity != want[i].quantity ||
            l->legacy_amount != want[i].legacy || l->corrected_amount != want[i].corrected ||
            l->billed_amount != want[i].billed || l->corrections != want[i].corrections)
            fail_msg("line %zu: %s records %lld qty %lld legacy %lld corrected %lld billed %lld corrections %lld", i,
                     l->line_id, (long long)l->records, (long long)l->quantity, (long long)l->legacy_amount,
                     (long long)l->corrected_amount, (long long)l->billed_amount, (long long)l->corrections);
    }
    /* One adjustment per corrected line, each linked to it. */
    assert_int_equal(inv->n_adjustments, 3);
    assert_int_equal(inv->adjustments[0].line, 0);
    assert_int_equal(inv->adjustments[0].reason, AJ_REASON_STALE_CONTRACT_VERSION);
    assert_int_equal(inv->adjustments[0].disposition, AJ_DISP_APPLY);
    assert_int_equal(inv->adjustments[0].delta, -14000);
    assert_int_equal(inv->adjustments[1].line, 3);
    assert_int_equal(inv->adjustments[1].reason, AJ_REASON_MRC_INACTIVE_LINE);
    assert_int_equal(inv->adjustments[2].line, 4);
    assert_int_equal(inv->adjustments[2].reason, AJ_REASON_MRC_MISSING);
    assert_int_equal(inv->adjustments[2].disposition, AJ_DISP_FLAG);
    assert_int_equal(inv->adjustments[2].delta, 5160000);
    /* legacy 188000 + 100000 + 49900000 + 19900000 + 0 = 70088000; billed 174000 + 100000 +
     * 49900000 = 50174000 = legacy - overcharges (14000 + 19900000); the undercharge is advisory. */
    assert_int_equal(inv->legacy_total, 70088000);
    assert_int_equal(inv->corrected_total, 50174000);
    assert_int_equal(inv->adjustment_total, -19914000);
    assert_int_equal(inv->overcharge_removed, 19914000);
    assert_int_equal(inv->undercharge_added, 0);
    assert_int_equal(inv->flagged_undercharge, 5160000);
    assert_int_equal(inv->amount_due, 50174000);
    assert_int_equal(inv->n_reasons, 3);
    assert_int_equal(inv->reasons[0].reason, AJ_REASON_STALE_CONTRACT_VERSION);
    assert_int_equal(inv->reasons[0].count, 1);
    assert_int_equal(inv->reasons[0].delta, -14000);
    assert_int_equal(inv->reasons[0].applied, -14000);
    assert_int_equal(inv->reasons[1].reason, AJ_REASON_MRC_INACTIVE_LINE);
    assert_int_equal(inv->reasons[1].delta, -19900000);
    assert_int_equal(inv->reasons[2].reason, AJ_REASON_MRC_MISSING);
    assert_int_equal(inv->reasons[2].delta, 5160000);
    assert_int_equal(inv->reasons[2].applied, 0);
    /* The corrections name their invoice line and disposition. */
    assert_string_equal(f->cor[0].invoice_id, "INV-ACC1-2026-10-r1");
    assert_string_equal(f->cor[0].invoice_line, "USAGE/VOICE/NATIONAL");
    assert_int_equal(f->cor[0].disposition, AJ_DISP_APPLY);
    assert_string_equal(f->cor[2].invoice_line, "RECURRING/ACC1-L3");
    assert_int_equal(f->cor[2].disposition, AJ_DISP_FLAG);
    assert_false(f->cor[2].late);
    const aj_adjust_stats *st = aj_adjust_get_stats(f->adj);
    assert_int_equal(st->corrections, 3);
    assert_int_equal(st->overcharge, 19914000);
    assert_int_equal(st->undercharge, 5160000);
    assert_int_equal(st->invoices, 1);
    assert_int_equal(st->closes, 1);
    assert_int_equal(aj_adjust_open_cycles(f->adj), 0);

    /* A second close emits nothing (no invoice, no second MRC_MISSING) and is counted. */
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_inv, 1);
    assert_int_equal(f->n_cor, 3);
    assert_int_equal(st->duplicate_closes, 1);
    assert_int_equal(st->invoices, 1);
}

/* Clause "Late usage": a record of the invoiced cycle is rated with that cycle's state and
 * goes on the next invoice as a LATE_ line naming the invoiced one; after the next invoice it
 * is LATE_USAGE. */
static void test_late_usage_goes_on_next_invoice(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, FX_ALLOWANCE));
    aj_policy p;
    aj_policy_default(&p);
    aj_policy_set_all(&p, -1, AJ_DISP_APPLY);
    aj_adjust_set_policy(f->adj, &p);
    /* FRANQUIA 50 units: a uses 42 (LOCAL 37 s -> 42 billed), legacy 0 is right. */
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, LOCAL_NR, 37, 0, OCT05));
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_inv, 1);
    /* Late b: the 8 units left are free, 34 x 1500 = 51000; charged 63000: an overcharge, on
     * the next invoice. */
    const aj_correction *c = expect_cor(f, fx_usage("b", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05 + HOUR), "COR-b",
                                        AJ_REASON_ALLOWANCE_NOT_APPLIED, 51000, NULL);
    assert_true(c->late);
    assert_string_equal(c->invoice_id, "INV-ACC1-2026-10-r1");
    assert_string_equal(c->invoice_line, "LATE_USAGE/INV-ACC1-2026-10-r1/VOICE");
    /* Late d: the allowance is used up, 42 x 1500, as the cycle would have charged it. */
    expect_none(f, fx_usage("d", AJ_SERVICE_VOICE, LOCAL_NR, 37, 63000, OCT05 + 2 * HOUR));
    assert_int_equal(aj_adjust_get_stats(f->adj)->late_records, 2);
    /* November: one record, then its close: the invoice carries the late line. */
    expect_none(f, in_cycle(fx_usage("n1", AJ_SERVICE_VOICE, LOCAL_NR, 37, 0, NOV05), "2026-11"));
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-11", P_NOV, P_NOV + 30 * DAY), AJ_E_OK);
    assert_int_equal(f->n_inv, 2);
    const aj_invoice *inv = &f->inv[1];
    const aj_invoice_line *late = NULL;
    for (size_t i = 0; i < inv->n_lines; i++)
        if (inv->lines[i].kind == AJ_LINE_LATE_USAGE) late = &inv->lines[i];
    assert_non_null(late);
    assert_string_equal(late->line_id, "LATE_USAGE/INV-ACC1-2026-10-r1/VOICE");
    assert_string_equal(late->refers_to, "INV-ACC1-2026-10-r1");
    assert_int_equal(late->records, 2);
    assert_int_equal(late->legacy_amount, 63000 + 63000);
    assert_int_equal(late->billed_amount, 51000 + 63000);
    assert_int_equal(inv->overcharge_removed, 12000);
    /* October's delay period is over: a record for it now is a dead letter. */
    assert_int_equal(feed_usage(f, fx_usage("e", AJ_SERVICE_VOICE, LOCAL_NR, 37, 1000, OCT05 + 3 * HOUR)),
                     AJ_E_LATE_USAGE);
    assert_non_null(strstr(f->detail, "INV-ACC1-2026-10-r1"));
    /* A third invoice has no late line: it went on exactly one. */
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-12", P_NOV + 30 * DAY, P_NOV + 61 * DAY), AJ_E_OK);
    for (size_t i = 0; i < f->inv[2].n_lines; i++) assert_int_not_equal(f->inv[2].lines[i].kind, AJ_LINE_LATE_USAGE);
}

static void test_close_without_records(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, 0));
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_inv, 1);
    assert_int_equal(f->n_cor, 0);
    assert_string_equal(f->inv[0].invoice_id, "INV-ACC1-2026-10-r1");
    assert_int_equal(f->inv[0].n_lines, 0);
    assert_int_equal(f->inv[0].n_reasons, 0);
    assert_int_equal(f->inv[0].legacy_total, 0);
    assert_int_equal(f->inv[0].corrected_total, 0);
    assert_string_equal(f->inv[0].currency, "BRL");
    assert_string_equal(f->inv[0].contract_id, "CT-1");
}

static void test_close_without_records_missing_line(void **state) {
    fx *f = *state;
    base(f, 0);
    /* No record, but L0 (49.90, always active) is contracted: MRC_MISSING 49.90 x 31/31. */
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_cor, 1);
    check_cor(&f->cor[0], "COR-MISSING-ACC1-L0-2026-10", AJ_REASON_MRC_MISSING, 0, 49900000, "31 of 31 days");
    assert_int_equal(f->n_inv, 1);
    assert_int_equal(f->inv[0].n_lines, 1);
    assert_int_equal(f->inv[0].lines[0].kind, AJ_LINE_RECURRING);
    assert_int_equal(f->inv[0].lines[0].corrected_amount, 49900000);
    /* An undercharge: FLAG by default, advisory; the invoice keeps the legacy 0. */
    assert_int_equal(f->cor[0].disposition, AJ_DISP_FLAG);
    assert_int_equal(f->inv[0].corrected_total, 0);
    assert_int_equal(f->inv[0].undercharge_added, 0);
    assert_int_equal(f->inv[0].flagged_undercharge, 49900000);
    assert_int_equal(f->inv[0].adjustment_total, 0);
}

static aj_err feed_credit(fx *f, const char *dispute, const char *account, aj_money amount, const char *currency,
                          int64_t accepted) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CREDIT;
    ev.pos = (aj_position){"dispute.credits", 0, f->offset++};
    aj_credit *cr = &ev.u.credit;
    snprintf(cr->dispute_id, sizeof(cr->dispute_id), "%s", dispute);
    snprintf(cr->account, sizeof(cr->account), "%s", account);
    snprintf(cr->invoice_id, sizeof(cr->invoice_id), "LEGACY-2026-08");
    snprintf(cr->currency, sizeof(cr->currency), "%s", currency);
    snprintf(cr->reason, sizeof(cr->reason), "roaming billed twice");
    cr->amount = amount;
    cr->accepted_ms = accepted;
    return aj_adjust_event(f->adj, &ev, f->detail, sizeof(f->detail));
}

static const aj_invoice_line *find_line(const aj_invoice *inv, const char *id) {
    for (size_t i = 0; i < inv->n_lines; i++)
        if (strcmp(inv->lines[i].line_id, id) == 0) return &inv->lines[i];
    fail_msg("invoice %s has no line %s", inv->invoice_id, id);
    return NULL;
}

/* Clause "Dispute credits": once per dispute id, on the first invoice whose period ends after
 * the acceptance; a bad credit is a reject. */
static void test_dispute_credits(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, 0));
    assert_int_equal(feed_credit(f, "D1", "ACC1", 10000000, "BRL", OCT05), AJ_E_OK);
    assert_int_equal(feed_credit(f, "D1", "ACC1", 10000000, "BRL", OCT05), AJ_E_OK);   /* delivered twice */
    assert_int_equal(feed_credit(f, "D2", "ACC1", 2500000, "BRL", NOV05), AJ_E_OK);    /* after October */
    assert_int_equal(feed_credit(f, "D3", "ACC1", 100, "USD", OCT05), AJ_E_CURRENCY_MISMATCH);
    assert_int_equal(feed_credit(f, "D4", "NOBODY", 100, "BRL", OCT05), AJ_E_NO_CONTRACT);
    /* The counts of credits received are the credit book's; the adjuster's statistics leave
     * them to it (aj_pipeline_adjust_stats reports its shared book's). */
    const aj_adjust_stats *st = aj_adjust_get_stats(f->adj);
    int64_t received = -1, duplicates = -1;
    aj_credit_book_stats(aj_adjust_credit_book(f->adj), &received, &duplicates);
    assert_int_equal(received, 2);
    assert_int_equal(duplicates, 1);
    assert_int_equal(st->credits, 0);
    assert_int_equal(st->duplicate_credits, 0);
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    assert_int_equal(feed_close(f), AJ_E_OK);
    const aj_invoice *oct = &f->inv[0];
    const aj_invoice_line *l = find_line(oct, "CREDIT/D1");
    assert_int_equal(l->legacy_amount, -10000000);
    assert_int_equal(l->billed_amount, -10000000);
    assert_string_equal(l->refers_to, "LEGACY-2026-08");
    assert_non_null(strstr(l->description, "roaming billed twice"));
    assert_int_equal(oct->credit_total, -10000000);
    assert_int_equal(oct->amount_due, 94000 - 10000000);
    assert_int_equal(oct->legacy_total - oct->overcharge_removed + oct->undercharge_added, oct->corrected_total);
    for (size_t i = 0; i < oct->n_lines; i++) assert_string_not_equal(oct->lines[i].line_id, "CREDIT/D2");
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-11", P_NOV, P_NOV + 30 * DAY), AJ_E_OK);
    const aj_invoice *nov = &f->inv[1];
    assert_int_equal(find_line(nov, "CREDIT/D2")->billed_amount, -2500000);
    for (size_t i = 0; i < nov->n_lines; i++) assert_string_not_equal(nov->lines[i].line_id, "CREDIT/D1");
    assert_int_equal(st->credits_applied, 2);
    /* A third delivery after it was applied changes nothing either. */
    assert_int_equal(feed_credit(f, "D1", "ACC1", 10000000, "BRL", OCT05), AJ_E_OK);
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-12", P_NOV + 30 * DAY, P_NOV + 61 * DAY), AJ_E_OK);
    assert_int_equal(f->inv[2].credit_total, 0);
}

/* Clause "Taxes": the tax on the billed base; the legacy tax compared on the legacy base. */
static void test_taxes_and_tax_mismatch(void **state) {
    fx *f = *state;
    aj_contract *c = fx_contract(1, JAN1, INT64_MAX, 120000);
    c->taxes = calloc(1, sizeof(*c->taxes));
    c->taxes[0].name = fx_dup("IVA");
    c->taxes[0].services = 0xf;
    c->taxes[0].rate_ppm = 230000;
    c->taxes[0].mode = AJ_TAX_EXCLUSIVE;
    c->n_taxes = 1;
    put(f, c);
    fx_no_lines(c);
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    /* Same call again: a duplicate, 94000 removed (APPLY). */
    expect_cor(f, fx_usage("b", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "COR-b", AJ_REASON_DUPLICATE_USAGE, 0,
               NULL);
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CYCLE_CLOSE;
    ev.pos = (aj_position){"cdr.close", 0, 99};
    aj_cycle_close *cl = &ev.u.close;
    strcpy(cl->account, "ACC1");
    strcpy(cl->cycle_id, "2026-10");
    cl->period_start_ms = P_OCT;
    cl->period_end_ms = P_NOV;
    cl->legacy_taxes[0] = (aj_legacy_tax){"IVA", 45000};
    cl->legacy_taxes[1] = (aj_legacy_tax){"FUST", 1000};   /* not in the contract */
    cl->n_legacy_taxes = 2;
    assert_int_equal(aj_adjust_event(f->adj, &ev, f->detail, sizeof(f->detail)), AJ_E_OK);
    /* Legacy base 0.188: 23% = 0.04324 -> 0.04 (HALF_UP, cents); legacy said 0.045. Billed base
     * 0.094: 0.02162 -> 0.02. */
    assert_int_equal(f->n_cor, 3);
    check_cor(&f->cor[1], "COR-TAX-IVA-ACC1-2026-10", AJ_REASON_TAX_MISMATCH, 45000, 40000, NULL);
    assert_int_equal(f->cor[1].kind, AJ_KIND_TAX);
    assert_string_equal(f->cor[1].invoice_line, "TAX/IVA");
    check_cor(&f->cor[2], "COR-TAX-FUST-ACC1-2026-10", AJ_REASON_TAX_MISMATCH, 1000, 0, NULL);
    const aj_invoice *inv = &f->inv[0];
    const aj_invoice_line *iva = find_line(inv, "TAX/IVA");
    assert_int_equal(iva->legacy_amount, 45000);
    assert_int_equal(iva->billed_amount, 20000);
    assert_int_equal(iva->corrected_amount, 20000);
    assert_int_equal(iva->quantity, 94000);
    assert_int_equal(find_line(inv, "TAX/FUST")->billed_amount, 0);
    /* IVA's adjustments: TAX_MISMATCH -5000, TAX_BASE -20000, both applied. */
    aj_money mismatch = 0, follow = 0;
    for (size_t i = 0; i < inv->n_adjustments; i++) {
        const aj_invoice_adjustment *a = &inv->adjustments[i];
        if (strcmp(inv->lines[a->line].line_id, "TAX/IVA") != 0) continue;
        if (a->reason == AJ_REASON_TAX_MISMATCH) mismatch += a->delta;
        if (a->reason == AJ_ADJ_TAX_BASE) follow += a->delta;
    }
    assert_int_equal(mismatch, -5000);
    assert_int_equal(follow, -20000);
    assert_int_equal(inv->legacy_total, 188000 + 45000 + 1000);
    assert_int_equal(inv->corrected_total, 94000 + 20000);
    assert_int_equal(inv->overcharge_removed, 94000 + 5000 + 20000 + 1000);
    assert_int_equal(inv->tax_total, 20000);
    assert_int_equal(inv->amount_due, 114000);
}

/* Clause "Review": a HOLD correction holds the invoice; so does an adjustment above the
 * materiality thresholds (strictly above: a tie is issued). */
static void test_hold_and_materiality(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, 0));
    aj_policy p;
    aj_policy_default(&p);
    char err[256];
    assert_int_equal(aj_policy_parse_rules(&p, "DUPLICATE_USAGE=HOLD", err, sizeof(err)), AJ_E_OK);
    aj_adjust_set_policy(f->adj, &p);
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    const aj_correction *c = expect_cor(f, fx_usage("b", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05), "COR-b",
                                        AJ_REASON_DUPLICATE_USAGE, 0, NULL);
    assert_int_equal(c->disposition, AJ_DISP_HOLD);
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->inv[0].status, AJ_INV_HELD);
    assert_non_null(strstr(f->inv[0].status_reason, "HOLD"));
    assert_int_equal(f->inv[0].corrected_total, 94000);   /* as it would be released */
    assert_int_equal(aj_adjust_get_stats(f->adj)->held, 1);

    /* Materiality: 50% of the legacy total. November: legacy 188000, 94000 removed = 50%: issued. */
    aj_policy_default(&p);
    assert_int_equal(aj_policy_parse_percent("50", &p.materiality_ppm, err, sizeof(err)), AJ_E_OK);
    aj_adjust_set_policy(f->adj, &p);
    expect_none(f, in_cycle(fx_usage("n1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, NOV05), "2026-11"));
    expect_cor(f, in_cycle(fx_usage("n2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, NOV05), "2026-11"), "COR-n2",
               AJ_REASON_DUPLICATE_USAGE, 0, NULL);
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-11", P_NOV, P_NOV + 30 * DAY), AJ_E_OK);
    assert_int_equal(f->inv[1].status, AJ_INV_ISSUED);
    /* December: a lower amount threshold, 0.05: 0.094 removed exceeds it. */
    p.materiality_amount = 50000;
    aj_adjust_set_policy(f->adj, &p);
    expect_none(f, in_cycle(fx_usage("d1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, NOV05 + 30 * DAY), "2026-12"));
    expect_cor(f, in_cycle(fx_usage("d2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, NOV05 + 30 * DAY), "2026-12"),
               "COR-d2", AJ_REASON_DUPLICATE_USAGE, 0, NULL);
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-12", P_NOV + 30 * DAY, P_NOV + 61 * DAY), AJ_E_OK);
    assert_int_equal(f->inv[2].status, AJ_INV_HELD);
    assert_non_null(strstr(f->inv[2].status_reason, "materiality amount"));
}

/* A reviewer's release (docs/invoice.md "Review"): as it is, the same invoice RELEASED; with
 * every correction flagged, revision 2 billed at the legacy amounts, entries merged per line,
 * reason and sign; a credit line stays. Only a HELD invoice can be released. */
static void test_review_release(void **state) {
    (void)state;
    aj_invoice_line lines[3];
    aj_invoice_adjustment adjs[4];
    aj_invoice inv;
    memset(lines, 0, sizeof(lines));
    memset(&inv, 0, sizeof(inv));
    snprintf(lines[0].line_id, sizeof(lines[0].line_id), "USAGE/VOICE/LOCAL");
    lines[0].legacy_amount = 100000;
    lines[0].corrected_amount = 70000;
    lines[0].billed_amount = 100000 - 20000 + 5000;   /* the APPLY and HOLD entries; FLAG not billed */
    snprintf(lines[1].line_id, sizeof(lines[1].line_id), "TAX/ICMS");
    lines[1].kind = AJ_LINE_TAX;
    lines[1].legacy_amount = 18000;
    lines[1].billed_amount = 18000 - 2700;
    snprintf(lines[2].line_id, sizeof(lines[2].line_id), "CREDIT/D-1");
    lines[2].kind = AJ_LINE_CREDIT;
    lines[2].legacy_amount = lines[2].billed_amount = -10000;
    adjs[0] = (aj_invoice_adjustment){0, AJ_REASON_RATE_MISMATCH, AJ_DISP_APPLY, 2, -20000};
    adjs[1] = (aj_invoice_adjustment){0, AJ_REASON_RATE_MISMATCH, AJ_DISP_FLAG, 1, -15000};
    adjs[2] = (aj_invoice_adjustment){0, AJ_REASON_WRONG_ZONE, AJ_DISP_HOLD, 1, 5000};
    adjs[3] = (aj_invoice_adjustment){1, AJ_ADJ_TAX_BASE, AJ_DISP_APPLY, 1, -2700};
    snprintf(inv.invoice_id, sizeof(inv.invoice_id), "INV-ACC1-2026-10-r1");
    memcpy(inv.account, "ACC1", 5);
    memcpy(inv.cycle_id, "2026-10", 8);
    inv.revision = 1;
    inv.status = AJ_INV_ISSUED;
    inv.lines = lines;
    inv.n_lines = 3;
    inv.adjustments = adjs;
    inv.n_adjustments = 4;
    inv.corrected_total = 100000 - 15000 + 15300 - 10000;
    assert_int_equal(aj_invoice_review_release(&inv, AJ_RELEASE_AS_IS, "ana", NULL), AJ_E_ARG);   /* not held */

    inv.status = AJ_INV_HELD;
    snprintf(inv.status_reason, sizeof(inv.status_reason), "1 correction(s) with disposition HOLD");
    aj_invoice same = inv;
    assert_int_equal(aj_invoice_review_release(&same, AJ_RELEASE_AS_IS, "ana", "checked"), AJ_E_OK);
    assert_int_equal(same.status, AJ_INV_RELEASED);
    assert_string_equal(same.invoice_id, "INV-ACC1-2026-10-r1");
    assert_int_equal(same.corrected_total, inv.corrected_total);
    assert_int_equal(same.n_adjustments, 4);
    assert_string_equal(same.status_reason,
                        "released as it is by ana: checked; held for: 1 correction(s) with disposition HOLD");

    assert_int_equal(aj_invoice_review_release(&inv, AJ_RELEASE_FLAG, "bob", ""), AJ_E_OK);
    assert_int_equal(inv.status, AJ_INV_RELEASED);
    assert_int_equal(inv.revision, 2);
    assert_string_equal(inv.invoice_id, "INV-ACC1-2026-10-r2");
    /* RATE_MISMATCH's APPLY and FLAG entries merge: one FLAG of 3 corrections, -35000. */
    assert_int_equal(inv.n_adjustments, 3);
    assert_int_equal(adjs[0].disposition, AJ_DISP_FLAG);
    assert_int_equal(adjs[0].count, 3);
    assert_int_equal(adjs[0].delta, -35000);
    assert_int_equal(adjs[1].reason, AJ_REASON_WRONG_ZONE);
    assert_int_equal(adjs[1].disposition, AJ_DISP_FLAG);
    assert_int_equal(adjs[2].reason, AJ_ADJ_TAX_BASE);
    assert_int_equal(adjs[2].disposition, AJ_DISP_FLAG);
    for (int i = 0; i < 3; i++) assert_int_equal(lines[i].billed_amount, lines[i].legacy_amount);
    assert_int_equal(inv.legacy_total, 100000 + 18000 - 10000);
    assert_int_equal(inv.corrected_total, inv.legacy_total);
    assert_int_equal(inv.amount_due, inv.legacy_total);
    assert_int_equal(inv.overcharge_removed, 0);
    assert_int_equal(inv.undercharge_added, 0);
    assert_int_equal(inv.flagged_overcharge, 35000 + 2700);
    assert_int_equal(inv.flagged_undercharge, 5000);
    assert_int_equal(inv.tax_total, 18000);
    assert_int_equal(inv.credit_total, -10000);
    assert_int_equal(inv.n_reasons, 2);
    assert_int_equal(inv.reasons[0].applied, 0);
    assert_non_null(strstr(inv.status_reason, "released with every correction flagged by bob; held for: "));
}

/* ---- one-time charges (docs/rating.md "One-time charges") ---- */

/* ---- backdated amendments (docs/rating.md, "Backdated amendments") ---- */

/* The line of inv with this id, or NULL. */
static const aj_invoice_line *line_of(const aj_invoice *inv, const char *id) {
    for (size_t i = 0; i < inv->n_lines; i++)
        if (strcmp(inv->lines[i].line_id, id) == 0) return &inv->lines[i];
    return NULL;
}

/* October rated and invoiced with v1 (0.12/min): a on Oct 5, b on Oct 20, both right. */
static void october_invoiced(fx *f) {
    fx_no_lines(base(f, 0));
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    expect_none(f, fx_usage("b", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT20));
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_inv, 1);
    assert_int_equal(f->inv[0].corrected_total, 188000);
}

/* The amendment of b (v2 from Oct 15, 0.10/min: 42 x 100000 / 60 + 10000 = 80000) on the
 * next invoice, after november_record brought the next event. */
static void expect_b_amended(fx *f, int first) {
    const aj_correction *c = &f->cor[first];
    check_cor(c, "COR-b/A1", AJ_REASON_CONTRACT_AMENDED, 94000, 80000,
              "contract CT-1 v2, effective from 2026-10-15T00:00:00Z, arrived after this record was rated with v1: "
              "0.094000 becomes 0.080000");
    assert_int_equal(c->contract_version, 2);
    assert_int_equal(c->kind, AJ_KIND_USAGE);
    assert_string_equal(c->record_id, "b");
    assert_string_equal(c->cycle_id, "2026-10");
    assert_true(c->late);
    assert_string_equal(c->invoice_id, "INV-ACC1-2026-10-r1");
    assert_string_equal(c->invoice_line, "LATE_USAGE/INV-ACC1-2026-10-r1/VOICE");
    assert_int_equal(c->disposition, AJ_DISP_APPLY);
    assert_string_equal(c->source.origin, "cdr.usage");
    assert_int_equal(c->source.offset, 1);   /* b's own position */
}

/* November: one record rated with v2, then its close; the invoice carries the amendment. */
static void november_invoiced(fx *f) {
    aj_err rc = feed_usage(f, in_cycle(fx_usage("n1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 80000, NOV05), "2026-11"));
    if (rc) fail_msg("n1: %s (%s)", aj_err_name(rc), f->detail);
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-11", P_NOV, P_DEC), AJ_E_OK);
    assert_int_equal(f->n_inv, 2);
    const aj_invoice *inv = &f->inv[1];
    assert_string_equal(inv->invoice_id, "INV-ACC1-2026-11-r1");
    const aj_invoice_line *l = line_of(inv, "LATE_USAGE/INV-ACC1-2026-10-r1/VOICE");
    assert_non_null(l);
    assert_string_equal(l->refers_to, "INV-ACC1-2026-10-r1");
    assert_int_equal(l->records, 0);
    assert_int_equal(l->legacy_amount, 0);
    assert_int_equal(l->corrected_amount, -14000);
    assert_int_equal(l->billed_amount, -14000);
    assert_int_equal(inv->legacy_total, 80000);
    assert_int_equal(inv->overcharge_removed, 14000);
    assert_int_equal(inv->corrected_total, 66000);
    assert_int_equal(inv->legacy_total - inv->overcharge_removed + inv->undercharge_added, inv->corrected_total);
    /* One adjustment entry on the line: CONTRACT_AMENDED, APPLY, one correction. */
    int found = 0;
    for (size_t i = 0; i < inv->n_adjustments; i++)
        if (strcmp(inv->lines[inv->adjustments[i].line].line_id, l->line_id) == 0) {
            assert_int_equal(inv->adjustments[i].reason, AJ_REASON_CONTRACT_AMENDED);
            assert_int_equal(inv->adjustments[i].count, 1);
            assert_int_equal(inv->adjustments[i].delta, -14000);
            found++;
        }
    assert_int_equal(found, 1);
}

static void test_backdated_amendment_on_next_invoice(void **state) {
    fx *f = *state;
    october_invoiced(f);
    /* v2 arrives after October was invoiced, effective from Oct 15: backdated. */
    aj_contract *v2 = fx_contract(2, OCT15, INT64_MAX, 100000);
    fx_no_lines(v2);
    put(f, v2);
    assert_int_equal(aj_contract_store_backdated(f->store), 1);
    assert_int_equal(f->n_cor, 0);
    /* The next event applies it first: b (Oct 20) is v2's now; a (Oct 5) is still v1's. */
    int before = f->n_cor;
    november_invoiced(f);
    assert_int_equal(f->n_cor, before + 1);
    expect_b_amended(f, before);
    assert_int_equal(aj_adjust_get_stats(f->adj)->amended, 1);
    assert_int_equal(aj_adjust_get_stats(f->adj)->by_reason[AJ_REASON_CONTRACT_AMENDED], 1);
    /* The emitted invoice was not emitted again, and the amendment is on exactly one invoice:
     * December's has no LATE_ line. */
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-12", P_DEC, P_DEC + 31 * DAY), AJ_E_OK);
    assert_int_equal(f->n_inv, 3);
    for (size_t i = 0; i < f->inv[2].n_lines; i++) assert_int_not_equal(f->inv[2].lines[i].kind, AJ_LINE_LATE_USAGE);
    assert_int_equal(f->n_cor, before + 1);
}

/* Saved before the amendment, restored by a process whose contract store already has it (read
 * from the contract topic at start, so not counted as backdated): the same correction. */
static void test_backdated_amendment_after_restore(void **state) {
    fx *f = *state;
    october_invoiced(f);
    aj_bytes saved = {0};
    assert_int_equal(aj_adjust_save(f->adj, &saved), AJ_E_OK);
    aj_adjust_destroy(f->adj);
    aj_contract_store_destroy(f->store);
    assert_non_null(f->store = aj_contract_store_create());
    fx_no_lines(base(f, 0));
    aj_contract *v2 = fx_contract(2, OCT15, INT64_MAX, 100000);
    fx_no_lines(v2);
    put(f, v2);
    assert_int_equal(aj_contract_store_backdated(f->store), 0);
    aj_adjust_out out = {f, on_correction, on_invoice};
    assert_non_null(f->adj = aj_adjust_create(f->store, &out));
    assert_int_equal(aj_adjust_load(f->adj, saved.data, saved.len), AJ_E_OK);
    aj_bytes_free(&saved);
    int before = f->n_cor;
    november_invoiced(f);
    assert_int_equal(f->n_cor, before + 1);
    expect_b_amended(f, before);
}

/* A termination backdated into the open cycle: the records after it cost nothing, on their own
 * line of the invoice still to come; a duplicate stays a duplicate; the allowance re-rated. */
static void test_backdated_termination_open_cycle(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, 0));
    expect_none(f, fx_usage("t1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    expect_none(f, fx_usage("t2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT21));
    expect_cor(f, fx_usage("t2", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT21), "COR-t2#2",
               AJ_REASON_DUPLICATE_USAGE, 0, NULL);
    aj_contract *v2 = fx_contract(2, OCT20, INT64_MAX, 120000);
    v2->status = AJ_CONTRACT_TERMINATED;
    put(f, v2);
    int before = f->n_cor;
    /* t3 on Oct 6 is v1's and right; before it, t2 is re-rated to 0. */
    assert_int_equal(feed_usage(f, fx_usage("t3", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT06_PEAK)), AJ_E_OK);
    const aj_correction *c = &f->cor[before];
    check_cor(c, "COR-t2/A1", AJ_REASON_CONTRACT_AMENDED, 94000, 0, "v2 (terminated), effective from 2026-10-20T00:00:00Z");
    assert_string_equal(c->record_id, "t2");
    assert_int_equal(c->legacy_amount, 94000);
    assert_false(c->late);
    assert_string_equal(c->invoice_id, "INV-ACC1-2026-10-r1");
    assert_string_equal(c->invoice_line, "USAGE/VOICE/NATIONAL");
    assert_int_equal(c->disposition, AJ_DISP_APPLY);
    assert_int_equal(f->n_cor, before + 1);
    assert_int_equal(feed_close(f), AJ_E_OK);
    const aj_invoice *inv = &f->inv[0];
    const aj_invoice_line *l = line_of(inv, "USAGE/VOICE/NATIONAL");
    assert_non_null(l);
    assert_int_equal(l->records, 4);
    assert_int_equal(l->legacy_amount, 4 * 94000);
    /* t1 and t3 at 94000, t2 0 (amended), its duplicate 0. */
    assert_int_equal(l->corrected_amount, 2 * 94000);
    assert_int_equal(l->billed_amount, 2 * 94000);
    assert_int_equal(inv->corrected_total, 2 * 94000);
    assert_int_equal(inv->legacy_total - inv->overcharge_removed + inv->undercharge_added, inv->corrected_total);
}

/* A cycle whose log is over a piece (1 MiB): saved in pieces, restored whole. */
static void test_big_log_restore(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, 0));
    for (int i = 0; i < 20000; i++) {
        char id[32];
        snprintf(id, sizeof(id), "big-%05d", i);
        expect_none(f, fx_usage(id, AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05 + i * 1000LL));
    }
    aj_bytes saved = {0}, again = {0};
    assert_int_equal(aj_adjust_save(f->adj, &saved), AJ_E_OK);
    assert_true(saved.len > (1u << 20));
    aj_adjust_out out = {f, on_correction, on_invoice};
    aj_adjust *b = aj_adjust_create(f->store, &out);
    assert_non_null(b);
    assert_int_equal(aj_adjust_load(b, saved.data, saved.len), AJ_E_OK);
    assert_int_equal(aj_adjust_save(b, &again), AJ_E_OK);
    assert_int_equal(again.len, saved.len);
    /* Cut inside the second piece: refused, not misread. */
    aj_adjust *c = aj_adjust_create(f->store, &out);
    assert_non_null(c);
    assert_int_not_equal(aj_adjust_load(c, saved.data, saved.len - 100), AJ_E_OK);
    aj_adjust_destroy(c);
    aj_adjust_destroy(b);
    aj_bytes_free(&saved);
    aj_bytes_free(&again);
}

/* policy.rerate_amendments = false: no log, so the amendment only applies from its arrival. */
static void test_backdated_amendment_rerate_off(void **state) {
    fx *f = *state;
    aj_policy p;
    aj_policy_default(&p);
    p.rerate = 0;
    aj_adjust_set_policy(f->adj, &p);
    october_invoiced(f);
    aj_contract *v2 = fx_contract(2, OCT15, INT64_MAX, 100000);
    fx_no_lines(v2);
    put(f, v2);
    assert_int_equal(aj_contract_store_backdated(f->store), 1);
    expect_none(f, in_cycle(fx_usage("n1", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 80000, NOV05), "2026-11"));
    assert_int_equal(f->n_cor, 0);
    assert_int_equal(aj_adjust_get_stats(f->adj)->amended, 0);
}

/* An amendment that changes nothing the account was rated at (it starts after every record)
 * is not backdated; one that is, but keeps the prices, corrects nothing. */
static void test_amendment_without_change(void **state) {
    fx *f = *state;
    fx_no_lines(base(f, 0));
    expect_none(f, fx_usage("a", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    put(f, fx_contract(2, OCT20, INT64_MAX, 100000));
    assert_int_equal(aj_contract_store_backdated(f->store), 0);
    put(f, fx_contract(3, OCT05 - DAY, OCT20, 120000));
    assert_int_equal(aj_contract_store_backdated(f->store), 1);
    expect_none(f, fx_usage("b", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT06_PEAK));
    assert_int_equal(f->n_cor, 0);
    assert_int_equal(aj_adjust_get_stats(f->adj)->amended, 0);
}

static aj_err feed_one_time(fx *f, aj_one_time o) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_ONE_TIME;
    ev.pos = (aj_position){"cdr.usage", 1, f->offset++};
    ev.u.one_time = o;
    return aj_adjust_event(f->adj, &ev, f->detail, sizeof(f->detail));
}

static aj_one_time on_line(aj_one_time o, const char *line) {
    snprintf(o.subscriber, sizeof(o.subscriber), "%s", line);
    return o;
}

/* Feeds o, expects it accepted with no correction, or with exactly one as described. */
static const aj_correction *expect_otc(fx *f, aj_one_time o, const char *id, aj_reason reason, aj_money corrected,
                                       const char *hyp) {
    int before = f->n_cor;
    aj_err rc = feed_one_time(f, o);
    if (rc) fail_msg("%s: %s (%s)", o.record_id, aj_err_name(rc), f->detail);
    if (!id) {
        if (f->n_cor != before) fail_msg("%s: unexpected %s", o.record_id, f->cor[f->n_cor - 1].hypothesis);
        return NULL;
    }
    if (f->n_cor != before + 1) fail_msg("%s: %d corrections, want 1", o.record_id, f->n_cor - before);
    const aj_correction *c = &f->cor[f->n_cor - 1];
    check_cor(c, id, reason, o.legacy_amount, corrected, hyp);
    assert_int_equal(c->kind, AJ_KIND_ONE_TIME);
    assert_int_equal(c->service, AJ_SERVICE__COUNT);
    assert_string_equal(c->record_id, o.record_id);
    assert_string_equal(c->tariff_code, "OTC");
    return c;
}

/* v1 (Jan 1 to Oct 15): ACTIVATION 49.90, SIM_SWAP 25.00; v2 (Oct 15 on): SIM_SWAP 20.00. No
 * inventory (no MRC_MISSING at the close). */
static void otc_contracts(fx *f) {
    aj_contract *v1 = fx_contract(1, JAN1, OCT15, 120000), *v2 = fx_contract(2, OCT15, INT64_MAX, 120000);
    fx_no_lines(v1);
    fx_no_lines(v2);
    fx_add_otc(v1, "ACTIVATION", "Line activation", 49900000);
    fx_add_otc(v1, "SIM_SWAP", "SIM card replacement", 25000000);
    fx_add_otc(v2, "ACTIVATION", "Line activation", 49900000);
    fx_add_otc(v2, "SIM_SWAP", "SIM card replacement", 20000000);
    put(f, v1);
    put(f, v2);
}

static void test_one_time_reasons(void **state) {
    fx *f = *state;
    otc_contracts(f);
    /* The contract's price: no correction. 3 SIM cards at 25.00 = 75.00, exact. */
    expect_otc(f, fx_one_time("a", "ACTIVATION", 1, 49900000, OCT05), NULL, 0, 0, NULL);
    expect_otc(f, fx_one_time("b", "SIM_SWAP", 3, 75000000, OCT05), NULL, 0, 0, NULL);
    /* After Oct 15 the price is v2's: 3 x 20.00 = 60.00; legacy kept v1's 75.00. */
    const aj_correction *c = expect_otc(f, on_line(fx_one_time("c", "SIM_SWAP", 3, 75000000, OCT20), "ACC1-L1"),
                                        "COR-c", AJ_REASON_OTC_PRICE_MISMATCH, 60000000, "3 x 20.000000");
    assert_int_equal(c->delta, -15000000);
    assert_int_equal(c->contract_version, 2);
    assert_int_equal(c->trace.price, 20000000);
    assert_int_equal(c->trace.quantity, 3);
    assert_string_equal(c->invoice_line, "ONE_TIME/SIM_SWAP");
    assert_int_equal(c->disposition, AJ_DISP_APPLY);
    /* An undercharge: 1 activation billed 39.90 (FLAG by the default policy). */
    c = expect_otc(f, on_line(fx_one_time("g", "ACTIVATION", 1, 39900000, OCT05), "ACC1-L4"), "COR-g",
                   AJ_REASON_OTC_PRICE_MISMATCH, 49900000, NULL);
    assert_int_equal(c->disposition, AJ_DISP_FLAG);
    /* The same record delivered again: charged once. */
    expect_otc(f, fx_one_time("a", "ACTIVATION", 1, 49900000, OCT05), "COR-a#2", AJ_REASON_OTC_DUPLICATE, 0,
               "occurrence 2");
    /* The same code for the same line under another id. */
    expect_otc(f, fx_one_time("d", "ACTIVATION", 1, 49900000, OCT06_PEAK), "COR-d", AJ_REASON_OTC_DUPLICATE, 0,
               "already charged to line ACC1-L0");
    /* A code neither version lists. */
    expect_otc(f, on_line(fx_one_time("e", "ROAMING_PACK", 1, 10000000, OCT05), "ACC1-L2"), "COR-e",
               AJ_REASON_OTC_NOT_IN_CONTRACT, 0, "has no one-time charge ROAMING_PACK");
    /* Zero units, charged nothing: right. */
    expect_otc(f, on_line(fx_one_time("z", "ACTIVATION", 0, 0, OCT05), "ACC1-L3"), NULL, 0, 0, NULL);
    assert_int_equal(aj_adjust_get_stats(f->adj)->one_time, 8);
    assert_int_equal(aj_adjust_get_stats(f->adj)->by_reason[AJ_REASON_OTC_DUPLICATE], 2);

    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->n_inv, 1);
    const aj_invoice *inv = &f->inv[0];
    const aj_invoice_line *act = find_line(inv, "ONE_TIME/ACTIVATION");
    assert_int_equal(act->kind, AJ_LINE_ONE_TIME);
    assert_int_equal(act->service, AJ_SERVICE__COUNT);
    assert_string_equal(act->item, "ACTIVATION");
    assert_string_equal(act->description, "One-time charge ACTIVATION");
    assert_int_equal(act->records, 5);    /* a, g, a again, d, z */
    assert_int_equal(act->quantity, 4);
    assert_int_equal(act->legacy_amount, 49900000 * 3 + 39900000);
    assert_int_equal(act->corrected_amount, 49900000 * 2);
    /* the duplicates removed (APPLY), the undercharge only flagged */
    assert_int_equal(act->billed_amount, 49900000 + 39900000);
    assert_int_equal(act->corrections, 3);
    const aj_invoice_line *sim = find_line(inv, "ONE_TIME/SIM_SWAP");
    assert_int_equal(sim->quantity, 6);
    assert_int_equal(sim->legacy_amount, 150000000);
    assert_int_equal(sim->billed_amount, 135000000);
    const aj_invoice_line *roam = find_line(inv, "ONE_TIME/ROAMING_PACK");
    assert_int_equal(roam->billed_amount, 0);
    /* the invoice's sums hold */
    aj_money legacy = 0, billed = 0;
    for (size_t i = 0; i < inv->n_lines; i++)
        if (!inv->lines[i].memo) {
            legacy += inv->lines[i].legacy_amount;
            billed += inv->lines[i].billed_amount;
        }
    assert_int_equal(inv->legacy_total, legacy);
    assert_int_equal(inv->corrected_total, billed);
    assert_int_equal(inv->overcharge_removed, 15000000 + 2 * 49900000 + 10000000);
    assert_int_equal(inv->flagged_undercharge, 10000000);
    /* ONE_TIME lines follow RECURRING and precede TAX lines */
    for (size_t i = 1; i < inv->n_lines; i++) assert_true(inv->lines[i - 1].kind <= inv->lines[i].kind);
}

/* No contract in force, termination, unknown accounts and currencies: as for usage. */
static void test_one_time_outside_the_contract(void **state) {
    fx *f = *state;
    aj_contract *v1 = fx_contract(1, OCT10, OCT20, 120000), *v2 = fx_contract(2, OCT20, INT64_MAX, 120000);
    fx_no_lines(v1);
    fx_no_lines(v2);
    fx_add_otc(v1, "ACTIVATION", "", 49900000);
    fx_add_otc(v2, "ACTIVATION", "", 49900000);
    v2->status = AJ_CONTRACT_TERMINATED;
    put(f, v1);
    put(f, v2);
    expect_otc(f, fx_one_time("a", "ACTIVATION", 1, 49900000, OCT05), "COR-a", AJ_REASON_NO_CONTRACT, 0,
               "no contract version was in force");
    expect_otc(f, on_line(fx_one_time("b", "ACTIVATION", 1, 49900000, OCT21), "ACC1-L1"), "COR-b",
               AJ_REASON_USAGE_AFTER_TERMINATION, 0, "terminated");
    /* A duplicate is named before the missing contract. */
    expect_otc(f, fx_one_time("a", "ACTIVATION", 1, 49900000, OCT05), "COR-a#2", AJ_REASON_OTC_DUPLICATE, 0, NULL);
    int before = f->n_cor;
    aj_one_time o = fx_one_time("x", "ACTIVATION", 1, 49900000, OCT15);
    memcpy(o.account, "ACC9", 5);
    assert_int_equal(feed_one_time(f, o), AJ_E_NO_CONTRACT);
    o = fx_one_time("y", "ACTIVATION", 1, 49900000, OCT15);
    memcpy(o.currency, "USD", 4);
    assert_int_equal(feed_one_time(f, o), AJ_E_CURRENCY_MISMATCH);
    assert_non_null(strstr(f->detail, "USD"));
    assert_int_equal(f->n_cor, before);
    assert_int_equal(aj_adjust_get_stats(f->adj)->one_time, 3);
}

/* Clause "Taxes": a one-time charge is taxed by the taxes covering every service only. */
static void test_one_time_taxes(void **state) {
    fx *f = *state;
    aj_contract *c = fx_contract(1, JAN1, INT64_MAX, 120000);
    fx_no_lines(c);
    fx_add_otc(c, "ACTIVATION", "", 49900000);
    c->taxes = calloc(2, sizeof(*c->taxes));
    c->taxes[0] = (aj_tax){fx_dup("IVA"), 0xf, 230000, AJ_TAX_EXCLUSIVE};
    c->taxes[1] = (aj_tax){fx_dup("VOZ"), 1u << AJ_SERVICE_VOICE, 100000, AJ_TAX_EXCLUSIVE};
    c->n_taxes = 2;
    put(f, c);
    /* Billed 59.90 for a 49.90 activation: 10.00 removed. */
    expect_otc(f, fx_one_time("a", "ACTIVATION", 1, 59900000, OCT05), "COR-a", AJ_REASON_OTC_PRICE_MISMATCH, 49900000,
               NULL);
    /* VOICE 37 s NATIONAL at 0.12/min, 30/6: 42 s = 0.084 + fee 0.01 = 0.094. */
    expect_none(f, fx_usage("u", AJ_SERVICE_VOICE, NATIONAL_NR, 37, 94000, OCT05));
    assert_int_equal(feed_close(f), AJ_E_OK);
    const aj_invoice *inv = &f->inv[0];
    /* IVA on 59.994 legacy (59.90 + 0.094): 13.79862 -> 13.80; on the billed 49.994: 11.49862
     * -> 11.50. VOZ on the VOICE usage alone, 0.094: 0.0094 -> 0.01. */
    const aj_invoice_line *iva = find_line(inv, "TAX/IVA"), *voz = find_line(inv, "TAX/VOZ");
    assert_int_equal(iva->quantity, 49994000);
    assert_int_equal(iva->legacy_amount, 13800000);
    assert_int_equal(iva->billed_amount, 11500000);
    assert_int_equal(voz->quantity, 94000);
    assert_int_equal(voz->legacy_amount, 10000);
    assert_int_equal(voz->billed_amount, 10000);
    assert_int_equal(inv->amount_due, 49994000 + 11500000 + 10000);
}

/* Clause "Late usage": a one-time charge of an invoiced cycle goes on the next invoice. */
static void test_one_time_late(void **state) {
    fx *f = *state;
    otc_contracts(f);
    expect_otc(f, fx_one_time("a", "ACTIVATION", 1, 49900000, OCT05), NULL, 0, 0, NULL);
    assert_int_equal(feed_close(f), AJ_E_OK);
    const aj_correction *c = expect_otc(f, on_line(fx_one_time("b", "SIM_SWAP", 1, 25000000, OCT20), "ACC1-L1"),
                                        "COR-b", AJ_REASON_OTC_PRICE_MISMATCH, 20000000, NULL);
    assert_true(c->late);
    assert_string_equal(c->invoice_id, "INV-ACC1-2026-10-r1");
    assert_string_equal(c->invoice_line, "LATE_ONE_TIME/INV-ACC1-2026-10-r1");
    /* The late activation for the same line is still a duplicate: the cycle's state is kept. */
    expect_otc(f, fx_one_time("a2", "ACTIVATION", 1, 49900000, OCT06_PEAK), "COR-a2", AJ_REASON_OTC_DUPLICATE, 0, NULL);
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-11", P_NOV, P_DEC), AJ_E_OK);
    const aj_invoice_line *late = find_line(&f->inv[1], "LATE_ONE_TIME/INV-ACC1-2026-10-r1");
    assert_int_equal(late->kind, AJ_LINE_LATE_ONE_TIME);
    assert_string_equal(late->refers_to, "INV-ACC1-2026-10-r1");
    assert_int_equal(late->records, 2);
    assert_int_equal(late->legacy_amount, 25000000 + 49900000);
    assert_int_equal(late->billed_amount, 20000000);
    /* beyond the delay period: dead-lettered as LATE_USAGE */
    assert_int_equal(feed_close_cycle(f, "ACC1", "2026-12", P_DEC, P_DEC + 31 * DAY), AJ_E_OK);
    assert_int_equal(feed_one_time(f, fx_one_time("c", "SIM_SWAP", 1, 25000000, OCT20)), AJ_E_LATE_USAGE);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_right_charge_no_correction),
        T(test_reason_duplicate_usage),
        T(test_reason_usage_after_termination),
        T(test_reason_no_contract),
        T(test_reason_stale_contract_version),
        T(test_reason_wrong_zone),
        T(test_reason_wrong_time_band),
        T(test_reason_increment_rounding),
        T(test_reason_connect_fee),
        T(test_reason_tier_not_applied),
        T(test_reason_allowance_not_applied),
        T(test_reason_promotion_not_applied),
        T(test_reason_discount_not_applied),
        T(test_reason_min_max_charge),
        T(test_reason_rate_mismatch),
        T(test_reason_order),
        T(test_reason_order_promotion_before_discount),
        T(test_duplicate_does_not_consume_allowance),
        T(test_allowance_input_order_per_account_cycle),
        T(test_discount_cap_carried),
        T(test_rejected_record_changes_no_state),
        T(test_rejected_record_opens_no_cycle),
        T(test_recurring_reasons),
        T(test_recurring_duplicate_id),
        T(test_invoice_at_close),
        T(test_close_without_records),
        T(test_close_without_records_missing_line),
        T(test_late_usage_goes_on_next_invoice),
        T(test_dispute_credits),
        T(test_taxes_and_tax_mismatch),
        T(test_hold_and_materiality),
        T(test_one_time_reasons),
        T(test_one_time_outside_the_contract),
        T(test_one_time_taxes),
        T(test_one_time_late),
        T(test_backdated_amendment_on_next_invoice),
        T(test_backdated_amendment_after_restore),
        T(test_backdated_termination_open_cycle),
        T(test_amendment_without_change),
        T(test_backdated_amendment_rerate_off),
        T(test_big_log_restore),
        cmocka_unit_test(test_review_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
