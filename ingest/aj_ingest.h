/* aj_ingest.h - sources, strict Avro decoding and validation of the input streams. */
#ifndef AJ_INGEST_H
#define AJ_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "aj_bytes.h"
#include "aj_config.h"
#include "aj_schema.h"
#include "aj_types.h"

/* ------------------------------------------------------------------ Avro binary */

/*
 * Walks one datum of `schema` at buf without trusting it (docs/dead-letters.md):
 *   TRUNCATED   the data ends before the schema does (a length that runs past the end included);
 *   BAD_LENGTH  a negative string/bytes length, one over 16 MiB, a varint longer than 10 bytes,
 *               an int out of range, a block whose declared byte size does not match its items,
 *               a block count no data could hold;
 *   BAD_UNION / BAD_ENUM  an index out of range (a boolean byte other than 0/1 is BAD_ENUM).
 * Negative array/map block counts are legal Avro (count, then byte size) and accepted.
 * On AJ_E_OK *consumed is the datum's size. The byte position and field path of an error go
 * into detail (detlen bytes, may be 0). Never reads outside [buf, buf + len).
 */
aj_err aj_avro_check(avro_schema_t schema, const void *buf, size_t len, size_t *consumed,
                     char *detail, size_t detlen);

/*
 * Appends the Avro binary encoding of value to out (no header). AJ_E_AVRO, AJ_E_NOMEM.
 */
aj_err aj_avro_encode(avro_value_t *value, aj_bytes *out);

/* --------------------------------------------------------------- input codecs */

/* Reusable decoding state (generic values per known schema). One per thread. */
typedef struct aj_decoder aj_decoder;

aj_decoder *aj_decoder_create(void);
void aj_decoder_destroy(aj_decoder *dec);   /* NULL-safe */

/*
 * Decodes and validates one usage-stream datum written with `writer` (any known version of the
 * usage_event schema): aj_avro_check, then field extraction by name, then the checks of
 * docs/dead-letters.md: required strings present and non-empty, FIELD_TOO_LONG, service known,
 * NEGATIVE_QUANTITY, NEGATIVE_AMOUNT, TRAILING_BYTES. ev->pos is left to the caller.
 * Returns AJ_E_OK or the reject reason with a detail naming the field.
 */
aj_err aj_decode_event(aj_decoder *dec, const aj_schema *writer, const void *datum, size_t len,
                       aj_event *ev, char *detail, size_t detlen);

/*
 * Decodes a Kafka message value: single-object header (BAD_MAGIC, TRUNCATED, UNKNOWN_SCHEMA,
 * WRONG_SCHEMA when the fingerprint is a known schema of another kind) then aj_decode_event.
 */
aj_err aj_decode_event_message(aj_decoder *dec, const void *value, size_t len, aj_event *ev,
                               char *detail, size_t detlen);

/*
 * Decodes a contract datum / message into a new aj_contract (*out, caller frees with
 * aj_contract_free). Structural checks only (AJ_E_BAD_CONTRACT with detail for missing
 * account, non-positive rate_unit or increments, unknown service, negative prices, prefixes
 * that are not digits after normalization); the rating stage checks the rest.
 */
aj_err aj_decode_contract(aj_decoder *dec, const aj_schema *writer, const void *datum, size_t len,
                          aj_contract **out, char *detail, size_t detlen);
aj_err aj_decode_contract_message(aj_decoder *dec, const void *value, size_t len,
                                  aj_contract **out, char *detail, size_t detlen);

/* Encoders of the input schemas (used by `ajuste gen`, the demo and tests). They append the
 * datum to out, without the single-object header. */
typedef struct aj_encoder aj_encoder;

aj_encoder *aj_encoder_create(void);
void aj_encoder_destroy(aj_encoder *enc);   /* NULL-safe */
aj_err aj_encode_event(aj_encoder *enc, const aj_event *ev, aj_bytes *out);
aj_err aj_encode_contract(aj_encoder *enc, const aj_contract *c, aj_bytes *out);

/* ------------------------------------------------------------------- sources */

/* One input message. Pointers are borrowed until the next call on the source. */
typedef struct aj_message {
    const void *key;          /* NULL when absent */
    size_t key_len;
    const void *value;
    size_t value_len;
    aj_position pos;
    const aj_schema *writer;  /* file datums: the file's schema; Kafka: NULL (header in value) */
    const char *detail;       /* with a reject code from next(): why, naming the byte or block
                               * (borrowed like the rest); NULL otherwise */
} aj_message;

typedef struct aj_source aj_source;

