/* aj_replay.c - the diff of a replay's corrections against a baseline's, and its reports (text, JSON, CSV, HTML). */
#include <stdlib.h>
#include <string.h>

#include "aj_map.h"
#include "aj_money.h"
#include "aj_render.h"
#include "aj_replay.h"

#define DR_NONE AJ_REASON__COUNT   /* no correction on that side */

typedef struct dr_side {
    int has;
    aj_reason reason;
    aj_money corrected;
} dr_side;

typedef struct dr_rec {
    char record_id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    char invoice_id[AJ_ID_LEN + 1];
    char service[16];
    char zone[AJ_KEY_LEN + 1];
    aj_money legacy;
    dr_side s[2];
    aj_money old_charge, new_charge, delta;
    aj_reason old_reason, new_reason;
} dr_rec;

/* The amount due of one invoice on each side. */
typedef struct dr_inv {
    char invoice_id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    int has[2];
    aj_money due[2];
    aj_money delta;
} dr_inv;

/* The sums of one group (a reason, a service/zone, an account's invoice). */
typedef struct dr_sum {
    char key[2 * AJ_ID_LEN + 4];
    char a[AJ_ID_LEN + 1], b[AJ_ID_LEN + 1];   /* the key's two parts, for display */
    int64_t records;
    aj_money old_charge, new_charge, delta;
} dr_sum;

typedef struct dr_groups {
    aj_map *index;   /* key -> position + 1 */
    dr_sum *v;
    size_t n, cap;
} dr_groups;

struct aj_diff {
    aj_map *recs;            /* record id -> dr_rec */
    int64_t n_records;
    dr_rec **changed;        /* sorted by record id */
    size_t n_changed;
    dr_rec **largest;        /* changed, by |delta| descending */
    dr_groups reasons, zones, invoices;
    size_t n_reason_changes;
    aj_money moved, net;     /* sum of |delta|, sum of delta */
    aj_map *invs;            /* invoice id -> dr_inv */
    dr_inv **inv_changed;    /* emitted by the replay with another (or no) amount due in the baseline, by id */
    size_t n_inv_changed;
    int64_t n_invoices, n_inv_compared;
    int64_t n_inv_baseline;  /* invoices in the baseline: none, no comparison */
};

aj_diff *aj_diff_create(void) {
    aj_diff *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    if (!(d->recs = aj_map_create()) || !(d->reasons.index = aj_map_create()) || !(d->zones.index = aj_map_create()) ||
        !(d->invoices.index = aj_map_create()) || !(d->invs = aj_map_create())) {
        aj_diff_destroy(d);
        return NULL;
    }
    return d;
}

static void dr_groups_free(dr_groups *g) {
    aj_map_destroy(g->index, NULL);
    free(g->v);
}

void aj_diff_destroy(aj_diff *d) {
    if (!d) return;
    aj_map_destroy(d->recs, free);
    free(d->changed);
    free(d->largest);
    dr_groups_free(&d->reasons);
    dr_groups_free(&d->zones);
    dr_groups_free(&d->invoices);
    aj_map_destroy(d->invs, free);
    free(d->inv_changed);
    free(d);
}

/* What aj_map_each callbacks of finish carry: the diff, and the first error. */
typedef struct dr_collect {
    aj_diff *d;
    aj_err rc;
} dr_collect;

/* The entry of key in m, created zeroed (size bytes, *created set) when missing; NULL on NOMEM. */
static void *dr_entry(aj_map *m, const char *key, size_t size, int *created) {
    size_t klen = strlen(key);
    void *v = aj_map_get(m, key, klen);
    *created = 0;
    if (v) return v;
    if (!(v = calloc(1, size))) return NULL;
    if (aj_map_put(m, key, klen, v, NULL) != AJ_E_OK) {
        free(v);
        return NULL;
    }
    *created = 1;
    return v;
}

