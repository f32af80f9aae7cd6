/* test_avro.c - the strict Avro walker and the binary readers/writers against hostile bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_ingest.h"

static void test_varint_known_encodings(void **state) {
    static const struct {
        int64_t v;
        uint8_t bytes[10];
        size_t len;
    } cases[] = {
        {0, {0x00}, 1},          {-1, {0x01}, 1},       {1, {0x02}, 1},
        {-64, {0x7f}, 1},        {64, {0x80, 0x01}, 2}, {8192, {0x80, 0x80, 0x01}, 3},
        {INT64_MAX, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {INT64_MIN, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        aj_bytes b = {0};
        int64_t back;
        assert_int_equal(aj_avro_put_long(&b, cases[i].v), AJ_E_OK);
        assert_int_equal(b.len, cases[i].len);
        assert_memory_equal(b.data, cases[i].bytes, cases[i].len);
        aj_avro_in in = {b.data, b.data + b.len};
        assert_int_equal(aj_avro_get_long(&in, &back), AJ_E_OK);
        assert_true(back == cases[i].v);
        assert_ptr_equal(in.p, in.end);
        aj_bytes_free(&b);
    }
}

static void test_varint_hostile(void **state) {
    static const uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    static const uint8_t cut[2] = {0x80, 0x80};
    int64_t v;
    (void)state;
    aj_avro_in in = {eleven, eleven + sizeof(eleven)};
    assert_int_equal(aj_avro_get_long(&in, &v), AJ_E_BAD_LENGTH);
    aj_avro_in in2 = {cut, cut + sizeof(cut)};
    assert_int_equal(aj_avro_get_long(&in2, &v), AJ_E_TRUNCATED);
    aj_avro_in in3 = {cut, cut};
    assert_int_equal(aj_avro_get_long(&in3, &v), AJ_E_TRUNCATED);
}

static void test_string_lengths(void **state) {
    aj_bytes b = {0};
    const char *s;
    size_t n;
    (void)state;

    /* a string of 5 bytes with 3 present: the data was cut */
    aj_avro_put_long(&b, 5);
    aj_avro_put_raw(&b, "abc", 3);
    aj_avro_in in = {b.data, b.data + b.len};
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_TRUNCATED);
    /* negative length */
    b.len = 0;
    aj_avro_put_long(&b, -3);
    aj_avro_put_raw(&b, "abc", 3);
    in = (aj_avro_in){b.data, b.data + b.len};
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_BAD_LENGTH);
    /* huge length */
    b.len = 0;
    aj_avro_put_long(&b, INT64_MAX / 2);
    in = (aj_avro_in){b.data, b.data + b.len};
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_BAD_LENGTH);
    /* a good one */
    b.len = 0;
    aj_avro_put_string(&b, "hello", 5);
    in = (aj_avro_in){b.data, b.data + b.len};
    assert_int_equal(aj_avro_get_string(&in, &s, &n), AJ_E_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "hello", 5);
    aj_bytes_free(&b);
}

/* A valid usage record datum, encoded by avro-c's generic writer (through aj_encode_event). */
static void usage_datum(aj_bytes *out) {
    aj_encoder *enc = aj_encoder_create();
    aj_event ev;
    assert_non_null(enc);
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    strcpy(ev.u.usage.record_id, "U0000000001");
    strcpy(ev.u.usage.account, "ACC000001");
    strcpy(ev.u.usage.subscriber, "ACC000001-L0");
    ev.u.usage.service = AJ_SERVICE_VOICE;
    ev.u.usage.start_ms = 1790812800000LL;
    ev.u.usage.quantity = 37;
    strcpy(ev.u.usage.origin, "+551133334444");
    strcpy(ev.u.usage.destination, "+55 11 91234-5678");
    strcpy(ev.u.usage.cycle_id, "2026-10");
    ev.u.usage.legacy_charge = 94000;
    strcpy(ev.u.usage.currency, "BRL");
    strcpy(ev.u.usage.tariff_code, "VOZ_LOCAL_T0");
    assert_int_equal(aj_encode_event(enc, &ev, out), AJ_E_OK);
    aj_encoder_destroy(enc);
}

static void test_check_valid_and_every_truncation(void **state) {
    avro_schema_t s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->schema;
    aj_bytes b = {0};
    char detail[256];
    size_t used = 0;
    (void)state;

    usage_datum(&b);
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_OK);
    assert_int_equal(used, b.len);
    /* Every cut is refused with TRUNCATED (never read past the end: ASan watches). */
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        aj_err rc = aj_avro_check(s, copy, cut, &used, detail, sizeof(detail));
        if (rc != AJ_E_TRUNCATED) fail_msg("cut at %zu: %s (%s)", cut, aj_err_name(rc), detail);
        free(copy);
    }
    aj_bytes_free(&b);
}

