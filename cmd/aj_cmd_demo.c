/* aj_cmd_demo.c - `ajuste demo`: the whole chain on an embedded workload and an in-process
 * Kafka mock cluster, checked against the workload's ground truth. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "aj_cmd.h"
#include "aj_render.h"
#include "aj_gen.h"
#include "aj_log.h"
#include "aj_truth.h"

#define DEMO_MALFORMED 70   /* byte-level malformed messages added to the usage topic */

typedef struct demo {
    aj_gen_opts gen;
    int partitions;
    int json;
    int quiet;
    /* the workload */
    rd_kafka_t *producer;
    aj_config cfg;
    int64_t produced;
    aj_truth_check *truth;               /* the ground truth, and the outputs against it */
    /* what came out */
    int64_t invoices, corrections, dead_letters;
    /* the invoice shown: its datum, decoded again to print (its arrays are the decoder's) */
    aj_bytes showcase;
    const aj_schema *showcase_schema;
    size_t showcase_reasons;
    aj_money showcase_adjust;
    char showcase_id[AJ_ID_LEN + 1];
    const char *html;                    /* where the demo writes the invoice as a page */
    int64_t total_records;
} demo;

static void demo_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste demo [--accounts N] [--records M] [--error-rate R] [--seed S]\n"
            "                   [--partitions P] [--html FILE] [--json] [--quiet]\n\n"
            "Runs the main job on an embedded default, no server needed: starts librdkafka's mock\n"
            "cluster in this process, generates a carrier workload (as `ajuste gen`), produces it,\n"
            "runs the streaming pipeline (as `ajuste run`), reads the invoices, corrections and\n"
            "dead letters back from the cluster and checks them against the ground truth.\n\n"
            "Options:\n"
            "  --accounts N      billing accounts (default 2000)\n"
            "  --records M       usage records (default 300000)\n"
            "  --error-rate R    share of records with a billing error (default 0.05)\n"
            "  --seed S          workload seed (default 42)\n"
            "  --partitions P    partitions of the usage topic (default 32)\n"
            "  --html FILE       write the invoice shown as a standalone HTML page\n"
            "                    (default ajuste-demo-invoice.html in the current directory)\n"
            "  --json            print the summary as one JSON object\n"
            "  -q, --quiet       no progress on stderr\n"
            "  -h, --help        this help\n");
}

static aj_err demo_produce(demo *d, const char *topic, const char *key, const void *value, size_t len) {
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(topic),
                                                  RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                                                  RD_KAFKA_V_VALUE((void *)value, len),
                                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            aj_error("demo", "cannot produce to %s: %s", topic, rd_kafka_err2str(e));
            return AJ_E_KAFKA;
        }
        rd_kafka_poll(d->producer, 10);
    }
    d->produced++;
    return AJ_E_OK;
}

/* A datum from the generator, framed as a single-object message. */
static aj_err demo_produce_datum(demo *d, const char *topic, aj_schema_id id, const char *key,
                                 const void *datum, size_t len) {
    uint8_t buf[4096];
    if (len + AJ_SOM_HEADER_LEN > sizeof(buf)) {
        uint8_t *big = malloc(len + AJ_SOM_HEADER_LEN);
        if (!big) return AJ_E_NOMEM;
        aj_som_header(aj_schema_current(id)->fingerprint, big);
        memcpy(big + AJ_SOM_HEADER_LEN, datum, len);
        aj_err rc = demo_produce(d, topic, key, big, len + AJ_SOM_HEADER_LEN);
        free(big);
        return rc;
    }
    aj_som_header(aj_schema_current(id)->fingerprint, buf);
    memcpy(buf + AJ_SOM_HEADER_LEN, datum, len);
    return demo_produce(d, topic, key, buf, len + AJ_SOM_HEADER_LEN);
}

static aj_err demo_on_contract(void *opaque, const char *key, const void *datum, size_t len) {
    demo *d = opaque;
    return demo_produce_datum(d, d->cfg.contract_topic, AJ_SCHEMA_CONTRACT, key, datum, len);
}

static aj_err demo_on_event(void *opaque, const char *key, const void *datum, size_t len) {
    demo *d = opaque;
    return demo_produce_datum(d, d->cfg.usage_topic, AJ_SCHEMA_USAGE_EVENT, key, datum, len);
}

static aj_err demo_on_truth(void *opaque, const aj_truth *t) {
    demo *d = opaque;
    return aj_truth_check_expect(d->truth, t);
}