aj_err aj_diff_add(aj_diff *d, int side, const aj_correction *c) {
    int created;
    dr_rec *r = dr_entry(d->recs, c->record_id, sizeof(*r), &created);

    side = side ? 1 : 0;
    if (!r) return AJ_E_NOMEM;
    if (created) {
        snprintf(r->record_id, sizeof(r->record_id), "%s", c->record_id);
        snprintf(r->account, sizeof(r->account), "%s", c->account);
        snprintf(r->invoice_id, sizeof(r->invoice_id), "%s", c->invoice_id);
        snprintf(r->service, sizeof(r->service), "%s",
                 c->service < AJ_SERVICE__COUNT && c->kind == AJ_KIND_USAGE ? aj_service_name(c->service) : "-");
        snprintf(r->zone, sizeof(r->zone), "%s", c->trace.zone[0] ? c->trace.zone : "-");
        r->legacy = c->legacy_amount;
    }
    if (r->s[side].has) return AJ_E_OK;   /* the first per id counts */
    r->s[side].has = 1;
    r->s[side].reason = c->reason;
    r->s[side].corrected = c->corrected_amount;
    if (side == 1) {
        /* The replay's view of where the record is billed and rated wins. */
        snprintf(r->invoice_id, sizeof(r->invoice_id), "%s", c->invoice_id);
        if (c->trace.zone[0]) snprintf(r->zone, sizeof(r->zone), "%s", c->trace.zone);
    }
    return AJ_E_OK;
}

aj_err aj_diff_add_invoice(aj_diff *d, int side, const aj_invoice *inv) {
    int created;
    dr_inv *v = dr_entry(d->invs, inv->invoice_id, sizeof(*v), &created);

    side = side ? 1 : 0;
    if (!v) return AJ_E_NOMEM;
    if (created) {
        snprintf(v->invoice_id, sizeof(v->invoice_id), "%s", inv->invoice_id);
        snprintf(v->account, sizeof(v->account), "%s", inv->account);
    }
    if (v->has[side]) return AJ_E_OK;   /* the first per id counts */
    v->has[side] = 1;
    v->due[side] = inv->amount_due;
    if (side == 0) d->n_inv_baseline++;
    return AJ_E_OK;
}

static int dr_inv_one(void *opaque, const void *key, size_t klen, void *value) {
    dr_collect *dc = opaque;
    dr_inv *v = value;
    (void)key;
    (void)klen;
    if (!v->has[1]) return 0;   /* the replay did not reach this invoice's close */
    dc->d->n_invoices++;
    if (!dc->d->n_inv_baseline) return 0;   /* nothing to compare with */
    if (v->has[0]) {
        dc->d->n_inv_compared++;
        if ((dc->rc = aj_money_sub(v->due[1], v->due[0], &v->delta)) != AJ_E_OK) return 1;
        if (v->delta == 0) return 0;
    }
    dc->d->inv_changed[dc->d->n_inv_changed++] = v;
    return 0;
}

static int dr_inv_by_id(const void *a, const void *b) {
    return strcmp((*(dr_inv *const *)a)->invoice_id, (*(dr_inv *const *)b)->invoice_id);
}

/* Adds r's charges into the group (a, b); AJ_E_NOMEM, AJ_E_OVERFLOW. */
static aj_err dr_group_add(dr_groups *g, const char *a, const char *b, const dr_rec *r) {
    char key[sizeof(((dr_sum *)0)->key)];
    int klen = snprintf(key, sizeof(key), "%s\t%s", a, b);
    size_t at = (size_t)(uintptr_t)aj_map_get(g->index, key, (size_t)klen);
    dr_sum *s;
    aj_err rc;

    if (!at) {
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 32;
            dr_sum *v = realloc(g->v, cap * sizeof(*v));
            if (!v) return AJ_E_NOMEM;
            g->v = v;
            g->cap = cap;
        }
        s = &g->v[g->n];
        memset(s, 0, sizeof(*s));
        snprintf(s->key, sizeof(s->key), "%s", key);
        snprintf(s->a, sizeof(s->a), "%s", a);
        snprintf(s->b, sizeof(s->b), "%s", b);
        if (aj_map_put(g->index, key, (size_t)klen, (void *)(uintptr_t)(g->n + 1), NULL) != AJ_E_OK) return AJ_E_NOMEM;
        at = ++g->n;
    }
    s = &g->v[at - 1];
    s->records++;
    if ((rc = aj_money_add(s->old_charge, r->old_charge, &s->old_charge)) != AJ_E_OK ||
        (rc = aj_money_add(s->new_charge, r->new_charge, &s->new_charge)) != AJ_E_OK ||
        (rc = aj_money_add(s->delta, r->delta, &s->delta)) != AJ_E_OK)
        return rc;
    return AJ_E_OK;
}

