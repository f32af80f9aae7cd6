/* test_ocf.c - the container file writer, read back by avro-c's own file reader. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "aj_emit.h"

#define BLOCK_BYTES (64 * 1024)   /* the writer's block cut, aj_ocf.c */

static char tmpdir[256];

/* ------------------------------------------------------------------ helpers */

static uint64_t next_rand(uint64_t *s) {   /* splitmix64: deterministic test data */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fills a generic value of any of the output schemas with seeded data: strings and bytes of
 * varying length (NULs in bytes), longs over the whole range, every union branch, arrays of
 * 0-3 items. */
static void fill(avro_value_t *v, uint64_t *seed) {
    avro_value_t child;
    uint64_t r = next_rand(seed);
    char buf[64];
    size_t n;

    switch (avro_value_get_type(v)) {
    case AVRO_STRING:
        n = r % 48;
        for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + (next_rand(seed) % 26));
        buf[n] = '\0';
        assert_int_equal(avro_value_set_string_len(v, buf, n + 1), 0);
        break;
    case AVRO_BYTES:
        n = r % 40;
        for (size_t i = 0; i < n; i++) buf[i] = (char)next_rand(seed);
        assert_int_equal(avro_value_set_bytes(v, buf, n), 0);
        break;
    case AVRO_INT32:
        assert_int_equal(avro_value_set_int(v, (int32_t)(uint32_t)r), 0);
        break;
    case AVRO_INT64:
        assert_int_equal(avro_value_set_long(v, (int64_t)(r >> (r % 64))), 0);
        break;
    case AVRO_NULL:
        assert_int_equal(avro_value_set_null(v), 0);
        break;
    case AVRO_BOOLEAN:
        assert_int_equal(avro_value_set_boolean(v, (int)(r & 1)), 0);
        break;
    case AVRO_RECORD:
        assert_int_equal(avro_value_get_size(v, &n), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(avro_value_get_by_index(v, i, &child, NULL), 0);
            fill(&child, seed);
        }
        break;
    case AVRO_ARRAY:
        for (uint64_t i = 0; i < r % 4; i++) {
            assert_int_equal(avro_value_append(v, &child, NULL), 0);
            fill(&child, seed);
        }
        break;
    case AVRO_UNION: {
        avro_schema_t s = avro_value_get_schema(v);
        assert_int_equal(avro_value_set_branch(v, (int)(r % avro_schema_union_size(s)), &child), 0);
        fill(&child, seed);
        break;
    }
    default:
        fail_msg("output schema with a type the test does not fill: %d", (int)avro_value_get_type(v));
    }
}

/* Datum i of schema: a generic value (caller decrefs) and its encoding appended to out. */
static void make_datum(const aj_schema *schema, int i, avro_value_t *v, aj_bytes *out) {
    uint64_t seed = (uint64_t)i * 7919 + (uint64_t)schema->id;
    assert_int_equal(avro_generic_value_new(schema->iface, v), 0);
    fill(v, &seed);
    out->len = 0;
    assert_int_equal(aj_avro_encode(v, out), AJ_E_OK);
}

