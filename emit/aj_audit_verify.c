/* aj_audit_verify.c - `ajuste audit verify`: recompute every hash chain of the audit log, check
 * the anchor file of chain heads (docs/audit.md, "Verify"). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "aj_audit.h"
#include "aj_pg.h"

#define VERIFY_FETCH 5000
#define VERIFY_ANCHOR_MAGIC "ajuste-audit-anchor v1"
#define VERIFY_CHAIN_LEN 320

/* What verify reads of each table: its canonical form, and how a row is named in a report. */
typedef struct verify_table {
    const char *name;
    const char *tag;
    const char *const *fields;    /* the SQL of each canonical field */
    int n_fields;
    const char *id_sql;           /* the row's name in a report */
    const char *what;             /* "correction", "invoice" */
    /* What the hash cannot see, checked beside it: guard_sql must give guard_want (NULL: the
     * rule_trace shape, aj_audit_trace_shape), else the row is bad for guard_why. */
    const char *guard_sql, *guard_want, *guard_why;
} verify_table;

static const verify_table verify_tables[AJ_AUDIT_TABLE__COUNT] = {
    /* The canonical form takes rule_trace's values as text (->>): a key renamed to one whose
     * value is empty, a null, or a number turned into a string would hash alike. */
    [AJ_AUDIT_CORRECTIONS] = {"corrections", AJ_AUDIT_CORRECTION_TAG, aj_audit_correction_sql,
                              AJ_AUDIT_CORRECTION_NFIELDS, "correction_id", "correction",
                              "(SELECT string_agg(key || ':' || jsonb_typeof(value), ',' ORDER BY octet_length(key), "
                              "key COLLATE \"C\") "
                              "FROM jsonb_each(rule_trace))",
                              NULL, "rule_trace's keys or their JSON types are not those the sink writes"},
    /* The canonical form has the periods to the millisecond, as the invoice carries them. */
    [AJ_AUDIT_INVOICE_HEADERS] = {"invoice_headers", AJ_AUDIT_INVOICE_TAG, aj_audit_invoice_sql,
                                  AJ_AUDIT_INVOICE_NFIELDS, "invoice_id || ' ' || status", "invoice",
                                  "(date_trunc('milliseconds', period_start) = period_start AND "
                                  "date_trunc('milliseconds', period_end) = period_end)::text",
                                  "true", "period_start or period_end has a fraction of a millisecond, which no "
                                  "invoice carries and the hash does not cover"},
};

/* A chain's head as an anchor file holds it, and whether the walk met it. */
typedef struct anchor_head {
    aj_audit_table table;
    char chain[VERIFY_CHAIN_LEN];
    int64_t seq;
    uint8_t hash[AJ_AUDIT_HASH_LEN];
    int met;
} anchor_head;

typedef struct verify {
    FILE *out;
    const verify_table *t;              /* the table being walked */
    anchor_head *anchors, *heads;
    size_t n_anchors, n_heads, cap_heads;
    char chain[VERIFY_CHAIN_LEN];       /* the chain being walked */
    int64_t seq, rows;                  /* its last seq and row count */
    uint8_t head[AJ_AUDIT_HASH_LEN];    /* its last recomputed row_hash */
    aj_bytes canon;
    char shape[AJ_AUDIT_TRACE_SHAPE_LEN];   /* aj_audit_trace_shape */
    char *err;
    size_t errlen;
} verify;

static void to_hex(const uint8_t *h, char out[2 * AJ_AUDIT_HASH_LEN + 1]) {
    for (int i = 0; i < AJ_AUDIT_HASH_LEN; i++) sprintf(out + 2 * i, "%02x", h[i]);
}