static int dr_collect_one(void *opaque, const void *key, size_t klen, void *value) {
    dr_collect *dc = opaque;
    dr_rec *r = value;
    (void)key;
    (void)klen;
    dc->d->n_records++;
    r->old_charge = r->s[0].has ? r->s[0].corrected : r->legacy;
    r->new_charge = r->s[1].has ? r->s[1].corrected : r->legacy;
    r->old_reason = r->s[0].has ? r->s[0].reason : DR_NONE;
    r->new_reason = r->s[1].has ? r->s[1].reason : DR_NONE;
    if ((dc->rc = aj_money_sub(r->new_charge, r->old_charge, &r->delta)) != AJ_E_OK) return 1;
    if (r->delta != 0 || r->old_reason != r->new_reason) dc->d->changed[dc->d->n_changed++] = r;
    return 0;
}

static int dr_by_id(const void *a, const void *b) {
    return strcmp((*(dr_rec *const *)a)->record_id, (*(dr_rec *const *)b)->record_id);
}

static aj_money dr_abs(aj_money m) {
    return m < 0 ? -m : m;   /* |INT64_MIN| cannot occur: deltas are checked differences */
}

static int dr_by_size(const void *a, const void *b) {
    const dr_rec *x = *(dr_rec *const *)a, *y = *(dr_rec *const *)b;
    aj_money ax = dr_abs(x->delta), ay = dr_abs(y->delta);
    if (ax != ay) return ax > ay ? -1 : 1;
    return strcmp(x->record_id, y->record_id);
}

static int dr_sum_by_key(const void *a, const void *b) {
    return strcmp(((const dr_sum *)a)->key, ((const dr_sum *)b)->key);
}

static const char *dr_reason(aj_reason r) {
    return r == DR_NONE ? "NONE" : aj_reason_name(r);
}

aj_err aj_diff_finish(aj_diff *d) {
    size_t n = aj_map_size(d->recs);
    dr_collect dc = {d, AJ_E_OK};
    aj_err rc;

    d->n_records = 0;
    d->n_changed = 0;
    if (!(d->changed = calloc(n ? n : 1, sizeof(*d->changed))) || !(d->largest = calloc(n ? n : 1, sizeof(*d->largest))))
        return AJ_E_NOMEM;
    aj_map_each(d->recs, dr_collect_one, &dc);
    if (dc.rc != AJ_E_OK) return dc.rc;
    qsort(d->changed, d->n_changed, sizeof(*d->changed), dr_by_id);
    memcpy(d->largest, d->changed, d->n_changed * sizeof(*d->changed));
    qsort(d->largest, d->n_changed, sizeof(*d->largest), dr_by_size);
    for (size_t i = 0; i < d->n_changed; i++) {
        const dr_rec *r = d->changed[i];
        aj_reason by = r->new_reason != DR_NONE ? r->new_reason : r->old_reason;
        if (r->old_reason != r->new_reason) d->n_reason_changes++;
        if ((rc = dr_group_add(&d->reasons, dr_reason(by), "", r)) != AJ_E_OK ||
            (rc = dr_group_add(&d->zones, r->service, r->zone, r)) != AJ_E_OK ||
            (rc = dr_group_add(&d->invoices, r->account, r->invoice_id, r)) != AJ_E_OK ||
            (rc = aj_money_add(d->moved, dr_abs(r->delta), &d->moved)) != AJ_E_OK ||
            (rc = aj_money_add(d->net, r->delta, &d->net)) != AJ_E_OK)
            return rc;
    }
    size_t ni = aj_map_size(d->invs);
    dr_collect ic = {d, AJ_E_OK};
    if (!(d->inv_changed = calloc(ni ? ni : 1, sizeof(*d->inv_changed)))) return AJ_E_NOMEM;
    aj_map_each(d->invs, dr_inv_one, &ic);
    if (ic.rc != AJ_E_OK) return ic.rc;
    qsort(d->inv_changed, d->n_inv_changed, sizeof(*d->inv_changed), dr_inv_by_id);
    /* qsort of an empty table: its array may still be NULL. */
    if (d->reasons.n) qsort(d->reasons.v, d->reasons.n, sizeof(dr_sum), dr_sum_by_key);
    if (d->zones.n) qsort(d->zones.v, d->zones.n, sizeof(dr_sum), dr_sum_by_key);
    if (d->invoices.n) qsort(d->invoices.v, d->invoices.n, sizeof(dr_sum), dr_sum_by_key);
    return AJ_E_OK;
}

