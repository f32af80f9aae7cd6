/* test_file_source.c - the Avro container file source against files avro-c's own writer made, intact and broken. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "aj_ingest.h"
#include "aj_log.h"

#define SYNC_LEN 16
#define MAX_BLOCKS 512

static char dir[] = "/tmp/aj_fs_XXXXXX";

/* ------------------------------------------------------------------ writing with avro-c */

/* Fills record rec (any branch of the usage_event union) for datum i: the account carries i. */
static void fill_record(avro_value_t *rec, int i) {
    avro_schema_t s = avro_value_get_schema(rec);
    char buf[64];
    for (size_t f = 0; f < avro_schema_record_size(s); f++) {
        const char *name = avro_schema_record_field_name(s, (int)f);
        avro_value_t v;
        assert_int_equal(avro_value_get_by_index(rec, f, &v, NULL), 0);
        switch (avro_value_get_type(&v)) {
        case AVRO_STRING:
            if (strcmp(name, "account") == 0) snprintf(buf, sizeof(buf), "ACC-%06d", i);
            else if (strcmp(name, "service") == 0) snprintf(buf, sizeof(buf), "VOICE");
            else if (strcmp(name, "currency") == 0) snprintf(buf, sizeof(buf), "BRL");
            else if (strcmp(name, "cycle_id") == 0) snprintf(buf, sizeof(buf), "2026-10");
            else if (strcmp(name, "origin") == 0 || strcmp(name, "destination") == 0)
                snprintf(buf, sizeof(buf), "5511%08d", i);
            else snprintf(buf, sizeof(buf), "%.4s-%06d", name, i);
            assert_int_equal(avro_value_set_string(&v, buf), 0);
            break;
        case AVRO_INT64:
            assert_int_equal(avro_value_set_long(&v, strcmp(name, "period_end") == 0 ? 1790000000000LL : 1000 + i), 0);
            break;
        case AVRO_BOOLEAN:
            assert_int_equal(avro_value_set_boolean(&v, i & 1), 0);
            break;
        case AVRO_ARRAY:   /* legacy_taxes: left empty */
            break;
        default:
            fail_msg("unexpected field type of %s", name);
        }
    }
}

static char *path_of(char *out, size_t len, const char *name) {
    snprintf(out, len, "%s/%s", dir, name);
    return out;
}

