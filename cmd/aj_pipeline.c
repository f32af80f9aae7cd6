/* aj_pipeline.c - the chain: source -> decode/validate -> adjust -> emit, with dead letters. */
#include "aj_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aj_checkpoint.h"
#include "aj_log.h"
#include "aj_clock.h"

/* One input partition: its adjuster and where its checkpoints stand. */
typedef struct aj_ppart {
    aj_adjust *adj;                 /* NULL: none yet */
    int64_t next;                   /* offset after the last message handled; -1: none since restore */
    int dirty;                      /* handled messages since its last checkpoint */
    int64_t seq;                    /* seq of its last checkpoint, 0: none */
    int64_t chunks;                 /* chunks of that checkpoint (tombstoned by the next one) */
} aj_ppart;

/* Checkpointing (docs/reliability.md), when enabled. */
typedef struct aj_ckpt_state {
    int on;
    aj_ckpt_conf conf;              /* strings owned */
    aj_ckpt_reader *reader;         /* what the follower has read of the checkpoint topic */
    int n_topic_parts;              /* partitions of the checkpoint topic */
    int broken;                     /* a message failed half-way: the state may not match a position */
    int64_t since;                  /* records handled since the last checkpoint */
    int64_t last_ms;                /* when the last checkpoint was written (aj_now_ms) */
} aj_ckpt_state;

struct aj_pipeline {
    aj_contract_store *store;
    aj_sink *sink;
    aj_decoder *dec;
    aj_emitter *em;
    aj_ppart *part;                 /* per input partition, indexed by its number */
    size_t n_adj;
    aj_credit_book *book;           /* shared by the adjusters */
    aj_policy policy;
    aj_adjust_stats retired;        /* statistics of adjusters dropped or replaced */
    aj_adjust_stats sum;            /* aj_pipeline_adjust_stats' result */
    aj_pipeline_stats stats;
    aj_kafka_follower *credits;     /* the dispute-credit topic, or NULL */
    int64_t credits_synced_to;      /* period end of the last close that synced it */
    aj_ckpt_state ck;
};

static aj_err aj_on_correction(void *opaque, const aj_correction *c) {
    return aj_emit_correction(opaque, c);
}

static aj_err aj_on_invoice(void *opaque, const aj_invoice *inv) {
    return aj_emit_invoice(opaque, inv);
}

aj_pipeline *aj_pipeline_create(aj_contract_store *store, aj_sink *sink) {
    aj_pipeline *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->store = store;
    p->sink = sink;
    if (!(p->dec = aj_decoder_create()) || !(p->em = aj_emitter_create(sink))) goto error;
    aj_policy_default(&p->policy);
    if (!(p->book = aj_credit_book_create())) goto error;
    return p;
error:
    aj_pipeline_destroy(p);
    return NULL;
}

void aj_pipeline_destroy(aj_pipeline *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_adj; i++) aj_adjust_destroy(p->part[i].adj);
    free(p->part);
    aj_ckpt_reader_destroy(p->ck.reader);
    free((char *)p->ck.conf.group);
    free((char *)p->ck.conf.input_topic);
    free((char *)p->ck.conf.topic);
    free((char *)p->ck.conf.contract_topic);
    aj_credit_book_destroy(p->book);
    aj_emitter_destroy(p->em);
    aj_decoder_destroy(p->dec);
    free(p);
}

aj_err aj_pipeline_reject(aj_pipeline *p, const aj_message *msg, aj_err reason, const char *detail) {
    aj_dead_letter dl;
    aj_err rc;

    aj_dead_letter_init(&dl, &msg->pos, reason, detail && *detail ? detail : NULL);
    dl.key = msg->key;
    dl.key_len = msg->key_len;
    dl.payload = msg->value;
    dl.payload_len = msg->value_len;
    aj_debug("pipeline", "dead letter %s: %s: %s", dl.dead_letter_id, aj_err_name(reason), dl.detail);
    if ((rc = aj_emit_dead_letter(p->em, &dl)) != AJ_E_OK) return rc;
    p->stats.dead_letters++;
    p->stats.dead_by_reason[reason]++;
    return AJ_E_OK;
}

