/* aj_bench.c - throughput of each stage and of the whole chain, beside the mock cluster's ceiling. */
#include <getopt.h>
#include <stdarg.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "aj_adjust.h"
#include "aj_checkpoint.h"
#include "aj_cmd.h"
#include "aj_gen.h"
#include "aj_log.h"
#include "aj_rating.h"

extern char **environ;

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

/* The correction policy of the configuration (AJUSTE_POLICY_* variables), as `ajuste run` sets it. */
static void bench_policy(const aj_config *cfg, aj_pipeline *pl) {
    aj_policy policy;
    char err[256];
    if (!pl) bench_die("no pipeline");
    if (aj_policy_from_config(cfg, &policy, err, sizeof(err))) bench_die(err);
    aj_pipeline_set_policy(pl, &policy);
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

static void bench_free(bench *b) {
    for (size_t i = 0; i < b->events.n; i++) free(b->events.v[i].value);
    for (size_t i = 0; i < b->contracts.n; i++) free(b->contracts.v[i].value);
    free(b->events.v);
    free(b->contracts.v);
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

static const aj_sink_ops count_ops = {count_write, count_flush, count_close, count_abort, NULL};

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

/* A mock cluster of one broker on a handle of its own (*mrk, destroyed after the cluster). */
static rd_kafka_mock_cluster_t *bench_mock_new(rd_kafka_t **mrk) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "log_level", "3");
    if (!(*mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) bench_die(errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(*mrk, 1);
    if (!mc) bench_die("no mock cluster");
    return mc;
}

/* The keys every chain through the mock runs with. */
static void bench_mock_config(aj_config *cfg, const char *boot) {
    char err[512];
    aj_config_set(cfg, "kafka.bootstrap.servers", boot, err, sizeof(err));
    aj_config_set(cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err));
    aj_config_set(cfg, "kafka.log_level", "3", err, sizeof(err));
    aj_config_set(cfg, "run.exit_at_end", "true", err, sizeof(err));
}

/* Produces the workload's contracts and usage stream to the two topics, every message delivered. */
static void bench_publish(const bench *b, const char *boot, const char *contract_topic, const char *usage_topic) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "bootstrap.servers", boot);
    bench_conf_set(conf, "linger.ms", "5");
    bench_conf_set(conf, "log_level", "3");
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!prod) bench_die(errstr);
    bench_produce(prod, contract_topic, &b->contracts);
    bench_produce(prod, usage_topic, &b->events);
    rd_kafka_destroy(prod);
}

static void bench_kafka(const bench *b) {
    char err[512] = "";
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc = bench_mock_new(&mrk);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    aj_config cfg;
    char cerr[256];
    if (aj_config_init(&cfg)) bench_die("config");
    if (aj_config_load_env(&cfg, environ, cerr, sizeof(cerr))) bench_die(cerr);   /* AJUSTE_*_INTERVAL_* */
    rd_kafka_mock_topic_create(mc, cfg.usage_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg.contract_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.invoice_topic, 8, 1);
    rd_kafka_mock_topic_create(mc, cfg.correction_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg.dead_letter_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, "bench.copy", b->partitions, 1);
    bench_mock_config(&cfg, boot);
    aj_config_set(&cfg, "kafka.group.id", "aj-bench", err, sizeof(err));
    bench_publish(b, boot, cfg.contract_topic, cfg.usage_topic);

    aj_contract_store *store = aj_contract_store_create();
    aj_err rc;
    aj_sink *sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    if (!store || !sink) bench_die(err);
    aj_pipeline *pl = aj_pipeline_create(store, sink);
    bench_policy(&cfg, pl);
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

/* ---- replay against the live pipeline (issue 7) ----
 *
 * The same usage topic on one mock cluster, read to its end through the same pipeline and Kafka
 * sink: once as `ajuste run` reads it (a consumer group, commits at the default interval), once as
 * `ajuste replay` does (every partition's whole range by assignment, no group, no commits; its
 * outputs to prefixed topics). Rounds alternate; each is timed from its first record to its
 * outputs delivered, and checked to have read every record. */

typedef struct rp_round {
    int64_t us, records, corrections;
} rp_round;

static void rp_bench_run(const bench *b, aj_config *cfg, int replay, int round, rp_round *out) {
    char err[512] = "", group[64];
    aj_err rc;
    aj_kafka_range *ranges = NULL;
    size_t n_ranges = 0;
    aj_source *src;

    snprintf(group, sizeof(group), "aj-bench-live-%d", round);
    aj_config_set(cfg, "kafka.group.id", group, err, sizeof(err));
    aj_contract_store *store = aj_contract_store_create();
    aj_sink *sink = aj_kafka_sink_create(cfg, &rc, err, sizeof(err));
    if (!store || !sink) bench_die(err);
    aj_pipeline *pl = aj_pipeline_create(store, sink);
    if (!pl || aj_kafka_read_contracts(cfg, cfg->contract_topic, 30000, aj_pipeline_add_contract, pl, NULL, NULL, err,
                                       sizeof(err)))
        bench_die(err);
    if (replay) {
        aj_range_spec spec = {NULL, 0, {AJ_BOUND_EDGE, 0}, {AJ_BOUND_EDGE, 0}};
        if (aj_kafka_resolve_ranges(cfg, cfg->usage_topic, &spec, 30000, &ranges, &n_ranges, err, sizeof(err)))
            bench_die(err);
        src = aj_kafka_range_source_create(cfg, cfg->usage_topic, ranges, n_ranges, 30000, &rc, err, sizeof(err));
    } else {
        src = aj_kafka_source_create(cfg, &rc, err, sizeof(err));
    }
    if (!src) bench_die(err);
    aj_message first;
    while ((rc = aj_source_next(src, &first, 100)) == AJ_E_RETRY)
        ;
    if (rc != AJ_E_OK) bench_die("replay bench: no first record");
    int64_t t0 = bench_now_us();
    if (aj_pipeline_message(pl, &first)) bench_die("replay bench: first record");
    aj_run_opts ro = {cfg->commit_interval_records, cfg->commit_interval_ms, NULL, NULL, NULL, 0};
    if ((rc = aj_pipeline_run(pl, src, &ro)) != AJ_E_OK) bench_die(aj_err_str(rc));
    if ((rc = sink->ops->close(sink)) != AJ_E_OK) bench_die("replay bench: outputs not delivered");
    out->us = bench_now_us() - t0;
    out->records = aj_pipeline_get_stats(pl)->records_in;
    out->corrections = aj_emitter_count(aj_pipeline_emitter(pl), AJ_OUT_CORRECTION);
    if (out->records != (int64_t)b->events.n) bench_die("replay bench: records lost (mock retention?)");
    aj_source_destroy(src);
    aj_pipeline_destroy(pl);
    aj_contract_store_destroy(store);
    free(ranges);
}

static int rp_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void bench_replay(const bench *b, int rounds) {
    char err[512] = "";
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc = bench_mock_new(&mrk);
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    aj_config live, rep;
    if (aj_config_init(&live) || aj_config_init(&rep)) bench_die("config");
    aj_config *cfgs[] = {&live, &rep};
    for (int i = 0; i < 2; i++) bench_mock_config(cfgs[i], boot);
    /* The replay's outputs go to their own topics, as --out-topic-prefix replay. makes them. */
    const char *keys[] = {"output.invoice_topic", "output.correction_topic", "output.dead_letter_topic",
                          "output.review_topic"};
    for (size_t i = 0; i < 4; i++) {
        char name[128];
        snprintf(name, sizeof(name), "replay.%s",
                 i == 0 ? live.invoice_topic : i == 1 ? live.correction_topic : i == 2 ? live.dead_letter_topic
                                                                                       : live.review_topic);
        aj_config_set(&rep, keys[i], name, err, sizeof(err));
    }
    rd_kafka_mock_topic_create(mc, live.usage_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, live.contract_topic, 4, 1);
    for (int i = 0; i < 2; i++) {
        rd_kafka_mock_topic_create(mc, cfgs[i]->invoice_topic, 8, 1);
        rd_kafka_mock_topic_create(mc, cfgs[i]->correction_topic, b->partitions, 1);
        rd_kafka_mock_topic_create(mc, cfgs[i]->dead_letter_topic, 4, 1);
        rd_kafka_mock_topic_create(mc, cfgs[i]->review_topic, 4, 1);
    }
    bench_publish(b, boot, live.contract_topic, live.usage_topic);

    int64_t *us[2];
    rp_round r;
    if (!(us[0] = calloc((size_t)rounds, sizeof(int64_t))) || !(us[1] = calloc((size_t)rounds, sizeof(int64_t))))
        bench_die("out of memory");
    int64_t corrections[2] = {0, 0};
    for (int k = 0; k < rounds; k++)
        for (int i = 0; i < 2; i++) {
            int replay = (k + i) % 2;   /* alternate which goes first */
            rp_bench_run(b, cfgs[replay], replay, k, &r);
            us[replay][k] = r.us;
            if (corrections[replay] && corrections[replay] != r.corrections) bench_die("replay bench: runs differ");
            corrections[replay] = r.corrections;
            fprintf(stderr, "  round %d %-6s %lld records in %lld ms\n", k + 1, replay ? "replay" : "live",
                    (long long)r.records, (long long)(r.us / 1000));
        }
    if (corrections[0] != corrections[1]) bench_die("replay bench: replay and live wrote different corrections");
    qsort(us[0], (size_t)rounds, sizeof(int64_t), rp_cmp_i64);
    qsort(us[1], (size_t)rounds, sizeof(int64_t), rp_cmp_i64);
    bench_print("live chain (group, commits), median", (int64_t)b->events.n, us[0][rounds / 2]);
    bench_print("replay (assigned ranges), median", (int64_t)b->events.n, us[1][rounds / 2]);
    int64_t permille = us[1][rounds / 2] > 0 ? us[0][rounds / 2] * 1000 / us[1][rounds / 2] : 0;
    printf("%-40s %10s %12s %11lld.%03lld\n", "ratio replay / live (rate)", "", "", (long long)(permille / 1000),
           (long long)(permille % 1000));
    printf("%-40s %10lld\n", "corrections per run (equal)", (long long)corrections[0]);
    free(us[0]);
    free(us[1]);
    aj_config_free(&live);
    aj_config_free(&rep);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

/* ---- rating, realistic contract: the rating engine alone, on one core ----
 *
 * One contract as a carrier would write it (10k destination prefixes over 50 zones, 3 bands in
 * SPLIT mode, tiers, an allowance, a capped discount), loaded for a handful of accounts, and
 * records rated in memory: the figures the issue asks for (rating alone, the counterfactual
 * classification paid by records that differ, memory per contract and per open account-cycle). */

#define RC_ACCOUNTS 8
#define RC_ZONES 50
#define RC_DAY 86400000LL
#define RC_OCT1_MS (20727LL * RC_DAY + 3 * 3600000LL)   /* 2026-10-01T00:00 in Sao Paulo (UTC-3) */
#define RC_OCT12 (20727 + 11)                             /* a holiday, local days since 1970-01-01 */
#define RC_CONTRACT_FROM 1767225600000LL                  /* 2026-01-01T00:00:00Z */
#define RC_ADJ_ACCOUNTS 10000
#define RC_ADJ_RECORDS 100

typedef struct rc_opts {
    int64_t records;    /* usage records rated */
    int rating_only;    /* only the main loop (for profiling) */
    int64_t classify;   /* records classified (the worst case is slow: a subset) */
    int passes;
} rc_opts;

static uint64_t rc_next(uint64_t *s) {   /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t rc_below(uint64_t *s, int64_t n) {
    return n <= 1 ? 0 : (int64_t)(rc_next(s) % (uint64_t)n);
}

static char *rc_strdup(const char *s) {
    char *d = strdup(s);
    if (!d) bench_die("out of memory");
    return d;
}

static void *rc_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) bench_die("out of memory");
    return p;
}

/* Country codes of the 50 zones: none is a prefix of another, and none starts with 99 (numbers
 * starting 99 fall to the default zone). */
static const char *const rc_cc[RC_ZONES] = {
    "55",  "1",   "44",  "33",  "34",  "49",  "39",  "351", "54",  "56",  "57",  "52",  "86",
    "91",  "81",  "82",  "61",  "64",  "27",  "234", "20",  "212", "90",  "7",   "31",  "32",
    "41",  "43",  "45",  "46",  "47",  "48",  "353", "358", "30",  "36",  "40",  "420", "380",
    "972", "971", "966", "62",  "63",  "65",  "66",  "60",  "84",  "92",  "880",
};

/* A destination table: n distinct E.164 prefixes of 3-7 digits, each a country code followed by
 * area digits, spread evenly over the zones. */
typedef struct rc_table {
    char (*pfx)[8];
    int32_t *zone;
    size_t n;
} rc_table;

static void rc_table_make(rc_table *t, size_t n, uint64_t seed) {
    size_t cap = 16;
    while (cap < 4 * n) cap *= 2;
    uint64_t *set = rc_calloc(cap, sizeof(*set));
    t->pfx = rc_calloc(n, sizeof(*t->pfx));
    t->zone = rc_calloc(n, sizeof(*t->zone));
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        int z = (int)(i % RC_ZONES);
        size_t cl = strlen(rc_cc[z]);
        for (;;) {
            size_t len = 3 + (size_t)rc_below(&seed, 5);
            if (len <= cl) len = cl + 1;
            char *p = t->pfx[i];
            memcpy(p, rc_cc[z], cl);
            for (size_t k = cl; k < len; k++) p[k] = (char)('0' + rc_below(&seed, 10));
            p[len] = '\0';
            uint64_t key = (strtoull(p, NULL, 10) << 3 | len) + 1, j = key * 0x9e3779b97f4a7c15ULL;
            for (j &= cap - 1; set[j] && set[j] != key; j = (j + 1) & (cap - 1))
                ;
            if (set[j]) continue;   /* drawn already: draw again */
            set[j] = key;
            t->zone[i] = z;
            break;
        }
    }
    free(set);
}

