/* aj_rating.h - the contract store and the rating engine: pure functions, exact money.
 *
 * Every rule is written down in docs/rating.md; the clause names in comments ("Increments",
 * "Allowances", ...) are its section titles.
 */
#ifndef AJ_RATING_H
#define AJ_RATING_H

#include <stddef.h>
#include <stdint.h>

#include "aj_tz.h"
#include "aj_types.h"

/* A contract version compiled for rating: prefix trie, bands, rates by (service, zone, band). */
typedef struct aj_plan aj_plan;

/* Every contract version of every account. Written by one thread; read-only while rating. */
typedef struct aj_contract_store aj_contract_store;

aj_contract_store *aj_contract_store_create(void);
void aj_contract_store_destroy(aj_contract_store *store);   /* NULL-safe */

/*
 * Adds a contract version, taking ownership of c (freed on error too). A version equal to one
 * already stored for the account replaces it (compacted topics redeliver). Returns
 * AJ_E_BAD_CONTRACT with detail when the contract cannot be compiled (see aj_plan_compile),
 * AJ_E_NOMEM.
 *
 * Clause "Backdated amendments": a version whose effective_from is earlier than the latest
 * record start the account has had rated (aj_contract_store_mark_rated) is counted as
 * backdated. It applies to every record rated after it arrives; the adjusters re-rate the
 * records already rated of the account's open and last invoiced cycles (adjust/, clause
 * "Backdated amendments"), reading the accounts from aj_contract_store_amended.
 */
aj_err aj_contract_store_put(aj_contract_store *store, aj_contract *c, char *detail, size_t detlen);

/* Notes that a record of account starting at ts_ms was rated (for backdated amendments). */
void aj_contract_store_mark_rated(aj_contract_store *store, const char *account, int64_t ts_ms);

/* Versions counted as backdated so far. */
int64_t aj_contract_store_backdated(const aj_contract_store *store);

/* The accounts of the backdated versions, one per version in arrival order: how many there are,
 * and up to max of them from index `from` into accounts (borrowed from the store). */
size_t aj_contract_store_amended_count(const aj_contract_store *store);
size_t aj_contract_store_amended(const aj_contract_store *store, size_t from, const char **accounts, size_t max);

/*
 * The version in force for account at ts_ms: among versions with
 * effective_from <= ts_ms < effective_to, the highest version number (clause "Contract
 * versions"). NULL when none. *known (may be NULL) tells whether the account has any version.
 */
const aj_plan *aj_contract_store_find(const aj_contract_store *store, const char *account,
                                      int64_t ts_ms, int *known);

/* The account's version nearest to ts_ms when none is in force (for NO_CONTRACT records):
 * the latest one starting before ts_ms, else the earliest. NULL for an unknown account. */
const aj_plan *aj_contract_store_nearest(const aj_contract_store *store, const char *account,
                                         int64_t ts_ms);

/* The account's highest version lower than plan's, whatever its dates; NULL when none. */
const aj_plan *aj_contract_store_previous(const aj_contract_store *store, const aj_plan *plan);

/* Number of accounts / of contract versions stored; bytes the compiled plans take. */
size_t aj_contract_store_accounts(const aj_contract_store *store);
size_t aj_contract_store_versions(const aj_contract_store *store);
size_t aj_contract_store_bytes(const aj_contract_store *store);

/* The contract a plan was compiled from (owned by the store). */
const aj_contract *aj_plan_contract(const aj_plan *plan);
const aj_tz *aj_plan_tz(const aj_plan *plan);
size_t aj_plan_bytes(const aj_plan *plan);

/* Zones: the contract's, then the default zone when it is not one of them. */
size_t aj_plan_zone_count(const aj_plan *plan);
const char *aj_plan_zone_name(const aj_plan *plan, size_t zone);

/* Bands: the contract's, then the default band when it is not one of them. */
size_t aj_plan_band_count(const aj_plan *plan);
const char *aj_plan_band_name(const aj_plan *plan, size_t band);

/*
 * Zone of a destination (clause "Destinations"): the longest prefix of its normalized digits
 * (aj_normalize_number) in the plan's table; the default zone when none matches, the number
 * does not normalize, or the service has no destination (DATA). Writes the matched prefix
 * ("" for the default zone) into prefix (AJ_NUMBER_LEN + 1 bytes).
 */
size_t aj_plan_zone_of(const aj_plan *plan, aj_service service, const char *destination, char *prefix);

/* Band of the instant utc_ms in the plan's time zone (clause "Time bands"). */
size_t aj_plan_band_at(const aj_plan *plan, int64_t utc_ms);

/* Rate of (service, zone, band): the band's own, else the rate with no band; NULL when none. */
const aj_rate *aj_plan_rate(const aj_plan *plan, aj_service service, size_t zone, size_t band);

/* ---- what an account-cycle has consumed ---- */

typedef enum aj_counter_kind {
    AJ_COUNTER_FREE_UNITS,   /* units drawn from a FREE_UNITS promotion */
    AJ_COUNTER_ALLOWANCE,    /* units drawn from an allowance */
    AJ_COUNTER_DISCOUNT      /* money discounted under a capped discount */
} aj_counter_kind;

