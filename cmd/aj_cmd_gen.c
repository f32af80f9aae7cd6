/* aj_cmd_gen.c - `ajuste gen`: a synthetic workload as files or Kafka topics, and its ground truth. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <librdkafka/rdkafka.h>

#include "aj_cmd.h"
#include "aj_gen.h"

/* The help; the topic defaults are read from the configuration table, as `ajuste run` uses them. */
static void gen_usage(FILE *out) {
    aj_config cfg = {0};
    int have_cfg = aj_config_init(&cfg) == AJ_E_OK;
    fprintf(out,
            "Usage: ajuste gen --out DIR [--accounts N] [--records M] [--error-rate R]\n"
            "                  [--invalid-rate R] [--seed S]\n"
            "                  [--bootstrap-servers LIST [--usage-topic T] [--contract-topic T]]\n\n"
            "Writes a deterministic synthetic carrier workload into DIR:\n"
            "  contracts.avro     contract versions (schema contract.avsc)\n"
            "  usage.avro         recurring charges, usage records, cycle closes (usage_event.avsc)\n"
            "  ground_truth.csv   every injected error: record id, expected reason (or\n"
            "                     DEAD_LETTER:<reason>), legacy and correct amounts in micro-units\n"
            "Same options, same bytes.\n\n"
            "With --bootstrap-servers the contract versions and the usage stream are produced to\n"
            "Kafka instead of the two .avro files, as the legacy chain would: one message per datum,\n"
            "Avro single-object encoded (C3 01, schema fingerprint, datum), keyed by the account, in\n"
            "the same order, by an idempotent producer; gen fails unless every message is delivered.\n"
            "ground_truth.csv is still written to DIR.\n\n"
            "Options:\n"
            "  --out DIR           output directory (created if missing)\n"
            "  --accounts N        billing accounts (default 2000)\n"
            "  --records M         usage records (default 300000)\n"
            "  --error-rate R      share of records with a billing error, e.g. 0.05 or 5%% (default 0.05)\n"
            "  --invalid-rate R    share of usage records made invalid (default 0.002)\n"
            "  --seed S            random seed (default 42)\n"
            "  --bootstrap-servers LIST\n"
            "                      produce to this Kafka cluster (host:port,...) instead of writing\n"
            "                      contracts.avro and usage.avro\n"
            "  --usage-topic T     topic of the usage stream (default %s, as input.usage_topic)\n"
            "  --contract-topic T  topic of the contract versions (default %s, as\n"
            "                      input.contract_topic)\n"
            "  -h, --help          this help\n",
            have_cfg ? cfg.usage_topic : "input.usage_topic", have_cfg ? cfg.contract_topic : "input.contract_topic");
    aj_config_free(&cfg);
}

typedef struct gen_files {
    aj_ocf_writer *contracts, *usage;
    FILE *truth;
    rd_kafka_t *producer;              /* set: contracts and usage go to Kafka, not to files */
    const char *usage_topic, *contract_topic;   /* borrowed (argv or the config defaults) */
    aj_bytes msg;                      /* header + datum of the message being produced */
    int64_t produced, delivered, failed;
    rd_kafka_resp_err_t first_error;   /* why the first failed delivery failed */
    char first_error_topic[256];
} gen_files;

/* Delivery report: counts every message once, remembers the first failure. */
static void gen_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    gen_files *f = opaque;
    (void)rk;
    if (!m->err) {
        f->delivered++;
        return;
    }
    if (f->failed++ == 0) {
        f->first_error = m->err;
        snprintf(f->first_error_topic, sizeof(f->first_error_topic), "%s", rd_kafka_topic_name(m->rkt));
    }
}

/*
 * The producer of --bootstrap-servers: idempotent (a retry neither duplicates nor reorders the
 * stream), delivery reports to gen_on_delivery. Fails fast when the cluster cannot be reached.
 * Returns AJ_E_OK with f->producer set, or AJ_E_KAFKA with a message in err.
 */
