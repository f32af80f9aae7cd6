/* aj_adjust_int.h - inside adjust/: the lines of an invoice being built (aj_invoice.c). */
#ifndef AJ_ADJUST_INT_H
#define AJ_ADJUST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "aj_policy.h"
#include "aj_rating.h"
#include "aj_types.h"

/* A line while records come in: its sums and item, its other texts as offsets in the
 * lineset's names (0: ""). An open account-cycle keeps one per zone, contracted line and memo:
 * the aj_invoice_line, three times the size with its id and description, is only written when
 * the invoice is assembled. */
typedef struct aj_line_sum {
    uint64_t key;           /* hash of what identifies the line */
    aj_line_kind kind;
    aj_service service;
    uint32_t refers_to, line_id;
    uint32_t description;   /* 0: the kind's own (aj_invoice.c); TAX and CREDIT lines set theirs */
    int64_t records;
    int64_t quantity;
    aj_money legacy_amount;
    aj_money corrected_amount;
    aj_money billed_amount;
    int64_t corrections;
    char item[AJ_ID_LEN + 1];
} aj_line_sum;

/* Invoice lines and their adjustments, growing as records come in. A line is identified by
 * (kind, service, item, refers_to); its line_id is written when it is created. */
typedef struct aj_lineset {
    aj_line_sum *lines;
    size_t n, cap;
    uint64_t *slot;                         /* the lines by key (aj_invoice.c), 0: free */
    size_t n_slot;                          /* a power of two, at least twice n; 0: none yet */
    char *names;                            /* the lines' texts, each NUL-terminated */
    size_t n_names, cap_names;
    aj_invoice_adjustment *adjs;
    size_t n_adjs, cap_adjs;
    aj_invoice_line *out;                   /* the invoice's lines (aj_invoice_assemble) */
    size_t cap_out;
} aj_lineset;

void aj_lineset_free(aj_lineset *ls);
void aj_lineset_clear(aj_lineset *ls);   /* keeps the memory */

/* Index of the line (created empty when absent) in *idx. AJ_E_NOMEM. */
aj_err aj_lineset_line(aj_lineset *ls, aj_line_kind kind, aj_service service, const char *item,
                       const char *refers_to, uint32_t *idx);

/* The line_id of line idx; valid until a line is added to ls. */
const char *aj_lineset_line_id(const aj_lineset *ls, uint32_t idx);

/* The invoice line of line idx, its ids and texts written out. */
void aj_lineset_invoice_line(const aj_lineset *ls, uint32_t idx, aj_invoice_line *l);

/* Appends l as it is (a restored state). AJ_E_NOMEM; AJ_E_BAD_ENUM when memo is not its kind's. */
aj_err aj_lineset_put_line(aj_lineset *ls, const aj_invoice_line *l);

/* Adds records/quantity/amounts to line idx; legacy and corrected are what the records were
 * charged and should cost; billed follows legacy. AJ_E_OVERFLOW leaves the line unchanged. */
aj_err aj_lineset_add(aj_lineset *ls, uint32_t idx, int64_t records, int64_t quantity, aj_money legacy,
                      aj_money corrected);

/* Adds `count` corrections of (reason, disposition) totalling delta to line idx: its
 * adjustment entry (one per reason, disposition and sign), its correction count, and its
 * billed amount when the disposition is APPLY or HOLD. */
aj_err aj_lineset_adjust(aj_lineset *ls, uint32_t idx, aj_reason reason, aj_disposition d, int64_t count,
                         aj_money delta);

/* Appends every line and adjustment of src to dst (line ids must not collide). */
aj_err aj_lineset_append(aj_lineset *dst, const aj_lineset *src);

/* What a cycle close hands to aj_invoice_assemble. */
typedef struct aj_invoice_input {
    const aj_cycle_close *close;
    aj_position pos;               /* of the close record: the source of TAX_MISMATCH corrections */
    const aj_contract *contract;   /* in force at the period start (or nearest); NULL: none */
    const aj_tz *tz;
    const aj_policy *policy;
    const aj_credit *credits;      /* due on this invoice */
    size_t n_credits;
    const int32_t *versions;
    size_t n_versions;
    const char *currency;          /* of the records, when the contract is unknown */
    const char *contract_id;
} aj_invoice_input;

/* Called for each TAX_MISMATCH correction found while assembling (before the invoice is). */
typedef aj_err (*aj_tax_correction_fn)(void *opaque, const aj_correction *c);

/*
 * Builds the invoice of a closed cycle from its lines (ls: the cycle's lines, then the late
 * lines due on it, already appended): credit lines, tax lines with their TAX_MISMATCH and
 * TAX_BASE adjustments, sorted lines, totals, corrections summary, dates, and the review hold
 * (docs/invoice.md). ls is extended in place and inv points into it (ls->out).
 */
aj_err aj_invoice_assemble(aj_lineset *ls, const aj_invoice_input *in, aj_tax_correction_fn on_tax, void *opaque,
                           aj_invoice *inv);


#endif /* AJ_ADJUST_INT_H */