static int from_hex(const char *s, uint8_t out[AJ_AUDIT_HASH_LEN]) {
    if (strlen(s) != 2 * AJ_AUDIT_HASH_LEN) return -1;
    for (int i = 0; i < AJ_AUDIT_HASH_LEN; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static aj_err read_anchor(verify *v, const char *path) {
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0, bad_line = 0, magic = 0;
    if (!f) {
        snprintf(v->err, v->errlen, "--anchor %s: %s", path, strerror(errno));
        return AJ_E_IO;
    }
    while (fgets(line, sizeof(line), f)) {
        char table[32], chain[VERIFY_CHAIN_LEN], hex[2 * AJ_AUDIT_HASH_LEN + 2];
        int64_t seq;
        lineno++;
        line[strcspn(line, "\n")] = 0;
        if (lineno == 1) {
            if (strcmp(line, VERIFY_ANCHOR_MAGIC) != 0) break;
            magic = 1;
            continue;
        }
        if (!line[0] || line[0] == '#') continue;
        int t = AJ_AUDIT_TABLE__COUNT;
        if (sscanf(line, "%31s %319s %" SCNd64 " %65s", table, chain, &seq, hex) == 4)
            for (t = 0; t < AJ_AUDIT_TABLE__COUNT && strcmp(table, verify_tables[t].name) != 0; t++) {}
        if (t == AJ_AUDIT_TABLE__COUNT || seq < 1) {
            bad_line = lineno;
            break;
        }
        anchor_head *a = realloc(v->anchors, (v->n_anchors + 1) * sizeof(*a));
        if (!a) {
            fclose(f);
            snprintf(v->err, v->errlen, "out of memory");
            return AJ_E_NOMEM;
        }
        v->anchors = a;
        a = &v->anchors[v->n_anchors];
        memset(a, 0, sizeof(*a));
        a->table = (aj_audit_table)t;
        snprintf(a->chain, sizeof(a->chain), "%s", chain);
        a->seq = seq;
        if (from_hex(hex, a->hash) != 0) {
            bad_line = lineno;
            break;
        }
        v->n_anchors++;
    }
    fclose(f);
    if (!magic) {
        snprintf(v->err, v->errlen, "--anchor %s: not an anchor file (want a first line '%s')", path,
                 VERIFY_ANCHOR_MAGIC);
        return AJ_E_CONFIG;
    }
    if (bad_line) {
        snprintf(v->err, v->errlen, "--anchor %s line %d: want 'TABLE CHAIN SEQ HEX' (TABLE corrections or "
                 "invoice_headers, SEQ >= 1, HEX 64 hex digits)", path, bad_line);
        return AJ_E_CONFIG;
    }
    return AJ_E_OK;
}

/* The walk leaves a chain: remember its head; check an anchor past its end. */
static aj_err end_chain(verify *v) {
    if (!v->chain[0]) return AJ_E_OK;
    if (v->n_heads == v->cap_heads) {
        size_t cap = v->cap_heads ? 2 * v->cap_heads : 16;
        anchor_head *h = realloc(v->heads, cap * sizeof(*h));
        if (!h) {
            snprintf(v->err, v->errlen, "out of memory");
            return AJ_E_NOMEM;
        }
        v->heads = h, v->cap_heads = cap;
    }
    anchor_head *h = &v->heads[v->n_heads++];
    memset(h, 0, sizeof(*h));
    h->table = (aj_audit_table)(v->t - verify_tables);
    snprintf(h->chain, sizeof(h->chain), "%s", v->chain);
    h->seq = v->seq;
    memcpy(h->hash, v->head, AJ_AUDIT_HASH_LEN);
    v->chain[0] = 0;
    return AJ_E_OK;
}

static anchor_head *find_anchor(verify *v, const char *chain) {
    aj_audit_table t = (aj_audit_table)(v->t - verify_tables);
    for (size_t i = 0; i < v->n_anchors; i++)
        if (v->anchors[i].table == t && strcmp(v->anchors[i].chain, chain) == 0) return &v->anchors[i];
    return NULL;
}

/* One row of v->t: 0 chain, 1 chain_seq, 2 its id, 3 prev_hash hex, 4 row_hash hex, then the
 * canonical fields. Returns 1 when it is bad (reported), 0 when fine, -1 out of memory. */
static int check_row(verify *v, PGresult *res, int i) {
    const char *chain = PQgetvalue(res, i, 0), *id = PQgetvalue(res, i, 2);
    int64_t seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    uint8_t prev[AJ_AUDIT_HASH_LEN], stored[AJ_AUDIT_HASH_LEN], want[AJ_AUDIT_HASH_LEN];
    char a[2 * AJ_AUDIT_HASH_LEN + 1], b[2 * AJ_AUDIT_HASH_LEN + 1];
    const char *vals[AJ_AUDIT_MAX_FIELDS];
    const char *what = v->t->what;

    if (strcmp(chain, v->chain) != 0) {
        if (end_chain(v) != AJ_E_OK) return -1;
        snprintf(v->chain, sizeof(v->chain), "%s", chain);
        v->seq = 0, v->rows = 0;
        memset(v->head, 0, AJ_AUDIT_HASH_LEN);
    }
    if (seq != v->seq + 1) {
        fprintf(v->out, "BAD chain %s: after seq %" PRId64 " comes seq %" PRId64 " (%s %s): %s\n", chain,
                v->seq, seq, what, id, seq > v->seq + 1 ? "rows are missing" : "a seq repeats");
        return 1;
    }
    if (from_hex(PQgetvalue(res, i, 3), prev) != 0 || memcmp(prev, v->head, AJ_AUDIT_HASH_LEN) != 0) {
        to_hex(v->head, a);
        fprintf(v->out, "BAD chain %s seq %" PRId64 " (%s %s): prev_hash does not link to the row before: "
                "expected %s, stored %s\n", chain, seq, what, id, a, PQgetvalue(res, i, 3));
        return 1;
    }
    for (int k = 0; k < v->t->n_fields; k++) vals[k] = PQgetisnull(res, i, 5 + k) ? "" : PQgetvalue(res, i, 5 + k);
    v->canon.len = 0;
    if (aj_audit_canonical(&v->canon, v->t->tag, vals, (size_t)v->t->n_fields) != AJ_E_OK) return -1;
    aj_audit_row_hash(v->head, v->canon.data, v->canon.len, want);
    if (from_hex(PQgetvalue(res, i, 4), stored) != 0 || memcmp(stored, want, AJ_AUDIT_HASH_LEN) != 0) {
        to_hex(want, a);
        fprintf(v->out, "BAD chain %s seq %" PRId64 " (%s %s): row_hash does not match the row's content: "
                "expected %s, stored %s\n", chain, seq, what, id, a, PQgetvalue(res, i, 4));
        return 1;
    }
    const char *guard = PQgetisnull(res, i, 5 + v->t->n_fields) ? "" : PQgetvalue(res, i, 5 + v->t->n_fields);
    if (strcmp(guard, v->t->guard_want ? v->t->guard_want : v->shape) != 0) {
        fprintf(v->out, "BAD chain %s seq %" PRId64 " (%s %s): %s\n", chain, seq, what, id, v->t->guard_why);
        return 1;
    }
    anchor_head *an = find_anchor(v, chain);
    if (an && an->seq == seq) {
        an->met = 1;
        if (memcmp(an->hash, want, AJ_AUDIT_HASH_LEN) != 0) {
            to_hex(an->hash, a);
            to_hex(want, b);
            fprintf(v->out, "BAD chain %s seq %" PRId64 " (%s %s): the anchor holds %s, the log %s: the chain "
                    "was rewritten up to here\n", chain, seq, what, id, a, b);
            return 1;
        }
    }
    v->seq = seq, v->rows++;
    memcpy(v->head, want, AJ_AUDIT_HASH_LEN);
    return 0;
}

static aj_err write_anchor(verify *v, const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(v->err, v->errlen, "--write-anchor %s: %s", tmp, strerror(errno));
        return AJ_E_IO;
    }
    fprintf(f, "%s\n# table chain head_seq head_row_hash (ajuste audit verify --anchor FILE checks them)\n",
            VERIFY_ANCHOR_MAGIC);
    for (size_t i = 0; i < v->n_heads; i++) {
        char hex[2 * AJ_AUDIT_HASH_LEN + 1];
        to_hex(v->heads[i].hash, hex);
        fprintf(f, "%s %s %" PRId64 " %s\n", verify_tables[v->heads[i].table].name, v->heads[i].chain,
                v->heads[i].seq, hex);
    }
    int failed = fflush(f) != 0;
    failed |= ferror(f) != 0;
    failed |= fclose(f) != 0;
    if (failed || rename(tmp, path) != 0) {
        snprintf(v->err, v->errlen, "--write-anchor %s: %s", path, strerror(errno));
        remove(tmp);
        return AJ_E_IO;
    }
    return AJ_E_OK;
}

static aj_err verify_exec(PGconn *conn, const char *what, const char *sql, ExecStatusType want, PGresult **keep,
                          char *err, size_t errlen) {
    PGresult *res = PQexec(conn, sql);
    if (!res || PQresultStatus(res) != want) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
        aj_err rc = PQstatus(conn) != CONNECTION_OK ? AJ_E_RETRY : aj_pg_classify(state);
        snprintf(err, errlen, "%s: %.*s (SQLSTATE %s)", what, (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "",
                 state ? state : "none");
        PQclear(res);
        return rc;
    }
    if (keep) *keep = res;
    else PQclear(res);
    return AJ_E_OK;
}

/* Walks every chain of table t through a cursor, in the open transaction: result->rows and
 * table_rows grow by the rows checked; result->bad = 1 at the first bad row (reported). */
static aj_err walk_table(verify *v, PGconn *conn, aj_audit_table t, aj_audit_verify_result *result, aj_bytes *sql) {
    const verify_table *vt = &verify_tables[t];
    PGresult *res = NULL;
    char what[64];
    aj_err rc;
    v->t = vt;
    v->chain[0] = 0;
    snprintf(what, sizeof(what), "reading %s", vt->name);
    sql->len = 0;
    size_t need = 256 + strlen(vt->id_sql) + 2 * strlen(vt->name) + strlen(vt->guard_sql);
    for (int k = 0; k < vt->n_fields; k++) need += strlen(vt->fields[k]) + 2;
    if ((rc = aj_bytes_reserve(sql, need)) != AJ_E_OK) return rc;
    char *p = (char *)sql->data;
    p += sprintf(p, "DECLARE aj_verify NO SCROLL CURSOR FOR SELECT chain, chain_seq::text, %s, encode(prev_hash, "
                 "'hex'), encode(row_hash, 'hex')", vt->id_sql);
    for (int k = 0; k < vt->n_fields; k++) p += sprintf(p, ", %s", vt->fields[k]);
    p += sprintf(p, ", %s", vt->guard_sql);
    sprintf(p, " FROM %s ORDER BY %s.chain, %s.chain_seq", vt->name, vt->name, vt->name);

    if ((rc = verify_exec(conn, what, (const char *)sql->data, PGRES_COMMAND_OK, NULL, v->err, v->errlen)) != AJ_E_OK)
        return rc;
    for (;;) {
        if ((rc = verify_exec(conn, what, "FETCH 5000 FROM aj_verify", PGRES_TUPLES_OK, &res, v->err, v->errlen)) !=
            AJ_E_OK)
            return rc;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            int bad = check_row(v, res, i);
            if (bad < 0) {
                snprintf(v->err, v->errlen, "out of memory");
                PQclear(res);
                return AJ_E_NOMEM;
            }
            result->rows++, result->table_rows[t]++;
            if (bad) {
                result->bad = 1;
                PQclear(res);
                return AJ_E_OK;
            }
        }
        PQclear(res);
        if (n < VERIFY_FETCH) break;
    }
    if ((rc = end_chain(v)) != AJ_E_OK) return rc;
    return verify_exec(conn, what, "CLOSE aj_verify", PGRES_COMMAND_OK, NULL, v->err, v->errlen);
}

