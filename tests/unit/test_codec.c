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

/* ---- contracts ---- */

/* fx_contract with the v2 fields whose zero is not the default set through the init functions
 * (the fixture predates them: its calloc leaves decimals 0 and lines of quantity 0). */
static aj_contract *v2_fixture(int version, int64_t from, int64_t to, int64_t national_price) {
    aj_contract *c = fx_contract(version, from, to, national_price), init;
    aj_rate rinit;
    aj_line linit;

    aj_contract_init(&init);
    c->decimals = init.decimals;
    c->rounding = init.rounding;
    c->payment_terms_days = init.payment_terms_days;
    c->band_mode = init.band_mode;
    aj_rate_init(&rinit);
    for (size_t i = 0; i < c->n_rates; i++) {
        c->rates[i].decimals = rinit.decimals;
        c->rates[i].rounding = rinit.rounding;
    }
    aj_line_init(&linit);
    for (size_t i = 0; i < c->n_lines; i++) {
        c->lines[i].quantity = linit.quantity;
        c->lines[i].active_from = linit.active_from;
        c->lines[i].active_to = linit.active_to;
    }
    return c;
}

static char **names(size_t n, ...) {
    char **out = calloc(n ? n : 1, sizeof(*out));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) out[i] = fx_dup(va_arg(ap, const char *));
    va_end(ap);
    return out;
}

#define MON 0x01
#define TUE 0x02
#define WED 0x04
#define THU 0x08
#define FRI 0x10
#define SAT 0x20
#define SUN 0x40

/* A contract with every v2 field set, none to its default. */
static aj_contract *full_contract(void) {
    aj_contract *c = calloc(1, sizeof(*c));
    aj_contract_init(c);
    c->account = fx_dup("ACC7");
    c->contract_id = fx_dup("CT-7");
    c->version = 4;
    c->status = AJ_CONTRACT_TERMINATED;
    c->effective_from = 1767225600000LL;
    c->effective_to = 1798761600000LL;
    memcpy(c->currency, "EUR", 4);
    c->decimals = 3;
    c->rounding = AJ_ROUND_HALF_EVEN;
    c->payment_terms_days = 45;
    c->time_zone = fx_dup("Europe/Lisbon");
    c->zones = calloc(2, sizeof(*c->zones));
    c->zones[0] = (aj_zone){fx_dup("LOCAL"), names(2, "35121", "35122"), 2};
    c->zones[1] = (aj_zone){fx_dup("INTL"), names(1, "1"), 1};
    c->n_zones = 2;
    c->default_zone = fx_dup("NATIONAL");
    c->band_mode = AJ_BAND_SPLIT;
    c->bands = calloc(2, sizeof(*c->bands));
    c->n_bands = 2;
    c->bands[0].name = fx_dup("PEAK");
    c->bands[0].windows = calloc(2, sizeof(aj_window));
    c->bands[0].windows[0] = (aj_window){MON | TUE | WED | THU | FRI, 480, 1080};
    c->bands[0].windows[1] = (aj_window){SAT, 0, 1};
    c->bands[0].n_windows = 2;
    c->bands[0].holidays = calloc(3, sizeof(int64_t));
    c->bands[0].holidays[0] = -1;      /* 1969-12-31 */
    c->bands[0].holidays[1] = 0;       /* 1970-01-01 */
    c->bands[0].holidays[2] = 20819;   /* 2027-01-01 */
    c->bands[0].n_holidays = 3;
    c->bands[1].name = fx_dup("WEEKEND");
    c->bands[1].windows = calloc(1, sizeof(aj_window));
    c->bands[1].windows[0] = (aj_window){SAT | SUN, 1439, 1440};
    c->bands[1].n_windows = 1;
    c->default_band = fx_dup("OFFPEAK");
    c->rates = calloc(2, sizeof(*c->rates));
    c->n_rates = 2;
    aj_rate *r = &c->rates[0];
    aj_rate_init(r);
    r->service = AJ_SERVICE_VOICE;
    r->zone = fx_dup("LOCAL");
    r->band = fx_dup("PEAK");
    r->connect_fee = 15000;
    r->price = 90000;
    r->rate_unit = 60;
    r->first_increment = 30;
    r->next_increment = 6;
    r->tiers = calloc(2, sizeof(aj_tier));
    r->tiers[0] = (aj_tier){600, 60000, 60};
    r->tiers[1] = (aj_tier){3600, 0, 1};
    r->n_tiers = 2;
    r->min_charge = 10000;
    r->max_charge = 5000000;
    r->decimals = 2;
    r->rounding = AJ_ROUND_DOWN;
    r = &c->rates[1];
    aj_rate_init(r);
    r->service = AJ_SERVICE_DATA;
    r->zone = fx_dup("NATIONAL");
    r->price = 500000;
    r->rate_unit = 1048576;
    r->first_increment = 1024;
    r->next_increment = 1024;
    r->max_charge = 7;
    r->decimals = 0;
    r->rounding = AJ_ROUND_UP;
    c->allowances = calloc(2, sizeof(*c->allowances));
    c->n_allowances = 2;
    c->allowances[0] = (aj_allowance){fx_dup("BUNDLE300"), AJ_SERVICE_VOICE, names(2, "LOCAL", "NATIONAL"), 2, 18000};
    c->allowances[1] = (aj_allowance){fx_dup("SMS100"), AJ_SERVICE_SMS, NULL, 0, 100};
    c->discounts = calloc(1, sizeof(*c->discounts));
    c->n_discounts = 1;
    c->discounts[0] = (aj_discount){fx_dup("LOYAL"), AJ_SERVICE_MMS, names(1, "INTL"), 1, 125000, 2000000};
    c->promotions = calloc(3, sizeof(*c->promotions));
    c->n_promotions = 3;
    c->promotions[0] = (aj_promotion){fx_dup("WELCOME"), AJ_SERVICE_VOICE, names(1, "LOCAL"), 1,
                                      1767225600000LL, 1769904000000LL, AJ_PROMO_FREE_UNITS, 600, 5};
    c->promotions[1] = (aj_promotion){fx_dup("HALF"), AJ_SERVICE_DATA, NULL, 0,
                                      1767225600000LL, INT64_MAX, AJ_PROMO_PERCENT_OFF, 500000, -2};
    c->promotions[2] = (aj_promotion){fx_dup("CHEAP"), AJ_SERVICE_SMS, NULL, 0, -5, 5, AJ_PROMO_PRICE, 1000, 0};
    c->lines = calloc(2, sizeof(*c->lines));
    c->n_lines = 2;
    aj_line_init(&c->lines[0]);
    c->lines[0].line_id = fx_dup("ACC7-L0");
    c->lines[0].service = AJ_SERVICE_VOICE;
    c->lines[0].monthly_price = 19900000;
    c->lines[0].quantity = 3;
    c->lines[0].active_from = 1768000000000LL;
    c->lines[0].active_to = 1790000000000LL;
    aj_line_init(&c->lines[1]);
    c->lines[1].line_id = fx_dup("ACC7-L1");
    c->lines[1].service = AJ_SERVICE_DATA;
    c->lines[1].monthly_price = 0;
    c->lines[1].quantity = 2;
    c->lines[1].active_from = -86400000LL;
    c->taxes = calloc(2, sizeof(*c->taxes));
    c->n_taxes = 2;
    c->taxes[0] = (aj_tax){fx_dup("ICMS"), (1u << AJ_SERVICE_VOICE) | (1u << AJ_SERVICE_DATA), 250000, AJ_TAX_GROSS_UP};
    c->taxes[1] = (aj_tax){fx_dup("PIS"), (1u << AJ_SERVICE__COUNT) - 1, 0, AJ_TAX_EXCLUSIVE};
    return c;
}

