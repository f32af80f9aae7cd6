/* test_schema.c - Parsing Canonical Form, CRC-64-AVRO, the registry, single-object framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_schema.h"

/* Expected values computed with an independent implementation of the Avro specification
 * (the CRC of "int" is the specification's own test vector). */
static void test_crc64_avro(void **state) {
    (void)state;
    assert_true(aj_crc64_avro("\"int\"", 5) == 0x7275d51a3f395c8fULL);
    assert_true(aj_crc64_avro("\"null\"", 6) == 0x63dd24e7cc258f8aULL);
    assert_true(aj_crc64_avro("", 0) == 0xc15d213aa4d7a795ULL);
}

static void test_canonical_form(void **state) {
    static const char *json =
        "{ \"type\": \"record\", \"name\": \"R\", \"namespace\": \"a.b\", \"doc\": \"dropped\",\n"
        "  \"fields\": [\n"
        "    {\"name\": \"e\", \"type\": {\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"X\", \"Y\"]}, \"doc\": \"x\"},\n"
        "    {\"name\": \"f\", \"type\": {\"type\": \"fixed\", \"name\": \"c.F\", \"size\": 4}},\n"
        "    {\"name\": \"l\", \"type\": {\"type\": \"array\", \"items\": {\"type\": \"long\"}}, \"default\": []},\n"
        "    {\"name\": \"m\", \"type\": {\"type\": \"map\", \"values\": \"E\"}},\n"
        "    {\"name\": \"u\", \"type\": [\"null\", \"R\"], \"default\": null},\n"
        "    {\"name\": \"t\", \"type\": {\"type\": \"long\", \"logicalType\": \"timestamp-millis\"}}\n"
        "  ] }";
    static const char *want =
        "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":[{\"name\":\"e\",\"type\":{\"name\":\"a.b.E\",\"type\":"
        "\"enum\",\"symbols\":[\"X\",\"Y\"]}},{\"name\":\"f\",\"type\":{\"name\":\"c.F\",\"type\":\"fixed\",\"size\":4}},"
        "{\"name\":\"l\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},{\"name\":\"m\",\"type\":{\"type\":\"map\","
        "\"values\":\"a.b.E\"}},{\"name\":\"u\",\"type\":[\"null\",\"a.b.R\"]},{\"name\":\"t\",\"type\":\"long\"}]}";
    avro_schema_t s;
    (void)state;
    assert_int_equal(avro_schema_from_json_length(json, strlen(json), &s), 0);
    char *pcf = aj_schema_canonical(s);
    assert_non_null(pcf);
    assert_string_equal(pcf, want);
    assert_true(aj_crc64_avro(pcf, strlen(pcf)) == 0xd2911dd82d6cab91ULL);
    free(pcf);
    avro_schema_decref(s);
}

static void test_registry(void **state) {
    (void)state;
    assert_int_equal(aj_schemas_init(), AJ_E_OK);
    assert_int_equal(aj_schemas_init(), AJ_E_OK);   /* idempotent */
    for (int i = 0; i < AJ_SCHEMA__COUNT; i++) {
        const aj_schema *s = aj_schema_current((aj_schema_id)i);
        assert_non_null(s);
        assert_int_equal(s->id, i);
        assert_ptr_equal(aj_schema_by_fingerprint(s->fingerprint), s);
        assert_true(s->fingerprint == aj_crc64_avro(s->canonical, strlen(s->canonical)));
        for (int j = 0; j < i; j++) assert_true(aj_schema_current((aj_schema_id)j)->fingerprint != s->fingerprint);
    }
    assert_string_equal(aj_schema_current(AJ_SCHEMA_CONTRACT)->file, "contract.v3.avsc");
    assert_string_equal(aj_schema_current(AJ_SCHEMA_CORRECTION)->file, "correction.v3.avsc");
    assert_string_equal(aj_schema_current(AJ_SCHEMA_INVOICE)->file, "invoice.v2.avsc");
    assert_string_equal(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->file, "usage_event.v3.avsc");
    assert_string_equal(aj_schema_current(AJ_SCHEMA_DISPUTE_CREDIT)->file, "dispute_credit.avsc");
    assert_null(aj_schema_by_fingerprint(0x0123456789abcdefULL));
    aj_schemas_shutdown();
    assert_null(aj_schema_current(AJ_SCHEMA_CONTRACT));
}

static void test_single_object_header(void **state) {
    uint8_t h[AJ_SOM_HEADER_LEN];
    uint64_t fp = 0;
    (void)state;
    aj_som_header(0x1122334455667788ULL, h);
    assert_int_equal(h[0], 0xC3);
    assert_int_equal(h[1], 0x01);
    assert_int_equal(h[2], 0x88);   /* little-endian */
    assert_int_equal(h[9], 0x11);
    assert_int_equal(aj_som_parse(h, sizeof(h), &fp), AJ_E_OK);
    assert_true(fp == 0x1122334455667788ULL);
    assert_int_equal(aj_som_parse(h, 9, &fp), AJ_E_TRUNCATED);
    assert_int_equal(aj_som_parse(h, 0, &fp), AJ_E_TRUNCATED);
    h[1] = 0x02;
    assert_int_equal(aj_som_parse(h, sizeof(h), &fp), AJ_E_BAD_MAGIC);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64_avro),
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_single_object_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
