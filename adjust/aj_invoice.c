/* aj_invoice.c - invoice lines, adjustments, taxes, credits, totals and the review hold
 * (docs/invoice.md). */
#define _GNU_SOURCE   /* qsort_r */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_adjust.h"
#include "aj_adjust_int.h"
#include "aj_tax.h"

/* Lines allocated at once: an invoice has one per zone and service used, contracted line and
 * memo (about 25 on the demo's), and growing the array record by record costs more than the
 * room left unused. */
#define AJ_LINES_FIRST 32

void aj_lineset_free(aj_lineset *ls) {
    free(ls->lines);
    free(ls->slot);
    free(ls->names);
    free(ls->adjs);
    free(ls->out);
    memset(ls, 0, sizeof(*ls));
}

void aj_lineset_clear(aj_lineset *ls) {
    ls->n = 0;
    ls->n_names = 0;
    ls->n_adjs = 0;
    if (ls->slot) memset(ls->slot, 0, ls->n_slot * sizeof(*ls->slot));
}

/* Room for item n of *v; a first allocation of `first` items. */
static aj_err aj_reserve(void **v, size_t size, size_t n, size_t *cap, size_t first) {
    if (n < *cap) return AJ_E_OK;
    size_t want = *cap ? *cap * 2 : first;
    void *grown = realloc(*v, want * size);
    if (!grown) return AJ_E_NOMEM;
    *v = grown;
    *cap = want;
    return AJ_E_OK;
}

static const char *aj_name(const aj_lineset *ls, uint32_t off) {
    return off ? ls->names + off : "";
}

/* Keeps the first `max` bytes (at most) of s in the names, as the field of that size would:
 * *off gets where (0 for ""). */
static aj_err aj_name_add(aj_lineset *ls, const char *s, size_t max, uint32_t *off) {
    size_t len = strnlen(s, max), at = ls->n_names ? ls->n_names : 1;   /* offset 0 is "" */
    if (len == 0) {
        *off = 0;
        return AJ_E_OK;
    }
    if (at + len + 1 > UINT32_MAX) return AJ_E_NOMEM;
    if (at + len + 1 > ls->cap_names) {
        size_t want = ls->cap_names ? ls->cap_names * 2 : 256;
        while (want < at + len + 1) want *= 2;
        char *grown = realloc(ls->names, want);
        if (!grown) return AJ_E_NOMEM;
        ls->names = grown;
        ls->cap_names = want;
    }
    ls->names[0] = '\0';
    memcpy(ls->names + at, s, len);
    ls->names[at + len] = '\0';
    ls->n_names = at + len + 1;
    *off = (uint32_t)at;
    return AJ_E_OK;
}

static void aj_copy_name(char *dst, const aj_lineset *ls, uint32_t off) {
    const char *s = aj_name(ls, off);
    memcpy(dst, s, strlen(s) + 1);
}