static void assert_names_equal(char *const *a, size_t na, char *const *b, size_t nb) {
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) assert_string_equal(a[i], b[i]);
}

/* Every field of two contracts, one by one. */
static void assert_contract_equal(const aj_contract *a, const aj_contract *b) {
    assert_string_equal(a->account, b->account);
    assert_string_equal(a->contract_id, b->contract_id);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->status, b->status);
    assert_true(a->effective_from == b->effective_from);
    assert_true(a->effective_to == b->effective_to);
    assert_string_equal(a->currency, b->currency);
    assert_int_equal(a->decimals, b->decimals);
    assert_int_equal(a->rounding, b->rounding);
    assert_int_equal(a->payment_terms_days, b->payment_terms_days);
    assert_string_equal(a->time_zone, b->time_zone);
    assert_int_equal(a->n_zones, b->n_zones);
    for (size_t i = 0; i < a->n_zones; i++) {
        assert_string_equal(a->zones[i].name, b->zones[i].name);
        assert_names_equal(a->zones[i].prefixes, a->zones[i].n_prefixes, b->zones[i].prefixes, b->zones[i].n_prefixes);
    }
    assert_string_equal(a->default_zone, b->default_zone);
    assert_int_equal(a->band_mode, b->band_mode);
    assert_int_equal(a->n_bands, b->n_bands);
    for (size_t i = 0; i < a->n_bands; i++) {
        const aj_band *x = &a->bands[i], *y = &b->bands[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->n_windows, y->n_windows);
        for (size_t j = 0; j < x->n_windows; j++) {
            assert_int_equal(x->windows[j].days, y->windows[j].days);
            assert_int_equal(x->windows[j].from_minute, y->windows[j].from_minute);
            assert_int_equal(x->windows[j].to_minute, y->windows[j].to_minute);
        }
        assert_int_equal(x->n_holidays, y->n_holidays);
        for (size_t j = 0; j < x->n_holidays; j++) assert_true(x->holidays[j] == y->holidays[j]);
    }
    assert_string_equal(a->default_band, b->default_band);
    assert_int_equal(a->n_rates, b->n_rates);
    for (size_t i = 0; i < a->n_rates; i++) {
        const aj_rate *x = &a->rates[i], *y = &b->rates[i];
        assert_int_equal(x->service, y->service);
        assert_string_equal(x->zone, y->zone);
        if (x->band || y->band) {
            assert_non_null(x->band);
            assert_non_null(y->band);
            assert_string_equal(x->band, y->band);
        }
        assert_int_equal(x->connect_fee, y->connect_fee);
        assert_int_equal(x->price, y->price);
        assert_int_equal(x->rate_unit, y->rate_unit);
        assert_int_equal(x->first_increment, y->first_increment);
        assert_int_equal(x->next_increment, y->next_increment);
        assert_int_equal(x->n_tiers, y->n_tiers);
        for (size_t j = 0; j < x->n_tiers; j++) {
            assert_int_equal(x->tiers[j].start, y->tiers[j].start);
            assert_int_equal(x->tiers[j].price, y->tiers[j].price);
            assert_int_equal(x->tiers[j].increment, y->tiers[j].increment);
        }
        assert_int_equal(x->min_charge, y->min_charge);
        assert_int_equal(x->max_charge, y->max_charge);
        assert_int_equal(x->decimals, y->decimals);
        assert_int_equal(x->rounding, y->rounding);
    }
    assert_int_equal(a->n_allowances, b->n_allowances);
    for (size_t i = 0; i < a->n_allowances; i++) {
        const aj_allowance *x = &a->allowances[i], *y = &b->allowances[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->service, y->service);
        assert_names_equal(x->zones, x->n_zones, y->zones, y->n_zones);
        assert_int_equal(x->units, y->units);
    }
    assert_int_equal(a->n_discounts, b->n_discounts);
    for (size_t i = 0; i < a->n_discounts; i++) {
        const aj_discount *x = &a->discounts[i], *y = &b->discounts[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->service, y->service);
        assert_names_equal(x->zones, x->n_zones, y->zones, y->n_zones);
        assert_int_equal(x->percent_ppm, y->percent_ppm);
        assert_int_equal(x->cap, y->cap);
    }
    assert_int_equal(a->n_promotions, b->n_promotions);
    for (size_t i = 0; i < a->n_promotions; i++) {
        const aj_promotion *x = &a->promotions[i], *y = &b->promotions[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->service, y->service);
        assert_names_equal(x->zones, x->n_zones, y->zones, y->n_zones);
        assert_true(x->valid_from == y->valid_from);
        assert_true(x->valid_to == y->valid_to);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->value, y->value);
        assert_int_equal(x->priority, y->priority);
    }
    assert_int_equal(a->n_lines, b->n_lines);
    for (size_t i = 0; i < a->n_lines; i++) {
        const aj_line *x = &a->lines[i], *y = &b->lines[i];
        assert_string_equal(x->line_id, y->line_id);
        assert_int_equal(x->service, y->service);
        assert_int_equal(x->monthly_price, y->monthly_price);
        assert_int_equal(x->quantity, y->quantity);
        assert_true(x->active_from == y->active_from);
        assert_true(x->active_to == y->active_to);
    }
    assert_int_equal(a->n_taxes, b->n_taxes);
    for (size_t i = 0; i < a->n_taxes; i++) {
        assert_string_equal(a->taxes[i].name, b->taxes[i].name);
        assert_int_equal(a->taxes[i].services, b->taxes[i].services);
        assert_int_equal(a->taxes[i].rate_ppm, b->taxes[i].rate_ppm);
        assert_int_equal(a->taxes[i].mode, b->taxes[i].mode);
    }
}

