/* test_out_codec.c - output encoders/decoders (checked against avro-c), hostile bytes, file and Kafka sinks. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "aj_emit.h"

static char tmpdir[256];

/* ------------------------------------------------------------------ samples */

static aj_correction sample_correction(void) {
    aj_correction c;
    memset(&c, 0, sizeof(c));
    strcpy(c.correction_id, "COR-cdr.usage-3-1234567");
    strcpy(c.account, "ACC1");
    strcpy(c.cycle_id, "2026-10");
    strcpy(c.record_id, "U0001");
    c.kind = AJ_KIND_USAGE;
    c.service = AJ_SERVICE_DATA;
    c.reason = AJ_REASON_INCREMENT_ROUNDING;
    strcpy(c.hypothesis, "rated with 60/60 increments instead of 30/6 (\xc3\xa1 UTF-8 too)");
    c.legacy_amount = 94000;
    c.corrected_amount = 55500;
    c.delta = -38500;
    strcpy(c.currency, "BRL");
    strcpy(c.contract_id, "CT-1");
    c.contract_version = 7;
    strcpy(c.tariff_code, "VOZ_T0");
    strcpy(c.trace.zone, "NATIONAL");
    strcpy(c.trace.matched_prefix, "55");
    c.trace.quantity = 37;
    c.trace.billed_quantity = 42;
    c.trace.first_increment = 30;
    c.trace.next_increment = 6;
    c.trace.price = 120000;
    c.trace.rate_unit = 60;
    c.trace.connect_fee = INT64_MAX;   /* the extremes of a long survive */
    c.trace.contract_version = 7;     /* not on the wire: the decoder takes the correction's */
    strcpy(c.trace.band, "PEAK");
    strcpy(c.trace.bands, "PEAK,OFFPEAK");
    c.trace.tiers = 1;
    c.trace.free_units = 20;
    strcpy(c.trace.allowance, "FRANQUIA");
    strcpy(c.trace.promotion, "NATAL");
    c.trace.promotion_amount = 130000;
    strcpy(c.trace.discount, "FIDELIDADE");
    c.trace.discount_amount = INT64_MIN;
    c.trace.clamp = AJ_CLAMP_MIN;
    c.trace.decimals = 2;
    c.trace.rounding = AJ_ROUND_HALF_EVEN;
    c.source.origin = "cdr.usage";
    c.source.partition = 3;
    c.source.offset = INT64_MIN;
    c.disposition = AJ_DISP_HOLD;
    strcpy(c.invoice_id, "INV-ACC1-2026-10-r1");
    strcpy(c.invoice_line, "LATE_USAGE/INV-ACC1-2026-09-r1/DATA");
    c.late = true;
    return c;
}

static const int32_t sample_versions[] = {1, 2, 5, 2147483647};

static aj_invoice_line sample_lines[4];
static aj_invoice_adjustment sample_adjs[3];

static aj_invoice_line sample_line(aj_line_kind kind, aj_service svc, const char *id, const char *item, int64_t records,
                                   int64_t quantity, aj_money legacy, aj_money corrected, aj_money billed, int64_t n) {
    aj_invoice_line l;
    memset(&l, 0, sizeof(l));
    l.kind = kind;
    l.service = svc;
    strcpy(l.line_id, id);
    strcpy(l.item, item);
    snprintf(l.description, sizeof(l.description), "%s <&> \"line\"", id);
    l.records = records;
    l.quantity = quantity;
    l.legacy_amount = legacy;
    l.corrected_amount = corrected;
    l.billed_amount = billed;
    l.corrections = n;
    return l;
}

static aj_invoice sample_invoice(void) {
    aj_invoice inv;
    memset(&inv, 0, sizeof(inv));
    strcpy(inv.invoice_id, "INV-ACC1-2026-10-r2");
    strcpy(inv.account, "ACC1");
    strcpy(inv.cycle_id, "2026-10");
    inv.revision = 2;
    inv.status = AJ_INV_RELEASED;
    strcpy(inv.status_reason, "released by ana: corrections turned to FLAG");
    inv.period_start_ms = 1790812800000LL;
    inv.period_end_ms = 1793491200000LL;
    inv.issue_date = 20758;
    inv.due_date = 20787;
    strcpy(inv.currency, "BRL");
    inv.decimals = 2;
    strcpy(inv.contract_id, "CT-1");
    inv.versions = sample_versions;
    inv.n_versions = 4;
    sample_lines[0] = sample_line(AJ_LINE_USAGE, AJ_SERVICE_VOICE, "USAGE/VOICE/LOCAL", "LOCAL", 12, 3600, 5400000,
                                  5000000, 5000000, 3);
    sample_lines[1] = sample_line(AJ_LINE_LATE_USAGE, AJ_SERVICE_DATA, "LATE_USAGE/INV-ACC1-2026-09-r1/DATA", "", 4,
                                  52428800, 25000000, 26000000, 25000000, 1);
    strcpy(sample_lines[1].refers_to, "INV-ACC1-2026-09-r1");
    sample_lines[2] = sample_line(AJ_LINE_TAX, AJ_SERVICE__COUNT, "TAX/ICMS", "ICMS", 0, 30400000, 7600000, 7500000,
                                  7500000, 1);
    sample_lines[3] = sample_line(AJ_LINE_DISCOUNT, AJ_SERVICE__COUNT, "DISCOUNT/FIDELIDADE", "FIDELIDADE", 2, 0, 0,
                                  -300000, 0, 0);
    sample_lines[3].memo = true;
    inv.lines = sample_lines;
    inv.n_lines = 4;
    sample_adjs[0] = (aj_invoice_adjustment){0, AJ_REASON_INCREMENT_ROUNDING, AJ_DISP_APPLY, 3, -400000};
    sample_adjs[1] = (aj_invoice_adjustment){1, AJ_REASON_RATE_MISMATCH, AJ_DISP_FLAG, 1, 1000000};
    sample_adjs[2] = (aj_invoice_adjustment){2, AJ_ADJ_TAX_BASE, AJ_DISP_APPLY, 1, -100000};
    inv.adjustments = sample_adjs;
    inv.n_adjustments = 3;
    inv.legacy_total = 38000000;
    inv.corrected_total = 37500000;
    inv.adjustment_total = -500000;
    inv.overcharge_removed = 500000;
    inv.flagged_undercharge = 1000000;
    inv.tax_total = 7500000;
    inv.amount_due = 37500000;
    inv.reasons[0] = (aj_reason_summary){AJ_REASON_INCREMENT_ROUNDING, 3, -400000, -400000};
    inv.reasons[1] = (aj_reason_summary){AJ_REASON_RATE_MISMATCH, 1, 1000000, 0};
    inv.n_reasons = 2;
    return inv;
}

