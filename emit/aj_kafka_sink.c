/* aj_kafka_sink.c - the outputs to Kafka through one idempotent producer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "aj_emit.h"
#include "aj_log.h"

/*
 * Error classification (librdkafka's producer, idempotent, no transactions):
 *   retriable  RD_KAFKA_RESP_ERR__QUEUE_FULL from produce: the local queue is full; serve
 *              delivery reports (poll 10 ms) and produce again (examples/transactions.c).
 *              Broker-side transient errors (leader change, timeouts, brokers down) are retried
 *              by librdkafka itself and only reported through the error callback as warnings.
 *   failed     a delivery report with an error: librdkafka gave up on the message (its retries
 *              or message.timeout.ms exhausted, or a permanent error such as an unknown topic).
 *              Counted; the next flush reports it and the sink turns fatal, so the caller does
 *              not commit its input and the outputs are re-produced from there.
 *   fatal      RD_KAFKA_RESP_ERR__FATAL (rd_kafka_fatal_error: the idempotence guarantee is
 *              lost), any other produce error, a flush that times out: the sink turns fatal and
 *              every later call returns AJ_E_FATAL; the process exits non-zero and restarts
 *              from its last commit.
 * Callbacks run inside rd_kafka_poll / rd_kafka_flush on the caller's thread: no locking.
 */

#define AJ_SINK_CLOSE_TIMEOUT_MS 60000

typedef struct aj_kafka_sink {
    aj_sink base;
    rd_kafka_t *rk;
    char *topic[AJ_OUT__COUNT];
    uint8_t header[AJ_OUT__COUNT][AJ_SOM_HEADER_LEN];
    aj_bytes msg;              /* header + datum of the message being produced */
    int64_t failed;            /* deliveries that failed after librdkafka's own retries */
    rd_kafka_resp_err_t first_error;
    int fatal;                 /* sticky: every call returns AJ_E_FATAL */
    int txn;                   /* transactional: a transaction is open between flushes */
} aj_kafka_sink;

/* Producer-side properties only: the same configuration also configures consumers. */
static int aj_sink_skip(const char *prop) {
    static const char *const skip[] = {"group.id", "enable.auto.commit", "enable.auto.offset.store",
                                       "enable.partition.eof", "auto.offset.reset", "fetch.wait.max.ms",
                                       "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "fetch.min.bytes",
                                       "group.instance.id", "partition.assignment.strategy",
                                       "isolation.level", "auto.commit.interval.ms", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcmp(prop, skip[i]) == 0) return 1;
    return 0;
}

/* Delivery reports: a message librdkafka gave up on is counted (see the classification). */
static void aj_sink_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    aj_kafka_sink *s = opaque;
    (void)rk;
    if (!m->err) return;
    if (!s->failed) s->first_error = m->err;
    s->failed++;
}

