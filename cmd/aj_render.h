/* aj_render.h - an adjusted invoice as a person reads it: a text statement and an HTML page. */
#ifndef AJ_RENDER_H
#define AJ_RENDER_H

#include <stdio.h>

#include "aj_types.h"

/*
 * Prints inv as a text statement for accounts payable: the header, the charge, tax and credit
 * lines (original = legacy amount, corrected = billed amount, and the difference) each with
 * its adjustments, the totals down to the AMOUNT DUE, the advisory (flagged, not billed)
 * amounts, the memo lines and the corrections by reason. Amounts are shown at inv->decimals,
 * rounded half up (display only). inv is borrowed; write errors are left in ferror(out).
 */
void aj_invoice_print_text(FILE *out, const aj_invoice *inv);

/*
 * Writes inv as one standalone HTML5 page (inline CSS, no script, no external resource),
 * with the content of aj_invoice_print_text and every text HTML-escaped. The total cells carry
 * the ids "legacy-total", "corrected-total" and "amount-due". Returns AJ_E_OK, or AJ_E_IO
 * when out reports a write error.
 */
aj_err aj_invoice_write_html(FILE *out, const aj_invoice *inv);

/* The buffer aj_render_amount and aj_render_int need: an int64 at 6 decimals, separators, a sign. */
#define AJ_RENDER_AMOUNT_LEN 48

/*
 * m (micro-units) at `decimals` (clamped to 0..6), rounded half up (display only), with ','
 * between groups of three integer digits and, when sign is set, a '+' on positive amounts:
 * -46620000 at 2 is "-46.62". Exact integers only, never a float. Returns buf
 * (AJ_RENDER_AMOUNT_LEN bytes).
 */
const char *aj_render_amount(aj_money m, int decimals, int sign, char *buf, size_t len);

/* v with ',' between groups of three digits ("12,345"). Returns buf (AJ_RENDER_AMOUNT_LEN bytes). */
const char *aj_render_int(int64_t v, char *buf, size_t len);

/* Writes s HTML-escaped, for text and attribute values; control characters become spaces. */
void aj_render_html_text(FILE *out, const char *s);

/* Writes s as one RFC 4180 CSV field: quoted (quotes doubled) when it holds a comma, a quote, a
 * line break or a space at either end. */
void aj_render_csv_field(FILE *out, const char *s);

#endif /* AJ_RENDER_H */
