/* aj_money.h - exact money: int64 micro-units, checked arithmetic, named roundings. */
#ifndef AJ_MONEY_H
#define AJ_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "aj_error.h"

/* An amount in micro-units of its currency: 1 = 0.000001. Never a float. */
typedef int64_t aj_money;

#define AJ_MICRO 1000000LL

/*
 * How a division that does not come out even is rounded (docs/rating.md, "Rounding"):
 *   HALF_UP   nearest, ties away from zero   ( 2.5 ->  3, -2.5 -> -3)
 *   HALF_EVEN nearest, ties to the even one  ( 2.5 ->  2,  3.5 ->  4)
 *   UP        away from zero                 ( 2.1 ->  3, -2.1 -> -3)
 *   DOWN      toward zero (truncate)         ( 2.9 ->  2, -2.9 -> -2)
 */
#define AJ_ROUNDING_MAP(X) X(HALF_UP) X(HALF_EVEN) X(UP) X(DOWN)

typedef enum aj_rounding {
#define AJ_ROUNDING_ENUM(name) AJ_ROUND_##name,
    AJ_ROUNDING_MAP(AJ_ROUNDING_ENUM)
#undef AJ_ROUNDING_ENUM
    AJ_ROUND__COUNT
} aj_rounding;

const char *aj_rounding_name(aj_rounding r);

/* *out = a + b. Returns AJ_E_OVERFLOW (and leaves *out alone) when it does not fit. */
aj_err aj_money_add(aj_money a, aj_money b, aj_money *out);

/* *out = a - b, checked as aj_money_add. */
aj_err aj_money_sub(aj_money a, aj_money b, aj_money *out);

/*
 * *out = a * b / d rounded by r, computed exactly in 128 bits.
 * Returns AJ_E_ARG when d == 0, AJ_E_OVERFLOW when the result does not fit in int64.
 */
aj_err aj_money_muldiv(int64_t a, int64_t b, int64_t d, aj_rounding r, aj_money *out);

/*
 * Rounds m to a multiple of 10^(6 - decimals) micro-units by r: decimals 2 rounds to cents.
 * decimals must be 0..6 (AJ_E_ARG otherwise).
 */
aj_err aj_money_round(aj_money m, int decimals, aj_rounding r, aj_money *out);

/*
 * Writes m as a decimal with `decimals` digits after the point (0..6), truncating the rest
 * (format only, never used for arithmetic): 1234567 with 2 -> "1.23". Returns buf.
 * buf must hold at least 32 bytes.
 */
char *aj_money_format(aj_money m, int decimals, char *buf, size_t len);

/*
 * Parses a decimal such as "12.34", "-0.000001", "7" into micro-units.
 * Returns AJ_E_ARG for anything else (more than 6 decimals, junk), AJ_E_OVERFLOW if too big.
 */
aj_err aj_money_parse(const char *s, aj_money *out);

#endif /* AJ_MONEY_H */
