/* aj_replay_pg.c - a replay's baseline from the PostgreSQL audit log: the corrections of one input topic and the
 * invoice headers, read-only. */
#include <stdlib.h>
#include <string.h>

#include "aj_pg.h"
#include "aj_replay.h"

#define RPG_FETCH 5000

/* Runs sql expecting status; on anything else err says what failed (doing) and libpq's message. */
static aj_err rpg_exec(PGconn *conn, const char *doing, const char *sql, int n_params, const char *const *params,
                       ExecStatusType want, PGresult **out, char *err, size_t errlen) {
    PGresult *res = n_params ? PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0) : PQexec(conn, sql);
    if (PQresultStatus(res) == want) {
        if (out) *out = res;
        else PQclear(res);
        return AJ_E_OK;
    }
    snprintf(err, errlen, "audit log: %s: %s", doing, PQresultErrorMessage(res));
    err[strcspn(err, "\n")] = '\0';
    aj_err rc = aj_pg_classify(PQresultErrorField(res, PG_DIAG_SQLSTATE));
    PQclear(res);
    return rc == AJ_E_OK ? AJ_E_IO : rc;
}

/* One row into c (the fields the diff uses). AJ_E_ARG naming the bad column. */
static aj_err rpg_row(PGresult *res, int i, aj_correction *c, char *origin, size_t origin_len, char *err,
                      size_t errlen) {
    char *end;
    memset(c, 0, sizeof(*c));
    snprintf(c->correction_id, sizeof(c->correction_id), "%s", PQgetvalue(res, i, 0));
    snprintf(c->account, sizeof(c->account), "%s", PQgetvalue(res, i, 1));
    snprintf(c->cycle_id, sizeof(c->cycle_id), "%s", PQgetvalue(res, i, 2));
    snprintf(c->record_id, sizeof(c->record_id), "%s", PQgetvalue(res, i, 3));
    const char *kind = PQgetvalue(res, i, 4);
    c->kind = strcmp(kind, "USAGE") == 0      ? AJ_KIND_USAGE
              : strcmp(kind, "TAX") == 0      ? AJ_KIND_TAX
              : strcmp(kind, "ONE_TIME") == 0 ? AJ_KIND_ONE_TIME
                                              : AJ_KIND_RECURRING;
    if (aj_service_parse(PQgetvalue(res, i, 5), &c->service) != AJ_E_OK) c->service = AJ_SERVICE__COUNT;
    if (aj_reason_parse(PQgetvalue(res, i, 6), &c->reason) != AJ_E_OK) {
        snprintf(err, errlen, "audit log: correction %s has an unknown reason '%s'", c->correction_id,
                 PQgetvalue(res, i, 6));
        return AJ_E_ARG;
    }
    c->legacy_amount = strtoll(PQgetvalue(res, i, 7), &end, 10);
    c->corrected_amount = strtoll(PQgetvalue(res, i, 8), &end, 10);
    c->delta = c->corrected_amount - c->legacy_amount;   /* the table's check constraint holds it */
    snprintf(c->invoice_id, sizeof(c->invoice_id), "%s", PQgetvalue(res, i, 9));
    snprintf(c->trace.zone, sizeof(c->trace.zone), "%s", PQgetvalue(res, i, 10));
    snprintf(origin, origin_len, "%s", PQgetvalue(res, i, 11));
    c->source.origin = origin;
    c->source.partition = (int32_t)strtol(PQgetvalue(res, i, 12), &end, 10);
    c->source.offset = strtoll(PQgetvalue(res, i, 13), &end, 10);
    return AJ_E_OK;
}

/* Fetches the open cursor `cursor` to its end, handing each row to row(opaque, res, i). */
static aj_err rpg_fetch_all(PGconn *conn, const char *cursor, const char *doing,
                            aj_err (*row)(void *opaque, PGresult *res, int i), void *opaque, char *err, size_t errlen) {
    char fetch[128];
    snprintf(fetch, sizeof(fetch), "FETCH %d FROM %s", RPG_FETCH, cursor);
    for (;;) {
        PGresult *res;
        aj_err rc = rpg_exec(conn, doing, fetch, 0, NULL, PGRES_TUPLES_OK, &res, err, errlen);
        if (rc != AJ_E_OK) return rc;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++)
            if ((rc = row(opaque, res, i)) != AJ_E_OK) {
                PQclear(res);
                return rc;
            }
        PQclear(res);
        if (n < RPG_FETCH) return AJ_E_OK;
    }
}