/* Encodes c with the current schema and decodes it back. */
static aj_err contract_trip(fx *f, const aj_contract *c, aj_contract **back, char *detail) {
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    return aj_decode_contract(f->dec, aj_schema_current(AJ_SCHEMA_CONTRACT), f->buf.data, f->buf.len, back, detail,
                              256);
}

static void test_contract_round_trip(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *c = v2_fixture(3, 1767225600000LL, 1790812800000LL, 120000), *back = NULL;

    c->status = AJ_CONTRACT_TERMINATED;
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    assert_int_equal(back->version, 3);
    assert_int_equal(back->status, AJ_CONTRACT_TERMINATED);
    assert_string_equal(back->currency, "BRL");
    assert_string_equal(back->default_zone, "OTHER");
    assert_string_equal(back->lines[0].line_id, "ACC1-L0");
    assert_int_equal(back->lines[0].monthly_price, 49900000);
    /* no default band set by hand: written as the schema default */
    c->default_band = fx_dup("ANY");
    assert_contract_equal(back, c);
    aj_contract_free(back);

    /* open-ended */
    c->effective_to = INT64_MAX;
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    assert_true(back->effective_to == INT64_MAX);
    aj_contract_free(back);
    aj_contract_free(c);
}

static void test_contract_v2_round_trip(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *c = full_contract(), *back = NULL;

    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    assert_contract_equal(back, c);
    /* spot checks that the comparison above is about non-default values */
    assert_int_equal(back->decimals, 3);
    assert_int_equal(back->rounding, AJ_ROUND_HALF_EVEN);
    assert_int_equal(back->band_mode, AJ_BAND_SPLIT);
    assert_int_equal(back->bands[0].windows[0].days, MON | TUE | WED | THU | FRI);
    assert_string_equal(back->rates[0].band, "PEAK");
    assert_null(back->rates[1].band);
    assert_true(back->promotions[1].valid_to == INT64_MAX);
    assert_int_equal(back->promotions[2].kind, AJ_PROMO_PRICE);
    assert_int_equal(back->taxes[0].mode, AJ_TAX_GROSS_UP);
    assert_int_equal(back->taxes[1].services, 0xf);
    assert_true(back->lines[1].active_to == INT64_MAX);
    assert_null(back->allowances[1].zones);
    aj_contract_free(back);
    aj_contract_free(c);
}

/* The encoded contract read back as a generic value of the current schema (to inspect or
 * mutate what aj_contract cannot express); caller decrefs. */
static void contract_value(fx *f, const aj_contract *c, avro_value_t *root) {
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CONTRACT);
    avro_reader_t rd;
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    assert_int_equal(avro_generic_value_new(s->iface, root), 0);
    assert_non_null(rd = avro_reader_memory((const char *)f->buf.data, (int64_t)f->buf.len));
    assert_int_equal(avro_value_read(rd, root), 0);
    avro_reader_free(rd);
}

/* Field path of root: "bands", 0, "holidays", 1 ... as alternating name / index steps. */
static void value_at(avro_value_t *root, avro_value_t *out, const char *n1, int i1, const char *n2, int i2,
                     const char *n3, int i3) {
    avro_value_t a, b;
    assert_int_equal(avro_value_get_by_name(root, n1, &a, NULL), 0);
    assert_int_equal(avro_value_get_by_index(&a, (size_t)i1, &b, NULL), 0);
    if (!n2) {
        *out = b;
        return;
    }
    assert_int_equal(avro_value_get_by_name(&b, n2, &a, NULL), 0);
    assert_int_equal(avro_value_get_by_index(&a, (size_t)i2, &b, NULL), 0);
    if (!n3) {
        *out = b;
        return;
    }
    assert_int_equal(avro_value_get_by_name(&b, n3, &a, NULL), 0);
    assert_int_equal(avro_value_get_by_index(&a, (size_t)i3, out, NULL), 0);
}

static void test_contract_holidays_and_days(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *c = full_contract(), *back = NULL;
    avro_value_t root, v;
    const char *s;
    size_t size;

    /* written as YYYY-MM-DD, weekdays as names in MON..SUN order */
    contract_value(f, c, &root);
    static const char *const dates[] = {"1969-12-31", "1970-01-01", "2027-01-01"};
    for (int i = 0; i < 3; i++) {
        value_at(&root, &v, "bands", 0, "holidays", i, NULL, 0);
        assert_int_equal(avro_value_get_string(&v, &s, &size), 0);
        assert_string_equal(s, dates[i]);
    }
    static const char *const days[] = {"MON", "TUE", "WED", "THU", "FRI"};
    for (int i = 0; i < 5; i++) {
        value_at(&root, &v, "bands", 0, "windows", 0, "days", i);
        assert_int_equal(avro_value_get_string(&v, &s, &size), 0);
        assert_string_equal(s, days[i]);
    }
    value_at(&root, &v, "bands", 1, "windows", 0, "days", 1);
    assert_int_equal(avro_value_get_string(&v, &s, &size), 0);
    assert_string_equal(s, "SUN");
    avro_value_decref(&root);

    /* stored ascending whatever the order written; a leap day parses */
    int64_t unsorted[] = {20819, -1, 19782 /* 2024-02-29 */};
    memcpy(c->bands[0].holidays, unsorted, sizeof(unsorted));
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    assert_int_equal(back->bands[0].n_holidays, 3);
    assert_true(back->bands[0].holidays[0] == -1);
    assert_true(back->bands[0].holidays[1] == 19782);
    assert_true(back->bands[0].holidays[2] == 20819);
    aj_contract_free(back);
    aj_contract_free(c);
}