typedef struct aj_source_ops {
    /*
     * Next message within timeout_ms. AJ_E_OK and *msg; AJ_E_RETRY when nothing arrived in
     * time; AJ_E_EOF when the source is exhausted (files; Kafka with run.exit_at_end once every
     * assigned partition reached its end); AJ_E_TRUNCATED etc. with msg->pos and msg->value set
     * to the undecodable bytes when a file block cannot be split into datums (the caller
     * dead-letters them); AJ_E_FATAL / AJ_E_IO on failure with a logged message.
     */
    aj_err (*next)(aj_source *src, aj_message *msg, int timeout_ms);
    /* Marks every message returned so far as processed (outputs flushed): Kafka stores and
     * commits the offsets synchronously. Files: nothing. */
    aj_err (*commit)(aj_source *src);
    void (*destroy)(aj_source *src);
} aj_source_ops;

struct aj_source {
    const aj_source_ops *ops;
};

static inline aj_err aj_source_next(aj_source *s, aj_message *m, int timeout_ms) {
    return s->ops->next(s, m, timeout_ms);
}
static inline aj_err aj_source_commit(aj_source *s) {
    return s->ops->commit(s);
}
static inline void aj_source_destroy(aj_source *s) {
    if (s) s->ops->destroy(s);
}

/*
 * Opens an Avro object container file (null or deflate codec). The writer schema in its header
 * must be a known schema (AJ_E_UNKNOWN_SCHEMA otherwise). Errors name the path in err.
 */
aj_source *aj_file_source_open(const char *path, aj_err *rc, char *err, size_t errlen);

/*
 * Kafka consumer of cfg->usage_topic in consumer group kafka.group.id (default "ajuste"),
 * auto-commit and auto offset store off, earliest reset. Takes cfg's kafka.* properties.
 * NULL with AJ_E_CONFIG / AJ_E_KAFKA and a message naming the property on failure.
 */
aj_source *aj_kafka_source_create(const aj_config *cfg, aj_err *rc, char *err, size_t errlen);

/* What offsets a hook may give besides a real one: the partition's first available message. */
#define AJ_OFFSET_BEGINNING (-2)

/*
 * Partition hooks of a Kafka source, called from inside aj_source_next (and the source's
 * destroy) in the caller's thread, between two messages:
 *   assigned   the partitions just given to this consumer: set offsets[i] to where partition
 *              parts[i] resumes (a checkpoint's offset, or AJ_OFFSET_BEGINNING). Not AJ_E_OK:
 *              the source turns fatal (aj_source_next returns AJ_E_FATAL).
 *   revoking   the partitions about to go: checkpoint them (src may be committed). lost: they
 *              already went (session timeout); their new owner may be rating them: write
 *              nothing.
 * Either may be NULL. Set before the first aj_source_next.
 */
typedef struct aj_partition_hooks {
    aj_err (*assigned)(void *opaque, const int32_t *parts, int64_t *offsets, size_t n);
    void (*revoking)(void *opaque, aj_source *src, const int32_t *parts, size_t n, int lost);
    void *opaque;
} aj_partition_hooks;

void aj_kafka_source_set_hooks(aj_source *src, const aj_partition_hooks *hooks);

/*
 * Reads the whole of `topic` (every partition, from the beginning up to the high watermark
 * taken at the call) and hands each contract to `fn` (ownership passes to fn). Undecodable
 * contract messages are logged and counted in *rejected, never fatal. Returns AJ_E_OK, or
 * AJ_E_KAFKA when the topic cannot be read within timeout_ms.
 */

/*
 * Reads every partition of `topic` from the beginning up to the high watermarks taken at the
 * call, without a consumer group, and calls fn for each message (borrowed for the call; a
 * non-OK return stops the read and is returned). Uses cfg's kafka.* properties (bootstrap
 * servers, security). AJ_E_KAFKA with err naming the topic when it cannot be read within
 * timeout_ms. *count (may be NULL) receives the number of messages read.
 */
aj_err aj_kafka_read_topic(const aj_config *cfg, const char *topic, int timeout_ms,
                           aj_err (*fn)(void *opaque, const aj_message *msg), void *opaque,
                           int64_t *count, char *err, size_t errlen);

/*
 * A reader that follows a topic from sync to sync, without a consumer group: each sync reads
 * every partition from where the last one stopped (the first: from the beginning) up to the
 * high watermarks taken at the sync, calling fn as aj_kafka_read_topic does. Used for the
 * dispute-credit topic, synced before the first close of each period (docs/invoice.md).
 */
typedef struct aj_kafka_follower aj_kafka_follower;

/* NULL with *rc (AJ_E_CONFIG naming the property, AJ_E_KAFKA naming the topic, AJ_E_NOMEM). */
aj_kafka_follower *aj_kafka_follower_create(const aj_config *cfg, const char *topic, int timeout_ms, aj_err *rc,
                                            char *err, size_t errlen);
