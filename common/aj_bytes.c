/* aj_bytes.c - a growable byte buffer, and the Avro binary primitives written to and read
 * from it without trusting the bytes (also the encoding of checkpointed state). */
#include "aj_bytes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
aj_err aj_avro_check_len(const aj_avro_in *in, int64_t n) {
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

