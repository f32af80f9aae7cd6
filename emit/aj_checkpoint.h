/* aj_checkpoint.h - a partition's checkpoint as Kafka messages: zlib-compressed state in
 * chunks, then a manifest that names them (docs/reliability.md, "Checkpoints"). */
#ifndef AJ_CHECKPOINT_H
#define AJ_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "aj_bytes.h"
#include "aj_error.h"

/* Largest chunk value written (the mock cluster and default brokers take 1 MB messages). */
#define AJ_CHECKPOINT_CHUNK (512 * 1024)

/* One message of a checkpoint: key and value (owned). */
typedef struct aj_ckpt_msg {
    char key[320];
    aj_bytes value;
} aj_ckpt_msg;

/*
 * The messages of one checkpoint of input partition `partition` of `topic`, for consumer group
 * `group`: the state compressed with zlib and cut into chunks keyed
 * "<group>/<topic>/<partition>/<seq>/<i>", then the manifest keyed "<group>/<topic>/<partition>"
 * holding seq, the input offset to resume from, the number of chunks, the compressed and
 * plain sizes and a CRC-32 of the compressed bytes. seq grows with every checkpoint of the
 * partition. The manifest is last: a reader takes a checkpoint only once its manifest is read
 * and every chunk it names matches. *out and *n_out are allocated (free with
 * aj_checkpoint_msgs_free). AJ_E_NOMEM, AJ_E_ARG (names too long).
 */
aj_err aj_checkpoint_encode(const char *group, const char *topic, int32_t partition, int64_t seq, int64_t offset,
                            const void *state, size_t len, aj_ckpt_msg **out, size_t *n_out);
void aj_checkpoint_msgs_free(aj_ckpt_msg *msgs, size_t n);

/*
 * Collects checkpoint messages as they are read from the topic (in offset order) and gives,
 * per partition, the latest complete checkpoint: the last manifest read whose chunks were all
 * read (before it, with the same seq) and whose sizes and CRC match. A later manifest whose
 * chunks are missing or damaged does not hide an earlier complete one.
 */
typedef struct aj_ckpt_reader aj_ckpt_reader;

/* Only the keys of group and topic are kept; others are skipped. */
aj_ckpt_reader *aj_ckpt_reader_create(const char *group, const char *topic);
void aj_ckpt_reader_destroy(aj_ckpt_reader *r);   /* NULL-safe */

/* One message of the checkpoint topic (a NULL value: a tombstone, skipped). AJ_E_NOMEM. */
aj_err aj_ckpt_reader_add(aj_ckpt_reader *r, const void *key, size_t key_len, const void *value, size_t value_len);

/*
 * The latest complete checkpoint of partition: AJ_E_OK with *seq, *offset, *chunks (the number
 * of chunks it was written in; chunks may be NULL) and the state uncompressed into state
 * (appended); AJ_E_NOT_FOUND when the partition has none.
 */
aj_err aj_ckpt_reader_get(aj_ckpt_reader *r, int32_t partition, int64_t *seq, int64_t *offset, int64_t *chunks,
                          aj_bytes *state);

#endif /* AJ_CHECKPOINT_H */
