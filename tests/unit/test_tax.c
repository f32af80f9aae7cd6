/* test_tax.c - invoice taxes against docs/invoice.md, "Taxes": every worked example of the
 * section (test_docs_*), ties at the minor unit for each rounding, decimals 0 and 3, negative
 * and zero bases, overflow, every refusal of aj_tax_check (alone and through the contract
 * store), and a property test against the definition (seeded splitmix64; set AJ_TAX_SEED to
 * replay, the seed is printed on failure).
 *
 * Every expected value is worked out by hand from docs/invoice.md; none is copied from the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_fixtures.h"
#include "aj_rating.h"
#include "aj_tax.h"

#define V (1u << AJ_SERVICE_VOICE)
#define S (1u << AJ_SERVICE_SMS)
#define M (1u << AJ_SERVICE_MMS)
#define D (1u << AJ_SERVICE_DATA)
#define ALL (V | S | M | D)

#define EXCL AJ_TAX_EXCLUSIVE
#define GROSS AJ_TAX_GROSS_UP

/* A tax whose name is a literal (never freed: these contracts live on the stack). */
static aj_tax tax(const char *name, uint32_t services, int64_t rate_ppm, aj_tax_mode mode) {
    return (aj_tax){(char *)name, services, rate_ppm, mode};
}

/* A contract that has only what taxes read: decimals, rounding and the taxes (borrowed). */
static aj_contract contract(aj_tax *taxes, size_t n, int32_t decimals, aj_rounding r) {
    aj_contract k;
    memset(&k, 0, sizeof(k));
    aj_contract_init(&k);
    k.decimals = decimals;
    k.rounding = r;
    k.taxes = taxes;
    k.n_taxes = n;
    return k;
}

/* Bases in micro-units by service. */
static void bases(aj_money b[AJ_SERVICE__COUNT], aj_money voice, aj_money sms, aj_money mms, aj_money data) {
    b[AJ_SERVICE_VOICE] = voice;
    b[AJ_SERVICE_SMS] = sms;
    b[AJ_SERVICE_MMS] = mms;
    b[AJ_SERVICE_DATA] = data;
}

/* The amount of a single tax on one base (VOICE) with the given decimals and rounding. */
static aj_money one(aj_tax t, aj_money base, int32_t decimals, aj_rounding r) {
    aj_contract k = contract(&t, 1, decimals, r);
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out;
    bases(b, base, 0, 0, 0);
    assert_int_equal(aj_tax_check(&k, NULL, 0), AJ_E_OK);
    assert_int_equal(aj_tax_compute(&k, b, &out), AJ_E_OK);
    assert_ptr_equal(out.tax, &t);
    assert_int_equal(out.base, base);
    return out.amount;
}

/* ------------------------------------------------------------------------------------------ */
/* docs/invoice.md, "Taxes": the worked examples                                               */

/* "Exclusive": IVA 23% added on 100.00 and on 12.34. */
static void test_docs_taxes_exclusive(void **state) {
    (void)state;
    aj_tax t[] = {tax("IVA", ALL, 230000, EXCL)};
    aj_contract k = contract(t, 1, 2, AJ_ROUND_HALF_UP);
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[1];

    /* 60.00 + 10.00 + 5.00 + 25.00 = 100.00; x 23% = 23.00. */
    bases(b, 60000000, 10000000, 5000000, 25000000);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].base, 100000000);
    assert_int_equal(out[0].amount, 23000000);
    /* 12.34 x 23% = 2.8382 -> 2.84. */
    assert_int_equal(one(t[0], 12340000, 2, AJ_ROUND_HALF_UP), 2840000);
}

/* "Gross-up", the Brazilian telecom example: ICMS 25% + PIS 0.65% + COFINS 3% "por dentro",
 * R = 28.65%. On 71.35 the taxes are 25.00, 0.65 and 3.00 and the total is 100.00 =
 * 71.35 / (1 - 0.2865); on 100.00 they are 35.04, 0.91 and 4.20, total 140.15 =
 * 100.00 / 0.7135 = 140.1541... to the cent. */
