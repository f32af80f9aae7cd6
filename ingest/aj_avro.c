/* aj_avro.c - Avro binary encoding without trust: a strict datum walker; avro-c values to bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_ingest.h"

/* Deepest nesting of schemas walked (recursive schemas through named links). */
#define AJ_AVRO_MAX_DEPTH 32

/* Most items of zero encoded size (null, empty records) a block may claim. */
#define AJ_AVRO_MAX_EMPTY_ITEMS (1 << 20)

aj_err aj_avro_encode(avro_value_t *value, aj_bytes *out) {
    size_t size = 0;
    avro_writer_t w;

    if (avro_value_sizeof(value, &size) != 0) return AJ_E_AVRO;
    if (aj_bytes_reserve(out, size)) return AJ_E_NOMEM;
    if (!(w = avro_writer_memory((const char *)out->data + out->len, (int64_t)size))) return AJ_E_NOMEM;
    int failed = avro_value_write(w, value) != 0 || avro_writer_tell(w) != (int64_t)size;
    avro_writer_free(w);
    if (failed) return AJ_E_AVRO;
    out->len += size;
    return AJ_E_OK;
}

/* ------------------------------------------------------------------ the strict walker */

typedef struct aj_walk {
    const uint8_t *start;
    aj_avro_in in;
    const char *path[AJ_AVRO_MAX_DEPTH];   /* field names from the root, for the error detail */
    int depth;
    char *detail;
    size_t detlen;
} aj_walk;

/* Writes "what at byte N (field a.b.c)" into the walk's detail and returns rc. */
static aj_err aj_walk_fail(aj_walk *w, aj_err rc, const char *what) {
    char path[256] = "";
    size_t n = 0;

    if (!w->detlen) return rc;
    for (int i = 0; i < w->depth && n < sizeof(path); i++)
        if (w->path[i]) n += (size_t)snprintf(path + n, sizeof(path) - n, "%s%s", n ? "." : "", w->path[i]);
    snprintf(w->detail, w->detlen, "%s at byte %lld%s%s%s", what, (long long)(w->in.p - w->start),
             path[0] ? " (field " : "", path, path[0] ? ")" : "");
    return rc;
}

static aj_err aj_walk_value(aj_walk *w, avro_schema_t s);

static aj_err aj_walk_skip(aj_walk *w, size_t n, const char *what) {
    if ((size_t)(w->in.end - w->in.p) < n) return aj_walk_fail(w, AJ_E_TRUNCATED, what);
    w->in.p += n;
    return AJ_E_OK;
}

static aj_err aj_walk_long(aj_walk *w, int64_t *v, const char *what) {
    aj_err rc = aj_avro_get_long(&w->in, v);
    return rc ? aj_walk_fail(w, rc, what) : AJ_E_OK;
}

/* Arrays and maps: blocks of items ended by a zero count. A negative count is legal (spec:
 * its absolute value is the count, followed by the block's byte size, which must match). */
static aj_err aj_walk_blocks(aj_walk *w, avro_schema_t items, int is_map) {
    for (;;) {
        int64_t count = 0, size = -1;
        aj_err rc;

        if ((rc = aj_walk_long(w, &count, "block count"))) return rc;
        if (count == 0) return AJ_E_OK;
        if (count < 0) {
            if (count == INT64_MIN) return aj_walk_fail(w, AJ_E_BAD_LENGTH, "block count out of range");
            count = -count;
            if ((rc = aj_walk_long(w, &size, "block size"))) return rc;
            if ((rc = aj_avro_check_len(&w->in, size))) return aj_walk_fail(w, rc, "block size");
        }
        /* Every item takes at least one byte unless its schema encodes to nothing. */
        if (count > (int64_t)(w->in.end - w->in.p) && count > AJ_AVRO_MAX_EMPTY_ITEMS)
            return aj_walk_fail(w, AJ_E_BAD_LENGTH, "block count larger than the data");
        const uint8_t *block = w->in.p;
        for (int64_t i = 0; i < count; i++) {
            if (is_map) {
                const char *k;
                size_t klen;
                if ((rc = aj_avro_get_string(&w->in, &k, &klen))) return aj_walk_fail(w, rc, "map key");
            }
            if ((rc = aj_walk_value(w, items))) return rc;
        }
        if (size >= 0 && w->in.p - block != size)
            return aj_walk_fail(w, AJ_E_BAD_LENGTH, "block size does not match its items");
    }
}