int64_t aj_diff_records(const aj_diff *d) {
    return d->n_records;
}

int64_t aj_diff_changed(const aj_diff *d) {
    return (int64_t)d->n_changed;
}

int64_t aj_diff_invoices(const aj_diff *d) {
    return d->n_invoices;
}

int64_t aj_diff_invoices_compared(const aj_diff *d) {
    return d->n_inv_compared;
}

int64_t aj_diff_invoices_changed(const aj_diff *d) {
    return (int64_t)d->n_inv_changed;
}

const char *aj_micros(aj_money m, char *buf, size_t len) {
    return aj_money_format(m, 6, buf, len);
}

/* ------------------------------------------------------------------ text */

static void dr_text_groups(FILE *out, const char *title, const char *ha, const char *hb, const dr_groups *g) {
    char o[32], n[32], dl[32];
    fprintf(out, "\n%s\n", title);
    if (!g->n) {
        fprintf(out, "  (none)\n");
        return;
    }
    if (hb) fprintf(out, "  %-24s %-24s %8s %18s %18s %18s\n", ha, hb, "records", "old", "new", "change");
    else fprintf(out, "  %-24s %8s %18s %18s %18s\n", ha, "records", "old", "new", "change");
    for (size_t i = 0; i < g->n; i++) {
        const dr_sum *s = &g->v[i];
        aj_micros(s->old_charge, o, sizeof(o));
        aj_micros(s->new_charge, n, sizeof(n));
        aj_micros(s->delta, dl, sizeof(dl));
        if (hb) fprintf(out, "  %-24s %-24s %8lld %18s %18s %18s\n", s->a, s->b, (long long)s->records, o, n, dl);
        else fprintf(out, "  %-24s %8lld %18s %18s %18s\n", s->a, (long long)s->records, o, n, dl);
    }
}

static void dr_text_rec(FILE *out, const dr_rec *r) {
    char o[32], n[32], dl[32];
    fprintf(out, "  %-28s %-12s %-6s %-12s %18s %18s %18s  %s -> %s\n", r->record_id, r->account, r->service, r->zone,
            aj_micros(r->old_charge, o, sizeof(o)), aj_micros(r->new_charge, n, sizeof(n)),
            aj_micros(r->delta, dl, sizeof(dl)), dr_reason(r->old_reason), dr_reason(r->new_reason));
}

