/* aj_out_codec.c - Avro binary encoding and decoding of the outputs (corrections, invoices, dead letters). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_emit.h"

const char *aj_output_name(aj_output_kind kind) {
    switch (kind) {
    case AJ_OUT_INVOICE: return "invoices";
    case AJ_OUT_CORRECTION: return "corrections";
    case AJ_OUT_DEAD_LETTER: return "dead_letters";
    case AJ_OUT_REVIEW: return "review";
    case AJ_OUT__COUNT: break;
    }
    return "unknown";
}

aj_schema_id aj_output_schema(aj_output_kind kind) {
    switch (kind) {
    case AJ_OUT_INVOICE:
    case AJ_OUT_REVIEW: return AJ_SCHEMA_INVOICE;
    case AJ_OUT_CORRECTION: return AJ_SCHEMA_CORRECTION;
    default: return AJ_SCHEMA_DEAD_LETTER;
    }
}

/* The encoders keep no state today; the type leaves room for per-schema buffers. */
struct aj_out_encoder {
    int unused;
};

aj_out_encoder *aj_out_encoder_create(void) {
    return calloc(1, sizeof(aj_out_encoder));
}

void aj_out_encoder_destroy(aj_out_encoder *enc) {
    free(enc);
}

/* ------------------------------------------------------------------ encoding */

/* Appends a NUL-terminated string (NULL as ""). */
static aj_err aj_put_str(aj_bytes *b, const char *s) {
    return aj_avro_put_string(b, s ? s : "", s ? strlen(s) : 0);
}

/* The code strings are the schema's domain: a value out of range would write "UNKNOWN", which
 * no reader accepts back, so it is refused before anything is written. */
static int aj_kind_ok(aj_record_kind k) {
    return (unsigned)k < AJ_KIND__COUNT;
}
static int aj_service_ok(aj_service s) {
    return (unsigned)s < AJ_SERVICE__COUNT;
}
static int aj_reason_ok(aj_reason r) {
    return (unsigned)r < AJ_REASON__COUNT;
}

/* The service of a correction: one of the four, or none ("") on a one-time charge's. */
static int aj_correction_service_ok(const aj_correction *c) {
    return aj_service_ok(c->service) || (c->kind == AJ_KIND_ONE_TIME && c->service == AJ_SERVICE__COUNT);
}

static const char *const aj_clamp_names[] = {"NONE", "MIN", "MAX"};

