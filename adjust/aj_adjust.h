/* aj_adjust.h - compare legacy and expected charges, explain differences, build invoices. */
#ifndef AJ_ADJUST_H
#define AJ_ADJUST_H

#include <stddef.h>
#include <stdint.h>

#include "aj_bytes.h"
#include "aj_policy.h"
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
    int64_t one_time;         /* one-time charges checked */
    int64_t closes;           /* cycle closes processed */
    int64_t corrections;
    int64_t by_reason[AJ_REASON__COUNT];
    aj_money overcharge;      /* sum of negative deltas, as a positive amount */
    aj_money undercharge;     /* sum of positive deltas */
    int64_t invoices;
    int64_t duplicate_closes; /* a close for a cycle already closed: no second invoice */
    int64_t classified;       /* records whose difference went through the counterfactuals */
    int64_t late_records;     /* records of an invoiced cycle, carried on the next invoice */
    int64_t held;             /* invoices held for review */
    /* Dispute credits received (once per dispute id) and received again (ignored): counted by
     * the credit book, which adjusters may share, so aj_adjust_get_stats leaves them 0 and
     * aj_pipeline_adjust_stats fills them from its book (aj_credit_book_stats). */
    int64_t credits;
    int64_t duplicate_credits;
    int64_t credits_applied;  /* credits put on an invoice (by this adjuster) */
    int64_t amended;          /* CONTRACT_AMENDED corrections: records re-rated to another charge */
    int64_t amend_kept;       /* records a re-rating could not rate (no rate in the new version...) */
} aj_adjust_stats;

typedef struct aj_adjust aj_adjust;

/*
 * Dispute credits received and not yet on an invoice, by account. An adjuster has one of its
 * own; the adjusters of one process (one per input partition) share one, since a credit's
 * topic is not partitioned like the usage topic. What an account was credited is kept in
 * the adjuster's state (checkpointed), so a credit received again after a restart is not
 * credited twice.
 */
typedef struct aj_credit_book aj_credit_book;

aj_credit_book *aj_credit_book_create(void);
void aj_credit_book_destroy(aj_credit_book *b);   /* NULL-safe */
/* Credits received (once per dispute id) and duplicates ignored. */
void aj_credit_book_stats(const aj_credit_book *b, int64_t *credits, int64_t *duplicates);

/* store is borrowed and must outlive the adjuster (it notes the records rated, for backdated
 * amendments); out is copied. NULL on NOMEM. */
aj_adjust *aj_adjust_create(aj_contract_store *store, const aj_adjust_out *out);
void aj_adjust_destroy(aj_adjust *adj);   /* NULL-safe */

/* Uses book (borrowed, shared) instead of the adjuster's own. Call before any event. */
void aj_adjust_share_credits(aj_adjust *adj, aj_credit_book *book);

/* The credit book the adjuster uses: its own, or the one given to aj_adjust_share_credits
 * (borrowed, valid as long as the adjuster, or the shared book's owner, lives). Cannot fail. */
const aj_credit_book *aj_adjust_credit_book(const aj_adjust *adj);

/* Replaces the correction policy (the default: aj_policy_default). */
void aj_adjust_set_policy(aj_adjust *adj, const aj_policy *policy);

/*
 * Processes one valid event in partition order (docs/rating.md, "Record checks"):
 *  - usage: an account with no contract at all is NO_CONTRACT (rejected); a currency other
 *    than the contract's is CURRENCY_MISMATCH; a record for a cycle invoiced before the account's
 *    last invoice is LATE_USAGE (one for the last invoiced cycle goes on the next invoice); then
 *    duplicates, records outside any contract version and after termination are corrected to
 *    zero; the rest is rated with the account-cycle's allowances, promotions and discount caps
 *    (NO_RATE when a rate is missing), any difference classified and handed to
 *    out->correction, and the account-cycle accumulated;
 *  - recurring: checked against the line inventory and prorated (MRC_ reasons);
 *  - one-time charge: the same prologue as usage (NO_CONTRACT rejected for an unknown account,
 *    CURRENCY_MISMATCH, LATE_USAGE); then duplicates (same record id, or same code and line in
 *    the cycle), no contract in force and termination are corrected to zero, and the rest is
 *    checked against the price list of the version in force at charged_at (OTC_ reasons);
 *  - cycle close: contracted lines active in the period that had no recurring charge get an
 *    MRC_MISSING correction; the late lines and dispute credits due join; taxes are computed
 *    (TAX_MISMATCH corrections); then the invoice goes to out->invoice, status HELD when the
 *    policy holds it (docs/invoice.md);
 *  - dispute credit: kept for the account's next invoice, once per dispute id.
 * Reject codes leave the state unchanged and are for the caller to dead-letter with detail.
 * Other errors (OVERFLOW, NOMEM, the out callbacks') are returned as is.
 */
