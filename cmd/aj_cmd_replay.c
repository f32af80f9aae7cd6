/* aj_cmd_replay.c - `ajuste replay`: re-rate a range of the usage log against a contract snapshot and diff it against a baseline. */
#define _XOPEN_SOURCE 700   /* strptime */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aj_cmd.h"
#include "aj_log.h"
#include "aj_map.h"
#include "aj_policy.h"
#include "aj_replay.h"

#define RP_TIMEOUT_MS 60000
#define RP_MAX_PARTS 4096
#define RP_MAX_SETS 64

static volatile sig_atomic_t rp_stop;

static void replay_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste replay [--config FILE] [--set KEY=VALUE]... [RANGE] [CONTRACTS] [OUTPUT] [BASELINE]\n"
            "                     [--json | --csv] [--html FILE] [--top N] [--fail-on-diff] [-q]\n\n"
            "Re-rates a range of the usage topic (or an Avro usage file) through the same stages as\n"
            "`ajuste run`, against a contract snapshot, and prints what changes against a baseline:\n"
            "records whose charge changes, invoices whose amount due changes, by reason, by service and\n"
            "zone, the largest changes and the records that change reason. It joins no consumer group and\n"
            "commits nothing; it writes only where --out or --out-topic-prefix says (docs/replay.md).\n\n"
            "Range (Kafka; the configuration's input.usage_topic and kafka.* keys):\n"
            "  --partitions LIST     e.g. 3-5 or 0,2,7 (default: every partition)\n"
            "  --from-offset X       first offset read in each partition (default: the log start)\n"
            "  --warm-up             first rate each partition from the log start up to the range, its\n"
            "                        outputs discarded: the accounts' state (allowances, tiers, open\n"
            "                        cycles) is then production's at the range start (docs/replay.md)\n"
            "  --to-offset Y         first offset NOT read (default: the log end at start-up)\n"
            "  --from-time T, --to-time T  the same by message timestamp (T: epoch milliseconds or\n"
            "                        YYYY-MM-DDTHH:MM:SS[.mmm]Z), mapped to offsets by the broker\n"
            "  --usage FILE          an Avro usage file instead (as `ajuste gen` writes)\n"
            "  --credits FILE        with --usage: its dispute credits (with Kafka, input.credit_topic)\n"
            "An offset beyond the log end, or before its start, is an error naming topic[partition].\n\n"
            "Contracts (default: the whole contract topic now):\n"
            "  --contracts-at T|OFFSET  the contract topic as it was: messages before OFFSET, or with a\n"
            "                        timestamp <= T\n"
            "  --contracts FILE      an Avro contracts file (a candidate contract under test)\n"
            "  --accounts LIST       replay only these accounts (comma-separated, or @FILE one a line)\n\n"
            "Output (default: none, only the diff):\n"
            "  --out DIR             Avro files as `ajuste rate` writes them (complete only once\n"
            "                        renamed from *.partial at the end; an interrupted replay leaves none)\n"
            "  --out-topic-prefix P  topics P<output topic> (e.g. replay.corrections); a name equal to a\n"
            "                        production topic is refused unless --force\n"
            "  --force               allow writing into production topic names\n\n"
            "Baseline (default with Kafka input: the configuration's output.correction_topic, only the\n"
            "corrections of records in the range, and the invoice and review topics):\n"
            "  --baseline PATH       corrections.avro, or a directory holding one with invoices.avro and\n"
            "                        review.avro (`ajuste rate` or `ajuste replay --out` output)\n"
            "  --baseline-topic T    a corrections topic\n"
            "  --baseline-db CONNINFO  the PostgreSQL audit log (`ajuste audit sink`), read-only; its\n"
            "                        corrections of the usage topic (invoices are not compared)\n"
            "  --no-diff             no baseline, no diff\n\n"
            "Report: text on stdout, or --json / --csv (one row per changed record); --html FILE a page\n"
            "with the tables and a chart of the money moved by reason. Amounts are exact micro-units.\n"
            "  --top N               largest changes listed (default 20)\n"
            "  --fail-on-diff        exit 3 when a record or an invoice's amount due changes (a health\n"
            "                        check)\n"
            "  -q, --quiet           no progress bar, no summary on stderr\n"
            "  -h, --help            this help\n\n"
            "A progress bar (records/s, ETA by offsets) goes to stderr when it is a terminal. SIGINT or\n"
            "SIGTERM stop the replay: it reports how far each partition got, removes its partial files\n"
            "and exits 1. Exit: 0 done, 1 failed or interrupted, 2 bad command line or range, 3 a diff\n"
            "with --fail-on-diff.\n");
}

/* ------------------------------------------------------------------ parsing */

/* "3-5", "0,2,7-9" into parts (at most cap). -1 with a message on a bad list. */
static int rp_parse_partitions(const char *s, int32_t *parts, size_t cap, size_t *n) {
    const char *p = s;
    *n = 0;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b;
        if (end == p || a < 0 || a > INT32_MAX) goto bad;
        b = a;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
            if (end == p || b < a || b > INT32_MAX) goto bad;
        }
        for (long i = a; i <= b; i++) {
            if (*n == cap) goto bad;
            parts[(*n)++] = (int32_t)i;
        }
        if (*end == ',') end++;
        else if (*end) goto bad;
        p = end;
    }
    if (*n) return 0;
bad:
    fprintf(stderr, "ajuste replay: --partitions expects a list such as 3-5 or 0,2,7 (at most %zu), got '%s'\n", cap,
            s);
    return -1;
}

/* Epoch milliseconds, or YYYY-MM-DDTHH:MM:SS[.mmm]Z (UTC). -1 on anything else. */
static int rp_parse_time(const char *s, int64_t *ms) {
    struct tm tm;
    char *end;
    int frac = 0;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!errno && end != s && !*end && v >= 0) {
        *ms = v;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) return -1;
    if (*end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++, digits++)
            if (digits < 3) frac = frac * 10 + (*end - '0');
        if (!digits) return -1;
        for (; digits < 3; digits++) frac *= 10;
    }
    if (strcmp(end, "Z") != 0) return -1;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

