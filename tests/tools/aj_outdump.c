/* aj_outdump.c - the output topics of a run as one sorted line per distinct id, for comparing runs byte for byte. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "aj_config.h"
#include "aj_emit.h"
#include "aj_ingest.h"
#include "aj_schema.h"

#define OD_EXIT_OK 0         /* read and decoded, no conflict */
#define OD_EXIT_FAILURE 1    /* a topic cannot be read, a message cannot be decoded, output not written */
#define OD_EXIT_USAGE 2      /* bad command line */
#define OD_EXIT_CONFLICT 3   /* some id was written twice with different bytes */

#define OD_TIMEOUT_MS 30000
#define OD_STDERR_CONFLICTS 20   /* conflicts listed on stderr; the summary file lists every one */

/* The kinds, in the order they are printed (alphabetical, so the output sorts as text). */
typedef enum od_kind { OD_CORRECTION, OD_DEAD_LETTER, OD_INVOICE, OD_REVIEW, OD__COUNT } od_kind;

static const struct {
    const char *name;
    aj_schema_id schema;
} od_kinds[OD__COUNT] = {
    {"correction", AJ_SCHEMA_CORRECTION},
    {"dead-letter", AJ_SCHEMA_DEAD_LETTER},
    {"invoice", AJ_SCHEMA_INVOICE},
    {"review", AJ_SCHEMA_INVOICE},
};

/* One message read: its output kind, id, position and whole value (owned). */
typedef struct od_entry {
    od_kind kind;
    int32_t partition;
    int64_t offset;
    char *id;
    uint8_t *value;
    size_t len;
} od_entry;

/* Counts of one kind. raw = distinct + duplicates + conflicts. */
typedef struct od_counts {
    const char *topic;   /* borrowed from argv; NULL: the kind was not asked for */
    int64_t raw;         /* messages read */
    int64_t distinct;    /* ids */
    int64_t duplicates;  /* later messages of an id, same bytes as its first */
    int64_t conflicts;   /* later messages of an id whose bytes differ from its first */
    int64_t evicted;     /* messages gone from the topic: the sum of its low watermarks */
} od_counts;

typedef struct od_dump {
    od_entry *entries;
    size_t n, cap;
    od_counts counts[OD__COUNT];
    od_kind kind;        /* of the topic being read */
    char err[512];       /* why a message could not be taken */
} od_dump;

static void od_usage(FILE *out) {
    fprintf(out,
            "Usage: aj_outdump --bootstrap-servers LIST --topic KIND=TOPIC [--topic KIND=TOPIC]...\n"
            "                  [--out FILE] [--summary FILE] [--help]\n"
            "       aj_outdump --bootstrap-servers LIST --position GROUP=TOPIC\n\n"
            "Reads each output topic whole (every partition, from its low watermark up to the high\n"
            "watermark taken when its read starts), decodes every message (Avro single-object header\n"
            "C3 01 + fingerprint, then the datum, with the writer schema the fingerprint names) to\n"
            "its deterministic id, and prints, sorted by kind then id (byte order), one line per\n"
            "distinct id:\n"
            "  KIND ID HEX\n"
            "where HEX is the whole message value (header included) of the id's FIRST message in\n"
            "(partition, offset) order. Bytes of an id outside '!'..'~', and '\\', are written \\xHH.\n\n"
            "KIND is one of\n"
            "  invoice       invoice id      (invoice schema)\n"
            "  review        invoice id      (invoice schema, the held invoices)\n"
            "  correction    correction id   (correction schema)\n"
            "  dead-letter   dead letter id  (dead letter schema)\n"
            "each at most once.\n\n"
            "On stderr, and first in --summary FILE, one line per kind asked for:\n"
            "  KIND raw=N distinct=D duplicates=X conflicts=C evicted=E topic=TOPIC\n"
            "raw = distinct + duplicates + conflicts: a duplicate repeats an id with the bytes of its\n"
            "first message, a conflict repeats it with other bytes. evicted is the sum of the\n"
            "partitions' low watermarks (messages the broker no longer holds; the counts and the\n"
            "dump are incomplete when it is not 0). Then one line per conflicting message:\n"
            "  conflict KIND ID at P/O, first at P/O\n"
            "(on stderr only the first 20).\n\n"
            "Options:\n"
            "  --bootstrap-servers LIST  brokers (host:port,...)\n"
            "  --topic KIND=TOPIC        an output topic and its kind (repeatable)\n"
            "  --out FILE                write the lines to FILE instead of stdout\n"
            "  --summary FILE            also write the summary and conflict lines to FILE\n"
            "  --position GROUP=TOPIC    instead: print 'COMMITTED END', the offsets consumer group\n"
            "                            GROUP committed on (input) TOPIC summed over its partitions\n"
            "                            (none: the low watermark) and the sum of its high watermarks,\n"
            "                            i.e. how many records the group has done of how many; the\n"
            "                            group is only asked (OffsetFetch), never joined\n"
            "  -h, --help                this help\n\n"
            "Exit status: 0 done, 1 a topic cannot be read or a message cannot be decoded (the\n"
            "message named by topic, partition and offset) or an output cannot be written,\n"
            "2 bad command line, 3 conflicts (listed; the dump is written all the same).\n");
}