/* Each chain's head against the last sink_offsets row of its partition, which the sink commits
 * with the rows: the same seq and row_hash, and no chain without one, nor one with rows stored
 * that the log lacks. An owner who cuts a chain's tail (which verifies on its own) or adds a
 * chain must then also change sink_offsets. Sets result->bad at the first difference (reported). */
static aj_err check_offsets(verify *v, PGconn *conn, aj_audit_verify_result *result) {
    PGresult *res = NULL;
    aj_err rc = verify_exec(conn, "reading sink_offsets",
                            "SELECT DISTINCT ON (input_topic, input_partition) input_topic || ':' || input_partition, "
                            "chain_seq::text, encode(chain_head, 'hex') FROM sink_offsets "
                            "ORDER BY input_topic, input_partition, from_offset DESC",
                            PGRES_TUPLES_OK, &res, v->err, v->errlen);
    if (rc != AJ_E_OK) return rc;
    int n = PQntuples(res);
    for (size_t j = 0; j < v->n_heads && !result->bad; j++) {
        const anchor_head *h = &v->heads[j];
        char hex[2 * AJ_AUDIT_HASH_LEN + 1];
        int i = 0;
        while (i < n && strcmp(PQgetvalue(res, i, 0), h->chain) != 0) i++;
        to_hex(h->hash, hex);
        if (i == n) {
            fprintf(v->out, "BAD chain %s (%s): no sink_offsets row names it: the sink did not write it\n", h->chain,
                    verify_tables[h->table].name);
            result->bad = 1;
        } else if (strtoll(PQgetvalue(res, i, 1), NULL, 10) != h->seq || strcmp(PQgetvalue(res, i, 2), hex) != 0) {
            fprintf(v->out, "BAD chain %s (%s): ends at seq %" PRId64 " with head %s, sink_offsets says the sink stored "
                    "it up to seq %s with head %s: rows were removed from its tail or added to it, or sink_offsets was "
                    "changed\n", h->chain, verify_tables[h->table].name, h->seq, hex, PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2));
            result->bad = 1;
        }
    }
    for (int i = 0; i < n && !result->bad; i++) {
        size_t j = 0;
        while (j < v->n_heads && strcmp(v->heads[j].chain, PQgetvalue(res, i, 0)) != 0) j++;
        if (j == v->n_heads && strtoll(PQgetvalue(res, i, 1), NULL, 10) > 0) {
            fprintf(v->out, "BAD chain %s: not in the log, sink_offsets says the sink stored it up to seq %s: the "
                    "chain was removed\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
            result->bad = 1;
        }
    }
    PQclear(res);
    return AJ_E_OK;
}

