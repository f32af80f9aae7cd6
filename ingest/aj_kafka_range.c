/* aj_kafka_range.c - a bounded range of a topic's partitions, read by assignment (no consumer group, no commits). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "aj_ingest.h"
#include "aj_kafka_int.h"
#include "aj_log.h"
#include "aj_clock.h"

typedef struct aj_kafka_range_source {
    aj_source base;
    rd_kafka_t *rk;
    char *topic;
    aj_kafka_range *ranges;     /* resolved, in the order read */
    size_t n;
    size_t cur;                 /* the range being read */
    int assigned;               /* ranges[cur] is assigned */
    int64_t *next;              /* per range: the next offset to hand on */
    int64_t idle_ms;            /* no message for this long while a range is unfinished: error */
    int64_t idle_since;
    rd_kafka_message_t *held;
    char detail[512];
} aj_kafka_range_source;

static aj_err aj_krange_next(aj_source *src, aj_message *msg, int timeout_ms);
static aj_err aj_krange_commit(aj_source *src);
static void aj_krange_destroy(aj_source *src);

static const aj_source_ops aj_krange_ops = {aj_krange_next, aj_krange_commit, aj_krange_destroy};

/* Consumer-side properties only: the same configuration drives the producers and the group. */
static int aj_krange_skip(const char *prop) {
    static const char *const group[] = {"group.id", "enable.auto.commit", "enable.auto.offset.store",
                                        "enable.partition.eof", "auto.offset.reset", NULL};
    for (int i = 0; group[i]; i++)
        if (strcmp(prop, group[i]) == 0) return 1;
    return aj_kafka_producer_prop(prop);
}

/*
 * A consumer that is never in a group: assign() only, no commits (auto-commit off, and the
 * range source's commit does nothing), auto.offset.reset=error so an offset the broker no longer
 * has is an error instead of a silent jump. NULL with err on failure (*rc CONFIG or KAFKA).
 */
static rd_kafka_t *aj_krange_consumer(const aj_config *cfg, aj_err *rc, char *err, size_t errlen) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    if (!conf) {
        *rc = AJ_E_NOMEM;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* A default the configuration may override: one fetch is in flight per broker, and the
     * empty fetch that follows a finished range waits this long before the next range's data
     * comes (500 ms by default: half a second per partition). */
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "20", NULL, 0);
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (aj_krange_skip(cfg->kafka[i].key)) continue;
        if (rd_kafka_conf_set(conf, cfg->kafka[i].key, cfg->kafka[i].value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.%s: %s", cfg->kafka[i].key, errstr);
            rd_kafka_conf_destroy(conf);
            *rc = AJ_E_CONFIG;
            return NULL;
        }
    }
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_conf_set(conf, "auto.offset.reset", "error", NULL, 0);
    rd_kafka_conf_set(conf, "group.id", "ajuste-replay", NULL, 0);   /* never joined: assign() only */
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create a Kafka consumer: %s", errstr);
        *rc = AJ_E_KAFKA;
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    *rc = AJ_E_OK;
    return rk;
}

/*
 * Reads the first message of topic[p] at or after offset (below high) into *ts / *at.
 * AJ_E_OK, AJ_E_KAFKA with err naming topic/partition/offset.
 */
