/* aj_cmd_release.c - `ajuste release`: a reviewer's decision on a held invoice (docs/invoice.md,
 * "Review"). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "aj_cmd.h"
#include "aj_cmd_invoice.h"
#include "aj_emit.h"
#include "aj_log.h"

extern char **environ;

static void release_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste release (--dir DIR | --config FILE | --bootstrap-servers HOST:PORT) --list\n"
            "       ajuste release (--dir DIR | --config FILE | --bootstrap-servers HOST:PORT)\n"
            "                      --id INVOICE_ID (--as-is | --flag) --reviewer NAME [--note TEXT]\n\n"
            "A held invoice (status HELD, on the review output because a correction's disposition is\n"
            "HOLD or its adjustment is above the materiality threshold) waits for a reviewer. This\n"
            "command lists the invoices waiting, and releases one to the invoice output:\n\n"
            "  --as-is     the invoice as it was built (same id, revision 1), status RELEASED\n"
            "  --flag      revision 2: every correction turned to FLAG, so each line is billed its\n"
            "              legacy amount and the corrections stay on the invoice as advisory\n\n"
            "An invoice is released at most once: when the invoice output already holds an invoice for\n"
            "the same account and cycle, nothing is written and the command fails naming it. Two\n"
            "releases of one invoice at the same time cannot both succeed (a lock on DIR; on Kafka a\n"
            "transactional producer per account and cycle, which fences the earlier one).\n\n"
            "Where (one of):\n"
            "  --dir DIR                the output directory of `ajuste rate --out DIR`: reads\n"
            "                           review.avro, and rewrites invoices.avro with the released\n"
            "                           invoice added (atomically: a new file renamed over it)\n"
            "  --config FILE            the daemon's configuration: output.review_topic and\n"
            "                           output.invoice_topic on its brokers\n"
            "  --bootstrap-servers HOST:PORT\n"
            "                           brokers, with the default topic names (or AJUSTE_* variables)\n"
            "  --set KEY=VALUE          with --config or --bootstrap-servers: one more key\n\n"
            "Decision:\n"
            "  --list                   the held invoices, waiting or released\n"
            "  --id INVOICE_ID          the held invoice (INV-<account>-<cycle>-r1)\n"
            "  --reviewer NAME          who decides (recorded in the invoice's status reason)\n"
            "  --note TEXT              why (recorded too)\n"
            "  -h, --help               this help\n\n"
            "Examples:\n"
            "  ajuste rate --in work/in --out work/out --set materiality.percent=20\n"
            "  ajuste release --dir work/out --list\n"
            "  ajuste release --dir work/out --id INV-ACC000042-2026-10-r1 --as-is --reviewer ana.souza\n"
            "  ajuste release --config ajuste.conf --id INV-ACC000042-2026-10-r1 --flag --reviewer ana.souza \\\n"
            "      --note \"customer notice pending\"\n\n"
            "Exit codes: 0 released (or listed), 1 not held, already released, or the output cannot be\n"
            "written, 2 bad command line or configuration.\n");
}

/* A held invoice of the review output, and what became of it. */
typedef struct rel_held {
    char id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    char cycle[AJ_CYCLE_LEN + 1];
    char reason[192];
    aj_money legacy, adjustment;
    int decimals;
    char released_as[AJ_ID_LEN + 1];   /* the invoice emitted for its account and cycle */
} rel_held;

typedef struct rel_state {
    const char *id;           /* --id, or NULL for --list */
    rel_held *held;
    size_t n_held, cap_held;
    aj_bytes target;          /* the datum of --id's held invoice */
    const aj_schema *target_writer;
    int found;                /* --id was seen on the review output */
    aj_invoice_status found_status;
    char emitted[AJ_ID_LEN + 1];    /* --id's account and cycle already on the invoice output */
    aj_bytes *datums;         /* file mode: every datum of invoices.avro, to rewrite it */
    size_t n_datums, cap_datums;
    int keep_datums;
    char err[512];
} rel_state;

