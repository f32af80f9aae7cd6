/* aj_bench.c - throughput of each stage and of the whole chain, beside the mock cluster's ceiling. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "aj_adjust.h"
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

/* Heap growth of an adjuster holding RC_ADJ_ACCOUNTS open account-cycles of RC_ADJ_RECORDS
 * records each, per account-cycle (the struct aj_acc, its seen-set, counters, versions and the
 * map entry). Records arrive round-robin over the accounts; their legacy charge is the
 * expected one (kept with the bench's own counters), so nothing is classified. */
static void rc_account_cycle_bytes(void) {
    rc_table t;
    char acct[AJ_KEY_LEN + 1], id[AJ_ID_LEN + 1], detail[256];
    aj_contract_store *store = aj_contract_store_create();
    aj_counters *shadow = rc_calloc(RC_ADJ_ACCOUNTS, sizeof(*shadow));
    const aj_plan **plans = rc_calloc(RC_ADJ_ACCOUNTS, sizeof(*plans));
    int64_t corrections = 0;
    uint64_t rng = 0xacc0;

    if (!store) bench_die("out of memory");
    rc_table_make(&t, 200, 0x5eed5);   /* the accounts' contracts: the same shape, 200 prefixes */
    for (int a = 0; a < RC_ADJ_ACCOUNTS; a++) {
        snprintf(acct, sizeof(acct), "ADJ%05d", a);
        if (aj_contract_store_put(store, rc_contract(acct, &t), detail, sizeof(detail))) bench_die(detail);
        plans[a] = aj_contract_store_find(store, acct, RC_OCT1_MS, NULL);
        /* the bench's counters get their memory before the measurement */
        for (int k = 0; k < 3; k++) aj_counters_add(&shadow[a], (aj_counter_kind)k, "x", 0);
        shadow[a].n = 0;
    }
    aj_adjust_out out = {&corrections, rc_no_correction, rc_no_invoice};
    aj_adjust *adj = aj_adjust_create(store, &out);
    if (!adj) bench_die("out of memory");
    size_t before = rc_heap();
    int64_t t0 = bench_now_us();
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    ev.pos.origin = "bench";
    int64_t slot = 31 * RC_DAY / RC_ADJ_RECORDS;
    for (int r = 0; r < RC_ADJ_RECORDS; r++)
        for (int a = 0; a < RC_ADJ_ACCOUNTS; a++) {
            aj_charge ch;
            snprintf(acct, sizeof(acct), "ADJ%05d", a);
            snprintf(id, sizeof(id), "ADJ%05d-%03d", a, r);
            rc_usage(&rng, &t, acct, id, RC_OCT1_MS + r * slot, slot, &ev.u.usage);
            if (aj_rating_rate_usage(plans[a], &ev.u.usage, &shadow[a], NULL, &ch) ||
                aj_charge_commit(&ch, &shadow[a]))
                bench_die("account-cycles: rating failed");
            ev.u.usage.legacy_charge = ch.amount;
            ev.pos.offset = (int64_t)r * RC_ADJ_ACCOUNTS + a;
            if (aj_adjust_event(adj, &ev, detail, sizeof(detail))) bench_die(detail);
        }
    int64_t us = bench_now_us() - t0;
    size_t after = rc_heap(), open = aj_adjust_open_cycles(adj);
    if (open != RC_ADJ_ACCOUNTS) bench_die("account-cycles: not all open");
    if (corrections) fprintf(stderr, "aj_bench: account-cycles: %lld unexpected corrections\n", (long long)corrections);
    bench_print("adjust, 10k open cycles (+bench rating)", (int64_t)RC_ADJ_ACCOUNTS * RC_ADJ_RECORDS, us);
    rc_print_bytes("bytes per open account-cycle (100 records)", after > before ? (after - before) / open : 0);
    aj_adjust_destroy(adj);
    for (int a = 0; a < RC_ADJ_ACCOUNTS; a++) aj_counters_free(&shadow[a]);
    free(shadow);
    free(plans);
    aj_contract_store_destroy(store);
    rc_table_free(&t);
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

static void bench_usage(FILE *out) {
    fprintf(out,
            "Usage: aj_bench [--accounts N] [--records M] [--partitions P] [--passes K] [--no-kafka]\n"
            "                [--contract-records R] [--classify-records C] [--contract-only | --no-contract]\n"
            "                [--contract-rating-only]\n\n"
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
            "--contract-rating-only only its main loop (to profile it).\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"accounts", required_argument, 0, 'a'}, {"records", required_argument, 0, 'r'},
        {"partitions", required_argument, 0, 'p'}, {"passes", required_argument, 0, 'k'},
        {"no-kafka", no_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
        {"contract-records", required_argument, 0, 'R'}, {"classify-records", required_argument, 0, 'C'},
        {"contract-only", no_argument, 0, 'o'}, {"no-contract", no_argument, 0, 'x'},
        {"contract-rating-only", no_argument, 0, 'O'}, {0, 0, 0, 0},
    };
    bench b;
    int64_t v;
    int c, kafka = 1, contract = 1, others = 1;
    rc_opts rc = {2000000, 0, 20000, 3};

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
        case 'h': bench_usage(stdout); return 0;
        default: bench_usage(stderr); return 2;
        }
    }
    aj_log_set_level(AJ_LOG_WARN);
    if (aj_schemas_init() != AJ_E_OK) return 1;
    rc.passes = b.passes;
    if (!others) {
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
    aj_contract_store *store = bench_store(&b);
    bench_decode(&b);
    bench_rating(&b, store);
    aj_contract_store_destroy(store);
    bench_chain(&b);
    if (kafka) bench_kafka(&b);
    if (contract) bench_rating_contract(&rc);
    for (size_t i = 0; i < b.events.n; i++) free(b.events.v[i].value);
    for (size_t i = 0; i < b.contracts.n; i++) free(b.contracts.v[i].value);
    free(b.events.v);
    free(b.contracts.v);
    aj_schemas_shutdown();
    return 0;
}