/* Error events: fatal ones end the sink; the others are transient and retried by librdkafka. */
static void aj_sink_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    aj_kafka_sink *s = opaque;
    char why[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, why, sizeof(why));
        aj_error("kafka-sink", "fatal producer error: %s", why);
        s->fatal = 1;
        return;
    }
    aj_warn("kafka-sink", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* True (and logged once) when the producer has hit a fatal error, noticed or not yet. */
static int aj_sink_is_fatal(aj_kafka_sink *s) {
    char why[512];
    if (s->fatal) return 1;
    if (rd_kafka_fatal_error(s->rk, why, sizeof(why)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        aj_error("kafka-sink", "fatal producer error: %s", why);
        s->fatal = 1;
    }
    return s->fatal;
}

/* Produces header + datum to the kind's topic, keyed by key (may be NULL). Enqueues only:
 * delivery is checked by flush. AJ_E_FATAL (logged), AJ_E_NOMEM, AJ_E_ARG. */
static aj_err aj_kafka_sink_write(aj_sink *sink, aj_output_kind kind, const char *key, const void *datum,
                                  size_t len) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    rd_kafka_resp_err_t e;

    if (aj_sink_is_fatal(s)) return AJ_E_FATAL;
    if ((unsigned)kind >= AJ_OUT__COUNT) return AJ_E_ARG;
    s->msg.len = 0;
    if (aj_avro_put_raw(&s->msg, s->header[kind], AJ_SOM_HEADER_LEN) || aj_avro_put_raw(&s->msg, datum, len))
        return AJ_E_NOMEM;
    for (;;) {
        e = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(s->topic[kind]), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                              RD_KAFKA_V_VALUE(s->msg.data, s->msg.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(s->rk, 10);   /* retriable: make room by serving delivery reports */
        if (aj_sink_is_fatal(s)) return AJ_E_FATAL;
    }
    if (e) {
        aj_error("kafka-sink", "cannot produce to %s: %s", s->topic[kind], rd_kafka_err2str(e));
        s->fatal = 1;
        return AJ_E_FATAL;
    }
    rd_kafka_poll(s->rk, 0);
    return aj_sink_is_fatal(s) ? AJ_E_FATAL : AJ_E_OK;
}

/* The sink's raw op (aj_emit.h): one message as it is, to an explicit partition. */
static aj_err aj_kafka_sink_raw(aj_sink *sink, const char *topic, int32_t partition, const void *key, size_t key_len,
                                const void *value, size_t len) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    rd_kafka_resp_err_t e;

    if (aj_sink_is_fatal(s)) return AJ_E_FATAL;
    for (;;) {
        e = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value ? len : 0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(s->rk, 10);   /* retriable, as in aj_kafka_sink_write */
        if (aj_sink_is_fatal(s)) return AJ_E_FATAL;
    }
    if (e) {
        aj_error("kafka-sink", "cannot produce to %s[%d]: %s", topic, (int)partition, rd_kafka_err2str(e));
        s->fatal = 1;
        return AJ_E_FATAL;
    }
    rd_kafka_poll(s->rk, 0);
    return aj_sink_is_fatal(s) ? AJ_E_FATAL : AJ_E_OK;
}

/* Logs a transactional API error and classifies it (examples/transactions.c): a fatal one or
 * one that needs an abort ends the sink (after aborting, so nothing of the transaction is
 * committed); a retriable one is AJ_E_RETRY. Destroys err. */
static aj_err aj_sink_txn_error(aj_kafka_sink *s, const char *what, rd_kafka_error_t *err) {
    aj_err rc = AJ_E_FATAL;
    if (rd_kafka_error_is_retriable(err)) {
        aj_warn("kafka-sink", "%s: %s (retrying)", what, rd_kafka_error_string(err));
        rc = AJ_E_RETRY;
    } else if (rd_kafka_error_txn_requires_abort(err)) {
        aj_error("kafka-sink", "%s: %s; the transaction is aborted", what, rd_kafka_error_string(err));
        rd_kafka_error_t *ae = rd_kafka_abort_transaction(s->rk, AJ_SINK_CLOSE_TIMEOUT_MS);
        if (ae) rd_kafka_error_destroy(ae);
        s->fatal = 1;
    } else {
        aj_error("kafka-sink", "%s: %s%s", what, rd_kafka_error_string(err),
                 rd_kafka_error_is_fatal(err) ? " (fatal: fenced by a newer producer, or the broker lost this one)"
                                              : "");
        s->fatal = 1;
    }
    rd_kafka_error_destroy(err);
    return rc;
}

/* Commits the open transaction (which flushes it), retrying retriable errors, and begins the
 * next one when again is set. */
static aj_err aj_kafka_sink_commit(aj_kafka_sink *s, int timeout_ms, int again) {
    rd_kafka_error_t *err;
    aj_err rc;
    do {
        err = rd_kafka_commit_transaction(s->rk, timeout_ms);
        rc = err ? aj_sink_txn_error(s, "cannot commit the output transaction", err) : AJ_E_OK;
    } while (rc == AJ_E_RETRY);
    if (rc != AJ_E_OK) return rc;
    if (s->failed) {
        aj_error("kafka-sink", "%lld outputs could not be delivered (first error: %s)", (long long)s->failed,
                 rd_kafka_err2str(s->first_error));
        s->fatal = 1;
        return AJ_E_FATAL;
    }
    if (again && (err = rd_kafka_begin_transaction(s->rk)))
        return aj_sink_txn_error(s, "cannot begin an output transaction", err);
    return AJ_E_OK;
}

/* Waits up to timeout_ms for every message produced so far. AJ_E_OK when all were delivered;
 * otherwise AJ_E_FATAL, logged, and the sink stays fatal. */
static aj_err aj_kafka_sink_flush(aj_sink *sink, int timeout_ms) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    rd_kafka_resp_err_t e;

    if (s->fatal) return AJ_E_FATAL;
    if (s->txn) return aj_kafka_sink_commit(s, timeout_ms, 1);
    e = rd_kafka_flush(s->rk, timeout_ms);
    if (aj_sink_is_fatal(s)) return AJ_E_FATAL;
    if (e) {
        aj_error("kafka-sink", "%d outputs not delivered within %d ms: %s", rd_kafka_outq_len(s->rk), timeout_ms,
                 rd_kafka_err2str(e));
        s->fatal = 1;
    } else if (s->failed) {
        aj_error("kafka-sink", "%lld outputs could not be delivered (first error: %s)", (long long)s->failed,
                 rd_kafka_err2str(s->first_error));
        s->fatal = 1;
    }
    return s->fatal ? AJ_E_FATAL : AJ_E_OK;
}

