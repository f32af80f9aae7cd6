/* aj_mockbroker.c - librdkafka's mock cluster as a standalone process that tests drive over stdin. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MB_EXIT_OK 0      /* quit, end of input, SIGINT or SIGTERM */
#define MB_EXIT_FAILURE 1 /* the cluster could not start, or stdout went away */
#define MB_EXIT_USAGE 2   /* bad command line */

#define MB_MAX_BROKERS 16
#define MB_MAX_PARTITIONS 10000
#define MB_MAX_ERRORS 10000
#define MB_LINE_MAX 4096  /* longest command line, newline excluded */
#define MB_MAX_ARGS 8

static void mb_usage(FILE *out) {
    fprintf(out,
            "Usage: aj_mockbroker [--brokers N] [--topic NAME:PARTITIONS]... [--help]\n\n"
            "Starts librdkafka's mock Kafka cluster (N brokers, ids 1..N, default 1), creates the\n"
            "topics (replication factor min(N, 3)), prints exactly one line\n"
            "  bootstrap.servers=<list>\n"
            "on stdout, then reads commands on stdin, one per line, and answers each line with\n"
            "exactly one line, 'ok' or 'error: <why>' (a blank line is answered 'ok'):\n"
            "  topic NAME PARTITIONS                 create a topic\n"
            "  errors API COUNT ERROR                the next COUNT requests of API fail with ERROR,\n"
            "                                        cluster-wide; API is a Kafka request name\n"
            "                                        (Produce, Fetch, Metadata, OffsetCommit,\n"
            "                                        FindCoordinator, JoinGroup, Heartbeat, SyncGroup,\n"
            "                                        InitProducerId, AddPartitionsToTxn, EndTxn, ...)\n"
            "                                        or its number; ERROR is an rd_kafka_resp_err_t\n"
            "                                        name without RD_KAFKA_RESP_ERR_ (REQUEST_TIMED_OUT,\n"
            "                                        NOT_LEADER_FOR_PARTITION, NOT_COORDINATOR,\n"
            "                                        _TRANSPORT to drop the connection) or its number\n"
            "  clear-errors API                      drop the errors still pending for API\n"
            "  broker-down ID | broker-up ID         disconnect a broker and refuse connections, or\n"
            "                                        accept them again (ID -1: every broker); leaders\n"
            "                                        do not move, see 'leader'\n"
            "  leader TOPIC PARTITION ID             make broker ID the partition's leader (-1: none)\n"
            "  rtt ID MS                             delay every response of broker ID (-1: all)\n"
            "  coordinator group|transaction KEY ID  make broker ID the coordinator of a group id or\n"
            "                                        transactional id\n"
            "  quit                                  answer 'ok' and stop\n"
            "It also stops at end of input and on SIGINT or SIGTERM. Topics nobody created are\n"
            "created by the mock on first use with its default partition count.\n"
            "Exit status: 0 stopped, 1 the cluster could not start or stdout was closed,\n"
            "2 bad command line.\n");
}

/* Parses a whole decimal integer in [min, max]; returns 0, or -1 when s is not one. */
static int mb_parse_int(const char *s, long min, long max, long *out) {
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Kafka protocol request (API) keys by name, or a number 0..999; -1 when unknown. */
static int mb_api_key(const char *name) {
    static const struct {
        const char *name;
        int key;
    } apis[] = {
        {"Produce", 0},          {"Fetch", 1},           {"ListOffsets", 2},      {"Metadata", 3},
        {"OffsetCommit", 8},     {"OffsetFetch", 9},     {"FindCoordinator", 10}, {"JoinGroup", 11},
        {"Heartbeat", 12},       {"LeaveGroup", 13},     {"SyncGroup", 14},       {"DescribeGroups", 15},
        {"ListGroups", 16},      {"ApiVersions", 18},    {"CreateTopics", 19},    {"DeleteTopics", 20},
        {"DeleteRecords", 21},   {"InitProducerId", 22}, {"OffsetForLeaderEpoch", 23},
        {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},      {"TxnOffsetCommit", 28},
    };
    long v;
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (strcasecmp(apis[i].name, name) == 0) return apis[i].key;
    if (mb_parse_int(name, 0, 999, &v) == 0) return (int)v;
    return -1;
}

/* An error code by its name without the RD_KAFKA_RESP_ERR_ prefix, or by a number librdkafka
 * knows. Returns 0 and sets *code, or -1 when there is no such error. */
static int mb_error_code(const char *s, rd_kafka_resp_err_t *code) {
    const struct rd_kafka_err_desc *descs;
    size_t n;
    long v;
    int by_number = mb_parse_int(s, INT_MIN, INT_MAX, &v) == 0;

    if (strncmp(s, "RD_KAFKA_RESP_ERR_", 18) == 0) s += 18;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (!descs[i].name) continue;
        if (by_number ? descs[i].code == (int)v : strcasecmp(descs[i].name, s) == 0) {
            *code = descs[i].code;
            return 0;
        }
    }
    return -1;
}

