/* aj_adjust.h - compare legacy and expected charges, explain differences, build invoices. */
#ifndef AJ_ADJUST_H
#define AJ_ADJUST_H

#include <stddef.h>
#include <stdint.h>

#include "aj_rating.h"
#include "aj_types.h"

/* Where adjust hands its results (the pipeline wires it to emit/). A non-OK return stops the
 * event and is returned by aj_adjust_event. Records are borrowed for the call. */
typedef struct aj_adjust_out {
    void *opaque;
    aj_err (*correction)(void *opaque, const aj_correction *c);
    aj_err (*invoice)(void *opaque, const aj_invoice *inv);
} aj_adjust_out;

typedef struct aj_adjust_stats {
    int64_t usage;            /* usage records rated */
    int64_t recurring;        /* recurring charges checked */
    int64_t closes;           /* cycle closes processed */
    int64_t corrections;
    int64_t by_reason[AJ_REASON__COUNT];
    aj_money overcharge;      /* sum of negative deltas, as a positive amount */
    aj_money undercharge;     /* sum of positive deltas */
    int64_t invoices;
    int64_t duplicate_closes; /* a close for a cycle already closed: no second invoice */
} aj_adjust_stats;

typedef struct aj_adjust aj_adjust;

/* store is borrowed and must outlive the adjuster; out is copied. NULL on NOMEM. */
aj_adjust *aj_adjust_create(const aj_contract_store *store, const aj_adjust_out *out);
void aj_adjust_destroy(aj_adjust *adj);   /* NULL-safe */

/*
 * Processes one valid event in partition order:
 *  - usage / recurring: find the contract version in force (NO_CONTRACT), check the currency
 *    (CURRENCY_MISMATCH), rate (NO_RATE), classify any difference and hand the correction to
 *    out->correction, accumulate the account-cycle;
 *  - cycle close: build the invoice of the account-cycle and hand it to out->invoice (an
 *    account with no record in the cycle gets an invoice with no lines).
 * A record for a cycle already closed is LATE_USAGE. Reject codes leave the state unchanged
 * and are for the caller to dead-letter with detail. Other errors (OVERFLOW, NOMEM, the out
 * callbacks') are returned as is.
 */
aj_err aj_adjust_event(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen);

/*
 * Explains why a usage record's legacy charge differs from `expected` (rated under `plan`):
 * re-rates it under each counterfactual of docs/rating.md "Reasons", in that order, and
 * returns the first whose charge equals the legacy charge, PRICE_MISMATCH when none does.
 * Writes the explanation into hypothesis. Pure.
 */
aj_reason aj_classify_usage(const aj_contract_store *store, const aj_plan *plan, const aj_usage *u,
                            const aj_charge *expected, char *hypothesis, size_t len);

/* Same for a recurring charge; line is the contract's line or NULL when it has none. */
aj_reason aj_classify_recurring(const aj_line *line, const aj_recurring *r,
                                const aj_charge *expected, char *hypothesis, size_t len);

const aj_adjust_stats *aj_adjust_get_stats(const aj_adjust *adj);

/* Number of account-cycles accumulating (not yet closed). */
size_t aj_adjust_open_cycles(const aj_adjust *adj);

#endif /* AJ_ADJUST_H */
