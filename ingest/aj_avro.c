/* aj_avro.c - Avro binary encoding without trust: a strict datum walker, cursor readers, writers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_ingest.h"

/* Longest string, bytes or block ajuste accepts (docs/dead-letters.md, BAD_LENGTH): a length
 * beyond it is refused outright; a plausible length that runs past the end is TRUNCATED. */
#define AJ_AVRO_MAX_LEN (16 * 1024 * 1024)

/* Deepest nesting of schemas walked (recursive schemas through named links). */
#define AJ_AVRO_MAX_DEPTH 32

/* Most items of zero encoded size (null, empty records) a block may claim. */
#define AJ_AVRO_MAX_EMPTY_ITEMS (1 << 20)

/* ------------------------------------------------------------------ byte buffers */

aj_err aj_bytes_reserve(aj_bytes *b, size_t more) {
    if (b->cap - b->len >= more) return AJ_E_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) return AJ_E_NOMEM;
        cap *= 2;
    }
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) return AJ_E_NOMEM;
    b->data = grown;
    b->cap = cap;
    return AJ_E_OK;
}

void aj_bytes_free(aj_bytes *b) {
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ writers */

aj_err aj_avro_put_long(aj_bytes *b, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);   /* zig-zag */
    if (aj_bytes_reserve(b, 10)) return AJ_E_NOMEM;
    while (z & ~0x7fULL) {
        b->data[b->len++] = (uint8_t)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    b->data[b->len++] = (uint8_t)z;
    return AJ_E_OK;
}

aj_err aj_avro_put_bool(aj_bytes *b, int v) {
    if (aj_bytes_reserve(b, 1)) return AJ_E_NOMEM;
    b->data[b->len++] = v ? 1 : 0;
    return AJ_E_OK;
}

aj_err aj_avro_put_raw(aj_bytes *b, const void *p, size_t len) {
    if (aj_bytes_reserve(b, len)) return AJ_E_NOMEM;
    if (len) memcpy(b->data + b->len, p, len);
    b->len += len;
    return AJ_E_OK;
}

aj_err aj_avro_put_string(aj_bytes *b, const char *s, size_t len) {
    aj_err rc = aj_avro_put_long(b, (int64_t)len);
    return rc ? rc : aj_avro_put_raw(b, s, len);
}

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

/* ------------------------------------------------------------------ readers */

aj_err aj_avro_get_long(aj_avro_in *in, int64_t *v) {
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (in->p >= in->end) return AJ_E_TRUNCATED;
        uint8_t byte = *in->p++;
        z |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return AJ_E_OK;
        }
    }
    return AJ_E_BAD_LENGTH;   /* a varint of more than 10 bytes */
}

aj_err aj_avro_get_bool(aj_avro_in *in, int *v) {
    if (in->p >= in->end) return AJ_E_TRUNCATED;
    *v = *in->p++ != 0;
    return AJ_E_OK;
}

/* Checks a length read from the data against what remains: BAD_LENGTH when negative or beyond
 * any length ajuste accepts, TRUNCATED when it runs past the end. */
static aj_err aj_avro_check_len(const aj_avro_in *in, int64_t n) {
    if (n < 0 || n > AJ_AVRO_MAX_LEN) return AJ_E_BAD_LENGTH;
    if ((uint64_t)n > (uint64_t)(in->end - in->p)) return AJ_E_TRUNCATED;
    return AJ_E_OK;
}

aj_err aj_avro_get_string(aj_avro_in *in, const char **s, size_t *len) {
    const uint8_t *start = in->p;
    int64_t n;
    aj_err rc;
    if ((rc = aj_avro_get_long(in, &n)) || (rc = aj_avro_check_len(in, n))) {
        in->p = start;   /* errors point at the length, not past it */
        return rc;
    }
    *s = (const char *)in->p;
    *len = (size_t)n;
    in->p += n;
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