static void rc_table_free(rc_table *t) {
    free(t->pfx);
    free(t->zone);
}

/* Zone z's name; RC_ZONES is the default zone. */
static void rc_zone_name(char *buf, size_t len, int z) {
    if (z < RC_ZONES)
        snprintf(buf, len, "CC_%s", rc_cc[z]);
    else
        snprintf(buf, len, "OTHER");
}

/* The contract of one account: the destination table t, bands PEAK/EVENING/WEEKEND (+ holiday)
 * with OFFPEAK by default in SPLIT mode; per zone a VOICE rate with no band and a PEAK one (30/6,
 * a tier from 600 s, 2 decimals) and an SMS rate; DATA in the default zone; an allowance of
 * 3600 voice seconds on three zones; 10% off voice capped at 3.00 per cycle. */
static aj_contract *rc_contract(const char *account, const rc_table *t) {
    aj_contract *c = rc_calloc(1, sizeof(*c));
    char buf[AJ_ID_LEN + 1];
    aj_contract_init(c);
    c->account = rc_strdup(account);
    snprintf(buf, sizeof(buf), "CT-RC-%s", account);
    c->contract_id = rc_strdup(buf);
    c->version = 1;
    c->status = AJ_CONTRACT_ACTIVE;
    c->effective_from = RC_CONTRACT_FROM;
    c->effective_to = INT64_MAX;
    memcpy(c->currency, "BRL", 4);
    c->time_zone = rc_strdup("America/Sao_Paulo");
    c->default_zone = rc_strdup("OTHER");
    c->band_mode = AJ_BAND_SPLIT;
    c->default_band = rc_strdup("OFFPEAK");

    c->zones = rc_calloc(RC_ZONES, sizeof(*c->zones));
    c->n_zones = RC_ZONES;
    size_t count[RC_ZONES] = {0};
    for (size_t i = 0; i < t->n; i++) count[t->zone[i]]++;
    for (int z = 0; z < RC_ZONES; z++) {
        rc_zone_name(buf, sizeof(buf), z);
        c->zones[z].name = rc_strdup(buf);
        c->zones[z].prefixes = rc_calloc(count[z], sizeof(char *));
    }
    for (size_t i = 0; i < t->n; i++) {
        aj_zone *zone = &c->zones[t->zone[i]];
        zone->prefixes[zone->n_prefixes++] = rc_strdup(t->pfx[i]);
    }

    static const struct { const char *name; aj_window w; } bands[3] = {
        {"PEAK", {0x1f, 480, 1200}}, {"EVENING", {0x1f, 1200, 1380}}, {"WEEKEND", {0x60, 0, 1440}}};
    c->bands = rc_calloc(3, sizeof(*c->bands));
    c->n_bands = 3;
    for (int b = 0; b < 3; b++) {
        c->bands[b].name = rc_strdup(bands[b].name);
        c->bands[b].windows = rc_calloc(1, sizeof(aj_window));
        c->bands[b].windows[0] = bands[b].w;
        c->bands[b].n_windows = 1;
    }
    c->bands[2].holidays = rc_calloc(1, sizeof(int64_t));
    c->bands[2].holidays[0] = RC_OCT12;
    c->bands[2].n_holidays = 1;

    c->rates = rc_calloc((size_t)(RC_ZONES + 1) * 3 + 1, sizeof(*c->rates));
    for (int z = 0; z <= RC_ZONES; z++) {
        rc_zone_name(buf, sizeof(buf), z);
        aj_money voice = 100000 + (aj_money)((z * 37) % 20) * 50000;   /* 0.10 .. 1.05 per minute */
        for (int peak = 0; peak < 2; peak++) {
            aj_rate *r = &c->rates[c->n_rates++];
            aj_rate_init(r);
            r->service = AJ_SERVICE_VOICE;
            r->zone = rc_strdup(buf);
            r->band = peak ? rc_strdup("PEAK") : NULL;
            r->connect_fee = z % 3 == 0 ? 20000 : 0;
            r->price = peak ? voice * 3 / 2 : voice;
            r->rate_unit = 60;
            r->first_increment = 30;
            r->next_increment = 6;
            r->tiers = rc_calloc(1, sizeof(*r->tiers));
            r->tiers[0] = (aj_tier){600, r->price / 2, 6};
            r->n_tiers = 1;
            r->decimals = 2;
        }
        aj_rate *s = &c->rates[c->n_rates++];
        aj_rate_init(s);
        s->service = AJ_SERVICE_SMS;
        s->zone = rc_strdup(buf);
        s->price = 30000 + (aj_money)(z % 7) * 20000;
        s->decimals = 2;
    }
    aj_rate *d = &c->rates[c->n_rates++];
    aj_rate_init(d);
    d->service = AJ_SERVICE_DATA;
    d->zone = rc_strdup("OTHER");
    d->price = 500000;   /* per MiB */
    d->rate_unit = 1048576;
    d->first_increment = d->next_increment = 102400;
    d->max_charge = 15000000;
    d->decimals = 2;
    d->rounding = AJ_ROUND_HALF_EVEN;

    c->allowances = rc_calloc(1, sizeof(*c->allowances));
    c->n_allowances = 1;
    c->allowances[0].name = rc_strdup("FRANQUIA");
    c->allowances[0].service = AJ_SERVICE_VOICE;
    c->allowances[0].units = 3600;
    c->allowances[0].zones = rc_calloc(3, sizeof(char *));
    for (int z = 0; z < 3; z++) {
        rc_zone_name(buf, sizeof(buf), z);
        c->allowances[0].zones[c->allowances[0].n_zones++] = rc_strdup(buf);
    }
    c->discounts = rc_calloc(1, sizeof(*c->discounts));
    c->n_discounts = 1;
    c->discounts[0] = (aj_discount){rc_strdup("FIDELIDADE"), AJ_SERVICE_VOICE, NULL, 0, 100000, 3000000};
    return c;
}

/* A usage record: 60% VOICE (mostly short), 25% SMS, 15% DATA; destinations from t plus digits
 * (5% outside it), written with '+', '00' or spaces; start within [from, from + span). */