/* Sets the description of line idx (TAX and CREDIT lines: the others have their kind's). */
static aj_err aj_lineset_describe(aj_lineset *ls, uint32_t idx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static aj_err aj_lineset_describe(aj_lineset *ls, uint32_t idx, const char *fmt, ...) {
    char text[sizeof(((aj_invoice_line *)0)->description)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return aj_name_add(ls, text, sizeof(text) - 1, &ls->lines[idx].description);
}

static void aj_line_describe(aj_invoice_line *l) {
    const char *svc = aj_service_name(l->service);
    switch (l->kind) {
    case AJ_LINE_USAGE:
        if (l->item[0])
            snprintf(l->description, sizeof(l->description), "%s usage, zone %s", svc, l->item);
        else
            snprintf(l->description, sizeof(l->description), "%s usage", svc);
        break;
    case AJ_LINE_RECURRING: snprintf(l->description, sizeof(l->description), "Monthly charge, line %s (%s)", l->item, svc); break;
    case AJ_LINE_LATE_USAGE:
        snprintf(l->description, sizeof(l->description), "Late %s usage of invoice %s", svc, l->refers_to);
        break;
    case AJ_LINE_LATE_RECURRING:
        snprintf(l->description, sizeof(l->description), "Late %s monthly charges of invoice %s", svc, l->refers_to);
        break;
    case AJ_LINE_ONE_TIME: snprintf(l->description, sizeof(l->description), "One-time charge %s", l->item); break;
    case AJ_LINE_LATE_ONE_TIME:
        snprintf(l->description, sizeof(l->description), "Late one-time charges of invoice %s", l->refers_to);
        break;
    case AJ_LINE_DISCOUNT:
        snprintf(l->description, sizeof(l->description), "Discount %s (included in the lines above)", l->item);
        break;
    case AJ_LINE_PROMOTION:
        snprintf(l->description, sizeof(l->description), "Promotion %s (included in the lines above)", l->item);
        break;
    default: break;   /* TAX and CREDIT lines are described where they are built */
    }
}

static int aj_line_memo(aj_line_kind kind) {
    return kind == AJ_LINE_DISCOUNT || kind == AJ_LINE_PROMOTION;
}

void aj_lineset_invoice_line(const aj_lineset *ls, uint32_t idx, aj_invoice_line *l) {
    const aj_line_sum *s = &ls->lines[idx];
    memset(l, 0, sizeof(*l));
    aj_copy_name(l->line_id, ls, s->line_id);
    l->kind = s->kind;
    l->service = s->service;
    memcpy(l->item, s->item, sizeof(l->item));
    aj_copy_name(l->refers_to, ls, s->refers_to);
    if (s->description)
        aj_copy_name(l->description, ls, s->description);
    else
        aj_line_describe(l);
    l->records = s->records;
    l->quantity = s->quantity;
    l->legacy_amount = s->legacy_amount;
    l->corrected_amount = s->corrected_amount;
    l->billed_amount = s->billed_amount;
    l->corrections = s->corrections;
    l->memo = aj_line_memo(s->kind);
}

/* FNV-1a of what identifies a line: lines are compared by it before their names are. */
static uint64_t aj_line_key(aj_line_kind kind, aj_service service, const char *item, const char *refers_to) {
    uint64_t h = 0xcbf29ce484222325ULL;
    h = (h ^ (uint64_t)kind) * 0x100000001b3ULL;
    h = (h ^ (uint64_t)service) * 0x100000001b3ULL;
    for (const char *p = item; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    for (const char *p = refers_to; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    return h;
}

static int aj_line_is(const aj_lineset *ls, size_t i, uint64_t key, aj_line_kind kind, aj_service service,
                      const char *item, const char *refers_to) {
    const aj_line_sum *l = &ls->lines[i];
    return l->key == key && l->kind == kind && l->service == service && strcmp(l->item, item) == 0 &&
           strcmp(aj_name(ls, l->refers_to), refers_to) == 0;
}

/* The lines by key, open addressing: a slot holds the high half of its line's key and the
 * line's index + 1, so that a probe reads a line only when that half is the key's. */
static void aj_slot_put(aj_lineset *ls, size_t i) {
    uint64_t key = ls->lines[i].key;
    size_t mask = ls->n_slot - 1, s = key & mask;
    while (ls->slot[s]) s = (s + 1) & mask;
    ls->slot[s] = (key & 0xffffffff00000000ULL) | (uint64_t)(i + 1);
}

/* Line i (its key set; the lines before it indexed) in the slots, kept at most half full. */
static aj_err aj_index(aj_lineset *ls, size_t i) {
    if (2 * (i + 1) > ls->n_slot) {
        size_t n_slot = ls->n_slot ? ls->n_slot * 2 : 2 * AJ_LINES_FIRST;
        uint64_t *slot = calloc(n_slot, sizeof(*slot));
        if (!slot) return AJ_E_NOMEM;
        free(ls->slot);
        ls->slot = slot;
        ls->n_slot = n_slot;
        for (size_t j = 0; j < i; j++) aj_slot_put(ls, j);
    }
    aj_slot_put(ls, i);
    return AJ_E_OK;
}

/* Line ls->n: sums zero, texts and key set, indexed; the caller counts it. AJ_E_NOMEM. */
static aj_err aj_line_new(aj_lineset *ls, aj_line_kind kind, aj_service service, const char *item,
                          const char *refers_to, const char *line_id) {
    if (ls->n >= UINT32_MAX - 1 ||
        aj_reserve((void **)&ls->lines, sizeof(*ls->lines), ls->n, &ls->cap, AJ_LINES_FIRST))
        return AJ_E_NOMEM;
    aj_line_sum *l = &ls->lines[ls->n];
    memset(l, 0, sizeof(*l));
    l->kind = kind;
    l->service = service;
    /* item and refers_to as their invoice fields keep them: the key is of what is kept. */
    memcpy(l->item, item, strnlen(item, sizeof(l->item) - 1));
    if (aj_name_add(ls, refers_to, AJ_ID_LEN, &l->refers_to) || aj_name_add(ls, line_id, AJ_LINE_ID_LEN, &l->line_id))
        return AJ_E_NOMEM;
    l->key = aj_line_key(kind, service, l->item, aj_name(ls, l->refers_to));
    return aj_index(ls, ls->n);
}

aj_err aj_lineset_line(aj_lineset *ls, aj_line_kind kind, aj_service service, const char *item, const char *refers_to,
                       uint32_t *idx) {
    uint64_t key = aj_line_key(kind, service, item, refers_to);
    if (ls->n_slot)
        for (size_t mask = ls->n_slot - 1, s = key & mask; ls->slot[s]; s = (s + 1) & mask) {
            uint64_t v = ls->slot[s];
            if (v >> 32 == key >> 32 && aj_line_is(ls, (uint32_t)v - 1, key, kind, service, item, refers_to)) {
                *idx = (uint32_t)v - 1;
                return AJ_E_OK;
            }
        }
    /* Clause "Lines": the line ids. */
    char line_id[AJ_LINE_ID_LEN + 1];
    const char *svc = service < AJ_SERVICE__COUNT ? aj_service_name(service) : "";
    switch (kind) {
    case AJ_LINE_USAGE: snprintf(line_id, sizeof(line_id), "USAGE/%s/%s", svc, item); break;
    case AJ_LINE_LATE_USAGE:
    case AJ_LINE_LATE_RECURRING:
        snprintf(line_id, sizeof(line_id), "%s/%s/%s", aj_line_kind_name(kind), refers_to, svc);
        break;
    case AJ_LINE_LATE_ONE_TIME: snprintf(line_id, sizeof(line_id), "LATE_ONE_TIME/%s", refers_to); break;
    default: snprintf(line_id, sizeof(line_id), "%s/%s", aj_line_kind_name(kind), item); break;
    }
    if (aj_line_new(ls, kind, service, item, refers_to, line_id)) return AJ_E_NOMEM;
    *idx = (uint32_t)ls->n++;
    return AJ_E_OK;
}

const char *aj_lineset_line_id(const aj_lineset *ls, uint32_t idx) {
    return aj_name(ls, ls->lines[idx].line_id);
}

aj_err aj_lineset_put_line(aj_lineset *ls, const aj_invoice_line *l) {
    if (l->memo != aj_line_memo(l->kind)) return AJ_E_BAD_ENUM;
    if (aj_line_new(ls, l->kind, l->service, l->item, l->refers_to, l->line_id)) return AJ_E_NOMEM;
    aj_line_sum *s = &ls->lines[ls->n++];
    if (aj_name_add(ls, l->description, sizeof(l->description) - 1, &s->description)) return AJ_E_NOMEM;
    s->records = l->records;
    s->quantity = l->quantity;
    s->legacy_amount = l->legacy_amount;
    s->corrected_amount = l->corrected_amount;
    s->billed_amount = l->billed_amount;
    s->corrections = l->corrections;
    return AJ_E_OK;
}

aj_err aj_lineset_add(aj_lineset *ls, uint32_t idx, int64_t records, int64_t quantity, aj_money legacy,
                      aj_money corrected) {
    aj_line_sum *l = &ls->lines[idx];
    aj_money q, lg, c, b;
    aj_err rc;
    if ((rc = aj_money_add(l->quantity, quantity, &q)) || (rc = aj_money_add(l->legacy_amount, legacy, &lg)) ||
        (rc = aj_money_add(l->corrected_amount, corrected, &c)) || (rc = aj_money_add(l->billed_amount, legacy, &b)))
        return rc;
    l->records += records;
    l->quantity = q;
    l->legacy_amount = lg;
    l->corrected_amount = c;
    l->billed_amount = b;
    return AJ_E_OK;
}

static int aj_applied(aj_disposition d) {
    return d == AJ_DISP_APPLY || d == AJ_DISP_HOLD;
}

aj_err aj_lineset_adjust(aj_lineset *ls, uint32_t idx, aj_reason reason, aj_disposition d, int64_t count,
                         aj_money delta) {
    aj_line_sum *l = &ls->lines[idx];
    aj_invoice_adjustment *a = NULL;
    aj_money nd, nb = l->billed_amount;
    aj_err rc;

    for (size_t i = ls->n_adjs; i-- > 0;) {
        aj_invoice_adjustment *x = &ls->adjs[i];
        if (x->line == idx && x->reason == reason && x->disposition == d && (x->delta < 0) == (delta < 0)) {
            a = x;
            break;
        }
    }
    if (!a) {
        if (aj_reserve((void **)&ls->adjs, sizeof(*ls->adjs), ls->n_adjs, &ls->cap_adjs, 8)) return AJ_E_NOMEM;
        a = &ls->adjs[ls->n_adjs++];
        memset(a, 0, sizeof(*a));
        a->line = idx;
        a->reason = reason;
        a->disposition = d;
    }
    if ((rc = aj_money_add(a->delta, delta, &nd)) || (aj_applied(d) && (rc = aj_money_add(nb, delta, &nb))))
        return rc;
    a->delta = nd;
    a->count += count;
    l->billed_amount = nb;
    if (reason != AJ_ADJ_TAX_BASE) l->corrections += count;
    return AJ_E_OK;
}

aj_err aj_lineset_append(aj_lineset *dst, const aj_lineset *src) {
    uint32_t base = (uint32_t)dst->n;
    for (size_t i = 0; i < src->n; i++) {
        const aj_line_sum *s = &src->lines[i];
        if (aj_reserve((void **)&dst->lines, sizeof(*dst->lines), dst->n, &dst->cap, AJ_LINES_FIRST)) return AJ_E_NOMEM;
        aj_line_sum *l = &dst->lines[dst->n];
        *l = *s;
        if (aj_name_add(dst, aj_name(src, s->refers_to), AJ_ID_LEN, &l->refers_to) ||
            aj_name_add(dst, aj_name(src, s->line_id), AJ_LINE_ID_LEN, &l->line_id) ||
            aj_name_add(dst, aj_name(src, s->description), sizeof(((aj_invoice_line *)0)->description) - 1,
                        &l->description) ||
            aj_index(dst, dst->n))
            return AJ_E_NOMEM;
        dst->n++;
    }
    for (size_t i = 0; i < src->n_adjs; i++) {
        if (aj_reserve((void **)&dst->adjs, sizeof(*dst->adjs), dst->n_adjs, &dst->cap_adjs, 8)) return AJ_E_NOMEM;
        dst->adjs[dst->n_adjs] = src->adjs[i];
        dst->adjs[dst->n_adjs++].line += base;
    }
    return AJ_E_OK;
}

void aj_invoice_id(char *buf, size_t len, const char *account, const char *cycle, int revision) {
    snprintf(buf, len, "INV-%s-%s-r%d", account, cycle, revision);
}

/* ------------------------------------------------------------------ credits and taxes */

static aj_err aj_credit_lines(aj_lineset *ls, const aj_invoice_input *in) {
    char a[32];
    for (size_t i = 0; i < in->n_credits; i++) {
        const aj_credit *cr = &in->credits[i];
        uint32_t idx;
        aj_err rc;
        if ((rc = aj_lineset_line(ls, AJ_LINE_CREDIT, AJ_SERVICE__COUNT, cr->dispute_id, cr->invoice_id, &idx)) ||
            (rc = aj_lineset_add(ls, idx, 1, 0, -cr->amount, -cr->amount)))
            return rc;
        aj_money_format(cr->amount, in->contract ? in->contract->decimals : 2, a, sizeof(a));
        if ((rc = aj_lineset_describe(ls, idx, "Credit %s for dispute %s%s%s%s%s", a, cr->dispute_id,
                                      cr->invoice_id[0] ? " on invoice " : "", cr->invoice_id, cr->reason[0] ? ": " : "",
                                      cr->reason)))
            return rc;
    }
    return AJ_E_OK;
}

/* The taxable bases: legacy, billed and corrected amounts of the charge lines, per service
 * (slots 0..AJ_SERVICE__COUNT-1) and, in slot AJ_SERVICE__COUNT, of the one-time charges, which
 * have no service (clause "Taxes": only the taxes covering every service tax them). */
static aj_err aj_tax_bases(const aj_lineset *ls, aj_money legacy[AJ_SERVICE__COUNT + 1],
                           aj_money billed[AJ_SERVICE__COUNT + 1], aj_money corrected[AJ_SERVICE__COUNT + 1]) {
    aj_err rc;
    memset(legacy, 0, sizeof(aj_money) * (AJ_SERVICE__COUNT + 1));
    memset(billed, 0, sizeof(aj_money) * (AJ_SERVICE__COUNT + 1));
    memset(corrected, 0, sizeof(aj_money) * (AJ_SERVICE__COUNT + 1));
    for (size_t i = 0; i < ls->n; i++) {
        const aj_line_sum *l = &ls->lines[i];
        size_t slot = l->service;
        if (aj_line_memo(l->kind)) continue;
        if (l->kind == AJ_LINE_ONE_TIME || l->kind == AJ_LINE_LATE_ONE_TIME)
            slot = AJ_SERVICE__COUNT;
        else if (l->service >= AJ_SERVICE__COUNT ||
                 (l->kind != AJ_LINE_USAGE && l->kind != AJ_LINE_RECURRING && l->kind != AJ_LINE_LATE_USAGE &&
                  l->kind != AJ_LINE_LATE_RECURRING))
            continue;
        if ((rc = aj_money_add(legacy[slot], l->legacy_amount, &legacy[slot])) ||
            (rc = aj_money_add(billed[slot], l->billed_amount, &billed[slot])) ||
            (rc = aj_money_add(corrected[slot], l->corrected_amount, &corrected[slot])))
            return rc;
    }
    return AJ_E_OK;
}

static void aj_services_text(uint32_t mask, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (int s = 0; s < AJ_SERVICE__COUNT; s++)
        if (mask & (1u << s))
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", aj_service_name((aj_service)s));
}

/* The TAX_MISMATCH correction of one tax: legacy says `legacy`, the contract on the legacy
 * base says `expected`. */
static aj_err aj_tax_mismatch(const aj_invoice_input *in, const char *name, const aj_tax *tax, aj_money legacy_base,
                              aj_money legacy, aj_money expected, const char *invoice_id, const char *line_id,
                              aj_tax_correction_fn on_tax, void *opaque, aj_disposition *disp) {
    const aj_cycle_close *cl = in->close;
    const aj_contract *k = in->contract;
    aj_correction c;
    char a[32], b[32], base[32];
    int dec = k->decimals;
    aj_err rc;

    memset(&c, 0, sizeof(c));
    snprintf(c.record_id, sizeof(c.record_id), "TAX-%s-%s-%s", name, cl->account, cl->cycle_id);
    snprintf(c.correction_id, sizeof(c.correction_id), "COR-%s", c.record_id);
    memcpy(c.account, cl->account, sizeof(c.account));
    memcpy(c.cycle_id, cl->cycle_id, sizeof(c.cycle_id));
    c.kind = AJ_KIND_TAX;
    c.service = AJ_SERVICE_VOICE;
    for (int s = AJ_SERVICE__COUNT - 1; tax && s >= 0; s--)
        if (tax->services & (1u << s)) c.service = (aj_service)s;
    c.reason = AJ_REASON_TAX_MISMATCH;
    c.legacy_amount = legacy;
    c.corrected_amount = expected;
    if ((rc = aj_money_sub(expected, legacy, &c.delta))) return rc;
    memcpy(c.currency, k->currency, sizeof(c.currency));
    snprintf(c.contract_id, sizeof(c.contract_id), "%s", k->contract_id);
    c.contract_version = k->version;
    snprintf(c.tariff_code, sizeof(c.tariff_code), "%s", name);
    c.trace.contract_version = k->version;
    c.trace.quantity = legacy_base;
    c.trace.billed_quantity = legacy_base;
    c.trace.rate_unit = 1;
    c.trace.decimals = dec;
    c.trace.rounding = k->rounding;
    aj_money_format(legacy, dec, a, sizeof(a));
    aj_money_format(expected, dec, b, sizeof(b));
    aj_money_format(legacy_base, dec, base, sizeof(base));
    if (tax)
        snprintf(c.hypothesis, sizeof(c.hypothesis), "legacy %s %s on a base of %s; the contract's %lld.%04lld%% %s gives %s",
                 name, a, base, (long long)(tax->rate_ppm / 10000), (long long)(tax->rate_ppm % 10000),
                 aj_tax_mode_name(tax->mode), b);
    else
        snprintf(c.hypothesis, sizeof(c.hypothesis), "legacy invoice charged tax %s (%s), which contract %s v%d does not have",
                 name, a, k->contract_id, k->version);
    c.source = in->pos;
    c.disposition = aj_policy_of(in->policy, c.reason, c.delta);
    snprintf(c.invoice_id, sizeof(c.invoice_id), "%s", invoice_id);
    snprintf(c.invoice_line, sizeof(c.invoice_line), "%s", line_id);
    *disp = c.disposition;
    return on_tax(opaque, &c);
}

static const aj_legacy_tax *aj_legacy_tax_of(const aj_cycle_close *cl, const char *name) {
    for (size_t i = 0; i < cl->n_legacy_taxes; i++)
        if (strcmp(cl->legacy_taxes[i].name, name) == 0) return &cl->legacy_taxes[i];
    return NULL;
}

/* Clause "Taxes": one line per tax of the contract (and per legacy tax it does not have). */
static aj_err aj_tax_lines(aj_lineset *ls, const aj_invoice_input *in, const char *invoice_id, aj_tax_correction_fn on_tax,
                           void *opaque) {
    const aj_contract *k = in->contract;
    const aj_cycle_close *cl = in->close;
    aj_money lb[AJ_SERVICE__COUNT + 1], bb[AJ_SERVICE__COUNT + 1], cb[AJ_SERVICE__COUNT + 1];
    aj_tax_amount *tl = NULL, *tb = NULL, *tc = NULL;
    char services[64];
    aj_err rc;

    if (!k) return AJ_E_OK;
    if ((rc = aj_tax_bases(ls, lb, bb, cb))) return rc;
    if (k->n_taxes) {
        tl = calloc(k->n_taxes * 3, sizeof(*tl));
        if (!tl) return AJ_E_NOMEM;
        tb = tl + k->n_taxes;
        tc = tb + k->n_taxes;
        if ((rc = aj_tax_compute_all(k, lb, lb[AJ_SERVICE__COUNT], tl)) ||
            (rc = aj_tax_compute_all(k, bb, bb[AJ_SERVICE__COUNT], tb)) ||
            (rc = aj_tax_compute_all(k, cb, cb[AJ_SERVICE__COUNT], tc)))
            goto end;
    }
    for (size_t i = 0; i < k->n_taxes; i++) {
        const aj_tax *t = &k->taxes[i];
        const aj_legacy_tax *given = aj_legacy_tax_of(cl, t->name);
        /* No legacy taxes on the close: each is taken as the contract's on the legacy base. */
        aj_money legacy = cl->n_legacy_taxes == 0 ? tl[i].amount : given ? given->amount : 0;
        uint32_t idx;
        aj_disposition d = AJ_DISP_APPLY;
        if ((rc = aj_lineset_line(ls, AJ_LINE_TAX, AJ_SERVICE__COUNT, t->name, "", &idx)) ||
            (rc = aj_lineset_add(ls, idx, 0, tb[i].base, legacy, legacy)))
            goto end;
        aj_services_text(t->services, services, sizeof(services));
        if ((rc = aj_lineset_describe(ls, idx, "%s %lld.%04lld%% %s on %s", t->name, (long long)(t->rate_ppm / 10000),
                                      (long long)(t->rate_ppm % 10000),
                                      t->mode == AJ_TAX_GROSS_UP ? "included (gross-up)" : "added", services)))
            goto end;
        if (legacy != tl[i].amount) {
            if ((rc = aj_tax_mismatch(in, t->name, t, tl[i].base, legacy, tl[i].amount, invoice_id,
                                      aj_lineset_line_id(ls, idx), on_tax, opaque, &d)) ||
                (rc = aj_lineset_adjust(ls, idx, AJ_REASON_TAX_MISMATCH, d, 1, tl[i].amount - legacy)))
                goto end;
            ls->lines[idx].corrected_amount = tl[i].amount;
        }
        /* The tax follows its base: the applied part of the corrections now, the flagged rest
         * advisory, so that legacy + every adjustment = the contract's tax on the corrected base. */
        if (tb[i].amount != tl[i].amount &&
            (rc = aj_lineset_adjust(ls, idx, AJ_ADJ_TAX_BASE, AJ_DISP_APPLY, 1, tb[i].amount - tl[i].amount)))
            goto end;
        if (tc[i].amount != tb[i].amount &&
            (rc = aj_lineset_adjust(ls, idx, AJ_ADJ_TAX_BASE, AJ_DISP_FLAG, 1, tc[i].amount - tb[i].amount)))
            goto end;
        ls->lines[idx].corrected_amount = tc[i].amount;
    }
    /* A tax the legacy invoice charged that the contract does not have is removed. */
    for (size_t j = 0; j < cl->n_legacy_taxes; j++) {
        const aj_legacy_tax *g = &cl->legacy_taxes[j];
        int known = 0;
        uint32_t idx;
        aj_disposition d;
        for (size_t i = 0; i < k->n_taxes; i++) known |= strcmp(k->taxes[i].name, g->name) == 0;
        if (known) continue;
        if ((rc = aj_lineset_line(ls, AJ_LINE_TAX, AJ_SERVICE__COUNT, g->name, "", &idx)) ||
            (rc = aj_lineset_add(ls, idx, 0, 0, g->amount, 0)))
            goto end;
        if ((rc = aj_lineset_describe(ls, idx, "%s (not in the contract)", g->name))) goto end;
        if (g->amount &&
            ((rc = aj_tax_mismatch(in, g->name, NULL, 0, g->amount, 0, invoice_id, aj_lineset_line_id(ls, idx), on_tax,
                                   opaque, &d)) ||
             (rc = aj_lineset_adjust(ls, idx, AJ_REASON_TAX_MISMATCH, d, 1, -g->amount))))
            goto end;
    }
    rc = AJ_E_OK;
end:
    free(tl);
    return rc;
}

/* ------------------------------------------------------------------ order and totals */

/* Compares two line indexes by the lines they name (the lineset: the qsort_r context). */
static int aj_cmp_line(const void *pa, const void *pb, void *lineset) {
    const aj_lineset *ls = lineset;
    const aj_line_sum *a = &ls->lines[*(const uint32_t *)pa], *b = &ls->lines[*(const uint32_t *)pb];
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->service != b->service) return a->service < b->service ? -1 : 1;
    int c = strcmp(aj_name(ls, a->refers_to), aj_name(ls, b->refers_to));
    return c ? c : strcmp(a->item, b->item);
}

static int aj_cmp_adj(const void *pa, const void *pb) {
    const aj_invoice_adjustment *a = pa, *b = pb;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    if (a->reason != b->reason) return a->reason < b->reason ? -1 : 1;
    if (a->disposition != b->disposition) return a->disposition < b->disposition ? -1 : 1;
    return (a->delta > 0) - (b->delta > 0);
}

/* Clause "Lines": by kind, service, the invoice referred to, item; adjustments follow. The
 * invoice lines are written out in that order (ls->out). */
static aj_err aj_sort_invoice(aj_lineset *ls) {
    if (ls->n == 0) return AJ_E_OK;
    if (ls->n > ls->cap_out) {
        aj_invoice_line *grown = realloc(ls->out, ls->n * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        ls->out = grown;
        ls->cap_out = ls->n;
    }
    uint32_t *perm = malloc((ls->n + 1) * sizeof(*perm)), *pos = malloc((ls->n + 1) * sizeof(*pos));
    aj_line_sum *sorted = malloc((ls->n + 1) * sizeof(*sorted));
    if (!perm || !pos || !sorted) {
        free(perm);
        free(pos);
        free(sorted);
        return AJ_E_NOMEM;
    }
    for (uint32_t i = 0; i < ls->n; i++) perm[i] = i;
    qsort_r(perm, ls->n, sizeof(*perm), aj_cmp_line, ls);
    for (uint32_t i = 0; i < ls->n; i++) {
        sorted[i] = ls->lines[perm[i]];
        pos[perm[i]] = i;
    }
    memcpy(ls->lines, sorted, ls->n * sizeof(*sorted));
    memset(ls->slot, 0, ls->n_slot * sizeof(*ls->slot));
    for (size_t i = 0; i < ls->n; i++) aj_slot_put(ls, i);
    for (uint32_t i = 0; i < ls->n; i++) aj_lineset_invoice_line(ls, i, &ls->out[i]);
    for (size_t i = 0; i < ls->n_adjs; i++) ls->adjs[i].line = pos[ls->adjs[i].line];
    if (ls->n_adjs) qsort(ls->adjs, ls->n_adjs, sizeof(*ls->adjs), aj_cmp_adj);
    free(perm);
    free(pos);
    free(sorted);
    return AJ_E_OK;
}

#define AJ_ADD(acc, v)                                           \
    do {                                                         \
        if ((rc = aj_money_add((acc), (v), &(acc)))) return rc;  \
    } while (0)

static aj_err aj_invoice_totals(aj_invoice *inv) {
    aj_err rc;
    for (size_t i = 0; i < inv->n_lines; i++) {
        const aj_invoice_line *l = &inv->lines[i];
        if (l->memo) continue;
        AJ_ADD(inv->legacy_total, l->legacy_amount);
        AJ_ADD(inv->corrected_total, l->billed_amount);
        if (l->kind == AJ_LINE_TAX) AJ_ADD(inv->tax_total, l->billed_amount);
        if (l->kind == AJ_LINE_CREDIT) AJ_ADD(inv->credit_total, l->billed_amount);
    }
    aj_reason_summary by[AJ_REASON__COUNT];
    memset(by, 0, sizeof(by));
    for (size_t i = 0; i < inv->n_adjustments; i++) {
        const aj_invoice_adjustment *a = &inv->adjustments[i];
        int applied = aj_applied(a->disposition);
        aj_money *side = a->delta < 0 ? (applied ? &inv->overcharge_removed : &inv->flagged_overcharge)
                                      : (applied ? &inv->undercharge_added : &inv->flagged_undercharge);
        AJ_ADD(*side, a->delta < 0 ? -a->delta : a->delta);
        if (a->reason == AJ_ADJ_TAX_BASE) continue;
        by[a->reason].count += a->count;
        AJ_ADD(by[a->reason].delta, a->delta);
        if (applied) AJ_ADD(by[a->reason].applied, a->delta);
    }
    for (int r = 0; r < AJ_REASON__COUNT; r++)
        if (by[r].count) {
            by[r].reason = (aj_reason)r;
            inv->reasons[inv->n_reasons++] = by[r];
        }
    if ((rc = aj_money_sub(inv->corrected_total, inv->legacy_total, &inv->adjustment_total))) return rc;
    inv->amount_due = inv->corrected_total;
    return AJ_E_OK;
}

#undef AJ_ADD

/* Clause "Review": HOLD corrections, then materiality. */
static void aj_invoice_hold(aj_invoice *inv, const aj_policy *policy) {
    int64_t held = 0;
    aj_reason first = AJ_REASON__COUNT;
    for (size_t i = 0; i < inv->n_adjustments; i++)
        if (inv->adjustments[i].disposition == AJ_DISP_HOLD) {
            held += inv->adjustments[i].count;
            if (first == AJ_REASON__COUNT) first = inv->adjustments[i].reason;
        }
    if (held) {
        inv->status = AJ_INV_HELD;
        snprintf(inv->status_reason, sizeof(inv->status_reason), "%lld correction(s) with disposition HOLD (first: %s)",
                 (long long)held, aj_reason_name(first));
        return;
    }
    /* The gross movement: an invoice whose removals and additions cancel out still moved.
     * Measured against the legacy charges and taxes: a dispute credit is not a charge. */
    aj_money gross, charged = inv->legacy_total;
    if (aj_money_add(inv->overcharge_removed, inv->undercharge_added, &gross)) gross = INT64_MAX;
    if (aj_money_sub(charged, inv->credit_total, &charged)) charged = INT64_MAX;
    if (aj_policy_material(policy, gross, charged, inv->status_reason, sizeof(inv->status_reason)))
        inv->status = AJ_INV_HELD;
}

aj_err aj_invoice_assemble(aj_lineset *ls, const aj_invoice_input *in, aj_tax_correction_fn on_tax, void *opaque,
                           aj_invoice *inv) {
    const aj_cycle_close *cl = in->close;
    const aj_contract *k = in->contract;
    aj_err rc;

    memset(inv, 0, sizeof(*inv));
    aj_invoice_id(inv->invoice_id, sizeof(inv->invoice_id), cl->account, cl->cycle_id, 1);
    memcpy(inv->account, cl->account, sizeof(inv->account));
    memcpy(inv->cycle_id, cl->cycle_id, sizeof(inv->cycle_id));
    inv->revision = 1;
    inv->status = AJ_INV_ISSUED;
    inv->period_start_ms = cl->period_start_ms;
    inv->period_end_ms = cl->period_end_ms;
    snprintf(inv->currency, sizeof(inv->currency), "%s", k ? k->currency : in->currency ? in->currency : "");
    snprintf(inv->contract_id, sizeof(inv->contract_id), "%s", in->contract_id ? in->contract_id : k ? k->contract_id : "");
    inv->decimals = k ? k->decimals : 2;
    /* Clause "Header": issued on the local date the period ends, due the payment terms after
     * its last local day. */
    if (in->tz && cl->period_end_ms > cl->period_start_ms) {
        int64_t first, end_day;
        aj_rating_period_days(in->tz, cl->period_start_ms, cl->period_end_ms, &first, &end_day);
        inv->issue_date = (int32_t)end_day;
        inv->due_date = (int32_t)(end_day - 1 + (k ? k->payment_terms_days : 0));
    }
    inv->versions = in->versions;
    inv->n_versions = in->n_versions;
    if ((rc = aj_credit_lines(ls, in)) || (rc = aj_tax_lines(ls, in, inv->invoice_id, on_tax, opaque)) ||
        (rc = aj_sort_invoice(ls)))
        return rc;
    inv->lines = ls->out;
    inv->n_lines = ls->n;
    inv->adjustments = ls->adjs;
    inv->n_adjustments = ls->n_adjs;
    if ((rc = aj_invoice_totals(inv))) return rc;
    aj_invoice_hold(inv, in->policy);
    return AJ_E_OK;
}

aj_err aj_invoice_review_release(aj_invoice *inv, aj_release_mode mode, const char *reviewer, const char *note) {
    char held[sizeof(inv->status_reason)];
    aj_err rc;

    if (inv->status != AJ_INV_HELD) return AJ_E_ARG;
    memcpy(held, inv->status_reason, sizeof(held));
    if (mode == AJ_RELEASE_FLAG) {
        /* Every adjustment becomes advisory: each line is billed its legacy amount. Entries that
         * now share line, reason, disposition and sign merge, one entry each as before. */
        size_t n = 0;
        for (size_t i = 0; i < inv->n_adjustments; i++) {
            aj_invoice_adjustment a = inv->adjustments[i];
            size_t j;
            a.disposition = AJ_DISP_FLAG;
            for (j = 0; j < n; j++) {
                aj_invoice_adjustment *x = &inv->adjustments[j];
                if (x->line == a.line && x->reason == a.reason && (x->delta < 0) == (a.delta < 0) &&
                    x->disposition == AJ_DISP_FLAG)
                    break;
            }
            if (j < n) {
                if ((rc = aj_money_add(inv->adjustments[j].delta, a.delta, &inv->adjustments[j].delta))) return rc;
                inv->adjustments[j].count += a.count;
            } else {
                inv->adjustments[n++] = a;
            }
        }
        inv->n_adjustments = n;
        for (size_t i = 0; i < inv->n_lines; i++) inv->lines[i].billed_amount = inv->lines[i].legacy_amount;
        inv->revision = 2;
        aj_invoice_id(inv->invoice_id, sizeof(inv->invoice_id), inv->account, inv->cycle_id, 2);
        /* Totals from the lines again. */
        inv->legacy_total = inv->corrected_total = inv->adjustment_total = 0;
        inv->overcharge_removed = inv->undercharge_added = inv->flagged_overcharge = inv->flagged_undercharge = 0;
        inv->tax_total = inv->credit_total = inv->amount_due = 0;
        memset(inv->reasons, 0, sizeof(inv->reasons));
        inv->n_reasons = 0;
        if ((rc = aj_invoice_totals(inv))) return rc;
    }
    inv->status = AJ_INV_RELEASED;
    snprintf(inv->status_reason, sizeof(inv->status_reason), "released %s by %s%s%s; held for: %s",
             mode == AJ_RELEASE_FLAG ? "with every correction flagged" : "as it is", reviewer, note && *note ? ": " : "",
             note && *note ? note : "", held);
    return AJ_E_OK;
}