/* Fields of schemas/correction.v2.avsc, in order. */
static aj_err aj_put_correction(const aj_correction *c, aj_bytes *out) {
    const aj_trace *t = &c->trace;
    aj_err rc;
    if (!aj_kind_ok(c->kind) || !aj_correction_service_ok(c) || !aj_reason_ok(c->reason)) return AJ_E_AVRO;
    if ((rc = aj_put_str(out, c->correction_id)) || (rc = aj_put_str(out, c->account)) ||
        (rc = aj_put_str(out, c->cycle_id)) || (rc = aj_put_str(out, c->record_id)) ||
        (rc = aj_put_str(out, aj_record_kind_name(c->kind))) ||
        (rc = aj_put_str(out, aj_service_ok(c->service) ? aj_service_name(c->service) : "")) ||
        (rc = aj_put_str(out, aj_reason_name(c->reason))) || (rc = aj_put_str(out, c->hypothesis)) ||
        (rc = aj_avro_put_long(out, c->legacy_amount)) || (rc = aj_avro_put_long(out, c->corrected_amount)) ||
        (rc = aj_avro_put_long(out, c->delta)) || (rc = aj_put_str(out, c->currency)) ||
        (rc = aj_put_str(out, c->contract_id)) || (rc = aj_avro_put_long(out, c->contract_version)) ||
        (rc = aj_put_str(out, c->tariff_code)))
        return rc;
    if ((rc = aj_put_str(out, t->zone)) || (rc = aj_put_str(out, t->matched_prefix)) ||
        (rc = aj_avro_put_long(out, t->quantity)) || (rc = aj_avro_put_long(out, t->billed_quantity)) ||
        (rc = aj_avro_put_long(out, t->first_increment)) || (rc = aj_avro_put_long(out, t->next_increment)) ||
        (rc = aj_avro_put_long(out, t->price)) || (rc = aj_avro_put_long(out, t->rate_unit)) ||
        (rc = aj_avro_put_long(out, t->connect_fee)))
        return rc;
    if ((unsigned)t->clamp > AJ_CLAMP_MAX || (unsigned)t->rounding >= AJ_ROUND__COUNT) return AJ_E_AVRO;
    if ((rc = aj_put_str(out, t->band)) || (rc = aj_put_str(out, t->bands)) || (rc = aj_avro_put_long(out, t->tiers)) ||
        (rc = aj_avro_put_long(out, t->free_units)) || (rc = aj_put_str(out, t->allowance)) ||
        (rc = aj_put_str(out, t->promotion)) || (rc = aj_avro_put_long(out, t->promotion_amount)) ||
        (rc = aj_put_str(out, t->discount)) || (rc = aj_avro_put_long(out, t->discount_amount)) ||
        (rc = aj_put_str(out, aj_clamp_names[t->clamp])) || (rc = aj_avro_put_long(out, t->decimals)) ||
        (rc = aj_put_str(out, aj_rounding_name(t->rounding))))
        return rc;
    if ((rc = aj_put_str(out, c->source.origin)) || (rc = aj_avro_put_long(out, c->source.partition)) ||
        (rc = aj_avro_put_long(out, c->source.offset)))
        return rc;
    if ((unsigned)c->disposition >= AJ_DISP__COUNT) return AJ_E_AVRO;
    if ((rc = aj_put_str(out, aj_disposition_name(c->disposition))) || (rc = aj_put_str(out, c->invoice_id)) ||
        (rc = aj_put_str(out, c->invoice_line)))
        return rc;
    return aj_avro_put_bool(out, c->late);
}

/* The head of an array of n items written as one block: its count (none when empty). The
 * block's end marker is aj_avro_put_long(out, 0). */
static aj_err aj_put_count(aj_bytes *out, size_t n) {
    return n ? aj_avro_put_long(out, (int64_t)n) : AJ_E_OK;
}

static aj_err aj_put_line(const aj_invoice_line *l, aj_bytes *out) {
    aj_err rc;
    if ((rc = aj_put_str(out, l->line_id)) || (rc = aj_put_str(out, aj_line_kind_name(l->kind))) ||
        (rc = aj_put_str(out, aj_service_ok(l->service) ? aj_service_name(l->service) : "")) ||
        (rc = aj_put_str(out, l->item)) || (rc = aj_put_str(out, l->refers_to)) ||
        (rc = aj_put_str(out, l->description)) || (rc = aj_avro_put_long(out, l->records)) ||
        (rc = aj_avro_put_long(out, l->quantity)) || (rc = aj_avro_put_long(out, l->legacy_amount)) ||
        (rc = aj_avro_put_long(out, l->corrected_amount)) || (rc = aj_avro_put_long(out, l->billed_amount)) ||
        (rc = aj_avro_put_long(out, l->corrections)))
        return rc;
    return aj_avro_put_bool(out, l->memo);
}

