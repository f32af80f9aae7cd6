/* aj_classify.c - why a legacy charge is wrong: re-rating under counterfactual hypotheses. */
#include "aj_adjust.h"

#include <stdio.h>

/* Increments legacy chains are configured with, most common first: the first that reproduces
 * the legacy charge is the one named (docs/rating.md, WRONG_INCREMENT). */
static const int64_t aj_increment_candidates[][2] = {
    {60, 60}, {1, 1}, {30, 6}, {60, 1}, {30, 30}, {60, 6}, {60, 30},
};

static int aj_same_charge(const aj_rate *rate, int64_t quantity, aj_money legacy) {
    aj_charge c;
    return aj_rating_price(rate, quantity, &c) == AJ_E_OK && c.amount == legacy;
}

static void aj_fmt(aj_money m, char *buf, size_t len) {
    aj_money_format(m, 6, buf, len);
}

aj_reason aj_classify_usage(const aj_contract_store *store, const aj_plan *plan, const aj_usage *u,
                            const aj_charge *expected, char *hyp, size_t len) {
    char prefix[AJ_NUMBER_LEN + 1], a[32], b[32];
    size_t zone = aj_plan_zone_of(plan, u->service, u->destination, prefix);
    const aj_rate *rate = aj_plan_rate(plan, u->service, zone);
    int32_t version = aj_plan_contract(plan)->version;

    /* 1. An earlier contract version's rate for the same service and zone. */
    for (const aj_plan *prev = aj_contract_store_previous(store, plan); prev;
         prev = aj_contract_store_previous(store, prev)) {
        char pp[AJ_NUMBER_LEN + 1];
        const aj_rate *old = aj_plan_rate(prev, u->service, aj_plan_zone_of(prev, u->service, u->destination, pp));
        if (old && aj_same_charge(old, u->quantity, u->legacy_charge)) {
            aj_fmt(old->price, a, sizeof(a));
            aj_fmt(rate->price, b, sizeof(b));
            snprintf(hyp, len, "rated with contract version %d (price %s per %lld) instead of version %d (price %s per %lld)",
                     aj_plan_contract(prev)->version, a, (long long)old->rate_unit, version, b,
                     (long long)rate->rate_unit);
            return AJ_REASON_STALE_CONTRACT_VERSION;
        }
    }
    /* 2. The right price with other increments. */
    for (size_t i = 0; i < sizeof(aj_increment_candidates) / sizeof(aj_increment_candidates[0]); i++) {
        aj_rate alt = *rate;
        alt.first_increment = aj_increment_candidates[i][0];
        alt.next_increment = aj_increment_candidates[i][1];
        if (alt.first_increment == rate->first_increment && alt.next_increment == rate->next_increment)
            continue;
        if (aj_same_charge(&alt, u->quantity, u->legacy_charge)) {
            snprintf(hyp, len, "rated with increments %lld/%lld instead of %lld/%lld",
                     (long long)alt.first_increment, (long long)alt.next_increment,
                     (long long)rate->first_increment, (long long)rate->next_increment);
            return AJ_REASON_WRONG_INCREMENT;
        }
    }
    /* 3. Another zone's rate. */
    for (size_t z = 0; z < aj_plan_zone_count(plan); z++) {
        const aj_rate *other = aj_plan_rate(plan, u->service, z);
        if (z == zone || !other) continue;
        if (aj_same_charge(other, u->quantity, u->legacy_charge)) {
            snprintf(hyp, len, "rated as zone %s instead of %s (destination %s, prefix %s)",
                     aj_plan_zone_name(plan, z), aj_plan_zone_name(plan, zone), u->destination,
                     prefix[0] ? prefix : "none");
            return AJ_REASON_WRONG_ZONE;
        }
    }
    /* 4. The connect fee left out. */
    if (expected->trace.connect_fee > 0 && expected->amount - expected->trace.connect_fee == u->legacy_charge) {
        aj_fmt(expected->trace.connect_fee, a, sizeof(a));
        snprintf(hyp, len, "connect fee of %s not charged", a);
        return AJ_REASON_MISSING_CONNECT_FEE;
    }
    aj_fmt(u->legacy_charge, a, sizeof(a));
    aj_fmt(expected->amount, b, sizeof(b));
    snprintf(hyp, len, "legacy charged %s where the contract gives %s; no single hypothesis reproduces it", a, b);
    return AJ_REASON_PRICE_MISMATCH;
}

aj_reason aj_classify_recurring(const aj_line *line, const aj_recurring *r,
                                const aj_charge *expected, char *hyp, size_t len) {
    char a[32], b[32];

    if (!line) {
        snprintf(hyp, len, "line %s (%s) is not in the contract's inventory", r->line_id,
                 aj_service_name(r->service));
        return AJ_REASON_UNKNOWN_LINE;
    }
    aj_fmt(r->legacy_amount, a, sizeof(a));
    aj_fmt(expected->amount, b, sizeof(b));
    snprintf(hyp, len, "line %s charged %s where the contract's monthly price is %s", r->line_id, a, b);
    return AJ_REASON_RECURRING_PRICE;
}
