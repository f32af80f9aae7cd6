/* aj_sha256.h - SHA-256 (FIPS 180-4), self-contained: the audit log's hash chains (docs/audit.md). */
#ifndef AJ_SHA256_H
#define AJ_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AJ_SHA256_LEN 32

typedef struct aj_sha256 {
    uint32_t h[8];
    uint64_t total;        /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;           /* bytes waiting in block */
} aj_sha256;

/* Incremental use: init, update any number of times, final. Cannot fail. */
void aj_sha256_init(aj_sha256 *s);
void aj_sha256_update(aj_sha256 *s, const void *data, size_t len);
void aj_sha256_final(aj_sha256 *s, uint8_t out[AJ_SHA256_LEN]);

/* Whether the x86 SHA extensions (SHA-NI) compute the blocks: by default they do when the CPU
 * has them (checked once, at the first block), which makes SHA-256 several times faster; the
 * result is the same either way. aj_sha256_hw(0) forces the portable code, aj_sha256_hw(1)
 * goes back to the default. Returns whether SHA-NI is now used. For the tests, which check
 * both; not meant to be called while another thread hashes. */
int aj_sha256_hw(int enable);

/* One-shot SHA-256 of data. */
void aj_sha256_digest(const void *data, size_t len, uint8_t out[AJ_SHA256_LEN]);

#endif /* AJ_SHA256_H */
