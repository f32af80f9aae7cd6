/* test_adjust.c - corrections and their reasons, account-cycle invoices, rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "aj_adjust.h"
#include "aj_fixtures.h"

#define T0 1000000LL
#define T1 2000000LL

typedef struct fx {
    aj_contract_store *store;
    aj_adjust *adj;
    aj_correction last;
    int corrections;
    aj_invoice inv;
    int32_t versions[8];
    int invoices;
} fx;

static aj_err on_correction(void *opaque, const aj_correction *c) {
    fx *f = opaque;
    f->last = *c;
    f->corrections++;
    return AJ_E_OK;
}

static aj_err on_invoice(void *opaque, const aj_invoice *inv) {
    fx *f = opaque;
    f->inv = *inv;
    if (inv->n_versions) memcpy(f->versions, inv->versions, inv->n_versions * sizeof(int32_t));
    f->inv.versions = f->versions;
    f->invoices++;
    return AJ_E_OK;
}

static int setup(void **state) {
    char detail[256];
    fx *f = calloc(1, sizeof(*f));
    f->store = aj_contract_store_create();
    /* v1 NATIONAL 0.12/min until T1, v2 0.10/min from T1 */
    if (aj_contract_store_put(f->store, fx_contract(1, 0, T1, 120000), detail, sizeof(detail)) ||
        aj_contract_store_put(f->store, fx_contract(2, T1, INT64_MAX, 100000), detail, sizeof(detail)))
        return -1;
    aj_adjust_out out = {f, on_correction, on_invoice};
    f->adj = aj_adjust_create(f->store, &out);
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

static aj_err feed_usage(fx *f, aj_usage u) {
    aj_event ev;
    char detail[256];
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    ev.pos = (aj_position){"cdr.usage", 3, 42};
    ev.u.usage = u;
    return aj_adjust_event(f->adj, &ev, detail, sizeof(detail));
}

static aj_err feed_recurring(fx *f, const char *id, const char *line, aj_money legacy) {
    aj_event ev;
    char detail[256];
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_RECURRING;
    aj_recurring *r = &ev.u.recurring;
    snprintf(r->record_id, sizeof(r->record_id), "%s", id);
    memcpy(r->account, "ACC1", 5);
    snprintf(r->line_id, sizeof(r->line_id), "%s", line);
    r->service = AJ_SERVICE_VOICE;
    memcpy(r->cycle_id, "2026-10", 8);
    r->period_start_ms = T0;
    r->period_end_ms = T1 + 1000;
    r->legacy_amount = legacy;
    memcpy(r->currency, "BRL", 4);
    return aj_adjust_event(f->adj, &ev, detail, sizeof(detail));
}

static aj_err feed_close(fx *f) {
    aj_event ev;
    char detail[256];
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CYCLE_CLOSE;
    memcpy(ev.u.close.account, "ACC1", 5);
    memcpy(ev.u.close.cycle_id, "2026-10", 8);
    ev.u.close.period_start_ms = T0;
    ev.u.close.period_end_ms = T1 + 1000;
    return aj_adjust_event(f->adj, &ev, detail, sizeof(detail));
}

static void test_right_charge_no_correction(void **state) {
    fx *f = *state;
    /* 37 s national under v1: 0.084 + 0.01 */
    assert_int_equal(feed_usage(f, fx_usage("u1", AJ_SERVICE_VOICE, "+552133334444", 37, 94000, T0)), AJ_E_OK);
    assert_int_equal(f->corrections, 0);
}

