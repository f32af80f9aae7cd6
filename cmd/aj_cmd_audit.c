/* aj_cmd_audit.c - `ajuste audit`: the auditor's correction log in PostgreSQL (docs/audit.md). */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "aj_audit.h"
#include "aj_audit_report.h"
#include "aj_cmd.h"
#include "aj_config.h"
#include "aj_pg.h"
#include "aj_schema.h"
#include "aj_clock.h"

#define AUDIT_MAX_WAIT_S 3600

static void audit_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste audit <command> [options]   (ajuste audit <command> --help for each)\n\n"
            "The auditor's correction log in PostgreSQL (docs/audit.md): the corrections and invoice\n"
            "headers the pipeline emits, append-only, for auditors to query.\n\n"
            "Commands:\n"
            "  migrate   create or bring up to date the log's tables, roles and privileges\n"
            "  sink      store the corrections and the invoice headers in the log, exactly once,\n"
            "            hash-chained\n"
            "  verify    recompute every hash chain; check an anchor file of chain heads\n"
            "  show      every correction of an account's invoices for a cycle\n"
            "  summary   a cycle's corrections counted and summed by reason, tariff code, service or zone\n"
            "  rootcause a cycle's corrections by legacy tariff code and reason, ranked, with a hypothesis\n"
            "  export    show, summary or rootcause as CSV, or as an HTML page with charts (--html)\n\n"
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

/* --wait SECONDS of subcommand cmd: 0..AUDIT_MAX_WAIT_S, or a message and -1. */
static int audit_parse_wait(const char *cmd, const char *arg, int64_t *wait_s) {
    if (aj_parse_count("--wait", arg, wait_s) != 0) return -1;
    if (*wait_s > AUDIT_MAX_WAIT_S) {
        fprintf(stderr, "ajuste audit %s: --wait is at most %d seconds, got %s\n", cmd, AUDIT_MAX_WAIT_S, arg);
        return -1;
    }
    return 0;
}

/* Connects subcommand cmd to db (empty: the PG* variables), waiting up to wait_s for a server
 * still starting. NULL with *status (AJ_EXIT_USAGE for a bad conninfo) and a message naming
 * what to set. */
static PGconn *audit_open(const char *cmd, const char *db, int64_t wait_s, int *status) {
    char err[1024];
    aj_err rc;
    if (aj_pg_check_conninfo(db, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste audit %s: --db: %s\n", cmd, err);
        *status = AJ_EXIT_USAGE;
        return NULL;
    }
    PGconn *conn = aj_pg_connect(db, (int)wait_s * 1000, &rc, err, sizeof(err));
    if (!conn) {
        fprintf(stderr, "ajuste audit %s: %s; set PGHOST, PGPORT, PGDATABASE and PGUSER (PGPASSWORD), or pass "
                        "--db CONNINFO%s\n",
                cmd, err, wait_s ? "" : " (--wait SECONDS for a server still starting)");
        *status = rc == AJ_E_CONFIG ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
    }
    return conn;
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
            if (audit_parse_wait("migrate", optarg, &wait_s) != 0) return AJ_EXIT_USAGE;
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
    int status;
    PGconn *conn = audit_open("migrate", db, wait_s, &status);
    if (!conn) return status;
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

static void sink_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste audit sink [--config FILE] [--bootstrap-servers LIST] [--topic TOPIC]\n"
            "                         [--invoice-topic TOPIC] [--review-topic TOPIC] [--db CONNINFO]\n"
            "                         [--batch-rows N] [--batch-ms T] [--until-end] [--retry-for SECONDS]\n"
            "                         [--wait SECONDS]\n\n"
            "Stores in the audit log (docs/audit.md, \"The sink\") every correction of the corrections topic\n"
            "(table corrections) and the header of every invoice of the invoice topic (ISSUED and RELEASED)\n"
            "and of the review topic (HELD) (table invoice_headers, one row per invoice id and status).\n"
            "Each topic in transactions of its own of at most N rows: each row, chained to the one before\n"
            "it in its partition's hash chain, is COPY-ed straight into its table as it is read; the\n"
            "partitions' positions go in sink_offsets in the same transaction. The key is the correction\n"
            "id, or the invoice id and status: when one is in the log already (a replay), the batch is\n"
            "taken again through a temporary table and INSERT ... ON CONFLICT DO NOTHING (row by row if\n"
            "need be), the key skipped and the chain not advanced over it.\n"
            "It reads every partition itself and resumes from sink_offsets, never from Kafka consumer-group\n"
            "offsets: killed at any point and restarted, it stores each row exactly once. A database that\n"
            "goes away (connection lost, shutting down, a transient SQLSTATE) is reconnected to with a\n"
            "backoff, for up to --retry-for.\n\n"
            "Connect as a member of " AJ_PG_ROLE_WRITER " (INSERT only) to a database ajuste audit migrate\n"
            "brought to schema version %d.\n\n"
            "Options:\n"
            "  --config FILE             the pipeline's configuration: kafka.* properties,\n"
            "                            output.correction_topic, output.invoice_topic, output.review_topic\n"
            "  --bootstrap-servers LIST  Kafka brokers (kafka.bootstrap.servers)\n"
            "  --topic TOPIC             the corrections topic (default: output.correction_topic,\n"
            "                            \"corrections\"); \"\" to store none\n"
            "  --invoice-topic TOPIC     the invoice topic (default: output.invoice_topic,\n"
            "                            \"invoices.adjusted\"); \"\" to store none\n"
            "  --review-topic TOPIC      the review topic (default: output.review_topic,\n"
            "                            \"invoices.review\"); \"\" to store none\n"
            "  --db CONNINFO             libpq connection string or URI (default: the PG* variables)\n"
            "  --batch-rows N            rows per transaction at most (default 5000, at most 100000)\n"
            "  --batch-ms T              when caught up, read the topics again every T ms (default 1000)\n"
            "  --until-end               stop once everything on the topics is stored (batch jobs, tests)\n"
            "  --retry-for SECONDS       keep reconnecting to a database that is down this long (default 300)\n"
            "  --wait SECONDS            at start, wait up to SECONDS for a server still starting (default 0)\n"
            "  -h, --help                this help\n\n"
            "SIGINT or SIGTERM stops it after the current transaction. At the end it prints one line per\n"
            "topic: messages read, rows inserted, duplicates skipped, transactions, retries, time.\n\n"
            "Exit codes: 0 stopped or (--until-end) all stored, 1 Kafka or the database failed, or a message\n"
            "is not what its topic must carry (the error names the message, statement and SQLSTATE), 2 bad\n"
            "command line or configuration.\n",
            aj_pg_schema_version());
}