/* Fields of schemas/invoice.v2.avsc, in order; each array is one block then the end marker. */
static aj_err aj_put_invoice(const aj_invoice *inv, aj_bytes *out) {
    aj_err rc;
    if (inv->n_reasons > AJ_REASON__COUNT || (inv->n_versions && !inv->versions) || (inv->n_lines && !inv->lines) ||
        (inv->n_adjustments && !inv->adjustments) || (unsigned)inv->status >= AJ_INV__COUNT)
        return AJ_E_AVRO;
    for (size_t i = 0; i < inv->n_lines; i++)
        if ((unsigned)inv->lines[i].kind >= AJ_LINE__COUNT || (unsigned)inv->lines[i].service > AJ_SERVICE__COUNT)
            return AJ_E_AVRO;
    for (size_t i = 0; i < inv->n_adjustments; i++) {
        const aj_invoice_adjustment *a = &inv->adjustments[i];
        if (a->line >= inv->n_lines || (unsigned)a->reason > AJ_ADJ_TAX_BASE || (unsigned)a->disposition >= AJ_DISP__COUNT)
            return AJ_E_AVRO;
    }
    for (size_t i = 0; i < inv->n_reasons; i++)
        if (!aj_reason_ok(inv->reasons[i].reason)) return AJ_E_AVRO;
    if ((rc = aj_put_str(out, inv->invoice_id)) || (rc = aj_put_str(out, inv->account)) ||
        (rc = aj_put_str(out, inv->cycle_id)) || (rc = aj_avro_put_long(out, inv->revision)) ||
        (rc = aj_put_str(out, aj_invoice_status_name(inv->status))) || (rc = aj_put_str(out, inv->status_reason)) ||
        (rc = aj_avro_put_long(out, inv->period_start_ms)) || (rc = aj_avro_put_long(out, inv->period_end_ms)) ||
        (rc = aj_avro_put_long(out, inv->issue_date)) || (rc = aj_avro_put_long(out, inv->due_date)) ||
        (rc = aj_put_str(out, inv->currency)) || (rc = aj_avro_put_long(out, inv->decimals)) ||
        (rc = aj_put_str(out, inv->contract_id)))
        return rc;
    if ((rc = aj_put_count(out, inv->n_versions))) return rc;
    for (size_t i = 0; i < inv->n_versions; i++)
        if ((rc = aj_avro_put_long(out, inv->versions[i]))) return rc;
    if ((rc = aj_avro_put_long(out, 0)) || (rc = aj_put_count(out, inv->n_lines))) return rc;
    for (size_t i = 0; i < inv->n_lines; i++)
        if ((rc = aj_put_line(&inv->lines[i], out))) return rc;
    if ((rc = aj_avro_put_long(out, 0)) || (rc = aj_put_count(out, inv->n_adjustments))) return rc;
    for (size_t i = 0; i < inv->n_adjustments; i++) {
        const aj_invoice_adjustment *a = &inv->adjustments[i];
        if ((rc = aj_put_str(out, inv->lines[a->line].line_id)) ||
            (rc = aj_put_str(out, aj_adjustment_reason_name(a->reason))) ||
            (rc = aj_put_str(out, aj_disposition_name(a->disposition))) || (rc = aj_avro_put_long(out, a->count)) ||
            (rc = aj_avro_put_long(out, a->delta)))
            return rc;
    }
    if ((rc = aj_avro_put_long(out, 0))) return rc;
    if ((rc = aj_avro_put_long(out, inv->legacy_total)) || (rc = aj_avro_put_long(out, inv->corrected_total)) ||
        (rc = aj_avro_put_long(out, inv->adjustment_total)) || (rc = aj_avro_put_long(out, inv->overcharge_removed)) ||
        (rc = aj_avro_put_long(out, inv->undercharge_added)) || (rc = aj_avro_put_long(out, inv->flagged_overcharge)) ||
        (rc = aj_avro_put_long(out, inv->flagged_undercharge)) || (rc = aj_avro_put_long(out, inv->tax_total)) ||
        (rc = aj_avro_put_long(out, inv->credit_total)) || (rc = aj_avro_put_long(out, inv->amount_due)))
        return rc;
    if ((rc = aj_put_count(out, inv->n_reasons))) return rc;
    for (size_t i = 0; i < inv->n_reasons; i++)
        if ((rc = aj_put_str(out, aj_reason_name(inv->reasons[i].reason))) ||
            (rc = aj_avro_put_long(out, inv->reasons[i].count)) || (rc = aj_avro_put_long(out, inv->reasons[i].delta)) ||
            (rc = aj_avro_put_long(out, inv->reasons[i].applied)))
            return rc;
    return aj_avro_put_long(out, 0);
}