static const char sample_payload[] = "\xc3\x01\x00\xff garbage\x00 with NULs";

static aj_dead_letter sample_dead_letter(int with_key) {
    aj_dead_letter dl;
    aj_position pos = {"cdr.usage", 5, 987654321};
    aj_dead_letter_init(&dl, &pos, AJ_E_NEGATIVE_QUANTITY, "field quantity: -3");
    if (with_key) {
        dl.key = "ACC\x00" "9";
        dl.key_len = 5;
    }
    dl.payload = sample_payload;
    dl.payload_len = sizeof(sample_payload) - 1;
    return dl;
}

/* ------------------------------------------------------------------ avro-c generic reads */

/* Reads datum with avro-c (an independent decoder) into a generic value of schema id. */
static void avro_c_read(aj_schema_id id, const aj_bytes *datum, avro_value_t *v) {
    const aj_schema *s = aj_schema_current(id);
    avro_value_iface_t *iface = avro_generic_class_from_schema(s->schema);
    avro_reader_t r = avro_reader_memory((const char *)datum->data, (int64_t)datum->len);
    assert_non_null(iface);
    assert_non_null(r);
    assert_int_equal(avro_generic_value_new(iface, v), 0);
    size_t size = 0;
    assert_int_equal(avro_value_read(r, v), 0);
    assert_int_equal(avro_value_sizeof(v, &size), 0);
    assert_int_equal(size, datum->len);   /* the datum is exactly one value */
    avro_reader_free(r);
    avro_value_iface_decref(iface);
}

static avro_value_t field(avro_value_t *v, const char *name) {
    avro_value_t f;
    if (avro_value_get_by_name(v, name, &f, NULL) != 0) fail_msg("avro-c finds no field %s", name);
    return f;
}

static void assert_str_field(avro_value_t *v, const char *name, const char *want) {
    avro_value_t f = field(v, name);
    const char *s;
    size_t n;
    assert_int_equal(avro_value_get_string(&f, &s, &n), 0);
    if (n != strlen(want) + 1 || memcmp(s, want, n) != 0) fail_msg("field %s: \"%s\" != \"%s\"", name, s, want);
}

static void assert_long_field(avro_value_t *v, const char *name, int64_t want) {
    avro_value_t f = field(v, name);
    int64_t l;
    assert_int_equal(avro_value_get_long(&f, &l), 0);
    if (l != want) fail_msg("field %s: %lld != %lld", name, (long long)l, (long long)want);
}

static void assert_int_field(avro_value_t *v, const char *name, int32_t want) {
    avro_value_t f = field(v, name);
    int32_t i;
    assert_int_equal(avro_value_get_int(&f, &i), 0);
    if (i != want) fail_msg("field %s: %d != %d", name, i, want);
}

static void assert_bytes_field(avro_value_t *v, const void *want, size_t len) {
    const void *b;
    size_t n;
    assert_int_equal(avro_value_get_bytes(v, &b, &n), 0);
    assert_int_equal(n, len);
    if (len) assert_memory_equal(b, want, len);
}

/* ------------------------------------------------------------------ fixture */

