/* aj_render.c - an adjusted invoice as a person reads it: a text statement and an HTML page. */
#include <stdint.h>
#include <string.h>

#include "aj_money.h"
#include "aj_render.h"
#include "aj_tz.h"

#define RND_DAY_MS 86400000LL
#define RND_HOUR_MS 3600000LL
#define RND_AMOUNT_LEN 48   /* an int64 at 6 decimals with separators and a sign fits */
#define RND_TEXT_LEN 64     /* a quantity, a date, a count with its unit */

/* Text columns: description, quantity and the three amounts (widths grow with the data). */
#define RND_DESC_MIN_W 36
#define RND_DESC_MAX_W 44  /* longer descriptions wrap */
#define RND_QTY_MIN_W 10
#define RND_MONEY_MIN_W 12
#define RND_LABEL_W 16      /* header labels */
#define RND_REASON_W 24     /* longest reason name is 23 */

/* A string of a fixed field, bounded by the field's size: a field filled to its last byte
 * without a NUL is still read safely. */
typedef struct rnd_str {
    const char *p;
    size_t n;
} rnd_str;

#define RND_FIELD(arr) rnd_field((arr), sizeof(arr))

static rnd_str rnd_field(const char *s, size_t cap) {
    rnd_str r = {s, s ? strnlen(s, cap) : 0};
    return r;
}

static rnd_str rnd_cstr(const char *s) {
    rnd_str r = {s ? s : "", s ? strlen(s) : 0};
    return r;
}

/* ------------------------------------------------------------------ numbers and dates */

static int rnd_decimals(const aj_invoice *inv) {
    return inv->decimals < 0 ? 0 : inv->decimals > 6 ? 6 : inv->decimals;
}

/* Copies the decimal number num into out with ',' between groups of three integer digits. */
static char *rnd_group(const char *num, char *out, size_t len) {
    size_t i = 0, o = 0, digits;

    if (len < RND_AMOUNT_LEN) {
        snprintf(out, len, "%s", num);
        return out;
    }
    if (num[0] == '-' || num[0] == '+') out[o++] = num[i++];
    digits = strspn(num + i, "0123456789");
    if (digits > 20) digits = 20;   /* no int64 has more */
    for (size_t k = 0; k < digits; k++) {
        if (k && (digits - k) % 3 == 0) out[o++] = ',';
        out[o++] = num[i + k];
    }
    snprintf(out + o, len - o, "%s", num + i + digits);
    return out;
}

/* m at `decimals`, rounded half up (display only; the exact amount is in the invoice), with
 * separators; a leading '+' on positive amounts when sign is set. buf: RND_AMOUNT_LEN bytes. */
static const char *rnd_money(aj_money m, int decimals, int sign, char *buf, size_t len) {
    char raw[40];
    aj_money r;

    if (aj_money_round(m, decimals, AJ_ROUND_HALF_UP, &r) != AJ_E_OK) r = m;   /* at the int64 edge */
    raw[0] = '+';
    aj_money_format(r, decimals, raw + 1, sizeof(raw) - 1);
    return rnd_group(sign && r > 0 ? raw : raw + 1, buf, len);
}

/* b - a as rnd_money, or "overflow" when the difference does not fit. */
static const char *rnd_diff(aj_money b, aj_money a, int decimals, char *buf, size_t len) {
    aj_money d;
    if (aj_money_sub(b, a, &d) != AJ_E_OK) {
        snprintf(buf, len, "overflow");
        return buf;
    }
    return rnd_money(d, decimals, 1, buf, len);
}

/* -m as rnd_money (overcharges are stored positive and shown as the reduction they are). */
static const char *rnd_neg(aj_money m, int decimals, char *buf, size_t len) {
    return rnd_diff(0, m, decimals, buf, len);
}

static const char *rnd_int(int64_t v, char *buf, size_t len) {
    char raw[32];
    snprintf(raw, sizeof(raw), "%lld", (long long)v);
    return rnd_group(raw, buf, len);
}

const char *aj_render_amount(aj_money m, int decimals, int sign, char *buf, size_t len) {
    return rnd_money(m, decimals < 0 ? 0 : decimals > 6 ? 6 : decimals, sign, buf, len);
}

const char *aj_render_int(int64_t v, char *buf, size_t len) {
    return rnd_int(v, buf, len);
}

static int64_t rnd_floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static const char *rnd_date(int64_t days, char *buf, size_t len) {
    int32_t y;
    int m, d;
    aj_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", (int)y, m, d);
    return buf;
}

static int rnd_has_dates(const aj_invoice *inv) {
    return inv->issue_date != 0 || inv->due_date != 0;
}

/*
 * First and last local day of the period. The invoice carries no time zone, but its issue date
 * is the local date of the period end (schema invoice.v2 "issue_date"), which gives the zone's
 * offset there; the start, a local midnight too, is read with that offset and three hours of
 * slack for a daylight-saving change inside the period. Without dates: UTC days.
 */
static void rnd_period(const aj_invoice *inv, int64_t *first, int64_t *last) {
    int64_t off = 0, local;
    int local_dates = 0;

    if (rnd_has_dates(inv) && !__builtin_sub_overflow((int64_t)inv->issue_date * RND_DAY_MS, inv->period_end_ms, &off) &&
        off >= -15 * RND_HOUR_MS && off <= 15 * RND_HOUR_MS)
        local_dates = 1;
    if (local_dates && !__builtin_add_overflow(inv->period_start_ms, off + 3 * RND_HOUR_MS, &local)) {
        *first = rnd_floor_div(local, RND_DAY_MS);
        *last = (int64_t)inv->issue_date - 1;
        return;
    }
    *first = rnd_floor_div(inv->period_start_ms, RND_DAY_MS);
    *last = rnd_floor_div(inv->period_end_ms > INT64_MIN ? inv->period_end_ms - 1 : INT64_MIN, RND_DAY_MS);
}

