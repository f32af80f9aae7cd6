/* aj_audit_sink.c - `ajuste audit sink`: the corrections, invoice and review topics into the
 * audit log, exactly once, hash-chained per partition (docs/audit.md, "The sink"). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "aj_audit.h"
#include "aj_emit.h"
#include "aj_ingest.h"
#include "aj_pg.h"
#include "aj_schema.h"
#include "aj_clock.h"

#define SINK_KAFKA_TIMEOUT_MS 30000
#define SINK_ORIGIN_LEN 256

/* What differs between the tables the sink fills: the batch table and the statements. Each
 * table's COPY columns are its canonical values in order (sink_columns), then prev_hash and
 * row_hash; the batch table has the same columns, so INSERT ... SELECT * takes them as they are. */
typedef struct sink_table {
    const char *name;
    aj_schema_id schema;           /* of the messages */
    const char *batch_ddl;
    const char *copy_direct;       /* COPY straight into the table (the fast path) */
    const char *copy;              /* COPY into the batch table */
    const char *insert_batch;      /* INSERT ... SELECT * FROM the batch table ON CONFLICT DO NOTHING */
    const char *insert_row;        /* INSERT ... VALUES ($1...), in a savepoint of its own */
    const char *key_constraint;    /* the primary key's name: a 23505 on it is a duplicate */
    int n_columns;                 /* of insert_row, the hashes included */
} sink_table;

#define SINK_CORRECTION_COLUMNS                                                                                    \
    "correction_id, account, cycle_id, record_id, record_kind, service, reason, hypothesis, legacy_amount, "      \
    "corrected_amount, delta, currency, contract_id, contract_version, legacy_tariff_code, rule_trace, "          \
    "disposition, invoice_id, invoice_line, late, source_origin, source_partition, source_offset, "               \
    "pipeline_version, chain, chain_seq, prev_hash, row_hash"
#define SINK_INVOICE_COLUMNS                                                                                       \
    "invoice_id, status, account, cycle_id, revision, status_reason, period_start, period_end, issue_date, "      \
    "due_date, currency, currency_decimals, contract_id, contract_versions, line_count, correction_count, "       \
    "legacy_total, corrected_total, adjustment_total, overcharge_removed, undercharge_added, flagged_overcharge, " \
    "flagged_undercharge, tax_total, credit_total, amount_due, pipeline_version, chain, chain_seq, prev_hash, "   \
    "row_hash"

static const sink_table sink_tables[AJ_AUDIT_TABLE__COUNT] = {
    [AJ_AUDIT_CORRECTIONS] = {
        "corrections", AJ_SCHEMA_CORRECTION,
        "CREATE TEMP TABLE IF NOT EXISTS aj_sink_corrections (correction_id text, account text, cycle_id text, "
        "record_id text, record_kind text, service text, reason text, hypothesis text, legacy_amount bigint, "
        "corrected_amount bigint, delta bigint, currency text, contract_id text, contract_version integer, "
        "legacy_tariff_code text, rule_trace jsonb, disposition text, invoice_id text, invoice_line text, late "
        "boolean, source_origin text, source_partition integer, source_offset bigint, pipeline_version text, chain "
        "text, chain_seq bigint, prev_hash bytea, row_hash bytea) ON COMMIT DELETE ROWS",
        "COPY corrections (" SINK_CORRECTION_COLUMNS ") FROM STDIN",
        "COPY aj_sink_corrections FROM STDIN",
        "INSERT INTO corrections (" SINK_CORRECTION_COLUMNS ") SELECT * FROM aj_sink_corrections ON CONFLICT DO NOTHING",
        "INSERT INTO corrections (" SINK_CORRECTION_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
        "corrections_pkey", 28,
    },
    [AJ_AUDIT_INVOICE_HEADERS] = {
        "invoice_headers", AJ_SCHEMA_INVOICE,
        "CREATE TEMP TABLE IF NOT EXISTS aj_sink_invoice_headers (invoice_id text, status text, account text, "
        "cycle_id text, revision integer, status_reason text, period_start timestamptz, period_end timestamptz, "
        "issue_date date, due_date date, currency text, currency_decimals smallint, contract_id text, "
        "contract_versions integer[], line_count integer, correction_count bigint, legacy_total bigint, "
        "corrected_total bigint, adjustment_total bigint, overcharge_removed bigint, undercharge_added bigint, "
        "flagged_overcharge bigint, flagged_undercharge bigint, tax_total bigint, credit_total bigint, amount_due "
        "bigint, pipeline_version text, chain text, chain_seq bigint, prev_hash bytea, row_hash bytea) "
        "ON COMMIT DELETE ROWS",
        "COPY invoice_headers (" SINK_INVOICE_COLUMNS ") FROM STDIN",
        "COPY aj_sink_invoice_headers FROM STDIN",
        "INSERT INTO invoice_headers (" SINK_INVOICE_COLUMNS ") SELECT * FROM aj_sink_invoice_headers "
        "ON CONFLICT DO NOTHING",
        "INSERT INTO invoice_headers (" SINK_INVOICE_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)",
        "invoice_headers_pkey", 31,
    },
};
#define SINK_MAX_COLUMNS 31

/* One message read, waiting for its transaction. */
typedef struct sink_row {
    int32_t partition;
    int64_t offset;
    union {
        struct {
            aj_correction c;
            char origin[SINK_ORIGIN_LEN];
        } cor;                         /* AJ_AUDIT_CORRECTIONS */
        aj_audit_header h;             /* AJ_AUDIT_INVOICE_HEADERS: versions owned */
    } u;
    int skip;                          /* a duplicate: not inserted, not chained */
    int64_t seq;
    uint8_t prev[AJ_AUDIT_HASH_LEN], hash[AJ_AUDIT_HASH_LEN];
} sink_row;

