/* aj_tax.c - invoice taxes, checked and computed exactly (docs/invoice.md, "Taxes"). */
#include "aj_tax.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define AJ_TAX_PPM 1000000

/* Every known service bit. */
#define AJ_TAX_ALL_SERVICES ((1u << AJ_SERVICE__COUNT) - 1u)

static aj_err aj_tax_bad(char *detail, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes the refusal into detail; returns AJ_E_BAD_CONTRACT. */
static aj_err aj_tax_bad(char *detail, size_t len, const char *fmt, ...) {
    va_list ap;
    if (detail && len) {
        va_start(ap, fmt);
        vsnprintf(detail, len, fmt, ap);
        va_end(ap);
    }
    return AJ_E_BAD_CONTRACT;
}

/* Lowest service whose bit is in mask (mask != 0). */
static aj_service aj_tax_first_service(uint32_t mask) {
    int s = 0;
    while (!(mask & (1u << s))) s++;
    return (aj_service)s;
}

aj_err aj_tax_check(const aj_contract *k, char *detail, size_t len) {
    /* Clause "Taxes", each tax on its own. */
    for (size_t i = 0; i < k->n_taxes; i++) {
        const aj_tax *t = &k->taxes[i];
        if (!t->name || !t->name[0]) return aj_tax_bad(detail, len, "tax %zu: empty name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(k->taxes[j].name, t->name) == 0) return aj_tax_bad(detail, len, "tax %s defined twice", t->name);
        if (!t->services) return aj_tax_bad(detail, len, "tax %s: covers no service", t->name);
        if (t->services & ~AJ_TAX_ALL_SERVICES)
            return aj_tax_bad(detail, len, "tax %s: service bit %d is not a known service", t->name,
                              (int)aj_tax_first_service(t->services & ~AJ_TAX_ALL_SERVICES));
        if (t->rate_ppm < 0 || t->rate_ppm >= AJ_TAX_PPM)
            return aj_tax_bad(detail, len, "tax %s: rate_ppm %lld is not in 0..999999", t->name,
                              (long long)t->rate_ppm);
        if (t->mode != AJ_TAX_EXCLUSIVE && t->mode != AJ_TAX_GROSS_UP)
            return aj_tax_bad(detail, len, "tax %s: mode %d is not EXCLUSIVE or GROSS_UP", t->name, (int)t->mode);
    }
    /* Clause "Taxes", gross-up restriction: below 100% on every service ... */
    for (int s = 0; s < AJ_SERVICE__COUNT; s++) {
        int64_t r = 0;   /* at most n_taxes x 999999: no overflow for any array that fits in memory */
        for (size_t i = 0; i < k->n_taxes; i++) {
            const aj_tax *t = &k->taxes[i];
            if (t->mode != AJ_TAX_GROSS_UP || !(t->services & (1u << s))) continue;
            r += t->rate_ppm;
            if (r >= AJ_TAX_PPM)
                return aj_tax_bad(detail, len,
                                  "tax %s: gross-up rates on %s add up to %lld ppm, which is not below 1000000",
                                  t->name, aj_service_name((aj_service)s), (long long)r);
        }
    }
    /* ... and one divisor per gross-up tax: two gross-up taxes cover the same services or none
     * in common (were it otherwise, some service of one would be covered by a set of gross-up
     * taxes that another of its services is not). */
    for (size_t i = 0; i < k->n_taxes; i++) {
        const aj_tax *a = &k->taxes[i];
        if (a->mode != AJ_TAX_GROSS_UP) continue;
        for (size_t j = i + 1; j < k->n_taxes; j++) {
            const aj_tax *b = &k->taxes[j];
            if (b->mode != AJ_TAX_GROSS_UP || !(a->services & b->services) || a->services == b->services) continue;
            aj_service shared = aj_tax_first_service(a->services & b->services);
            aj_service apart = aj_tax_first_service(a->services ^ b->services);
            const aj_tax *only = (a->services & (1u << apart)) ? a : b;
            return aj_tax_bad(detail, len,
                              "tax %s: shares %s with gross-up tax %s, but only %s covers %s (gross-up taxes must "
                              "cover the same services or none in common)",
                              b->name, aj_service_name(shared), a->name, only->name, aj_service_name(apart));
        }
    }
    return AJ_E_OK;
}

aj_err aj_tax_compute(const aj_contract *k, const aj_money base[AJ_SERVICE__COUNT], aj_tax_amount *out) {
    return aj_tax_compute_all(k, base, 0, out);
}

aj_err aj_tax_compute_all(const aj_contract *k, const aj_money base[AJ_SERVICE__COUNT], aj_money no_service,
                          aj_tax_amount *out) {
    static const int64_t step[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    aj_err rc;

    if (k->decimals < 0 || k->decimals > 6 || (unsigned)k->rounding >= AJ_ROUND__COUNT) return AJ_E_ARG;
    /* One minor unit of the contract's currency, in micro-units. */
    int64_t unit = step[k->decimals];
    for (size_t i = 0; i < k->n_taxes; i++) {
        const aj_tax *t = &k->taxes[i];
        aj_money b = 0, q;
        int64_t divisor;

        for (int s = 0; s < AJ_SERVICE__COUNT; s++)
            if ((t->services & (1u << s)) && (rc = aj_money_add(b, base[s], &b))) return rc;
        /* Charges of no service (one-time charges): only a tax covering every service. */
        if ((t->services & AJ_TAX_ALL_SERVICES) == AJ_TAX_ALL_SERVICES && (rc = aj_money_add(b, no_service, &b)))
            return rc;
        if (t->mode == AJ_TAX_GROSS_UP) {
            /* The gross-up taxes sharing its services: by aj_tax_check, the same set on each. */
            int64_t r = 0;
            for (size_t j = 0; j < k->n_taxes; j++)
                if (k->taxes[j].mode == AJ_TAX_GROSS_UP && (k->taxes[j].services & t->services))
                    r += k->taxes[j].rate_ppm;
            if (r >= AJ_TAX_PPM) return AJ_E_ARG;
            /* B x rate / (1 - R), in minor units: B x rate_ppm / ((10^6 - R_ppm) x unit). */
            divisor = (AJ_TAX_PPM - r) * unit;
        } else {
            /* B x rate, in minor units: B x rate_ppm / (10^6 x unit). */
            divisor = AJ_TAX_PPM * unit;
        }
        /* The one rounding, to the minor unit; then back to micro-units, exactly. */
        if ((rc = aj_money_muldiv(b, t->rate_ppm, divisor, k->rounding, &q))) return rc;
        if (__builtin_mul_overflow(q, unit, &out[i].amount)) return AJ_E_OVERFLOW;
        out[i].tax = t;
        out[i].base = b;
    }
    return AJ_E_OK;
}
