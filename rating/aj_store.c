/* aj_store.c - the contract store: every version of every account, effective-dated. */
#include "aj_rating_int.h"

#include <stdlib.h>
#include <string.h>

#include "aj_map.h"

/* An account's versions, ascending by version number. */
typedef struct aj_versions {
    aj_plan **v;
    size_t n, cap;
} aj_versions;

struct aj_contract_store {
    aj_map *accounts;   /* account -> aj_versions */
    size_t n_versions;
};

static void aj_versions_free(void *p) {
    aj_versions *vs = p;
    if (!vs) return;
    for (size_t i = 0; i < vs->n; i++) aj_plan_free(vs->v[i]);
    free(vs->v);
    free(vs);
}

aj_contract_store *aj_contract_store_create(void) {
    aj_contract_store *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (!(s->accounts = aj_map_create())) {
        free(s);
        return NULL;
    }
    return s;
}

void aj_contract_store_destroy(aj_contract_store *store) {
    if (!store) return;
    aj_map_destroy(store->accounts, aj_versions_free);
    free(store);
}

aj_err aj_contract_store_put(aj_contract_store *store, aj_contract *c, char *detail, size_t detlen) {
    aj_versions *vs;
    aj_plan *plan;
    aj_err rc;
    size_t i;

    if ((rc = aj_plan_compile(c, &plan, detail, detlen)) != AJ_E_OK) return rc;
    const char *account = plan->c->account;
    vs = aj_map_get(store->accounts, account, strlen(account));
    if (!vs) {
        if (!(vs = calloc(1, sizeof(*vs)))) goto nomem;
        if (aj_map_put(store->accounts, account, strlen(account), vs, NULL) != AJ_E_OK) {
            free(vs);
            goto nomem;
        }
    }
    for (i = 0; i < vs->n && vs->v[i]->c->version < plan->c->version; i++)
        ;
    if (i < vs->n && vs->v[i]->c->version == plan->c->version) {
        /* The same version again (a compacted topic redelivers): the newest event wins. */
        aj_plan_free(vs->v[i]);
        vs->v[i] = plan;
        return AJ_E_OK;
    }
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 4;
        aj_plan **grown = realloc(vs->v, cap * sizeof(*grown));
        if (!grown) goto nomem;
        vs->v = grown;
        vs->cap = cap;
    }
    memmove(&vs->v[i + 1], &vs->v[i], (vs->n - i) * sizeof(*vs->v));
    vs->v[i] = plan;
    vs->n++;
    store->n_versions++;
    return AJ_E_OK;

nomem:
    aj_plan_free(plan);
    return AJ_E_NOMEM;
}

const aj_plan *aj_contract_store_find(const aj_contract_store *store, const char *account,
                                      int64_t ts_ms) {
    const aj_versions *vs = aj_map_get(store->accounts, account, strlen(account));
    if (!vs) return NULL;
    /* Clause "Contract versions": the highest version whose period contains the time. */
    for (size_t i = vs->n; i-- > 0;) {
        const aj_contract *c = vs->v[i]->c;
        if (c->effective_from <= ts_ms && ts_ms < c->effective_to) return vs->v[i];
    }
    return NULL;
}

const aj_plan *aj_contract_store_previous(const aj_contract_store *store, const aj_plan *plan) {
    const char *account = plan->c->account;
    const aj_versions *vs = aj_map_get(store->accounts, account, strlen(account));
    if (!vs) return NULL;
    for (size_t i = vs->n; i-- > 0;)
        if (vs->v[i]->c->version < plan->c->version) return vs->v[i];
    return NULL;
}

size_t aj_contract_store_accounts(const aj_contract_store *store) {
    return aj_map_size(store->accounts);
}

size_t aj_contract_store_versions(const aj_contract_store *store) {
    return store->n_versions;
}