static void rc_usage(uint64_t *rng, const rc_table *t, const char *account, const char *record_id, int64_t from,
                     int64_t span, aj_usage *u) {
    char digits[24];
    memset(u, 0, sizeof(*u));
    snprintf(u->record_id, sizeof(u->record_id), "%s", record_id);
    snprintf(u->account, sizeof(u->account), "%s", account);
    snprintf(u->subscriber, sizeof(u->subscriber), "%s-S%d", account, (int)rc_below(rng, 3));
    memcpy(u->cycle_id, "2026-10", 8);
    memcpy(u->currency, "BRL", 4);
    memcpy(u->tariff_code, "RC", 3);
    memcpy(u->origin, "+5511999990000", 15);
    u->start_ms = from + rc_below(rng, span);
    int64_t kind = rc_below(rng, 100), q = rc_below(rng, 100);
    if (kind < 60) {
        u->service = AJ_SERVICE_VOICE;
        u->quantity = q < 5 ? 0 : q < 70 ? 1 + rc_below(rng, 120) : q < 92 ? 120 + rc_below(rng, 480)
                                                                            : 600 + rc_below(rng, 3001);
    } else if (kind < 85) {
        u->service = AJ_SERVICE_SMS;
        u->quantity = q < 95 ? 1 : 2 + rc_below(rng, 2);
    } else {
        u->service = AJ_SERVICE_DATA;
        u->quantity = 1 + rc_below(rng, 20 * 1048576);
        memcpy(u->destination, "internet", 9);
        return;
    }
    const char *p = rc_below(rng, 100) < 5 ? "99" : t->pfx[rc_below(rng, (int64_t)t->n)];
    size_t k = strlen(p), len = 11 + (size_t)rc_below(rng, 3);
    memcpy(digits, p, k);
    while (k < len) digits[k++] = (char)('0' + rc_below(rng, 10));
    digits[k] = '\0';
    switch (rc_below(rng, 3)) {
    case 0: snprintf(u->destination, sizeof(u->destination), "+%s", digits); break;
    case 1: snprintf(u->destination, sizeof(u->destination), "00%s", digits); break;
    default: snprintf(u->destination, sizeof(u->destination), "+%.2s %.3s %s", digits, digits + 2, digits + 5);
    }
}

static size_t rc_heap(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void rc_print_bytes(const char *what, size_t bytes) {
    printf("%-40s %10zu bytes\n", what, bytes);
    fflush(stdout);
}

static void rc_print_us(const char *what, int64_t us) {
    printf("%-40s %10lld us\n", what, (long long)us);
    fflush(stdout);
}

static aj_err rc_no_correction(void *o, const aj_correction *c) {
    (void)c;
    ++*(int64_t *)o;
    return AJ_E_OK;
}

static aj_err rc_no_invoice(void *o, const aj_invoice *inv) {
    (void)o;
    (void)inv;
    return AJ_E_OK;
}

/* An adjuster holding `accounts` open account-cycles of `records` usage records each (October
 * 2026), with the contracts they were rated against: one per account, the same shape, 200
 * prefixes. Records arrive round-robin over the accounts; their legacy charge is the expected
 * one (kept with the bench's own counters), so nothing is classified. */
typedef struct rc_cycles {
    rc_table t;
    aj_contract_store *store;
    aj_adjust *adj;
    int64_t accounts, records;
    int64_t corrections;
    int64_t us;                 /* feeding the records (bench rating included) */
    int64_t contracts_us;       /* building and loading the contracts */
    size_t heap_contracts;      /* heap growth from the contracts */
    size_t heap_cycles;         /* heap growth from the records: the open account-cycles */
} rc_cycles;

static void rc_cycles_build(rc_cycles *w, int64_t accounts, int64_t records) {
    char acct[AJ_KEY_LEN + 1], id[AJ_ID_LEN + 1], detail[256];
    aj_counters *shadow = rc_calloc((size_t)accounts, sizeof(*shadow));
    const aj_plan **plans = rc_calloc((size_t)accounts, sizeof(*plans));
    uint64_t rng = 0xacc0;

    memset(w, 0, sizeof(*w));
    w->accounts = accounts;
    w->records = records;
    size_t heap0 = rc_heap();
    int64_t tc = bench_now_us();
    if (!(w->store = aj_contract_store_create())) bench_die("out of memory");
    rc_table_make(&w->t, 200, 0x5eed5);   /* the accounts' contracts: the same shape, 200 prefixes */
    for (int64_t a = 0; a < accounts; a++) {
        snprintf(acct, sizeof(acct), "ADJ%05lld", (long long)a);
        if (aj_contract_store_put(w->store, rc_contract(acct, &w->t), detail, sizeof(detail))) bench_die(detail);
        plans[a] = aj_contract_store_find(w->store, acct, RC_OCT1_MS, NULL);
        /* the bench's counters get their memory before the measurement */
        for (int k = 0; k < 3; k++) aj_counters_add(&shadow[a], (aj_counter_kind)k, "x", 0);
        shadow[a].n = 0;
    }
    aj_adjust_out out = {&w->corrections, rc_no_correction, rc_no_invoice};
    if (!(w->adj = aj_adjust_create(w->store, &out))) bench_die("out of memory");
    size_t before = rc_heap();
    w->heap_contracts = before - heap0;
    w->contracts_us = bench_now_us() - tc;
    int64_t t0 = bench_now_us();
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    ev.pos.origin = "bench";
    int64_t slot = 31 * RC_DAY / (records ? records : 1);
    for (int64_t r = 0; r < records; r++)
        for (int64_t a = 0; a < accounts; a++) {
            aj_charge ch;
            snprintf(acct, sizeof(acct), "ADJ%05lld", (long long)a);
            snprintf(id, sizeof(id), "ADJ%05lld-%03lld", (long long)a, (long long)r);
            rc_usage(&rng, &w->t, acct, id, RC_OCT1_MS + r * slot, slot, &ev.u.usage);
            if (aj_rating_rate_usage(plans[a], &ev.u.usage, &shadow[a], NULL, &ch) ||
                aj_charge_commit(&ch, &shadow[a]))
                bench_die("account-cycles: rating failed");
            ev.u.usage.legacy_charge = ch.amount;
            ev.pos.offset = r * accounts + a;
            if (aj_adjust_event(w->adj, &ev, detail, sizeof(detail))) bench_die(detail);
        }
    w->us = bench_now_us() - t0;
    size_t after = rc_heap();
    w->heap_cycles = after > before ? after - before : 0;
    if ((int64_t)aj_adjust_open_cycles(w->adj) != accounts) bench_die("account-cycles: not all open");
    if (w->corrections)
        fprintf(stderr, "aj_bench: account-cycles: %lld unexpected corrections\n", (long long)w->corrections);
    for (int64_t a = 0; a < accounts; a++) aj_counters_free(&shadow[a]);
    free(shadow);
    free(plans);
}

static void rc_cycles_free(rc_cycles *w) {
    aj_adjust_destroy(w->adj);
    aj_contract_store_destroy(w->store);
    rc_table_free(&w->t);
    memset(w, 0, sizeof(*w));
}

/* Heap growth of an adjuster holding RC_ADJ_ACCOUNTS open account-cycles of RC_ADJ_RECORDS
 * records each, per account-cycle (the struct aj_acc, its seen-set, counters, versions and the
 * map entry). */
static void rc_account_cycle_bytes(void) {
    rc_cycles w;
    rc_cycles_build(&w, RC_ADJ_ACCOUNTS, RC_ADJ_RECORDS);
    bench_print("adjust, 10k open cycles (+bench rating)", (int64_t)RC_ADJ_ACCOUNTS * RC_ADJ_RECORDS, w.us);
    rc_print_bytes("bytes per open account-cycle (100 records)", w.heap_cycles / RC_ADJ_ACCOUNTS);
    rc_cycles_free(&w);
}

/* The main loop, on its own so profiles can single it out: find the plan, rate with the
 * account's counters, commit the draws. Returns the sum of the charges. */
__attribute__((noinline)) static int64_t rc_rate_loop(const aj_contract_store *store, const aj_usage *u,
                                                      const uint8_t *ai, size_t n, aj_counters *counters) {
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const aj_plan *plan = aj_contract_store_find(store, u[i].account, u[i].start_ms, NULL);
        aj_charge ch;
        if (!plan || aj_rating_rate_usage(plan, &u[i], &counters[ai[i]], NULL, &ch) ||
            aj_charge_commit(&ch, &counters[ai[i]]))
            bench_die("realistic contract: records not rated");
        sum += ch.amount;
    }
    return sum;
}

