/* test_replay_diff.c - the replay diff: which records change, the sums, the order and the exact money of its reports. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_replay.h"

static aj_correction cor(const char *record, const char *account, const char *zone, aj_reason reason,
                         aj_money legacy, aj_money corrected) {
    aj_correction c;
    memset(&c, 0, sizeof(c));
    snprintf(c.record_id, sizeof(c.record_id), "%s", record);
    snprintf(c.correction_id, sizeof(c.correction_id), "COR-%s", record);
    snprintf(c.account, sizeof(c.account), "%s", account);
    snprintf(c.invoice_id, sizeof(c.invoice_id), "INV-%s-2026-10-r1", account);
    snprintf(c.trace.zone, sizeof(c.trace.zone), "%s", zone);
    c.kind = AJ_KIND_USAGE;
    c.service = AJ_SERVICE_VOICE;
    c.reason = reason;
    c.legacy_amount = legacy;
    c.corrected_amount = corrected;
    c.delta = corrected - legacy;
    return c;
}

/* The report of d in one format, as a string (caller frees). Not inlined: inlined, gcc 12
 * loses track of open_memstream writing buf and warns that the text dangles
 * (-Wdangling-pointer, a false positive; test_render.c has the same). */
__attribute__((noinline)) static char *report(const aj_diff *d, int format) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (format == 0) aj_diff_print_text(d, f, 10);
    else if (format == 1) aj_diff_print_csv(d, f);
    else if (format == 2) aj_diff_print_json(d, f, 10);
    else aj_diff_print_html(d, f, 10, "t <&>");
    fclose(f);
    return buf;
}

static void test_same_corrections_no_change(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction a = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 1000000, 900000);
    assert_int_equal(aj_diff_add(d, 0, &a), AJ_E_OK);
    assert_int_equal(aj_diff_add(d, 1, &a), AJ_E_OK);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    assert_int_equal(aj_diff_records(d), 1);
    assert_int_equal(aj_diff_changed(d), 0);
    char *t = report(d, 0);
    assert_non_null(strstr(t, "No difference"));
    free(t);
    aj_diff_destroy(d);
}

/* A side without a correction charges the legacy amount; the reason there is NONE. */
static void test_one_sided_corrections(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction only_old = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 1000000, 900000);
    aj_correction only_new = cor("U2", "A1", "INTL", AJ_REASON_RATE_MISMATCH, 500000, 750050);
    assert_int_equal(aj_diff_add(d, 0, &only_old), AJ_E_OK);
    assert_int_equal(aj_diff_add(d, 1, &only_new), AJ_E_OK);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    assert_int_equal(aj_diff_changed(d), 2);
    char *csv = report(d, 1);
    assert_string_equal(csv,
                        "record_id,account,invoice_id,service,zone,old_reason,new_reason,old,new,change,old_micros,"
                        "new_micros,change_micros\n"
                        "U1,A1,INV-A1-2026-10-r1,VOICE,LOCAL,WRONG_ZONE,NONE,0.900000,1.000000,0.100000,900000,1000000,"
                        "100000\n"
                        "U2,A1,INV-A1-2026-10-r1,VOICE,INTL,NONE,RATE_MISMATCH,0.500000,0.750050,0.250050,500000,750050,"
                        "250050\n");
    free(csv);
    aj_diff_destroy(d);
}

/* Same amounts, another reason: a change of reason, no money moved. */
static void test_reason_only_change(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction a = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 1000000, 900000);
    aj_correction b = cor("U1", "A1", "LOCAL", AJ_REASON_RATE_MISMATCH, 1000000, 900000);
    aj_diff_add(d, 0, &a);
    aj_diff_add(d, 1, &b);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    assert_int_equal(aj_diff_changed(d), 1);
    char *j = report(d, 2);
    assert_non_null(strstr(j, "\"reason_changes\": 1,"));
    assert_non_null(strstr(j, "\"moved_micros\": 0,"));
    free(j);
    aj_diff_destroy(d);
}

/* The first correction of a record on a side counts; later ones (a redelivery) do not. */
static void test_first_per_id(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction a = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 1000000, 900000);
    aj_correction later = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 1000000, 1);
    aj_diff_add(d, 0, &a);
    aj_diff_add(d, 0, &later);
    aj_diff_add(d, 1, &a);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    assert_int_equal(aj_diff_changed(d), 0);
    aj_diff_destroy(d);
}