aj_err aj_kafka_follower_sync(aj_kafka_follower *f, int timeout_ms, aj_err (*fn)(void *opaque, const aj_message *msg),
                              void *opaque, int64_t *count, char *err, size_t errlen);
void aj_kafka_follower_destroy(aj_kafka_follower *f);   /* NULL-safe */
int aj_kafka_follower_partitions(const aj_kafka_follower *f);
/* Sets where the next sync reads partition p from: offset, or -1 for the low watermark (a
 * resuming reader, e.g. the audit sink from its sink_offsets). AJ_E_ARG when p is not a
 * partition of the topic. */
aj_err aj_kafka_follower_seek(aj_kafka_follower *f, int32_t p, int64_t offset);

/*
 * Reads the whole of `topic` (every partition, from the beginning up to the high watermark
 * taken at the call) and hands each contract to `fn` (ownership passes to fn). Undecodable
 * contract messages are logged and counted in *rejected, never fatal. Returns AJ_E_OK, or
 * AJ_E_KAFKA when the topic cannot be read within timeout_ms.
 */
aj_err aj_kafka_read_contracts(const aj_config *cfg, const char *topic, int timeout_ms,
                               aj_err (*fn)(void *opaque, aj_contract *c), void *opaque,
                               int64_t *read, int64_t *rejected, char *err, size_t errlen);

/* The same from a follower of the contract topic: what was published since its last sync. */
aj_err aj_kafka_sync_contracts(aj_kafka_follower *f, const char *topic, int timeout_ms,
                               aj_err (*fn)(void *opaque, aj_contract *c), void *opaque,
                               int64_t *read, int64_t *rejected, char *err, size_t errlen);

/* ------------------------------------------------------------- bounded ranges (replay) */

/* One end of a range: the log's edge (its start for a from bound, its end for a to bound), an
 * offset, or a message timestamp in milliseconds since the epoch. */
typedef enum aj_bound_kind { AJ_BOUND_EDGE, AJ_BOUND_OFFSET, AJ_BOUND_TIME } aj_bound_kind;
typedef struct aj_range_bound {
    aj_bound_kind kind;
    int64_t value;
} aj_range_bound;

/* What to read: partitions (n_parts 0: every partition of the topic), from (inclusive) and to
 * (exclusive: an offset is the first one not read, a time the first timestamp not read). */
typedef struct aj_range_spec {
    const int32_t *parts;
    size_t n_parts;
    aj_range_bound from, to;
} aj_range_spec;

/* A resolved range of one partition: offsets [from, to) of a log that was [low, high). */
typedef struct aj_kafka_range {
    int32_t partition;
    int64_t from, to;
    int64_t low, high;
} aj_kafka_range;

/*
 * Resolves spec against topic's partitions as they are now: watermarks, and times through the
 * broker (ListOffsets by timestamp: the first offset whose timestamp is >= the time; a search by
 * reading messages where the broker cannot answer, as librdkafka 2.0.2's mock cluster). *out is
 * malloc'ed (caller frees), one per partition in spec's order. AJ_E_ARG with err naming the
 * topic, partition and offset for a partition the topic lacks or an offset beyond the log's end
 * or before its start; AJ_E_KAFKA / AJ_E_CONFIG / AJ_E_NOMEM otherwise.
 */
aj_err aj_kafka_resolve_ranges(const aj_config *cfg, const char *topic, const aj_range_spec *spec, int timeout_ms,
                               aj_kafka_range **out, size_t *n_out, char *err, size_t errlen);

/*
 * A source of the resolved ranges (copied), read one after the other in offset order by
 * assignment: no consumer group joined, nothing committed (commit does nothing), and
 * auto.offset.reset=error so an offset the broker no longer has is an error, never a jump.
 * next() returns AJ_E_EOF after the last range, AJ_E_KAFKA with a logged error naming
 * topic[partition]@offset when a range cannot be read or makes no progress for idle_ms.
 */
aj_source *aj_kafka_range_source_create(const aj_config *cfg, const char *topic, const aj_kafka_range *ranges,
                                        size_t n, int idle_ms, aj_err *rc, char *err, size_t errlen);
/* Offsets read so far and in all, over every range (progress, ETA). */
void aj_kafka_range_source_progress(const aj_source *src, int64_t *done, int64_t *total);
/* The next offset range i would read (where it stopped); -1 when i is out of bounds. */
int64_t aj_kafka_range_source_next_offset(const aj_source *src, size_t i);

#endif /* AJ_INGEST_H */