static void test_docs_taxes_gross_up_brazil(void **state) {
    (void)state;
    aj_tax t[] = {tax("ICMS", ALL, 250000, GROSS), tax("PIS", ALL, 6500, GROSS), tax("COFINS", ALL, 30000, GROSS)};
    aj_contract k = contract(t, 3, 2, AJ_ROUND_HALF_UP);
    aj_money b[AJ_SERVICE__COUNT], total, exact;
    aj_tax_amount out[3];

    /* 50.00 VOICE + 21.35 DATA = 71.35. */
    bases(b, 50000000, 0, 0, 21350000);
    assert_int_equal(aj_tax_check(&k, NULL, 0), AJ_E_OK);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(out[i].tax, &t[i]);
        assert_int_equal(out[i].base, 71350000);
    }
    assert_int_equal(out[0].amount, 25000000);   /* 71.35 x 0.25 / 0.7135 */
    assert_int_equal(out[1].amount, 650000);     /* 71.35 x 0.0065 / 0.7135 */
    assert_int_equal(out[2].amount, 3000000);    /* 71.35 x 0.03 / 0.7135 */
    total = 71350000 + out[0].amount + out[1].amount + out[2].amount;
    assert_int_equal(total, 100000000);
    /* total = base / (1 - 0.2865), exactly here. */
    assert_int_equal(aj_money_muldiv(71350000, 1000000, 713500, AJ_ROUND_HALF_UP, &exact), AJ_E_OK);
    assert_int_equal(total, exact);
    /* The gross-up taxes are 28.65% of the total they are included in. */
    assert_int_equal(out[0].amount + out[1].amount + out[2].amount, 28650000);

    /* 100.00 on VOICE. */
    bases(b, 100000000, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].amount, 35040000);   /* 35.0385... */
    assert_int_equal(out[1].amount, 910000);     /* 0.9110... */
    assert_int_equal(out[2].amount, 4200000);    /* 4.2046... */
    total = 100000000 + out[0].amount + out[1].amount + out[2].amount;
    assert_int_equal(total, 140150000);
    /* 100.00 / 0.7135 = 140.1541..., to the cent (muldiv to cents, then back to micro-units). */
    assert_int_equal(aj_money_muldiv(100000000, 1000000, 713500LL * 10000, AJ_ROUND_HALF_UP, &exact), AJ_E_OK);
    assert_int_equal(exact * 10000, total);
}

/* "Exclusive and gross-up together": ICMS 25% gross-up on VOICE and DATA, FUST 1% exclusive
 * on every service, ISS 5% exclusive on SMS and MMS. Bases VOICE 60.00, SMS 10.00, MMS 5.00,
 * DATA 40.00. ICMS on 100.00 = 33.33; FUST on 115.00 = 1.15 (not 1% of 148.33, the total with
 * ICMS included, which would be 1.48); ISS on 15.00 = 0.75. */
static void test_docs_taxes_mixed(void **state) {
    (void)state;
    aj_tax t[] = {tax("ICMS", V | D, 250000, GROSS), tax("FUST", ALL, 10000, EXCL), tax("ISS", S | M, 50000, EXCL)};
    aj_contract k = contract(t, 3, 2, AJ_ROUND_HALF_UP);
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[3];

    bases(b, 60000000, 10000000, 5000000, 40000000);
    assert_int_equal(aj_tax_check(&k, NULL, 0), AJ_E_OK);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].base, 100000000);
    assert_int_equal(out[0].amount, 33330000);   /* 100.00 x 0.25 / 0.75 = 33.333... */
    assert_int_equal(out[1].base, 115000000);
    assert_int_equal(out[1].amount, 1150000);
    assert_int_equal(out[2].base, 15000000);
    assert_int_equal(out[2].amount, 750000);
}

/* "Taxes on some services": ICMS 25% gross-up on VOICE, ICMS-SVA 18% gross-up on DATA (two
 * divisors, 0.75 and 0.82), ISS 5% exclusive on SMS; MMS is not taxed. Bases VOICE 30.00, SMS
 * 7.00, MMS 9.00, DATA 50.00: 10.00, 10.98 (10.9756...), 0.35. */
static void test_docs_taxes_subset(void **state) {
    (void)state;
    aj_tax t[] = {tax("ICMS", V, 250000, GROSS), tax("ICMS-SVA", D, 180000, GROSS), tax("ISS", S, 50000, EXCL)};
    aj_contract k = contract(t, 3, 2, AJ_ROUND_HALF_UP);
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[3];

    bases(b, 30000000, 7000000, 9000000, 50000000);
    assert_int_equal(aj_tax_check(&k, NULL, 0), AJ_E_OK);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].base, 30000000);
    assert_int_equal(out[0].amount, 10000000);
    assert_int_equal(out[1].base, 50000000);
    assert_int_equal(out[1].amount, 10980000);
    assert_int_equal(out[2].base, 7000000);
    assert_int_equal(out[2].amount, 350000);
}

