/* aj_replay.h - the diff of a replay against a baseline: which records' charges change, where, by how much. */
#ifndef AJ_REPLAY_H
#define AJ_REPLAY_H

#include <stdio.h>

#include "aj_types.h"

/*
 * A record's charge on one side is its correction's corrected amount when that side has a
 * correction for it, and otherwise its legacy amount (no correction: the legacy charge was
 * right), which the other side's correction carries. A record changes when the two charges
 * differ or its reason does (a side without a correction has reason NONE). Every amount is
 * int64 micro-units, summed with overflow checks; output is sorted, so the same inputs give
 * the same report byte for byte.
 */
typedef struct aj_diff aj_diff;

aj_diff *aj_diff_create(void);
void aj_diff_destroy(aj_diff *d);   /* NULL-safe */

/* Adds one correction to the baseline (side 0) or the replay (side 1), keyed by record id; a
 * second correction of a record on the same side replaces the first only when it is later in
 * the input (the first per id is kept, as a consumer of the outputs does). AJ_E_NOMEM. */
aj_err aj_diff_add(aj_diff *d, int side, const aj_correction *c);

/* Adds one invoice (the invoice or the review output) to the baseline (side 0) or the replay
 * (side 1), keyed by invoice id, the first per id kept; only its account and amount due are
 * kept. The report compares the amount due of every invoice the replay emitted with the
 * baseline's invoice of the same id, when the baseline has invoices at all. AJ_E_NOMEM. */
aj_err aj_diff_add_invoice(aj_diff *d, int side, const aj_invoice *inv);

/* Compares the two sides and builds the tables. AJ_E_OVERFLOW when a sum leaves int64. */
aj_err aj_diff_finish(aj_diff *d);

/* After finish: records with a correction on either side, and records that change. */
int64_t aj_diff_records(const aj_diff *d);
int64_t aj_diff_changed(const aj_diff *d);
/* After finish: invoices the replay emitted, of those the baseline has too, and of those with
 * another amount due (or none in the baseline). */
int64_t aj_diff_invoices(const aj_diff *d);
int64_t aj_diff_invoices_compared(const aj_diff *d);
int64_t aj_diff_invoices_changed(const aj_diff *d);

/* Report formats. top: how many of the largest changes to list. Write errors stay in ferror. */
void aj_diff_print_text(const aj_diff *d, FILE *out, size_t top);
void aj_diff_print_json(const aj_diff *d, FILE *out, size_t top);
/* One row per changed record, header first. */
void aj_diff_print_csv(const aj_diff *d, FILE *out);
/* A standalone HTML page (inline CSS and SVG, no script, no external resource). */
void aj_diff_print_html(const aj_diff *d, FILE *out, size_t top, const char *title);

/*
 * Reads the corrections of the PostgreSQL audit log (docs/audit.md) whose source_origin is
 * origin (NULL: every one), in one REPEATABLE READ READ ONLY transaction through a cursor (an
 * auditor's role suffices), and calls fn on each with the fields the diff uses (ids, account,
 * invoice, service, zone, reason, amounts, source; borrowed for the call). Then, when inv_fn
 * is set, the invoice headers, one per invoice id (RELEASED or ISSUED before HELD), as
 * invoices with their id, account, cycle and amount due. *count, *invoices: rows read.
 * AJ_E_OK; or the connection's or a query's error (err naming it, SQLSTATE classified), or fn's.
 */
aj_err aj_replay_read_audit_log(const char *conninfo, const char *origin,
                                aj_err (*fn)(void *opaque, const aj_correction *c),
                                aj_err (*inv_fn)(void *opaque, const aj_invoice *inv), void *opaque, int64_t *count,
                                int64_t *invoices, char *err, size_t errlen);

/* Exact decimal of micro-units, six digits after the point ("-12.000050"). buf >= 32 bytes. */
const char *aj_micros(aj_money m, char *buf, size_t len);

#endif /* AJ_REPLAY_H */