/* The adjuster of an input partition, created when absent. NULL on NOMEM. */
static aj_adjust *aj_pipeline_adjuster(aj_pipeline *p, int32_t partition) {
    size_t i = partition < 0 ? 0 : (size_t)partition;
    if (i >= p->n_adj) {
        size_t n = i + 1;
        aj_ppart *grown = realloc(p->part, n * sizeof(*grown));
        if (!grown) return NULL;
        memset(grown + p->n_adj, 0, (n - p->n_adj) * sizeof(*grown));
        for (size_t k = p->n_adj; k < n; k++) grown[k].next = -1;
        p->part = grown;
        p->n_adj = n;
    }
    if (!p->part[i].adj) {
        aj_adjust_out out = {p->em, aj_on_correction, aj_on_invoice};
        if (!(p->part[i].adj = aj_adjust_create(p->store, &out))) return NULL;
        aj_adjust_share_credits(p->part[i].adj, p->book);
        aj_adjust_set_policy(p->part[i].adj, &p->policy);
    }
    return p->part[i].adj;
}

/* Adds the statistics of an adjuster about to go to p->retired: every field of aj_adjust_stats
 * but the credit counts, which are the shared book's (a new field must be added here). */
static void aj_pipeline_retire(aj_pipeline *p, const aj_adjust *adj) {
    const aj_adjust_stats *s = aj_adjust_get_stats(adj);
    aj_adjust_stats *r = &p->retired;
    r->usage += s->usage;
    r->recurring += s->recurring;
    r->one_time += s->one_time;
    r->closes += s->closes;
    r->corrections += s->corrections;
    for (int i = 0; i < AJ_REASON__COUNT; i++) r->by_reason[i] += s->by_reason[i];
    r->overcharge += s->overcharge;
    r->undercharge += s->undercharge;
    r->invoices += s->invoices;
    r->duplicate_closes += s->duplicate_closes;
    r->classified += s->classified;
    r->late_records += s->late_records;
    r->held += s->held;
    r->credits_applied += s->credits_applied;
    r->amended += s->amended;
    r->amend_kept += s->amend_kept;
}

aj_err aj_pipeline_save_partition(const aj_pipeline *p, int32_t partition, aj_bytes *out) {
    size_t i = partition < 0 ? 0 : (size_t)partition;
    if (i >= p->n_adj || !p->part[i].adj) {
        /* Nothing seen yet: the state of a new adjuster. */
        aj_adjust_out none = {NULL, NULL, NULL};
        aj_adjust *empty = aj_adjust_create(p->store, &none);
        if (!empty) return AJ_E_NOMEM;
        aj_err rc = aj_adjust_save(empty, out);
        aj_adjust_destroy(empty);
        return rc;
    }
    return aj_adjust_save(p->part[i].adj, out);
}

void aj_pipeline_drop_partition(aj_pipeline *p, int32_t partition) {
    size_t i = partition < 0 ? 0 : (size_t)partition;
    if (i >= p->n_adj || !p->part[i].adj) return;
    aj_pipeline_retire(p, p->part[i].adj);
    aj_adjust_destroy(p->part[i].adj);
    p->part[i].adj = NULL;
}

aj_err aj_pipeline_restore_partition(aj_pipeline *p, int32_t partition, const void *state, size_t len) {
    aj_pipeline_drop_partition(p, partition);
    aj_adjust *adj = aj_pipeline_adjuster(p, partition);
    if (!adj) return AJ_E_NOMEM;
    aj_err rc = aj_adjust_load(adj, state, len);
    if (rc != AJ_E_OK) {
        aj_adjust_destroy(adj);
        p->part[partition < 0 ? 0 : partition].adj = NULL;
    }
    return rc;
}