typedef struct aj_counter {
    aj_counter_kind kind;
    char name[AJ_KEY_LEN + 1];
    int64_t used;
} aj_counter;

/* Consumption of one account-cycle, by (kind, name). */
typedef struct aj_counters {
    aj_counter *v;
    size_t n, cap;
} aj_counters;

int64_t aj_counters_used(const aj_counters *c, aj_counter_kind kind, const char *name);
aj_err aj_counters_add(aj_counters *c, aj_counter_kind kind, const char *name, int64_t amount);
void aj_counters_free(aj_counters *c);

/* A FREE_UNITS promotion, every allowance, a capped discount: a contract has at most
 * AJ_MAX_ALLOWANCES allowances (the plan compiler refuses more). */
#define AJ_MAX_ALLOWANCES 16
#define AJ_MAX_DRAWS (AJ_MAX_ALLOWANCES + 2)

/* What rating one record would consume; the caller commits it with aj_charge_commit. */
typedef struct aj_draw {
    aj_counter_kind kind;
    const char *name;   /* borrowed from the plan */
    int64_t amount;
} aj_draw;

/* A charge and how it was computed. */
typedef struct aj_charge {
    aj_money amount;
    aj_trace trace;
    aj_draw draws[AJ_MAX_DRAWS];
    size_t n_draws;
} aj_charge;

/* Adds a charge's draws to the account-cycle's counters. */
aj_err aj_charge_commit(const aj_charge *ch, aj_counters *state);

/* ---- hypotheses: the counterfactuals of docs/rating.md "Reasons" ---- */

enum {
    AJ_HYP_NO_TIERS = 1u << 0,
    AJ_HYP_NO_ALLOWANCE = 1u << 1,    /* free-unit promotions still apply */
    AJ_HYP_NO_PROMOTION = 1u << 2,
    AJ_HYP_NO_DISCOUNT = 1u << 3,
    AJ_HYP_NO_MINMAX = 1u << 4,
    AJ_HYP_NO_CONNECT_FEE = 1u << 5,
};

typedef struct aj_hyp {
    unsigned flags;
    int32_t zone;              /* >= 0: rate as this zone */
    int32_t band;              /* >= 0: every increment in this band */
    int64_t first_increment;   /* > 0: these increments, for every tier */
    int64_t next_increment;
} aj_hyp;

/* The contract as it is: no flags, zone and band -1, increments 0. */
#define AJ_HYP_NONE ((aj_hyp){0, -1, -1, 0, 0})

/*
 * Expected charge of a usage record under plan (clauses "Usage charge" through "Discounts"),
 * given what its account-cycle has consumed (state; NULL: nothing) and a hypothesis (NULL:
 * none). Pure: state is not changed. AJ_E_NO_RATE when a needed (service, zone, band) has no
 * rate (trace.zone and trace.band name it), AJ_E_OVERFLOW.
 */
aj_err aj_rating_rate_usage(const aj_plan *plan, const aj_usage *u, const aj_counters *state,
                            const aj_hyp *hyp, aj_charge *out);

/*
 * Billed quantity of `quantity` under increments first/next with no tiers: 0 for 0;
 * first when quantity is at most first; else first plus the rest rounded up to next.
 * AJ_E_OVERFLOW when it does not fit.
 */
aj_err aj_rating_billed(int64_t quantity, int64_t first_increment, int64_t next_increment,
                        int64_t *billed);

/* Local dates of a period [start, end) in tz: *first and *end_day (exclusive), days since
 * 1970-01-01 (clause "Recurring charges"). */
void aj_rating_period_days(const aj_tz *tz, int64_t start_ms, int64_t end_ms, int64_t *first,
                           int64_t *end_day);

/* Local days a line is active in [first, end_day). */
int64_t aj_rating_line_days(const aj_tz *tz, const aj_line *line, int64_t first, int64_t end_day);

/*
 * Expected amount of line over the period [start_ms, end_ms) (clause "Recurring charges"):
 * monthly_price x quantity x active days / days of the period, rounded to the contract's
 * currency decimals by its rounding. prorate 0 gives the whole period's price. AJ_E_OVERFLOW.
 */
aj_err aj_rating_line_amount(const aj_plan *plan, const aj_line *line, int64_t start_ms, int64_t end_ms,
                             int prorate, aj_money *amount, int64_t *active_days, int64_t *period_days);

/* The line of the plan's inventory with that id, or NULL. */
const aj_line *aj_plan_line(const aj_plan *plan, const char *line_id);

/* The entry of the plan's one-time charge price list with that code, or NULL. */
const aj_otc_price *aj_plan_one_time(const aj_plan *plan, const char *code);

/*
 * Expected amount of a one-time charge under plan (clause "One-time charges"): the price of its
 * code times its quantity, exact (no rounding: both are integers). *price gets the price-list
 * entry (borrowed from the plan). AJ_E_NOT_FOUND when the contract does not list the code
 * (*price NULL, *amount 0), AJ_E_OVERFLOW when the product does not fit (*amount 0). Pure.
 */
aj_err aj_rating_one_time_amount(const aj_plan *plan, const aj_one_time *o, const aj_otc_price **price,
                                 aj_money *amount);

#endif /* AJ_RATING_H */
