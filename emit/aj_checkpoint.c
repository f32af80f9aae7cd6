/* aj_checkpoint.c - checkpoint messages: zlib chunks and a manifest, and the reader that finds
 * the latest complete checkpoint of each partition. */
#include "aj_checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define AJ_MANIFEST_MAGIC "AJCM"

void aj_checkpoint_msgs_free(aj_ckpt_msg *msgs, size_t n) {
    if (!msgs) return;
    for (size_t i = 0; i < n; i++) aj_bytes_free(&msgs[i].value);
    free(msgs);
}

aj_err aj_checkpoint_encode(const char *group, const char *topic, int32_t partition, int64_t seq, int64_t offset,
                            const void *state, size_t len, aj_ckpt_msg **out, size_t *n_out) {
    uLongf zlen = compressBound((uLong)len);
    uint8_t *z = malloc(zlen ? zlen : 1);
    aj_ckpt_msg *m = NULL;
    size_t n = 0, chunks;
    aj_err rc = AJ_E_NOMEM;

    *out = NULL;
    *n_out = 0;
    if (!z) return AJ_E_NOMEM;
    /* Level 1: every commit compresses the state of every partition that moved, on the thread
     * that rates (docs/performance.md, "Checkpoints"). Against level 6 it takes about half the
     * time for 2-10% more bytes: much of the state (record fingerprints) does not compress. */
    if (compress2(z, &zlen, state, (uLong)len, Z_BEST_SPEED) != Z_OK) goto end;
    chunks = zlen ? (zlen + AJ_CHECKPOINT_CHUNK - 1) / AJ_CHECKPOINT_CHUNK : 0;
    if (!(m = calloc(chunks + 1, sizeof(*m)))) goto end;
    for (size_t i = 0; i < chunks; i++, n++) {
        size_t at = i * AJ_CHECKPOINT_CHUNK, part = zlen - at < AJ_CHECKPOINT_CHUNK ? zlen - at : AJ_CHECKPOINT_CHUNK;
        int w = snprintf(m[n].key, sizeof(m[n].key), "%s/%s/%" PRId32 "/%" PRId64 "/%zu", group, topic, partition,
                         seq, i);
        if (w < 0 || (size_t)w >= sizeof(m[n].key)) {
            rc = AJ_E_ARG;
            goto end;
        }
        if (aj_avro_put_raw(&m[n].value, z + at, part)) goto end;
    }
    int w = snprintf(m[n].key, sizeof(m[n].key), "%s/%s/%" PRId32, group, topic, partition);
    if (w < 0 || (size_t)w >= sizeof(m[n].key)) {
        rc = AJ_E_ARG;
        goto end;
    }
    aj_bytes *v = &m[n++].value;
    uLong crc = crc32(0L, z, (uInt)zlen);
    if (aj_avro_put_raw(v, AJ_MANIFEST_MAGIC, 4) || aj_avro_put_long(v, seq) || aj_avro_put_long(v, offset) ||
        aj_avro_put_long(v, (int64_t)chunks) || aj_avro_put_long(v, (int64_t)zlen) ||
        aj_avro_put_long(v, (int64_t)len) || aj_avro_put_long(v, (int64_t)crc))
        goto end;
    *out = m;
    *n_out = n;
    m = NULL;
    rc = AJ_E_OK;
end:
    if (m) aj_checkpoint_msgs_free(m, chunks + 1);
    free(z);
    return rc;
}

/* ------------------------------------------------------------------ the reader */

typedef struct aj_chunk {
    int64_t seq;
    int64_t index;
    aj_bytes data;
} aj_chunk;

typedef struct aj_part_ckpt {
    int32_t partition;
    aj_chunk *chunks;      /* chunks of seqs above `seq`, in arrival order */
    size_t n_chunks, cap_chunks;
    int have;              /* a complete checkpoint was found */
    int64_t seq, offset, plain_len, n_named;   /* n_named: chunks its manifest names */
    aj_bytes compressed;
} aj_part_ckpt;

struct aj_ckpt_reader {
    char prefix[300];      /* "<group>/<topic>/" */
    size_t prefix_len;
    aj_part_ckpt *parts;
    size_t n_parts, cap_parts;
};

aj_ckpt_reader *aj_ckpt_reader_create(const char *group, const char *topic) {
    aj_ckpt_reader *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    int w = snprintf(r->prefix, sizeof(r->prefix), "%s/%s/", group, topic);
    if (w < 0 || (size_t)w >= sizeof(r->prefix)) {
        free(r);
        return NULL;
    }
    r->prefix_len = (size_t)w;
    return r;
}

static void aj_part_free(aj_part_ckpt *p) {
    for (size_t i = 0; i < p->n_chunks; i++) aj_bytes_free(&p->chunks[i].data);
    free(p->chunks);
    aj_bytes_free(&p->compressed);
}

void aj_ckpt_reader_destroy(aj_ckpt_reader *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_parts; i++) aj_part_free(&r->parts[i]);
    free(r->parts);
    free(r);
}

static aj_part_ckpt *aj_part_get(aj_ckpt_reader *r, int32_t partition, int create) {
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].partition == partition) return &r->parts[i];
    if (!create) return NULL;
    if (r->n_parts == r->cap_parts) {
        size_t cap = r->cap_parts ? r->cap_parts * 2 : 8;
        aj_part_ckpt *grown = realloc(r->parts, cap * sizeof(*grown));
        if (!grown) return NULL;
        r->parts = grown;
        r->cap_parts = cap;
    }
    aj_part_ckpt *p = &r->parts[r->n_parts++];
    memset(p, 0, sizeof(*p));
    p->partition = partition;
    return p;
}

