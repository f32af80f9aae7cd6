/* test_kafka_pipeline.c - the Kafka path and the file path give the same invoices and
 * corrections for the same workload; malformed messages all land in the dead-letter topic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "aj_cmd.h"
#include "aj_gen.h"

/* A list of datums (bytes), to be sorted and compared. */
typedef struct blobs {
    aj_bytes *v;
    size_t n, cap;
} blobs;

static void blobs_add(blobs *b, const void *data, size_t len) {
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->v = realloc(b->v, b->cap * sizeof(*b->v));
        assert_non_null(b->v);
    }
    aj_bytes *x = &b->v[b->n++];
    memset(x, 0, sizeof(*x));
    assert_int_equal(aj_bytes_reserve(x, len ? len : 1), AJ_E_OK);
    memcpy(x->data, data, len);
    x->len = len;
}

static int blob_cmp(const void *a, const void *b) {
    const aj_bytes *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void blobs_free(blobs *b) {
    for (size_t i = 0; i < b->n; i++) aj_bytes_free(&b->v[i]);
    free(b->v);
}

typedef struct wl {
    blobs contracts, events;
    char **keys;        /* account of each event */
    size_t n_keys, cap_keys;
} wl;

static aj_err on_contract(void *o, const char *key, const void *d, size_t len) {
    (void)key;
    blobs_add(&((wl *)o)->contracts, d, len);
    return AJ_E_OK;
}

static aj_err on_event(void *o, const char *key, const void *d, size_t len) {
    wl *w = o;
    blobs_add(&w->events, d, len);
    if (w->n_keys == w->cap_keys) {
        w->cap_keys = w->cap_keys ? w->cap_keys * 2 : 1024;
        w->keys = realloc(w->keys, w->cap_keys * sizeof(char *));
    }
    w->keys[w->n_keys++] = strdup(key);
    return AJ_E_OK;
}

static aj_err on_truth(void *o, const aj_truth *t) {
    (void)o;
    (void)t;
    return AJ_E_OK;
}

static aj_err collect(void *opaque, const aj_message *m) {
    blobs_add(opaque, (const uint8_t *)m->value + AJ_SOM_HEADER_LEN, m->value_len - AJ_SOM_HEADER_LEN);
    return AJ_E_OK;
}

static void read_ocf(const char *path, blobs *out) {
    char err[256];
    aj_err rc;
    aj_message m;
    aj_source *src = aj_file_source_open(path, &rc, err, sizeof(err));
    if (!src) fail_msg("%s", err);
    while ((rc = aj_source_next(src, &m, 0)) == AJ_E_OK) blobs_add(out, m.value, m.value_len);
    assert_int_equal(rc, AJ_E_EOF);
    aj_source_destroy(src);
}

/* Corrections name where their record came from (file index or topic/partition/offset), which
 * differs between the two paths by design; everything else must be identical. Re-encodes each
 * correction with its source blanked. */
static void blank_sources(blobs *b) {
    aj_out_encoder *enc = aj_out_encoder_create();
    char origin[256];
    assert_non_null(enc);
    for (size_t i = 0; i < b->n; i++) {
        aj_correction c;
        assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), b->v[i].data, b->v[i].len, &c,
                                              origin, sizeof(origin)),
                         AJ_E_OK);
        c.source.origin = "";
        c.source.partition = 0;
        c.source.offset = 0;
        b->v[i].len = 0;
        assert_int_equal(aj_encode_correction(enc, &c, &b->v[i]), AJ_E_OK);
    }
    aj_out_encoder_destroy(enc);
}

#define MALFORMED 40