static void bench_rating_contract(const rc_opts *o) {
    rc_table t10k, t100k;
    aj_contract_store *store = aj_contract_store_create();
    const aj_plan *plans[RC_ACCOUNTS];
    char acct[RC_ACCOUNTS][AJ_KEY_LEN + 1], detail[256], prefix[AJ_NUMBER_LEN + 1];
    size_t n = (size_t)o->records, heap0;
    int64_t best, load_best = INT64_MAX, sum = 0;
    uint64_t rng = 0x7a7e;

    if (!store) bench_die("out of memory");
    rc_table_make(&t10k, 10000, 0x10c0);
    /* One contract per account, each built and loaded on its own; the first put also loads the
     * time zone, so the load figure is the best of the others. */
    heap0 = rc_heap();
    for (int a = 0; a < RC_ACCOUNTS; a++) {
        snprintf(acct[a], sizeof(acct[a]), "RCACC%02d", a);
        aj_contract *c = rc_contract(acct[a], &t10k);
        int64_t t0 = bench_now_us();
        if (aj_contract_store_put(store, c, detail, sizeof(detail))) bench_die(detail);
        int64_t us = bench_now_us() - t0;
        if (a > 0 && us < load_best) load_best = us;
        if (!(plans[a] = aj_contract_store_find(store, acct[a], RC_OCT1_MS, NULL))) bench_die("no plan");
    }
    size_t heap_per_contract = (rc_heap() - heap0) / RC_ACCOUNTS;
    printf("rating, realistic contract: %zu records, %d accounts, 10000 prefixes in %d zones + default, "
           "3 bands + default (SPLIT)\n", n, RC_ACCOUNTS, RC_ZONES);

    aj_usage *u = malloc((n ? n : 1) * sizeof(*u));
    uint8_t *ai = malloc(n ? n : 1);
    if (!u || !ai) bench_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        char id[AJ_ID_LEN + 1];
        ai[i] = (uint8_t)rc_below(&rng, RC_ACCOUNTS);
        snprintf(id, sizeof(id), "RC%09zu", i);
        rc_usage(&rng, &t10k, acct[ai[i]], id, RC_OCT1_MS, 31 * RC_DAY, &u[i]);
    }

    /* find + rate with the account-cycle's counters + commit: what adjust pays per record */
    aj_counters counters[RC_ACCOUNTS];
    memset(counters, 0, sizeof(counters));
    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        for (int a = 0; a < RC_ACCOUNTS; a++) aj_counters_free(&counters[a]);
        int64_t t0 = bench_now_us();
        sum = rc_rate_loop(store, u, ai, n, counters);
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    if (n && sum <= 0) bench_die("realistic contract: rating produced nothing");
    bench_print("rating, realistic contract (+counters)", (int64_t)n, best);
    if (o->rating_only) {
        free(u);
        free(ai);
        for (int a = 0; a < RC_ACCOUNTS; a++) aj_counters_free(&counters[a]);
        aj_contract_store_destroy(store);
        rc_table_free(&t10k);
        return;
    }

    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        sum = 0;
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < n; i++) {
            const aj_plan *plan = aj_contract_store_find(store, u[i].account, u[i].start_ms, NULL);
            aj_charge ch;
            if (plan && aj_rating_rate_usage(plan, &u[i], NULL, NULL, &ch) == AJ_E_OK) sum += ch.amount;
        }
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    bench_print("  same, no counters (state NULL)", (int64_t)n, best);

    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        sum = 0;
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < n; i++)
            sum += (int64_t)(uintptr_t)aj_contract_store_find(store, u[i].account, u[i].start_ms, NULL);
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    bench_print("  contract find alone", (int64_t)n, best);

    best = INT64_MAX;
    int64_t zone_hits = 0;
    for (int p = 0; p < o->passes; p++) {
        zone_hits = 0;
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < n; i++)
            zone_hits += aj_plan_zone_of(plans[ai[i]], u[i].service, u[i].destination, prefix) < RC_ZONES;
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    bench_print("  zone lookup alone (aj_plan_zone_of)", (int64_t)n, best);

    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        sum = 0;
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < n; i++) sum += (int64_t)aj_plan_band_at(plans[ai[i]], u[i].start_ms);
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    bench_print("  band lookup alone (aj_plan_band_at)", (int64_t)n, best);

    /* Classification, worst case: a legacy charge 0.37 above the expected one matches no
     * hypothesis, so every counterfactual is rated before RATE_MISMATCH. */
    size_t m = (size_t)o->classify < n ? (size_t)o->classify : n;
    aj_charge *expected = malloc((m ? m : 1) * sizeof(*expected));
    int64_t mismatch = 0;
    char hyp[192];
    if (!expected) bench_die("out of memory");
    for (size_t i = 0; i < m; i++) {
        if (aj_rating_rate_usage(plans[ai[i]], &u[i], NULL, NULL, &expected[i])) bench_die("classify: not rated");
        u[i].legacy_charge = expected[i].amount + 370000;
    }
    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        mismatch = 0;
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < m; i++)
            mismatch += aj_classify_usage(store, plans[ai[i]], &u[i], NULL, &expected[i], hyp, sizeof(hyp)) ==
                        AJ_REASON_RATE_MISMATCH;
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    bench_print("classify, worst case (RATE_MISMATCH)", (int64_t)m, best);
    if (m) printf("%-40s %10lld of %lld records\n", "  classified RATE_MISMATCH", (long long)mismatch, (long long)m);
    free(expected);

    /* Memory and load times. */
    rc_print_us("load contract, 10k prefixes (put)", load_best);
    rc_print_bytes("plan bytes, 10k prefixes (aj_plan_bytes)", aj_plan_bytes(plans[0]));
    rc_print_bytes("heap per 10k contract (mallinfo2)", heap_per_contract);
    rc_print_bytes("store bytes, 8 contracts", aj_contract_store_bytes(store));
    rc_table_make(&t100k, 100000, 0x100c0);
    heap0 = rc_heap();
    aj_contract *big = rc_contract("RCBIG", &t100k);
    int64_t t0 = bench_now_us();
    if (aj_contract_store_put(store, big, detail, sizeof(detail))) bench_die(detail);
    int64_t big_us = bench_now_us() - t0;
    size_t big_heap = rc_heap() - heap0;
    const aj_plan *bigp = aj_contract_store_find(store, "RCBIG", RC_OCT1_MS, NULL);
    if (!bigp) bench_die("no plan for the 100k contract");
    rc_print_us("load contract, 100k prefixes (put)", big_us);
    rc_print_bytes("plan bytes, 100k prefixes (aj_plan_bytes)", aj_plan_bytes(bigp));
    rc_print_bytes("heap per 100k contract (mallinfo2)", big_heap);

    free(u);
    free(ai);
    for (int a = 0; a < RC_ACCOUNTS; a++) aj_counters_free(&counters[a]);
    aj_contract_store_destroy(store);
    rc_table_free(&t10k);
    rc_table_free(&t100k);
    rc_account_cycle_bytes();
}

/* ---- checkpoints (issue 5) ----
 *
 * What checkpointing costs the chain through the mock cluster (the same run with checkpoints on,
 * wired as `ajuste run` wires them, and off), and what restoring a big partition takes. */

#define CK_MAX_PARTS 1024
#define CK_GROUP "aj-bench"
#define CK_STALL_US 250000          /* a commit this long waited on something other than its work */

static int64_t ck_median(int64_t *v, size_t n) {
    for (size_t i = 1; i < n; i++)   /* a handful of values: insertion sort */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* Resident set now and its peak since the last ck_rss_reset, in bytes (/proc/self/status). */
static void ck_rss(size_t *now, size_t *peak) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *now = *peak = 0;
    if (!f) return;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long kb;
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) *now = (size_t)kb * 1024;
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) *peak = (size_t)kb * 1024;
    }
    fclose(f);
}

/* Returns freed heap to the system and restarts the peak RSS count (Linux: clear_refs 5). */
static void ck_rss_reset(void) {
    malloc_trim(0);
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/*
 * The Kafka sink as the pipeline sees it, measured. Forwards every call unchanged; notes a
 * commit's span (from its first flush to the input offsets committed, see ck_source), the time
 * in the flushes (the first of a commit: the outputs; the next ones: the checkpoints) and in the
 * raw writes, and reads what the checkpoint messages hold (each manifest names the plain and
 * compressed size of its checkpoint).
 */
typedef struct ck_meter {
    aj_sink base;
    aj_sink *inner;
    char prefix[300];               /* "<group>/<input topic>/" */
    size_t prefix_len;
    int in_commit, flushed;
    int64_t t_commit;
    int64_t commits, commit_us, commit_max_us, outputs_flush_us, ckpt_flush_us, raw_us, offsets_us;
    int64_t first_ckpt_us;          /* span of the first commit that wrote checkpoints */
    int64_t stalls, stall_us;       /* commits longer than CK_STALL_US, and their time */
    int64_t rounds;                 /* runs summed in this meter (ck_meter_add) */
    int64_t run_ckpt_commits;       /* ckpt_commits of the run whose byte figures these are */
    int64_t ckpt_commits;           /* commits that wrote checkpoints */
    int64_t manifests, chunks, tombstones, plain, zbytes, max_plain, max_z, raw_bytes;
    int64_t last_plain[CK_MAX_PARTS], last_z[CK_MAX_PARTS];   /* per input partition, its last checkpoint */
    int64_t produced[CK_MAX_PARTS]; /* messages per checkpoint-topic partition */
    int wrote_in_commit;
    int log;                        /* one line per commit on stderr */
    int64_t at[5];                  /* the sums above at the start of the commit (for the log) */
} ck_meter;

static aj_err ck_write(aj_sink *s, aj_output_kind kind, const char *key, const void *d, size_t len) {
    ck_meter *m = (ck_meter *)s;
    return m->inner->ops->write(m->inner, kind, key, d, len);
}

static aj_err ck_flush(aj_sink *s, int timeout_ms) {
    ck_meter *m = (ck_meter *)s;
    int64_t t = bench_now_us();
    if (!m->in_commit) {
        m->in_commit = 1;
        m->flushed = 0;
        m->wrote_in_commit = 0;
        m->t_commit = t;
        int64_t at[5] = {m->outputs_flush_us, m->ckpt_flush_us, m->raw_us, m->manifests, m->plain};
        memcpy(m->at, at, sizeof(at));
    }
    aj_err rc = m->inner->ops->flush(m->inner, timeout_ms);
    int64_t us = bench_now_us() - t;
    if (m->flushed++)
        m->ckpt_flush_us += us;
    else
        m->outputs_flush_us += us;
    return rc;
}

static aj_err ck_close(aj_sink *s) {
    ck_meter *m = (ck_meter *)s;
    return m->inner->ops->close(m->inner);
}

static void ck_abort(aj_sink *s) {
    ck_meter *m = (ck_meter *)s;
    m->inner->ops->abort(m->inner);
}

/* Parses up to three '/'-separated decimal numbers of a key's tail; how many, -1 if not. */
static int ck_key_nums(const char *s, size_t len, int64_t v[3]) {
    int n = 0;
    size_t i = 0;
    while (i < len && n < 3) {
        int64_t x = 0;
        size_t start = i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) x = x * 10 + (s[i] - '0');
        if (i == start) return -1;
        v[n++] = x;
        if (i < len && s[i++] != '/') return -1;
    }
    return i == len ? n : -1;
}

static aj_err ck_raw(aj_sink *s, const char *topic, int32_t partition, const void *key, size_t key_len,
                     const void *value, size_t len) {
    ck_meter *m = (ck_meter *)s;
    int64_t v[3];
    int n = key_len > m->prefix_len && memcmp(key, m->prefix, m->prefix_len) == 0
                ? ck_key_nums((const char *)key + m->prefix_len, key_len - m->prefix_len, v)
                : -1;
    if (partition >= 0 && partition < CK_MAX_PARTS) m->produced[partition]++;
    m->wrote_in_commit = 1;
    m->raw_bytes += (int64_t)(key_len + (value ? len : 0));
    if (!value) {
        m->tombstones++;
    } else if (n == 3) {
        m->chunks++;
    } else if (n == 1 && len > 4 && memcmp(value, "AJCM", 4) == 0) {
        /* the manifest: seq, offset, chunks, compressed size, plain size, CRC (aj_checkpoint.c) */
        aj_avro_in in = {(const uint8_t *)value + 4, (const uint8_t *)value + len};
        int64_t f[6];
        for (int i = 0; i < 6; i++)
            if (aj_avro_get_long(&in, &f[i])) bench_die("checkpoint cost: a manifest that does not parse");
        m->manifests++;
        m->zbytes += f[3];
        m->plain += f[4];
        if (f[3] > m->max_z) m->max_z = f[3];
        if (f[4] > m->max_plain) m->max_plain = f[4];
        if (v[0] < CK_MAX_PARTS) {
            m->last_z[v[0]] = f[3];
            m->last_plain[v[0]] = f[4];
        }
    }
    int64_t t = bench_now_us();
    aj_err rc = m->inner->ops->raw(m->inner, topic, partition, key, key_len, value, len);
    m->raw_us += bench_now_us() - t;
    return rc;
}