static int rnd_is_memo(const aj_invoice_line *l) {
    return l->memo || l->kind == AJ_LINE_DISCOUNT || l->kind == AJ_LINE_PROMOTION;
}

/* "N unit"/"N units" with separators. */
static const char *rnd_count(int64_t v, const char *one, const char *many, char *buf, size_t len) {
    char n[RND_AMOUNT_LEN];
    snprintf(buf, len, "%s %s", rnd_int(v, n, sizeof(n)), v == 1 ? one : many);
    return buf;
}

/* A decimal (SI) size of bytes: 999 B, 1.50 kB, 12.34 MB, ... (truncated, display only). */
static const char *rnd_bytes(int64_t v, char *buf, size_t len) {
    static const char *const unit[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
    int64_t scale = 1000;
    int u = 0;
    char n[RND_AMOUNT_LEN];

    if (v < 1000) {
        snprintf(buf, len, "%lld B", (long long)v);
        return buf;
    }
    while (u < 5 && v / scale >= 1000) {
        scale *= 1000;
        u++;
    }
    snprintf(buf, len, "%s.%02lld %s", rnd_int(v / scale, n, sizeof(n)), (long long)(v % scale / (scale / 100)), unit[u]);
    return buf;
}

/* The quantity of a line with its unit: minutes and seconds, messages, bytes, units, a tax's base. */
static const char *rnd_quantity(const aj_invoice_line *l, int decimals, char *buf, size_t len) {
    char n[RND_AMOUNT_LEN];

    buf[0] = '\0';
    if (rnd_is_memo(l)) return rnd_count(l->records, "record", "records", buf, len);
    switch (l->kind) {
    case AJ_LINE_TAX: snprintf(buf, len, "on %s", rnd_money(l->quantity, decimals, 0, n, sizeof(n))); return buf;
    case AJ_LINE_CREDIT:
        if (l->quantity) rnd_int(l->quantity, buf, len);
        return buf;
    case AJ_LINE_RECURRING:
    case AJ_LINE_LATE_RECURRING:
    case AJ_LINE_ONE_TIME:
    case AJ_LINE_LATE_ONE_TIME: return rnd_count(l->quantity, "unit", "units", buf, len);
    default: break;
    }
    if (l->quantity < 0) return rnd_int(l->quantity, buf, len);
    switch (l->service) {
    case AJ_SERVICE_VOICE:
        if (l->quantity % 60)
            snprintf(buf, len, "%s min %02lld s", rnd_int(l->quantity / 60, n, sizeof(n)), (long long)(l->quantity % 60));
        else
            snprintf(buf, len, "%s min", rnd_int(l->quantity / 60, n, sizeof(n)));
        return buf;
    case AJ_SERVICE_SMS:
    case AJ_SERVICE_MMS: return rnd_count(l->quantity, "msg", "msgs", buf, len);
    case AJ_SERVICE_DATA: return rnd_bytes(l->quantity, buf, len);
    default: return rnd_int(l->quantity, buf, len);
    }
}

/* What a disposition means on this invoice. */
static const char *rnd_disposition_note(aj_disposition d) {
    switch (d) {
    case AJ_DISP_APPLY: return "";
    case AJ_DISP_FLAG: return "advisory, not billed";
    case AJ_DISP_HOLD: return "held for review";
    default: return "unknown disposition";
    }
}

/*
 * What an adjustment entry is: "N corrections" of its reason, except a TAX_BASE entry, which is
 * no correction but the tax line following the corrections of its base (docs/invoice.md,
 * "Taxes on the invoice"); its count says nothing to the reader. buf: RND_TEXT_LEN bytes.
 */
static const char *rnd_adjustment_what(const aj_invoice_adjustment *a, char *buf, size_t len) {
    if (a->reason == AJ_ADJ_TAX_BASE) {
        snprintf(buf, len, "follows its base");
        return buf;
    }
    return rnd_count(a->count, "correction", "corrections", buf, len);
}

static const char *rnd_status_note(aj_invoice_status s) {
    switch (s) {
    case AJ_INV_ISSUED: return "issued";
    case AJ_INV_HELD: return "held for review, not issued";
    case AJ_INV_RELEASED: return "released after review";
    default: return "unknown status";
    }
}

static const char *rnd_description(const aj_invoice_line *l, rnd_str *s) {
    *s = RND_FIELD(l->description);
    if (!s->n) *s = RND_FIELD(l->line_id);
    return s->p;
}

/* The advisory sentence: the flagged amounts, each only when not zero. */
static const char *rnd_advisory(const aj_invoice *inv, int dec, char *buf, size_t len) {
    char a[RND_AMOUNT_LEN], b[RND_AMOUNT_LEN], over[96] = "", under[96] = "";

    if (inv->flagged_overcharge)
        snprintf(over, sizeof(over), "overcharges of %s", rnd_money(inv->flagged_overcharge, dec, 0, a, sizeof(a)));
    if (inv->flagged_undercharge)
        snprintf(under, sizeof(under), "undercharges of %s", rnd_money(inv->flagged_undercharge, dec, 0, b, sizeof(b)));
    snprintf(buf, len, "%s%s%s found by corrections flagged for review; not on this invoice.", over,
             over[0] && under[0] ? " and " : "", under);
    return buf;
}

/* ------------------------------------------------------------------ text */

/* Characters shown: UTF-8 continuation bytes take no column. */
static int rnd_width(rnd_str s) {
    int w = 0;
    for (size_t i = 0; i < s.n; i++) w += ((unsigned char)s.p[i] & 0xC0) != 0x80;
    return w;
}

/* Writes s with control characters as spaces, so that no field can break the layout. */
static void rnd_put(FILE *out, rnd_str s) {
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
    }
}

