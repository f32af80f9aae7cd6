/* aj_bytes.h - a growable byte buffer, and the Avro binary primitives on it (encoders, the
 * strict decoders, checkpointed state). */
#ifndef AJ_BYTES_H
#define AJ_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "aj_error.h"

/* Longest string, bytes or block ajuste accepts (docs/dead-letters.md, BAD_LENGTH): a length
 * beyond it is refused outright; a plausible length that runs past the end is TRUNCATED. */
#define AJ_AVRO_MAX_LEN (16 * 1024 * 1024)

/* A growable byte buffer for encoders. */
typedef struct aj_bytes {
    uint8_t *data;
    size_t len, cap;
} aj_bytes;

/* Ensures room for `more` bytes. AJ_E_NOMEM. */
aj_err aj_bytes_reserve(aj_bytes *b, size_t more);
void aj_bytes_free(aj_bytes *b);

/* Low-level Avro binary writers (spec "Binary Encoding"): append to b, AJ_E_NOMEM on failure.
 * int and long share the zig-zag varint; bytes and string share length + raw bytes. */
aj_err aj_avro_put_long(aj_bytes *b, int64_t v);
aj_err aj_avro_put_bool(aj_bytes *b, int v);
aj_err aj_avro_put_string(aj_bytes *b, const char *s, size_t len);
aj_err aj_avro_put_raw(aj_bytes *b, const void *p, size_t len);

/* A read cursor over untrusted Avro binary data. */
typedef struct aj_avro_in {
    const uint8_t *p;
    const uint8_t *end;
} aj_avro_in;

/* Readers: AJ_E_TRUNCATED when the data ends early, AJ_E_BAD_LENGTH for a varint longer than
 * 10 bytes or a negative / oversized string length. Strings are borrowed from the data (not
 * NUL-terminated). */
aj_err aj_avro_get_long(aj_avro_in *in, int64_t *v);
aj_err aj_avro_get_bool(aj_avro_in *in, int *v);
aj_err aj_avro_get_string(aj_avro_in *in, const char **s, size_t *len);

/* A length n read from the data, against what remains: AJ_E_BAD_LENGTH when negative or
 * beyond AJ_AVRO_MAX_LEN, AJ_E_TRUNCATED when it runs past the end. */
aj_err aj_avro_check_len(const aj_avro_in *in, int64_t n);

#endif /* AJ_BYTES_H */