aj_err aj_audit_verify(PGconn *conn, const char *anchor_in, const char *anchor_out, FILE *out,
                       aj_audit_verify_result *result, char *err, size_t errlen) {
    verify v = {.out = out, .err = err, .errlen = errlen};
    aj_audit_trace_shape(v.shape, sizeof(v.shape));
    aj_bytes sql = {0};
    aj_err rc;
    memset(result, 0, sizeof(*result));
    if (anchor_in && (rc = read_anchor(&v, anchor_in)) != AJ_E_OK) goto end;

    if ((rc = verify_exec(conn, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", PGRES_COMMAND_OK, NULL, err,
                          errlen)) != AJ_E_OK)
        goto end;
    for (int t = 0; t < AJ_AUDIT_TABLE__COUNT && !result->bad; t++)
        if ((rc = walk_table(&v, conn, (aj_audit_table)t, result, &sql)) != AJ_E_OK) goto end;
    for (size_t i = 0; i < v.n_heads; i++) result->table_chains[v.heads[i].table]++;
    result->chains = (int)v.n_heads + (result->bad ? 1 : 0);
    if (result->bad) goto done;
    for (size_t i = 0; i < v.n_heads; i++) {
        char hex[2 * AJ_AUDIT_HASH_LEN + 1];
        to_hex(v.heads[i].hash, hex);
        fprintf(out, "chain %s (%s): %" PRId64 " rows, head seq %" PRId64 " %s\n", v.heads[i].chain,
                verify_tables[v.heads[i].table].name, v.heads[i].seq, v.heads[i].seq, hex);
    }
    for (size_t i = 0; i < v.n_anchors; i++) {
        if (v.anchors[i].met) continue;
        int64_t have = 0;
        for (size_t j = 0; j < v.n_heads; j++)
            if (v.heads[j].table == v.anchors[i].table && strcmp(v.heads[j].chain, v.anchors[i].chain) == 0)
                have = v.heads[j].seq;
        fprintf(out, "BAD chain %s: ends at seq %" PRId64 ", the anchor says it reached seq %" PRId64
                ": rows were removed from its tail\n", v.anchors[i].chain, have, v.anchors[i].seq);
        result->bad = 1;
    }
    if (!result->bad && (rc = check_offsets(&v, conn, result)) != AJ_E_OK) goto end;
done:
    if (!result->bad && anchor_out) rc = write_anchor(&v, anchor_out);
    else rc = AJ_E_OK;
end:
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) PQclear(PQexec(conn, "ROLLBACK"));
    aj_bytes_free(&sql);
    aj_bytes_free(&v.canon);
    free(v.anchors);
    free(v.heads);
    return rc;
}