/* Fields of schemas/dead_letter.avsc, in order; key is ["null","bytes"], NULL key -> branch 0. */
static aj_err aj_put_dead_letter(const aj_dead_letter *dl, aj_bytes *out) {
    aj_err rc;
    if ((unsigned)dl->reason >= AJ_E__COUNT || (!dl->payload && dl->payload_len)) return AJ_E_AVRO;
    if ((rc = aj_put_str(out, dl->dead_letter_id)) || (rc = aj_put_str(out, dl->pos.origin)) ||
        (rc = aj_avro_put_long(out, dl->pos.partition)) || (rc = aj_avro_put_long(out, dl->pos.offset)) ||
        (rc = aj_put_str(out, aj_err_name(dl->reason))) || (rc = aj_put_str(out, dl->detail)))
        return rc;
    if (dl->key) {
        if ((rc = aj_avro_put_long(out, 1)) || (rc = aj_avro_put_string(out, dl->key, dl->key_len))) return rc;
    } else if ((rc = aj_avro_put_long(out, 0))) {
        return rc;
    }
    return aj_avro_put_string(out, dl->payload ? dl->payload : "", dl->payload_len);
}

/* On failure out is left as it was: no half datum stays behind. */
aj_err aj_encode_correction(aj_out_encoder *enc, const aj_correction *c, aj_bytes *out) {
    size_t start = out->len;
    aj_err rc = aj_put_correction(c, out);
    (void)enc;
    if (rc) out->len = start;
    return rc;
}

aj_err aj_encode_invoice(aj_out_encoder *enc, const aj_invoice *inv, aj_bytes *out) {
    size_t start = out->len;
    aj_err rc = aj_put_invoice(inv, out);
    (void)enc;
    if (rc) out->len = start;
    return rc;
}

aj_err aj_encode_dead_letter(aj_out_encoder *enc, const aj_dead_letter *dl, aj_bytes *out) {
    size_t start = out->len;
    aj_err rc = aj_put_dead_letter(dl, out);
    (void)enc;
    if (rc) out->len = start;
    return rc;
}

/* ------------------------------------------------------------------ decoding */

/* Decoding reads the current schema only, after aj_avro_check proved the bytes well-formed
 * for it (so the cursor reads below cannot run off the datum); what can still fail is a value
 * ajuste cannot hold: a code string outside its domain (AJ_E_AVRO) or a string longer than
 * its field (AJ_E_FIELD_TOO_LONG). */

/* AJ_E_WRONG_SCHEMA unless writer is the current schema of want; the walker's reason
 * (TRUNCATED, BAD_LENGTH, ...) for malformed bytes; TRAILING_BYTES after the datum. */
static aj_err aj_check_datum(const aj_schema *writer, aj_schema_id want, const void *datum, size_t len) {
    size_t used;
    if (!writer || writer->id != want || writer != aj_schema_current(want)) return AJ_E_WRONG_SCHEMA;
    aj_err rc = aj_avro_check(writer->schema, datum, len, &used, NULL, 0);
    if (rc) return rc;
    return used == len ? AJ_E_OK : AJ_E_TRAILING_BYTES;
}

/* Copies a string into a fixed field: AJ_E_FIELD_TOO_LONG when it does not fit. */
static aj_err aj_get_str(aj_avro_in *in, char *dst, size_t dstsize) {
    const char *s;
    size_t n;
    aj_err rc = aj_avro_get_string(in, &s, &n);
    if (rc) return rc;
    return aj_copy_field(dst, dstsize, s, n);
}

static aj_err aj_get_i32(aj_avro_in *in, int32_t *v) {
    int64_t l;
    aj_err rc = aj_avro_get_long(in, &l);
    *v = (int32_t)l;
    return rc;
}

/* The code strings map back to their enums; a string outside the domain is AJ_E_AVRO. */
static aj_err aj_get_kind(aj_avro_in *in, aj_record_kind *k) {
    char s[16];
    aj_err rc = aj_get_str(in, s, sizeof(s));
    if (rc) return rc == AJ_E_FIELD_TOO_LONG ? AJ_E_AVRO : rc;
    for (int i = 0; i < AJ_KIND__COUNT; i++)
        if (strcmp(s, aj_record_kind_name((aj_record_kind)i)) == 0) {
            *k = (aj_record_kind)i;
            return AJ_E_OK;
        }
    return AJ_E_AVRO;
}