/* "One rounding", the table: 0.10 x 5% = 0.005 and 0.30 x 5% = 0.015 (exclusive), 20%
 * gross-up on 0.02 = 0.02 x 0.20 / 0.80 = 0.005, 0.10 x 4.9% = 0.0049. */
static void test_docs_taxes_ties(void **state) {
    (void)state;
    static const struct {
        aj_rounding r;
        aj_money excl_010, excl_030, gross_002, excl_0049;
    } table[] = {
        {AJ_ROUND_HALF_UP, 10000, 20000, 10000, 0},
        {AJ_ROUND_HALF_EVEN, 0, 20000, 0, 0},
        {AJ_ROUND_UP, 10000, 20000, 10000, 10000},
        {AJ_ROUND_DOWN, 0, 10000, 0, 0},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        aj_rounding r = table[i].r;
        assert_int_equal(one(tax("T", V, 50000, EXCL), 100000, 2, r), table[i].excl_010);
        assert_int_equal(one(tax("T", V, 50000, EXCL), 300000, 2, r), table[i].excl_030);
        assert_int_equal(one(tax("T", V, 200000, GROSS), 20000, 2, r), table[i].gross_002);
        assert_int_equal(one(tax("T", V, 49000, EXCL), 100000, 2, r), table[i].excl_0049);
    }
}

/* "One rounding", never twice: 0.099999 x 5% = 0.00499995 is 0.00 by HALF_UP (rounding to the
 * micro-unit first would make it 0.005000 and then 0.01); 20% gross-up on 0.019999 =
 * 0.00499975 -> 0.00. */
static void test_docs_taxes_one_rounding(void **state) {
    (void)state;
    assert_int_equal(one(tax("T", V, 50000, EXCL), 99999, 2, AJ_ROUND_HALF_UP), 0);
    assert_int_equal(one(tax("T", V, 50000, EXCL), 99999, 2, AJ_ROUND_UP), 10000);
    assert_int_equal(one(tax("T", V, 200000, GROSS), 19999, 2, AJ_ROUND_HALF_UP), 0);
    assert_int_equal(one(tax("T", V, 200000, GROSS), 19999, 2, AJ_ROUND_UP), 10000);
    /* With two gross-up taxes the divisor is the one of both: 10% + 10% on 0.019999 ->
     * 0.019999 x 0.10 / 0.80 = 0.00249987... -> 0.00 each (HALF_UP). */
    aj_tax t[] = {tax("A", V, 100000, GROSS), tax("B", V, 100000, GROSS)};
    aj_contract k = contract(t, 2, 2, AJ_ROUND_HALF_UP);
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[2];
    bases(b, 19999, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].amount, 0);
    assert_int_equal(out[1].amount, 0);
    /* 0.04 -> 0.005 each: a tie, HALF_UP 0.01 each. */
    bases(b, 40000, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].amount, 10000);
    assert_int_equal(out[1].amount, 10000);
}

/* "Minor units": decimals 0. 10% on 25 = 2.5 (tie); 19% on 1234 = 234.46 -> 234; 19% gross-up
 * on 81 = 81 x 0.19 / 0.81 = 19. */
static void test_docs_taxes_decimals_0(void **state) {
    (void)state;
    aj_tax ten = tax("T", V, 100000, EXCL);
    assert_int_equal(one(ten, 25000000, 0, AJ_ROUND_HALF_UP), 3000000);
    assert_int_equal(one(ten, 25000000, 0, AJ_ROUND_HALF_EVEN), 2000000);
    assert_int_equal(one(ten, 25000000, 0, AJ_ROUND_UP), 3000000);
    assert_int_equal(one(ten, 25000000, 0, AJ_ROUND_DOWN), 2000000);
    assert_int_equal(one(tax("IVA", V, 190000, EXCL), 1234000000, 0, AJ_ROUND_HALF_UP), 234000000);
    assert_int_equal(one(tax("IVA", V, 190000, EXCL), 1234000000, 0, AJ_ROUND_UP), 235000000);
    assert_int_equal(one(tax("IVA", V, 190000, GROSS), 81000000, 0, AJ_ROUND_HALF_UP), 19000000);
}

