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

/* Writes s HTML-escaped (text and attribute values); control characters become spaces. */
void aj_html_escape(FILE *out, const char *s);

#endif /* AJ_RENDER_H */