static void test_check_names_the_field(void **state) {
    avro_schema_t s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->schema;
    aj_bytes b = {0};
    char detail[256];
    size_t used;
    (void)state;

    /* branch 0 (UsageRecord), record_id ok, account with a negative length */
    aj_avro_put_long(&b, 0);
    aj_avro_put_string(&b, "U1", 2);
    aj_avro_put_long(&b, -5);
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_BAD_LENGTH);
    assert_non_null(strstr(detail, "account"));
    assert_non_null(strstr(detail, "byte 4"));
    /* union branch 4 of 4 (usage_event.v3: UsageRecord, RecurringCharge, CycleClose, OneTimeCharge) */
    b.len = 0;
    aj_avro_put_long(&b, 4);
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_BAD_UNION);
    b.len = 0;
    aj_avro_put_long(&b, -1);
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_BAD_UNION);
    aj_bytes_free(&b);
}

static void test_check_blocks_and_enums(void **state) {
    avro_schema_t s;
    aj_bytes b = {0};
    char detail[256];
    size_t used;
    (void)state;

    assert_int_equal(avro_schema_from_json_literal(
                         "{\"type\":\"record\",\"name\":\"T\",\"fields\":["
                         "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
                         "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]}},"
                         "{\"name\":\"n\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
                         "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}}]}",
                         &s),
                     0);
    /* a = [1, 2] written as a negative-count block with its byte size (legal), e = Y, n = [], m = {} */
    aj_avro_put_long(&b, -2);
    aj_avro_put_long(&b, 2);
    aj_avro_put_long(&b, 1);
    aj_avro_put_long(&b, 2);
    aj_avro_put_long(&b, 0);
    aj_avro_put_long(&b, 1);
    aj_avro_put_long(&b, 0);
    aj_avro_put_long(&b, 1);
    aj_avro_put_string(&b, "k", 1);
    aj_avro_put_long(&b, 7);
    aj_avro_put_long(&b, 0);
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_OK);
    assert_int_equal(used, b.len);
    /* the block size lies */
    b.data[1] = 6;   /* zig-zag 3 */
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_BAD_LENGTH);
    b.data[1] = 4;
    /* enum index 2 of 2 symbols */
    b.data[5] = 4;
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_BAD_ENUM);
    assert_non_null(strstr(detail, "field e"));
    b.data[5] = 2;
    /* an array of nulls claiming 2^40 items */
    b.len = 6;
    aj_avro_put_long(&b, 1LL << 40);
    assert_int_equal(aj_avro_check(s, b.data, b.len, &used, detail, sizeof(detail)), AJ_E_BAD_LENGTH);
    avro_schema_decref(s);
    aj_bytes_free(&b);
}

/* Random corruption of a valid datum never crashes and never yields a datum longer than the
 * data; the sanitizer build turns any out-of-bounds read into a failure. */
static void test_check_random_corruption(void **state) {
    avro_schema_t s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->schema;
    aj_bytes b = {0};
    uint64_t rng = 12345;
    char detail[256];
    int ok = 0, refused = 0;
    (void)state;

    usage_datum(&b);
    uint8_t *copy = malloc(b.len);
    for (int i = 0; i < 20000; i++) {
        memcpy(copy, b.data, b.len);
        for (int k = 0; k < 3; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            copy[(rng >> 33) % b.len] = (uint8_t)(rng >> 17);
        }
        size_t used = 0;
        aj_err rc = aj_avro_check(s, copy, b.len, &used, detail, sizeof(detail));
        if (rc == AJ_E_OK) {
            assert_true(used <= b.len);
            ok++;
        } else {
            assert_true(aj_err_is_reject(rc));
            refused++;
        }
    }
    assert_true(ok > 0 && refused > 0);
    free(copy);
    aj_bytes_free(&b);
}

static int setup(void **state) {
    (void)state;
    return aj_schemas_init() == AJ_E_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    aj_schemas_shutdown();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_known_encodings),
        cmocka_unit_test(test_varint_hostile),
        cmocka_unit_test(test_string_lengths),
        cmocka_unit_test(test_check_valid_and_every_truncation),
        cmocka_unit_test(test_check_names_the_field),
        cmocka_unit_test(test_check_blocks_and_enums),
        cmocka_unit_test(test_check_random_corruption),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
