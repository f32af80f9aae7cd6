/* test_rating.c - the rating engine: zones, increments, charges, contract versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "aj_fixtures.h"
#include "aj_rating.h"

#define T0 1000000LL
#define T1 2000000LL

static int setup(void **state) {
    char detail[256];
    aj_contract_store *s = aj_contract_store_create();
    if (aj_contract_store_put(s, fx_contract(1, 0, T1, 120000), detail, sizeof(detail)) != AJ_E_OK) return -1;
    if (aj_contract_store_put(s, fx_contract(2, T1, INT64_MAX, 100000), detail, sizeof(detail)) != AJ_E_OK) return -1;
    *state = s;
    return 0;
}

static int teardown(void **state) {
    aj_contract_store_destroy(*state);
    return 0;
}

static void test_billed_increments(void **state) {
    int64_t b;
    (void)state;
    struct { int64_t q, first, next, want; } cases[] = {
        {0, 30, 6, 0}, {1, 30, 6, 30}, {30, 30, 6, 30}, {31, 30, 6, 36}, {36, 30, 6, 36}, {37, 30, 6, 42},
        {61, 60, 60, 120}, {60, 60, 60, 60}, {1, 1, 1, 1}, {1025, 1024, 1024, 2048},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(aj_rating_billed(cases[i].q, cases[i].first, cases[i].next, &b), AJ_E_OK);
        assert_int_equal(b, cases[i].want);
    }
    assert_int_equal(aj_rating_billed(INT64_MAX, 1, INT64_MAX / 2 + 1, &b), AJ_E_OVERFLOW);
}

static void test_longest_prefix_and_normalization(void **state) {
    const aj_plan *p = aj_contract_store_find(*state, "ACC1", T0);
    char prefix[AJ_NUMBER_LEN + 1];
    struct { const char *dest; const char *zone; const char *prefix; } cases[] = {
        {"+5511912345678", "MOBILE", "55119"},   /* longest wins over 5511 and 55 */
        {"005511312345678", "LOCAL", "5511"},    /* 00 is the international prefix */
        {"+55 11 3123-4567", "LOCAL", "5511"},   /* spaces and dashes */
        {"552133334444", "NATIONAL", "55"},
        {"+44 20 7946 0000", "INTL", "44"},
        {"+81312345678", "OTHER", ""},           /* no prefix: default zone */
        {"anonymous", "OTHER", ""},              /* not a number: default zone */
    };
    assert_non_null(p);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t z = aj_plan_zone_of(p, AJ_SERVICE_VOICE, cases[i].dest, prefix);
        assert_string_equal(aj_plan_zone_name(p, z), cases[i].zone);
        assert_string_equal(prefix, cases[i].prefix);
    }
    /* DATA has no destination: always the default zone. */
    assert_string_equal(aj_plan_zone_name(p, aj_plan_zone_of(p, AJ_SERVICE_DATA, "+5511912345678", prefix)), "OTHER");
}

static void test_usage_charges(void **state) {
    const aj_plan *p = aj_contract_store_find(*state, "ACC1", T0);
    aj_charge c;
    aj_usage u;

    /* 37 s national: 42 s billed at 0.12/min = 0.084, + fee 0.01 = 0.094 */
    u = fx_usage("r1", AJ_SERVICE_VOICE, "+552133334444", 37, 0, T0);
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 94000);
    assert_int_equal(c.trace.billed_quantity, 42);
    assert_string_equal(c.trace.zone, "NATIONAL");
    assert_string_equal(c.trace.matched_prefix, "55");
    /* 0 s: unanswered, nothing charged, no fee */
    u.quantity = 0;
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 0);
    /* 1 s local at 0.09/min: first increment 30 s = 0.045 */
    u = fx_usage("r2", AJ_SERVICE_VOICE, "+551131234567", 1, 0, T0);
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 45000);
    /* 61 s intl, 60/60 at 0.60/min = 1.20 */
    u = fx_usage("r3", AJ_SERVICE_VOICE, "+12125550100", 61, 0, T0);
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 1200000);
    /* 3 SMS local */
    u = fx_usage("r4", AJ_SERVICE_SMS, "+551131234567", 3, 0, T0);
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 150000);
    /* 1 byte of data: 1024 bytes billed at 0.50/MiB = 0.00048828125 -> 488 micro (HALF_UP of 488.28) */
    u = fx_usage("r5", AJ_SERVICE_DATA, "internet", 1, 0, T0);
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 488);
    /* 3 KiB: 0.50 * 3072/1048576 = 1464.84375 micro -> 1465 */
    u.quantity = 3072;
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_OK);
    assert_int_equal(c.amount, 1465);
    /* SMS to a zone without an SMS rate */
    u = fx_usage("r6", AJ_SERVICE_SMS, "+12125550100", 1, 0, T0);
    assert_int_equal(aj_rating_rate_usage(p, &u, &c), AJ_E_NO_RATE);
    assert_string_equal(c.trace.zone, "INTL");
}

static void test_half_up_tie_in_a_charge(void **state) {
    aj_rate r = {AJ_SERVICE_VOICE, "Z", 0, 100001, 2, 1, 1};   /* 1.00001 micro per 2 units... */
    aj_charge c;
    (void)state;
    /* 1 unit * 100001 / 2 = 50000.5 -> 50001 (HALF_UP) */
    assert_int_equal(aj_rating_price(&r, 1, &c), AJ_E_OK);
    assert_int_equal(c.amount, 50001);
    /* 3 units -> 150001.5 -> 150002 */
    assert_int_equal(aj_rating_price(&r, 3, &c), AJ_E_OK);
    assert_int_equal(c.amount, 150002);
}

