/* aj_cmd_gen.c - `ajuste gen`: write a synthetic workload and its ground truth as files. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <librdkafka/rdkafka.h>

#include "aj_cmd.h"
#include "aj_gen.h"

static void gen_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste gen --out DIR [--accounts N] [--records M] [--error-rate R]\n"
            "                  [--invalid-rate R] [--seed S]\n"
            "                  [--bootstrap-servers LIST [--usage-topic T] [--contract-topic T]]\n\n"
            "Writes a deterministic synthetic carrier workload into DIR:\n"
            "  contracts.avro     contract versions (schema contract.avsc)\n"
            "  usage.avro         recurring charges, usage records, cycle closes (usage_event.avsc)\n"
            "  ground_truth.csv   every injected error: record id, expected reason (or\n"
            "                     DEAD_LETTER:<reason>), legacy and correct amounts in micro-units\n"
            "Same options, same bytes. With --bootstrap-servers the contracts and the usage stream\n"
            "are produced to Kafka instead (single-object encoded values, keyed by account), as the\n"
            "legacy chain would; ground_truth.csv is still written to DIR.\n\n"
            "Options:\n"
            "  --out DIR           output directory (created if missing)\n"
            "  --accounts N        billing accounts (default 2000)\n"
            "  --records M         usage records (default 300000)\n"
            "  --error-rate R      share of records with a billing error, e.g. 0.05 or 5%% (default 0.05)\n"
            "  --invalid-rate R    share of usage records made invalid (default 0.002)\n"
            "  --seed S            random seed (default 42)\n"
            "  --bootstrap-servers LIST  produce to this Kafka cluster instead of writing files\n"
            "  --usage-topic T     usage topic (default cdr.usage)\n"
            "  --contract-topic T  contract topic (default contract.events)\n"
            "  -h, --help          this help\n");
}

typedef struct gen_files {
    aj_ocf_writer *contracts, *usage;
    FILE *truth;
    rd_kafka_t *producer;   /* set: produce instead of writing files */
    const char *usage_topic, *contract_topic;
    int64_t failed;         /* deliveries that failed */
    aj_bytes msg;
} gen_files;

static void gen_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    if (m->err) ((gen_files *)opaque)->failed++;
}

/* Produces header + datum keyed by the account; a full queue is served, then retried. */
static aj_err gen_produce(gen_files *f, const char *topic, aj_schema_id id, const char *key, const void *datum,
                          size_t len) {
    uint8_t hdr[AJ_SOM_HEADER_LEN];
    rd_kafka_resp_err_t e;
    aj_som_header(aj_schema_current(id)->fingerprint, hdr);
    f->msg.len = 0;
    if (aj_avro_put_raw(&f->msg, hdr, sizeof(hdr)) || aj_avro_put_raw(&f->msg, datum, len)) return AJ_E_NOMEM;
    while ((e = rd_kafka_producev(f->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                  RD_KAFKA_V_VALUE(f->msg.data, f->msg.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(f->producer, 10);
    if (e) {
        fprintf(stderr, "ajuste gen: cannot produce to %s: %s\n", topic, rd_kafka_err2str(e));
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
    char errstr[512];
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
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ajuste gen: cannot create %s: %s\n", out_dir, strerror(errno));
        return AJ_EXIT_USAGE;
    }
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;
    if (bootstrap) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (!files.usage_topic) files.usage_topic = "cdr.usage";
        if (!files.contract_topic) files.contract_topic = "contract.events";
        rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "500000", NULL, 0);
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            snprintf(err, sizeof(err), "--bootstrap-servers '%s': %s", bootstrap, errstr);
            goto fail;
        }
        rd_kafka_conf_set_opaque(conf, &files);
        rd_kafka_conf_set_dr_msg_cb(conf, gen_dr);
        if (!(files.producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
            rd_kafka_conf_destroy(conf);
            snprintf(err, sizeof(err), "cannot create a Kafka producer: %s", errstr);
            goto fail;
        }
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
        snprintf(err, sizeof(err), "generation failed: %s", aj_err_str(rc));
        goto fail;
    }
    if (files.producer && (rd_kafka_flush(files.producer, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR || files.failed)) {
        snprintf(err, sizeof(err), "%lld messages could not be delivered to %s", (long long)files.failed, bootstrap);
        goto fail;
    }
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
    printf("%s %s: %lld contract versions, %lld usage records, %lld recurring charges, %lld cycle closes;\n"
           "ground truth: %lld injected errors (%lld invalid records).\n",
           bootstrap ? "Produced to" : "Wrote", bootstrap ? bootstrap : out_dir, (long long)counts.contracts, (long long)counts.usage, (long long)counts.recurring,
           (long long)counts.closes, (long long)counts.truths, (long long)counts.invalid);
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
    aj_schemas_shutdown();
    return status;
}
