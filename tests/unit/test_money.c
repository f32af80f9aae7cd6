/* test_money.c - exact money: checked arithmetic, every rounding at its ties, parse/format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aj_money.h"

static aj_money muldiv(int64_t a, int64_t b, int64_t d, aj_rounding r) {
    aj_money out = 0;
    assert_int_equal(aj_money_muldiv(a, b, d, r, &out), AJ_E_OK);
    return out;
}

static void test_rounding_ties(void **state) {
    (void)state;
    /* 5/2 = 2.5, 7/2 = 3.5, -5/2 = -2.5: the ties. */
    assert_int_equal(muldiv(5, 1, 2, AJ_ROUND_HALF_UP), 3);
    assert_int_equal(muldiv(-5, 1, 2, AJ_ROUND_HALF_UP), -3);
    assert_int_equal(muldiv(5, 1, 2, AJ_ROUND_HALF_EVEN), 2);
    assert_int_equal(muldiv(7, 1, 2, AJ_ROUND_HALF_EVEN), 4);
    assert_int_equal(muldiv(-5, 1, 2, AJ_ROUND_HALF_EVEN), -2);
    assert_int_equal(muldiv(-7, 1, 2, AJ_ROUND_HALF_EVEN), -4);
    assert_int_equal(muldiv(5, 1, 2, AJ_ROUND_UP), 3);
    assert_int_equal(muldiv(-5, 1, 2, AJ_ROUND_UP), -3);
    assert_int_equal(muldiv(5, 1, 2, AJ_ROUND_DOWN), 2);
    assert_int_equal(muldiv(-5, 1, 2, AJ_ROUND_DOWN), -2);
    /* Just off the tie: 2.4999.. and 2.5000..1 */
    assert_int_equal(muldiv(24999, 1, 10000, AJ_ROUND_HALF_UP), 2);
    assert_int_equal(muldiv(25001, 1, 10000, AJ_ROUND_HALF_EVEN), 3);
    assert_int_equal(muldiv(20001, 1, 10000, AJ_ROUND_UP), 3);
    assert_int_equal(muldiv(29999, 1, 10000, AJ_ROUND_DOWN), 2);
    /* Exact divisions are never moved. */
    for (int r = 0; r < AJ_ROUND__COUNT; r++) assert_int_equal(muldiv(6, 1, 2, (aj_rounding)r), 3);
    /* A negative divisor is the same as negating the numerator. */
    assert_int_equal(muldiv(5, 1, -2, AJ_ROUND_HALF_UP), -3);
}

static void test_muldiv_is_exact_beyond_64_bits(void **state) {
    (void)state;
    /* 9e15 * 1e6 overflows int64 before the division; the result does not. */
    assert_int_equal(muldiv(9000000000000000LL, 1000000, 1000000, AJ_ROUND_HALF_UP), 9000000000000000LL);
    /* A price per minute applied to 37 seconds: 37 * 90000 / 60 = 55500 exactly. */
    assert_int_equal(muldiv(37, 90000, 60, AJ_ROUND_HALF_UP), 55500);
    /* 1 second of 0.10/min = 1666.666.. micro -> 1667 (HALF_UP) */
    assert_int_equal(muldiv(1, 100000, 60, AJ_ROUND_HALF_UP), 1667);
}

static void test_overflow_and_errors(void **state) {
    aj_money out = 7;
    (void)state;
    assert_int_equal(aj_money_add(INT64_MAX, 1, &out), AJ_E_OVERFLOW);
    assert_int_equal(out, 7);
    assert_int_equal(aj_money_sub(INT64_MIN, 1, &out), AJ_E_OVERFLOW);
    assert_int_equal(aj_money_muldiv(INT64_MAX, 2, 1, AJ_ROUND_HALF_UP, &out), AJ_E_OVERFLOW);
    assert_int_equal(aj_money_muldiv(1, 1, 0, AJ_ROUND_HALF_UP, &out), AJ_E_ARG);
    assert_int_equal(aj_money_add(1, 2, &out), AJ_E_OK);
    assert_int_equal(out, 3);
}

static void test_round_to_decimals(void **state) {
    aj_money out;
    (void)state;
    /* 1.005 to cents: tie. */
    assert_int_equal(aj_money_round(1005000, 2, AJ_ROUND_HALF_UP, &out), AJ_E_OK);
    assert_int_equal(out, 1010000);
    assert_int_equal(aj_money_round(1005000, 2, AJ_ROUND_HALF_EVEN, &out), AJ_E_OK);
    assert_int_equal(out, 1000000);
    assert_int_equal(aj_money_round(1015000, 2, AJ_ROUND_HALF_EVEN, &out), AJ_E_OK);
    assert_int_equal(out, 1020000);
    assert_int_equal(aj_money_round(-1005000, 2, AJ_ROUND_HALF_UP, &out), AJ_E_OK);
    assert_int_equal(out, -1010000);
    assert_int_equal(aj_money_round(1000001, 2, AJ_ROUND_UP, &out), AJ_E_OK);
    assert_int_equal(out, 1010000);
    assert_int_equal(aj_money_round(1009999, 2, AJ_ROUND_DOWN, &out), AJ_E_OK);
    assert_int_equal(out, 1000000);
    assert_int_equal(aj_money_round(1234567, 6, AJ_ROUND_UP, &out), AJ_E_OK);
    assert_int_equal(out, 1234567);
    assert_int_equal(aj_money_round(1, 7, AJ_ROUND_UP, &out), AJ_E_ARG);
}

static void test_parse_and_format(void **state) {
    aj_money m;
    char buf[32];
    (void)state;
    assert_int_equal(aj_money_parse("12.34", &m), AJ_E_OK);
    assert_int_equal(m, 12340000);
    assert_int_equal(aj_money_parse("-0.000001", &m), AJ_E_OK);
    assert_int_equal(m, -1);
    assert_int_equal(aj_money_parse("7", &m), AJ_E_OK);
    assert_int_equal(m, 7000000);
    assert_int_equal(aj_money_parse("0.0000001", &m), AJ_E_ARG);
    assert_int_equal(aj_money_parse("1.2.3", &m), AJ_E_ARG);
    assert_int_equal(aj_money_parse("", &m), AJ_E_ARG);
    assert_int_equal(aj_money_parse("abc", &m), AJ_E_ARG);
    assert_int_equal(aj_money_parse("99999999999999999999", &m), AJ_E_OVERFLOW);
    assert_string_equal(aj_money_format(12340000, 2, buf, sizeof(buf)), "12.34");
    assert_string_equal(aj_money_format(-1, 6, buf, sizeof(buf)), "-0.000001");
    assert_string_equal(aj_money_format(INT64_MIN, 6, buf, sizeof(buf)), "-9223372036854.775808");
    assert_string_equal(aj_money_format(5, 0, buf, sizeof(buf)), "0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_ties),
        cmocka_unit_test(test_muldiv_is_exact_beyond_64_bits),
        cmocka_unit_test(test_overflow_and_errors),
        cmocka_unit_test(test_round_to_decimals),
        cmocka_unit_test(test_parse_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