static void rnd_spaces(FILE *out, int n) {
    for (; n > 0; n--) fputc(' ', out);
}

/* s left-aligned (or right-aligned) in width columns; longer strings are written whole. */
static void rnd_cell(FILE *out, rnd_str s, int width, int right) {
    int pad = width - rnd_width(s);
    if (right) rnd_spaces(out, pad);
    rnd_put(out, s);
    if (!right) rnd_spaces(out, pad);
}

/*
 * The next piece of *rest at most width columns wide, broken after a space when there is
 * one, else at width characters; *rest moves past it and the spaces that follow.
 */
static rnd_str rnd_wrap_next(rnd_str *rest, int width) {
    rnd_str piece = *rest;
    size_t cut = 0, brk = 0;
    int w = 0;

    if (rnd_width(*rest) <= width) {
        rest->p += rest->n;
        rest->n = 0;
        return piece;
    }
    while (cut < rest->n) {
        if (((unsigned char)rest->p[cut] & 0xC0) != 0x80) {
            if (w == width) break;
            w++;
        }
        if (rest->p[cut] == ' ') brk = cut;
        cut++;
    }
    if (brk > 0) cut = brk;
    piece.n = cut;
    while (cut < rest->n && rest->p[cut] == ' ') cut++;
    rest->p += cut;
    rest->n -= cut;
    return piece;
}

/* Writes s wrapped to width, every line after the first indented by indent columns. */
static void rnd_wrapped(FILE *out, rnd_str s, int indent, int width) {
    int first = 1;
    if (width < 20) width = 20;
    do {
        if (!first) rnd_spaces(out, indent);
        rnd_put(out, rnd_wrap_next(&s, width));
        fputc('\n', out);
        first = 0;
    } while (s.n);
}

typedef struct rnd_cols {
    int desc, qty, money, width;   /* width: a whole row, after its two-space margin */
} rnd_cols;

static void rnd_widen(int *w, const char *s) {
    int n = rnd_width(rnd_cstr(s));
    if (n > *w) *w = n;
}

/* Column widths that fit every quantity and amount of the invoice. */
static rnd_cols rnd_text_columns(const aj_invoice *inv, int dec) {
    rnd_cols c = {RND_DESC_MIN_W, RND_QTY_MIN_W, RND_MONEY_MIN_W, 0};
    char buf[RND_AMOUNT_LEN];
    const aj_money totals[] = {inv->legacy_total, inv->corrected_total, inv->overcharge_removed,
                               inv->undercharge_added, inv->tax_total, inv->credit_total, inv->amount_due};

    c.desc = RND_DESC_MIN_W;
    for (size_t i = 0; i < inv->n_lines; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        rnd_str desc;
        rnd_description(l, &desc);
        int w = rnd_width(desc);
        if (!rnd_is_memo(l) && w > c.desc) c.desc = w < RND_DESC_MAX_W ? w : RND_DESC_MAX_W;
        rnd_widen(&c.qty, rnd_quantity(l, dec, buf, sizeof(buf)));
        rnd_widen(&c.money, rnd_money(l->legacy_amount, dec, 0, buf, sizeof(buf)));
        rnd_widen(&c.money, rnd_money(l->billed_amount, dec, 0, buf, sizeof(buf)));
        rnd_widen(&c.money, rnd_money(l->corrected_amount, dec, 0, buf, sizeof(buf)));
        rnd_widen(&c.money, rnd_diff(l->billed_amount, l->legacy_amount, dec, buf, sizeof(buf)));
    }
    for (size_t i = 0; i < inv->n_adjustments; i++)
        rnd_widen(&c.money, rnd_money(inv->adjustments[i].delta, dec, 1, buf, sizeof(buf)));
    for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++)
        rnd_widen(&c.money, rnd_neg(totals[i], dec, buf, sizeof(buf)));   /* the longer of m and -m */
    c.width = c.desc + 1 + c.qty + 3 * (1 + c.money);
    return c;
}

/* One row of the lines table; a long description wraps, the numbers stay on its first line.
 * Empty cells at the end of the row are left out (no trailing spaces). */
static void rnd_text_row(FILE *out, const rnd_cols *c, rnd_str desc, const char *qty, const char *a,
                         const char *b, const char *d) {
    const char *cells[] = {qty, a, b, d};
    const int widths[] = {c->qty, c->money, c->money, c->money};
    rnd_str rest = desc;
    rnd_str first = rnd_wrap_next(&rest, c->desc);
    int last = 3;

    while (last >= 0 && !cells[last][0]) last--;
    fputs("  ", out);
    rnd_cell(out, first, last >= 0 ? c->desc : 0, 0);
    for (int i = 0; i <= last; i++) {
        fputc(' ', out);
        rnd_cell(out, rnd_cstr(cells[i]), widths[i], 1);
    }
    fputc('\n', out);
    while (rest.n) {   /* continuation lines indented, so that they do not read as lines of their own */
        fputs("    ", out);
        rnd_put(out, rnd_wrap_next(&rest, c->desc - 2));
        fputc('\n', out);
    }
}