typedef struct fx {
    aj_out_encoder *enc;
    aj_bytes buf;
} fx;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state) {
    const char *base = getenv("TMPDIR");
    (void)state;
    if (aj_schemas_init() != AJ_E_OK) return -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s/aj-test-out-XXXXXX", base && base[0] ? base : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    aj_schemas_shutdown();
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    if (!f || !(f->enc = aj_out_encoder_create())) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    aj_out_encoder_destroy(f->enc);
    aj_bytes_free(&f->buf);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ round trips */

static void test_correction_round_trip(void **state) {
    fx *f = *state;
    aj_correction c = sample_correction(), back;
    char origin[64];
    avro_value_t v, t, s;

    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), f->buf.data, f->buf.len, &back,
                                          origin, sizeof(origin)),
                     AJ_E_OK);
    assert_string_equal(back.correction_id, c.correction_id);
    assert_string_equal(back.account, c.account);
    assert_string_equal(back.cycle_id, c.cycle_id);
    assert_string_equal(back.record_id, c.record_id);
    assert_int_equal(back.kind, c.kind);
    assert_int_equal(back.service, c.service);
    assert_int_equal(back.reason, c.reason);
    assert_string_equal(back.hypothesis, c.hypothesis);
    assert_int_equal(back.legacy_amount, c.legacy_amount);
    assert_int_equal(back.corrected_amount, c.corrected_amount);
    assert_int_equal(back.delta, c.delta);
    assert_string_equal(back.currency, c.currency);
    assert_string_equal(back.contract_id, c.contract_id);
    assert_int_equal(back.contract_version, c.contract_version);
    assert_string_equal(back.tariff_code, c.tariff_code);
    assert_memory_equal(&back.trace, &c.trace, sizeof(c.trace));
    assert_ptr_equal(back.source.origin, origin);
    assert_string_equal(back.source.origin, "cdr.usage");
    assert_int_equal(back.source.partition, 3);
    assert_int_equal(back.source.offset, INT64_MIN);
    /* Nothing else differs (both structs were zeroed first, so padding compares too). */
    back.source.origin = c.source.origin;
    assert_memory_equal(&back, &c, sizeof(c));

    /* avro-c reads the same values under the schema's field names. */
    avro_c_read(AJ_SCHEMA_CORRECTION, &f->buf, &v);
    assert_str_field(&v, "correction_id", c.correction_id);
    assert_str_field(&v, "account", "ACC1");
    assert_str_field(&v, "cycle_id", "2026-10");
    assert_str_field(&v, "record_id", "U0001");
    assert_str_field(&v, "record_kind", "USAGE");
    assert_str_field(&v, "service", "DATA");
    assert_str_field(&v, "reason", "INCREMENT_ROUNDING");
    assert_str_field(&v, "hypothesis", c.hypothesis);
    assert_long_field(&v, "legacy_amount", 94000);
    assert_long_field(&v, "corrected_amount", 55500);
    assert_long_field(&v, "delta", -38500);
    assert_str_field(&v, "currency", "BRL");
    assert_str_field(&v, "contract_id", "CT-1");
    assert_int_field(&v, "contract_version", 7);
    assert_str_field(&v, "legacy_tariff_code", "VOZ_T0");
    t = field(&v, "trace");
    assert_str_field(&t, "zone", "NATIONAL");
    assert_str_field(&t, "matched_prefix", "55");
    assert_long_field(&t, "quantity", 37);
    assert_long_field(&t, "billed_quantity", 42);
    assert_long_field(&t, "first_increment", 30);
    assert_long_field(&t, "next_increment", 6);
    assert_long_field(&t, "price", 120000);
    assert_long_field(&t, "rate_unit", 60);
    assert_long_field(&t, "connect_fee", INT64_MAX);
    s = field(&v, "source");
    assert_str_field(&s, "origin", "cdr.usage");
    assert_int_field(&s, "partition", 3);
    assert_long_field(&s, "offset", INT64_MIN);
    assert_str_field(&v, "disposition", "HOLD");
    assert_str_field(&v, "invoice_id", "INV-ACC1-2026-10-r1");
    assert_str_field(&v, "invoice_line", "LATE_USAGE/INV-ACC1-2026-09-r1/DATA");
    avro_value_t late = field(&v, "late");
    int b = 0;
    assert_int_equal(avro_value_get_boolean(&late, &b), 0);
    assert_true(b);
    avro_value_decref(&v);

    /* Appending: a second datum follows the first, which is left untouched. */
    size_t first = f->buf.len;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_OK);
    assert_int_equal(f->buf.len, 2 * first);
    assert_memory_equal(f->buf.data, f->buf.data + first, first);
}