static char *path_of(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", tmpdir, name);
    return buf;
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static void expected_sync(const aj_schema *schema, uint8_t sync[16]) {
    for (int i = 0; i < 8; i++) {
        sync[i] = (uint8_t)(schema->fingerprint >> (8 * i));
        sync[8 + i] = (uint8_t)~sync[i];
    }
}

/* Writes datums 0..n-1 of schema to path; returns how many blocks the writer must have cut. */
static int write_file(const char *path, const aj_schema *schema, int deflate, int n) {
    char err[512] = "";
    aj_err rc = AJ_E_FATAL;
    aj_bytes b = {0};
    size_t raw = 0;
    int blocks = 0;
    aj_ocf_writer *w = aj_ocf_writer_open(path, schema, deflate, &rc, err, sizeof(err));

    assert_non_null(w);
    assert_int_equal(rc, AJ_E_OK);
    for (int i = 0; i < n; i++) {
        avro_value_t v;
        make_datum(schema, i, &v, &b);
        avro_value_decref(&v);
        assert_int_equal(aj_ocf_writer_append(w, b.data, b.len), AJ_E_OK);
        raw += b.len;
        if (raw >= BLOCK_BYTES) {
            blocks++;
            raw = 0;
        }
    }
    if (raw) blocks++;
    assert_int_equal(aj_ocf_writer_close(w), AJ_E_OK);
    aj_bytes_free(&b);
    return blocks;
}

/* The file's writer schema is schema. avro_file_reader_get_writer_schema returns a new
 * reference (avro-c 1.11.1), released here. */
static void assert_same_schema(avro_schema_t got, const aj_schema *schema) {
    assert_non_null(got);
    assert_true(avro_schema_equal(got, schema->schema));
    avro_schema_decref(got);
}

/* Reads path with avro-c's file reader and checks it holds exactly datums 0..n-1 of schema. */
static void check_with_avro_c(const char *path, const aj_schema *schema, int n) {
    avro_file_reader_t reader;
    avro_value_t got, want;
    aj_bytes b = {0};
    int count = 0, rval;

    assert_int_equal(avro_file_reader(path, &reader), 0);
    assert_same_schema(avro_file_reader_get_writer_schema(reader), schema);
    assert_int_equal(avro_generic_value_new(schema->iface, &got), 0);
    while ((rval = avro_file_reader_read_value(reader, &got)) == 0) {
        assert_true(count < n);
        make_datum(schema, count, &want, &b);
        if (!avro_value_equal(&got, &want)) fail_msg("%s: datum %d differs from what was written", path, count);
        avro_value_decref(&want);
        avro_value_reset(&got);
        count++;
    }
    assert_int_equal(rval, EOF);   /* the end of the file, not a decoding error */
    assert_int_equal(count, n);
    avro_value_decref(&got);
    avro_file_reader_close(reader);
    aj_bytes_free(&b);
}

/* Checks the header byte by byte: magic, metadata map (avro.codec then avro.schema, the
 * embedded .avsc text) in one block, the fingerprint-derived sync; returns the sync count. */
static int check_header_and_count_syncs(const char *path, const aj_schema *schema, const char *codec) {
    size_t len, n;
    uint8_t *data = slurp(path, &len);
    aj_avro_in in = {data, data + len};
    const char *s, *json = NULL;
    int64_t count;
    uint8_t sync[16];
    int syncs = 0;

    for (const aj_schema_source *src = aj_schema_sources; src->file; src++)
        if (strcmp(src->file, schema->file) == 0) json = src->json;
    assert_non_null(json);
    expected_sync(schema, sync);
    assert_true(len >= 4);
    assert_memory_equal(data, "Obj\x01", 4);
    in.p += 4;
    assert_int_equal(aj_avro_get_long(&in, &count), AJ_E_OK);
    assert_int_equal(count, 2);
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(s, "avro.codec", 10);
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_OK);
    assert_int_equal(n, strlen(codec));
    assert_memory_equal(s, codec, n);
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_OK);
    assert_int_equal(n, 11);
    assert_memory_equal(s, "avro.schema", 11);
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_OK);
    assert_int_equal(n, strlen(json));
    assert_memory_equal(s, json, n);
    assert_int_equal(aj_avro_get_long(&in, &count), AJ_E_OK);
    assert_int_equal(count, 0);
    assert_true((size_t)(in.end - in.p) >= 16);
    assert_memory_equal(in.p, sync, 16);
    for (size_t i = 0; i + 16 <= len; i++)
        if (memcmp(data + i, sync, 16) == 0) syncs++;
    free(data);
    return syncs;
}

/* ------------------------------------------------------------------ tests */