static aj_err gen_open_producer(gen_files *f, const char *bootstrap, char *err, size_t errlen) {
    static const char *const props[][2] = {
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        {"queue.buffering.max.messages", "500000"},
        {"log_level", "3"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const rd_kafka_metadata_t *md = NULL;
    char errstr[512];
    rd_kafka_resp_err_t e;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "--bootstrap-servers '%s': %s", bootstrap, errstr);
        goto error;
    }
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "producer property %s: %s", props[i][0], errstr);
            goto error;
        }
    }
    rd_kafka_conf_set_opaque(conf, f);
    rd_kafka_conf_set_dr_msg_cb(conf, gen_on_delivery);
    if (!(f->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create a Kafka producer: %s", errstr);
        goto error;
    }
    conf = NULL;   /* owned by the producer */
    if ((e = rd_kafka_metadata(f->producer, 0, NULL, &md, 10000)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot reach the Kafka cluster at %s: %s", bootstrap, rd_kafka_err2str(e));
        goto error;
    }
    rd_kafka_metadata_destroy(md);
    return AJ_E_OK;
error:
    if (conf) rd_kafka_conf_destroy(conf);
    return AJ_E_KAFKA;
}

/*
 * Produces header + datum keyed by the account (copied); a full queue is served, then retried.
 * Returns AJ_E_KAFKA, with a message on stderr, when librdkafka refuses the message or an
 * earlier one has already failed (the stream must be complete, so there is no point going on).
 */
static aj_err gen_produce(gen_files *f, const char *topic, aj_schema_id id, const char *key, const void *datum,
                          size_t len) {
    uint8_t hdr[AJ_SOM_HEADER_LEN];
    rd_kafka_resp_err_t e;

    if (f->failed) return AJ_E_KAFKA;
    aj_som_header(aj_schema_current(id)->fingerprint, hdr);
    f->msg.len = 0;
    if (aj_avro_put_raw(&f->msg, hdr, sizeof(hdr)) || aj_avro_put_raw(&f->msg, datum, len)) return AJ_E_NOMEM;
    while ((e = rd_kafka_producev(f->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE(f->msg.data, f->msg.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(f->producer, 10);
        if (f->failed) return AJ_E_KAFKA;
    }
    if (e) {
        fprintf(stderr, "ajuste gen: cannot produce to %s: %s\n", topic, rd_kafka_err2str(e));
        return AJ_E_KAFKA;
    }
    f->produced++;
    return AJ_E_OK;
}

/*
 * Waits up to timeout_ms until every message is delivered or has failed (librdkafka fails each
 * one within message.timeout.ms, 300 s by default). Returns AJ_E_OK only when all of them
 * reached the cluster; else AJ_E_KAFKA with the first reason in err.
 */
static aj_err gen_flush(gen_files *f, const char *bootstrap, int timeout_ms, char *err, size_t errlen) {
    rd_kafka_resp_err_t e = rd_kafka_flush(f->producer, timeout_ms);
    if (f->failed) {
        snprintf(err, errlen, "%lld of %lld messages could not be delivered to %s; the first, on %s: %s",
                 (long long)f->failed, (long long)f->produced, bootstrap, f->first_error_topic,
                 rd_kafka_err2str(f->first_error));
        return AJ_E_KAFKA;
    }
    if (e || f->delivered != f->produced) {
        snprintf(err, errlen, "only %lld of %lld messages were delivered to %s: %s", (long long)f->delivered,
                 (long long)f->produced, bootstrap, e ? rd_kafka_err2str(e) : "delivery reports missing");
        return AJ_E_KAFKA;
    }
    return AJ_E_OK;
}

static aj_err gen_file_contract(void *opaque, const char *key, const void *datum, size_t len) {
    gen_files *f = opaque;
    if (f->producer) return gen_produce(f, f->contract_topic, AJ_SCHEMA_CONTRACT, key, datum, len);
    return aj_ocf_writer_append(f->contracts, datum, len);
}

static aj_err gen_file_event(void *opaque, const char *key, const void *datum, size_t len) {
    gen_files *f = opaque;
    if (f->producer) return gen_produce(f, f->usage_topic, AJ_SCHEMA_USAGE_EVENT, key, datum, len);
    return aj_ocf_writer_append(f->usage, datum, len);
}

static aj_err gen_file_truth(void *opaque, const aj_truth *t) {
    char line[256];
    aj_truth_csv(t, line, sizeof(line));
    return fprintf(((gen_files *)opaque)->truth, "%s\n", line) < 0 ? AJ_E_IO : AJ_E_OK;
}

int aj_cmd_gen(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},      {"accounts", required_argument, 0, 'a'},
        {"records", required_argument, 0, 'r'},  {"error-rate", required_argument, 0, 'e'},
        {"invalid-rate", required_argument, 0, 'i'}, {"seed", required_argument, 0, 's'},
        {"bootstrap-servers", required_argument, 0, 'b'}, {"usage-topic", required_argument, 0, 'U'},
        {"contract-topic", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    const char *out_dir = NULL, *bootstrap = NULL;
    char path[4096], err[512];
    aj_gen_opts o;
    aj_gen_counts counts;
    gen_files files = {0};
    aj_config cfg = {0};
    int64_t seed;
    int c, status = AJ_EXIT_FAILURE;
    aj_err rc;

    aj_gen_defaults(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out_dir = optarg; break;
        case 'a': if (aj_parse_count("--accounts", optarg, &o.accounts)) return AJ_EXIT_USAGE; break;
        case 'r': if (aj_parse_count("--records", optarg, &o.records)) return AJ_EXIT_USAGE; break;
        case 's': if (aj_parse_count("--seed", optarg, &seed)) return AJ_EXIT_USAGE; o.seed = (uint64_t)seed; break;
        case 'e':
        case 'i':
            if (aj_gen_parse_rate(optarg, c == 'e' ? &o.error_ppm : &o.invalid_ppm)) {
                fprintf(stderr, "ajuste gen: --%s expects a share between 0 and 1 (0.05 or 5%%), got '%s'\n",
                        c == 'e' ? "error-rate" : "invalid-rate", optarg);
                return AJ_EXIT_USAGE;
            }
            break;
        case 'b': bootstrap = optarg; break;
        case 'U': files.usage_topic = optarg; break;
        case 'C': files.contract_topic = optarg; break;
        case 'h': gen_usage(stdout); return AJ_EXIT_OK;
        default: gen_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    if (!out_dir || optind < argc) {
        fprintf(stderr, "ajuste gen: %s\n", out_dir ? "unexpected argument" : "--out DIR is required");
        gen_usage(stderr);
        return AJ_EXIT_USAGE;
    }
    if (o.accounts < 1 || o.accounts > 999999) {
        fprintf(stderr, "ajuste gen: --accounts must be between 1 and 999999\n");
        return AJ_EXIT_USAGE;
    }
    if (!bootstrap && (files.usage_topic || files.contract_topic)) {
        fprintf(stderr, "ajuste gen: --%s is for Kafka and needs --bootstrap-servers\n",
                files.usage_topic ? "usage-topic" : "contract-topic");
        return AJ_EXIT_USAGE;
    }
    if (bootstrap && (!*bootstrap || (files.usage_topic && !*files.usage_topic) ||
                      (files.contract_topic && !*files.contract_topic))) {
        fprintf(stderr, "ajuste gen: --%s must not be empty\n",
                !*bootstrap ? "bootstrap-servers" : files.usage_topic && !*files.usage_topic ? "usage-topic"
                                                                                           : "contract-topic");
        return AJ_EXIT_USAGE;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ajuste gen: cannot create %s: %s\n", out_dir, strerror(errno));
        return AJ_EXIT_USAGE;
    }
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;
    if (aj_config_init(&cfg) != AJ_E_OK) {
        snprintf(err, sizeof(err), "%s", aj_err_str(AJ_E_NOMEM));
        goto fail;
    }
    if (bootstrap) {
        /* The topics default to those `ajuste run` reads (input.usage_topic, input.contract_topic). */
        if (!files.usage_topic) files.usage_topic = cfg.usage_topic;
        if (!files.contract_topic) files.contract_topic = cfg.contract_topic;
        if (gen_open_producer(&files, bootstrap, err, sizeof(err)) != AJ_E_OK) goto fail;
    } else {
        files.contracts = aj_ocf_writer_open(aj_path(path, sizeof(path), out_dir, "contracts.avro"),
                                             aj_schema_current(AJ_SCHEMA_CONTRACT), 1, &rc, err, sizeof(err));
        if (!files.contracts) goto fail;
        files.usage = aj_ocf_writer_open(aj_path(path, sizeof(path), out_dir, "usage.avro"),
                                         aj_schema_current(AJ_SCHEMA_USAGE_EVENT), 1, &rc, err, sizeof(err));
        if (!files.usage) goto fail;
    }
    if (!(files.truth = fopen(aj_path(path, sizeof(path), out_dir, "ground_truth.csv"), "w"))) {
        snprintf(err, sizeof(err), "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    fprintf(files.truth, "%s\n", AJ_TRUTH_CSV_HEADER);
    aj_gen_out out = {&files, gen_file_contract, gen_file_event, gen_file_truth};
    if ((rc = aj_gen_run(&o, &out, &counts)) != AJ_E_OK) {
        /* A failed delivery stopped it: name the reason, do not wait for the rest. */
        if (rc == AJ_E_KAFKA && files.failed && gen_flush(&files, bootstrap, 0, err, sizeof(err)) != AJ_E_OK) goto fail;
        snprintf(err, sizeof(err), "generation failed: %s", aj_err_str(rc));
        goto fail;
    }
    if (files.producer && gen_flush(&files, bootstrap, 330000, err, sizeof(err)) != AJ_E_OK) goto fail;
    rc = aj_ocf_writer_close(files.contracts);
    files.contracts = NULL;
    if (rc == AJ_E_OK) rc = aj_ocf_writer_close(files.usage);
    files.usage = NULL;
    if (rc != AJ_E_OK || fclose(files.truth) != 0) {
        files.truth = NULL;
        snprintf(err, sizeof(err), "cannot finish the files in %s", out_dir);
        goto fail;
    }
    files.truth = NULL;
    if (files.producer)
        printf("Produced to %s (%s, %s), wrote the ground truth to %s:\n", bootstrap, files.contract_topic,
               files.usage_topic, out_dir);
    else
        printf("Wrote %s: ", out_dir);
    printf("%lld contract versions, %lld usage records, %lld recurring charges, %lld one-time charges, "
           "%lld cycle closes;\nground truth: %lld injected errors (%lld invalid records).\n",
           (long long)counts.contracts, (long long)counts.usage, (long long)counts.recurring,
           (long long)counts.one_time, (long long)counts.closes, (long long)counts.truths, (long long)counts.invalid);
    status = AJ_EXIT_OK;
    goto end;
fail:
    fprintf(stderr, "ajuste gen: %s\n", err);
end:
    aj_ocf_writer_close(files.contracts);
    aj_ocf_writer_close(files.usage);
    if (files.truth) fclose(files.truth);
    if (files.producer) rd_kafka_destroy(files.producer);
    aj_bytes_free(&files.msg);
    aj_config_free(&cfg);
    aj_schemas_shutdown();
    return status;
}