static void test_versions_in_force(void **state) {
    aj_contract_store *s = *state;
    const aj_plan *v1 = aj_contract_store_find(s, "ACC1", T1 - 1);
    const aj_plan *v2 = aj_contract_store_find(s, "ACC1", T1);
    assert_int_equal(aj_plan_contract(v1)->version, 1);
    assert_int_equal(aj_plan_contract(v2)->version, 2);
    assert_ptr_equal(aj_contract_store_previous(s, v2), v1);
    assert_null(aj_contract_store_previous(s, v1));
    assert_null(aj_contract_store_find(s, "ACC1", -1));
    assert_null(aj_contract_store_find(s, "NOBODY", T0));
    assert_int_equal(aj_contract_store_versions(s), 2);
    assert_int_equal(aj_contract_store_accounts(s), 1);
    /* The same version again replaces it. */
    char detail[256];
    assert_int_equal(aj_contract_store_put(s, fx_contract(2, T1, INT64_MAX, 90000), detail, sizeof(detail)), AJ_E_OK);
    assert_int_equal(aj_contract_store_versions(s), 2);
    v2 = aj_contract_store_find(s, "ACC1", T1);
    assert_int_equal(aj_plan_rate(v2, AJ_SERVICE_VOICE, 2)->price, 90000);
    /* A later version overlapping wins where both are in force. */
    assert_int_equal(aj_contract_store_put(s, fx_contract(3, T0, INT64_MAX, 80000), detail, sizeof(detail)), AJ_E_OK);
    assert_int_equal(aj_plan_contract(aj_contract_store_find(s, "ACC1", T0))->version, 3);
}

static void test_bad_contracts(void **state) {
    aj_contract_store *s = *state;
    char detail[256];
    aj_contract *c = fx_contract(9, 0, INT64_MAX, 1);
    free(c->rates[0].zone);
    c->rates[0].zone = fx_dup("NOWHERE");
    assert_int_equal(aj_contract_store_put(s, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    assert_non_null(strstr(detail, "NOWHERE"));
    c = fx_contract(9, 0, INT64_MAX, 1);
    c->rates[1].rate_unit = 0;
    assert_int_equal(aj_contract_store_put(s, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    c = fx_contract(9, 5, 5, 1);
    assert_int_equal(aj_contract_store_put(s, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    c = fx_contract(9, 0, INT64_MAX, 1);
    free(c->zones[3].prefixes[0]);
    c->zones[3].prefixes[0] = fx_dup("55");   /* already NATIONAL's */
    assert_int_equal(aj_contract_store_put(s, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    assert_non_null(strstr(detail, "prefix 55"));
    assert_int_equal(aj_contract_store_versions(s), 2);
}

static void test_recurring(void **state) {
    const aj_plan *p = aj_contract_store_find(*state, "ACC1", T0);
    aj_recurring r;
    aj_charge c;
    const aj_line *line;
    memset(&r, 0, sizeof(r));
    memcpy(r.line_id, "ACC1-L0", 8);
    r.service = AJ_SERVICE_VOICE;
    assert_int_equal(aj_rating_rate_recurring(p, &r, &c, &line), AJ_E_OK);
    assert_int_equal(c.amount, 49900000);
    assert_non_null(line);
    memcpy(r.line_id, "ACC1-L7", 8);
    assert_int_equal(aj_rating_rate_recurring(p, &r, &c, &line), AJ_E_NOT_FOUND);
    assert_int_equal(c.amount, 0);
    assert_null(line);
}

static void test_large_prefix_table(void **state) {
    /* 100k prefixes compile and resolve; timing is a benchmark's job, correctness is here. */
    aj_contract *c = fx_contract(1, 0, INT64_MAX, 1);
    aj_contract_store *s = aj_contract_store_create();
    char detail[256], prefix[AJ_NUMBER_LEN + 1], num[32];
    (void)state;
    aj_zone *z = &c->zones[3];
    free(z->prefixes[0]);
    free(z->prefixes[1]);
    free(z->prefixes);
    z->prefixes = calloc(100000, sizeof(char *));
    z->n_prefixes = 100000;
    for (int i = 0; i < 100000; i++) {
        snprintf(num, sizeof(num), "7%05d", i);
        z->prefixes[i] = fx_dup(num);
    }
    assert_int_equal(aj_contract_store_put(s, c, detail, sizeof(detail)), AJ_E_OK);
    const aj_plan *p = aj_contract_store_find(s, "ACC1", 0);
    assert_string_equal(aj_plan_zone_name(p, aj_plan_zone_of(p, AJ_SERVICE_VOICE, "+7012345999", prefix)), "INTL");
    assert_string_equal(prefix, "701234");
    assert_string_equal(aj_plan_zone_name(p, aj_plan_zone_of(p, AJ_SERVICE_VOICE, "+7999999", prefix)), "INTL");
    assert_string_equal(aj_plan_zone_name(p, aj_plan_zone_of(p, AJ_SERVICE_VOICE, "+7", prefix)), "OTHER");
    aj_contract_store_destroy(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_billed_increments),
        cmocka_unit_test_setup_teardown(test_longest_prefix_and_normalization, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_charges, setup, teardown),
        cmocka_unit_test(test_half_up_tie_in_a_charge),
        cmocka_unit_test_setup_teardown(test_versions_in_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_contracts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recurring, setup, teardown),
        cmocka_unit_test(test_large_prefix_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