static aj_err aj_krange_peek(rd_kafka_t *rk, const char *topic, int32_t p, int64_t offset, int timeout_ms,
                             int64_t *ts, int64_t *at, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t deadline = aj_now_ms() + timeout_ms;
    aj_err rc = AJ_E_KAFKA;

    if (!l) return AJ_E_NOMEM;
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = offset;
    if (rd_kafka_assign(rk, l)) {
        snprintf(err, errlen, "%s[%d]: cannot assign the partition", topic, (int)p);
        goto end;
    }
    while (aj_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            snprintf(err, errlen, "%s[%d]@%lld: %s", topic, (int)p, (long long)offset, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto end;
        }
        if (m->partition == p && m->offset >= offset) {
            *ts = rd_kafka_message_timestamp(m, NULL);
            *at = m->offset;
            rd_kafka_message_destroy(m);
            rc = AJ_E_OK;
            goto end;
        }
        rd_kafka_message_destroy(m);
    }
    snprintf(err, errlen, "%s[%d]@%lld: no message within %d ms", topic, (int)p, (long long)offset, timeout_ms);
end:
    rd_kafka_assign(rk, NULL);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/*
 * The first offset of topic[p] in [lo, hi) whose message timestamp is >= ts_ms, or hi when none
 * is. Asks the broker (ListOffsets by time); when the broker answers "none" although the last
 * message is at or after ts_ms (librdkafka 2.0.2's mock cluster answers -1 to every timestamp
 * query), searches by reading messages, assuming timestamps do not decrease along the
 * partition (as the broker's time index does).
 */
static aj_err aj_krange_time_offset(rd_kafka_t *rk, const char *topic, int32_t p, int64_t lo, int64_t hi,
                                    int64_t ts_ms, int timeout_ms, int64_t *out, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t e;
    int64_t ts, at, found;
    aj_err rc;

    if (lo >= hi) {
        *out = hi;
        return AJ_E_OK;
    }
    if (!(l = rd_kafka_topic_partition_list_new(1))) return AJ_E_NOMEM;
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = ts_ms;
    e = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (!e) e = l->elems[0].err;
    found = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "%s[%d]: cannot map time %lld to an offset: %s", topic, (int)p, (long long)ts_ms,
                 rd_kafka_err2str(e));
        return AJ_E_KAFKA;
    }
    if (found >= lo && found <= hi) {
        *out = found;
        return AJ_E_OK;
    }
    /* "None at or after ts_ms": true when the last message is older. */
    if ((rc = aj_krange_peek(rk, topic, p, hi - 1, timeout_ms, &ts, &at, err, errlen)) != AJ_E_OK) return rc;
    if (ts < ts_ms) {
        *out = hi;
        return AJ_E_OK;
    }
    /* Binary search over [lo, hi - 1]: the first offset whose timestamp is >= ts_ms. */
    int64_t a = lo, b = hi - 1;
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if ((rc = aj_krange_peek(rk, topic, p, mid, timeout_ms, &ts, &at, err, errlen)) != AJ_E_OK) return rc;
        if (ts >= ts_ms) b = mid < at ? mid : at;
        else a = at + 1;
    }
    *out = a;
    return AJ_E_OK;
}

/* One bound into an offset of topic[p], whose log is [lo, hi). AJ_E_ARG naming the bound. */
static aj_err aj_krange_bound(rd_kafka_t *rk, const char *topic, int32_t p, int64_t lo, int64_t hi,
                              const aj_range_bound *b, int is_from, int timeout_ms, int64_t *out, char *err,
                              size_t errlen) {
    switch (b->kind) {
    case AJ_BOUND_EDGE:
        *out = is_from ? lo : hi;
        return AJ_E_OK;
    case AJ_BOUND_TIME:
        return aj_krange_time_offset(rk, topic, p, lo, hi, b->value, timeout_ms, out, err, errlen);
    case AJ_BOUND_OFFSET:
    default:
        if (b->value > hi) {
            snprintf(err, errlen, "%s[%d]: %s offset %lld is beyond the log end (offsets %lld..%lld are readable, the "
                     "next message will be %lld)", topic, (int)p, is_from ? "--from" : "--to", (long long)b->value,
                     (long long)lo, (long long)(hi - 1), (long long)hi);
            return AJ_E_ARG;
        }
        if (b->value < lo) {
            snprintf(err, errlen, "%s[%d]: %s offset %lld is no longer in the log (retention removed it; it starts at "
                     "%lld)", topic, (int)p, is_from ? "--from" : "--to", (long long)b->value, (long long)lo);
            return AJ_E_ARG;
        }
        *out = b->value;
        return AJ_E_OK;
    }
}