void aj_diff_print_text(const aj_diff *d, FILE *out, size_t top) {
    char a[32], b[32];
    fprintf(out, "Records compared:  %lld (with a correction in the baseline or the replay)\n", (long long)d->n_records);
    fprintf(out, "Records changed:   %zu (%zu change reason)\n", d->n_changed, d->n_reason_changes);
    fprintf(out, "Money moved:       %s (sum of |change|), net %s\n", aj_micros(d->moved, a, sizeof(a)),
            aj_micros(d->net, b, sizeof(b)));
    if (d->n_inv_baseline)
        fprintf(out, "Invoices:          %lld emitted by the replay, %lld in the baseline too, %zu with another amount "
                     "due\n", (long long)d->n_invoices, (long long)d->n_inv_compared, d->n_inv_changed);
    else
        fprintf(out, "Invoices:          %lld emitted by the replay, not compared (the baseline has no invoices)\n",
                (long long)d->n_invoices);
    if (!d->n_changed && !d->n_inv_changed) {
        fprintf(out, "No difference: the replay charges every record as the baseline does.\n");
        return;
    }
    if (d->n_inv_changed) {
        fprintf(out, "\nInvoices whose amount due changes (old '-': not in the baseline):\n  %-12s %-32s %18s %18s %18s\n",
                "account", "invoice", "old due", "new due", "change");
        for (size_t i = 0; i < d->n_inv_changed; i++) {
            const dr_inv *v = d->inv_changed[i];
            char o[32], n[32], dl[32];
            fprintf(out, "  %-12s %-32s %18s %18s %18s\n", v->account, v->invoice_id,
                    v->has[0] ? aj_micros(v->due[0], o, sizeof(o)) : "-", aj_micros(v->due[1], n, sizeof(n)),
                    v->has[0] ? aj_micros(v->delta, dl, sizeof(dl)) : "-");
        }
    }
    dr_text_groups(out, "By reason (the replay's, or the baseline's when the replay has none):", "reason", NULL,
                   &d->reasons);
    dr_text_groups(out, "By service and zone:", "service", "zone", &d->zones);
    dr_text_groups(out, "By account and invoice (changed records only):", "account", "invoice", &d->invoices);
    fprintf(out, "\nLargest changes:\n  %-28s %-12s %-6s %-12s %18s %18s %18s  %s\n", "record", "account", "svc", "zone",
            "old", "new", "change", "reason old -> new");
    for (size_t i = 0; i < d->n_changed && i < top; i++) dr_text_rec(out, d->largest[i]);
    fprintf(out, "\nRecords that change reason: %zu\n", d->n_reason_changes);
    for (size_t i = 0, k = 0; i < d->n_changed && k < top; i++)
        if (d->changed[i]->old_reason != d->changed[i]->new_reason) {
            dr_text_rec(out, d->changed[i]);
            k++;
        }
}

/* ------------------------------------------------------------------ JSON / CSV */

/* Ids, accounts, zones and reasons are printable ASCII without quotes in practice; escape anyway. */
static void dr_json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static void dr_json_groups(FILE *out, const char *name, const char *ka, const char *kb, const dr_groups *g) {
    fprintf(out, ",\n  \"%s\": [", name);
    for (size_t i = 0; i < g->n; i++) {
        const dr_sum *s = &g->v[i];
        fprintf(out, "%s\n    {\"%s\": ", i ? "," : "", ka);
        dr_json_str(out, s->a);
        if (kb) {
            fprintf(out, ", \"%s\": ", kb);
            dr_json_str(out, s->b);
        }
        fprintf(out, ", \"records\": %lld, \"old_micros\": %lld, \"new_micros\": %lld, \"change_micros\": %lld}",
                (long long)s->records, (long long)s->old_charge, (long long)s->new_charge, (long long)s->delta);
    }
    fprintf(out, "%s]", g->n ? "\n  " : "");
}

static void dr_json_rec(FILE *out, const dr_rec *r) {
    fprintf(out, "{\"record_id\": ");
    dr_json_str(out, r->record_id);
    fprintf(out, ", \"account\": ");
    dr_json_str(out, r->account);
    fprintf(out, ", \"invoice_id\": ");
    dr_json_str(out, r->invoice_id);
    fprintf(out, ", \"service\": ");
    dr_json_str(out, r->service);
    fprintf(out, ", \"zone\": ");
    dr_json_str(out, r->zone);
    fprintf(out, ", \"old_reason\": \"%s\", \"new_reason\": \"%s\", \"old_micros\": %lld, \"new_micros\": %lld, "
                 "\"change_micros\": %lld}",
            dr_reason(r->old_reason), dr_reason(r->new_reason), (long long)r->old_charge, (long long)r->new_charge,
            (long long)r->delta);
}