/* 0, 1 and many datums (several blocks), both codecs, every output schema. */
static void test_read_back_by_avro_c(void **state) {
    static const int counts[] = {0, 1, 3000};
    static const aj_schema_id ids[] = {AJ_SCHEMA_CORRECTION, AJ_SCHEMA_INVOICE, AJ_SCHEMA_DEAD_LETTER};
    char path[512];
    (void)state;

    for (size_t s = 0; s < sizeof(ids) / sizeof(ids[0]); s++) {
        const aj_schema *schema = aj_schema_current(ids[s]);
        for (int deflate = 0; deflate <= 1; deflate++)
            for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
                int blocks;
                snprintf(path, sizeof(path), "%s/%s-%d-%d.avro", tmpdir, schema->file, deflate, counts[c]);
                blocks = write_file(path, schema, deflate, counts[c]);
                if (counts[c] == 3000) assert_true(blocks > 1);   /* the file really has several blocks */
                assert_int_equal(check_header_and_count_syncs(path, schema, deflate ? "deflate" : "null"),
                                 1 + blocks);
                check_with_avro_c(path, schema, counts[c]);
            }
    }
}

/* The same datums give the same bytes, for both codecs; deflate really compresses. */
static void test_deterministic(void **state) {
    const aj_schema *schema = aj_schema_current(AJ_SCHEMA_CORRECTION);
    char p1[512], p2[512], p3[512];
    size_t l1, l2, l3;
    (void)state;

    for (int deflate = 0; deflate <= 1; deflate++) {
        write_file(path_of(p1, sizeof(p1), "det-a.avro"), schema, deflate, 2500);
        write_file(path_of(p2, sizeof(p2), "det-b.avro"), schema, deflate, 2500);
        uint8_t *a = slurp(p1, &l1), *b = slurp(p2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(a, b, l1);
        free(a);
        free(b);
    }
    /* p1 holds the deflated file now; the null-codec one is larger. */
    write_file(path_of(p3, sizeof(p3), "det-null.avro"), schema, 0, 2500);
    free(slurp(p1, &l1));
    free(slurp(p3, &l3));
    assert_true(l1 < l3);
}

static void test_errors_name_the_path(void **state) {
    const aj_schema *schema = aj_schema_current(AJ_SCHEMA_INVOICE);
    char path[512], err[512] = "";
    aj_err rc = AJ_E_OK;
    (void)state;

    path_of(path, sizeof(path), "no-such-dir/invoices.avro");
    assert_null(aj_ocf_writer_open(path, schema, 1, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_IO);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, strerror(ENOENT)));

    /* A schema without embedded text is refused before anything is created. */
    aj_schema fake = *schema;
    fake.file = "nothing.avsc";
    path_of(path, sizeof(path), "fake.avro");
    rc = AJ_E_OK;
    assert_null(aj_ocf_writer_open(path, &fake, 1, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_ARG);
    assert_non_null(strstr(err, path));
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(aj_ocf_writer_close(NULL), AJ_E_OK);
}

/* A file system that refuses the bytes (file size limit, EFBIG) is reported, not ignored. */
static void test_write_failure_is_reported(void **state) {
    const aj_schema *schema = aj_schema_current(AJ_SCHEMA_CORRECTION);
    struct rlimit old, lim;
    char path[512], err[512];
    aj_bytes b = {0};
    aj_err rc = AJ_E_OK, last = AJ_E_OK;
    (void)state;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 200 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    aj_ocf_writer *w = aj_ocf_writer_open(path_of(path, sizeof(path), "too-big.avro"), schema, 0, &rc, err,
                                          sizeof(err));
    assert_non_null(w);
    for (int i = 0; i < 3000 && last == AJ_E_OK; i++) {
        avro_value_t v;
        make_datum(schema, i, &v, &b);
        avro_value_decref(&v);
        last = aj_ocf_writer_append(w, b.data, b.len);
    }
    rc = aj_ocf_writer_close(w);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    /* Either an append noticed, or close did; both must not claim success. */
    assert_true(last == AJ_E_IO || rc == AJ_E_IO);
    assert_int_equal(rc, AJ_E_IO);
    aj_bytes_free(&b);
}

/* ------------------------------------------------------------------ fixture */

static int setup(void **state) {
    const char *base = getenv("TMPDIR");
    (void)state;
    if (aj_schemas_init() != AJ_E_OK) return -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s/aj-test-ocf-XXXXXX", base && base[0] ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state) {
    (void)state;
    aj_schemas_shutdown();
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_back_by_avro_c),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_errors_name_the_path),
        cmocka_unit_test(test_write_failure_is_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