aj_err aj_kafka_resolve_ranges(const aj_config *cfg, const char *topic, const aj_range_spec *spec, int timeout_ms,
                               aj_kafka_range **out, size_t *n_out, char *err, size_t errlen) {
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    aj_kafka_range *r = NULL;
    size_t n = 0;
    aj_err rc;
    rd_kafka_t *rk = aj_krange_consumer(cfg, &rc, err, errlen);

    *out = NULL;
    *n_out = 0;
    if (!rk) return rc;
    rc = AJ_E_KAFKA;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt || rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
        md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        snprintf(err, errlen, "topic %s cannot be read (missing, or the brokers do not answer)", topic);
        goto end;
    }
    int32_t n_parts = md->topics[0].partition_cnt;
    size_t want = spec->n_parts ? spec->n_parts : (size_t)n_parts;
    if (!(r = calloc(want, sizeof(*r)))) {
        rc = AJ_E_NOMEM;
        goto end;
    }
    for (size_t i = 0; i < want; i++) {
        int32_t p = spec->n_parts ? spec->parts[i] : (int32_t)i;
        int64_t lo, hi;
        if (p < 0 || p >= n_parts) {
            snprintf(err, errlen, "topic %s has no partition %d (it has %d: 0-%d)", topic, (int)p, (int)n_parts,
                     (int)n_parts - 1);
            rc = AJ_E_ARG;
            goto end;
        }
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, timeout_ms)) {
            snprintf(err, errlen, "%s[%d]: cannot read its offsets", topic, (int)p);
            goto end;
        }
        r[n].partition = p;
        r[n].low = lo;
        r[n].high = hi;
        if ((rc = aj_krange_bound(rk, topic, p, lo, hi, &spec->from, 1, timeout_ms, &r[n].from, err, errlen)) ||
            (rc = aj_krange_bound(rk, topic, p, lo, hi, &spec->to, 0, timeout_ms, &r[n].to, err, errlen)))
            goto end;
        if (r[n].to < r[n].from) r[n].to = r[n].from;   /* an empty range: nothing to read there */
        n++;
    }
    *out = r;
    *n_out = n;
    r = NULL;
    rc = AJ_E_OK;
end:
    free(r);
    if (md) rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

aj_source *aj_kafka_range_source_create(const aj_config *cfg, const char *topic, const aj_kafka_range *ranges,
                                        size_t n, int idle_ms, aj_err *rc, char *err, size_t errlen) {
    aj_kafka_range_source *ks = calloc(1, sizeof(*ks));

    *rc = AJ_E_NOMEM;
    if (!ks || !(ks->topic = strdup(topic)) || !(ks->ranges = calloc(n ? n : 1, sizeof(*ks->ranges))) ||
        !(ks->next = calloc(n ? n : 1, sizeof(*ks->next)))) {
        snprintf(err, errlen, "out of memory");
        goto error;
    }
    ks->base.ops = &aj_krange_ops;
    memcpy(ks->ranges, ranges, n * sizeof(*ranges));
    ks->n = n;
    ks->idle_ms = idle_ms > 0 ? idle_ms : 30000;
    for (size_t i = 0; i < n; i++) ks->next[i] = ranges[i].from;
    if (!(ks->rk = aj_krange_consumer(cfg, rc, err, errlen))) goto error;
    return &ks->base;
error:
    aj_krange_destroy(ks ? &ks->base : NULL);
    return NULL;
}

void aj_kafka_range_source_progress(const aj_source *src, int64_t *done, int64_t *total) {
    const aj_kafka_range_source *ks = (const aj_kafka_range_source *)src;
    *done = *total = 0;
    for (size_t i = 0; i < ks->n; i++) {
        *total += ks->ranges[i].to - ks->ranges[i].from;
        *done += ks->next[i] - ks->ranges[i].from;
    }
}

int64_t aj_kafka_range_source_next_offset(const aj_source *src, size_t i) {
    const aj_kafka_range_source *ks = (const aj_kafka_range_source *)src;
    return i < ks->n ? ks->next[i] : -1;
}

