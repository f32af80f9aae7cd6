/* test_render.c - the invoice as a person reads it: text statement and HTML page, from a hand-built invoice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_emit.h"
#include "aj_render.h"
#include "aj_tz.h"

#define MS_PER_DAY 86400000LL
#define MS_PER_HOUR 3600000LL

/* ------------------------------------------------------------------ sample */

static const int32_t sample_versions[] = {3, 4};
static aj_invoice_line sample_lines[8];
static aj_invoice_adjustment sample_adjs[7];

static aj_invoice_line line(aj_line_kind kind, aj_service svc, const char *id, const char *item, const char *desc,
                            int64_t records, int64_t quantity, aj_money legacy, aj_money corrected, aj_money billed) {
    aj_invoice_line l;
    memset(&l, 0, sizeof(l));
    l.kind = kind;
    l.service = svc;
    snprintf(l.line_id, sizeof(l.line_id), "%s", id);
    snprintf(l.item, sizeof(l.item), "%s", item);
    snprintf(l.description, sizeof(l.description), "%s", desc);
    l.records = records;
    l.quantity = quantity;
    l.legacy_amount = legacy;
    l.corrected_amount = corrected;
    l.billed_amount = billed;
    l.memo = kind == AJ_LINE_DISCOUNT || kind == AJ_LINE_PROMOTION;
    return l;
}

/*
 * A held invoice of cycle 2026-10 in America/Sao_Paulo (UTC-3) with a line of every kind and an
 * adjustment of every disposition. Totals (docs/invoice.md):
 *   legacy    1,234.567891 + 59.90 + 10.00 + 20.00 + 260.00 - 15.00 = 1,569.467891
 *   applied   -30.00 (APPLY) - 19.97 (HOLD) + 2.00 (APPLY) - 6.00 (TAX_BASE) = -53.97
 *   corrected 1,515.497891, shown 1,515.50; flagged (advisory) +0.50 + 0.10 = 0.60
 */
static aj_invoice sample_invoice(void) {
    aj_invoice inv;
    memset(&inv, 0, sizeof(inv));
    strcpy(inv.invoice_id, "INV-ACC1-2026-10-r1");
    strcpy(inv.account, "ACC1");
    strcpy(inv.cycle_id, "2026-10");
    inv.revision = 1;
    inv.status = AJ_INV_HELD;
    strcpy(inv.status_reason, "adjustments of 55.97 exceed the materiality threshold <2%>");
    inv.period_start_ms = aj_days_from_civil(2026, 10, 1) * MS_PER_DAY + 3 * MS_PER_HOUR;
    inv.period_end_ms = aj_days_from_civil(2026, 11, 1) * MS_PER_DAY + 3 * MS_PER_HOUR;
    inv.issue_date = (int32_t)aj_days_from_civil(2026, 11, 1);
    inv.due_date = (int32_t)aj_days_from_civil(2026, 11, 15);
    strcpy(inv.currency, "BRL");
    inv.decimals = 2;
    strcpy(inv.contract_id, "CT-ACC1");
    inv.versions = sample_versions;
    inv.n_versions = 2;

    sample_lines[0] = line(AJ_LINE_USAGE, AJ_SERVICE_VOICE, "USAGE/VOICE/LOCAL", "LOCAL",
                           "Calls to \"Local\" <&> zone", 120, 3725, 1234567891, 1205067891, 1204567891);
    sample_lines[1] = line(AJ_LINE_RECURRING, AJ_SERVICE_VOICE, "RECURRING/L1", "L1", "Monthly charge, line L1 (VOICE)",
                           1, 1, 59900000, 39930000, 39930000);
    sample_lines[2] = line(AJ_LINE_LATE_USAGE, AJ_SERVICE_DATA, "LATE_USAGE/INV-ACC1-2026-09-r1/DATA", "",
                           "Late DATA usage of invoice INV-ACC1-2026-09-r1", 3, 1500000000, 10000000, 12000000, 12000000);
    strcpy(sample_lines[2].refers_to, "INV-ACC1-2026-09-r1");
    sample_lines[3] = line(AJ_LINE_LATE_RECURRING, AJ_SERVICE_SMS, "LATE_RECURRING/INV-ACC1-2026-09-r1/SMS", "",
                           "Late SMS monthly charges of invoice INV-ACC1-2026-09-r1", 2, 2, 20000000, 20000000, 20000000);
    strcpy(sample_lines[3].refers_to, "INV-ACC1-2026-09-r1");
    sample_lines[4] = line(AJ_LINE_TAX, AJ_SERVICE__COUNT, "TAX/ICMS", "ICMS", "ICMS 20.0000% added on VOICE, SMS, DATA",
                           0, 1300000000, 260000000, 254100000, 254000000);
    sample_lines[5] = line(AJ_LINE_CREDIT, AJ_SERVICE__COUNT, "CREDIT/D-7", "D-7",
                           "Credit 15.00 for dispute D-7 on invoice INV-ACC1-2026-08-r1", 1, 0, -15000000, -15000000,
                           -15000000);
    strcpy(sample_lines[5].refers_to, "INV-ACC1-2026-08-r1");
    sample_lines[6] = line(AJ_LINE_DISCOUNT, AJ_SERVICE__COUNT, "DISCOUNT/FIDELIDADE", "FIDELIDADE",
                           "Discount FIDELIDADE (included in the lines above)", 4, 0, 0, -12340000, 0);
    sample_lines[7] = line(AJ_LINE_PROMOTION, AJ_SERVICE__COUNT, "PROMOTION/NATAL", "NATAL",
                           "Promotion NATAL (included in the lines above)", 2, 0, 0, -1000000, 0);
    inv.lines = sample_lines;
    inv.n_lines = 8;

    sample_adjs[0] = (aj_invoice_adjustment){0, AJ_REASON_WRONG_ZONE, AJ_DISP_APPLY, 2, -30000000};
    sample_adjs[1] = (aj_invoice_adjustment){0, AJ_REASON_CONNECT_FEE, AJ_DISP_FLAG, 1, 500000};
    sample_adjs[2] = (aj_invoice_adjustment){1, AJ_REASON_MRC_PRORATION, AJ_DISP_HOLD, 1, -19970000};
    sample_adjs[3] = (aj_invoice_adjustment){2, AJ_REASON_RATE_MISMATCH, AJ_DISP_APPLY, 1, 2000000};
    sample_adjs[4] = (aj_invoice_adjustment){4, AJ_ADJ_TAX_BASE, AJ_DISP_APPLY, 1, -6000000};
    sample_adjs[5] = (aj_invoice_adjustment){4, AJ_ADJ_TAX_BASE, AJ_DISP_FLAG, 1, 100000};
    inv.adjustments = sample_adjs;
    inv.n_adjustments = 6;

    inv.legacy_total = 1569467891;
    inv.corrected_total = 1515497891;
    inv.adjustment_total = -53970000;
    inv.overcharge_removed = 55970000;
    inv.undercharge_added = 2000000;
    inv.flagged_overcharge = 0;
    inv.flagged_undercharge = 600000;
    inv.tax_total = 254000000;
    inv.credit_total = -15000000;
    inv.amount_due = 1515497891;
    inv.reasons[0] = (aj_reason_summary){AJ_REASON_WRONG_ZONE, 2, -30000000, -30000000};
    inv.reasons[1] = (aj_reason_summary){AJ_REASON_CONNECT_FEE, 1, 500000, 0};
    inv.reasons[2] = (aj_reason_summary){AJ_REASON_RATE_MISMATCH, 1, 2000000, 2000000};
    inv.reasons[3] = (aj_reason_summary){AJ_REASON_MRC_PRORATION, 1, -19970000, -19970000};
    inv.n_reasons = 4;
    return inv;
}