/* Writes n usage-stream datums (usage, recurring, close in turn) with avro-c's file writer. */
static void write_usage_file(const char *path, const char *codec, int n, size_t block_size) {
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    avro_file_writer_t w;
    avro_value_t v, rec;

    unlink(path);
    assert_int_equal(avro_file_writer_create_with_codec(path, s->schema, &w, codec, block_size), 0);
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(avro_value_set_branch(&v, i % 3, &rec), 0);
        fill_record(&rec, i);
        assert_int_equal(avro_file_writer_append_value(w, &v), 0);
    }
    avro_value_decref(&v);
    assert_int_equal(avro_file_writer_close(w), 0);
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    struct stat st;
    assert_non_null(f);
    assert_int_equal(fstat(fileno(f), &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    *len = (size_t)st.st_size;
    return buf;
}

static void spit(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ------------------------------------------------------------------ an independent block walker */

typedef struct block {
    size_t start;      /* block header */
    size_t data;       /* first byte of the (compressed) datums */
    int64_t count, size;
    int64_t first;     /* index of its first datum */
} block;

static int64_t varint(const uint8_t *p, size_t *off) {
    uint64_t z = 0;
    for (int shift = 0;; shift += 7) {
        uint8_t b = p[(*off)++];
        z |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

/* Blocks of an intact file: the sync marker is its last 16 bytes, the header ends at its first
 * occurrence. Returns the number of blocks. */
static int walk_blocks(const uint8_t *buf, size_t len, block *b) {
    const uint8_t *sync = buf + len - SYNC_LEN;
    size_t off = 0;
    int n = 0;
    int64_t first = 0;
    while (memcmp(buf + off, sync, SYNC_LEN) != 0) off++;
    off += SYNC_LEN;
    while (off < len) {
        assert_true(n < MAX_BLOCKS);
        b[n].start = off;
        b[n].count = varint(buf, &off);
        b[n].size = varint(buf, &off);
        b[n].data = off;
        b[n].first = first;
        first += b[n].count;
        off += (size_t)b[n].size;
        assert_memory_equal(buf + off, sync, SYNC_LEN);
        off += SYNC_LEN;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ reading */

typedef struct got {
    aj_err rc;
    int64_t offset;
    uint8_t *value;
    size_t len;
    int64_t acc;   /* the index its account carries; -1 for a reject */
} got;

typedef struct run {
    got *v;
    size_t n;
    size_t ok;
} run;

/* Reads a whole file through aj_file_source; every OK datum must decode (its account's index is
 * kept). Stops at EOF, which must repeat. */
static run read_all(const char *path) {
    aj_decoder *dec = aj_decoder_create();
    const aj_schema *usage = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    char err[512], detail[256];
    aj_message m;
    aj_err rc;
    run r = {NULL, 0, 0};
    size_t cap = 0;
    aj_source *src = aj_file_source_open(path, &rc, err, sizeof(err));

    if (!src) fail_msg("%s", err);
    assert_int_equal(rc, AJ_E_OK);
    assert_non_null(dec);
    while ((rc = aj_source_next(src, &m, 0)) != AJ_E_EOF) {
        assert_true(rc == AJ_E_OK || aj_err_is_reject(rc));
        assert_string_equal(m.pos.origin, path);
        assert_int_equal(m.pos.partition, -1);
        assert_null(m.key);
        assert_ptr_equal(m.writer, usage);
        /* A reject says why (it becomes the dead letter's detail); a datum carries no detail. */
        if (rc == AJ_E_OK)
            assert_null(m.detail);
        else
            assert_true(m.detail && m.detail[0]);
        if (r.n == cap) {
            cap = cap ? cap * 2 : 256;
            r.v = realloc(r.v, cap * sizeof(*r.v));
            assert_non_null(r.v);
        }
        got *g = &r.v[r.n++];
        g->rc = rc;
        g->offset = m.pos.offset;
        g->len = m.value_len;
        g->acc = -1;
        g->value = malloc(m.value_len + 1);
        assert_non_null(g->value);
        if (m.value_len) memcpy(g->value, m.value, m.value_len);
        if (rc == AJ_E_OK) {
            size_t used = 0;
            aj_event ev;
            r.ok++;
            assert_int_equal(aj_avro_check(usage->schema, m.value, m.value_len, &used, NULL, 0), AJ_E_OK);
            assert_int_equal(used, m.value_len);
            rc = aj_decode_event(dec, usage, m.value, m.value_len, &ev, detail, sizeof(detail));
            if (rc != AJ_E_OK) fail_msg("datum %lld: %s: %s", (long long)m.pos.offset, aj_err_name(rc), detail);
            assert_int_equal(sscanf(aj_event_account(&ev), "ACC-%" SCNd64, &g->acc), 1);
            assert_int_equal((int)ev.kind, (int)(g->acc % 3));
        }
        if (r.n > 1) assert_true(g->offset > r.v[r.n - 2].offset);   /* unique, ascending */
    }
    assert_int_equal(aj_source_next(src, &m, 0), AJ_E_EOF);
    assert_int_equal(aj_source_commit(src), AJ_E_OK);
    aj_source_destroy(src);
    aj_decoder_destroy(dec);
    return r;
}

/* Every datum read sits at the index the writer gave it. */
static void assert_indices_kept(const run *r) {
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].rc == AJ_E_OK) assert_int_equal(r->v[i].offset, r->v[i].acc);
}

static void run_free(run *r) {
    for (size_t i = 0; i < r->n; i++) free(r->v[i].value);
    free(r->v);
}

/* ------------------------------------------------------------------ tests */

static void test_roundtrip_null_and_deflate(void **state) {
    static const char *const codecs[] = {"null", "deflate"};
    char path[512];
    block b[MAX_BLOCKS];
    (void)state;
    for (int c = 0; c < 2; c++) {
        size_t len;
        path_of(path, sizeof(path), codecs[c]);
        write_usage_file(path, codecs[c], 1000, 2048);
        uint8_t *buf = slurp(path, &len);
        int nb = walk_blocks(buf, len, b);
        assert_true(nb >= 10);   /* several blocks */
        free(buf);

        run r = read_all(path);
        assert_int_equal(r.n, 1000);
        assert_int_equal(r.ok, 1000);
        for (size_t i = 0; i < r.n; i++) assert_int_equal(r.v[i].offset, (int64_t)i);
        assert_indices_kept(&r);
        run_free(&r);
    }
}

static void test_empty_file(void **state) {
    char path[512];
    (void)state;
    write_usage_file(path_of(path, sizeof(path), "empty.avro"), "deflate", 0, 0);
    run r = read_all(path);
    assert_int_equal(r.n, 0);
    run_free(&r);
}

/* Opening fails with rc and an error naming the path (and containing want when not NULL). */
static void expect_open_error(const char *path, aj_err want_rc, const char *want) {
    char err[512];
    aj_err rc = AJ_E_OK;
    aj_source *src = aj_file_source_open(path, &rc, err, sizeof(err));
    assert_null(src);
    assert_int_equal(rc, want_rc);
    if (!strstr(err, path)) fail_msg("error does not name %s: %s", path, err);
    if (want && !strstr(err, want)) fail_msg("error does not say '%s': %s", want, err);
}

static void test_unknown_schema(void **state) {
    static const char *json = "{\"type\":\"record\",\"name\":\"Other\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}";
    avro_schema_t s;
    avro_value_iface_t *iface;
    avro_file_writer_t w;
    avro_value_t v, f;
    char path[512];
    (void)state;

    assert_int_equal(avro_schema_from_json_length(json, strlen(json), &s), 0);
    iface = avro_generic_class_from_schema(s);
    path_of(path, sizeof(path), "other.avro");
    unlink(path);
    assert_int_equal(avro_file_writer_create_with_codec(path, s, &w, "null", 0), 0);
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(avro_value_get_by_index(&v, 0, &f, NULL), 0);
        assert_int_equal(avro_value_set_long(&f, i), 0);
        assert_int_equal(avro_file_writer_append_value(w, &v), 0);
    }
    assert_int_equal(avro_file_writer_close(w), 0);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    expect_open_error(path, AJ_E_UNKNOWN_SCHEMA, "not a known schema");
}

static void test_bad_headers(void **state) {
    char path[512], bad[512];
    size_t len;
    block b[MAX_BLOCKS];
    (void)state;

    spit(path_of(bad, sizeof(bad), "text.avro"), "hello, this is not an Avro file\n", 32);
    expect_open_error(bad, AJ_E_AVRO, "not an Avro object container file");
    spit(bad, "", 0);
    expect_open_error(bad, AJ_E_AVRO, "not an Avro object container file");
    spit(bad, "Obj", 3);
    expect_open_error(bad, AJ_E_AVRO, NULL);

    write_usage_file(path_of(path, sizeof(path), "good.avro"), "null", 20, 0);
    uint8_t *buf = slurp(path, &len);
    walk_blocks(buf, len, b);
    size_t header = b[0].start;
    /* Cut inside the metadata, and inside the sync marker. */
    spit(bad, buf, 40);
    expect_open_error(bad, AJ_E_AVRO, "truncated");
    spit(bad, buf, header - 5);
    expect_open_error(bad, AJ_E_AVRO, "truncated");
    /* A header alone (no block) is an empty file. */
    spit(bad, buf, header);
    run r = read_all(bad);
    assert_int_equal(r.n, 0);
    run_free(&r);

    /* A codec ajuste does not read: "null" in the metadata becomes "zstd". */
    uint8_t *codec = NULL;
    for (size_t i = 0; i + 10 < header; i++)
        if (memcmp(buf + i, "avro.codec", 10) == 0) codec = buf + i + 10;
    assert_non_null(codec);
    assert_int_equal(codec[0], 8);   /* length 4, zig-zag */
    assert_memory_equal(codec + 1, "null", 4);
    memcpy(codec + 1, "zstd", 4);
    spit(bad, buf, len);
    expect_open_error(bad, AJ_E_AVRO, "'zstd' is not supported");

    /* A schema that is not JSON. */
    memcpy(codec + 1, "null", 4);
    uint8_t *json = NULL;
    for (size_t i = 0; i + 11 < header; i++)
        if (memcmp(buf + i, "avro.schema", 11) == 0) json = buf + i + 11;
    assert_non_null(json);
    while (*json != '[' && *json != '{') json++;
    *json = '#';
    spit(bad, buf, len);
    expect_open_error(bad, AJ_E_AVRO, "does not parse");
    free(buf);
}

static void test_missing_path(void **state) {
    char path[512];
    (void)state;
    expect_open_error(path_of(path, sizeof(path), "no-such-file.avro"), AJ_E_IO, "cannot open");
    expect_open_error(dir, AJ_E_IO, "not a regular file");
}

/* A string length made negative inside a block: the rest of that block is one reject at the
 * failing datum, then every following block is read, with its own indices. */
static void test_corrupt_datum(void **state) {
    char path[512], bad[512];
    block b[MAX_BLOCKS];
    size_t len;
    (void)state;

    write_usage_file(path_of(path, sizeof(path), "corrupt.avro"), "null", 400, 1024);
    uint8_t *buf = slurp(path, &len);
    int nb = walk_blocks(buf, len, b);
    assert_true(nb > 5);
    const block *k = &b[3];
    int64_t victim = k->first + 2;
    char acc[32];
    snprintf(acc, sizeof(acc), "ACC-%06lld", (long long)victim);
    uint8_t *at = NULL;
    for (size_t i = k->data; i < k->data + (size_t)k->size; i++)
        if (memcmp(buf + i, acc, 10) == 0) at = buf + i;
    assert_non_null(at);
    assert_int_equal(at[-1], 20);   /* length 10, zig-zag */
    at[-1] = 0x01;                  /* -1 */
    spit(path_of(bad, sizeof(bad), "corrupt-bad.avro"), buf, len);

    run r = read_all(bad);
    size_t rejects = 0;
    for (size_t i = 0; i < r.n; i++) {
        const got *g = &r.v[i];
        if (g->rc == AJ_E_OK) continue;
        rejects++;
        assert_int_equal(g->rc, AJ_E_BAD_LENGTH);
        assert_int_equal(g->offset, victim);
        /* The remaining bytes of the block, as they are in the file, the broken length inside. */
        const uint8_t *block_end = buf + k->data + k->size;
        assert_true(g->len > 0 && g->len < (size_t)k->size);
        assert_memory_equal(g->value, block_end - g->len, g->len);
        assert_true(block_end - g->len < at);
        /* Next: the first datum of the next block. */
        assert_true(i + 1 < r.n);
        assert_int_equal(r.v[i + 1].rc, AJ_E_OK);
        assert_int_equal(r.v[i + 1].offset, b[4].first);
    }
    assert_int_equal(rejects, 1);
    assert_int_equal(r.ok, 400 - (size_t)(k->first + k->count - victim));
    assert_int_equal(r.v[r.n - 1].offset, 399);
    assert_indices_kept(&r);
    run_free(&r);
    free(buf);
}

/* Deflate data that does not inflate: the block is one reject, the next blocks are read. */
static void test_corrupt_deflate_block(void **state) {
    char path[512], bad[512];
    block b[MAX_BLOCKS];
    size_t len;
    (void)state;

    write_usage_file(path_of(path, sizeof(path), "deflate.avro"), "deflate", 600, 2048);
    uint8_t *buf = slurp(path, &len);
    int nb = walk_blocks(buf, len, b);
    assert_true(nb > 4);
    buf[b[2].data] = 0xff;   /* final block of reserved type 3: invalid */
    spit(path_of(bad, sizeof(bad), "deflate-bad.avro"), buf, len);

    run r = read_all(bad);
    size_t rejects = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].rc == AJ_E_OK) continue;
        rejects++;
        assert_int_equal(r.v[i].rc, AJ_E_BAD_LENGTH);
        assert_int_equal(r.v[i].offset, b[2].first);
        assert_int_equal(r.v[i].len, (size_t)b[2].size);   /* the compressed block, whole */
        assert_memory_equal(r.v[i].value, buf + b[2].data, r.v[i].len);
        assert_int_equal(r.v[i + 1].offset, b[3].first);
    }
    assert_int_equal(rejects, 1);
    assert_int_equal(r.ok, 600 - (size_t)b[2].count);
    assert_indices_kept(&r);
    run_free(&r);
    free(buf);
}

