/* aj_cmd_audit_report.c - `ajuste audit show|summary|rootcause|export`: the auditor's reports,
 * read from the correction log in one read-only transaction (docs/audit.md "Reports"). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aj_audit_report.h"
#include "aj_cmd.h"
#include "aj_pg.h"
#include "aj_render.h"
#include "aj_types.h"

#define REP_MAX_CURRENCIES 64
#define REP_NOTE_LEN 1024
#define REP_SENTENCE_LEN 1024
#define REP_PRICE_DECIMALS 4   /* an average price is shown to 4 decimals at most */

typedef enum rep_kind { REP_SHOW, REP_SUMMARY, REP_ROOTCAUSE } rep_kind;
typedef enum rep_format { REP_TEXT, REP_CSV } rep_format;

/* What one report run reads and where its first error goes. */
typedef struct rep_ctx {
    PGconn *conn;
    const char *cycle, *account;   /* account: NULL but for show */
    struct {
        char code[8];
        int decimals;
    } dec[REP_MAX_CURRENCIES];     /* the currencies' decimals, from invoice_headers */
    int n_dec;
    char err[2048];
} rep_ctx;

/* The counts and amounts of a group of corrections. */
typedef struct rep_sum {
    int64_t n, applied, flagged, held;
    aj_money legacy, corrected, over, under, net, applied_net;
} rep_sum;

/* ------------------------------------------------------------------ SQL */

/* Runs sql with params (NULL values are SQL NULL); the result when its status is want, else NULL
 * with ctx->err naming what, the server's message and the SQLSTATE. */
static PGresult *rep_query(rep_ctx *x, const char *what, const char *sql, int n, const char *const *params,
                           ExecStatusType want) {
    PGresult *res = PQexecParams(x->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (res && PQresultStatus(res) == want) return res;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(x->conn);
    if (!msg || !*msg) msg = PQerrorMessage(x->conn);
    snprintf(x->err, sizeof(x->err), "%s: %.*s (SQLSTATE %s)%s", what, (int)strcspn(msg, "\n"), msg,
             state ? state : "none",
             state && strcmp(state, "42501") == 0 ? "; connect as a member of " AJ_PG_ROLE_AUDITOR : "");
    PQclear(res);
    return NULL;
}

/* A bigint or numeric result value (a sum) as int64: 0 or -1 with ctx->err. NULL (SQL NULL) is 0. */
static int rep_int(rep_ctx *x, const PGresult *res, int row, int col, int64_t *out) {
    if (PQgetisnull(res, row, col)) {
        *out = 0;
        return 0;
    }
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        snprintf(x->err, sizeof(x->err), "the value '%s' of column %s does not fit in 64 bits", s,
                 PQfname(res, col));
        return -1;
    }
    *out = v;
    return 0;
}

static int rep_add(rep_ctx *x, int64_t *acc, int64_t v) {
    if (aj_money_add(*acc, v, acc) == AJ_E_OK) return 0;
    snprintf(x->err, sizeof(x->err), "a total does not fit in 64 bits");
    return -1;
}

static int rep_sum_add(rep_ctx *x, rep_sum *to, const rep_sum *s) {
    return rep_add(x, &to->n, s->n) || rep_add(x, &to->applied, s->applied) || rep_add(x, &to->flagged, s->flagged) ||
           rep_add(x, &to->held, s->held) || rep_add(x, &to->legacy, s->legacy) ||
           rep_add(x, &to->corrected, s->corrected) || rep_add(x, &to->over, s->over) ||
           rep_add(x, &to->under, s->under) || rep_add(x, &to->net, s->net) ||
           rep_add(x, &to->applied_net, s->applied_net)
               ? -1
               : 0;
}

/* The columns every grouped query returns, from col on, in this order (SQL below). */
#define REP_SUM_SQL                                                                                                   \
    "count(*), count(*) FILTER (WHERE disposition = 'APPLY'), count(*) FILTER (WHERE disposition = 'FLAG'), "         \
    "count(*) FILTER (WHERE disposition = 'HOLD'), sum(legacy_amount), sum(corrected_amount), "                       \
    "sum(delta) FILTER (WHERE delta < 0), sum(delta) FILTER (WHERE delta > 0), sum(delta), "                          \
    "sum(delta) FILTER (WHERE disposition = 'APPLY')"
#define REP_SUM_NCOLS 10

static int rep_sum_read(rep_ctx *x, const PGresult *res, int row, int col, rep_sum *s) {
    int64_t *f[REP_SUM_NCOLS] = {&s->n,   &s->applied, &s->flagged, &s->held, &s->legacy, &s->corrected,
                                 &s->over, &s->under,  &s->net,     &s->applied_net};
    for (int i = 0; i < REP_SUM_NCOLS; i++)
        if (rep_int(x, res, row, col + i, f[i]) != 0) return -1;
    return 0;
}

/* ISO 4217 minor units of the currencies whose minor unit is not 2 (used for a currency no
 * invoice header of the log names). */
static int rep_iso_decimals(const char *code) {
    static const struct {
        const char *code;
        int decimals;
    } iso[] = {
        {"BHD", 3}, {"BIF", 0}, {"CLF", 4}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"IQD", 3}, {"ISK", 0},
        {"JOD", 3}, {"JPY", 0}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"OMR", 3}, {"PYG", 0},
        {"RWF", 0}, {"TND", 3}, {"UGX", 0}, {"UYI", 0}, {"UYW", 4}, {"VND", 0}, {"VUV", 0}, {"XAF", 0},
        {"XOF", 0}, {"XPF", 0},
    };
    for (size_t i = 0; i < sizeof(iso) / sizeof(iso[0]); i++)
        if (strcmp(iso[i].code, code) == 0) return iso[i].decimals;
    return 2;
}

/* The decimals amounts of currency code are shown with: the invoices' (invoice_headers), else ISO 4217. */
static int rep_decimals(const rep_ctx *x, const char *code) {
    for (int i = 0; i < x->n_dec; i++)
        if (strcmp(x->dec[i].code, code) == 0) return x->dec[i].decimals;
    return rep_iso_decimals(code);
}

