/* aj_rating_int.h - the compiled plan, shared by the store and the engine of rating/. */
#ifndef AJ_RATING_INT_H
#define AJ_RATING_INT_H

#include "aj_rating.h"

typedef struct aj_prefix {
    const char *digits;   /* borrowed from the contract */
    uint32_t len;
    uint32_t zone;
} aj_prefix;

struct aj_plan {
    aj_contract *c;             /* owned */
    const char **zone_names;    /* zones[i].name, then default_zone if not among them */
    size_t n_zones;
    size_t default_zone;
    aj_prefix *prefixes;        /* sorted by (digits, len) */
    size_t n_prefixes;
    uint32_t max_prefix_len;
    int32_t *rate_of;           /* [service * n_zones + zone] -> index in c->rates, or -1 */
};

/* Compiles c into a plan, taking ownership of c (freed on error). AJ_E_BAD_CONTRACT with
 * detail, AJ_E_NOMEM. */
aj_err aj_plan_compile(aj_contract *c, aj_plan **out, char *detail, size_t detlen);

/* Frees a plan and its contract; NULL-safe. */
void aj_plan_free(aj_plan *p);

#endif /* AJ_RATING_INT_H */
