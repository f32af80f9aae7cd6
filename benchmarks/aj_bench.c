/* aj_bench.c - throughput of each stage and of the whole chain, beside the mock cluster's ceiling. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "aj_cmd.h"
#include "aj_gen.h"
#include "aj_log.h"
#include "aj_rating.h"

/* The workload in memory: single-object framed messages and their keys. */
typedef struct bench_msg {
    char key[AJ_KEY_LEN + 1];
    uint8_t *value;
    size_t len;
} bench_msg;

typedef struct bench_list {
    bench_msg *v;
    size_t n, cap;
} bench_list;

typedef struct bench {
    bench_list contracts, events;
    aj_gen_opts gen;
    int partitions;
    int passes;
} bench;

static void bench_die(const char *what) {
    fprintf(stderr, "aj_bench: %s\n", what);
    exit(1);
}

static void bench_add(bench_list *l, aj_schema_id id, const char *key, const void *datum, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        if (!(l->v = realloc(l->v, l->cap * sizeof(*l->v)))) bench_die("out of memory");
    }
    bench_msg *m = &l->v[l->n++];
    snprintf(m->key, sizeof(m->key), "%s", key);
    m->len = len + AJ_SOM_HEADER_LEN;
    if (!(m->value = malloc(m->len))) bench_die("out of memory");
    aj_som_header(aj_schema_current(id)->fingerprint, m->value);
    memcpy(m->value + AJ_SOM_HEADER_LEN, datum, len);
}

static aj_err on_contract(void *o, const char *key, const void *d, size_t len) {
    bench_add(&((bench *)o)->contracts, AJ_SCHEMA_CONTRACT, key, d, len);
    return AJ_E_OK;
}

static aj_err on_event(void *o, const char *key, const void *d, size_t len) {
    bench_add(&((bench *)o)->events, AJ_SCHEMA_USAGE_EVENT, key, d, len);
    return AJ_E_OK;
}

static aj_err on_truth(void *o, const aj_truth *t) {
    (void)o;
    (void)t;
    return AJ_E_OK;
}

static void bench_print(const char *stage, int64_t records, int64_t us) {
    int64_t rps = us > 0 ? records * 1000000 / us : 0;
    printf("%-40s %10lld %8lld.%03lld %12lld\n", stage, (long long)records, (long long)(us / 1000000),
           (long long)(us / 1000 % 1000), (long long)rps);
    fflush(stdout);
}

static int64_t bench_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static aj_contract_store *bench_store(const bench *b) {
    aj_contract_store *store = aj_contract_store_create();
    aj_decoder *dec = aj_decoder_create();
    char detail[256];
    if (!store || !dec) bench_die("out of memory");
    for (size_t i = 0; i < b->contracts.n; i++) {
        aj_contract *c;
        if (aj_decode_contract_message(dec, b->contracts.v[i].value, b->contracts.v[i].len, &c, detail,
                                       sizeof(detail)) ||
            aj_contract_store_put(store, c, detail, sizeof(detail)))
            bench_die(detail);
    }
    aj_decoder_destroy(dec);
    return store;
}