static int rp_bad_time(const char *flag, const char *s) {
    fprintf(stderr, "ajuste replay: %s expects epoch milliseconds or YYYY-MM-DDTHH:MM:SS[.mmm]Z, got '%s'\n", flag, s);
    return AJ_EXIT_USAGE;
}

/* Adds every account of LIST (comma-separated, or @FILE one a line) to m. -1 with a message. */
static int rp_parse_accounts(const char *list, aj_map *m) {
    char line[256];
    if (list[0] == '@') {
        FILE *f = fopen(list + 1, "r");
        if (!f) {
            fprintf(stderr, "ajuste replay: --accounts %s: %s\n", list, strerror(errno));
            return -1;
        }
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] && aj_map_put(m, line, strlen(line), (void *)1, NULL) != AJ_E_OK) {
                fclose(f);
                return -1;
            }
        }
        fclose(f);
    } else {
        for (const char *p = list; *p;) {
            size_t n = strcspn(p, ",");
            if (n && aj_map_put(m, p, n, (void *)1, NULL) != AJ_E_OK) return -1;
            p += n;
            if (*p) p++;
        }
    }
    if (aj_map_size(m)) return 0;
    fprintf(stderr, "ajuste replay: --accounts names no account ('%s')\n", list);
    return -1;
}

/* ------------------------------------------------------------------ account filter */

/* A source that hands on only the messages of the chosen accounts (by key, else decoded). */
typedef struct rp_filter {
    aj_source base;
    aj_source *inner;
    const aj_map *accounts;
    aj_decoder *dec;
    int64_t skipped;
} rp_filter;

static int rp_account_wanted(rp_filter *f, const aj_message *m) {
    char detail[64];
    aj_event ev;
    if (m->key && m->key_len) return aj_map_get(f->accounts, m->key, m->key_len) != NULL;
    aj_err rc = m->writer ? aj_decode_event(f->dec, m->writer, m->value, m->value_len, &ev, detail, sizeof(detail))
                          : aj_decode_event_message(f->dec, m->value, m->value_len, &ev, detail, sizeof(detail));
    if (rc != AJ_E_OK) return 0;   /* whose it is cannot be told: not replayed */
    const char *acct = aj_event_account(&ev);
    return acct && aj_map_get(f->accounts, acct, strlen(acct)) != NULL;
}

static aj_err rp_filter_next(aj_source *src, aj_message *msg, int timeout_ms) {
    rp_filter *f = (rp_filter *)src;
    for (;;) {
        aj_err rc = aj_source_next(f->inner, msg, timeout_ms);
        if (rc != AJ_E_OK && !aj_err_is_reject(rc)) return rc;
        if (rc == AJ_E_OK && rp_account_wanted(f, msg)) return AJ_E_OK;
        f->skipped++;
        if (rp_stop) return AJ_E_RETRY;
    }
}

static aj_err rp_filter_commit(aj_source *src) {
    return aj_source_commit(((rp_filter *)src)->inner);
}

static void rp_filter_destroy(aj_source *src) {
    rp_filter *f = (rp_filter *)src;
    aj_decoder_destroy(f->dec);
    free(f);   /* the inner source is the caller's */
}

static const aj_source_ops rp_filter_ops = {rp_filter_next, rp_filter_commit, rp_filter_destroy};

/* ------------------------------------------------------------------ sinks */

/* Forwards every output to the inner sink (NULL: discards them) and keeps a copy of each
 * correction datum, and of each invoice datum (held ones included), as a 4-byte length and the
 * bytes, in *corrections and *invoices, for the diff. */
typedef struct rp_tee {
    aj_sink base;
    aj_sink *inner;
    aj_bytes *corrections, *invoices;
    const int *warming;   /* while set, outputs are discarded (--warm-up) */
} rp_tee;

static aj_err rp_keep(aj_bytes *b, const void *datum, size_t len) {
    uint32_t n = (uint32_t)len;
    if (len > UINT32_MAX || aj_bytes_reserve(b, sizeof(n) + len) != AJ_E_OK) return AJ_E_NOMEM;
    memcpy(b->data + b->len, &n, sizeof(n));
    memcpy(b->data + b->len + sizeof(n), datum, len);
    b->len += sizeof(n) + len;
    return AJ_E_OK;
}

static aj_err rp_tee_write(aj_sink *sink, aj_output_kind kind, const char *key, const void *datum, size_t len) {
    rp_tee *t = (rp_tee *)sink;
    aj_err rc = AJ_E_OK;
    if (*t->warming) return AJ_E_OK;
    if (kind == AJ_OUT_CORRECTION) rc = rp_keep(t->corrections, datum, len);
    else if (kind == AJ_OUT_INVOICE || kind == AJ_OUT_REVIEW) rc = rp_keep(t->invoices, datum, len);
    if (rc != AJ_E_OK) return rc;
    return t->inner ? t->inner->ops->write(t->inner, kind, key, datum, len) : AJ_E_OK;
}

static aj_err rp_tee_flush(aj_sink *sink, int timeout_ms) {
    rp_tee *t = (rp_tee *)sink;
    return t->inner ? t->inner->ops->flush(t->inner, timeout_ms) : AJ_E_OK;
}

static aj_err rp_tee_close(aj_sink *sink) {
    rp_tee *t = (rp_tee *)sink;
    aj_err rc = t->inner ? t->inner->ops->close(t->inner) : AJ_E_OK;
    free(t);
    return rc;
}