/* A service, or "" (AJ_SERVICE__COUNT: a one-time charge's correction has none). */
static aj_err aj_get_service(aj_avro_in *in, aj_service *s) {
    char name[16];
    aj_err rc = aj_get_str(in, name, sizeof(name));
    if (rc) return rc == AJ_E_FIELD_TOO_LONG ? AJ_E_AVRO : rc;
    if (!name[0]) {
        *s = AJ_SERVICE__COUNT;
        return AJ_E_OK;
    }
    return aj_service_parse(name, s) ? AJ_E_AVRO : AJ_E_OK;
}

static aj_err aj_get_reason(aj_avro_in *in, aj_reason *r) {
    char name[64];
    aj_err rc = aj_get_str(in, name, sizeof(name));
    if (rc) return rc == AJ_E_FIELD_TOO_LONG ? AJ_E_AVRO : rc;
    return aj_reason_parse(name, r) ? AJ_E_AVRO : AJ_E_OK;
}

aj_err aj_decode_correction(const aj_schema *writer, const void *datum, size_t len, aj_correction *c,
                            char *origin_buf, size_t origin_len) {
    aj_avro_in in = {datum, (const uint8_t *)datum + len};
    aj_trace *t = &c->trace;
    aj_err rc;

    if ((rc = aj_check_datum(writer, AJ_SCHEMA_CORRECTION, datum, len))) return rc;
    memset(c, 0, sizeof(*c));
    if ((rc = aj_get_str(&in, c->correction_id, sizeof(c->correction_id))) ||
        (rc = aj_get_str(&in, c->account, sizeof(c->account))) || (rc = aj_get_str(&in, c->cycle_id, sizeof(c->cycle_id))) ||
        (rc = aj_get_str(&in, c->record_id, sizeof(c->record_id))) || (rc = aj_get_kind(&in, &c->kind)) ||
        (rc = aj_get_service(&in, &c->service)) || (rc = aj_get_reason(&in, &c->reason)) ||
        (rc = aj_get_str(&in, c->hypothesis, sizeof(c->hypothesis))) || (rc = aj_avro_get_long(&in, &c->legacy_amount)) ||
        (rc = aj_avro_get_long(&in, &c->corrected_amount)) || (rc = aj_avro_get_long(&in, &c->delta)) ||
        (rc = aj_get_str(&in, c->currency, sizeof(c->currency))) ||
        (rc = aj_get_str(&in, c->contract_id, sizeof(c->contract_id))) || (rc = aj_get_i32(&in, &c->contract_version)) ||
        (rc = aj_get_str(&in, c->tariff_code, sizeof(c->tariff_code))))
        return rc;
    if (!aj_correction_service_ok(c)) return AJ_E_AVRO;
    if ((rc = aj_get_str(&in, t->zone, sizeof(t->zone))) || (rc = aj_get_str(&in, t->matched_prefix, sizeof(t->matched_prefix))) ||
        (rc = aj_avro_get_long(&in, &t->quantity)) || (rc = aj_avro_get_long(&in, &t->billed_quantity)) ||
        (rc = aj_avro_get_long(&in, &t->first_increment)) || (rc = aj_avro_get_long(&in, &t->next_increment)) ||
        (rc = aj_avro_get_long(&in, &t->price)) || (rc = aj_avro_get_long(&in, &t->rate_unit)) ||
        (rc = aj_avro_get_long(&in, &t->connect_fee)))
        return rc;
    char clamp[8], rounding[16];
    if ((rc = aj_get_str(&in, t->band, sizeof(t->band))) || (rc = aj_get_str(&in, t->bands, sizeof(t->bands))) ||
        (rc = aj_get_i32(&in, &t->tiers)) || (rc = aj_avro_get_long(&in, &t->free_units)) ||
        (rc = aj_get_str(&in, t->allowance, sizeof(t->allowance))) ||
        (rc = aj_get_str(&in, t->promotion, sizeof(t->promotion))) || (rc = aj_avro_get_long(&in, &t->promotion_amount)) ||
        (rc = aj_get_str(&in, t->discount, sizeof(t->discount))) || (rc = aj_avro_get_long(&in, &t->discount_amount)) ||
        (rc = aj_get_str(&in, clamp, sizeof(clamp))) || (rc = aj_get_i32(&in, &t->decimals)) ||
        (rc = aj_get_str(&in, rounding, sizeof(rounding))))
        return rc == AJ_E_FIELD_TOO_LONG ? AJ_E_AVRO : rc;
    t->clamp = AJ_CLAMP__BAD;
    for (int i = 0; i < 3; i++)
        if (strcmp(clamp, aj_clamp_names[i]) == 0) t->clamp = (aj_clamp)i;
    t->rounding = AJ_ROUND__COUNT;
    for (int i = 0; i < AJ_ROUND__COUNT; i++)
        if (strcmp(rounding, aj_rounding_name((aj_rounding)i)) == 0) t->rounding = (aj_rounding)i;
    if (t->clamp == AJ_CLAMP__BAD || t->rounding == AJ_ROUND__COUNT) return AJ_E_AVRO;
    t->contract_version = c->contract_version;
    if ((rc = aj_get_str(&in, origin_buf, origin_len)) || (rc = aj_get_i32(&in, &c->source.partition)) ||
        (rc = aj_avro_get_long(&in, &c->source.offset)))
        return rc;
    c->source.origin = origin_buf;
    char disp[16];
    int late;
    if ((rc = aj_get_str(&in, disp, sizeof(disp))) || (rc = aj_get_str(&in, c->invoice_id, sizeof(c->invoice_id))) ||
        (rc = aj_get_str(&in, c->invoice_line, sizeof(c->invoice_line))) || (rc = aj_avro_get_bool(&in, &late)))
        return rc == AJ_E_FIELD_TOO_LONG ? AJ_E_AVRO : rc;
    c->late = late != 0;
    return aj_disposition_parse(disp, &c->disposition) ? AJ_E_AVRO : AJ_E_OK;
}

