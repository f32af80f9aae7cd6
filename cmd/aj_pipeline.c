/* aj_pipeline.c - the chain: source -> decode/validate -> adjust -> emit, with dead letters. */
#include "aj_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aj_log.h"

struct aj_pipeline {
    aj_contract_store *store;
    aj_sink *sink;
    aj_decoder *dec;
    aj_emitter *em;
    aj_adjust **adj;                /* per input partition (NULL: none yet) */
    size_t n_adj;
    aj_credit_book *book;           /* shared by the adjusters */
    aj_policy policy;
    aj_adjust_stats retired;        /* statistics of adjusters dropped or replaced */
    aj_adjust_stats sum;            /* aj_pipeline_adjust_stats' result */
    aj_pipeline_stats stats;
    aj_kafka_follower *credits;     /* the dispute-credit topic, or NULL */
    int64_t credits_synced_to;      /* period end of the last close that synced it */
};

int64_t aj_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
    for (size_t i = 0; i < p->n_adj; i++) aj_adjust_destroy(p->adj[i]);
    free(p->adj);
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
        aj_adjust **grown = realloc(p->adj, n * sizeof(*grown));
        if (!grown) return NULL;
        memset(grown + p->n_adj, 0, (n - p->n_adj) * sizeof(*grown));
        p->adj = grown;
        p->n_adj = n;
    }
    if (!p->adj[i]) {
        aj_adjust_out out = {p->em, aj_on_correction, aj_on_invoice};
        if (!(p->adj[i] = aj_adjust_create(p->store, &out))) return NULL;
        aj_adjust_share_credits(p->adj[i], p->book);
        aj_adjust_set_policy(p->adj[i], &p->policy);
    }
    return p->adj[i];
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
}

aj_err aj_pipeline_save_partition(const aj_pipeline *p, int32_t partition, aj_bytes *out) {
    size_t i = partition < 0 ? 0 : (size_t)partition;
    if (i >= p->n_adj || !p->adj[i]) {
        /* Nothing seen yet: the state of a new adjuster. */
        aj_adjust_out none = {NULL, NULL, NULL};
        aj_adjust *empty = aj_adjust_create(p->store, &none);
        if (!empty) return AJ_E_NOMEM;
        aj_err rc = aj_adjust_save(empty, out);
        aj_adjust_destroy(empty);
        return rc;
    }
    return aj_adjust_save(p->adj[i], out);
}

void aj_pipeline_drop_partition(aj_pipeline *p, int32_t partition) {
    size_t i = partition < 0 ? 0 : (size_t)partition;
    if (i >= p->n_adj || !p->adj[i]) return;
    aj_pipeline_retire(p, p->adj[i]);
    aj_adjust_destroy(p->adj[i]);
    p->adj[i] = NULL;
}

aj_err aj_pipeline_restore_partition(aj_pipeline *p, int32_t partition, const void *state, size_t len) {
    aj_pipeline_drop_partition(p, partition);
    aj_adjust *adj = aj_pipeline_adjuster(p, partition);
    if (!adj) return AJ_E_NOMEM;
    aj_err rc = aj_adjust_load(adj, state, len);
    if (rc != AJ_E_OK) {
        aj_adjust_destroy(adj);
        p->adj[partition < 0 ? 0 : partition] = NULL;
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
        if (p->adj[i]) aj_adjust_set_policy(p->adj[i], policy);
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

static aj_err aj_checkpoint(aj_pipeline *p, aj_source *src) {
    aj_err rc = p->sink->ops->flush(p->sink, 60000);
    if (rc != AJ_E_OK) {
        aj_error("pipeline", "outputs could not be flushed (%s); input not committed", aj_err_str(rc));
        return rc;
    }
    return aj_source_commit(src);
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
                if (p->adj[i]) closes += aj_adjust_get_stats(p->adj[i])->closes + aj_adjust_get_stats(p->adj[i])->duplicate_closes;
            if (closes >= opts->expect_closes) break;
        }
        rc = aj_source_next(src, &msg, 100);
        if (rc == AJ_E_EOF) break;
        if (rc == AJ_E_OK) {
            if ((rc = aj_pipeline_message(p, &msg)) != AJ_E_OK) return rc;
            since_commit++;
        } else if (aj_err_is_reject(rc)) {
            /* Bytes the source could not split into messages: kept whole. */
            p->stats.records_in++;
            if ((rc = aj_pipeline_reject(p, &msg, rc, msg.detail ? msg.detail : "undecodable bytes")) != AJ_E_OK)
                return rc;
            since_commit++;
        } else if (rc != AJ_E_RETRY) {
            return rc;
        }
        int64_t now = aj_now_ms();
        if (since_commit >= opts->commit_records || (since_commit && now - last_commit >= opts->commit_ms)) {
            if ((rc = aj_checkpoint(p, src)) != AJ_E_OK) return rc;
            since_commit = 0;
            last_commit = now;
        }
        if (opts->progress && now - last_progress >= 1000) {
            opts->progress(opts->progress_opaque, &p->stats);
            last_progress = now;
        }
    }
    if ((rc = aj_checkpoint(p, src)) != AJ_E_OK) return rc;
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
        if (p->adj[i]) aj_pipeline_retire(mp, p->adj[i]);
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
        if (p->adj[i]) n += aj_adjust_open_cycles(p->adj[i]);
    return n;
}