static void dr_json_recs(FILE *out, const char *name, dr_rec *const *v, size_t n, size_t top, int reason_only) {
    size_t k = 0;
    fprintf(out, ",\n  \"%s\": [", name);
    for (size_t i = 0; i < n && k < top; i++) {
        if (reason_only && v[i]->old_reason == v[i]->new_reason) continue;
        fprintf(out, "%s\n    ", k++ ? "," : "");
        dr_json_rec(out, v[i]);
    }
    fprintf(out, "%s]", k ? "\n  " : "");
}

void aj_diff_print_json(const aj_diff *d, FILE *out, size_t top) {
    fprintf(out, "{\n  \"records_compared\": %lld,\n  \"records_changed\": %zu,\n  \"reason_changes\": %zu,\n"
                 "  \"moved_micros\": %lld,\n  \"net_micros\": %lld",
            (long long)d->n_records, d->n_changed, d->n_reason_changes, (long long)d->moved, (long long)d->net);
    fprintf(out, ",\n  \"invoices\": %lld,\n  \"invoices_compared\": %lld,\n  \"invoice_changes\": [",
            (long long)d->n_invoices, (long long)d->n_inv_compared);
    for (size_t i = 0; i < d->n_inv_changed; i++) {
        const dr_inv *v = d->inv_changed[i];
        fprintf(out, "%s\n    {\"account\": ", i ? "," : "");
        dr_json_str(out, v->account);
        fprintf(out, ", \"invoice_id\": ");
        dr_json_str(out, v->invoice_id);
        if (v->has[0])
            fprintf(out, ", \"old_due_micros\": %lld, \"new_due_micros\": %lld, \"change_micros\": %lld}",
                    (long long)v->due[0], (long long)v->due[1], (long long)v->delta);
        else
            fprintf(out, ", \"old_due_micros\": null, \"new_due_micros\": %lld, \"change_micros\": null}",
                    (long long)v->due[1]);
    }
    fprintf(out, "%s]", d->n_inv_changed ? "\n  " : "");
    dr_json_groups(out, "by_reason", "reason", NULL, &d->reasons);
    dr_json_groups(out, "by_service_zone", "service", "zone", &d->zones);
    dr_json_groups(out, "by_invoice", "account", "invoice_id", &d->invoices);
    dr_json_recs(out, "largest", d->largest, d->n_changed, top, 0);
    dr_json_recs(out, "changed_reason", d->changed, d->n_changed, (size_t)-1, 1);
    dr_json_recs(out, "changes", d->changed, d->n_changed, (size_t)-1, 0);
    fprintf(out, "\n}\n");
}

static void dr_csv_field(FILE *out, const char *s) {
    aj_render_csv_field(out, s);
}

void aj_diff_print_csv(const aj_diff *d, FILE *out) {
    char o[32], n[32], dl[32];
    fprintf(out, "record_id,account,invoice_id,service,zone,old_reason,new_reason,old,new,change,old_micros,new_micros,"
                 "change_micros\n");
    for (size_t i = 0; i < d->n_changed; i++) {
        const dr_rec *r = d->changed[i];
        const char *f[] = {r->record_id, r->account, r->invoice_id, r->service, r->zone};
        for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
            dr_csv_field(out, f[k]);
            fputc(',', out);
        }
        fprintf(out, "%s,%s,%s,%s,%s,%lld,%lld,%lld\n", dr_reason(r->old_reason), dr_reason(r->new_reason),
                aj_micros(r->old_charge, o, sizeof(o)), aj_micros(r->new_charge, n, sizeof(n)),
                aj_micros(r->delta, dl, sizeof(dl)), (long long)r->old_charge, (long long)r->new_charge,
                (long long)r->delta);
    }
}

/* ------------------------------------------------------------------ HTML */

