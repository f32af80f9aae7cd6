/* aj_codec.c - decoding and validation of the input schemas (usage stream, contracts); encoders. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_ingest.h"
#include "aj_tz.h"

/* ================================================================ usage stream: decoding */

/* Fields of the usage stream ajuste reads, by name in any writer version. */
#define AJ_FIELD_MAP(X)                                                                    \
    X(RECORD_ID, "record_id", AVRO_STRING)                                                 \
    X(ACCOUNT, "account", AVRO_STRING)                                                     \
    X(SUBSCRIBER, "subscriber", AVRO_STRING)                                               \
    X(SERVICE, "service", AVRO_STRING)                                                     \
    X(START_TIME, "start_time", AVRO_INT64)                                                \
    X(DURATION, "duration_seconds", AVRO_INT64)                                            \
    X(MESSAGES, "message_count", AVRO_INT64)                                               \
    X(BYTES, "data_bytes", AVRO_INT64)                                                     \
    X(ORIGIN, "origin", AVRO_STRING)                                                       \
    X(DESTINATION, "destination", AVRO_STRING)                                             \
    X(ROAMING, "roaming", AVRO_BOOLEAN)                                                    \
    X(CYCLE_ID, "cycle_id", AVRO_STRING)                                                   \
    X(LEGACY_CHARGE, "legacy_charge", AVRO_INT64)                                          \
    X(CURRENCY, "currency", AVRO_STRING)                                                   \
    X(TARIFF, "legacy_tariff_code", AVRO_STRING)                                           \
    X(LINE_ID, "line_id", AVRO_STRING)                                                     \
    X(PERIOD_START, "period_start", AVRO_INT64)                                            \
    X(PERIOD_END, "period_end", AVRO_INT64)                                                \
    X(LEGACY_AMOUNT, "legacy_amount", AVRO_INT64)                                          \
    X(LEGACY_TAXES, "legacy_taxes", AVRO_ARRAY)                                            \
    X(DISPUTE_ID, "dispute_id", AVRO_STRING)                                               \
    X(INVOICE_ID, "invoice_id", AVRO_STRING)                                               \
    X(AMOUNT, "amount", AVRO_INT64)                                                        \
    X(REASON, "reason", AVRO_STRING)                                                       \
    X(ACCEPTED_AT, "accepted_at", AVRO_INT64)                                              \
    X(CHARGE_CODE, "charge_code", AVRO_STRING)                                             \
    X(CHARGED_AT, "charged_at", AVRO_INT64)                                                \
    X(QUANTITY, "quantity", AVRO_INT64)

typedef enum aj_field {
#define AJ_FIELD_ENUM(id, name, type) AJ_F_##id,
    AJ_FIELD_MAP(AJ_FIELD_ENUM)
#undef AJ_FIELD_ENUM
    AJ_F__COUNT,
    AJ_F_SKIP = -1   /* a writer field ajuste does not read: walked over */
} aj_field;

static const struct {
    const char *name;
    avro_type_t type;
} aj_fields[AJ_F__COUNT] = {
#define AJ_FIELD_INFO(id, name, type) {name, type},
    AJ_FIELD_MAP(AJ_FIELD_INFO)
#undef AJ_FIELD_INFO
};

/* How to read one record branch of a writer schema: its event kind and, per writer field, the
 * ajuste field it fills (or AJ_F_SKIP) and its schema (to walk skipped fields). */
typedef struct aj_branch_plan {
    int kind;   /* aj_event_kind, or -1 for a record type ajuste does not handle */
    const char *record_name;
    size_t n_fields;
    aj_field *target;
    avro_schema_t *schema;
} aj_branch_plan;

typedef struct aj_writer_plan {
    const aj_schema *writer;
    int is_union;
    size_t n_branches;
    aj_branch_plan *branches;
} aj_writer_plan;

#define AJ_DECODER_MAX_WRITERS 16

struct aj_decoder {
    aj_writer_plan plans[AJ_DECODER_MAX_WRITERS];
    size_t n_plans;
};

aj_decoder *aj_decoder_create(void) {
    return calloc(1, sizeof(aj_decoder));
}

static void aj_writer_plan_free(aj_writer_plan *wp) {
    for (size_t b = 0; b < wp->n_branches; b++) {
        free(wp->branches[b].target);
        free(wp->branches[b].schema);
    }
    free(wp->branches);
    memset(wp, 0, sizeof(*wp));
}

void aj_decoder_destroy(aj_decoder *dec) {
    if (!dec) return;
    for (size_t i = 0; i < dec->n_plans; i++) aj_writer_plan_free(&dec->plans[i]);
    free(dec);
}

/* legacy_taxes is read only as array<record {string name; long amount}>. */
static int aj_legacy_taxes_shape(avro_schema_t fs) {
    avro_schema_t item = avro_schema_array_items(fs);
    if (avro_typeof(item) == AVRO_LINK) item = avro_schema_link_target(item);
    return avro_typeof(item) == AVRO_RECORD && avro_schema_record_size(item) == 2 &&
           strcmp(avro_schema_record_field_name(item, 0), "name") == 0 &&
           avro_typeof(avro_schema_record_field_get_by_index(item, 0)) == AVRO_STRING &&
           strcmp(avro_schema_record_field_name(item, 1), "amount") == 0 &&
           avro_typeof(avro_schema_record_field_get_by_index(item, 1)) == AVRO_INT64;
}

static aj_err aj_branch_plan_build(aj_branch_plan *bp, avro_schema_t rec) {
    const char *name = avro_schema_name(rec);
    bp->record_name = name;
    bp->kind = strcmp(name, "UsageRecord") == 0       ? AJ_EVENT_USAGE
               : strcmp(name, "RecurringCharge") == 0 ? AJ_EVENT_RECURRING
               : strcmp(name, "CycleClose") == 0      ? AJ_EVENT_CYCLE_CLOSE
               : strcmp(name, "DisputeCredit") == 0   ? AJ_EVENT_CREDIT
               : strcmp(name, "OneTimeCharge") == 0   ? AJ_EVENT_ONE_TIME
                                                      : -1;
    bp->n_fields = avro_schema_record_size(rec);
    bp->target = calloc(bp->n_fields + 1, sizeof(*bp->target));
    bp->schema = calloc(bp->n_fields + 1, sizeof(*bp->schema));
    if (!bp->target || !bp->schema) return AJ_E_NOMEM;
    for (size_t i = 0; i < bp->n_fields; i++) {
        const char *fname = avro_schema_record_field_name(rec, (int)i);
        avro_schema_t fs = avro_schema_record_field_get_by_index(rec, (int)i);
        bp->schema[i] = fs;
        bp->target[i] = AJ_F_SKIP;
        for (int f = 0; f < AJ_F__COUNT; f++)
            /* A field whose type changed is not the field ajuste knows: walked over, and a
             * required one then reads as missing. */
            if (strcmp(fname, aj_fields[f].name) == 0 && avro_typeof(fs) == aj_fields[f].type &&
                (f != AJ_F_LEGACY_TAXES || aj_legacy_taxes_shape(fs)))
                bp->target[i] = (aj_field)f;
    }
    return AJ_E_OK;
}

/* The plan for writer, built on first use. NULL on NOMEM or a writer that is neither a record
 * nor a union of records. */
static const aj_writer_plan *aj_decoder_plan(aj_decoder *dec, const aj_schema *writer) {
    for (size_t i = 0; i < dec->n_plans; i++)
        if (dec->plans[i].writer == writer) return &dec->plans[i];
    if (dec->n_plans == AJ_DECODER_MAX_WRITERS) return NULL;

    aj_writer_plan *wp = &dec->plans[dec->n_plans];
    avro_schema_t s = writer->schema;
    memset(wp, 0, sizeof(*wp));
    wp->writer = writer;
    wp->is_union = avro_typeof(s) == AVRO_UNION;
    wp->n_branches = wp->is_union ? avro_schema_union_size(s) : 1;
    if (!(wp->branches = calloc(wp->n_branches, sizeof(*wp->branches)))) return NULL;
    for (size_t b = 0; b < wp->n_branches; b++) {
        avro_schema_t rec = wp->is_union ? avro_schema_union_branch(s, (int)b) : s;
        if (avro_typeof(rec) == AVRO_LINK) rec = avro_schema_link_target(rec);
        if (avro_typeof(rec) != AVRO_RECORD) {
            wp->branches[b].kind = -1;
            wp->branches[b].record_name = "non-record";
            continue;
        }
        if (aj_branch_plan_build(&wp->branches[b], rec) != AJ_E_OK) {
            aj_writer_plan_free(wp);
            return NULL;
        }
    }
    dec->n_plans++;
    return wp;
}

/* The raw values of one record, borrowed from the datum; has[f]: the writer wrote field f. */
typedef struct aj_raw {
    const char *s[AJ_F__COUNT];
    size_t len[AJ_F__COUNT];
    int64_t l[AJ_F__COUNT];
    uint8_t has[AJ_F__COUNT];
} aj_raw;

static aj_err aj_raw_read(const aj_branch_plan *bp, aj_avro_in *in, aj_raw *raw) {
    aj_err rc = AJ_E_OK;
    for (size_t i = 0; i < bp->n_fields && !rc; i++) {
        aj_field f = bp->target[i];
        int b;
        if (f == AJ_F_SKIP) {
            size_t used;
            rc = aj_avro_check(bp->schema[i], in->p, (size_t)(in->end - in->p), &used, NULL, 0);
            if (!rc) in->p += used;
            continue;
        }
        raw->has[f] = 1;
        switch (aj_fields[f].type) {
        case AVRO_ARRAY: {
            /* Kept as bytes, already checked against the schema, parsed by its record. */
            size_t used;
            rc = aj_avro_check(bp->schema[i], in->p, (size_t)(in->end - in->p), &used, NULL, 0);
            if (!rc) {
                raw->s[f] = (const char *)in->p;
                raw->len[f] = used;
                in->p += used;
            }
            break;
        }
        case AVRO_STRING: rc = aj_avro_get_string(in, &raw->s[f], &raw->len[f]); break;
        case AVRO_INT64: rc = aj_avro_get_long(in, &raw->l[f]); break;
        default:
            rc = aj_avro_get_bool(in, &b);
            raw->l[f] = b;
            break;
        }
    }
    return rc;
}

