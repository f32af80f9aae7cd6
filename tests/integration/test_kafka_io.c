/* test_kafka_io.c - the Kafka usage source (group, EOF, commit, resume) and the contract reader, over the mock cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "../unit/aj_fixtures.h"
#include "aj_ingest.h"

#define MAX_PARTS 8
#define MAX_PER_PART 4096

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A configuration for topic and group against the mock cluster. */
static void make_cfg(aj_config *cfg, const char *topic, const char *group, int exit_at_end) {
    char err[256];
    assert_int_equal(aj_config_init(cfg), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "input.usage_topic", topic, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "kafka.bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock), err,
                                   sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "kafka.log_level", "3", err, sizeof(err)), AJ_E_OK);
    /* The 2.0.2 mock keeps a group whose last member left out of its "empty" state: the next
     * member's join then waits a whole session.timeout.ms (45 s by default) for assignment. */
    assert_int_equal(aj_config_set(cfg, "kafka.session.timeout.ms", "3000", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "kafka.heartbeat.interval.ms", "500", err, sizeof(err)), AJ_E_OK);
    /* Producer-only properties in the same file must not trouble the consumer. */
    assert_int_equal(aj_config_set(cfg, "kafka.linger.ms", "5", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "kafka.acks", "all", err, sizeof(err)), AJ_E_OK);
    if (group) assert_int_equal(aj_config_set(cfg, "kafka.group.id", group, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "run.exit_at_end", exit_at_end ? "true" : "false", err, sizeof(err)),
                     AJ_E_OK);
}

/* Produces value[i] (len[i] bytes) to partition i % parts of topic, and waits for delivery. */
static void produce(const char *topic, int parts, size_t n, const void *const *value, const size_t *len) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mock), NULL, 0);
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(prod);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%zu", i);
        assert_int_equal(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)(i % (size_t)parts)),
                                           RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)(uintptr_t)value[i], len[i]),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         0);
    }
    assert_int_equal(rd_kafka_flush(prod, 30000), 0);
    rd_kafka_destroy(prod);
}

/* Produces n messages "v-<i>" to topic. */
static void produce_plain(const char *topic, int parts, size_t n) {
    char **v = calloc(n, sizeof(char *));
    size_t *len = calloc(n, sizeof(size_t));
    assert_non_null(v);
    assert_non_null(len);
    for (size_t i = 0; i < n; i++) {
        v[i] = malloc(32);
        assert_non_null(v[i]);
        len[i] = (size_t)snprintf(v[i], 32, "v-%zu", i);
    }
    produce(topic, parts, n, (const void *const *)v, len);
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    free(len);
}

/* What a source returned: which positions, and which values. */
typedef struct seen {
    unsigned char pos[MAX_PARTS][MAX_PER_PART];
    unsigned char val[MAX_PER_PART * MAX_PARTS];
    size_t n;
} seen;

/* Reads up to max messages (or to EOF when max < 0) within 60 s; returns the last rc. Every
 * position is new to *s, every message is borrowed and well formed. */
static aj_err drain(aj_source *src, const char *topic, seen *s, int64_t max) {
    int64_t deadline = now_ms() + 60000, got = 0;
    aj_message m;
    aj_err rc = AJ_E_RETRY;

    while ((max < 0 || got < max) && now_ms() < deadline) {
        rc = aj_source_next(src, &m, 200);
        if (rc == AJ_E_RETRY) continue;
        if (rc != AJ_E_OK) break;
        assert_string_equal(m.pos.origin, topic);
        assert_null(m.writer);
        assert_true(m.pos.partition >= 0 && m.pos.partition < MAX_PARTS);
        assert_true(m.pos.offset >= 0 && m.pos.offset < MAX_PER_PART);
        assert_false(s->pos[m.pos.partition][m.pos.offset]);
        s->pos[m.pos.partition][m.pos.offset] = 1;
        assert_non_null(m.key);
        unsigned i;
        char text[32];
        assert_true(m.value_len < sizeof(text));
        memcpy(text, m.value, m.value_len);
        text[m.value_len] = '\0';
        assert_int_equal(sscanf(text, "v-%u", &i), 1);
        assert_true(i < sizeof(s->val));
        s->val[i] = 1;
        s->n++;
        got++;
    }
    if (max >= 0 && got == max) return AJ_E_OK;
    return rc;
}