static void test_kafka_path_equals_file_path(void **state) {
    aj_gen_opts o;
    wl w;
    char dir[] = "/tmp/aj_kp_XXXXXX", path[512], err[512];
    aj_err rc;
    (void)state;

    memset(&w, 0, sizeof(w));
    aj_gen_defaults(&o);
    o.accounts = 300;
    o.records = 30000;
    o.seed = 7;
    aj_gen_out gout = {&w, on_contract, on_event, on_truth};
    assert_int_equal(aj_gen_run(&o, &gout, NULL), AJ_E_OK);
    assert_non_null(mkdtemp(dir));

    /* --- file path --- */
    aj_ocf_writer *cw = aj_ocf_writer_open(aj_path(path, sizeof(path), dir, "contracts.avro"),
                                           aj_schema_current(AJ_SCHEMA_CONTRACT), 1, &rc, err, sizeof(err));
    aj_ocf_writer *uw = aj_ocf_writer_open(aj_path(path, sizeof(path), dir, "usage.avro"),
                                           aj_schema_current(AJ_SCHEMA_USAGE_EVENT), 1, &rc, err, sizeof(err));
    assert_non_null(cw);
    assert_non_null(uw);
    for (size_t i = 0; i < w.contracts.n; i++) assert_int_equal(aj_ocf_writer_append(cw, w.contracts.v[i].data, w.contracts.v[i].len), AJ_E_OK);
    for (size_t i = 0; i < w.events.n; i++) assert_int_equal(aj_ocf_writer_append(uw, w.events.v[i].data, w.events.v[i].len), AJ_E_OK);
    assert_int_equal(aj_ocf_writer_close(cw), AJ_E_OK);
    assert_int_equal(aj_ocf_writer_close(uw), AJ_E_OK);

    char outdir[600];
    snprintf(outdir, sizeof(outdir), "%s/out", dir);
    aj_contract_store *fstore = aj_contract_store_create();
    aj_sink *fsink = aj_file_sink_open(outdir, &rc, err, sizeof(err));
    assert_non_null(fsink);
    aj_pipeline *fp = aj_pipeline_create(fstore, fsink);
    aj_source *src = aj_file_source_open(aj_path(path, sizeof(path), dir, "contracts.avro"), &rc, err, sizeof(err));
    assert_non_null(src);
    assert_int_equal(aj_pipeline_load_contracts(fp, src), AJ_E_OK);
    aj_source_destroy(src);
    src = aj_file_source_open(aj_path(path, sizeof(path), dir, "usage.avro"), &rc, err, sizeof(err));
    assert_non_null(src);
    aj_run_opts ro = {INT64_MAX, INT64_MAX, NULL, NULL, NULL, 0};
    assert_int_equal(aj_pipeline_run(fp, src, &ro), AJ_E_OK);
    aj_source_destroy(src);
    assert_int_equal(fsink->ops->close(fsink), AJ_E_OK);
    const aj_pipeline_stats fstats = *aj_pipeline_get_stats(fp);
    assert_int_equal(fstats.records_in, (int64_t)w.events.n);

    /* --- Kafka path, over the mock cluster --- */
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(mrk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    assert_non_null(mc);
    aj_config cfg;
    assert_int_equal(aj_config_init(&cfg), AJ_E_OK);
    rd_kafka_mock_topic_create(mc, cfg.usage_topic, 8, 1);
    rd_kafka_mock_topic_create(mc, cfg.contract_topic, 2, 1);
    rd_kafka_mock_topic_create(mc, cfg.invoice_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.correction_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, cfg.dead_letter_topic, 2, 1);
    aj_config_set(&cfg, "kafka.bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), err, sizeof(err));
    aj_config_set(&cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err));
    aj_config_set(&cfg, "kafka.log_level", "3", err, sizeof(err));
    aj_config_set(&cfg, "run.exit_at_end", "true", err, sizeof(err));
    aj_config_set(&cfg, "commit.interval.records", "2000", err, sizeof(err));

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), NULL, 0);
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(prod);
    uint8_t buf[8192];
    for (size_t i = 0; i < w.contracts.n; i++) {
        aj_som_header(aj_schema_current(AJ_SCHEMA_CONTRACT)->fingerprint, buf);
        memcpy(buf + AJ_SOM_HEADER_LEN, w.contracts.v[i].data, w.contracts.v[i].len);
        assert_int_equal(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(cfg.contract_topic), RD_KAFKA_V_VALUE(buf, w.contracts.v[i].len + AJ_SOM_HEADER_LEN),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END), 0);
    }
    /* Malformed messages first: truncated datums of real records, and garbage. */
    for (int i = 0; i < MALFORMED; i++) {
        const aj_bytes *e = &w.events.v[i];
        size_t len = AJ_SOM_HEADER_LEN + e->len / 3;
        aj_som_header(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->fingerprint, buf);
        memcpy(buf + AJ_SOM_HEADER_LEN, e->data, e->len / 3);
        if (i % 2) {
            memcpy(buf, "not avro", 8);
            len = 8;
        }
        assert_int_equal(rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(cfg.usage_topic), RD_KAFKA_V_KEY(w.keys[i], strlen(w.keys[i])),
                                           RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END), 0);
    }
    for (size_t i = 0; i < w.events.n; i++) {
        aj_som_header(aj_schema_current(AJ_SCHEMA_USAGE_EVENT)->fingerprint, buf);
        memcpy(buf + AJ_SOM_HEADER_LEN, w.events.v[i].data, w.events.v[i].len);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(cfg.usage_topic), RD_KAFKA_V_KEY(w.keys[i], strlen(w.keys[i])),
                                      RD_KAFKA_V_VALUE(buf, w.events.v[i].len + AJ_SOM_HEADER_LEN),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(prod, 10);
        assert_int_equal(e, 0);
    }
    assert_int_equal(rd_kafka_flush(prod, 30000), 0);
    rd_kafka_destroy(prod);

    aj_contract_store *kstore = aj_contract_store_create();
    aj_sink *ksink = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    if (!ksink) fail_msg("%s", err);
    aj_pipeline *kp = aj_pipeline_create(kstore, ksink);
    int64_t read = 0, rejected = 0;
    assert_int_equal(aj_kafka_read_contracts(&cfg, cfg.contract_topic, 30000, aj_pipeline_add_contract, kp, &read, &rejected, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(read, (int64_t)w.contracts.n);
    aj_source *ksrc = aj_kafka_source_create(&cfg, &rc, err, sizeof(err));
    if (!ksrc) fail_msg("%s", err);
    assert_int_equal(aj_pipeline_run(kp, ksrc, &ro), AJ_E_OK);
    aj_source_destroy(ksrc);
    assert_int_equal(ksink->ops->close(ksink), AJ_E_OK);
    const aj_pipeline_stats *ks = aj_pipeline_get_stats(kp);

    /* Records in = processed + dead letters, and every malformed one is a dead letter. */
    assert_int_equal(ks->records_in, (int64_t)w.events.n + MALFORMED);
    assert_int_equal(ks->processed + ks->dead_letters, ks->records_in);
    assert_int_equal(ks->dead_letters, fstats.dead_letters + MALFORMED);
    assert_int_equal(ks->dead_by_reason[AJ_E_BAD_MAGIC], MALFORMED / 2);

    /* Same invoices byte for byte, same corrections but for their sources (order differs:
     * partitions). */
    const char *names[] = {"invoices.avro", "corrections.avro"};
    const char *topics[] = {cfg.invoice_topic, cfg.correction_topic};
    for (int k = 0; k < 2; k++) {
        blobs fb = {0}, kb = {0};
        read_ocf(aj_path(path, sizeof(path), outdir, names[k]), &fb);
        assert_int_equal(aj_kafka_read_topic(&cfg, topics[k], 30000, collect, &kb, NULL, err, sizeof(err)), AJ_E_OK);
        assert_true(fb.n > 0);
        assert_int_equal(fb.n, kb.n);
        if (k == 1) {
            blank_sources(&fb);
            blank_sources(&kb);
        }
        qsort(fb.v, fb.n, sizeof(*fb.v), blob_cmp);
        qsort(kb.v, kb.n, sizeof(*kb.v), blob_cmp);
        for (size_t i = 0; i < fb.n; i++) assert_int_equal(blob_cmp(&fb.v[i], &kb.v[i]), 0);
        blobs_free(&fb);
        blobs_free(&kb);
    }
    blobs dl = {0};
    assert_int_equal(aj_kafka_read_topic(&cfg, cfg.dead_letter_topic, 30000, collect, &dl, NULL, err, sizeof(err)), AJ_E_OK);
    assert_int_equal((int64_t)dl.n, ks->dead_letters);
    blobs_free(&dl);

    aj_pipeline_destroy(kp);
    aj_contract_store_destroy(kstore);
    aj_pipeline_destroy(fp);
    aj_contract_store_destroy(fstore);
    aj_config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    for (size_t i = 0; i < w.n_keys; i++) free(w.keys[i]);
    free(w.keys);
    blobs_free(&w.contracts);
    blobs_free(&w.events);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
    (void)state;
    return aj_schemas_init() == AJ_E_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    aj_schemas_shutdown();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_path_equals_file_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