/* A file cut inside its last block (a writer that died): the datums before it, one TRUNCATED
 * reject with the rest of the file, then EOF. Both codecs; cut in the data and in the sync. */
static void test_truncated_last_block(void **state) {
    static const char *const codecs[] = {"null", "deflate"};
    char path[512], bad[512];
    block b[MAX_BLOCKS];
    size_t len;
    (void)state;

    for (int c = 0; c < 2; c++) {
        write_usage_file(path_of(path, sizeof(path), "trunc.avro"), codecs[c], 300, 1024);
        uint8_t *buf = slurp(path, &len);
        int nb = walk_blocks(buf, len, b);
        const block *last = &b[nb - 1];
        size_t cuts[] = {last->data + (size_t)last->size / 2, len - 5};
        for (int k = 0; k < 2; k++) {
            spit(path_of(bad, sizeof(bad), "trunc-bad.avro"), buf, cuts[k]);
            run r = read_all(bad);
            assert_int_equal(r.ok, (size_t)last->first);
            assert_int_equal(r.n, (size_t)last->first + 1);
            const got *g = &r.v[r.n - 1];
            assert_int_equal(g->rc, AJ_E_TRUNCATED);
            assert_int_equal(g->offset, last->first);
            assert_int_equal(g->len, cuts[k] - last->start);
            assert_memory_equal(g->value, buf + last->start, g->len);
            assert_indices_kept(&r);
            run_free(&r);
        }
        free(buf);
    }
}