/*
 * An issued invoice with one-time charges (docs/invoice.md "Lines", docs/rating.md "One-time
 * charges"), its lines in the invoice's order: usage, recurring, ONE_TIME/<code> (no service,
 * quantity in units), late usage, LATE_ONE_TIME/<invoice> (every code together), tax. Totals:
 *   legacy    1.30 + 59.90 + 49.90 + 70.00 + 0.20 + 25.00 + 10.32 = 216.62
 *   applied   -49.90 (OTC_NOT_IN_CONTRACT) - 7.50 (OTC_PRICE_MISMATCH) - 2.87 (TAX_BASE) = -60.27
 *   corrected 156.35; flagged (advisory) +2.00 (OTC_PRICE_MISMATCH) + 0.10 (TAX_BASE) = 2.10
 */
static aj_invoice_line otc_lines[7];
static aj_invoice_adjustment otc_adjs[5];

static aj_invoice one_time_invoice(void) {
    aj_invoice inv = sample_invoice();

    strcpy(inv.invoice_id, "INV-ACC1-2026-10-r1");
    inv.status = AJ_INV_ISSUED;
    inv.status_reason[0] = '\0';
    otc_lines[0] = line(AJ_LINE_USAGE, AJ_SERVICE_SMS, "USAGE/SMS/LOCAL", "LOCAL", "SMS usage, zone LOCAL", 13, 13,
                        1300000, 1300000, 1300000);
    otc_lines[1] = line(AJ_LINE_RECURRING, AJ_SERVICE_VOICE, "RECURRING/L1", "L1", "Monthly charge, line L1 (VOICE)", 1,
                        1, 59900000, 59900000, 59900000);
    otc_lines[2] = line(AJ_LINE_ONE_TIME, AJ_SERVICE__COUNT, "ONE_TIME/ACTIVATION", "ACTIVATION",
                        "One-time charge ACTIVATION", 1, 1, 49900000, 0, 0);
    otc_lines[3] = line(AJ_LINE_ONE_TIME, AJ_SERVICE__COUNT, "ONE_TIME/SIM_SWAP", "SIM_SWAP", "One-time charge SIM_SWAP",
                        1, 2, 70000000, 62500000, 62500000);
    otc_lines[4] = line(AJ_LINE_LATE_USAGE, AJ_SERVICE_SMS, "LATE_USAGE/INV-ACC1-2026-09-r1/SMS", "",
                        "Late SMS usage of invoice INV-ACC1-2026-09-r1", 2, 2, 200000, 200000, 200000);
    strcpy(otc_lines[4].refers_to, "INV-ACC1-2026-09-r1");
    otc_lines[5] = line(AJ_LINE_LATE_ONE_TIME, AJ_SERVICE__COUNT, "LATE_ONE_TIME/INV-ACC1-2026-09-r1", "",
                        "Late one-time charges of invoice INV-ACC1-2026-09-r1", 2, 3, 25000000, 27000000, 25000000);
    strcpy(otc_lines[5].refers_to, "INV-ACC1-2026-09-r1");
    otc_lines[6] = line(AJ_LINE_TAX, AJ_SERVICE__COUNT, "TAX/ISS", "ISS", "ISS 5.0000% added on VOICE, SMS, MMS, DATA", 0,
                        148900000, 10320000, 7550000, 7450000);
    inv.lines = otc_lines;
    inv.n_lines = 7;

    otc_adjs[0] = (aj_invoice_adjustment){2, AJ_REASON_OTC_NOT_IN_CONTRACT, AJ_DISP_APPLY, 1, -49900000};
    otc_adjs[1] = (aj_invoice_adjustment){3, AJ_REASON_OTC_PRICE_MISMATCH, AJ_DISP_APPLY, 1, -7500000};
    otc_adjs[2] = (aj_invoice_adjustment){5, AJ_REASON_OTC_PRICE_MISMATCH, AJ_DISP_FLAG, 1, 2000000};
    otc_adjs[3] = (aj_invoice_adjustment){6, AJ_ADJ_TAX_BASE, AJ_DISP_APPLY, 1, -2870000};
    otc_adjs[4] = (aj_invoice_adjustment){6, AJ_ADJ_TAX_BASE, AJ_DISP_FLAG, 1, 100000};
    inv.adjustments = otc_adjs;
    inv.n_adjustments = 5;

    inv.legacy_total = 216620000;
    inv.corrected_total = 156350000;
    inv.adjustment_total = -60270000;
    inv.overcharge_removed = 60270000;
    inv.undercharge_added = 0;
    inv.flagged_overcharge = 0;
    inv.flagged_undercharge = 2100000;
    inv.tax_total = 7450000;
    inv.credit_total = 0;
    inv.amount_due = 156350000;
    memset(inv.reasons, 0, sizeof(inv.reasons));
    inv.reasons[0] = (aj_reason_summary){AJ_REASON_OTC_NOT_IN_CONTRACT, 1, -49900000, -49900000};
    inv.reasons[1] = (aj_reason_summary){AJ_REASON_OTC_PRICE_MISMATCH, 2, -5500000, -7500000};
    inv.n_reasons = 2;
    return inv;
}