static const aj_sink_ops ck_meter_ops = {ck_write, ck_flush, ck_close, ck_abort, ck_raw};

/* The Kafka source as the pipeline sees it: the time of the first record (the chain's clock
 * starts there, as in bench_kafka), the end offset reached per partition, and the commits'
 * offset-commit time; a commit's span ends here. */
typedef struct ck_source {
    aj_source base;
    aj_source *inner;
    ck_meter *m;
    int64_t t_first;
    int64_t end[CK_MAX_PARTS];      /* offset after the last record returned, per partition */
} ck_source;

static aj_err ck_next(aj_source *src, aj_message *msg, int timeout_ms) {
    ck_source *s = (ck_source *)src;
    aj_err rc = aj_source_next(s->inner, msg, timeout_ms);
    if (rc == AJ_E_OK) {
        if (!s->t_first) s->t_first = bench_now_us();
        if (msg->pos.partition >= 0 && msg->pos.partition < CK_MAX_PARTS) s->end[msg->pos.partition] = msg->pos.offset + 1;
    }
    return rc;
}

static aj_err ck_commit(aj_source *src) {
    ck_source *s = (ck_source *)src;
    ck_meter *m = s->m;
    int64_t t = bench_now_us();
    aj_err rc = aj_source_commit(s->inner);
    int64_t now = bench_now_us();
    m->offsets_us += now - t;
    if (m->in_commit) {
        int64_t span = now - m->t_commit;
        m->commits++;
        m->commit_us += span;
        if (span > m->commit_max_us) m->commit_max_us = span;
        if (m->wrote_in_commit && !m->ckpt_commits++) m->first_ckpt_us = span;
        if (span > CK_STALL_US) {
            m->stalls++;
            m->stall_us += span;
        }
        m->in_commit = 0;
        if (m->log)
            fprintf(stderr, "commit %3lld at %7.3f s: %8.3f ms: outputs flush %8.3f, save+encode %7.3f, raw %6.3f, "
                    "checkpoints flush %8.3f, offsets %6.3f ms; %lld checkpoints, %lld plain bytes\n",
                    (long long)m->commits, (double)(m->t_commit - s->t_first) / 1e6, (double)span / 1e3,
                    (double)(m->outputs_flush_us - m->at[0]) / 1e3,
                    (double)(span - (m->outputs_flush_us - m->at[0]) - (m->ckpt_flush_us - m->at[1]) -
                             (m->raw_us - m->at[2]) - (now - t)) / 1e3,
                    (double)(m->raw_us - m->at[2]) / 1e3, (double)(m->ckpt_flush_us - m->at[1]) / 1e3,
                    (double)(now - t) / 1e3, (long long)(m->manifests - m->at[3]), (long long)(m->plain - m->at[4]));
    }
    return rc;
}

static void ck_destroy(aj_source *src) {
    (void)src;   /* the inner source is destroyed by its creator */
}

static const aj_source_ops ck_source_ops = {ck_next, ck_commit, ck_destroy};

typedef struct ck_opts {
    int rounds;
    int ckpt_parts;                 /* partitions of the checkpoint topic */
    int log;                        /* --commit-log */
} ck_opts;

typedef struct ck_result {
    int64_t records, us;
    int64_t verified, parts;        /* input partitions whose last checkpoint matched the state */
    int64_t topic_msgs, evicted_parts;
} ck_result;

static aj_err ck_take(void *opaque, const aj_message *msg) {
    return aj_ckpt_reader_add(opaque, msg->key, msg->key_len, msg->value, msg->value_len);
}

/* After a run with checkpoints: reads the checkpoint topic back as a restart would and checks,
 * per input partition, that its latest complete checkpoint resumes at the partition's end and
 * holds exactly the adjuster's state now; and that the mock evicted nothing (its retention is
 * about 5 MiB per partition). */
static void ck_verify(const bench *b, const aj_config *cfg, aj_pipeline *pl, const ck_source *src, const ck_meter *m,
                      rd_kafka_t *rk, int ckpt_parts, ck_result *res) {
    char err[512] = "";
    aj_err rc;
    aj_kafka_follower *f = aj_kafka_follower_create(cfg, cfg->checkpoint_topic, 30000, &rc, err, sizeof(err));
    aj_ckpt_reader *r = aj_ckpt_reader_create(CK_GROUP, cfg->usage_topic);
    if (!f || !r || aj_kafka_follower_sync(f, 60000, ck_take, r, &res->topic_msgs, err, sizeof(err)))
        bench_die(err[0] ? err : "checkpoint cost: the checkpoint topic cannot be read back");
    for (int p = 0; p < b->partitions; p++) {
        aj_bytes got = {0}, now = {0};
        int64_t seq = 0, offset = 0;
        if (!src->end[p]) continue;
        res->parts++;
        if (aj_ckpt_reader_get(r, p, &seq, &offset, NULL, &got) == AJ_E_OK && offset == src->end[p] &&
            aj_pipeline_save_partition(pl, p, &now) == AJ_E_OK && now.len == got.len &&
            memcmp(now.data, got.data, got.len) == 0)
            res->verified++;
        else
            fprintf(stderr, "aj_bench: partition %d: its last checkpoint (seq %lld, offset %lld) is not its end "
                    "(%lld) and state\n", p, (long long)seq, (long long)offset, (long long)src->end[p]);
        aj_bytes_free(&got);
        aj_bytes_free(&now);
    }
    for (int p = 0; p < ckpt_parts; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, cfg->checkpoint_topic, p, &lo, &hi, 10000))
            bench_die("checkpoint cost: no watermarks");
        if (lo > 0 || hi != m->produced[p]) res->evicted_parts++;
    }
    aj_ckpt_reader_destroy(r);
    aj_kafka_follower_destroy(f);
}

/* One run of the chain through a fresh mock cluster: source -> pipeline -> Kafka sink, checkpoints
 * on (as `ajuste run` wires them: a contract follower, a checkpoint follower, the source's
 * partition hooks) or off. Timed from the first record to aj_pipeline_run's return (its last
 * commit has flushed every output and checkpoint). */
static void ck_round(const bench *b, const ck_opts *o, int on, ck_meter *m, ck_result *res) {
    char errstr[256], err[512] = "";
    aj_err rc;
    memset(res, 0, sizeof(*res));
    memset(m, 0, sizeof(*m));
    m->log = o->log;
    if (o->log) fprintf(stderr, "chain, checkpoints %s:\n", on ? "on" : "off");

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "log_level", "3");
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!mrk) bench_die(errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    if (!mc) bench_die("no mock cluster");
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    aj_config cfg;
    char cerr[256];
    if (aj_config_init(&cfg)) bench_die("config");
    if (aj_config_load_env(&cfg, environ, cerr, sizeof(cerr))) bench_die(cerr);   /* AJUSTE_*_INTERVAL_* */
    rd_kafka_mock_topic_create(mc, cfg.usage_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg.contract_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.invoice_topic, 8, 1);
    rd_kafka_mock_topic_create(mc, cfg.correction_topic, b->partitions, 1);
    rd_kafka_mock_topic_create(mc, cfg.dead_letter_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.review_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.checkpoint_topic, o->ckpt_parts, 1);
    aj_config_set(&cfg, "kafka.bootstrap.servers", boot, err, sizeof(err));
    aj_config_set(&cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err));
    aj_config_set(&cfg, "kafka.log_level", "3", err, sizeof(err));
    aj_config_set(&cfg, "kafka.group.id", CK_GROUP, err, sizeof(err));
    aj_config_set(&cfg, "run.exit_at_end", "true", err, sizeof(err));

    conf = rd_kafka_conf_new();
    bench_conf_set(conf, "bootstrap.servers", boot);
    bench_conf_set(conf, "linger.ms", "5");
    bench_conf_set(conf, "log_level", "3");
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!prod) bench_die(errstr);
    bench_produce(prod, cfg.contract_topic, &b->contracts);
    bench_produce(prod, cfg.usage_topic, &b->events);

    /* As aj_cmd_run.c: contracts through a follower, then the checkpoint follower and hooks. */
    aj_contract_store *store = aj_contract_store_create();
    aj_sink *sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    if (!store || !sink) bench_die(err);
    m->base.ops = &ck_meter_ops;
    m->inner = sink;
    m->prefix_len = (size_t)snprintf(m->prefix, sizeof(m->prefix), "%s/%s/", CK_GROUP, cfg.usage_topic);
    aj_pipeline *pl = aj_pipeline_create(store, &m->base);
    bench_policy(&cfg, pl);
    int64_t read = 0, rejected = 0;
    aj_kafka_follower *contracts = aj_kafka_follower_create(&cfg, cfg.contract_topic, 60000, &rc, err, sizeof(err));
    if (!pl || !contracts || aj_kafka_sync_contracts(contracts, cfg.contract_topic, 60000, aj_pipeline_add_contract, pl,
                                                     &read, &rejected, err, sizeof(err)))
        bench_die(err[0] ? err : "checkpoint cost: contracts");
    aj_kafka_follower *checkpoints = NULL;
    if (on) {
        if (!(checkpoints = aj_kafka_follower_create(&cfg, cfg.checkpoint_topic, 60000, &rc, err, sizeof(err))))
            bench_die(err);
        aj_ckpt_conf ck = {CK_GROUP, cfg.usage_topic, cfg.checkpoint_topic, checkpoints, contracts, cfg.contract_topic,
                           cfg.checkpoint_interval_records, cfg.checkpoint_interval_ms};
        if (aj_pipeline_enable_checkpoints(pl, &ck)) bench_die("checkpoint cost: checkpoints not enabled");
    }
    /* As `ajuste run`: the producer learns its topics before the first record (both ways). */
    const char *warm[] = {cfg.checkpoint_topic, cfg.invoice_topic, cfg.correction_topic, cfg.dead_letter_topic,
                          cfg.review_topic};
    for (size_t i = on ? 0 : 1; i < sizeof(warm) / sizeof(warm[0]); i++) aj_kafka_sink_warm(sink, warm[i], 10000);
    aj_source *ksrc = aj_kafka_source_create(&cfg, &rc, err, sizeof(err));
    if (!ksrc) bench_die(err);
    if (on) {
        aj_partition_hooks hooks = aj_pipeline_hooks(pl);
        aj_kafka_source_set_hooks(ksrc, &hooks);
    }
    ck_source *src = rc_calloc(1, sizeof(*src));
    src->base.ops = &ck_source_ops;
    src->inner = ksrc;
    src->m = m;

    aj_run_opts ro = {cfg.commit_interval_records, cfg.commit_interval_ms, NULL, NULL, NULL, 0};
    if ((rc = aj_pipeline_run(pl, &src->base, &ro)) != AJ_E_OK) bench_die(aj_err_str(rc));
    res->us = bench_now_us() - src->t_first;
    res->records = aj_pipeline_get_stats(pl)->records_in;
    if (res->records != (int64_t)b->events.n) bench_die("checkpoint cost: records lost (mock retention?)");
    if (aj_pipeline_adjust_stats(pl)->invoices != b->gen.accounts) bench_die("checkpoint cost: invoices missing");
    if (on) ck_verify(b, &cfg, pl, src, m, prod, o->ckpt_parts, res);

    aj_source_destroy(ksrc);   /* the revoke hook commits (nothing moved) before the sink closes */
    free(src);
    if ((rc = sink->ops->close(sink)) != AJ_E_OK) bench_die("checkpoint cost: outputs not delivered");
    aj_pipeline_destroy(pl);
    aj_kafka_follower_destroy(checkpoints);
    aj_kafka_follower_destroy(contracts);
    aj_contract_store_destroy(store);
    rd_kafka_destroy(prod);
    aj_config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

