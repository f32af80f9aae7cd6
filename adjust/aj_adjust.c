/* aj_adjust.c - per account-cycle accumulation of legacy and corrected charges; invoices. */
#include "aj_adjust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_map.h"

/* What one account-cycle has accumulated until its close. */
typedef struct aj_acc {
    char currency[AJ_CURRENCY_LEN + 1];
    char contract_id[AJ_ID_LEN + 1];
    aj_invoice_line lines[AJ_KIND__COUNT][AJ_SERVICE__COUNT];
    aj_reason_summary reasons[AJ_REASON__COUNT];
    int32_t *versions;   /* ascending, unique */
    size_t n_versions, cap_versions;
    aj_money overcharge, undercharge;
    int closed;
} aj_acc;

struct aj_adjust {
    const aj_contract_store *store;
    aj_adjust_out out;
    aj_map *cycles;      /* "account\0cycle" -> aj_acc */
    size_t open;
    aj_adjust_stats stats;
};

static void aj_acc_free(void *p) {
    aj_acc *acc = p;
    if (!acc) return;
    free(acc->versions);
    free(acc);
}

aj_adjust *aj_adjust_create(const aj_contract_store *store, const aj_adjust_out *out) {
    aj_adjust *adj = calloc(1, sizeof(*adj));
    if (!adj) return NULL;
    adj->store = store;
    adj->out = *out;
    if (!(adj->cycles = aj_map_create())) {
        free(adj);
        return NULL;
    }
    return adj;
}

void aj_adjust_destroy(aj_adjust *adj) {
    if (!adj) return;
    aj_map_destroy(adj->cycles, aj_acc_free);
    free(adj);
}

const aj_adjust_stats *aj_adjust_get_stats(const aj_adjust *adj) {
    return &adj->stats;
}

size_t aj_adjust_open_cycles(const aj_adjust *adj) {
    return adj->open;
}

static size_t aj_cycle_key(char *key, const char *account, const char *cycle) {
    size_t a = strlen(account), c = strlen(cycle);
    memcpy(key, account, a + 1);
    memcpy(key + a + 1, cycle, c);
    return a + 1 + c;
}

/* The accumulator of account-cycle, created when absent (create) or NULL. */
static aj_err aj_acc_get(aj_adjust *adj, const char *account, const char *cycle, int create, aj_acc **out) {
    char key[AJ_KEY_LEN + AJ_CYCLE_LEN + 2];
    size_t klen = aj_cycle_key(key, account, cycle);
    aj_acc *acc = aj_map_get(adj->cycles, key, klen);

    if (!acc && create) {
        if (!(acc = calloc(1, sizeof(*acc)))) return AJ_E_NOMEM;
        for (int k = 0; k < AJ_KIND__COUNT; k++)
            for (int s = 0; s < AJ_SERVICE__COUNT; s++) {
                acc->lines[k][s].kind = (aj_record_kind)k;
                acc->lines[k][s].service = (aj_service)s;
            }
        for (int r = 0; r < AJ_REASON__COUNT; r++) acc->reasons[r].reason = (aj_reason)r;
        if (aj_map_put(adj->cycles, key, klen, acc, NULL) != AJ_E_OK) {
            free(acc);
            return AJ_E_NOMEM;
        }
        adj->open++;
    }
    *out = acc;
    return AJ_E_OK;
}

