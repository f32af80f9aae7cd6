/* aj_plan.c - compiling a contract version into a plan: trie, bands, rate table, zone sets. */
#include "aj_rating_int.h"
#include "aj_tax.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aj_plan_free(aj_plan *p) {
    if (!p) return;
    if (p->rates)
        for (size_t i = 0; i < p->c->n_rates; i++) free(p->rates[i].tiers);
    for (size_t i = 0; p->allowance_zones && i < p->c->n_allowances; i++) free(p->allowance_zones[i].in);
    for (size_t i = 0; p->discount_zones && i < p->c->n_discounts; i++) free(p->discount_zones[i].in);
    for (size_t i = 0; p->promotion_zones && i < p->c->n_promotions; i++) free(p->promotion_zones[i].in);
    aj_contract_free(p->c);
    free(p->zone_names);
    aj_trie_release(p->dest);
    free(p->band_names);
    free(p->edges);
    free(p->rates);
    free(p->rate_of);
    free(p->allowance_zones);
    free(p->discount_zones);
    free(p->promotion_zones);
    free(p);
}

/* Compile state: the plan, where errors go. */
typedef struct aj_pc {
    aj_plan *p;
    char *detail;
    size_t detlen;
} aj_pc;

static aj_err aj_pc_bad(aj_pc *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "contract ID vN: <message>" into the detail; returns AJ_E_BAD_CONTRACT. */
static aj_err aj_pc_bad(aj_pc *pc, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(pc->detail, pc->detlen, "contract %s v%d: %s", pc->p->c->contract_id, pc->p->c->version, msg);
    return AJ_E_BAD_CONTRACT;
}

static int aj_name_index(const char *const *names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return (int)i;
    return -1;
}

static void *aj_pc_alloc(aj_plan *p, size_t n, size_t size) {
    void *v = calloc(n ? n : 1, size);
    if (v) p->bytes += (n ? n : 1) * size;
    return v;
}

/* ---- destinations ---- */

void aj_trie_release(aj_trie *t) {
    if (!t || --t->refs) return;
    free(t->nodes);
    free(t->compact);
    free(t);
}

/* Adds digits to the trie with zone z. A prefix already in the trie is in two zones. */
static aj_err aj_trie_add(aj_pc *pc, const char *digits, int32_t z, size_t *cap) {
    aj_plan *p = pc->p;
    aj_trie *t = p->dest;
    int32_t node = 0;
    for (const char *d = digits; *d; d++) {
        int k = *d - '0';
        if (k < 0 || k > 9) return aj_pc_bad(pc, "prefix %s is not digits", digits);
        if (!t->nodes[node].child[k]) {
            if (t->n_nodes == *cap) {
                size_t ncap = *cap * 2;
                aj_trie_node *grown = realloc(t->nodes, ncap * sizeof(*grown));
                if (!grown) return AJ_E_NOMEM;
                t->nodes = grown;
                *cap = ncap;
            }
            memset(&t->nodes[t->n_nodes], 0, sizeof(t->nodes[0]));
            t->nodes[t->n_nodes].zone = -1;
            t->nodes[node].child[k] = (int32_t)t->n_nodes++;
        }
        node = t->nodes[node].child[k];
    }
    if (t->nodes[node].zone >= 0)
        return aj_pc_bad(pc, "prefix %s is in zones %s and %s", digits, p->zone_names[t->nodes[node].zone],
                         p->zone_names[z]);
    t->nodes[node].zone = z;
    return AJ_E_OK;
}

/* Lays the trie out breadth first into 8-byte nodes: the short prefixes every lookup walks
 * through sit together, and the whole table is 5 times smaller than while it was built (in
 * cache). */
static aj_err aj_trie_compact(aj_trie *t) {
    int32_t *order = malloc(t->n_nodes * sizeof(*order)), *index = malloc(t->n_nodes * sizeof(*index));
    aj_cnode *out = malloc(t->n_nodes * sizeof(*out));
    size_t head = 0, tail = 0;

    if (!out || !order || !index) {
        free(out);
        free(order);
        free(index);
        return AJ_E_NOMEM;
    }
    order[tail++] = 0;
    while (head < tail) {
        int32_t n = order[head++];
        index[n] = (int32_t)(head - 1);
        for (int k = 0; k < 10; k++)
            if (t->nodes[n].child[k]) order[tail++] = t->nodes[n].child[k];
    }
    for (size_t i = 0; i < tail; i++) {
        const aj_trie_node *w = &t->nodes[order[i]];
        out[i] = (aj_cnode){0, 0, (int16_t)w->zone};
        for (int k = 9; k >= 0; k--)
            if (w->child[k]) {
                out[i].mask |= (uint16_t)(1u << k);
                out[i].first = (uint32_t)index[w->child[k]];   /* the lowest digit's, last */
            }
    }
    free(t->nodes);
    free(order);
    free(index);
    t->nodes = NULL;
    t->compact = out;
    return AJ_E_OK;
}

static aj_err aj_compile_zones(aj_pc *pc) {
    aj_plan *p = pc->p;
    const aj_contract *c = p->c;
    size_t cap = 64;
    aj_err rc;

    if (c->n_zones >= INT16_MAX) return aj_pc_bad(pc, "%zu zones; at most %d are supported", c->n_zones, INT16_MAX - 1);
    if (!(p->zone_names = aj_pc_alloc(p, c->n_zones + 1, sizeof(*p->zone_names)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < c->n_zones; i++) {
        if (aj_name_index(p->zone_names, p->n_zones, c->zones[i].name) >= 0)
            return aj_pc_bad(pc, "zone %s defined twice", c->zones[i].name);
        p->zone_names[p->n_zones++] = c->zones[i].name;
    }
    int def = aj_name_index(p->zone_names, p->n_zones, c->default_zone);
    if (def < 0) {
        def = (int)p->n_zones;
        p->zone_names[p->n_zones++] = c->default_zone;
    }
    p->default_zone = (size_t)def;

    if (!(p->dest = calloc(1, sizeof(*p->dest)))) return AJ_E_NOMEM;
    p->dest->refs = 1;
    if (!(p->dest->nodes = malloc(cap * sizeof(*p->dest->nodes)))) return AJ_E_NOMEM;
    memset(&p->dest->nodes[0], 0, sizeof(p->dest->nodes[0]));
    p->dest->nodes[0].zone = -1;
    p->dest->n_nodes = 1;
    for (size_t z = 0; z < c->n_zones; z++)
        for (size_t j = 0; j < c->zones[z].n_prefixes; j++) {
            const char *d = c->zones[z].prefixes[j];
            if (!d[0] || strlen(d) > AJ_NUMBER_LEN)
                return aj_pc_bad(pc, "zone %s has an empty or too long prefix", c->zones[z].name);
            if ((rc = aj_trie_add(pc, d, (int32_t)z, &cap))) return rc;
        }
    if ((rc = aj_trie_compact(p->dest))) return rc;
    p->trie = p->dest->compact;
    p->n_nodes = p->dest->n_nodes;
    p->bytes += p->n_nodes * sizeof(*p->trie);
    return AJ_E_OK;
}

aj_err aj_plan_dest_key(const aj_plan *p, char **key, size_t *len) {
    const aj_contract *c = p->c;
    size_t n = 1;
    for (size_t z = 0; z < c->n_zones; z++) {
        n += strlen(c->zones[z].name) + 2;
        for (size_t j = 0; j < c->zones[z].n_prefixes; j++) n += strlen(c->zones[z].prefixes[j]) + 1;
    }
    char *k = malloc(n), *w = k;
    if (!k) return AJ_E_NOMEM;
    /* name \0 prefix \0 prefix \0 \1 name ...: names and prefixes hold no \0 or \1. */
    for (size_t z = 0; z < c->n_zones; z++) {
        size_t l = strlen(c->zones[z].name) + 1;
        memcpy(w, c->zones[z].name, l);
        w += l;
        for (size_t j = 0; j < c->zones[z].n_prefixes; j++) {
            l = strlen(c->zones[z].prefixes[j]) + 1;
            memcpy(w, c->zones[z].prefixes[j], l);
            w += l;
        }
        *w++ = '\1';
    }
    *w++ = '\2';
    *key = k;
    *len = (size_t)(w - k);
    return AJ_E_OK;
}

void aj_plan_share_dest(aj_plan *p, aj_trie *t) {
    if (p->dest == t) return;
    p->bytes -= p->n_nodes * sizeof(*p->trie);
    aj_trie_release(p->dest);
    t->refs++;
    p->dest = t;
    p->trie = t->compact;
    p->n_nodes = t->n_nodes;
}

/* Membership table of a zone list (NULL table: every zone). */
static aj_err aj_compile_zone_set(aj_pc *pc, const char *what, const char *name, char **zones, size_t n,
                                  aj_pzones *out) {
    aj_plan *p = pc->p;
    out->in = NULL;
    if (!n) return AJ_E_OK;
    if (!(out->in = aj_pc_alloc(p, p->n_zones, 1))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int z = aj_name_index(p->zone_names, p->n_zones, zones[i]);
        if (z < 0) return aj_pc_bad(pc, "%s %s names unknown zone %s", what, name, zones[i]);
        out->in[z] = 1;
    }
    return AJ_E_OK;
}

/* ---- time bands ---- */

static int aj_int_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static aj_err aj_compile_bands(aj_pc *pc) {
    aj_plan *p = pc->p;
    const aj_contract *c = p->c;
    size_t n_edges = 1;

    if (!(p->band_names = aj_pc_alloc(p, c->n_bands + 1, sizeof(*p->band_names)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < c->n_bands; i++) {
        const aj_band *b = &c->bands[i];
        if (aj_name_index(p->band_names, p->n_bands, b->name) >= 0)
            return aj_pc_bad(pc, "band %s defined twice", b->name);
        if (strlen(b->name) > AJ_KEY_LEN) return aj_pc_bad(pc, "band name %s is too long", b->name);
        p->band_names[p->n_bands++] = b->name;
        n_edges += 2 * b->n_windows;
    }
    const char *defname = c->default_band ? c->default_band : "ANY";
    int def = aj_name_index(p->band_names, p->n_bands, defname);
    if (def < 0) {
        def = (int)p->n_bands;
        p->band_names[p->n_bands++] = defname;
    }
    p->default_band = (size_t)def;

    /* Window edges: the instants of a day where the band can change, with midnight (1440). */
    if (!(p->edges = aj_pc_alloc(p, n_edges, sizeof(*p->edges)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < c->n_bands; i++)
        for (size_t w = 0; w < c->bands[i].n_windows; w++) {
            const aj_window *win = &c->bands[i].windows[w];
            if (win->from_minute < 0 || win->from_minute >= win->to_minute || win->to_minute > 1440)
                return aj_pc_bad(pc, "band %s has a window that is not 0 <= from < to <= 1440", c->bands[i].name);
            if (win->from_minute > 0) p->edges[p->n_edges++] = win->from_minute;
            p->edges[p->n_edges++] = win->to_minute;
        }
    p->edges[p->n_edges++] = 1440;
    qsort(p->edges, p->n_edges, sizeof(*p->edges), aj_int_cmp);
    size_t u = 0;
    for (size_t i = 0; i < p->n_edges; i++)
        if (!u || p->edges[u - 1] != p->edges[i]) p->edges[u++] = p->edges[i];
    p->n_edges = u;
    return AJ_E_OK;
}

/* ---- rates ---- */

static aj_err aj_compile_rate(aj_pc *pc, size_t i) {
    aj_plan *p = pc->p;
    const aj_rate *r = &p->c->rates[i];
    aj_prate *pr = &p->rates[i];
    const char *sv = aj_service_name(r->service);

    if ((unsigned)r->service >= AJ_SERVICE__COUNT) return aj_pc_bad(pc, "rate %zu has no valid service", i);
    if (r->rate_unit <= 0 || r->first_increment <= 0 || r->next_increment <= 0)
        return aj_pc_bad(pc, "rate %s/%s needs positive rate_unit and increments", sv, r->zone);
    if (r->price < 0 || r->connect_fee < 0 || r->min_charge < 0 || r->max_charge < 0)
        return aj_pc_bad(pc, "rate %s/%s has a negative amount", sv, r->zone);
    if (r->max_charge && r->max_charge < r->min_charge)
        return aj_pc_bad(pc, "rate %s/%s has max_charge below min_charge", sv, r->zone);
    if (r->decimals < 0 || r->decimals > 6 || (unsigned)r->rounding >= AJ_ROUND__COUNT)
        return aj_pc_bad(pc, "rate %s/%s needs decimals 0..6 and a known rounding", sv, r->zone);
    pr->r = r;
    pr->n_tiers = r->n_tiers + 1;
    if (!(pr->tiers = aj_pc_alloc(p, pr->n_tiers, sizeof(*pr->tiers)))) return AJ_E_NOMEM;
    pr->tiers[0] = (aj_tier){0, r->price, r->next_increment};
    for (size_t t = 0; t < r->n_tiers; t++) {
        const aj_tier *tier = &r->tiers[t];
        if (tier->start <= pr->tiers[t].start || tier->increment <= 0 || tier->price < 0)
            return aj_pc_bad(pc, "rate %s/%s tier %zu needs a start after the previous tier's, a positive "
                             "increment and a non-negative price", sv, r->zone, t + 1);
        pr->tiers[t + 1] = *tier;
    }
    return AJ_E_OK;
}

static aj_err aj_compile_rates(aj_pc *pc) {
    aj_plan *p = pc->p;
    const aj_contract *c = p->c;
    size_t cells = (size_t)AJ_SERVICE__COUNT * p->n_zones * p->n_bands;
    int32_t *generic;
    aj_err rc;

    if (!(p->rates = aj_pc_alloc(p, c->n_rates, sizeof(*p->rates)))) return AJ_E_NOMEM;
    if (!(p->rate_of = aj_pc_alloc(p, cells, sizeof(*p->rate_of)))) return AJ_E_NOMEM;
    if (!(generic = calloc((size_t)AJ_SERVICE__COUNT * p->n_zones, sizeof(*generic)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < cells; i++) p->rate_of[i] = -1;
    for (size_t i = 0; i < (size_t)AJ_SERVICE__COUNT * p->n_zones; i++) generic[i] = -1;
    for (size_t i = 0; i < c->n_rates; i++) {
        const aj_rate *r = &c->rates[i];
        if ((rc = aj_compile_rate(pc, i))) goto end;
        int z = aj_name_index(p->zone_names, p->n_zones, r->zone);
        if (z < 0) {
            rc = aj_pc_bad(pc, "rate %s/%s names unknown zone %s", aj_service_name(r->service), r->zone, r->zone);
            goto end;
        }
        size_t sz = (size_t)r->service * p->n_zones + (size_t)z;
        int32_t *cell;
        if (!r->band) {
            cell = &generic[sz];
        } else {
            int b = aj_name_index(p->band_names, p->n_bands, r->band);
            if (b < 0) {
                rc = aj_pc_bad(pc, "rate %s/%s names unknown band %s", aj_service_name(r->service), r->zone, r->band);
                goto end;
            }
            cell = &p->rate_of[sz * p->n_bands + (size_t)b];
        }
        if (*cell >= 0) {
            rc = aj_pc_bad(pc, "two rates for %s in zone %s and band %s", aj_service_name(r->service), r->zone,
                           r->band ? r->band : "(any)");
            goto end;
        }
        *cell = (int32_t)i;
    }
    /* A band without a rate of its own takes the rate with no band. */
    for (size_t sz = 0; sz < (size_t)AJ_SERVICE__COUNT * p->n_zones; sz++)
        for (size_t b = 0; b < p->n_bands; b++)
            if (p->rate_of[sz * p->n_bands + b] < 0) p->rate_of[sz * p->n_bands + b] = generic[sz];
    rc = AJ_E_OK;
end:
    free(generic);
    return rc;
}

/* ---- allowances, discounts, promotions, lines, taxes ---- */

static aj_err aj_check_name(aj_pc *pc, const char *what, const char *name, const char *const *seen, size_t n) {
    if (strlen(name) > AJ_KEY_LEN) return aj_pc_bad(pc, "%s name %s is longer than %d bytes", what, name, AJ_KEY_LEN);
    if (aj_name_index(seen, n, name) >= 0) return aj_pc_bad(pc, "%s %s defined twice", what, name);
    return AJ_E_OK;
}

static aj_err aj_compile_extras(aj_pc *pc) {
    aj_plan *p = pc->p;
    const aj_contract *c = p->c;
    size_t n = c->n_allowances + c->n_discounts + c->n_promotions + c->n_lines + 1;
    const char **seen = calloc(n, sizeof(*seen));
    size_t k = 0;
    aj_err rc = AJ_E_NOMEM;

    if (!seen) return AJ_E_NOMEM;
    if (c->n_allowances > AJ_MAX_ALLOWANCES) {
        free(seen);
        return aj_pc_bad(pc, "%zu allowances; at most %d are supported", c->n_allowances, AJ_MAX_ALLOWANCES);
    }
    if (!(p->allowance_zones = aj_pc_alloc(p, c->n_allowances, sizeof(aj_pzones))) ||
        !(p->discount_zones = aj_pc_alloc(p, c->n_discounts, sizeof(aj_pzones))) ||
        !(p->promotion_zones = aj_pc_alloc(p, c->n_promotions, sizeof(aj_pzones))))
        goto end;
    for (size_t i = 0; i < c->n_allowances; i++) {
        const aj_allowance *a = &c->allowances[i];
        if ((rc = aj_check_name(pc, "allowance", a->name, seen, k))) goto end;
        seen[k++] = a->name;
        if (a->units < 0) {
            rc = aj_pc_bad(pc, "allowance %s has negative units", a->name);
            goto end;
        }
        if ((rc = aj_compile_zone_set(pc, "allowance", a->name, a->zones, a->n_zones, &p->allowance_zones[i])))
            goto end;
    }
    size_t base = k;
    for (size_t i = 0; i < c->n_discounts; i++) {
        const aj_discount *d = &c->discounts[i];
        if ((rc = aj_check_name(pc, "discount", d->name, seen + base, k - base))) goto end;
        seen[k++] = d->name;
        if (d->percent_ppm < 0 || d->percent_ppm > 1000000 || d->cap < 0) {
            rc = aj_pc_bad(pc, "discount %s needs 0..1000000 ppm and a non-negative cap", d->name);
            goto end;
        }
        if ((rc = aj_compile_zone_set(pc, "discount", d->name, d->zones, d->n_zones, &p->discount_zones[i])))
            goto end;
    }
    base = k;
    for (size_t i = 0; i < c->n_promotions; i++) {
        const aj_promotion *m = &c->promotions[i];
        if ((rc = aj_check_name(pc, "promotion", m->name, seen + base, k - base))) goto end;
        seen[k++] = m->name;
        if (m->valid_to <= m->valid_from || m->value < 0 ||
            (m->kind == AJ_PROMO_PERCENT_OFF && m->value > 1000000)) {
            rc = aj_pc_bad(pc, "promotion %s needs valid_to after valid_from and a value in range", m->name);
            goto end;
        }
        if ((rc = aj_compile_zone_set(pc, "promotion", m->name, m->zones, m->n_zones, &p->promotion_zones[i])))
            goto end;
    }
    base = k;
    for (size_t i = 0; i < c->n_lines; i++) {
        const aj_line *l = &c->lines[i];
        if (aj_name_index(seen + base, k - base, l->line_id) >= 0) {
            rc = aj_pc_bad(pc, "line %s listed twice", l->line_id);
            goto end;
        }
        seen[k++] = l->line_id;
        if (l->quantity <= 0 || l->monthly_price < 0 || l->active_to <= l->active_from) {
            rc = aj_pc_bad(pc, "line %s needs a positive quantity, a non-negative price and deactivation "
                           "after activation", l->line_id);
            goto end;
        }
    }
    /* Clause "One-time charges": codes unique, prices not negative. */
    for (size_t i = 0; i < c->n_one_time_charges; i++) {
        const aj_otc_price *o = &c->one_time_charges[i];
        if (!o->code || !o->code[0]) {
            rc = aj_pc_bad(pc, "one-time charge %zu has no code", i);
            goto end;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->one_time_charges[j].code, o->code) == 0) {
                rc = aj_pc_bad(pc, "one-time charge %s listed twice", o->code);
                goto end;
            }
        if (o->price < 0) {
            rc = aj_pc_bad(pc, "one-time charge %s has a negative price (%lld micro-units)", o->code,
                           (long long)o->price);
            goto end;
        }
    }
    if (c->decimals < 0 || c->decimals > 6 || (unsigned)c->rounding >= AJ_ROUND__COUNT) {
        rc = aj_pc_bad(pc, "currency_decimals must be 0..6 with a known rounding");
        goto end;
    }
    rc = AJ_E_OK;
end:
    free(seen);
    return rc;
}

/* Clause "Taxes" of docs/invoice.md: the rules of aj_tax_check, refused as the others are. */
static aj_err aj_compile_taxes(aj_pc *pc) {
    char why[200];
    if (aj_tax_check(pc->p->c, why, sizeof(why)) != AJ_E_OK) return aj_pc_bad(pc, "%s", why);
    return AJ_E_OK;
}

aj_err aj_plan_compile(aj_contract *c, const aj_tz *tz, aj_plan **out, char *detail, size_t detlen) {
    aj_plan *p = calloc(1, sizeof(*p));
    aj_pc pc = {p, detail, detlen};
    aj_err rc;

    *out = NULL;
    if (!p) {
        aj_contract_free(c);
        return AJ_E_NOMEM;
    }
    p->c = c;
    p->tz = tz;
    p->bytes = sizeof(*p);
    if (c->effective_to <= c->effective_from) {
        rc = aj_pc_bad(&pc, "effective_to is not after effective_from");
        goto fail;
    }
    if ((rc = aj_compile_zones(&pc)) || (rc = aj_compile_bands(&pc)) || (rc = aj_compile_rates(&pc)) ||
        (rc = aj_compile_extras(&pc)) || (rc = aj_compile_taxes(&pc)))
        goto fail;
    *out = p;
    return AJ_E_OK;
fail:
    aj_plan_free(p);
    return rc;
}

/* ---- accessors ---- */

const aj_contract *aj_plan_contract(const aj_plan *plan) {
    return plan->c;
}

const aj_tz *aj_plan_tz(const aj_plan *plan) {
    return plan->tz;
}

size_t aj_plan_bytes(const aj_plan *plan) {
    return plan->bytes;
}

size_t aj_plan_zone_count(const aj_plan *plan) {
    return plan->n_zones;
}

const char *aj_plan_zone_name(const aj_plan *plan, size_t zone) {
    return zone < plan->n_zones ? plan->zone_names[zone] : "";
}

size_t aj_plan_band_count(const aj_plan *plan) {
    return plan->n_bands;
}

const char *aj_plan_band_name(const aj_plan *plan, size_t band) {
    return band < plan->n_bands ? plan->band_names[band] : "";
}

const aj_line *aj_plan_line(const aj_plan *plan, const char *line_id) {
    for (size_t i = 0; i < plan->c->n_lines; i++)
        if (strcmp(plan->c->lines[i].line_id, line_id) == 0) return &plan->c->lines[i];
    return NULL;
}

const aj_otc_price *aj_plan_one_time(const aj_plan *plan, const char *code) {
    for (size_t i = 0; i < plan->c->n_one_time_charges; i++)
        if (strcmp(plan->c->one_time_charges[i].code, code) == 0) return &plan->c->one_time_charges[i];
    return NULL;
}
