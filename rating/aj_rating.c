/* aj_rating.c - compiling a contract version into a plan and rating records against it. */
#include "aj_rating_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Orders prefixes by digits, a shorter prefix before its extensions. */
static int aj_prefix_cmp(const aj_prefix *a, const char *digits, uint32_t len) {
    uint32_t n = a->len < len ? a->len : len;
    int c = memcmp(a->digits, digits, n);
    if (c) return c;
    return a->len < len ? -1 : a->len > len ? 1 : 0;
}

static int aj_prefix_sort(const void *x, const void *y) {
    const aj_prefix *a = x, *b = y;
    return aj_prefix_cmp(a, b->digits, b->len);
}

void aj_plan_free(aj_plan *p) {
    if (!p) return;
    aj_contract_free(p->c);
    free(p->zone_names);
    free(p->prefixes);
    free(p->rate_of);
    free(p);
}

static int aj_plan_zone_index(const aj_plan *p, const char *name) {
    for (size_t i = 0; i < p->n_zones; i++)
        if (strcmp(p->zone_names[i], name) == 0) return (int)i;
    return -1;
}

aj_err aj_plan_compile(aj_contract *c, aj_plan **out, char *detail, size_t detlen) {
    aj_plan *p = calloc(1, sizeof(*p));
    size_t n_prefixes = 0;

    if (!p) {
        aj_contract_free(c);
        return AJ_E_NOMEM;
    }
    p->c = c;
    if (c->effective_to <= c->effective_from) {
        snprintf(detail, detlen, "contract %s v%d: effective_to is not after effective_from",
                 c->contract_id, c->version);
        goto bad;
    }
    /* Zones: the contract's, then the default zone when it is not one of them. */
    if (!(p->zone_names = calloc(c->n_zones + 1, sizeof(*p->zone_names)))) goto nomem;
    for (size_t i = 0; i < c->n_zones; i++) {
        if (aj_plan_zone_index(p, c->zones[i].name) >= 0) {
            snprintf(detail, detlen, "contract %s v%d: zone %s defined twice", c->contract_id,
                     c->version, c->zones[i].name);
            goto bad;
        }
        p->zone_names[p->n_zones++] = c->zones[i].name;
        n_prefixes += c->zones[i].n_prefixes;
    }
    int def = aj_plan_zone_index(p, c->default_zone);
    if (def < 0) {
        def = (int)p->n_zones;
        p->zone_names[p->n_zones++] = c->default_zone;
    }
    p->default_zone = (size_t)def;

    /* Prefix table, sorted for binary search; a prefix in two zones is ambiguous. */
    if (n_prefixes && !(p->prefixes = malloc(n_prefixes * sizeof(*p->prefixes)))) goto nomem;
    for (size_t z = 0; z < c->n_zones; z++)
        for (size_t j = 0; j < c->zones[z].n_prefixes; j++) {
            aj_prefix *e = &p->prefixes[p->n_prefixes++];
            e->digits = c->zones[z].prefixes[j];
            e->len = (uint32_t)strlen(e->digits);
            e->zone = (uint32_t)z;
            if (e->len == 0 || e->len > AJ_NUMBER_LEN) {
                snprintf(detail, detlen, "contract %s v%d: zone %s has an empty or too long prefix",
                         c->contract_id, c->version, c->zones[z].name);
                goto bad;
            }
            if (e->len > p->max_prefix_len) p->max_prefix_len = e->len;
        }
    if (p->n_prefixes) qsort(p->prefixes, p->n_prefixes, sizeof(*p->prefixes), aj_prefix_sort);
    for (size_t i = 1; i < p->n_prefixes; i++)
        if (aj_prefix_sort(&p->prefixes[i - 1], &p->prefixes[i]) == 0) {
            snprintf(detail, detlen, "contract %s v%d: prefix %s is in zones %s and %s",
                     c->contract_id, c->version, p->prefixes[i].digits,
                     p->zone_names[p->prefixes[i - 1].zone], p->zone_names[p->prefixes[i].zone]);
            goto bad;
        }

    /* Rates by (service, zone). */
    size_t cells = (size_t)AJ_SERVICE__COUNT * p->n_zones;
    if (!(p->rate_of = malloc(cells * sizeof(*p->rate_of)))) goto nomem;
    for (size_t i = 0; i < cells; i++) p->rate_of[i] = -1;
    for (size_t i = 0; i < c->n_rates; i++) {
        const aj_rate *r = &c->rates[i];
        int z = aj_plan_zone_index(p, r->zone);
        if (z < 0) {
            snprintf(detail, detlen, "contract %s v%d: rate for %s names unknown zone %s",
                     c->contract_id, c->version, aj_service_name(r->service), r->zone);
            goto bad;
        }
        if (r->rate_unit <= 0 || r->first_increment <= 0 || r->next_increment <= 0 ||
            r->price < 0 || r->connect_fee < 0) {
            snprintf(detail, detlen,
                     "contract %s v%d: rate %s/%s needs positive rate_unit and increments and "
                     "non-negative prices", c->contract_id, c->version,
                     aj_service_name(r->service), r->zone);
            goto bad;
        }
        int32_t *cell = &p->rate_of[(size_t)r->service * p->n_zones + (size_t)z];
        if (*cell >= 0) {
            snprintf(detail, detlen, "contract %s v%d: two rates for %s in zone %s",
                     c->contract_id, c->version, aj_service_name(r->service), r->zone);
            goto bad;
        }
        *cell = (int32_t)i;
    }
    *out = p;
    return AJ_E_OK;

nomem:
    aj_plan_free(p);
    return AJ_E_NOMEM;
bad:
    aj_plan_free(p);
    return AJ_E_BAD_CONTRACT;
}