/*
 * Runs one command (line is modified) and writes the one-line answer into out. Returns 1 when
 * the command is quit, else 0. Never fails: a bad command is an "error: ..." answer.
 */
static int mb_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line, char *out, size_t outlen) {
    char *argv[MB_MAX_ARGS + 1], *save = NULL;
    int argc = 0;
    long a, b;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == MB_MAX_ARGS + 1) break;
        argv[argc++] = tok;
    }
    snprintf(out, outlen, "ok");
    if (argc == 0) return 0;
#define MB_ARGS(n, usage)                                                                         \
    if (argc != (n)) {                                                                            \
        snprintf(out, outlen, "error: %s takes %d argument%s: %s", argv[0], (n) - 1,             \
                 (n) == 2 ? "" : "s", usage);                                                     \
        return 0;                                                                                 \
    }
    if (strcmp(argv[0], "quit") == 0) {
        MB_ARGS(1, "quit");
        return 1;
    } else if (strcmp(argv[0], "topic") == 0) {
        MB_ARGS(3, "topic NAME PARTITIONS");
        if (mb_parse_int(argv[2], 1, MB_MAX_PARTITIONS, &a)) {
            snprintf(out, outlen, "error: partitions must be 1..%d, got '%s'", MB_MAX_PARTITIONS, argv[2]);
            return 0;
        }
        if ((e = rd_kafka_mock_topic_create(mc, argv[1], (int)a, brokers < 3 ? brokers : 3)))
            snprintf(out, outlen, "error: cannot create topic '%s': %s", argv[1], rd_kafka_err2str(e));
    } else if (strcmp(argv[0], "errors") == 0) {
        rd_kafka_resp_err_t code, *errs;
        int api;
        MB_ARGS(4, "errors API COUNT ERROR");
        if ((api = mb_api_key(argv[1])) < 0) {
            snprintf(out, outlen, "error: unknown API '%s' (a request name such as Produce, or its number)", argv[1]);
        } else if (mb_parse_int(argv[2], 1, MB_MAX_ERRORS, &a)) {
            snprintf(out, outlen, "error: count must be 1..%d, got '%s'", MB_MAX_ERRORS, argv[2]);
        } else if (mb_error_code(argv[3], &code)) {
            snprintf(out, outlen, "error: unknown error code '%s' (a name such as REQUEST_TIMED_OUT, or its number)",
                     argv[3]);
        } else if (!(errs = malloc((size_t)a * sizeof(*errs)))) {
            snprintf(out, outlen, "error: out of memory");
        } else {
            for (long i = 0; i < a; i++) errs[i] = code;
            rd_kafka_mock_push_request_errors_array(mc, (int16_t)api, (size_t)a, errs);
            free(errs);
        }
    } else if (strcmp(argv[0], "clear-errors") == 0) {
        int api;
        MB_ARGS(2, "clear-errors API");
        if ((api = mb_api_key(argv[1])) < 0)
            snprintf(out, outlen, "error: unknown API '%s' (a request name such as Produce, or its number)", argv[1]);
        else
            rd_kafka_mock_clear_request_errors(mc, (int16_t)api);
    } else if (strcmp(argv[0], "broker-down") == 0 || strcmp(argv[0], "broker-up") == 0) {
        MB_ARGS(2, "broker-down|broker-up ID");
        if (mb_parse_int(argv[1], -1, brokers, &a) || a == 0) {
            snprintf(out, outlen, "error: no broker '%s' (ids are 1..%d, or -1 for all)", argv[1], brokers);
            return 0;
        }
        e = strcmp(argv[0], "broker-down") == 0 ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                                                : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
        if (e) snprintf(out, outlen, "error: %s %s: %s", argv[0], argv[1], rd_kafka_err2str(e));
    } else if (strcmp(argv[0], "leader") == 0) {
        MB_ARGS(4, "leader TOPIC PARTITION ID");
        if (mb_parse_int(argv[2], 0, MB_MAX_PARTITIONS - 1, &a)) {
            snprintf(out, outlen, "error: bad partition '%s'", argv[2]);
        } else if (mb_parse_int(argv[3], -1, brokers, &b) || b == 0) {
            snprintf(out, outlen, "error: no broker '%s' (ids are 1..%d, or -1 for no leader)", argv[3], brokers);
        } else if ((e = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b))) {
            snprintf(out, outlen, "error: leader of %s [%ld]: %s", argv[1], a, rd_kafka_err2str(e));
        }
    } else if (strcmp(argv[0], "rtt") == 0) {
        MB_ARGS(3, "rtt ID MS");
        if (mb_parse_int(argv[1], -1, brokers, &a) || a == 0) {
            snprintf(out, outlen, "error: no broker '%s' (ids are 1..%d, or -1 for all)", argv[1], brokers);
        } else if (mb_parse_int(argv[2], 0, 3600000, &b)) {
            snprintf(out, outlen, "error: rtt must be 0..3600000 ms, got '%s'", argv[2]);
        } else if ((e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b))) {
            snprintf(out, outlen, "error: rtt %s: %s", argv[1], rd_kafka_err2str(e));
        }
    } else if (strcmp(argv[0], "coordinator") == 0) {
        MB_ARGS(4, "coordinator group|transaction KEY ID");
        if (strcmp(argv[1], "group") != 0 && strcmp(argv[1], "transaction") != 0) {
            snprintf(out, outlen, "error: coordinator type must be 'group' or 'transaction', got '%s'", argv[1]);
        } else if (mb_parse_int(argv[3], 1, brokers, &a)) {
            snprintf(out, outlen, "error: no broker '%s' (ids are 1..%d)", argv[3], brokers);
        } else if ((e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)a))) {
            snprintf(out, outlen, "error: coordinator %s %s: %s", argv[1], argv[2], rd_kafka_err2str(e));
        }
    } else {
        snprintf(out, outlen, "error: unknown command '%.64s' (see --help)", argv[0]);
    }