/* The adjustments of line i, indented under it, their amount in the Difference column. */
static void rnd_text_adjustments(FILE *out, const aj_invoice *inv, const rnd_cols *c, size_t i, int dec) {
    for (size_t k = 0; k < inv->n_adjustments; k++) {
        const aj_invoice_adjustment *a = &inv->adjustments[k];
        char label[128], what[RND_TEXT_LEN], amount[RND_AMOUNT_LEN];
        const char *note = rnd_disposition_note(a->disposition);
        if (a->line != i) continue;
        snprintf(label, sizeof(label), "      %-*s %-5s %s%s%s%s", RND_REASON_W - 1, aj_adjustment_reason_name(a->reason),
                 aj_disposition_name(a->disposition), rnd_adjustment_what(a, what, sizeof(what)),
                 *note ? " (" : "", note, *note ? ")" : "");
        rnd_cell(out, rnd_cstr(label), 2 + c->desc + 1 + c->qty + 1 + c->money + 1 + c->money, 0);
        fputc(' ', out);
        rnd_cell(out, rnd_cstr(rnd_money(a->delta, dec, 1, amount, sizeof(amount))), c->money, 1);
        fputc('\n', out);
    }
}

static void rnd_text_section(FILE *out, const aj_invoice *inv, const rnd_cols *c, const char *title,
                             int (*member)(const aj_invoice_line *), int dec) {
    int any = 0;
    for (size_t i = 0; i < inv->n_lines; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        char qty[RND_TEXT_LEN], a[RND_AMOUNT_LEN], b[RND_AMOUNT_LEN], d[RND_AMOUNT_LEN];
        rnd_str desc;
        if (!member(l)) continue;
        if (!any) fprintf(out, "  %s\n", title);
        any = 1;
        rnd_description(l, &desc);
        rnd_text_row(out, c, desc, rnd_quantity(l, dec, qty, sizeof(qty)), rnd_money(l->legacy_amount, dec, 0, a, sizeof(a)),
                     rnd_money(l->billed_amount, dec, 0, b, sizeof(b)),
                     rnd_diff(l->billed_amount, l->legacy_amount, dec, d, sizeof(d)));
        rnd_text_adjustments(out, inv, c, i, dec);
    }
    if (any) fputc('\n', out);
}

static int rnd_is_charge(const aj_invoice_line *l) {
    return !rnd_is_memo(l) && l->kind != AJ_LINE_TAX && l->kind != AJ_LINE_CREDIT;
}

static int rnd_is_tax(const aj_invoice_line *l) {
    return !rnd_is_memo(l) && l->kind == AJ_LINE_TAX;
}

static int rnd_is_credit(const aj_invoice_line *l) {
    return !rnd_is_memo(l) && l->kind == AJ_LINE_CREDIT;
}

static void rnd_text_label(FILE *out, const char *label) {
    fprintf(out, "%-*s", RND_LABEL_W, label);
}

static void rnd_text_header(FILE *out, const aj_invoice *inv, int width) {
    char d1[RND_TEXT_LEN], d2[RND_TEXT_LEN];
    int64_t first, last;

    fputs("INVOICE ", out);
    rnd_put(out, RND_FIELD(inv->invoice_id));
    fputc('\n', out);
    for (int i = 0; i < width + 2; i++) fputc('=', out);
    fputc('\n', out);
    if (inv->status == AJ_INV_HELD) fputs("*** HELD FOR REVIEW: NOT ISSUED, DO NOT SEND ***\n", out);
    rnd_text_label(out, "Status");
    fputs(aj_invoice_status_name(inv->status), out);
    if (inv->status != AJ_INV_ISSUED) fprintf(out, " (%s)", rnd_status_note(inv->status));
    fputc('\n', out);
    if (inv->status != AJ_INV_ISSUED && RND_FIELD(inv->status_reason).n) {
        rnd_text_label(out, "Status reason");
        rnd_wrapped(out, RND_FIELD(inv->status_reason), RND_LABEL_W, width + 2 - RND_LABEL_W);
    }
    rnd_text_label(out, "Account");
    rnd_put(out, RND_FIELD(inv->account));
    fputc('\n', out);
    rnd_text_label(out, "Billing cycle");
    rnd_put(out, RND_FIELD(inv->cycle_id));
    fprintf(out, ", revision %d\n", (int)inv->revision);
    rnd_period(inv, &first, &last);
    rnd_text_label(out, "Period");
    fprintf(out, "%s to %s\n", rnd_date(first, d1, sizeof(d1)), rnd_date(last, d2, sizeof(d2)));
    rnd_text_label(out, "Issue date");
    fprintf(out, "%s\n", rnd_has_dates(inv) ? rnd_date(inv->issue_date, d1, sizeof(d1)) : "-");
    rnd_text_label(out, "Due date");
    fprintf(out, "%s\n", rnd_has_dates(inv) ? rnd_date(inv->due_date, d1, sizeof(d1)) : "-");
    rnd_text_label(out, "Currency");
    rnd_put(out, RND_FIELD(inv->currency));
    fprintf(out, " (%d decimals)\n", rnd_decimals(inv));
    rnd_text_label(out, "Contract");
    rnd_put(out, RND_FIELD(inv->contract_id).n ? RND_FIELD(inv->contract_id) : rnd_cstr("-"));
    fprintf(out, ", version%s", inv->n_versions == 1 ? "" : "s");
    for (size_t i = 0; i < inv->n_versions; i++) fprintf(out, "%s %d", i ? "," : "", (int)inv->versions[i]);
    if (!inv->n_versions) fputs(" -", out);
    fputs("\n\n", out);
}

