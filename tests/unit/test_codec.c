/* test_codec.c - decoding and validation of the usage stream and of contracts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_fixtures.h"
#include "aj_ingest.h"

typedef struct fx {
    aj_decoder *dec;
    aj_encoder *enc;
    aj_bytes buf;
} fx;

static aj_event usage_event(void) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    ev.u.usage = fx_usage("U0001", AJ_SERVICE_VOICE, "+55 11 91234-5678", 37, 94000, 1790812800000LL);
    strcpy(ev.u.usage.origin, "+551133334444");
    ev.u.usage.roaming = true;
    return ev;
}

/* Encodes ev (avro-c generic writer) and decodes it back (ajuste's reader). */
static aj_err round_trip(fx *f, const aj_event *ev, aj_event *back, char *detail) {
    f->buf.len = 0;
    assert_int_equal(aj_encode_event(f->enc, ev, &f->buf), AJ_E_OK);
    return aj_decode_event(f->dec, aj_schema_current(AJ_SCHEMA_USAGE_EVENT), f->buf.data, f->buf.len, back,
                           detail, 256);
}

static void test_usage_round_trip(void **state) {
    fx *f = *state;
    char detail[256];
    aj_event ev = usage_event(), back;

    assert_int_equal(round_trip(f, &ev, &back, detail), AJ_E_OK);
    assert_int_equal(back.kind, AJ_EVENT_USAGE);
    assert_memory_equal(&back.u.usage, &ev.u.usage, sizeof(ev.u.usage));

    /* The quantity comes from the field of the service. */
    ev.u.usage.service = AJ_SERVICE_SMS;
    ev.u.usage.quantity = 3;
    assert_int_equal(round_trip(f, &ev, &back, detail), AJ_E_OK);
    assert_int_equal(back.u.usage.quantity, 3);
    ev.u.usage.service = AJ_SERVICE_DATA;
    ev.u.usage.quantity = 52428800;
    ev.u.usage.destination[0] = '\0';   /* DATA has no destination */
    assert_int_equal(round_trip(f, &ev, &back, detail), AJ_E_OK);
    assert_int_equal(back.u.usage.quantity, 52428800);
}

static void test_recurring_and_close_round_trip(void **state) {
    fx *f = *state;
    char detail[256];
    aj_event ev, back;

    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_RECURRING;
    strcpy(ev.u.recurring.record_id, "RC-1");
    strcpy(ev.u.recurring.account, "ACC1");
    strcpy(ev.u.recurring.line_id, "ACC1-L0");
    ev.u.recurring.service = AJ_SERVICE_VOICE;
    strcpy(ev.u.recurring.cycle_id, "2026-10");
    ev.u.recurring.period_start_ms = 1790812800000LL;
    ev.u.recurring.period_end_ms = 1793491200000LL;
    ev.u.recurring.legacy_amount = 49900000;
    strcpy(ev.u.recurring.currency, "BRL");
    strcpy(ev.u.recurring.tariff_code, "MENS");
    assert_int_equal(round_trip(f, &ev, &back, detail), AJ_E_OK);
    assert_int_equal(back.kind, AJ_EVENT_RECURRING);
    assert_memory_equal(&back.u.recurring, &ev.u.recurring, sizeof(ev.u.recurring));

    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CYCLE_CLOSE;
    strcpy(ev.u.close.account, "ACC1");
    strcpy(ev.u.close.cycle_id, "2026-10");
    ev.u.close.period_start_ms = 1790812800000LL;
    ev.u.close.period_end_ms = 1793491200000LL;
    assert_int_equal(round_trip(f, &ev, &back, detail), AJ_E_OK);
    assert_int_equal(back.kind, AJ_EVENT_CYCLE_CLOSE);
    assert_memory_equal(&back.u.close, &ev.u.close, sizeof(ev.u.close));
}

/* A usage record written field by field with avro-c, for values aj_usage cannot hold. */
static void raw_usage(aj_bytes *out, const char *field, const char *sval, int64_t lval) {
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    avro_value_t root, rec, v;
    static const char *const strs[] = {"record_id", "account", "subscriber", "service", "origin",
                                       "destination", "cycle_id", "currency", "legacy_tariff_code"};
    static const char *const vals[] = {"U1", "ACC1", "ACC1-L0", "VOICE", "+5511", "+5511912345678",
                                       "2026-10", "BRL", "T"};
    assert_int_equal(avro_generic_value_new(s->iface, &root), 0);
    assert_int_equal(avro_value_set_branch(&root, 0, &rec), 0);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        avro_value_get_by_name(&rec, strs[i], &v, NULL);
        avro_value_set_string(&v, strcmp(strs[i], field) == 0 ? sval : vals[i]);
    }
    static const char *const longs[] = {"start_time", "duration_seconds", "message_count", "data_bytes",
                                        "legacy_charge"};
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        avro_value_get_by_name(&rec, longs[i], &v, NULL);
        avro_value_set_long(&v, strcmp(longs[i], field) == 0 ? lval : 30);
    }
    avro_value_get_by_name(&rec, "roaming", &v, NULL);
    avro_value_set_boolean(&v, 0);
    out->len = 0;
    assert_int_equal(aj_avro_encode(&root, out), AJ_E_OK);
    avro_value_decref(&root);
}