const aj_contract *aj_plan_contract(const aj_plan *plan) {
    return plan->c;
}

size_t aj_plan_zone_count(const aj_plan *plan) {
    return plan->n_zones;
}

const char *aj_plan_zone_name(const aj_plan *plan, size_t zone) {
    return zone < plan->n_zones ? plan->zone_names[zone] : "";
}

size_t aj_plan_zone_of(const aj_plan *plan, aj_service service, const char *destination,
                       char *prefix) {
    char digits[AJ_NUMBER_LEN + 1];
    int n;

    prefix[0] = '\0';
    if (service == AJ_SERVICE_DATA || plan->n_prefixes == 0) return plan->default_zone;
    if ((n = aj_normalize_number(destination, digits, sizeof(digits))) <= 0) return plan->default_zone;
    uint32_t len = (uint32_t)n < plan->max_prefix_len ? (uint32_t)n : plan->max_prefix_len;
    /* Longest prefix first: the first exact hit wins. */
    for (; len > 0; len--) {
        size_t lo = 0, hi = plan->n_prefixes;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = aj_prefix_cmp(&plan->prefixes[mid], digits, len);
            if (c == 0) {
                memcpy(prefix, digits, len);
                prefix[len] = '\0';
                return plan->prefixes[mid].zone;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return plan->default_zone;
}

const aj_rate *aj_plan_rate(const aj_plan *plan, aj_service service, size_t zone) {
    if ((unsigned)service >= AJ_SERVICE__COUNT || zone >= plan->n_zones) return NULL;
    int32_t i = plan->rate_of[(size_t)service * plan->n_zones + zone];
    return i < 0 ? NULL : &plan->c->rates[i];
}

aj_err aj_rating_billed(int64_t quantity, int64_t first_increment, int64_t next_increment,
                        int64_t *billed) {
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
    if (__builtin_mul_overflow(blocks, next_increment, &extra) ||
        __builtin_add_overflow(first_increment, extra, &total))
        return AJ_E_OVERFLOW;
    *billed = total;
    return AJ_E_OK;
}

aj_err aj_rating_price(const aj_rate *rate, int64_t quantity, aj_charge *out) {
    aj_money units;
    aj_err rc;

    out->trace.quantity = quantity;
    out->trace.first_increment = rate->first_increment;
    out->trace.next_increment = rate->next_increment;
    out->trace.price = rate->price;
    out->trace.rate_unit = rate->rate_unit;
    out->trace.connect_fee = quantity > 0 ? rate->connect_fee : 0;
    out->trace.billed_quantity = 0;
    out->amount = 0;
    if (quantity <= 0) return AJ_E_OK;
    if ((rc = aj_rating_billed(quantity, rate->first_increment, rate->next_increment,
                               &out->trace.billed_quantity)) != AJ_E_OK)
        return rc;
    /* Clause "Usage charge": the billed quantity times the unit price, rounded HALF_UP to the
     * micro-unit, plus the connect fee. */
    if ((rc = aj_money_muldiv(out->trace.billed_quantity, rate->price, rate->rate_unit,
                              AJ_ROUND_HALF_UP, &units)) != AJ_E_OK)
        return rc;
    return aj_money_add(units, rate->connect_fee, &out->amount);
}

aj_err aj_rating_rate_usage(const aj_plan *plan, const aj_usage *u, aj_charge *out) {
    char prefix[AJ_NUMBER_LEN + 1];
    size_t zone = aj_plan_zone_of(plan, u->service, u->destination, prefix);
    const aj_rate *rate = aj_plan_rate(plan, u->service, zone);
    aj_err rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->trace.zone, sizeof(out->trace.zone), "%s", plan->zone_names[zone]);
    snprintf(out->trace.matched_prefix, sizeof(out->trace.matched_prefix), "%s", prefix);
    if (!rate) return AJ_E_NO_RATE;
    rc = aj_rating_price(rate, u->quantity, out);
    return rc;
}

aj_err aj_rating_rate_recurring(const aj_plan *plan, const aj_recurring *r, aj_charge *out,
                                const aj_line **line) {
    const aj_contract *c = plan->c;

    memset(out, 0, sizeof(*out));
    out->trace.quantity = 1;
    out->trace.billed_quantity = 1;
    out->trace.rate_unit = 1;
    *line = NULL;
    for (size_t i = 0; i < c->n_lines; i++) {
        if (strcmp(c->lines[i].line_id, r->line_id) != 0) continue;
        if (c->lines[i].service != r->service) break;
        *line = &c->lines[i];
        out->amount = c->lines[i].monthly_price;
        out->trace.price = c->lines[i].monthly_price;
        return AJ_E_OK;
    }
    return AJ_E_NOT_FOUND;
}
