/* aj_types.c - names of the domain enums and small helpers of the shared records. */
#include "aj_types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const aj_service_names[] = {
#define AJ_SERVICE_NAME(name) #name,
    AJ_SERVICE_MAP(AJ_SERVICE_NAME)
#undef AJ_SERVICE_NAME
};

const char *aj_service_name(aj_service s) {
    if ((unsigned)s >= AJ_SERVICE__COUNT) return "UNKNOWN";
    return aj_service_names[s];
}

aj_err aj_service_parse(const char *s, aj_service *out) {
    for (int i = 0; i < AJ_SERVICE__COUNT; i++)
        if (strcmp(s, aj_service_names[i]) == 0) {
            *out = (aj_service)i;
            return AJ_E_OK;
        }
    return AJ_E_UNKNOWN_SERVICE;
}

const char *aj_record_kind_name(aj_record_kind k) {
    switch (k) {
    case AJ_KIND_USAGE: return "USAGE";
    case AJ_KIND_RECURRING: return "RECURRING";
    case AJ_KIND_TAX: return "TAX";
    case AJ_KIND_ONE_TIME: return "ONE_TIME";
    case AJ_KIND__COUNT: break;
    }
    return "UNKNOWN";
}

/* Index of s in names[n], or -1. */
static int aj_name_index(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static const char *const aj_disposition_names[AJ_DISP__COUNT] = {"APPLY", "FLAG", "HOLD"};

const char *aj_disposition_name(aj_disposition d) {
    return (unsigned)d < AJ_DISP__COUNT ? aj_disposition_names[d] : "UNKNOWN";
}

aj_err aj_disposition_parse(const char *s, aj_disposition *out) {
    int i = aj_name_index(aj_disposition_names, AJ_DISP__COUNT, s);
    if (i < 0) return AJ_E_NOT_FOUND;
    *out = (aj_disposition)i;
    return AJ_E_OK;
}

static const char *const aj_line_kind_names[AJ_LINE__COUNT] = {
#define AJ_LINE_KIND_NAME(name) #name,
    AJ_LINE_KIND_MAP(AJ_LINE_KIND_NAME)
#undef AJ_LINE_KIND_NAME
};

const char *aj_line_kind_name(aj_line_kind k) {
    return (unsigned)k < AJ_LINE__COUNT ? aj_line_kind_names[k] : "UNKNOWN";
}

aj_err aj_line_kind_parse(const char *s, aj_line_kind *out) {
    int i = aj_name_index(aj_line_kind_names, AJ_LINE__COUNT, s);
    if (i < 0) return AJ_E_NOT_FOUND;
    *out = (aj_line_kind)i;
    return AJ_E_OK;
}

static const char *const aj_invoice_status_names[AJ_INV__COUNT] = {"ISSUED", "HELD", "RELEASED"};

const char *aj_invoice_status_name(aj_invoice_status st) {
    return (unsigned)st < AJ_INV__COUNT ? aj_invoice_status_names[st] : "UNKNOWN";
}

aj_err aj_invoice_status_parse(const char *s, aj_invoice_status *out) {
    int i = aj_name_index(aj_invoice_status_names, AJ_INV__COUNT, s);
    if (i < 0) return AJ_E_NOT_FOUND;
    *out = (aj_invoice_status)i;
    return AJ_E_OK;
}

const char *aj_event_account(const aj_event *ev) {
    switch (ev->kind) {
    case AJ_EVENT_USAGE: return ev->u.usage.account;
    case AJ_EVENT_RECURRING: return ev->u.recurring.account;
    case AJ_EVENT_CYCLE_CLOSE: return ev->u.close.account;
    case AJ_EVENT_CREDIT: return ev->u.credit.account;
    case AJ_EVENT_ONE_TIME: return ev->u.one_time.account;
    }
    return "";
}

static const char *const aj_reason_names[] = {
#define AJ_REASON_NAME(name, desc) #name,
    AJ_REASON_MAP(AJ_REASON_NAME)
#undef AJ_REASON_NAME
};

static const char *const aj_reason_descs[] = {
#define AJ_REASON_DESC(name, desc) desc,
    AJ_REASON_MAP(AJ_REASON_DESC)
#undef AJ_REASON_DESC
};

const char *aj_reason_name(aj_reason r) {
    if ((unsigned)r >= AJ_REASON__COUNT) return "UNKNOWN";
    return aj_reason_names[r];
}

const char *aj_reason_desc(aj_reason r) {
    if ((unsigned)r >= AJ_REASON__COUNT) return "unknown reason";
    return aj_reason_descs[r];
}

aj_err aj_reason_parse(const char *s, aj_reason *out) {
    int i = aj_name_index(aj_reason_names, AJ_REASON__COUNT, s);
    if (i < 0) return AJ_E_NOT_FOUND;
    *out = (aj_reason)i;
    return AJ_E_OK;
}

const char *aj_adjustment_reason_name(aj_reason r) {
    return r == AJ_ADJ_TAX_BASE ? "TAX_BASE" : aj_reason_name(r);
}

void aj_rate_init(aj_rate *r) {
    memset(r, 0, sizeof(*r));
    r->rate_unit = 1;
    r->first_increment = 1;
    r->next_increment = 1;
    r->decimals = 6;
    r->rounding = AJ_ROUND_HALF_UP;
}

void aj_line_init(aj_line *l) {
    memset(l, 0, sizeof(*l));
    l->quantity = 1;
    l->active_from = INT64_MIN;
    l->active_to = INT64_MAX;
}

void aj_contract_init(aj_contract *c) {
    memset(c, 0, sizeof(*c));
    c->status = AJ_CONTRACT_ACTIVE;
    c->effective_to = INT64_MAX;
    c->decimals = 2;
    c->rounding = AJ_ROUND_HALF_UP;
    c->payment_terms_days = 30;
    c->band_mode = AJ_BAND_AT_START;
}

const char *aj_band_mode_name(aj_band_mode m) {
    return m == AJ_BAND_AT_START ? "AT_START" : m == AJ_BAND_SPLIT ? "SPLIT" : "UNKNOWN";
}

const char *aj_promo_kind_name(aj_promo_kind k) {
    switch (k) {
    case AJ_PROMO_FREE_UNITS: return "FREE_UNITS";
    case AJ_PROMO_PRICE: return "PRICE";
    case AJ_PROMO_PERCENT_OFF: return "PERCENT_OFF";
    }
    return "UNKNOWN";
}

const char *aj_tax_mode_name(aj_tax_mode m) {
    return m == AJ_TAX_EXCLUSIVE ? "EXCLUSIVE" : m == AJ_TAX_GROSS_UP ? "GROSS_UP" : "UNKNOWN";
}

static void aj_names_free(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void aj_contract_free(aj_contract *c) {
    if (!c) return;
    free(c->account);
    free(c->contract_id);
    free(c->time_zone);
    free(c->default_zone);
    free(c->default_band);
    for (size_t i = 0; i < c->n_zones; i++) {
        free(c->zones[i].name);
        aj_names_free(c->zones[i].prefixes, c->zones[i].n_prefixes);
    }
    free(c->zones);
    for (size_t i = 0; i < c->n_bands; i++) {
        free(c->bands[i].name);
        free(c->bands[i].windows);
        free(c->bands[i].holidays);
    }
    free(c->bands);
    for (size_t i = 0; i < c->n_rates; i++) {
        free(c->rates[i].zone);
        free(c->rates[i].band);
        free(c->rates[i].tiers);
    }
    free(c->rates);
    for (size_t i = 0; i < c->n_allowances; i++) {
        free(c->allowances[i].name);
        aj_names_free(c->allowances[i].zones, c->allowances[i].n_zones);
    }
    free(c->allowances);
    for (size_t i = 0; i < c->n_discounts; i++) {
        free(c->discounts[i].name);
        aj_names_free(c->discounts[i].zones, c->discounts[i].n_zones);
    }
    free(c->discounts);
    for (size_t i = 0; i < c->n_promotions; i++) {
        free(c->promotions[i].name);
        aj_names_free(c->promotions[i].zones, c->promotions[i].n_zones);
    }
    free(c->promotions);
    for (size_t i = 0; i < c->n_lines; i++) free(c->lines[i].line_id);
    free(c->lines);
    for (size_t i = 0; i < c->n_taxes; i++) free(c->taxes[i].name);
    free(c->taxes);
    for (size_t i = 0; i < c->n_one_time_charges; i++) {
        free(c->one_time_charges[i].code);
        free(c->one_time_charges[i].description);
    }
    free(c->one_time_charges);
    free(c);
}

void aj_dead_letter_init(aj_dead_letter *dl, const aj_position *pos, aj_err reason,
                         const char *detail) {
    memset(dl, 0, sizeof(*dl));
    dl->pos = *pos;
    dl->reason = reason;
    snprintf(dl->dead_letter_id, sizeof(dl->dead_letter_id), "DLQ-%s-%d-%lld",
             pos->origin ? pos->origin : "", (int)pos->partition, (long long)pos->offset);
    snprintf(dl->detail, sizeof(dl->detail), "%s", detail ? detail : aj_err_str(reason));
}

aj_err aj_copy_field(char *dst, size_t dstsize, const char *src, size_t srclen) {
    if (srclen >= dstsize) return AJ_E_FIELD_TOO_LONG;
    memcpy(dst, src, srclen);
    dst[srclen] = '\0';
    return AJ_E_OK;
}

int aj_normalize_number(const char *in, char *out, size_t outlen) {
    size_t n = 0, seen = 0, skip = 0;
    char first[2];

    /* The first two digits "00" are the international access prefix, like '+', with or
     * without separators between them ("0 0 55 ..."). */
    for (const char *p = in; *p && seen < 2; p++)
        if (!aj_number_separator(*p)) first[seen++] = *p;
    if (seen == 2 && first[0] == '0' && first[1] == '0') skip = 2;
    seen = 0;
    for (const char *p = in; *p; p++) {
        if (aj_number_separator(*p)) continue;
        if (*p < '0' || *p > '9') return -1;
        if (seen++ < skip) continue;
        if (n + 1 >= outlen) return -1;
        out[n++] = *p;
    }
    if (outlen) out[n] = '\0';
    return (int)n;
}