/* A partition's chain and position, as committed (head) and as the open batch leaves it. */
typedef struct sink_part {
    char chain[320];
    int64_t seq;                       /* committed: last chain_seq (0: none) */
    uint8_t head[AJ_AUDIT_HASH_LEN];   /* committed: its row_hash (zeros: none) */
    int64_t t_seq;                     /* tentative, during a flush */
    uint8_t t_head[AJ_AUDIT_HASH_LEN];
    int64_t from, last;                /* the batch's first and last offsets (from < 0: none) */
    int64_t t_rows;
} sink_part;

struct sink;

/* One input topic, its table, its chains and its open batch. */
typedef struct sink_source {
    struct sink *s;
    aj_audit_source id;
    aj_audit_table table;
    const char *topic;
    aj_kafka_follower *f;
    sink_part *parts;
    int n_parts;
    sink_row *rows;
    size_t n, cap;
    aj_audit_sink_stats *st;
} sink_source;

typedef struct sink {
    const aj_audit_sink_opts *o;
    PGconn *conn;
    int copying;                       /* the open batch is being COPY-ed straight into its table */
    int copy_failed;                   /* PQputCopyData refused: the COPY's result says why */
    sink_source src[AJ_AUDIT_SRC__COUNT];
    aj_bytes buf, canon, text;         /* COPY data; a row's canonical form; its JSON or versions */
    char *err;
    size_t errlen;
} sink;

const char *aj_audit_source_name(aj_audit_source src) {
    static const char *const names[AJ_AUDIT_SRC__COUNT] = {"corrections", "invoices", "review"};
    return (unsigned)src < AJ_AUDIT_SRC__COUNT ? names[src] : "?";
}