/* Parses up to three '/'-separated non-negative decimal numbers; returns how many, -1 if bad. */
static int aj_parse_nums(const char *s, size_t len, int64_t v[3]) {
    int n = 0;
    size_t i = 0;
    while (i < len) {
        if (n == 3) return -1;
        int64_t x = 0;
        size_t start = i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (x > (INT64_MAX - 9) / 10) return -1;
            x = x * 10 + (s[i] - '0');
        }
        if (i == start) return -1;
        v[n++] = x;
        if (i < len && s[i++] != '/') return -1;
        if (i == len && s[len - 1] == '/') return -1;
    }
    return n;
}

/* A manifest of partition p: complete when every chunk it names was read, sizes and CRC
 * match; then it becomes p's checkpoint and the chunks of that seq and older are dropped. */
static aj_err aj_take_manifest(aj_part_ckpt *p, const uint8_t *value, size_t len) {
    aj_avro_in in = {value, value + len};
    int64_t seq, offset, chunks, zlen, plain, crc;
    aj_bytes z = {0};
    if (len < 4 || memcmp(value, AJ_MANIFEST_MAGIC, 4) != 0) return AJ_E_OK;   /* not ours: ignored */
    in.p += 4;
    if (aj_avro_get_long(&in, &seq) || aj_avro_get_long(&in, &offset) || aj_avro_get_long(&in, &chunks) ||
        aj_avro_get_long(&in, &zlen) || aj_avro_get_long(&in, &plain) || aj_avro_get_long(&in, &crc) || chunks < 0 ||
        zlen < 0 || plain < 0 || offset < 0 || (p->have && seq <= p->seq))
        return AJ_E_OK;   /* damaged or stale: the earlier checkpoint stands */
    for (int64_t i = 0; i < chunks; i++) {
        const aj_chunk *found = NULL;
        for (size_t k = p->n_chunks; k-- > 0;)   /* the latest copy of a chunk counts */
            if (p->chunks[k].seq == seq && p->chunks[k].index == i) {
                found = &p->chunks[k];
                break;
            }
        if (!found || aj_avro_put_raw(&z, found->data.data, found->data.len)) {
            aj_bytes_free(&z);
            return found ? AJ_E_NOMEM : AJ_E_OK;   /* incomplete: not a checkpoint */
        }
    }
    if ((int64_t)z.len != zlen || (int64_t)crc32(0L, z.data, (uInt)z.len) != crc) {
        aj_bytes_free(&z);
        return AJ_E_OK;
    }
    aj_bytes_free(&p->compressed);
    p->compressed = z;
    p->have = 1;
    p->seq = seq;
    p->offset = offset;
    p->plain_len = plain;
    p->n_named = chunks;
    size_t keep = 0;
    for (size_t k = 0; k < p->n_chunks; k++) {
        if (p->chunks[k].seq <= seq)
            aj_bytes_free(&p->chunks[k].data);
        else
            p->chunks[keep++] = p->chunks[k];
    }
    p->n_chunks = keep;
    return AJ_E_OK;
}

aj_err aj_ckpt_reader_add(aj_ckpt_reader *r, const void *key, size_t key_len, const void *value, size_t value_len) {
    int64_t v[3];
    if (!value || !key || key_len <= r->prefix_len || memcmp(key, r->prefix, r->prefix_len) != 0) return AJ_E_OK;
    int n = aj_parse_nums((const char *)key + r->prefix_len, key_len - r->prefix_len, v);
    if (n != 1 && n != 3) return AJ_E_OK;
    if (v[0] > INT32_MAX) return AJ_E_OK;
    aj_part_ckpt *p = aj_part_get(r, (int32_t)v[0], 1);
    if (!p) return AJ_E_NOMEM;
    if (n == 1) return aj_take_manifest(p, value, value_len);
    if (p->have && v[1] <= p->seq) return AJ_E_OK;   /* a chunk of a checkpoint already superseded */
    if (p->n_chunks == p->cap_chunks) {
        size_t cap = p->cap_chunks ? p->cap_chunks * 2 : 4;
        aj_chunk *grown = realloc(p->chunks, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        p->chunks = grown;
        p->cap_chunks = cap;
    }
    aj_chunk *c = &p->chunks[p->n_chunks];
    memset(c, 0, sizeof(*c));
    c->seq = v[1];
    c->index = v[2];
    if (aj_avro_put_raw(&c->data, value, value_len)) return AJ_E_NOMEM;
    p->n_chunks++;
    return AJ_E_OK;
}

aj_err aj_ckpt_reader_get(aj_ckpt_reader *r, int32_t partition, int64_t *seq, int64_t *offset, int64_t *chunks,
                          aj_bytes *state) {
    aj_part_ckpt *p = aj_part_get(r, partition, 0);
    if (!p || !p->have) return AJ_E_NOT_FOUND;
    if (aj_bytes_reserve(state, (size_t)p->plain_len + 1)) return AJ_E_NOMEM;
    uLongf plain = (uLongf)p->plain_len;
    if (uncompress(state->data + state->len, &plain, p->compressed.data, (uLong)p->compressed.len) != Z_OK ||
        (int64_t)plain != p->plain_len)
        return AJ_E_TRUNCATED;   /* the CRC matched: only a bug or memory error gets here */
    state->len += (size_t)plain;
    *seq = p->seq;
    *offset = p->offset;
    if (chunks) *chunks = p->n_named;
    return AJ_E_OK;
}
