/* test_pg.c - the PostgreSQL audit log without a server: SQLSTATE classification, the embedded
 * migrations, connection strings and the connection error (tests/integration/test_audit_roles.sh
 * runs migrate against a real server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "aj_pg.h"

static void test_classify(void **state) {
    (void)state;
    /* transient: run the transaction again */
    static const char *const retry[] = {"08000", "08003", "08006", "08001", "08004", "40001", "40P01",
                                        "55P03", "53000", "53300", "57P01", "57P02", "57P03"};
    for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) assert_int_equal(aj_pg_classify(retry[i]), AJ_E_RETRY);
    /* everything else is for a human: privileges, the append-only trigger, constraints, syntax */
    static const char *const fatal[] = {"42501", AJ_PG_SQLSTATE_APPEND_ONLY, "23505", "23514", "42601",
                                        "42P01", "28P01", "3D000", "53100", "57014", "XX000", "P0001"};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) assert_int_equal(aj_pg_classify(fatal[i]), AJ_E_FATAL);
    assert_int_equal(aj_pg_classify(NULL), AJ_E_FATAL);
    assert_int_equal(aj_pg_classify(""), AJ_E_FATAL);
    assert_int_equal(aj_pg_classify("08"), AJ_E_FATAL);
    assert_int_equal(aj_pg_classify("400010"), AJ_E_FATAL);
}

static void test_embedded_migrations(void **state) {
    (void)state;
    int n = 0;
    for (const aj_pg_migration *m = aj_pg_migrations; m->name; m++) {
        char prefix[8];
        n++;
        assert_int_equal(m->version, n);   /* 1, 2, 3... in order, no gaps */
        snprintf(prefix, sizeof(prefix), "%04d_", m->version);
        assert_memory_equal(m->name, prefix, 5);
        assert_non_null(m->sql);
        assert_true(strlen(m->sql) > 100);
        assert_null(strstr(m->sql, "\nBEGIN;"));
        assert_null(strstr(m->sql, "\nCOMMIT;"));
    }
    assert_true(n >= 1);
    assert_int_equal(aj_pg_schema_version(), n);

    /* 0001: the tables, roles and guard the code and docs/audit.md name. */
    const char *sql = aj_pg_migrations[0].sql;
    assert_string_equal(aj_pg_migrations[0].name, "0001_audit_log");
    static const char *const want[] = {
        "CREATE TABLE corrections", "CREATE TABLE invoice_headers", "CREATE TABLE sink_offsets",
        "TO " AJ_PG_ROLE_WRITER, "TO " AJ_PG_ROLE_AUDITOR, "ERRCODE = '" AJ_PG_SQLSTATE_APPEND_ONLY "'",
        "BEFORE UPDATE OR DELETE OR TRUNCATE ON corrections", "BEFORE UPDATE OR DELETE ON corrections",
        "legacy_amount      bigint", "row_hash           bytea", "rule_trace         jsonb",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(sql, want[i])) fail_msg("0001_audit_log.sql lacks '%s'", want[i]);
    /* Money is exact: no floating-point column type. */
    static const char *const inexact[] = {"double precision", "float4", "float8", "real NOT NULL", "float NOT NULL"};
    for (size_t i = 0; i < sizeof(inexact) / sizeof(inexact[0]); i++) assert_null(strstr(sql, inexact[i]));

    for (int i = 0; i < 3; i++) {
        const char *role = (const char *[]){AJ_PG_ROLE_OWNER, AJ_PG_ROLE_WRITER, AJ_PG_ROLE_AUDITOR}[i];
        assert_non_null(strstr(aj_pg_roles_sql, role));
        assert_non_null(strstr(aj_pg_bootstrap_sql, role));
    }
    assert_non_null(strstr(aj_pg_bootstrap_sql, "CREATE TABLE IF NOT EXISTS ajuste_schema_migrations"));
}

static void test_conninfo(void **state) {
    char err[512];
    (void)state;
    assert_int_equal(aj_pg_check_conninfo("", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_pg_check_conninfo(NULL, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_pg_check_conninfo("host=/tmp port=5432 dbname=audit", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_pg_check_conninfo("postgresql://admin@db1:5433/audit?connect_timeout=5", err, sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(aj_pg_check_conninfo("nonsense=1", err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "'nonsense=1'"));
    assert_non_null(strstr(err, "invalid connection option \"nonsense\""));
    assert_null(strchr(err, '\n'));
    assert_int_equal(aj_pg_check_conninfo("host='unterminated", err, sizeof(err)), AJ_E_CONFIG);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No server behind the socket: the error names where it tried and what libpq said, on one line. */
static void test_connect_error(void **state) {
    char err[1024];
    aj_err rc;
    (void)state;
    const char *ci = "host=/nonexistent-ajuste-test-dir port=7 dbname=audit user=someone";
    assert_null(aj_pg_connect(ci, 0, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_IO);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(err, "database \"audit\" on host /nonexistent-ajuste-test-dir port 7 as user someone"));
    assert_non_null(strstr(err, ".s.PGSQL.7"));
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\t'));

    /* --wait: tries again until the time is up, then says why. */
    int64_t t0 = now_ms();
    assert_null(aj_pg_connect(ci, 400, &rc, err, sizeof(err)));
    int64_t took = now_ms() - t0;
    assert_int_equal(rc, AJ_E_IO);
    assert_true(took >= 350 && took < 5000);

    assert_null(aj_pg_connect("nonsense=1", 0, &rc, err, sizeof(err)));
    assert_int_equal(rc, AJ_E_CONFIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_embedded_migrations),
        cmocka_unit_test(test_conninfo),
        cmocka_unit_test(test_connect_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