static void od_free(od_dump *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->entries[i].id);
        free(d->entries[i].value);
    }
    free(d->entries);
}

/*
 * The id of one message of kind: the header's fingerprint must name a known schema of the
 * kind's type, and the datum must decode with it. AJ_E_OK with id set (NUL-terminated, at most
 * idlen - 1 bytes); otherwise a reject or Avro code with why set.
 */
static aj_err od_message_id(od_kind kind, const aj_message *msg, char *id, size_t idlen, char *why, size_t whylen) {
    const aj_schema *writer;
    const uint8_t *datum;
    size_t len;
    uint64_t fp;
    char origin[256];
    aj_err rc;

    if (!msg->value) {
        snprintf(why, whylen, "no value (a tombstone)");
        return AJ_E_TRUNCATED;
    }
    if ((rc = aj_som_parse(msg->value, msg->value_len, &fp)) != AJ_E_OK) {
        snprintf(why, whylen, "not Avro single-object encoded: %s", aj_err_str(rc));
        return rc;
    }
    if (!(writer = aj_schema_by_fingerprint(fp))) {
        snprintf(why, whylen, "unknown schema fingerprint %016llx", (unsigned long long)fp);
        return AJ_E_UNKNOWN_SCHEMA;
    }
    if (writer->id != od_kinds[kind].schema) {
        snprintf(why, whylen, "a record of %s, not of kind %s", writer->file, od_kinds[kind].name);
        return AJ_E_WRONG_SCHEMA;
    }
    datum = (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN;
    len = msg->value_len - AJ_SOM_HEADER_LEN;
    switch (od_kinds[kind].schema) {
    case AJ_SCHEMA_CORRECTION: {
        aj_correction c;
        if ((rc = aj_decode_correction(writer, datum, len, &c, origin, sizeof(origin))) == AJ_E_OK)
            snprintf(id, idlen, "%s", c.correction_id);
        break;
    }
    case AJ_SCHEMA_DEAD_LETTER: {
        aj_dead_letter dl;
        if ((rc = aj_decode_dead_letter(writer, datum, len, &dl, origin, sizeof(origin))) == AJ_E_OK)
            snprintf(id, idlen, "%s", dl.dead_letter_id);
        break;
    }
    default: {
        aj_invoice inv;
        if ((rc = aj_decode_invoice(writer, datum, len, &inv)) == AJ_E_OK) {
            snprintf(id, idlen, "%s", inv.invoice_id);
            aj_invoice_release(&inv);
        }
        break;
    }
    }
    if (rc != AJ_E_OK) {
        snprintf(why, whylen, "%s datum does not decode with %s: %s", od_kinds[kind].name, writer->file,
                 aj_err_str(rc));
        return rc;
    }
    if (!id[0]) {
        snprintf(why, whylen, "%s with an empty id", od_kinds[kind].name);
        return AJ_E_MISSING_FIELD;
    }
    return AJ_E_OK;
}

/* aj_kafka_read_topic's callback: decodes and keeps one message. A non-OK return (d->err set)
 * stops the read. */
static aj_err od_on_message(void *opaque, const aj_message *msg) {
    od_dump *d = opaque;
    char id[512] = "", why[384] = "";
    od_entry *e;
    aj_err rc = od_message_id(d->kind, msg, id, sizeof(id), why, sizeof(why));

    if (rc != AJ_E_OK) {
        snprintf(d->err, sizeof(d->err), "topic %s partition %d offset %lld: %s", msg->pos.origin,
                 (int)msg->pos.partition, (long long)msg->pos.offset, why);
        return rc;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4096;
        od_entry *grown = realloc(d->entries, cap * sizeof(*grown));
        if (!grown) goto nomem;
        d->entries = grown;
        d->cap = cap;
    }
    e = &d->entries[d->n];
    e->kind = d->kind;
    e->partition = msg->pos.partition;
    e->offset = msg->pos.offset;
    e->len = msg->value_len;
    e->id = strdup(id);
    e->value = malloc(msg->value_len ? msg->value_len : 1);
    if (!e->id || !e->value) {
        free(e->id);
        free(e->value);
        goto nomem;
    }
    memcpy(e->value, msg->value, msg->value_len);
    d->n++;
    d->counts[d->kind].raw++;
    return AJ_E_OK;
nomem:
    snprintf(d->err, sizeof(d->err), "out of memory after %zu messages", d->n);
    return AJ_E_NOMEM;
}

/*
 * Sums the low watermarks of every partition of topic into *evicted: the mock cluster (and a
 * broker's retention) drops the oldest messages of a full partition silently. AJ_E_KAFKA with
 * err set when the topic's partitions or offsets cannot be had.
 */
/*
 * A consumer handle on bootstrap (*rk; group: NULL, or a group id it never joins), the
 * partitions of topic in *list with their low watermarks as offsets, and their high watermarks
 * in *high (one per entry of *list). The caller frees all three. AJ_E_KAFKA / AJ_E_NOMEM with
 * err set, and the three NULL.
 */
static aj_err od_watermarks(const char *bootstrap, const char *group, const char *topic, rd_kafka_t **rk,
                            rd_kafka_topic_partition_list_t **list, int64_t **high, char *err, size_t errlen) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_t *rkt = NULL;
    const rd_kafka_metadata_t *md = NULL;
    aj_err rc = AJ_E_KAFKA;

    *rk = NULL;
    *list = NULL;
    *high = NULL;
    if (!conf || rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) ||
        (group && rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot configure a Kafka client: %s", conf ? errstr : "out of memory");
        goto error;
    }
    if (!(*rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
        snprintf(err, errlen, "cannot create a Kafka client: %s", errstr);
        goto error;
    }
    conf = NULL;   /* owned by *rk */
    rkt = rd_kafka_topic_new(*rk, topic, NULL);
    if (!rkt || rd_kafka_metadata(*rk, 0, rkt, &md, OD_TIMEOUT_MS) || md->topic_cnt != 1 || md->topics[0].err ||
        md->topics[0].partition_cnt <= 0) {
        snprintf(err, errlen, "topic %s cannot be read (missing, or the brokers do not answer)", topic);
        goto error;
    }
    int n = md->topics[0].partition_cnt;
    if (!(*list = rd_kafka_topic_partition_list_new(n)) || !(*high = calloc((size_t)n, sizeof(**high)))) {
        snprintf(err, errlen, "out of memory");
        rc = AJ_E_NOMEM;
        goto error;
    }
    for (int p = 0; p < n; p++) {
        int32_t id = md->topics[0].partitions[p].id;
        int64_t lo;
        if (rd_kafka_query_watermark_offsets(*rk, topic, id, &lo, &(*high)[p], OD_TIMEOUT_MS)) {
            snprintf(err, errlen, "topic %s partition %d: cannot read its offsets", topic, (int)id);
            goto error;
        }
        rd_kafka_topic_partition_list_add(*list, topic, id)->offset = lo;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return AJ_E_OK;
error:
    if (md) rd_kafka_metadata_destroy(md);
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (*list) rd_kafka_topic_partition_list_destroy(*list);
    free(*high);
    if (*rk) rd_kafka_destroy(*rk);
    if (conf) rd_kafka_conf_destroy(conf);
    *rk = NULL;
    *list = NULL;
    *high = NULL;
    return rc;
}

/* Sums the low watermarks of every partition of topic into *evicted. AJ_E_KAFKA / AJ_E_NOMEM
 * with err set. */
static aj_err od_evicted(const char *bootstrap, const char *topic, int64_t *evicted, char *err, size_t errlen) {
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *list;
    int64_t *high;
    aj_err rc = od_watermarks(bootstrap, NULL, topic, &rk, &list, &high, err, errlen);

    *evicted = 0;
    if (rc != AJ_E_OK) return rc;
    for (int i = 0; i < list->cnt; i++) *evicted += list->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(list);
    free(high);
    rd_kafka_destroy(rk);
    return AJ_E_OK;
}

/*
 * --position GROUP=TOPIC: prints "COMMITTED END", the group's committed offsets on topic summed
 * over its partitions (a partition without a commit counts as its low watermark) and the sum of
 * the high watermarks. The group is not joined (OffsetFetch only). Returns an exit status.
 */
static int od_position(const char *bootstrap, char *arg) {
    char err[512];
    char *eq = strchr(arg, '=');
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *list, *committed = NULL;
    int64_t *high, sum = 0, end = 0;
    rd_kafka_resp_err_t e;
    int status = OD_EXIT_FAILURE;

    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "aj_outdump: --position expects GROUP=TOPIC, got '%s'\n", arg);
        return OD_EXIT_USAGE;
    }
    *eq = '\0';
    if (od_watermarks(bootstrap, arg, eq + 1, &rk, &list, &high, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "aj_outdump: %s\n", err);
        return OD_EXIT_FAILURE;
    }
    if (!(committed = rd_kafka_topic_partition_list_copy(list))) {
        fprintf(stderr, "aj_outdump: out of memory\n");
        goto end;
    }
    if ((e = rd_kafka_committed(rk, committed, OD_TIMEOUT_MS))) {
        fprintf(stderr, "aj_outdump: the offsets group %s committed on %s cannot be read: %s\n", arg, eq + 1,
                rd_kafka_err2str(e));
        goto end;
    }
    for (int i = 0; i < committed->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &committed->elems[i];
        if (tp->err) {
            fprintf(stderr, "aj_outdump: the offset group %s committed on %s [%d] cannot be read: %s\n", arg, eq + 1,
                    (int)tp->partition, rd_kafka_err2str(tp->err));
            goto end;
        }
        sum += tp->offset >= list->elems[i].offset ? tp->offset : list->elems[i].offset;
        end += high[i];
    }
    if (printf("%lld %lld\n", (long long)sum, (long long)end) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "aj_outdump: cannot write to stdout: %s\n", strerror(errno));
        goto end;
    }
    status = OD_EXIT_OK;