static aj_err aj_acc_version(aj_acc *acc, int32_t version) {
    size_t i;
    for (i = 0; i < acc->n_versions && acc->versions[i] < version; i++)
        ;
    if (i < acc->n_versions && acc->versions[i] == version) return AJ_E_OK;
    if (acc->n_versions == acc->cap_versions) {
        size_t cap = acc->cap_versions ? acc->cap_versions * 2 : 2;
        int32_t *grown = realloc(acc->versions, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        acc->versions = grown;
        acc->cap_versions = cap;
    }
    memmove(&acc->versions[i + 1], &acc->versions[i], (acc->n_versions - i) * sizeof(*acc->versions));
    acc->versions[i] = version;
    acc->n_versions++;
    return AJ_E_OK;
}

/* Adds one record to its invoice line and, when corrected, to the reason summary. All sums are
 * checked: an overflow stops the record before anything is changed. */
static aj_err aj_acc_add(aj_acc *acc, aj_record_kind kind, aj_service service, int64_t quantity,
                         aj_money legacy, aj_money corrected, const aj_correction *c) {
    aj_invoice_line *l = &acc->lines[kind][service];
    aj_money nl, nc, nq, nd = 0, side = 0;
    aj_err rc;

    if ((rc = aj_money_add(l->legacy_amount, legacy, &nl)) || (rc = aj_money_add(l->corrected_amount, corrected, &nc)) ||
        (rc = aj_money_add(l->quantity, quantity, &nq)))
        return rc;
    if (c) {
        if ((rc = aj_money_add(acc->reasons[c->reason].delta, c->delta, &nd))) return rc;
        if ((rc = aj_money_add(c->delta < 0 ? acc->overcharge : acc->undercharge,
                               c->delta < 0 ? -c->delta : c->delta, &side)))
            return rc;
    }
    l->legacy_amount = nl;
    l->corrected_amount = nc;
    l->quantity = nq;
    l->records++;
    if (c) {
        l->corrections++;
        acc->reasons[c->reason].count++;
        acc->reasons[c->reason].delta = nd;
        if (c->delta < 0)
            acc->overcharge = side;
        else
            acc->undercharge = side;
    }
    return AJ_E_OK;
}

static void aj_correction_common(aj_correction *c, const aj_event *ev, const char *record_id,
                                 const aj_contract *k) {
    memset(c, 0, sizeof(*c));
    snprintf(c->correction_id, sizeof(c->correction_id), "COR-%s", record_id);
    snprintf(c->record_id, sizeof(c->record_id), "%s", record_id);
    snprintf(c->contract_id, sizeof(c->contract_id), "%s", k->contract_id);
    c->contract_version = k->version;
    memcpy(c->currency, k->currency, sizeof(c->currency));
    c->source = ev->pos;
}

static aj_err aj_record_stats(aj_adjust *adj, const aj_correction *c) {
    aj_money side;
    aj_err rc = aj_money_add(c->delta < 0 ? adj->stats.overcharge : adj->stats.undercharge,
                             c->delta < 0 ? -c->delta : c->delta, &side);
    if (rc) return rc;
    if (c->delta < 0)
        adj->stats.overcharge = side;
    else
        adj->stats.undercharge = side;
    adj->stats.corrections++;
    adj->stats.by_reason[c->reason]++;
    return AJ_E_OK;
}

/* Common prologue of usage and recurring records: contract in force, currency, cycle state. */
static aj_err aj_begin_record(aj_adjust *adj, const char *account, const char *cycle, int64_t ts,
                              const char *currency, const aj_plan **plan, aj_acc **acc,
                              char *detail, size_t detlen) {
    aj_err rc;

    if (!(*plan = aj_contract_store_find(adj->store, account, ts))) {
        snprintf(detail, detlen, "account %s has no contract version in force at %lld", account, (long long)ts);
        return AJ_E_NO_CONTRACT;
    }
    const aj_contract *k = aj_plan_contract(*plan);
    if (strcmp(currency, k->currency) != 0) {
        snprintf(detail, detlen, "record currency %s, contract %s v%d currency %s", currency,
                 k->contract_id, k->version, k->currency);
        return AJ_E_CURRENCY_MISMATCH;
    }
    if ((rc = aj_acc_get(adj, account, cycle, 0, acc))) return rc;
    if (*acc && (*acc)->closed) {
        snprintf(detail, detlen, "cycle %s of account %s is already closed", cycle, account);
        return AJ_E_LATE_USAGE;
    }
    return AJ_E_OK;
}

static aj_err aj_finish_record(aj_adjust *adj, const char *account, const char *cycle,
                               const aj_contract *k, aj_record_kind kind, aj_service service,
                               int64_t quantity, aj_money legacy, aj_money expected,
                               aj_correction *c) {
    aj_acc *acc;
    aj_err rc;

    if ((rc = aj_acc_get(adj, account, cycle, 1, &acc))) return rc;
    if (acc->n_versions == 0) {
        memcpy(acc->currency, k->currency, sizeof(acc->currency));
        snprintf(acc->contract_id, sizeof(acc->contract_id), "%s", k->contract_id);
    }
    if ((rc = aj_acc_version(acc, k->version))) return rc;
    if ((rc = aj_acc_add(acc, kind, service, quantity, legacy, expected, c))) return rc;
    if (c) {
        if ((rc = aj_record_stats(adj, c))) return rc;
        if ((rc = adj->out.correction(adj->out.opaque, c))) return rc;
    }
    return AJ_E_OK;
}

static aj_err aj_adjust_usage(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_usage *u = &ev->u.usage;
    const aj_plan *plan;
    aj_acc *acc;
    aj_charge charge;
    aj_correction c, *cp = NULL;
    aj_err rc;

    if ((rc = aj_begin_record(adj, u->account, u->cycle_id, u->start_ms, u->currency, &plan, &acc,
                              detail, detlen)))
        return rc;
    const aj_contract *k = aj_plan_contract(plan);
    if ((rc = aj_rating_rate_usage(plan, u, &charge)) == AJ_E_NO_RATE) {
        snprintf(detail, detlen, "contract %s v%d has no %s rate for zone %s", k->contract_id,
                 k->version, aj_service_name(u->service), charge.trace.zone);
        return rc;
    }
    if (rc) return rc;
    if (charge.amount != u->legacy_charge) {
        aj_correction_common(&c, ev, u->record_id, k);
        memcpy(c.account, u->account, sizeof(c.account));
        memcpy(c.cycle_id, u->cycle_id, sizeof(c.cycle_id));
        memcpy(c.tariff_code, u->tariff_code, sizeof(c.tariff_code));
        c.kind = AJ_KIND_USAGE;
        c.service = u->service;
        c.legacy_amount = u->legacy_charge;
        c.corrected_amount = charge.amount;
        if ((rc = aj_money_sub(charge.amount, u->legacy_charge, &c.delta))) return rc;
        c.trace = charge.trace;
        c.reason = aj_classify_usage(adj->store, plan, u, &charge, c.hypothesis, sizeof(c.hypothesis));
        cp = &c;
    }
    if ((rc = aj_finish_record(adj, u->account, u->cycle_id, k, AJ_KIND_USAGE, u->service,
                               u->quantity, u->legacy_charge, charge.amount, cp)))
        return rc;
    adj->stats.usage++;
    return AJ_E_OK;
}

static aj_err aj_adjust_recurring(aj_adjust *adj, const aj_event *ev, int64_t ts, char *detail,
                                  size_t detlen) {
    const aj_recurring *r = &ev->u.recurring;
    const aj_plan *plan;
    const aj_line *line;
    aj_acc *acc;
    aj_charge charge;
    aj_correction c, *cp = NULL;
    aj_err rc;

    if ((rc = aj_begin_record(adj, r->account, r->cycle_id, ts, r->currency, &plan, &acc, detail, detlen)))
        return rc;
    const aj_contract *k = aj_plan_contract(plan);
    rc = aj_rating_rate_recurring(plan, r, &charge, &line);
    if (rc != AJ_E_OK && rc != AJ_E_NOT_FOUND) return rc;
    if (charge.amount != r->legacy_amount) {
        aj_correction_common(&c, ev, r->record_id, k);
        memcpy(c.account, r->account, sizeof(c.account));
        memcpy(c.cycle_id, r->cycle_id, sizeof(c.cycle_id));
        memcpy(c.tariff_code, r->tariff_code, sizeof(c.tariff_code));
        c.kind = AJ_KIND_RECURRING;
        c.service = r->service;
        c.legacy_amount = r->legacy_amount;
        c.corrected_amount = charge.amount;
        if ((rc = aj_money_sub(charge.amount, r->legacy_amount, &c.delta))) return rc;
        c.trace = charge.trace;
        snprintf(c.trace.zone, sizeof(c.trace.zone), "%s", "");
        c.reason = aj_classify_recurring(line, r, &charge, c.hypothesis, sizeof(c.hypothesis));
        cp = &c;
    }
    if ((rc = aj_finish_record(adj, r->account, r->cycle_id, k, AJ_KIND_RECURRING, r->service, 1,
                               r->legacy_amount, charge.amount, cp)))
        return rc;
    adj->stats.recurring++;
    return AJ_E_OK;
}

/* Builds the invoice of a closed account-cycle (acc may be NULL: nothing was billed). */
static aj_err aj_build_invoice(const aj_cycle_close *cl, const aj_acc *acc, const aj_contract *k,
                               aj_invoice *inv) {
    aj_err rc;

    memset(inv, 0, sizeof(*inv));
    snprintf(inv->invoice_id, sizeof(inv->invoice_id), "INV-%s-%s-r1", cl->account, cl->cycle_id);
    memcpy(inv->account, cl->account, sizeof(inv->account));
    memcpy(inv->cycle_id, cl->cycle_id, sizeof(inv->cycle_id));
    inv->revision = 1;
    inv->period_start_ms = cl->period_start_ms;
    inv->period_end_ms = cl->period_end_ms;
    if (!acc) {
        memcpy(inv->currency, k->currency, sizeof(inv->currency));
        snprintf(inv->contract_id, sizeof(inv->contract_id), "%s", k->contract_id);
        return AJ_E_OK;
    }
    memcpy(inv->currency, acc->currency, sizeof(inv->currency));
    memcpy(inv->contract_id, acc->contract_id, sizeof(inv->contract_id));
    inv->versions = acc->versions;
    inv->n_versions = acc->n_versions;
    for (int kind = 0; kind < AJ_KIND__COUNT; kind++)
        for (int s = 0; s < AJ_SERVICE__COUNT; s++) {
            const aj_invoice_line *l = &acc->lines[kind][s];
            if (!l->records) continue;
            inv->lines[inv->n_lines++] = *l;
            if ((rc = aj_money_add(inv->legacy_total, l->legacy_amount, &inv->legacy_total)) ||
                (rc = aj_money_add(inv->corrected_total, l->corrected_amount, &inv->corrected_total)))
                return rc;
        }
    for (int r = 0; r < AJ_REASON__COUNT; r++)
        if (acc->reasons[r].count) inv->reasons[inv->n_reasons++] = acc->reasons[r];
    inv->overcharge_removed = acc->overcharge;
    inv->undercharge_added = acc->undercharge;
    return aj_money_sub(inv->corrected_total, inv->legacy_total, &inv->adjustment_total);
}

static aj_err aj_adjust_close(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_cycle_close *cl = &ev->u.close;
    const aj_plan *plan;
    aj_invoice inv;
    aj_acc *acc;
    aj_err rc;

    if ((rc = aj_acc_get(adj, cl->account, cl->cycle_id, 0, &acc))) return rc;
    if (acc && acc->closed) {
        adj->stats.duplicate_closes++;
        return AJ_E_OK;
    }
    plan = aj_contract_store_find(adj->store, cl->account, cl->period_start_ms);
    if (!acc && !plan) {
        snprintf(detail, detlen, "account %s has no record and no contract in cycle %s", cl->account, cl->cycle_id);
        return AJ_E_NO_CONTRACT;
    }
    if ((rc = aj_build_invoice(cl, acc, plan ? aj_plan_contract(plan) : NULL, &inv))) return rc;
    if ((rc = adj->out.invoice(adj->out.opaque, &inv))) return rc;
    /* Keep a closed marker so late records are recognized; the sums are no longer needed. */
    if (!acc && (rc = aj_acc_get(adj, cl->account, cl->cycle_id, 1, &acc))) return rc;
    acc->closed = 1;
    free(acc->versions);
    acc->versions = NULL;
    acc->n_versions = acc->cap_versions = 0;
    adj->open--;
    adj->stats.closes++;
    adj->stats.invoices++;
    return AJ_E_OK;
}

aj_err aj_adjust_event(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    if (detlen) detail[0] = '\0';
    switch (ev->kind) {
    case AJ_EVENT_USAGE:
        return aj_adjust_usage(adj, ev, detail, detlen);
    case AJ_EVENT_RECURRING:
        return aj_adjust_recurring(adj, ev, ev->u.recurring.period_start_ms, detail, detlen);
    case AJ_EVENT_CYCLE_CLOSE:
        return aj_adjust_close(adj, ev, detail, detlen);
    }
    return AJ_E_ARG;
}
