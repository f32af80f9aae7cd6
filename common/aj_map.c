/* aj_map.c - a string-keyed hash map with open addressing and linear probing. */
#include "aj_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct aj_map_slot {
    char *key;
    size_t klen;
    uint64_t hash;
    void *value;
} aj_map_slot;

struct aj_map {
    aj_map_slot *slots;
    size_t cap;   /* power of two */
    size_t size;
};

/* FNV-1a, 64 bits. */
static uint64_t aj_map_hash(const void *key, size_t klen) {
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < klen; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

aj_map *aj_map_create(void) {
    aj_map *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->cap = 64;
    if (!(m->slots = calloc(m->cap, sizeof(*m->slots)))) {
        free(m);
        return NULL;
    }
    return m;
}

void aj_map_destroy(aj_map *m, void (*free_value)(void *)) {
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            free(m->slots[i].key);
            if (free_value) free_value(m->slots[i].value);
        }
    free(m->slots);
    free(m);
}

static aj_map_slot *aj_map_find(const aj_map *m, const void *key, size_t klen, uint64_t h) {
    size_t i = h & (m->cap - 1);
    for (;;) {
        aj_map_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)) return s;
        i = (i + 1) & (m->cap - 1);
    }
}

void *aj_map_get(const aj_map *m, const void *key, size_t klen) {
    aj_map_slot *s = aj_map_find(m, key, klen, aj_map_hash(key, klen));
    return s->key ? s->value : NULL;
}

static aj_err aj_map_grow(aj_map *m) {
    size_t cap = m->cap * 2;
    aj_map_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots) return AJ_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        aj_map_slot *s = &m->slots[i];
        if (!s->key) continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return AJ_E_OK;
}

aj_err aj_map_put(aj_map *m, const void *key, size_t klen, void *value, void **old) {
    uint64_t h = aj_map_hash(key, klen);
    aj_map_slot *s;

    if (old) *old = NULL;
    if ((m->size + 1) * 4 > m->cap * 3 && aj_map_grow(m) != AJ_E_OK) return AJ_E_NOMEM;
    s = aj_map_find(m, key, klen, h);
    if (s->key) {
        if (old) *old = s->value;
        s->value = value;
        return AJ_E_OK;
    }
    if (!(s->key = malloc(klen + 1))) return AJ_E_NOMEM;
    memcpy(s->key, key, klen);
    s->key[klen] = '\0';
    s->klen = klen;
    s->hash = h;
    s->value = value;
    m->size++;
    return AJ_E_OK;
}

size_t aj_map_size(const aj_map *m) {
    return m->size;
}

void aj_map_each(const aj_map *m, int (*fn)(void *, const void *, size_t, void *), void *opaque) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && fn(opaque, m->slots[i].key, m->slots[i].klen, m->slots[i].value)) return;
}