/* A block count one short: the datum left over is TRAILING_BYTES; the next block keeps its
 * indices. One too many: the block ends first (TRUNCATED, nothing left), reading goes on. */
static void test_wrong_block_count(void **state) {
    char path[512], bad[512];
    block b[MAX_BLOCKS];
    size_t len;
    (void)state;

    write_usage_file(path_of(path, sizeof(path), "count.avro"), "null", 200, 1024);
    uint8_t *buf = slurp(path, &len);
    int nb = walk_blocks(buf, len, b);
    assert_true(nb > 3);
    const block *k = &b[1];
    assert_true(k->count < 63);
    assert_int_equal(buf[k->start], k->count * 2);   /* one-byte zig-zag count */

    buf[k->start] = (uint8_t)((k->count - 1) * 2);
    spit(path_of(bad, sizeof(bad), "count-bad.avro"), buf, len);
    run r = read_all(bad);
    assert_int_equal(r.ok, 199);
    assert_int_equal(r.n, 200);
    const got *g = &r.v[k->first + k->count - 1];
    assert_int_equal(g->rc, AJ_E_TRAILING_BYTES);
    assert_int_equal(g->offset, k->first + k->count - 1);
    assert_memory_equal(g->value, buf + k->data + k->size - g->len, g->len);   /* the last datum */
    for (size_t i = 0; i < r.n; i++) assert_int_equal(r.v[i].offset, (int64_t)i);
    assert_indices_kept(&r);
    run_free(&r);

    buf[k->start] = (uint8_t)((k->count + 1) * 2);
    spit(bad, buf, len);
    r = read_all(bad);
    assert_int_equal(r.ok, 200);
    assert_int_equal(r.n, 201);
    g = &r.v[k->first + k->count];
    assert_int_equal(g->rc, AJ_E_TRUNCATED);
    assert_int_equal(g->len, 0);
    for (size_t i = 0; i < r.n; i++)   /* the count lied: later blocks move up by one */
        if (r.v[i].rc == AJ_E_OK) assert_int_equal(r.v[i].offset, r.v[i].acc + (r.v[i].acc >= k->first + k->count));
    run_free(&r);

    /* More datums than bytes (5 in 3): refused before walking, the block rejected whole, and
     * its count not believed. */
    buf[k->start] = (uint8_t)(k->count * 2);
    uint8_t *crafted = malloc(len + 32);
    size_t n = 0;
    assert_non_null(crafted);
    memcpy(crafted, buf, b[0].start);
    n = b[0].start;
    memcpy(crafted + n, "\x0a\x06" "abc", 5);
    n += 5;
    memcpy(crafted + n, buf + len - SYNC_LEN, SYNC_LEN);
    n += SYNC_LEN;
    memcpy(crafted + n, buf + b[0].start, len - b[0].start);
    n += len - b[0].start;
    spit(bad, crafted, n);
    r = read_all(bad);
    assert_int_equal(r.n, 201);
    assert_int_equal(r.v[0].rc, AJ_E_BAD_LENGTH);
    assert_int_equal(r.v[0].offset, 0);
    assert_int_equal(r.v[0].len, 3);
    assert_memory_equal(r.v[0].value, "abc", 3);
    for (size_t i = 1; i < r.n; i++) assert_int_equal(r.v[i].offset, r.v[i].acc + 1);
    run_free(&r);
    free(crafted);
    free(buf);
}