static void test_reasons(void **state) {
    fx *f = *state;
    struct { aj_usage u; aj_reason want; aj_money corrected; const char *hyp; } cases[] = {
        /* after the amendment, billed at v1's 0.12 instead of v2's 0.10: 42 s -> 0.084+0.01 vs 0.07+0.01 */
        {fx_usage("s1", AJ_SERVICE_VOICE, "+552133334444", 37, 94000, T1), AJ_REASON_STALE_CONTRACT_VERSION, 80000, "version 1"},
        /* 37 s local billed 60/60: 0.09 instead of 42 s = 0.063 */
        {fx_usage("i1", AJ_SERVICE_VOICE, "+551131234567", 37, 90000, T0), AJ_REASON_WRONG_INCREMENT, 63000, "60/60 instead of 30/6"},
        /* a mobile number rated as LOCAL: 42 s at 0.09 = 0.063 instead of 0.21 + 0.02 */
        {fx_usage("z1", AJ_SERVICE_VOICE, "+5511912345678", 37, 63000, T0), AJ_REASON_WRONG_ZONE, 230000, "zone LOCAL instead of MOBILE"},
        /* national without its 0.01 fee (40 s: 37 s would also be 1/1 increments with the fee) */
        {fx_usage("f1", AJ_SERVICE_VOICE, "+552133334444", 40, 84000, T0), AJ_REASON_MISSING_CONNECT_FEE, 94000, "connect fee"},
        /* something else entirely */
        {fx_usage("p1", AJ_SERVICE_VOICE, "+552133334444", 37, 12345, T0), AJ_REASON_PRICE_MISMATCH, 94000, "no single hypothesis"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int before = f->corrections;
        assert_int_equal(feed_usage(f, cases[i].u), AJ_E_OK);
        assert_int_equal(f->corrections, before + 1);
        assert_string_equal(aj_reason_name(f->last.reason), aj_reason_name(cases[i].want));
        assert_int_equal(f->last.corrected_amount, cases[i].corrected);
        assert_int_equal(f->last.legacy_amount, cases[i].u.legacy_charge);
        assert_int_equal(f->last.delta, cases[i].corrected - cases[i].u.legacy_charge);
        if (!strstr(f->last.hypothesis, cases[i].hyp)) fail_msg("case %zu: hypothesis '%s'", i, f->last.hypothesis);
        char id[80];
        snprintf(id, sizeof(id), "COR-%s", cases[i].u.record_id);
        assert_string_equal(f->last.correction_id, id);
        assert_string_equal(f->last.source.origin, "cdr.usage");
        assert_int_equal(f->last.source.offset, 42);
    }
    assert_int_equal(f->last.contract_version, 1);
    const aj_adjust_stats *st = aj_adjust_get_stats(f->adj);
    assert_int_equal(st->corrections, 5);
    assert_int_equal(st->by_reason[AJ_REASON_WRONG_ZONE], 1);
    /* overcharges: 14000 + 27000 + 0 ...; undercharges: 167000 + 10000 + 81655 */
    assert_int_equal(st->overcharge, 14000 + 27000);
    assert_int_equal(st->undercharge, 167000 + 10000 + (94000 - 12345));
}

static void test_recurring_reasons(void **state) {
    fx *f = *state;
    assert_int_equal(feed_recurring(f, "rc0", "ACC1-L0", 49900000), AJ_E_OK);
    assert_int_equal(f->corrections, 0);
    assert_int_equal(feed_recurring(f, "rc1", "ACC1-L0", 59880000), AJ_E_OK);
    assert_int_equal(f->last.reason, AJ_REASON_RECURRING_PRICE);
    assert_int_equal(f->last.delta, -9980000);
    assert_int_equal(feed_recurring(f, "rc2", "ACC1-L9", 19900000), AJ_E_OK);
    assert_int_equal(f->last.reason, AJ_REASON_UNKNOWN_LINE);
    assert_int_equal(f->last.corrected_amount, 0);
    assert_int_equal(f->last.kind, AJ_KIND_RECURRING);
}

static void test_rejections_change_nothing(void **state) {
    fx *f = *state;
    aj_usage u = fx_usage("x1", AJ_SERVICE_VOICE, "+552133334444", 37, 1, T0);
    memcpy(u.currency, "USD", 4);
    assert_int_equal(feed_usage(f, u), AJ_E_CURRENCY_MISMATCH);
    u = fx_usage("x2", AJ_SERVICE_VOICE, "+552133334444", 37, 1, -5);
    assert_int_equal(feed_usage(f, u), AJ_E_NO_CONTRACT);
    u = fx_usage("x3", AJ_SERVICE_SMS, "+12125550100", 1, 1, T0);
    assert_int_equal(feed_usage(f, u), AJ_E_NO_RATE);
    assert_int_equal(f->corrections, 0);
    assert_int_equal(aj_adjust_open_cycles(f->adj), 0);
    assert_int_equal(aj_adjust_get_stats(f->adj)->usage, 0);
}

static void test_invoice_at_close(void **state) {
    fx *f = *state;
    assert_int_equal(feed_usage(f, fx_usage("a", AJ_SERVICE_VOICE, "+552133334444", 37, 94000, T0)), AJ_E_OK);
    assert_int_equal(feed_usage(f, fx_usage("b", AJ_SERVICE_VOICE, "+552133334444", 37, 94000, T1)), AJ_E_OK); /* stale */
    assert_int_equal(feed_usage(f, fx_usage("c", AJ_SERVICE_SMS, "+551131234567", 2, 100000, T0)), AJ_E_OK);
    assert_int_equal(feed_recurring(f, "r", "ACC1-L9", 19900000), AJ_E_OK);   /* unknown line */
    assert_int_equal(aj_adjust_open_cycles(f->adj), 1);
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->invoices, 1);
    const aj_invoice *inv = &f->inv;
    assert_string_equal(inv->invoice_id, "INV-ACC1-2026-10-r1");
    assert_int_equal(inv->n_versions, 2);
    assert_int_equal(inv->versions[0], 1);
    assert_int_equal(inv->versions[1], 2);
    assert_int_equal(inv->n_lines, 3);
    /* USAGE VOICE, USAGE SMS, RECURRING VOICE in that order */
    assert_int_equal(inv->lines[0].kind, AJ_KIND_USAGE);
    assert_int_equal(inv->lines[0].service, AJ_SERVICE_VOICE);
    assert_int_equal(inv->lines[0].records, 2);
    assert_int_equal(inv->lines[0].quantity, 74);
    assert_int_equal(inv->lines[0].legacy_amount, 188000);
    assert_int_equal(inv->lines[0].corrected_amount, 174000);
    assert_int_equal(inv->lines[0].corrections, 1);
    assert_int_equal(inv->lines[1].service, AJ_SERVICE_SMS);
    assert_int_equal(inv->lines[2].kind, AJ_KIND_RECURRING);
    assert_int_equal(inv->legacy_total, 188000 + 100000 + 19900000);
    assert_int_equal(inv->corrected_total, 174000 + 100000);
    assert_int_equal(inv->adjustment_total, inv->corrected_total - inv->legacy_total);
    assert_int_equal(inv->overcharge_removed, 14000 + 19900000);
    assert_int_equal(inv->undercharge_added, 0);
    assert_int_equal(inv->n_reasons, 2);
    assert_int_equal(inv->reasons[0].reason, AJ_REASON_STALE_CONTRACT_VERSION);
    assert_int_equal(inv->reasons[1].reason, AJ_REASON_UNKNOWN_LINE);
    assert_int_equal(inv->reasons[1].delta, -19900000);
    assert_int_equal(aj_adjust_open_cycles(f->adj), 0);

    /* After the close: late usage is refused, a second close emits nothing. */
    assert_int_equal(feed_usage(f, fx_usage("late", AJ_SERVICE_VOICE, "+552133334444", 37, 94000, T0)), AJ_E_LATE_USAGE);
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->invoices, 1);
    assert_int_equal(aj_adjust_get_stats(f->adj)->duplicate_closes, 1);
}

static void test_close_without_records(void **state) {
    fx *f = *state;
    assert_int_equal(feed_close(f), AJ_E_OK);
    assert_int_equal(f->invoices, 1);
    assert_int_equal(f->inv.n_lines, 0);
    assert_int_equal(f->inv.corrected_total, 0);
    assert_string_equal(f->inv.currency, "BRL");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_right_charge_no_correction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recurring_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invoice_at_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_without_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