/* Copies a string field into dst (dstsize bytes). MISSING_FIELD when required and empty or
 * absent, FIELD_TOO_LONG when it does not fit; the detail names the field. */
static aj_err aj_take(const aj_raw *raw, aj_field f, int required, char *dst, size_t dstsize,
                      char *detail, size_t detlen) {
    dst[0] = '\0';
    if (!raw->s[f] || raw->len[f] == 0) {
        if (!required) return AJ_E_OK;
        snprintf(detail, detlen, "field %s is missing or empty", aj_fields[f].name);
        return AJ_E_MISSING_FIELD;
    }
    if (memchr(raw->s[f], '\0', raw->len[f])) {
        snprintf(detail, detlen, "field %s contains a NUL byte", aj_fields[f].name);
        return AJ_E_MISSING_FIELD;
    }
    if (aj_copy_field(dst, dstsize, raw->s[f], raw->len[f]) != AJ_E_OK) {
        snprintf(detail, detlen, "field %s is %zu bytes, ajuste accepts at most %zu", aj_fields[f].name,
                 raw->len[f], dstsize - 1);
        return AJ_E_FIELD_TOO_LONG;
    }
    return AJ_E_OK;
}

static aj_err aj_take_service(const aj_raw *raw, aj_service *out, char *detail, size_t detlen) {
    char name[16];
    aj_err rc = aj_take(raw, AJ_F_SERVICE, 1, name, sizeof(name), detail, detlen);
    if (rc == AJ_E_FIELD_TOO_LONG) rc = AJ_E_UNKNOWN_SERVICE;
    if (rc == AJ_E_OK) rc = aj_service_parse(name, out);
    if (rc == AJ_E_UNKNOWN_SERVICE)
        snprintf(detail, detlen, "service '%.*s' is not VOICE, SMS, MMS or DATA",
                 (int)(raw->len[AJ_F_SERVICE] > 32 ? 32 : raw->len[AJ_F_SERVICE]),
                 raw->s[AJ_F_SERVICE] ? raw->s[AJ_F_SERVICE] : "");
    return rc;
}

static aj_err aj_non_negative(const aj_raw *raw, aj_field f, aj_err reason, char *detail, size_t detlen) {
    if (raw->l[f] >= 0) return AJ_E_OK;
    snprintf(detail, detlen, "field %s is negative (%lld)", aj_fields[f].name, (long long)raw->l[f]);
    return reason;
}

#define AJ_TAKE(f, req, dst) aj_take(raw, AJ_F_##f, req, dst, sizeof(dst), detail, detlen)

/* docs/dead-letters.md: the validation of a usage record. */
static aj_err aj_usage_from_raw(const aj_raw *raw, aj_usage *u, char *detail, size_t detlen) {
    aj_err rc;
    if ((rc = AJ_TAKE(RECORD_ID, 1, u->record_id)) || (rc = AJ_TAKE(ACCOUNT, 1, u->account)) ||
        (rc = AJ_TAKE(SUBSCRIBER, 1, u->subscriber)) || (rc = aj_take_service(raw, &u->service, detail, detlen)))
        return rc;
    if ((rc = aj_non_negative(raw, AJ_F_DURATION, AJ_E_NEGATIVE_QUANTITY, detail, detlen)) ||
        (rc = aj_non_negative(raw, AJ_F_MESSAGES, AJ_E_NEGATIVE_QUANTITY, detail, detlen)) ||
        (rc = aj_non_negative(raw, AJ_F_BYTES, AJ_E_NEGATIVE_QUANTITY, detail, detlen)) ||
        (rc = aj_non_negative(raw, AJ_F_LEGACY_CHARGE, AJ_E_NEGATIVE_AMOUNT, detail, detlen)))
        return rc;
    /* A destination is what VOICE, SMS and MMS are rated by; DATA has none. */
    if ((rc = AJ_TAKE(ORIGIN, 0, u->origin)) ||
        (rc = AJ_TAKE(DESTINATION, u->service != AJ_SERVICE_DATA, u->destination)) ||
        (rc = AJ_TAKE(CYCLE_ID, 1, u->cycle_id)) || (rc = AJ_TAKE(CURRENCY, 1, u->currency)) ||
        (rc = AJ_TAKE(TARIFF, 0, u->tariff_code)))
        return rc;
    u->start_ms = raw->l[AJ_F_START_TIME];
    u->quantity = u->service == AJ_SERVICE_VOICE  ? raw->l[AJ_F_DURATION]
                  : u->service == AJ_SERVICE_DATA ? raw->l[AJ_F_BYTES]
                                                  : raw->l[AJ_F_MESSAGES];
    u->roaming = raw->l[AJ_F_ROAMING] != 0;
    u->legacy_charge = raw->l[AJ_F_LEGACY_CHARGE];
    return AJ_E_OK;
}

static aj_err aj_recurring_from_raw(const aj_raw *raw, aj_recurring *r, char *detail, size_t detlen) {
    aj_err rc;
    if ((rc = AJ_TAKE(RECORD_ID, 1, r->record_id)) || (rc = AJ_TAKE(ACCOUNT, 1, r->account)) ||
        (rc = AJ_TAKE(LINE_ID, 1, r->line_id)) || (rc = aj_take_service(raw, &r->service, detail, detlen)) ||
        (rc = AJ_TAKE(CYCLE_ID, 1, r->cycle_id)) || (rc = AJ_TAKE(CURRENCY, 1, r->currency)) ||
        (rc = AJ_TAKE(TARIFF, 0, r->tariff_code)) ||
        (rc = aj_non_negative(raw, AJ_F_LEGACY_AMOUNT, AJ_E_NEGATIVE_AMOUNT, detail, detlen)))
        return rc;
    r->period_start_ms = raw->l[AJ_F_PERIOD_START];
    r->period_end_ms = raw->l[AJ_F_PERIOD_END];
    r->legacy_amount = raw->l[AJ_F_LEGACY_AMOUNT];
    return AJ_E_OK;
}

/* docs/dead-letters.md: the validation of a one-time charge. A writer without quantity (the
 * schema default) charges one unit. */
static aj_err aj_one_time_from_raw(const aj_raw *raw, aj_one_time *o, char *detail, size_t detlen) {
    aj_err rc;
    if ((rc = AJ_TAKE(RECORD_ID, 1, o->record_id)) || (rc = AJ_TAKE(ACCOUNT, 1, o->account)) ||
        (rc = AJ_TAKE(SUBSCRIBER, 1, o->subscriber)) || (rc = AJ_TAKE(CHARGE_CODE, 1, o->charge_code)) ||
        (rc = AJ_TAKE(CYCLE_ID, 1, o->cycle_id)) || (rc = AJ_TAKE(CURRENCY, 1, o->currency)) ||
        (rc = AJ_TAKE(TARIFF, 0, o->tariff_code)) ||
        (rc = aj_non_negative(raw, AJ_F_QUANTITY, AJ_E_NEGATIVE_QUANTITY, detail, detlen)) ||
        (rc = aj_non_negative(raw, AJ_F_LEGACY_AMOUNT, AJ_E_NEGATIVE_AMOUNT, detail, detlen)))
        return rc;
    o->charged_ms = raw->l[AJ_F_CHARGED_AT];
    o->quantity = raw->has[AJ_F_QUANTITY] ? raw->l[AJ_F_QUANTITY] : 1;
    o->legacy_amount = raw->l[AJ_F_LEGACY_AMOUNT];
    return AJ_E_OK;
}

/* The legacy taxes of a close: array blocks of {name, amount}, at most AJ_CLOSE_MAX_TAXES, names
 * non-empty and unique, amounts >= 0. */
static aj_err aj_legacy_taxes(const aj_raw *raw, aj_cycle_close *cl, char *detail, size_t detlen) {
    aj_avro_in in = {(const uint8_t *)raw->s[AJ_F_LEGACY_TAXES],
                     (const uint8_t *)raw->s[AJ_F_LEGACY_TAXES] + raw->len[AJ_F_LEGACY_TAXES]};
    int64_t n, size;
    aj_err rc;

    if (!raw->s[AJ_F_LEGACY_TAXES]) return AJ_E_OK;
    while (!(rc = aj_avro_get_long(&in, &n)) && n != 0) {
        if (n < 0 && ((rc = aj_avro_get_long(&in, &size)))) return rc;
        for (int64_t i = 0; i < (n < 0 ? -n : n); i++) {
            const char *s;
            size_t len;
            if (cl->n_legacy_taxes == AJ_CLOSE_MAX_TAXES) {
                snprintf(detail, detlen, "field legacy_taxes has more than %d taxes", AJ_CLOSE_MAX_TAXES);
                return AJ_E_FIELD_TOO_LONG;
            }
            aj_legacy_tax *t = &cl->legacy_taxes[cl->n_legacy_taxes];
            if ((rc = aj_avro_get_string(&in, &s, &len)) || (rc = aj_avro_get_long(&in, &t->amount))) return rc;
            if (len == 0 || memchr(s, '\0', len)) {
                snprintf(detail, detlen, "field legacy_taxes[%zu].name is empty or contains a NUL byte",
                         cl->n_legacy_taxes);
                return AJ_E_MISSING_FIELD;
            }
            if (aj_copy_field(t->name, sizeof(t->name), s, len)) {
                snprintf(detail, detlen, "field legacy_taxes[%zu].name is %zu bytes, ajuste accepts at most %zu",
                         cl->n_legacy_taxes, len, sizeof(t->name) - 1);
                return AJ_E_FIELD_TOO_LONG;
            }
            if (t->amount < 0) {
                snprintf(detail, detlen, "field legacy_taxes[%zu].amount is negative (%lld)", cl->n_legacy_taxes,
                         (long long)t->amount);
                return AJ_E_NEGATIVE_AMOUNT;
            }
            for (size_t j = 0; j < cl->n_legacy_taxes; j++)
                if (strcmp(cl->legacy_taxes[j].name, t->name) == 0) {
                    snprintf(detail, detlen, "field legacy_taxes names tax %s twice", t->name);
                    return AJ_E_MISSING_FIELD;
                }
            cl->n_legacy_taxes++;
        }
    }
    return rc;
}

