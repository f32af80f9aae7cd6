/* test_audit_report.c - the auditor's reports written out (cmd/aj_audit_render.c): text, CSV
 * and HTML from a hand-built report: exact and rounded amounts, quoting, escaping, ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_audit_report.h"

enum { C_KEY, C_CUR, C_N, C_AMT, C_PROSE, C_HUMAN, C_CSV, C__N };

static const aj_rep_col cols[C__N] = {
    {"key", "Key", AJ_REP_TEXT, AJ_REP_ALL},
    {"currency", "Currency", AJ_REP_TEXT, AJ_REP_ALL},
    {"n", "Count", AJ_REP_INT, AJ_REP_ALL},
    {"amt", "Amount", AJ_REP_MONEY, AJ_REP_ALL},
    {"prose", "Why", AJ_REP_TEXT, AJ_REP_PROSE},
    {"human", "Where", AJ_REP_TEXT, AJ_REP_HUMAN},
    {"csv_only", "Raw", AJ_REP_TEXT, AJ_REP_CSV},
};

/* A report of two sections: BRL (2 decimals) with a row and a total, JPY (0 decimals). */
static int setup(void **state) {
    aj_rep *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->title = strdup("Title & <b>");
    r->subtitle = strdup("sub");
    r->cols = cols;
    r->n_cols = C__N;
    aj_rep_section *s = aj_rep_section_add(r, "BRL section");
    assert_non_null(s);
    const char *row1[C__N] = {"A,\"b\"", "BRL", "1234", "-1234565000", "<script>x</script> & co", "human text",
                              "line1\nline2"};
    assert_non_null(aj_rep_row_add(r, s, row1, 0, 2));
    const char *tot[C__N] = {"Total", "BRL", "1234", "-9223372036854775807", NULL, NULL, NULL};
    assert_non_null(aj_rep_row_add(r, s, tot, 2, 2));
    s = aj_rep_section_add(r, "JPY section");
    assert_non_null(s);
    const char *row2[C__N] = {" edge ", "JPY", "7", "1500000", "", "", ""};
    assert_non_null(aj_rep_row_add(r, s, row2, 0, 0));
    r->charts[0].title = "By reason";
    r->charts[0].id = "chart-reason";
    assert_int_equal(aj_rep_bar_add(&r->charts[0], "WRONG_ZONE", 12, "net -1.00 BRL"), AJ_E_OK);
    assert_int_equal(aj_rep_bar_add(&r->charts[0], "CONNECT_FEE", 3, "net +0.50 BRL"), AJ_E_OK);
    r->notes = strdup("first note\nsecond <note>");
    *state = r;
    return 0;
}

static int teardown(void **state) {
    aj_rep_free(*state);
    aj_rep_free(NULL);   /* NULL-safe */
    free(*state);
    return 0;
}

typedef aj_err (*writer)(FILE *, const aj_rep *);

/* Not inlined: gcc -O3 loses track of open_memstream writing buf (see test_render.c). */
__attribute__((noinline)) static char *render(writer w, const aj_rep *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(w(f, r), AJ_E_OK);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

static void test_exact(void **state) {
    (void)state;
    char b[32];
    assert_string_equal(aj_rep_exact(-300000, b, sizeof(b)), "-0.300000");
    assert_string_equal(aj_rep_exact(0, b, sizeof(b)), "0.000000");
    assert_string_equal(aj_rep_exact(1, b, sizeof(b)), "0.000001");
    assert_string_equal(aj_rep_exact(INT64_MIN, b, sizeof(b)), "-9223372036854.775808");
    assert_string_equal(aj_rep_exact(INT64_MAX, b, sizeof(b)), "9223372036854.775807");
}

static void test_csv(void **state) {
    char *out = render(aj_rep_write_csv, *state);
    /* The header leaves out the HUMAN column; fields with a comma, a quote, a line break or edge
     * blanks are quoted; amounts are exact with 6 decimals; total rows say so. */
    assert_string_equal(out, "row_type,key,currency,n,amt,prose,csv_only\r\n"
                             "row,\"A,\"\"b\"\"\",BRL,1234,-1234.565000,<script>x</script> & co,\"line1\nline2\"\r\n"
                             "total,Total,BRL,1234,-9223372036854.775807,,\r\n"
                             "row,\" edge \",JPY,7,1.500000,,\r\n");
    free(out);
}

static void test_text(void **state) {
    char *out = render(aj_rep_write_text, *state);
    /* Rounded half up (away from zero) at the row's decimals, grouped; INT grouped. */
    assert_non_null(strstr(out, "-1,234.57"));
    assert_non_null(strstr(out, "1,234"));
    /* JPY at 0 decimals: 1.5 -> 2, no decimal point. */
    const char *jpy = strstr(out, " edge   JPY ");
    assert_non_null(jpy);
    size_t n = strcspn(jpy, "\n");
    assert_memory_equal(jpy + n - 2, " 2", 2);
    assert_null(memchr(jpy, '.', n));
    /* Prose and human columns under their row, CSV-only nowhere. */
    assert_non_null(strstr(out, "\n      <script>x</script> & co\n      human text\n"));
    assert_null(strstr(out, "line1"));
    /* A rule before the total row; no trailing blanks. */
    assert_non_null(strstr(out, "-\n  Total "));
    assert_null(strstr(out, " \n"));
    assert_non_null(strstr(out, "first note\nsecond <note>\n"));
    free(out);
}

static void test_html(void **state) {
    char *out = render(aj_rep_write_html, *state);
    assert_non_null(strstr(out, "<title>Title &amp; &lt;b&gt;</title>"));
    /* Nothing of the data is markup; nothing loads or runs. */
    assert_non_null(strstr(out, "&lt;script&gt;x&lt;/script&gt; &amp; co"));
    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "http"));
    assert_null(strstr(out, "line1"));
    assert_non_null(strstr(out, "second &lt;note&gt;"));
    /* The total row's cells carry ids and the exact micro-units. */
    assert_non_null(strstr(out, "id=\"total-BRL-amt\" data-micro=\"-9223372036854775807\">"));
    assert_non_null(strstr(out, "id=\"total-BRL-n\">1,234<"));
    /* The chart: bars scaled to the largest, each with its count and note. */
    assert_non_null(strstr(out, "<figure id=\"chart-reason\">"));
    assert_non_null(strstr(out, "width=\"380\" height=\"16\"><title>WRONG_ZONE: 12 corrections, net -1.00 BRL</title>"));
    assert_non_null(strstr(out, "width=\"95\" height=\"16\"><title>CONNECT_FEE: 3 corrections"));
    assert_null(strstr(out, "chart-day"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