static void rp_tee_abort(aj_sink *sink) {
    rp_tee *t = (rp_tee *)sink;
    if (t->inner) t->inner->ops->abort(t->inner);
    free(t);
}

static const aj_sink_ops rp_tee_ops = {rp_tee_write, rp_tee_flush, rp_tee_close, rp_tee_abort, NULL};

/* ------------------------------------------------------------------ the run */

typedef struct rp_ctx {
    aj_source *range;            /* the Kafka range source (progress), or NULL */
    const aj_kafka_range *ranges;
    size_t n_ranges;
    const char *usage_topic;     /* Kafka input: the topic the ranges are of */
    const aj_map *accounts;      /* NULL: every account */
    aj_diff *diff;
    int64_t started_ms;
    int64_t baseline_read, baseline_kept;
    int warming;                 /* --warm-up: the message being handled is before the range */
    int64_t warmed;              /* messages handled to warm up */
} rp_ctx;

/* ------------------------------------------------------------------ warm-up */

/* --warm-up: hands on the messages of the extended ranges, telling the tee (x->warming) which
 * ones lie before the range asked for: their outputs are the state's making, not the replay's. */
typedef struct rp_warm {
    aj_source base;
    aj_source *inner;
    rp_ctx *x;
} rp_warm;

static aj_err rp_warm_next(aj_source *src, aj_message *msg, int timeout_ms) {
    rp_warm *w = (rp_warm *)src;
    aj_err rc = aj_source_next(w->inner, msg, timeout_ms);
    w->x->warming = 0;
    if (rc != AJ_E_OK && !aj_err_is_reject(rc)) return rc;
    for (size_t i = 0; i < w->x->n_ranges; i++)
        if (w->x->ranges[i].partition == msg->pos.partition && msg->pos.offset < w->x->ranges[i].from) {
            w->x->warming = 1;
            w->x->warmed++;
        }
    return rc;
}

static aj_err rp_warm_commit(aj_source *src) {
    return aj_source_commit(((rp_warm *)src)->inner);
}

static void rp_warm_destroy(aj_source *src) {
    free(src);   /* the inner source is the caller's */
}

static const aj_source_ops rp_warm_ops = {rp_warm_next, rp_warm_commit, rp_warm_destroy};

/* records/s and an ETA by offsets, on stderr when it is a terminal. */
static void rp_progress(void *opaque, const aj_pipeline_stats *st) {
    rp_ctx *x = opaque;
    int64_t now = aj_now_ms(), secs = (now - x->started_ms) / 1000, done = 0, total = 0;
    if (!isatty(STDERR_FILENO)) return;
    if (secs < 1) secs = 1;
    fprintf(stderr, "\r  %lld records, %lld records/s", (long long)st->records_in, (long long)(st->records_in / secs));
    if (x->range) {
        aj_kafka_range_source_progress(x->range, &done, &total);
        int pct = total ? (int)(done * 100 / total) : 100;
        int bar = pct / 5;
        fprintf(stderr, "  [%.*s%.*s] %3d%%", bar, "####################", 20 - bar, "                    ", pct);
        if (done > 0 && total > done)
            fprintf(stderr, "  ETA %llds", (long long)((total - done) * (now - x->started_ms) / done / 1000));
    }
    fputs("   ", stderr);
    fflush(stderr);
}

/* Whether a baseline correction is of a record this replay read. */
static int rp_in_replay(const rp_ctx *x, const aj_correction *c) {
    if (x->accounts && !aj_map_get(x->accounts, c->account, strlen(c->account))) return 0;
    if (!x->usage_topic) return 1;   /* file input: the baseline is of the same file */
    if (!c->source.origin || strcmp(c->source.origin, x->usage_topic) != 0) return 0;
    for (size_t i = 0; i < x->n_ranges; i++)
        if (x->ranges[i].partition == c->source.partition && c->source.offset >= x->ranges[i].from &&
            c->source.offset < x->ranges[i].to)
            return 1;
    return 0;
}

/* A baseline correction, when it is of a record this replay read. */
static aj_err rp_baseline_correction(void *opaque, const aj_correction *c) {
    rp_ctx *x = opaque;
    x->baseline_read++;
    if (!rp_in_replay(x, c)) return AJ_E_OK;
    x->baseline_kept++;
    return aj_diff_add(x->diff, 0, c);
}

/* An invoice of the baseline (the audit log's headers), of the chosen accounts. */
static aj_err rp_baseline_invoice(void *opaque, const aj_invoice *inv) {
    rp_ctx *x = opaque;
    if (x->accounts && !aj_map_get(x->accounts, inv->account, strlen(inv->account))) return AJ_E_OK;
    return aj_diff_add_invoice(x->diff, 0, inv);
}

/* One datum of a side: a correction (the baseline's only when of a record this replay read) or
 * an invoice (of the chosen accounts). */
static aj_err rp_datum(rp_ctx *x, int side, const aj_schema *writer, const void *datum, size_t len) {
    char origin[256];
    aj_err rc;

    if (writer->id == AJ_SCHEMA_CORRECTION) {
        aj_correction c;
        if ((rc = aj_decode_correction(writer, datum, len, &c, origin, sizeof(origin))) != AJ_E_OK) return rc;
        return side == 1 ? aj_diff_add(x->diff, 1, &c) : rp_baseline_correction(x, &c);
    }
    if (writer->id != AJ_SCHEMA_INVOICE) return AJ_E_WRONG_SCHEMA;
    aj_invoice inv;
    memset(&inv, 0, sizeof(inv));
    if ((rc = aj_decode_invoice(writer, datum, len, &inv)) == AJ_E_OK &&
        (!x->accounts || aj_map_get(x->accounts, inv.account, strlen(inv.account))))
        rc = aj_diff_add_invoice(x->diff, side, &inv);
    aj_invoice_release(&inv);
    return rc;
}

