/* aj_emit.h - Avro encoding of the outputs and their sinks (Kafka producer, Avro files). */
#ifndef AJ_EMIT_H
#define AJ_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "aj_config.h"
#include "aj_ingest.h"
#include "aj_types.h"

typedef enum aj_output_kind {
    AJ_OUT_INVOICE,
    AJ_OUT_CORRECTION,
    AJ_OUT_DEAD_LETTER,
    AJ_OUT_REVIEW,        /* held invoices (invoice schema, status HELD) */
    AJ_OUT__COUNT
} aj_output_kind;

/* "invoices", "corrections", "dead_letters", "review" (file stem). */
const char *aj_output_name(aj_output_kind kind);

/* Schema of an output kind. */
aj_schema_id aj_output_schema(aj_output_kind kind);

/* ---------------------------------------------------------------- output codecs */

typedef struct aj_out_encoder aj_out_encoder;

aj_out_encoder *aj_out_encoder_create(void);
void aj_out_encoder_destroy(aj_out_encoder *enc);   /* NULL-safe */

/* Appends the Avro datum (no header) of the record to out. AJ_E_AVRO / AJ_E_NOMEM. */
aj_err aj_encode_correction(aj_out_encoder *enc, const aj_correction *c, aj_bytes *out);
aj_err aj_encode_invoice(aj_out_encoder *enc, const aj_invoice *inv, aj_bytes *out);
aj_err aj_encode_dead_letter(aj_out_encoder *enc, const aj_dead_letter *dl, aj_bytes *out);

/*
 * Decoders of the outputs, for the demo summary, tests and later readers. The invoice decoder
 * allocates inv->versions, lines and adjustments (free with aj_invoice_release); dead-letter key/payload point into
 * the datum (valid while it is). Origins are written into `origin_buf` (origin_len bytes).
 */
aj_err aj_decode_correction(const aj_schema *writer, const void *datum, size_t len,
                            aj_correction *c, char *origin_buf, size_t origin_len);
aj_err aj_decode_invoice(const aj_schema *writer, const void *datum, size_t len, aj_invoice *inv);
void aj_invoice_release(aj_invoice *inv);
aj_err aj_decode_dead_letter(const aj_schema *writer, const void *datum, size_t len,
                             aj_dead_letter *dl, char *origin_buf, size_t origin_len);

/* ------------------------------------------------------------------------ sinks */

typedef struct aj_sink aj_sink;

typedef struct aj_sink_ops {
    /* Writes one datum (no header; Kafka sinks add the single-object header) keyed by key.
     * AJ_E_OK, AJ_E_FATAL / AJ_E_IO with a logged message. */
    aj_err (*write)(aj_sink *sink, aj_output_kind kind, const char *key, const void *datum,
                    size_t len);
    /* Waits until every write so far is durable (delivered / written). */
    aj_err (*flush)(aj_sink *sink, int timeout_ms);
    /* Flushes and frees; returns the flush's result. File sinks rename their ".partial"
     * files to their final names only here, and only when every write succeeded. */
    aj_err (*close)(aj_sink *sink);
    /* Frees without completing: file sinks delete their ".partial" files, so an interrupted or
     * failed run leaves no output claiming to be complete; Kafka sinks purge what is queued. */
    void (*abort)(aj_sink *sink);
    /* Kafka sinks only (NULL elsewhere): produces key/value as they are to an explicit
     * partition of topic, behind the outputs written so far and in the same transaction when
     * the sink is transactional; value NULL writes a tombstone. Delivery is checked by flush.
     * Used for the checkpoints (docs/reliability.md). AJ_E_FATAL / AJ_E_NOMEM. */
    aj_err (*raw)(aj_sink *sink, const char *topic, int32_t partition, const void *key, size_t key_len,
                  const void *value, size_t len);
} aj_sink_ops;

struct aj_sink {
    const aj_sink_ops *ops;
};

/*
 * Avro object container files in dir: invoices.avro, corrections.avro, dead_letters.avro,
 * deflate codec, a sync marker derived from the schema fingerprint, so the same records give
 * byte-identical files. Files are written under a ".partial" name and renamed on close.
 */
aj_sink *aj_file_sink_open(const char *dir, aj_err *rc, char *err, size_t errlen);

/*
 * Idempotent Kafka producer to cfg's output topics, value = single-object header + datum,
 * key = the account. Takes cfg's kafka.* properties. A fatal producer error makes every later
 * call return AJ_E_FATAL.
 */
aj_sink *aj_kafka_sink_create(const aj_config *cfg, aj_err *rc, char *err, size_t errlen);

/*
 * The same producer, transactional as txn_id: creating it fences any earlier producer with
 * that id (it can no longer commit) and opens a transaction; flush commits it and opens the
 * next; close commits; abort aborts. An error that needs an abort or is fatal (fenced) ends the
 * sink with AJ_E_FATAL after aborting, so nothing of the open transaction is committed.
 */
aj_sink *aj_kafka_sink_create_txn(const aj_config *cfg, const char *txn_id, aj_err *rc, char *err, size_t errlen);

/* Kafka sinks only: asks for topic's metadata now, so the first message to it does not wait
 * for the lookup (about 0.4 s each on a fresh producer). Best effort: warns on failure. */
void aj_kafka_sink_warm(aj_sink *sink, const char *topic, int timeout_ms);

/* Makes renames in dir durable (fsync of the directory); best effort, warns on failure. */
void aj_file_sync_dir(const char *dir);

/* ---------------------------------------------------------------- object container files */

typedef struct aj_ocf_writer aj_ocf_writer;

/*
 * Creates path (truncating) for datums of `schema`, deflate-compressed when deflate is set.
 * The 16-byte sync marker is derived from the schema's fingerprint (determinism).
 */
aj_ocf_writer *aj_ocf_writer_open(const char *path, const aj_schema *schema, int deflate,
                                  aj_err *rc, char *err, size_t errlen);
aj_err aj_ocf_writer_append(aj_ocf_writer *w, const void *datum, size_t len);
/* Writes the last block and closes; frees w. */
aj_err aj_ocf_writer_close(aj_ocf_writer *w);

/* ---------------------------------------------------------------- the emitter */

/* Encodes outputs and writes them to a sink; counts what it wrote. Not thread-safe. */
typedef struct aj_emitter aj_emitter;

/* sink is borrowed. */
aj_emitter *aj_emitter_create(aj_sink *sink);
void aj_emitter_destroy(aj_emitter *em);   /* NULL-safe; does not close the sink */
aj_err aj_emit_correction(aj_emitter *em, const aj_correction *c);
/* To the invoice output, or to the review output when inv->status is HELD. */
aj_err aj_emit_invoice(aj_emitter *em, const aj_invoice *inv);
aj_err aj_emit_dead_letter(aj_emitter *em, const aj_dead_letter *dl);
int64_t aj_emitter_count(const aj_emitter *em, aj_output_kind kind);

#endif /* AJ_EMIT_H */