/* The current schema with the symbols of the Rounding enum reversed. */
static void test_contract_enum_by_symbol(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *c = full_contract(), *back = NULL;
    const aj_schema *cur = aj_schema_current(AJ_SCHEMA_CONTRACT);
    const char *json = NULL;
    static const char from[] = "[\"HALF_UP\", \"HALF_EVEN\", \"UP\", \"DOWN\"]";
    static const char to[] = "[\"DOWN\", \"UP\", \"HALF_EVEN\", \"HALF_UP\"]";
    aj_schema writer;

    for (const aj_schema_source *src = aj_schema_sources; src->file; src++)
        if (strcmp(src->file, cur->file) == 0) json = src->json;
    assert_non_null(json);
    char *copy = fx_dup(json), *at = strstr(copy, from);
    assert_non_null(at);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(at, to, strlen(to));
    memset(&writer, 0, sizeof(writer));
    writer.id = AJ_SCHEMA_CONTRACT;
    writer.file = "contract.reordered.avsc";
    assert_int_equal(avro_schema_from_json_length(copy, strlen(copy), &writer.schema), 0);
    assert_non_null(writer.iface = avro_generic_class_from_schema(writer.schema));

    /* the same bytes mean other symbols under the reordered writer: index 1 is UP there */
    c->rounding = AJ_ROUND_HALF_EVEN;          /* index 1 */
    c->rates[0].rounding = AJ_ROUND_HALF_UP;   /* index 0 -> DOWN */
    c->rates[1].rounding = AJ_ROUND_DOWN;      /* index 3 -> HALF_UP */
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_contract(f->dec, &writer, f->buf.data, f->buf.len, &back, detail, sizeof(detail)),
                     AJ_E_OK);
    assert_int_equal(back->rounding, AJ_ROUND_UP);
    assert_int_equal(back->rates[0].rounding, AJ_ROUND_DOWN);
    assert_int_equal(back->rates[1].rounding, AJ_ROUND_HALF_UP);
    assert_int_equal(back->band_mode, AJ_BAND_SPLIT);   /* other enums untouched */
    aj_contract_free(back);
    avro_value_iface_decref(writer.iface);
    avro_schema_decref(writer.schema);
    free(copy);
    aj_contract_free(c);
}

/* The registered schema of an embedded file, found by its fingerprint. */
static const aj_schema *schema_of_file(const char *file) {
    for (const aj_schema_source *src = aj_schema_sources; src->file; src++) {
        avro_schema_t s;
        if (strcmp(src->file, file) != 0) continue;
        assert_int_equal(avro_schema_from_json_length(src->json, strlen(src->json), &s), 0);
        char *pcf = aj_schema_canonical(s);
        assert_non_null(pcf);
        const aj_schema *found = aj_schema_by_fingerprint(aj_crc64_avro(pcf, strlen(pcf)));
        free(pcf);
        avro_schema_decref(s);
        return found;
    }
    return NULL;
}

static void set_str(avro_value_t *rec, const char *name, const char *v) {
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_string(&f, v), 0);
}

static void set_long(avro_value_t *rec, const char *name, int64_t v) {
    avro_value_t f;
    assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
    assert_int_equal(avro_value_set_long(&f, v), 0);
}

/* A contract written by a version 1 producer decodes with every v2 default. */
static void test_contract_v1_defaults(void **state) {
    fx *f = *state;
    char detail[256];
    const aj_schema *v1 = schema_of_file("contract.avsc");
    aj_contract *back = NULL;
    avro_value_t root, v, item, sub, br;

    assert_non_null(v1);
    assert_ptr_not_equal(v1, aj_schema_current(AJ_SCHEMA_CONTRACT));
    assert_int_equal(avro_generic_value_new(v1->iface, &root), 0);
    set_str(&root, "account", "ACC1");
    set_str(&root, "contract_id", "CT-1");
    assert_int_equal(avro_value_get_by_name(&root, "version", &v, NULL), 0);
    assert_int_equal(avro_value_set_int(&v, 2), 0);
    assert_int_equal(avro_value_get_by_name(&root, "status", &v, NULL), 0);
    assert_int_equal(avro_value_set_enum(&v, 1), 0);
    set_long(&root, "effective_from", 1767225600000LL);
    assert_int_equal(avro_value_get_by_name(&root, "effective_to", &v, NULL), 0);
    assert_int_equal(avro_value_set_branch(&v, 0, &br), 0);
    assert_int_equal(avro_value_set_null(&br), 0);
    set_str(&root, "currency", "BRL");
    set_str(&root, "time_zone", "America/Sao_Paulo");
    assert_int_equal(avro_value_get_by_name(&root, "zones", &v, NULL), 0);
    assert_int_equal(avro_value_append(&v, &item, NULL), 0);
    set_str(&item, "name", "LOCAL");
    assert_int_equal(avro_value_get_by_name(&item, "prefixes", &sub, NULL), 0);
    assert_int_equal(avro_value_append(&sub, &br, NULL), 0);
    assert_int_equal(avro_value_set_string(&br, "5511"), 0);
    set_str(&root, "default_zone", "OTHER");
    assert_int_equal(avro_value_get_by_name(&root, "rates", &v, NULL), 0);
    assert_int_equal(avro_value_append(&v, &item, NULL), 0);
    set_str(&item, "service", "VOICE");
    set_str(&item, "zone", "LOCAL");
    set_long(&item, "connect_fee", 10000);
    set_long(&item, "price", 90000);
    set_long(&item, "rate_unit", 60);
    set_long(&item, "first_increment", 30);
    set_long(&item, "next_increment", 6);
    assert_int_equal(avro_value_get_by_name(&root, "lines", &v, NULL), 0);
    assert_int_equal(avro_value_append(&v, &item, NULL), 0);
    set_str(&item, "line_id", "ACC1-L0");
    set_str(&item, "service", "SMS");
    set_long(&item, "monthly_price", 49900000);
    f->buf.len = 0;
    assert_int_equal(aj_avro_encode(&root, &f->buf), AJ_E_OK);
    avro_value_decref(&root);

    assert_int_equal(aj_decode_contract(f->dec, v1, f->buf.data, f->buf.len, &back, detail, sizeof(detail)), AJ_E_OK);
    /* the v1 fields */
    assert_string_equal(back->account, "ACC1");
    assert_int_equal(back->version, 2);
    assert_int_equal(back->status, AJ_CONTRACT_TERMINATED);
    assert_true(back->effective_to == INT64_MAX);
    assert_string_equal(back->time_zone, "America/Sao_Paulo");
    assert_int_equal(back->n_zones, 1);
    assert_string_equal(back->zones[0].prefixes[0], "5511");
    assert_int_equal(back->rates[0].connect_fee, 10000);
    assert_int_equal(back->rates[0].first_increment, 30);
    assert_int_equal(back->lines[0].service, AJ_SERVICE_SMS);
    /* the v2 defaults */
    assert_int_equal(back->decimals, 2);
    assert_int_equal(back->rounding, AJ_ROUND_HALF_UP);
    assert_int_equal(back->payment_terms_days, 30);
    assert_int_equal(back->band_mode, AJ_BAND_AT_START);
    assert_string_equal(back->default_band, "ANY");
    assert_int_equal(back->n_bands, 0);
    assert_null(back->bands);
    assert_int_equal(back->n_rates, 1);
    assert_null(back->rates[0].band);
    assert_int_equal(back->rates[0].n_tiers, 0);
    assert_int_equal(back->rates[0].min_charge, 0);
    assert_int_equal(back->rates[0].max_charge, 0);
    assert_int_equal(back->rates[0].decimals, 6);
    assert_int_equal(back->rates[0].rounding, AJ_ROUND_HALF_UP);
    assert_int_equal(back->n_allowances, 0);
    assert_int_equal(back->n_discounts, 0);
    assert_int_equal(back->n_promotions, 0);
    assert_int_equal(back->n_taxes, 0);
    assert_int_equal(back->n_lines, 1);
    assert_int_equal(back->lines[0].quantity, 1);
    assert_true(back->lines[0].active_from == INT64_MIN);
    assert_true(back->lines[0].active_to == INT64_MAX);
    aj_contract_free(back);

    /* a v1 message (single-object framing) is recognized by its fingerprint */
    uint8_t msg[1024];
    assert_true(f->buf.len + AJ_SOM_HEADER_LEN <= sizeof(msg));
    aj_som_header(v1->fingerprint, msg);
    memcpy(msg + AJ_SOM_HEADER_LEN, f->buf.data, f->buf.len);
    assert_int_equal(
        aj_decode_contract_message(f->dec, msg, f->buf.len + AJ_SOM_HEADER_LEN, &back, detail, sizeof(detail)),
        AJ_E_OK);
    assert_int_equal(back->rates[0].decimals, 6);
    aj_contract_free(back);
}

