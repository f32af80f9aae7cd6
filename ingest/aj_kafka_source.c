/* aj_kafka_source.c - the usage stream from a Kafka consumer group; contracts from a whole topic. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "aj_ingest.h"
#include "aj_kafka_int.h"
#include "aj_log.h"
#include "aj_clock.h"

/* One assigned partition of the usage topic. */
typedef struct aj_kpart {
    int32_t partition;
    int eof;            /* reached its end, nothing newer returned since */
    int64_t next;       /* offset after the last message returned; -1 when none */
    int64_t committed;  /* last offset committed by this source; -1 when none */
} aj_kpart;

typedef struct aj_kafka_source {
    aj_source base;
    rd_kafka_t *rk;
    char *topic;
    int exit_at_end;
    int fatal;                   /* set by the error callback */
    rd_kafka_message_t *held;    /* the message last returned, borrowed by the caller */
    aj_kpart *parts;             /* the current assignment */
    size_t n_parts, cap_parts;
    aj_partition_hooks hooks;    /* zeroed: none */
} aj_kafka_source;

static aj_err aj_ksrc_next(aj_source *src, aj_message *msg, int timeout_ms);
static aj_err aj_ksrc_commit(aj_source *src);
static void aj_ksrc_destroy(aj_source *src);

static const aj_source_ops aj_kafka_ops = {aj_ksrc_next, aj_ksrc_commit, aj_ksrc_destroy};

int aj_kafka_producer_prop(const char *prop) {
    static const char *const skip[] = {"linger.ms", "queue.buffering.max.ms", "acks", "request.required.acks",
                                       "enable.idempotence", "transactional.id", "transaction.timeout.ms",
                                       "queue.buffering.max.messages", "queue.buffering.max.kbytes",
                                       "batch.num.messages", "batch.size", "compression.type", "compression.codec",
                                       "message.timeout.ms", "delivery.timeout.ms", "message.send.max.retries",
                                       "retries", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcmp(prop, skip[i]) == 0) return 1;
    return 0;
}

/* ------------------------------------------------------------------ assignment */

static aj_kpart *aj_ksrc_part(aj_kafka_source *ks, int32_t partition) {
    for (size_t i = 0; i < ks->n_parts; i++)
        if (ks->parts[i].partition == partition) return &ks->parts[i];
    return NULL;
}

/* Adds the partitions of list to the tracked assignment (fresh state). AJ_E_NOMEM. */
static aj_err aj_ksrc_track(aj_kafka_source *ks, const rd_kafka_topic_partition_list_t *list) {
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        aj_kpart *p;
        if (strcmp(tp->topic, ks->topic) != 0) continue;
        if (!(p = aj_ksrc_part(ks, tp->partition))) {
            if (ks->n_parts == ks->cap_parts) {
                size_t cap = ks->cap_parts ? ks->cap_parts * 2 : 16;
                aj_kpart *grown = realloc(ks->parts, cap * sizeof(*grown));
                if (!grown) return AJ_E_NOMEM;
                ks->parts = grown;
                ks->cap_parts = cap;
            }
            p = &ks->parts[ks->n_parts++];
        }
        p->partition = tp->partition;
        p->eof = 0;
        p->next = p->committed = -1;
    }
    return AJ_E_OK;
}

/* Forgets the revoked partitions, their uncommitted positions included: the next owner resumes
 * from the partition's checkpoint (or, without hooks, its last commit), and every output is
 * idempotent by id, so records returned since are produced again with the same ids.
 * list NULL: everything. */
static void aj_ksrc_untrack(aj_kafka_source *ks, const rd_kafka_topic_partition_list_t *list) {
    if (!list) {
        ks->n_parts = 0;
        return;
    }
    for (int i = 0; i < list->cnt; i++) {
        aj_kpart *p;
        if (strcmp(list->elems[i].topic, ks->topic) != 0 || !(p = aj_ksrc_part(ks, list->elems[i].partition)))
            continue;
        *p = ks->parts[--ks->n_parts];
    }
}

