/* aj_policy.h - the correction policy: what an invoice does with each correction, and when an
 * invoice is held for review (docs/invoice.md, "Policy"). */
#ifndef AJ_POLICY_H
#define AJ_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "aj_config.h"
#include "aj_types.h"

/* Index of the side of a correction in aj_policy.disposition. */
#define AJ_SIDE_OVERCHARGE 0   /* delta < 0: the legacy chain charged too much */
#define AJ_SIDE_UNDERCHARGE 1  /* delta > 0: it charged too little */

typedef struct aj_policy {
    aj_disposition disposition[AJ_REASON__COUNT][2];
    aj_money materiality_amount;   /* hold an invoice whose gross adjustment exceeds it; 0: off */
    int64_t materiality_ppm;       /* ... or exceeds this share of its legacy total; 0: off */
    int rerate;                    /* re-rate after backdated amendments (docs/rating.md); default 1 */
} aj_policy;

/* APPLY every overcharge, FLAG every undercharge, no materiality threshold, re-rate after
 * backdated amendments. */
void aj_policy_default(aj_policy *p);

/* The disposition of a correction of reason r with this delta. */
static inline aj_disposition aj_policy_of(const aj_policy *p, aj_reason r, aj_money delta) {
    return p->disposition[r][delta > 0 ? AJ_SIDE_UNDERCHARGE : AJ_SIDE_OVERCHARGE];
}

/* Sets one side (AJ_SIDE_*), or both when side < 0, of every reason to d. */
void aj_policy_set_all(aj_policy *p, int side, aj_disposition d);

/*
 * Applies rules such as "RATE_MISMATCH=HOLD, MRC_MISSING:undercharge=APPLY": comma-separated
 * REASON[:overcharge|:undercharge]=APPLY|FLAG|HOLD, later rules winning. AJ_E_CONFIG with a
 * message naming the bad rule in err.
 */
aj_err aj_policy_parse_rules(aj_policy *p, const char *rules, char *err, size_t errlen);

/* Parses a percentage "12.5" or "12.5%" (0..100, up to 4 decimals) into ppm: AJ_E_CONFIG. */
aj_err aj_policy_parse_percent(const char *s, int64_t *ppm, char *err, size_t errlen);

/*
 * True when an invoice with this gross adjustment (overcharges removed + undercharges added)
 * on this legacy total crosses the materiality threshold; why gets the explanation.
 */
int aj_policy_material(const aj_policy *p, aj_money gross, aj_money legacy_total, char *why, size_t len);

/* The policy of a configuration (policy.*, materiality.*; checked when they were set). */
aj_err aj_policy_from_config(const aj_config *cfg, aj_policy *p, char *err, size_t errlen);

#endif /* AJ_POLICY_H */