/* Replaces the string at *slot (freeing the old one). */
static void repl(char **slot, const char *s) {
    free(*slot);
    *slot = fx_dup(s);
}

/* One rule per case: a mutation of full_contract() and what the detail must name. */
static const char *mutate(aj_contract *c, int k) {
    switch (k) {
    case 0: c->bands[0].windows[1].from_minute = -1; return "band PEAK: window 1: from_minute -1";
    case 1: c->bands[0].windows[0].from_minute = 1440; return "band PEAK: window 0: from_minute 1440";
    case 2: c->bands[0].windows[0].to_minute = 480; return "band PEAK: window 0: to_minute 480";
    case 3: c->bands[1].windows[0].to_minute = 1441; return "band WEEKEND: window 0: to_minute 1441";
    case 4: c->rates[0].tiers[0].start = 0; return "rate 0: tier 0: start 0";
    case 5: c->rates[0].tiers[1].start = 600; return "rate 0: tier 1: start 600";
    case 6: c->rates[0].tiers[0].start = 4000; return "rate 0: tier 1: start 3600";
    case 7: c->rates[0].tiers[1].increment = 0; return "rate 0: tier 1: increment 0";
    case 8: c->rates[0].tiers[0].price = -1; return "rate 0: tier 0: negative price";
    case 9: c->rates[1].min_charge = -1; return "rate 1: zone NATIONAL: negative min_charge";
    case 10: c->rates[0].max_charge = -5; return "rate 0: zone LOCAL: negative min_charge or max_charge";
    case 11: c->rates[0].max_charge = 9999; return "rate 0: zone LOCAL: max_charge 9999 is below min_charge 10000";
    case 12: c->rates[1].decimals = 7; return "rate 1: decimals 7";
    case 13: c->rates[0].decimals = -1; return "rate 0: decimals -1";
    case 14: c->decimals = 7; return "contract: currency_decimals 7";
    case 15: c->decimals = -2; return "contract: currency_decimals -2";
    case 16: c->promotions[0].valid_to = c->promotions[0].valid_from; return "promotion WELCOME: valid_to";
    case 17: c->promotions[2].valid_to = -6; return "promotion CHEAP: valid_to -6";
    case 18: c->discounts[0].percent_ppm = 1000001; return "discount LOYAL: percent_ppm 1000001";
    case 19: c->discounts[0].percent_ppm = -1; return "discount LOYAL: percent_ppm -1";
    case 20: c->promotions[0].value = -1; return "promotion WELCOME: FREE_UNITS value -1";
    case 21: c->promotions[1].value = -1; return "promotion HALF: PERCENT_OFF value -1";
    case 22: c->promotions[1].value = 1000001; return "promotion HALF: PERCENT_OFF value 1000001";
    case 23: c->promotions[2].value = -1; return "promotion CHEAP: PRICE value -1";
    case 24: c->lines[1].quantity = 0; return "line 1: line ACC7-L1: quantity 0";
    case 25: c->lines[0].quantity = -3; return "line 0: line ACC7-L0: quantity -3";
    case 26: c->lines[0].active_to = c->lines[0].active_from; return "line 0: line ACC7-L0: deactivated";
    case 27: c->lines[1].active_to = -86400001LL; return "line 1: line ACC7-L1: deactivated";
    case 28: c->taxes[0].rate_ppm = 1000000; return "tax ICMS: rate_ppm 1000000";
    case 29: c->taxes[1].rate_ppm = -1; return "tax PIS: rate_ppm -1";
    case 30: c->rates[1].service = AJ_SERVICE__COUNT; return "rate 1: service UNKNOWN";
    case 31: c->allowances[1].service = AJ_SERVICE__COUNT; return "allowance SMS100: service UNKNOWN";
    case 32: c->discounts[0].service = AJ_SERVICE__COUNT; return "discount LOYAL: service UNKNOWN";
    case 33: c->promotions[1].service = AJ_SERVICE__COUNT; return "promotion HALF: service UNKNOWN";
    case 34: c->lines[1].service = AJ_SERVICE__COUNT; return "line 1: service UNKNOWN";
    case 35: repl(&c->bands[1].name, ""); return "band 1: field name is missing or empty";
    case 36: repl(&c->allowances[0].name, ""); return "allowance 0: field name";
    case 37: repl(&c->discounts[0].name, ""); return "discount 0: field name";
    case 38: repl(&c->promotions[2].name, ""); return "promotion 2: field name";
    case 39: repl(&c->taxes[1].name, ""); return "tax 1: field name";
    case 40: repl(&c->allowances[0].zones[1], ""); return "allowance BUNDLE300: field zones: item 1 is empty";
    case 41: repl(&c->discounts[0].zones[0], ""); return "discount LOYAL: field zones: item 0 is empty";
    case 42: repl(&c->promotions[0].zones[0], ""); return "promotion WELCOME: field zones: item 0 is empty";
    case 43: repl(&c->rates[0].band, ""); return "rate 0: field band is empty";
    case 44: repl(&c->default_band, ""); return "contract: field default_band";
    case 45: repl(&c->zones[1].name, ""); return "contract: field name";
    case 46: c->payment_terms_days = -1; return "contract: payment_terms_days -1";
    case 47: c->allowances[0].units = -1; return "allowance BUNDLE300: units -1";
    case 48: c->discounts[0].cap = -1; return "discount LOYAL: negative cap";
    case 49: repl(&c->lines[0].line_id, ""); return "line 0: field line_id";
    default: return NULL;
    }
}