/* Reads the item count of the next array block (blocks with a byte size included). */
static aj_err aj_get_block(aj_avro_in *in, int64_t *count) {
    int64_t size;
    aj_err rc = aj_avro_get_long(in, count);
    if (rc || *count >= 0) return rc;
    *count = -*count;
    return aj_avro_get_long(in, &size);
}

/* A code string of a domain (16 bytes at most) through its parser: AJ_E_AVRO outside it. */
static aj_err aj_get_code(aj_avro_in *in, char *buf, size_t len) {
    aj_err rc = aj_get_str(in, buf, len);
    return rc == AJ_E_FIELD_TOO_LONG ? AJ_E_AVRO : rc;
}

/* Grows *items (of size `size`, *cap of them) to hold n more than have. */
static aj_err aj_grow(void **items, size_t size, size_t have, int64_t n, size_t *cap) {
    if (have + (size_t)n <= *cap) return AJ_E_OK;
    size_t want = have + (size_t)n;
    void *grown = realloc(*items, want * size);
    if (!grown) return AJ_E_NOMEM;
    *items = grown;
    *cap = want;
    return AJ_E_OK;
}

static aj_err aj_get_line(aj_avro_in *in, aj_invoice_line *l) {
    char kind[24], service[16];
    int memo;
    aj_err rc;
    memset(l, 0, sizeof(*l));
    if ((rc = aj_get_str(in, l->line_id, sizeof(l->line_id))) || (rc = aj_get_code(in, kind, sizeof(kind))) ||
        (rc = aj_get_code(in, service, sizeof(service))) || (rc = aj_get_str(in, l->item, sizeof(l->item))) ||
        (rc = aj_get_str(in, l->refers_to, sizeof(l->refers_to))) ||
        (rc = aj_get_str(in, l->description, sizeof(l->description))) || (rc = aj_avro_get_long(in, &l->records)) ||
        (rc = aj_avro_get_long(in, &l->quantity)) || (rc = aj_avro_get_long(in, &l->legacy_amount)) ||
        (rc = aj_avro_get_long(in, &l->corrected_amount)) || (rc = aj_avro_get_long(in, &l->billed_amount)) ||
        (rc = aj_avro_get_long(in, &l->corrections)) || (rc = aj_avro_get_bool(in, &memo)))
        return rc;
    l->memo = memo != 0;
    l->service = AJ_SERVICE__COUNT;
    if (aj_line_kind_parse(kind, &l->kind) || (*service && aj_service_parse(service, &l->service))) return AJ_E_AVRO;
    return AJ_E_OK;
}

