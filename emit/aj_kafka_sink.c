/* aj_kafka_sink.c - the outputs to Kafka through one idempotent producer. */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "aj_emit.h"
#include "aj_log.h"

typedef struct aj_kafka_sink {
    aj_sink base;
    rd_kafka_t *rk;
    char *topic[AJ_OUT__COUNT];
    uint8_t header[AJ_OUT__COUNT][AJ_SOM_HEADER_LEN];
    aj_bytes msg;              /* header + datum of the message being produced */
    int64_t failed;            /* deliveries that failed after librdkafka's own retries */
    rd_kafka_resp_err_t first_error;
    int fatal;
} aj_kafka_sink;

/* Producer-side properties only: the same configuration also configures consumers. */
static int aj_sink_skip(const char *prop) {
    static const char *const skip[] = {"group.id", "enable.auto.commit", "enable.auto.offset.store",
                                       "enable.partition.eof", "auto.offset.reset", "fetch.wait.max.ms",
                                       "session.timeout.ms", "max.poll.interval.ms", "fetch.min.bytes",
                                       "group.instance.id", "partition.assignment.strategy",
                                       "isolation.level", "auto.commit.interval.ms", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcmp(prop, skip[i]) == 0) return 1;
    return 0;
}

/* Delivery reports: a message librdkafka gave up on (after its retries, or a permanent error)
 * is counted; the next flush reports it and the input is not committed. */
static void aj_sink_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    aj_kafka_sink *s = opaque;
    (void)rk;
    if (!m->err) return;
    if (!s->failed) s->first_error = m->err;
    s->failed++;
}

/* librdkafka's error events: fatal ones (an idempotence guarantee lost) end the sink; the
 * others are transient (broker down, timeouts) and librdkafka retries them itself. */
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

static aj_err aj_kafka_sink_write(aj_sink *sink, aj_output_kind kind, const char *key, const void *datum,
                                  size_t len) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    rd_kafka_resp_err_t e;

    if (s->fatal) return AJ_E_FATAL;
    if ((unsigned)kind >= AJ_OUT__COUNT) return AJ_E_ARG;
    s->msg.len = 0;
    if (aj_avro_put_raw(&s->msg, s->header[kind], AJ_SOM_HEADER_LEN) || aj_avro_put_raw(&s->msg, datum, len))
        return AJ_E_NOMEM;
    /* Only a full local queue is retried here, after serving delivery reports (librdkafka
     * examples/transactions.c); any other error is the application's and is fatal. */
    while ((e = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(s->topic[kind]),
                                  RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE(s->msg.data, s->msg.len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(s->rk, 10);
    if (e) {
        aj_error("kafka-sink", "cannot produce to %s: %s", s->topic[kind], rd_kafka_err2str(e));
        return AJ_E_FATAL;
    }
    rd_kafka_poll(s->rk, 0);
    return s->fatal ? AJ_E_FATAL : AJ_E_OK;
}

static aj_err aj_kafka_sink_flush(aj_sink *sink, int timeout_ms) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    rd_kafka_resp_err_t e = rd_kafka_flush(s->rk, timeout_ms);
    if (s->fatal) return AJ_E_FATAL;
    if (e) {
        aj_error("kafka-sink", "outputs not delivered within %d ms: %s", timeout_ms, rd_kafka_err2str(e));
        return AJ_E_FATAL;
    }
    if (s->failed) {
        aj_error("kafka-sink", "%lld outputs could not be delivered (first error: %s)", (long long)s->failed,
                 rd_kafka_err2str(s->first_error));
        return AJ_E_FATAL;
    }
    return AJ_E_OK;
}

static void aj_kafka_sink_free(aj_kafka_sink *s) {
    if (s->rk) rd_kafka_destroy(s->rk);
    for (int k = 0; k < AJ_OUT__COUNT; k++) free(s->topic[k]);
    aj_bytes_free(&s->msg);
    free(s);
}

static aj_err aj_kafka_sink_close(aj_sink *sink) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    aj_err rc = aj_kafka_sink_flush(sink, 60000);
    aj_kafka_sink_free(s);
    return rc;
}

static void aj_kafka_sink_abort(aj_sink *sink) {
    aj_kafka_sink *s = (aj_kafka_sink *)sink;
    if (!s) return;
    if (s->rk) {
        rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(s->rk, 1000);
    }
    aj_kafka_sink_free(s);
}

static const aj_sink_ops aj_kafka_sink_ops = {aj_kafka_sink_write, aj_kafka_sink_flush, aj_kafka_sink_close,
                                              aj_kafka_sink_abort};

aj_sink *aj_kafka_sink_create(const aj_config *cfg, aj_err *rc, char *err, size_t errlen) {
    aj_kafka_sink *s = calloc(1, sizeof(*s));
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];
    const char *topics[AJ_OUT__COUNT];

    *rc = AJ_E_NOMEM;
    if (!s) return NULL;
    s->base.ops = &aj_kafka_sink_ops;
    topics[AJ_OUT_INVOICE] = cfg->invoice_topic;
    topics[AJ_OUT_CORRECTION] = cfg->correction_topic;
    topics[AJ_OUT_DEAD_LETTER] = cfg->dead_letter_topic;
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        if (!(s->topic[k] = strdup(topics[k]))) goto error;
        aj_som_header(aj_schema_current(aj_output_schema((aj_output_kind)k))->fingerprint, s->header[k]);
    }
    conf = rd_kafka_conf_new();
    /* Defaults first, so the configuration can override them. */
    rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "500000", NULL, 0);
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (aj_sink_skip(cfg->kafka[i].key)) continue;
        if (rd_kafka_conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka[i].key, errstr);
            *rc = AJ_E_CONFIG;
            goto error;
        }
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
    *rc = AJ_E_OK;
    return &s->base;
error:
    if (conf && !s->rk) rd_kafka_conf_destroy(conf);
    aj_kafka_sink_free(s);
    return NULL;
}