/* Adds the commit figures of one run to sum (the byte figures are the last run's). */
static void ck_meter_add(ck_meter *sum, const ck_meter *m) {
    int64_t rounds = sum->rounds;
    ck_meter keep = *sum;
    *sum = *m;
    sum->rounds = rounds + 1;
    sum->run_ckpt_commits = m->ckpt_commits;
    if (!rounds) return;
    sum->commits += keep.commits;
    sum->commit_us += keep.commit_us;
    sum->commit_max_us = keep.commit_max_us > m->commit_max_us ? keep.commit_max_us : m->commit_max_us;
    sum->outputs_flush_us += keep.outputs_flush_us;
    sum->ckpt_flush_us += keep.ckpt_flush_us;
    sum->raw_us += keep.raw_us;
    sum->offsets_us += keep.offsets_us;
    sum->first_ckpt_us += keep.first_ckpt_us;
    sum->ckpt_commits += keep.ckpt_commits;
    sum->stalls += keep.stalls;
    sum->stall_us += keep.stall_us;
}

static void ck_print_ms(const char *what, int64_t us) {
    printf("%-40s %10lld.%03lld ms\n", what, (long long)(us / 1000), (long long)(us % 1000));
}

/* One part of the commits: its time per run and per commit. */
static void ck_print_part(const char *what, int64_t us, int64_t runs, int64_t commits) {
    int64_t r = us / (runs ? runs : 1), c = us / (commits ? commits : 1);
    printf("  %-38s %7lld.%03lld ms per run %7lld.%03lld ms per commit\n", what, (long long)(r / 1000),
           (long long)(r % 1000), (long long)(c / 1000), (long long)(c % 1000));
}

static void ck_print_commits(const ck_meter *m) {
    int64_t n = m->commits, r = m->rounds;
    int64_t other = m->commit_us - m->outputs_flush_us - m->ckpt_flush_us - m->raw_us - m->offsets_us;
    printf("  %-38s %10.1f per run, %.1f with checkpoints\n", "commits", (double)n / (double)(r ? r : 1),
           (double)m->ckpt_commits / (double)(r ? r : 1));
    ck_print_part("time in commits", m->commit_us, r, n);
    ck_print_part("  flush of the outputs", m->outputs_flush_us, r, n);
    if (m->ckpt_commits) {
        ck_print_part("  save+encode (the rest)", other, r, n);
        ck_print_part("  produce checkpoints (raw)", m->raw_us, r, n);
        ck_print_part("  flush of the checkpoints", m->ckpt_flush_us, r, n);
    }
    ck_print_part("  offset commit", m->offsets_us, r, n);
    if (m->ckpt_commits) ck_print_part("first commit with checkpoints", m->first_ckpt_us, r, r);
    ck_print_part("commits over 250 ms (stalls)", m->stall_us, r, m->stalls);
    printf("  %-38s %10.2f per run; longest commit %lld ms\n", "  stalls", (double)m->stalls / (double)(r ? r : 1),
           (long long)(m->commit_max_us / 1000));
    fflush(stdout);
}

static void ck_print_bytes(const bench *b, const ck_meter *m) {
    int64_t n = m->manifests ? m->manifests : 1, c = m->run_ckpt_commits ? m->run_ckpt_commits : 1;
    int64_t last_plain = 0, last_z = 0, parts = 0;
    for (int p = 0; p < b->partitions && p < CK_MAX_PARTS; p++)
        if (m->last_plain[p]) {
            last_plain += m->last_plain[p];
            last_z += m->last_z[p];
            parts++;
        }
    printf("  %-38s %10lld (%lld chunks, %lld tombstones)\n", "partition checkpoints written", (long long)m->manifests,
           (long long)m->chunks, (long long)m->tombstones);
    printf("  %-38s %10lld plain %10lld compressed bytes\n", "  per commit (all partitions), mean", (long long)(m->plain / c),
           (long long)(m->zbytes / c));
    printf("  %-38s %10lld plain %10lld compressed bytes\n", "  per partition checkpoint, mean", (long long)(m->plain / n),
           (long long)(m->zbytes / n));
    printf("  %-38s %10lld plain %10lld compressed bytes\n", "  per partition checkpoint, max", (long long)m->max_plain,
           (long long)m->max_z);
    if (parts)
        printf("  %-38s %10lld plain %10lld compressed bytes\n", "  last checkpoint per partition, mean",
               (long long)(last_plain / parts), (long long)(last_z / parts));
    printf("  %-38s %10lld plain %10lld compressed bytes\n", "  all checkpoints of the run", (long long)m->plain,
           (long long)m->zbytes);
    fflush(stdout);
}

/* The cost of checkpointing: rounds of the chain with checkpoints off and on, alternated (ABBA),
 * each on a fresh mock cluster with the same data; medians and the cost in percent. */
static void bench_checkpoint_cost(const bench *b, const ck_opts *o) {
    int64_t *off = rc_calloc((size_t)o->rounds, sizeof(int64_t)), *on = rc_calloc((size_t)o->rounds, sizeof(int64_t));
    ck_meter *m = rc_calloc(1, sizeof(*m)), *sum_on = rc_calloc(1, sizeof(*sum_on)),
             *sum_off = rc_calloc(1, sizeof(*sum_off));
    ck_result res;
    aj_config cfg;
    if (b->partitions > CK_MAX_PARTS || o->ckpt_parts > CK_MAX_PARTS) bench_die("checkpoint cost: too many partitions");
    if (aj_config_init(&cfg) || aj_config_load_env(&cfg, environ, NULL, 0)) bench_die("config");
    printf("checkpoint cost: chain through the mock cluster, commit.interval.records=%lld, commit.interval.ms=%lld, "
           "checkpoint.interval.records=%lld, checkpoint.interval.ms=%lld (the configuration's defaults unless "
           "AJUSTE_* variables say otherwise), checkpoint topic of %d partitions, %d rounds each way (alternated)\n",
           (long long)cfg.commit_interval_records, (long long)cfg.commit_interval_ms,
           (long long)cfg.checkpoint_interval_records, (long long)cfg.checkpoint_interval_ms, o->ckpt_parts, o->rounds);
    aj_config_free(&cfg);
    for (int r = 0; r < o->rounds; r++)
        for (int k = 0; k < 2; k++) {
            int with = (r % 2 == 0) ? k : !k;   /* off,on / on,off / ... */
            ck_round(b, o, with, m, &res);
            int64_t rps = res.us > 0 ? res.records * 1000000 / res.us : 0;
            (with ? on : off)[r] = rps;
            bench_print(with ? "chain, checkpoints on" : "chain, checkpoints off", res.records, res.us);
            if (with) {
                printf("  %-38s %4lld of %lld partitions at their end offset, state identical; topic: %lld "
                       "messages, %lld partitions with evictions\n", "checkpoints read back",
                       (long long)res.verified, (long long)res.parts, (long long)res.topic_msgs,
                       (long long)res.evicted_parts);
                if (res.verified != res.parts || res.evicted_parts) bench_die("checkpoint cost: checkpoints lost");
            }
            ck_meter_add(with ? sum_on : sum_off, m);
            ck_print_ms("  time in commits", m->commit_us);
            fflush(stdout);
        }
    printf("\nall %d runs with checkpoints off:\n", o->rounds);
    ck_print_commits(sum_off);
    printf("all %d runs with checkpoints on:\n", o->rounds);
    ck_print_commits(sum_on);
    printf("checkpoint bytes, last run:\n");
    ck_print_bytes(b, sum_on);
    int64_t moff = ck_median(off, (size_t)o->rounds), mon = ck_median(on, (size_t)o->rounds);
    int64_t cost = moff > 0 ? (moff - mon) * 1000 / moff : 0;   /* tenths of a percent */
    printf("\n%-40s %10s %12s %12lld\n", "median, checkpoints off", "", "", (long long)moff);
    printf("%-40s %10s %12s %12lld\n", "median, checkpoints on", "", "", (long long)mon);
    printf("%-40s %10s %12s %10s%lld.%lld%%\n", "cost of checkpointing (median)", "", "", cost < 0 ? "-" : "",
           (long long)(cost < 0 ? -cost : cost) / 10, (long long)(cost < 0 ? -cost : cost) % 10);
    fflush(stdout);
    free(off);
    free(on);
    free(m);
    free(sum_on);
    free(sum_off);
}

/* ---- restore of a big partition ---- */

