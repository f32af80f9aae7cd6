/* aj_pg.c - the PostgreSQL audit log: connection, SQLSTATE classification, migrations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aj_pg.h"
#include "aj_clock.h"

/* Every transaction of migrate holds this advisory lock ("ajuste" in ASCII). */
#define PG_MIGRATE_LOCK "107109864928357"
#define PG_TXN_ATTEMPTS 5

static const char *const pg_roles[] = {AJ_PG_ROLE_OWNER, AJ_PG_ROLE_WRITER, AJ_PG_ROLE_AUDITOR};

int aj_pg_schema_version(void) {
    int v = 0;
    for (const aj_pg_migration *m = aj_pg_migrations; m->name; m++) v = m->version;
    return v;
}

aj_err aj_pg_classify(const char *s) {
    static const char *const retry[] = {"40001", "40P01", "55P03", "53000", "53300", "57P01", "57P02", "57P03"};
    if (!s || strlen(s) != 5) return AJ_E_FATAL;
    if (s[0] == '0' && s[1] == '8') return AJ_E_RETRY;   /* connection exception */
    for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
        if (strcmp(s, retry[i]) == 0) return AJ_E_RETRY;
    return AJ_E_FATAL;
}

static void pg_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Copies a libpq message into buf on one line: its lines become sentences ("a\n\tb\n" ->
 * "a. b"), runs of blanks one space. */
static void pg_one_line(char *buf, size_t len, const char *msg) {
    size_t n = 0;
    int newline = 0;
    if (!len) return;
    for (const char *p = msg ? msg : ""; *p && n + 3 < len; p++) {
        if (*p == '\n' || *p == '\r') {
            newline = 1;
            continue;
        }
        char c = *p == '\t' ? ' ' : *p;
        if (c == ' ' && (n == 0 || buf[n - 1] == ' ')) continue;
        if (newline && n) {
            while (n && buf[n - 1] == ' ') n--;
            if (!strchr(".:;?!", buf[n - 1])) buf[n++] = '.';
            buf[n++] = ' ';
            if (c == ' ') c = 0;
        }
        newline = 0;
        if (c) buf[n++] = c;
    }
    while (n && buf[n - 1] == ' ') n--;
    buf[n] = '\0';
}

aj_err aj_pg_check_conninfo(const char *conninfo, char *err, size_t errlen) {
    char *msg = NULL;
    if (!conninfo || !*conninfo) return AJ_E_OK;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);
    if (opts) {
        PQconninfoFree(opts);
        return AJ_E_OK;
    }
    char line[512];
    pg_one_line(line, sizeof(line), msg ? msg : "out of memory");
    snprintf(err, errlen, "invalid connection string '%s': %s", conninfo, line);
    PQfreemem(msg);
    return AJ_E_CONFIG;
}

void aj_pg_describe(PGconn *conn, char *buf, size_t len) {
    const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn), *user = PQuser(conn);
    snprintf(buf, len, "database \"%s\" on host %s port %s as user %s", db ? db : "?",
             host && *host ? host : "(default socket)", port && *port ? port : "(default)", user ? user : "?");
}

PGconn *aj_pg_connect(const char *conninfo, int wait_ms, aj_err *rc, char *err, size_t errlen) {
    /* client_encoding after dbname: it overrides the conninfo's and PGCLIENTENCODING. The hash
     * chains are over the UTF-8 bytes of the text (docs/audit.md): the sink must send, and
     * verify and the reports read, UTF-8 whatever the client's environment says. */
    static const char *const keys[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
    const char *const values[] = {conninfo ? conninfo : "", "ajuste", "UTF8", NULL};
    char line[512], where[512];

    if ((*rc = aj_pg_check_conninfo(conninfo, err, errlen)) != AJ_E_OK) return NULL;
    if (wait_ms > 0) {
        int64_t deadline = aj_now_ms() + wait_ms;
        int backoff = 100;
        for (;;) {
            PGPing p = PQpingParams(keys, values, 1);
            if (p == PQPING_OK || p == PQPING_NO_ATTEMPT) break;   /* the connection says why */
            int64_t left = deadline - aj_now_ms();
            if (left <= 0) break;
            pg_sleep_ms(backoff < left ? backoff : (int)left);
            if (backoff < 2000) backoff *= 2;
        }
    }
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        *rc = AJ_E_OK;
        return conn;
    }
    if (!conn) {
        snprintf(err, errlen, "cannot connect to PostgreSQL: out of memory");
    } else {
        pg_one_line(line, sizeof(line), PQerrorMessage(conn));
        aj_pg_describe(conn, where, sizeof(where));
        snprintf(err, errlen, "cannot connect to PostgreSQL (%s): %s", where, line);
        PQfinish(conn);
    }
    *rc = AJ_E_IO;
    return NULL;
}