static void test_validation_reasons(void **state) {
    fx *f = *state;
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    char detail[256], longacc[64];
    aj_event ev;
    static const struct {
        const char *field;
        const char *sval;
        int64_t lval;
        aj_err want;
        const char *detail_has;
    } cases[] = {
        {"none", "", 0, AJ_E_OK, ""},
        {"record_id", "", 0, AJ_E_MISSING_FIELD, "record_id"},
        {"destination", "", 0, AJ_E_MISSING_FIELD, "destination"},
        {"subscriber", "", 0, AJ_E_MISSING_FIELD, "subscriber"},
        {"cycle_id", "", 0, AJ_E_MISSING_FIELD, "cycle_id"},
        {"currency", "", 0, AJ_E_MISSING_FIELD, "currency"},
        {"currency", "BRLX", 0, AJ_E_FIELD_TOO_LONG, "currency"},
        {"service", "FAX", 0, AJ_E_UNKNOWN_SERVICE, "FAX"},
        {"duration_seconds", "", -1, AJ_E_NEGATIVE_QUANTITY, "duration_seconds"},
        {"data_bytes", "", -7, AJ_E_NEGATIVE_QUANTITY, "data_bytes"},
        {"legacy_charge", "", -1, AJ_E_NEGATIVE_AMOUNT, "legacy_charge"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw_usage(&f->buf, cases[i].field, cases[i].sval, cases[i].lval);
        aj_err rc = aj_decode_event(f->dec, s, f->buf.data, f->buf.len, &ev, detail, sizeof(detail));
        if (rc != cases[i].want || !strstr(detail, cases[i].detail_has))
            fail_msg("%s: want %s, got %s (%s)", cases[i].field, aj_err_name(cases[i].want), aj_err_name(rc), detail);
    }
    memset(longacc, 'A', sizeof(longacc) - 1);
    longacc[sizeof(longacc) - 1] = '\0';
    raw_usage(&f->buf, "account", longacc, 0);
    assert_int_equal(aj_decode_event(f->dec, s, f->buf.data, f->buf.len, &ev, detail, sizeof(detail)),
                     AJ_E_FIELD_TOO_LONG);
    assert_non_null(strstr(detail, "account"));
    /* bytes after the datum */
    raw_usage(&f->buf, "none", "", 0);
    aj_avro_put_raw(&f->buf, "xx", 2);
    assert_int_equal(aj_decode_event(f->dec, s, f->buf.data, f->buf.len, &ev, detail, sizeof(detail)),
                     AJ_E_TRAILING_BYTES);
}

static void test_message_framing(void **state) {
    fx *f = *state;
    char detail[256];
    uint8_t msg[512];
    aj_event ev = usage_event(), back;

    f->buf.len = 0;
    assert_int_equal(aj_encode_event(f->enc, &ev, &f->buf), AJ_E_OK);
    assert_true(f->buf.len + AJ_SOM_HEADER_LEN <= sizeof(msg));
    aj_som_header(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->fingerprint, msg);
    memcpy(msg + AJ_SOM_HEADER_LEN, f->buf.data, f->buf.len);
    size_t len = f->buf.len + AJ_SOM_HEADER_LEN;
    assert_int_equal(aj_decode_event_message(f->dec, msg, len, &back, detail, sizeof(detail)), AJ_E_OK);
    assert_string_equal(back.u.usage.record_id, "U0001");

    assert_int_equal(aj_decode_event_message(f->dec, msg, 0, &back, detail, sizeof(detail)), AJ_E_TRUNCATED);
    assert_int_equal(aj_decode_event_message(f->dec, msg, 7, &back, detail, sizeof(detail)), AJ_E_TRUNCATED);
    assert_int_equal(aj_decode_event_message(f->dec, "id,account", 10, &back, detail, sizeof(detail)),
                     AJ_E_BAD_MAGIC);
    /* a contract on the usage stream */
    aj_som_header(aj_schema_current(AJ_SCHEMA_CONTRACT)->fingerprint, msg);
    assert_int_equal(aj_decode_event_message(f->dec, msg, len, &back, detail, sizeof(detail)), AJ_E_WRONG_SCHEMA);
    assert_non_null(strstr(detail, "contract"));
    aj_som_header(0x1122334455667788ULL, msg);
    assert_int_equal(aj_decode_event_message(f->dec, msg, len, &back, detail, sizeof(detail)), AJ_E_UNKNOWN_SCHEMA);
    assert_non_null(strstr(detail, "1122334455667788"));
    /* the datum cut short behind a good header */
    aj_som_header(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->fingerprint, msg);
    assert_int_equal(aj_decode_event_message(f->dec, msg, len - 4, &back, detail, sizeof(detail)), AJ_E_TRUNCATED);
}

/* An older or newer writer: fields reordered, one added (of a type ajuste walks over), one
 * with a default left out. Fields are matched by name. */
static void test_other_writer_version(void **state) {
    fx *f = *state;
    aj_schema writer;
    avro_value_t root, rec, v, m;
    char detail[256];
    aj_event back;

    memset(&writer, 0, sizeof(writer));
    writer.id = AJ_SCHEMA_USAGE_EVENT;
    writer.file = "usage_event.test.avsc";
    assert_int_equal(avro_schema_from_json_literal(
                         "[{\"type\":\"record\",\"name\":\"UsageRecord\",\"namespace\":\"ajuste.usage\",\"fields\":["
                         "{\"name\":\"account\",\"type\":\"string\"},"
                         "{\"name\":\"extra\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"long\"]}},"
                         "{\"name\":\"record_id\",\"type\":\"string\"},"
                         "{\"name\":\"subscriber\",\"type\":\"string\"},"
                         "{\"name\":\"service\",\"type\":\"string\"},"
                         "{\"name\":\"message_count\",\"type\":\"long\"},"
                         "{\"name\":\"destination\",\"type\":\"string\"},"
                         "{\"name\":\"cycle_id\",\"type\":\"string\"},"
                         "{\"name\":\"legacy_charge\",\"type\":\"long\"},"
                         "{\"name\":\"currency\",\"type\":\"string\"}]}]",
                         &writer.schema),
                     0);
    writer.iface = avro_generic_class_from_schema(writer.schema);
    assert_int_equal(avro_generic_value_new(writer.iface, &root), 0);
    avro_value_set_branch(&root, 0, &rec);
    avro_value_get_by_name(&rec, "account", &v, NULL);
    avro_value_set_string(&v, "ACC9");
    avro_value_get_by_name(&rec, "extra", &v, NULL);
    avro_value_add(&v, "k", &m, NULL, NULL);
    avro_value_t br;
    avro_value_set_branch(&m, 1, &br);
    avro_value_set_long(&br, 5);
    avro_value_get_by_name(&rec, "record_id", &v, NULL);
    avro_value_set_string(&v, "U9");
    avro_value_get_by_name(&rec, "subscriber", &v, NULL);
    avro_value_set_string(&v, "ACC9-L1");
    avro_value_get_by_name(&rec, "service", &v, NULL);
    avro_value_set_string(&v, "SMS");
    avro_value_get_by_name(&rec, "message_count", &v, NULL);
    avro_value_set_long(&v, 2);
    avro_value_get_by_name(&rec, "destination", &v, NULL);
    avro_value_set_string(&v, "5511");
    avro_value_get_by_name(&rec, "cycle_id", &v, NULL);
    avro_value_set_string(&v, "2026-10");
    avro_value_get_by_name(&rec, "legacy_charge", &v, NULL);
    avro_value_set_long(&v, 100000);
    avro_value_get_by_name(&rec, "currency", &v, NULL);
    avro_value_set_string(&v, "BRL");
    f->buf.len = 0;
    assert_int_equal(aj_avro_encode(&root, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_event(f->dec, &writer, f->buf.data, f->buf.len, &back, detail, sizeof(detail)),
                     AJ_E_OK);
    assert_string_equal(back.u.usage.account, "ACC9");
    assert_string_equal(back.u.usage.record_id, "U9");
    assert_int_equal(back.u.usage.service, AJ_SERVICE_SMS);
    assert_int_equal(back.u.usage.quantity, 2);
    assert_int_equal(back.u.usage.legacy_charge, 100000);
    assert_string_equal(back.u.usage.tariff_code, "");   /* the default */
    assert_false(back.u.usage.roaming);
    avro_value_decref(&root);
    /* The decoder caches a plan per writer: drop it before the schema goes. */
    aj_decoder_destroy(f->dec);
    f->dec = aj_decoder_create();
    avro_value_iface_decref(writer.iface);
    avro_schema_decref(writer.schema);
}

static void test_contract_round_trip(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *c = fx_contract(3, 1767225600000LL, 1790812800000LL, 120000), *back = NULL;
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CONTRACT);

    c->status = AJ_CONTRACT_TERMINATED;
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_contract(f->dec, s, f->buf.data, f->buf.len, &back, detail, sizeof(detail)), AJ_E_OK);
    assert_string_equal(back->account, c->account);
    assert_string_equal(back->contract_id, c->contract_id);
    assert_int_equal(back->version, 3);
    assert_int_equal(back->status, AJ_CONTRACT_TERMINATED);
    assert_int_equal(back->effective_from, c->effective_from);
    assert_int_equal(back->effective_to, c->effective_to);
    assert_string_equal(back->currency, "BRL");
    assert_string_equal(back->time_zone, c->time_zone);
    assert_string_equal(back->default_zone, "OTHER");
    assert_int_equal(back->n_zones, c->n_zones);
    for (size_t i = 0; i < c->n_zones; i++) {
        assert_string_equal(back->zones[i].name, c->zones[i].name);
        assert_int_equal(back->zones[i].n_prefixes, c->zones[i].n_prefixes);
        for (size_t j = 0; j < c->zones[i].n_prefixes; j++)
            assert_string_equal(back->zones[i].prefixes[j], c->zones[i].prefixes[j]);
    }
    assert_int_equal(back->n_rates, c->n_rates);
    for (size_t i = 0; i < c->n_rates; i++) {
        assert_int_equal(back->rates[i].service, c->rates[i].service);
        assert_string_equal(back->rates[i].zone, c->rates[i].zone);
        assert_int_equal(back->rates[i].connect_fee, c->rates[i].connect_fee);
        assert_int_equal(back->rates[i].price, c->rates[i].price);
        assert_int_equal(back->rates[i].rate_unit, c->rates[i].rate_unit);
        assert_int_equal(back->rates[i].first_increment, c->rates[i].first_increment);
        assert_int_equal(back->rates[i].next_increment, c->rates[i].next_increment);
    }
    assert_int_equal(back->n_lines, 1);
    assert_string_equal(back->lines[0].line_id, "ACC1-L0");
    assert_int_equal(back->lines[0].monthly_price, 49900000);
    aj_contract_free(back);

    /* open-ended */
    c->effective_to = INT64_MAX;
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_contract(f->dec, s, f->buf.data, f->buf.len, &back, detail, sizeof(detail)), AJ_E_OK);
    assert_true(back->effective_to == INT64_MAX);
    aj_contract_free(back);
    aj_contract_free(c);
}

