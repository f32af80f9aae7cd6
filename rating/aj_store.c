/* aj_store.c - the contract store: every version of every account, effective-dated. */
#include "aj_rating_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_map.h"

/* An account's versions, ascending by version number, and the latest record start rated. */
typedef struct aj_versions {
    aj_plan **v;
    size_t n, cap;
    int64_t rated_until;
} aj_versions;

struct aj_contract_store {
    aj_map *accounts;   /* account -> aj_versions */
    aj_map *zones;      /* time zone name -> aj_tz, shared by the plans */
    aj_map *dests;      /* destination table key -> aj_trie, shared by the plans (one reference) */
    size_t n_versions;
    size_t bytes;
    int64_t backdated;
    char **amended;     /* the account of each backdated version, in arrival order */
    size_t n_amended, cap_amended;
};

static void aj_versions_free(void *p) {
    aj_versions *vs = p;
    if (!vs) return;
    for (size_t i = 0; i < vs->n; i++) aj_plan_free(vs->v[i]);
    free(vs->v);
    free(vs);
}

static void aj_tz_free_value(void *p) {
    aj_tz_free(p);
}

static void aj_trie_free_value(void *p) {
    aj_trie_release(p);
}

aj_contract_store *aj_contract_store_create(void) {
    aj_contract_store *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    if (!(s->accounts = aj_map_create()) || !(s->zones = aj_map_create()) || !(s->dests = aj_map_create())) {
        aj_map_destroy(s->accounts, NULL);
        aj_map_destroy(s->zones, NULL);
        free(s);
        return NULL;
    }
    return s;
}

void aj_contract_store_destroy(aj_contract_store *store) {
    if (!store) return;
    aj_map_destroy(store->accounts, aj_versions_free);
    aj_map_destroy(store->zones, aj_tz_free_value);
    aj_map_destroy(store->dests, aj_trie_free_value);
    for (size_t i = 0; i < store->n_amended; i++) free(store->amended[i]);
    free(store->amended);
    free(store);
}

