/* test_audit.c - SHA-256 against the FIPS 180-2 vectors, the canonical form of a row, the hash
 * chain, a correction's row values and rule_trace JSON, an invoice header's row values
 * (tests/integration/test_audit_sink.sh
 * recomputes the same hashes in SQL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_audit.h"
#include "aj_sha256.h"

static void hex(const uint8_t *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

static void assert_digest(const uint8_t d[AJ_SHA256_LEN], const char *want) {
    char got[2 * AJ_SHA256_LEN + 1];
    hex(d, AJ_SHA256_LEN, got);
    assert_string_equal(got, want);
}

static void sha256_vectors(void) {
    uint8_t d[AJ_SHA256_LEN];
    aj_sha256_digest("abc", 3, d);
    assert_digest(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    aj_sha256_digest(m448, strlen(m448), d);
    assert_digest(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    aj_sha256_digest("", 0, d);
    assert_digest(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* a million 'a', fed in uneven pieces to exercise the block buffer */
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    aj_sha256 s;
    aj_sha256_init(&s);
    size_t left = 1000000;
    for (size_t piece = 1; left; piece = piece % (sizeof(chunk) - 7) + 7) {
        size_t n = piece < left ? piece : left;
        aj_sha256_update(&s, chunk, n);
        left -= n;
    }
    aj_sha256_final(&s, d);
    assert_digest(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The vectors through the portable code and, where the CPU has them, the SHA extensions; and
 * both agree on every length from 0 to 600 bytes (1 to 11 blocks, every padding case). */
static void test_sha256_vectors(void **state) {
    (void)state;
    assert_int_equal(aj_sha256_hw(0), 0);
    sha256_vectors();
    int hw = aj_sha256_hw(1);
    print_message("SHA-256: SHA-NI %s\n", hw ? "present, tested" : "absent, portable code only");
    sha256_vectors();
    uint8_t buf[600], a[AJ_SHA256_LEN], b[AJ_SHA256_LEN];
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof(buf); len++) {
        aj_sha256_hw(0);
        aj_sha256_digest(buf, len, a);
        aj_sha256_hw(1);
        aj_sha256_digest(buf, len, b);
        assert_memory_equal(a, b, AJ_SHA256_LEN);
    }
}

static void test_canonical(void **state) {
    (void)state;
    aj_bytes b = {0};
    const char *vals[] = {"ab", "", "-300000"};
    assert_int_equal(aj_audit_canonical(&b, "t", vals, 3), AJ_E_OK);
    static const uint8_t want[] = {0, 0, 0, 1, 't', 0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0,
                                   0, 0, 0, 7, '-', '3', '0', '0', '0', '0', '0'};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    /* a NULL value is refused */
    const char *bad[] = {"x", NULL};
    b.len = 0;
    assert_int_equal(aj_audit_canonical(&b, "t", bad, 2), AJ_E_ARG);
    /* length prefixes keep field boundaries: ("ab","c") and ("a","bc") differ */
    aj_bytes b1 = {0}, b2 = {0};
    const char *v1[] = {"ab", "c"}, *v2[] = {"a", "bc"};
    aj_audit_canonical(&b1, "t", v1, 2);
    aj_audit_canonical(&b2, "t", v2, 2);
    assert_int_equal(b1.len, b2.len);
    assert_true(memcmp(b1.data, b2.data, b1.len) != 0);
    aj_bytes_free(&b);
    aj_bytes_free(&b1);
    aj_bytes_free(&b2);
}

static void test_chain(void **state) {
    (void)state;
    uint8_t zero[AJ_AUDIT_HASH_LEN] = {0}, h1[AJ_AUDIT_HASH_LEN], h2[AJ_AUDIT_HASH_LEN], want[AJ_AUDIT_HASH_LEN];
    /* row_hash = SHA-256(prev_hash || canonical) */
    uint8_t buf[AJ_AUDIT_HASH_LEN + 3];
    memset(buf, 0, AJ_AUDIT_HASH_LEN);
    memcpy(buf + AJ_AUDIT_HASH_LEN, "xyz", 3);
    aj_sha256_digest(buf, sizeof(buf), want);
    aj_audit_row_hash(zero, "xyz", 3, h1);
    assert_memory_equal(h1, want, AJ_AUDIT_HASH_LEN);
    aj_audit_row_hash(h1, "xyz", 3, h2);
    assert_true(memcmp(h1, h2, AJ_AUDIT_HASH_LEN) != 0);   /* same content, different place */
}

