/* aj_kafka_reader.c - read a whole topic up to its high watermarks, without a consumer group. */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "aj_ingest.h"
#include "aj_log.h"

/* Consumer-side properties only: the same config file also configures producers. */
static int aj_reader_skip(const char *prop) {
    static const char *const skip[] = {"group.id", "enable.auto.commit", "enable.auto.offset.store",
                                       "enable.partition.eof", "auto.offset.reset", "linger.ms",
                                       "enable.idempotence", "acks", "transactional.id", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcmp(prop, skip[i]) == 0) return 1;
    return 0;
}

struct aj_kafka_follower {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char *topic;
    int n_parts;
    int64_t *next;        /* per partition: the next offset to hand on */
    int assigned;
};

void aj_kafka_follower_destroy(aj_kafka_follower *f) {
    if (!f) return;
    if (f->rkt) rd_kafka_topic_destroy(f->rkt);
    if (f->rk) {
        rd_kafka_consumer_close(f->rk);
        rd_kafka_destroy(f->rk);
    }
    free(f->topic);
    free(f->next);
    free(f);
}

int aj_kafka_follower_partitions(const aj_kafka_follower *f) {
    return f->n_parts;
}

aj_err aj_kafka_follower_seek(aj_kafka_follower *f, int32_t p, int64_t offset) {
    if (p < 0 || p >= f->n_parts) return AJ_E_ARG;
    f->next[p] = offset < 0 ? -1 : offset;
    return AJ_E_OK;
}

aj_kafka_follower *aj_kafka_follower_create(const aj_config *cfg, const char *topic, int timeout_ms, aj_err *rc,
                                            char *err, size_t errlen) {
    char errstr[512];
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    aj_kafka_follower *f = calloc(1, sizeof(*f));

    *rc = AJ_E_NOMEM;
    if (!f || !conf || !(f->topic = strdup(topic))) goto error;
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (aj_reader_skip(cfg->kafka[i].key)) continue;
        if (rd_kafka_conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka[i].key, errstr);
            *rc = AJ_E_CONFIG;
            goto error;
        }
    }
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "group.id", "ajuste-reader", NULL, 0);   /* never joined: assign() only */
    if (!(f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create a Kafka consumer: %s", errstr);
        *rc = AJ_E_KAFKA;
        goto error;
    }
    conf = NULL;
    f->rkt = rd_kafka_topic_new(f->rk, topic, NULL);
    if (rd_kafka_metadata(f->rk, 0, f->rkt, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
        md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        snprintf(err, errlen, "topic %s cannot be read (missing, or the brokers do not answer)", topic);
        *rc = AJ_E_KAFKA;
        goto error;
    }
    f->n_parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    md = NULL;
    if (!(f->next = calloc((size_t)f->n_parts, sizeof(*f->next)))) goto error;
    for (int p = 0; p < f->n_parts; p++) f->next[p] = -1;   /* from the low watermark */
    *rc = AJ_E_OK;
    return f;
error:
    if (md) rd_kafka_metadata_destroy(md);
    if (conf) rd_kafka_conf_destroy(conf);
    if (*rc == AJ_E_NOMEM) snprintf(err, errlen, "out of memory");
    aj_kafka_follower_destroy(f);
    return NULL;
}

aj_err aj_kafka_follower_sync(aj_kafka_follower *f, int timeout_ms, aj_err (*fn)(void *opaque, const aj_message *msg),
                              void *opaque, int64_t *count, char *err, size_t errlen) {
    const char *topic = f->topic;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(f->n_parts);
    int64_t *high = calloc((size_t)f->n_parts, sizeof(*high)), n = 0;
    int left = 0;
    aj_err rc = AJ_E_KAFKA;

    if (!parts || !high) {
        rc = AJ_E_NOMEM;
        goto end;
    }
    for (int p = 0; p < f->n_parts; p++) {
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(f->rk, topic, p, &lo, &high[p], timeout_ms)) {
            snprintf(err, errlen, "topic %s partition %d: cannot read its offsets", topic, p);
            goto end;
        }
        if (f->next[p] < lo) f->next[p] = lo;   /* first sync, or data deleted by retention */
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = f->next[p];
        if (f->next[p] < high[p]) left++;
    }
    /* Every partition at its next offset: the fetcher starts where the last sync stopped. */
    if (left && rd_kafka_assign(f->rk, parts)) {
        snprintf(err, errlen, "topic %s: cannot assign its partitions", topic);
        goto end;
    }
    int64_t idle = 0;
    while (left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, 100);
        if (!m) {
            if ((idle += 100) >= timeout_ms) {
                snprintf(err, errlen, "topic %s: no progress for %d ms with %d partitions unread", topic, timeout_ms,
                         left);
                goto end;
            }
            continue;
        }
        idle = 0;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                aj_warn("kafka", "reading %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int32_t p = m->partition;
        if (p < 0 || p >= f->n_parts || m->offset < f->next[p] || f->next[p] >= high[p]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        aj_message msg = {m->key, m->key_len, m->payload, m->len, {topic, p, m->offset}, NULL, NULL};
        aj_err frc = fn(opaque, &msg);
        f->next[p] = m->offset + 1;
        n++;
        rd_kafka_message_destroy(m);
        if (frc != AJ_E_OK) {
            rc = frc;
            goto end;
        }
        if (f->next[p] >= high[p]) left--;
    }
    rc = AJ_E_OK;
end:
    /* Nothing fetched between syncs: positions are kept in f->next. */
    rd_kafka_assign(f->rk, NULL);
    if (count) *count = n;
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    free(high);
    return rc;
}

aj_err aj_kafka_read_topic(const aj_config *cfg, const char *topic, int timeout_ms,
                           aj_err (*fn)(void *opaque, const aj_message *msg), void *opaque,
                           int64_t *count, char *err, size_t errlen) {
    aj_err rc;
    aj_kafka_follower *f = aj_kafka_follower_create(cfg, topic, timeout_ms, &rc, err, errlen);
    if (count) *count = 0;
    if (!f) return rc;
    rc = aj_kafka_follower_sync(f, timeout_ms, fn, opaque, count, err, errlen);
    aj_kafka_follower_destroy(f);
    return rc;
}