static void test_invoice_round_trip(void **state) {
    fx *f = *state;
    aj_invoice inv = sample_invoice(), back;
    avro_value_t v, a, item;
    size_t n;

    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_invoice(aj_schema_current(AJ_SCHEMA_INVOICE), f->buf.data, f->buf.len, &back), AJ_E_OK);
    assert_int_equal(back.n_versions, 4);
    assert_memory_equal(back.versions, sample_versions, sizeof(sample_versions));
    assert_int_equal(back.n_lines, 4);
    assert_memory_equal(back.lines, sample_lines, sizeof(sample_lines));
    assert_int_equal(back.n_adjustments, 3);
    assert_memory_equal(back.adjustments, sample_adjs, sizeof(sample_adjs));
    assert_int_equal(back.n_reasons, 2);
    assert_memory_equal(back.reasons, inv.reasons, sizeof(inv.reasons));
    assert_int_equal(back.status, AJ_INV_RELEASED);
    /* Nothing else differs (both structs were zeroed first, so padding compares too). */
    aj_invoice owned = back;
    back.versions = inv.versions;
    back.lines = inv.lines;
    back.adjustments = inv.adjustments;
    assert_memory_equal(&back, &inv, sizeof(inv));
    aj_invoice_release(&owned);
    assert_null(owned.versions);
    assert_null(owned.lines);
    aj_invoice_release(&owned);   /* twice is harmless */
    aj_invoice_release(NULL);

    avro_c_read(AJ_SCHEMA_INVOICE, &f->buf, &v);
    assert_str_field(&v, "invoice_id", "INV-ACC1-2026-10-r2");
    assert_str_field(&v, "status", "RELEASED");
    assert_str_field(&v, "status_reason", inv.status_reason);
    assert_int_field(&v, "revision", 2);
    assert_long_field(&v, "period_start", 1790812800000LL);
    assert_int_field(&v, "issue_date", 20758);
    assert_int_field(&v, "due_date", 20787);
    assert_int_field(&v, "currency_decimals", 2);
    a = field(&v, "lines");
    assert_int_equal(avro_value_get_size(&a, &n), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        const aj_invoice_line *l = &sample_lines[i];
        assert_int_equal(avro_value_get_by_index(&a, i, &item, NULL), 0);
        assert_str_field(&item, "line_id", l->line_id);
        assert_str_field(&item, "kind", aj_line_kind_name(l->kind));
        assert_str_field(&item, "service", l->service < AJ_SERVICE__COUNT ? aj_service_name(l->service) : "");
        assert_str_field(&item, "refers_to", l->refers_to);
        assert_long_field(&item, "legacy_amount", l->legacy_amount);
        assert_long_field(&item, "corrected_amount", l->corrected_amount);
        assert_long_field(&item, "billed_amount", l->billed_amount);
    }
    a = field(&v, "adjustments");
    assert_int_equal(avro_value_get_size(&a, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(avro_value_get_by_index(&a, 2, &item, NULL), 0);
    assert_str_field(&item, "line_id", "TAX/ICMS");
    assert_str_field(&item, "reason", "TAX_BASE");
    assert_str_field(&item, "disposition", "APPLY");
    assert_long_field(&item, "delta", -100000);
    assert_long_field(&v, "legacy_total", 38000000);
    assert_long_field(&v, "corrected_total", 37500000);
    assert_long_field(&v, "flagged_undercharge", 1000000);
    assert_long_field(&v, "tax_total", 7500000);
    assert_long_field(&v, "amount_due", 37500000);
    a = field(&v, "corrections_summary");
    assert_int_equal(avro_value_get_size(&a, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(avro_value_get_by_index(&a, 1, &item, NULL), 0);
    assert_str_field(&item, "reason", "RATE_MISMATCH");
    assert_long_field(&item, "delta", 1000000);
    assert_long_field(&item, "applied", 0);
    avro_value_decref(&v);

    /* An invoice without versions, lines or reasons: empty arrays both ways. */
    aj_invoice empty = sample_invoice();
    empty.versions = NULL;
    empty.lines = NULL;
    empty.adjustments = NULL;
    empty.n_versions = empty.n_lines = empty.n_adjustments = empty.n_reasons = 0;
    f->buf.len = 0;
    assert_int_equal(aj_encode_invoice(f->enc, &empty, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_invoice(aj_schema_current(AJ_SCHEMA_INVOICE), f->buf.data, f->buf.len, &back), AJ_E_OK);
    assert_int_equal(back.n_versions + back.n_lines + back.n_adjustments + back.n_reasons, 0);
    aj_invoice_release(&back);
}

static void test_dead_letter_round_trip(void **state) {
    fx *f = *state;
    char origin[64];
    avro_value_t v, k, branch;
    int disc;

    for (int with_key = 0; with_key <= 1; with_key++) {
        aj_dead_letter dl = sample_dead_letter(with_key), back;
        f->buf.len = 0;
        assert_int_equal(aj_encode_dead_letter(f->enc, &dl, &f->buf), AJ_E_OK);
        assert_int_equal(aj_decode_dead_letter(aj_schema_current(AJ_SCHEMA_DEAD_LETTER), f->buf.data, f->buf.len, &back,
                                               origin, sizeof(origin)),
                         AJ_E_OK);
        assert_string_equal(back.dead_letter_id, dl.dead_letter_id);
        assert_string_equal(back.dead_letter_id, "DLQ-cdr.usage-5-987654321");
        assert_string_equal(back.pos.origin, "cdr.usage");
        assert_int_equal(back.pos.partition, 5);
        assert_int_equal(back.pos.offset, 987654321);
        assert_int_equal(back.reason, AJ_E_NEGATIVE_QUANTITY);
        assert_string_equal(back.detail, dl.detail);
        assert_int_equal(back.payload_len, dl.payload_len);
        assert_memory_equal(back.payload, sample_payload, dl.payload_len);
        if (with_key) {
            assert_non_null(back.key);
            assert_int_equal(back.key_len, 5);
            assert_memory_equal(back.key, "ACC\x00" "9", 5);
        } else {
            assert_null(back.key);
            assert_int_equal(back.key_len, 0);
        }

        avro_c_read(AJ_SCHEMA_DEAD_LETTER, &f->buf, &v);
        assert_str_field(&v, "dead_letter_id", dl.dead_letter_id);
        assert_str_field(&v, "origin", "cdr.usage");
        assert_int_field(&v, "partition", 5);
        assert_long_field(&v, "offset", 987654321);
        assert_str_field(&v, "reason", "NEGATIVE_QUANTITY");
        assert_str_field(&v, "detail", "field quantity: -3");
        k = field(&v, "key");
        assert_int_equal(avro_value_get_discriminant(&k, &disc), 0);
        assert_int_equal(disc, with_key);   /* ["null","bytes"]: a missing key is null */
        assert_int_equal(avro_value_get_current_branch(&k, &branch), 0);
        if (with_key) assert_bytes_field(&branch, "ACC\x00" "9", 5);
        k = field(&v, "payload");
        assert_bytes_field(&k, sample_payload, sizeof(sample_payload) - 1);
        avro_value_decref(&v);
    }
}

/* ------------------------------------------------------------------ hostile bytes */

typedef aj_err (*decode_fn)(const void *datum, size_t len);

static char scratch_origin[512];

static aj_err dec_correction(const void *d, size_t len) {
    aj_correction c;
    return aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), d, len, &c, scratch_origin,
                                sizeof(scratch_origin));
}

static aj_err dec_invoice(const void *d, size_t len) {
    aj_invoice inv;
    aj_err rc = aj_decode_invoice(aj_schema_current(AJ_SCHEMA_INVOICE), d, len, &inv);
    if (rc == AJ_E_OK) aj_invoice_release(&inv);
    return rc;
}

static aj_err dec_dead_letter(const void *d, size_t len) {
    aj_dead_letter dl;
    return aj_decode_dead_letter(aj_schema_current(AJ_SCHEMA_DEAD_LETTER), d, len, &dl, scratch_origin,
                                 sizeof(scratch_origin));
}

/* Every prefix is refused; one more byte is TRAILING_BYTES; random corruptions never crash
 * (each decode gets a heap copy of exactly len bytes, so ASan sees any read past it). */
static void hostile(const aj_bytes *good, decode_fn dec) {
    uint8_t *copy;
    uint64_t seed = 42;
    int refused = 0;

    assert_int_equal(dec(good->data, good->len), AJ_E_OK);
    for (size_t len = 0; len < good->len; len++) {
        copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, good->data, len);
        aj_err rc = dec(copy, len);
        if (rc == AJ_E_OK) fail_msg("a datum cut to %zu of %zu bytes was accepted", len, good->len);
        free(copy);
    }
    copy = malloc(good->len + 1);
    assert_non_null(copy);
    memcpy(copy, good->data, good->len);
    copy[good->len] = 0;
    assert_int_equal(dec(copy, good->len + 1), AJ_E_TRAILING_BYTES);
    free(copy);
    for (int round = 0; round < 3000; round++) {
        copy = malloc(good->len);
        assert_non_null(copy);
        memcpy(copy, good->data, good->len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            static const uint8_t nasty[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x03, 0x04};
            copy[(seed >> 33) % good->len] = (seed & 1) ? nasty[(seed >> 8) % 8] : (uint8_t)(seed >> 16);
        }
        if (dec(copy, good->len) != AJ_E_OK) refused++;
        free(copy);
    }
    assert_true(refused > 0);   /* the corruptions did reach the checks */
}

static void test_hostile_bytes_are_refused(void **state) {
    fx *f = *state;
    aj_correction c = sample_correction();
    aj_invoice inv = sample_invoice();
    aj_dead_letter dl = sample_dead_letter(1);

    f->buf.len = 0;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_OK);
    hostile(&f->buf, dec_correction);
    f->buf.len = 0;
    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_OK);
    hostile(&f->buf, dec_invoice);
    f->buf.len = 0;
    assert_int_equal(aj_encode_dead_letter(f->enc, &dl, &f->buf), AJ_E_OK);
    hostile(&f->buf, dec_dead_letter);
}