static aj_source *source(const aj_config *cfg) {
    char err[512];
    aj_err rc;
    aj_source *src = aj_kafka_source_create(cfg, &rc, err, sizeof(err));
    if (!src) fail_msg("%s", err);
    assert_int_equal(rc, AJ_E_OK);
    return src;
}

/* Everything once, then a committed group has nothing left: the next member starts at the end. */
static void test_read_all_commit_resume(void **state) {
    static seen a, b;
    aj_config cfg;
    (void)state;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(rd_kafka_mock_topic_create(mock, "io.all", 4, 1), 0);
    produce_plain("io.all", 4, 1000);
    make_cfg(&cfg, "io.all", "g-all", 1);

    aj_source *src = source(&cfg);
    assert_int_equal(drain(src, "io.all", &a, -1), AJ_E_EOF);
    assert_int_equal(a.n, 1000);
    for (size_t i = 0; i < 1000; i++) assert_true(a.val[i]);
    for (int p = 0; p < 4; p++)
        for (int o = 0; o < 250; o++) assert_true(a.pos[p][o]);
    aj_message m;
    assert_int_equal(aj_source_next(src, &m, 0), AJ_E_EOF);   /* stays at the end */
    assert_int_equal(aj_source_commit(src), AJ_E_OK);
    assert_int_equal(aj_source_commit(src), AJ_E_OK);            /* nothing new: a no-op */
    aj_source_destroy(src);

    src = source(&cfg);
    assert_int_equal(drain(src, "io.all", &b, -1), AJ_E_EOF);
    assert_int_equal(b.n, 0);
    aj_source_destroy(src);
    aj_config_free(&cfg);
}

/* A member that stops without committing: its successor re-reads from the last commit, exactly. */
static void test_uncommitted_is_reread(void **state) {
    static seen a, b, c;
    aj_config cfg;
    (void)state;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    assert_int_equal(rd_kafka_mock_topic_create(mock, "io.reread", 3, 1), 0);
    produce_plain("io.reread", 3, 600);
    make_cfg(&cfg, "io.reread", "g-reread", 1);

    aj_source *src = source(&cfg);
    assert_int_equal(drain(src, "io.reread", &a, 200), AJ_E_OK);
    assert_int_equal(aj_source_commit(src), AJ_E_OK);
    seen committed = a;
    assert_int_equal(drain(src, "io.reread", &a, 100), AJ_E_OK);   /* processed, never committed */
    aj_source_destroy(src);

    src = source(&cfg);
    assert_int_equal(drain(src, "io.reread", &b, -1), AJ_E_EOF);
    assert_int_equal(b.n, 400);
    for (int p = 0; p < 3; p++)
        for (int o = 0; o < 200; o++) assert_true(committed.pos[p][o] != b.pos[p][o]);   /* a partition */
    for (size_t i = 0; i < 600; i++)
        if (a.val[i] && !committed.val[i]) assert_true(b.val[i]);   /* the uncommitted 100, again */
    assert_int_equal(aj_source_commit(src), AJ_E_OK);
    aj_source_destroy(src);

    src = source(&cfg);
    assert_int_equal(drain(src, "io.reread", &c, -1), AJ_E_EOF);
    assert_int_equal(c.n, 0);
    aj_source_destroy(src);
    aj_config_free(&cfg);
}

/* Without run.exit_at_end the end of the topic is only a pause. */
static void test_no_exit_at_end(void **state) {
    aj_config cfg;
    aj_message m;
    aj_err rc = AJ_E_OK;
    (void)state;

    assert_int_equal(rd_kafka_mock_topic_create(mock, "io.idle", 2, 1), 0);
    make_cfg(&cfg, "io.idle", NULL, 0);   /* default group "ajuste" */
    aj_source *src = source(&cfg);
    int64_t deadline = now_ms() + 6000;   /* past the mock group's first rebalance (3 s) */
    while (now_ms() < deadline) {
        rc = aj_source_next(src, &m, 200);
        assert_int_equal(rc, AJ_E_RETRY);
    }
    aj_source_destroy(src);
    aj_config_free(&cfg);
}

