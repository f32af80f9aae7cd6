/* aj_map.h - a string-keyed hash map (open addressing), keys copied, values borrowed. */
#ifndef AJ_MAP_H
#define AJ_MAP_H

#include <stddef.h>

#include "aj_error.h"

typedef struct aj_map aj_map;

aj_map *aj_map_create(void);

/* Frees the map and its keys; free_value (may be NULL) is called on each value. NULL-safe. */
void aj_map_destroy(aj_map *m, void (*free_value)(void *));

/* Value stored under key (klen bytes), or NULL. */
void *aj_map_get(const aj_map *m, const void *key, size_t klen);

/* Stores value under key (copied), replacing and returning the previous value in *old (may be
 * NULL). AJ_E_NOMEM. */
aj_err aj_map_put(aj_map *m, const void *key, size_t klen, void *value, void **old);

size_t aj_map_size(const aj_map *m);

/* Calls fn on every entry in an unspecified order; stops early when fn returns non-zero. */
void aj_map_each(const aj_map *m, int (*fn)(void *opaque, const void *key, size_t klen, void *value),
                 void *opaque);

#endif /* AJ_MAP_H */
