/* aj_audit_sink.c - `ajuste audit sink`: the corrections topic into the audit log, exactly once,
 * hash-chained per partition (docs/audit.md, "The sink"). */
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

#define SINK_KAFKA_TIMEOUT_MS 30000
#define SINK_ORIGIN_LEN 256

/* One correction read, waiting for its transaction. */
typedef struct sink_row {
    int32_t partition;
    int64_t offset;
    aj_correction c;
    char origin[SINK_ORIGIN_LEN];
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

typedef struct sink {
    const aj_audit_sink_opts *o;
    aj_audit_sink_stats *st;
    PGconn *conn;
    sink_part *parts;
    int n_parts;
    sink_row *rows;
    size_t n, cap;
    aj_bytes buf, canon, json;
    char *err;
    size_t errlen;
} sink;

static void now_sleep(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* AJ_E_RETRY or AJ_E_FATAL for a failed result (NULL: the connection's state decides), with err set. */
static aj_err sink_pg_error(sink *s, PGresult *res, const char *what) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
    aj_err rc = PQstatus(s->conn) != CONNECTION_OK ? AJ_E_RETRY : aj_pg_classify(state);
    snprintf(s->err, s->errlen, "%s: %.*s (SQLSTATE %s)", what, (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "",
             state ? state : "none");
    return rc;
}

/* Runs sql with params, expecting status; PQclear-s unless *keep is given. */
static aj_err sink_exec(sink *s, const char *what, const char *sql, int n, const char *const *params,
                        ExecStatusType want, PGresult **keep) {
    PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != want) {
        aj_err rc = sink_pg_error(s, res, what);
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

/* After a (re)connection: checks the schema version, makes the batch table, reads back every
 * partition's position and chain head from sink_offsets and points the follower there. */
static aj_err sink_resume(sink *s, aj_kafka_follower *f) {
    PGresult *res = NULL;
    aj_err rc;
    if ((rc = sink_exec(s, "reading the schema version", "SELECT coalesce(max(version), 0) FROM ajuste_schema_migrations",
                        0, NULL, PGRES_TUPLES_OK, &res)) != AJ_E_OK)
        return rc;
    int version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version != aj_pg_schema_version()) {
        snprintf(s->err, s->errlen, "the database's audit schema is at version %d, this sink writes version %d: run "
                 "ajuste audit migrate", version, aj_pg_schema_version());
        return AJ_E_FATAL;
    }
    if ((rc = sink_exec(s, "creating the batch table",
                        "CREATE TEMP TABLE IF NOT EXISTS aj_sink_batch (correction_id text, account text, cycle_id text, "
                        "record_id text, record_kind text, service text, reason text, hypothesis text, legacy_amount "
                        "bigint, corrected_amount bigint, delta bigint, currency text, contract_id text, contract_version "
                        "integer, legacy_tariff_code text, rule_trace jsonb, disposition text, invoice_id text, "
                        "invoice_line text, late boolean, source_origin text, source_partition integer, source_offset "
                        "bigint, pipeline_version text, chain text, chain_seq bigint, prev_hash bytea, row_hash bytea) "
                        "ON COMMIT DELETE ROWS",
                        0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK)
        return rc;
    const char *params[1] = {s->o->topic};
    if ((rc = sink_exec(s, "reading sink_offsets",
                        "SELECT DISTINCT ON (input_partition) input_partition, next_offset, chain_seq, "
                        "encode(chain_head, 'hex') FROM sink_offsets WHERE input_topic = $1 "
                        "ORDER BY input_partition, from_offset DESC",
                        1, params, PGRES_TUPLES_OK, &res)) != AJ_E_OK)
        return rc;
    for (int p = 0; p < s->n_parts; p++) {
        s->parts[p].seq = 0;
        memset(s->parts[p].head, 0, AJ_AUDIT_HASH_LEN);
        aj_kafka_follower_seek(f, p, -1);
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int p = atoi(PQgetvalue(res, i, 0));
        const char *hex = PQgetvalue(res, i, 3);
        if (p < 0 || p >= s->n_parts || strlen(hex) != 2 * AJ_AUDIT_HASH_LEN) {
            snprintf(s->err, s->errlen, "sink_offsets names partition %d of %s, which has %d partitions", p, s->o->topic,
                     s->n_parts);
            PQclear(res);
            return AJ_E_FATAL;
        }
        s->parts[p].seq = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        for (int k = 0; k < AJ_AUDIT_HASH_LEN; k++)
            s->parts[p].head[k] = (uint8_t)(hexval(hex[2 * k]) << 4 | hexval(hex[2 * k + 1]));
        aj_kafka_follower_seek(f, p, strtoll(PQgetvalue(res, i, 1), NULL, 10));
    }
    PQclear(res);
    return AJ_E_OK;
}

static int row_id_cmp(const void *a, const void *b) {
    const sink_row *const *x = a, *const *y = b;
    int c = strcmp((*x)->c.correction_id, (*y)->c.correction_id);
    if (c) return c;
    return *x < *y ? -1 : *x > *y;   /* the earlier message first */
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static aj_err copy_put(aj_bytes *b, const char *s, size_t len) {
    aj_err rc = aj_bytes_reserve(b, 2 * len + 1);
    if (rc != AJ_E_OK) return rc;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            b->data[b->len++] = '\\';
            ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
        }
        b->data[b->len++] = (uint8_t)ch;
    }
    return AJ_E_OK;
}

static aj_err copy_hash(aj_bytes *b, const uint8_t h[AJ_AUDIT_HASH_LEN]) {
    aj_err rc = aj_bytes_reserve(b, 3 + 2 * AJ_AUDIT_HASH_LEN + 1);
    if (rc != AJ_E_OK) return rc;
    b->len += (size_t)sprintf((char *)b->data + b->len, "\\\\x");
    for (int k = 0; k < AJ_AUDIT_HASH_LEN; k++) b->len += (size_t)sprintf((char *)b->data + b->len, "%02x", h[k]);
    return AJ_E_OK;
}

/* Chains row r on its partition's tentative head: its seq, prev_hash, values, row_hash and
 * rule_trace JSON (in s->json). Does not advance the head (sink_advance does). */
static aj_err sink_row_hash(sink *s, sink_row *r, aj_audit_values *v) {
    sink_part *pt = &s->parts[r->partition];
    aj_err rc;
    r->c.source.origin = r->origin;   /* rows move when the batch grows: point it here again */
    r->seq = pt->t_seq + 1;
    memcpy(r->prev, pt->t_head, AJ_AUDIT_HASH_LEN);
    if (aj_audit_correction_values(&r->c, s->o->pipeline_version, pt->chain, r->seq, v) != AJ_E_OK) {
        snprintf(s->err, s->errlen, "%s partition %d offset %" PRId64 ": correction %s has a field out of range",
                 s->o->topic, r->partition, r->offset, r->c.correction_id);
        return AJ_E_FATAL;
    }
    s->canon.len = 0;
    s->json.len = 0;
    if ((rc = aj_audit_canonical(&s->canon, AJ_AUDIT_CORRECTION_TAG, v->v, AJ_AUDIT_CORRECTION_NFIELDS)) != AJ_E_OK ||
        (rc = aj_audit_trace_json(&s->json, v)) != AJ_E_OK || (rc = aj_bytes_reserve(&s->json, 1)) != AJ_E_OK) {
        snprintf(s->err, s->errlen, "out of memory");
        return AJ_E_FATAL;
    }
    s->json.data[s->json.len] = 0;
    aj_audit_row_hash(r->prev, s->canon.data, s->canon.len, r->hash);
    return AJ_E_OK;
}

static void sink_advance(sink *s, const sink_row *r) {
    sink_part *pt = &s->parts[r->partition];
    pt->t_seq = r->seq;
    memcpy(pt->t_head, r->hash, AJ_AUDIT_HASH_LEN);
    pt->t_rows++;
}

static void sink_tentative_reset(sink *s) {
    for (int p = 0; p < s->n_parts; p++) {
        s->parts[p].t_seq = s->parts[p].seq;
        memcpy(s->parts[p].t_head, s->parts[p].head, AJ_AUDIT_HASH_LEN);
        s->parts[p].t_rows = 0;
    }
}

static aj_err copy_char(aj_bytes *b, char ch) {
    aj_err rc = aj_bytes_reserve(b, 1);
    if (rc == AJ_E_OK) b->data[b->len++] = (uint8_t)ch;
    return rc;
}

/* Chains the rows not skipped (tentatively) and writes them as COPY text lines into s->buf:
 * the columns of aj_sink_batch are values 0..14, rule_trace, values 37..46, prev_hash, row_hash. */
static aj_err sink_chain_rows(sink *s, size_t *n_new) {
    aj_audit_values v;
    aj_err rc = AJ_E_OK;
    *n_new = 0;
    s->buf.len = 0;
    sink_tentative_reset(s);
    for (size_t i = 0; i < s->n; i++) {
        sink_row *r = &s->rows[i];
        if (r->skip) continue;
        if ((rc = sink_row_hash(s, r, &v)) != AJ_E_OK) return rc;
        sink_advance(s, r);
        (*n_new)++;
        for (int k = 0; k < AJ_AUDIT_CORRECTION_NFIELDS && rc == AJ_E_OK; k++) {
            if (k == AJ_AUDIT_TRACE_FIRST - 1) {
                rc = copy_put(&s->buf, (const char *)s->json.data, s->json.len);
                k = AJ_AUDIT_TRACE_FIRST + AJ_AUDIT_TRACE_NKEYS - 1;
            } else {
                rc = copy_put(&s->buf, v.v[k], strlen(v.v[k]));
            }
            if (rc == AJ_E_OK) rc = copy_char(&s->buf, '\t');
        }
        if (rc == AJ_E_OK) rc = copy_hash(&s->buf, r->prev);
        if (rc == AJ_E_OK) rc = copy_char(&s->buf, '\t');
        if (rc == AJ_E_OK) rc = copy_hash(&s->buf, r->hash);
        if (rc == AJ_E_OK) rc = copy_char(&s->buf, '\n');
        if (rc != AJ_E_OK) {
            snprintf(s->err, s->errlen, "out of memory");
            return AJ_E_FATAL;
        }
    }
    return AJ_E_OK;
}

/* The slow path, for a batch some of whose ids are in the log already (a replay): the rows one
 * INSERT ... ON CONFLICT DO NOTHING each, in order, the chain advanced over those inserted
 * only. (The writer cannot SELECT the log, nor use RETURNING on it, so the command's row count
 * is how it learns whether a row went in.) */
static aj_err sink_insert_rows(sink *s, size_t *n_new, size_t *dups) {
    aj_audit_values v;
    aj_err rc;
    *n_new = 0;
    sink_tentative_reset(s);
    for (size_t i = 0; i < s->n; i++) {
        sink_row *r = &s->rows[i];
        char prev[2 * AJ_AUDIT_HASH_LEN + 3] = "\\x", hash[2 * AJ_AUDIT_HASH_LEN + 3] = "\\x";
        if (r->skip) continue;
        if ((rc = sink_row_hash(s, r, &v)) != AJ_E_OK) return rc;
        for (int k = 0; k < AJ_AUDIT_HASH_LEN; k++) {
            sprintf(prev + 2 + 2 * k, "%02x", r->prev[k]);
            sprintf(hash + 2 + 2 * k, "%02x", r->hash[k]);
        }
        const char *params[28];
        int n = 0;
        for (int k = 0; k < AJ_AUDIT_TRACE_FIRST - 1; k++) params[n++] = v.v[k];
        params[n++] = (const char *)s->json.data;
        for (int k = AJ_AUDIT_TRACE_FIRST + AJ_AUDIT_TRACE_NKEYS; k < AJ_AUDIT_CORRECTION_NFIELDS; k++) params[n++] = v.v[k];
        params[n++] = prev;
        params[n++] = hash;
        PGresult *res = PQexecParams(s->conn,
            "INSERT INTO corrections (correction_id, account, cycle_id, record_id, record_kind, service, reason, "
            "hypothesis, legacy_amount, corrected_amount, delta, currency, contract_id, contract_version, "
            "legacy_tariff_code, rule_trace, disposition, invoice_id, invoice_line, late, source_origin, "
            "source_partition, source_offset, pipeline_version, chain, chain_seq, prev_hash, row_hash) VALUES ($1, $2, "
            "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, "
            "$26, $27, $28) ON CONFLICT DO NOTHING",
            n, NULL, params, NULL, NULL, 0);
        if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = sink_pg_error(s, res, "INSERT into corrections");
            PQclear(res);
            return rc;
        }
        if (strcmp(PQcmdTuples(res), "1") == 0) {
            sink_advance(s, r);
            (*n_new)++;
        } else {
            r->skip = 1;
            (*dups)++;
        }
        PQclear(res);
    }
    return AJ_E_OK;
}

/* COPY s->buf into aj_sink_batch, then INSERT ... SELECT ... ON CONFLICT DO NOTHING; *inserted
 * receives how many rows went in. */
static aj_err sink_copy_insert(sink *s, size_t *inserted) {
    aj_err rc;
    PGresult *res = PQexec(s->conn, "COPY aj_sink_batch FROM STDIN");
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        rc = sink_pg_error(s, res, "starting COPY into the batch table");
        PQclear(res);
        return rc;
    }
    PQclear(res);
    int ok = (s->buf.len == 0 || PQputCopyData(s->conn, (const char *)s->buf.data, (int)s->buf.len) == 1) &&
             PQputCopyEnd(s->conn, NULL) == 1;
    rc = AJ_E_OK;
    while ((res = PQgetResult(s->conn))) {
        if (rc == AJ_E_OK && PQresultStatus(res) != PGRES_COMMAND_OK) rc = sink_pg_error(s, res, "COPY into the batch table");
        PQclear(res);
    }
    if (rc == AJ_E_OK && !ok) rc = sink_pg_error(s, NULL, "COPY into the batch table");
    if (rc != AJ_E_OK) return rc;
    PGresult *ins = NULL;
    rc = sink_exec(s, "INSERT into corrections",
                     "INSERT INTO corrections (correction_id, account, cycle_id, record_id, record_kind, service, reason, "
                     "hypothesis, legacy_amount, corrected_amount, delta, currency, contract_id, contract_version, "
                     "legacy_tariff_code, rule_trace, disposition, invoice_id, invoice_line, late, source_origin, "
                     "source_partition, source_offset, pipeline_version, chain, chain_seq, prev_hash, row_hash) "
                     "SELECT * FROM aj_sink_batch ON CONFLICT DO NOTHING",
                     0, NULL, PGRES_COMMAND_OK, &ins);
    if (rc == AJ_E_OK) *inserted = (size_t)strtoull(PQcmdTuples(ins), NULL, 10);
    PQclear(ins);
    return rc;
}

/* One transaction: the batch's rows and its sink_offsets rows. AJ_E_OK (committed, the batch
 * emptied), AJ_E_RETRY, AJ_E_FATAL, with err. */
static aj_err sink_flush(sink *s) {
    aj_err rc;
    size_t n_new = 0, got = 0, dups = 0;
    if (s->n == 0) return AJ_E_OK;

    /* The same id twice in the batch: only its first message counts. */
    sink_row **byid = malloc(s->n * sizeof(*byid));
    if (!byid) {
        snprintf(s->err, s->errlen, "out of memory");
        return AJ_E_FATAL;
    }
    for (size_t i = 0; i < s->n; i++) byid[i] = &s->rows[i], s->rows[i].skip = 0;
    qsort(byid, s->n, sizeof(*byid), row_id_cmp);
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(byid[i]->c.correction_id, byid[i - 1]->c.correction_id) == 0) byid[i]->skip = 1, dups++;

    if ((rc = sink_exec(s, "BEGIN", "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK) goto end;
    if ((rc = sink_exec(s, "SAVEPOINT", "SAVEPOINT batch", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK) goto end;
    if ((rc = sink_chain_rows(s, &n_new)) != AJ_E_OK) goto end;
    if ((rc = sink_copy_insert(s, &got)) != AJ_E_OK) goto end;
    if (got != n_new) {
        /* Some ids are in the log already (a replay): redo the batch row by row, so that the
         * chains run over the rows inserted only. */
        if ((rc = sink_exec(s, "ROLLBACK TO SAVEPOINT", "ROLLBACK TO SAVEPOINT batch", 0, NULL, PGRES_COMMAND_OK,
                            NULL)) != AJ_E_OK ||
            (rc = sink_insert_rows(s, &n_new, &dups)) != AJ_E_OK)
            goto end;
    }
    /* The positions, in the same transaction. */
    for (int p = 0; p < s->n_parts; p++) {
        sink_part *pt = &s->parts[p];
        if (pt->from < 0) continue;
        char part[16], from[24], next[24], seq[24], head[2 * AJ_AUDIT_HASH_LEN + 3], nrows[24];
        snprintf(part, sizeof(part), "%d", p);
        snprintf(from, sizeof(from), "%" PRId64, pt->from);
        snprintf(next, sizeof(next), "%" PRId64, pt->last + 1);
        snprintf(seq, sizeof(seq), "%" PRId64, pt->t_seq);
        snprintf(nrows, sizeof(nrows), "%" PRId64, pt->t_rows);
        head[0] = '\\', head[1] = 'x';
        for (int k = 0; k < AJ_AUDIT_HASH_LEN; k++) sprintf(head + 2 + 2 * k, "%02x", pt->t_head[k]);
        const char *params[] = {s->o->topic, part, from, next, seq, head, nrows};
        if ((rc = sink_exec(s, "INSERT into sink_offsets",
                            "INSERT INTO sink_offsets (input_topic, input_partition, from_offset, next_offset, "
                            "chain_seq, chain_head, rows_inserted) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            7, params, PGRES_COMMAND_OK, NULL)) != AJ_E_OK)
            goto end;
    }
    if ((rc = sink_exec(s, "COMMIT", "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL)) != AJ_E_OK) goto end;
    for (int p = 0; p < s->n_parts; p++) {
        sink_part *pt = &s->parts[p];
        pt->seq = pt->t_seq;
        memcpy(pt->head, pt->t_head, AJ_AUDIT_HASH_LEN);
        pt->from = -1;
    }
    s->st->inserted += (int64_t)n_new;
    s->st->duplicates += (int64_t)dups;
    s->st->transactions++;
    s->n = 0;
end:
    if (rc != AJ_E_OK && PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(s->conn, "ROLLBACK");
        PQclear(r);
    }
    free(byid);
    return rc;
}

/* The follower's callback: decodes one correction into the batch; flushes a full batch. */
static aj_err sink_on_message(void *opaque, const aj_message *msg) {
    sink *s = opaque;
    const aj_schema *writer;
    uint64_t fp;
    aj_err rc;
    s->st->read++;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        sink_row *rows = realloc(s->rows, cap * sizeof(*rows));
        if (!rows) {
            snprintf(s->err, s->errlen, "out of memory");
            return AJ_E_FATAL;
        }
        s->rows = rows, s->cap = cap;
    }
    sink_row *r = &s->rows[s->n];
    int32_t p = msg->pos.partition;
    if (p < 0 || p >= s->n_parts) {
        snprintf(s->err, s->errlen, "%s: a message of partition %d, the topic has %d", s->o->topic, p, s->n_parts);
        return AJ_E_FATAL;
    }
    const char *why = NULL;
    rc = AJ_E_OK;
    if (!msg->value) why = "no value (a tombstone)";
    else if ((rc = aj_som_parse(msg->value, msg->value_len, &fp)) != AJ_E_OK) why = aj_err_str(rc);
    else if (!(writer = aj_schema_by_fingerprint(fp))) why = "unknown schema fingerprint";
    else if (writer->id != AJ_SCHEMA_CORRECTION) why = "a record of another schema";
    else if ((rc = aj_decode_correction(writer, (const uint8_t *)msg->value + AJ_SOM_HEADER_LEN,
                                        msg->value_len - AJ_SOM_HEADER_LEN, &r->c, r->origin, sizeof(r->origin))) != AJ_E_OK)
        why = aj_err_str(rc);
    else if (!r->c.correction_id[0]) why = "an empty correction id";
    if (why) {
        snprintf(s->err, s->errlen, "%s partition %d offset %" PRId64 ": not a correction (%s): the sink stops rather "
                 "than leave a hole in the log", s->o->topic, p, msg->pos.offset, why);
        return AJ_E_FATAL;
    }
    r->partition = p;
    r->offset = msg->pos.offset;
    if (s->parts[p].from < 0) s->parts[p].from = r->offset;
    s->parts[p].last = r->offset;
    s->n++;
    return s->n >= (size_t)s->o->batch_rows ? sink_flush(s) : AJ_E_OK;
}

aj_err aj_audit_sink_run(const aj_audit_sink_opts *o, volatile int *stop, aj_audit_sink_stats *st, char *err,
                         size_t errlen) {
    sink s = {.o = o, .st = st, .err = err, .errlen = errlen};
    aj_err rc;
    int64_t backoff = 100, down_ms = 0;
    memset(st, 0, sizeof(*st));
    aj_kafka_follower *f = aj_kafka_follower_create(o->cfg, o->topic, SINK_KAFKA_TIMEOUT_MS, &rc, err, errlen);
    if (!f) return rc;
    s.n_parts = st->partitions = aj_kafka_follower_partitions(f);
    if (!(s.parts = calloc((size_t)s.n_parts, sizeof(*s.parts)))) {
        snprintf(err, errlen, "out of memory");
        rc = AJ_E_NOMEM;
        goto end;
    }
    for (int p = 0; p < s.n_parts; p++) snprintf(s.parts[p].chain, sizeof(s.parts[p].chain), "%s:%d", o->topic, p);

    for (int first = 1; !(stop && *stop);) {
        if (!s.conn) {
            s.conn = aj_pg_connect(o->conninfo, first ? o->wait_ms : 0, &rc, err, errlen);
            if (s.conn) rc = sink_resume(&s, f);
            first = 0;
            for (int p = 0; p < s.n_parts; p++) s.parts[p].from = -1;
            s.n = 0;
        } else {
            int64_t count = 0;
            rc = aj_kafka_follower_sync(f, SINK_KAFKA_TIMEOUT_MS, sink_on_message, &s, &count, err, errlen);
            if (rc == AJ_E_OK) rc = sink_flush(&s);
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
            st->retries++;
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
    aj_kafka_follower_destroy(f);
    free(s.parts);
    free(s.rows);
    aj_bytes_free(&s.buf);
    aj_bytes_free(&s.canon);
    aj_bytes_free(&s.json);
    return rc;
}