typedef struct rs_opts {
    int64_t cycles;                 /* open account-cycles in the partition */
    int64_t records;                /* usage records per account-cycle */
    int passes;
    int kafka;                      /* also the whole path through the mock cluster */
} rs_opts;

/* One phase: its time and a note (printf-style). */
__attribute__((format(printf, 3, 4))) static void rs_print(const char *what, int64_t us, const char *fmt, ...) {
    va_list ap;
    printf("%-40s %7lld.%03lld ms  ", what, (long long)(us / 1000), (long long)(us % 1000));
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* The restore through the mock cluster, as aj_pipeline_on_assigned does it: the checkpoint
 * messages produced to the checkpoint topic by a Kafka sink's raw op (as aj_ckpt_write), then
 * the pipeline's assigned hook on a fresh pipeline: the checkpoint follower syncs the topic,
 * the reader takes the latest complete checkpoint, the partition's adjuster loads it. */
static void rs_kafka(const rc_cycles *w, const aj_ckpt_msg *msgs, size_t n, int64_t offset, const aj_bytes *state) {
    char errstr[256], err[512] = "";
    aj_err rc;
    int64_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += (int64_t)msgs[i].value.len;
    if (bytes > 5 * 1024 * 1024 - 64 * 1024) {
        /* The whole checkpoint goes to one partition of the topic, and the mock keeps about
         * 5 MiB per partition: its first chunks would be gone before its manifest is read. */
        printf("  skipped: the checkpoint is %lld bytes; librdkafka's mock keeps about 5 MiB per partition, so it\n"
               "  cannot hold it (a broker's compacted topic can); --restore-cycles 2000 fits\n", (long long)bytes);
        return;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "log_level", "3");
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!mrk) bench_die(errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    if (!mc) bench_die("no mock cluster");
    aj_config cfg;
    if (aj_config_init(&cfg)) bench_die("config");
    rd_kafka_mock_topic_create(mc, cfg.checkpoint_topic, 1, 1);
    aj_config_set(&cfg, "kafka.bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), err, sizeof(err));
    aj_config_set(&cfg, "kafka.log_level", "3", err, sizeof(err));
    aj_config_set(&cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err));

    aj_sink *sink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    if (!sink) bench_die(err);
    int64_t t0 = bench_now_us();
    for (size_t i = 0; i < n; i++)
        if (sink->ops->raw(sink, cfg.checkpoint_topic, 0, msgs[i].key, strlen(msgs[i].key), msgs[i].value.data,
                           msgs[i].value.len))
            bench_die("restore: checkpoint not produced");
    if (sink->ops->flush(sink, 120000)) bench_die("restore: checkpoint not delivered");
    int64_t produce_us = bench_now_us() - t0;
    rs_print("  produce + flush to the mock", produce_us, "%lld messages, %lld bytes", (long long)n, (long long)bytes);

    aj_kafka_follower *f = aj_kafka_follower_create(&cfg, cfg.checkpoint_topic, 60000, &rc, err, sizeof(err));
    if (!f) bench_die(err);
    aj_pipeline *pl = aj_pipeline_create(w->store, sink);
    aj_ckpt_conf ck = {CK_GROUP, cfg.usage_topic, cfg.checkpoint_topic, f, NULL, NULL, 0, 0};
    if (!pl || aj_pipeline_enable_checkpoints(pl, &ck)) bench_die("restore: checkpoints not enabled");
    aj_partition_hooks hooks = aj_pipeline_hooks(pl);
    int32_t part = 0;
    int64_t resume = -1;
    size_t rss0, peak, heap0 = rc_heap();
    ck_rss_reset();
    ck_rss(&rss0, &peak);
    t0 = bench_now_us();
    rc = hooks.assigned(hooks.opaque, &part, &resume, 1);
    int64_t us = bench_now_us() - t0;
    size_t heap1 = rc_heap(), rss1;
    ck_rss(&rss1, &peak);
    int ok = rc == AJ_E_OK && resume == offset && (int64_t)aj_pipeline_open_cycles(pl) == w->accounts;
    aj_bytes again = {0};
    ok = ok && aj_pipeline_save_partition(pl, 0, &again) == AJ_E_OK && again.len == state->len;
    aj_bytes_free(&again);
    if (!ok) {
        printf("  restore through the mock: FAILED (%s, resume %lld, %zu open cycles)\n", aj_err_str(rc),
               (long long)resume, aj_pipeline_open_cycles(pl));
    } else {
        rs_print("  restore (assigned hook: sync+get+load)", us, "%lld open cycles, resumes at offset %lld",
                 (long long)aj_pipeline_open_cycles(pl), (long long)resume);
        printf("  %-38s %10zu bytes heap kept (adjuster + the reader's copy), peak RSS +%zu bytes\n",
               "  memory after the restore", heap1 - heap0, peak > rss0 ? peak - rss0 : 0);
    }
    fflush(stdout);
    aj_pipeline_destroy(pl);
    aj_kafka_follower_destroy(f);
    sink->ops->close(sink);
    aj_config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

/*
 * Restoring one partition holding `cycles` open account-cycles: each phase on its own, best of
 * `passes` (aj_adjust_save, aj_checkpoint_encode, the reader taking the messages and
 * uncompressing, aj_adjust_load into a new adjuster), then one instrumented restore for the heap
 * and peak RSS, then (kafka) the whole path through the mock cluster.
 */
static void bench_restore(const rs_opts *o) {
    rc_cycles w;
    aj_bytes state = {0};
    aj_ckpt_msg *msgs = NULL;
    size_t n = 0;
    int64_t best, zbytes = 0, offset;
    int64_t save_us, encode_us, add_us = INT64_MAX, get_us = INT64_MAX, load_us;

    printf("restore: one partition, %lld open account-cycles of %lld records (realistic contract, 200 prefixes in "
           "50 zones), best of %d\n", (long long)o->cycles, (long long)o->records, o->passes);
    rc_cycles_build(&w, o->cycles, o->records);
    offset = o->cycles * o->records;
    bench_print("adjust, open cycles (+bench rating)", offset, w.us);
    rc_print_bytes("heap of the open cycles", w.heap_cycles);
    rc_print_bytes("  per open account-cycle", w.heap_cycles / (size_t)(o->cycles ? o->cycles : 1));
    rc_print_bytes("heap of the contracts", w.heap_contracts);
    rs_print("  contracts built and loaded", w.contracts_us, "%lld contracts", (long long)o->cycles);

    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        state.len = 0;
        int64_t t0 = bench_now_us();
        if (aj_adjust_save(w.adj, &state)) bench_die("restore: save failed");
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    save_us = best;
    rs_print("aj_adjust_save", save_us, "%lld bytes (%lld per cycle)", (long long)state.len,
             (long long)(state.len / (size_t)(o->cycles ? o->cycles : 1)));

    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        aj_checkpoint_msgs_free(msgs, n);
        int64_t t0 = bench_now_us();
        if (aj_checkpoint_encode(CK_GROUP, "cdr.usage", 0, 1, offset, state.data, state.len, &msgs, &n))
            bench_die("restore: encode failed");
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
    }
    encode_us = best;
    for (size_t i = 0; i + 1 < n; i++) zbytes += (int64_t)msgs[i].value.len;
    rs_print("aj_checkpoint_encode (zlib)", encode_us, "%lld bytes compressed, %lld chunks", (long long)zbytes,
             (long long)(n - 1));
    printf("%-40s %10.2f x\n", "  compression ratio", zbytes ? (double)state.len / (double)zbytes : 0.0);

    /* The read side starts from the messages alone: the original adjuster goes (memory). */
    aj_adjust_destroy(w.adj);
    w.adj = NULL;
    for (int p = 0; p < o->passes; p++) {
        aj_ckpt_reader *r = aj_ckpt_reader_create(CK_GROUP, "cdr.usage");
        aj_bytes got = {0};
        int64_t seq, off, chunks;
        if (!r) bench_die("out of memory");
        int64_t t0 = bench_now_us();
        for (size_t i = 0; i < n; i++)
            if (aj_ckpt_reader_add(r, msgs[i].key, strlen(msgs[i].key), msgs[i].value.data, msgs[i].value.len))
                bench_die("restore: reader_add failed");
        int64_t t1 = bench_now_us();
        if (aj_ckpt_reader_get(r, 0, &seq, &off, &chunks, &got)) bench_die("restore: reader_get failed");
        int64_t t2 = bench_now_us();
        if (off != offset || got.len != state.len || memcmp(got.data, state.data, state.len))
            bench_die("restore: the checkpoint read back differs");
        if (t1 - t0 < add_us) add_us = t1 - t0;
        if (t2 - t1 < get_us) get_us = t2 - t1;
        aj_bytes_free(&got);
        aj_ckpt_reader_destroy(r);
    }
    rs_print("aj_ckpt_reader_add (every message)", add_us, "%lld messages (chunks copied, CRC-32 at the manifest)",
             (long long)n);
    rs_print("aj_ckpt_reader_get (uncompress)", get_us, "%lld bytes", (long long)state.len);

    best = INT64_MAX;
    for (int p = 0; p < o->passes; p++) {
        aj_adjust_out none = {NULL, NULL, NULL};
        aj_adjust *adj = aj_adjust_create(w.store, &none);
        aj_bytes again = {0};
        if (!adj) bench_die("out of memory");
        int64_t t0 = bench_now_us();
        if (aj_adjust_load(adj, state.data, state.len)) bench_die("restore: load failed");
        int64_t us = bench_now_us() - t0;
        if (us < best) best = us;
        /* Same size, not always the same bytes: the hash tables are saved in slot order, and
         * a cluster of a linear-probing table that wraps around its end refills in another order. */
        if ((int64_t)aj_adjust_open_cycles(adj) != o->cycles || aj_adjust_save(adj, &again) || again.len != state.len)
            bench_die("restore: the restored adjuster saves a different state");
        if (p == 0 && memcmp(again.data, state.data, state.len)) {
            size_t d = 0;
            while (again.data[d] == state.data[d]) d++;
            fprintf(stderr, "aj_bench: restore: the restored state saves the same length, other bytes from %zu\n", d);
        }
        aj_bytes_free(&again);
        aj_adjust_destroy(adj);
    }
    load_us = best;
    rs_print("aj_adjust_load", load_us, "%lld open cycles", (long long)o->cycles);
    rs_print("write side (save + encode)", save_us + encode_us, "%s", "");
    rs_print("restore in process (add + get + load)", add_us + get_us + load_us, "%s", "");

    /* One instrumented restore: heap at each step, peak RSS. */
    {
        aj_adjust_out none = {NULL, NULL, NULL};
        aj_ckpt_reader *r = aj_ckpt_reader_create(CK_GROUP, "cdr.usage");
        aj_bytes got = {0};
        int64_t seq, off, chunks;
        size_t rss0, peak, rss;
        ck_rss_reset();
        size_t h0 = rc_heap();
        ck_rss(&rss0, &peak);
        for (size_t i = 0; i < n; i++)
            if (aj_ckpt_reader_add(r, msgs[i].key, strlen(msgs[i].key), msgs[i].value.data, msgs[i].value.len))
                bench_die("restore: reader_add failed");
        size_t h1 = rc_heap();
        if (aj_ckpt_reader_get(r, 0, &seq, &off, &chunks, &got)) bench_die("restore: reader_get failed");
        size_t h2 = rc_heap();
        aj_adjust *adj = aj_adjust_create(w.store, &none);
        if (!adj || aj_adjust_load(adj, got.data, got.len)) bench_die("restore: load failed");
        size_t h3 = rc_heap();
        aj_bytes_free(&got);
        size_t h4 = rc_heap();
        ck_rss(&rss, &peak);
        printf("%-40s\n", "heap during the restore (above before)");
        rc_print_bytes("  reader holding the checkpoint", h1 - h0);
        rc_print_bytes("  + the state uncompressed", h2 - h0);
        rc_print_bytes("  + the adjuster loaded (peak)", h3 - h0);
        rc_print_bytes("  after, state freed (reader kept)", h4 - h0);
        rc_print_bytes("peak RSS during the restore (above)", peak > rss0 ? peak - rss0 : 0);
        aj_adjust_destroy(adj);
        aj_ckpt_reader_destroy(r);
    }
    if (o->kafka) {
        printf("restore through the mock cluster (checkpoint topic of 1 partition):\n");
        rs_kafka(&w, msgs, n, offset, &state);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    rc_print_bytes("peak RSS of the process (ru_maxrss)", (size_t)ru.ru_maxrss * 1024);
    aj_checkpoint_msgs_free(msgs, n);
    aj_bytes_free(&state);
    rc_cycles_free(&w);
}

static void bench_usage(FILE *out) {
    fprintf(out,
            "Usage: aj_bench [--accounts N] [--records M] [--partitions P] [--passes K] [--no-kafka]\n"
            "                [--contract-records R] [--classify-records C] [--contract-only | --no-contract]\n"
            "                [--contract-rating-only]\n"
            "       aj_bench --checkpoint-cost [--rounds N] [--checkpoint-partitions C] [--commit-log]\n"
            "                [--accounts N] [--records M] [--partitions P]\n"
            "       aj_bench --restore [--restore-cycles N] [--restore-records R] [--passes K] [--no-kafka]\n"
            "       aj_bench --replay [--rounds N] [--accounts N] [--records M] [--partitions P]\n\n"
            "Prints records per second for: decoding, rating, the in-process chain (Avro bytes to\n"
            "invoices, outputs encoded but not written), the chain through librdkafka's mock cluster,\n"
            "and, in the same run, the mock cluster's raw consume+produce rate with no processing\n"
            "(the ceiling), with the ratio. In-process figures are the best of K passes (default 3).\n"
            "Defaults: 2000 accounts, 300000 records, 32 partitions (the demo's workload).\n\n"
            "Then \"rating, realistic contract\": R records (default 2000000) rated in memory on one\n"
            "core against a 10k-prefix, 3-band contract with tiers, an allowance and a capped\n"
            "discount (with and without the account-cycle's counters, and the zone, band and\n"
            "contract lookups alone); the worst-case classification of C records (default 20000);\n"
            "plan bytes and load times of 10k- and 100k-prefix contracts; the heap per open\n"
            "account-cycle of 100 records (10000 cycles). --contract-only runs only this section;\n"
            "--contract-rating-only only its main loop (to profile it).\n\n"
            "--checkpoint-cost runs only the cost of checkpointing (issue 5): the chain through the\n"
            "mock cluster (source, pipeline, Kafka sink, default commit interval) with checkpoints on,\n"
            "wired as `ajuste run` wires them (contract and checkpoint followers, the source's\n"
            "partition hooks), and off; N rounds each way (default 5), alternated, each on a fresh\n"
            "mock cluster with the same data; medians and the cost in percent; the time in commits\n"
            "and its parts, the checkpoint bytes (plain and compressed) per commit and per partition.\n"
            "Each run with checkpoints is checked: the topic read back as a restart would read it\n"
            "gives every partition's end offset and its exact state, and the mock evicted nothing.\n"
            "The checkpoint topic has C partitions (default 32; the mock keeps about 5 MiB each).\n"
            "--commit-log prints every commit's time and its parts on stderr.\n\n"
            "--restore runs only the restore of one partition holding N open account-cycles (default\n"
            "100000) of R records each (default 100; the realistic contract's generator, 200\n"
            "prefixes): aj_adjust_save, aj_checkpoint_encode (zlib, chunks), the checkpoint reader\n"
            "(every message added, then uncompressed: checked byte for byte), aj_adjust_load (checked\n"
            "by its open cycles and the size it saves again), each the best of K passes; the heap\n"
            "and peak RSS during a restore; then, unless --no-kafka, the whole path through the\n"
            "mock cluster: the messages produced to a checkpoint topic and the pipeline's\n"
            "partition-assigned hook (follower sync, reader, load).\n\n"
            "--replay runs only replay against the live pipeline (issue 7): one usage topic on the mock\n"
            "cluster read to its end through the same pipeline and Kafka sink, as `ajuste run` reads it\n"
            "(consumer group, commits) and as `ajuste replay` does (whole partitions by assignment, no\n"
            "group, outputs to replay.* topics); N rounds each way (default 5), alternated, medians,\n"
            "the ratio of their rates, and a check that both wrote the same number of corrections.\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"accounts", required_argument, 0, 'a'}, {"records", required_argument, 0, 'r'},
        {"partitions", required_argument, 0, 'p'}, {"passes", required_argument, 0, 'k'},
        {"no-kafka", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
        {"contract-records", required_argument, 0, 'R'}, {"classify-records", required_argument, 0, 'C'},
        {"contract-only", no_argument, 0, 'o'}, {"no-contract", no_argument, 0, 'x'},
        {"contract-rating-only", no_argument, 0, 'O'}, {"checkpoint-cost", no_argument, 0, 'c'},
        {"rounds", required_argument, 0, 'N'}, {"checkpoint-partitions", required_argument, 0, 'P'},
        {"restore", no_argument, 0, 's'}, {"restore-cycles", required_argument, 0, 'S'},
        {"restore-records", required_argument, 0, 'T'}, {"commit-log", no_argument, 0, 'L'},
        {"replay", no_argument, 0, 'Y'}, {0, 0, 0, 0},
    };
    bench b;
    int64_t v;
    int c, kafka = 1, contract = 1, others = 1, ck_cost = 0, restore = 0, replay = 0;
    rc_opts rc = {2000000, 0, 20000, 3};
    ck_opts ck = {5, 32, 0};
    rs_opts rs = {100000, 100, 3, 1};

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
        case 'R': if (aj_parse_count("--contract-records", optarg, &rc.records)) return 2; break;
        case 'C': if (aj_parse_count("--classify-records", optarg, &rc.classify)) return 2; break;
        case 'o': others = 0; break;
        case 'O': others = 0; rc.rating_only = 1; break;
        case 'x': contract = 0; break;
        case 'c': ck_cost = 1; break;
        case 'N': if (aj_parse_count("--rounds", optarg, &v) || v < 1 || v > 1000) return 2; ck.rounds = (int)v; break;
        case 'P':
            if (aj_parse_count("--checkpoint-partitions", optarg, &v) || v < 1 || v > CK_MAX_PARTS) return 2;
            ck.ckpt_parts = (int)v;
            break;
        case 's': restore = 1; break;
        case 'Y': replay = 1; break;
        case 'L': ck.log = 1; break;
        case 'S': if (aj_parse_count("--restore-cycles", optarg, &rs.cycles) || rs.cycles < 1) return 2; break;
        case 'T': if (aj_parse_count("--restore-records", optarg, &rs.records) || rs.records < 1) return 2; break;
        case 'h': bench_usage(stdout); return 0;
        default: bench_usage(stderr); return 2;
        }
    }
    aj_log_set_level(AJ_LOG_WARN);
    if (aj_schemas_init() != AJ_E_OK) return 1;
    rc.passes = b.passes;
    rs.passes = b.passes;
    rs.kafka = kafka;
    if (restore) {
        bench_restore(&rs);
        if (!ck_cost) {
            aj_schemas_shutdown();
            return 0;
        }
    }
    if (!others && !ck_cost && !replay) {
        printf("%-40s %10s %12s %12s\n", "stage", "records", "seconds", "records/s");
        if (contract) bench_rating_contract(&rc);
        aj_schemas_shutdown();
        return 0;
    }
    aj_gen_out out = {&b, on_contract, on_event, on_truth};
    if (aj_gen_run(&b.gen, &out, NULL) != AJ_E_OK) bench_die("workload generation failed");
    printf("workload: %lld accounts, %zu usage-stream messages, %zu contract versions, %d partitions\n",
           (long long)b.gen.accounts, b.events.n, b.contracts.n, b.partitions);
    printf("%-40s %10s %12s %12s\n", "stage", "records", "seconds", "records/s");
    if (replay) {
        bench_replay(&b, ck.rounds);
        bench_free(&b);
        aj_schemas_shutdown();
        return 0;
    }
    if (ck_cost) {
        bench_checkpoint_cost(&b, &ck);
        bench_free(&b);
        aj_schemas_shutdown();
        return 0;
    }
    aj_contract_store *store = bench_store(&b);
    bench_decode(&b);
    bench_rating(&b, store);
    aj_contract_store_destroy(store);
    bench_chain(&b);
    if (kafka) bench_kafka(&b);
    if (contract) bench_rating_contract(&rc);
    bench_free(&b);
    aj_schemas_shutdown();
    return 0;
}