/* Best of `passes` runs of decoding every usage-stream message. */
static int64_t bench_decode(const bench *b) {
    aj_decoder *dec = aj_decoder_create();
    char detail[256];
    aj_event ev;
    int64_t best = INT64_MAX, ok = 0;
    for (int p = 0; p < b->passes; p++) {
        int64_t t0 = bench_now_us();
        ok = 0;
        for (size_t i = 0; i < b->events.n; i++)
            ok += aj_decode_event_message(dec, b->events.v[i].value, b->events.v[i].len, &ev, detail, sizeof(detail)) ==
                  AJ_E_OK;
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    aj_decoder_destroy(dec);
    if (ok == 0) bench_die("nothing decoded");
    bench_print("decode (Avro bytes -> records)", (int64_t)b->events.n, best);
    return best;
}

/* Best of `passes` runs of rating every valid usage record against its contract version. */
static void bench_rating(const bench *b, const aj_contract_store *store) {
    aj_decoder *dec = aj_decoder_create();
    char detail[256];
    aj_usage *usage = malloc(b->events.n * sizeof(*usage));
    size_t n = 0;
    aj_event ev;
    int64_t best = INT64_MAX;
    aj_money sum = 0;

    if (!usage || !dec) bench_die("out of memory");
    for (size_t i = 0; i < b->events.n; i++)
        if (aj_decode_event_message(dec, b->events.v[i].value, b->events.v[i].len, &ev, detail, sizeof(detail)) ==
                AJ_E_OK &&
            ev.kind == AJ_EVENT_USAGE)
            usage[n++] = ev.u.usage;
    for (int p = 0; p < b->passes; p++) {
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < n; i++) {
            const aj_plan *plan = aj_contract_store_find(store, usage[i].account, usage[i].start_ms, NULL);
            aj_charge c;
            if (plan && aj_rating_rate_usage(plan, &usage[i], NULL, NULL, &c) == AJ_E_OK) sum += c.amount;
        }
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    if (sum <= 0) bench_die("rating produced nothing");
    bench_print("rating (record -> expected charge)", (int64_t)n, best);
    free(usage);
    aj_decoder_destroy(dec);
}

/* A sink that only counts: the chain's cost without any I/O. */
typedef struct count_sink {
    aj_sink base;
    int64_t written;
} count_sink;

static aj_err count_write(aj_sink *s, aj_output_kind kind, const char *key, const void *d, size_t len) {
    (void)kind;
    (void)key;
    (void)d;
    (void)len;
    ((count_sink *)s)->written++;
    return AJ_E_OK;
}

static aj_err count_flush(aj_sink *s, int timeout_ms) {
    (void)s;
    (void)timeout_ms;
    return AJ_E_OK;
}

static aj_err count_close(aj_sink *s) {
    (void)s;
    return AJ_E_OK;
}

static void count_abort(aj_sink *s) {
    (void)s;
}

static const aj_sink_ops count_ops = {count_write, count_flush, count_close, count_abort};

static void bench_chain(const bench *b) {
    int64_t best = INT64_MAX;
    for (int p = 0; p < b->passes; p++) {
        aj_contract_store *store = bench_store(b);
        count_sink sink = {{&count_ops}, 0};
        aj_pipeline *pl = aj_pipeline_create(store, &sink.base);
        if (!pl) bench_die("out of memory");
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < b->events.n; i++) {
            aj_message m = {b->events.v[i].key, strlen(b->events.v[i].key), b->events.v[i].value, b->events.v[i].len,
                            {"bench", 0, (int64_t)i}, NULL, NULL};
            if (aj_pipeline_message(pl, &m) != AJ_E_OK) bench_die("pipeline failed");
        }
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
        if (aj_pipeline_adjust_stats(pl)->invoices != b->gen.accounts) bench_die("chain: invoices missing");
        aj_pipeline_destroy(pl);
        aj_contract_store_destroy(store);
    }
    bench_print("chain in process (bytes -> invoices)", (int64_t)b->events.n, best);
}

/* ---- through the mock cluster ---- */

static void bench_produce(rd_kafka_t *rk, const char *topic, const bench_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(l->v[i].key, strlen(l->v[i].key)),
                                      RD_KAFKA_V_VALUE(l->v[i].value, l->v[i].len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        if (e) bench_die(rd_kafka_err2str(e));
    }
    if (rd_kafka_flush(rk, 120000)) bench_die("flush to the mock cluster failed");
}

static void bench_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char errstr[256];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) bench_die(errstr);
}

/* The ceiling: a consumer group reading the usage topic and a producer copying every message to
 * another topic, with no processing, until every partition is at its end. */