end:
    if (committed) rd_kafka_topic_partition_list_destroy(committed);
    rd_kafka_topic_partition_list_destroy(list);
    free(high);
    rd_kafka_destroy(rk);
    return status;
}

/* Kind, then id (byte order), then position: the first entry of an id is its first message. */
static int od_compare(const void *a, const void *b) {
    const od_entry *x = a, *y = b;
    int c;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if ((c = strcmp(x->id, y->id)) != 0) return c;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return 0;
}

/* Writes id with bytes outside '!'..'~', and '\', as \xHH: one token, whatever the id holds. */
static void od_put_id(FILE *out, const char *id) {
    for (const unsigned char *s = (const unsigned char *)id; *s; s++) {
        if (*s > ' ' && *s <= '~' && *s != '\\')
            putc(*s, out);
        else
            fprintf(out, "\\x%02x", *s);
    }
}

static void od_put_hex(FILE *out, const uint8_t *v, size_t len) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        putc(digits[v[i] >> 4], out);
        putc(digits[v[i] & 15], out);
    }
}

/*
 * Writes the dump (sorted entries, first of each id) to out and counts distinct ids,
 * duplicates and conflicts; conflicting messages are listed on stderr and in summary (may be
 * NULL). Returns 0, or -1 when out or summary cannot be written.
 */
