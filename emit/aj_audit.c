/* aj_audit.c - canonical form and hash chain of the audit log's rows (docs/audit.md). */
#include "aj_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "aj_money.h"
#include "aj_tz.h"

const char *const aj_audit_trace_keys[AJ_AUDIT_TRACE_NKEYS] = {
    "zone", "matched_prefix", "quantity", "billed_quantity", "first_increment", "next_increment", "price",
    "rate_unit", "connect_fee", "band", "bands", "tier", "free_units", "allowance", "promotion",
    "promotion_amount", "discount", "discount_amount", "clamp", "decimals", "rounding",
};

/* Which trace keys are JSON numbers (the rest are strings). */
static const unsigned char trace_is_number[AJ_AUDIT_TRACE_NKEYS] = {
    0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0,
};

const char *const aj_audit_correction_sql[AJ_AUDIT_CORRECTION_NFIELDS] = {
    "correction_id", "account", "cycle_id", "record_id", "record_kind", "service", "reason", "hypothesis",
    "legacy_amount::text", "corrected_amount::text", "delta::text", "currency", "contract_id",
    "contract_version::text", "legacy_tariff_code",
    "(SELECT count(*) FROM jsonb_object_keys(rule_trace))::text",
    "rule_trace->>'zone'", "rule_trace->>'matched_prefix'", "rule_trace->>'quantity'",
    "rule_trace->>'billed_quantity'", "rule_trace->>'first_increment'", "rule_trace->>'next_increment'",
    "rule_trace->>'price'", "rule_trace->>'rate_unit'", "rule_trace->>'connect_fee'", "rule_trace->>'band'",
    "rule_trace->>'bands'", "rule_trace->>'tier'", "rule_trace->>'free_units'", "rule_trace->>'allowance'",
    "rule_trace->>'promotion'", "rule_trace->>'promotion_amount'", "rule_trace->>'discount'",
    "rule_trace->>'discount_amount'", "rule_trace->>'clamp'", "rule_trace->>'decimals'", "rule_trace->>'rounding'",
    "disposition", "invoice_id", "invoice_line", "late::text", "source_origin", "source_partition::text",
    "source_offset::text", "pipeline_version", "chain", "chain_seq::text",
};

static aj_err put_field(aj_bytes *out, const char *s) {
    if (!s) return AJ_E_ARG;
    size_t len = strlen(s);
    if (len > INT32_MAX) return AJ_E_ARG;
    aj_err rc = aj_bytes_reserve(out, 4 + len);
    if (rc != AJ_E_OK) return rc;
    uint8_t *p = out->data + out->len;
    p[0] = (uint8_t)(len >> 24), p[1] = (uint8_t)(len >> 16), p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    memcpy(p + 4, s, len);
    out->len += 4 + len;
    return AJ_E_OK;
}

aj_err aj_audit_canonical(aj_bytes *out, const char *tag, const char *const *values, size_t n) {
    aj_err rc = put_field(out, tag);
    for (size_t i = 0; rc == AJ_E_OK && i < n; i++) rc = put_field(out, values[i]);
    return rc;
}

void aj_audit_row_hash(const uint8_t prev[AJ_AUDIT_HASH_LEN], const void *canonical, size_t len,
                       uint8_t out[AJ_AUDIT_HASH_LEN]) {
    aj_sha256 s;
    aj_sha256_init(&s);
    aj_sha256_update(&s, prev, AJ_AUDIT_HASH_LEN);
    aj_sha256_update(&s, canonical, len);
    aj_sha256_final(&s, out);
}

static const char *num(aj_audit_values *v, int i, int64_t x) {
    snprintf(v->num[i], sizeof(v->num[i]), "%" PRId64, x);
    return v->num[i];
}