/* ------------------------------------------------------------------ helpers */

/* Not inlined: inlined, gcc 12 -O3 loses track of open_memstream writing buf and warns that
 * the returned text dangles (-Wdangling-pointer, a false positive). */
__attribute__((noinline)) static char *render_text(const aj_invoice *inv) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    aj_invoice_print_text(f, inv);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

__attribute__((noinline)) static char *render_html(const aj_invoice *inv) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(aj_invoice_write_html(f, inv), AJ_E_OK);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

static void check_contains(const char *hay, const char *needle) {
    if (!strstr(hay, needle)) fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void check_lacks(const char *hay, const char *needle) {
    if (strstr(hay, needle)) fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* The line of text that contains needle (copied into buf), or fails. */
static const char *line_with(const char *text, const char *needle, char *buf, size_t len) {
    const char *p = strstr(text, needle);
    if (!p) fail_msg("no line with \"%s\" in:\n%s", needle, text);
    const char *start = p, *end = strchr(p, '\n');
    while (start > text && start[-1] != '\n') start--;
    if (!end) end = p + strlen(p);
    snprintf(buf, len, "%.*s", (int)(end - start), start);
    return buf;
}

/* The last whitespace-separated word of a line. */
static const char *last_word(const char *line_text) {
    const char *end = line_text + strlen(line_text), *p = end;
    while (p > line_text && p[-1] != ' ') p--;
    return p;
}

/* The text content of the element with id="<id>" (up to the next '<'), copied into buf. */
static const char *html_by_id(const char *html, const char *id, char *buf, size_t len) {
    char attr[64];
    snprintf(attr, sizeof(attr), "id=\"%s\"", id);
    const char *p = strstr(html, attr);
    if (!p) fail_msg("no element with %s", attr);
    assert_null(strstr(p + 1, attr));   /* ids are unique */
    p = strchr(p, '>');
    assert_non_null(p);
    p++;
    const char *end = strchr(p, '<');
    assert_non_null(end);
    snprintf(buf, len, "%.*s", (int)(end - p), p);
    return buf;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* Case-insensitive search (no <script in any case). */
static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20)) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ text */

static void test_text_header_and_status(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    char *t = render_text(&inv);
    char l[512];

    check_contains(t, "INVOICE INV-ACC1-2026-10-r1\n");
    check_contains(t, "HELD FOR REVIEW");
    check_contains(line_with(t, "Status ", l, sizeof(l)), "HELD (held for review, not issued)");
    check_contains(line_with(t, "Status reason", l, sizeof(l)), "exceed the materiality threshold <2%>");
    check_contains(line_with(t, "Account", l, sizeof(l)), "ACC1");
    check_contains(line_with(t, "Billing cycle", l, sizeof(l)), "2026-10, revision 1");
    /* The period in local dates: issued the day the period ends, so the last day is the 31st. */
    check_contains(line_with(t, "Period", l, sizeof(l)), "2026-10-01 to 2026-10-31");
    check_contains(line_with(t, "Issue date", l, sizeof(l)), "2026-11-01");
    check_contains(line_with(t, "Due date", l, sizeof(l)), "2026-11-15");
    check_contains(line_with(t, "Currency", l, sizeof(l)), "BRL (2 decimals)");
    check_contains(line_with(t, "Contract", l, sizeof(l)), "CT-ACC1, versions 3, 4");
    free(t);

    /* An issued invoice shows no reason and no banner. */
    inv.status = AJ_INV_ISSUED;
    t = render_text(&inv);
    check_lacks(t, "HELD");
    check_lacks(t, "Status reason");
    free(t);
}

static void test_text_lines_amounts_and_adjustments(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    char *t = render_text(&inv);
    char l[512];

    /* Original = legacy, corrected = billed, rounded half up to 2 decimals, with separators. */
    line_with(t, "Calls to \"Local\" <&> zone", l, sizeof(l));
    check_contains(l, "62 min 05 s");
    check_contains(l, "1,234.57");
    check_contains(l, "1,204.57");
    assert_string_equal(last_word(l), "-30.00");
    /* Its adjustments, indented under it and under no other line: applied, and flagged as advisory. */
    const char *row = strstr(t, "Calls to");
    assert_int_equal(strncmp(strchr(row, '\n') + 1, "      WRONG_ZONE ", 17), 0);
    assert_int_equal(strncmp(strchr(strstr(t, "line L1 (VOICE)"), '\n') + 1, "      MRC_PRORATION ", 20), 0);
    assert_int_equal(count(t, "WRONG_ZONE "), 2);   /* under its line, and in the corrections by reason */
    assert_int_equal(count(t, "TAX_BASE "), 2);
    line_with(t, "WRONG_ZONE ", l, sizeof(l));
    check_contains(l, "      WRONG_ZONE");
    check_contains(l, "APPLY 2 corrections");
    assert_string_equal(last_word(l), "-30.00");
    line_with(t, "CONNECT_FEE ", l, sizeof(l));
    check_contains(l, "FLAG  1 correction (advisory, not billed)");
    assert_string_equal(last_word(l), "+0.50");
    line_with(t, "MRC_PRORATION ", l, sizeof(l));
    check_contains(l, "HOLD  1 correction (held for review)");
    assert_string_equal(last_word(l), "-19.97");

    check_contains(line_with(t, "Monthly charge, line L1", l, sizeof(l)), "1 unit");
    check_contains(l, "59.90");
    check_contains(l, "39.93");
    line_with(t, "Late DATA usage", l, sizeof(l));
    check_contains(l, "1.50 GB");
    assert_string_equal(last_word(l), "+2.00");
    check_contains(line_with(t, "Late SMS monthly", l, sizeof(l)), "2 units");

    /* Taxes and credits as lines of their own sections. */
    check_contains(t, "\n  Taxes\n");
    line_with(t, "ICMS 20.0000%", l, sizeof(l));
    check_contains(l, "on 1,300.00");
    check_contains(l, "260.00");
    check_contains(l, "254.00");
    assert_string_equal(last_word(l), "-6.00");
    /* A TAX_BASE entry is the tax following its base's corrections, not a correction itself:
     * no count of corrections, the same words as in HTML (the count of the wire is always 1,
     * or 2 where a release merged an applied and an advisory part). */
    line_with(t, "TAX_BASE                APPLY", l, sizeof(l));
    check_contains(l, "TAX_BASE                APPLY follows its base");
    check_lacks(l, "correction");
    assert_string_equal(last_word(l), "-6.00");
    line_with(t, "TAX_BASE                FLAG", l, sizeof(l));
    check_contains(l, "TAX_BASE                FLAG  follows its base (advisory, not billed)");
    check_lacks(l, "correction");
    assert_string_equal(last_word(l), "+0.10");
    check_contains(t, "\n  Credits\n");
    line_with(t, "Credit 15.00 for dispute D-7", l, sizeof(l));
    check_contains(l, "-15.00");
    assert_string_equal(last_word(l), "0.00");

    /* Columns aligned: every amount of a line row ends in the same column. */
    const char *rows[] = {"Calls to", "Monthly charge, line L1", "Late DATA usage", "ICMS 20", "WRONG_ZONE ",
                          "CONNECT_FEE ", "TAX_BASE                APPLY", "TAX_BASE                FLAG",
                          "Original total", "AMOUNT DUE"};
    size_t width = strlen(line_with(t, "Difference", l, sizeof(l)));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (strlen(line_with(t, rows[i], l, sizeof(l))) != width) fail_msg("row '%s' is not aligned: '%s'", rows[i], l);
    free(t);
}

static void test_text_totals_memo_advisory_reasons(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    char *t = render_text(&inv);
    char l[512];

    assert_string_equal(last_word(line_with(t, "Original total", l, sizeof(l))), "1,569.47");
    assert_string_equal(last_word(line_with(t, "Overcharges removed", l, sizeof(l))), "-55.97");
    assert_string_equal(last_word(line_with(t, "Undercharges added", l, sizeof(l))), "+2.00");
    assert_string_equal(last_word(line_with(t, "Corrected total", l, sizeof(l))), "1,515.50");
    assert_string_equal(last_word(line_with(t, "of which taxes", l, sizeof(l))), "254.00");
    assert_string_equal(last_word(line_with(t, "of which credits", l, sizeof(l))), "-15.00");
    assert_string_equal(last_word(line_with(t, "AMOUNT DUE (BRL)", l, sizeof(l))), "1,515.50");

    /* Advisory: the flagged amounts, not billed. */
    check_contains(line_with(t, "Advisory (not billed)", l, sizeof(l)), "undercharges of 0.60");
    check_lacks(l, "overcharges of");

    /* Memo lines: in their own section after the totals, never among the charges. */
    const char *memo = strstr(t, "Included above");
    assert_non_null(memo);
    assert_true(memo > strstr(t, "AMOUNT DUE"));
    line_with(t, "Discount FIDELIDADE", l, sizeof(l));
    assert_true(strstr(t, "Discount FIDELIDADE") > memo);
    check_contains(l, "4 records");
    assert_string_equal(last_word(l), "-12.34");
    assert_string_equal(last_word(line_with(t, "Promotion NATAL", l, sizeof(l))), "-1.00");

    /* Corrections by reason: count, found, applied, and what the reason means. */
    const char *rs = strstr(t, "Corrections by reason");
    assert_non_null(rs);
    line_with(rs, "CONNECT_FEE", l, sizeof(l));
    check_contains(l, " 1 ");
    check_contains(l, "+0.50");
    assert_string_equal(last_word(l), "0.00");
    line_with(rs, "MRC_PRORATION", l, sizeof(l));
    assert_string_equal(last_word(l), "-19.97");
    check_contains(rs, aj_reason_desc(AJ_REASON_MRC_PRORATION));
    free(t);

    /* No flagged amounts: no advisory line. */
    inv.flagged_undercharge = 0;
    t = render_text(&inv);
    check_lacks(t, "Advisory");
    free(t);
    inv.flagged_overcharge = 1234500000;
    t = render_text(&inv);
    check_contains(line_with(t, "Advisory (not billed)", l, sizeof(l)), "overcharges of 1,234.50");
    free(t);
}

static void test_text_decimals(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    char *t;
    char l[512];

    inv.decimals = 0;   /* a currency without minor unit: whole units, rounded half up */
    strcpy(inv.currency, "JPY");
    t = render_text(&inv);
    assert_string_equal(last_word(line_with(t, "AMOUNT DUE (JPY)", l, sizeof(l))), "1,515");
    check_contains(line_with(t, "Calls to", l, sizeof(l)), "1,235");
    free(t);
    inv.decimals = 6;
    t = render_text(&inv);
    assert_string_equal(last_word(line_with(t, "AMOUNT DUE", l, sizeof(l))), "1,515.497891");
    free(t);
    inv.decimals = 99;   /* out of range: clamped, not trusted */
    t = render_text(&inv);
    assert_string_equal(last_word(line_with(t, "AMOUNT DUE", l, sizeof(l))), "1,515.497891");
    free(t);
}

/* Europe/Lisbon leaves summer time inside October: the period still starts on the 1st. */
static void test_text_period_across_dst(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    char l[512];
    inv.period_start_ms = aj_days_from_civil(2026, 10, 1) * MS_PER_DAY - 1 * MS_PER_HOUR;   /* 00:00 WEST */
    inv.period_end_ms = aj_days_from_civil(2026, 11, 1) * MS_PER_DAY;                       /* 00:00 WET */
    char *t = render_text(&inv);
    check_contains(line_with(t, "Period", l, sizeof(l)), "2026-10-01 to 2026-10-31");
    free(t);
}

/* One-time charges: under "Charges" in the invoice's order, their quantity in units (no service),
 * original, corrected and difference like any charge, their corrections under them. */
static void test_text_one_time_lines(void **state) {
    (void)state;
    aj_invoice inv = one_time_invoice();
    char *t = render_text(&inv);
    char l[512];

    line_with(t, "One-time charge ACTIVATION", l, sizeof(l));
    check_contains(l, " 1 unit ");
    check_contains(l, "49.90");
    check_contains(l, " 0.00 ");
    assert_string_equal(last_word(l), "-49.90");
    const char *row = strstr(t, "One-time charge ACTIVATION");
    line_with(strchr(row, '\n') + 1, "OTC_NOT_IN_CONTRACT", l, sizeof(l));
    assert_int_equal(strncmp(l, "      OTC_NOT_IN_CONTRACT     APPLY 1 correction ", 49), 0);
    assert_string_equal(last_word(l), "-49.90");

    line_with(t, "One-time charge SIM_SWAP", l, sizeof(l));
    check_contains(l, " 2 units ");
    check_contains(l, "70.00");
    check_contains(l, "62.50");
    assert_string_equal(last_word(l), "-7.50");
    row = strstr(t, "One-time charge SIM_SWAP");
    assert_int_equal(strncmp(strchr(row, '\n') + 1, "      OTC_PRICE_MISMATCH      APPLY 1 correction ", 49), 0);

    /* The late line names the closed invoice (its description wraps, the numbers stay on its first
     * row); legacy amount billed, the undercharge advisory under it. */
    line_with(t, "Late one-time charges of invoice", l, sizeof(l));
    check_contains(l, " 3 units ");
    check_contains(l, "25.00");
    assert_string_equal(last_word(l), "0.00");
    row = strchr(strstr(t, "Late one-time charges of invoice"), '\n') + 1;
    assert_int_equal(strncmp(row, "    INV-ACC1-2026-09-r1\n", 24), 0);
    line_with(row + 24, "OTC_PRICE_MISMATCH", l, sizeof(l));
    assert_int_equal(strncmp(l, "      OTC_PRICE_MISMATCH      FLAG  1 correction (advisory, not billed)", 70), 0);
    assert_string_equal(last_word(l), "+2.00");
    assert_int_equal(count(t, "OTC_PRICE_MISMATCH "), 3);   /* two lines, and the corrections by reason */

    /* Order: every charge in the invoice's order, under "Charges", before the taxes. */
    const char *order[] = {"  Charges\n", "SMS usage, zone LOCAL", "Monthly charge, line L1", "One-time charge ACTIVATION",
                           "One-time charge SIM_SWAP", "Late SMS usage", "Late one-time charges", "  Taxes\n", "ISS 5.0000%",
                           "Original total"};
    for (size_t i = 1; i < sizeof(order) / sizeof(order[0]); i++)
        if (!(strstr(t, order[i - 1]) < strstr(t, order[i]))) fail_msg("'%s' is not before '%s':\n%s", order[i - 1], order[i], t);
    assert_int_equal(count(t, "One-time charge "), 2);
    check_lacks(t, "Included above");   /* not memo lines */

    /* The totals count them. */
    assert_string_equal(last_word(line_with(t, "Original total", l, sizeof(l))), "216.62");
    assert_string_equal(last_word(line_with(t, "Overcharges removed", l, sizeof(l))), "-60.27");
    assert_string_equal(last_word(line_with(t, "AMOUNT DUE (BRL)", l, sizeof(l))), "156.35");
    check_contains(line_with(t, "Advisory (not billed)", l, sizeof(l)), "undercharges of 2.10");

    /* Aligned with the other lines. */
    const char *rows[] = {"SMS usage", "One-time charge ACTIVATION", "One-time charge SIM_SWAP", "Late one-time charges",
                          "OTC_NOT_IN_CONTRACT     APPLY", "OTC_PRICE_MISMATCH      FLAG", "ISS 5.0000%", "AMOUNT DUE"};
    size_t width = strlen(line_with(t, "Difference", l, sizeof(l)));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (strlen(line_with(t, rows[i], l, sizeof(l))) != width) fail_msg("row '%s' is not aligned: '%s'", rows[i], l);
    free(t);
}

/* ------------------------------------------------------------------ HTML */

static void test_html_page(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    char *h = render_html(&inv);
    char v[128];

    assert_int_equal(strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
    check_contains(h, "<meta charset=\"utf-8\">");
    check_contains(h, "<style>");
    check_contains(h, "@media print");
    check_contains(h, "</html>\n");
    /* Standalone: no script, no external resource. */
    assert_false(contains_nocase(h, "<script"));
    assert_false(contains_nocase(h, "<link"));
    assert_false(contains_nocase(h, "src="));
    assert_false(contains_nocase(h, "url("));
    assert_false(contains_nocase(h, "http:"));
    assert_false(contains_nocase(h, "https:"));
    assert_false(contains_nocase(h, "@import"));

    /* The totals, by id. */
    assert_string_equal(html_by_id(h, "amount-due", v, sizeof(v)), "1,515.50");
    assert_string_equal(html_by_id(h, "corrected-total", v, sizeof(v)), "1,515.50");
    assert_string_equal(html_by_id(h, "legacy-total", v, sizeof(v)), "1,569.47");
    check_contains(h, "id=\"amount-due\" data-micro=\"1515497891\"");
    /* The amount due, prominent at the top too. */
    check_contains(h, "<div class=\"big\">1,515.50 BRL</div>");

    /* Status and reason, escaped. */
    check_contains(h, ">HELD</span>");
    check_contains(h, "exceed the materiality threshold &lt;2%&gt;");
    check_contains(h, "Held for review");
    /* Lines, adjustments, memo, advisory, reasons. */
    check_contains(h, "<td class=\"num\">1,234.57</td><td class=\"num\">1,204.57</td><td class=\"num\">-30.00</td>");
    check_contains(h, "CONNECT_FEE</span> &middot; FLAG &middot; 1 correction &middot; advisory, not billed");
    check_contains(h, "MRC_PRORATION</span> &middot; HOLD");
    assert_int_equal(count(h, "MRC_PRORATION</span>"), 1);
    assert_int_equal(count(h, "TAX_BASE</span>"), 2);
    check_contains(h, "TAX_BASE</span> &middot; APPLY &middot; follows its base</td>");
    check_contains(h, "TAX_BASE</span> &middot; FLAG &middot; follows its base &middot; advisory, not billed</td>");
    assert_int_equal(count(h, "correction &middot;") + count(h, "corrections &middot;") + count(h, "correction</td>") +
                         count(h, "corrections</td>"),
                     4);   /* WRONG_ZONE, CONNECT_FEE, MRC_PRORATION, RATE_MISMATCH: not the two TAX_BASE */
    check_contains(h, "<th colspan=\"5\">Taxes</th>");
    check_contains(h, "<th colspan=\"5\">Credits</th>");
    check_contains(h, "Included above");
    check_contains(h, "-12.34");
    check_contains(h, "<strong>Advisory (not billed):</strong> undercharges of 0.60");
    check_contains(h, aj_reason_desc(AJ_REASON_WRONG_ZONE));
    check_contains(h, "2026-10-01 to 2026-10-31");
    free(h);
}

static void test_html_escapes_text(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    strcpy(inv.account, "A<'&'>");
    strcpy(inv.invoice_id, "INV-</title><script>alert(1)</script>");
    char *h = render_html(&inv);

    check_contains(h, "Calls to &quot;Local&quot; &lt;&amp;&gt; zone");
    check_lacks(h, "<&>");
    check_lacks(h, "\"Local\"");
    check_contains(h, "A&lt;&#39;&amp;&#39;&gt;");
    check_contains(h, "<title>Invoice INV-&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>");
    assert_false(contains_nocase(h, "<script"));
    free(h);
}

/* The one-time lines in HTML: the same rows, amounts and order as the text. */
static void test_html_one_time_lines(void **state) {
    (void)state;
    aj_invoice inv = one_time_invoice();
    char *h = render_html(&inv);
    char v[64];

    check_contains(h, "<tr class=\"line\" title=\"ONE_TIME/ACTIVATION\"><td>One-time charge ACTIVATION</td>"
                      "<td class=\"num\">1 unit</td><td class=\"num\">49.90</td><td class=\"num\">0.00</td>"
                      "<td class=\"num\">-49.90</td></tr>\n"
                      "<tr class=\"adj APPLY\"><td class=\"lbl\" colspan=\"4\"><span class=\"code\">OTC_NOT_IN_CONTRACT</span>"
                      " &middot; APPLY &middot; 1 correction</td><td class=\"num\">-49.90</td></tr>\n");
    check_contains(h, "<tr class=\"line\" title=\"ONE_TIME/SIM_SWAP\"><td>One-time charge SIM_SWAP</td>"
                      "<td class=\"num\">2 units</td><td class=\"num\">70.00</td><td class=\"num\">62.50</td>"
                      "<td class=\"num\">-7.50</td></tr>\n"
                      "<tr class=\"adj APPLY\"><td class=\"lbl\" colspan=\"4\"><span class=\"code\">OTC_PRICE_MISMATCH</span>"
                      " &middot; APPLY &middot; 1 correction</td><td class=\"num\">-7.50</td></tr>\n");
    check_contains(h, "<tr class=\"line\" title=\"LATE_ONE_TIME/INV-ACC1-2026-09-r1\">"
                      "<td>Late one-time charges of invoice INV-ACC1-2026-09-r1</td>"
                      "<td class=\"num\">3 units</td><td class=\"num\">25.00</td><td class=\"num\">25.00</td>"
                      "<td class=\"num\">0.00</td></tr>\n"
                      "<tr class=\"adj FLAG\"><td class=\"lbl\" colspan=\"4\"><span class=\"code\">OTC_PRICE_MISMATCH</span>"
                      " &middot; FLAG &middot; 1 correction &middot; advisory, not billed</td><td class=\"num\">+2.00</td></tr>\n");

    /* Order: in the Charges section, in the invoice's order, before the taxes. */
    const char *order[] = {"<th colspan=\"5\">Charges</th>", "title=\"USAGE/SMS/LOCAL\"", "title=\"RECURRING/L1\"",
                           "title=\"ONE_TIME/ACTIVATION\"", "title=\"ONE_TIME/SIM_SWAP\"",
                           "title=\"LATE_USAGE/INV-ACC1-2026-09-r1/SMS\"", "title=\"LATE_ONE_TIME/INV-ACC1-2026-09-r1\"",
                           "<th colspan=\"5\">Taxes</th>", "title=\"TAX/ISS\"", "id=\"legacy-total\""};
    for (size_t i = 1; i < sizeof(order) / sizeof(order[0]); i++)
        if (!(strstr(h, order[i - 1]) < strstr(h, order[i]))) fail_msg("'%s' is not before '%s'", order[i - 1], order[i]);
    check_lacks(h, "Included above");

    assert_string_equal(html_by_id(h, "legacy-total", v, sizeof(v)), "216.62");
    assert_string_equal(html_by_id(h, "corrected-total", v, sizeof(v)), "156.35");
    assert_string_equal(html_by_id(h, "amount-due", v, sizeof(v)), "156.35");
    check_contains(h, "<strong>Advisory (not billed):</strong> undercharges of 2.10");
    check_contains(h, aj_reason_desc(AJ_REASON_OTC_NOT_IN_CONTRACT));
    free(h);
}

/* ------------------------------------------------------------------ edges */

static void test_empty_invoice(void **state) {
    (void)state;
    aj_invoice inv;
    char l[512], v[64];
    memset(&inv, 0, sizeof(inv));
    strcpy(inv.invoice_id, "INV-EMPTY-2026-10-r1");
    inv.decimals = 2;

    char *t = render_text(&inv);
    check_contains(t, "(no lines)");
    assert_string_equal(last_word(line_with(t, "AMOUNT DUE", l, sizeof(l))), "0.00");
    check_contains(line_with(t, "Contract", l, sizeof(l)), "-, versions -");
    check_lacks(t, "Corrections by reason");
    check_lacks(t, "Included above");
    free(t);
    char *h = render_html(&inv);
    check_contains(h, "No lines.");
    assert_string_equal(html_by_id(h, "amount-due", v, sizeof(v)), "0.00");
    free(h);
}

/* Every string at its longest, full of characters that escape, amounts at the int64 edges,
 * and values the decoder would refuse: rendered without a crash or an over-read. */
static void test_extremes(void **state) {
    static aj_invoice_line lines[3];
    static aj_invoice_adjustment adjs[2];
    aj_invoice inv;
    char v[64];

    (void)state;

    memset(&inv, 0, sizeof(inv));
    memset(inv.invoice_id, '<', sizeof(inv.invoice_id) - 1);
    memset(inv.account, '&', sizeof(inv.account) - 1);
    memset(inv.cycle_id, '9', sizeof(inv.cycle_id) - 1);
    memset(inv.status_reason, '"', sizeof(inv.status_reason) - 1);
    memset(inv.currency, 'X', sizeof(inv.currency) - 1);
    memset(inv.contract_id, '>', sizeof(inv.contract_id) - 1);
    inv.status = AJ_INV_RELEASED;
    inv.decimals = -4;
    inv.period_start_ms = INT64_MIN;
    inv.period_end_ms = INT64_MAX;
    inv.issue_date = INT32_MAX;
    inv.due_date = INT32_MIN;
    for (int i = 0; i < 3; i++) {
        aj_invoice_line *l = &lines[i];
        memset(l, 0, sizeof(*l));
        memset(l->line_id, 'L', sizeof(l->line_id) - 1);
        memset(l->item, 'I', sizeof(l->item) - 1);
        memset(l->refers_to, 'R', sizeof(l->refers_to) - 1);
        for (size_t k = 0; k + 2 < sizeof(l->description); k += 2) memcpy(l->description + k, "\xc3\xa9", 2);   /* é */
        l->kind = (aj_line_kind)i;
        l->service = (aj_service)(i * 7);   /* one out of range */
        l->quantity = i == 2 ? INT64_MIN : INT64_MAX;
        l->records = INT64_MAX;
        l->legacy_amount = INT64_MIN;
        l->billed_amount = INT64_MAX;
        l->corrected_amount = INT64_MIN;
    }
    memset(lines[1].description, 'D', sizeof(lines[1].description));   /* filled to the last byte, no NUL */
    lines[2].description[0] = '\0';                                     /* falls back to the line id */
    lines[2].kind = AJ_LINE_DISCOUNT;
    inv.lines = lines;
    inv.n_lines = 3;
    adjs[0] = (aj_invoice_adjustment){1, AJ_ADJ_TAX_BASE, AJ_DISP_FLAG, INT64_MIN, INT64_MIN};
    adjs[1] = (aj_invoice_adjustment){77, (aj_reason)500, (aj_disposition)9, 1, 1};   /* no such line */
    inv.adjustments = adjs;
    inv.n_adjustments = 2;
    inv.legacy_total = inv.overcharge_removed = inv.tax_total = INT64_MIN;
    inv.corrected_total = inv.amount_due = inv.undercharge_added = INT64_MAX;
    inv.flagged_overcharge = INT64_MIN;
    inv.flagged_undercharge = INT64_MAX;
    for (int i = 0; i < AJ_REASON__COUNT; i++) inv.reasons[i] = (aj_reason_summary){(aj_reason)i, INT64_MAX, INT64_MIN, INT64_MAX};
    inv.n_reasons = 1000;   /* more than the array holds: clamped */

    char *t = render_text(&inv);
    check_contains(t, "9,223,372,036,854");   /* int64 edges at 0 decimals, with separators */
    check_contains(t, "overflow");            /* billed - legacy does not fit */
    check_contains(t, "RELEASED");
    free(t);

    /* The description filled to its last byte is shown whole and not one byte more. */
    char dd[sizeof(lines[1].description) + 16];
    dd[0] = '>';
    memset(dd + 1, 'D', sizeof(lines[1].description));
    strcpy(dd + 1 + sizeof(lines[1].description), "</td>");
    char *h = render_html(&inv);
    check_contains(h, dd);
    assert_string_equal(html_by_id(h, "amount-due", v, sizeof(v)), "9,223,372,036,854");
    check_lacks(h, "<<");
    check_contains(h, "&lt;&lt;&lt;");
    check_contains(h, "&quot;&quot;");
    assert_false(contains_nocase(h, "<script"));
    free(h);
}

/* What the renderer shows is on the wire: an invoice read back renders the same. */
static void check_round_trip(const aj_invoice *inv) {
    aj_invoice back;
    aj_out_encoder *enc;
    aj_bytes b = {0};

    assert_int_equal(aj_schemas_init(), AJ_E_OK);
    assert_non_null(enc = aj_out_encoder_create());
    assert_int_equal(aj_encode_invoice(enc, inv, &b), AJ_E_OK);
    assert_int_equal(aj_decode_invoice(aj_schema_current(AJ_SCHEMA_INVOICE), b.data, b.len, &back), AJ_E_OK);
    char *t1 = render_text(inv), *t2 = render_text(&back);
    char *h1 = render_html(inv), *h2 = render_html(&back);
    assert_string_equal(t1, t2);
    assert_string_equal(h1, h2);
    free(t1);
    free(t2);
    free(h1);
    free(h2);
    aj_invoice_release(&back);
    aj_bytes_free(&b);
    aj_out_encoder_destroy(enc);
    aj_schemas_shutdown();
}

static void test_round_trip_renders_the_same(void **state) {
    (void)state;
    aj_invoice inv = sample_invoice();
    check_round_trip(&inv);
    inv = one_time_invoice();   /* ONE_TIME and LATE_ONE_TIME lines travel as kinds of their own */
    check_round_trip(&inv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_header_and_status),
        cmocka_unit_test(test_text_lines_amounts_and_adjustments),
        cmocka_unit_test(test_text_totals_memo_advisory_reasons),
        cmocka_unit_test(test_text_decimals),
        cmocka_unit_test(test_text_period_across_dst),
        cmocka_unit_test(test_text_one_time_lines),
        cmocka_unit_test(test_html_page),
        cmocka_unit_test(test_html_escapes_text),
        cmocka_unit_test(test_html_one_time_lines),
        cmocka_unit_test(test_empty_invoice),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_round_trip_renders_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
