/* aj_rating.c - rating a record against a compiled plan (docs/rating.md, clause by clause). */
#include "aj_rating_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies src into the fixed field dst of size n, cut to fit (the hot path's snprintf). */
static void aj_set(char *dst, size_t n, const char *src) {
    size_t len = strlen(src);
    if (len >= n) len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* ---- destinations ---- */

/* Bits set in a 10-bit mask (no popcnt instruction is assumed of the target). */
static inline int aj_popcount10(unsigned x) {
    x = x - ((x >> 1) & 0x155u);
    x = (x & 0x333u) + ((x >> 2) & 0x333u);
    x = (x + (x >> 4)) & 0x30fu;
    return (int)((x + (x >> 8)) & 0x1fu);
}

size_t aj_plan_zone_of(const aj_plan *plan, aj_service service, const char *destination, char *prefix) {
    char digits[AJ_NUMBER_LEN + 1];
    int n = 0, best = -1, best_len = 0, node = 0, seen = 0;

    prefix[0] = '\0';
    if (service == AJ_SERVICE_DATA || plan->n_nodes <= 1) return plan->default_zone;
    /* Clause "Destinations": normalize (aj_normalize_number's rules) and walk the trie in one
     * pass; the deepest prefix that ends on the way wins. A leading "00" is looked at before
     * walking: "0" is a valid first digit of a prefix only when no "0" follows it. */
    const char *p = destination;
    for (; *p; p++) {
        char ch = *p;
        if (aj_number_separator(ch)) continue;
        if (ch < '0' || ch > '9') return plan->default_zone;
        if (seen == 0 && ch == '0') {
            /* Is the next digit a '0' too (the international access prefix)? */
            const char *q = p + 1;
            while (aj_number_separator(*q)) q++;
            if (*q == '0') {
                p = q;
                seen = 2;
                continue;
            }
        }
        seen = 2;
        if (n == AJ_NUMBER_LEN) return plan->default_zone;   /* does not normalize: too long */
        digits[n++] = ch;
        if (node >= 0) {
            const aj_cnode *c = &plan->trie[node];
            unsigned bit = 1u << (ch - '0');
            if (!(c->mask & bit)) {
                node = -1;   /* no longer prefix can match; keep validating the rest */
            } else {
                node = (int)c->first + aj_popcount10(c->mask & (bit - 1));
                if (plan->trie[node].zone >= 0) {
                    best = plan->trie[node].zone;
                    best_len = n;
                }
            }
        }
    }
    if (best < 0) return plan->default_zone;
    memcpy(prefix, digits, (size_t)best_len);
    prefix[best_len] = '\0';
    return (size_t)best;
}

/* ---- time bands ---- */

static int aj_band_holiday(const aj_band *b, int64_t days) {
    size_t lo = 0, hi = b->n_holidays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->holidays[mid] == days) return 1;
        if (b->holidays[mid] < days)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int aj_band_window(const aj_band *b, const aj_local *l) {
    int minute = (int)(l->ms_of_day / 60000);
    for (size_t w = 0; w < b->n_windows; w++) {
        const aj_window *win = &b->windows[w];
        if ((win->days & (1u << (l->weekday - 1))) && win->from_minute <= minute && minute < win->to_minute)
            return 1;
    }
    return 0;
}

static size_t aj_band_of_local(const aj_plan *plan, const aj_local *l) {
    const aj_contract *c = plan->c;
    /* Clause "Time bands": a holiday first, then the first band with a window, then the default. */
    for (size_t i = 0; i < c->n_bands; i++)
        if (aj_band_holiday(&c->bands[i], l->days)) return i;
    for (size_t i = 0; i < c->n_bands; i++)
        if (aj_band_window(&c->bands[i], l)) return i;
    return plan->default_band;
}

size_t aj_plan_band_at(const aj_plan *plan, int64_t utc_ms) {
    aj_local l;
    if (plan->c->n_bands == 0) return plan->default_band;
    aj_tz_local(plan->tz, utc_ms, &l);
    return aj_band_of_local(plan, &l);
}

/* Band at utc_ms and the first instant after it where the band may change: the next window
 * edge of the local day (or midnight), or an offset change of the time zone. */
static size_t aj_band_span(const aj_plan *plan, int64_t utc_ms, int64_t *until) {
    aj_local l;
    int64_t change;

    if (plan->c->n_bands == 0) {
        *until = INT64_MAX;
        return plan->default_band;
    }
    aj_tz_local(plan->tz, utc_ms, &l);
    aj_tz_offset(plan->tz, utc_ms, &change);
    int64_t edge = 1440LL * 60000;
    for (size_t i = 0; i < plan->n_edges; i++)
        if ((int64_t)plan->edges[i] * 60000 > l.ms_of_day) {
            edge = (int64_t)plan->edges[i] * 60000;
            break;
        }
    *until = utc_ms + (edge - l.ms_of_day);
    if (change < *until) *until = change;
    return aj_band_of_local(plan, &l);
}

const aj_rate *aj_plan_rate(const aj_plan *plan, aj_service service, size_t zone, size_t band) {
    if ((unsigned)service >= AJ_SERVICE__COUNT || zone >= plan->n_zones || band >= plan->n_bands) return NULL;
    int32_t i = plan->rate_of[((size_t)service * plan->n_zones + zone) * plan->n_bands + band];
    return i < 0 ? NULL : plan->rates[i].r;
}

static const aj_prate *aj_plan_prate(const aj_plan *plan, aj_service service, size_t zone, size_t band) {
    int32_t i = plan->rate_of[((size_t)service * plan->n_zones + zone) * plan->n_bands + band];
    return i < 0 ? NULL : &plan->rates[i];
}

/* ---- counters ---- */

int64_t aj_counters_used(const aj_counters *c, aj_counter_kind kind, const char *name) {
    if (!c) return 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].kind == kind && strcmp(c->v[i].name, name) == 0) return c->v[i].used;
    return 0;
}