/* Specific corruptions give their reason; bytes of another schema are refused. */
static void test_corruptions_and_wrong_schema(void **state) {
    fx *f = *state;
    aj_dead_letter dl = sample_dead_letter(0), back;
    const aj_schema *dls = aj_schema_current(AJ_SCHEMA_DEAD_LETTER);
    char origin[64];
    aj_correction c = sample_correction(), cback;
    avro_value_t v, fv;

    f->buf.len = 0;
    assert_int_equal(aj_encode_dead_letter(f->enc, &dl, &f->buf), AJ_E_OK);
    /* Layout: ..., key branch, payload length (1 byte), payload. */
    size_t branch_at = f->buf.len - dl.payload_len - 2;
    assert_int_equal(f->buf.data[branch_at], 0);
    f->buf.data[branch_at] = 4;   /* zig-zag 2: no such branch in ["null","bytes"] */
    assert_int_equal(aj_decode_dead_letter(dls, f->buf.data, f->buf.len, &back, origin, sizeof(origin)), AJ_E_BAD_UNION);
    f->buf.data[branch_at] = 0;
    f->buf.data[0] = 1;   /* dead_letter_id length -1 */
    assert_int_equal(aj_decode_dead_letter(dls, f->buf.data, f->buf.len, &back, origin, sizeof(origin)), AJ_E_BAD_LENGTH);

    /* An origin longer than the caller's buffer is refused, not cut. */
    f->buf.len = 0;
    assert_int_equal(aj_encode_dead_letter(f->enc, &dl, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_dead_letter(dls, f->buf.data, f->buf.len, &back, origin, 4), AJ_E_FIELD_TOO_LONG);

    /* Bytes of one output decoded as another, or without a writer. */
    f->buf.len = 0;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_dead_letter(aj_schema_current(AJ_SCHEMA_CORRECTION), f->buf.data, f->buf.len, &back,
                                           origin, sizeof(origin)),
                     AJ_E_WRONG_SCHEMA);
    assert_int_equal(aj_decode_correction(NULL, f->buf.data, f->buf.len, &cback, origin, sizeof(origin)),
                     AJ_E_WRONG_SCHEMA);

    /* Well-formed Avro whose code strings ajuste does not know: written by avro-c. */
    static const char *const bad_codes[][2] = {{"reason", "NOT_A_REASON"}, {"service", "FAX"}, {"record_kind", "usage"}};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++) {
        avro_c_read(AJ_SCHEMA_CORRECTION, &f->buf, &v);
        assert_int_equal(avro_value_get_by_name(&v, bad_codes[i][0], &fv, NULL), 0);
        assert_int_equal(avro_value_set_string(&fv, bad_codes[i][1]), 0);
        aj_bytes other = {0};
        assert_int_equal(aj_avro_encode(&v, &other), AJ_E_OK);
        assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), other.data, other.len, &cback,
                                              origin, sizeof(origin)),
                         AJ_E_AVRO);
        aj_bytes_free(&other);
        avro_value_decref(&v);
    }
    /* A string longer than its field. */
    avro_c_read(AJ_SCHEMA_CORRECTION, &f->buf, &v);
    assert_int_equal(avro_value_get_by_name(&v, "account", &fv, NULL), 0);
    assert_int_equal(avro_value_set_string(&fv, "ACCOUNT-ID-FAR-LONGER-THAN-THIRTY-ONE-BYTES"), 0);
    aj_bytes other = {0};
    assert_int_equal(aj_avro_encode(&v, &other), AJ_E_OK);
    assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), other.data, other.len, &cback, origin,
                                          sizeof(origin)),
                     AJ_E_FIELD_TOO_LONG);
    aj_bytes_free(&other);
    avro_value_decref(&v);
}

/* Values outside the schema's domain are refused and leave the buffer as it was. */
/* A one-time charge's correction: record kind ONE_TIME, no service (written ""), and its
 * ONE_TIME and LATE_ONE_TIME invoice lines (kinds are strings: no new schema version). */