static int64_t bench_ceiling(const char *bootstraps, const char *topic, int64_t expect) {
    char errstr[256];
    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = rd_kafka_conf_new();
    bench_conf_set(cc, "bootstrap.servers", bootstraps);
    bench_conf_set(cc, "group.id", "aj-bench-ceiling");
    bench_conf_set(cc, "auto.offset.reset", "earliest");
    bench_conf_set(cc, "enable.auto.commit", "false");
    bench_conf_set(cc, "fetch.wait.max.ms", "10");
    bench_conf_set(cc, "log_level", "3");
    bench_conf_set(pc, "bootstrap.servers", bootstraps);
    bench_conf_set(pc, "enable.idempotence", "true");
    bench_conf_set(pc, "linger.ms", "5");
    bench_conf_set(pc, "log_level", "3");
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, sizeof(errstr));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof(errstr));
    if (!c || !p) bench_die(errstr);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    int64_t n = 0, t0 = 0;
    while (n < expect) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) continue;
        if (!m->err) {
            if (!t0) t0 = bench_now_us();   /* from the first record: group join is not throughput */
            rd_kafka_resp_err_t e;
            while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC("bench.copy"), RD_KAFKA_V_KEY(m->key, m->key_len),
                                          RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                          RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(p, 10);
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    if (rd_kafka_flush(p, 120000)) bench_die("ceiling: flush failed");
    int64_t us = bench_now_us() - t0;
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    bench_print("mock cluster consume+produce (ceiling)", n, us);
    return us;
}

static void bench_kafka(const bench *b) {
    char errstr[256], err[512] = "";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "log_level", "3");
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!mrk) bench_die(errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    if (!mc) bench_die("no mock cluster");
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    aj_config cfg;
    if (aj_config_init(&cfg)) bench_die("config");
    rd_kafka_mock_topic_create(mc, cfg.usage_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg.contract_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.invoice_topic, 8, 1);
    rd_kafka_mock_topic_create(mc, cfg.correction_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg.dead_letter_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, "bench.copy", b->partitions, 1);
    aj_config_set(&cfg, "kafka.bootstrap.servers", boot, err, sizeof(err));
    aj_config_set(&cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err));
    aj_config_set(&cfg, "kafka.log_level", "3", err, sizeof(err));
    aj_config_set(&cfg, "kafka.group.id", "aj-bench", err, sizeof(err));
    aj_config_set(&cfg, "run.exit_at_end", "true", err, sizeof(err));

    conf = rd_kafka_conf_new();
    bench_conf_set(conf, "bootstrap.servers", boot);
    bench_conf_set(conf, "linger.ms", "5");
    bench_conf_set(conf, "log_level", "3");
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!prod) bench_die(errstr);
    bench_produce(prod, cfg.contract_topic, &b->contracts);
    bench_produce(prod, cfg.usage_topic, &b->events);
    rd_kafka_destroy(prod);

    aj_contract_store *store = aj_contract_store_create();
    aj_err rc;
    aj_sink *sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    if (!store || !sink) bench_die(err);
    aj_pipeline *pl = aj_pipeline_create(store, sink);
    int64_t read = 0, rejected = 0;
    if (!pl || aj_kafka_read_contracts(&cfg, cfg.contract_topic, 30000, aj_pipeline_add_contract, pl, &read, &rejected,
                                       err, sizeof(err)))
        bench_die(err);
    aj_source *src = aj_kafka_source_create(&cfg, &rc, err, sizeof(err));
    if (!src) bench_die(err);
    /* Wait for the group's assignment and the first record before timing. */
    aj_message first;
    while ((rc = aj_source_next(src, &first, 100)) == AJ_E_RETRY)
        ;
    if (rc != AJ_E_OK) bench_die("kafka chain: no first record");
    int64_t t0 = bench_now_us();
    if (aj_pipeline_message(pl, &first)) bench_die("kafka chain: first record");
    aj_run_opts ro = {cfg.commit_interval_records, cfg.commit_interval_ms, NULL, NULL, NULL, 0};
    if ((rc = aj_pipeline_run(pl, src, &ro)) != AJ_E_OK) bench_die(aj_err_str(rc));
    if ((rc = sink->ops->close(sink)) != AJ_E_OK) bench_die("kafka chain: outputs not delivered");
    int64_t chain_us = bench_now_us() - t0;
    int64_t in = aj_pipeline_get_stats(pl)->records_in;
    if (in != (int64_t)b->events.n) bench_die("kafka chain: records lost (mock retention?)");
    bench_print("chain through the mock cluster", in, chain_us);
    aj_source_destroy(src);
    aj_pipeline_destroy(pl);
    aj_contract_store_destroy(store);

    int64_t ceil_us = bench_ceiling(boot, cfg.usage_topic, (int64_t)b->events.n);
    /* ratio = chain rate / ceiling rate = ceiling time / chain time, in thousandths */
    int64_t permille = chain_us > 0 ? ceil_us * 1000 / chain_us : 0;
    printf("%-40s %10s %12s %11lld.%03lld\n", "ratio chain / ceiling", "", "", (long long)(permille / 1000),
           (long long)(permille % 1000));
    aj_config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