static void rnd_text_total(FILE *out, const rnd_cols *c, const char *label, const char *amount) {
    int lw = 2 * c->money + 1;   /* labels sit over the Original and Corrected columns */
    rnd_spaces(out, 2 + c->desc + 1 + c->qty + 1);
    rnd_cell(out, rnd_cstr(label), lw, 0);
    fputc(' ', out);
    rnd_cell(out, rnd_cstr(amount), c->money, 1);
    fputc('\n', out);
}

void aj_invoice_print_text(FILE *out, const aj_invoice *inv) {
    const int dec = rnd_decimals(inv);
    const rnd_cols c = rnd_text_columns(inv, dec);
    char a[RND_AMOUNT_LEN], b[RND_AMOUNT_LEN], label[64];
    size_t n_reasons = inv->n_reasons < AJ_REASON__COUNT ? inv->n_reasons : AJ_REASON__COUNT;
    int memo = 0;

    rnd_text_header(out, inv, c.width);

    /* The lines. */
    fputs("  ", out);
    rnd_cell(out, rnd_cstr("Description"), c.desc, 0);
    fputc(' ', out);
    rnd_cell(out, rnd_cstr("Quantity"), c.qty, 1);
    fputc(' ', out);
    rnd_cell(out, rnd_cstr("Original"), c.money, 1);
    fputc(' ', out);
    rnd_cell(out, rnd_cstr("Corrected"), c.money, 1);
    fputc(' ', out);
    rnd_cell(out, rnd_cstr("Difference"), c.money, 1);
    fputs("\n  ", out);
    for (int i = 0; i < c.width; i++) fputc('-', out);
    fputc('\n', out);
    if (!inv->n_lines) fputs("  (no lines)\n\n", out);
    rnd_text_section(out, inv, &c, "Charges", rnd_is_charge, dec);
    rnd_text_section(out, inv, &c, "Taxes", rnd_is_tax, dec);
    rnd_text_section(out, inv, &c, "Credits", rnd_is_credit, dec);

    /* The totals. */
    fputs("  ", out);
    for (int i = 0; i < c.width; i++) fputc('-', out);
    fputc('\n', out);
    rnd_text_total(out, &c, "Original total", rnd_money(inv->legacy_total, dec, 0, a, sizeof(a)));
    rnd_text_total(out, &c, "Overcharges removed", rnd_neg(inv->overcharge_removed, dec, a, sizeof(a)));
    rnd_text_total(out, &c, "Undercharges added", rnd_money(inv->undercharge_added, dec, 1, a, sizeof(a)));
    rnd_text_total(out, &c, "Corrected total", rnd_money(inv->corrected_total, dec, 0, a, sizeof(a)));
    rnd_text_total(out, &c, "  of which taxes", rnd_money(inv->tax_total, dec, 0, a, sizeof(a)));
    rnd_text_total(out, &c, "  of which credits", rnd_money(inv->credit_total, dec, 0, a, sizeof(a)));
    rnd_spaces(out, 2 + c.desc + 1 + c.qty + 1);
    for (int i = 0; i < 3 * c.money + 2; i++) fputc('=', out);
    fputc('\n', out);
    snprintf(label, sizeof(label), "AMOUNT DUE (%.*s)", (int)RND_FIELD(inv->currency).n, inv->currency);
    rnd_text_total(out, &c, label, rnd_money(inv->amount_due, dec, 0, a, sizeof(a)));
    fputc('\n', out);
    if (inv->flagged_overcharge || inv->flagged_undercharge) {
        char text[256];
        rnd_advisory(inv, dec, text, sizeof(text));
        fputs("Advisory (not billed): ", out);
        rnd_wrapped(out, rnd_cstr(text), 2, c.width - 21);
        fputc('\n', out);
    }

    /* The memo lines: already inside the charges above, never added. */
    for (size_t i = 0; i < inv->n_lines; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        char qty[RND_TEXT_LEN];
        rnd_str desc;
        if (!rnd_is_memo(l)) continue;
        if (!memo) fputs("Included above (memo lines: discounts and promotions inside the charges, not added again)\n", out);
        memo = 1;
        rnd_description(l, &desc);
        rnd_text_row(out, &c, desc, rnd_quantity(l, dec, qty, sizeof(qty)), "",
                     rnd_money(l->corrected_amount, dec, 0, a, sizeof(a)), "");
        rnd_text_adjustments(out, inv, &c, i, dec);
    }
    if (memo) fputc('\n', out);

    /* The corrections by reason. */
    if (n_reasons) {
        fprintf(out, "Corrections by reason\n  %-*s %11s ", RND_REASON_W, "Reason", "Count");
        rnd_cell(out, rnd_cstr("Found"), c.money, 1);
        fputc(' ', out);
        rnd_cell(out, rnd_cstr("Applied"), c.money, 1);
        fputc('\n', out);
    }
    for (size_t i = 0; i < n_reasons; i++) {
        const aj_reason_summary *r = &inv->reasons[i];
        char count[RND_AMOUNT_LEN];
        fprintf(out, "  %-*s %11s ", RND_REASON_W, aj_reason_name(r->reason), rnd_int(r->count, count, sizeof(count)));
        rnd_cell(out, rnd_cstr(rnd_money(r->delta, dec, 1, a, sizeof(a))), c.money, 1);
        fputc(' ', out);
        rnd_cell(out, rnd_cstr(rnd_money(r->applied, dec, 1, b, sizeof(b))), c.money, 1);
        fputs("\n    ", out);
        rnd_wrapped(out, rnd_cstr(aj_reason_desc(r->reason)), 4, c.width - 2);
    }
}

