/* aj_pg.h - the PostgreSQL audit log: connection, errors decided by SQLSTATE, the schema
 * migrations of schemas/sql embedded at build time (docs/audit.md). */
#ifndef AJ_PG_H
#define AJ_PG_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "aj_error.h"

/* The group roles (schemas/sql/roles.sql; docs/audit.md, "Roles"). */
#define AJ_PG_ROLE_OWNER "ajuste_owner"
#define AJ_PG_ROLE_WRITER "ajuste_writer"
#define AJ_PG_ROLE_AUDITOR "ajuste_auditor"

/* SQLSTATE the append-only triggers raise (class AJ: ajuste's own). */
#define AJ_PG_SQLSTATE_APPEND_ONLY "AJ001"

/* One migration, schemas/sql/NNNN_name.sql, embedded by cmake/embed_sql.cmake. */
typedef struct aj_pg_migration {
    int version;          /* NNNN: 1, 2, 3... without gaps (checked at build time) */
    const char *name;     /* the file name without ".sql", e.g. "0001_audit_log" */
    const char *sql;      /* its text, run as one simple query inside migrate's transaction */
} aj_pg_migration;

extern const aj_pg_migration aj_pg_migrations[];   /* ascending; ends with {0, NULL, NULL} */
extern const char aj_pg_roles_sql[];               /* schemas/sql/roles.sql */
extern const char aj_pg_bootstrap_sql[];           /* schemas/sql/bootstrap.sql */

/* The highest version of aj_pg_migrations (the schema version this binary migrates to). */
int aj_pg_schema_version(void);

/*
 * What to do about a failed statement, from its SQLSTATE (never from its message text):
 * AJ_E_RETRY for a transient failure worth running the transaction again (class 08 connection
 * exception, 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 53000
 * insufficient resources, 53300 too many connections, 57P01..57P03 shutdown or not accepting
 * connections yet), AJ_E_FATAL for anything else, NULL or malformed included.
 */
aj_err aj_pg_classify(const char *sqlstate);

/*
 * Checks that conninfo is a libpq connection string or URI libpq can parse (empty is fine: the
 * PG* environment variables and libpq's defaults). AJ_E_OK, or AJ_E_CONFIG with libpq's
 * message in err.
 */
aj_err aj_pg_check_conninfo(const char *conninfo, char *err, size_t errlen);

/*
 * Connects with conninfo (a libpq connection string or URI; empty: PG* variables), application
 * name "ajuste" unless conninfo names one. wait_ms > 0: while the server does not answer yet
 * (not started, starting up), tries again with a backoff from 100 ms to 2 s until wait_ms has
 * passed; a server that answers and refuses (authentication, no such database) is not waited
 * for. Returns the connection (the caller PQfinish-es it), or NULL with *rc set (AJ_E_CONFIG:
 * conninfo does not parse; AJ_E_IO: no connection) and err naming the host, port, database and
 * user tried, libpq's message, and which variables or option to set.
 */
PGconn *aj_pg_connect(const char *conninfo, int wait_ms, aj_err *rc, char *err, size_t errlen);

/* One line on a connection for humans: database "d" on host h port p as user u. */
void aj_pg_describe(PGconn *conn, char *buf, size_t len);

/* What aj_pg_migrate did. */
typedef struct aj_pg_migrate_result {
    int applied;          /* migrations applied by this call */
    int version;          /* the schema version of the database afterwards */
    int roles_created;    /* group roles created by this call (0..3) */
} aj_pg_migrate_result;

/*
 * Brings the database to aj_pg_schema_version(): first, in one transaction, roles.sql (when
 * create_roles) and bootstrap.sql (schema privileges, the version table); then each migration
 * not yet in ajuste_schema_migrations, in order, each in a transaction of its own with its row
 * in the version table, as ajuste_owner (SET LOCAL ROLE). Every transaction holds an advisory
 * lock, so two migrates of one database run one after the other. A transaction that fails with
 * a transient SQLSTATE (aj_pg_classify) is rolled back and run again, up to 5 times, backing off
 * from 100 ms. Reports each step as one line on report (NULL: silent). ajuste_version is
 * recorded with each migration applied.
 *
 * Returns AJ_E_OK; AJ_E_FATAL with err when: a role is missing and create_roles is 0; the
 * connecting user may not create roles or is not a member of ajuste_owner; a migration already
 * applied has a different text (checksum) or name than the embedded one; the database has a
 * version this binary does not know; a statement fails (err names the step, the server's
 * message and its SQLSTATE). A migration that fails leaves nothing of itself behind.
 */
aj_err aj_pg_migrate(PGconn *conn, int create_roles, const char *ajuste_version, FILE *report,
                     aj_pg_migrate_result *result, char *err, size_t errlen);

#endif /* AJ_PG_H */