static void aj_kafka_sink_free(aj_kafka_sink *s) {
    if (s->rk) rd_kafka_destroy(s->rk);
    for (int k = 0; k < AJ_OUT__COUNT; k++) free(s->topic[k]);
    aj_bytes_free(&s->msg);
    free(s);
}

/* Flushes (up to a minute) and destroys the producer; returns the flush's result. */
static aj_err aj_kafka_sink_close(aj_sink *sink) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    aj_err rc = s->fatal ? AJ_E_FATAL
              : s->txn   ? aj_kafka_sink_commit(s, AJ_SINK_CLOSE_TIMEOUT_MS, 0)
                         : aj_kafka_sink_flush(sink, AJ_SINK_CLOSE_TIMEOUT_MS);
    if (rc != AJ_E_OK) /* undelivered messages would otherwise hold rd_kafka_destroy */
        rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    aj_kafka_sink_free(s);
    return rc;
}

/* Drops whatever is still queued or in flight (purge) and destroys the producer. NULL-safe. */
static void aj_kafka_sink_abort(aj_sink *sink) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    if (!s) return;
    if (s->rk && s->txn && !s->fatal) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(s->rk, AJ_SINK_CLOSE_TIMEOUT_MS);
        if (e) rd_kafka_error_destroy(e);
    }
    if (s->rk) {
        rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(s->rk, 0);   /* serve the purged messages' reports */
    }
    aj_kafka_sink_free(s);
}

static const aj_sink_ops aj_kafka_sink_ops = {aj_kafka_sink_write, aj_kafka_sink_flush, aj_kafka_sink_close,
                                              aj_kafka_sink_abort, aj_kafka_sink_raw};

/*
 * Builds the producer: defaults, then cfg's kafka.* properties (consumer-only ones skipped),
 * then enable.idempotence=true, which the sink's guarantees need. NULL with *rc and err:
 * AJ_E_CONFIG naming "kafka.<prop>" for a property librdkafka refuses (or transactional.id,
 * which this non-transactional producer cannot honour) or a missing topic, AJ_E_KAFKA when
 * the producer cannot be created, AJ_E_NOMEM.
 */