#undef MB_ARGS
    return 0;
}

/* Writes one answer line; returns -1 when stdout is gone. */
static int mb_answer(const char *answer) {
    if (printf("%s\n", answer) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "aj_mockbroker: cannot write to stdout: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Serves commands from stdin until quit, end of input or SIGINT/SIGTERM (blocked in the
 * caller and only let through inside pselect, so none is lost between a check and a wait).
 * Reads with read(2), so every complete line is answered at once however the input arrives.
 * Returns MB_EXIT_OK, or MB_EXIT_FAILURE when stdin or stdout fails.
 */
static int mb_serve(rd_kafka_mock_cluster_t *mc, int brokers, const sigset_t *waitmask) {
    static char buf[MB_LINE_MAX + 1];
    char answer[512];
    size_t len = 0;
    int overlong = 0, eof = 0;   /* overlong: dropping the rest of a too long line */

    for (;;) {
        char *nl;
        /* Every complete line in the buffer, then an unterminated last one at end of input. */
        while ((nl = memchr(buf, '\n', len)) || (eof && (len > 0 || overlong))) {
            size_t line_len = nl ? (size_t)(nl - buf) : len, used = nl ? line_len + 1 : len;
            int quit = 0;
            if (overlong) {
                snprintf(answer, sizeof(answer), "error: line longer than %d bytes", MB_LINE_MAX);
                overlong = 0;
            } else if (memchr(buf, '\0', line_len)) {
                snprintf(answer, sizeof(answer), "error: NUL byte in command");
            } else {
                buf[line_len] = '\0';
                quit = mb_command(mc, brokers, buf, answer, sizeof(answer));
            }
            memmove(buf, buf + used, len - used);
            len -= used;
            if (mb_answer(answer)) return MB_EXIT_FAILURE;
            if (quit) return MB_EXIT_OK;
        }
        if (eof) return MB_EXIT_OK;
        if (len == MB_LINE_MAX) {   /* no newline in a full buffer: drop up to the newline, answer once */
            overlong = 1;
            len = 0;
        }
        fd_set in;
        FD_ZERO(&in);
        FD_SET(STDIN_FILENO, &in);
        if (pselect(STDIN_FILENO + 1, &in, NULL, NULL, NULL, waitmask) < 0) {
            if (errno == EINTR) return MB_EXIT_OK;   /* SIGINT or SIGTERM */
            fprintf(stderr, "aj_mockbroker: pselect: %s\n", strerror(errno));
            return MB_EXIT_FAILURE;
        }
        ssize_t n = read(STDIN_FILENO, buf + len, MB_LINE_MAX - len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) {
            fprintf(stderr, "aj_mockbroker: cannot read stdin: %s\n", strerror(errno));
            return MB_EXIT_FAILURE;
        }
        if (n == 0) eof = 1;
        len += (size_t)n;
    }
}

static void mb_on_signal(int sig) {
    (void)sig;   /* only interrupts pselect */
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"brokers", required_argument, 0, 'b'},
        {"topic", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct topic_arg {
        char name[256];
        int partitions;
    } *topics = NULL;
    int n_topics = 0, brokers = 1, c, status = MB_EXIT_USAGE;
    char errstr[512];
    long v;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_conf_t *conf = NULL;
    sigset_t block, waitmask;
    struct sigaction sa;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (mb_parse_int(optarg, 1, MB_MAX_BROKERS, &v)) {
                fprintf(stderr, "aj_mockbroker: --brokers must be 1..%d, got '%s'\n", MB_MAX_BROKERS, optarg);
                goto end;
            }
            brokers = (int)v;
            break;
        case 't': {
            const char *colon = strrchr(optarg, ':');
            struct topic_arg *grown;
            if (!colon || colon == optarg || (size_t)(colon - optarg) >= sizeof(topics->name) ||
                mb_parse_int(colon + 1, 1, MB_MAX_PARTITIONS, &v)) {
                fprintf(stderr, "aj_mockbroker: --topic expects NAME:PARTITIONS (partitions 1..%d), got '%s'\n",
                        MB_MAX_PARTITIONS, optarg);
                goto end;
            }
            if (!(grown = realloc(topics, (size_t)(n_topics + 1) * sizeof(*topics)))) {
                fprintf(stderr, "aj_mockbroker: out of memory\n");
                status = MB_EXIT_FAILURE;
                goto end;
            }
            topics = grown;
            memcpy(topics[n_topics].name, optarg, (size_t)(colon - optarg));
            topics[n_topics].name[colon - optarg] = '\0';
            topics[n_topics++].partitions = (int)v;
            break;
        }
        case 'h':
            mb_usage(stdout);
            status = MB_EXIT_OK;
            goto end;
        case ':':
            fprintf(stderr, "aj_mockbroker: %s needs a value (see --help)\n", argv[optind - 1]);
            goto end;
        default:
            fprintf(stderr, "aj_mockbroker: unknown option '%s' (see --help)\n", argv[optind - 1]);
            goto end;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "aj_mockbroker: unexpected argument '%s' (see --help)\n", argv[optind]);
        goto end;
    }
    status = MB_EXIT_FAILURE;

    /* SIGINT/SIGTERM stay blocked (also in librdkafka's threads, which inherit the mask) and
     * are taken only inside pselect; a closed stdout is an error from write, not a SIGPIPE. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &block, &waitmask) != 0) {
        fprintf(stderr, "aj_mockbroker: sigprocmask: %s\n", strerror(errno));
        goto end;
    }
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mb_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "aj_mockbroker: %s\n", errstr);
        goto end;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "aj_mockbroker: cannot create the librdkafka handle: %s\n", errstr);
        goto end;
    }
    conf = NULL;   /* owned by rk */
    if (!(mc = rd_kafka_mock_cluster_new(rk, brokers))) {
        fprintf(stderr, "aj_mockbroker: cannot start a mock cluster of %d broker(s)\n", brokers);
        goto end;
    }
    for (int i = 0; i < n_topics; i++) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(mc, topics[i].name, topics[i].partitions, brokers < 3 ? brokers : 3);
        if (e) {
            fprintf(stderr, "aj_mockbroker: cannot create topic '%s': %s\n", topics[i].name, rd_kafka_err2str(e));
            goto end;
        }
    }
    if (printf("bootstrap.servers=%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "aj_mockbroker: cannot write to stdout: %s\n", strerror(errno));
        goto end;
    }
    status = mb_serve(mc, brokers, &waitmask);
end:
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (rk) rd_kafka_destroy(rk);
    if (conf) rd_kafka_conf_destroy(conf);
    free(topics);
    return status;
}
