/* aj_rating.h - the contract store and the rating engine: pure functions, exact money. */
#ifndef AJ_RATING_H
#define AJ_RATING_H

#include <stddef.h>
#include <stdint.h>

#include "aj_types.h"

/* A contract version compiled for rating: zone prefix table, rates by (service, zone). */
typedef struct aj_plan aj_plan;

/* Every contract version of every account. Written by one thread; read-only while rating. */
typedef struct aj_contract_store aj_contract_store;

aj_contract_store *aj_contract_store_create(void);
void aj_contract_store_destroy(aj_contract_store *store);   /* NULL-safe */

/*
 * Adds a contract version, taking ownership of c (freed on error too). A version equal to one
 * already stored for the account replaces it (compacted topics redeliver). Returns
 * AJ_E_BAD_CONTRACT with detail when the contract cannot be compiled (a rate naming an unknown
 * zone, duplicate (service, zone) rates, a bad prefix, effective_to <= effective_from),
 * AJ_E_NOMEM.
 */
aj_err aj_contract_store_put(aj_contract_store *store, aj_contract *c, char *detail, size_t detlen);

/*
 * The version in force for account at ts_ms: among versions with
 * effective_from <= ts_ms < effective_to, the highest version number (docs/rating.md,
 * "Contract versions"). NULL when none (NO_CONTRACT).
 */
const aj_plan *aj_contract_store_find(const aj_contract_store *store, const char *account,
                                      int64_t ts_ms);

/* The account's highest version lower than plan's, whatever its dates; NULL when none. */
const aj_plan *aj_contract_store_previous(const aj_contract_store *store, const aj_plan *plan);

/* Number of accounts / of contract versions stored. */
size_t aj_contract_store_accounts(const aj_contract_store *store);
size_t aj_contract_store_versions(const aj_contract_store *store);

/* The contract a plan was compiled from (owned by the store). */
const aj_contract *aj_plan_contract(const aj_plan *plan);

/* Number of zones of the plan (zones + the default zone when it is not one of them). */
size_t aj_plan_zone_count(const aj_plan *plan);
const char *aj_plan_zone_name(const aj_plan *plan, size_t zone);

/*
 * Zone of a destination: the longest prefix of its normalized digits (aj_normalize_number) in
 * the plan's table; the default zone when none matches, the number does not normalize, or
 * the service has no destination (DATA). Writes the matched prefix ("" for the default zone)
 * into prefix (AJ_NUMBER_LEN + 1 bytes).
 */
size_t aj_plan_zone_of(const aj_plan *plan, aj_service service, const char *destination,
                       char *prefix);

/* Rate of (service, zone) or NULL. */
const aj_rate *aj_plan_rate(const aj_plan *plan, aj_service service, size_t zone);

/* A charge and how it was computed. */
typedef struct aj_charge {
    aj_money amount;
    aj_trace trace;
} aj_charge;

/*
 * Billed quantity of `quantity` under increments: 0 for 0; first_increment when quantity is
 * at most first_increment; else first_increment plus the rest rounded up to next_increment.
 * AJ_E_OVERFLOW when it does not fit.
 */
aj_err aj_rating_billed(int64_t quantity, int64_t first_increment, int64_t next_increment,
                        int64_t *billed);

/*
 * Charge of `quantity` units under one rate (docs/rating.md, "Usage charge"):
 *   0 when quantity is 0, else
 *   connect_fee + HALF_UP(billed * price / rate_unit)   (micro-units)
 * Fills out->trace's quantity, increments, price, rate_unit and connect_fee (zone fields are
 * left to the caller). AJ_E_OVERFLOW.
 */
aj_err aj_rating_price(const aj_rate *rate, int64_t quantity, aj_charge *out);

/*
 * Expected charge of a usage record under plan: zone by destination, rate by (service, zone),
 * aj_rating_price. AJ_E_NO_RATE when the plan has no rate for the service in that zone.
 */
aj_err aj_rating_rate_usage(const aj_plan *plan, const aj_usage *u, aj_charge *out);

/*
 * Expected amount of a recurring charge: the line's monthly_price. AJ_E_NOT_FOUND (amount 0)
 * when the line is not in the plan's inventory or its service differs. *line is set to the
 * line or NULL.
 */
aj_err aj_rating_rate_recurring(const aj_plan *plan, const aj_recurring *r, aj_charge *out,
                                const aj_line **line);

#endif /* AJ_RATING_H */
