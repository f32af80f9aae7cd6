/* aj_mockbroker.c - librdkafka's mock cluster as a standalone process for tests: prints its
 * bootstrap servers, stays up while pipeline processes come and go, injects faults on command. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t mb_stop;

static void mb_on_signal(int sig) {
    (void)sig;
    mb_stop = 1;
}

static void mb_usage(FILE *out) {
    fprintf(out,
            "Usage: aj_mockbroker [--brokers N] [--topic NAME:PARTITIONS]...\n\n"
            "Starts librdkafka's mock Kafka cluster, creates the topics, prints one line\n"
            "'bootstrap.servers=<list>' on stdout, then reads commands on stdin, one per line,\n"
            "answering 'ok' or 'error: <why>':\n"
            "  topic NAME PARTITIONS                 create a topic\n"
            "  errors API COUNT ERROR                the next COUNT requests of API (Produce, Fetch,\n"
            "                                        OffsetCommit, InitProducerId, EndTxn, ...) fail\n"
            "                                        with ERROR (a name such as REQUEST_TIMED_OUT, or\n"
            "                                        a number)\n"
            "  broker-down ID | broker-up ID         take a broker down or bring it back\n"
            "  coordinator group|transaction KEY ID  move a coordinator to broker ID\n"
            "  quit                                  stop (also on end of input, SIGINT, SIGTERM)\n"
            "Exit codes: 0 stopped, 1 the cluster could not start, 2 bad command line.\n");
}

/* Kafka API keys by name (the protocol's numbers). */
static int mb_api_key(const char *name) {
    static const struct {
        const char *name;
        int key;
    } apis[] = {
        {"Produce", 0},       {"Fetch", 1},           {"ListOffsets", 2},    {"Metadata", 3},
        {"OffsetCommit", 8},  {"OffsetFetch", 9},     {"FindCoordinator", 10}, {"JoinGroup", 11},
        {"Heartbeat", 12},    {"LeaveGroup", 13},     {"SyncGroup", 14},     {"InitProducerId", 22},
        {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26}, {"TxnOffsetCommit", 28},
    };
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (strcmp(apis[i].name, name) == 0) return apis[i].key;
    return -1;
}

/* An error code by its name without the RD_KAFKA_RESP_ERR_ prefix, or by number; -1 if none. */
static int mb_error_code(const char *s) {
    const struct rd_kafka_err_desc *descs;
    size_t n;
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end) return (int)v;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++)
        if (descs[i].name && descs[i].code > 0 && strcmp(descs[i].name, s) == 0) return descs[i].code;
    return -1;
}

/* Runs one command line; writes the answer into out. Returns 1 on quit. */
static int mb_command(rd_kafka_mock_cluster_t *mc, char *line, char *out, size_t outlen) {
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n")) argv[argc++] = tok;
    snprintf(out, outlen, "ok");
    if (argc == 0) return 0;
    if (strcmp(argv[0], "quit") == 0) return 1;
    if (strcmp(argv[0], "topic") == 0 && argc == 3) {
        int parts = atoi(argv[2]);
        if (parts < 1) {
            snprintf(out, outlen, "error: partitions must be a positive number, got '%s'", argv[2]);
        } else if (rd_kafka_mock_topic_create(mc, argv[1], parts, 1)) {
            snprintf(out, outlen, "error: cannot create topic %s", argv[1]);
        }
        return 0;
    }
    if (strcmp(argv[0], "errors") == 0 && argc == 4) {
        int api = mb_api_key(argv[1]), count = atoi(argv[2]), code = mb_error_code(argv[3]);
        if (api < 0) {
            snprintf(out, outlen, "error: unknown API '%s'", argv[1]);
        } else if (count < 1 || count > 1000) {
            snprintf(out, outlen, "error: count must be 1..1000, got '%s'", argv[2]);
        } else if (code < 0) {
            snprintf(out, outlen, "error: unknown error code '%s'", argv[3]);
        } else {
            rd_kafka_resp_err_t errs[1000];
            for (int i = 0; i < count; i++) errs[i] = (rd_kafka_resp_err_t)code;
            rd_kafka_mock_push_request_errors_array(mc, (int16_t)api, (size_t)count, errs);
        }
        return 0;
    }
    if ((strcmp(argv[0], "broker-down") == 0 || strcmp(argv[0], "broker-up") == 0) && argc == 2) {
        int id = atoi(argv[1]);
        rd_kafka_resp_err_t e = strcmp(argv[0], "broker-down") == 0 ? rd_kafka_mock_broker_set_down(mc, id)
                                                                    : rd_kafka_mock_broker_set_up(mc, id);
        if (e) snprintf(out, outlen, "error: broker %s: %s", argv[1], rd_kafka_err2str(e));
        return 0;
    }
    if (strcmp(argv[0], "coordinator") == 0 && argc == 4 &&
        (strcmp(argv[1], "group") == 0 || strcmp(argv[1], "transaction") == 0)) {
        rd_kafka_resp_err_t e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], atoi(argv[3]));
        if (e) snprintf(out, outlen, "error: coordinator: %s", rd_kafka_err2str(e));
        return 0;
    }
    snprintf(out, outlen, "error: unknown or malformed command '%s' (see --help)", argv[0]);
    return 0;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"brokers", required_argument, 0, 'b'}, {"topic", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    char *topics[64];
    int n_topics = 0, brokers = 1, c, status = 1;
    char errstr[512], line[1024], answer[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            brokers = atoi(optarg);
            if (brokers < 1 || brokers > 16) {
                fprintf(stderr, "aj_mockbroker: --brokers must be 1..16, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (n_topics == 64 || !strchr(optarg, ':') || atoi(strchr(optarg, ':') + 1) < 1) {
                fprintf(stderr, "aj_mockbroker: --topic expects NAME:PARTITIONS (at most 64), got '%s'\n", optarg);
                return 2;
            }
            topics[n_topics++] = optarg;
            break;
        case 'h': mb_usage(stdout); return 0;
        default: mb_usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "aj_mockbroker: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mb_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "aj_mockbroker: cannot start librdkafka: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    if (!(mc = rd_kafka_mock_cluster_new(rk, brokers))) {
        fprintf(stderr, "aj_mockbroker: cannot start the mock cluster\n");
        goto end;
    }
    for (int i = 0; i < n_topics; i++) {
        char *colon = strchr(topics[i], ':');
        *colon = '\0';
        if (rd_kafka_mock_topic_create(mc, topics[i], atoi(colon + 1), 1)) {
            fprintf(stderr, "aj_mockbroker: cannot create topic %s\n", topics[i]);
            goto end;
        }
    }
    printf("bootstrap.servers=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    /* Commands until quit, end of input or a signal; the cluster runs on its own thread. */
    while (!mb_stop) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        int r = poll(&pfd, 1, 200);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        if (!fgets(line, sizeof(line), stdin)) break;
        int quit = mb_command(mc, line, answer, sizeof(answer));
        if (quit) break;
        printf("%s\n", answer);
        fflush(stdout);
    }
    status = 0;
end:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return status;
}
