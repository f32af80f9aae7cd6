/* aj_pipeline.h - the chain: source -> decode/validate -> adjust -> emit, with dead letters. */
#ifndef AJ_PIPELINE_H
#define AJ_PIPELINE_H

#include <signal.h>
#include <stdint.h>

#include "aj_adjust.h"
#include "aj_emit.h"
#include "aj_ingest.h"
#include "aj_rating.h"
#include "aj_clock.h"   /* aj_now_ms, which the commands use */

typedef struct aj_pipeline_stats {
    int64_t records_in;                 /* messages read from the usage input */
    int64_t processed;                  /* decoded, valid and handled by adjust */
    int64_t dead_letters;               /* rejected to the dead-letter output */
    int64_t dead_by_reason[AJ_E__COUNT];
    int64_t contracts;                  /* contract versions loaded */
    int64_t contracts_rejected;
} aj_pipeline_stats;

typedef struct aj_pipeline aj_pipeline;

/* store and sink are borrowed. NULL on NOMEM. */
aj_pipeline *aj_pipeline_create(aj_contract_store *store, aj_sink *sink);
void aj_pipeline_destroy(aj_pipeline *p);   /* NULL-safe; closes nothing */

/*
 * Handles one usage-stream message: decoded, validated, adjusted and emitted, or written whole
 * to the dead-letter output with its reason. Returns AJ_E_OK in both cases; other errors
 * (sink failures, NOMEM, OVERFLOW) are fatal for the run.
 */
aj_err aj_pipeline_message(aj_pipeline *p, const aj_message *msg);

/*
 * Reads every dispute credit of src (an Avro file of credits, docs/invoice.md "Dispute
 * credits") before the usage run, so that each goes on the first invoice whose period ends after
 * it was accepted. Bad ones, and anything that is not a credit, are dead-lettered.
 */
aj_err aj_pipeline_load_credits(aj_pipeline *p, aj_source *src);

/* One message of a dispute-credit input (callback shape of aj_kafka_read_topic). */
aj_err aj_pipeline_credit_message(void *pipeline, const aj_message *msg);

/*
 * Follows the dispute-credit topic through f (borrowed; NULL: none): the pipeline reads it up
 * to its end again before the first cycle close of each later period end, so a credit accepted
 * while the daemon runs goes on the first invoice closed after it was read (docs/invoice.md,
 * "Dispute credits"). A topic that cannot be read is logged and read at the next sync.
 */
void aj_pipeline_follow_credits(aj_pipeline *p, aj_kafka_follower *f);

/* Reads the followed credit topic up to its end now (start-up). AJ_E_OK or a fatal error. */
aj_err aj_pipeline_sync_credits(aj_pipeline *p);

/* The correction policy adjust applies (default: aj_policy_default). */
void aj_pipeline_set_policy(aj_pipeline *p, const aj_policy *policy);

/*
 * The state of one input partition (its adjuster: docs/reliability.md, "Checkpoints"), saved
 * to out, restored (replacing what the partition had), or dropped (revoked). Each input
 * partition has an adjuster of its own, created at its first message; they share the
 * contract store and the dispute-credit book.
 */
aj_err aj_pipeline_save_partition(const aj_pipeline *p, int32_t partition, aj_bytes *out);
aj_err aj_pipeline_restore_partition(aj_pipeline *p, int32_t partition, const void *state, size_t len);
void aj_pipeline_drop_partition(aj_pipeline *p, int32_t partition);

/*
 * Checkpoints (docs/reliability.md). Once enabled, a commit of aj_pipeline_run that falls due
 * for a checkpoint (every_records / every_ms since the last one; always at the end of a run and
 * before partitions are revoked) is:
 *   1. flush the outputs (delivered; a transactional sink commits them);
 *   2. for every partition that moved, its state and the offset it resumes from, compressed and
 *      in chunks, then its manifest, to the checkpoint topic (aj_checkpoint_encode), with
 *      tombstones for the chunks of the checkpoint it replaces;
 *   3. flush again, then commit the input offsets (a hint for lag monitoring: restores take the
 *      checkpoint's offset).
 * A crash anywhere leaves either the previous checkpoint or the new one complete, and the
 * outputs of every record before it delivered. The hooks of aj_pipeline_hooks restore the
 * partitions assigned to this instance (the contract topic is read up to its end first) and
 * checkpoint the revoked ones.
 */
typedef struct aj_ckpt_conf {
    const char *group;              /* consumer group: part of every checkpoint key */
    const char *input_topic;        /* the usage topic: part of every checkpoint key */
    const char *topic;              /* the checkpoint topic */
    aj_kafka_follower *follower;    /* of topic; borrowed */
    aj_kafka_follower *contracts;   /* of the contract topic, synced on assignment; borrowed, may be NULL */
    const char *contract_topic;
    int64_t every_records;          /* checkpoint at the first commit after this many records ... */
    int64_t every_ms;               /* ... or this many milliseconds (0 and 0: at every commit) */
} aj_ckpt_conf;

/* The sink must have the raw op (Kafka). AJ_E_ARG, AJ_E_NOMEM. */
aj_err aj_pipeline_enable_checkpoints(aj_pipeline *p, const aj_ckpt_conf *conf);

/* The hooks to set on the Kafka source (aj_kafka_source_set_hooks). */
aj_partition_hooks aj_pipeline_hooks(aj_pipeline *p);

/* Dead-letters msg with reason (used for bytes a source could not split into messages). */
aj_err aj_pipeline_reject(aj_pipeline *p, const aj_message *msg, aj_err reason, const char *detail);

/*
 * Loads contract datums from a source (an Avro file of contracts) into the store; bad ones are
 * dead-lettered. Returns AJ_E_OK or a fatal error.
 */
aj_err aj_pipeline_load_contracts(aj_pipeline *p, aj_source *src);

/* Adds one decoded contract (ownership passes); a contract the store refuses is counted and
 * logged. Usable as the callback of aj_kafka_read_contracts. */
aj_err aj_pipeline_add_contract(void *pipeline, aj_contract *c);

typedef struct aj_run_opts {
    int64_t commit_records;     /* flush outputs and commit input every N records ... */
    int64_t commit_ms;          /* ... or every T milliseconds */
    volatile sig_atomic_t *stop;    /* set by a signal handler to stop cleanly; may be NULL */
    /* Called about once a second; may be NULL. */
    void (*progress)(void *opaque, const aj_pipeline_stats *st);
    void *progress_opaque;
    int64_t expect_closes;      /* stop after this many cycle closes when > 0 (demo) */
} aj_run_opts;

/*
 * Reads src until AJ_E_EOF (or *stop, or expect_closes), handling each message. Every
 * commit_records / commit_ms, and at the end, flushes the sink then commits the source, so a
 * committed input position always has its outputs durable. Returns AJ_E_OK, AJ_E_INTERRUPTED
 * when stopped by *stop (after the final flush and commit), or a fatal error.
 */
aj_err aj_pipeline_run(aj_pipeline *p, aj_source *src, const aj_run_opts *opts);

const aj_pipeline_stats *aj_pipeline_get_stats(const aj_pipeline *p);
/* The statistics of every adjuster, dropped ones included, summed, with the credit counts of
 * the credit book they share (aj_credit_book_stats). Borrowed: valid until the next call. */
const aj_adjust_stats *aj_pipeline_adjust_stats(const aj_pipeline *p);
aj_emitter *aj_pipeline_emitter(aj_pipeline *p);

/* Account-cycles with records but no close yet. */
size_t aj_pipeline_open_cycles(const aj_pipeline *p);

#endif /* AJ_PIPELINE_H */