aj_err aj_counters_add(aj_counters *c, aj_counter_kind kind, const char *name, int64_t amount) {
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].kind == kind && strcmp(c->v[i].name, name) == 0)
            return __builtin_add_overflow(c->v[i].used, amount, &c->v[i].used) ? AJ_E_OVERFLOW : AJ_E_OK;
    if (strlen(name) > AJ_KEY_LEN) return AJ_E_ARG;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        aj_counter *grown = realloc(c->v, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        c->v = grown;
        c->cap = cap;
    }
    aj_counter *e = &c->v[c->n++];
    e->kind = kind;
    aj_set(e->name, sizeof(e->name), name);
    e->used = amount;
    return AJ_E_OK;
}

void aj_counters_free(aj_counters *c) {
    free(c->v);
    memset(c, 0, sizeof(*c));
}

aj_err aj_charge_commit(const aj_charge *ch, aj_counters *state) {
    aj_err rc;
    for (size_t i = 0; i < ch->n_draws; i++)
        if ((rc = aj_counters_add(state, ch->draws[i].kind, ch->draws[i].name, ch->draws[i].amount))) return rc;
    return AJ_E_OK;
}

/* ---- exact fractions and rounding ---- */

/* A non-negative exact amount num/den of micro-units. */
typedef struct aj_frac {
    __int128 num;
    int64_t den;
} aj_frac;

