/* aj_tax.h - invoice taxes: checking a contract's taxes and computing them exactly.
 *
 * The rules are docs/invoice.md, "Taxes"; this module is pure (no I/O, no clock, no globals).
 *
 * Bases. Every tax is computed on the taxable amounts of the services it covers, the same
 * base for both modes: an EXCLUSIVE tax is NOT computed on the grossed-up total (the base plus
 * the gross-up taxes included in the price); it applies to the base alone. A GROSS_UP tax
 * ("por dentro") is part of its own base: the price it is included in is B / (1 - R), and the
 * tax is that price times its rate.
 */
#ifndef AJ_TAX_H
#define AJ_TAX_H

#include <stddef.h>

#include "aj_types.h"

/* One computed tax line of an invoice. */
typedef struct aj_tax_amount {
    const aj_tax *tax;   /* borrowed from the contract */
    aj_money base;       /* sum of base[s] over the services the tax covers */
    aj_money amount;     /* the tax, rounded once to the contract's decimals by its rounding */
} aj_tax_amount;

/* Checks k's taxes: names non-empty and unique, services non-empty and only known services,
 * 0 <= rate_ppm < 1000000, for every service the sum of the GROSS_UP rates covering it
 * < 1000000, and every service a GROSS_UP tax covers is covered by exactly the same set of
 * GROSS_UP taxes (so each gross-up tax has one divisor). AJ_E_BAD_CONTRACT with a detail
 * naming the tax (and the service) otherwise.
 * Also refuses a mode other than EXCLUSIVE and GROSS_UP. The detail ("tax ICMS: ...") is
 * written into detail (len bytes, cut to fit) only on a refusal. Never fails otherwise. */
aj_err aj_tax_check(const aj_contract *k, char *detail, size_t len);

/* Computes every tax of k in contract order: out[i] for k->taxes[i] (k->n_taxes entries).
 * base[s] is the taxable amount of service s in micro-units (may be negative or zero).
 *  EXCLUSIVE: amount = round(B x rate)              with B = sum of base[s] over its services
 *  GROSS_UP ("por dentro", the tax is part of its own base):
 *             amount = round(B x rate / (1 - R))    R = sum of the GROSS_UP rates covering
 *                                                     those services (one value, by aj_tax_check)
 * Exact: one aj_money_muldiv per line, whose divisor folds in 10^(6 - decimals), so there is a
 * single rounding to the contract's minor unit (never round twice). AJ_E_OVERFLOW when a sum
 * or the result does not fit. Assumes aj_tax_check passed.
 * EXCLUSIVE taxes apply to B, never to B plus the gross-up taxes (see the file comment). Every
 * rounding is symmetric about zero, so a negative base gives exactly the negated amounts.
 * AJ_E_ARG when k's decimals are not 0..6 or its rounding is unknown, or when R >= 1000000
 * (aj_plan_compile refuses such contracts). On an error out is only partly written. */
aj_err aj_tax_compute(const aj_contract *k, const aj_money base[AJ_SERVICE__COUNT], aj_tax_amount *out);

/* As aj_tax_compute, with no_service: the taxable amount of the charges that have no service
 * (one-time charges, docs/rating.md "One-time charges"). It joins the base B of every tax whose
 * services are all of VOICE, SMS, MMS and DATA, and of no other tax. aj_tax_compute is this
 * with no_service 0. */
aj_err aj_tax_compute_all(const aj_contract *k, const aj_money base[AJ_SERVICE__COUNT], aj_money no_service,
                          aj_tax_amount *out);

#endif /* AJ_TAX_H */