/* One message of a baseline topic: single-object header, then a correction or an invoice. */
static aj_err rp_baseline_message(void *opaque, const aj_message *m) {
    uint64_t fp;
    const aj_schema *s;
    aj_err rc = AJ_E_WRONG_SCHEMA;
    if (aj_som_parse(m->value, m->value_len, &fp) != AJ_E_OK || !(s = aj_schema_by_fingerprint(fp)) ||
        (rc = rp_datum(opaque, 0, s, (const uint8_t *)m->value + AJ_SOM_HEADER_LEN, m->value_len - AJ_SOM_HEADER_LEN)) !=
            AJ_E_OK)
        aj_error("replay", "%s[%d]@%lld: not a correction or an invoice that decodes (%s)", m->pos.origin,
                 (int)m->pos.partition, (long long)m->pos.offset, aj_err_name(rc));
    return rc;
}

/* The baseline from PATH (a corrections file), or from a directory's corrections.avro,
 * invoices.avro and review.avro (the last two when present). AJ_E_OK or err set. */
static aj_err rp_baseline_files(rp_ctx *x, const char *path, char *err, size_t errlen) {
    static const char *const names[] = {"corrections.avro", "invoices.avro", "review.avro"};
    char buf[4096];
    struct stat st;
    int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);

    for (size_t i = 0; i < (dir ? sizeof(names) / sizeof(names[0]) : 1); i++) {
        const char *p = dir ? aj_path(buf, sizeof(buf), path, names[i]) : path;
        aj_message m;
        aj_err rc;
        aj_source *src;
        if (i > 0 && access(p, R_OK) != 0) continue;
        if (!(src = aj_file_source_open(p, &rc, err, errlen))) return rc;
        while ((rc = aj_source_next(src, &m, 0)) == AJ_E_OK)
            if ((rc = rp_datum(x, 0, m.writer, m.value, m.value_len)) != AJ_E_OK) break;
        aj_source_destroy(src);
        if (rc != AJ_E_EOF) {
            snprintf(err, errlen, "baseline %s: %s", p, aj_err_str(rc));
            return rc;
        }
    }
    return AJ_E_OK;
}

/* The replay's own outputs of one schema, as captured by the tee. */
static aj_err rp_replay_side(rp_ctx *x, aj_schema_id id, const aj_bytes *b) {
    const aj_schema *s = aj_schema_current(id);
    size_t at = 0;
    while (at + 4 <= b->len) {
        uint32_t n;
        aj_err rc;
        memcpy(&n, b->data + at, sizeof(n));
        at += sizeof(n);
        if ((rc = rp_datum(x, 1, s, b->data + at, n)) != AJ_E_OK) return rc;
        at += n;
    }
    return AJ_E_OK;
}

/* Contracts from the contract topic up to bound (AJ_BOUND_EDGE: now). Bad ones are logged and
 * counted, never dead-lettered (as `ajuste run` reads them). */
static aj_err rp_load_contract_topic(const aj_config *cfg, aj_pipeline *p, const aj_range_bound *to, char *err,
                                     size_t errlen) {
    aj_range_spec spec = {NULL, 0, {AJ_BOUND_EDGE, 0}, *to};
    aj_kafka_range *r = NULL;
    size_t n = 0;
    aj_source *src = NULL;
    aj_decoder *dec = aj_decoder_create();
    aj_message m;
    int64_t read = 0, refused = 0;
    aj_err rc = AJ_E_NOMEM;

    if (!dec) goto end;
    if ((rc = aj_kafka_resolve_ranges(cfg, cfg->contract_topic, &spec, RP_TIMEOUT_MS, &r, &n, err, errlen)) != AJ_E_OK)
        goto end;
    if (!(src = aj_kafka_range_source_create(cfg, cfg->contract_topic, r, n, RP_TIMEOUT_MS, &rc, err, errlen))) goto end;
    while ((rc = aj_source_next(src, &m, 1000)) == AJ_E_OK || rc == AJ_E_RETRY) {
        char detail[256] = "";
        aj_contract *c = NULL;
        if (rc == AJ_E_RETRY) continue;
        aj_err drc = aj_decode_contract_message(dec, m.value, m.value_len, &c, detail, sizeof(detail));
        if (drc == AJ_E_NOMEM) {
            rc = drc;
            goto end;
        }
        if (drc != AJ_E_OK) {
            refused++;
            aj_warn("replay", "contract at %s[%d]@%lld refused: %s%s%s", m.pos.origin, (int)m.pos.partition,
                    (long long)m.pos.offset, aj_err_name(drc), detail[0] ? ": " : "", detail);
            continue;
        }
        read++;
        if ((rc = aj_pipeline_add_contract(p, c)) != AJ_E_OK) goto end;
    }
    if (rc == AJ_E_EOF) rc = AJ_E_OK;
    else snprintf(err, errlen, "reading contracts from %s: %s (see the errors above)", cfg->contract_topic, aj_err_str(rc));
    aj_info("replay", "%lld contract versions read from %s (%lld refused)", (long long)read, cfg->contract_topic,
            (long long)refused);
end:
    aj_source_destroy(src);
    aj_decoder_destroy(dec);
    free(r);
    return rc;
}

