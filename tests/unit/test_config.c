/* test_config.c - the configuration table: defaults, file, environment, unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aj_config.h"
#include "aj_policy.h"

static int setup(void **state) {
    aj_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || aj_config_init(cfg) != AJ_E_OK) return -1;
    *state = cfg;
    return 0;
}

static int teardown(void **state) {
    aj_config_free(*state);
    free(*state);
    return 0;
}

static void test_defaults(void **state) {
    aj_config *cfg = *state;
    assert_string_equal(cfg->usage_topic, "cdr.usage");
    assert_string_equal(cfg->invoice_topic, "invoices.adjusted");
    assert_int_equal(cfg->commit_interval_ms, 1000);
    assert_int_equal(cfg->exit_at_end, 0);
    assert_int_equal(cfg->kafka_count, 0);
}

static void test_set_types_and_unknown_keys(void **state) {
    aj_config *cfg = *state;
    char err[256];
    assert_int_equal(aj_config_set(cfg, "commit.interval.records", "500", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(cfg->commit_interval_records, 500);
    assert_int_equal(aj_config_set(cfg, "commit.interval.records", "5x", err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "commit.interval.records"));
    assert_int_equal(aj_config_set(cfg, "run.exit_at_end", "maybe", err, sizeof(err)), AJ_E_CONFIG);
    assert_int_equal(aj_config_set(cfg, "run.exit_at_end", "true", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(cfg->exit_at_end, 1);
    assert_int_equal(aj_config_set(cfg, "input.usage_topik", "x", err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "input.usage_topik"));
    /* kafka.* passes through, a later value replaces an earlier one */
    assert_int_equal(aj_config_set(cfg, "kafka.bootstrap.servers", "a:9092", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "kafka.bootstrap.servers", "b:9092", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(cfg->kafka_count, 1);
    assert_string_equal(aj_config_kafka_get(cfg, "bootstrap.servers"), "b:9092");
    assert_null(aj_config_kafka_get(cfg, "acks"));
}

/* docs/invoice.md, "Adjustments and the correction policy": the keys, their checks, the policy. */
static void test_policy_keys(void **state) {
    aj_config *cfg = *state;
    aj_policy p;
    char err[256];
    assert_int_equal(aj_policy_from_config(cfg, &p, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_policy_of(&p, AJ_REASON_WRONG_ZONE, -1), AJ_DISP_APPLY);
    assert_int_equal(aj_policy_of(&p, AJ_REASON_WRONG_ZONE, 1), AJ_DISP_FLAG);
    assert_int_equal(p.materiality_amount, 0);
    assert_int_equal(p.materiality_ppm, 0);
    /* A bad value stops at set time, naming the key and the bad part. */
    assert_int_equal(aj_config_set(cfg, "policy.undercharge", "MAYBE", err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "policy.undercharge"));
    assert_int_equal(aj_config_set(cfg, "policy.rules", "WRONG_ZONE=HOLD, NOPE=APPLY", err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "'NOPE' is not a reason code"));
    assert_int_equal(aj_config_set(cfg, "policy.rules", "WRONG_ZONE:sideways=HOLD", err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "sideways"));
    assert_int_equal(aj_config_set(cfg, "materiality.percent", "100.5", err, sizeof(err)), AJ_E_CONFIG);
    assert_int_equal(aj_config_set(cfg, "materiality.percent", "2.00005", err, sizeof(err)), AJ_E_CONFIG);
    assert_int_equal(aj_config_set(cfg, "materiality.amount", "-1", err, sizeof(err)), AJ_E_CONFIG);
    /* Later rules win; a side applies to that side only. */
    assert_int_equal(aj_config_set(cfg, "policy.undercharge", "APPLY", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "policy.rules", " WRONG_ZONE=HOLD , WRONG_ZONE:overcharge=FLAG,MRC_MISSING=FLAG",
                                   err, sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "materiality.percent", "12.5%", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(cfg, "materiality.amount", "250.00", err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_policy_from_config(cfg, &p, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_policy_of(&p, AJ_REASON_WRONG_ZONE, -5), AJ_DISP_FLAG);
    assert_int_equal(aj_policy_of(&p, AJ_REASON_WRONG_ZONE, 5), AJ_DISP_HOLD);
    assert_int_equal(aj_policy_of(&p, AJ_REASON_MRC_MISSING, 5), AJ_DISP_FLAG);
    assert_int_equal(aj_policy_of(&p, AJ_REASON_RATE_MISMATCH, 5), AJ_DISP_APPLY);
    assert_int_equal(p.materiality_ppm, 125000);
    assert_int_equal(p.materiality_amount, 250000000);
    /* Materiality is strictly above: 12.5% of 800.00 is 100.00. */
    char why[192];
    assert_false(aj_policy_material(&p, 100000000, 800000000, why, sizeof(why)));
    assert_true(aj_policy_material(&p, 100000001, 800000000, why, sizeof(why)));
    assert_non_null(strstr(why, "12.5000%"));
    assert_true(aj_policy_material(&p, 250000001, INT64_MAX, why, sizeof(why)));
    assert_non_null(strstr(why, "materiality amount 250.00"));
    assert_true(aj_policy_material(&p, 1, 0, why, sizeof(why)));   /* any adjustment of a zero total */
    assert_false(aj_policy_material(&p, 0, 0, why, sizeof(why)));
}

static void test_file_then_env(void **state) {
    aj_config *cfg = *state;
    char path[] = "/tmp/aj_test_config_XXXXXX", err[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# a comment\n\ninput.usage_topic = usage.v2   # trailing comment\nkafka.acks=all\n");
    fclose(f);
    assert_int_equal(aj_config_load_file(cfg, path, err, sizeof(err)), AJ_E_OK);
    assert_string_equal(cfg->usage_topic, "usage.v2");
    assert_string_equal(aj_config_kafka_get(cfg, "acks"), "all");

    char *env[] = {"HOME=/root", "AJUSTE_INPUT_USAGE_TOPIC=usage.v3", "AJUSTE_KAFKA_BOOTSTRAP_SERVERS=k:1",
                   "AJUSTE_COMMIT_INTERVAL_MS=250", NULL};
    assert_int_equal(aj_config_load_env(cfg, env, err, sizeof(err)), AJ_E_OK);
    assert_string_equal(cfg->usage_topic, "usage.v3");
    assert_int_equal(cfg->commit_interval_ms, 250);
    assert_string_equal(aj_config_kafka_get(cfg, "bootstrap.servers"), "k:1");

    char *bad_env[] = {"AJUSTE_COMIT_INTERVAL_MS=1", NULL};
    assert_int_equal(aj_config_load_env(cfg, bad_env, err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, "AJUSTE_COMIT_INTERVAL_MS"));

    f = fopen(path, "w");
    fprintf(f, "input.usage_topic = a\nno_such.key = 1\n");
    fclose(f);
    assert_int_equal(aj_config_load_file(cfg, path, err, sizeof(err)), AJ_E_CONFIG);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "no_such.key"));
    f = fopen(path, "w");
    fprintf(f, "just words\n");
    fclose(f);
    assert_int_equal(aj_config_load_file(cfg, path, err, sizeof(err)), AJ_E_CONFIG);
    unlink(path);
    assert_int_equal(aj_config_load_file(cfg, path, err, sizeof(err)), AJ_E_IO);
    assert_non_null(strstr(err, path));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_types_and_unknown_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_then_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
