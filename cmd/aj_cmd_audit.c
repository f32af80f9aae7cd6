/* aj_cmd_audit.c - `ajuste audit`: the auditor's correction log in PostgreSQL (docs/audit.md). */
#include <getopt.h>
#include <string.h>

#include "aj_cmd.h"
#include "aj_pg.h"

#define AUDIT_MAX_WAIT_S 3600

static void audit_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste audit <command> [options]   (ajuste audit <command> --help for each)\n\n"
            "The auditor's correction log in PostgreSQL (docs/audit.md): the corrections and invoice\n"
            "headers the pipeline emits, append-only, for auditors to query.\n\n"
            "Commands:\n"
            "  migrate   create or bring up to date the log's tables, roles and privileges\n\n"
            "Not built yet: the sink that fills the log, and verify, show, summary and export.\n\n"
            "Every command connects with a libpq connection string or URI (--db), or with the PG*\n"
            "environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD...).\n\n"
            "Exit codes: 0 success, 1 the database could not be reached or refused, 2 bad command line.\n");
}

static void migrate_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste audit migrate [--db CONNINFO] [--no-create-roles] [--wait SECONDS]\n\n"
            "Brings a database to the audit log's schema version %d: applies, in order, each migration\n"
            "of schemas/sql (embedded in this binary) that the database's table ajuste_schema_migrations\n"
            "does not list, each in a transaction of its own, and records it there. Run again, it\n"
            "applies nothing. A migration already applied whose text differs from this binary's is\n"
            "refused.\n\n"
            "First it creates the group roles that do not exist yet: " AJ_PG_ROLE_OWNER " (owns the tables,\n"
            "the only role that may change a row), " AJ_PG_ROLE_WRITER " (the sink: INSERT only) and\n"
            AJ_PG_ROLE_AUDITOR " (SELECT only). Roles belong to the whole cluster: those another database\n"
            "already uses are kept as they are. Everything is then created as " AJ_PG_ROLE_OWNER ".\n\n"
            "Run it as a superuser, or as the database owner who is a member of " AJ_PG_ROLE_OWNER " and\n"
            "has CREATEROLE (or uses --no-create-roles once the roles exist).\n\n"
            "Options:\n"
            "  --db CONNINFO        libpq connection string or URI, e.g. \"host=db1 dbname=audit\n"
            "                       user=admin\" or postgresql://admin@db1/audit; default: the PG*\n"
            "                       environment variables\n"
            "  --no-create-roles    do not create roles; fail naming those missing\n"
            "  --wait SECONDS       wait up to SECONDS for a server that is not up yet (default 0;\n"
            "                       at most %d)\n"
            "  -h, --help           this help\n\n"
            "Examples:\n"
            "  PGHOST=db1 PGDATABASE=audit PGUSER=postgres ajuste audit migrate\n"
            "  ajuste audit migrate --db postgresql://postgres@db1/audit --wait 30\n\n"
            "Exit codes: 0 the schema is up to date, 1 no connection or a migration failed (nothing of\n"
            "it is left behind), 2 bad command line or connection string.\n",
            aj_pg_schema_version(), AUDIT_MAX_WAIT_S);
}

static int audit_migrate(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},
        {"no-create-roles", no_argument, 0, 'n'},
        {"wait", required_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *db = "";
    int create_roles = 1, c;
    int64_t wait_s = 0;
    char err[1024], where[512];
    aj_err rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'n': create_roles = 0; break;
        case 'w':
            if (aj_parse_count("--wait", optarg, &wait_s) != 0) return AJ_EXIT_USAGE;
            if (wait_s > AUDIT_MAX_WAIT_S) {
                fprintf(stderr, "ajuste audit migrate: --wait is at most %d seconds, got %s\n", AUDIT_MAX_WAIT_S,
                        optarg);
                return AJ_EXIT_USAGE;
            }
            break;
        case 'h': migrate_usage(stdout); return AJ_EXIT_OK;
        default:
            fprintf(stderr, "Usage: ajuste audit migrate [--db CONNINFO] [--no-create-roles] [--wait SECONDS]   "
                            "(--help for more)\n");
            return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ajuste audit migrate: unexpected argument '%s'\n", argv[optind]);
        return AJ_EXIT_USAGE;
    }
    if (aj_pg_check_conninfo(db, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste audit migrate: --db: %s\n", err);
        return AJ_EXIT_USAGE;
    }

    PGconn *conn = aj_pg_connect(db, (int)wait_s * 1000, &rc, err, sizeof(err));
    if (!conn) {
        fprintf(stderr, "ajuste audit migrate: %s; set PGHOST, PGPORT, PGDATABASE and PGUSER (PGPASSWORD), or "
                        "pass --db CONNINFO%s\n",
                err, wait_s ? "" : " (--wait SECONDS for a server still starting)");
        return rc == AJ_E_CONFIG ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
    }
    aj_pg_describe(conn, where, sizeof(where));
    printf("Migrating %s to schema version %d.\n", where, aj_pg_schema_version());

    aj_pg_migrate_result res;
    rc = aj_pg_migrate(conn, create_roles, AJ_VERSION, stdout, &res, err, sizeof(err));
    PQfinish(conn);
    if (rc != AJ_E_OK) {
        fflush(stdout);
        fprintf(stderr, "ajuste audit migrate: %s\n", err);
        return AJ_EXIT_FAILURE;
    }
    printf("Applied %d migration%s: the schema is at version %d%s.\n", res.applied, res.applied == 1 ? "" : "s",
           res.version, res.applied ? "" : ", up to date");
    return AJ_EXIT_OK;
}

int aj_cmd_audit(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"migrate", audit_migrate},
    };
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        audit_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? AJ_EXIT_USAGE : AJ_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ajuste audit: unknown command '%s'\n\n", argv[1]);
    audit_usage(stderr);
    return AJ_EXIT_USAGE;
}