aj_err aj_adjust_event(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen);

/*
 * Clause "Backdated amendments" (docs/rating.md): the records of the open and last invoiced
 * cycles of every account that received a backdated contract version since the last call
 * (aj_contract_store_amended; after aj_adjust_load, of every account) are rated again, in the
 * order they came, with the contract store as it is now. Each record whose charge changes gets
 * a CONTRACT_AMENDED correction of the difference: on its own line while the cycle is open, on
 * the LATE_ line of the account's next invoice naming the emitted one once it is invoiced
 * (emitted invoices are never changed). aj_adjust_event calls it first; a daemon may call it
 * after reading new contract versions. AJ_E_NOMEM, AJ_E_OVERFLOW, the out callbacks' errors.
 */
aj_err aj_adjust_amendments(aj_adjust *adj);

/*
 * Explains why a usage record's legacy charge differs from `expected` (rated under `plan`
 * with the account-cycle's consumption `state`): re-rates it under each counterfactual of
 * docs/rating.md "Reasons", in that order, and returns the first whose charge equals the
 * legacy charge, RATE_MISMATCH when none does. Writes the explanation into hypothesis. Pure.
 */
aj_reason aj_classify_usage(const aj_contract_store *store, const aj_plan *plan, const aj_usage *u,
                            const aj_counters *state, const aj_charge *expected, char *hypothesis, size_t len);

/* The adjuster's counters (borrowed, updated by every event); credits and duplicate_credits
 * are 0: read them from the book (aj_adjust_credit_book, aj_credit_book_stats). Cannot fail. */
const aj_adjust_stats *aj_adjust_get_stats(const aj_adjust *adj);

/* Writes the invoice id INV-<account>-<cycle>-r<revision> into buf. */
void aj_invoice_id(char *buf, size_t len, const char *account, const char *cycle, int revision);

/* How a reviewer releases a held invoice (docs/invoice.md, "Review"). */
typedef enum aj_release_mode {
    AJ_RELEASE_AS_IS,   /* the same invoice (same id, revision 1), status RELEASED */
    AJ_RELEASE_FLAG     /* revision 2: every correction turned to FLAG, each line billed its
                         * legacy amount, the corrections kept as advisory */
} aj_release_mode;

/*
 * Turns a HELD invoice (as decoded from the review output) into the invoice to emit: status
 * RELEASED, status_reason naming the mode, the reviewer, the note and why it was held; with
 * AJ_RELEASE_FLAG the revision-2 invoice with its totals recomputed. AJ_E_ARG when inv is
 * not HELD; AJ_E_OVERFLOW. Arrays are changed in place (never grown).
 */
aj_err aj_invoice_review_release(aj_invoice *inv, aj_release_mode mode, const char *reviewer, const char *note);

/*
 * The adjuster's state (every account-cycle and account: docs/reliability.md, "Checkpoints")
 * appended to out as bytes, and restored from them into a new adjuster (no event yet). Restored,
 * it handles the next events exactly as the saved one would have: same outputs, same bytes.
 * aj_adjust_load: AJ_E_OK, AJ_E_ARG (not a new adjuster), AJ_E_NOMEM, or the reason the bytes
 * are not a state (AJ_E_BAD_MAGIC, AJ_E_UNKNOWN_SCHEMA for another version, AJ_E_TRUNCATED,
 * AJ_E_BAD_LENGTH ...); the adjuster is then to be destroyed. Statistics are not state.
 */
aj_err aj_adjust_save(const aj_adjust *adj, aj_bytes *out);
aj_err aj_adjust_load(aj_adjust *adj, const void *data, size_t len);

/* Number of account-cycles accumulating (not yet closed). */
size_t aj_adjust_open_cycles(const aj_adjust *adj);

#endif /* AJ_ADJUST_H */