static void test_contract_v2_validation(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *back = NULL;
    int k;

    for (k = 0;; k++) {
        aj_contract *c = full_contract();
        const char *want = mutate(c, k);
        if (!want) {
            aj_contract_free(c);
            break;
        }
        aj_err rc = contract_trip(f, c, &back, detail);
        if (rc != AJ_E_BAD_CONTRACT || !strstr(detail, want))
            fail_msg("case %d: want BAD_CONTRACT '%s', got %s '%s'", k, want, aj_err_name(rc), detail);
        assert_null(back);
        aj_contract_free(c);
    }
    assert_int_equal(k, 50);
    /* the limits themselves are valid */
    aj_contract *c = full_contract();
    c->bands[0].windows[0].from_minute = 1439;
    c->bands[0].windows[0].to_minute = 1440;
    c->rates[0].max_charge = c->rates[0].min_charge;
    c->rates[0].decimals = 6;
    c->decimals = 0;
    c->discounts[0].percent_ppm = 1000000;
    c->promotions[1].value = 1000000;
    c->taxes[0].rate_ppm = 999999;
    c->payment_terms_days = 0;
    c->lines[0].active_to = c->lines[0].active_from + 1;
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    aj_contract_free(back);
    aj_contract_free(c);
}

/* Validation of what aj_contract cannot hold: strings written by another producer. */
static void test_contract_v2_validation_strings(void **state) {
    fx *f = *state;
    char detail[256];
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CONTRACT);
    static const struct {
        const char *n1;
        int i1;
        const char *n2;
        int i2;
        const char *n3;
        int i3;
        const char *value;
        const char *want;
    } cases[] = {
        {"bands", 0, "windows", 1, "days", 0, "SATURDAY", "band PEAK: window 1: unknown weekday 'SATURDAY'"},
        {"bands", 0, "windows", 0, "days", 4, "fri", "band PEAK: window 0: unknown weekday 'fri'"},
        {"bands", 1, "windows", 0, "days", 1, "", "band WEEKEND: field days: item 1 is empty"},
        {"bands", 0, "holidays", 1, NULL, 0, "2026-02-29", "band PEAK: holiday '2026-02-29'"},
        {"bands", 0, "holidays", 0, NULL, 0, "2026-1-01", "band PEAK: holiday '2026-1-01'"},
        {"bands", 0, "holidays", 2, NULL, 0, "2026-13-01", "band PEAK: holiday '2026-13-01'"},
        {"bands", 0, "holidays", 2, NULL, 0, "01/01/2026", "band PEAK: holiday '01/01/2026'"},
        {"bands", 0, "holidays", 2, NULL, 0, "", "band PEAK: field holidays: item 2 is empty"},
        {"taxes", 0, "services", 1, NULL, 0, "FAX", "tax ICMS: service FAX"},
        {"taxes", 1, "services", 0, NULL, 0, "", "tax PIS: field services: item 0 is empty"},
    };
    aj_contract *c = full_contract(), *back = NULL;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        avro_value_t root, v;
        contract_value(f, c, &root);
        value_at(&root, &v, cases[i].n1, cases[i].i1, cases[i].n2, cases[i].i2, cases[i].n3, cases[i].i3);
        assert_int_equal(avro_value_set_string(&v, cases[i].value), 0);
        f->buf.len = 0;
        assert_int_equal(aj_avro_encode(&root, &f->buf), AJ_E_OK);
        avro_value_decref(&root);
        aj_err rc = aj_decode_contract(f->dec, s, f->buf.data, f->buf.len, &back, detail, sizeof(detail));
        if (rc != AJ_E_BAD_CONTRACT || !strstr(detail, cases[i].want))
            fail_msg("case %zu: want BAD_CONTRACT '%s', got %s '%s'", i, cases[i].want, aj_err_name(rc), detail);
        assert_null(back);
    }
    aj_contract_free(c);
}

static void test_contract_validation(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *back = NULL;

    for (int k = 0; k < 4; k++) {
        aj_contract *c = v2_fixture(1, 0, INT64_MAX, 120000);
        const char *want = "";
        switch (k) {
        case 0: c->rates[2].rate_unit = 0; want = "rate 2"; break;
        case 1: free(c->zones[0].prefixes[0]); c->zones[0].prefixes[0] = fx_dup("55a1"); want = "LOCAL"; break;
        case 2: memcpy(c->currency, "BR", 3); want = "currency"; break;
        default: c->lines[0].monthly_price = -1; want = "ACC1-L0"; break;
        }
        aj_err rc = contract_trip(f, c, &back, detail);
        if (rc != AJ_E_BAD_CONTRACT || !strstr(detail, want))
            fail_msg("case %d: %s (%s)", k, aj_err_name(rc), detail);
        assert_null(back);
        aj_contract_free(c);
    }
    /* prefixes are stored normalized */
    aj_contract *c = v2_fixture(1, 0, INT64_MAX, 120000);
    free(c->zones[3].prefixes[0]);
    c->zones[3].prefixes[0] = fx_dup("+1 (2)");
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    assert_string_equal(back->zones[3].prefixes[0], "12");
    aj_contract_free(back);
    aj_contract_free(c);
    /* garbage on the contract input */
    assert_int_equal(aj_decode_contract_message(f->dec, "nope", 4, &back, detail, sizeof(detail)), AJ_E_BAD_MAGIC);
}