/* An adjustment names its line by id: the index of that line among the lines read. */
static aj_err aj_get_adjustment(aj_avro_in *in, const aj_invoice *inv, aj_invoice_adjustment *a) {
    char line_id[AJ_LINE_ID_LEN + 1], reason[64], disp[16];
    aj_err rc;
    memset(a, 0, sizeof(*a));
    if ((rc = aj_get_str(in, line_id, sizeof(line_id))) || (rc = aj_get_code(in, reason, sizeof(reason))) ||
        (rc = aj_get_code(in, disp, sizeof(disp))) || (rc = aj_avro_get_long(in, &a->count)) ||
        (rc = aj_avro_get_long(in, &a->delta)))
        return rc;
    if (strcmp(reason, "TAX_BASE") == 0)
        a->reason = AJ_ADJ_TAX_BASE;
    else if (aj_reason_parse(reason, &a->reason))
        return AJ_E_AVRO;
    if (aj_disposition_parse(disp, &a->disposition)) return AJ_E_AVRO;
    for (size_t i = 0; i < inv->n_lines; i++)
        if (strcmp(inv->lines[i].line_id, line_id) == 0) {
            a->line = (uint32_t)i;
            return AJ_E_OK;
        }
    return AJ_E_AVRO;
}

aj_err aj_decode_invoice(const aj_schema *writer, const void *datum, size_t len, aj_invoice *inv) {
    aj_avro_in in = {datum, (const uint8_t *)datum + len};
    int32_t *versions = NULL;
    size_t cap_v = 0, cap_l = 0, cap_a = 0;
    char status[16];
    int64_t n;
    aj_err rc;

    if ((rc = aj_check_datum(writer, AJ_SCHEMA_INVOICE, datum, len))) return rc;
    memset(inv, 0, sizeof(*inv));
    if ((rc = aj_get_str(&in, inv->invoice_id, sizeof(inv->invoice_id))) ||
        (rc = aj_get_str(&in, inv->account, sizeof(inv->account))) ||
        (rc = aj_get_str(&in, inv->cycle_id, sizeof(inv->cycle_id))) || (rc = aj_get_i32(&in, &inv->revision)) ||
        (rc = aj_get_code(&in, status, sizeof(status))) ||
        (rc = aj_get_str(&in, inv->status_reason, sizeof(inv->status_reason))) ||
        (rc = aj_avro_get_long(&in, &inv->period_start_ms)) || (rc = aj_avro_get_long(&in, &inv->period_end_ms)) ||
        (rc = aj_get_i32(&in, &inv->issue_date)) || (rc = aj_get_i32(&in, &inv->due_date)) ||
        (rc = aj_get_str(&in, inv->currency, sizeof(inv->currency))) || (rc = aj_get_i32(&in, &inv->decimals)) ||
        (rc = aj_get_str(&in, inv->contract_id, sizeof(inv->contract_id))))
        return rc;
    if (aj_invoice_status_parse(status, &inv->status)) return AJ_E_AVRO;
    while (!(rc = aj_get_block(&in, &n)) && n > 0) {
        if ((rc = aj_grow((void **)&versions, sizeof(*versions), inv->n_versions, n, &cap_v))) goto error;
        inv->versions = versions;
        for (int64_t i = 0; i < n && !rc; i++) rc = aj_get_i32(&in, &versions[inv->n_versions++]);
        if (rc) goto error;
    }
    if (rc) goto error;
    while (!(rc = aj_get_block(&in, &n)) && n > 0) {
        if ((rc = aj_grow((void **)&inv->lines, sizeof(*inv->lines), inv->n_lines, n, &cap_l))) goto error;
        for (int64_t i = 0; i < n && !rc; i++) rc = aj_get_line(&in, &inv->lines[inv->n_lines++]);
        if (rc) goto error;
    }
    if (rc) goto error;
    while (!(rc = aj_get_block(&in, &n)) && n > 0) {
        if ((rc = aj_grow((void **)&inv->adjustments, sizeof(*inv->adjustments), inv->n_adjustments, n, &cap_a)))
            goto error;
        for (int64_t i = 0; i < n && !rc; i++) rc = aj_get_adjustment(&in, inv, &inv->adjustments[inv->n_adjustments++]);
        if (rc) goto error;
    }
    if (rc) goto error;
    if ((rc = aj_avro_get_long(&in, &inv->legacy_total)) || (rc = aj_avro_get_long(&in, &inv->corrected_total)) ||
        (rc = aj_avro_get_long(&in, &inv->adjustment_total)) || (rc = aj_avro_get_long(&in, &inv->overcharge_removed)) ||
        (rc = aj_avro_get_long(&in, &inv->undercharge_added)) || (rc = aj_avro_get_long(&in, &inv->flagged_overcharge)) ||
        (rc = aj_avro_get_long(&in, &inv->flagged_undercharge)) || (rc = aj_avro_get_long(&in, &inv->tax_total)) ||
        (rc = aj_avro_get_long(&in, &inv->credit_total)) || (rc = aj_avro_get_long(&in, &inv->amount_due)))
        goto error;
    while (!(rc = aj_get_block(&in, &n)) && n > 0)
        for (int64_t i = 0; i < n; i++) {
            if (inv->n_reasons == AJ_REASON__COUNT) {
                rc = AJ_E_AVRO;
                goto error;
            }
            aj_reason_summary *r = &inv->reasons[inv->n_reasons++];
            if ((rc = aj_get_reason(&in, &r->reason)) || (rc = aj_avro_get_long(&in, &r->count)) ||
                (rc = aj_avro_get_long(&in, &r->delta)) || (rc = aj_avro_get_long(&in, &r->applied)))
                goto error;
        }
    if (rc) goto error;
    return AJ_E_OK;
error:
    aj_invoice_release(inv);
    return rc;
}

