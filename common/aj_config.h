/* aj_config.h - the configuration table: keys, types, defaults, descriptions. */
#ifndef AJ_CONFIG_H
#define AJ_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "aj_error.h"

/* A librdkafka property passed through from a "kafka." key, prefix removed. */
typedef struct aj_kv {
    char *key;
    char *value;
} aj_kv;

/* The daemon's configuration. Filled from defaults, then a file, then AJUSTE_* variables,
 * then --set flags; every field is described in aj_config_table (aj_config.c). */
typedef struct aj_config {
    char *usage_topic;
    char *contract_topic;
    char *invoice_topic;
    char *correction_topic;
    char *dead_letter_topic;
    char *review_topic;
    char *credit_topic;
    char *checkpoint_topic;
    char *policy_overcharge;
    char *policy_undercharge;
    char *policy_rules;
    char *materiality_amount;
    char *materiality_percent;
    int64_t checkpoint_interval_records;
    int64_t checkpoint_interval_ms;
    int64_t commit_interval_records;
    int64_t commit_interval_ms;
    int64_t exit_at_end;
    int64_t policy_rerate;
    char *log_level;
    aj_kv *kafka;          /* pass-through librdkafka properties, in the order set */
    size_t kafka_count;
} aj_config;

/* Sets every key to its default. Returns AJ_E_NOMEM. */
aj_err aj_config_init(aj_config *cfg);

/* Frees every owned string; NULL-safe. */
void aj_config_free(aj_config *cfg);

/*
 * Sets key to value. "kafka.<prop>" keys are stored for librdkafka (a later set of the same
 * property replaces the earlier). An unknown key or a value of the wrong type returns
 * AJ_E_CONFIG with a message naming the key in err (errlen bytes).
 */
aj_err aj_config_set(aj_config *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Sets from "KEY=VALUE" (a --set flag): as aj_config_set, and AJ_E_CONFIG without an '='. */
aj_err aj_config_set_assignment(aj_config *cfg, const char *assignment, char *err, size_t errlen);

/*
 * Reads "key = value" lines ('#' starts a comment, blank lines ignored). Errors name the file
 * and line: AJ_E_IO when it cannot be read, AJ_E_CONFIG on a bad line or key.
 */
aj_err aj_config_load_file(aj_config *cfg, const char *path, char *err, size_t errlen);

/*
 * Applies AJUSTE_<KEY> environment variables: the key upper-cased, '.' as '_'
 * (AJUSTE_COMMIT_INTERVAL_MS). Kafka properties: AJUSTE_KAFKA_<PROP> with '_' for '.',
 * e.g. AJUSTE_KAFKA_BOOTSTRAP_SERVERS. envp is a NULL-terminated environment.
 */
aj_err aj_config_load_env(aj_config *cfg, char **envp, char *err, size_t errlen);

/* Returns the pass-through value of a Kafka property, or NULL when unset. */
const char *aj_config_kafka_get(const aj_config *cfg, const char *prop);

/* Prints the effective configuration as "key = value" lines (every table key, then the kafka.*
 * properties; values of properties whose name contains "password" or "secret" are masked). */
void aj_config_print(FILE *out, const aj_config *cfg);

/* Prints the table (key, type, default, description) as text, or as a Markdown table. */
void aj_config_print_help(FILE *out);
void aj_config_print_markdown(FILE *out);

#endif /* AJ_CONFIG_H */
