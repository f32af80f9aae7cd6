/* aj_rating_int.h - the compiled plan, shared by the compiler, the store and the engine. */
#ifndef AJ_RATING_INT_H
#define AJ_RATING_INT_H

#include "aj_rating.h"

/* A node of the destination trie: children by digit, the zone of the prefix ending here. */
typedef struct aj_trie_node {
    int32_t child[10];   /* 0: none (node 0 is the root, never a child) */
    int32_t zone;        /* -1: no prefix ends here */
} aj_trie_node;

/* A node of the compiled trie, 8 bytes: the children of a node are consecutive (breadth-first
 * layout), so a bit per present digit and the index of the first child find any child. */
typedef struct aj_cnode {
    uint32_t first;   /* index of the first child */
    uint16_t mask;    /* bit d: a child for digit d */
    int16_t zone;     /* -1: no prefix ends here */
} aj_cnode;

/* A compiled destination table, shared by every plan with the same zones and prefixes in the
 * same order (contracts of one carrier share its destination table; sharing keeps the trie in
 * cache). */
typedef struct aj_trie {
    aj_trie_node *nodes;   /* while it is built */
    aj_cnode *compact;     /* once built */
    size_t n_nodes;
    size_t refs;
} aj_trie;

/* Drops a reference; frees the table with the last one. NULL-safe. */
void aj_trie_release(aj_trie *t);

/* A rate ready for the engine: tier 0 is the rate's own price and next increment. */
typedef struct aj_prate {
    const aj_rate *r;
    aj_tier *tiers;      /* n_tiers + 1 */
    size_t n_tiers;
} aj_prate;

/* An allowance, discount or promotion with its zones as a membership table. */
typedef struct aj_pzones {
    uint8_t *in;         /* [n_zones]; NULL: every zone */
} aj_pzones;

struct aj_plan {
    aj_contract *c;              /* owned */
    const aj_tz *tz;             /* borrowed from the store's cache */
    size_t bytes;                /* memory of the compiled plan, reported by benchmarks */
    const char **zone_names;     /* zones[i].name, then default_zone if not among them */
    size_t n_zones;
    size_t default_zone;
    aj_trie *dest;               /* refcounted, possibly shared (see aj_contract_store_put) */
    const aj_cnode *trie;        /* dest->compact */
    size_t n_nodes;
    const char **band_names;     /* bands[i].name, then default_band if not among them */
    size_t n_bands;
    size_t default_band;
    int32_t *edges;              /* minutes of the day where some window starts or ends, and 1440 */
    size_t n_edges;
    aj_prate *rates;             /* [n_rates] */
    int32_t *rate_of;            /* [(service * n_zones + zone) * n_bands + band] -> rates index or -1 */
    aj_pzones *allowance_zones;  /* [n_allowances] */
    aj_pzones *discount_zones;
    aj_pzones *promotion_zones;
};

/* Compiles c into a plan in time zone tz, taking ownership of c (freed on error). Checks what
 * needs the whole contract: zone, band and rate names, duplicate names, prefixes in two zones,
 * rates of one (service, zone, band) twice, effective_to after effective_from, one-time charge
 * codes listed twice or priced below zero.
 * AJ_E_BAD_CONTRACT with detail, AJ_E_NOMEM. */
aj_err aj_plan_compile(aj_contract *c, const aj_tz *tz, aj_plan **out, char *detail, size_t detlen);

/* Frees a plan and its contract; NULL-safe. */
void aj_plan_free(aj_plan *p);

/* The plan's destination table as bytes (zone names and prefixes, in order): equal keys, equal
 * tries. malloc'ed into *key; AJ_E_NOMEM. */
aj_err aj_plan_dest_key(const aj_plan *p, char **key, size_t *len);

/* Makes the plan use the shared table t (taking a reference) instead of its own. */
void aj_plan_share_dest(aj_plan *p, aj_trie *t);

#endif /* AJ_RATING_INT_H */