/* "Minor units": decimals 3. 10% on 1.235 = 0.1235 and on 1.225 = 0.1225 (ties). */
static void test_docs_taxes_decimals_3(void **state) {
    (void)state;
    static const struct {
        aj_rounding r;
        aj_money on_1235, on_1225;
    } table[] = {
        {AJ_ROUND_HALF_UP, 124000, 123000},
        {AJ_ROUND_HALF_EVEN, 124000, 122000},
        {AJ_ROUND_UP, 124000, 123000},
        {AJ_ROUND_DOWN, 123000, 122000},
    };
    aj_tax ten = tax("T", V, 100000, EXCL);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        assert_int_equal(one(ten, 1235000, 3, table[i].r), table[i].on_1235);
        assert_int_equal(one(ten, 1225000, 3, table[i].r), table[i].on_1225);
    }
    /* Gross-up 20% on 0.022 = 0.0055 -> 0.006 HALF_UP, 0.006 HALF_EVEN, 0.005 DOWN. */
    assert_int_equal(one(tax("T", V, 200000, GROSS), 22000, 3, AJ_ROUND_HALF_UP), 6000);
    assert_int_equal(one(tax("T", V, 200000, GROSS), 22000, 3, AJ_ROUND_HALF_EVEN), 6000);
    assert_int_equal(one(tax("T", V, 200000, GROSS), 22000, 3, AJ_ROUND_DOWN), 5000);
    /* decimals 6: rounds to the micro-unit. 5% on 0.000010 = 0.0000005. */
    assert_int_equal(one(tax("T", V, 50000, EXCL), 10, 6, AJ_ROUND_HALF_UP), 1);
    assert_int_equal(one(tax("T", V, 50000, EXCL), 10, 6, AJ_ROUND_HALF_EVEN), 0);
}

/* "Negative and zero bases": a negative base (a credit larger than the charges) gives the
 * negated amounts; the Brazilian example on -100.00 is -35.04, -0.91, -4.20. */
static void test_docs_taxes_negative_base(void **state) {
    (void)state;
    aj_tax t[] = {tax("ICMS", ALL, 250000, GROSS), tax("PIS", ALL, 6500, GROSS), tax("COFINS", ALL, 30000, GROSS)};
    aj_contract k = contract(t, 3, 2, AJ_ROUND_HALF_UP);
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[3];

    bases(b, -60000000, 0, 0, -40000000);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].base, -100000000);
    assert_int_equal(out[0].amount, -35040000);
    assert_int_equal(out[1].amount, -910000);
    assert_int_equal(out[2].amount, -4200000);

    /* Ties away from zero and to even are symmetric: -0.10 x 5% = -0.005. */
    assert_int_equal(one(tax("T", V, 50000, EXCL), -100000, 2, AJ_ROUND_HALF_UP), -10000);
    assert_int_equal(one(tax("T", V, 50000, EXCL), -100000, 2, AJ_ROUND_HALF_EVEN), 0);
    assert_int_equal(one(tax("T", V, 50000, EXCL), -100000, 2, AJ_ROUND_UP), -10000);
    assert_int_equal(one(tax("T", V, 50000, EXCL), -100000, 2, AJ_ROUND_DOWN), 0);
    assert_int_equal(one(tax("T", V, 50000, EXCL), -300000, 2, AJ_ROUND_HALF_EVEN), -20000);
    assert_int_equal(one(tax("T", V, 200000, GROSS), -20000, 2, AJ_ROUND_HALF_UP), -10000);

    /* Bases of opposite signs are summed before the tax: 10.00 VOICE - 10.00 DATA = 0. */
    bases(b, 10000000, 0, 0, -10000000);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].base, 0);
    assert_int_equal(out[0].amount, 0);
}