/* Handles one message; only_credits refuses anything but a dispute credit (WRONG_SCHEMA). */
static aj_err aj_pipeline_handle(aj_pipeline *p, const aj_message *msg, int only_credits) {
    char detail[256] = "";
    aj_event ev;
    aj_err rc;

    p->stats.records_in++;
    if (msg->writer)
        rc = aj_decode_event(p->dec, msg->writer, msg->value, msg->value_len, &ev, detail, sizeof(detail));
    else
        rc = aj_decode_event_message(p->dec, msg->value, msg->value_len, &ev, detail, sizeof(detail));
    if (rc == AJ_E_OK && only_credits && ev.kind != AJ_EVENT_CREDIT) {
        snprintf(detail, sizeof(detail), "a usage-stream record on the dispute-credit input");
        rc = AJ_E_WRONG_SCHEMA;
    }
    if (rc == AJ_E_OK && p->credits && ev.kind == AJ_EVENT_CYCLE_CLOSE && ev.u.close.period_end_ms > p->credits_synced_to) {
        /* The first close of a later period: the credits accepted so far join first. */
        p->credits_synced_to = ev.u.close.period_end_ms;
        if ((rc = aj_pipeline_sync_credits(p)) != AJ_E_OK) return rc;
    }
    if (rc == AJ_E_OK) {
        aj_adjust *adj = aj_pipeline_adjuster(p, msg->pos.partition);
        ev.pos = msg->pos;
        rc = adj ? aj_adjust_event(adj, &ev, detail, sizeof(detail)) : AJ_E_NOMEM;
    }
    if (rc == AJ_E_OK) {
        p->stats.processed++;
        return AJ_E_OK;
    }
    if (aj_err_is_reject(rc)) return aj_pipeline_reject(p, msg, rc, detail);
    aj_error("pipeline", "%s at %s[%d]@%lld: %s", aj_err_str(rc), msg->pos.origin,
             (int)msg->pos.partition, (long long)msg->pos.offset, detail);
    return rc;
}

aj_err aj_pipeline_credit_message(void *pipeline, const aj_message *msg) {
    return aj_pipeline_handle(pipeline, msg, 1);
}

aj_err aj_pipeline_sync_credits(aj_pipeline *p) {
    char err[512] = "";
    int64_t n = 0;
    if (!p->credits) return AJ_E_OK;
    aj_err rc = aj_kafka_follower_sync(p->credits, 60000, aj_pipeline_credit_message, p, &n, err, sizeof(err));
    if (rc == AJ_E_KAFKA) {
        /* Not lost: what could not be read now is read at the next sync, for a later invoice. */
        aj_warn("pipeline", "dispute credits not read up to date: %s", err);
        return AJ_E_OK;
    }
    if (n) aj_info("pipeline", "%lld dispute credit messages read", (long long)n);
    return rc;
}

void aj_pipeline_follow_credits(aj_pipeline *p, aj_kafka_follower *f) {
    p->credits = f;
}

aj_err aj_pipeline_message(aj_pipeline *p, const aj_message *msg) {
    return aj_pipeline_handle(p, msg, 0);
}

aj_err aj_pipeline_load_credits(aj_pipeline *p, aj_source *src) {
    aj_message msg;
    aj_err rc;
    for (;;) {
        rc = aj_source_next(src, &msg, 1000);
        if (rc == AJ_E_EOF) return AJ_E_OK;
        if (rc == AJ_E_RETRY) continue;
        if (rc == AJ_E_OK)
            rc = aj_pipeline_handle(p, &msg, 1);
        else if (aj_err_is_reject(rc))
            rc = aj_pipeline_reject(p, &msg, rc, msg.detail ? msg.detail : "undecodable bytes");
        if (rc != AJ_E_OK) return rc;
    }
}

void aj_pipeline_set_policy(aj_pipeline *p, const aj_policy *policy) {
    p->policy = *policy;
    for (size_t i = 0; i < p->n_adj; i++)
        if (p->part[i].adj) aj_adjust_set_policy(p->part[i].adj, policy);
}

aj_err aj_pipeline_add_contract(void *pipeline, aj_contract *c) {
    aj_pipeline *p = pipeline;
    char detail[256] = "";
    aj_err rc = aj_contract_store_put(p->store, c, detail, sizeof(detail));

    if (rc == AJ_E_BAD_CONTRACT) {
        aj_warn("pipeline", "contract refused: %s", detail);
        p->stats.contracts_rejected++;
        return AJ_E_OK;
    }
    if (rc == AJ_E_OK) p->stats.contracts++;
    return rc;
}