static const char dr_css[] =
    "body{margin:0;background:#eef0f3;color:#1b1f24;font:14px/1.45 system-ui,sans-serif}\n"
    "main{max-width:1100px;margin:24px auto;background:#fff;padding:28px 36px;box-shadow:0 1px 4px rgba(0,0,0,.15)}\n"
    "h1{font-size:22px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px}\n"
    "table{border-collapse:collapse;width:100%}th,td{padding:3px 8px;border-bottom:1px solid #dde1e6;text-align:left}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.neg{color:#0a7d32}.pos{color:#b3261e}\n";

static void dr_html_money(FILE *out, aj_money m) {
    char b[32];
    fprintf(out, "<td class=\"n %s\">%s</td>", m < 0 ? "neg" : m > 0 ? "pos" : "", aj_micros(m, b, sizeof(b)));
}

static void dr_html_groups(FILE *out, const char *id, const char *title, const char *ha, const char *hb,
                           const dr_groups *g) {
    fprintf(out, "<h2>%s</h2>\n<table id=\"%s\"><tr><th>%s</th>%s%s%s<th class=\"n\">records</th><th class=\"n\">old</th>"
                 "<th class=\"n\">new</th><th class=\"n\">change</th></tr>\n",
            title, id, ha, hb ? "<th>" : "", hb ? hb : "", hb ? "</th>" : "");
    for (size_t i = 0; i < g->n; i++) {
        const dr_sum *s = &g->v[i];
        fputs("<tr><td>", out);
        aj_render_html_text(out, s->a);
        fputs("</td>", out);
        if (hb) {
            fputs("<td>", out);
            aj_render_html_text(out, s->b);
            fputs("</td>", out);
        }
        fprintf(out, "<td class=\"n\">%lld</td>", (long long)s->records);
        dr_html_money(out, s->old_charge);
        dr_html_money(out, s->new_charge);
        dr_html_money(out, s->delta);
        fputs("</tr>\n", out);
    }
    fputs("</table>\n", out);
}

static void dr_html_recs(FILE *out, const char *id, dr_rec *const *v, size_t n, size_t top, int reason_only) {
    fprintf(out, "<table id=\"%s\"><tr><th>record</th><th>account</th><th>invoice</th><th>service</th><th>zone</th>"
                 "<th>reason</th><th class=\"n\">old</th><th class=\"n\">new</th><th class=\"n\">change</th></tr>\n",
            id);
    for (size_t i = 0, k = 0; i < n && k < top; i++) {
        const dr_rec *r = v[i];
        const char *f[] = {r->record_id, r->account, r->invoice_id, r->service, r->zone};
        if (reason_only && r->old_reason == r->new_reason) continue;
        k++;
        fputs("<tr>", out);
        for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
            fputs("<td>", out);
            aj_render_html_text(out, f[j]);
            fputs("</td>", out);
        }
        fprintf(out, "<td>%s &rarr; %s</td>", dr_reason(r->old_reason), dr_reason(r->new_reason));
        dr_html_money(out, r->old_charge);
        dr_html_money(out, r->new_charge);
        dr_html_money(out, r->delta);
        fputs("</tr>\n", out);
    }
    fputs("</table>\n", out);
}

/* Horizontal bars of the money moved per reason (|change| summed by the sign of the net),
 * scaled to the largest; the numbers are the exact net change. */