static void test_zero_base(void **state) {
    (void)state;
    aj_tax t[] = {tax("ICMS", V | D, 250000, GROSS), tax("FUST", ALL, 10000, EXCL), tax("ZERO", S, 0, EXCL)};
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[3];
    for (int r = 0; r < AJ_ROUND__COUNT; r++) {
        aj_contract k = contract(t, 3, 2, (aj_rounding)r);
        bases(b, 0, 0, 0, 0);
        memset(out, 0x55, sizeof(out));
        assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
        for (int i = 0; i < 3; i++) {
            assert_ptr_equal(out[i].tax, &t[i]);
            assert_int_equal(out[i].base, 0);
            assert_int_equal(out[i].amount, 0);
        }
        /* A zero rate on a non-zero base is zero too, even rounding UP. */
        bases(b, 1, 1, 1, 1);
        assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
        assert_int_equal(out[2].base, 1);
        assert_int_equal(out[2].amount, 0);
    }
    /* No taxes: nothing written, OK. */
    aj_contract none = contract(NULL, 0, 2, AJ_ROUND_HALF_UP);
    assert_int_equal(aj_tax_check(&none, NULL, 0), AJ_E_OK);
    assert_int_equal(aj_tax_compute(&none, b, NULL), AJ_E_OK);
}

static void test_overflow(void **state) {
    (void)state;
    aj_money b[AJ_SERVICE__COUNT];
    aj_tax_amount out[1];

    /* The sum of the bases does not fit. */
    aj_tax sum[] = {tax("T", V | S, 10000, EXCL)};
    aj_contract k = contract(sum, 1, 2, AJ_ROUND_HALF_UP);
    bases(b, INT64_MAX, 1, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OVERFLOW);
    bases(b, INT64_MIN, -1, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OVERFLOW);
    /* INT64_MAX alone fits: 9223372036854.775807 x 1% = 92233720368.5477... -> 92233720368.55. */
    bases(b, INT64_MAX, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].amount, INT64_C(92233720368550000));

    /* An exclusive tax is below its base: INT64_MAX x 99.9999% fits (9223362813482.74). */
    assert_int_equal(one(tax("T", V, 999999, EXCL), INT64_MAX, 2, AJ_ROUND_HALF_UP), INT64_C(9223362813482740000));

    /* A gross-up result larger than its base: 90% gross-up is 9 x the base. */
    aj_tax big[] = {tax("T", V, 900000, GROSS)};
    k = contract(big, 1, 2, AJ_ROUND_HALF_UP);
    bases(b, INT64_MAX / 2, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OVERFLOW);
    bases(b, INT64_MIN / 2, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OVERFLOW);
    /* 1.00 x 9 = 9.00 fits. */
    bases(b, 1000000, 0, 0, 0);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].amount, 9000000);

    /* Only the rounded result decides: 50% gross-up gives the base, INT64_MAX micro-units =
     * 9223372036854.775807; in whole units (decimals 0) DOWN gives 9223372036854, which fits,
     * and UP 9223372036855, which does not. */
    aj_tax half[] = {tax("T", V, 500000, GROSS)};
    bases(b, INT64_MAX, 0, 0, 0);
    k = contract(half, 1, 0, AJ_ROUND_DOWN);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OK);
    assert_int_equal(out[0].amount, INT64_C(9223372036854000000));
    k = contract(half, 1, 0, AJ_ROUND_UP);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_OVERFLOW);

    /* Not a contract aj_plan_compile accepts: decimals 7, an unknown rounding. */
    k = contract(half, 1, 7, AJ_ROUND_DOWN);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_ARG);
    k = contract(half, 1, 2, AJ_ROUND__COUNT);
    assert_int_equal(aj_tax_compute(&k, b, out), AJ_E_ARG);
}

/* ------------------------------------------------------------------------------------------ */
/* aj_tax_check                                                                                */

/* aj_tax_check of taxes t[0..n); the detail is returned (static buffer). */
static const char *check(aj_tax *t, size_t n, aj_err want) {
    static char detail[256];
    aj_contract k = contract(t, n, 2, AJ_ROUND_HALF_UP);
    strcpy(detail, "(untouched)");
    assert_int_equal(aj_tax_check(&k, detail, sizeof(detail)), want);
    return detail;
}