aj_err aj_pipeline_load_contracts(aj_pipeline *p, aj_source *src) {
    aj_message msg;
    aj_err rc;

    for (;;) {
        char detail[256] = "";
        aj_contract *c = NULL;

        rc = aj_source_next(src, &msg, 1000);
        if (rc == AJ_E_EOF) return AJ_E_OK;
        if (rc == AJ_E_RETRY) continue;
        if (rc == AJ_E_OK) {
            if (msg.writer)
                rc = aj_decode_contract(p->dec, msg.writer, msg.value, msg.value_len, &c, detail, sizeof(detail));
            else
                rc = aj_decode_contract_message(p->dec, msg.value, msg.value_len, &c, detail, sizeof(detail));
            if (rc == AJ_E_OK) {
                rc = aj_contract_store_put(p->store, c, detail, sizeof(detail));
                if (rc == AJ_E_OK) {
                    p->stats.contracts++;
                    continue;
                }
            }
        }
        if (!aj_err_is_reject(rc)) return rc;
        p->stats.contracts_rejected++;
        aj_warn("pipeline", "contract at %s[%lld] refused: %s", msg.pos.origin, (long long)msg.pos.offset, detail);
        if ((rc = aj_pipeline_reject(p, &msg, rc, detail)) != AJ_E_OK) return rc;
    }
}

/* ------------------------------------------------------------------ checkpoints */

aj_err aj_pipeline_enable_checkpoints(aj_pipeline *p, const aj_ckpt_conf *conf) {
    aj_ckpt_state *ck = &p->ck;
    if (ck->on || !conf->follower || !conf->group || !conf->input_topic || !conf->topic || !p->sink->ops->raw)
        return AJ_E_ARG;
    ck->conf = *conf;
    ck->conf.group = strdup(conf->group);
    ck->conf.input_topic = strdup(conf->input_topic);
    ck->conf.topic = strdup(conf->topic);
    ck->conf.contract_topic = strdup(conf->contract_topic ? conf->contract_topic : "");
    ck->reader = aj_ckpt_reader_create(conf->group, conf->input_topic);
    if (!ck->conf.group || !ck->conf.input_topic || !ck->conf.topic || !ck->conf.contract_topic || !ck->reader)
        return AJ_E_NOMEM;   /* freed by aj_pipeline_destroy */
    ck->n_topic_parts = aj_kafka_follower_partitions(conf->follower);
    ck->last_ms = aj_now_ms();
    ck->on = 1;
    return AJ_E_OK;
}

/* Notes that the message at pos (of the usage input) was handled, whole. AJ_E_NOMEM. */
static aj_err aj_pipeline_mark(aj_pipeline *p, const aj_position *pos) {
    if (!aj_pipeline_adjuster(p, pos->partition)) return AJ_E_NOMEM;
    aj_ppart *pp = &p->part[pos->partition < 0 ? 0 : pos->partition];
    pp->next = pos->offset + 1;
    pp->dirty = 1;
    p->ck.since++;
    return AJ_E_OK;
}

/* Produces the checkpoint of partition i (its state, resuming at ->next) behind the outputs
 * so far, then tombstones for the chunks of the one it replaces. buf is scratch. */
static aj_err aj_ckpt_write(aj_pipeline *p, size_t i, aj_bytes *buf) {
    const aj_ckpt_conf *cf = &p->ck.conf;
    aj_ppart *pp = &p->part[i];
    int32_t target = (int32_t)(i % (size_t)p->ck.n_topic_parts);
    aj_ckpt_msg *m = NULL;
    size_t n = 0;
    aj_err rc;

    buf->len = 0;
    if ((rc = aj_pipeline_save_partition(p, (int32_t)i, buf)) != AJ_E_OK) return rc;
    if ((rc = aj_checkpoint_encode(cf->group, cf->input_topic, (int32_t)i, pp->seq + 1, pp->next, buf->data, buf->len,
                                   &m, &n)) != AJ_E_OK)
        return rc;
    for (size_t k = 0; k < n && rc == AJ_E_OK; k++)
        rc = p->sink->ops->raw(p->sink, cf->topic, target, m[k].key, strlen(m[k].key), m[k].value.data,
                               m[k].value.len);
    aj_checkpoint_msgs_free(m, n);
    for (int64_t c = 0; c < pp->chunks && rc == AJ_E_OK; c++) {
        char key[320];
        int w = snprintf(key, sizeof(key), "%s/%s/%zu/%lld/%lld", cf->group, cf->input_topic, i, (long long)pp->seq,
                         (long long)c);
        if (w < 0 || (size_t)w >= sizeof(key)) return AJ_E_ARG;
        rc = p->sink->ops->raw(p->sink, cf->topic, target, key, (size_t)w, NULL, 0);
    }
    if (rc != AJ_E_OK) return rc;
    aj_debug("pipeline", "checkpoint %lld of %s[%zu] at offset %lld: %zu bytes, %zu chunks", (long long)pp->seq + 1,
             cf->input_topic, i, (long long)pp->next, buf->len, n - 1);
    pp->seq++;
    pp->chunks = (int64_t)n - 1;
    return AJ_E_OK;
}