static int od_write(od_dump *d, FILE *out, FILE *summary) {
    size_t first = 0;
    char line[1024];

    qsort(d->entries, d->n, sizeof(*d->entries), od_compare);
    for (size_t i = 0; i < d->n; i++) {
        const od_entry *e = &d->entries[i], *f = &d->entries[first];
        if (i == 0 || e->kind != f->kind || strcmp(e->id, f->id) != 0) {
            first = i;
            d->counts[e->kind].distinct++;
            fprintf(out, "%s ", od_kinds[e->kind].name);
            od_put_id(out, e->id);
            putc(' ', out);
            od_put_hex(out, e->value, e->len);
            putc('\n', out);
        } else if (e->len == f->len && memcmp(e->value, f->value, e->len) == 0) {
            d->counts[e->kind].duplicates++;
        } else {
            d->counts[e->kind].conflicts++;
        }
    }
    for (int k = 0; k < OD__COUNT; k++) {
        const od_counts *c = &d->counts[k];
        if (!c->topic) continue;
        snprintf(line, sizeof(line), "%s raw=%lld distinct=%lld duplicates=%lld conflicts=%lld evicted=%lld topic=%s",
                 od_kinds[k].name, (long long)c->raw, (long long)c->distinct, (long long)c->duplicates,
                 (long long)c->conflicts, (long long)c->evicted, c->topic);
        fprintf(stderr, "aj_outdump: %s\n", line);
        if (summary) fprintf(summary, "%s\n", line);
        if (c->evicted)
            fprintf(stderr, "aj_outdump: warning: %lld messages of %s were evicted by the broker: the dump is incomplete\n",
                    (long long)c->evicted, c->topic);
    }
    /* The conflicts after every summary line, in the same (kind, id, position) order: every one
     * in summary, the first OD_STDERR_CONFLICTS on stderr. */
    int64_t listed = 0;
    first = 0;
    for (size_t i = 0; i < d->n; i++) {
        const od_entry *e = &d->entries[i], *f = &d->entries[first];
        if (i == 0 || e->kind != f->kind || strcmp(e->id, f->id) != 0) {
            first = i;
            continue;
        }
        if (e->len == f->len && memcmp(e->value, f->value, e->len) == 0) continue;
        for (FILE *to = stderr; to; to = to == stderr ? summary : NULL) {
            if (to == stderr && listed >= OD_STDERR_CONFLICTS) continue;
            fprintf(to, "%sconflict %s ", to == stderr ? "aj_outdump: " : "", od_kinds[e->kind].name);
            od_put_id(to, e->id);
            fprintf(to, " at %d/%lld, first at %d/%lld\n", (int)e->partition, (long long)e->offset, (int)f->partition,
                    (long long)f->offset);
        }
        listed++;
    }
    if (listed > OD_STDERR_CONFLICTS)
        fprintf(stderr, "aj_outdump: ... and %lld more conflicts%s\n", (long long)(listed - OD_STDERR_CONFLICTS),
                summary ? " (every one is in the summary file)" : "");
    return ferror(out) || (summary && ferror(summary)) ? -1 : 0;
}