static void dr_html_chart(FILE *out, const dr_groups *g) {
    const int bar_w = 560, row_h = 24, label_w = 230;
    aj_money max = 0;
    char b[32];

    for (size_t i = 0; i < g->n; i++)
        if (dr_abs(g->v[i].delta) > max) max = dr_abs(g->v[i].delta);
    fprintf(out, "<svg id=\"chart\" width=\"%d\" height=\"%d\" role=\"img\" "
                 "aria-label=\"money moved by reason\">\n",
            label_w + bar_w + 140, (int)g->n * row_h + 8);
    for (size_t i = 0; i < g->n; i++) {
        const dr_sum *s = &g->v[i];
        /* Integer scaling of int64 micro-units: width = |delta| * bar_w / max, no floating point. */
        aj_money w = 0;
        if (max > 0 && aj_money_muldiv(dr_abs(s->delta), bar_w, max, AJ_ROUND_HALF_UP, &w) != AJ_E_OK) w = bar_w;
        if (s->delta != 0 && w < 1) w = 1;
        int y = (int)i * row_h + 4;
        fprintf(out, "<text x=\"0\" y=\"%d\" font-size=\"12\">", y + 15);
        aj_render_html_text(out, s->a);
        fprintf(out, "</text><rect x=\"%d\" y=\"%d\" width=\"%lld\" height=\"%d\" fill=\"%s\"/>", label_w, y,
                (long long)w, row_h - 6, s->delta < 0 ? "#0a7d32" : "#b3261e");
        fprintf(out, "<text x=\"%lld\" y=\"%d\" font-size=\"12\">%s</text>\n", (long long)(label_w + w + 6), y + 15,
                aj_micros(s->delta, b, sizeof(b)));
    }
    fputs("</svg>\n", out);
}

void aj_diff_print_html(const aj_diff *d, FILE *out, size_t top, const char *title) {
    char a[32], b[32];
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    aj_render_html_text(out, title);
    fprintf(out, "</title>\n<style>\n%s</style></head>\n<body><main>\n<h1>", dr_css);
    aj_render_html_text(out, title);
    fprintf(out, "</h1>\n<p>Records compared: <span id=\"records-compared\">%lld</span>. Records changed: "
                 "<span id=\"records-changed\">%zu</span> (<span id=\"reason-changes\">%zu</span> change reason). "
                 "Money moved: <span id=\"moved\">%s</span>, net <span id=\"net\">%s</span>.</p>\n",
            (long long)d->n_records, d->n_changed, d->n_reason_changes, aj_micros(d->moved, a, sizeof(a)),
            aj_micros(d->net, b, sizeof(b)));
    fputs("<h2>Money moved by reason</h2>\n", out);
    dr_html_chart(out, &d->reasons);
    dr_html_groups(out, "by-reason", "By reason", "reason", NULL, &d->reasons);
    dr_html_groups(out, "by-zone", "By service and zone", "service", "zone", &d->zones);
    fprintf(out, "<h2>Invoices whose amount due changes</h2>\n<p>Invoices emitted by the replay: <span "
                 "id=\"invoices\">%lld</span>, in the baseline too: %lld, with another amount due: <span "
                 "id=\"invoices-changed\">%zu</span>.</p>\n<table id=\"invoice-changes\"><tr><th>account</th>"
                 "<th>invoice</th><th class=\"n\">old due</th><th class=\"n\">new due</th><th class=\"n\">change</th></tr>\n",
            (long long)d->n_invoices, (long long)d->n_inv_compared, d->n_inv_changed);
    for (size_t i = 0; i < d->n_inv_changed; i++) {
        const dr_inv *v = d->inv_changed[i];
        fputs("<tr><td>", out);
        aj_render_html_text(out, v->account);
        fputs("</td><td>", out);
        aj_render_html_text(out, v->invoice_id);
        fputs("</td>", out);
        if (v->has[0]) dr_html_money(out, v->due[0]);
        else fputs("<td class=\"n\">-</td>", out);
        dr_html_money(out, v->due[1]);
        if (v->has[0]) dr_html_money(out, v->delta);
        else fputs("<td class=\"n\">-</td>", out);
        fputs("</tr>\n", out);
    }
    fputs("</table>\n", out);
    dr_html_groups(out, "by-invoice", "By account and invoice (changed records)", "account", "invoice", &d->invoices);
    fputs("<h2>Largest changes</h2>\n", out);
    dr_html_recs(out, "largest", d->largest, d->n_changed, top, 0);
    fputs("<h2>Records that change reason</h2>\n", out);
    dr_html_recs(out, "reason-changes-table", d->changed, d->n_changed, top, 1);
    fputs("</main></body></html>\n", out);
}