/* Clause "Backdated amendments": notes the account, for the adjusters to re-rate. */
static aj_err aj_store_note_amended(aj_contract_store *store, const char *account) {
    if (store->n_amended == store->cap_amended) {
        size_t cap = store->cap_amended ? store->cap_amended * 2 : 8;
        char **grown = realloc(store->amended, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        store->amended = grown;
        store->cap_amended = cap;
    }
    if (!(store->amended[store->n_amended] = strdup(account))) return AJ_E_NOMEM;
    store->n_amended++;
    store->backdated++;
    return AJ_E_OK;
}

/* The loaded time zone `name`, loading it on first use. */
static aj_err aj_store_tz(aj_contract_store *store, const aj_contract *c, const aj_tz **out, char *detail,
                          size_t detlen) {
    const char *name = c->time_zone ? c->time_zone : "UTC";
    aj_tz *tz = aj_map_get(store->zones, name, strlen(name));
    char why[200];
    aj_err rc;

    if (!tz) {
        if ((rc = aj_tz_load(name, &tz, why, sizeof(why))) != AJ_E_OK) {
            if (rc == AJ_E_NOMEM) return rc;
            snprintf(detail, detlen, "contract %s v%d: time zone %s: %s", c->contract_id, c->version, name, why);
            return AJ_E_BAD_CONTRACT;
        }
        if (aj_map_put(store->zones, name, strlen(name), tz, NULL) != AJ_E_OK) {
            aj_tz_free(tz);
            return AJ_E_NOMEM;
        }
    }
    *out = tz;
    return AJ_E_OK;
}

/* Clause "Destinations": a plan whose destination table is already compiled for another plan
 * uses that one. */
static aj_err aj_store_share_dest(aj_contract_store *store, aj_plan *plan) {
    char *key;
    size_t len;
    aj_err rc = aj_plan_dest_key(plan, &key, &len);
    if (rc) return rc;
    aj_trie *t = aj_map_get(store->dests, key, len);
    if (t) {
        aj_plan_share_dest(plan, t);
    } else if (aj_map_put(store->dests, key, len, plan->dest, NULL) == AJ_E_OK) {
        plan->dest->refs++;
    } else {
        rc = AJ_E_NOMEM;
    }
    free(key);
    return rc;
}

aj_err aj_contract_store_put(aj_contract_store *store, aj_contract *c, char *detail, size_t detlen) {
    const aj_tz *tz;
    aj_versions *vs;
    aj_plan *plan;
    aj_err rc;
    size_t i;

    if ((rc = aj_store_tz(store, c, &tz, detail, detlen))) {
        aj_contract_free(c);
        return rc;
    }
    if ((rc = aj_plan_compile(c, tz, &plan, detail, detlen)) != AJ_E_OK) return rc;
    if ((rc = aj_store_share_dest(store, plan))) {
        aj_plan_free(plan);
        return rc;
    }
    const char *account = plan->c->account;
    vs = aj_map_get(store->accounts, account, strlen(account));
    if (!vs) {
        if (!(vs = calloc(1, sizeof(*vs)))) goto nomem;
        vs->rated_until = INT64_MIN;
        if (aj_map_put(store->accounts, account, strlen(account), vs, NULL) != AJ_E_OK) {
            free(vs);
            goto nomem;
        }
    }
    /* Clause "Backdated amendments". */
    if (plan->c->effective_from <= vs->rated_until && aj_store_note_amended(store, account)) goto nomem;
    for (i = 0; i < vs->n && vs->v[i]->c->version < plan->c->version; i++)
        ;
    if (i < vs->n && vs->v[i]->c->version == plan->c->version) {
        /* The same version again (a compacted topic redelivers): the newest event wins. */
        store->bytes -= vs->v[i]->bytes;
        aj_plan_free(vs->v[i]);
        vs->v[i] = plan;
        store->bytes += plan->bytes;
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
    store->bytes += plan->bytes;
    return AJ_E_OK;

nomem:
    aj_plan_free(plan);
    return AJ_E_NOMEM;
}

void aj_contract_store_mark_rated(aj_contract_store *store, const char *account, int64_t ts_ms) {
    aj_versions *vs = aj_map_get(store->accounts, account, strlen(account));
    if (vs && ts_ms > vs->rated_until) vs->rated_until = ts_ms;
}

int64_t aj_contract_store_backdated(const aj_contract_store *store) {
    return store->backdated;
}

size_t aj_contract_store_amended(const aj_contract_store *store, size_t from, const char **accounts, size_t max) {
    size_t n = 0;
    for (size_t i = from; i < store->n_amended && n < max; i++) accounts[n++] = store->amended[i];
    return n;
}

size_t aj_contract_store_amended_count(const aj_contract_store *store) {
    return store->n_amended;
}

const aj_plan *aj_contract_store_find(const aj_contract_store *store, const char *account, int64_t ts_ms,
                                      int *known) {
    const aj_versions *vs = aj_map_get(store->accounts, account, strlen(account));
    if (known) *known = vs != NULL;
    if (!vs) return NULL;
    /* Clause "Contract versions": the highest version whose period contains the time. */
    for (size_t i = vs->n; i-- > 0;) {
        const aj_contract *c = vs->v[i]->c;
        if (c->effective_from <= ts_ms && ts_ms < c->effective_to) return vs->v[i];
    }
    return NULL;
}

const aj_plan *aj_contract_store_nearest(const aj_contract_store *store, const char *account, int64_t ts_ms) {
    const aj_versions *vs = aj_map_get(store->accounts, account, strlen(account));
    const aj_plan *before = NULL, *earliest = NULL;
    if (!vs) return NULL;
    for (size_t i = 0; i < vs->n; i++) {
        const aj_contract *c = vs->v[i]->c;
        if (c->effective_from <= ts_ms && (!before || c->effective_from >= before->c->effective_from)) before = vs->v[i];
        if (!earliest || c->effective_from < earliest->c->effective_from) earliest = vs->v[i];
    }
    return before ? before : earliest;
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

size_t aj_contract_store_bytes(const aj_contract_store *store) {
    return store->bytes;
}