/* Parses KIND=TOPIC into d->counts. Returns 0, or -1 with a message on stderr. */
static int od_parse_topic(od_dump *d, char *arg) {
    char *eq = strchr(arg, '=');
    if (eq && eq[1]) {
        *eq = '\0';
        for (int k = 0; k < OD__COUNT; k++) {
            if (strcmp(arg, od_kinds[k].name) != 0) continue;
            if (d->counts[k].topic) {
                fprintf(stderr, "aj_outdump: --topic %s given twice (each kind at most once)\n", arg);
                return -1;
            }
            d->counts[k].topic = eq + 1;
            return 0;
        }
        *eq = '=';
    }
    fprintf(stderr, "aj_outdump: --topic expects KIND=TOPIC with KIND invoice, review, correction or dead-letter, "
                    "got '%s'\n", arg);
    return -1;
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"bootstrap-servers", required_argument, 0, 'b'},
        {"topic", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'},
        {"summary", required_argument, 0, 's'},
        {"position", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *bootstrap = NULL, *out_path = NULL, *summary_path = NULL;
    char *position = NULL;
    char err[512], kerr[512];
    int c, n_topics = 0, status = OD_EXIT_USAGE, have_cfg = 0, have_schemas = 0;
    od_dump d;
    aj_config cfg;
    FILE *out = NULL, *summary = NULL;

    memset(&d, 0, sizeof(d));
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bootstrap = optarg; break;
        case 't':
            if (od_parse_topic(&d, optarg)) goto end;
            n_topics++;
            break;
        case 'o': out_path = optarg; break;
        case 's': summary_path = optarg; break;
        case 'p': position = optarg; break;
        case 'h':
            od_usage(stdout);
            status = OD_EXIT_OK;
            goto end;
        case ':':
            fprintf(stderr, "aj_outdump: %s needs a value (see --help)\n", argv[optind - 1]);
            goto end;
        default:
            fprintf(stderr, "aj_outdump: unknown option '%s' (see --help)\n", argv[optind - 1]);
            goto end;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "aj_outdump: unexpected argument '%s' (see --help)\n", argv[optind]);
        goto end;
    }
    if (!bootstrap || !*bootstrap || (!n_topics && !position)) {
        fprintf(stderr, "aj_outdump: %s is required (see --help)\n",
                !bootstrap || !*bootstrap ? "--bootstrap-servers LIST" : "--topic KIND=TOPIC");
        goto end;
    }
    if (position) {
        if (n_topics || out_path || summary_path) {
            fprintf(stderr, "aj_outdump: --position goes alone (no --topic, --out or --summary)\n");
            goto end;
        }
        status = od_position(bootstrap, position);
        goto end;
    }
    status = OD_EXIT_FAILURE;
    if (aj_schemas_init() != AJ_E_OK) goto end;
    have_schemas = 1;
    if (aj_config_init(&cfg) != AJ_E_OK) {
        fprintf(stderr, "aj_outdump: out of memory\n");
        goto end;
    }
    have_cfg = 1;
    if (aj_config_set(&cfg, "kafka.bootstrap.servers", bootstrap, err, sizeof(err)) != AJ_E_OK ||
        aj_config_set(&cfg, "kafka.log_level", "3", err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "aj_outdump: %s\n", err);
        goto end;
    }
    for (int k = 0; k < OD__COUNT; k++) {
        od_counts *cnt = &d.counts[k];
        aj_err rc;
        if (!cnt->topic) continue;
        if (od_evicted(bootstrap, cnt->topic, &cnt->evicted, err, sizeof(err)) != AJ_E_OK) {
            fprintf(stderr, "aj_outdump: %s\n", err);
            goto end;
        }
        d.kind = (od_kind)k;
        d.err[0] = kerr[0] = '\0';
        rc = aj_kafka_read_topic(&cfg, cnt->topic, OD_TIMEOUT_MS, od_on_message, &d, NULL, kerr, sizeof(kerr));
        if (rc != AJ_E_OK) {
            fprintf(stderr, "aj_outdump: %s\n", d.err[0] ? d.err : kerr[0] ? kerr : aj_err_str(rc));
            goto end;
        }
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        fprintf(stderr, "aj_outdump: cannot create '%s': %s\n", out_path, strerror(errno));
        goto end;
    }
    if (summary_path && !(summary = fopen(summary_path, "w"))) {
        fprintf(stderr, "aj_outdump: cannot create '%s': %s\n", summary_path, strerror(errno));
        goto end;
    }
    int werr = od_write(&d, out ? out : stdout, summary);
    if (out) {
        werr |= fclose(out) != 0;
        out = NULL;
    } else {
        werr |= fflush(stdout) != 0;
    }
    if (summary) {
        werr |= fclose(summary) != 0;
        summary = NULL;
    }
    if (werr) {
        fprintf(stderr, "aj_outdump: cannot write the output: %s\n", strerror(errno));
        goto end;
    }
    status = OD_EXIT_OK;
    for (int k = 0; k < OD__COUNT; k++)
        if (d.counts[k].conflicts) status = OD_EXIT_CONFLICT;
end:
    if (out) fclose(out);
    if (summary) fclose(summary);
    od_free(&d);
    if (have_cfg) aj_config_free(&cfg);
    if (have_schemas) aj_schemas_shutdown();
    return status;
}