static void now_sleep(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* AJ_E_RETRY or AJ_E_FATAL for a failed result (NULL: the connection's state decides), with err set.
 * An error without a SQLSTATE is libpq's own, not the server's verdict on a statement: a lost
 * connection, even when PQstatus does not say so yet (seen: "server closed the connection
 * unexpectedly" on a BEGIN sent to a server stopped in immediate mode, PQstatus still OK), so
 * it is retried like one: reconnect and resume from sink_offsets, for up to --retry-for. */
static aj_err sink_pg_error(sink *s, PGresult *res, const char *what, const char *table) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
    aj_err rc = PQstatus(s->conn) != CONNECTION_OK || !state ? AJ_E_RETRY : aj_pg_classify(state);
    snprintf(s->err, s->errlen, "%s%s%s: %.*s (SQLSTATE %s)", what, table ? " " : "", table ? table : "",
             (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "", state ? state : "none");
    return rc;
}

/* Runs sql with params, expecting status; PQclear-s unless *keep is given. what and table
 * (NULL: none) name the statement in err. */
static aj_err sink_exec(sink *s, const char *what, const char *table, const char *sql, int n,
                        const char *const *params, ExecStatusType want, PGresult **keep) {
    PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != want) {
        aj_err rc = sink_pg_error(s, res, what, table);
        PQclear(res);
        return rc;
    }
    if (keep) *keep = res;
    else PQclear(res);
    return AJ_E_OK;
}

static int hexval(char ch) {
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Frees what the rows of src's batch own and empties it. */
static void source_clear(sink_source *src) {
    if (src->table == AJ_AUDIT_INVOICE_HEADERS)
        for (size_t i = 0; i < src->n; i++) aj_invoice_release(&src->rows[i].u.h.inv);
    src->n = 0;
    for (int p = 0; p < src->n_parts; p++) src->parts[p].from = -1;
}

/* Reads back src's partitions' positions and chain heads from sink_offsets and points its
 * follower there. */
static aj_err source_resume(sink *s, sink_source *src) {
    PGresult *res = NULL;
    aj_err rc;
    const char *params[1] = {src->topic};
    if ((rc = sink_exec(s, "reading sink_offsets", NULL,
                        "SELECT DISTINCT ON (input_partition) input_partition, next_offset, chain_seq, "
                        "encode(chain_head, 'hex') FROM sink_offsets WHERE input_topic = $1 "
                        "ORDER BY input_partition, from_offset DESC",
                        1, params, PGRES_TUPLES_OK, &res)) != AJ_E_OK)
        return rc;
    for (int p = 0; p < src->n_parts; p++) {
        src->parts[p].seq = 0;
        memset(src->parts[p].head, 0, AJ_AUDIT_HASH_LEN);
        aj_kafka_follower_seek(src->f, p, -1);
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int p = atoi(PQgetvalue(res, i, 0));
        const char *hex = PQgetvalue(res, i, 3);
        if (p < 0 || p >= src->n_parts || strlen(hex) != 2 * AJ_AUDIT_HASH_LEN) {
            snprintf(s->err, s->errlen, "sink_offsets names partition %d of %s, which has %d partitions", p,
                     src->topic, src->n_parts);
            PQclear(res);
            return AJ_E_FATAL;
        }
        src->parts[p].seq = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        for (int k = 0; k < AJ_AUDIT_HASH_LEN; k++)
            src->parts[p].head[k] = (uint8_t)(hexval(hex[2 * k]) << 4 | hexval(hex[2 * k + 1]));
        aj_kafka_follower_seek(src->f, p, strtoll(PQgetvalue(res, i, 1), NULL, 10));
    }
    PQclear(res);
    source_clear(src);
    return AJ_E_OK;
}

/* After a (re)connection: checks the schema version, makes the batch tables, and resumes every
 * source from sink_offsets. */
static aj_err sink_resume(sink *s) {
    PGresult *res = NULL;
    aj_err rc;
    if ((rc = sink_exec(s, "reading the schema version", NULL,
                        "SELECT coalesce(max(version), 0) FROM ajuste_schema_migrations", 0, NULL, PGRES_TUPLES_OK,
                        &res)) != AJ_E_OK)
        return rc;
    int version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version != aj_pg_schema_version()) {
        snprintf(s->err, s->errlen, "the database's audit schema is at version %d, this sink writes version %d: run "
                 "ajuste audit migrate", version, aj_pg_schema_version());
        return AJ_E_FATAL;
    }
    for (int t = 0; t < AJ_AUDIT_TABLE__COUNT; t++)
        if ((rc = sink_exec(s, "creating the batch table for", sink_tables[t].name, sink_tables[t].batch_ddl, 0, NULL,
                            PGRES_COMMAND_OK, NULL)) != AJ_E_OK)
            return rc;
    for (int i = 0; i < AJ_AUDIT_SRC__COUNT; i++)
        if (s->src[i].f && (rc = source_resume(s, &s->src[i])) != AJ_E_OK) return rc;
    return AJ_E_OK;
}

/* A row's key in its table: the correction id; the invoice id and status. */
static int row_key_cmp(const sink_row *x, const sink_row *y, aj_audit_table table) {
    if (table == AJ_AUDIT_CORRECTIONS) return strcmp(x->u.cor.c.correction_id, y->u.cor.c.correction_id);
    int c = strcmp(x->u.h.inv.invoice_id, y->u.h.inv.invoice_id);
    return c ? c : (int)x->u.h.inv.status - (int)y->u.h.inv.status;
}

static int row_cmp_correction(const void *a, const void *b) {
    const sink_row *const *x = a, *const *y = b;
    int c = row_key_cmp(*x, *y, AJ_AUDIT_CORRECTIONS);
    return c ? c : (*x < *y ? -1 : *x > *y);   /* the earlier message first */
}

static int row_cmp_invoice(const void *a, const void *b) {
    const sink_row *const *x = a, *const *y = b;
    int c = row_key_cmp(*x, *y, AJ_AUDIT_INVOICE_HEADERS);
    return c ? c : (*x < *y ? -1 : *x > *y);
}

/* Appends s in COPY text format (backslash, tab, newline and carriage return escaped) to b,
 * and reserves one byte more (the separator). AJ_E_NOMEM. */
static aj_err copy_put(aj_bytes *b, const char *s) {
    size_t plain = strcspn(s, "\\\t\n\r"), len = plain + strlen(s + plain);
    aj_err rc = aj_bytes_reserve(b, 2 * len + 1);
    if (rc != AJ_E_OK) return rc;
    memcpy(b->data + b->len, s, plain);   /* most values: all of it */
    b->len += plain;
    for (size_t i = plain; i < len; i++) {
        char ch = s[i];
        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            b->data[b->len++] = '\\';
            ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
        }
        b->data[b->len++] = (uint8_t)ch;
    }
    return AJ_E_OK;
}

static void hash_hex(char out[2 * AJ_AUDIT_HASH_LEN + 3], const uint8_t h[AJ_AUDIT_HASH_LEN]) {
    static const char digits[] = "0123456789abcdef";
    out[0] = '\\', out[1] = 'x';
    for (int k = 0; k < AJ_AUDIT_HASH_LEN; k++) out[2 + 2 * k] = digits[h[k] >> 4], out[3 + 2 * k] = digits[h[k] & 15];
    out[2 + 2 * AJ_AUDIT_HASH_LEN] = 0;
}

/* Chains row r on its partition's tentative head: its seq, prev_hash, canonical values and
 * row_hash; cols receives the text of each column of its table (the hashes' hex included, in
 * hex[2]), pointing into v, s->text or r. Does not advance the head (sink_advance does). */
static aj_err sink_row_hash(sink *s, sink_source *src, sink_row *r, aj_audit_values *v,
                            char hex[2][2 * AJ_AUDIT_HASH_LEN + 3], const char **cols) {
    sink_part *pt = &src->parts[r->partition];
    aj_err rc;
    const char *tag;
    int nfields, n = 0;
    r->seq = pt->t_seq + 1;
    memcpy(r->prev, pt->t_head, AJ_AUDIT_HASH_LEN);
    if (src->table == AJ_AUDIT_CORRECTIONS) {
        r->u.cor.c.source.origin = r->u.cor.origin;   /* rows move when the batch grows: point it here again */
        rc = aj_audit_correction_values(&r->u.cor.c, s->o->pipeline_version, pt->chain, r->seq, v);
        tag = AJ_AUDIT_CORRECTION_TAG, nfields = AJ_AUDIT_CORRECTION_NFIELDS;
    } else {
        rc = aj_audit_invoice_values(&r->u.h, s->o->pipeline_version, pt->chain, r->seq, v, &s->text);
        tag = AJ_AUDIT_INVOICE_TAG, nfields = AJ_AUDIT_INVOICE_NFIELDS;
    }
    if (rc == AJ_E_ARG) {
        snprintf(s->err, s->errlen, "%s partition %d offset %" PRId64 ": %s %s has a field out of range", src->topic,
                 r->partition, r->offset, src->table == AJ_AUDIT_CORRECTIONS ? "correction" : "invoice",
                 src->table == AJ_AUDIT_CORRECTIONS ? r->u.cor.c.correction_id : r->u.h.inv.invoice_id);
        return AJ_E_FATAL;
    }
    s->canon.len = 0;
    if (rc == AJ_E_OK) rc = aj_audit_canonical(&s->canon, tag, v->v, (size_t)nfields);
    if (rc == AJ_E_OK && src->table == AJ_AUDIT_CORRECTIONS) {
        /* the rule_trace JSON stands for the trace's fields */
        s->text.len = 0;
        if ((rc = aj_audit_trace_json(&s->text, v)) == AJ_E_OK && (rc = aj_bytes_reserve(&s->text, 1)) == AJ_E_OK)
            s->text.data[s->text.len] = 0;
        for (int k = 0; k < AJ_AUDIT_TRACE_FIRST - 1; k++) cols[n++] = v->v[k];
        cols[n++] = (const char *)s->text.data;
        for (int k = AJ_AUDIT_TRACE_FIRST + AJ_AUDIT_TRACE_NKEYS; k < nfields; k++) cols[n++] = v->v[k];
    } else {
        for (int k = 0; k < nfields; k++) cols[n++] = v->v[k];
    }
    if (rc != AJ_E_OK) {
        snprintf(s->err, s->errlen, "out of memory");
        return AJ_E_FATAL;
    }
    aj_audit_row_hash(r->prev, s->canon.data, s->canon.len, r->hash);
    hash_hex(hex[0], r->prev);
    hash_hex(hex[1], r->hash);
    cols[n++] = hex[0];
    cols[n++] = hex[1];
    return n == sink_tables[src->table].n_columns ? AJ_E_OK : AJ_E_FATAL;
}

static void sink_advance(sink_source *src, const sink_row *r) {
    sink_part *pt = &src->parts[r->partition];
    pt->t_seq = r->seq;
    memcpy(pt->t_head, r->hash, AJ_AUDIT_HASH_LEN);
    pt->t_rows++;
}

static void sink_tentative_reset(sink_source *src) {
    for (int p = 0; p < src->n_parts; p++) {
        src->parts[p].t_seq = src->parts[p].seq;
        memcpy(src->parts[p].t_head, src->parts[p].head, AJ_AUDIT_HASH_LEN);
        src->parts[p].t_rows = 0;
    }
}

/* Appends the COPY text line of cols (n of them) to b. AJ_E_NOMEM. */
static aj_err copy_line(aj_bytes *b, const char *const *cols, int n) {
    aj_err rc = AJ_E_OK;
    for (int k = 0; k < n && rc == AJ_E_OK; k++) {
        /* (the hashes' "\x" is escaped like any backslash: bytea input sees "\x") */
        if ((rc = copy_put(b, cols[k])) == AJ_E_OK)
            b->data[b->len++] = k + 1 < n ? '\t' : '\n';   /* copy_put reserved it */
    }
    return rc;
}

/* Chains the rows not skipped (tentatively) and writes them as COPY text lines into s->buf. */
static aj_err sink_chain_rows(sink *s, sink_source *src, size_t *n_new) {
    aj_audit_values v;
    char hex[2][2 * AJ_AUDIT_HASH_LEN + 3];
    const char *cols[SINK_MAX_COLUMNS];
    aj_err rc = AJ_E_OK;
    *n_new = 0;
    s->buf.len = 0;
    sink_tentative_reset(src);
    for (size_t i = 0; i < src->n; i++) {
        sink_row *r = &src->rows[i];
        if (r->skip) continue;
        if ((rc = sink_row_hash(s, src, r, &v, hex, cols)) != AJ_E_OK) return rc;
        sink_advance(src, r);
        (*n_new)++;
        if (copy_line(&s->buf, cols, sink_tables[src->table].n_columns) != AJ_E_OK) {
            snprintf(s->err, s->errlen, "out of memory");
            return AJ_E_FATAL;
        }
    }
    return AJ_E_OK;
}

/* Sends s->buf on the open COPY (unless it failed already: its result will say why). */
static void stream_send(sink *s, sink_source *src) {
    int64_t t0 = aj_now_us();
    if (!s->copy_failed && s->buf.len && PQputCopyData(s->conn, (const char *)s->buf.data, (int)s->buf.len) != 1)
        s->copy_failed = 1;
    s->buf.len = 0;
    src->st->db_us += aj_now_us() - t0;
}

/* The fast path: each row, as it is read, chained and sent on a COPY straight into its table,
 * in the batch's transaction (begun at its first row), so PostgreSQL stores rows while the
 * next ones are read and hashed. A key already in the log makes the COPY fail (23505) and
 * sink_flush takes the batch again by the slow path. */
static aj_err stream_row(sink *s, sink_source *src, sink_row *r) {
    aj_audit_values v;
    char hex[2][2 * AJ_AUDIT_HASH_LEN + 3];
    const char *cols[SINK_MAX_COLUMNS];
    aj_err rc;
    if (!s->copying) {
        const sink_table *t = &sink_tables[src->table];
        int64_t t0 = aj_now_us();
        /* (no savepoint: the transaction holds this batch alone, and a subtransaction costs the
         * server 10-20% more CPU on the COPY, measured) */
        if ((rc = sink_exec(s, "BEGIN", NULL, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK ||
            (rc = sink_exec(s, "starting COPY into", t->name, t->copy_direct, 0, NULL, PGRES_COPY_IN, NULL)) != AJ_E_OK)
            return rc;
        s->copying = 1, s->copy_failed = 0;
        src->st->db_us += aj_now_us() - t0;
        s->buf.len = 0;
        sink_tentative_reset(src);
    }
    if ((rc = sink_row_hash(s, src, r, &v, hex, cols)) != AJ_E_OK) return rc;
    sink_advance(src, r);
    if (copy_line(&s->buf, cols, sink_tables[src->table].n_columns) != AJ_E_OK) {
        snprintf(s->err, s->errlen, "out of memory");
        return AJ_E_FATAL;
    }
    if (s->buf.len >= 65536) stream_send(s, src);
    return AJ_E_OK;
}

/* Ends the open COPY: AJ_E_OK with *got rows stored; otherwise the error (err set), *dup set
 * when it is a unique violation (23505: a key in the log already, or twice in the batch). */
static aj_err stream_end(sink *s, sink_source *src, size_t *got, int *dup) {
    const sink_table *t = &sink_tables[src->table];
    PGresult *res;
    aj_err rc = AJ_E_OK;
    int seen = 0;
    *got = 0, *dup = 0;
    stream_send(s, src);
    s->copying = 0;
    if (PQputCopyEnd(s->conn, NULL) != 1) s->copy_failed = 1;
    while ((res = PQgetResult(s->conn))) {
        if (!seen) {
            seen = 1;
            if (PQresultStatus(res) == PGRES_COMMAND_OK) {
                *got = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
            } else {
                const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                *dup = state && strcmp(state, "23505") == 0;
                rc = sink_pg_error(s, res, "COPY into", t->name);
            }
        }
        PQclear(res);
    }
    if (!seen) rc = sink_pg_error(s, NULL, "COPY into", t->name);
    return rc;
}

/* The slow path, for a batch some of whose keys are in the log already (a replay): the rows one
 * INSERT each, in order, each in a savepoint of its own, the chain advanced over those inserted
 * only. A unique violation of the primary key is a duplicate: rolled back to the savepoint and
 * skipped. One of any other unique key is not: the (chain, chain_seq) key means the log already
 * holds a row at the position sink_offsets says is next, i.e. sink_offsets is behind the log
 * (emptied, or restored from an older copy), and the sink stops (AJ_E_FATAL) rather than count
 * a new row as a duplicate and drop it, or fork the chain. (ON CONFLICT DO NOTHING would skip
 * both alike, and naming the key as its conflict target needs SELECT on it, which the writer
 * does not have.) */
static aj_err sink_insert_rows(sink *s, sink_source *src, size_t *n_new, size_t *dups) {
    aj_audit_values v;
    char hex[2][2 * AJ_AUDIT_HASH_LEN + 3];
    const char *cols[SINK_MAX_COLUMNS];
    const sink_table *t = &sink_tables[src->table];
    aj_err rc;
    *n_new = 0;
    sink_tentative_reset(src);
    for (size_t i = 0; i < src->n; i++) {
        sink_row *r = &src->rows[i];
        if (r->skip) continue;
        if ((rc = sink_row_hash(s, src, r, &v, hex, cols)) != AJ_E_OK) return rc;
        if ((rc = sink_exec(s, "SAVEPOINT", NULL, "SAVEPOINT row", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK)
            return rc;
        PGresult *res = PQexecParams(s->conn, t->insert_row, t->n_columns, NULL, cols, NULL, NULL, 0);
        if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
            PQclear(res);
            if ((rc = sink_exec(s, "RELEASE SAVEPOINT", NULL, "RELEASE SAVEPOINT row", 0, NULL, PGRES_COMMAND_OK,
                                NULL)) != AJ_E_OK)
                return rc;
            sink_advance(src, r);
            (*n_new)++;
            continue;
        }
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *key = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
        if (!state || strcmp(state, "23505") != 0) {
            rc = sink_pg_error(s, res, "INSERT into", t->name);
            PQclear(res);
            return rc;
        }
        if (!key || strcmp(key, t->key_constraint) != 0) {
            snprintf(s->err, s->errlen, "%s: the log already holds a row at seq %" PRId64 " of chain %s (unique key %s), "
                     "where sink_offsets says the chain ends at seq %" PRId64 ": sink_offsets is behind the log "
                     "(emptied, or restored from an older copy?). The sink stops rather than drop the row or fork "
                     "the chain: restore sink_offsets (docs/audit.md, \"sink_offsets behind the log\")",
                     t->name, r->seq, src->parts[r->partition].chain, key ? key : "?", r->seq - 1);
            PQclear(res);
            return AJ_E_FATAL;
        }
        PQclear(res);
        if ((rc = sink_exec(s, "ROLLBACK TO SAVEPOINT", NULL, "ROLLBACK TO SAVEPOINT row", 0, NULL, PGRES_COMMAND_OK,
                            NULL)) != AJ_E_OK)
            return rc;
        r->skip = 1;
        (*dups)++;
    }
    return AJ_E_OK;
}

/* COPY s->buf into src's batch table, then INSERT ... SELECT ... ON CONFLICT DO NOTHING;
 * *inserted receives how many rows went in. */
static aj_err sink_copy_insert(sink *s, sink_source *src, size_t *inserted) {
    const sink_table *t = &sink_tables[src->table];
    aj_err rc;
    PGresult *res = PQexec(s->conn, t->copy);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        rc = sink_pg_error(s, res, "starting COPY into the batch table of", t->name);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    int ok = (s->buf.len == 0 || PQputCopyData(s->conn, (const char *)s->buf.data, (int)s->buf.len) == 1) &&
             PQputCopyEnd(s->conn, NULL) == 1;
    rc = AJ_E_OK;
    while ((res = PQgetResult(s->conn))) {
        if (rc == AJ_E_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = sink_pg_error(s, res, "COPY into the batch table of", t->name);
        PQclear(res);
    }
    if (rc == AJ_E_OK && !ok) rc = sink_pg_error(s, NULL, "COPY into the batch table of", t->name);
    if (rc != AJ_E_OK) return rc;
    PGresult *ins = NULL;
    rc = sink_exec(s, "INSERT into", t->name, t->insert_batch, 0, NULL, PGRES_COMMAND_OK, &ins);
    if (rc == AJ_E_OK) *inserted = (size_t)strtoull(PQcmdTuples(ins), NULL, 10);
    PQclear(ins);
    return rc;
}

/* Appends "," (unless first) and x in decimal to b. AJ_E_NOMEM. */
static aj_err put_int(aj_bytes *b, int64_t x) {
    aj_err rc = aj_bytes_reserve(b, 24);
    if (rc == AJ_E_OK) b->len += (size_t)sprintf((char *)b->data + b->len, "%s%" PRId64, b->len > 1 ? "," : "", x);
    return rc;
}

/* INSERTs the sink_offsets rows of the open batch, one per partition it read: [from, next),
 * the chain head after it, the rows inserted. The columns go as arrays (s->buf, s->canon and
 * s->text are free while no row is being chained). */
static aj_err sink_offsets_insert(sink *s, sink_source *src) {
    aj_bytes arr[6] = {{0}};
    aj_err rc = AJ_E_OK;
    for (int k = 0; k < 6 && rc == AJ_E_OK; k++)
        if ((rc = aj_bytes_reserve(&arr[k], 2)) == AJ_E_OK) arr[k].data[arr[k].len++] = '{';
    for (int p = 0; p < src->n_parts && rc == AJ_E_OK; p++) {
        sink_part *pt = &src->parts[p];
        char head[2 * AJ_AUDIT_HASH_LEN + 3];
        if (pt->from < 0) continue;
        hash_hex(head, pt->t_head);
        if ((rc = put_int(&arr[0], p)) == AJ_E_OK && (rc = put_int(&arr[1], pt->from)) == AJ_E_OK &&
            (rc = put_int(&arr[2], pt->last + 1)) == AJ_E_OK && (rc = put_int(&arr[3], pt->t_seq)) == AJ_E_OK &&
            (rc = put_int(&arr[5], pt->t_rows)) == AJ_E_OK && (rc = aj_bytes_reserve(&arr[4], 2 * AJ_AUDIT_HASH_LEN + 2)) == AJ_E_OK)
            arr[4].len += (size_t)sprintf((char *)arr[4].data + arr[4].len, "%s%s", arr[4].len > 1 ? "," : "", head + 2);
    }
    for (int k = 0; k < 6 && rc == AJ_E_OK; k++)
        if ((rc = aj_bytes_reserve(&arr[k], 2)) == AJ_E_OK) arr[k].data[arr[k].len++] = '}', arr[k].data[arr[k].len] = 0;
    if (rc != AJ_E_OK) {
        snprintf(s->err, s->errlen, "out of memory");
        rc = AJ_E_FATAL;
    } else {
        const char *params[] = {src->topic, (char *)arr[0].data, (char *)arr[1].data, (char *)arr[2].data,
                                (char *)arr[3].data, (char *)arr[4].data, (char *)arr[5].data};
        rc = sink_exec(s, "INSERT into sink_offsets", NULL,
                       "INSERT INTO sink_offsets (input_topic, input_partition, from_offset, next_offset, chain_seq, "
                       "chain_head, rows_inserted) SELECT $1, p, f, n, q, decode(h, 'hex'), r FROM unnest($2::integer[], "
                       "$3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[]) AS u(p, f, n, q, h, r)",
                       7, params, PGRES_COMMAND_OK, NULL);
    }
    for (int k = 0; k < 6; k++) aj_bytes_free(&arr[k]);
    return rc;
}

/* One transaction: the batch's rows of src and its sink_offsets rows. AJ_E_OK (committed, the
 * batch emptied), AJ_E_RETRY, AJ_E_FATAL, with err. */
static aj_err sink_flush_batch(sink *s, sink_source *src) {
    aj_err rc;
    size_t n_new = 0, got = 0, dups = 0;
    sink_row **byid = NULL;
    int dup = 0;
    if (src->n == 0) return AJ_E_OK;

    if ((rc = stream_end(s, src, &got, &dup)) == AJ_E_OK) {
        n_new = got;
        if (got != src->n) {
            snprintf(s->err, s->errlen, "COPY into %s stored %zu rows of %zu", sink_tables[src->table].name, got, src->n);
            rc = AJ_E_FATAL;
            goto end;
        }
    } else if (!dup) {
        goto end;
    } else {
        /* The slow path, in a transaction of its own (the failed one held this batch alone). The
         * same key twice in the batch: only its first message counts. */
        if ((rc = sink_exec(s, "ROLLBACK", NULL, "ROLLBACK", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK ||
            (rc = sink_exec(s, "BEGIN", NULL, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK ||
            (rc = sink_exec(s, "SAVEPOINT", NULL, "SAVEPOINT batch", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK)
            goto end;
        if (!(byid = malloc(src->n * sizeof(*byid)))) {
            snprintf(s->err, s->errlen, "out of memory");
            rc = AJ_E_FATAL;
            goto end;
        }
        for (size_t i = 0; i < src->n; i++) byid[i] = &src->rows[i], src->rows[i].skip = 0;
        qsort(byid, src->n, sizeof(*byid), src->table == AJ_AUDIT_CORRECTIONS ? row_cmp_correction : row_cmp_invoice);
        for (size_t i = 1; i < src->n; i++)
            if (row_key_cmp(byid[i], byid[i - 1], src->table) == 0) byid[i]->skip = 1, dups++;
        if ((rc = sink_chain_rows(s, src, &n_new)) != AJ_E_OK) goto end;
        if ((rc = sink_copy_insert(s, src, &got)) != AJ_E_OK) goto end;
        if (got != n_new) {
            /* Some keys are in the log already (a replay): redo the batch row by row, so that
             * the chains run over the rows inserted only. */
            if ((rc = sink_exec(s, "ROLLBACK TO SAVEPOINT", NULL, "ROLLBACK TO SAVEPOINT batch", 0, NULL,
                                PGRES_COMMAND_OK, NULL)) != AJ_E_OK ||
                (rc = sink_insert_rows(s, src, &n_new, &dups)) != AJ_E_OK)
                goto end;
        }
    }
    /* The positions, in the same transaction: one row per partition read, in one statement. */
    if ((rc = sink_offsets_insert(s, src)) != AJ_E_OK) goto end;
    if ((rc = sink_exec(s, "COMMIT", NULL, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK) goto end;
    for (int p = 0; p < src->n_parts; p++) {
        sink_part *pt = &src->parts[p];
        pt->seq = pt->t_seq;
        memcpy(pt->head, pt->t_head, AJ_AUDIT_HASH_LEN);
    }
    src->st->inserted += (int64_t)n_new;
    src->st->duplicates += (int64_t)dups;
    src->st->transactions++;
    source_clear(src);
end:
    if (rc != AJ_E_OK && PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(s->conn, "ROLLBACK");
        PQclear(r);
    }
    free(byid);
    return rc;
}

/* sink_flush_batch, its time counted as time spent on PostgreSQL. */
static aj_err sink_flush(sink *s, sink_source *src) {
    int64_t t0 = aj_now_us();
    aj_err rc = sink_flush_batch(s, src);
    src->st->db_us += aj_now_us() - t0;
    return rc;
}

/* Decodes msg's datum (after the single-object header) into r as a row of src's table; NULL,
 * or why it is not one. */
static const char *sink_decode(sink_source *src, const aj_schema *writer, const aj_message *msg, sink_row *r) {
    const uint8_t *datum = (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN;
    size_t len = msg->value_len - AJ_SOM_HEADER_LEN;
    aj_err rc;
    if (src->table == AJ_AUDIT_CORRECTIONS) {
        if ((rc = aj_decode_correction(writer, datum, len, &r->u.cor.c, r->u.cor.origin, sizeof(r->u.cor.origin))) !=
            AJ_E_OK)
            return aj_err_str(rc);
        return r->u.cor.c.correction_id[0] ? NULL : "an empty correction id";
    }
    aj_audit_header *h = &r->u.h;
    if ((rc = aj_decode_invoice(writer, datum, len, &h->inv)) != AJ_E_OK) return aj_err_str(rc);
    /* the header only: the lines stay on the topic */
    h->line_count = (int64_t)h->inv.n_lines;
    h->correction_count = 0;
    for (size_t i = 0; i < h->inv.n_reasons; i++) h->correction_count += h->inv.reasons[i].count;
    free(h->inv.lines);
    free(h->inv.adjustments);
    h->inv.lines = NULL, h->inv.adjustments = NULL;
    h->inv.n_lines = h->inv.n_adjustments = 0;
    if (!h->inv.invoice_id[0]) return "an empty invoice id";
    if (src->id == AJ_AUDIT_SRC_REVIEW ? h->inv.status != AJ_INV_HELD : h->inv.status == AJ_INV_HELD)
        return src->id == AJ_AUDIT_SRC_REVIEW ? "an invoice that is not HELD on the review topic"
                                              : "a HELD invoice on the invoice topic";
    return NULL;
}

/* The follower's callback: decodes one message into src's batch; flushes a full batch. */
static aj_err sink_on_message(void *opaque, const aj_message *msg) {
    sink_source *src = opaque;
    sink *s = src->s;
    const aj_schema *writer;
    uint64_t fp;
    aj_err rc;
    src->st->read++;
    if (src->n == src->cap) {
        size_t cap = src->cap ? 2 * src->cap : 256;
        sink_row *rows = realloc(src->rows, cap * sizeof(*rows));
        if (!rows) {
            snprintf(s->err, s->errlen, "out of memory");
            return AJ_E_FATAL;
        }
        src->rows = rows, src->cap = cap;
    }
    sink_row *r = &src->rows[src->n];
    int32_t p = msg->pos.partition;
    if (p < 0 || p >= src->n_parts) {
        snprintf(s->err, s->errlen, "%s: a message of partition %d, the topic has %d", src->topic, p, src->n_parts);
        return AJ_E_FATAL;
    }
    const char *why = NULL;
    if (!msg->value) why = "no value (a tombstone)";
    else if ((rc = aj_som_parse(msg->value, msg->value_len, &fp)) != AJ_E_OK) why = aj_err_str(rc);
    else if (!(writer = aj_schema_by_fingerprint(fp))) why = "unknown schema fingerprint";
    else if (writer->id != sink_tables[src->table].schema) why = "a record of another schema";
    else {
        memset(&r->u, 0, sizeof(r->u));
        why = sink_decode(src, writer, msg, r);
        if (why && src->table == AJ_AUDIT_INVOICE_HEADERS) aj_invoice_release(&r->u.h.inv);
    }
    if (why) {
        snprintf(s->err, s->errlen, "%s partition %d offset %" PRId64 ": not %s (%s): the sink stops rather than "
                 "leave a hole in the log", src->topic, p, msg->pos.offset,
                 src->table == AJ_AUDIT_CORRECTIONS ? "a correction" : "an invoice of this topic", why);
        return AJ_E_FATAL;
    }
    r->partition = p;
    r->offset = msg->pos.offset;
    r->skip = 0;
    if (src->parts[p].from < 0) src->parts[p].from = r->offset;
    src->parts[p].last = r->offset;
    src->n++;
    if ((rc = stream_row(s, src, r)) != AJ_E_OK) return rc;
    return src->n >= (size_t)s->o->batch_rows ? sink_flush(s, src) : AJ_E_OK;
}

/* Opens the follower of each source topic given and its partitions' chains. */
static aj_err sink_open(sink *s, aj_audit_sink_stats *st) {
    aj_err rc = AJ_E_OK;
    int any = 0;
    for (int i = 0; i < AJ_AUDIT_SRC__COUNT; i++) {
        sink_source *src = &s->src[i];
        src->s = s, src->id = (aj_audit_source)i, src->st = &st[i];
        src->table = i == AJ_AUDIT_SRC_CORRECTIONS ? AJ_AUDIT_CORRECTIONS : AJ_AUDIT_INVOICE_HEADERS;
        src->topic = s->o->topics[i];
        if (!src->topic || !src->topic[0]) continue;
        any = 1;
        if (!(src->f = aj_kafka_follower_create(s->o->cfg, src->topic, SINK_KAFKA_TIMEOUT_MS, &rc, s->err, s->errlen)))
            return rc;
        src->n_parts = st[i].partitions = aj_kafka_follower_partitions(src->f);
        if (!(src->parts = calloc((size_t)src->n_parts, sizeof(*src->parts)))) {
            snprintf(s->err, s->errlen, "out of memory");
            return AJ_E_NOMEM;
        }
        for (int p = 0; p < src->n_parts; p++) {
            snprintf(src->parts[p].chain, sizeof(src->parts[p].chain), "%s:%d", src->topic, p);
            src->parts[p].from = -1;
        }
    }
    if (!any) {
        snprintf(s->err, s->errlen, "no topic to store");
        return AJ_E_CONFIG;
    }
    return AJ_E_OK;
}

aj_err aj_audit_sink_run(const aj_audit_sink_opts *o, volatile int *stop, aj_audit_sink_stats st[AJ_AUDIT_SRC__COUNT],
                         char *err, size_t errlen) {
    sink s = {.o = o, .err = err, .errlen = errlen};
    aj_err rc;
    int64_t backoff = 100, down_ms = 0;
    memset(st, 0, AJ_AUDIT_SRC__COUNT * sizeof(*st));
    if ((rc = sink_open(&s, st)) != AJ_E_OK) goto end;

    for (int first = 1; !(stop && *stop);) {
        if (!s.conn) {
            s.conn = aj_pg_connect(o->conninfo, first ? o->wait_ms : 0, &rc, err, errlen);
            s.copying = 0;
            if (s.conn) rc = sink_resume(&s);
            first = 0;
        } else {
            int64_t count = 0;
            rc = AJ_E_OK;
            for (int i = 0; i < AJ_AUDIT_SRC__COUNT && rc == AJ_E_OK; i++) {
                sink_source *src = &s.src[i];
                int64_t got = 0;
                if (!src->f) continue;
                rc = aj_kafka_follower_sync(src->f, SINK_KAFKA_TIMEOUT_MS, sink_on_message, src, &got, err, errlen);
                if (rc == AJ_E_OK) rc = sink_flush(&s, src);
                count += got;
            }
            if (rc == AJ_E_OK) {
                backoff = 100, down_ms = 0;
                if (o->until_end) break;
                if (count == 0) now_sleep(o->batch_ms);
                continue;
            }
        }
        if (rc == AJ_E_OK) continue;
        if (rc == AJ_E_RETRY || (rc == AJ_E_IO && s.conn == NULL && down_ms > 0)) {
            /* Transient: give the transaction up, reconnect, re-read from sink_offsets. */
            for (int i = 0; i < AJ_AUDIT_SRC__COUNT; i++) st[i].retries++;   /* the sink's, in each */
            if (down_ms >= o->retry_ms) {
                fprintf(o->report ? o->report : stderr, "audit sink: giving up after %" PRId64 " ms: %s\n", down_ms, err);
                rc = AJ_E_FATAL;
                goto end;
            }
            if (o->report) fprintf(o->report, "audit sink: %s; reconnecting in %" PRId64 " ms\n", err, backoff), fflush(o->report);
            PQfinish(s.conn);
            s.conn = NULL;
            now_sleep(backoff);
            down_ms += backoff;
            backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
            continue;
        }
        goto end;
    }
    rc = AJ_E_OK;
end:
    PQfinish(s.conn);
    for (int i = 0; i < AJ_AUDIT_SRC__COUNT; i++) {
        sink_source *src = &s.src[i];
        if (src->parts) source_clear(src);
        aj_kafka_follower_destroy(src->f);
        free(src->parts);
        free(src->rows);
    }
    aj_bytes_free(&s.buf);
    aj_bytes_free(&s.canon);
    aj_bytes_free(&s.text);
    return rc;
}