/* A damaged sync marker: the block before it cannot be framed; reading resumes at the next
 * intact marker, and everything between is one reject. */
static void test_damaged_sync(void **state) {
    char path[512], bad[512];
    block b[MAX_BLOCKS];
    size_t len;
    (void)state;

    write_usage_file(path_of(path, sizeof(path), "sync.avro"), "deflate", 500, 1024);
    uint8_t *buf = slurp(path, &len);
    int nb = walk_blocks(buf, len, b);
    assert_true(nb > 5);
    buf[b[2].data + b[2].size + 7] ^= 0x55;   /* the marker after block 2 */
    spit(path_of(bad, sizeof(bad), "sync-bad.avro"), buf, len);

    run r = read_all(bad);
    size_t rejects = 0;
    int seen3 = 0;
    for (size_t i = 0; i < r.n; i++) {
        const got *g = &r.v[i];
        if (g->rc == AJ_E_OK) continue;
        rejects++;
        assert_int_equal(g->rc, AJ_E_BAD_LENGTH);
        assert_int_equal(g->offset, b[2].first);
        /* Blocks 2 and 3 up to the intact marker after block 3. */
        assert_int_equal(g->len, b[3].data + (size_t)b[3].size - b[2].start);
        assert_memory_equal(g->value, buf + b[2].start, g->len);
        seen3 = 1;
    }
    assert_true(seen3);
    assert_int_equal(rejects, 1);
    assert_int_equal(r.ok, 500 - (size_t)(b[2].count + b[3].count));
    /* Before the damage the indices are the writer's; after it they stay unique and ordered
     * (the datums of the skipped blocks cannot be counted). */
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i].rc == AJ_E_OK && r.v[i].acc < b[2].first) assert_int_equal(r.v[i].offset, r.v[i].acc);
    run_free(&r);
    free(buf);
}