static void fill_correction(aj_correction *c) {
    memset(c, 0, sizeof(*c));
    strcpy(c->correction_id, "COR-r1");
    strcpy(c->account, "ACC-1");
    strcpy(c->cycle_id, "2026-10");
    strcpy(c->record_id, "r1");
    c->kind = AJ_KIND_USAGE;
    c->service = 0;
    c->reason = 0;
    strcpy(c->hypothesis, "a \"quoted\"\\ hypothesis\n");
    c->legacy_amount = 1000000;
    c->corrected_amount = 700000;
    c->delta = -300000;
    strcpy(c->currency, "EUR");
    strcpy(c->contract_id, "K1");
    c->contract_version = 3;
    strcpy(c->tariff_code, "T9");
    strcpy(c->trace.zone, "EU\"1");
    c->trace.quantity = 9223372036854775807LL;
    c->trace.price = -5;
    c->trace.tiers = 2;
    c->source.origin = "usage";
    c->source.partition = 4;
    c->source.offset = 77;
    c->disposition = AJ_DISP_FLAG;
    strcpy(c->invoice_id, "INV-1");
    strcpy(c->invoice_line, "L1");
    c->late = true;
}

static void test_correction_values(void **state) {
    (void)state;
    aj_correction c;
    aj_audit_values v;
    fill_correction(&c);
    assert_int_equal(aj_audit_correction_values(&c, "1.2.3", "corrections:0", 12, &v), AJ_E_OK);
    assert_string_equal(v.v[0], "COR-r1");
    assert_string_equal(v.v[4], "USAGE");
    assert_string_equal(v.v[8], "1000000");
    assert_string_equal(v.v[10], "-300000");
    assert_string_equal(v.v[15], "21");
    assert_string_equal(v.v[AJ_AUDIT_TRACE_FIRST], "EU\"1");
    assert_string_equal(v.v[AJ_AUDIT_TRACE_FIRST + 2], "9223372036854775807");
    assert_string_equal(v.v[37], "FLAG");
    assert_string_equal(v.v[40], "true");
    assert_string_equal(v.v[41], "usage");
    assert_string_equal(v.v[42], "4");
    assert_string_equal(v.v[43], "77");
    assert_string_equal(v.v[44], "1.2.3");
    assert_string_equal(v.v[45], "corrections:0");
    assert_string_equal(v.v[46], "12");
    for (int i = 0; i < AJ_AUDIT_CORRECTION_NFIELDS; i++) assert_non_null(v.v[i]);
    /* the SQL list and the trace keys agree */
    for (int k = 0; k < AJ_AUDIT_TRACE_NKEYS; k++) {
        char want[64];
        snprintf(want, sizeof(want), "rule_trace->>'%s'", aj_audit_trace_keys[k]);
        assert_string_equal(aj_audit_correction_sql[AJ_AUDIT_TRACE_FIRST + k], want);
    }
    aj_bytes j = {0};
    assert_int_equal(aj_audit_trace_json(&j, &v), AJ_E_OK);
    assert_int_equal(aj_bytes_reserve(&j, 1), AJ_E_OK);
    j.data[j.len] = 0;
    /* the keys in jsonb's order (shorter first, then bytewise), each once */
    assert_non_null(strstr((char *)j.data, "{\"band\":"));
    assert_non_null(strstr((char *)j.data, ",\"zone\":\"EU\\\"1\",\"bands\":"));
    assert_non_null(strstr((char *)j.data, "\"quantity\":9223372036854775807,"));
    assert_non_null(strstr((char *)j.data, ",\"matched_prefix\":\"\","));
    {
        unsigned seen = 0;
        const char *prev = NULL, *last = NULL;
        for (int i = 0; i < AJ_AUDIT_TRACE_NKEYS; i++) {
            int k = aj_audit_trace_jsonb_order[i];
            const char *key = aj_audit_trace_keys[k];
            char quoted[64];
            assert_true(k < AJ_AUDIT_TRACE_NKEYS && !(seen & 1u << k));
            seen |= 1u << k;
            if (prev)
                assert_true(strlen(prev) < strlen(key) || (strlen(prev) == strlen(key) && strcmp(prev, key) < 0));
            prev = key;
            snprintf(quoted, sizeof(quoted), "%c\"%s\":", i ? ',' : '{', key);
            const char *at = strstr((char *)j.data, quoted);
            assert_non_null(at);
            assert_true(!last || at > last);   /* in that order in the text */
            last = at;
        }
    }
    assert_non_null(strstr((char *)j.data, "\"price\":-5,"));
    assert_non_null(strstr((char *)j.data, "\"tier\":2,"));
    assert_non_null(strstr((char *)j.data, "\"clamp\":\"NONE\""));
    aj_bytes_free(&j);
    c.disposition = AJ_DISP__COUNT;
    assert_int_equal(aj_audit_correction_values(&c, "1.2.3", "corrections:0", 12, &v), AJ_E_ARG);
}

