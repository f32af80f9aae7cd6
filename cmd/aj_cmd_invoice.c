/* aj_cmd_invoice.c - `ajuste invoice show`: adjusted invoices from a file or a topic, for a person. */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "aj_cmd.h"
#include "aj_cmd_invoice.h"
#include "aj_emit.h"
#include "aj_render.h"

extern char **environ;

#define INV_KAFKA_TIMEOUT_MS 30000

static void invoice_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste invoice show (--file PATH | --topic NAME [--bootstrap-servers HOST:PORT])\n"
            "                           [--id INVOICE_ID | --account A [--cycle C]] [--all]\n"
            "                           [--html OUT.html]\n\n"
            "Shows adjusted invoices the way accounts payable reads them: the header, every line with\n"
            "its original (legacy) and corrected amount and the adjustments that explain the\n"
            "difference, taxes, credits, the totals down to the amount due, the advisory amounts\n"
            "flagged but not billed, and the corrections by reason. Without --id or --account it\n"
            "shows the first invoice of the input (every one with --all).\n\n"
            "Input (one of):\n"
            "  --file PATH            Avro file of invoices: invoices.avro or review.avro of\n"
            "                         `ajuste rate --out DIR`\n"
            "  --topic NAME           Kafka topic of invoices (e.g. invoices.adjusted), read from the\n"
            "                         beginning to its end\n"
            "  --bootstrap-servers HOST:PORT\n"
            "                         brokers of --topic (default: AJUSTE_KAFKA_BOOTSTRAP_SERVERS; other\n"
            "                         AJUSTE_KAFKA_* variables pass librdkafka properties)\n\n"
            "Selection:\n"
            "  --id INVOICE_ID        the invoice with this id (INV-<account>-<cycle>-r<revision>)\n"
            "  --account A            the invoices of account A\n"
            "  --cycle C              with --account: only those of billing cycle C\n"
            "  --all                  every selected invoice instead of the first\n\n"
            "Output:\n"
            "  --html OUT.html        write the invoice as one standalone HTML page (print-friendly,\n"
            "                         no scripts) and print the file's path; one invoice, not --all\n"
            "  -h, --help             this help\n\n"
            "Examples:\n"
            "  ajuste gen --out work/in && ajuste rate --in work/in --out work/out\n"
            "  ajuste invoice show --file work/out/invoices.avro\n"
            "  ajuste invoice show --file work/out/invoices.avro --account ACC000042 --cycle 2026-10\n"
            "  ajuste invoice show --file work/out/review.avro --all\n"
            "  ajuste invoice show --file work/out/invoices.avro --id INV-ACC000042-2026-10-r1 --html inv.html\n"
            "  ajuste invoice show --topic invoices.adjusted --bootstrap-servers localhost:9092 --account ACC000042\n\n"
            "Exit codes: 0 shown, 1 no such invoice or the input cannot be read, 2 bad command line or\n"
            "input path.\n");
}

/* A datum written with `writer`: decoded, visited, released. */
static aj_err inv_datum(aj_invoice_reader *r, const aj_schema *writer, const void *datum, size_t len, const char *where) {
    aj_invoice inv;
    aj_err rc;

    if (writer->id != AJ_SCHEMA_INVOICE) {
        snprintf(r->err, sizeof(r->err), "%s holds records of %s, not invoices (%s)", r->input, writer->file,
                 r->topic ? "use the invoice or the review topic" : "use invoices.avro or review.avro");
        r->status = AJ_EXIT_USAGE;
        return AJ_E_WRONG_SCHEMA;
    }
    if ((rc = aj_decode_invoice(writer, datum, len, &inv)) != AJ_E_OK) {
        snprintf(r->err, sizeof(r->err), "%s: the invoice at %s cannot be decoded: %s", r->input, where, aj_err_str(rc));
        r->status = AJ_EXIT_FAILURE;
        return rc;
    }
    r->read++;
    rc = r->visit(r->opaque, &inv, writer, datum, len, where);
    aj_invoice_release(&inv);
    return rc;
}