aj_err aj_audit_correction_values(const aj_correction *c, const char *pipeline_version, const char *chain,
                                  int64_t chain_seq, aj_audit_values *vals) {
    static const char *const clamp_names[] = {"NONE", "MIN", "MAX"};
    const aj_trace *t = &c->trace;
    if ((unsigned)c->kind >= AJ_KIND__COUNT || (unsigned)c->reason >= AJ_REASON__COUNT ||
        (unsigned)c->disposition >= AJ_DISP__COUNT || (unsigned)t->clamp > AJ_CLAMP_MAX ||
        (unsigned)t->rounding >= AJ_ROUND__COUNT || !c->source.origin)
        return AJ_E_ARG;
    const char **v = vals->v;
    int i = 0;
    v[i++] = c->correction_id;
    v[i++] = c->account;
    v[i++] = c->cycle_id;
    v[i++] = c->record_id;
    v[i++] = aj_record_kind_name(c->kind);
    v[i++] = aj_service_name(c->service);
    v[i++] = aj_reason_name(c->reason);
    v[i++] = c->hypothesis;
    v[i] = num(vals, i, c->legacy_amount), i++;
    v[i] = num(vals, i, c->corrected_amount), i++;
    v[i] = num(vals, i, c->delta), i++;
    v[i++] = c->currency;
    v[i++] = c->contract_id;
    v[i] = num(vals, i, c->contract_version), i++;
    v[i++] = c->tariff_code;
    v[i] = num(vals, i, AJ_AUDIT_TRACE_NKEYS), i++;
    /* i == AJ_AUDIT_TRACE_FIRST: the trace, in aj_audit_trace_keys' order */
    v[i++] = t->zone;
    v[i++] = t->matched_prefix;
    v[i] = num(vals, i, t->quantity), i++;
    v[i] = num(vals, i, t->billed_quantity), i++;
    v[i] = num(vals, i, t->first_increment), i++;
    v[i] = num(vals, i, t->next_increment), i++;
    v[i] = num(vals, i, t->price), i++;
    v[i] = num(vals, i, t->rate_unit), i++;
    v[i] = num(vals, i, t->connect_fee), i++;
    v[i++] = t->band;
    v[i++] = t->bands;
    v[i] = num(vals, i, t->tiers), i++;
    v[i] = num(vals, i, t->free_units), i++;
    v[i++] = t->allowance;
    v[i++] = t->promotion;
    v[i] = num(vals, i, t->promotion_amount), i++;
    v[i++] = t->discount;
    v[i] = num(vals, i, t->discount_amount), i++;
    v[i++] = clamp_names[t->clamp];
    v[i] = num(vals, i, t->decimals), i++;
    v[i++] = aj_rounding_name(t->rounding);
    v[i++] = aj_disposition_name(c->disposition);
    v[i++] = c->invoice_id;
    v[i++] = c->invoice_line;
    v[i++] = c->late ? "true" : "false";
    v[i++] = c->source.origin;
    v[i] = num(vals, i, c->source.partition), i++;
    v[i] = num(vals, i, c->source.offset), i++;
    v[i++] = pipeline_version;
    v[i++] = chain;
    v[i] = num(vals, i, chain_seq), i++;
    return i == AJ_AUDIT_CORRECTION_NFIELDS ? AJ_E_OK : AJ_E_FATAL;
}

static aj_err put_raw(aj_bytes *out, const char *s, size_t len) {
    aj_err rc = aj_bytes_reserve(out, len);
    if (rc != AJ_E_OK) return rc;
    memcpy(out->data + out->len, s, len);
    out->len += len;
    return AJ_E_OK;
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes as they are. */
static aj_err put_json_string(aj_bytes *out, const char *s) {
    aj_err rc = put_raw(out, "\"", 1);
    size_t plain = 0;
    while (s[plain] && s[plain] != '"' && s[plain] != '\\' && (unsigned char)s[plain] >= 0x20) plain++;
    if (rc == AJ_E_OK && plain) rc = put_raw(out, s, plain);   /* most strings: nothing to escape */
    for (s += plain; rc == AJ_E_OK && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch;
            rc = put_raw(out, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            rc = put_raw(out, esc, 6);
        } else {
            rc = put_raw(out, s, 1);
        }
    }
    return rc == AJ_E_OK ? put_raw(out, "\"", 1) : rc;
}

/* The trace keys in the order jsonb keeps an object's keys (shorter first, then bytewise:
 * lengthCompareJsonbString in PostgreSQL's jsonb_util.c). jsonb_in sorts the keys it parses;
 * given them in this order, its sort finds them sorted at once instead of reordering 21 keys of
 * every row (about 5% of the server's CPU on the sink's COPY, measured: docs/performance.md). */
const unsigned char aj_audit_trace_jsonb_order[AJ_AUDIT_TRACE_NKEYS] = {
    9, 11, 0, 10, 18, 6, 19, 16, 2, 20, 13, 14, 7, 12, 8, 1, 5, 3, 17, 4, 15,
};

void aj_audit_trace_shape(char *buf, size_t len) {
    size_t n = 0;
    if (len) buf[0] = 0;
    for (int i = 0; i < AJ_AUDIT_TRACE_NKEYS && n < len; i++) {
        int k = aj_audit_trace_jsonb_order[i];
        n += (size_t)snprintf(buf + n, len - n, "%s%s:%s", i ? "," : "", aj_audit_trace_keys[k],
                              trace_is_number[k] ? "number" : "string");
    }
}

aj_err aj_audit_trace_json(aj_bytes *out, const aj_audit_values *vals) {
    aj_err rc = put_raw(out, "{", 1);
    for (int i = 0; rc == AJ_E_OK && i < AJ_AUDIT_TRACE_NKEYS; i++) {
        int k = aj_audit_trace_jsonb_order[i];
        const char *val = vals->v[AJ_AUDIT_TRACE_FIRST + k];
        if (i) rc = put_raw(out, ",", 1);
        if (rc == AJ_E_OK) rc = put_json_string(out, aj_audit_trace_keys[k]);
        if (rc == AJ_E_OK) rc = put_raw(out, ":", 1);
        if (rc == AJ_E_OK)
            rc = trace_is_number[k] ? put_raw(out, val, strlen(val)) : put_json_string(out, val);
    }
    return rc == AJ_E_OK ? put_raw(out, "}", 1) : rc;
}

/* ------------------------------------------------------------------- invoice headers */

#define AJ_AUDIT_TS_SQL(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

const char *const aj_audit_invoice_sql[AJ_AUDIT_INVOICE_NFIELDS] = {
    "invoice_id", "status", "account", "cycle_id", "revision::text", "status_reason",
    AJ_AUDIT_TS_SQL("period_start"), AJ_AUDIT_TS_SQL("period_end"), "to_char(issue_date, 'YYYY-MM-DD')",
    "to_char(due_date, 'YYYY-MM-DD')", "currency", "currency_decimals::text", "contract_id",
    "contract_versions::text", "line_count::text", "correction_count::text", "legacy_total::text",
    "corrected_total::text", "adjustment_total::text", "overcharge_removed::text", "undercharge_added::text",
    "flagged_overcharge::text", "flagged_undercharge::text", "tax_total::text", "credit_total::text",
    "amount_due::text", "pipeline_version", "chain", "chain_seq::text",
};

/* Days since 1970-01-01 from 0001-01-01 to 9999-12-31: the years to_char's YYYY prints as 4 digits. */
#define AJ_AUDIT_DAY_MIN (-719162)
#define AJ_AUDIT_DAY_MAX 2932896

static int put_date(char *buf, size_t len, int64_t days) {
    int32_t y;
    int m, d;
    if (days < AJ_AUDIT_DAY_MIN || days > AJ_AUDIT_DAY_MAX) return -1;
    aj_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", (int)y, m, d);
    return 0;
}

/* UTC milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (floor division: before 1970 too). */
static int put_timestamp(char *buf, size_t len, int64_t ms) {
    int64_t day_ms = 86400000, days = ms / day_ms, rem = ms % day_ms;
    if (rem < 0) rem += day_ms, days--;
    if (put_date(buf, len, days) != 0) return -1;
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "T%02d:%02d:%02d.%03dZ", (int)(rem / 3600000), (int)(rem / 60000 % 60),
             (int)(rem / 1000 % 60), (int)(rem % 1000));
    return 0;
}