/* Reads what was published on the contract topic since the last read. A read that fails is
 * logged, and fatal only when `must` (before restoring partitions). */
static aj_err aj_pipeline_sync_contracts(aj_pipeline *p, int must) {
    const aj_ckpt_conf *cf = &p->ck.conf;
    char err[512] = "";
    int64_t count = 0, rejected = 0;
    aj_err rc;

    if (!cf->contracts) return AJ_E_OK;
    rc = aj_kafka_sync_contracts(cf->contracts, cf->contract_topic, must ? 60000 : 5000, aj_pipeline_add_contract, p,
                                 &count, &rejected, err, sizeof(err));
    if (rc == AJ_E_KAFKA && !must) {
        aj_warn("pipeline", "contracts not read up to date (read again at the next commit): %s", err);
        return AJ_E_OK;
    }
    if (rc != AJ_E_OK) {
        aj_error("pipeline", "contracts not read up to date before rating: %s", err[0] ? err : aj_err_str(rc));
        return rc;
    }
    if (count || rejected)
        aj_info("pipeline", "%lld new contract versions read from %s (%lld rejected)", (long long)count,
                cf->contract_topic, (long long)rejected);
    return AJ_E_OK;
}

/*
 * A commit: the outputs flushed, then (checkpoints on) the checkpoint of every partition that
 * moved and a second flush, then the input offsets. Any failure stops checkpointing for good:
 * the process must exit and restart from the last complete checkpoint.
 */
static aj_err aj_pipeline_commit(aj_pipeline *p, aj_source *src, int force) {
    const aj_ckpt_conf *cf = &p->ck.conf;
    aj_bytes buf = {0};
    int wrote = 0;
    int64_t now = aj_now_ms();
    aj_err rc;

    if (p->ck.broken) return AJ_E_FATAL;
    if ((rc = p->sink->ops->flush(p->sink, 60000)) != AJ_E_OK) {
        aj_error("pipeline", "outputs could not be flushed (%s); input not committed", aj_err_str(rc));
        goto fail;
    }
    if (p->ck.on && !force && (cf->every_records > 0 || cf->every_ms > 0) &&
        !(cf->every_records > 0 && p->ck.since >= cf->every_records) &&
        !(cf->every_ms > 0 && now - p->ck.last_ms >= cf->every_ms)) {
        /* Not due: the outputs are delivered and the offsets move (lag monitoring); restores
         * take the last checkpoint's offsets and produce what came after again. */
        if ((rc = aj_source_commit(src)) == AJ_E_KAFKA) rc = AJ_E_OK;   /* retried next time */
        return rc == AJ_E_OK ? aj_pipeline_sync_contracts(p, 0) : rc;
    }
    if (p->ck.on) {
        for (size_t i = 0; i < p->n_adj && rc == AJ_E_OK; i++)
            if (p->part[i].dirty && p->part[i].next >= 0) {
                rc = aj_ckpt_write(p, i, &buf);
                wrote = 1;
            }
        aj_bytes_free(&buf);
        if (rc == AJ_E_OK && wrote) rc = p->sink->ops->flush(p->sink, 60000);
        if (rc != AJ_E_OK) {
            aj_error("pipeline", "checkpoint not written (%s); input not committed", aj_err_str(rc));
            goto fail;
        }
        for (size_t i = 0; i < p->n_adj; i++) p->part[i].dirty = 0;
        p->ck.since = 0;
        p->ck.last_ms = now;
        /* The checkpoints hold the positions; committed offsets only show the lag. A commit
         * the broker refused now (coordinator moving, timeouts) is retried at the next one. */
        if ((rc = aj_source_commit(src)) == AJ_E_KAFKA) {
            aj_warn("pipeline", "input offsets not committed this time (the checkpoints are written): retried "
                                "at the next commit");
            rc = AJ_E_OK;
        }
        /* Amendments published while the daemon runs apply from the next commit interval. */
        if (rc == AJ_E_OK) rc = aj_pipeline_sync_contracts(p, 0);
        return rc;
    }
    return aj_source_commit(src);
fail:
    p->ck.broken = 1;
    return rc;
}