/* Sums per reason, zone and invoice; the largest by |change| then id; negative micro-units exact. */
static void test_sums_order_and_money(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction c[] = {
        cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 100, 50),   /* baseline */
        cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 100, 0),    /* replay: -50 */
        cor("U2", "A2", "LOCAL", AJ_REASON_WRONG_ZONE, 100, 200),  /* replay only: +100 */
        cor("U3", "A2", "MOBILE", AJ_REASON_CONNECT_FEE, 100, 50), /* replay only: -50 */
    };
    aj_diff_add(d, 0, &c[0]);
    aj_diff_add(d, 1, &c[1]);
    aj_diff_add(d, 1, &c[2]);
    aj_diff_add(d, 1, &c[3]);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    char *t = report(d, 0);
    assert_non_null(strstr(t, "Money moved:       0.000200 (sum of |change|), net 0.000000\n"));
    /* WRONG_ZONE: U1 (-50) and U2 (+100); old 50+100, new 0+200. */
    assert_non_null(strstr(t, "  WRONG_ZONE                      2           0.000150           0.000200           0.000050\n"));
    /* Largest: U2 (100) first, then U1 and U3 (50 each) by id. */
    char *u2 = strstr(t, "\n  U2 "), *u1 = strstr(t, "\n  U1 "), *u3 = strstr(t, "\n  U3 ");
    assert_non_null(u2);
    assert_true(u2 < u1 && u1 < u3);
    assert_non_null(strstr(t, "-0.000050"));
    free(t);
    char *j = report(d, 2);
    assert_non_null(strstr(j, "{\"account\": \"A2\", \"invoice_id\": \"INV-A2-2026-10-r1\", \"records\": 2, "
                              "\"old_micros\": 200, \"new_micros\": 250, \"change_micros\": 50}"));
    free(j);
    aj_diff_destroy(d);
}

static void test_micros_exact(void **state) {
    (void)state;
    char b[32];
    assert_string_equal(aj_micros(-50, b, sizeof(b)), "-0.000050");
    assert_string_equal(aj_micros(INT64_MAX, b, sizeof(b)), "9223372036854.775807");
    assert_string_equal(aj_micros(INT64_MIN, b, sizeof(b)), "-9223372036854.775808");
    assert_string_equal(aj_micros(1230000, b, sizeof(b)), "1.230000");
}

static void test_overflow_is_an_error(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction a = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 0, -INT64_MAX);
    aj_correction b = cor("U1", "A1", "LOCAL", AJ_REASON_WRONG_ZONE, 0, INT64_MAX);
    aj_diff_add(d, 0, &a);
    aj_diff_add(d, 1, &b);
    assert_int_equal(aj_diff_finish(d), AJ_E_OVERFLOW);
    aj_diff_destroy(d);
}

/* The page escapes what it shows and loads nothing. */
static void test_html_standalone(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_correction a = cor("U<1>", "A&1", "LOCAL", AJ_REASON_WRONG_ZONE, 100, 50);
    aj_diff_add(d, 1, &a);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    char *h = report(d, 3);
    assert_non_null(strstr(h, "<title>t &lt;&amp;&gt;</title>"));
    assert_non_null(strstr(h, "U&lt;1&gt;"));
    assert_null(strstr(h, "U<1>"));
    assert_null(strstr(h, "http"));
    assert_null(strstr(h, "<script"));
    assert_non_null(strstr(h, "<span id=\"records-changed\">1</span>"));
    assert_non_null(strstr(h, "<rect "));
    free(h);
    aj_diff_destroy(d);
}

static aj_invoice inv(const char *account, aj_money due) {
    aj_invoice v;
    memset(&v, 0, sizeof(v));
    snprintf(v.account, sizeof(v.account), "%s", account);
    snprintf(v.invoice_id, sizeof(v.invoice_id), "INV-%s-2026-10-r1", account);
    v.amount_due = due;
    return v;
}

/* Invoices: the replay's against the baseline's of the same id; those only in the baseline are
 * not compared (the replay did not reach their close). */
static void test_invoices(void **state) {
    (void)state;
    aj_diff *d = aj_diff_create();
    aj_invoice same = inv("A1", 1000000), old2 = inv("A2", 2000000), new2 = inv("A2", 1999950),
               only_new = inv("A3", 5), only_old = inv("A4", 7);
    aj_diff_add_invoice(d, 0, &same);
    aj_diff_add_invoice(d, 1, &same);
    aj_diff_add_invoice(d, 0, &old2);
    aj_diff_add_invoice(d, 1, &new2);
    aj_diff_add_invoice(d, 1, &only_new);
    aj_diff_add_invoice(d, 0, &only_old);
    assert_int_equal(aj_diff_finish(d), AJ_E_OK);
    assert_int_equal(aj_diff_invoices(d), 3);
    assert_int_equal(aj_diff_invoices_compared(d), 2);
    assert_int_equal(aj_diff_invoices_changed(d), 2);
    char *j = report(d, 2);
    assert_non_null(strstr(j, "\"invoice_changes\": [\n    {\"account\": \"A2\", \"invoice_id\": \"INV-A2-2026-10-r1\", "
                              "\"old_due_micros\": 2000000, \"new_due_micros\": 1999950, \"change_micros\": -50},\n"
                              "    {\"account\": \"A3\", \"invoice_id\": \"INV-A3-2026-10-r1\", \"old_due_micros\": null, "
                              "\"new_due_micros\": 5, \"change_micros\": null}\n  ]"));
    free(j);
    char *t = report(d, 0);
    assert_non_null(strstr(t, "Invoices:          3 emitted by the replay, 2 in the baseline too, 2 with another amount due\n"));
    free(t);
    aj_diff_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_corrections_no_change), cmocka_unit_test(test_one_sided_corrections),
        cmocka_unit_test(test_reason_only_change),         cmocka_unit_test(test_first_per_id),
        cmocka_unit_test(test_sums_order_and_money),       cmocka_unit_test(test_micros_exact),
        cmocka_unit_test(test_overflow_is_an_error),       cmocka_unit_test(test_html_standalone),
        cmocka_unit_test(test_invoices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