/* Reads r->input as an Avro file. AJ_E_OK when read to its end or stopped by the visitor. */
static aj_err inv_read_file(aj_invoice_reader *r) {
    aj_err rc;
    aj_message m = {0};
    char where[64];
    aj_source *src = aj_file_source_open(r->input, &rc, r->err, sizeof(r->err));

    if (!src) {
        /* Cannot be opened: a bad path; opened but not an Avro file we know: unreadable. */
        r->status = rc == AJ_E_IO ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
        return rc;
    }
    while ((rc = aj_source_next(src, &m, 0)) == AJ_E_OK) {
        snprintf(where, sizeof(where), "index %lld", (long long)m.pos.offset);
        if ((rc = inv_datum(r, m.writer, m.value, m.value_len, where)) != AJ_E_OK) break;
    }
    if (rc != AJ_E_OK && rc != AJ_E_EOF && !r->err[0]) {
        snprintf(r->err, sizeof(r->err), "%s: cannot be read at index %lld: %s%s%s", r->input, (long long)m.pos.offset,
                 aj_err_str(rc), m.detail ? ": " : "", m.detail ? m.detail : "");
        r->status = AJ_EXIT_FAILURE;
    }
    aj_source_destroy(src);
    return rc == AJ_E_EOF ? AJ_E_OK : rc;
}

