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
    return k == AJ_KIND_USAGE ? "USAGE" : k == AJ_KIND_RECURRING ? "RECURRING" : "UNKNOWN";
}

const char *aj_event_account(const aj_event *ev) {
    switch (ev->kind) {
    case AJ_EVENT_USAGE: return ev->u.usage.account;
    case AJ_EVENT_RECURRING: return ev->u.recurring.account;
    case AJ_EVENT_CYCLE_CLOSE: return ev->u.close.account;
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
    for (int i = 0; i < AJ_REASON__COUNT; i++)
        if (strcmp(s, aj_reason_names[i]) == 0) {
            *out = (aj_reason)i;
            return AJ_E_OK;
        }
    return AJ_E_NOT_FOUND;
}

void aj_contract_free(aj_contract *c) {
    if (!c) return;
    free(c->account);
    free(c->contract_id);
    free(c->time_zone);
    free(c->default_zone);
    for (size_t i = 0; i < c->n_zones; i++) {
        free(c->zones[i].name);
        for (size_t j = 0; j < c->zones[i].n_prefixes; j++) free(c->zones[i].prefixes[j]);
        free(c->zones[i].prefixes);
    }
    free(c->zones);
    for (size_t i = 0; i < c->n_rates; i++) free(c->rates[i].zone);
    free(c->rates);
    for (size_t i = 0; i < c->n_lines; i++) free(c->lines[i].line_id);
    free(c->lines);
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
    size_t n = 0;
    int leading = 1;

    for (const char *p = in; *p; p++) {
        switch (*p) {
        case '+': case ' ': case '-': case '(': case ')': case '.':
            continue;
        default:
            break;
        }
        if (*p < '0' || *p > '9') return -1;
        /* "00" before any other digit is the international access prefix, like '+'. */
        if (leading && p[0] == '0' && p[1] == '0') {
            p++;
            leading = 0;
            continue;
        }
        leading = 0;
        if (n + 1 >= outlen) return -1;
        out[n++] = *p;
    }
    if (outlen) out[n] = '\0';
    return (int)n;
}