static void test_one_time_round_trip(void **state) {
    fx *f = *state;
    aj_correction c = sample_correction(), back;
    char origin[64];
    avro_value_t v;

    c.kind = AJ_KIND_ONE_TIME;
    c.service = AJ_SERVICE__COUNT;
    c.reason = AJ_REASON_OTC_PRICE_MISMATCH;
    memset(c.invoice_line, 0, sizeof(c.invoice_line));   /* the bytes past the NUL compare too */
    strcpy(c.invoice_line, "ONE_TIME/SIM_SWAP");
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), f->buf.data, f->buf.len, &back,
                                          origin, sizeof(origin)),
                     AJ_E_OK);
    assert_int_equal(back.kind, AJ_KIND_ONE_TIME);
    assert_int_equal(back.service, AJ_SERVICE__COUNT);
    assert_int_equal(back.reason, AJ_REASON_OTC_PRICE_MISMATCH);
    back.source.origin = c.source.origin;
    assert_memory_equal(&back, &c, sizeof(c));
    avro_c_read(AJ_SCHEMA_CORRECTION, &f->buf, &v);
    assert_str_field(&v, "record_kind", "ONE_TIME");
    assert_str_field(&v, "service", "");
    assert_str_field(&v, "reason", "OTC_PRICE_MISMATCH");
    assert_str_field(&v, "invoice_line", "ONE_TIME/SIM_SWAP");
    avro_value_decref(&v);
    /* Every OTC_ reason round-trips by name. */
    for (aj_reason r = AJ_REASON_OTC_NOT_IN_CONTRACT; r <= AJ_REASON_OTC_DUPLICATE; r++) {
        c.reason = r;
        f->buf.len = 0;
        assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_OK);
        assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), f->buf.data, f->buf.len, &back,
                                              origin, sizeof(origin)),
                         AJ_E_OK);
        assert_int_equal(back.reason, r);
    }
    /* Only a one-time charge has no service. */
    c.kind = AJ_KIND_USAGE;
    f->buf.len = 0;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_AVRO);
    assert_int_equal(f->buf.len, 0);

    /* the invoice lines */
    aj_invoice inv = sample_invoice(), ib;
    sample_lines[1] = sample_line(AJ_LINE_ONE_TIME, AJ_SERVICE__COUNT, "ONE_TIME/SIM_SWAP", "SIM_SWAP", 2, 3,
                                  75000000, 60000000, 60000000, 1);
    sample_lines[2] = sample_line(AJ_LINE_LATE_ONE_TIME, AJ_SERVICE__COUNT, "LATE_ONE_TIME/INV-ACC1-2026-09-r1", "", 1,
                                  1, 49900000, 49900000, 49900000, 0);
    strcpy(sample_lines[2].refers_to, "INV-ACC1-2026-09-r1");
    f->buf.len = 0;
    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_OK);
    assert_int_equal(aj_decode_invoice(aj_schema_current(AJ_SCHEMA_INVOICE), f->buf.data, f->buf.len, &ib), AJ_E_OK);
    assert_int_equal(ib.lines[1].kind, AJ_LINE_ONE_TIME);
    assert_int_equal(ib.lines[1].service, AJ_SERVICE__COUNT);
    assert_string_equal(ib.lines[1].line_id, "ONE_TIME/SIM_SWAP");
    assert_int_equal(ib.lines[1].quantity, 3);
    assert_int_equal(ib.lines[2].kind, AJ_LINE_LATE_ONE_TIME);
    assert_string_equal(ib.lines[2].refers_to, "INV-ACC1-2026-09-r1");
    assert_memory_equal(ib.lines, sample_lines, 4 * sizeof(*sample_lines));
    aj_invoice_release(&ib);
}

static void test_encoders_refuse_what_no_reader_accepts(void **state) {
    fx *f = *state;
    aj_correction c = sample_correction();
    aj_invoice inv = sample_invoice();
    aj_dead_letter dl = sample_dead_letter(1);

    assert_int_equal(aj_avro_put_raw(&f->buf, "keep", 4), AJ_E_OK);
    c.reason = AJ_REASON__COUNT;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_AVRO);
    c = sample_correction();
    c.service = (aj_service)-1;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_AVRO);
    sample_adjs[1].line = 4;   /* an adjustment of a line that is not there */
    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_AVRO);
    inv = sample_invoice();
    sample_lines[0].kind = AJ_LINE__COUNT;
    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_AVRO);
    inv = sample_invoice();
    inv.reasons[1].reason = AJ_REASON__COUNT;
    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_AVRO);
    inv = sample_invoice();
    inv.status = AJ_INV__COUNT;
    assert_int_equal(aj_encode_invoice(f->enc, &inv, &f->buf), AJ_E_AVRO);
    c = sample_correction();
    c.disposition = AJ_DISP__COUNT;
    assert_int_equal(aj_encode_correction(f->enc, &c, &f->buf), AJ_E_AVRO);
    dl.payload = NULL;
    assert_int_equal(aj_encode_dead_letter(f->enc, &dl, &f->buf), AJ_E_AVRO);
    assert_int_equal(f->buf.len, 4);
    assert_memory_equal(f->buf.data, "keep", 4);
}

/* ------------------------------------------------------------------ file sink */

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int exists(const char *dir, const char *name) {
    char p[768];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Emits 2 corrections (the second for account ACC2), 1 invoice, 2 dead letters. */
static void emit_some(aj_emitter *em) {
    aj_correction c = sample_correction();
    aj_invoice inv = sample_invoice();
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);
    strcpy(c.account, "ACC2");
    strcpy(c.correction_id, "COR-2");
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);
    assert_int_equal(aj_emit_invoice(em, &inv), AJ_E_OK);
    for (int k = 0; k <= 1; k++) {
        aj_dead_letter dl = sample_dead_letter(k);
        assert_int_equal(aj_emit_dead_letter(em, &dl), AJ_E_OK);
    }
    assert_int_equal(aj_emitter_count(em, AJ_OUT_CORRECTION), 2);
    assert_int_equal(aj_emitter_count(em, AJ_OUT_INVOICE), 1);
    assert_int_equal(aj_emitter_count(em, AJ_OUT_DEAD_LETTER), 2);
    assert_int_equal(aj_emitter_count(em, AJ_OUT__COUNT), 0);
}

/* The file's writer schema is schema. avro_file_reader_get_writer_schema returns a new
 * reference (avro-c 1.11.1), released here. */
static void assert_same_schema(avro_schema_t got, const aj_schema *schema) {
    assert_non_null(got);
    assert_true(avro_schema_equal(got, schema->schema));
    avro_schema_decref(got);
}

/* Reads dir/name with avro-c and decodes each datum with ajuste's decoder. */
static int read_corrections(const char *dir, aj_correction *out, int max) {
    char path[768], origin[64];
    avro_file_reader_t r;
    avro_value_t v;
    aj_bytes b = {0};
    int n = 0;
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CORRECTION);

    snprintf(path, sizeof(path), "%s/corrections.avro", dir);
    assert_int_equal(avro_file_reader(path, &r), 0);
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    while (avro_file_reader_read_value(r, &v) == 0) {
        assert_true(n < max);
        b.len = 0;
        assert_int_equal(aj_avro_encode(&v, &b), AJ_E_OK);
        assert_int_equal(aj_decode_correction(s, b.data, b.len, &out[n], origin, sizeof(origin)), AJ_E_OK);
        out[n].source.origin = NULL;
        n++;
        avro_value_reset(&v);
    }
    avro_value_decref(&v);
    avro_file_reader_close(r);
    aj_bytes_free(&b);
    return n;
}