/* The partitions of list on our topic, into parts (n_out of them); the count of list at most. */
static size_t aj_ksrc_ours(const aj_kafka_source *ks, const rd_kafka_topic_partition_list_t *list, int32_t *parts) {
    size_t n = 0;
    for (int i = 0; i < list->cnt; i++)
        if (strcmp(list->elems[i].topic, ks->topic) == 0) parts[n++] = list->elems[i].partition;
    return n;
}

/* The assigned hook: sets the offset of each partition of ours in list to where it resumes.
 * A failure makes the source fatal: those partitions cannot be rated without their state. */
static void aj_ksrc_on_assign(aj_kafka_source *ks, rd_kafka_topic_partition_list_t *list) {
    int32_t *parts;
    int64_t *offsets;
    size_t n;

    if (!ks->hooks.assigned || !list->cnt) return;
    parts = calloc((size_t)list->cnt, sizeof(*parts));
    offsets = calloc((size_t)list->cnt, sizeof(*offsets));
    if (!parts || !offsets) {
        aj_error("kafka", "%s: out of memory restoring the assigned partitions", ks->topic);
        ks->fatal = 1;
        goto end;
    }
    n = aj_ksrc_ours(ks, list, parts);
    if (n && ks->hooks.assigned(ks->hooks.opaque, parts, offsets, n) != AJ_E_OK) {
        aj_error("kafka", "%s: the assigned partitions could not be restored; stopping", ks->topic);
        ks->fatal = 1;
        goto end;
    }
    for (size_t i = 0, k = 0; i < (size_t)list->cnt; i++)
        if (strcmp(list->elems[i].topic, ks->topic) == 0) list->elems[i].offset = offsets[k++];
end:
    free(parts);
    free(offsets);
}

/* The revoking hook, before the partitions go (lost: they already went). */
static void aj_ksrc_on_revoke(aj_kafka_source *ks, const rd_kafka_topic_partition_list_t *list, int lost) {
    int32_t *parts;
    size_t n;

    if (!ks->hooks.revoking || !list->cnt) return;
    if (!(parts = calloc((size_t)list->cnt, sizeof(*parts)))) {
        aj_error("kafka", "%s: out of memory checkpointing the revoked partitions", ks->topic);
        ks->fatal = 1;
        return;
    }
    n = aj_ksrc_ours(ks, list, parts);
    if (n) ks->hooks.revoking(ks->hooks.opaque, &ks->base, parts, n, lost);
    free(parts);
}

/* Rebalance callback, called from rd_kafka_consumer_poll (and rd_kafka_consumer_close) in the
 * caller's thread, so no message is being processed. Follows the group's protocol: eager
 * (assign / unassign everything) or cooperative (incremental). The hooks restore the assigned
 * partitions (their offsets come from the checkpoints) and checkpoint the revoked ones while
 * they are still ours. */
