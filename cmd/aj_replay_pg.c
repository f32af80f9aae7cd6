/* aj_replay_pg.c - a replay's baseline from the PostgreSQL audit log: the corrections of one input topic, read-only. */
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
    c->kind = strcmp(PQgetvalue(res, i, 4), "USAGE") == 0 ? AJ_KIND_USAGE : AJ_KIND_RECURRING;
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

aj_err aj_replay_read_audit_log(const char *conninfo, const char *origin,
                                aj_err (*fn)(void *opaque, const aj_correction *c), void *opaque, int64_t *count,
                                char *err, size_t errlen) {
    static const char declare[] =
        "DECLARE aj_replay NO SCROLL CURSOR FOR SELECT correction_id, account, cycle_id, record_id, record_kind, "
        "service, reason, legacy_amount::text, corrected_amount::text, invoice_id, "
        "coalesce(rule_trace->>'zone', ''), source_origin, source_partition::text, source_offset::text "
        "FROM corrections WHERE $1::text IS NULL OR source_origin = $1::text";
    const char *params[1] = {origin};
    char where[256];
    aj_err rc;
    PGresult *res = NULL;
    PGconn *conn = aj_pg_connect(conninfo, 0, &rc, err, errlen);

    *count = 0;
    if (!conn) return rc;
    if ((rc = rpg_exec(conn, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, PGRES_COMMAND_OK,
                       NULL, err, errlen)) != AJ_E_OK ||
        (rc = rpg_exec(conn, "reading corrections", declare, 1, params, PGRES_COMMAND_OK, NULL, err, errlen)) !=
            AJ_E_OK)
        goto end;
    for (;;) {
        if ((rc = rpg_exec(conn, "reading corrections", "FETCH 5000 FROM aj_replay", 0, NULL, PGRES_TUPLES_OK, &res,
                           err, errlen)) != AJ_E_OK)
            goto end;
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            aj_correction c;
            if ((rc = rpg_row(res, i, &c, where, sizeof(where), err, errlen)) != AJ_E_OK) goto end;
            if ((rc = fn(opaque, &c)) != AJ_E_OK) {
                snprintf(err, errlen, "audit log: correction %s: %s", c.correction_id, aj_err_str(rc));
                goto end;
            }
            (*count)++;
        }
        PQclear(res);
        res = NULL;
        if (n < RPG_FETCH) break;
    }
    rc = AJ_E_OK;
end:
    PQclear(res);
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE) PQclear(PQexec(conn, "ROLLBACK"));
    PQfinish(conn);
    return rc;
}