static aj_err rel_on_review(void *opaque, const aj_invoice *inv, const aj_schema *writer, const void *datum, size_t len,
                            const char *where) {
    rel_state *st = opaque;
    (void)where;
    if (st->id) {
        if (strcmp(inv->invoice_id, st->id) != 0) return AJ_E_OK;
        st->found = 1;
        st->target_writer = writer;
        st->found_status = inv->status;
        st->target.len = 0;
        return aj_avro_put_raw(&st->target, datum, len) ? AJ_E_NOMEM : AJ_E_EOF;
    }
    if (inv->status != AJ_INV_HELD) return AJ_E_OK;
    if (st->n_held == st->cap_held) {
        size_t cap = st->cap_held ? 2 * st->cap_held : 64;
        rel_held *h = realloc(st->held, cap * sizeof(*h));
        if (!h) return AJ_E_NOMEM;
        st->held = h;
        st->cap_held = cap;
    }
    rel_held *h = &st->held[st->n_held++];
    memset(h, 0, sizeof(*h));
    memcpy(h->id, inv->invoice_id, sizeof(h->id));
    memcpy(h->account, inv->account, sizeof(h->account));
    memcpy(h->cycle, inv->cycle_id, sizeof(h->cycle));
    memcpy(h->reason, inv->status_reason, sizeof(h->reason));
    h->legacy = inv->legacy_total;
    h->adjustment = inv->adjustment_total;
    h->decimals = inv->decimals;
    return AJ_E_OK;
}

/* The account and cycle of an invoice id INV-<account>-<cycle>-r<n>, matched against inv. */
static int rel_same_invoice(const char *id, const aj_invoice *inv) {
    char want[AJ_ID_LEN + 1];
    aj_invoice_id(want, sizeof(want), inv->account, inv->cycle_id, 1);
    size_t n = strlen(want) - 1;   /* up to and including "-r" */
    return strncmp(id, want, n) == 0;
}

static aj_err rel_on_invoice(void *opaque, const aj_invoice *inv, const aj_schema *writer, const void *datum, size_t len,
                             const char *where) {
    rel_state *st = opaque;
    if (st->keep_datums) {
        if (writer != aj_schema_current(AJ_SCHEMA_INVOICE)) {
            /* The file is rewritten with the current schema: an older datum would not fit. */
            snprintf(st->err, sizeof(st->err), "the invoice at %s was written by an older ajuste (%s); re-run "
                     "`ajuste rate` into this directory before releasing", where, writer->file);
            return AJ_E_WRONG_SCHEMA;
        }
        if (st->n_datums == st->cap_datums) {
            size_t cap = st->cap_datums ? 2 * st->cap_datums : 256;
            aj_bytes *d = realloc(st->datums, cap * sizeof(*d));
            if (!d) return AJ_E_NOMEM;
            st->datums = d;
            st->cap_datums = cap;
        }
        aj_bytes *d = &st->datums[st->n_datums];
        memset(d, 0, sizeof(*d));
        if (aj_avro_put_raw(d, datum, len)) return AJ_E_NOMEM;
        st->n_datums++;
    }
    if (st->id) {
        if (!st->emitted[0] && rel_same_invoice(st->id, inv)) memcpy(st->emitted, inv->invoice_id, sizeof(st->emitted));
        return AJ_E_OK;
    }
    for (size_t i = 0; i < st->n_held; i++)
        if (!st->held[i].released_as[0] && strcmp(st->held[i].account, inv->account) == 0 &&
            strcmp(st->held[i].cycle, inv->cycle_id) == 0)
            memcpy(st->held[i].released_as, inv->invoice_id, sizeof(st->held[i].released_as));
    return AJ_E_OK;
}

static void rel_state_free(rel_state *st) {
    free(st->held);
    aj_bytes_free(&st->target);
    for (size_t i = 0; i < st->n_datums; i++) aj_bytes_free(&st->datums[i]);
    free(st->datums);
}

/* Reads input (file or topic) with visit; prints the error and returns the exit status. */
static int rel_read(const char *input, int topic, const aj_config *cfg, aj_invoice_visit_fn visit, rel_state *st,
                    int missing_ok) {
    aj_invoice_reader r;
    memset(&r, 0, sizeof(r));
    r.input = input;
    r.topic = topic;
    r.visit = visit;
    r.opaque = st;
    if (!topic && missing_ok && access(input, F_OK) != 0 && errno == ENOENT) return AJ_EXIT_OK;
    if (aj_invoice_read(&r, cfg) == AJ_E_OK) return AJ_EXIT_OK;
    fprintf(stderr, "ajuste release: %s\n", st->err[0] ? st->err : r.err);
    return r.status ? r.status : AJ_EXIT_FAILURE;
}