/* An invoice header: timestamps in UTC with milliseconds (before 1970 too), dates, the
 * versions as PostgreSQL prints an integer[], the counts; dates beyond year 9999 refused. */
static void test_invoice_values(void **state) {
    (void)state;
    static const int32_t versions[] = {3, 12};
    aj_audit_header h;
    aj_audit_values v;
    aj_bytes text = {0};
    memset(&h, 0, sizeof(h));
    snprintf(h.inv.invoice_id, sizeof(h.inv.invoice_id), "INV-ACC1-2026-10-r1");
    snprintf(h.inv.account, sizeof(h.inv.account), "ACC1");
    snprintf(h.inv.cycle_id, sizeof(h.inv.cycle_id), "2026-10");
    snprintf(h.inv.currency, sizeof(h.inv.currency), "BRL");
    snprintf(h.inv.contract_id, sizeof(h.inv.contract_id), "CT-1");
    h.inv.revision = 1;
    h.inv.status = AJ_INV_HELD;
    h.inv.period_start_ms = 1790812800000;   /* 2026-10-01T00:00:00Z */
    h.inv.period_end_ms = -1;                /* 1969-12-31T23:59:59.999Z */
    h.inv.issue_date = 20757;                /* 2026-10-31 */
    h.inv.due_date = -719162;                /* 0001-01-01 */
    h.inv.decimals = 2;
    h.inv.versions = versions;
    h.inv.n_versions = 2;
    h.inv.amount_due = INT64_MIN;
    h.line_count = 7;
    h.correction_count = 42;
    assert_int_equal(aj_audit_invoice_values(&h, "0.6.0", "inv:1", 9, &v, &text), AJ_E_OK);
    assert_string_equal(v.v[0], "INV-ACC1-2026-10-r1");
    assert_string_equal(v.v[1], "HELD");
    assert_string_equal(v.v[4], "1");
    assert_string_equal(v.v[6], "2026-10-01T00:00:00.000Z");
    assert_string_equal(v.v[7], "1969-12-31T23:59:59.999Z");
    assert_string_equal(v.v[8], "2026-10-31");
    assert_string_equal(v.v[9], "0001-01-01");
    assert_string_equal(v.v[11], "2");
    assert_string_equal(v.v[13], "{3,12}");
    assert_string_equal(v.v[14], "7");
    assert_string_equal(v.v[15], "42");
    assert_string_equal(v.v[25], "-9223372036854775808");
    assert_string_equal(v.v[26], "0.6.0");
    assert_string_equal(v.v[27], "inv:1");
    assert_string_equal(v.v[28], "9");
    for (int i = 0; i < AJ_AUDIT_INVOICE_NFIELDS; i++) assert_non_null(v.v[i]);
    h.inv.n_versions = 0;
    assert_int_equal(aj_audit_invoice_values(&h, "0.6.0", "inv:1", 9, &v, &text), AJ_E_OK);
    assert_string_equal(v.v[13], "{}");
    h.inv.due_date = 2932897;                /* 10000-01-01 */
    assert_int_equal(aj_audit_invoice_values(&h, "0.6.0", "inv:1", 9, &v, &text), AJ_E_ARG);
    h.inv.due_date = 0;
    h.inv.period_start_ms = -62135596800001; /* 0000-12-31T23:59:59.999Z */
    assert_int_equal(aj_audit_invoice_values(&h, "0.6.0", "inv:1", 9, &v, &text), AJ_E_ARG);
    h.inv.period_start_ms = 0;
    h.inv.status = AJ_INV__COUNT;
    assert_int_equal(aj_audit_invoice_values(&h, "0.6.0", "inv:1", 9, &v, &text), AJ_E_ARG);
    aj_bytes_free(&text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_correction_values),
        cmocka_unit_test(test_invoice_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
