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

aj_err aj_kafka_read_topic(const aj_config *cfg, const char *topic, int timeout_ms,
                           aj_err (*fn)(void *opaque, const aj_message *msg), void *opaque,
                           int64_t *count, char *err, size_t errlen) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    int64_t *high = NULL, *next = NULL, n = 0;
    int n_parts = 0, left = 0;
    aj_err rc = AJ_E_KAFKA;

    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (aj_reader_skip(cfg->kafka[i].key)) continue;
        if (rd_kafka_conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka[i].key, errstr);
            rd_kafka_conf_destroy(conf);
            return AJ_E_CONFIG;
        }
    }
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "group.id", "ajuste-reader", NULL, 0);
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create a Kafka consumer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return AJ_E_KAFKA;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
        md->topics[0].err) {
        snprintf(err, errlen, "topic %s cannot be read (missing, or the brokers do not answer)", topic);
        goto end;
    }
    n_parts = md->topics[0].partition_cnt;
    high = calloc((size_t)n_parts + 1, sizeof(*high));
    next = calloc((size_t)n_parts + 1, sizeof(*next));
    parts = rd_kafka_topic_partition_list_new(n_parts);
    if (!high || !next || !parts) {
        rc = AJ_E_NOMEM;
        goto end;
    }
    for (int p = 0; p < n_parts; p++) {
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &high[p], timeout_ms)) {
            snprintf(err, errlen, "topic %s partition %d: cannot read its offsets", topic, p);
            goto end;
        }
        next[p] = lo;
        if (lo < high[p]) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
            left++;
        }
    }
    if (left && rd_kafka_assign(rk, parts)) {
        snprintf(err, errlen, "topic %s: cannot assign its partitions", topic);
        goto end;
    }
    int64_t deadline_idle = 0;
    while (left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if ((deadline_idle += 100) >= timeout_ms) {
                snprintf(err, errlen, "topic %s: no progress for %d ms with %d partitions unread", topic,
                         timeout_ms, left);
                goto end;
            }
            continue;
        }
        deadline_idle = 0;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                aj_warn("kafka", "reading %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int32_t p = m->partition;
        if (p < 0 || p >= n_parts || m->offset < next[p] || next[p] >= high[p]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        aj_message msg = {m->key, m->key_len, m->payload, m->len, {topic, p, m->offset}, NULL, NULL};
        aj_err frc = fn(opaque, &msg);
        next[p] = m->offset + 1;
        n++;
        rd_kafka_message_destroy(m);
        if (frc != AJ_E_OK) {
            rc = frc;
            goto end;
        }
        if (next[p] >= high[p]) left--;
    }
    rc = AJ_E_OK;
end:
    if (count) *count = n;
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (md) rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(high);
    free(next);
    return rc;
}