static aj_err aj_close_from_raw(const aj_raw *raw, aj_cycle_close *cl, char *detail, size_t detlen) {
    aj_err rc;
    if ((rc = AJ_TAKE(ACCOUNT, 1, cl->account)) || (rc = AJ_TAKE(CYCLE_ID, 1, cl->cycle_id))) return rc;
    cl->period_start_ms = raw->l[AJ_F_PERIOD_START];
    cl->period_end_ms = raw->l[AJ_F_PERIOD_END];
    return aj_legacy_taxes(raw, cl, detail, detlen);
}

/* docs/invoice.md, "Dispute credits": the validation of a credit. */
static aj_err aj_credit_from_raw(const aj_raw *raw, aj_credit *cr, char *detail, size_t detlen) {
    aj_err rc;
    if ((rc = AJ_TAKE(DISPUTE_ID, 1, cr->dispute_id)) || (rc = AJ_TAKE(ACCOUNT, 1, cr->account)) ||
        (rc = AJ_TAKE(INVOICE_ID, 0, cr->invoice_id)) || (rc = AJ_TAKE(CURRENCY, 1, cr->currency)) ||
        (rc = AJ_TAKE(REASON, 0, cr->reason)))
        return rc;
    cr->amount = raw->l[AJ_F_AMOUNT];
    cr->accepted_ms = raw->l[AJ_F_ACCEPTED_AT];
    if (cr->amount <= 0) {
        snprintf(detail, detlen, "field amount is %lld; a credit is a positive amount", (long long)cr->amount);
        return AJ_E_NEGATIVE_AMOUNT;
    }
    return AJ_E_OK;
}

#undef AJ_TAKE

aj_err aj_decode_event(aj_decoder *dec, const aj_schema *writer, const void *datum, size_t len,
                       aj_event *ev, char *detail, size_t detlen) {
    const aj_writer_plan *wp;
    aj_avro_in in = {datum, (const uint8_t *)datum + len};
    size_t used = 0;
    int64_t branch = 0;
    aj_raw raw;
    aj_err rc;

    if (detlen) detail[0] = '\0';
    if (writer->id != AJ_SCHEMA_USAGE_EVENT && writer->id != AJ_SCHEMA_DISPUTE_CREDIT) {
        snprintf(detail, detlen, "schema %s is not a usage-stream or dispute-credit schema", writer->file);
        return AJ_E_WRONG_SCHEMA;
    }
    /* 1. The bytes against the writer schema, before anything is believed. */
    if ((rc = aj_avro_check(writer->schema, datum, len, &used, detail, detlen))) return rc;
    if (used != len) {
        snprintf(detail, detlen, "%zu bytes left after a datum of %zu bytes", len - used, used);
        return AJ_E_TRAILING_BYTES;
    }
    if (!(wp = aj_decoder_plan(dec, writer))) return AJ_E_NOMEM;
    if (wp->is_union && (rc = aj_avro_get_long(&in, &branch))) return rc;
    const aj_branch_plan *bp = &wp->branches[branch];
    if (bp->kind < 0) {
        snprintf(detail, detlen, "record type %s is not handled on the usage stream", bp->record_name);
        return AJ_E_WRONG_SCHEMA;
    }
    /* 2. The fields by name; absent ones keep the schema defaults (0, "", false). */
    memset(&raw, 0, sizeof(raw));
    if ((rc = aj_raw_read(bp, &in, &raw))) return rc;
    /* 3. Validation into the domain record. */
    memset(ev, 0, sizeof(*ev));
    ev->kind = (aj_event_kind)bp->kind;
    switch (ev->kind) {
    case AJ_EVENT_USAGE: return aj_usage_from_raw(&raw, &ev->u.usage, detail, detlen);
    case AJ_EVENT_RECURRING: return aj_recurring_from_raw(&raw, &ev->u.recurring, detail, detlen);
    case AJ_EVENT_CYCLE_CLOSE: return aj_close_from_raw(&raw, &ev->u.close, detail, detlen);
    case AJ_EVENT_CREDIT: return aj_credit_from_raw(&raw, &ev->u.credit, detail, detlen);
    case AJ_EVENT_ONE_TIME: return aj_one_time_from_raw(&raw, &ev->u.one_time, detail, detlen);
    }
    return AJ_E_WRONG_SCHEMA;
}

/* The known schema a single-object message names, or the reject reason. */
static aj_err aj_message_writer(const void *value, size_t len, aj_schema_id want, const aj_schema **out,
                                char *detail, size_t detlen) {
    uint64_t fp;
    aj_err rc = aj_som_parse(value, len, &fp);

    if (rc == AJ_E_TRUNCATED) {
        snprintf(detail, detlen, "message of %zu bytes is shorter than the 10-byte single-object header", len);
        return rc;
    }
    if (rc == AJ_E_BAD_MAGIC) {
        snprintf(detail, detlen, "message starts with %02x %02x, not c3 01", ((const uint8_t *)value)[0],
                 ((const uint8_t *)value)[1]);
        return rc;
    }
    if (!(*out = aj_schema_by_fingerprint(fp))) {
        snprintf(detail, detlen, "writer schema fingerprint %016llx is not a schema ajuste knows",
                 (unsigned long long)fp);
        return AJ_E_UNKNOWN_SCHEMA;
    }
    if ((*out)->id != want && !(want == AJ_SCHEMA_USAGE_EVENT && (*out)->id == AJ_SCHEMA_DISPUTE_CREDIT)) {
        snprintf(detail, detlen, "message written with schemas/%s, which does not belong on this input",
                 (*out)->file);
        return AJ_E_WRONG_SCHEMA;
    }
    return AJ_E_OK;
}

aj_err aj_decode_event_message(aj_decoder *dec, const void *value, size_t len, aj_event *ev,
                               char *detail, size_t detlen) {
    const aj_schema *writer;
    aj_err rc;
    if (detlen) detail[0] = '\0';
    if ((rc = aj_message_writer(value, len, AJ_SCHEMA_USAGE_EVENT, &writer, detail, detlen))) return rc;
    return aj_decode_event(dec, writer, (const uint8_t *)value + AJ_SOM_HEADER_LEN, len - AJ_SOM_HEADER_LEN,
                           ev, detail, detlen);
}

/* ================================================================ contracts: decoding */

/* Contracts are rare (a compacted topic read at start): decoded through avro-c's generic
 * values of the writer schema, fields taken by name so older writers stay readable. */

typedef struct aj_cread {
    char *detail;
    size_t detlen;
    const char *where;   /* "contract", "rate 3", ... for the detail */
} aj_cread;