static void aj_ksrc_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                              void *opaque) {
    aj_kafka_source *ks = opaque;
    int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        aj_ksrc_on_assign(ks, parts);
        if (cooperative) {
            error = rd_kafka_incremental_assign(rk, parts);
        } else {
            aj_ksrc_untrack(ks, NULL);
            rerr = rd_kafka_assign(rk, parts);
        }
        if (aj_ksrc_track(ks, parts) != AJ_E_OK) {
            aj_error("kafka", "out of memory tracking the assignment of %s", ks->topic);
            ks->fatal = 1;
        }
        aj_info("kafka", "%s: %d partitions assigned, %zu in all", ks->topic, parts->cnt, ks->n_parts);
    } else {
        int lost = rd_kafka_assignment_lost(rk);
        aj_ksrc_on_revoke(ks, parts, lost);
        if (cooperative) {
            error = rd_kafka_incremental_unassign(rk, parts);
            aj_ksrc_untrack(ks, parts);
        } else {
            rerr = rd_kafka_assign(rk, NULL);
            aj_ksrc_untrack(ks, NULL);
        }
        aj_info("kafka", "%s: %d partitions %s, %zu left", ks->topic, parts->cnt, lost ? "lost" : "revoked",
                ks->n_parts);
    }
    if (error) {
        aj_warn("kafka", "%s: rebalance: %s", ks->topic, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (rerr) {
        aj_warn("kafka", "%s: rebalance: %s", ks->topic, rd_kafka_err2str(rerr));
    }
}

void aj_kafka_source_set_hooks(aj_source *src, const aj_partition_hooks *hooks) {
    ((aj_kafka_source *)src)->hooks = *hooks;
}

/* Errors of the client itself (brokers down, authentication, fatal idempotence errors). */
static void aj_ksrc_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    aj_kafka_source *ks = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        ks->fatal = 1;
        return;
    }
    aj_warn("kafka", "consumer of %s: %s: %s", ks->topic, rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* ------------------------------------------------------------------ create */

aj_source *aj_kafka_source_create(const aj_config *cfg, aj_err *rc, char *err, size_t errlen) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *topics = NULL;
    aj_kafka_source *ks = calloc(1, sizeof(*ks));
    aj_err r = AJ_E_NOMEM;

    if (errlen) err[0] = '\0';
    if (!conf || !ks || !(ks->topic = strdup(cfg->usage_topic))) {
        snprintf(err, errlen, "out of memory");
        goto error;
    }
    ks->base.ops = &aj_kafka_ops;
    ks->exit_at_end = cfg->exit_at_end != 0;
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (aj_kafka_producer_prop(cfg->kafka[i].key)) continue;
        if (rd_kafka_conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka[i].key, errstr);
            r = AJ_E_CONFIG;
            goto error;
        }
    }
    /* Forced: offsets move only through aj_ksrc_commit, after the outputs were flushed. */
    const char *forced[][2] = {{"enable.auto.commit", "false"},
                               {"enable.auto.offset.store", "false"},
                               {"enable.partition.eof", "true"},
                               {"group.id", aj_config_kafka_get(cfg, "group.id") ? NULL : "ajuste"},
                               {"auto.offset.reset", aj_config_kafka_get(cfg, "auto.offset.reset") ? NULL : "earliest"}};
    for (size_t i = 0; i < sizeof(forced) / sizeof(forced[0]); i++) {
        if (!forced[i][1]) continue;
        if (rd_kafka_conf_set(conf, forced[i][0], forced[i][1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", forced[i][0], errstr);
            r = AJ_E_CONFIG;
            goto error;
        }
    }
    rd_kafka_conf_set_opaque(conf, ks);
    rd_kafka_conf_set_rebalance_cb(conf, aj_ksrc_rebalance);
    rd_kafka_conf_set_error_cb(conf, aj_ksrc_error);
    r = AJ_E_KAFKA;
    if (!(ks->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create a Kafka consumer: %s", errstr);
        goto error;
    }
    conf = NULL;   /* owned by rk */
    rd_kafka_poll_set_consumer(ks->rk);
    if (!(topics = rd_kafka_topic_partition_list_new(1))) {
        r = AJ_E_NOMEM;
        goto error;
    }
    rd_kafka_topic_partition_list_add(topics, ks->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(ks->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (serr) {
        snprintf(err, errlen, "cannot subscribe to %s: %s", ks->topic, rd_kafka_err2str(serr));
        goto error;
    }
    if (rc) *rc = AJ_E_OK;
    return &ks->base;
error:
    if (rc) *rc = r;
    if (conf) rd_kafka_conf_destroy(conf);
    if (ks) aj_ksrc_destroy(&ks->base);
    return NULL;
}

/* ------------------------------------------------------------------ source ops */

static int aj_ksrc_all_eof(const aj_kafka_source *ks) {
    if (!ks->n_parts) return 0;
    for (size_t i = 0; i < ks->n_parts; i++)
        if (!ks->parts[i].eof) return 0;
    return 1;
}

/* AJ_E_FATAL with the client's reason logged. */
static aj_err aj_ksrc_fatal(aj_kafka_source *ks) {
    char reason[512];
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(ks->rk, reason, sizeof(reason));
    aj_error("kafka", "consumer of %s: fatal error %s: %s", ks->topic, rd_kafka_err2name(e),
             e ? reason : "(see the previous messages)");
    return AJ_E_FATAL;
}

/*
 * Polls until a message arrives or timeout_ms passes. AJ_E_OK with msg borrowed until the next
 * call; AJ_E_RETRY when nothing came in time; AJ_E_EOF with run.exit_at_end once every assigned
 * partition is at its end; AJ_E_FATAL on a fatal client error. Other errors are logged and
 * polled past.
 */
static aj_err aj_ksrc_next(aj_source *src, aj_message *msg, int timeout_ms) {
    aj_kafka_source *ks = (aj_kafka_source *)src;
    int64_t deadline = aj_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    if (ks->held) {
        rd_kafka_message_destroy(ks->held);
        ks->held = NULL;
    }
    for (;;) {
        if (ks->fatal || rd_kafka_fatal_error(ks->rk, NULL, 0)) return aj_ksrc_fatal(ks);
        if (ks->exit_at_end && aj_ksrc_all_eof(ks)) return AJ_E_EOF;
        int64_t left = deadline - aj_now_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ks->rk, left > 0 ? (int)left : 0);
        if (!m) {
            if (aj_now_ms() < deadline) continue;
            if (ks->fatal) return aj_ksrc_fatal(ks);
            return AJ_E_RETRY;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            aj_kpart *p = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), ks->topic) == 0
                              ? aj_ksrc_part(ks, m->partition)
                              : NULL;
            if (p) p->eof = 1;
            rd_kafka_message_destroy(m);
        } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            rd_kafka_message_destroy(m);
            return aj_ksrc_fatal(ks);
        } else if (m->err) {
            aj_warn("kafka", "consuming %s: %s", ks->topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else {
            aj_kpart *p = aj_ksrc_part(ks, m->partition);
            if (p) {
                p->eof = 0;
                p->next = m->offset + 1;
            }
            ks->held = m;
            aj_kafka_message_view(m, ks->topic, msg);
            return AJ_E_OK;
        }
        if (aj_now_ms() >= deadline) {
            if (ks->exit_at_end && aj_ksrc_all_eof(ks)) return AJ_E_EOF;
            return AJ_E_RETRY;
        }
    }
}

/*
 * Commits, synchronously, the offset after the last message returned on every assigned
 * partition that moved since the last commit. AJ_E_OK (also when a rebalance took the
 * partitions away meanwhile: their new owner re-reads, outputs are idempotent), AJ_E_NOMEM, or
 * AJ_E_KAFKA logged; the positions are kept and a later commit retries them.
 */
static aj_err aj_ksrc_commit(aj_source *src) {
    aj_kafka_source *ks = (aj_kafka_source *)src;
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t err;
    aj_err rc = AJ_E_OK;

    if (!ks->n_parts) return AJ_E_OK;
    if (!(list = rd_kafka_topic_partition_list_new((int)ks->n_parts))) return AJ_E_NOMEM;
    for (size_t i = 0; i < ks->n_parts; i++)
        if (ks->parts[i].next >= 0 && ks->parts[i].next != ks->parts[i].committed)
            rd_kafka_topic_partition_list_add(list, ks->topic, ks->parts[i].partition)->offset = ks->parts[i].next;
    if (!list->cnt) goto end;
    err = rd_kafka_commit(ks->rk, list, 0);
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        break;
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
        aj_warn("kafka", "%s: commit refused (%s): the partitions moved; their new owner resumes from their checkpoints",
                ks->topic, rd_kafka_err2name(err));
        goto end;
    default:
        aj_error("kafka", "%s: commit failed: %s", ks->topic, rd_kafka_err2str(err));
        rc = AJ_E_KAFKA;
        goto end;
    }
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &list->elems[i];
        aj_kpart *p = aj_ksrc_part(ks, tp->partition);
        if (tp->err) {
            aj_error("kafka", "%s[%d]: commit of offset %lld failed: %s", ks->topic, (int)tp->partition,
                     (long long)tp->offset, rd_kafka_err2str(tp->err));
            rc = AJ_E_KAFKA;
        } else if (p) {
            p->committed = tp->offset;
        }
    }
end:
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

void aj_kafka_message_view(const rd_kafka_message_t *m, const char *topic, aj_message *msg) {
    msg->key = m->key;
    msg->key_len = m->key_len;
    msg->value = m->payload;
    msg->value_len = m->len;
    msg->pos.origin = topic;
    msg->pos.partition = m->partition;
    msg->pos.offset = m->offset;
    msg->writer = NULL;
    msg->detail = NULL;
}

void aj_kafka_consumer_free(rd_kafka_t *rk, rd_kafka_message_t *held) {
    if (held) rd_kafka_message_destroy(held);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
}

static void aj_ksrc_destroy(aj_source *src) {
    aj_kafka_source *ks = (aj_kafka_source *)src;
    if (!ks) return;
    aj_kafka_consumer_free(ks->rk, ks->held);
    free(ks->parts);
    free(ks->topic);
    free(ks);
}

/* ------------------------------------------------------------------ contracts */

typedef struct aj_contract_read {
    aj_decoder *dec;
    const char *topic;
    aj_err (*fn)(void *opaque, aj_contract *c);
    void *opaque;
    int64_t read, rejected;
} aj_contract_read;

static aj_err aj_contract_message(void *opaque, const aj_message *msg) {
    aj_contract_read *cr = opaque;
    char detail[256] = "";
    aj_contract *c = NULL;
    aj_err rc = aj_decode_contract_message(cr->dec, msg->value, msg->value_len, &c, detail, sizeof(detail));

    if (rc == AJ_E_OK) {
        cr->read++;
        return cr->fn(cr->opaque, c);
    }
    if (rc == AJ_E_NOMEM) return rc;
    cr->rejected++;
    aj_warn("ingest", "contract at %s[%d]@%lld rejected: %s%s%s", cr->topic, (int)msg->pos.partition,
            (long long)msg->pos.offset, aj_err_name(rc), detail[0] ? ": " : "", detail);
    return AJ_E_OK;
}

/*
 * On top of aj_kafka_follower_sync. *read counts the contracts handed to fn, *rejected the
 * messages that did not decode (both may be NULL); a message is one or the other. A non-OK
 * return of fn stops the read and is returned.
 */
aj_err aj_kafka_sync_contracts(aj_kafka_follower *f, const char *topic, int timeout_ms,
                               aj_err (*fn)(void *opaque, aj_contract *c), void *opaque, int64_t *read,
                               int64_t *rejected, char *err, size_t errlen) {
    aj_contract_read cr = {aj_decoder_create(), topic, fn, opaque, 0, 0};
    aj_err rc;

    if (!cr.dec) {
        snprintf(err, errlen, "out of memory");
        rc = AJ_E_NOMEM;
        goto end;
    }
    rc = aj_kafka_follower_sync(f, timeout_ms, aj_contract_message, &cr, NULL, err, errlen);
end:
    if (read) *read = cr.read;
    if (rejected) *rejected = cr.rejected;
    aj_decoder_destroy(cr.dec);
    return rc;
}

aj_err aj_kafka_read_contracts(const aj_config *cfg, const char *topic, int timeout_ms,
                               aj_err (*fn)(void *opaque, aj_contract *c), void *opaque, int64_t *read,
                               int64_t *rejected, char *err, size_t errlen) {
    aj_err rc;
    aj_kafka_follower *f = aj_kafka_follower_create(cfg, topic, timeout_ms, &rc, err, errlen);
    if (read) *read = 0;
    if (rejected) *rejected = 0;
    if (!f) return rc;
    rc = aj_kafka_sync_contracts(f, topic, timeout_ms, fn, opaque, read, rejected, err, errlen);
    aj_kafka_follower_destroy(f);
    return rc;
}