/* ---------------------------------------------------------------------------- migrate */

typedef struct pg_mig {
    PGconn *conn;
    FILE *report;
    char *err;
    size_t errlen;
    int create_roles;
    const char *ajuste_version;
    /* set by a transaction's body, taken only once it committed */
    int created;
    char created_names[128];
    int db_version;
    int skipped;          /* the migration was already applied */
} pg_mig;

/*
 * Runs sql (nparams text parameters; 0: the simple query protocol, which takes several
 * statements) and checks its status against COMMAND_OK or TUPLES_OK. On success *out takes the
 * result (PQclear it) or it is cleared when out is NULL. On failure err says
 * "<what>: <message> (SQLSTATE x)[; detail][; hint: h]" and the return is aj_pg_classify's,
 * AJ_E_FATAL when the connection is gone.
 */
static aj_err pg_run(pg_mig *m, const char *what, const char *sql, int nparams, const char *const *params,
                     PGresult **out) {
    PGresult *res = nparams ? PQexecParams(m->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                            : PQexec(m->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out) *out = res;
        else PQclear(res);
        return AJ_E_OK;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    char msg[512];
    pg_one_line(msg, sizeof(msg), primary ? primary : PQerrorMessage(m->conn));
    if (!msg[0]) snprintf(msg, sizeof(msg), "unexpected result %s", PQresStatus(st));
    snprintf(m->err, m->errlen, "%s: %s (SQLSTATE %s)%s%s%s%s", what, msg, state ? state : "none",
             detail ? "; " : "", detail ? detail : "", hint ? "; hint: " : "", hint ? hint : "");
    aj_err rc = PQstatus(m->conn) == CONNECTION_OK ? aj_pg_classify(state) : AJ_E_FATAL;
    if (rc == AJ_E_FATAL && state && strcmp(state, "42501") == 0) {
        /* Insufficient privilege: say who may run migrate. */
        size_t n = strlen(m->err);
        snprintf(m->err + n, m->errlen - n, "; migrate must run as a superuser, or as the database owner "
                 "who is a member of " AJ_PG_ROLE_OWNER " (with CREATEROLE, or --no-create-roles once the roles "
                 "exist); docs/audit.md, \"Who runs migrate\"");
    }
    PQclear(res);
    return rc;
}

/* The roles of pg_roles that do not exist, comma-separated in names; returns how many. */
static aj_err pg_missing_roles(pg_mig *m, int *n, char *names, size_t len) {
    PGresult *res = NULL;
    const char *params[] = {"{" AJ_PG_ROLE_OWNER "," AJ_PG_ROLE_WRITER "," AJ_PG_ROLE_AUDITOR "}"};
    aj_err rc = pg_run(m, "checking the roles",
                       "SELECT count(*), coalesce(string_agg(t.r, ', ' ORDER BY t.o), '') "
                       "FROM unnest($1::text[]) WITH ORDINALITY AS t(r, o) "
                       "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = t.r)",
                       1, params, &res);
    if (rc != AJ_E_OK) return rc;
    *n = atoi(PQgetvalue(res, 0, 0));
    snprintf(names, len, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return AJ_E_OK;
}

/* Transaction body: the roles, the connecting user's right to act as the owner, bootstrap.sql,
 * and the database's version. */
static aj_err pg_bootstrap(pg_mig *m) {
    PGresult *res = NULL;
    char names[128];
    int n = 0;
    aj_err rc;

    m->created = 0;
    m->created_names[0] = '\0';
    if (m->create_roles) {
        if ((rc = pg_missing_roles(m, &n, m->created_names, sizeof(m->created_names))) != AJ_E_OK) return rc;
        if (n && (rc = pg_run(m, "creating the roles (schemas/sql/roles.sql)", aj_pg_roles_sql, 0, NULL, NULL)) !=
                     AJ_E_OK)
            return rc;
        m->created = n;
    }
    if ((rc = pg_missing_roles(m, &n, names, sizeof(names))) != AJ_E_OK) return rc;
    if (n) {
        snprintf(m->err, m->errlen, "the role%s %s do%s not exist: run `ajuste audit migrate` without "
                 "--no-create-roles as a role with CREATEROLE, or have them created (CREATE ROLE <name> NOLOGIN; "
                 "docs/audit.md, \"Roles\")", n > 1 ? "s" : "", names, n > 1 ? "" : "es");
        return AJ_E_FATAL;
    }
    if ((rc = pg_run(m, "checking membership of " AJ_PG_ROLE_OWNER,
                     "SELECT pg_has_role('" AJ_PG_ROLE_OWNER "', 'MEMBER'), current_user", 0, NULL, &res)) != AJ_E_OK)
        return rc;
    int member = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    snprintf(names, sizeof(names), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!member) {
        snprintf(m->err, m->errlen, "user %s is neither a superuser nor a member of " AJ_PG_ROLE_OWNER
                 ", which owns the tables and runs the migrations: GRANT " AJ_PG_ROLE_OWNER " TO %s, or run "
                 "migrate as a superuser (docs/audit.md, \"Who runs migrate\")", names, names);
        return AJ_E_FATAL;
    }
    if ((rc = pg_run(m, "preparing the database (schemas/sql/bootstrap.sql)", aj_pg_bootstrap_sql, 0, NULL, NULL)) !=
        AJ_E_OK)
        return rc;
    if ((rc = pg_run(m, "reading the schema version",
                     "SELECT coalesce(max(version), 0) FROM ajuste_schema_migrations", 0, NULL, &res)) != AJ_E_OK)
        return rc;
    m->db_version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (m->db_version > aj_pg_schema_version()) {
        snprintf(m->err, m->errlen, "the database's schema is at version %d, newer than this ajuste knows (%d): "
                 "run a newer ajuste", m->db_version, aj_pg_schema_version());
        return AJ_E_FATAL;
    }
    return AJ_E_OK;
}

/* Transaction body: one migration, unless it is already applied (then its name and checksum
 * must match the embedded one). */
static aj_err pg_apply(pg_mig *m, const aj_pg_migration *mig) {
    PGresult *res = NULL;
    char version[16], what[160];
    aj_err rc;

    snprintf(version, sizeof(version), "%d", mig->version);
    const char *check[] = {version, mig->sql};
    m->skipped = 0;
    snprintf(what, sizeof(what), "applying %s (schemas/sql/%s.sql)", mig->name, mig->name);
    /* As the owner from the start: a member of ajuste_owner without INHERIT can read the version
     * table only after SET ROLE. */
    if ((rc = pg_run(m, what, "SET LOCAL ROLE " AJ_PG_ROLE_OWNER, 0, NULL, NULL)) != AJ_E_OK) return rc;
    if ((rc = pg_run(m, "reading the version table",
                     "SELECT name, checksum = sha256(convert_to($2::text, 'UTF8')) FROM ajuste_schema_migrations "
                     "WHERE version = $1::integer",
                     2, check, &res)) != AJ_E_OK)
        return rc;
    if (PQntuples(res) == 1) {
        int same_name = strcmp(PQgetvalue(res, 0, 0), mig->name) == 0;
        int same_text = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        if (!same_name) {
            snprintf(m->err, m->errlen, "migration %d is '%s' in the database but '%s' in this ajuste: the database "
                     "and this binary disagree on what version %d is", mig->version, PQgetvalue(res, 0, 0), mig->name,
                     mig->version);
            PQclear(res);
            return AJ_E_FATAL;
        }
        if (!same_text) {
            snprintf(m->err, m->errlen, "migration %d (%s) was applied with a text whose checksum differs from the "
                     "one this ajuste embeds: an applied migration was edited, or the version table was; an applied "
                     "migration must never change (write a new one)", mig->version, mig->name);
            PQclear(res);
            return AJ_E_FATAL;
        }
        PQclear(res);
        m->skipped = 1;
        return AJ_E_OK;
    }
    PQclear(res);
    if ((rc = pg_run(m, what, mig->sql, 0, NULL, NULL)) != AJ_E_OK) return rc;
    const char *rec[] = {version, mig->name, mig->sql, m->ajuste_version ? m->ajuste_version : "unknown"};
    return pg_run(m, "recording the migration",
                  "INSERT INTO ajuste_schema_migrations (version, name, checksum, ajuste_version) "
                  "VALUES ($1::integer, $2, sha256(convert_to($3::text, 'UTF8')), $4)",
                  4, rec, NULL);
}

/* BEGIN, the lock, body (pg_bootstrap when mig is NULL, else pg_apply), COMMIT; rolled back and
 * run again while it fails with a transient SQLSTATE on a live connection. */
static aj_err pg_txn(pg_mig *m, const aj_pg_migration *mig) {
    aj_err rc = AJ_E_FATAL;
    int backoff = 100;
    for (int attempt = 1; attempt <= PG_TXN_ATTEMPTS; attempt++) {
        rc = pg_run(m, "BEGIN", "BEGIN", 0, NULL, NULL);
        if (rc == AJ_E_OK)
            rc = pg_run(m, "waiting for other migrations", "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", 0,
                        NULL, NULL);
        if (rc == AJ_E_OK) rc = mig ? pg_apply(m, mig) : pg_bootstrap(m);
        if (rc == AJ_E_OK) rc = pg_run(m, "COMMIT", "COMMIT", 0, NULL, NULL);
        if (rc == AJ_E_OK) return AJ_E_OK;
        if (PQstatus(m->conn) == CONNECTION_OK) PQclear(PQexec(m->conn, "ROLLBACK"));
        if (rc != AJ_E_RETRY || PQstatus(m->conn) != CONNECTION_OK || attempt == PG_TXN_ATTEMPTS) break;
        if (m->report) fprintf(m->report, "transient failure, again in %d ms: %s\n", backoff, m->err);
        pg_sleep_ms(backoff);
        backoff *= 2;
    }
    if (rc == AJ_E_RETRY) {
        size_t n = strlen(m->err);
        snprintf(m->err + n, m->errlen - n, " (still failing after %d attempts)", PG_TXN_ATTEMPTS);
    }
    return AJ_E_FATAL;
}

aj_err aj_pg_migrate(PGconn *conn, int create_roles, const char *ajuste_version, FILE *report,
                     aj_pg_migrate_result *result, char *err, size_t errlen) {
    pg_mig m;
    memset(&m, 0, sizeof(m));
    memset(result, 0, sizeof(*result));
    m.conn = conn;
    m.report = report;
    m.err = err;
    m.errlen = errlen;
    m.create_roles = create_roles;
    m.ajuste_version = ajuste_version;

    /* Notices ("already exists, skipping") are noise here; and unqualified names are public's,
     * whatever search_path the connecting role has. */
    if (pg_run(&m, "setting up the session", "SET client_min_messages TO warning; SET search_path TO public", 0, NULL,
               NULL) != AJ_E_OK)
        return AJ_E_FATAL;
    if (pg_txn(&m, NULL) != AJ_E_OK) return AJ_E_FATAL;
    result->roles_created = m.created;
    result->version = m.db_version;
    if (report) {
        if (m.created)
            fprintf(report, "created role%s %s\n", m.created > 1 ? "s" : "", m.created_names);
        else
            fprintf(report, "roles %s, %s and %s exist\n", pg_roles[0], pg_roles[1], pg_roles[2]);
    }
    /* Every migration, applied before or not: an applied one is checked against its text. */
    for (const aj_pg_migration *mig = aj_pg_migrations; mig->name; mig++) {
        if (pg_txn(&m, mig) != AJ_E_OK) return AJ_E_FATAL;
        if (!m.skipped) {
            result->applied++;
            if (report) fprintf(report, "applied %s (version %d)\n", mig->name, mig->version);
        }
        if (mig->version > result->version) result->version = mig->version;
    }
    return AJ_E_OK;
}