static int count_file_values(const char *dir, const char *name, const aj_schema *s) {
    char path[768];
    avro_file_reader_t r;
    avro_value_t v;
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(avro_file_reader(path, &r), 0);
    assert_same_schema(avro_file_reader_get_writer_schema(r), s);
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    while (avro_file_reader_read_value(r, &v) == 0) {
        n++;
        avro_value_reset(&v);
    }
    avro_value_decref(&v);
    avro_file_reader_close(r);
    return n;
}

static void test_file_sink_close_renames(void **state) {
    char dir[512], err[512] = "";
    aj_err rc = AJ_E_FATAL;
    aj_correction back[4];
    (void)state;

    snprintf(dir, sizeof(dir), "%s/close/nested/out", tmpdir);   /* created with its parents */
    aj_sink *sink = aj_file_sink_open(dir, &rc, err, sizeof(err));
    assert_non_null(sink);
    assert_int_equal(rc, AJ_E_OK);
    aj_emitter *em = aj_emitter_create(sink);
    assert_non_null(em);
    emit_some(em);
    assert_int_equal(sink->ops->flush(sink, 1000), AJ_E_OK);
    /* Before close only .partial files exist: nothing claims to be complete. */
    assert_int_equal(count_entries(dir), AJ_OUT__COUNT);
    assert_true(exists(dir, "corrections.avro.partial"));
    assert_true(exists(dir, "invoices.avro.partial"));
    assert_true(exists(dir, "dead_letters.avro.partial"));
    assert_int_equal(sink->ops->close(sink), AJ_E_OK);
    aj_emitter_destroy(em);
    aj_emitter_destroy(NULL);

    assert_int_equal(count_entries(dir), AJ_OUT__COUNT);
    assert_true(exists(dir, "corrections.avro"));
    assert_true(exists(dir, "invoices.avro"));
    assert_true(exists(dir, "dead_letters.avro"));
    assert_int_equal(read_corrections(dir, back, 4), 2);
    assert_string_equal(back[0].correction_id, sample_correction().correction_id);
    assert_string_equal(back[1].account, "ACC2");
    assert_int_equal(back[1].delta, -38500);
    assert_int_equal(count_file_values(dir, "invoices.avro", aj_schema_current(AJ_SCHEMA_INVOICE)), 1);
    assert_int_equal(count_file_values(dir, "dead_letters.avro", aj_schema_current(AJ_SCHEMA_DEAD_LETTER)), 2);

    /* ajuste's own file source recognizes the outputs too. */
    char path[768];
    aj_message msg;
    snprintf(path, sizeof(path), "%s/dead_letters.avro", dir);
    aj_source *src = aj_file_source_open(path, &rc, err, sizeof(err));
    assert_non_null(src);
    int n = 0;
    while ((rc = aj_source_next(src, &msg, 0)) == AJ_E_OK) {
        aj_dead_letter dl;
        char origin[64];
        assert_ptr_equal(msg.writer, aj_schema_current(AJ_SCHEMA_DEAD_LETTER));
        assert_int_equal(aj_decode_dead_letter(msg.writer, msg.value, msg.value_len, &dl, origin, sizeof(origin)), AJ_E_OK);
        assert_int_equal(dl.key != NULL, n);   /* the first was written without a key */
        n++;
    }
    assert_int_equal(rc, AJ_E_EOF);
    assert_int_equal(n, 2);
    aj_source_destroy(src);
}

static void test_file_sink_abort_leaves_nothing(void **state) {
    char dir[512], err[512] = "";
    aj_err rc = AJ_E_FATAL;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/abort", tmpdir);
    aj_sink *sink = aj_file_sink_open(dir, &rc, err, sizeof(err));
    assert_non_null(sink);
    aj_emitter *em = aj_emitter_create(sink);
    emit_some(em);
    aj_emitter_destroy(em);
    assert_int_equal(count_entries(dir), AJ_OUT__COUNT);
    sink->ops->abort(sink);
    assert_int_equal(count_entries(dir), 0);
}