/* Random damage anywhere (bytes flipped, the file cut short): opening fails cleanly or every
 * call returns a datum that walks exactly, a reject, or EOF, in ascending unique positions, and
 * the read ends. Run under ASan this is the "never reads outside the file" check. */
static void test_random_damage(void **state) {
    static const char *const codecs[] = {"null", "deflate"};
    const aj_schema *usage = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    char path[512], bad[512], err[512];
    size_t len;
    unsigned seed = 12345;
    (void)state;

    aj_log_set_level(AJ_LOG_ERROR);   /* thousands of rejects */
    for (int c = 0; c < 2; c++) {
        write_usage_file(path_of(path, sizeof(path), "fuzz.avro"), codecs[c], 120, 1024);
        uint8_t *buf = slurp(path, &len);
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        for (int round = 0; round < 1000; round++) {
            size_t n = len;
            memcpy(copy, buf, len);
            int flips = 1 + rand_r(&seed) % 4;
            for (int f = 0; f < flips; f++) copy[(size_t)rand_r(&seed) % len] ^= (uint8_t)(1 + rand_r(&seed) % 255);
            if (round % 5 == 0) n = (size_t)rand_r(&seed) % len;
            spit(path_of(bad, sizeof(bad), "fuzz-bad.avro"), copy, n);

            aj_err rc;
            aj_message m;
            aj_source *src = aj_file_source_open(bad, &rc, err, sizeof(err));
            if (!src) {
                assert_true(rc == AJ_E_AVRO || rc == AJ_E_UNKNOWN_SCHEMA);
                assert_non_null(strstr(err, bad));
                continue;
            }
            int64_t last = -1;
            int calls = 0;
            while ((rc = aj_source_next(src, &m, 0)) != AJ_E_EOF) {
                assert_true(++calls <= 1000);
                assert_true(m.pos.offset > last);
                last = m.pos.offset;
                if (rc == AJ_E_OK) {
                    size_t used = 0;
                    assert_int_equal(aj_avro_check(usage->schema, m.value, m.value_len, &used, NULL, 0), AJ_E_OK);
                    assert_int_equal(used, m.value_len);
                } else {
                    assert_true(aj_err_is_reject(rc));
                    assert_true(m.value_len == 0 || m.value != NULL);
                }
            }
            aj_source_destroy(src);
        }
        free(copy);
        free(buf);
    }
    aj_log_set_level(AJ_LOG_INFO);
}

static int setup(void **state) {
    (void)state;
    if (!mkdtemp(dir)) return -1;
    return aj_schemas_init() == AJ_E_OK ? 0 : -1;
}

static int teardown(void **state) {
    char cmd[600];
    (void)state;
    aj_schemas_shutdown();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_null_and_deflate),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_unknown_schema),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_missing_path),
        cmocka_unit_test(test_corrupt_datum),
        cmocka_unit_test(test_corrupt_deflate_block),
        cmocka_unit_test(test_truncated_last_block),
        cmocka_unit_test(test_wrong_block_count),
        cmocka_unit_test(test_damaged_sync),
        cmocka_unit_test(test_random_damage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