static void bench_usage(FILE *out) {
    fprintf(out,
            "Usage: aj_bench [--accounts N] [--records M] [--partitions P] [--passes K] [--no-kafka]\n\n"
            "Prints records per second for: decoding, rating, the in-process chain (Avro bytes to\n"
            "invoices, outputs encoded but not written), the chain through librdkafka's mock cluster,\n"
            "and, in the same run, the mock cluster's raw consume+produce rate with no processing\n"
            "(the ceiling), with the ratio. In-process figures are the best of K passes (default 3).\n"
            "Defaults: 2000 accounts, 300000 records, 32 partitions (the demo's workload).\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"accounts", required_argument, 0, 'a'}, {"records", required_argument, 0, 'r'},
        {"partitions", required_argument, 0, 'p'}, {"passes", required_argument, 0, 'k'},
        {"no-kafka", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    bench b;
    int64_t v;
    int c, kafka = 1;

    memset(&b, 0, sizeof(b));
    aj_gen_defaults(&b.gen);
    b.partitions = 32;
    b.passes = 3;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': if (aj_parse_count("--accounts", optarg, &b.gen.accounts)) return 2; break;
        case 'r': if (aj_parse_count("--records", optarg, &b.gen.records)) return 2; break;
        case 'p': if (aj_parse_count("--partitions", optarg, &v) || v < 1) return 2; b.partitions = (int)v; break;
        case 'k': if (aj_parse_count("--passes", optarg, &v) || v < 1) return 2; b.passes = (int)v; break;
        case 'n': kafka = 0; break;
        case 'h': bench_usage(stdout); return 0;
        default: bench_usage(stderr); return 2;
        }
    }
    aj_log_set_level(AJ_LOG_WARN);
    if (aj_schemas_init() != AJ_E_OK) return 1;
    aj_gen_out out = {&b, on_contract, on_event, on_truth};
    if (aj_gen_run(&b.gen, &out, NULL) != AJ_E_OK) bench_die("workload generation failed");
    printf("workload: %lld accounts, %zu usage-stream messages, %zu contract versions, %d partitions\n",
           (long long)b.gen.accounts, b.events.n, b.contracts.n, b.partitions);
    printf("%-40s %10s %12s %12s\n", "stage", "records", "seconds", "records/s");
    aj_contract_store *store = bench_store(&b);
    bench_decode(&b);
    bench_rating(&b, store);
    aj_contract_store_destroy(store);
    bench_chain(&b);
    if (kafka) bench_kafka(&b);
    for (size_t i = 0; i < b.events.n; i++) free(b.events.v[i].value);
    for (size_t i = 0; i < b.contracts.n; i++) free(b.contracts.v[i].value);
    free(b.events.v);
    free(b.contracts.v);
    aj_schemas_shutdown();
    return 0;
}