static int rel_list(rel_state *st) {
    char a[40], b[40];
    size_t waiting = 0;
    if (!st->n_held) {
        printf("No held invoice.\n");
        return AJ_EXIT_OK;
    }
    printf("%-34s %14s %14s  %-30s %s\n", "HELD INVOICE", "LEGACY TOTAL", "ADJUSTMENT", "STATE", "HELD FOR");
    for (size_t i = 0; i < st->n_held; i++) {
        const rel_held *h = &st->held[i];
        char state[AJ_ID_LEN + 16];
        if (h->released_as[0])
            snprintf(state, sizeof(state), "released as %s", h->released_as);
        else {
            snprintf(state, sizeof(state), "waiting");
            waiting++;
        }
        printf("%-34s %14s %14s  %-30s %s\n", h->id, aj_money_format(h->legacy, h->decimals, a, sizeof(a)),
               aj_money_format(h->adjustment, h->decimals, b, sizeof(b)), state, h->reason);
    }
    printf("\n%zu held, %zu waiting for a decision.\n", st->n_held, waiting);
    return AJ_EXIT_OK;
}

/* File mode: invoices.avro rewritten with every datum it had and the released one, under a
 * new name renamed over it (readers see the old file or the new one, never a part). */
static int rel_write_file(const char *dir, rel_state *st, const aj_bytes *datum) {
    char path[4096], partial[4096 + 16];
    aj_err rc;
    aj_path(path, sizeof(path), dir, "invoices.avro");
    snprintf(partial, sizeof(partial), "%s.release", path);
    aj_ocf_writer *w = aj_ocf_writer_open(partial, aj_schema_current(AJ_SCHEMA_INVOICE), 1, &rc, st->err,
                                          sizeof(st->err));
    if (!w) {
        fprintf(stderr, "ajuste release: %s\n", st->err);
        return AJ_EXIT_FAILURE;
    }
    for (size_t i = 0; i < st->n_datums && rc == AJ_E_OK; i++)
        rc = aj_ocf_writer_append(w, st->datums[i].data, st->datums[i].len);
    if (rc == AJ_E_OK) rc = aj_ocf_writer_append(w, datum->data, datum->len);
    aj_err crc = aj_ocf_writer_close(w);
    if (rc == AJ_E_OK) rc = crc;
    if (rc == AJ_E_OK && rename(partial, path) != 0) rc = AJ_E_IO;
    if (rc != AJ_E_OK) {
        fprintf(stderr, "ajuste release: cannot write %s: %s%s%s; nothing released\n", path, aj_err_str(rc),
                errno ? ": " : "", errno ? strerror(errno) : "");
        remove(partial);
        return AJ_EXIT_FAILURE;
    }
    aj_file_sync_dir(dir);
    return AJ_EXIT_OK;
}

/* Kafka mode: the released invoice in one transaction of the producer sink. */
static int rel_write_topic(aj_sink *sink, const aj_invoice *inv, const aj_bytes *datum, rel_state *st) {
    aj_err rc = sink->ops->write(sink, AJ_OUT_INVOICE, inv->account, datum->data, datum->len);
    if (rc == AJ_E_OK) rc = sink->ops->close(sink);
    else sink->ops->abort(sink);
    if (rc != AJ_E_OK) {
        snprintf(st->err, sizeof(st->err), "the released invoice could not be committed (%s); nothing released",
                 aj_err_str(rc));
        fprintf(stderr, "ajuste release: %s\n", st->err);
        return AJ_EXIT_FAILURE;
    }
    return AJ_EXIT_OK;
}