static int64_t aj_gcd(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* f += len * price / unit, exactly. */
static aj_err aj_frac_add(aj_frac *f, int64_t len, int64_t price, int64_t unit) {
    __int128 term = (__int128)len * price;   /* both < 2^63: fits */
    if (unit != f->den) {
        int64_t g = aj_gcd(f->den, unit), den;
        if (__builtin_mul_overflow(f->den / g, unit, &den)) return AJ_E_OVERFLOW;
        if (__builtin_mul_overflow(f->num, (__int128)(den / f->den), &f->num) ||
            __builtin_mul_overflow(term, (__int128)(den / unit), &term))
            return AJ_E_OVERFLOW;
        f->den = den;
    }
    return __builtin_add_overflow(f->num, term, &f->num) ? AJ_E_OVERFLOW : AJ_E_OK;
}

/* num/den (num >= 0, den > 0) rounded by r to a multiple of 10^(6 - decimals) micro-units. */
static aj_err aj_round_frac(__int128 num, __int128 den, int32_t decimals, aj_rounding r, aj_money *out) {
    static const int64_t step_of[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    __int128 d, q, rem;
    if (__builtin_mul_overflow(den, (__int128)step_of[decimals], &d)) return AJ_E_OVERFLOW;
    if (num <= INT64_MAX && d <= INT64_MAX) {
        /* The common case, in 64 bits: a 128-bit division is a library call. */
        q = (int64_t)num / (int64_t)d;
        rem = (int64_t)num % (int64_t)d;
    } else {
        q = num / d;
        rem = num % d;
    }
    switch (r) {
    case AJ_ROUND_HALF_UP: q += 2 * rem >= d; break;
    case AJ_ROUND_HALF_EVEN: q += 2 * rem > d || (2 * rem == d && (q & 1)); break;
    case AJ_ROUND_UP: q += rem != 0; break;
    case AJ_ROUND_DOWN: break;
    default: return AJ_E_ARG;
    }
    q *= step_of[decimals];
    if (q > INT64_MAX) return AJ_E_OVERFLOW;
    *out = (aj_money)q;
    return AJ_E_OK;
}

/* amount x ppm / 10^6, rounded as the record's charge. */
static aj_err aj_percent(aj_money amount, int64_t ppm, const aj_rate *r, aj_money *out) {
    return aj_round_frac((__int128)amount * ppm, 1000000, r->decimals, r->rounding, out);
}

aj_err aj_rating_billed(int64_t quantity, int64_t first_increment, int64_t next_increment, int64_t *billed) {
    int64_t rest, blocks, extra, total;

    if (quantity <= 0) {
        *billed = 0;
        return AJ_E_OK;
    }
    if (quantity <= first_increment) {
        *billed = first_increment;
        return AJ_E_OK;
    }
    rest = quantity - first_increment;
    blocks = rest / next_increment + (rest % next_increment != 0);
    if (__builtin_mul_overflow(blocks, next_increment, &extra) || __builtin_add_overflow(first_increment, extra, &total))
        return AJ_E_OVERFLOW;
    *billed = total;
    return AJ_E_OK;
}

/* ---- usage ---- */

static void aj_trace_band(aj_trace *t, const char *name) {
    size_t len = strlen(t->bands), add = strlen(name);
    const char *last = len ? strrchr(t->bands, ',') : NULL;
    last = last ? last + 1 : t->bands;
    if (len && strcmp(last, name) == 0) return;
    if (len + add + 2 > sizeof(t->bands)) return;
    if (len) t->bands[len++] = ',';
    memcpy(t->bands + len, name, add + 1);
}

/* The tier of a rate for elapsed units e. */
static size_t aj_tier_at(const aj_prate *pr, int64_t e, int no_tiers) {
    size_t k = 0;
    if (no_tiers) return 0;
    while (k + 1 < pr->n_tiers && pr->tiers[k + 1].start <= e) k++;
    return k;
}

/*
 * Clauses "Increments", "Tiers" and "Time bands": walks the record's increments and sums the
 * price of the billed units from `free` on into f. The first increment is the start rate's
 * first_increment; each later one is the increment of the tier (by elapsed billed units) of
 * the rate of the band in force when it starts. Runs of increments with the same rate and
 * tier are taken in closed form. *billed gets the total billed units.
 */
static aj_err aj_walk(const aj_plan *plan, const aj_usage *u, size_t zone, size_t start_band, int64_t band_until,
                      const aj_hyp *h, int64_t promo_price, int64_t free, aj_frac *f, int64_t *billed, aj_trace *t) {
    int split = band_until != INT64_MAX;
    int no_tiers = (h->flags & AJ_HYP_NO_TIERS) != 0;
    int64_t q = u->quantity, e = 0;
    size_t band = start_band, traced = SIZE_MAX;
    aj_err rc;

    while (e < q) {
        const aj_prate *pr = aj_plan_prate(plan, u->service, zone, band);
        if (!pr) {
            aj_set(t->band, sizeof(t->band), plan->band_names[band]);
            return AJ_E_NO_RATE;
        }
        size_t k = aj_tier_at(pr, e, no_tiers);
        int64_t price = promo_price >= 0 ? promo_price : pr->tiers[k].price;
        int64_t inc = h->next_increment > 0 ? h->next_increment : pr->tiers[k].increment;
        int64_t limit = q, count = 1, end;
        if (band != traced) {
            aj_trace_band(t, plan->band_names[band]);
            traced = band;
        }
        if ((int32_t)k > t->tiers) t->tiers = (int32_t)k;
        if (e == 0) {
            /* The first increment, whatever tier or band boundary falls inside it. */
            inc = h->first_increment > 0 ? h->first_increment : pr->r->first_increment;
        } else {
            if (!no_tiers && k + 1 < pr->n_tiers && pr->tiers[k + 1].start < limit) limit = pr->tiers[k + 1].start;
            if (split && band_until != INT64_MAX) {
                /* Increments that start before the boundary: elapsed x with start + 1000x < until. */
                int64_t ms = band_until - u->start_ms;
                int64_t eb = ms / 1000 + (ms % 1000 != 0);
                if (eb < limit) limit = eb;
            }
            if (limit > e) count = (limit - e) / inc + ((limit - e) % inc != 0);
        }
        if (__builtin_mul_overflow(count, inc, &end) || __builtin_add_overflow(end, e, &end)) return AJ_E_OVERFLOW;
        int64_t from = e > free ? e : free;
        if (from < end && (rc = aj_frac_add(f, end - from, price, pr->r->rate_unit))) return rc;
        e = end;
        if (split && e < q) {
            int64_t at;
            if (__builtin_mul_overflow(e, 1000, &at) || __builtin_add_overflow(at, u->start_ms, &at))
                return AJ_E_OVERFLOW;
            if (at >= band_until) band = aj_band_span(plan, at, &band_until);
        }
    }
    *billed = e;
    return AJ_E_OK;
}

static int aj_in_zones(const aj_pzones *z, size_t zone) {
    return !z->in || z->in[zone];
}

/* Clause "Promotions": the promotion in force for the record, or -1. */
static int aj_pick_promotion(const aj_plan *plan, const aj_usage *u, size_t zone) {
    const aj_contract *c = plan->c;
    int best = -1;
    for (size_t i = 0; i < c->n_promotions; i++) {
        const aj_promotion *m = &c->promotions[i];
        if (m->service != u->service || !aj_in_zones(&plan->promotion_zones[i], zone) || u->start_ms < m->valid_from ||
            u->start_ms >= m->valid_to)
            continue;
        if (best < 0 || m->priority > c->promotions[best].priority) best = (int)i;
    }
    return best;
}

static aj_err aj_draw_add(aj_charge *out, aj_counter_kind kind, const char *name, int64_t amount) {
    if (out->n_draws == AJ_MAX_DRAWS) return AJ_E_OVERFLOW;
    out->draws[out->n_draws++] = (aj_draw){kind, name, amount};
    return AJ_E_OK;
}

/* Clause "Allowances": the units left to the record, from the promotion's free units, then
 * from each matching allowance in order, each recorded as a draw of all it has left (trimmed
 * by aj_trim_draws once the billed quantity is known). */
static aj_err aj_cover(const aj_plan *plan, const aj_usage *u, size_t zone, int promo, const aj_counters *state,
                       const aj_hyp *h, aj_charge *out, int64_t *avail) {
    const aj_contract *c = plan->c;
    int64_t total = 0;
    aj_err rc;

    if (promo >= 0 && c->promotions[promo].kind == AJ_PROMO_FREE_UNITS) {
        const aj_promotion *m = &c->promotions[promo];
        int64_t left = m->value - aj_counters_used(state, AJ_COUNTER_FREE_UNITS, m->name);
        if (left > 0) {
            if ((rc = aj_draw_add(out, AJ_COUNTER_FREE_UNITS, m->name, left))) return rc;
            total = left;
        }
    }
    for (size_t i = 0; !(h->flags & AJ_HYP_NO_ALLOWANCE) && i < c->n_allowances; i++) {
        const aj_allowance *a = &c->allowances[i];
        if (a->service != u->service || !aj_in_zones(&plan->allowance_zones[i], zone)) continue;
        int64_t left = a->units - aj_counters_used(state, AJ_COUNTER_ALLOWANCE, a->name);
        if (left <= 0) continue;
        if ((rc = aj_draw_add(out, AJ_COUNTER_ALLOWANCE, a->name, left))) return rc;
        if (__builtin_add_overflow(total, left, &total)) return AJ_E_OVERFLOW;
    }
    *avail = total;
    return AJ_E_OK;
}

/* Keeps of the draws only the covered units, from the first on; names the first in the trace. */
static void aj_trim_draws(aj_charge *out, int64_t covered) {
    size_t k = 0;
    for (size_t i = 0; i < out->n_draws && covered > 0; i++) {
        aj_draw d = out->draws[i];
        if (d.amount > covered) d.amount = covered;
        covered -= d.amount;
        out->draws[k++] = d;
    }
    out->n_draws = k;
    if (k) aj_set(out->trace.allowance, sizeof(out->trace.allowance), out->draws[0].name);
}

/* Clause "Discounts": the first discount matching the record, on its charge after promotions. */
static aj_err aj_apply_discount(const aj_plan *plan, const aj_usage *u, size_t zone, const aj_counters *state,
                          const aj_rate *r, aj_charge *out) {
    const aj_contract *c = plan->c;
    aj_money d;
    aj_err rc;

    for (size_t i = 0; i < c->n_discounts; i++) {
        const aj_discount *ds = &c->discounts[i];
        if (ds->service != u->service || !aj_in_zones(&plan->discount_zones[i], zone)) continue;
        if ((rc = aj_percent(out->amount, ds->percent_ppm, r, &d))) return rc;
        if (d > out->amount) d = out->amount;   /* a minimum off the R1 grid: never below zero */
        if (ds->cap) {
            aj_money left = ds->cap - aj_counters_used(state, AJ_COUNTER_DISCOUNT, ds->name);
            if (left < 0) left = 0;
            if (d > left) d = left;
            if (d > 0 && (rc = aj_draw_add(out, AJ_COUNTER_DISCOUNT, ds->name, d))) return rc;
        }
        aj_set(out->trace.discount, sizeof(out->trace.discount), ds->name);
        out->trace.discount_amount = d;
        out->amount -= d;
        return AJ_E_OK;
    }
    return AJ_E_OK;
}

aj_err aj_rating_rate_usage(const aj_plan *plan, const aj_usage *u, const aj_counters *state, const aj_hyp *hyp,
                            aj_charge *out) {
    const aj_hyp none = AJ_HYP_NONE;
    const aj_hyp *h = hyp ? hyp : &none;
    aj_trace *t = &out->trace;
    int64_t avail, billed, covered;
    aj_frac f;
    aj_err rc;

    /* Every field of the trace is set below (a 450-byte memset per record shows in profiles). */
    t->bands[0] = t->allowance[0] = t->promotion[0] = t->discount[0] = '\0';
    t->tiers = 0;
    t->billed_quantity = t->free_units = t->connect_fee = 0;
    t->promotion_amount = t->discount_amount = 0;
    t->clamp = AJ_CLAMP_NONE;
    t->first_increment = t->next_increment = t->price = t->rate_unit = 0;
    t->decimals = 0;
    t->rounding = AJ_ROUND_HALF_UP;
    out->amount = 0;
    out->n_draws = 0;
    t->contract_version = plan->c->version;
    t->quantity = u->quantity;
    /* Clause "Destinations". */
    size_t zone = aj_plan_zone_of(plan, u->service, u->destination, t->matched_prefix);
    if (h->zone >= 0 && (size_t)h->zone < plan->n_zones) {
        zone = (size_t)h->zone;
        t->matched_prefix[0] = '\0';
    }
    aj_set(t->zone, sizeof(t->zone), plan->zone_names[zone]);
    /* Clause "Time bands": the band at the start (or the hypothesis's); in SPLIT mode also
     * until when it holds. */
    int64_t band_until = INT64_MAX;
    size_t band;
    if (h->band >= 0 && (size_t)h->band < plan->n_bands)
        band = (size_t)h->band;
    else if (plan->c->band_mode == AJ_BAND_SPLIT && u->service == AJ_SERVICE_VOICE && h->band < 0)
        band = aj_band_span(plan, u->start_ms, &band_until);
    else
        band = aj_plan_band_at(plan, u->start_ms);
    aj_set(t->band, sizeof(t->band), plan->band_names[band]);
    const aj_prate *start = aj_plan_prate(plan, u->service, zone, band);
    if (!start) return AJ_E_NO_RATE;
    const aj_rate *r = start->r;
    t->first_increment = h->first_increment > 0 ? h->first_increment : r->first_increment;
    t->next_increment = h->next_increment > 0 ? h->next_increment : r->next_increment;
    t->price = r->price;
    t->rate_unit = r->rate_unit;
    t->decimals = r->decimals;
    t->rounding = r->rounding;
    /* Clause "Usage charge": a record with nothing used costs nothing. */
    if (u->quantity <= 0) return AJ_E_OK;

    int promo = h->flags & AJ_HYP_NO_PROMOTION ? -1 : aj_pick_promotion(plan, u, zone);
    const aj_promotion *m = promo >= 0 ? &plan->c->promotions[promo] : NULL;
    if (m) aj_set(t->promotion, sizeof(t->promotion), m->name);
    if ((rc = aj_cover(plan, u, zone, promo, state, h, out, &avail))) return rc;
    f.num = 0;
    f.den = r->rate_unit;
    if ((rc = aj_walk(plan, u, zone, band, band_until, h, m && m->kind == AJ_PROMO_PRICE ? m->value : -1, avail, &f,
                      &billed, t)))
        return rc;
    t->billed_quantity = billed;
    covered = avail < billed ? avail : billed;
    aj_trim_draws(out, covered);
    t->free_units = covered;

    t->connect_fee = h->flags & AJ_HYP_NO_CONNECT_FEE ? 0 : r->connect_fee;
    __int128 fee;
    if (__builtin_mul_overflow((__int128)t->connect_fee, (__int128)f.den, &fee) ||
        __builtin_add_overflow(f.num, fee, &f.num))
        return AJ_E_OVERFLOW;
    /* Clause "Rounding": once, at the rate's decimals, by its method. */
    if ((rc = aj_round_frac(f.num, f.den, r->decimals, r->rounding, &out->amount))) return rc;
    /* Clause "Minimum and maximum": only a record with chargeable units. */
    if (!(h->flags & AJ_HYP_NO_MINMAX) && covered < billed) {
        if (r->min_charge && out->amount < r->min_charge) {
            out->amount = r->min_charge;
            t->clamp = AJ_CLAMP_MIN;
        } else if (r->max_charge && out->amount > r->max_charge) {
            out->amount = r->max_charge;
            t->clamp = AJ_CLAMP_MAX;
        }
    }
    /* Clause "Promotions": a percentage off. */
    if (m && m->kind == AJ_PROMO_PERCENT_OFF) {
        if ((rc = aj_percent(out->amount, m->value, r, &t->promotion_amount))) return rc;
        if (t->promotion_amount > out->amount) t->promotion_amount = out->amount;
        out->amount -= t->promotion_amount;
    }
    if (!(h->flags & AJ_HYP_NO_DISCOUNT) && (rc = aj_apply_discount(plan, u, zone, state, r, out))) return rc;
    return AJ_E_OK;
}

/* ---- recurring charges ---- */

void aj_rating_period_days(const aj_tz *tz, int64_t start_ms, int64_t end_ms, int64_t *first, int64_t *end_day) {
    aj_local a, b;
    aj_tz_local(tz, start_ms, &a);
    aj_tz_local(tz, end_ms > start_ms ? end_ms - 1 : start_ms, &b);
    *first = a.days;
    *end_day = b.days + 1;
}

int64_t aj_rating_line_days(const aj_tz *tz, const aj_line *line, int64_t first, int64_t end_day) {
    int64_t from = first, to = end_day;
    aj_local l;
    /* Clause "Recurring charges": the activation date counts, the deactivation date does not. */
    if (line->active_from != INT64_MIN) {
        aj_tz_local(tz, line->active_from, &l);
        if (l.days > from) from = l.days;
    }
    if (line->active_to != INT64_MAX) {
        aj_tz_local(tz, line->active_to, &l);
        if (l.days < to) to = l.days;
    }
    return to > from ? to - from : 0;
}

aj_err aj_rating_line_amount(const aj_plan *plan, const aj_line *line, int64_t start_ms, int64_t end_ms, int prorate,
                             aj_money *amount, int64_t *active_days, int64_t *period_days) {
    int64_t first, end_day, days, full;
    __int128 num;

    aj_rating_period_days(plan->tz, start_ms, end_ms, &first, &end_day);
    *period_days = end_day - first;
    days = prorate ? aj_rating_line_days(plan->tz, line, first, end_day) : *period_days;
    *active_days = days;
    if (__builtin_mul_overflow(line->monthly_price, (int64_t)line->quantity, &full)) return AJ_E_OVERFLOW;
    num = (__int128)full * days;
    return aj_round_frac(num, *period_days > 0 ? *period_days : 1, plan->c->decimals, plan->c->rounding, amount);
}

/* ---- one-time charges ---- */

aj_err aj_rating_one_time_amount(const aj_plan *plan, const aj_one_time *o, const aj_otc_price **price,
                                 aj_money *amount) {
    *amount = 0;
    if (!(*price = aj_plan_one_time(plan, o->charge_code))) return AJ_E_NOT_FOUND;
    /* Clause "One-time charges": price x quantity, exact; both are integral micro-units and
     * units, so there is nothing to round. */
    if (__builtin_mul_overflow((*price)->price, o->quantity, amount)) {
        *amount = 0;
        return AJ_E_OVERFLOW;
    }
    return AJ_E_OK;
}