static aj_err aj_walk_value(aj_walk *w, avro_schema_t s) {
    int64_t v = 0;
    aj_err rc;

    if (w->depth >= AJ_AVRO_MAX_DEPTH) return aj_walk_fail(w, AJ_E_BAD_LENGTH, "schema nested too deep");
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return AJ_E_OK;
    case AVRO_BOOLEAN:
        if (w->in.p >= w->in.end) return aj_walk_fail(w, AJ_E_TRUNCATED, "boolean");
        if (*w->in.p > 1) return aj_walk_fail(w, AJ_E_BAD_ENUM, "boolean byte is neither 0 nor 1");
        w->in.p++;
        return AJ_E_OK;
    case AVRO_INT32:
        if ((rc = aj_walk_long(w, &v, "int"))) return rc;
        if (v < INT32_MIN || v > INT32_MAX) return aj_walk_fail(w, AJ_E_BAD_LENGTH, "int out of range");
        return AJ_E_OK;
    case AVRO_INT64:
        return aj_walk_long(w, &v, "long");
    case AVRO_FLOAT:
        return aj_walk_skip(w, 4, "float");
    case AVRO_DOUBLE:
        return aj_walk_skip(w, 8, "double");
    case AVRO_STRING:
    case AVRO_BYTES: {
        const char *p;
        size_t n;
        if ((rc = aj_avro_get_string(&w->in, &p, &n)))
            return aj_walk_fail(w, rc, avro_typeof(s) == AVRO_STRING ? "string length" : "bytes length");
        return AJ_E_OK;
    }
    case AVRO_FIXED:
        return aj_walk_skip(w, (size_t)avro_schema_fixed_size(s), "fixed");
    case AVRO_ENUM:
        if ((rc = aj_walk_long(w, &v, "enum index"))) return rc;
        if (v < 0 || v >= avro_schema_enum_number_of_symbols(s))
            return aj_walk_fail(w, AJ_E_BAD_ENUM, "enum index out of range");
        return AJ_E_OK;
    case AVRO_UNION:
        if ((rc = aj_walk_long(w, &v, "union index"))) return rc;
        if (v < 0 || (uint64_t)v >= avro_schema_union_size(s))
            return aj_walk_fail(w, AJ_E_BAD_UNION, "union branch index out of range");
        w->path[w->depth++] = NULL;
        rc = aj_walk_value(w, avro_schema_union_branch(s, (int)v));
        w->depth--;
        return rc;
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            w->path[w->depth++] = avro_schema_record_field_name(s, (int)i);
            rc = aj_walk_value(w, avro_schema_record_field_get_by_index(s, (int)i));
            if (rc) return rc;   /* depth left as is: the detail is written */
            w->depth--;
        }
        return AJ_E_OK;
    case AVRO_ARRAY:
        return aj_walk_blocks(w, avro_schema_array_items(s), 0);
    case AVRO_MAP:
        return aj_walk_blocks(w, avro_schema_map_values(s), 1);
    case AVRO_LINK:
        w->path[w->depth++] = NULL;
        rc = aj_walk_value(w, avro_schema_link_target(s));
        w->depth--;
        return rc;
    }
    return aj_walk_fail(w, AJ_E_AVRO, "schema type ajuste cannot walk");
}

aj_err aj_avro_check(avro_schema_t schema, const void *buf, size_t len, size_t *consumed,
                     char *detail, size_t detlen) {
    aj_walk w;
    aj_err rc;

    memset(&w, 0, sizeof(w));
    w.start = buf;
    w.in.p = buf;
    w.in.end = w.in.p + len;
    w.detail = detail;
    w.detlen = detlen;
    if (detlen) detail[0] = '\0';
    if (len == 0 && avro_typeof(schema) != AVRO_NULL) {
        if (detlen) snprintf(detail, detlen, "empty datum");
        return AJ_E_TRUNCATED;
    }
    if ((rc = aj_walk_value(&w, schema))) return rc;
    *consumed = (size_t)(w.in.p - w.start);
    return AJ_E_OK;
}