/* Writes the HTML report to path.partial, then renames it. */
static int rp_write_html(const aj_diff *d, const char *path, size_t top, const char *title) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "ajuste replay: --html %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    aj_diff_print_html(d, f, top, title);
    if (ferror(f) | fclose(f) || rename(tmp, path) != 0) {
        fprintf(stderr, "ajuste replay: --html %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Output topics: prefix + each production output topic, none equal to a production topic
 * unless forced. Sets cfg's output topics. AJ_E_CONFIG with err. */
static aj_err rp_output_topics(aj_config *cfg, const char *prefix, int force, char *err, size_t errlen) {
    const char *keys[] = {"output.invoice_topic", "output.correction_topic", "output.dead_letter_topic",
                          "output.review_topic"};
    char *prod[] = {cfg->usage_topic,  cfg->contract_topic, cfg->invoice_topic,   cfg->correction_topic,
                    cfg->dead_letter_topic, cfg->review_topic, cfg->credit_topic, cfg->checkpoint_topic};
    char *names[4];
    char *mine[] = {cfg->invoice_topic, cfg->correction_topic, cfg->dead_letter_topic, cfg->review_topic};
    aj_err rc = AJ_E_OK;

    memset(names, 0, sizeof(names));
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(prefix) + strlen(mine[i]) + 1;
        if (!(names[i] = malloc(n))) {
            rc = AJ_E_NOMEM;
            goto end;
        }
        snprintf(names[i], n, "%s%s", prefix, mine[i]);
        for (size_t k = 0; k < sizeof(prod) / sizeof(prod[0]) && !force; k++)
            if (prod[k] && prod[k][0] && strcmp(names[i], prod[k]) == 0) {
                snprintf(err, errlen, "refusing to write replay outputs into production topic '%s' (%s); choose "
                         "another --out-topic-prefix, or add --force", names[i], keys[i]);
                rc = AJ_E_CONFIG;
                goto end;
            }
    }
    for (size_t i = 0; i < 4 && rc == AJ_E_OK; i++) rc = aj_config_set(cfg, keys[i], names[i], err, errlen);
end:
    for (size_t i = 0; i < 4; i++) free(names[i]);
    return rc;
}

int aj_cmd_replay(int argc, char **argv) {
    enum { O_FROM_OFF = 256, O_TO_OFF, O_FROM_T, O_TO_T, O_CAT, O_TPFX, O_FORCE, O_BASE, O_BTOPIC, O_NODIFF,
           O_JSON, O_CSV, O_HTML, O_TOP, O_FAIL, O_ACCTS, O_PARTS, O_USAGE, O_CREDITS, O_BDB, O_WARM };
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},        {"set", required_argument, 0, 's'},
        {"partitions", required_argument, 0, O_PARTS}, {"from-offset", required_argument, 0, O_FROM_OFF},
        {"to-offset", required_argument, 0, O_TO_OFF}, {"from-time", required_argument, 0, O_FROM_T},
        {"to-time", required_argument, 0, O_TO_T},     {"usage", required_argument, 0, O_USAGE},
        {"credits", required_argument, 0, O_CREDITS},  {"contracts", required_argument, 0, 'k'},
        {"contracts-at", required_argument, 0, O_CAT}, {"accounts", required_argument, 0, O_ACCTS},
        {"out", required_argument, 0, 'o'},           {"out-topic-prefix", required_argument, 0, O_TPFX},
        {"force", no_argument, 0, O_FORCE},           {"baseline", required_argument, 0, O_BASE},
        {"baseline-topic", required_argument, 0, O_BTOPIC}, {"no-diff", no_argument, 0, O_NODIFF},
        {"baseline-db", required_argument, 0, O_BDB}, {"warm-up", no_argument, 0, O_WARM},
        {"json", no_argument, 0, O_JSON},             {"csv", no_argument, 0, O_CSV},
        {"html", required_argument, 0, O_HTML},       {"top", required_argument, 0, O_TOP},
        {"fail-on-diff", no_argument, 0, O_FAIL},     {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0},
    };
    const char *config_path = NULL, *usage = NULL, *credits_file = NULL, *contracts_file = NULL, *contracts_at = NULL,
               *accounts_arg = NULL, *out_dir = NULL, *topic_prefix = NULL, *baseline = NULL, *baseline_topic = NULL, *baseline_db = NULL,
               *html = NULL;
    char *sets[RP_MAX_SETS];
    char err[1024] = "";
    int32_t parts[RP_MAX_PARTS];
    size_t n_parts = 0;
    int n_sets = 0, c, force = 0, no_diff = 0, json = 0, csv = 0, fail_on_diff = 0, quiet = 0, warm_up = 0,
        status = AJ_EXIT_FAILURE, have_config = 0;
    int64_t top = 20, v;
    int bounds[2] = {0, 0};   /* --from-* and --to-* flags given */
    aj_range_spec spec = {NULL, 0, {AJ_BOUND_EDGE, 0}, {AJ_BOUND_EDGE, 0}};
    aj_range_bound contracts_to = {AJ_BOUND_EDGE, 0};
    aj_config cfg;
    aj_map *accounts = NULL;
    aj_contract_store *store = NULL;
    aj_source *src = NULL, *input = NULL, *warm_src = NULL;
    aj_sink *out = NULL, *sink = NULL;
    aj_pipeline *p = NULL;
    aj_kafka_follower *credits = NULL;
    aj_kafka_range *ranges = NULL, *warm = NULL;
    size_t n_ranges = 0;
    aj_bytes captured = {0}, captured_inv = {0};
    rp_ctx x;
    aj_err rc = AJ_E_OK;
    aj_log_level level;

    memset(&x, 0, sizeof(x));
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 's':
            if (n_sets == RP_MAX_SETS) {
                fprintf(stderr, "ajuste replay: at most %d --set flags\n", RP_MAX_SETS);
                return AJ_EXIT_USAGE;
            }
            sets[n_sets++] = optarg;
            break;
        case O_PARTS:
            if (rp_parse_partitions(optarg, parts, RP_MAX_PARTS, &n_parts) != 0) return AJ_EXIT_USAGE;
            break;
        case O_FROM_OFF:
        case O_TO_OFF:
            bounds[c == O_TO_OFF]++;
            if (aj_parse_count(c == O_FROM_OFF ? "--from-offset" : "--to-offset", optarg, &v) != 0) return AJ_EXIT_USAGE;
            *(c == O_FROM_OFF ? &spec.from : &spec.to) = (aj_range_bound){AJ_BOUND_OFFSET, v};
            break;
        case O_FROM_T:
        case O_TO_T:
            bounds[c == O_TO_T]++;
            if (rp_parse_time(optarg, &v) != 0) return rp_bad_time(c == O_FROM_T ? "--from-time" : "--to-time", optarg);
            *(c == O_FROM_T ? &spec.from : &spec.to) = (aj_range_bound){AJ_BOUND_TIME, v};
            break;
        case O_CAT:
            contracts_at = optarg;
            if (strchr(optarg, 'T')) {
                if (rp_parse_time(optarg, &v) != 0) return rp_bad_time("--contracts-at", optarg);
                /* "as of T": every message with a timestamp <= T, i.e. before the first > T. */
                contracts_to = (aj_range_bound){AJ_BOUND_TIME, v + 1};
            } else {
                if (aj_parse_count("--contracts-at", optarg, &v) != 0) return AJ_EXIT_USAGE;
                contracts_to = (aj_range_bound){AJ_BOUND_OFFSET, v};
            }
            break;
        case O_USAGE: usage = optarg; break;
        case O_CREDITS: credits_file = optarg; break;
        case 'k': contracts_file = optarg; break;
        case O_ACCTS: accounts_arg = optarg; break;
        case 'o': out_dir = optarg; break;
        case O_TPFX: topic_prefix = optarg; break;
        case O_FORCE: force = 1; break;
        case O_BASE: baseline = optarg; break;
        case O_BTOPIC: baseline_topic = optarg; break;
        case O_BDB: baseline_db = optarg; break;
        case O_NODIFF: no_diff = 1; break;
        case O_JSON: json = 1; break;
        case O_CSV: csv = 1; break;
        case O_HTML: html = optarg; break;
        case O_TOP:
            if (aj_parse_count("--top", optarg, &top) != 0) return AJ_EXIT_USAGE;
            break;
        case O_FAIL: fail_on_diff = 1; break;
        case O_WARM: warm_up = 1; break;
        case 'q': quiet = 1; break;
        case 'h': replay_usage(stdout); return AJ_EXIT_OK;
        default: replay_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ajuste replay: unexpected argument '%s'\n", argv[optind]);
        return AJ_EXIT_USAGE;
    }
    /* Combinations that cannot mean anything. */
    const char *conflict = NULL;
    if (usage && (n_parts || spec.from.kind != AJ_BOUND_EDGE || spec.to.kind != AJ_BOUND_EDGE))
        conflict = "--usage reads a whole file: --partitions, --from-* and --to-* are for the Kafka topic";
    else if (bounds[0] > 1 || bounds[1] > 1)
        conflict = "one --from-offset or --from-time, and one --to-offset or --to-time, at most";
    else if (contracts_file && contracts_at) conflict = "--contracts and --contracts-at both choose the contracts";
    else if (out_dir && topic_prefix) conflict = "--out and --out-topic-prefix: choose one output";
    else if (json && csv) conflict = "--json and --csv: choose one report format";
    else if (!!baseline + !!baseline_topic + !!baseline_db > 1)
        conflict = "--baseline, --baseline-topic and --baseline-db: choose one baseline";
    else if (no_diff && (baseline || baseline_topic || baseline_db || json || csv || html || fail_on_diff))
        conflict = "--no-diff takes no baseline and makes no report";
    else if (usage && topic_prefix) conflict = "--out-topic-prefix needs the Kafka configuration; use --out with --usage";
    else if (usage && !baseline && !baseline_db && !no_diff)
        conflict = "--usage needs --baseline PATH or --baseline-db (or --no-diff)";
    else if (credits_file && !usage) conflict = "--credits goes with --usage (with Kafka, input.credit_topic is read)";
    else if (warm_up && usage) conflict = "--warm-up is for a range of the Kafka topic; --usage reads its file whole";
    if (conflict) {
        fprintf(stderr, "ajuste replay: %s\n", conflict);
        return AJ_EXIT_USAGE;
    }
    spec.parts = n_parts ? parts : NULL;
    spec.n_parts = n_parts;

    if (aj_config_init(&cfg) != AJ_E_OK) return AJ_EXIT_FAILURE;
    have_config = 1;
    if ((rc = aj_config_from_cli(&cfg, config_path, sets, n_sets, err, sizeof(err))) != AJ_E_OK) goto usage;
    if (quiet && aj_log_parse_level(cfg.log_level, &level) == 0 && level > AJ_LOG_WARN) aj_log_set_level(AJ_LOG_WARN);
    int kafka_needed = !usage || !contracts_file || baseline_topic;
    if (kafka_needed && !aj_config_kafka_get(&cfg, "bootstrap.servers")) {
        snprintf(err, sizeof(err), "kafka.bootstrap.servers is not set (--config, AJUSTE_KAFKA_BOOTSTRAP_SERVERS or "
                 "--set); or replay files: --usage F --contracts F --baseline PATH");
        goto usage;
    }
    if (accounts_arg) {
        if (!(accounts = aj_map_create())) goto end;
        if (rp_parse_accounts(accounts_arg, accounts) != 0) {
            status = AJ_EXIT_USAGE;
            goto end;
        }
    }
    if (topic_prefix && (rc = rp_output_topics(&cfg, topic_prefix, force, err, sizeof(err))) != AJ_E_OK) goto usage;
    if (aj_schemas_init() != AJ_E_OK) goto end;

    aj_stop_on_signals(&rp_stop);

    /* The input first: a bad range is the commonest mistake and costs nothing to find. */
    if (!usage) {
        if ((rc = aj_kafka_resolve_ranges(&cfg, cfg.usage_topic, &spec, RP_TIMEOUT_MS, &ranges, &n_ranges, err,
                                          sizeof(err))) != AJ_E_OK)
            goto usage_or_fail;
        if (!quiet)
            for (size_t i = 0; i < n_ranges; i++)
                fprintf(stderr, "replay: %s[%d] offsets %lld..%lld (%lld records; the log holds %lld..%lld)\n",
                        cfg.usage_topic, (int)ranges[i].partition, (long long)ranges[i].from,
                        (long long)ranges[i].to - 1, (long long)(ranges[i].to - ranges[i].from),
                        (long long)ranges[i].low, (long long)ranges[i].high - 1);
        /* --warm-up: each partition read from its log start; what lies before the range only
         * builds the state (rp_warm, the tee discards its outputs). */
        if (warm_up) {
            if (!(warm = malloc(n_ranges * sizeof(*warm)))) goto end;
            for (size_t i = 0; i < n_ranges; i++) {
                warm[i] = ranges[i];
                warm[i].from = ranges[i].low;
                if (!quiet && ranges[i].from > ranges[i].low)
                    fprintf(stderr, "replay: %s[%d] offsets %lld..%lld first, to warm up (outputs discarded)\n",
                            cfg.usage_topic, (int)ranges[i].partition, (long long)ranges[i].low,
                            (long long)ranges[i].from - 1);
            }
        }
        if (!(input = aj_kafka_range_source_create(&cfg, cfg.usage_topic, warm ? warm : ranges, n_ranges,
                                                   RP_TIMEOUT_MS, &rc, err, sizeof(err))))
            goto usage_or_fail;
        x.range = input;
        x.ranges = ranges;
        x.n_ranges = n_ranges;
        x.usage_topic = cfg.usage_topic;
    } else if (!(input = aj_file_source_open(usage, &rc, err, sizeof(err)))) {
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    x.accounts = accounts;
    if (!(x.diff = aj_diff_create()) || !(store = aj_contract_store_create())) goto end;

    /* Outputs: files, replay topics, or nowhere; always through the tee. */
    if (out_dir && !(out = aj_file_sink_open(out_dir, &rc, err, sizeof(err)))) {
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    if (topic_prefix && !(out = aj_kafka_sink_create(&cfg, &rc, err, sizeof(err)))) goto usage_or_fail;
    rp_tee *tee = calloc(1, sizeof(*tee));
    if (!tee) goto end;
    tee->base.ops = &rp_tee_ops;
    tee->inner = out;
    tee->corrections = &captured;
    tee->invoices = &captured_inv;
    tee->warming = &x.warming;
    sink = &tee->base;
    out = NULL;   /* owned by the tee */
    if (!(p = aj_pipeline_create(store, sink))) goto end;
    aj_policy policy;
    if ((rc = aj_policy_from_config(&cfg, &policy, err, sizeof(err))) != AJ_E_OK) goto usage;
    aj_pipeline_set_policy(p, &policy);

    /* The contract snapshot. */
    int bad_path = 0;
    if (contracts_file) {
        if ((rc = aj_load_input_file(p, contracts_file, 0, &bad_path, err, sizeof(err))) != AJ_E_OK) {
            if (bad_path) status = AJ_EXIT_USAGE;
            goto fail;
        }
    } else if ((rc = rp_load_contract_topic(&cfg, p, &contracts_to, err, sizeof(err))) != AJ_E_OK) {
        goto usage_or_fail;
    }
    if (aj_contract_store_versions(store) == 0) {
        snprintf(err, sizeof(err), "no valid contract in the snapshot (%s): every record would be NO_CONTRACT",
                 contracts_file ? contracts_file : cfg.contract_topic);
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    /* Dispute credits, as production reads them. */
    if (credits_file) {
        if ((rc = aj_load_input_file(p, credits_file, 1, &bad_path, err, sizeof(err))) != AJ_E_OK) {
            if (bad_path) status = AJ_EXIT_USAGE;
            goto fail;
        }
    } else if (!usage && cfg.credit_topic[0]) {
        char cerr[512] = "";
        if (!(credits = aj_kafka_follower_create(&cfg, cfg.credit_topic, 10000, &rc, cerr, sizeof(cerr)))) {
            aj_info("replay", "no dispute credits read: %s", cerr);
        } else {
            aj_pipeline_follow_credits(p, credits);
            if ((rc = aj_pipeline_sync_credits(p)) != AJ_E_OK) {
                snprintf(err, sizeof(err), "reading %s: %s", cfg.credit_topic, aj_err_str(rc));
                goto fail;
            }
        }
    }
    if (accounts) {
        rp_filter *f = calloc(1, sizeof(*f));
        if (!f) goto end;
        f->base.ops = &rp_filter_ops;
        f->inner = input;
        f->accounts = accounts;
        if (!(f->dec = aj_decoder_create())) {
            free(f);
            goto end;
        }
        src = &f->base;
    }
    if (warm) {
        rp_warm *w = calloc(1, sizeof(*w));
        if (!w) goto end;
        w->base.ops = &rp_warm_ops;
        w->inner = src ? src : input;
        w->x = &x;
        warm_src = &w->base;
    }

    /* The run: the pipeline of `ajuste run`, over the range. */
    x.started_ms = aj_now_ms();
    aj_run_opts ro = {topic_prefix ? cfg.commit_interval_records : INT64_MAX,
                      topic_prefix ? cfg.commit_interval_ms : INT64_MAX, &rp_stop, quiet ? NULL : rp_progress, &x, 0};
    rc = aj_pipeline_run(p, warm_src ? warm_src : src ? src : input, &ro);
    if (!quiet && isatty(STDERR_FILENO)) fputc('\n', stderr);
    if (rc == AJ_E_INTERRUPTED) {
        const aj_pipeline_stats *st = aj_pipeline_get_stats(p);
        fprintf(stderr, "replay: interrupted after %lld records\n", (long long)st->records_in);
        for (size_t i = 0; i < n_ranges; i++) {
            int64_t next = aj_kafka_range_source_next_offset(input, i);
            if (next < ranges[i].from) {
                fprintf(stderr, "replay: %s[%d] still warming up at offset %lld (the range starts at %lld)\n",
                        cfg.usage_topic, (int)ranges[i].partition, (long long)next, (long long)ranges[i].from);
                continue;
            }
            fprintf(stderr, "replay: %s[%d] read %lld..%lld of %lld..%lld%s\n", cfg.usage_topic,
                    (int)ranges[i].partition, (long long)ranges[i].from, (long long)next - 1,
                    (long long)ranges[i].from, (long long)ranges[i].to - 1,
                    next >= ranges[i].to ? " (complete)" : "");
        }
        if (out_dir) fprintf(stderr, "replay: no output file written (the *.partial files were removed)\n");
        if (topic_prefix)
            fprintf(stderr, "replay: the replay topics hold the outputs of the records read so far only\n");
        snprintf(err, sizeof(err), "interrupted: no result");
        goto fail;
    }
    if (rc != AJ_E_OK) {
        snprintf(err, sizeof(err), "replay stopped: %s (see the errors above)", aj_err_str(rc));
        goto fail;
    }
    rc = sink->ops->close(sink);
    sink = NULL;
    if (rc != AJ_E_OK) {
        snprintf(err, sizeof(err), "outputs could not be written: %s", aj_err_str(rc));
        goto fail;
    }
    if (!quiet) {
        aj_summary_print(stderr, aj_pipeline_get_stats(p), aj_pipeline_adjust_stats(p));
        if (warm)   /* the summary counts every record the pipeline handled */
            fprintf(stderr, "Warm-up:           %lld of these records were read before the range (--warm-up); their "
                    "outputs were discarded\n", (long long)x.warmed);
    }
    if (no_diff) {
        status = AJ_EXIT_OK;
        goto end;
    }

    /* Baseline and diff. */
    if (baseline) {
        if ((rc = rp_baseline_files(&x, baseline, err, sizeof(err))) != AJ_E_OK) goto usage_or_fail;
    } else if (baseline_db) {
        int64_t rows = 0, invoices = 0;
        if ((rc = aj_replay_read_audit_log(baseline_db, x.usage_topic, rp_baseline_correction, rp_baseline_invoice, &x,
                                           &rows, &invoices, err, sizeof(err))) != AJ_E_OK)
            goto usage_or_fail;
    } else {
        /* The corrections topic (or --baseline-topic), then production's invoice and review
         * topics. With --out-topic-prefix, cfg's output topics are the replay's: production's
         * are the names after the prefix. */
        size_t skip = topic_prefix ? strlen(topic_prefix) : 0;
        const char *topics[] = {baseline_topic ? baseline_topic : cfg.correction_topic + skip,
                                cfg.invoice_topic + skip, cfg.review_topic + skip};
        for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
            if (!topics[i][0]) continue;
            rc = aj_kafka_read_topic(&cfg, topics[i], RP_TIMEOUT_MS, rp_baseline_message, &x, NULL, err, sizeof(err));
            if (rc == AJ_E_KAFKA && i > 0) {
                aj_warn("replay", "baseline invoices not compared: %s", err);   /* e.g. no review topic */
                err[0] = '\0';
                continue;
            }
            if (rc != AJ_E_OK) {
                if (!err[0]) snprintf(err, sizeof(err), "baseline topic %s: %s", topics[i], aj_err_str(rc));
                goto usage_or_fail;
            }
        }
    }
    if ((rc = rp_replay_side(&x, AJ_SCHEMA_CORRECTION, &captured)) != AJ_E_OK ||
        (rc = rp_replay_side(&x, AJ_SCHEMA_INVOICE, &captured_inv)) != AJ_E_OK ||
        (rc = aj_diff_finish(x.diff)) != AJ_E_OK) {
        snprintf(err, sizeof(err), "diff: %s", aj_err_str(rc));
        goto fail;
    }
    if (!quiet)
        fprintf(stderr, "replay: baseline %lld corrections read, %lld of records in the replay\n",
                (long long)x.baseline_read, (long long)x.baseline_kept);
    if (json) aj_diff_print_json(x.diff, stdout, (size_t)top);
    else if (csv) aj_diff_print_csv(x.diff, stdout);
    else aj_diff_print_text(x.diff, stdout, (size_t)top);
    if (html && rp_write_html(x.diff, html, (size_t)top, "ajuste replay: what changes") != 0) goto end;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        snprintf(err, sizeof(err), "writing the report: %s", strerror(errno));
        goto fail;
    }
    status = fail_on_diff && (aj_diff_changed(x.diff) > 0 || aj_diff_invoices_changed(x.diff) > 0) ? 3 : AJ_EXIT_OK;
    goto end;
usage_or_fail:
    if (rc != AJ_E_CONFIG && rc != AJ_E_ARG) goto fail;
usage:
    fprintf(stderr, "ajuste replay: %s\n", err);
    status = AJ_EXIT_USAGE;
    goto end;
fail:
    fprintf(stderr, "ajuste replay: %s\n", err[0] ? err : aj_err_str(rc));
end:
    if (warm_src) aj_source_destroy(warm_src);
    if (src && src != input) aj_source_destroy(src);
    aj_source_destroy(input);
    if (sink) sink->ops->abort(sink);   /* a failed or interrupted run: partial files removed */
    if (out) out->ops->abort(out);
    aj_pipeline_destroy(p);
    aj_kafka_follower_destroy(credits);
    aj_contract_store_destroy(store);
    aj_diff_destroy(x.diff);
    aj_map_destroy(accounts, NULL);
    aj_bytes_free(&captured);
    aj_bytes_free(&captured_inv);
    free(ranges);
    free(warm);
    if (have_config) aj_config_free(&cfg);
    aj_schemas_shutdown();
    return status;
}