static volatile int sink_stop;

static void sink_on_signal(int sig) {
    (void)sig;
    sink_stop = 1;
}

static int audit_sink(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"bootstrap-servers", required_argument, 0, 'b'},
        {"topic", required_argument, 0, 't'},
        {"invoice-topic", required_argument, 0, 'i'},
        {"review-topic", required_argument, 0, 'v'},
        {"db", required_argument, 0, 'd'},
        {"batch-rows", required_argument, 0, 'n'},
        {"batch-ms", required_argument, 0, 'm'},
        {"until-end", no_argument, 0, 'u'},
        {"retry-for", required_argument, 0, 'r'},
        {"wait", required_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *config = NULL, *boot = NULL, *topics[AJ_AUDIT_SRC__COUNT] = {NULL};
    aj_audit_sink_opts o = {.conninfo = "", .pipeline_version = AJ_VERSION, .batch_rows = 5000, .batch_ms = 1000,
                            .retry_ms = 300000, .report = stderr};
    int64_t v;
    int c, rc = AJ_EXIT_USAGE;
    char err[1024];
    aj_config cfg;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'b': boot = optarg; break;
        case 't': topics[AJ_AUDIT_SRC_CORRECTIONS] = optarg; break;
        case 'i': topics[AJ_AUDIT_SRC_INVOICES] = optarg; break;
        case 'v': topics[AJ_AUDIT_SRC_REVIEW] = optarg; break;
        case 'd': o.conninfo = optarg; break;
        case 'u': o.until_end = 1; break;
        case 'n':
        case 'm':
        case 'r':
        case 'w': {
            const char *flag = c == 'n' ? "--batch-rows" : c == 'm' ? "--batch-ms" : c == 'r' ? "--retry-for" : "--wait";
            if (aj_parse_count(flag, optarg, &v) != 0) return AJ_EXIT_USAGE;
            if ((c == 'n' && (v < 1 || v > 100000)) || (c == 'm' && v > 3600000) || ((c == 'r' || c == 'w') && v > AUDIT_MAX_WAIT_S)) {
                fprintf(stderr, "ajuste audit sink: %s %s is out of range (%s)\n", flag, optarg,
                        c == 'n' ? "1 to 100000" : c == 'm' ? "at most 3600000" : "at most 3600");
                return AJ_EXIT_USAGE;
            }
            if (c == 'n') o.batch_rows = v;
            else if (c == 'm') o.batch_ms = v;
            else if (c == 'r') o.retry_ms = v * 1000;
            else o.wait_ms = (int)v * 1000;
            break;
        }
        case 'h': sink_usage(stdout); return AJ_EXIT_OK;
        default:
            fprintf(stderr, "Usage: ajuste audit sink [--config FILE] [--bootstrap-servers LIST] [--topic TOPIC] "
                            "[--db CONNINFO] ...   (--help for more)\n");
            return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ajuste audit sink: unexpected argument '%s'\n", argv[optind]);
        return AJ_EXIT_USAGE;
    }
    if (aj_pg_check_conninfo(o.conninfo, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste audit sink: --db: %s\n", err);
        return AJ_EXIT_USAGE;
    }
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;
    if (aj_config_init(&cfg) != AJ_E_OK) {
        fprintf(stderr, "ajuste audit sink: out of memory\n");
        return AJ_EXIT_FAILURE;
    }
    if (config && aj_config_load_file(&cfg, config, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste audit sink: --config: %s\n", err);
        goto end;
    }
    if (boot && aj_config_set(&cfg, "kafka.bootstrap.servers", boot, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste audit sink: --bootstrap-servers: %s\n", err);
        goto end;
    }
    if (!aj_config_kafka_get(&cfg, "bootstrap.servers")) {
        fprintf(stderr, "ajuste audit sink: no Kafka brokers: pass --bootstrap-servers LIST or set "
                        "kafka.bootstrap.servers in --config FILE\n");
        goto end;
    }
    o.cfg = &cfg;
    const char *dflt[AJ_AUDIT_SRC__COUNT] = {cfg.correction_topic, cfg.invoice_topic, cfg.review_topic};
    for (int i = 0; i < AJ_AUDIT_SRC__COUNT; i++) o.topics[i] = topics[i] ? topics[i] : dflt[i] ? dflt[i] : "";
    if (!o.topics[0][0] && !o.topics[1][0] && !o.topics[2][0]) {
        fprintf(stderr, "ajuste audit sink: --topic, --invoice-topic and --review-topic are all empty: nothing to "
                        "store\n");
        goto end;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sink_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    aj_audit_sink_stats st[AJ_AUDIT_SRC__COUNT];
    int64_t t0 = aj_now_ms();
    aj_err arc = aj_audit_sink_run(&o, &sink_stop, st, err, sizeof(err));
    int64_t ms = aj_now_ms() - t0;
    int64_t total = 0, db_us = 0;
    for (int i = 0; i < AJ_AUDIT_SRC__COUNT; i++) {
        if (!o.topics[i] || !o.topics[i][0]) continue;
        printf("audit sink: topic %s (%d partitions) into %s: read %" PRId64 ", inserted %" PRId64
               ", duplicates skipped %" PRId64 ", %" PRId64 " transactions\n",
               o.topics[i], st[i].partitions, i == AJ_AUDIT_SRC_CORRECTIONS ? "corrections" : "invoice_headers",
               st[i].read, st[i].inserted, st[i].duplicates, st[i].transactions);
        total += st[i].inserted, db_us += st[i].db_us;
    }
    printf("audit sink: %" PRId64 " rows inserted in %" PRId64 " ms (%" PRId64 " rows/s; %" PRId64
           " ms of it sending to PostgreSQL and waiting for it), %" PRId64 " retries\n",
           total, ms, ms > 0 ? total * 1000 / ms : 0, db_us / 1000, st[0].retries);
    fflush(stdout);
    if (arc != AJ_E_OK) {
        fprintf(stderr, "ajuste audit sink: %s\n", err);
        rc = arc == AJ_E_CONFIG ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
    } else {
        rc = AJ_EXIT_OK;
    }
end:
    aj_config_free(&cfg);
    return rc;
}

static void verify_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste audit verify [--db CONNINFO] [--anchor FILE] [--write-anchor FILE] [--wait SECONDS]\n\n"
            "Recomputes every hash chain of the audit log, corrections then invoice_headers (docs/audit.md,\n"
            "\"Verify\"): in each chain the rows must be numbered 1, 2, 3... without a gap, each prev_hash must\n"
            "be the row_hash of the row before (32 zero bytes for the first) and each row_hash the SHA-256 of\n"
            "prev_hash followed by the row's canonical form (ajuste.corrections.v1, ajuste.invoice_headers.v1).\n"
            "The first row that does not match is reported (chain, seq, the correction id or the invoice id\n"
            "and status, expected and stored hash) and the command exits 1. Clean, it prints each chain's\n"
            "row count and head, and the totals per table, and exits 0.\n\n"
            "A chain cut short at its end still verifies: keep an anchor file of the heads from a clean\n"
            "verify (--write-anchor) somewhere the database's owner cannot write, and check against it\n"
            "later (--anchor): a chain that no longer reaches its anchored head, or reaches it with another\n"
            "hash, is reported.\n\n"
            "Connect as a member of " AJ_PG_ROLE_AUDITOR " (SELECT only) or any role that may read the log.\n\n"
            "Options:\n"
            "  --db CONNINFO        libpq connection string or URI (default: the PG* variables)\n"
            "  --anchor FILE        check the chain heads FILE holds (written by --write-anchor)\n"
            "  --write-anchor FILE  after a clean verify, write the chains' heads to FILE\n"
            "  --wait SECONDS       wait up to SECONDS for a server still starting (default 0)\n"
            "  -h, --help           this help\n\n"
            "Exit codes: 0 every chain verifies (and meets the anchor), 1 a row or the anchor does not\n"
            "match, or the database could not be read, 2 bad command line or anchor file.\n");
}

static int audit_verify(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},
        {"anchor", required_argument, 0, 'a'},
        {"write-anchor", required_argument, 0, 'o'},
        {"wait", required_argument, 0, 'w'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *db = "", *anchor = NULL, *write_anchor = NULL;
    int64_t wait_s = 0;
    int c;
    char err[1024], where[512];
    aj_err rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'a': anchor = optarg; break;
        case 'o': write_anchor = optarg; break;
        case 'w':
            if (audit_parse_wait("verify", optarg, &wait_s) != 0) return AJ_EXIT_USAGE;
            break;
        case 'h': verify_usage(stdout); return AJ_EXIT_OK;
        default:
            fprintf(stderr, "Usage: ajuste audit verify [--db CONNINFO] [--anchor FILE] [--write-anchor FILE]   "
                            "(--help for more)\n");
            return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ajuste audit verify: unexpected argument '%s'\n", argv[optind]);
        return AJ_EXIT_USAGE;
    }
    int status;
    PGconn *conn = audit_open("verify", db, wait_s, &status);
    if (!conn) return status;
    aj_pg_describe(conn, where, sizeof(where));
    printf("Verifying the audit log of %s.\n", where);
    aj_audit_verify_result res;
    rc = aj_audit_verify(conn, anchor, write_anchor, stdout, &res, err, sizeof(err));
    PQfinish(conn);
    fflush(stdout);
    if (rc != AJ_E_OK) {
        fprintf(stderr, "ajuste audit verify: %s\n", err);
        return rc == AJ_E_CONFIG ? AJ_EXIT_USAGE : AJ_EXIT_FAILURE;
    }
    if (res.bad) {
        printf("NOT VERIFIED: %" PRId64 " rows read in %d chains before the first mismatch.\n", res.rows, res.chains);
        return AJ_EXIT_FAILURE;
    }
    printf("Verified %" PRId64 " rows in %d chains (corrections: %" PRId64 " rows in %d chains; invoice_headers: %" PRId64
           " rows in %d chains)%s%s%s.\n", res.rows, res.chains, res.table_rows[AJ_AUDIT_CORRECTIONS],
           res.table_chains[AJ_AUDIT_CORRECTIONS], res.table_rows[AJ_AUDIT_INVOICE_HEADERS],
           res.table_chains[AJ_AUDIT_INVOICE_HEADERS], anchor ? ", anchor met" : "",
           write_anchor ? "; anchor written to " : "", write_anchor ? write_anchor : "");
    return AJ_EXIT_OK;
}

/* show, summary, rootcause, export: cmd/aj_cmd_audit_report.c, connecting as the others do. */
static int audit_report(int argc, char **argv) {
    static const aj_audit_report_hooks hooks = {audit_open, audit_parse_wait};
    return aj_audit_report_cmd(argc, argv, &hooks);
}

int aj_cmd_audit(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"migrate", audit_migrate},
        {"sink", audit_sink},
        {"verify", audit_verify},
        {"show", audit_report},
        {"summary", audit_report},
        {"rootcause", audit_report},
        {"export", audit_report},
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