static int rep_load_decimals(rep_ctx *x) {
    PGresult *res = rep_query(x, "reading the currencies' decimals from invoice_headers",
                              "SELECT currency, max(currency_decimals) FROM invoice_headers GROUP BY currency "
                              "ORDER BY currency",
                              0, NULL, PGRES_TUPLES_OK);
    if (!res) return -1;
    for (int i = 0; i < PQntuples(res) && x->n_dec < REP_MAX_CURRENCIES; i++) {
        snprintf(x->dec[x->n_dec].code, sizeof(x->dec[0].code), "%s", PQgetvalue(res, i, 0));
        x->dec[x->n_dec++].decimals = atoi(PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return 0;
}

/* The selection's WHERE: the cycle, and the account when there is one ($1, $2). */
#define REP_WHERE " WHERE cycle_id = $1 AND ($2::text IS NULL OR account = $2) "

/*
 * 0 when the selection has corrections; else -1 with ctx->err saying so: which cycles the log
 * holds (an unknown cycle), or how many corrections and accounts the cycle has (an account
 * without corrections in it).
 */
static int rep_check_selection(rep_ctx *x) {
    const char *p[2] = {x->cycle, x->account};
    PGresult *res = rep_query(x, "counting the selection's corrections",
                              "SELECT count(*), (SELECT count(*) FROM corrections WHERE cycle_id = $1), "
                              "(SELECT count(DISTINCT account) FROM corrections WHERE cycle_id = $1) "
                              "FROM corrections" REP_WHERE,
                              2, p, PGRES_TUPLES_OK);
    if (!res) return -1;
    int64_t n = 0, in_cycle = 0, accounts = 0;
    int rc = rep_int(x, res, 0, 0, &n) || rep_int(x, res, 0, 1, &in_cycle) || rep_int(x, res, 0, 2, &accounts);
    PQclear(res);
    if (rc) return -1;
    if (n > 0) return 0;
    char a[AJ_RENDER_AMOUNT_LEN], b[AJ_RENDER_AMOUNT_LEN];
    if (x->account && in_cycle > 0) {
        snprintf(x->err, sizeof(x->err),
                 "no corrections for account %s in cycle %s (the cycle has %s corrections of %s accounts; an account "
                 "whose invoice needed none has no rows)",
                 x->account, x->cycle, aj_render_int(in_cycle, a, sizeof(a)), aj_render_int(accounts, b, sizeof(b)));
        return -1;
    }
    res = rep_query(x, "listing the cycles", "SELECT cycle_id, count(*) FROM corrections GROUP BY 1 ORDER BY 1", 0,
                    NULL, PGRES_TUPLES_OK);
    if (!res) return -1;
    int len = snprintf(x->err, sizeof(x->err), "no rows for cycle %s in the log; ", x->cycle);
    if (len < 0 || len >= (int)sizeof(x->err)) len = (int)sizeof(x->err) - 1;   /* a cycle as long as the message */
    if (PQntuples(res) == 0) snprintf(x->err + len, sizeof(x->err) - (size_t)len, "the log holds no corrections at all");
    for (int i = 0; i < PQntuples(res) && len < (int)sizeof(x->err) - 1; i++) {
        int64_t c = 0;
        rep_int(x, res, i, 1, &c);
        int w = snprintf(x->err + len, sizeof(x->err) - (size_t)len, "%s%s (%s corrections)",
                         i ? ", " : "the cycles present: ", PQgetvalue(res, i, 0), aj_render_int(c, a, sizeof(a)));
        len = w < 0 || w >= (int)sizeof(x->err) - len ? (int)sizeof(x->err) - 1 : len + w;
    }
    PQclear(res);
    return -1;
}

/* "-46.62 BRL" into buf. */
static const char *rep_amount_cur(aj_money m, const rep_ctx *x, const char *cur, int sign, char *buf, size_t len) {
    char a[AJ_RENDER_AMOUNT_LEN];
    snprintf(buf, len, "%s %s", aj_render_amount(m, rep_decimals(x, cur), sign, a, sizeof(a)), cur);
    return buf;
}

/* ------------------------------------------------------------------ the charts */

/*
 * The two charts of the HTML page: corrections by reason and by day, each bar's note the net
 * amount per currency. The day is the UTC day the sink committed the row: the log holds no time
 * of the usage record (docs/audit.md "Reports"), and the batch that stored a row is the
 * sink_offsets row of its chain whose range (chain_seq - rows_inserted, chain_seq] holds it.
 */
static int rep_charts(rep_ctx *x, aj_rep *r) {
    static const char *const sql[2] = {
        "SELECT reason, currency, count(*), sum(delta), sum(count(*)) OVER (PARTITION BY reason) AS n "
        "FROM corrections" REP_WHERE "GROUP BY reason, currency ORDER BY n DESC, reason, currency",
        "WITH b AS (SELECT input_topic || ':' || input_partition AS chain, chain_seq - rows_inserted AS lo, "
        "chain_seq AS hi, committed_at FROM sink_offsets WHERE rows_inserted > 0) "
        "SELECT coalesce(to_char(b.committed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'unknown') AS day, currency, "
        "count(*), sum(delta) FROM corrections c LEFT JOIN b ON b.chain = c.chain AND c.chain_seq > b.lo AND "
        "c.chain_seq <= b.hi WHERE c.cycle_id = $1 AND ($2::text IS NULL OR c.account = $2) "
        "GROUP BY 1, 2 ORDER BY 1, 2",
    };
    static const char *const title[2] = {"Corrections by reason (count; net amount per currency)",
                                         "Corrections by day stored (UTC; count; net amount per currency)"};
    static const char *const id[2] = {"chart-reason", "chart-day"};
    const char *p[2] = {x->cycle, x->account};

    for (int k = 0; k < 2; k++) {
        aj_rep_chart *c = &r->charts[k];
        c->title = title[k];
        c->id = id[k];
        PGresult *res = rep_query(x, k ? "the corrections by day" : "the corrections by reason", sql[k], 2, p,
                                  PGRES_TUPLES_OK);
        if (!res) return -1;
        int rows = PQntuples(res), i = 0, rc = 0;
        while (i < rows && rc == 0) {
            const char *label = PQgetvalue(res, i, 0);
            char note[REP_NOTE_LEN] = "", one[96];
            int64_t count = 0;
            size_t len = 0;
            for (; i < rows && strcmp(PQgetvalue(res, i, 0), label) == 0; i++) {
                int64_t n, net;
                if (rep_int(x, res, i, 2, &n) || rep_int(x, res, i, 3, &net) || rep_add(x, &count, n)) {
                    rc = -1;
                    break;
                }
                rep_amount_cur(net, x, PQgetvalue(res, i, 1), 1, one, sizeof(one));
                len += (size_t)snprintf(note + len, len < sizeof(note) ? sizeof(note) - len : 0, "%snet %s",
                                        len ? "; " : "", one);
                if (len >= sizeof(note)) len = sizeof(note) - 1;
            }
            if (rc == 0 && aj_rep_bar_add(c, label, count, note) != AJ_E_OK) {
                snprintf(x->err, sizeof(x->err), "out of memory");
                rc = -1;
            }
        }
        PQclear(res);
        if (rc) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ show */

enum {
    SH_LINE, SH_ID, SH_REASON, SH_DISP, SH_LEGACY, SH_CORRECTED, SH_DELTA, SH_CUR, SH_HYP, SH_DETAILS,
    SH_INVOICE, SH_RECORD, SH_KIND, SH_SERVICE, SH_CONTRACT, SH_VERSION, SH_TARIFF, SH_ZONE, SH_ORIGIN, SH_PART,
    SH_OFFSET, SH_LATE, SH__N
};

static const aj_rep_col show_cols[SH__N] = {
    {"invoice_line", "Line", AJ_REP_TEXT, AJ_REP_ALL},
    {"correction_id", "Correction", AJ_REP_TEXT, AJ_REP_ALL},
    {"reason", "Reason", AJ_REP_TEXT, AJ_REP_ALL},
    {"disposition", "Disposition", AJ_REP_TEXT, AJ_REP_ALL},
    {"legacy_amount", "Legacy", AJ_REP_MONEY, AJ_REP_ALL},
    {"corrected_amount", "Corrected", AJ_REP_MONEY, AJ_REP_ALL},
    {"delta", "Delta", AJ_REP_MONEY, AJ_REP_ALL},
    {"currency", "Currency", AJ_REP_TEXT, AJ_REP_ALL},
    {"hypothesis", "Hypothesis", AJ_REP_TEXT, AJ_REP_PROSE},
    {"details", "Record, contract and source", AJ_REP_TEXT, AJ_REP_HUMAN},
    {"invoice_id", "Invoice", AJ_REP_TEXT, AJ_REP_CSV},
    {"record_id", "Record", AJ_REP_TEXT, AJ_REP_CSV},
    {"record_kind", "Kind", AJ_REP_TEXT, AJ_REP_CSV},
    {"service", "Service", AJ_REP_TEXT, AJ_REP_CSV},
    {"contract_id", "Contract", AJ_REP_TEXT, AJ_REP_CSV},
    {"contract_version", "Version", AJ_REP_INT, AJ_REP_CSV},
    {"legacy_tariff_code", "Tariff code", AJ_REP_TEXT, AJ_REP_CSV},
    {"zone", "Zone", AJ_REP_TEXT, AJ_REP_CSV},
    {"source_origin", "Source", AJ_REP_TEXT, AJ_REP_CSV},
    {"source_partition", "Partition", AJ_REP_INT, AJ_REP_CSV},
    {"source_offset", "Offset", AJ_REP_INT, AJ_REP_CSV},
    {"late", "Late", AJ_REP_TEXT, AJ_REP_CSV},
};

/* The total rows of a group: line label, count, legacy, corrected and delta. */
static int show_total(rep_ctx *x, aj_rep *r, aj_rep_section *s, const char *label, const char *cur,
                      const rep_sum *t, int total) {
    char l[32], c[32], d[32], text[160], n[AJ_RENDER_AMOUNT_LEN];
    const char *cells[SH__N] = {0};
    snprintf(text, sizeof(text), "%s (%s correction%s)", label, aj_render_int(t->n, n, sizeof(n)), t->n == 1 ? "" : "s");
    snprintf(l, sizeof(l), "%" PRId64, t->legacy);
    snprintf(c, sizeof(c), "%" PRId64, t->corrected);
    snprintf(d, sizeof(d), "%" PRId64, t->net);
    cells[SH_LINE] = text, cells[SH_LEGACY] = l, cells[SH_CORRECTED] = c, cells[SH_DELTA] = d, cells[SH_CUR] = cur;
    if (!aj_rep_row_add(r, s, cells, total, rep_decimals(x, cur))) {
        snprintf(x->err, sizeof(x->err), "out of memory");
        return -1;
    }
    return 0;
}

/* One sentence per currency: the counts by disposition and the money. */
static void rep_sum_note(const rep_ctx *x, const char *cur, const rep_sum *t, char *buf, size_t len) {
    char o[96], u[96], n[96], a[96], c[4][AJ_RENDER_AMOUNT_LEN];
    snprintf(buf, len,
             "%s: %s corrections (%s applied, %s flagged, %s held): overcharges %s, undercharges %s, net %s; "
             "applied to the invoices %s.",
             cur, aj_render_int(t->n, c[0], sizeof(c[0])), aj_render_int(t->applied, c[1], sizeof(c[1])),
             aj_render_int(t->flagged, c[2], sizeof(c[2])), aj_render_int(t->held, c[3], sizeof(c[3])),
             rep_amount_cur(t->over, x, cur, 0, o, sizeof(o)), rep_amount_cur(t->under, x, cur, 1, u, sizeof(u)),
             rep_amount_cur(t->net, x, cur, 1, n, sizeof(n)), rep_amount_cur(t->applied_net, x, cur, 1, a, sizeof(a)));
}

/* Appends sentence to r->notes (a new paragraph). 0 or -1 with ctx->err. */
static int rep_note(rep_ctx *x, aj_rep *r, const char *sentence) {
    size_t have = r->notes ? strlen(r->notes) : 0, add = strlen(sentence);
    char *p = realloc(r->notes, have + add + 2);
    if (!p) {
        snprintf(x->err, sizeof(x->err), "out of memory");
        return -1;
    }
    if (have) p[have++] = '\n';
    memcpy(p + have, sentence, add + 1);
    r->notes = p;
    return 0;
}

/* Finds or adds the running total of currency cur among n (at most REP_MAX_CURRENCIES). */
static rep_sum *rep_cur_total(rep_ctx *x, char (*codes)[8], rep_sum *sums, int *n, const char *cur) {
    for (int i = 0; i < *n; i++)
        if (strcmp(codes[i], cur) == 0) return &sums[i];
    if (*n == REP_MAX_CURRENCIES) {
        snprintf(x->err, sizeof(x->err), "more than %d currencies in one report", REP_MAX_CURRENCIES);
        return NULL;
    }
    snprintf(codes[*n], 8, "%s", cur);
    memset(&sums[*n], 0, sizeof(sums[0]));
    return &sums[(*n)++];
}

/* The query's columns are show_cols' without SH_DETAILS: column c is cell c below SH_DETAILS, cell
 * c + 1 from it on. */
#define SQ_INVOICE (SH_INVOICE - 1)

static int rep_build_show(rep_ctx *x, aj_rep *r) {
    const char *p[2] = {x->cycle, x->account};
    PGresult *res = rep_query(x, "reading the account's corrections",
                              "SELECT invoice_line, correction_id, reason, disposition, legacy_amount, "
                              "corrected_amount, delta, currency, hypothesis, invoice_id, record_id, record_kind, "
                              "service, contract_id, contract_version, legacy_tariff_code, "
                              "coalesce(rule_trace->>'zone', ''), source_origin, source_partition, source_offset, "
                              "late::text FROM corrections" REP_WHERE
                              "ORDER BY invoice_id, currency, invoice_line, correction_id",
                              2, p, PGRES_TUPLES_OK);
    if (!res) return -1;
    char codes[REP_MAX_CURRENCIES][8];
    rep_sum all[REP_MAX_CURRENCIES], inv = {0};
    int n_cur = 0, rc = -1, n_inv = 0;
    aj_rep_section *sec = NULL;
    const int rows = PQntuples(res);
    r->cols = show_cols;
    r->n_cols = SH__N;

    for (int i = 0; i < rows; i++) {
        const char *cells[SH__N], *invoice = PQgetvalue(res, i, SQ_INVOICE), *cur = PQgetvalue(res, i, SH_CUR);
        char details[REP_NOTE_LEN], title[256];
        for (int c = 0; c < SH_DETAILS; c++) cells[c] = PQgetvalue(res, i, c);
        for (int c = SH_INVOICE; c < SH__N; c++) cells[c] = PQgetvalue(res, i, c - 1);
        const char *zone = cells[SH_ZONE], *tariff = cells[SH_TARIFF], *service = cells[SH_SERVICE];
        snprintf(details, sizeof(details),
                 "record %s (%s%s%s%s); contract %s version %s; legacy tariff code %s%s%s; from %s partition %s "
                 "offset %s",
                 cells[SH_RECORD], cells[SH_KIND], *service ? ", " : "", service,
                 strcmp(cells[SH_LATE], "true") == 0 ? ", late" : "", cells[SH_CONTRACT], cells[SH_VERSION],
                 *tariff ? tariff : "(none)", *zone ? ", zone " : "", zone, cells[SH_ORIGIN], cells[SH_PART],
                 cells[SH_OFFSET]);
        cells[SH_DETAILS] = details;

        /* A section per invoice and currency: an invoice has one currency, and even a log where
         * it had two would never add them. */
        if (!sec || strcmp(invoice, PQgetvalue(res, i - 1, SQ_INVOICE)) != 0 || strcmp(cur, PQgetvalue(res, i - 1, SH_CUR)) != 0) {
            if (sec && show_total(x, r, sec, "Invoice total", PQgetvalue(res, i - 1, SH_CUR), &inv, 1) != 0) goto end;
            snprintf(title, sizeof(title), "Invoice %s (%s)", invoice, cur);
            if (!(sec = aj_rep_section_add(r, title))) goto nomem;
            memset(&inv, 0, sizeof(inv));
            n_inv++;
        }
        rep_sum one = {.n = 1};
        const char *disp = cells[SH_DISP];
        if (rep_int(x, res, i, SH_LEGACY, &one.legacy) || rep_int(x, res, i, SH_CORRECTED, &one.corrected) ||
            rep_int(x, res, i, SH_DELTA, &one.net))
            goto end;
        one.applied = strcmp(disp, "APPLY") == 0, one.flagged = strcmp(disp, "FLAG") == 0;
        one.held = strcmp(disp, "HOLD") == 0;
        one.over = one.net < 0 ? one.net : 0, one.under = one.net > 0 ? one.net : 0;
        one.applied_net = one.applied ? one.net : 0;
        rep_sum *t = rep_cur_total(x, codes, all, &n_cur, cur);
        if (!t || rep_sum_add(x, &inv, &one) || rep_sum_add(x, t, &one)) goto end;
        if (!aj_rep_row_add(r, sec, cells, 0, rep_decimals(x, cur))) goto nomem;
    }
    if (sec && show_total(x, r, sec, "Invoice total", PQgetvalue(res, rows - 1, SH_CUR), &inv, 1) != 0) goto end;
    char title[128], note[REP_NOTE_LEN];
    snprintf(title, sizeof(title), "Totals of account %s in cycle %s (%d invoice%s), per currency", x->account,
             x->cycle, n_inv, n_inv == 1 ? "" : "s");
    if (!(sec = aj_rep_section_add(r, title))) goto nomem;
    for (int k = 0; k < n_cur; k++) {
        if (show_total(x, r, sec, "Total", codes[k], &all[k], 2) != 0) goto end;
        rep_sum_note(x, codes[k], &all[k], note, sizeof(note));
        if (rep_note(x, r, note) != 0) goto end;
    }
    rc = 0;
    goto end;
nomem:
    snprintf(x->err, sizeof(x->err), "out of memory");
end:
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------------ summary */

/* --by: the column title and the SQL of the grouping key (a fixed list, never user text). */
static const struct {
    const char *name, *title, *sql;
} summary_by[] = {
    {"reason", "Reason", "reason"},
    {"tariff-code", "Legacy tariff code", "legacy_tariff_code"},
    {"service", "Service", "service"},
    {"zone", "Zone", "coalesce(rule_trace->>'zone', '')"},
};

enum { SU_KEY, SU_CUR, SU_N, SU_APPLIED, SU_FLAGGED, SU_HELD, SU_OVER, SU_UNDER, SU_NET, SU_APPLIED_NET, SU__N };

/* The summary and root-cause rows' counts and amounts, cells k.. of a row (SU_N order). */
static void rep_sum_cells(const rep_sum *s, char (*buf)[32], const char **cells) {
    const int64_t v[8] = {s->n, s->applied, s->flagged, s->held, s->over, s->under, s->net, s->applied_net};
    for (int i = 0; i < 8; i++) {
        snprintf(buf[i], 32, "%" PRId64, v[i]);
        cells[i] = buf[i];
    }
}

/* Fills the cells of row i of res (its sums s, its rank in its currency), or, when total_cur is
 * not NULL, of the total row of that currency (i -1, s the total). 0 or -1 with ctx->err. */
typedef int (*rep_row_fn)(rep_ctx *x, const PGresult *res, int i, const rep_sum *s, int rank, const char *total_cur,
                          const char **cells, char (*buf)[32], char *prose, size_t prose_len);

/* Adds to r one section per currency of res (ordered by currency, in column cur_col; the sums
 * from column sum_col on): its rows, then its total row and a note. 0 or -1 with ctx->err. */
static int rep_build_grouped(rep_ctx *x, aj_rep *r, PGresult *res, int cur_col, int sum_col, rep_row_fn row_cells,
                             const char *what) {
    const int rows = PQntuples(res);
    aj_rep_section *sec = NULL;
    rep_sum total = {0};
    int rank = 0, rc = -1;
    const char **cells = calloc(r->n_cols, sizeof(char *));
    char buf[12][32], prose[REP_SENTENCE_LEN], note[REP_NOTE_LEN], title[128];
    if (!cells) goto nomem;
    for (int i = 0; i <= rows; i++) {
        const char *cur = i < rows ? PQgetvalue(res, i, cur_col) : NULL;
        if (sec && (!cur || strcmp(cur, PQgetvalue(res, i - 1, cur_col)) != 0)) {
            const char *prev = PQgetvalue(res, i - 1, cur_col);
            memset(cells, 0, r->n_cols * sizeof(char *));
            prose[0] = '\0';
            if (row_cells(x, res, -1, &total, 0, prev, cells, buf, prose, sizeof(prose)) != 0) goto end;
            if (!aj_rep_row_add(r, sec, cells, 2, rep_decimals(x, prev))) goto nomem;
            rep_sum_note(x, prev, &total, note, sizeof(note));
            if (rep_note(x, r, note) != 0) goto end;
            sec = NULL;
        }
        if (!cur) break;
        if (!sec) {
            snprintf(title, sizeof(title), "%s, %s (amounts at %d decimals)", what, cur, rep_decimals(x, cur));
            if (!(sec = aj_rep_section_add(r, title))) goto nomem;
            memset(&total, 0, sizeof(total));
            rank = 0;
        }
        rep_sum s;
        memset(cells, 0, r->n_cols * sizeof(char *));
        prose[0] = '\0';
        if (rep_sum_read(x, res, i, sum_col, &s) || rep_sum_add(x, &total, &s) ||
            row_cells(x, res, i, &s, ++rank, NULL, cells, buf, prose, sizeof(prose)) != 0)
            goto end;
        if (!aj_rep_row_add(r, sec, cells, 0, rep_decimals(x, cur))) goto nomem;
    }
    rc = 0;
    goto end;
nomem:
    snprintf(x->err, sizeof(x->err), "out of memory");
end:
    free(cells);
    return rc;
}

static int summary_row(rep_ctx *x, const PGresult *res, int i, const rep_sum *s, int rank, const char *total_cur,
                       const char **cells, char (*buf)[32], char *prose, size_t prose_len) {
    (void)x, (void)rank, (void)prose, (void)prose_len;
    const char *key = total_cur ? "Total" : PQgetvalue(res, i, 1);
    cells[SU_KEY] = *key ? key : "(none)";
    cells[SU_CUR] = total_cur ? total_cur : PQgetvalue(res, i, 0);
    rep_sum_cells(s, buf, cells + SU_N);
    return 0;
}

static int rep_build_summary(rep_ctx *x, aj_rep *r, int by, aj_rep_col *cols) {
    static const aj_rep_col base[SU__N] = {
        {"key", "", AJ_REP_TEXT, AJ_REP_ALL},
        {"currency", "Currency", AJ_REP_TEXT, AJ_REP_ALL},
        {"corrections", "Corrections", AJ_REP_INT, AJ_REP_ALL},
        {"applied", "Applied", AJ_REP_INT, AJ_REP_ALL},
        {"flagged", "Flagged", AJ_REP_INT, AJ_REP_ALL},
        {"held", "Held", AJ_REP_INT, AJ_REP_ALL},
        {"overcharges", "Overcharges", AJ_REP_MONEY, AJ_REP_ALL},
        {"undercharges", "Undercharges", AJ_REP_MONEY, AJ_REP_ALL},
        {"net", "Net", AJ_REP_MONEY, AJ_REP_ALL},
        {"applied_net", "Net applied", AJ_REP_MONEY, AJ_REP_ALL},
    };
    static const char *const keys[] = {"reason", "legacy_tariff_code", "service", "zone"};
    char sql[1024];
    const char *p[2] = {x->cycle, NULL};
    memcpy(cols, base, sizeof(base));
    cols[SU_KEY].key = keys[by];
    cols[SU_KEY].title = summary_by[by].title;
    r->cols = cols;
    r->n_cols = SU__N;
    snprintf(sql, sizeof(sql),
             "SELECT currency, %s AS k, " REP_SUM_SQL " FROM corrections" REP_WHERE
             "GROUP BY 1, 2 ORDER BY 1, abs(sum(delta)) DESC, 2",
             summary_by[by].sql);
    PGresult *res = rep_query(x, "summing the cycle's corrections", sql, 2, p, PGRES_TUPLES_OK);
    if (!res) return -1;
    int rc = rep_build_grouped(x, r, res, 0, 2, summary_row, "Corrections");
    PQclear(res);
    if (rc == 0)
        rc = rep_note(x, r,
                      "Overcharges: the negative deltas (the legacy chain charged too much); undercharges: the "
                      "positive ones; net: their sum, whatever the disposition; net applied: the APPLY corrections "
                      "only, what the invoices changed (FLAG is advisory, HOLD waits for a reviewer). Amounts are "
                      "rounded half up to the currency's decimals for display; the totals are exact sums of the "
                      "micro-units.");
    return rc;
}

/* ------------------------------------------------------------------ rootcause */

enum { RC_RANK, RC_TARIFF, RC_REASON, RC_CUR, RC_N, RC_OVER, RC_UNDER, RC_NET, RC_HYP, RC__N };

static const aj_rep_col rootcause_cols[RC__N] = {
    {"rank", "#", AJ_REP_INT, AJ_REP_ALL},
    {"legacy_tariff_code", "Legacy tariff code", AJ_REP_TEXT, AJ_REP_ALL},
    {"reason", "Reason", AJ_REP_TEXT, AJ_REP_ALL},
    {"currency", "Currency", AJ_REP_TEXT, AJ_REP_ALL},
    {"corrections", "Corrections", AJ_REP_INT, AJ_REP_ALL},
    {"overcharges", "Overcharges", AJ_REP_MONEY, AJ_REP_ALL},
    {"undercharges", "Undercharges", AJ_REP_MONEY, AJ_REP_ALL},
    {"net", "Net", AJ_REP_MONEY, AJ_REP_ALL},
    {"hypothesis", "Hypothesis", AJ_REP_TEXT, AJ_REP_PROSE},
};

/* The unit a price is quoted per: "min" for 60 s of voice, "MB" for 1048576 bytes of data... */
static const char *rep_unit(const char *service, int64_t unit, char *buf, size_t len) {
    if (strcmp(service, "VOICE") == 0 && (unit == 1 || unit == 60 || unit == 3600))
        return unit == 1 ? "s" : unit == 60 ? "min" : "h";
    if (strcmp(service, "DATA") == 0 && (unit == 1024 || unit == 1048576 || unit == 1073741824))
        return unit == 1024 ? "KB" : unit == 1048576 ? "MB" : "GB";
    if ((strcmp(service, "SMS") == 0 || strcmp(service, "MMS") == 0) && unit == 1) return "msg";
    snprintf(buf, len, "%" PRId64 " %s", unit,
             strcmp(service, "VOICE") == 0 ? "s" : strcmp(service, "DATA") == 0 ? "bytes" : "units");
    return buf;
}

/* A price in micro-units: exact, trailing zeros dropped down to the currency's decimals. */
static const char *rep_price(aj_money m, int decimals, char *buf, size_t len) {
    aj_money_format(m, 6, buf, len);
    char *dot = strchr(buf, '.');
    if (!dot) return buf;
    char *end = buf + strlen(buf);
    while (end > dot + 1 + decimals && end[-1] == '0') *--end = '\0';
    if (end == dot + 1) *dot = '\0';
    return buf;
}

/* Reasons whose difference is a price: the average charged against the contract's average says it. */
static int rep_is_price_reason(const char *reason) {
    static const char *const price[] = {"STALE_CONTRACT_VERSION", "RATE_MISMATCH", "WRONG_ZONE", "WRONG_TIME_BAND",
                                        "TIER_NOT_APPLIED"};
    for (size_t i = 0; i < sizeof(price) / sizeof(price[0]); i++)
        if (strcmp(reason, price[i]) == 0) return 1;
    return 0;
}

/* Columns of the root-cause query after the sums (see rep_build_rootcause). */
enum { RQ_CUR, RQ_TARIFF, RQ_REASON, RQ_SUMS, RQ_HEAD = RQ_SUMS + REP_SUM_NCOLS, RQ_HEAD_N, RQ_VMIN, RQ_VMAX,
       RQ_UNITS, RQ_UNIT, RQ_QTY, RQ_USAGE, RQ_SERVICES, RQ_SERVICE, RQ_GROSS };

/*
 * The sentence that explains a group (docs/audit.md "Reports"): what the legacy tariff code does
 * wrong, from the rows. For a price reason on usage of one service and one rate unit, the average
 * price charged against the contract's (legacy and corrected totals over the billed quantity, in
 * 128 bits, rounded half up to 4 decimals); else the group's hypothesis when every row has the
 * same one (without a trailing parenthesis or "; <amount> removed|added"), or the reason's
 * description with the most frequent one ("most often" when it is at least half the rows, "e.g."
 * otherwise). Then the records and the money: "...: 24 records, 317.62 BRL overcharged".
 */
static int rootcause_row(rep_ctx *x, const PGresult *res, int i, const rep_sum *s, int rank, const char *total_cur,
                         const char **cells, char (*buf)[32], char *prose, size_t len) {
    snprintf(buf[8], 32, "%d", rank);
    snprintf(buf[9], 32, "%" PRId64, s->n);
    snprintf(buf[10], 32, "%" PRId64, s->over);
    snprintf(buf[11], 32, "%" PRId64, s->under);
    snprintf(buf[0], 32, "%" PRId64, s->net);
    cells[RC_N] = buf[9];
    cells[RC_OVER] = buf[10];
    cells[RC_UNDER] = buf[11];
    cells[RC_NET] = buf[0];
    if (total_cur) {
        cells[RC_TARIFF] = "Total";
        cells[RC_CUR] = total_cur;
        return 0;
    }
    const char *cur = PQgetvalue(res, i, RQ_CUR), *tariff = PQgetvalue(res, i, RQ_TARIFF);
    const char *reason = PQgetvalue(res, i, RQ_REASON), *head = PQgetvalue(res, i, RQ_HEAD);
    const char *service = PQgetvalue(res, i, RQ_SERVICE);
    int64_t head_n, vmin, vmax, units, unit, qty, services;
    int dec = rep_decimals(x, cur);
    size_t n = 0;
    char who[160], versions[64], a[AJ_RENDER_AMOUNT_LEN], b[96], c[96];
    aj_reason rc_reason;

    if (rep_int(x, res, i, RQ_HEAD_N, &head_n) || rep_int(x, res, i, RQ_VMIN, &vmin) ||
        rep_int(x, res, i, RQ_VMAX, &vmax) || rep_int(x, res, i, RQ_UNITS, &units) ||
        rep_int(x, res, i, RQ_SERVICES, &services))
        return -1;
    if (*tariff) snprintf(who, sizeof(who), "tariff code %s", tariff);
    else snprintf(who, sizeof(who), "charges the legacy chain made without a tariff code");
    if (vmin == vmax) snprintf(versions, sizeof(versions), "contract version %" PRId64, vmin);
    else snprintf(versions, sizeof(versions), "contract versions %" PRId64 "-%" PRId64, vmin, vmax);

    const char *desc = aj_reason_parse(reason, &rc_reason) == AJ_E_OK ? aj_reason_desc(rc_reason) : reason;
    const char *give = vmin == vmax ? "gives" : "give";
    char seen[REP_SENTENCE_LEN];
    if (head_n == s->n) snprintf(seen, sizeof(seen), "every record: %s", head);
    else if (2 * head_n >= s->n)
        snprintf(seen, sizeof(seen), "most often: %s, %s of %s records", head, aj_render_int(head_n, b, sizeof(b)),
                 aj_render_int(s->n, c, sizeof(c)));
    else snprintf(seen, sizeof(seen), "e.g. %s", head);

    aj_money lp = 0, cp = 0;
    int priced = rep_is_price_reason(reason) && strcmp(PQgetvalue(res, i, RQ_USAGE), "t") == 0 && units == 1 &&
                 services == 1 && rep_int(x, res, i, RQ_UNIT, &unit) == 0 && rep_int(x, res, i, RQ_QTY, &qty) == 0 &&
                 unit > 0 && qty > 0 && aj_money_muldiv(s->legacy, unit, qty, AJ_ROUND_HALF_UP, &lp) == AJ_E_OK &&
                 aj_money_muldiv(s->corrected, unit, qty, AJ_ROUND_HALF_UP, &cp) == AJ_E_OK &&
                 aj_money_round(lp, REP_PRICE_DECIMALS, AJ_ROUND_HALF_UP, &lp) == AJ_E_OK &&
                 aj_money_round(cp, REP_PRICE_DECIMALS, AJ_ROUND_HALF_UP, &cp) == AJ_E_OK;
    if (priced) {
        char u[48], p1[32], p2[32];
        const char *un = rep_unit(service, unit, u, sizeof(u));
        n = (size_t)snprintf(prose, len, "%s charges on average %s/%s where %s %s %s/%s; %s", who,
                             rep_price(lp, dec, p1, sizeof(p1)), un, versions, give, rep_price(cp, dec, p2, sizeof(p2)),
                             un, seen);
    } else if (head_n == s->n) {
        n = (size_t)snprintf(prose, len, "%s: %s (%s)", who, head, versions);
    } else {
        n = (size_t)snprintf(prose, len, "%s: %s; %s (%s)", who, desc, seen, versions);
    }
    n += (size_t)snprintf(prose + (n < len ? n : len), n < len ? len - n : 0, ": %s record%s",
                          aj_render_int(s->n, a, sizeof(a)), s->n == 1 ? "" : "s");
    if (s->over)
        n += (size_t)snprintf(prose + (n < len ? n : len), n < len ? len - n : 0, ", %s overcharged",
                              rep_amount_cur(-s->over, x, cur, 0, b, sizeof(b)));
    if (s->under)
        n += (size_t)snprintf(prose + (n < len ? n : len), n < len ? len - n : 0, ", %s undercharged",
                              rep_amount_cur(s->under, x, cur, 0, b, sizeof(b)));
    if (s->over && s->under)
        snprintf(prose + (n < len ? n : len), n < len ? len - n : 0, " (net %s)",
                 rep_amount_cur(s->net, x, cur, 1, b, sizeof(b)));

    cells[RC_RANK] = buf[8];
    cells[RC_TARIFF] = *tariff ? tariff : "(none)";
    cells[RC_REASON] = reason;
    cells[RC_CUR] = cur;
    cells[RC_HYP] = prose;
    return 0;
}

static int rep_build_rootcause(rep_ctx *x, aj_rep *r) {
    const char *p[2] = {x->cycle, NULL};
    r->cols = rootcause_cols;
    r->n_cols = RC__N;
    PGresult *res = rep_query(
        x, "grouping the cycle's corrections by legacy tariff code and reason",
        "WITH c AS (SELECT *, regexp_replace(regexp_replace(hypothesis, '; -?[0-9.]+ (removed|added)$', ''), "
        "' \\([^()]*\\)$', '') AS head FROM corrections" REP_WHERE "), "
        "h AS (SELECT currency, legacy_tariff_code, reason, head, count(*) AS n, row_number() OVER (PARTITION BY "
        "currency, legacy_tariff_code, reason ORDER BY count(*) DESC, head) AS rn FROM c GROUP BY 1, 2, 3, 4) "
        "SELECT c.currency, c.legacy_tariff_code, c.reason, " REP_SUM_SQL ", h.head, h.n, min(contract_version), "
        "max(contract_version), count(DISTINCT rule_trace->>'rate_unit'), min((rule_trace->>'rate_unit')::numeric), "
        "sum((rule_trace->>'billed_quantity')::numeric), bool_and(record_kind = 'USAGE'), count(DISTINCT service), "
        "min(service), coalesce(sum(delta) FILTER (WHERE delta > 0), 0) - coalesce(sum(delta) FILTER (WHERE delta < "
        "0), 0) AS gross FROM c JOIN h ON h.currency = c.currency AND h.legacy_tariff_code = c.legacy_tariff_code AND "
        "h.reason = c.reason AND h.rn = 1 GROUP BY c.currency, c.legacy_tariff_code, c.reason, h.head, h.n "
        "ORDER BY c.currency, gross DESC, c.legacy_tariff_code, c.reason",
        2, p, PGRES_TUPLES_OK);
    if (!res) return -1;
    int rc = rep_build_grouped(x, r, res, RQ_CUR, RQ_SUMS, rootcause_row, "Root causes");
    PQclear(res);
    if (rc == 0)
        rc = rep_note(x, r,
                      "Ranked within each currency by the money the legacy configuration got wrong: overcharges "
                      "plus undercharges, both as positive amounts. Each hypothesis is derived from the rows: the "
                      "average price charged against the contract's over the billed quantity (rule_trace price, "
                      "rate_unit, billed_quantity) for price reasons, else the rows' own hypothesis.");
    return rc;
}

/* ------------------------------------------------------------------ the commands */

static const char *const rep_names[] = {"show", "summary", "rootcause"};

static const char rep_common_help[] =
    "Output (one of):\n"
    "  --format text|csv    text (default; export: csv). CSV is RFC 4180 with a header line; its\n"
    "                       first column, row_type, is row, subtotal (an invoice's, in show) or\n"
    "                       total (one per currency); amounts are exact, the micro-units as\n"
    "                       decimals with 6 places (-0.300000), never rounded\n"
    "  --html FILE          write a standalone page (tables, and SVG charts of the corrections\n"
    "                       by reason and by day stored; no script, nothing loaded from\n"
    "                       elsewhere) to FILE and print its path\n\n"
    "Connection:\n"
    "  --db CONNINFO        libpq connection string or URI (default: the PG* variables)\n"
    "  --wait SECONDS       wait up to SECONDS for a server still starting (default 0)\n"
    "  -h, --help           this help\n\n"
    "Connect as a member of " AJ_PG_ROLE_AUDITOR " (SELECT only): everything is read in one\n"
    "REPEATABLE READ READ ONLY transaction, so the tables, totals and charts agree. Text and HTML\n"
    "show amounts at the currency's decimals (the log's invoice headers, else ISO 4217), rounded\n"
    "half up for display; every total is the exact sum of the micro-units, one per currency\n"
    "(amounts of different currencies are never added).\n\n"
    "Exit codes: 0 written, 1 no corrections for the selection (the message lists the cycles the\n"
    "log holds), the database could not be read or the output not written, 2 bad command line.\n";

static void rep_usage(FILE *out, rep_kind k) {
    static const char *const head[] = {
        "Usage: ajuste audit show --account A --cycle C [--format text|csv | --html FILE] [--db CONNINFO]\n\n"
        "Every correction of account A's invoices for billing cycle C, one section per invoice, ordered\n"
        "by invoice line: the line, the correction id, the reason, the disposition (APPLY, FLAG, HOLD),\n"
        "the legacy amount, the corrected amount and the delta, then the hypothesis that reproduces the\n"
        "legacy charge, the record (id, kind, service), the contract id and version, the legacy tariff\n"
        "code, the zone and where the record came from (topic, partition, offset). Each invoice ends\n"
        "with its totals; the report ends with the totals per currency and the overcharges,\n"
        "undercharges and net, all and applied.\n\n",
        "Usage: ajuste audit summary --cycle C [--by reason|tariff-code|service|zone]\n"
        "                            [--format text|csv | --html FILE] [--db CONNINFO]\n\n"
        "The corrections of billing cycle C grouped by reason (default), legacy tariff code, service or\n"
        "destination zone (the rule trace's zone; none for recurring, one-time and tax records), one\n"
        "section per currency ordered by the absolute net: the count and how many were applied,\n"
        "flagged and held; the overcharges (negative deltas), undercharges (positive deltas), the net\n"
        "and the net applied to the invoices; then a total row per currency.\n\n"
        "  --by KEY             reason, tariff-code, service or zone\n\n",
        "Usage: ajuste audit rootcause --cycle C [--format text|csv | --html FILE] [--db CONNINFO]\n\n"
        "The corrections of billing cycle C grouped by legacy tariff code and reason, ranked within\n"
        "each currency by the money wrong (overcharges plus undercharges), each with a hypothesis that\n"
        "explains it so the carrier can fix the legacy configuration, e.g.\n"
        "  tariff code VOZ_LOCAL_T2 charges on average 2.1442/min where contract versions 1-2 give\n"
        "  0.1146/min; e.g. rated as zone INTL_A instead of LOCAL: 24 records, 317.62 BRL overcharged\n"
        "For a price reason (STALE_CONTRACT_VERSION, RATE_MISMATCH, WRONG_ZONE, WRONG_TIME_BAND,\n"
        "TIER_NOT_APPLIED) on usage of one service and rate unit, the average price charged and the\n"
        "contract's (the legacy and corrected totals over the billed quantity); otherwise the rows'\n"
        "own hypothesis (the same for all, or the reason and the most frequent one).\n\n",
    };
    fputs(head[k], out);
    fputs(rep_common_help, out);
}

static void export_usage(FILE *out) {
    fputs("Usage: ajuste audit export show|summary|rootcause [that report's options] [--format csv|text]\n"
          "                          [--html FILE]\n\n"
          "The same reports as ajuste audit show, summary and rootcause, written as CSV by default\n"
          "(RFC 4180, a header line, row_type row, subtotal or total first, exact amounts with 6\n"
          "decimals), or as a standalone HTML page with --html FILE. ajuste audit export REPORT ... is\n"
          "REPORT ... --format csv; ajuste audit export REPORT --help lists the report's options.\n\n"
          "Examples:\n"
          "  ajuste audit export summary --cycle 2026-10 --by reason > summary.csv\n"
          "  ajuste audit export rootcause --cycle 2026-10 --html rootcause.html\n"
          "  ajuste audit show --account ACC000042 --cycle 2026-10 --format csv\n\n"
          "Exit codes: as the report's.\n",
          out);
}

/* What the command line asked for. */
typedef struct rep_args {
    rep_kind kind;
    const char *db, *cycle, *account, *html;
    int by, format, format_given;
    int64_t wait_s;
} rep_args;

/* Parses argv (argv[0] the report's name) into a; AJ_EXIT_OK to go on, else the exit code (help
 * printed: -1). */
static int rep_parse(int argc, char **argv, const aj_audit_report_hooks *h, rep_args *a) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},     {"wait", required_argument, 0, 'w'},
        {"cycle", required_argument, 0, 'c'},  {"account", required_argument, 0, 'a'},
        {"by", required_argument, 0, 'b'},     {"format", required_argument, 0, 'f'},
        {"html", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *name = rep_names[a->kind], *bad = NULL;
    int c;
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->db = optarg; break;
        case 'w':
            if (h->parse_wait(name, optarg, &a->wait_s) != 0) return AJ_EXIT_USAGE;
            break;
        case 'c': a->cycle = optarg; break;
        case 'a': a->account = optarg; break;
        case 'b': {
            a->by = -1;
            for (size_t i = 0; i < sizeof(summary_by) / sizeof(summary_by[0]); i++)
                if (strcmp(optarg, summary_by[i].name) == 0) a->by = (int)i;
            if (a->by < 0) {
                fprintf(stderr, "ajuste audit %s: --by %s: expected reason, tariff-code, service or zone\n", name,
                        optarg);
                return AJ_EXIT_USAGE;
            }
            if (a->kind != REP_SUMMARY) bad = "--by groups the summary only";
            break;
        }
        case 'f':
            if (strcmp(optarg, "csv") == 0) a->format = REP_CSV;
            else if (strcmp(optarg, "text") == 0) a->format = REP_TEXT;
            else {
                fprintf(stderr, "ajuste audit %s: --format %s: expected text or csv (--html FILE for a page)\n", name,
                        optarg);
                return AJ_EXIT_USAGE;
            }
            a->format_given = 1;
            break;
        case 'o': a->html = optarg; break;
        case 'h': rep_usage(stdout, a->kind); return -1;
        default:
            fprintf(stderr, "Usage: ajuste audit %s ...   (ajuste audit %s --help for more)\n", name, name);
            return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc) bad = "unexpected argument";
    else if (!a->cycle || !*a->cycle) bad = "--cycle C is required (ajuste audit summary --cycle X lists the cycles)";
    else if (a->kind == REP_SHOW && (!a->account || !*a->account)) bad = "--account A is required";
    else if (a->kind != REP_SHOW && a->account) bad = "--account selects the corrections of show only";
    else if (a->html && !*a->html) bad = "--html needs a file name";
    else if (a->html && a->format_given) bad = "--html writes a page: leave out --format";
    if (bad) {
        if (optind < argc) fprintf(stderr, "ajuste audit %s: unexpected argument '%s'\n", name, argv[optind]);
        else fprintf(stderr, "ajuste audit %s: %s\n", name, bad);
        return AJ_EXIT_USAGE;
    }
    return AJ_EXIT_OK;
}

/* Reads the report a asks for into r, in one read-only transaction. 0 or -1 with ctx->err. */
static int rep_read(rep_ctx *x, const rep_args *a, aj_rep *r, aj_rep_col *summary_cols) {
    PGresult *res = rep_query(x, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                              PGRES_COMMAND_OK);
    if (!res) return -1;
    PQclear(res);
    res = NULL;
    int rc = rep_load_decimals(x) || rep_check_selection(x) ? -1 : 0;
    if (rc == 0) {
        if (a->kind == REP_SHOW) rc = rep_build_show(x, r);
        else if (a->kind == REP_SUMMARY) rc = rep_build_summary(x, r, a->by, summary_cols);
        else rc = rep_build_rootcause(x, r);
    }
    if (rc == 0 && a->html) rc = rep_charts(x, r);
    if (rc == 0 && !(res = rep_query(x, "COMMIT", "COMMIT", 0, NULL, PGRES_COMMAND_OK))) rc = -1;
    PQclear(res);
    return rc;
}

/* Writes the page to path and prints the path. 0, or -1 with a message (no half page left). */
static int rep_write_page(const char *name, const char *path, const aj_rep *r) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ajuste audit %s: --html: cannot create '%s': %s\n", name, path, strerror(errno));
        return -1;
    }
    struct stat st;
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    aj_err rc = aj_rep_write_html(f, r);
    int failed = rc != AJ_E_OK;
    failed |= fclose(f) != 0;
    if (failed) {
        fprintf(stderr, "ajuste audit %s: cannot write '%s': %s\n", name, path,
                rc == AJ_E_NOMEM ? "out of memory" : strerror(errno));
        if (regular) remove(path);
        return -1;
    }
    printf("%s\n", path);
    return 0;
}

static int rep_run(int argc, char **argv, const aj_audit_report_hooks *h, rep_kind kind, int format) {
    rep_args a = {.kind = kind, .db = "", .format = format};
    rep_ctx x = {0};
    aj_rep r = {0};
    aj_rep_col summary_cols[SU__N];
    char where[512], text[512];
    int status = rep_parse(argc, argv, h, &a);
    if (status != AJ_EXIT_OK) return status < 0 ? AJ_EXIT_OK : status;

    const char *name = rep_names[kind];
    x.conn = h->open(name, a.db, a.wait_s, &status);
    if (!x.conn) return status;
    x.cycle = a.cycle;
    x.account = kind == REP_SHOW ? a.account : NULL;
    aj_pg_describe(x.conn, where, sizeof(where));
    status = AJ_EXIT_FAILURE;
    if (rep_read(&x, &a, &r, summary_cols) != 0) {
        fprintf(stderr, "ajuste audit %s: %s\n", name, x.err);
        goto end;
    }
    if (kind == REP_SHOW) snprintf(text, sizeof(text), "Corrections of account %s, cycle %s", a.account, a.cycle);
    else if (kind == REP_SUMMARY)
        snprintf(text, sizeof(text), "Corrections of cycle %s by %s", a.cycle, summary_by[a.by].name);
    else snprintf(text, sizeof(text), "Root causes of the corrections of cycle %s", a.cycle);
    r.title = strdup(text);
    snprintf(text, sizeof(text), "The correction log of %s, read in one read-only transaction.", where);
    r.subtitle = strdup(text);
    if (!r.title || !r.subtitle) {
        fprintf(stderr, "ajuste audit %s: out of memory\n", name);
        goto end;
    }
    if (a.html) {
        if (rep_write_page(name, a.html, &r) == 0) status = AJ_EXIT_OK;
        goto end;
    }
    aj_err rc = a.format == REP_CSV ? aj_rep_write_csv(stdout, &r) : aj_rep_write_text(stdout, &r);
    if (rc != AJ_E_OK) fprintf(stderr, "ajuste audit %s: cannot write the report: %s\n", name, aj_err_name(rc));
    else status = AJ_EXIT_OK;
end:
    aj_rep_free(&r);
    PQfinish(x.conn);
    return status;
}

int aj_audit_report_cmd(int argc, char **argv, const aj_audit_report_hooks *hooks) {
    int export = strcmp(argv[0], "export") == 0;
    if (export) {
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            export_usage(argc < 2 ? stderr : stdout);
            return argc < 2 ? AJ_EXIT_USAGE : AJ_EXIT_OK;
        }
        argc--, argv++;
    }
    for (int k = 0; k < (int)(sizeof(rep_names) / sizeof(rep_names[0])); k++)
        if (strcmp(argv[0], rep_names[k]) == 0) return rep_run(argc, argv, hooks, (rep_kind)k, export ? REP_CSV : REP_TEXT);
    fprintf(stderr, "ajuste audit export: unknown report '%s': expected show, summary or rootcause\n", argv[0]);
    return AJ_EXIT_USAGE;
}