static void test_check_accepts(void **state) {
    (void)state;
    aj_tax brazil[] = {tax("ICMS", ALL, 250000, GROSS), tax("PIS", ALL, 6500, GROSS), tax("COFINS", ALL, 30000, GROSS)};
    assert_string_equal(check(brazil, 3, AJ_E_OK), "(untouched)");
    aj_tax mixed[] = {tax("ICMS", V | D, 250000, GROSS), tax("FUST", ALL, 10000, EXCL), tax("ISS", S | M, 50000, EXCL)};
    check(mixed, 3, AJ_E_OK);
    /* Disjoint gross-up groups, each with its own divisor. */
    aj_tax groups[] = {tax("A", V | S, 300000, GROSS), tax("B", D, 180000, GROSS), tax("C", V | S, 100000, GROSS),
                       tax("E", M, 999999, GROSS)};
    check(groups, 4, AJ_E_OK);
    /* Exclusive taxes may overlap anything; rates 0 and 999999. */
    aj_tax excl[] = {tax("A", V | S, 0, EXCL), tax("B", S | D, 999999, EXCL), tax("C", ALL, 999999, EXCL)};
    check(excl, 3, AJ_E_OK);
    /* Gross-up rates adding up to 999999 ppm. */
    aj_tax edge[] = {tax("A", ALL, 600000, GROSS), tax("B", ALL, 399999, GROSS)};
    check(edge, 2, AJ_E_OK);
}

static void test_check_refusals(void **state) {
    (void)state;
    aj_tax empty[] = {tax("ICMS", V, 1, EXCL), tax("", V, 1, EXCL)};
    assert_string_equal(check(empty, 2, AJ_E_BAD_CONTRACT), "tax 1: empty name");
    aj_tax null[] = {tax(NULL, V, 1, EXCL)};
    assert_string_equal(check(null, 1, AJ_E_BAD_CONTRACT), "tax 0: empty name");
    aj_tax twice[] = {tax("ICMS", V, 1, GROSS), tax("PIS", V, 1, GROSS), tax("ICMS", D, 1, EXCL)};
    assert_string_equal(check(twice, 3, AJ_E_BAD_CONTRACT), "tax ICMS defined twice");
    aj_tax none[] = {tax("ICMS", 0, 1, EXCL)};
    assert_string_equal(check(none, 1, AJ_E_BAD_CONTRACT), "tax ICMS: covers no service");
    aj_tax unknown[] = {tax("ICMS", V | (1u << 4) | (1u << 31), 1, EXCL)};
    assert_string_equal(check(unknown, 1, AJ_E_BAD_CONTRACT), "tax ICMS: service bit 4 is not a known service");
    aj_tax negative[] = {tax("PIS", V, -1, EXCL)};
    assert_string_equal(check(negative, 1, AJ_E_BAD_CONTRACT), "tax PIS: rate_ppm -1 is not in 0..999999");
    aj_tax hundred[] = {tax("PIS", V, 1000000, EXCL)};
    assert_string_equal(check(hundred, 1, AJ_E_BAD_CONTRACT), "tax PIS: rate_ppm 1000000 is not in 0..999999");
    aj_tax mode[] = {tax("PIS", V, 1, (aj_tax_mode)2)};
    assert_string_equal(check(mode, 1, AJ_E_BAD_CONTRACT), "tax PIS: mode 2 is not EXCLUSIVE or GROSS_UP");
    /* 60% + 40% gross-up on DATA: the price B / (1 - R) would not exist. */
    aj_tax sum[] = {tax("ICMS", D, 600000, GROSS), tax("FUST", D, 900000, EXCL), tax("PIS", D, 400000, GROSS)};
    assert_string_equal(check(sum, 3, AJ_E_BAD_CONTRACT),
                        "tax PIS: gross-up rates on DATA add up to 1000000 ppm, which is not below 1000000");
    /* ICMS on VOICE and DATA, PIS on VOICE only: VOICE's divisor is 1 - 25.65%, DATA's 1 - 25%. */
    aj_tax sets[] = {tax("ICMS", V | D, 250000, GROSS), tax("ISS", S, 50000, EXCL), tax("PIS", V, 6500, GROSS)};
    assert_string_equal(check(sets, 3, AJ_E_BAD_CONTRACT),
                        "tax PIS: shares VOICE with gross-up tax ICMS, but only ICMS covers DATA (gross-up taxes must "
                        "cover the same services or none in common)");
    aj_tax sets2[] = {tax("ICMS", V, 250000, GROSS), tax("PIS", V | S, 6500, GROSS)};
    assert_string_equal(check(sets2, 2, AJ_E_BAD_CONTRACT),
                        "tax PIS: shares VOICE with gross-up tax ICMS, but only PIS covers SMS (gross-up taxes must "
                        "cover the same services or none in common)");
    /* The same overlap with one of them exclusive is fine. */
    sets2[1].mode = EXCL;
    check(sets2, 2, AJ_E_OK);
    /* A NULL detail is allowed. */
    aj_contract k = contract(none, 1, 2, AJ_ROUND_HALF_UP);
    assert_int_equal(aj_tax_check(&k, NULL, 0), AJ_E_BAD_CONTRACT);
}