static void test_contract_init_and_names(void **state) {
    aj_contract c;
    aj_rate r;
    aj_line l;
    (void)state;

    memset(&c, 0x5a, sizeof(c));
    aj_contract_init(&c);
    assert_int_equal(c.decimals, 2);
    assert_int_equal(c.rounding, AJ_ROUND_HALF_UP);
    assert_int_equal(c.payment_terms_days, 30);
    assert_true(c.effective_to == INT64_MAX);
    assert_int_equal(c.band_mode, AJ_BAND_AT_START);
    assert_null(c.rates);
    assert_int_equal(c.n_rates, 0);
    memset(&r, 0x5a, sizeof(r));
    aj_rate_init(&r);
    assert_int_equal(r.decimals, 6);
    assert_int_equal(r.rounding, AJ_ROUND_HALF_UP);
    assert_int_equal(r.first_increment, 1);
    assert_int_equal(r.next_increment, 1);
    assert_int_equal(r.rate_unit, 1);
    assert_null(r.band);
    assert_null(r.tiers);
    assert_int_equal(r.min_charge, 0);
    memset(&l, 0x5a, sizeof(l));
    aj_line_init(&l);
    assert_int_equal(l.quantity, 1);
    assert_true(l.active_from == INT64_MIN);
    assert_true(l.active_to == INT64_MAX);
    assert_null(l.line_id);
    assert_string_equal(aj_band_mode_name(AJ_BAND_SPLIT), "SPLIT");
    assert_string_equal(aj_band_mode_name((aj_band_mode)7), "UNKNOWN");
    assert_string_equal(aj_promo_kind_name(AJ_PROMO_PERCENT_OFF), "PERCENT_OFF");
    assert_string_equal(aj_promo_kind_name((aj_promo_kind)-1), "UNKNOWN");
    assert_string_equal(aj_tax_mode_name(AJ_TAX_GROSS_UP), "GROSS_UP");
    assert_string_equal(aj_tax_mode_name((aj_tax_mode)2), "UNKNOWN");
    aj_contract_free(NULL);
}

/* ---- one-time charges (usage_event.v3, contract.v3) ---- */

static aj_event one_time_event(void) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_ONE_TIME;
    ev.u.one_time = fx_one_time("OT-1", "SIM_SWAP", 2, 50000000, 1791504000000LL);
    return ev;
}

static void test_one_time_round_trip(void **state) {
    fx *f = *state;
    char detail[256];
    uint8_t msg[512];
    aj_event ev = one_time_event(), back;

    assert_int_equal(round_trip(f, &ev, &back, detail), AJ_E_OK);
    assert_int_equal(back.kind, AJ_EVENT_ONE_TIME);
    assert_memory_equal(&back.u.one_time, &ev.u.one_time, sizeof(ev.u.one_time));
    assert_string_equal(aj_event_account(&back), "ACC1");
    /* framed with the v3 fingerprint, on the usage input */
    f->buf.len = 0;
    assert_int_equal(aj_encode_event(f->enc, &ev, &f->buf), AJ_E_OK);
    assert_string_equal(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->file, "usage_event.v3.avsc");
    aj_som_header(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->fingerprint, msg);
    memcpy(msg + AJ_SOM_HEADER_LEN, f->buf.data, f->buf.len);
    assert_int_equal(aj_decode_event_message(f->dec, msg, f->buf.len + AJ_SOM_HEADER_LEN, &back, detail,
                                             sizeof(detail)),
                     AJ_E_OK);
    assert_int_equal(back.u.one_time.quantity, 2);
    assert_int_equal(back.u.one_time.legacy_amount, 50000000);
    /* branch 3 of v3 is OneTimeCharge: the earlier branches keep their indexes */
    assert_int_equal(f->buf.data[0], 3 * 2);   /* zig-zag of 3 */
    ev = usage_event();
    f->buf.len = 0;
    assert_int_equal(aj_encode_event(f->enc, &ev, &f->buf), AJ_E_OK);
    assert_int_equal(f->buf.data[0], 0);
}

/* A version-2 writer (no OneTimeCharge) still decodes, by its own fingerprint. */
static void test_usage_v2_writer_still_decodes(void **state) {
    fx *f = *state;
    const aj_schema *v2 = schema_of_file("usage_event.v2.avsc");
    avro_value_t root, rec, v;
    char detail[256];
    uint8_t msg[512];
    aj_event back;

    assert_non_null(v2);
    assert_ptr_not_equal(v2, aj_schema_current(AJ_SCHEMA_USAGE_EVENT));
    assert_int_equal(avro_generic_value_new(v2->iface, &root), 0);
    assert_int_equal(avro_value_set_branch(&root, 1, &rec), 0);   /* RecurringCharge */
    set_str(&rec, "record_id", "RC-9");
    set_str(&rec, "account", "ACC9");
    set_str(&rec, "line_id", "ACC9-L0");
    set_str(&rec, "service", "VOICE");
    set_str(&rec, "cycle_id", "2026-10");
    set_long(&rec, "period_start", 1790812800000LL);
    set_long(&rec, "period_end", 1793491200000LL);
    set_long(&rec, "legacy_amount", 49900000);
    set_str(&rec, "currency", "BRL");
    assert_int_equal(avro_value_get_by_name(&rec, "legacy_tariff_code", &v, NULL), 0);
    assert_int_equal(avro_value_set_string(&v, ""), 0);
    f->buf.len = 0;
    assert_int_equal(aj_avro_encode(&root, &f->buf), AJ_E_OK);
    avro_value_decref(&root);
    aj_som_header(v2->fingerprint, msg);
    assert_true(f->buf.len + AJ_SOM_HEADER_LEN <= sizeof(msg));
    memcpy(msg + AJ_SOM_HEADER_LEN, f->buf.data, f->buf.len);
    assert_int_equal(aj_decode_event_message(f->dec, msg, f->buf.len + AJ_SOM_HEADER_LEN, &back, detail,
                                             sizeof(detail)),
                     AJ_E_OK);
    assert_int_equal(back.kind, AJ_EVENT_RECURRING);
    assert_string_equal(back.u.recurring.line_id, "ACC9-L0");
    assert_int_equal(back.u.recurring.legacy_amount, 49900000);
    /* branch 3 does not exist in v2 */
    msg[AJ_SOM_HEADER_LEN] = 3 * 2;
    assert_int_equal(aj_decode_event_message(f->dec, msg, f->buf.len + AJ_SOM_HEADER_LEN, &back, detail,
                                             sizeof(detail)),
                     AJ_E_BAD_UNION);
}