typedef struct rpg_ctx {
    aj_err (*fn)(void *opaque, const aj_correction *c);
    aj_err (*inv_fn)(void *opaque, const aj_invoice *inv);
    void *opaque;
    int64_t *count, *invoices;
    char *err;
    size_t errlen;
} rpg_ctx;

static aj_err rpg_correction(void *opaque, PGresult *res, int i) {
    rpg_ctx *x = opaque;
    aj_correction c;
    char where[256];
    aj_err rc;
    if ((rc = rpg_row(res, i, &c, where, sizeof(where), x->err, x->errlen)) != AJ_E_OK) return rc;
    if ((rc = x->fn(x->opaque, &c)) != AJ_E_OK) {
        snprintf(x->err, x->errlen, "audit log: correction %s: %s", c.correction_id, aj_err_str(rc));
        return rc;
    }
    (*x->count)++;
    return AJ_E_OK;
}

/* An invoice header as an invoice with the fields the diff keeps (id, account, cycle, amount due). */
static aj_err rpg_invoice(void *opaque, PGresult *res, int i) {
    rpg_ctx *x = opaque;
    aj_invoice inv;
    char *end;
    aj_err rc;
    memset(&inv, 0, sizeof(inv));
    snprintf(inv.invoice_id, sizeof(inv.invoice_id), "%s", PQgetvalue(res, i, 0));
    snprintf(inv.account, sizeof(inv.account), "%s", PQgetvalue(res, i, 1));
    snprintf(inv.cycle_id, sizeof(inv.cycle_id), "%s", PQgetvalue(res, i, 2));
    inv.amount_due = strtoll(PQgetvalue(res, i, 3), &end, 10);
    inv.corrected_total = inv.amount_due;
    if ((rc = x->inv_fn(x->opaque, &inv)) != AJ_E_OK) {
        snprintf(x->err, x->errlen, "audit log: invoice %s: %s", inv.invoice_id, aj_err_str(rc));
        return rc;
    }
    (*x->invoices)++;
    return AJ_E_OK;
}

aj_err aj_replay_read_audit_log(const char *conninfo, const char *origin,
                                aj_err (*fn)(void *opaque, const aj_correction *c),
                                aj_err (*inv_fn)(void *opaque, const aj_invoice *inv), void *opaque, int64_t *count,
                                int64_t *invoices, char *err, size_t errlen) {
    static const char declare[] =
        "DECLARE aj_replay NO SCROLL CURSOR FOR SELECT correction_id, account, cycle_id, record_id, record_kind, "
        "service, reason, legacy_amount::text, corrected_amount::text, invoice_id, "
        "coalesce(rule_trace->>'zone', ''), source_origin, source_partition::text, source_offset::text "
        "FROM corrections WHERE $1::text IS NULL OR source_origin = $1::text";
    /* An invoice held, then released as it is, has two headers: the released one counts, as
     * the invoice topic comes first when the baseline is read from topics. */
    static const char declare_inv[] =
        "DECLARE aj_replay_inv NO SCROLL CURSOR FOR SELECT DISTINCT ON (invoice_id) invoice_id, account, cycle_id, "
        "amount_due::text FROM invoice_headers ORDER BY invoice_id, status = 'HELD'";
    const char *params[1] = {origin};
    aj_err rc;
    PGconn *conn = aj_pg_connect(conninfo, 0, &rc, err, errlen);
    rpg_ctx x = {fn, inv_fn, opaque, count, invoices, err, errlen};

    *count = *invoices = 0;
    if (!conn) return rc;
    if ((rc = rpg_exec(conn, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, PGRES_COMMAND_OK,
                       NULL, err, errlen)) != AJ_E_OK ||
        (rc = rpg_exec(conn, "reading corrections", declare, 1, params, PGRES_COMMAND_OK, NULL, err, errlen)) !=
            AJ_E_OK ||
        (rc = rpg_fetch_all(conn, "aj_replay", "reading corrections", rpg_correction, &x, err, errlen)) != AJ_E_OK)
        goto end;
    if (inv_fn &&
        ((rc = rpg_exec(conn, "reading invoice headers", declare_inv, 0, NULL, PGRES_COMMAND_OK, NULL, err, errlen)) !=
             AJ_E_OK ||
         (rc = rpg_fetch_all(conn, "aj_replay_inv", "reading invoice headers", rpg_invoice, &x, err, errlen)) !=
             AJ_E_OK))
        goto end;
    rc = AJ_E_OK;
end:
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) PQclear(PQexec(conn, "ROLLBACK"));
    PQfinish(conn);
    return rc;
}