/* Reads the checkpoint topic's new messages into the reader. */
static aj_err aj_ckpt_take(void *opaque, const aj_message *msg) {
    return aj_ckpt_reader_add(opaque, msg->key, msg->key_len, msg->value, msg->value_len);
}

/* The assigned hook: contracts up to date, then each partition's latest complete checkpoint
 * (state restored, offset to resume at), or, without one, an empty state from the beginning. */
static aj_err aj_pipeline_on_assigned(void *opaque, const int32_t *parts, int64_t *offsets, size_t n) {
    aj_pipeline *p = opaque;
    const aj_ckpt_conf *cf = &p->ck.conf;
    char err[512] = "";
    int64_t count = 0;
    aj_err rc;

    if (p->ck.broken) return AJ_E_FATAL;
    if ((rc = aj_pipeline_sync_contracts(p, 1)) != AJ_E_OK) return rc;
    if ((rc = aj_kafka_follower_sync(cf->follower, 60000, aj_ckpt_take, p->ck.reader, &count, err, sizeof(err))) !=
        AJ_E_OK) {
        aj_error("pipeline", "checkpoints not read: %s", err[0] ? err : aj_err_str(rc));
        return rc;
    }
    for (size_t k = 0; k < n; k++) {
        aj_bytes state = {0};
        int64_t seq = 0, offset = 0, chunks = 0;
        int32_t part = parts[k];
        if (part < 0) return AJ_E_ARG;
        rc = aj_ckpt_reader_get(p->ck.reader, part, &seq, &offset, &chunks, &state);
        if (rc == AJ_E_OK) rc = aj_pipeline_restore_partition(p, part, state.data, state.len);
        aj_bytes_free(&state);
        if (rc == AJ_E_NOT_FOUND) {
            aj_pipeline_drop_partition(p, part);
            seq = chunks = 0;
            offset = AJ_OFFSET_BEGINNING;
            if (!aj_pipeline_adjuster(p, part)) return AJ_E_NOMEM;
            aj_info("pipeline", "%s[%d]: no checkpoint; read from the beginning", cf->input_topic, (int)part);
        } else if (rc != AJ_E_OK) {
            aj_error("pipeline", "%s[%d]: checkpoint %lld does not load: %s", cf->input_topic, (int)part,
                     (long long)seq, aj_err_str(rc));
            return rc;
        } else {
            aj_info("pipeline", "%s[%d]: checkpoint %lld restored (%zu open cycles), resuming at offset %lld",
                    cf->input_topic, (int)part, (long long)seq, aj_adjust_open_cycles(p->part[part].adj),
                    (long long)offset);
        }
        aj_ppart *pp = &p->part[part];
        pp->seq = seq;
        pp->chunks = chunks;
        pp->next = -1;
        pp->dirty = 0;
        offsets[k] = offset;
    }
    return AJ_E_OK;
}

/* The revoking hook: a checkpoint of everything while the partitions are still ours (not when
 * lost: another instance may be rating them), then their state goes. */
