/* aj_classify.c - why a legacy charge is wrong: re-rating under counterfactual hypotheses.
 *
 * docs/rating.md "Reasons" lists the hypotheses in the order tried here; the first whose
 * charge equals the legacy charge names the reason. A hypothesis that changes nothing gives
 * the expected charge, which differs from the legacy one, so it can never match: no
 * hypothesis needs a separate "does it apply" test.
 */
#include "aj_adjust.h"

#include <stdio.h>

/* Increments legacy chains are configured with, most common first: the first that reproduces
 * the legacy charge is the one named. */
static const int64_t aj_increment_candidates[][2] = {
    {60, 60}, {1, 1}, {30, 6}, {60, 1}, {30, 30}, {60, 6}, {60, 30}, {6, 6},
};

static void aj_fmt(aj_money m, char *buf, size_t len) {
    aj_money_format(m, 6, buf, len);
}

static int aj_reproduces(const aj_plan *plan, const aj_usage *u, const aj_counters *state, const aj_hyp *h,
                         aj_charge *c) {
    return aj_rating_rate_usage(plan, u, state, h, c) == AJ_E_OK && c->amount == u->legacy_charge;
}

aj_reason aj_classify_usage(const aj_contract_store *store, const aj_plan *plan, const aj_usage *u,
                            const aj_counters *state, const aj_charge *expected, char *hyp, size_t len) {
    const aj_trace *t = &expected->trace;
    char a[32], b[32];
    aj_charge c;
    aj_hyp h;

    /* 1. An earlier contract version. */
    for (const aj_plan *prev = aj_contract_store_previous(store, plan); prev;
         prev = aj_contract_store_previous(store, prev))
        if (aj_reproduces(prev, u, state, NULL, &c)) {
            aj_fmt(c.trace.price, a, sizeof(a));
            aj_fmt(t->price, b, sizeof(b));
            snprintf(hyp, len, "rated with contract version %d (%s per %lld) instead of version %d (%s per %lld)",
                     aj_plan_contract(prev)->version, a, (long long)c.trace.rate_unit, t->contract_version, b,
                     (long long)t->rate_unit);
            return AJ_REASON_STALE_CONTRACT_VERSION;
        }
    /* 2. Another zone. */
    for (size_t z = 0; z < aj_plan_zone_count(plan); z++) {
        h = AJ_HYP_NONE;
        h.zone = (int32_t)z;
        if (aj_reproduces(plan, u, state, &h, &c)) {
            snprintf(hyp, len, "rated as zone %s instead of %s (destination %s, prefix %s)", aj_plan_zone_name(plan, z),
                     t->zone, u->destination, t->matched_prefix[0] ? t->matched_prefix : "none");
            return AJ_REASON_WRONG_ZONE;
        }
    }
    /* 3. Another time band, for the whole record. */
    for (size_t bd = 0; aj_plan_band_count(plan) > 1 && bd < aj_plan_band_count(plan); bd++) {
        h = AJ_HYP_NONE;
        h.band = (int32_t)bd;
        if (aj_reproduces(plan, u, state, &h, &c)) {
            snprintf(hyp, len, "rated in band %s instead of %s", aj_plan_band_name(plan, bd), t->bands);
            return AJ_REASON_WRONG_TIME_BAND;
        }
    }
    /* 4. Other increments. */
    for (size_t i = 0; i < sizeof(aj_increment_candidates) / sizeof(aj_increment_candidates[0]); i++) {
        h = AJ_HYP_NONE;
        h.first_increment = aj_increment_candidates[i][0];
        h.next_increment = aj_increment_candidates[i][1];
        if (aj_reproduces(plan, u, state, &h, &c)) {
            snprintf(hyp, len, "rated with increments %lld/%lld instead of %lld/%lld (billed %lld instead of %lld)",
                     (long long)h.first_increment, (long long)h.next_increment, (long long)t->first_increment,
                     (long long)t->next_increment, (long long)c.trace.billed_quantity, (long long)t->billed_quantity);
            return AJ_REASON_INCREMENT_ROUNDING;
        }
    }
    /* 5. The connect fee: left out, or charged on a record with nothing used. */
    h = AJ_HYP_NONE;
    h.flags = AJ_HYP_NO_CONNECT_FEE;
    if (t->connect_fee > 0 && aj_reproduces(plan, u, state, &h, &c)) {
        aj_fmt(t->connect_fee, a, sizeof(a));
        snprintf(hyp, len, "connect fee of %s not charged", a);
        return AJ_REASON_CONNECT_FEE;
    }
    if (u->quantity == 0) {
        char prefix[AJ_NUMBER_LEN + 1];
        size_t zone = aj_plan_zone_of(plan, u->service, u->destination, prefix);
        const aj_rate *r = aj_plan_rate(plan, u->service, zone, aj_plan_band_at(plan, u->start_ms));
        if (r && r->connect_fee > 0 && r->connect_fee == u->legacy_charge) {
            aj_fmt(r->connect_fee, a, sizeof(a));
            snprintf(hyp, len, "connect fee of %s charged on a record with nothing used", a);
            return AJ_REASON_CONNECT_FEE;
        }
    }
    /* 6-10. A rule of the contract left out. */
    static const struct {
        unsigned flag;
        aj_reason reason;
        const char *what;
    } rules[] = {
        {AJ_HYP_NO_TIERS, AJ_REASON_TIER_NOT_APPLIED, "tiers"},
        {AJ_HYP_NO_ALLOWANCE, AJ_REASON_ALLOWANCE_NOT_APPLIED, "allowance"},
        {AJ_HYP_NO_PROMOTION, AJ_REASON_PROMOTION_NOT_APPLIED, "promotion"},
        {AJ_HYP_NO_DISCOUNT, AJ_REASON_DISCOUNT_NOT_APPLIED, "discount"},
        {AJ_HYP_NO_MINMAX, AJ_REASON_MIN_MAX_CHARGE, "minimum or maximum"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        h = AJ_HYP_NONE;
        h.flags = rules[i].flag;
        if (!aj_reproduces(plan, u, state, &h, &c)) continue;
        switch (rules[i].reason) {
        case AJ_REASON_ALLOWANCE_NOT_APPLIED:
            snprintf(hyp, len, "allowance %s not applied (%lld billed units were covered)", t->allowance,
                     (long long)t->free_units);
            break;
        case AJ_REASON_PROMOTION_NOT_APPLIED:
            snprintf(hyp, len, "promotion %s not applied", t->promotion);
            break;
        case AJ_REASON_DISCOUNT_NOT_APPLIED:
            snprintf(hyp, len, "discount %s not applied", t->discount);
            break;
        case AJ_REASON_MIN_MAX_CHARGE:
            snprintf(hyp, len, "%s charge of the rate not applied", t->clamp == AJ_CLAMP_MAX ? "maximum" : "minimum");
            break;
        default:
            snprintf(hyp, len, "%s not applied: every increment at the first tier's price", rules[i].what);
        }
        return rules[i].reason;
    }
    aj_fmt(u->legacy_charge, a, sizeof(a));
    aj_fmt(expected->amount, b, sizeof(b));
    snprintf(hyp, len, "legacy charged %s where the contract gives %s; no single hypothesis reproduces it", a, b);
    return AJ_REASON_RATE_MISMATCH;
}