void aj_invoice_release(aj_invoice *inv) {
    if (!inv) return;
    free((void *)inv->versions);
    free(inv->lines);
    free(inv->adjustments);
    inv->versions = NULL;
    inv->lines = NULL;
    inv->adjustments = NULL;
    inv->n_versions = inv->n_lines = inv->n_adjustments = 0;
}

aj_err aj_decode_dead_letter(const aj_schema *writer, const void *datum, size_t len, aj_dead_letter *dl,
                             char *origin_buf, size_t origin_len) {
    aj_avro_in in = {datum, (const uint8_t *)datum + len};
    char reason[64];
    const char *s;
    size_t n;
    int64_t branch;
    aj_err rc;

    if ((rc = aj_check_datum(writer, AJ_SCHEMA_DEAD_LETTER, datum, len))) return rc;
    memset(dl, 0, sizeof(*dl));
    if ((rc = aj_get_str(&in, dl->dead_letter_id, sizeof(dl->dead_letter_id))) ||
        (rc = aj_get_str(&in, origin_buf, origin_len)) || (rc = aj_get_i32(&in, &dl->pos.partition)) ||
        (rc = aj_avro_get_long(&in, &dl->pos.offset)) || (rc = aj_get_str(&in, reason, sizeof(reason))) ||
        (rc = aj_get_str(&in, dl->detail, sizeof(dl->detail))) || (rc = aj_avro_get_long(&in, &branch)))
        return rc;
    dl->pos.origin = origin_buf;
    dl->reason = AJ_E__COUNT;
    for (int e = 0; e < AJ_E__COUNT; e++)
        if (strcmp(aj_err_name((aj_err)e), reason) == 0) dl->reason = (aj_err)e;
    if (dl->reason == AJ_E__COUNT) return AJ_E_AVRO;
    if (branch == 1) {
        if ((rc = aj_avro_get_string(&in, &s, &n))) return rc;
        dl->key = s;
        dl->key_len = n;
    }
    if ((rc = aj_avro_get_string(&in, &s, &n))) return rc;
    dl->payload = s;
    dl->payload_len = n;
    return AJ_E_OK;
}