static aj_err aj_cbad(aj_cread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "<where>: <message>" into the detail; returns AJ_E_BAD_CONTRACT. */
static aj_err aj_cbad(aj_cread *r, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(r->detail, r->detlen, "%s: %s", r->where, msg);
    return AJ_E_BAD_CONTRACT;
}

/* String field name of rec, malloc'ed into *out; def when absent (NULL def: required). */
static aj_err aj_cstr(aj_cread *r, avro_value_t *rec, const char *name, const char *def, char **out) {
    avro_value_t v;
    const char *s = def;
    size_t size = 0;

    if (avro_value_get_by_name(rec, name, &v, NULL) == 0) {
        if (avro_value_get_type(&v) != AVRO_STRING || avro_value_get_string(&v, &s, &size) != 0)
            return aj_cbad(r, "field %s is not a string", name);
    }
    if (!s || !*s) return aj_cbad(r, "field %s is missing or empty", name);
    if (!(*out = strdup(s))) return AJ_E_NOMEM;
    return AJ_E_OK;
}

static aj_err aj_clong(aj_cread *r, avro_value_t *rec, const char *name, int has_def, int64_t def, int64_t *out) {
    avro_value_t v;
    int32_t i32;

    if (avro_value_get_by_name(rec, name, &v, NULL) != 0) {
        if (!has_def) return aj_cbad(r, "field %s is missing", name);
        *out = def;
        return AJ_E_OK;
    }
    if (avro_value_get_type(&v) == AVRO_INT32 && avro_value_get_int(&v, &i32) == 0) {
        *out = i32;
        return AJ_E_OK;
    }
    if (avro_value_get_type(&v) != AVRO_INT64 || avro_value_get_long(&v, out) != 0)
        return aj_cbad(r, "field %s is not a long", name);
    return AJ_E_OK;
}

static aj_err aj_cservice(aj_cread *r, avro_value_t *rec, aj_service *out) {
    char *s = NULL;
    aj_err rc = aj_cstr(r, rec, "service", NULL, &s);
    if (rc) return rc;
    if (aj_service_parse(s, out) != AJ_E_OK) rc = aj_cbad(r, "service %s is not VOICE, SMS, MMS or DATA", s);
    free(s);
    return rc;
}

/* The array field name of rec (an empty one when absent and allowed). */
static aj_err aj_carray(aj_cread *r, avro_value_t *rec, const char *name, int required, avro_value_t *arr,
                        size_t *n) {
    *n = 0;
    if (avro_value_get_by_name(rec, name, arr, NULL) != 0)
        return required ? aj_cbad(r, "field %s is missing", name) : AJ_E_OK;
    if (avro_value_get_type(arr) != AVRO_ARRAY || avro_value_get_size(arr, n) != 0)
        return aj_cbad(r, "field %s is not an array", name);
    return AJ_E_OK;
}

/* The schema of a value, through a named-type reference. */
static avro_schema_t aj_cschema(avro_value_t *v) {
    avro_schema_t s = avro_value_get_schema(v);
    while (s && avro_typeof(s) == AVRO_LINK) s = avro_schema_link_target(s);
    return s;
}

/* Int field name of rec: as aj_clong, and in int32 range. */
static aj_err aj_cint(aj_cread *r, avro_value_t *rec, const char *name, int has_def, int32_t def, int32_t *out) {
    int64_t l;
    aj_err rc = aj_clong(r, rec, name, has_def, def, &l);
    if (rc) return rc;
    if (l < INT32_MIN || l > INT32_MAX) return aj_cbad(r, "field %s (%lld) is out of int range", name, (long long)l);
    *out = (int32_t)l;
    return AJ_E_OK;
}

/* Enum field name of rec, by symbol name (so a writer's symbol order does not matter): *out is
 * the index of the symbol in symbols[n]; def when absent (def < 0: required). */
static aj_err aj_cenum(aj_cread *r, avro_value_t *rec, const char *name, const char *const *symbols, int n, int def,
                       int *out) {
    avro_value_t v;
    avro_schema_t es;
    const char *sym;
    int idx;

    if (avro_value_get_by_name(rec, name, &v, NULL) != 0) {
        if (def < 0) return aj_cbad(r, "field %s is missing", name);
        *out = def;
        return AJ_E_OK;
    }
    es = aj_cschema(&v);
    if (avro_value_get_type(&v) != AVRO_ENUM || !es || avro_typeof(es) != AVRO_ENUM ||
        avro_value_get_enum(&v, &idx) != 0 || !(sym = avro_schema_enum_get(es, idx)))
        return aj_cbad(r, "field %s is not an enum", name);
    for (int i = 0; i < n; i++)
        if (strcmp(sym, symbols[i]) == 0) {
            *out = i;
            return AJ_E_OK;
        }
    return aj_cbad(r, "field %s: unknown symbol %s", name, sym);
}

/* Nullable (["null", long]) field name of rec: def when absent or null. */
static aj_err aj_copt_long(aj_cread *r, avro_value_t *rec, const char *name, int64_t def, int64_t *out) {
    avro_value_t v, branch;
    int32_t i32;

    *out = def;
    if (avro_value_get_by_name(rec, name, &v, NULL) != 0) return AJ_E_OK;
    if (avro_value_get_type(&v) == AVRO_UNION) {
        if (avro_value_get_current_branch(&v, &branch) != 0) return aj_cbad(r, "field %s has no branch", name);
        v = branch;
    }
    switch (avro_value_get_type(&v)) {
    case AVRO_NULL: return AJ_E_OK;
    case AVRO_INT64: if (avro_value_get_long(&v, out) == 0) return AJ_E_OK; break;
    case AVRO_INT32:
        if (avro_value_get_int(&v, &i32) == 0) {
            *out = i32;
            return AJ_E_OK;
        }
        break;
    default: break;
    }
    return aj_cbad(r, "field %s is not a long or null", name);
}

/* Nullable (["null", string]) field name of rec, malloc'ed into *out; NULL when absent or null.
 * A present string must not be empty. */
static aj_err aj_copt_str(aj_cread *r, avro_value_t *rec, const char *name, char **out) {
    avro_value_t v, branch;
    const char *s;
    size_t size;

    *out = NULL;
    if (avro_value_get_by_name(rec, name, &v, NULL) != 0) return AJ_E_OK;
    if (avro_value_get_type(&v) == AVRO_UNION) {
        if (avro_value_get_current_branch(&v, &branch) != 0) return aj_cbad(r, "field %s has no branch", name);
        v = branch;
    }
    if (avro_value_get_type(&v) == AVRO_NULL) return AJ_E_OK;
    if (avro_value_get_type(&v) != AVRO_STRING || avro_value_get_string(&v, &s, &size) != 0)
        return aj_cbad(r, "field %s is not a string or null", name);
    if (!*s) return aj_cbad(r, "field %s is empty", name);
    if (!(*out = strdup(s))) return AJ_E_NOMEM;
    return AJ_E_OK;
}

/* Item i of the string array arr (field name of the record), not empty. */
static aj_err aj_citem_str(aj_cread *r, avro_value_t *arr, size_t i, const char *name, const char **out) {
    avro_value_t v;
    size_t size;

    if (avro_value_get_by_index(arr, i, &v, NULL) != 0 || avro_value_get_type(&v) != AVRO_STRING ||
        avro_value_get_string(&v, out, &size) != 0)
        return aj_cbad(r, "field %s: item %zu is not a string", name, i);
    if (!**out) return aj_cbad(r, "field %s: item %zu is empty", name, i);
    return AJ_E_OK;
}

/* String array field name of rec (empty when absent), every item non-empty, malloc'ed. */
static aj_err aj_cnames(aj_cread *r, avro_value_t *rec, const char *name, char ***out, size_t *n_out) {
    avro_value_t arr;
    size_t n;
    aj_err rc;

    *out = NULL;
    *n_out = 0;
    if ((rc = aj_carray(r, rec, name, 0, &arr, &n))) return rc;
    if (n && !(*out = calloc(n, sizeof(**out)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        if ((rc = aj_citem_str(r, &arr, i, name, &s))) return rc;
        if (!((*out)[(*n_out)++] = strdup(s))) return AJ_E_NOMEM;
    }
    return AJ_E_OK;
}

static const char *const aj_weekday_names[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};
static const char *const aj_rounding_symbols[] = {
#define AJ_ROUNDING_SYMBOL(name) #name,
    AJ_ROUNDING_MAP(AJ_ROUNDING_SYMBOL)
#undef AJ_ROUNDING_SYMBOL
};
static const char *const aj_status_symbols[] = {"ACTIVE", "TERMINATED"};
static const char *const aj_band_mode_symbols[] = {"AT_START", "SPLIT"};
static const char *const aj_promo_kind_symbols[] = {"FREE_UNITS", "PRICE", "PERCENT_OFF"};
static const char *const aj_tax_mode_symbols[] = {"EXCLUSIVE", "GROSS_UP"};

#define AJ_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static aj_err aj_crounding(aj_cread *r, avro_value_t *rec, aj_rounding *out) {
    int i = AJ_ROUND_HALF_UP;
    aj_err rc = aj_cenum(r, rec, "rounding", aj_rounding_symbols, AJ_COUNT(aj_rounding_symbols), AJ_ROUND_HALF_UP, &i);
    if (!rc) *out = (aj_rounding)i;
    return rc;
}

static aj_err aj_cdecimals(aj_cread *r, avro_value_t *rec, const char *name, int32_t def, int32_t *out) {
    aj_err rc = aj_cint(r, rec, name, 1, def, out);
    if (!rc && (*out < 0 || *out > 6)) rc = aj_cbad(r, "%s %d is not in 0..6", name, (int)*out);
    return rc;
}

static int aj_cmp_days(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sets r->where to "<kind> <name>", name cut to fit buf. */
static void aj_cwhere(aj_cread *r, char *buf, size_t len, const char *kind, const char *name) {
    snprintf(buf, len, "%s %.48s", kind, name);
    r->where = buf;
}

static aj_err aj_contract_zones(aj_cread *r, avro_value_t *root, aj_contract *c) {
    avro_value_t arr, zone, prefixes, pv;
    size_t n, np;
    aj_err rc;

    if ((rc = aj_carray(r, root, "zones", 0, &arr, &n))) return rc;
    if (n && !(c->zones = calloc(n, sizeof(*c->zones)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_zone *z = &c->zones[c->n_zones++];
        avro_value_get_by_index(&arr, i, &zone, NULL);
        if ((rc = aj_cstr(r, &zone, "name", NULL, &z->name))) return rc;
        if ((rc = aj_carray(r, &zone, "prefixes", 0, &prefixes, &np))) return rc;
        if (np && !(z->prefixes = calloc(np, sizeof(*z->prefixes)))) return AJ_E_NOMEM;
        for (size_t j = 0; j < np; j++) {
            const char *s = NULL;
            size_t size;
            char digits[AJ_NUMBER_LEN + 1];
            avro_value_get_by_index(&prefixes, j, &pv, NULL);
            if (avro_value_get_string(&pv, &s, &size) != 0 || aj_normalize_number(s, digits, sizeof(digits)) <= 0)
                return aj_cbad(r, "zone %s has a prefix that is not E.164 digits", z->name);
            if (!(z->prefixes[z->n_prefixes++] = strdup(digits))) return AJ_E_NOMEM;
        }
    }
    return AJ_E_OK;
}

static aj_err aj_band_windows(aj_cread *r, avro_value_t *bv, aj_band *b) {
    avro_value_t arr, wv, days;
    size_t n, nd;
    aj_err rc;

    if ((rc = aj_carray(r, bv, "windows", 0, &arr, &n))) return rc;
    if (n && !(b->windows = calloc(n, sizeof(*b->windows)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_window *w = &b->windows[b->n_windows++];
        avro_value_get_by_index(&arr, i, &wv, NULL);
        if ((rc = aj_carray(r, &wv, "days", 1, &days, &nd)) ||
            (rc = aj_cint(r, &wv, "from_minute", 0, 0, &w->from_minute)) ||
            (rc = aj_cint(r, &wv, "to_minute", 0, 0, &w->to_minute)))
            return rc;
        for (size_t j = 0; j < nd; j++) {
            const char *s;
            int day = -1;
            if ((rc = aj_citem_str(r, &days, j, "days", &s))) return rc;
            for (int d = 0; d < AJ_COUNT(aj_weekday_names); d++)
                if (strcmp(s, aj_weekday_names[d]) == 0) day = d;
            if (day < 0) return aj_cbad(r, "window %zu: unknown weekday '%.16s' (MON..SUN)", i, s);
            w->days |= (uint8_t)(1u << day);
        }
        if (w->from_minute < 0 || w->from_minute > 1439)
            return aj_cbad(r, "window %zu: from_minute %d is not in 0..1439", i, (int)w->from_minute);
        if (w->to_minute <= w->from_minute || w->to_minute > 1440)
            return aj_cbad(r, "window %zu: to_minute %d is not in %d..1440", i, (int)w->to_minute,
                           (int)w->from_minute + 1);
    }
    return AJ_E_OK;
}

static aj_err aj_contract_bands(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, bv, hol;
    size_t n, nh;
    aj_err rc;

    if ((rc = aj_carray(r, root, "bands", 0, &arr, &n))) return rc;
    if (n && !(c->bands = calloc(n, sizeof(*c->bands)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_band *b = &c->bands[c->n_bands++];
        snprintf(where, sizeof(where), "band %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &bv, NULL);
        if ((rc = aj_cstr(r, &bv, "name", NULL, &b->name))) return rc;
        aj_cwhere(r, where, sizeof(where), "band", b->name);
        if ((rc = aj_band_windows(r, &bv, b)) || (rc = aj_carray(r, &bv, "holidays", 0, &hol, &nh))) return rc;
        if (nh && !(b->holidays = calloc(nh, sizeof(*b->holidays)))) return AJ_E_NOMEM;
        for (size_t j = 0; j < nh; j++) {
            const char *s;
            if ((rc = aj_citem_str(r, &hol, j, "holidays", &s))) return rc;
            if (aj_parse_date(s, &b->holidays[b->n_holidays]) != AJ_E_OK)
                return aj_cbad(r, "holiday '%.32s' is not a YYYY-MM-DD date", s);
            b->n_holidays++;
        }
        if (b->n_holidays > 1) qsort(b->holidays, b->n_holidays, sizeof(*b->holidays), aj_cmp_days);
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

static aj_err aj_rate_tiers(aj_cread *r, avro_value_t *rv, aj_rate *rt) {
    avro_value_t arr, tv;
    size_t n;
    aj_err rc;

    if ((rc = aj_carray(r, rv, "tiers", 0, &arr, &n))) return rc;
    if (n && !(rt->tiers = calloc(n, sizeof(*rt->tiers)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_tier *t = &rt->tiers[rt->n_tiers++];
        avro_value_get_by_index(&arr, i, &tv, NULL);
        if ((rc = aj_clong(r, &tv, "start", 0, 0, &t->start)) || (rc = aj_clong(r, &tv, "price", 0, 0, &t->price)) ||
            (rc = aj_clong(r, &tv, "increment", 0, 0, &t->increment)))
            return rc;
        if (t->start <= 0 || (i > 0 && t->start <= rt->tiers[i - 1].start))
            return aj_cbad(r, "tier %zu: start %lld is not positive and above the previous tier's", i,
                           (long long)t->start);
        if (t->increment <= 0)
            return aj_cbad(r, "tier %zu: increment %lld is not positive", i, (long long)t->increment);
        if (t->price < 0) return aj_cbad(r, "tier %zu: negative price", i);
    }
    return AJ_E_OK;
}

static aj_err aj_contract_rates(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, rv;
    size_t n;
    aj_err rc;

    if ((rc = aj_carray(r, root, "rates", 1, &arr, &n))) return rc;
    if (n && !(c->rates = calloc(n, sizeof(*c->rates)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_rate *rt = &c->rates[c->n_rates++];
        aj_rate_init(rt);
        snprintf(where, sizeof(where), "rate %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &rv, NULL);
        if ((rc = aj_cservice(r, &rv, &rt->service)) || (rc = aj_cstr(r, &rv, "zone", NULL, &rt->zone)) ||
            (rc = aj_copt_str(r, &rv, "band", &rt->band)) ||
            (rc = aj_clong(r, &rv, "connect_fee", 1, 0, &rt->connect_fee)) ||
            (rc = aj_clong(r, &rv, "price", 0, 0, &rt->price)) ||
            (rc = aj_clong(r, &rv, "rate_unit", 0, 0, &rt->rate_unit)) ||
            (rc = aj_clong(r, &rv, "first_increment", 1, 1, &rt->first_increment)) ||
            (rc = aj_clong(r, &rv, "next_increment", 1, 1, &rt->next_increment)) ||
            (rc = aj_clong(r, &rv, "min_charge", 1, 0, &rt->min_charge)) ||
            (rc = aj_clong(r, &rv, "max_charge", 1, 0, &rt->max_charge)) ||
            (rc = aj_cdecimals(r, &rv, "decimals", 6, &rt->decimals)) || (rc = aj_crounding(r, &rv, &rt->rounding)))
            return rc;
        if (rt->rate_unit <= 0 || rt->first_increment <= 0 || rt->next_increment <= 0)
            return aj_cbad(r, "zone %s: rate_unit and increments must be positive", rt->zone);
        if (rt->price < 0 || rt->connect_fee < 0) return aj_cbad(r, "zone %s: negative price or connect fee", rt->zone);
        if (rt->min_charge < 0 || rt->max_charge < 0)
            return aj_cbad(r, "zone %s: negative min_charge or max_charge", rt->zone);
        if (rt->max_charge != 0 && rt->max_charge < rt->min_charge)
            return aj_cbad(r, "zone %s: max_charge %lld is below min_charge %lld", rt->zone,
                           (long long)rt->max_charge, (long long)rt->min_charge);
        if ((rc = aj_rate_tiers(r, &rv, rt))) return rc;
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

static aj_err aj_contract_allowances(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, av;
    size_t n;
    aj_err rc;

    if ((rc = aj_carray(r, root, "allowances", 0, &arr, &n))) return rc;
    if (n && !(c->allowances = calloc(n, sizeof(*c->allowances)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_allowance *a = &c->allowances[c->n_allowances++];
        snprintf(where, sizeof(where), "allowance %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &av, NULL);
        if ((rc = aj_cstr(r, &av, "name", NULL, &a->name))) return rc;
        aj_cwhere(r, where, sizeof(where), "allowance", a->name);
        if ((rc = aj_cservice(r, &av, &a->service)) || (rc = aj_cnames(r, &av, "zones", &a->zones, &a->n_zones)) ||
            (rc = aj_clong(r, &av, "units", 0, 0, &a->units)))
            return rc;
        if (a->units < 0) return aj_cbad(r, "units %lld is negative", (long long)a->units);
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

static aj_err aj_contract_discounts(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, dv;
    size_t n;
    aj_err rc;

    if ((rc = aj_carray(r, root, "discounts", 0, &arr, &n))) return rc;
    if (n && !(c->discounts = calloc(n, sizeof(*c->discounts)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_discount *d = &c->discounts[c->n_discounts++];
        snprintf(where, sizeof(where), "discount %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &dv, NULL);
        if ((rc = aj_cstr(r, &dv, "name", NULL, &d->name))) return rc;
        aj_cwhere(r, where, sizeof(where), "discount", d->name);
        if ((rc = aj_cservice(r, &dv, &d->service)) || (rc = aj_cnames(r, &dv, "zones", &d->zones, &d->n_zones)) ||
            (rc = aj_clong(r, &dv, "percent_ppm", 0, 0, &d->percent_ppm)) ||
            (rc = aj_clong(r, &dv, "cap", 1, 0, &d->cap)))
            return rc;
        if (d->percent_ppm < 0 || d->percent_ppm > 1000000)
            return aj_cbad(r, "percent_ppm %lld is not in 0..1000000", (long long)d->percent_ppm);
        if (d->cap < 0) return aj_cbad(r, "negative cap");
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

static aj_err aj_contract_promotions(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, pv;
    size_t n;
    int kind = 0;
    aj_err rc;

    if ((rc = aj_carray(r, root, "promotions", 0, &arr, &n))) return rc;
    if (n && !(c->promotions = calloc(n, sizeof(*c->promotions)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_promotion *p = &c->promotions[c->n_promotions++];
        snprintf(where, sizeof(where), "promotion %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &pv, NULL);
        if ((rc = aj_cstr(r, &pv, "name", NULL, &p->name))) return rc;
        aj_cwhere(r, where, sizeof(where), "promotion", p->name);
        if ((rc = aj_cservice(r, &pv, &p->service)) || (rc = aj_cnames(r, &pv, "zones", &p->zones, &p->n_zones)) ||
            (rc = aj_clong(r, &pv, "valid_from", 0, 0, &p->valid_from)) ||
            (rc = aj_copt_long(r, &pv, "valid_to", INT64_MAX, &p->valid_to)) ||
            (rc = aj_cenum(r, &pv, "kind", aj_promo_kind_symbols, AJ_COUNT(aj_promo_kind_symbols), -1, &kind)) ||
            (rc = aj_clong(r, &pv, "value", 0, 0, &p->value)) || (rc = aj_cint(r, &pv, "priority", 1, 0, &p->priority)))
            return rc;
        p->kind = (aj_promo_kind)kind;
        if (p->valid_to <= p->valid_from)
            return aj_cbad(r, "valid_to %lld is not after valid_from %lld", (long long)p->valid_to,
                           (long long)p->valid_from);
        if (p->value < 0)
            return aj_cbad(r, "%s value %lld is negative", aj_promo_kind_name(p->kind), (long long)p->value);
        if (p->kind == AJ_PROMO_PERCENT_OFF && p->value > 1000000)
            return aj_cbad(r, "PERCENT_OFF value %lld is not in 0..1000000", (long long)p->value);
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

static aj_err aj_contract_lines(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, lv;
    size_t n;
    aj_err rc;

    if ((rc = aj_carray(r, root, "lines", 0, &arr, &n))) return rc;
    if (n && !(c->lines = calloc(n, sizeof(*c->lines)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_line *l = &c->lines[c->n_lines++];
        aj_line_init(l);
        snprintf(where, sizeof(where), "line %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &lv, NULL);
        if ((rc = aj_cstr(r, &lv, "line_id", NULL, &l->line_id)) || (rc = aj_cservice(r, &lv, &l->service)) ||
            (rc = aj_clong(r, &lv, "monthly_price", 0, 0, &l->monthly_price)) ||
            (rc = aj_cint(r, &lv, "quantity", 1, 1, &l->quantity)) ||
            (rc = aj_copt_long(r, &lv, "activated", INT64_MIN, &l->active_from)) ||
            (rc = aj_copt_long(r, &lv, "deactivated", INT64_MAX, &l->active_to)))
            return rc;
        if (l->monthly_price < 0) return aj_cbad(r, "line %s: negative monthly price", l->line_id);
        if (l->quantity <= 0) return aj_cbad(r, "line %s: quantity %d is not positive", l->line_id, (int)l->quantity);
        if (l->active_to <= l->active_from)
            return aj_cbad(r, "line %s: deactivated %lld is not after activated %lld", l->line_id,
                           (long long)l->active_to, (long long)l->active_from);
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

static aj_err aj_contract_taxes(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, tv, services;
    size_t n, ns;
    int mode;
    aj_err rc;

    if ((rc = aj_carray(r, root, "taxes", 0, &arr, &n))) return rc;
    if (n && !(c->taxes = calloc(n, sizeof(*c->taxes)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_tax *t = &c->taxes[c->n_taxes++];
        snprintf(where, sizeof(where), "tax %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &tv, NULL);
        if ((rc = aj_cstr(r, &tv, "name", NULL, &t->name))) return rc;
        aj_cwhere(r, where, sizeof(where), "tax", t->name);
        if ((rc = aj_carray(r, &tv, "services", 1, &services, &ns)) ||
            (rc = aj_clong(r, &tv, "rate_ppm", 0, 0, &t->rate_ppm)) ||
            (rc = aj_cenum(r, &tv, "mode", aj_tax_mode_symbols, AJ_COUNT(aj_tax_mode_symbols), AJ_TAX_EXCLUSIVE,
                           &mode)))
            return rc;
        t->mode = (aj_tax_mode)mode;
        for (size_t j = 0; j < ns; j++) {
            const char *s;
            aj_service sv;
            if ((rc = aj_citem_str(r, &services, j, "services", &s))) return rc;
            if (aj_service_parse(s, &sv) != AJ_E_OK)
                return aj_cbad(r, "service %.32s is not VOICE, SMS, MMS or DATA", s);
            t->services |= 1u << sv;
        }
        if (t->rate_ppm < 0 || t->rate_ppm > 999999)
            return aj_cbad(r, "rate_ppm %lld is not in 0..999999", (long long)t->rate_ppm);
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

/* Clause "One-time charges": the price list (contract.v3; absent in older writers). */
static aj_err aj_contract_one_time(aj_cread *r, avro_value_t *root, aj_contract *c) {
    char where[64];
    avro_value_t arr, ov;
    size_t n;
    aj_err rc;

    if ((rc = aj_carray(r, root, "one_time_charges", 0, &arr, &n))) return rc;
    if (n && !(c->one_time_charges = calloc(n, sizeof(*c->one_time_charges)))) return AJ_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        aj_otc_price *o = &c->one_time_charges[c->n_one_time_charges++];
        avro_value_t dv;
        const char *desc = "";
        size_t size;
        snprintf(where, sizeof(where), "one-time charge %zu", i);
        r->where = where;
        avro_value_get_by_index(&arr, i, &ov, NULL);
        if ((rc = aj_cstr(r, &ov, "code", NULL, &o->code))) return rc;
        aj_cwhere(r, where, sizeof(where), "one-time charge", o->code);
        if (avro_value_get_by_name(&ov, "description", &dv, NULL) == 0 &&
            (avro_value_get_type(&dv) != AVRO_STRING || avro_value_get_string(&dv, &desc, &size) != 0))
            return aj_cbad(r, "field description is not a string");
        if (!(o->description = strdup(desc))) return AJ_E_NOMEM;
        if ((rc = aj_clong(r, &ov, "price", 0, 0, &o->price))) return rc;
        if (o->price < 0) return aj_cbad(r, "price %lld is negative", (long long)o->price);
    }
    r->where = "contract";   /* where pointed into this frame */
    return AJ_E_OK;
}

/* The contract of a generic value, validated structurally. */
static aj_err aj_contract_from_value(avro_value_t *root, aj_contract *c, char *detail, size_t detlen) {
    aj_cread r = {detail, detlen, "contract"};
    char *currency = NULL;
    int64_t version;
    int status, band_mode;
    aj_err rc;

    aj_contract_init(c);
    if ((rc = aj_cstr(&r, root, "account", NULL, &c->account)) ||
        (rc = aj_cstr(&r, root, "contract_id", NULL, &c->contract_id)) ||
        (rc = aj_clong(&r, root, "version", 0, 0, &version)) ||
        (rc = aj_cenum(&r, root, "status", aj_status_symbols, AJ_COUNT(aj_status_symbols), AJ_CONTRACT_ACTIVE,
                       &status)) ||
        (rc = aj_clong(&r, root, "effective_from", 0, 0, &c->effective_from)) ||
        (rc = aj_copt_long(&r, root, "effective_to", INT64_MAX, &c->effective_to)) ||
        (rc = aj_cstr(&r, root, "currency", NULL, &currency)) ||
        (rc = aj_cdecimals(&r, root, "currency_decimals", 2, &c->decimals)) ||
        (rc = aj_crounding(&r, root, &c->rounding)) ||
        (rc = aj_cint(&r, root, "payment_terms_days", 1, 30, &c->payment_terms_days)) ||
        (rc = aj_cstr(&r, root, "time_zone", "UTC", &c->time_zone)) ||
        (rc = aj_cstr(&r, root, "default_zone", NULL, &c->default_zone)) ||
        (rc = aj_cenum(&r, root, "band_mode", aj_band_mode_symbols, AJ_COUNT(aj_band_mode_symbols), AJ_BAND_AT_START,
                       &band_mode)) ||
        (rc = aj_cstr(&r, root, "default_band", "ANY", &c->default_band)))
        goto end;
    c->status = (aj_contract_status)status;
    c->band_mode = (aj_band_mode)band_mode;
    if (version < 0 || version > INT32_MAX) {
        rc = aj_cbad(&r, "version %lld out of range", (long long)version);
        goto end;
    }
    c->version = (int32_t)version;
    if (strlen(currency) != AJ_CURRENCY_LEN) {
        rc = aj_cbad(&r, "currency '%s' is not an ISO 4217 code", currency);
        goto end;
    }
    memcpy(c->currency, currency, AJ_CURRENCY_LEN + 1);
    if (c->payment_terms_days < 0) {
        rc = aj_cbad(&r, "payment_terms_days %d is negative", (int)c->payment_terms_days);
        goto end;
    }
    if ((rc = aj_contract_zones(&r, root, c)) || (rc = aj_contract_bands(&r, root, c)) ||
        (rc = aj_contract_rates(&r, root, c)) || (rc = aj_contract_allowances(&r, root, c)) ||
        (rc = aj_contract_discounts(&r, root, c)) || (rc = aj_contract_promotions(&r, root, c)) ||
        (rc = aj_contract_lines(&r, root, c)) || (rc = aj_contract_taxes(&r, root, c)) ||
        (rc = aj_contract_one_time(&r, root, c)))
        goto end;
end:
    free(currency);
    return rc;
}

aj_err aj_decode_contract(aj_decoder *dec, const aj_schema *writer, const void *datum, size_t len,
                          aj_contract **out, char *detail, size_t detlen) {
    avro_value_t value;
    avro_reader_t reader = NULL;
    aj_contract *c = NULL;
    size_t used = 0;
    aj_err rc;
    int have_value = 0;

    (void)dec;
    *out = NULL;
    if (detlen) detail[0] = '\0';
    if (writer->id != AJ_SCHEMA_CONTRACT) {
        snprintf(detail, detlen, "schema %s is not a contract schema", writer->file);
        return AJ_E_WRONG_SCHEMA;
    }
    if ((rc = aj_avro_check(writer->schema, datum, len, &used, detail, detlen))) return rc;
    if (used != len) {
        snprintf(detail, detlen, "%zu bytes left after a contract of %zu bytes", len - used, used);
        return AJ_E_TRAILING_BYTES;
    }
    if (avro_generic_value_new(writer->iface, &value) != 0) return AJ_E_NOMEM;
    have_value = 1;
    rc = AJ_E_NOMEM;
    if (!(reader = avro_reader_memory(datum, (int64_t)len)) || !(c = calloc(1, sizeof(*c)))) goto end;
    if (avro_value_read(reader, &value) != 0) {
        snprintf(detail, detlen, "contract datum does not decode: %s", avro_strerror());
        rc = AJ_E_BAD_CONTRACT;
        goto end;
    }
    if ((rc = aj_contract_from_value(&value, c, detail, detlen)) == AJ_E_OK) {
        *out = c;
        c = NULL;
    }
end:
    aj_contract_free(c);
    if (reader) avro_reader_free(reader);
    if (have_value) avro_value_decref(&value);
    return rc;
}

aj_err aj_decode_contract_message(aj_decoder *dec, const void *value, size_t len, aj_contract **out,
                                  char *detail, size_t detlen) {
    const aj_schema *writer;
    aj_err rc;
    *out = NULL;
    if (detlen) detail[0] = '\0';
    if ((rc = aj_message_writer(value, len, AJ_SCHEMA_CONTRACT, &writer, detail, detlen))) return rc;
    return aj_decode_contract(dec, writer, (const uint8_t *)value + AJ_SOM_HEADER_LEN, len - AJ_SOM_HEADER_LEN,
                              out, detail, detlen);
}

/* ================================================================ encoders */

/* The input encoders go through avro-c's generic values (not the hand-written readers above),
 * so the generator and the tests exercise the decoders against an independent writer. */

struct aj_encoder {
    avro_value_t event;
    avro_value_t credit;
    int have_event;
    int have_credit;
};

aj_encoder *aj_encoder_create(void) {
    aj_encoder *enc = calloc(1, sizeof(*enc));
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    if (!enc || !s) {
        free(enc);
        return NULL;
    }
    const aj_schema *cs = aj_schema_current(AJ_SCHEMA_DISPUTE_CREDIT);
    if (avro_generic_value_new(s->iface, &enc->event) != 0) {
        free(enc);
        return NULL;
    }
    enc->have_event = 1;
    if (!cs || avro_generic_value_new(cs->iface, &enc->credit) != 0) {
        aj_encoder_destroy(enc);
        return NULL;
    }
    enc->have_credit = 1;
    return enc;
}

void aj_encoder_destroy(aj_encoder *enc) {
    if (!enc) return;
    if (enc->have_event) avro_value_decref(&enc->event);
    if (enc->have_credit) avro_value_decref(&enc->credit);
    free(enc);
}

static int aj_set_str(avro_value_t *rec, const char *name, const char *v) {
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_string(&f, v);
}

static int aj_set_long(avro_value_t *rec, const char *name, int64_t v) {
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_long(&f, v);
}

static int aj_set_int(avro_value_t *rec, const char *name, int32_t v) {
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_int(&f, v);
}

static int aj_set_bool(avro_value_t *rec, const char *name, int v) {
    avro_value_t f;
    return avro_value_get_by_name(rec, name, &f, NULL) || avro_value_set_boolean(&f, v);
}

aj_err aj_encode_event(aj_encoder *enc, const aj_event *ev, aj_bytes *out) {
    avro_value_t rec;
    int bad = 0;

    if (ev->kind == AJ_EVENT_CREDIT) {
        /* A credit is its own schema (schemas/dispute_credit.avsc), not a usage-stream branch. */
        const aj_credit *cr = &ev->u.credit;
        bad = aj_set_str(&enc->credit, "dispute_id", cr->dispute_id) || aj_set_str(&enc->credit, "account", cr->account) ||
              aj_set_str(&enc->credit, "invoice_id", cr->invoice_id) || aj_set_long(&enc->credit, "amount", cr->amount) ||
              aj_set_str(&enc->credit, "currency", cr->currency) || aj_set_str(&enc->credit, "reason", cr->reason) ||
              aj_set_long(&enc->credit, "accepted_at", cr->accepted_ms);
        return bad ? AJ_E_AVRO : aj_avro_encode(&enc->credit, out);
    }
    /* The branch by record name: event kinds are not branch indexes. */
    static const char *const branch_names[] = {"UsageRecord", "RecurringCharge", "CycleClose", "", "OneTimeCharge"};
    int branch;
    if ((unsigned)ev->kind >= sizeof(branch_names) / sizeof(branch_names[0]) ||
        !avro_schema_union_branch_by_name(avro_value_get_schema(&enc->event), &branch, branch_names[ev->kind]) ||
        avro_value_set_branch(&enc->event, branch, &rec) != 0)
        return AJ_E_AVRO;
    switch (ev->kind) {
    case AJ_EVENT_CREDIT: return AJ_E_ARG;   /* encoded above */
    case AJ_EVENT_USAGE: {
        const aj_usage *u = &ev->u.usage;
        int voice = u->service == AJ_SERVICE_VOICE || u->service >= AJ_SERVICE__COUNT;
        bad = aj_set_str(&rec, "record_id", u->record_id) || aj_set_str(&rec, "account", u->account) ||
              aj_set_str(&rec, "subscriber", u->subscriber) ||
              aj_set_str(&rec, "service", aj_service_name(u->service)) ||
              aj_set_long(&rec, "start_time", u->start_ms) ||
              aj_set_long(&rec, "duration_seconds", voice ? u->quantity : 0) ||
              aj_set_long(&rec, "message_count",
                          u->service == AJ_SERVICE_SMS || u->service == AJ_SERVICE_MMS ? u->quantity : 0) ||
              aj_set_long(&rec, "data_bytes", u->service == AJ_SERVICE_DATA ? u->quantity : 0) ||
              aj_set_str(&rec, "origin", u->origin) || aj_set_str(&rec, "destination", u->destination) ||
              aj_set_bool(&rec, "roaming", u->roaming) || aj_set_str(&rec, "cycle_id", u->cycle_id) ||
              aj_set_long(&rec, "legacy_charge", u->legacy_charge) || aj_set_str(&rec, "currency", u->currency) ||
              aj_set_str(&rec, "legacy_tariff_code", u->tariff_code);
        break;
    }
    case AJ_EVENT_RECURRING: {
        const aj_recurring *r = &ev->u.recurring;
        bad = aj_set_str(&rec, "record_id", r->record_id) || aj_set_str(&rec, "account", r->account) ||
              aj_set_str(&rec, "line_id", r->line_id) || aj_set_str(&rec, "service", aj_service_name(r->service)) ||
              aj_set_str(&rec, "cycle_id", r->cycle_id) || aj_set_long(&rec, "period_start", r->period_start_ms) ||
              aj_set_long(&rec, "period_end", r->period_end_ms) ||
              aj_set_long(&rec, "legacy_amount", r->legacy_amount) || aj_set_str(&rec, "currency", r->currency) ||
              aj_set_str(&rec, "legacy_tariff_code", r->tariff_code);
        break;
    }
    case AJ_EVENT_ONE_TIME: {
        const aj_one_time *o = &ev->u.one_time;
        bad = aj_set_str(&rec, "record_id", o->record_id) || aj_set_str(&rec, "account", o->account) ||
              aj_set_str(&rec, "subscriber", o->subscriber) || aj_set_str(&rec, "charge_code", o->charge_code) ||
              aj_set_long(&rec, "charged_at", o->charged_ms) || aj_set_str(&rec, "cycle_id", o->cycle_id) ||
              aj_set_long(&rec, "quantity", o->quantity) || aj_set_long(&rec, "legacy_amount", o->legacy_amount) ||
              aj_set_str(&rec, "currency", o->currency) || aj_set_str(&rec, "legacy_tariff_code", o->tariff_code);
        break;
    }
    case AJ_EVENT_CYCLE_CLOSE: {
        const aj_cycle_close *cl = &ev->u.close;
        bad = aj_set_str(&rec, "account", cl->account) || aj_set_str(&rec, "cycle_id", cl->cycle_id) ||
              aj_set_long(&rec, "period_start", cl->period_start_ms) ||
              aj_set_long(&rec, "period_end", cl->period_end_ms);
        avro_value_t taxes, item;
        bad = bad || avro_value_get_by_name(&rec, "legacy_taxes", &taxes, NULL) != 0 || avro_value_reset(&taxes) != 0;
        for (size_t i = 0; !bad && i < cl->n_legacy_taxes; i++)
            bad = avro_value_append(&taxes, &item, NULL) != 0 ||
                  aj_set_str(&item, "name", cl->legacy_taxes[i].name) ||
                  aj_set_long(&item, "amount", cl->legacy_taxes[i].amount);
        break;
    }
    }
    return bad ? AJ_E_AVRO : aj_avro_encode(&enc->event, out);
}

/* Sets the enum field name of rec to symbol, by name in the writer schema. */
static int aj_set_enum(avro_value_t *rec, const char *name, const char *symbol) {
    avro_value_t f;
    avro_schema_t es;
    int idx;
    if (avro_value_get_by_name(rec, name, &f, NULL) || !(es = aj_cschema(&f)) || avro_typeof(es) != AVRO_ENUM ||
        (idx = avro_schema_enum_get_by_name(es, symbol)) < 0)
        return 1;
    return avro_value_set_enum(&f, idx);
}

/* Sets the ["null", long] field name of rec: null when v == null_value. */
static int aj_set_opt_long(avro_value_t *rec, const char *name, int64_t v, int64_t null_value) {
    avro_value_t f, branch;
    if (avro_value_get_by_name(rec, name, &f, NULL)) return 1;
    if (v == null_value) return avro_value_set_branch(&f, 0, &branch) || avro_value_set_null(&branch);
    return avro_value_set_branch(&f, 1, &branch) || avro_value_set_long(&branch, v);
}

/* Appends n strings to the array field name of rec. */
static int aj_set_names(avro_value_t *rec, const char *name, char *const *names, size_t n) {
    avro_value_t arr, s;
    if (avro_value_get_by_name(rec, name, &arr, NULL)) return 1;
    for (size_t i = 0; i < n; i++)
        if (avro_value_append(&arr, &s, NULL) || avro_value_set_string(&s, names[i])) return 1;
    return 0;
}

static int aj_bands_to_value(const aj_contract *c, avro_value_t *root) {
    avro_value_t arr, item, windows, w, days, s;
    char date[32];

    if (avro_value_get_by_name(root, "bands", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_bands; i++) {
        const aj_band *b = &c->bands[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "name", b->name) ||
            avro_value_get_by_name(&item, "windows", &windows, NULL))
            return 1;
        for (size_t j = 0; j < b->n_windows; j++) {
            if (avro_value_append(&windows, &w, NULL) || avro_value_get_by_name(&w, "days", &days, NULL) ||
                aj_set_int(&w, "from_minute", b->windows[j].from_minute) ||
                aj_set_int(&w, "to_minute", b->windows[j].to_minute))
                return 1;
            for (int d = 0; d < AJ_COUNT(aj_weekday_names); d++)
                if ((b->windows[j].days & (1u << d)) &&
                    (avro_value_append(&days, &s, NULL) || avro_value_set_string(&s, aj_weekday_names[d])))
                    return 1;
        }
        if (avro_value_get_by_name(&item, "holidays", &windows, NULL)) return 1;
        for (size_t j = 0; j < b->n_holidays; j++) {
            int32_t y;
            int m, d;
            aj_civil_from_days(b->holidays[j], &y, &m, &d);
            snprintf(date, sizeof(date), "%04d-%02d-%02d", (int)y, m, d);
            if (avro_value_append(&windows, &s, NULL) || avro_value_set_string(&s, date)) return 1;
        }
    }
    return 0;
}

static int aj_rates_to_value(const aj_contract *c, avro_value_t *root) {
    avro_value_t arr, item, v, branch, tiers, t;

    if (avro_value_get_by_name(root, "rates", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_rates; i++) {
        const aj_rate *r = &c->rates[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "service", aj_service_name(r->service)) ||
            aj_set_str(&item, "zone", r->zone) || aj_set_long(&item, "connect_fee", r->connect_fee) ||
            aj_set_long(&item, "price", r->price) || aj_set_long(&item, "rate_unit", r->rate_unit) ||
            aj_set_long(&item, "first_increment", r->first_increment) ||
            aj_set_long(&item, "next_increment", r->next_increment) ||
            aj_set_long(&item, "min_charge", r->min_charge) || aj_set_long(&item, "max_charge", r->max_charge) ||
            aj_set_int(&item, "decimals", r->decimals) ||
            aj_set_enum(&item, "rounding", aj_rounding_name(r->rounding)) ||
            avro_value_get_by_name(&item, "band", &v, NULL))
            return 1;
        if (r->band ? avro_value_set_branch(&v, 1, &branch) || avro_value_set_string(&branch, r->band)
                    : avro_value_set_branch(&v, 0, &branch) || avro_value_set_null(&branch))
            return 1;
        if (avro_value_get_by_name(&item, "tiers", &tiers, NULL)) return 1;
        for (size_t j = 0; j < r->n_tiers; j++)
            if (avro_value_append(&tiers, &t, NULL) || aj_set_long(&t, "start", r->tiers[j].start) ||
                aj_set_long(&t, "price", r->tiers[j].price) || aj_set_long(&t, "increment", r->tiers[j].increment))
                return 1;
    }
    return 0;
}

static int aj_offers_to_value(const aj_contract *c, avro_value_t *root) {
    avro_value_t arr, item;

    if (avro_value_get_by_name(root, "allowances", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_allowances; i++) {
        const aj_allowance *a = &c->allowances[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "name", a->name) ||
            aj_set_str(&item, "service", aj_service_name(a->service)) ||
            aj_set_names(&item, "zones", a->zones, a->n_zones) || aj_set_long(&item, "units", a->units))
            return 1;
    }
    if (avro_value_get_by_name(root, "discounts", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_discounts; i++) {
        const aj_discount *d = &c->discounts[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "name", d->name) ||
            aj_set_str(&item, "service", aj_service_name(d->service)) ||
            aj_set_names(&item, "zones", d->zones, d->n_zones) || aj_set_long(&item, "percent_ppm", d->percent_ppm) ||
            aj_set_long(&item, "cap", d->cap))
            return 1;
    }
    if (avro_value_get_by_name(root, "promotions", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_promotions; i++) {
        const aj_promotion *p = &c->promotions[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "name", p->name) ||
            aj_set_str(&item, "service", aj_service_name(p->service)) ||
            aj_set_names(&item, "zones", p->zones, p->n_zones) || aj_set_long(&item, "valid_from", p->valid_from) ||
            aj_set_opt_long(&item, "valid_to", p->valid_to, INT64_MAX) ||
            aj_set_enum(&item, "kind", aj_promo_kind_name(p->kind)) || aj_set_long(&item, "value", p->value) ||
            aj_set_int(&item, "priority", p->priority))
            return 1;
    }
    return 0;
}

static int aj_lines_taxes_to_value(const aj_contract *c, avro_value_t *root) {
    avro_value_t arr, item, services, s;

    if (avro_value_get_by_name(root, "lines", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_lines; i++) {
        const aj_line *l = &c->lines[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "line_id", l->line_id) ||
            aj_set_str(&item, "service", aj_service_name(l->service)) ||
            aj_set_long(&item, "monthly_price", l->monthly_price) || aj_set_int(&item, "quantity", l->quantity) ||
            aj_set_opt_long(&item, "activated", l->active_from, INT64_MIN) ||
            aj_set_opt_long(&item, "deactivated", l->active_to, INT64_MAX))
            return 1;
    }
    if (avro_value_get_by_name(root, "taxes", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_taxes; i++) {
        const aj_tax *t = &c->taxes[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "name", t->name) ||
            aj_set_long(&item, "rate_ppm", t->rate_ppm) || aj_set_enum(&item, "mode", aj_tax_mode_name(t->mode)) ||
            avro_value_get_by_name(&item, "services", &services, NULL))
            return 1;
        for (int sv = 0; sv < AJ_SERVICE__COUNT; sv++)
            if ((t->services & (1u << sv)) &&
                (avro_value_append(&services, &s, NULL) || avro_value_set_string(&s, aj_service_name((aj_service)sv))))
                return 1;
    }
    return 0;
}

static int aj_one_time_to_value(const aj_contract *c, avro_value_t *root) {
    avro_value_t arr, item;

    if (avro_value_get_by_name(root, "one_time_charges", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_one_time_charges; i++) {
        const aj_otc_price *o = &c->one_time_charges[i];
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "code", o->code) ||
            aj_set_str(&item, "description", o->description ? o->description : "") ||
            aj_set_long(&item, "price", o->price))
            return 1;
    }
    return 0;
}

/* Fills the generic value of a contract (current schema); non-zero on failure. */
static int aj_contract_to_value(const aj_contract *c, avro_value_t *root) {
    avro_value_t arr, item, sub, s;

    if (aj_set_str(root, "account", c->account) || aj_set_str(root, "contract_id", c->contract_id) ||
        aj_set_int(root, "version", c->version) || aj_set_long(root, "effective_from", c->effective_from) ||
        aj_set_str(root, "currency", c->currency) || aj_set_int(root, "currency_decimals", c->decimals) ||
        aj_set_enum(root, "rounding", aj_rounding_name(c->rounding)) ||
        aj_set_int(root, "payment_terms_days", c->payment_terms_days) ||
        aj_set_str(root, "time_zone", c->time_zone ? c->time_zone : "UTC") ||
        aj_set_str(root, "default_zone", c->default_zone) ||
        aj_set_enum(root, "status", c->status == AJ_CONTRACT_TERMINATED ? "TERMINATED" : "ACTIVE") ||
        aj_set_opt_long(root, "effective_to", c->effective_to, INT64_MAX) ||
        aj_set_enum(root, "band_mode", aj_band_mode_name(c->band_mode)) ||
        aj_set_str(root, "default_band", c->default_band ? c->default_band : "ANY"))
        return 1;
    if (avro_value_get_by_name(root, "zones", &arr, NULL)) return 1;
    for (size_t i = 0; i < c->n_zones; i++) {
        if (avro_value_append(&arr, &item, NULL) || aj_set_str(&item, "name", c->zones[i].name) ||
            avro_value_get_by_name(&item, "prefixes", &sub, NULL))
            return 1;
        for (size_t j = 0; j < c->zones[i].n_prefixes; j++)
            if (avro_value_append(&sub, &s, NULL) || avro_value_set_string(&s, c->zones[i].prefixes[j])) return 1;
    }
    return aj_bands_to_value(c, root) || aj_rates_to_value(c, root) || aj_offers_to_value(c, root) ||
           aj_lines_taxes_to_value(c, root) || aj_one_time_to_value(c, root);
}

aj_err aj_encode_contract(aj_encoder *enc, const aj_contract *c, aj_bytes *out) {
    const aj_schema *s = aj_schema_current(AJ_SCHEMA_CONTRACT);
    avro_value_t root;
    aj_err rc;

    (void)enc;
    if (avro_generic_value_new(s->iface, &root) != 0) return AJ_E_NOMEM;
    rc = aj_contract_to_value(c, &root) ? AJ_E_AVRO : aj_avro_encode(&root, out);
    avro_value_decref(&root);
    return rc;
}