static aj_sink *aj_kafka_sink_new(const aj_config *cfg, const char *txn_id, aj_err *rc, char *err, size_t errlen) {
    static const char *const topic_keys[AJ_OUT__COUNT] = {"output.invoice_topic", "output.correction_topic",
                                                            "output.dead_letter_topic", "output.review_topic"};
    aj_kafka_sink *s = calloc(1, sizeof(*s));
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];
    const char *topics[AJ_OUT__COUNT];

    *rc = AJ_E_NOMEM;
    if (!s) {
        snprintf(err, errlen, "kafka sink: out of memory");
        return NULL;
    }
    s->base.ops = &aj_kafka_sink_ops;
    topics[AJ_OUT_INVOICE] = cfg->invoice_topic;
    topics[AJ_OUT_CORRECTION] = cfg->correction_topic;
    topics[AJ_OUT_DEAD_LETTER] = cfg->dead_letter_topic;
    topics[AJ_OUT_REVIEW] = cfg->review_topic;
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        const aj_schema *schema = aj_schema_current(aj_output_schema((aj_output_kind)k));
        if (!topics[k] || !topics[k][0]) {
            snprintf(err, errlen, "%s: no output topic configured", topic_keys[k]);
            *rc = AJ_E_CONFIG;
            goto error;
        }
        if (!schema) {
            snprintf(err, errlen, "kafka sink: schemas not initialized");
            *rc = AJ_E_ARG;
            goto error;
        }
        if (!(s->topic[k] = strdup(topics[k]))) {
            snprintf(err, errlen, "kafka sink: out of memory");
            goto error;
        }
        aj_som_header(schema->fingerprint, s->header[k]);
    }
    if (!(conf = rd_kafka_conf_new())) {
        snprintf(err, errlen, "kafka sink: out of memory");
        goto error;
    }
    /* Defaults first, so the configuration can override them: a short linger batches the
     * outputs of a burst, a deep queue rides out a slow broker without QUEUE_FULL loops. */
    rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "500000", NULL, 0);
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        const char *key = cfg->kafka[i].key, *value = cfg->kafka[i].value;
        if (aj_sink_skip(key)) continue;
        if (strcmp(key, "transactional.id") == 0) {
            if (txn_id) continue;   /* the id given, which `run` takes from this very key */
            snprintf(err, errlen, "kafka.transactional.id: this producer is idempotent, not transactional");
            *rc = AJ_E_CONFIG;
            goto error;
        }
        if (strcmp(key, "enable.idempotence") == 0 && strcmp(value, "true") != 0)
            aj_warn("kafka-sink", "kafka.enable.idempotence=%s ignored: the output producer is always idempotent",
                    value);
        if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", key, errstr);
            *rc = AJ_E_CONFIG;
            goto error;
        }
    }
    if (txn_id && rd_kafka_conf_set(conf, "transactional.id", txn_id, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "transactional.id %s: %s", txn_id, errstr);
        *rc = AJ_E_CONFIG;
        goto error;
    }
    /* Retries never duplicate or reorder within a partition. */
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka.enable.idempotence: %s", errstr);
        *rc = AJ_E_CONFIG;
        goto error;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, aj_sink_dr);
    rd_kafka_conf_set_error_cb(conf, aj_sink_error);
    if (!(s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create the Kafka producer: %s", errstr);
        *rc = AJ_E_KAFKA;
        goto error;
    }
    conf = NULL;   /* owned by rk now */
    if (txn_id) {
        /* Fences any earlier producer with the same id: from here on it cannot commit. */
        rd_kafka_error_t *e = rd_kafka_init_transactions(s->rk, AJ_SINK_CLOSE_TIMEOUT_MS);
        if (!e) e = rd_kafka_begin_transaction(s->rk);
        if (e) {
            snprintf(err, errlen, "cannot start a transaction as %s: %s", txn_id, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            *rc = AJ_E_KAFKA;
            goto error;
        }
        s->txn = 1;
    }
    *rc = AJ_E_OK;
    return &s->base;
error:
    if (conf) rd_kafka_conf_destroy(conf);
    aj_kafka_sink_free(s);
    return NULL;
}

void aj_kafka_sink_warm(aj_sink *sink, const char *topic, int timeout_ms) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->rk, topic, NULL);
    rd_kafka_resp_err_t e;

    if (!rkt) return;
    e = rd_kafka_metadata(s->rk, 0, rkt, &md, timeout_ms);
    if (e || md->topic_cnt != 1 || md->topics[0].err)
        aj_warn("kafka-sink", "topic %s: no metadata yet (%s); the first message to it waits for it", topic,
                rd_kafka_err2str(e ? e : md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
}

aj_sink *aj_kafka_sink_create(const aj_config *cfg, aj_err *rc, char *err, size_t errlen) {
    return aj_kafka_sink_new(cfg, NULL, rc, err, errlen);
}

aj_sink *aj_kafka_sink_create_txn(const aj_config *cfg, const char *txn_id, aj_err *rc, char *err, size_t errlen) {
    return aj_kafka_sink_new(cfg, txn_id, rc, err, errlen);
}