/* The contract store refuses a contract aj_tax_check refuses, with the detail. */
static void test_store_refuses_bad_taxes(void **state) {
    (void)state;
    aj_contract_store *store = aj_contract_store_create();
    char detail[256];
    assert_non_null(store);

    aj_contract *c = fx_contract(1, 0, INT64_MAX, 150000);
    c->taxes = calloc(2, sizeof(*c->taxes));
    assert_non_null(c->taxes);
    c->taxes[c->n_taxes++] = (aj_tax){fx_dup("ICMS"), V | D, 250000, GROSS};
    c->taxes[c->n_taxes++] = (aj_tax){fx_dup("PIS"), V, 6500, GROSS};
    assert_int_equal(aj_contract_store_put(store, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    assert_string_equal(detail,
                        "contract CT-1 v1: tax PIS: shares VOICE with gross-up tax ICMS, but only ICMS covers DATA "
                        "(gross-up taxes must cover the same services or none in common)");
    assert_int_equal(aj_contract_store_versions(store), 0);

    c = fx_contract(2, 0, INT64_MAX, 150000);
    c->taxes = calloc(1, sizeof(*c->taxes));
    assert_non_null(c->taxes);
    c->taxes[c->n_taxes++] = (aj_tax){fx_dup("IVA"), ALL, 1000000, EXCL};
    assert_int_equal(aj_contract_store_put(store, c, detail, sizeof(detail)), AJ_E_BAD_CONTRACT);
    assert_string_equal(detail, "contract CT-1 v2: tax IVA: rate_ppm 1000000 is not in 0..999999");

    /* The Brazilian taxes are accepted. */
    c = fx_contract(3, 0, INT64_MAX, 150000);
    c->taxes = calloc(3, sizeof(*c->taxes));
    assert_non_null(c->taxes);
    c->taxes[c->n_taxes++] = (aj_tax){fx_dup("ICMS"), ALL, 250000, GROSS};
    c->taxes[c->n_taxes++] = (aj_tax){fx_dup("PIS"), ALL, 6500, GROSS};
    c->taxes[c->n_taxes++] = (aj_tax){fx_dup("COFINS"), ALL, 30000, GROSS};
    assert_int_equal(aj_contract_store_put(store, c, detail, sizeof(detail)), AJ_E_OK);
    assert_int_equal(aj_contract_store_versions(store), 1);
    aj_contract_store_destroy(store);
}

/* ------------------------------------------------------------------------------------------ */
/* Properties                                                                                  */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* num / den rounded by r (den > 0), the table of docs/rating.md "Money", written again here. */
static __int128 ref_round(__int128 num, __int128 den, aj_rounding r) {
    __int128 q = num / den, rem = num % den, sign = num < 0 ? -1 : 1;
    __int128 twice = 2 * (rem < 0 ? -rem : rem);
    if (rem == 0) return q;
    switch (r) {
    case AJ_ROUND_DOWN: return q;
    case AJ_ROUND_UP: return q + sign;
    case AJ_ROUND_HALF_UP: return twice >= den ? q + sign : q;
    default: return twice > den || (twice == den && (q % 2) != 0) ? q + sign : q;
    }
}

/* Random contracts of up to three gross-up taxes on one group of services and two exclusive
 * ones, random bases of either sign: every amount is the definition's, a negative base gives
 * the negated amounts, and base + the gross-up taxes is B / (1 - R) within one minor unit per
 * gross-up line. */
static void test_prop_definition(void **state) {
    (void)state;
    static const int64_t unit[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    const char *env = getenv("AJ_TAX_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : UINT64_C(0x7a3c0ffee), s = seed;
    static const char *const names[] = {"G0", "G1", "G2", "X0", "X1"};

    for (int iter = 0; iter < 20000; iter++) {
        aj_tax t[5];
        size_t n = 0;
        uint32_t group = (uint32_t)(splitmix64(&s) % 15) + 1;
        int n_gross = (int)(splitmix64(&s) % 4);
        int64_t left = 999999;
        for (int g = 0; g < n_gross; g++) {
            int64_t rate = (int64_t)(splitmix64(&s) % (uint64_t)(left / 2 + 1));
            left -= rate;
            t[n] = tax(names[n], group, rate, GROSS);
            n++;
        }
        for (int x = 0; x < 2; x++) {
            t[n] = tax(names[3 + x], (uint32_t)(splitmix64(&s) % 15) + 1, (int64_t)(splitmix64(&s) % 1000000), EXCL);
            n++;
        }
        int32_t dec = (int32_t)(splitmix64(&s) % 7);
        aj_rounding r = (aj_rounding)(splitmix64(&s) % AJ_ROUND__COUNT);
        aj_contract k = contract(t, n, dec, r);
        aj_money b[AJ_SERVICE__COUNT], nb[AJ_SERVICE__COUNT];
        aj_tax_amount out[5], neg[5];
        for (int sv = 0; sv < AJ_SERVICE__COUNT; sv++) {
            /* Up to about 10^12 micro-units (a million units) either sign, often on the grid. */
            int64_t v = (int64_t)(splitmix64(&s) % UINT64_C(1000000000000)) - INT64_C(500000000000);
            if (splitmix64(&s) & 1) v -= v % unit[dec];
            b[sv] = v;
            nb[sv] = -v;
        }
        if (aj_tax_check(&k, NULL, 0) != AJ_E_OK || aj_tax_compute(&k, b, out) != AJ_E_OK ||
            aj_tax_compute(&k, nb, neg) != AJ_E_OK)
            fail_msg("seed %#llx iteration %d: refused or failed", (unsigned long long)seed, iter);
        int64_t R = 0;
        __int128 gross_sum = 0;
        aj_money group_base = 0;
        for (size_t i = 0; i < n; i++)
            if (t[i].mode == GROSS) R += t[i].rate_ppm;
        for (size_t i = 0; i < n; i++) {
            aj_money bi = 0;
            for (int sv = 0; sv < AJ_SERVICE__COUNT; sv++)
                if (t[i].services & (1u << sv)) bi += b[sv];
            __int128 den = (__int128)(t[i].mode == GROSS ? 1000000 - R : 1000000) * unit[dec];
            __int128 want = ref_round((__int128)bi * t[i].rate_ppm, den, r) * unit[dec];
            if (out[i].base != bi || out[i].amount != (aj_money)want || neg[i].amount != -out[i].amount ||
                out[i].amount % unit[dec] != 0)
                fail_msg("seed %#llx iteration %d: tax %s base %lld amount %lld (negated %lld), want %lld",
                         (unsigned long long)seed, iter, t[i].name, (long long)bi, (long long)out[i].amount,
                         (long long)neg[i].amount, (long long)want);
            if (t[i].mode == GROSS) {
                gross_sum += out[i].amount;
                group_base = bi;
            }
        }
        if (n_gross) {
            /* |B + sum - B / (1 - R)| < n_gross minor units, compared times (1 - R). */
            __int128 lhs = ((__int128)group_base + gross_sum) * (1000000 - R) - (__int128)group_base * 1000000;
            __int128 bound = (__int128)n_gross * unit[dec] * (1000000 - R);
            if (lhs < 0) lhs = -lhs;
            if (lhs >= bound)
                fail_msg("seed %#llx iteration %d: gross-up total off by more than %d minor units",
                         (unsigned long long)seed, iter, n_gross);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        /* docs/invoice.md, "Taxes" */
        cmocka_unit_test(test_docs_taxes_exclusive),
        cmocka_unit_test(test_docs_taxes_gross_up_brazil),
        cmocka_unit_test(test_docs_taxes_mixed),
        cmocka_unit_test(test_docs_taxes_subset),
        cmocka_unit_test(test_docs_taxes_ties),
        cmocka_unit_test(test_docs_taxes_one_rounding),
        cmocka_unit_test(test_docs_taxes_decimals_0),
        cmocka_unit_test(test_docs_taxes_decimals_3),
        cmocka_unit_test(test_docs_taxes_negative_base),
        /* edges */
        cmocka_unit_test(test_zero_base),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_check_refusals),
        cmocka_unit_test(test_store_refuses_bad_taxes),
        /* properties */
        cmocka_unit_test(test_prop_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