aj_err aj_audit_invoice_values(const aj_audit_header *h, const char *pipeline_version, const char *chain,
                               int64_t chain_seq, aj_audit_values *vals, aj_bytes *text) {
    const aj_invoice *inv = &h->inv;
    const char **v = vals->v;
    int i = 0;
    if ((unsigned)inv->status >= AJ_INV__COUNT || (inv->n_versions && !inv->versions)) return AJ_E_ARG;
    /* contract_versions first: text may move while it grows. */
    text->len = 0;
    aj_err rc = aj_bytes_reserve(text, 2 + 12 * inv->n_versions + 1);
    if (rc != AJ_E_OK) return rc;
    char *p = (char *)text->data;
    *p++ = '{';
    for (size_t k = 0; k < inv->n_versions; k++) p += sprintf(p, "%s%" PRId32, k ? "," : "", inv->versions[k]);
    *p++ = '}';
    *p = 0;
    text->len = (size_t)(p - (char *)text->data);

    v[i++] = inv->invoice_id;
    v[i++] = aj_invoice_status_name(inv->status);
    v[i++] = inv->account;
    v[i++] = inv->cycle_id;
    v[i] = num(vals, i, inv->revision), i++;
    v[i++] = inv->status_reason;
    if (put_timestamp(vals->num[i], sizeof(vals->num[i]), inv->period_start_ms) != 0) return AJ_E_ARG;
    v[i] = vals->num[i], i++;
    if (put_timestamp(vals->num[i], sizeof(vals->num[i]), inv->period_end_ms) != 0) return AJ_E_ARG;
    v[i] = vals->num[i], i++;
    if (put_date(vals->num[i], sizeof(vals->num[i]), inv->issue_date) != 0) return AJ_E_ARG;
    v[i] = vals->num[i], i++;
    if (put_date(vals->num[i], sizeof(vals->num[i]), inv->due_date) != 0) return AJ_E_ARG;
    v[i] = vals->num[i], i++;
    v[i++] = inv->currency;
    v[i] = num(vals, i, inv->decimals), i++;
    v[i++] = inv->contract_id;
    v[i++] = (const char *)text->data;
    v[i] = num(vals, i, h->line_count), i++;
    v[i] = num(vals, i, h->correction_count), i++;
    v[i] = num(vals, i, inv->legacy_total), i++;
    v[i] = num(vals, i, inv->corrected_total), i++;
    v[i] = num(vals, i, inv->adjustment_total), i++;
    v[i] = num(vals, i, inv->overcharge_removed), i++;
    v[i] = num(vals, i, inv->undercharge_added), i++;
    v[i] = num(vals, i, inv->flagged_overcharge), i++;
    v[i] = num(vals, i, inv->flagged_undercharge), i++;
    v[i] = num(vals, i, inv->tax_total), i++;
    v[i] = num(vals, i, inv->credit_total), i++;
    v[i] = num(vals, i, inv->amount_due), i++;
    v[i++] = pipeline_version;
    v[i++] = chain;
    v[i] = num(vals, i, chain_seq), i++;
    return i == AJ_AUDIT_INVOICE_NFIELDS ? AJ_E_OK : AJ_E_FATAL;
}