/* A message of the topic: single-object header, then an invoice datum. */
static aj_err inv_on_message(void *opaque, const aj_message *msg) {
    aj_invoice_reader *r = opaque;
    const aj_schema *writer;
    uint64_t fp;
    char where[64];

    snprintf(where, sizeof(where), "partition %d offset %lld", (int)msg->pos.partition, (long long)msg->pos.offset);
    if (aj_som_parse(msg->value, msg->value_len, &fp) != AJ_E_OK || !(writer = aj_schema_by_fingerprint(fp))) {
        snprintf(r->err, sizeof(r->err), "topic %s, %s: not an Avro single-object message of a known schema", r->input,
                 where);
        r->status = AJ_EXIT_FAILURE;
        return AJ_E_UNKNOWN_SCHEMA;
    }
    return inv_datum(r, writer, (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN, msg->value_len - AJ_SOM_HEADER_LEN,
                     where);
}

aj_err aj_invoice_config(aj_config *cfg, const char *bootstrap, char *err, size_t errlen) {
    char kerr[512];
    aj_err rc;

    if (aj_config_init(cfg) != AJ_E_OK) return AJ_E_NOMEM;
    if ((rc = aj_config_load_env(cfg, environ, err, errlen)) != AJ_E_OK ||
        (bootstrap && (rc = aj_config_set(cfg, "kafka.bootstrap.servers", bootstrap, err, errlen)) != AJ_E_OK))
        return rc;
    if (!aj_config_kafka_get(cfg, "bootstrap.servers")) {
        snprintf(err, errlen, "a topic needs --bootstrap-servers HOST:PORT (or AJUSTE_KAFKA_BOOTSTRAP_SERVERS)");
        return AJ_E_CONFIG;
    }
    /* librdkafka's own log stays quiet unless asked for: the reader's error names the topic. */
    if (!aj_config_kafka_get(cfg, "log_level")) aj_config_set(cfg, "kafka.log_level", "3", kerr, sizeof(kerr));
    return AJ_E_OK;
}

/* Reads topic r->input from its beginning to its end. */
static aj_err inv_read_topic(aj_invoice_reader *r, const aj_config *cfg) {
    char kerr[512] = "";
    aj_err rc = aj_kafka_read_topic(cfg, r->input, INV_KAFKA_TIMEOUT_MS, inv_on_message, r, NULL, kerr, sizeof(kerr));

    if (rc == AJ_E_EOF) rc = AJ_E_OK;
    if (rc != AJ_E_OK && !r->err[0]) snprintf(r->err, sizeof(r->err), "%s", kerr[0] ? kerr : aj_err_str(rc));
    if (rc != AJ_E_OK && !r->status) r->status = rc == AJ_E_CONFIG ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
    return rc;
}

aj_err aj_invoice_read(aj_invoice_reader *r, const aj_config *cfg) {
    r->err[0] = '\0';
    r->status = 0;
    r->read = 0;
    return r->topic ? inv_read_topic(r, cfg) : inv_read_file(r);
}

/* What `invoice show` looks for, and what it found. */
typedef struct inv_show {
    const char *id;        /* select by invoice id, or */
    const char *account;   /* by account, */
    const char *cycle;     /* and cycle; neither: every invoice */
    const char *html;      /* write an HTML page here instead of printing text */
    int all;               /* every selected invoice, not only the first */
    int64_t shown;
    int status;            /* exit status of a failure the visitor met */
    char err[512];
} inv_show;

static int inv_selected(const inv_show *s, const aj_invoice *inv) {
    if (s->id) return strcmp(inv->invoice_id, s->id) == 0;
    if (s->account && strcmp(inv->account, s->account) != 0) return 0;
    return !s->cycle || strcmp(inv->cycle_id, s->cycle) == 0;
}

/* Writes inv to s->html and prints the path. AJ_E_OK or AJ_E_IO with s->err set. */
static aj_err inv_write_html(inv_show *s, const aj_invoice *inv) {
    FILE *f = fopen(s->html, "w");
    struct stat st;
    aj_err rc;

    if (!f) {
        snprintf(s->err, sizeof(s->err), "--html: cannot create '%s': %s", s->html, strerror(errno));
        s->status = AJ_EXIT_USAGE;
        return AJ_E_IO;
    }
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    rc = aj_invoice_write_html(f, inv);
    if (fclose(f) != 0) rc = AJ_E_IO;
    if (rc) {
        snprintf(s->err, sizeof(s->err), "cannot write '%s': %s", s->html, strerror(errno));
        if (regular) remove(s->html);   /* no half page left looking complete; never a device */
        s->status = AJ_EXIT_FAILURE;
        return AJ_E_IO;
    }
    printf("%s\n", s->html);
    return AJ_E_OK;
}

/* One decoded invoice: shown when selected. AJ_E_EOF once there is nothing more to show. */
static aj_err inv_offer(void *opaque, const aj_invoice *inv, const aj_schema *writer, const void *datum, size_t len,
                        const char *where) {
    inv_show *s = opaque;
    (void)writer;
    (void)datum;
    (void)len;
    (void)where;
    if (!inv_selected(s, inv)) return AJ_E_OK;
    if (s->html) {
        aj_err rc = inv_write_html(s, inv);
        if (rc) return rc;
    } else {
        if (s->shown) fputs("\n\n", stdout);
        aj_invoice_print_text(stdout, inv);
    }
    s->shown++;
    return s->all ? AJ_E_OK : AJ_E_EOF;
}


int aj_cmd_invoice(int argc, char **argv) {
    static const struct option opts[] = {
        {"file", required_argument, 0, 'f'},    {"topic", required_argument, 0, 't'},
        {"bootstrap-servers", required_argument, 0, 'b'},
        {"id", required_argument, 0, 'i'},      {"account", required_argument, 0, 'a'},
        {"cycle", required_argument, 0, 'c'},   {"html", required_argument, 0, 'o'},
        {"all", no_argument, 0, 'A'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *file = NULL, *topic = NULL, *bootstrap = NULL;
    inv_show s;
    int c, status = AJ_EXIT_FAILURE;
    aj_err rc;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        invoice_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? AJ_EXIT_USAGE : AJ_EXIT_OK;
    }
    if (strcmp(argv[1], "show") != 0) {
        fprintf(stderr, "ajuste invoice: unknown subcommand '%s' (try: ajuste invoice show --help)\n", argv[1]);
        return AJ_EXIT_USAGE;
    }
    static char prog[] = "ajuste invoice show";   /* getopt's messages name the command */
    argc--;
    argv++;
    argv[0] = prog;
    memset(&s, 0, sizeof(s));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': file = optarg; break;
        case 't': topic = optarg; break;
        case 'b': bootstrap = optarg; break;
        case 'i': s.id = optarg; break;
        case 'a': s.account = optarg; break;
        case 'c': s.cycle = optarg; break;
        case 'o': s.html = optarg; break;
        case 'A': s.all = 1; break;
        case 'h': invoice_usage(stdout); return AJ_EXIT_OK;
        default: invoice_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    const char *bad = NULL;
    if (optind < argc)
        bad = "unexpected argument";
    else if (!file == !topic)
        bad = file ? "--file and --topic exclude each other" : "--file PATH or --topic NAME is required";
    else if (bootstrap && !topic)
        bad = "--bootstrap-servers goes with --topic";
    else if (s.id && (s.account || s.cycle))
        bad = "--id excludes --account and --cycle";
    else if (s.cycle && !s.account)
        bad = "--cycle needs --account";
    else if (s.html && s.all)
        bad = "--html writes one invoice: leave out --all";
    else if ((file && !*file) || (topic && !*topic) || (s.html && !*s.html) || (s.id && !*s.id) ||
             (s.account && !*s.account) || (s.cycle && !*s.cycle))
        bad = "an option was given an empty value";
    if (bad) {
        if (optind < argc)
            fprintf(stderr, "ajuste invoice show: unexpected argument '%s'\n", argv[optind]);
        else
            fprintf(stderr, "ajuste invoice show: %s\n", bad);
        fprintf(stderr, "Usage: ajuste invoice show (--file PATH | --topic NAME) [--id ID | --account A [--cycle C]] "
                        "[--all] [--html OUT.html]   (--help for more)\n");
        return AJ_EXIT_USAGE;
    }
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;

    aj_invoice_reader r;
    aj_config cfg;
    int have_cfg = 0;
    memset(&r, 0, sizeof(r));
    r.input = file ? file : topic;
    r.topic = topic != NULL;
    r.visit = inv_offer;
    r.opaque = &s;
    if (topic) {
        have_cfg = 1;
        if ((rc = aj_invoice_config(&cfg, bootstrap, r.err, sizeof(r.err))) != AJ_E_OK) r.status = AJ_EXIT_USAGE;
    }
    if (!r.status) rc = aj_invoice_read(&r, &cfg);
    if (s.err[0]) {   /* the visitor's own failure (the HTML page) */
        memcpy(r.err, s.err, sizeof(r.err));
        r.status = s.status;
    }
    if (rc == AJ_E_OK && fflush(stdout) != 0) {
        snprintf(r.err, sizeof(r.err), "cannot write to standard output: %s", strerror(errno));
        r.status = AJ_EXIT_FAILURE;
        rc = AJ_E_IO;
    }
    if (rc != AJ_E_OK) {
        fprintf(stderr, "ajuste invoice show: %s\n", r.err[0] ? r.err : aj_err_str(rc));
        status = r.status ? r.status : AJ_EXIT_FAILURE;
    } else if (!s.shown) {
        if (s.id)
            fprintf(stderr, "ajuste invoice show: no invoice '%s' in %s (%lld invoices read)\n", s.id, r.input,
                    (long long)r.read);
        else if (s.account)
            fprintf(stderr, "ajuste invoice show: no invoice of account '%s'%s%s%s in %s (%lld invoices read)\n",
                    s.account, s.cycle ? " for cycle '" : "", s.cycle ? s.cycle : "", s.cycle ? "'" : "", r.input,
                    (long long)r.read);
        else
            fprintf(stderr, "ajuste invoice show: %s%s holds no invoice%s\n", r.topic ? "topic " : "", r.input,
                    r.topic ? " (empty, or not created)" : "");
        status = AJ_EXIT_FAILURE;
    } else {
        status = AJ_EXIT_OK;
    }
    if (have_cfg) aj_config_free(&cfg);
    aj_schemas_shutdown();
    return status;
}