/*
 * Messages no Avro reader could decode, each with the reason the pipeline must give: what a
 * broken producer, a wrong serializer or a truncated network write leave on a topic.
 */
static aj_err demo_produce_malformed(demo *d) {
    const aj_schema *usage = aj_schema_current(AJ_SCHEMA_USAGE_EVENT);
    uint8_t m[64];
    aj_err rc = AJ_E_OK;

    for (int i = 0; i < DEMO_MALFORMED && !rc; i++) {
        char key[16];
        size_t len = AJ_SOM_HEADER_LEN;
        aj_err want;
        snprintf(key, sizeof(key), "ACC%06d", i % (int)d->gen.accounts);
        aj_som_header(usage->fingerprint, m);
        switch (i % 7) {
        case 0:   /* cut inside the first string: record id of 11 bytes, 3 present */
            m[len++] = 0x00;
            m[len++] = 22;
            memcpy(m + len, "U00", 3);
            len += 3;
            want = AJ_E_TRUNCATED;
            break;
        case 1:   /* not single-object encoded at all */
            memcpy(m, "legacy,csv,row", 14);
            len = 14;
            want = AJ_E_BAD_MAGIC;
            break;
        case 2:   /* a schema nobody registered */
            aj_som_header(0x0123456789abcdefULL, m);
            m[len++] = 0x00;
            want = AJ_E_UNKNOWN_SCHEMA;
            break;
        case 3:   /* negative string length (zigzag -5) */
            m[len++] = 0x00;
            m[len++] = 0x09;
            want = AJ_E_BAD_LENGTH;
            break;
        case 4:   /* the branch one past the union's last (zig-zag 2n, one byte below 64) */
            m[len++] = (uint8_t)(2 * avro_schema_union_size(usage->schema));
            want = AJ_E_BAD_UNION;
            break;
        case 5:   /* empty message */
            len = 0;
            want = AJ_E_TRUNCATED;
            break;
        default:  /* a contract on the usage topic */
            aj_som_header(aj_schema_current(AJ_SCHEMA_CONTRACT)->fingerprint, m);
            m[len++] = 0x00;
            want = AJ_E_WRONG_SCHEMA;
            break;
        }
        aj_truth t = {.dead_letter = 1, .dead_reason = want};
        if ((rc = aj_truth_check_expect(d->truth, &t))) break;
        rc = demo_produce(d, d->cfg.usage_topic, key, m, len);
    }
    return rc;
}