static void test_contract_validation(void **state) {
    fx *f = *state;
    char detail[256];
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CONTRACT);
    aj_contract *back = NULL;

    for (int k = 0; k < 4; k++) {
        aj_contract *c = fx_contract(1, 0, INT64_MAX, 120000);
        const char *want = "";
        switch (k) {
        case 0: c->rates[2].rate_unit = 0; want = "rate 2"; break;
        case 1: free(c->zones[0].prefixes[0]); c->zones[0].prefixes[0] = fx_dup("55a1"); want = "LOCAL"; break;
        case 2: memcpy(c->currency, "BR", 3); want = "currency"; break;
        default: c->lines[0].monthly_price = -1; want = "ACC1-L0"; break;
        }
        f->buf.len = 0;
        assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
        aj_err rc = aj_decode_contract(f->dec, s, f->buf.data, f->buf.len, &back, detail, sizeof(detail));
        if (rc != AJ_E_BAD_CONTRACT || !strstr(detail, want))
            fail_msg("case %d: %s (%s)", k, aj_err_name(rc), detail);
        assert_null(back);
        aj_contract_free(c);
    }
    /* prefixes are stored normalized */
    aj_contract *c = fx_contract(1, 0, INT64_MAX, 120000);
    free(c->zones[3].prefixes[0]);
    c->zones[3].prefixes[0] = fx_dup("+1 (2)");
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_contract(f->dec, s, f->buf.data, f->buf.len, &back, detail, sizeof(detail)), AJ_E_OK);
    assert_string_equal(back->zones[3].prefixes[0], "12");
    aj_contract_free(back);
    aj_contract_free(c);
    /* garbage on the contract input */
    assert_int_equal(aj_decode_contract_message(f->dec, "nope", 4, &back, detail, sizeof(detail)), AJ_E_BAD_MAGIC);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    if (aj_schemas_init() != AJ_E_OK || !f) return -1;
    f->dec = aj_decoder_create();
    f->enc = aj_encoder_create();
    *state = f;
    return f->dec && f->enc ? 0 : -1;
}

static int teardown(void **state) {
    fx *f = *state;
    aj_decoder_destroy(f->dec);
    aj_encoder_destroy(f->enc);
    aj_bytes_free(&f->buf);
    free(f);
    aj_schemas_shutdown();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_usage_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recurring_and_close_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_reasons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_writer_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_validation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