static void test_one_time_validation(void **state) {
    fx *f = *state;
    char detail[256];
    aj_event back;

    for (int k = 0; k < 8; k++) {
        aj_event ev = one_time_event();
        aj_one_time *o = &ev.u.one_time;
        aj_err want = AJ_E_MISSING_FIELD;
        const char *field = "";
        switch (k) {
        case 0: o->record_id[0] = '\0'; field = "record_id"; break;
        case 1: o->account[0] = '\0'; field = "account"; break;
        case 2: o->subscriber[0] = '\0'; field = "subscriber"; break;
        case 3: o->charge_code[0] = '\0'; field = "charge_code"; break;
        case 4: o->currency[0] = '\0'; field = "currency"; break;
        case 5: o->quantity = -1; field = "quantity"; want = AJ_E_NEGATIVE_QUANTITY; break;
        case 6: o->legacy_amount = -5; field = "legacy_amount"; want = AJ_E_NEGATIVE_AMOUNT; break;
        default: o->quantity = 0; want = AJ_E_OK; break;   /* zero units is a valid record */
        }
        aj_err rc = round_trip(f, &ev, &back, detail);
        if (rc != want || !strstr(detail, field))
            fail_msg("case %d: want %s, got %s (%s)", k, aj_err_name(want), aj_err_name(rc), detail);
    }
}

/* A writer of OneTimeCharge without quantity (and with an extra field): one unit. */
static void test_one_time_quantity_default(void **state) {
    fx *f = *state;
    aj_schema writer;
    avro_value_t root, rec;
    char detail[256];
    aj_event back;

    memset(&writer, 0, sizeof(writer));
    writer.id = AJ_SCHEMA_USAGE_EVENT;
    writer.file = "usage_event.test.avsc";
    assert_int_equal(avro_schema_from_json_literal(
                         "[{\"type\":\"record\",\"name\":\"OneTimeCharge\",\"namespace\":\"ajuste.usage\",\"fields\":["
                         "{\"name\":\"charge_code\",\"type\":\"string\"},"
                         "{\"name\":\"record_id\",\"type\":\"string\"},"
                         "{\"name\":\"note\",\"type\":\"string\"},"
                         "{\"name\":\"account\",\"type\":\"string\"},"
                         "{\"name\":\"subscriber\",\"type\":\"string\"},"
                         "{\"name\":\"charged_at\",\"type\":\"long\"},"
                         "{\"name\":\"cycle_id\",\"type\":\"string\"},"
                         "{\"name\":\"legacy_amount\",\"type\":\"long\"},"
                         "{\"name\":\"currency\",\"type\":\"string\"}]}]",
                         &writer.schema),
                     0);
    writer.iface = avro_generic_class_from_schema(writer.schema);
    assert_int_equal(avro_generic_value_new(writer.iface, &root), 0);
    avro_value_set_branch(&root, 0, &rec);
    set_str(&rec, "charge_code", "ACTIVATION");
    set_str(&rec, "record_id", "OT-7");
    set_str(&rec, "note", "walked over");
    set_str(&rec, "account", "ACC7");
    set_str(&rec, "subscriber", "ACC7-L0");
    set_long(&rec, "charged_at", 1791504000000LL);
    set_str(&rec, "cycle_id", "2026-10");
    set_long(&rec, "legacy_amount", 49900000);
    set_str(&rec, "currency", "BRL");
    f->buf.len = 0;
    assert_int_equal(aj_avro_encode(&root, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_event(f->dec, &writer, f->buf.data, f->buf.len, &back, detail, sizeof(detail)),
                     AJ_E_OK);
    assert_int_equal(back.kind, AJ_EVENT_ONE_TIME);
    assert_string_equal(back.u.one_time.charge_code, "ACTIVATION");
    assert_int_equal(back.u.one_time.quantity, 1);
    assert_int_equal(back.u.one_time.charged_ms, 1791504000000LL);
    assert_string_equal(back.u.one_time.tariff_code, "");
    avro_value_decref(&root);
    aj_decoder_destroy(f->dec);
    f->dec = aj_decoder_create();
    avro_value_iface_decref(writer.iface);
    avro_schema_decref(writer.schema);
}

static void test_contract_one_time_charges(void **state) {
    fx *f = *state;
    char detail[256];
    aj_contract *c = v2_fixture(1, 0, INT64_MAX, 120000), *back = NULL;

    fx_add_otc(c, "ACTIVATION", "Line activation", 49900000);
    fx_add_otc(c, "SIM_SWAP", "", 25000000);
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_OK);
    assert_int_equal(back->n_one_time_charges, 2);
    assert_string_equal(back->one_time_charges[0].code, "ACTIVATION");
    assert_string_equal(back->one_time_charges[0].description, "Line activation");
    assert_int_equal(back->one_time_charges[0].price, 49900000);
    assert_string_equal(back->one_time_charges[1].code, "SIM_SWAP");
    assert_string_equal(back->one_time_charges[1].description, "");
    assert_int_equal(back->one_time_charges[1].price, 25000000);
    aj_contract_free(back);
    /* a negative price is refused naming the charge */
    c->one_time_charges[1].price = -1;
    assert_int_equal(contract_trip(f, c, &back, detail), AJ_E_BAD_CONTRACT);
    assert_null(back);
    assert_non_null(strstr(detail, "SIM_SWAP"));
    assert_non_null(strstr(detail, "negative"));
    aj_contract_free(c);
}

/* A contract.v2 writer has no price list: it decodes with none. */
static void test_contract_v2_writer_no_one_time(void **state) {
    fx *f = *state;
    const aj_schema *v2 = schema_of_file("contract.v2.avsc"), *v3 = aj_schema_current(AJ_SCHEMA_CONTRACT);
    aj_contract *c = v2_fixture(1, 0, INT64_MAX, 120000), *back = NULL;
    char detail[256];

    assert_non_null(v2);
    assert_string_equal(v3->file, "contract.v3.avsc");
    /* v3 adds one field at the end, with default []: a v3 datum of an empty list is a v2 datum
     * plus one zero byte (the empty array). */
    f->buf.len = 0;
    assert_int_equal(aj_encode_contract(f->enc, c, &f->buf), AJ_E_OK);
    assert_true(f->buf.len > 1 && f->buf.data[f->buf.len - 1] == 0);
    assert_int_equal(aj_decode_contract(f->dec, v2, f->buf.data, f->buf.len - 1, &back, detail, sizeof(detail)),
                     AJ_E_OK);
    assert_int_equal(back->n_one_time_charges, 0);
    assert_null(back->one_time_charges);
    assert_string_equal(back->lines[0].line_id, "ACC1-L0");
    aj_contract_free(back);
    aj_contract_free(c);
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
        cmocka_unit_test_setup_teardown(test_contract_v2_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_holidays_and_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_enum_by_symbol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_v1_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_v2_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_v2_validation_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_time_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_v2_writer_still_decodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_time_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_time_quantity_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_one_time_charges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_v2_writer_no_one_time, setup, teardown),
        cmocka_unit_test(test_contract_init_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