int aj_cmd_release(int argc, char **argv) {
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},      {"config", required_argument, 0, 'c'},
        {"bootstrap-servers", required_argument, 0, 'b'}, {"set", required_argument, 0, 's'},
        {"list", no_argument, 0, 'l'},           {"id", required_argument, 0, 'i'},
        {"as-is", no_argument, 0, 'a'},          {"flag", no_argument, 0, 'f'},
        {"reviewer", required_argument, 0, 'r'}, {"note", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    const char *dir = NULL, *config = NULL, *bootstrap = NULL, *id = NULL, *reviewer = NULL, *note = NULL;
    char *sets[32];
    int n_sets = 0, list = 0, as_is = 0, flag = 0, c, status = AJ_EXIT_FAILURE, lock_fd = -1, have_cfg = 0;
    char err[512] = "", review_path[4096], invoice_path[4096];
    const char *review_input, *invoice_input;
    aj_config cfg;
    rel_state st;
    aj_sink *sink = NULL;
    aj_err rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'c': config = optarg; break;
        case 'b': bootstrap = optarg; break;
        case 's':
            if (n_sets == 32) {
                fprintf(stderr, "ajuste release: at most 32 --set flags\n");
                return AJ_EXIT_USAGE;
            }
            sets[n_sets++] = optarg;
            break;
        case 'l': list = 1; break;
        case 'i': id = optarg; break;
        case 'a': as_is = 1; break;
        case 'f': flag = 1; break;
        case 'r': reviewer = optarg; break;
        case 'n': note = optarg; break;
        case 'h': release_usage(stdout); return AJ_EXIT_OK;
        default: release_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    const char *bad = NULL;
    if (optind < argc)
        bad = "unexpected argument";
    else if (!!dir + !!config + !!bootstrap == 0)
        bad = "say where: --dir DIR, --config FILE or --bootstrap-servers HOST:PORT";
    else if (dir && (config || bootstrap || n_sets))
        bad = "--dir excludes --config, --bootstrap-servers and --set";
    else if (list == !!id)
        bad = list ? "--list excludes --id" : "--list, or --id INVOICE_ID with a decision";
    else if (list && (as_is || flag || reviewer || note))
        bad = "--list takes no decision (--as-is, --flag, --reviewer, --note)";
    else if (id && as_is == flag)
        bad = as_is ? "--as-is and --flag exclude each other" : "--id needs a decision: --as-is or --flag";
    else if (id && (!reviewer || !*reviewer))
        bad = "--id needs --reviewer NAME (recorded on the invoice)";
    else if ((dir && !*dir) || (id && !*id))
        bad = "an option was given an empty value";
    if (bad) {
        if (optind < argc)
            fprintf(stderr, "ajuste release: unexpected argument '%s'\n", argv[optind]);
        else
            fprintf(stderr, "ajuste release: %s\n", bad);
        fprintf(stderr, "Usage: ajuste release (--dir DIR | --config FILE | --bootstrap-servers HOST:PORT) (--list | "
                        "--id ID (--as-is | --flag) --reviewer NAME [--note TEXT])   (--help for more)\n");
        return AJ_EXIT_USAGE;
    }
    memset(&st, 0, sizeof(st));
    st.id = id;
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;

    if (dir) {
        review_input = aj_path(review_path, sizeof(review_path), dir, "review.avro");
        invoice_input = aj_path(invoice_path, sizeof(invoice_path), dir, "invoices.avro");
        if (id) {
            /* One release at a time in DIR: the check and the rewrite under one lock. */
            char lock_path[4096];
            aj_path(lock_path, sizeof(lock_path), dir, ".release.lock");
            if ((lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock(lock_fd, LOCK_EX) != 0) {
                fprintf(stderr, "ajuste release: cannot lock %s: %s\n", lock_path, strerror(errno));
                status = AJ_EXIT_USAGE;
                goto end;
            }
        }
        st.keep_datums = id != NULL;
    } else {
        have_cfg = 1;
        rc = aj_config_init(&cfg);
        if (rc == AJ_E_OK && config) rc = aj_config_load_file(&cfg, config, err, sizeof(err));
        if (rc == AJ_E_OK) rc = aj_config_load_env(&cfg, environ, err, sizeof(err));
        if (rc == AJ_E_OK && bootstrap) rc = aj_config_set(&cfg, "kafka.bootstrap.servers", bootstrap, err, sizeof(err));
        for (int i = 0; rc == AJ_E_OK && i < n_sets; i++) rc = aj_config_set_assignment(&cfg, sets[i], err, sizeof(err));
        if (rc == AJ_E_OK && !aj_config_kafka_get(&cfg, "bootstrap.servers")) {
            snprintf(err, sizeof(err), "kafka.bootstrap.servers is not set (--config, --bootstrap-servers or "
                                       "AJUSTE_KAFKA_BOOTSTRAP_SERVERS)");
            rc = AJ_E_CONFIG;
        }
        if (rc != AJ_E_OK) {
            fprintf(stderr, "ajuste release: %s\n", err[0] ? err : aj_err_str(rc));
            status = AJ_EXIT_USAGE;
            goto end;
        }
        if (!aj_config_kafka_get(&cfg, "log_level")) aj_config_set(&cfg, "kafka.log_level", "3", err, sizeof(err));
        review_input = cfg.review_topic;
        invoice_input = cfg.invoice_topic;
    }

    if ((status = rel_read(review_input, !dir, &cfg, rel_on_review, &st, 0)) != AJ_EXIT_OK) goto end;
    if (list) {
        if ((status = rel_read(invoice_input, !dir, &cfg, rel_on_invoice, &st, 1)) != AJ_EXIT_OK) goto end;
        status = rel_list(&st);
        goto end;
    }
    status = AJ_EXIT_FAILURE;
    if (!st.found) {
        fprintf(stderr, "ajuste release: no invoice '%s' on the review output %s (--list shows the held ones)\n", id,
                review_input);
        goto end;
    }
    if (st.found_status != AJ_INV_HELD) {
        fprintf(stderr, "ajuste release: %s on %s is %s, not HELD\n", id, review_input,
                aj_invoice_status_name(st.found_status));
        goto end;
    }
    aj_invoice inv;
    if ((rc = aj_decode_invoice(st.target_writer, st.target.data, st.target.len, &inv)) != AJ_E_OK) {
        fprintf(stderr, "ajuste release: %s cannot be decoded again: %s\n", id, aj_err_str(rc));
        goto end;
    }
    if (!dir) {
        /* The producer first: its transactional id (one per account and cycle) fences any
         * other release of this invoice still running, then the check sees what it committed. */
        char txn[AJ_ID_LEN + 32];
        snprintf(txn, sizeof(txn), "ajuste-release-%s-%s", inv.account, inv.cycle_id);
        if (!(sink = aj_kafka_sink_create_txn(&cfg, txn, &rc, err, sizeof(err)))) {
            fprintf(stderr, "ajuste release: %s\n", err);
            status = rc == AJ_E_CONFIG ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
            aj_invoice_release(&inv);
            goto end;
        }
    }
    if ((status = rel_read(invoice_input, !dir, &cfg, rel_on_invoice, &st, 1)) != AJ_EXIT_OK) {
        aj_invoice_release(&inv);
        goto end;
    }
    status = AJ_EXIT_FAILURE;
    if (st.emitted[0]) {
        fprintf(stderr, "ajuste release: %s was already released: %s is on %s; nothing written\n", id, st.emitted,
                invoice_input);
        aj_invoice_release(&inv);
        goto end;
    }
    aj_bytes out = {0};
    aj_out_encoder *enc = aj_out_encoder_create();
    rc = enc ? aj_invoice_review_release(&inv, flag ? AJ_RELEASE_FLAG : AJ_RELEASE_AS_IS, reviewer, note) : AJ_E_NOMEM;
    if (rc == AJ_E_OK) rc = aj_encode_invoice(enc, &inv, &out);
    aj_out_encoder_destroy(enc);
    if (rc != AJ_E_OK) {
        fprintf(stderr, "ajuste release: %s cannot be released: %s\n", id, aj_err_str(rc));
    } else {
        if (dir) {
            status = rel_write_file(dir, &st, &out);
        } else {
            status = rel_write_topic(sink, &inv, &out, &st);
            sink = NULL;
        }
        if (status == AJ_EXIT_OK) {
            char a[40];
            printf("%s released %s: %s written to %s, amount due %s %s\n", id,
                   flag ? "with its corrections flagged" : "as it is", inv.invoice_id, invoice_input,
                   aj_money_format(inv.amount_due, inv.decimals, a, sizeof(a)), inv.currency);
        }
    }
    aj_bytes_free(&out);
    aj_invoice_release(&inv);
end:
    if (sink) sink->ops->abort(sink);
    if (lock_fd >= 0) close(lock_fd);   /* releases the lock */
    rel_state_free(&st);
    if (have_cfg) aj_config_free(&cfg);
    aj_schemas_shutdown();
    return status;
}
