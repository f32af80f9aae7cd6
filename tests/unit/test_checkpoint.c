/* test_checkpoint.c - checkpoint messages: chunks and manifest round trip; only a complete
 * manifest counts; a damaged or incomplete later checkpoint does not hide an earlier one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_checkpoint.h"

/* Incompressible-ish state of len bytes (xorshift), so it needs several chunks. */
static void fill(aj_bytes *b, size_t len, uint64_t seed) {
    assert_int_equal(aj_bytes_reserve(b, len), AJ_E_OK);
    for (size_t i = 0; i < len; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        b->data[i] = (uint8_t)seed;
    }
    b->len = len;
}

static void feed(aj_ckpt_reader *r, const aj_ckpt_msg *m, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert_int_equal(aj_ckpt_reader_add(r, m[i].key, strlen(m[i].key), m[i].value.data, m[i].value.len), AJ_E_OK);
}

static void expect_state(aj_ckpt_reader *r, int32_t part, int64_t seq, int64_t offset, const aj_bytes *want) {
    aj_bytes got = {0};
    int64_t s, o;
    assert_int_equal(aj_ckpt_reader_get(r, part, &s, &o, NULL, &got), AJ_E_OK);
    assert_int_equal(s, seq);
    assert_int_equal(o, offset);
    assert_int_equal(got.len, want->len);
    assert_memory_equal(got.data, want->data, want->len);
    aj_bytes_free(&got);
}

static void test_round_trip_in_chunks(void **state) {
    (void)state;
    aj_bytes big = {0}, small = {0};
    aj_ckpt_msg *m;
    size_t n;
    fill(&big, 3 * AJ_CHECKPOINT_CHUNK / 2 + 17, 7);
    assert_int_equal(aj_checkpoint_encode("ajuste", "cdr.usage", 3, 1, 12345, big.data, big.len, &m, &n), AJ_E_OK);
    assert_true(n >= 3);   /* two chunks or more, then the manifest */
    assert_string_equal(m[0].key, "ajuste/cdr.usage/3/1/0");
    assert_string_equal(m[n - 1].key, "ajuste/cdr.usage/3");
    for (size_t i = 0; i + 1 < n; i++) assert_true(m[i].value.len <= AJ_CHECKPOINT_CHUNK);
    aj_ckpt_reader *r = aj_ckpt_reader_create("ajuste", "cdr.usage");
    feed(r, m, n);
    expect_state(r, 3, 1, 12345, &big);
    aj_bytes none = {0};
    int64_t s, o, chunks = 0;
    assert_int_equal(aj_ckpt_reader_get(r, 3, &s, &o, &chunks, &none), AJ_E_OK);
    assert_int_equal(chunks, (int64_t)n - 1);   /* what the tombstones of the next one need */
    none.len = 0;
    assert_int_equal(aj_ckpt_reader_get(r, 4, &s, &o, NULL, &none), AJ_E_NOT_FOUND);
    aj_checkpoint_msgs_free(m, n);

    /* An empty state is a checkpoint too (a partition with nothing open). */
    assert_int_equal(aj_checkpoint_encode("ajuste", "cdr.usage", 4, 1, 0, "", 0, &m, &n), AJ_E_OK);
    feed(r, m, n);
    assert_int_equal(aj_ckpt_reader_get(r, 4, &s, &o, NULL, &none), AJ_E_OK);
    assert_int_equal(none.len, 0);
    aj_checkpoint_msgs_free(m, n);

    /* Another group's checkpoints are not ours. */
    fill(&small, 100, 9);
    assert_int_equal(aj_checkpoint_encode("other", "cdr.usage", 3, 9, 1, small.data, small.len, &m, &n), AJ_E_OK);
    feed(r, m, n);
    expect_state(r, 3, 1, 12345, &big);
    aj_checkpoint_msgs_free(m, n);
    aj_ckpt_reader_destroy(r);
    aj_bytes_free(&big);
    aj_bytes_free(&small);
    aj_bytes_free(&none);
}

static void test_only_complete_manifests_count(void **state) {
    (void)state;
    aj_bytes a = {0}, b = {0};
    aj_ckpt_msg *m1, *m2;
    size_t n1, n2;
    fill(&a, AJ_CHECKPOINT_CHUNK + 5, 1);
    fill(&b, AJ_CHECKPOINT_CHUNK + 9, 2);
    assert_int_equal(aj_checkpoint_encode("g", "t", 0, 1, 100, a.data, a.len, &m1, &n1), AJ_E_OK);
    assert_int_equal(aj_checkpoint_encode("g", "t", 0, 2, 200, b.data, b.len, &m2, &n2), AJ_E_OK);
    assert_int_equal(n2, 3);

    /* Crash between chunks: seq 2's manifest without its second chunk (never written). */
    aj_ckpt_reader *r = aj_ckpt_reader_create("g", "t");
    feed(r, m1, n1);
    feed(r, m2, 1);
    feed(r, &m2[2], 1);
    expect_state(r, 0, 1, 100, &a);
    aj_ckpt_reader_destroy(r);

    /* A damaged chunk: the CRC does not match, seq 1 stands. */
    r = aj_ckpt_reader_create("g", "t");
    feed(r, m1, n1);
    m2[1].value.data[0] ^= 1;
    feed(r, m2, n2);
    expect_state(r, 0, 1, 100, &a);
    m2[1].value.data[0] ^= 1;
    /* The chunk written again (a retried checkpoint), then the manifest again: seq 2. */
    feed(r, m2, n2);
    expect_state(r, 0, 2, 200, &b);
    /* A stale manifest read later (seq 1 again) does not go back. */
    feed(r, m1, n1);
    expect_state(r, 0, 2, 200, &b);
    /* Tombstones and foreign keys are skipped. */
    assert_int_equal(aj_ckpt_reader_add(r, "g/t/0/1/0", 9, NULL, 0), AJ_E_OK);
    assert_int_equal(aj_ckpt_reader_add(r, "g/t/x", 5, "junk", 4), AJ_E_OK);
    assert_int_equal(aj_ckpt_reader_add(r, "g/t/0", 5, "junk", 4), AJ_E_OK);
    assert_int_equal(aj_ckpt_reader_add(r, "g/t/0//1", 8, "junk", 4), AJ_E_OK);
    expect_state(r, 0, 2, 200, &b);
    aj_ckpt_reader_destroy(r);
    aj_checkpoint_msgs_free(m1, n1);
    aj_checkpoint_msgs_free(m2, n2);
    aj_bytes_free(&a);
    aj_bytes_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_in_chunks),
        cmocka_unit_test(test_only_complete_manifests_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