/* Assigns ranges[cur] at its next offset. */
static aj_err aj_krange_assign(aj_kafka_range_source *ks) {
    const aj_kafka_range *r = &ks->ranges[ks->cur];
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;

    if (!l) return AJ_E_NOMEM;
    rd_kafka_topic_partition_list_add(l, ks->topic, r->partition)->offset = ks->next[ks->cur];
    e = rd_kafka_assign(ks->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        aj_error("kafka", "%s[%d]@%lld: cannot assign: %s", ks->topic, (int)r->partition,
                 (long long)ks->next[ks->cur], rd_kafka_err2str(e));
        return AJ_E_KAFKA;
    }
    ks->assigned = 1;
    ks->idle_since = aj_now_ms();
    return AJ_E_OK;
}

/*
 * The ranges one after the other, each partition in offset order. AJ_E_OK with msg borrowed until
 * the next call; AJ_E_RETRY when nothing came within timeout_ms; AJ_E_EOF after the last range;
 * AJ_E_KAFKA with an error logged naming topic[partition]@offset when a range cannot be read
 * (an offset the broker no longer has, no progress for idle_ms).
 */
static aj_err aj_krange_next(aj_source *src, aj_message *msg, int timeout_ms) {
    aj_kafka_range_source *ks = (aj_kafka_range_source *)src;
    int64_t deadline = aj_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    aj_err rc;

    if (ks->held) {
        rd_kafka_message_destroy(ks->held);
        ks->held = NULL;
    }
    for (;;) {
        while (ks->cur < ks->n && ks->next[ks->cur] >= ks->ranges[ks->cur].to) {
            ks->cur++;
            ks->assigned = 0;
        }
        if (ks->cur >= ks->n) {
            rd_kafka_assign(ks->rk, NULL);
            return AJ_E_EOF;
        }
        if (!ks->assigned && (rc = aj_krange_assign(ks)) != AJ_E_OK) return rc;
        const aj_kafka_range *r = &ks->ranges[ks->cur];
        int64_t now = aj_now_ms();
        if (now - ks->idle_since > ks->idle_ms) {
            aj_error("kafka", "%s[%d]@%lld: no message for %lld ms (range %lld..%lld)", ks->topic, (int)r->partition,
                     (long long)ks->next[ks->cur], (long long)ks->idle_ms, (long long)r->from, (long long)r->to - 1);
            return AJ_E_KAFKA;
        }
        int64_t left = deadline - now;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(ks->rk, left > 0 ? (int)(left < 100 ? left : 100) : 0);
        if (!m) {
            if (aj_now_ms() >= deadline) return AJ_E_RETRY;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            aj_error("kafka", "%s[%d]@%lld: %s", ks->topic, (int)r->partition, (long long)ks->next[ks->cur],
                     rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return AJ_E_KAFKA;
        }
        if (m->partition != r->partition || m->offset < ks->next[ks->cur]) {
            rd_kafka_message_destroy(m);   /* left over from an earlier assignment */
            continue;
        }
        ks->idle_since = aj_now_ms();
        if (m->offset >= r->to) {
            ks->next[ks->cur] = r->to;    /* past the range (offsets may skip: compaction) */
            rd_kafka_message_destroy(m);
            continue;
        }
        ks->next[ks->cur] = m->offset + 1;
        ks->held = m;
        aj_kafka_message_view(m, ks->topic, msg);
        return AJ_E_OK;
    }
}

/* Nothing: a range reader never commits (it has no group). */
static aj_err aj_krange_commit(aj_source *src) {
    (void)src;
    return AJ_E_OK;
}

static void aj_krange_destroy(aj_source *src) {
    aj_kafka_range_source *ks = (aj_kafka_range_source *)src;
    if (!ks) return;
    aj_kafka_consumer_free(ks->rk, ks->held);
    free(ks->ranges);
    free(ks->next);
    free(ks->topic);
    free(ks);
}
