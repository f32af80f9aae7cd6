/* aj_emitter.c - encodes the outputs and hands them to a sink, counting what it wrote. */
#include <stdlib.h>

#include "aj_emit.h"

struct aj_emitter {
    aj_sink *sink;
    aj_out_encoder *enc;
    aj_bytes buf;
    int64_t count[AJ_OUT__COUNT];
};

/* sink is borrowed and must outlive the emitter. NULL on allocation failure. */
aj_emitter *aj_emitter_create(aj_sink *sink) {
    aj_emitter *em = calloc(1, sizeof(*em));
    if (!em) return NULL;
    em->sink = sink;
    if (!(em->enc = aj_out_encoder_create())) {
        free(em);
        return NULL;
    }
    return em;
}

void aj_emitter_destroy(aj_emitter *em) {
    if (!em) return;
    aj_out_encoder_destroy(em->enc);
    aj_bytes_free(&em->buf);
    free(em);
}

/* Hands the encoded datum in em->buf to the sink; counts it only when the sink took it. */
static aj_err aj_emit_write(aj_emitter *em, aj_output_kind kind, const char *key) {
    aj_err rc = em->sink->ops->write(em->sink, kind, key, em->buf.data, em->buf.len);
    if (rc == AJ_E_OK) em->count[kind]++;
    return rc;
}

/* Each emit encodes into the reused buffer (AJ_E_AVRO / AJ_E_NOMEM: nothing reaches the sink)
 * and writes it keyed by the account, or the sink's error. */
aj_err aj_emit_correction(aj_emitter *em, const aj_correction *c) {
    aj_err rc;
    em->buf.len = 0;
    if ((rc = aj_encode_correction(em->enc, c, &em->buf))) return rc;
    return aj_emit_write(em, AJ_OUT_CORRECTION, c->account);
}

aj_err aj_emit_invoice(aj_emitter *em, const aj_invoice *inv) {
    aj_err rc;
    em->buf.len = 0;
    if ((rc = aj_encode_invoice(em->enc, inv, &em->buf))) return rc;
    return aj_emit_write(em, inv->status == AJ_INV_HELD ? AJ_OUT_REVIEW : AJ_OUT_INVOICE, inv->account);
}

/* Dead letters are keyed by their own id: a replay puts each on the same partition. */
aj_err aj_emit_dead_letter(aj_emitter *em, const aj_dead_letter *dl) {
    aj_err rc;
    em->buf.len = 0;
    if ((rc = aj_encode_dead_letter(em->enc, dl, &em->buf))) return rc;
    return aj_emit_write(em, AJ_OUT_DEAD_LETTER, dl->dead_letter_id);
}

int64_t aj_emitter_count(const aj_emitter *em, aj_output_kind kind) {
    return em && (unsigned)kind < AJ_OUT__COUNT ? em->count[kind] : 0;
}