/* A write that fails (file size limit) makes close fail and leaves no output behind. */
static void test_file_sink_failure_leaves_nothing(void **state) {
    char dir[512], err[512] = "";
    aj_err rc = AJ_E_FATAL, wrc = AJ_E_OK;
    struct rlimit old, lim;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/fail", tmpdir);
    aj_sink *sink = aj_file_sink_open(dir, &rc, err, sizeof(err));
    assert_non_null(sink);
    aj_emitter *em = aj_emitter_create(sink);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    aj_correction c = sample_correction();
    uint64_t seed = 1;
    for (int i = 0; i < 5000 && wrc == AJ_E_OK; i++) {
        /* Varying text, so deflate cannot shrink the run below the limit. */
        for (size_t k = 0; k < 120; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            c.hypothesis[k] = (char)(' ' + (seed >> 33) % 95);
        }
        c.hypothesis[120] = '\0';
        wrc = aj_emit_correction(em, &c);
    }
    rc = sink->ops->close(sink);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_not_equal(rc, AJ_E_OK);
    assert_true(aj_emitter_count(em, AJ_OUT_CORRECTION) < 5000);   /* the failed write is not counted */
    aj_emitter_destroy(em);
    assert_int_equal(count_entries(dir), 0);

    /* A directory that cannot be created (a file is in the way) is an error naming it. */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/a-file", tmpdir);
    FILE *in_the_way = fopen(bad, "w");
    assert_non_null(in_the_way);
    fclose(in_the_way);
    snprintf(bad, sizeof(bad), "%s/a-file/out", tmpdir);
    rc = AJ_E_OK;
    assert_null(aj_file_sink_open(bad, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_IO);
    assert_non_null(strstr(err, bad));
}

/* ------------------------------------------------------------------ Kafka sink */

static void cfg_kafka(aj_config *cfg, const char *prop, const char *value) {
    char key[256], err[256];
    snprintf(key, sizeof(key), "kafka.%s", prop);
    assert_int_equal(aj_config_set(cfg, key, value, err, sizeof(err)), AJ_E_OK);
}

static void test_kafka_sink_config_errors(void **state) {
    aj_config cfg;
    aj_err rc = AJ_E_OK;
    char err[512] = "";
    (void)state;

    assert_int_equal(aj_config_init(&cfg), AJ_E_OK);
    cfg_kafka(&cfg, "group.id", "consumers-only");   /* skipped, not refused */
    cfg_kafka(&cfg, "no.such.property", "1");
    assert_null(aj_kafka_sink_create(&cfg, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_CONFIG);
    assert_non_null(strstr(err, "kafka.no.such.property"));
    aj_config_free(&cfg);

    assert_int_equal(aj_config_init(&cfg), AJ_E_OK);
    cfg_kafka(&cfg, "transactional.id", "x");
    rc = AJ_E_OK;
    assert_null(aj_kafka_sink_create(&cfg, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_CONFIG);
    assert_non_null(strstr(err, "kafka.transactional.id"));
    aj_config_free(&cfg);
}

typedef struct got {
    int n;
    int bad;
    char keys[8][32];
} got;

static aj_err on_message(void *opaque, const aj_message *m) {
    got *g = opaque;
    uint64_t fp;
    aj_correction c;
    char origin[64];
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CORRECTION);
    if (g->n >= 8 || aj_som_parse(m->value, m->value_len, &fp) != AJ_E_OK || fp != s->fingerprint ||
        aj_decode_correction(s, (const uint8_t *)m->value + AJ_SOM_HEADER_LEN, m->value_len - AJ_SOM_HEADER_LEN, &c,
                             origin, sizeof(origin)) != AJ_E_OK ||
        !m->key || m->key_len != strlen(c.account) || memcmp(m->key, c.account, m->key_len) != 0) {
        g->bad++;
        return AJ_E_OK;
    }
    snprintf(g->keys[g->n++], sizeof(g->keys[0]), "%s", c.account);
    return AJ_E_OK;
}

/* Through librdkafka's mock cluster: values are header + datum, keyed by account; the topic
 * is read back by ajuste's reader. */
static void test_kafka_sink_delivers(void **state) {
    char errstr[512], err[512] = "";
    aj_config cfg;
    aj_err rc = AJ_E_FATAL;
    got g;
    (void)state;

    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, errstr, sizeof(errstr));
    assert_non_null(mrk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    assert_non_null(mc);
    assert_int_equal(aj_config_init(&cfg), AJ_E_OK);
    assert_int_equal(rd_kafka_mock_topic_create(mc, cfg.correction_topic, 2, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    cfg_kafka(&cfg, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc));
    cfg_kafka(&cfg, "enable.auto.commit", "false");   /* a consumer property: skipped */

    aj_sink *sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    assert_non_null(sink);
    assert_int_equal(rc, AJ_E_OK);
    aj_emitter *em = aj_emitter_create(sink);
    aj_correction c = sample_correction();
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);
    strcpy(c.account, "ACC2");
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);
    assert_int_equal(sink->ops->flush(sink, 10000), AJ_E_OK);
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);
    assert_int_equal(sink->ops->close(sink), AJ_E_OK);
    assert_int_equal(aj_emitter_count(em, AJ_OUT_CORRECTION), 3);
    aj_emitter_destroy(em);

    memset(&g, 0, sizeof(g));
    int64_t count = 0;
    assert_int_equal(aj_kafka_read_topic(&cfg, cfg.correction_topic, 10000, on_message, &g, &count, err, sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(count, 3);
    assert_int_equal(g.bad, 0);
    assert_int_equal(g.n, 3);
    int acc1 = 0, acc2 = 0;
    for (int i = 0; i < g.n; i++) {
        acc1 += strcmp(g.keys[i], "ACC1") == 0;
        acc2 += strcmp(g.keys[i], "ACC2") == 0;
    }
    assert_int_equal(acc1, 1);
    assert_int_equal(acc2, 2);
    aj_config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

/* Undeliverable outputs make flush fatal, and the sink stays fatal. */
static void test_kafka_sink_failure_is_fatal(void **state) {
    char err[512] = "";
    aj_config cfg;
    aj_err rc = AJ_E_FATAL;
    (void)state;

    assert_int_equal(aj_config_init(&cfg), AJ_E_OK);
    cfg_kafka(&cfg, "bootstrap.servers", "127.0.0.1:1");   /* nothing listens there */
    cfg_kafka(&cfg, "message.timeout.ms", "300");
    aj_sink *sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    assert_non_null(sink);
    aj_emitter *em = aj_emitter_create(sink);
    aj_correction c = sample_correction();
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);   /* queued */
    assert_int_equal(sink->ops->flush(sink, 5000), AJ_E_FATAL);
    assert_int_equal(aj_emit_correction(em, &c), AJ_E_FATAL);
    assert_int_equal(sink->ops->flush(sink, 100), AJ_E_FATAL);
    assert_int_equal(aj_emitter_count(em, AJ_OUT_CORRECTION), 1);
    assert_int_equal(sink->ops->close(sink), AJ_E_FATAL);
    aj_emitter_destroy(em);

    /* abort of a sink with queued outputs returns promptly and frees everything. */
    sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    assert_non_null(sink);
    em = aj_emitter_create(sink);
    for (int i = 0; i < 100; i++) assert_int_equal(aj_emit_correction(em, &c), AJ_E_OK);
    sink->ops->abort(sink);
    aj_emitter_destroy(em);
    aj_config_free(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_correction_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invoice_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_bytes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruptions_and_wrong_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_time_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encoders_refuse_what_no_reader_accepts, setup, teardown),
        cmocka_unit_test(test_file_sink_close_renames),
        cmocka_unit_test(test_file_sink_abort_leaves_nothing),
        cmocka_unit_test(test_file_sink_failure_leaves_nothing),
        cmocka_unit_test(test_kafka_sink_config_errors),
        cmocka_unit_test(test_kafka_sink_delivers),
        cmocka_unit_test(test_kafka_sink_failure_is_fatal),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