static aj_err demo_on_invoice(void *opaque, const aj_message *msg) {
    demo *d = opaque;
    uint64_t fp;
    aj_invoice inv;
    const aj_schema *s;

    if (aj_som_parse(msg->value, msg->value_len, &fp) || !(s = aj_schema_by_fingerprint(fp))) return AJ_E_UNKNOWN_SCHEMA;
    aj_err rc = aj_decode_invoice(s, (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN,
                                  msg->value_len - AJ_SOM_HEADER_LEN, &inv);
    if (rc) return rc;
    d->invoices++;
    /* Show the invoice with the most kinds of correction, then the largest adjustment. */
    aj_money adj = inv.overcharge_removed + inv.undercharge_added;
    if (!d->showcase_schema || inv.n_reasons > d->showcase_reasons ||
        (inv.n_reasons == d->showcase_reasons && adj > d->showcase_adjust) ||
        (inv.n_reasons == d->showcase_reasons && adj == d->showcase_adjust && strcmp(inv.invoice_id, d->showcase_id) < 0)) {
        d->showcase.len = 0;
        rc = aj_avro_put_raw(&d->showcase, (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN,
                             msg->value_len - AJ_SOM_HEADER_LEN);
        d->showcase_schema = s;
        d->showcase_reasons = inv.n_reasons;
        d->showcase_adjust = adj;
        memcpy(d->showcase_id, inv.invoice_id, sizeof(d->showcase_id));
    }
    aj_invoice_release(&inv);
    return rc;
}

static aj_err demo_on_correction(void *opaque, const aj_message *msg) {
    demo *d = opaque;
    char origin[256];
    uint64_t fp;
    aj_correction c;
    const aj_schema *s;

    if (aj_som_parse(msg->value, msg->value_len, &fp) || !(s = aj_schema_by_fingerprint(fp))) return AJ_E_UNKNOWN_SCHEMA;
    aj_err rc = aj_decode_correction(s, (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN,
                                     msg->value_len - AJ_SOM_HEADER_LEN, &c, origin, sizeof(origin));
    if (rc) return rc;
    d->corrections++;
    aj_truth_check_correction(d->truth, &c);
    return AJ_E_OK;
}

static aj_err demo_on_dead_letter(void *opaque, const aj_message *msg) {
    demo *d = opaque;
    char origin[256];
    uint64_t fp;
    aj_dead_letter dl;
    const aj_schema *s;

    if (aj_som_parse(msg->value, msg->value_len, &fp) || !(s = aj_schema_by_fingerprint(fp))) return AJ_E_UNKNOWN_SCHEMA;
    aj_err rc = aj_decode_dead_letter(s, (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN,
                                      msg->value_len - AJ_SOM_HEADER_LEN, &dl, origin, sizeof(origin));
    if (rc) return rc;
    d->dead_letters++;
    aj_truth_check_dead_letter(d->truth, dl.reason);
    return AJ_E_OK;
}

typedef struct demo_progress {
    int64_t total;
    int64_t started;
} demo_progress;

static void demo_progress_cb(void *opaque, const aj_pipeline_stats *st) {
    demo_progress *pr = opaque;
    int64_t el = aj_now_ms() - pr->started;
    int64_t pct = pr->total ? st->records_in * 100 / pr->total : 100;
    int64_t rate = el > 0 ? st->records_in * 1000 / el : 0;
    int64_t eta = rate > 0 ? (pr->total - st->records_in) / rate : 0;
    fprintf(stderr, "\r  pipeline: %3lld%%  %lld of %lld records  %lld records/s  ETA %llds   ",
            (long long)pct, (long long)st->records_in, (long long)pr->total, (long long)rate, (long long)(eta < 0 ? 0 : eta));
    fflush(stderr);
}

static const char *demo_ratio(int64_t num, int64_t den, char *buf, size_t len) {
    if (den == 0) num = den = 1;
    int64_t ppm = (num * 1000000 + den / 2) / den;
    snprintf(buf, len, "%lld.%06lld", (long long)(ppm / 1000000), (long long)(ppm % 1000000));
    return buf;
}

static void demo_print_json(const demo *d, const aj_pipeline_stats *ps, const aj_adjust_stats *as,
                            int64_t rps, int64_t elapsed_ms) {
    char a[32], b[32], p[32], r[32];
    int first = 1;
    const aj_truth_totals *t = aj_truth_check_totals(d->truth);
    int64_t expected_dead = 0;

    for (int e = 0; e < AJ_E__COUNT; e++) expected_dead += t->dead_expected[e];

    printf("{\"records_in\":%lld,\"processed\":%lld,\"dead_letters\":%lld,\"dead_letters_expected\":%lld,"
           "\"dead_letters_by_reason\":{",
           (long long)ps->records_in, (long long)ps->processed, (long long)d->dead_letters,
           (long long)expected_dead);
    for (int e = 0; e < AJ_E__COUNT; e++)
        if (t->dead_found[e]) {
            printf("%s\"%s\":%lld", first ? "" : ",", aj_err_name((aj_err)e), (long long)t->dead_found[e]);
            first = 0;
        }
    printf("},\"corrections\":%lld,\"corrections_by_reason\":{", (long long)d->corrections);
    first = 1;
    for (int i = 0; i < AJ_REASON__COUNT; i++)
        if (t->by_reason[i].found) {
            printf("%s\"%s\":%lld", first ? "" : ",", aj_reason_name((aj_reason)i), (long long)t->by_reason[i].found);
            first = 0;
        }
    printf("},\"by_class\":{");
    first = 1;
    for (int i = 0; i < AJ_REASON__COUNT; i++) {
        const aj_truth_class *k = &t->by_reason[i];
        if (k->found || k->injected) {
            printf("%s\"%s\":{\"injected\":%lld,\"found\":%lld,\"matched\":%lld,\"precision\":%s,\"recall\":%s}",
                   first ? "" : ",", aj_reason_name((aj_reason)i), (long long)k->injected, (long long)k->found,
                   (long long)k->matched, demo_ratio(k->matched, k->found, p, sizeof(p)),
                   demo_ratio(k->matched, k->injected, r, sizeof(r)));
            first = 0;
        }
    }
    printf("},\"overcharge_removed\":\"%s\",\"undercharge_added\":\"%s\",\"currency\":\"BRL\","
           "\"invoices\":%lld,\"precision\":%s,\"recall\":%s,\"records_per_second\":%lld,\"pipeline_ms\":%lld}\n",
           aj_money_format(as->overcharge, 6, a, sizeof(a)), aj_money_format(as->undercharge, 6, b, sizeof(b)),
           (long long)d->invoices, demo_ratio(t->matched, t->found, p, sizeof(p)),
           demo_ratio(t->matched, t->injected, r, sizeof(r)), (long long)rps, (long long)elapsed_ms);
}

static void demo_print_text(const demo *d, const aj_pipeline_stats *ps, const aj_adjust_stats *as,
                            int64_t rps, int64_t elapsed_ms) {
    char a[32], b[32];
    const aj_truth_totals *t = aj_truth_check_totals(d->truth);
    int64_t expected_dead = 0;

    for (int e = 0; e < AJ_E__COUNT; e++) expected_dead += t->dead_expected[e];
    printf("\n== ajuste demo: what the billing run found ==\n\n");
    printf("Records in:          %lld  (usage %lld, recurring charges %lld, one-time charges %lld, cycle closes "
           "%lld valid)\n", (long long)ps->records_in, (long long)as->usage, (long long)as->recurring,
           (long long)as->one_time, (long long)as->closes);
    printf("Accounted for:       %lld processed + %lld dead letters = %lld %s\n", (long long)ps->processed,
           (long long)ps->dead_letters, (long long)(ps->processed + ps->dead_letters),
           ps->processed + ps->dead_letters == ps->records_in ? "(every record)" : "(MISMATCH)");
    printf("Dead letters:        %lld read back from the dead-letter topic (expected %lld)\n",
           (long long)d->dead_letters, (long long)expected_dead);
    for (int e = 0; e < AJ_E__COUNT; e++)
        if (t->dead_found[e] || t->dead_expected[e])
            printf("  %-22s %6lld  (expected %lld)\n", aj_err_name((aj_err)e), (long long)t->dead_found[e],
                   (long long)t->dead_expected[e]);
    printf("Corrections:         %lld, by reason, against the errors the generator injected:\n",
           (long long)d->corrections);
    aj_truth_check_print(d->truth, stdout);
    printf("Money corrected:     overcharges removed %s BRL, undercharges added %s BRL\n",
           aj_amount(as->overcharge, a, sizeof(a)), aj_amount(as->undercharge, b, sizeof(b)));
    printf("Invoices emitted:    %lld (one per account for cycle 2026-10)\n", (long long)d->invoices);
    printf("Against the ground truth (%lld injected billing errors):\n", (long long)t->injected);
    printf("  precision %s  (%lld of %lld corrections name the injected reason and the right amount)\n",
           aj_truth_pct(t->matched, t->found, a, sizeof(a)), (long long)t->matched, (long long)t->found);
    printf("  recall    %s  (%lld of %lld injected errors found)\n",
           aj_truth_pct(t->matched, t->injected, b, sizeof(b)), (long long)t->matched, (long long)t->injected);
    printf("Throughput:          %lld records/s through the pipeline (%lld.%03lld s)\n", (long long)rps,
           (long long)(elapsed_ms / 1000), (long long)(elapsed_ms % 1000));
    aj_invoice inv;
    if (d->showcase_schema && aj_decode_invoice(d->showcase_schema, d->showcase.data, d->showcase.len, &inv) == AJ_E_OK) {
        printf("\n== One adjusted invoice ==\n\n");
        aj_invoice_print_text(stdout, &inv);
        FILE *f = fopen(d->html, "w");
        aj_err rc = f ? aj_invoice_write_html(f, &inv) : AJ_E_IO;
        if (f && fclose(f) != 0) rc = AJ_E_IO;
        if (rc == AJ_E_OK)
            printf("\nThe same invoice as a web page: %s\n", d->html);
        else
            fprintf(stderr, "ajuste demo: cannot write %s\n", d->html);
        aj_invoice_release(&inv);
    }
}

int aj_cmd_demo(int argc, char **argv) {
    static const struct option opts[] = {
        {"accounts", required_argument, 0, 'a'}, {"records", required_argument, 0, 'r'},
        {"error-rate", required_argument, 0, 'e'}, {"seed", required_argument, 0, 's'},
        {"partitions", required_argument, 0, 'p'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {"html", required_argument, 0, 'H'},
        {0, 0, 0, 0},
    };
    demo d;
    char err[512] = "", errstr[512];
    int64_t v;
    int c, status = AJ_EXIT_FAILURE;
    rd_kafka_t *mrk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    aj_contract_store *store = NULL;
    aj_source *src = NULL;
    aj_sink *sink = NULL;
    aj_pipeline *p = NULL;
    aj_err rc = AJ_E_OK;

    memset(&d, 0, sizeof(d));
    aj_gen_defaults(&d.gen);
    d.partitions = 32;
    d.html = "ajuste-demo-invoice.html";
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'a': if (aj_parse_count("--accounts", optarg, &d.gen.accounts)) return AJ_EXIT_USAGE; break;
        case 'r': if (aj_parse_count("--records", optarg, &d.gen.records)) return AJ_EXIT_USAGE; break;
        case 's': if (aj_parse_count("--seed", optarg, &v)) return AJ_EXIT_USAGE; d.gen.seed = (uint64_t)v; break;
        case 'p':
            if (aj_parse_count("--partitions", optarg, &v)) return AJ_EXIT_USAGE;
            if (v < 1 || v > 1024) {
                fprintf(stderr, "ajuste demo: --partitions must be between 1 and 1024\n");
                return AJ_EXIT_USAGE;
            }
            d.partitions = (int)v;
            break;
        case 'e':
            if (aj_gen_parse_rate(optarg, &d.gen.error_ppm)) {
                fprintf(stderr, "ajuste demo: --error-rate expects a share between 0 and 1, got '%s'\n", optarg);
                return AJ_EXIT_USAGE;
            }
            break;
        case 'j': d.json = 1; break;
        case 'H': d.html = optarg; break;
        case 'q': d.quiet = 1; break;
        case 'h': demo_usage(stdout); return AJ_EXIT_OK;
        default: demo_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc || d.gen.accounts < 1 || d.gen.accounts > 999999) {
        fprintf(stderr, "ajuste demo: %s\n", optind < argc ? "unexpected argument" : "--accounts must be 1..999999");
        return AJ_EXIT_USAGE;
    }
    /* The mock keeps about 5 MiB per partition: keep each partition well under it. */
    if ((d.gen.records * 170) / d.partitions > 4 * 1024 * 1024) {
        fprintf(stderr, "ajuste demo: %lld records over %d partitions would overflow the mock cluster's "
                        "retention (about 5 MiB per partition); use --partitions %lld or more\n",
                (long long)d.gen.records, d.partitions, (long long)((d.gen.records * 170) / (4 * 1024 * 1024) + 1));
        return AJ_EXIT_USAGE;
    }
    aj_log_set_level(AJ_LOG_WARN);
    if (aj_schemas_init() != AJ_E_OK || aj_config_init(&d.cfg) != AJ_E_OK) return AJ_EXIT_FAILURE;
    if (!(d.truth = aj_truth_check_create())) goto end;

    /* 1. A Kafka cluster in this process. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, sizeof(err), "cannot start librdkafka: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    if (!(mc = rd_kafka_mock_cluster_new(mrk, 1))) {
        snprintf(err, sizeof(err), "cannot start librdkafka's mock cluster");
        goto fail;
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    rd_kafka_mock_topic_create(mc, d.cfg.usage_topic, d.partitions, 1);
    rd_kafka_mock_topic_create(mc, d.cfg.contract_topic, 4, 1);
    rd_kafka_mock_topic_create(mc, d.cfg.invoice_topic, 8, 1);
    rd_kafka_mock_topic_create(mc, d.cfg.correction_topic, d.partitions, 1);
    rd_kafka_mock_topic_create(mc, d.cfg.dead_letter_topic, 4, 1);
    static const char *const props[][2] = {
        {"kafka.fetch.wait.max.ms", "10"}, {"kafka.group.id", "ajuste-demo"}, {"run.exit_at_end", "true"},
        {"kafka.log_level", "3"}, {"log.level", "warn"},
    };
    aj_config_set(&d.cfg, "kafka.bootstrap.servers", bootstraps, err, sizeof(err));
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) aj_config_set(&d.cfg, props[i][0], props[i][1], err, sizeof(err));
    if (!d.quiet)
        fprintf(stderr, "ajuste demo: mock Kafka cluster at %s; %lld accounts, %lld usage records, seed %llu\n",
                bootstraps, (long long)d.gen.accounts, (long long)d.gen.records, (unsigned long long)d.gen.seed);

    /* 2. The workload, produced as the legacy chain would. */
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, NULL, 0);
    rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", NULL, 0);
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(d.producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, sizeof(err), "cannot create the workload producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    int64_t t0 = aj_now_ms();
    if ((rc = demo_produce_malformed(&d)) != AJ_E_OK) goto fail;
    aj_gen_out gout = {&d, demo_on_contract, demo_on_event, demo_on_truth};
    aj_gen_counts counts;
    if ((rc = aj_gen_run(&d.gen, &gout, &counts)) != AJ_E_OK) goto fail;
    if (rd_kafka_flush(d.producer, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, sizeof(err), "the workload could not be produced to the mock cluster");
        goto fail;
    }
    d.total_records = counts.usage + counts.recurring + counts.one_time + counts.closes + DEMO_MALFORMED;
    if (!d.quiet)
        fprintf(stderr, "ajuste demo: produced %lld contract versions and %lld usage-topic messages in %lld ms\n",
                (long long)counts.contracts, (long long)d.total_records, (long long)(aj_now_ms() - t0));

    /* 3. The pipeline, as `ajuste run` runs it. */
    int64_t read = 0, rejected = 0;
    if (!(store = aj_contract_store_create())) goto end;
    if (!(sink = aj_kafka_sink_create(&d.cfg, &rc, err, sizeof(err)))) goto fail;
    if (!(p = aj_pipeline_create(store, sink))) goto end;
    int64_t t1 = aj_now_ms();
    if ((rc = aj_kafka_read_contracts(&d.cfg, d.cfg.contract_topic, 30000, aj_pipeline_add_contract, p, &read,
                                      &rejected, err, sizeof(err))) != AJ_E_OK)
        goto fail;
    if (!(src = aj_kafka_source_create(&d.cfg, &rc, err, sizeof(err)))) goto fail;
    demo_progress pr = {d.total_records, t1};
    aj_run_opts ro = {d.cfg.commit_interval_records, d.cfg.commit_interval_ms, NULL,
                      d.quiet || !isatty(STDERR_FILENO) ? NULL : demo_progress_cb, &pr, 0};
    if ((rc = aj_pipeline_run(p, src, &ro)) != AJ_E_OK) {
        snprintf(err, sizeof(err), "pipeline failed: %s", aj_err_str(rc));
        goto fail;
    }
    aj_source_destroy(src);
    src = NULL;
    rc = sink->ops->close(sink);
    sink = NULL;
    if (rc != AJ_E_OK) {
        snprintf(err, sizeof(err), "outputs were not all delivered: %s", aj_err_str(rc));
        goto fail;
    }
    int64_t elapsed = aj_now_ms() - t1;
    if (ro.progress) fprintf(stderr, "\n");

    /* 4. Read back what a downstream billing system would receive. */
    if ((rc = aj_kafka_read_topic(&d.cfg, d.cfg.invoice_topic, 30000, demo_on_invoice, &d, NULL, err, sizeof(err))) ||
        (rc = aj_kafka_read_topic(&d.cfg, d.cfg.correction_topic, 30000, demo_on_correction, &d, NULL, err, sizeof(err))) ||
        (rc = aj_kafka_read_topic(&d.cfg, d.cfg.dead_letter_topic, 30000, demo_on_dead_letter, &d, NULL, err, sizeof(err))))
        goto fail;

    const aj_pipeline_stats *ps = aj_pipeline_get_stats(p);
    const aj_adjust_stats *as = aj_pipeline_adjust_stats(p);
    int64_t rps = elapsed > 0 ? ps->records_in * 1000 / elapsed : 0;
    if (d.json)
        demo_print_json(&d, ps, as, rps, elapsed);
    else
        demo_print_text(&d, ps, as, rps, elapsed);
    status = ps->records_in == d.total_records && ps->processed + ps->dead_letters == ps->records_in ? AJ_EXIT_OK : AJ_EXIT_FAILURE;
    if (status != AJ_EXIT_OK)
        fprintf(stderr, "ajuste demo: %lld records produced but %lld read: the mock cluster dropped data\n",
                (long long)d.total_records, (long long)ps->records_in);
    goto end;
fail:
    fprintf(stderr, "ajuste demo: %s\n", err[0] ? err : aj_err_str(rc));
end:
    aj_source_destroy(src);
    if (sink) sink->ops->abort(sink);   /* only a failed run gets here with a sink */
    aj_pipeline_destroy(p);
    aj_contract_store_destroy(store);
    if (d.producer) rd_kafka_destroy(d.producer);
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (mrk) rd_kafka_destroy(mrk);
    aj_truth_check_destroy(d.truth);
    aj_bytes_free(&d.showcase);
    aj_config_free(&d.cfg);
    aj_schemas_shutdown();
    return status;
}