static void aj_pipeline_on_revoking(void *opaque, aj_source *src, const int32_t *parts, size_t n, int lost) {
    aj_pipeline *p = opaque;
    if (!lost && !p->ck.broken && aj_pipeline_commit(p, src, 1) != AJ_E_OK)
        aj_error("pipeline", "revoked partitions not checkpointed: their next owner resumes from the previous "
                             "checkpoint and produces the outputs since again");
    for (size_t k = 0; k < n; k++) {
        size_t i = parts[k] < 0 ? 0 : (size_t)parts[k];
        aj_pipeline_drop_partition(p, parts[k]);
        if (i < p->n_adj) {
            p->part[i].next = -1;
            p->part[i].dirty = 0;
            p->part[i].seq = p->part[i].chunks = 0;
        }
    }
}

aj_partition_hooks aj_pipeline_hooks(aj_pipeline *p) {
    aj_partition_hooks h = {aj_pipeline_on_assigned, aj_pipeline_on_revoking, p};
    return h;
}

aj_err aj_pipeline_run(aj_pipeline *p, aj_source *src, const aj_run_opts *opts) {
    int64_t since_commit = 0, last_commit = aj_now_ms(), last_progress = last_commit;
    aj_message msg;
    aj_err rc, result = AJ_E_OK;

    for (;;) {
        if (opts->stop && *opts->stop) {
            result = AJ_E_INTERRUPTED;
            break;
        }
        if (opts->expect_closes > 0) {
            int64_t closes = p->retired.closes + p->retired.duplicate_closes;
            for (size_t i = 0; i < p->n_adj; i++)
                if (p->part[i].adj) closes += aj_adjust_get_stats(p->part[i].adj)->closes + aj_adjust_get_stats(p->part[i].adj)->duplicate_closes;
            if (closes >= opts->expect_closes) break;
        }
        rc = aj_source_next(src, &msg, 100);
        if (p->ck.broken) return AJ_E_FATAL;   /* a checkpoint on revoke failed */
        if (rc == AJ_E_EOF) break;
        if (rc == AJ_E_OK) {
            rc = aj_pipeline_message(p, &msg);
        } else if (aj_err_is_reject(rc)) {
            /* Bytes the source could not split into messages: kept whole. */
            p->stats.records_in++;
            rc = aj_pipeline_reject(p, &msg, rc, msg.detail ? msg.detail : "undecodable bytes");
        } else if (rc == AJ_E_RETRY) {
            rc = AJ_E_RETRY;
        } else {
            return rc;
        }
        if (rc == AJ_E_OK) rc = aj_pipeline_mark(p, &msg.pos);
        if (rc == AJ_E_OK) {
            since_commit++;
        } else if (rc != AJ_E_RETRY) {
            p->ck.broken = 1;   /* half-handled: the state no longer matches a position */
            return rc;
        }
        int64_t now = aj_now_ms();
        if (since_commit >= opts->commit_records || (since_commit && now - last_commit >= opts->commit_ms)) {
            if ((rc = aj_pipeline_commit(p, src, 0)) != AJ_E_OK) return rc;
            since_commit = 0;
            last_commit = now;
        }
        if (opts->progress && now - last_progress >= 1000) {
            opts->progress(opts->progress_opaque, &p->stats);
            last_progress = now;
        }
    }
    if ((rc = aj_pipeline_commit(p, src, 1)) != AJ_E_OK) return rc;
    if (opts->progress) opts->progress(opts->progress_opaque, &p->stats);
    return result;
}

const aj_pipeline_stats *aj_pipeline_get_stats(const aj_pipeline *p) {
    return &p->stats;
}

const aj_adjust_stats *aj_pipeline_adjust_stats(const aj_pipeline *p) {
    aj_pipeline *mp = (aj_pipeline *)p;   /* the sum is a cache, not state */
    aj_adjust_stats saved = mp->retired;
    for (size_t i = 0; i < p->n_adj; i++)
        if (p->part[i].adj) aj_pipeline_retire(mp, p->part[i].adj);
    mp->sum = mp->retired;
    mp->retired = saved;
    aj_credit_book_stats(p->book, &mp->sum.credits, &mp->sum.duplicate_credits);
    return &mp->sum;
}

aj_emitter *aj_pipeline_emitter(aj_pipeline *p) {
    return p->em;
}

size_t aj_pipeline_open_cycles(const aj_pipeline *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n_adj; i++)
        if (p->part[i].adj) n += aj_adjust_open_cycles(p->part[i].adj);
    return n;
}