/* ------------------------------------------------------------------ HTML */

/* Writes s HTML-escaped (text and attribute values); control characters become spaces. */
static void rnd_html_put(FILE *out, rnd_str s) {
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        switch (c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(c < 0x20 || c == 0x7f ? ' ' : c, out); break;
        }
    }
}

static void rnd_html_text(FILE *out, const char *s) {
    rnd_html_put(out, rnd_cstr(s));
}

void aj_render_csv_field(FILE *out, const char *s) {
    size_t n = strlen(s);
    if (!strpbrk(s, ",\"\r\n") && !(n && (s[0] == ' ' || s[n - 1] == ' '))) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void aj_render_html_text(FILE *out, const char *s) {
    rnd_html_text(out, s);
}

static const char rnd_css[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#eef0f3;color:#1b1f24;font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,sans-serif}\n"
    "main{max-width:1000px;margin:24px auto;background:#fff;padding:32px 40px;box-shadow:0 1px 4px rgba(0,0,0,.15)}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    "h2{font-size:15px;margin:28px 0 6px;text-transform:uppercase;letter-spacing:.06em;color:#444}\n"
    ".top{display:flex;justify-content:space-between;align-items:flex-start;gap:24px;flex-wrap:wrap}\n"
    ".badge{display:inline-block;padding:2px 10px;border-radius:3px;font-weight:600;font-size:12px;"
    "letter-spacing:.05em}\n"
    ".st-ISSUED{background:#e3f4e8;color:#1e6b35}.st-HELD{background:#fde7e7;color:#a50e0e}"
    ".st-RELEASED{background:#e6eefc;color:#1a4a9c}\n"
    ".held{border:2px solid #a50e0e;color:#a50e0e;padding:8px 12px;font-weight:600;margin:12px 0}\n"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 18px;margin:14px 0 0}\n"
    "dl.meta dt{color:#5a6270}dl.meta dd{margin:0}\n"
    ".due{border:2px solid #1b1f24;padding:12px 20px;text-align:right;min-width:240px}\n"
    ".due .lbl{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:#5a6270}\n"
    ".due .big{font-size:30px;font-weight:700;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "table{width:100%;border-collapse:collapse;margin:6px 0 0}\n"
    "th,td{padding:4px 8px;vertical-align:top}\n"
    "thead th{text-align:left;border-bottom:2px solid #1b1f24;font-size:12px;text-transform:uppercase;"
    "letter-spacing:.05em}\n"
    ".num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "tr.sect th{text-align:left;padding-top:14px;border-bottom:1px solid #9aa1ab;font-size:13px}\n"
    "tr.line td{border-top:1px solid #dde1e6}\n"
    "tr.adj td{font-size:12px;color:#4a515c;padding-top:1px;padding-bottom:1px}\n"
    "tr.adj td.lbl{padding-left:32px}\n"
    "tr.adj.FLAG td{color:#8a5a00;font-style:italic}\n"
    ".code{font-family:ui-monospace,\"SFMono-Regular\",Menlo,Consolas,monospace;font-size:12px}\n"
    "table.totals{width:auto;min-width:380px;margin-left:auto;margin-top:16px}\n"
    "table.totals th{text-align:left;font-weight:400}\n"
    "table.totals tr.sub th{padding-left:24px;color:#4a515c}\n"
    "table.totals tr.ct th,table.totals tr.ct td{border-top:1px solid #1b1f24;font-weight:600}\n"
    "table.totals tr.ad th,table.totals tr.ad td{border-top:3px double #1b1f24;font-weight:700;font-size:18px}\n"
    ".advisory{border-left:4px solid #e0a800;background:#fff8e1;padding:8px 12px;margin:16px 0}\n"
    ".muted{color:#5a6270}\n"
    "footer{margin-top:28px;font-size:12px;color:#5a6270}\n"
    "@page{margin:14mm}\n"
    "@media print{body{background:#fff;font-size:11pt}main{box-shadow:none;margin:0;max-width:none;padding:0}"
    "tr{break-inside:avoid}h2{break-after:avoid}.due{border-width:1px}}\n";

static void rnd_html_amount_cell(FILE *out, const char *id, aj_money m, const char *text) {
    fputs("<td class=\"num\"", out);
    if (id) fprintf(out, " id=\"%s\" data-micro=\"%lld\"", id, (long long)m);
    fputc('>', out);
    rnd_html_text(out, text);
    fputs("</td>", out);
}

static void rnd_html_adjustments(FILE *out, const aj_invoice *inv, size_t i, int dec) {
    for (size_t k = 0; k < inv->n_adjustments; k++) {
        const aj_invoice_adjustment *a = &inv->adjustments[k];
        char what[RND_TEXT_LEN], amount[RND_AMOUNT_LEN];
        const char *note = rnd_disposition_note(a->disposition);
        if (a->line != i) continue;
        fprintf(out, "<tr class=\"adj %s\"><td class=\"lbl\" colspan=\"4\"><span class=\"code\">", aj_disposition_name(a->disposition));
        rnd_html_text(out, aj_adjustment_reason_name(a->reason));
        fprintf(out, "</span> &middot; %s &middot; ", aj_disposition_name(a->disposition));
        rnd_html_text(out, rnd_adjustment_what(a, what, sizeof(what)));
        if (*note) fprintf(out, " &middot; %s", note);
        fputs("</td>", out);
        rnd_html_amount_cell(out, NULL, a->delta, rnd_money(a->delta, dec, 1, amount, sizeof(amount)));
        fputs("</tr>\n", out);
    }
}

static void rnd_html_section(FILE *out, const aj_invoice *inv, const char *title,
                             int (*member)(const aj_invoice_line *), int dec) {
    int any = 0;
    for (size_t i = 0; i < inv->n_lines; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        char qty[RND_TEXT_LEN], a[RND_AMOUNT_LEN];
        rnd_str desc;
        if (!member(l)) continue;
        if (!any) fprintf(out, "<tr class=\"sect\"><th colspan=\"5\">%s</th></tr>\n", title);
        any = 1;
        fputs("<tr class=\"line\" title=\"", out);
        rnd_html_put(out, RND_FIELD(l->line_id));
        fputs("\"><td>", out);
        rnd_description(l, &desc);
        rnd_html_put(out, desc);
        fputs("</td><td class=\"num\">", out);
        rnd_html_text(out, rnd_quantity(l, dec, qty, sizeof(qty)));
        fputs("</td>", out);
        rnd_html_amount_cell(out, NULL, l->legacy_amount, rnd_money(l->legacy_amount, dec, 0, a, sizeof(a)));
        rnd_html_amount_cell(out, NULL, l->billed_amount, rnd_money(l->billed_amount, dec, 0, a, sizeof(a)));
        rnd_html_amount_cell(out, NULL, 0, rnd_diff(l->billed_amount, l->legacy_amount, dec, a, sizeof(a)));
        fputs("</tr>\n", out);
        rnd_html_adjustments(out, inv, i, dec);
    }
}

static void rnd_html_meta(FILE *out, const char *label, rnd_str value) {
    fprintf(out, "<dt>%s</dt><dd>", label);
    rnd_html_put(out, value);
    fputs("</dd>\n", out);
}

static void rnd_html_total(FILE *out, const char *cls, const char *label, const char *id, aj_money m,
                           const char *text) {
    fprintf(out, "<tr class=\"%s\"><th scope=\"row\">", cls);
    rnd_html_text(out, label);
    fputs("</th>", out);
    rnd_html_amount_cell(out, id, m, text);
    fputs("</tr>\n", out);
}

aj_err aj_invoice_write_html(FILE *out, const aj_invoice *inv) {
    const int dec = rnd_decimals(inv);
    char a[RND_AMOUNT_LEN], d1[RND_TEXT_LEN], d2[RND_TEXT_LEN], text[256];
    const char *status = aj_invoice_status_name(inv->status);
    rnd_str currency = RND_FIELD(inv->currency);
    size_t n_reasons = inv->n_reasons < AJ_REASON__COUNT ? inv->n_reasons : AJ_REASON__COUNT;
    int64_t first, last;
    int memo = 0;

    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Invoice ", out);
    rnd_html_put(out, RND_FIELD(inv->invoice_id));
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", rnd_css);

    /* Header and the amount due. */
    fputs("<div class=\"top\">\n<div>\n<h1>Invoice <span class=\"code\">", out);
    rnd_html_put(out, RND_FIELD(inv->invoice_id));
    fprintf(out, "</span></h1>\n<span class=\"badge st-%s\">%s</span>", status, status);
    if (inv->status != AJ_INV_ISSUED) fprintf(out, " <span class=\"muted\">%s</span>", rnd_status_note(inv->status));
    fputc('\n', out);
    fputs("<dl class=\"meta\">\n", out);
    if (inv->status != AJ_INV_ISSUED && RND_FIELD(inv->status_reason).n)
        rnd_html_meta(out, "Status reason", RND_FIELD(inv->status_reason));
    rnd_html_meta(out, "Account", RND_FIELD(inv->account));
    snprintf(text, sizeof(text), "%.*s, revision %d", (int)RND_FIELD(inv->cycle_id).n, inv->cycle_id, (int)inv->revision);
    rnd_html_meta(out, "Billing cycle", rnd_cstr(text));
    rnd_period(inv, &first, &last);
    snprintf(text, sizeof(text), "%s to %s", rnd_date(first, d1, sizeof(d1)), rnd_date(last, d2, sizeof(d2)));
    rnd_html_meta(out, "Period", rnd_cstr(text));
    rnd_html_meta(out, "Issue date", rnd_cstr(rnd_has_dates(inv) ? rnd_date(inv->issue_date, d1, sizeof(d1)) : "-"));
    rnd_html_meta(out, "Due date", rnd_cstr(rnd_has_dates(inv) ? rnd_date(inv->due_date, d1, sizeof(d1)) : "-"));
    snprintf(text, sizeof(text), "%.*s (%d decimals)", (int)currency.n, inv->currency, dec);
    rnd_html_meta(out, "Currency", rnd_cstr(text));
    fputs("<dt>Contract</dt><dd><span class=\"code\">", out);
    rnd_html_put(out, RND_FIELD(inv->contract_id).n ? RND_FIELD(inv->contract_id) : rnd_cstr("-"));
    fprintf(out, "</span>, version%s", inv->n_versions == 1 ? "" : "s");
    for (size_t i = 0; i < inv->n_versions; i++) fprintf(out, "%s %d", i ? "," : "", (int)inv->versions[i]);
    if (!inv->n_versions) fputs(" -", out);
    fputs("</dd>\n</dl>\n</div>\n<div class=\"due\">\n<div class=\"lbl\">Amount due</div>\n<div class=\"big\">", out);
    rnd_html_text(out, rnd_money(inv->amount_due, dec, 0, a, sizeof(a)));
    fputc(' ', out);
    rnd_html_put(out, currency);
    fputs("</div>\n<div class=\"muted\">", out);
    if (rnd_has_dates(inv)) fprintf(out, "due %s", rnd_date(inv->due_date, d1, sizeof(d1)));
    fputs("</div>\n</div>\n</div>\n", out);
    if (inv->status == AJ_INV_HELD) fputs("<p class=\"held\">Held for review: this invoice is not issued. Do not send it.</p>\n", out);

    /* The lines. */
    fputs("<h2>Lines</h2>\n<table class=\"lines\">\n<thead><tr><th>Description</th><th class=\"num\">Quantity</th>"
          "<th class=\"num\">Original</th><th class=\"num\">Corrected</th><th class=\"num\">Difference</th></tr></thead>\n"
          "<tbody>\n", out);
    if (!inv->n_lines) fputs("<tr><td colspan=\"5\" class=\"muted\">No lines.</td></tr>\n", out);
    rnd_html_section(out, inv, "Charges", rnd_is_charge, dec);
    rnd_html_section(out, inv, "Taxes", rnd_is_tax, dec);
    rnd_html_section(out, inv, "Credits", rnd_is_credit, dec);
    fputs("</tbody>\n</table>\n", out);

    /* The totals. */
    fputs("<table class=\"totals\">\n<tbody>\n", out);
    rnd_html_total(out, "lt", "Original total", "legacy-total", inv->legacy_total,
                   rnd_money(inv->legacy_total, dec, 0, a, sizeof(a)));
    rnd_html_total(out, "", "Overcharges removed", NULL, 0, rnd_neg(inv->overcharge_removed, dec, a, sizeof(a)));
    rnd_html_total(out, "", "Undercharges added", NULL, 0, rnd_money(inv->undercharge_added, dec, 1, a, sizeof(a)));
    rnd_html_total(out, "ct", "Corrected total", "corrected-total", inv->corrected_total,
                   rnd_money(inv->corrected_total, dec, 0, a, sizeof(a)));
    rnd_html_total(out, "sub", "of which taxes", NULL, 0, rnd_money(inv->tax_total, dec, 0, a, sizeof(a)));
    rnd_html_total(out, "sub", "of which credits", NULL, 0, rnd_money(inv->credit_total, dec, 0, a, sizeof(a)));
    snprintf(text, sizeof(text), "AMOUNT DUE (%.*s)", (int)currency.n, inv->currency);
    rnd_html_total(out, "ad", text, "amount-due", inv->amount_due, rnd_money(inv->amount_due, dec, 0, a, sizeof(a)));
    fputs("</tbody>\n</table>\n", out);
    if (inv->flagged_overcharge || inv->flagged_undercharge)
        fprintf(out, "<p class=\"advisory\"><strong>Advisory (not billed):</strong> %s</p>\n",
                rnd_advisory(inv, dec, text, sizeof(text)));

    /* The memo lines. */
    for (size_t i = 0; i < inv->n_lines; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        char qty[RND_TEXT_LEN];
        rnd_str desc;
        if (!rnd_is_memo(l)) continue;
        if (!memo)
            fputs("<h2>Included above</h2>\n<p class=\"muted\">Discounts and promotions already inside the charges; "
                  "not added to the totals again.</p>\n<table class=\"memo\">\n<thead><tr><th>Description</th>"
                  "<th class=\"num\">Records</th><th class=\"num\" colspan=\"3\">Amount</th></tr></thead>\n<tbody>\n",
                  out);
        memo = 1;
        fputs("<tr class=\"line\"><td>", out);
        rnd_description(l, &desc);
        rnd_html_put(out, desc);
        fputs("</td><td class=\"num\">", out);
        rnd_html_text(out, rnd_quantity(l, dec, qty, sizeof(qty)));
        fputs("</td><td class=\"num\" colspan=\"3\">", out);
        rnd_html_text(out, rnd_money(l->corrected_amount, dec, 0, a, sizeof(a)));
        fputs("</td></tr>\n", out);
        rnd_html_adjustments(out, inv, i, dec);
    }
    if (memo) fputs("</tbody>\n</table>\n", out);

    /* The corrections by reason. */
    if (n_reasons)
        fputs("<h2>Corrections by reason</h2>\n<table class=\"reasons\">\n<thead><tr><th>Reason</th>"
              "<th class=\"num\">Count</th><th class=\"num\">Found</th><th class=\"num\">Applied</th>"
              "<th>Description</th></tr></thead>\n<tbody>\n",
              out);
    for (size_t i = 0; i < n_reasons; i++) {
        const aj_reason_summary *r = &inv->reasons[i];
        fputs("<tr class=\"line\"><td class=\"code\">", out);
        rnd_html_text(out, aj_reason_name(r->reason));
        fputs("</td><td class=\"num\">", out);
        rnd_html_text(out, rnd_int(r->count, a, sizeof(a)));
        fputs("</td>", out);
        rnd_html_amount_cell(out, NULL, r->delta, rnd_money(r->delta, dec, 1, a, sizeof(a)));
        rnd_html_amount_cell(out, NULL, r->applied, rnd_money(r->applied, dec, 1, a, sizeof(a)));
        fputs("<td>", out);
        rnd_html_text(out, aj_reason_desc(r->reason));
        fputs("</td></tr>\n", out);
    }
    if (n_reasons) fputs("</tbody>\n</table>\n", out);
    fputs("<footer>Original: what the legacy billing chain charged. Corrected: what this invoice charges. "
          "Amounts are in ", out);
    rnd_html_put(out, currency);
    fprintf(out, " and shown at %d decimals.</footer>\n</main>\n</body>\n</html>\n", dec);
    return ferror(out) ? AJ_E_IO : AJ_E_OK;
}