static void test_bad_property(void **state) {
    aj_config cfg;
    char err[512];
    aj_err rc = AJ_E_OK;
    (void)state;

    make_cfg(&cfg, "io.none", "g-none", 1);
    assert_int_equal(aj_config_set(&cfg, "kafka.no.such.property", "1", err, sizeof(err)), AJ_E_OK);
    assert_null(aj_kafka_source_create(&cfg, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_CONFIG);
    assert_non_null(strstr(err, "kafka.no.such.property"));
    aj_config_free(&cfg);

    make_cfg(&cfg, "io.none", "g-none", 1);
    assert_int_equal(aj_config_set(&cfg, "kafka.fetch.wait.max.ms", "banana", err, sizeof(err)), AJ_E_OK);
    assert_null(aj_kafka_source_create(&cfg, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_CONFIG);
    assert_non_null(strstr(err, "kafka.fetch.wait.max.ms"));
    aj_config_free(&cfg);
}

typedef struct taken {
    int64_t n;
    int versions[8];
} taken;

static aj_err take_contract(void *opaque, aj_contract *c) {
    taken *t = opaque;
    assert_string_equal(c->account, "ACC1");
    assert_true(c->version >= 1 && c->version <= 5);
    t->versions[c->version]++;
    t->n++;
    aj_contract_free(c);
    return AJ_E_OK;
}

/* Valid contract versions are handed over; garbage is counted and logged, never fatal. */
static void test_read_contracts(void **state) {
    const aj_schema *cs = aj_schema_current(AJ_SCHEMA_CONTRACT);
    aj_encoder *enc = aj_encoder_create();
    aj_bytes msgs[7];
    const void *v[7];
    size_t len[7];
    aj_config cfg;
    char err[512];
    taken t;
    int64_t read = -1, rejected = -1;
    (void)state;

    memset(msgs, 0, sizeof(msgs));
    memset(&t, 0, sizeof(t));
    assert_non_null(enc);
    for (int i = 0; i < 5; i++) {
        aj_contract *c = fx_contract(i + 1, 1000 * i, INT64_MAX, 120000);
        uint8_t h[AJ_SOM_HEADER_LEN];
        aj_som_header(cs->fingerprint, h);
        assert_int_equal(aj_avro_put_raw(&msgs[i], h, sizeof(h)), AJ_E_OK);
        assert_int_equal(aj_encode_contract(enc, c, &msgs[i]), AJ_E_OK);
        aj_contract_free(c);
    }
    assert_int_equal(aj_avro_put_raw(&msgs[5], "not avro at all", 15), AJ_E_OK);
    /* A real contract cut short. */
    assert_int_equal(aj_avro_put_raw(&msgs[6], msgs[0].data, msgs[0].len / 2), AJ_E_OK);
    for (int i = 0; i < 7; i++) {
        v[i] = msgs[i].data;
        len[i] = msgs[i].len;
    }
    assert_int_equal(rd_kafka_mock_topic_create(mock, "io.contracts", 2, 1), 0);
    produce("io.contracts", 2, 7, v, len);

    make_cfg(&cfg, "io.usage-unused", NULL, 1);
    assert_int_equal(aj_kafka_read_contracts(&cfg, "io.contracts", 30000, take_contract, &t, &read, &rejected, err,
                                             sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(read, 5);
    assert_int_equal(rejected, 2);
    assert_int_equal(t.n, 5);
    for (int i = 1; i <= 5; i++) assert_int_equal(t.versions[i], 1);

    /* A property librdkafka refuses. */
    assert_int_equal(aj_config_set(&cfg, "kafka.no.such.property", "1", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_kafka_read_contracts(&cfg, "io.contracts", 2000, take_contract, &t, &read, &rejected, err,
                                             sizeof(err)),
                     AJ_E_CONFIG);
    assert_non_null(strstr(err, "kafka.no.such.property"));

    aj_config_free(&cfg);
    for (int i = 0; i < 7; i++) aj_bytes_free(&msgs[i]);
    aj_encoder_destroy(enc);
}

static int setup(void **state) {
    char errstr[256];
    (void)state;
    if (aj_schemas_init() != AJ_E_OK) return -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) return -1;
    return (mock = rd_kafka_mock_cluster_new(mock_rk, 1)) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    if (mock) rd_kafka_mock_cluster_destroy(mock);
    if (mock_rk) rd_kafka_destroy(mock_rk);
    aj_schemas_shutdown();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_all_commit_resume),
        cmocka_unit_test(test_uncommitted_is_reread),
        cmocka_unit_test(test_no_exit_at_end),
        cmocka_unit_test(test_bad_property),
        cmocka_unit_test(test_read_contracts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
