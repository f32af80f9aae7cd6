/* aj_config.c - the configuration table and its loaders (file, environment, flags). */
#include "aj_config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "aj_policy.h"

typedef enum { AJ_CFG_STR, AJ_CFG_INT, AJ_CFG_BOOL } aj_cfg_type;

typedef struct aj_cfg_entry {
    const char *key;
    aj_cfg_type type;
    const char *def;
    const char *desc;
    size_t offset;
    /* Checks a string value at set time, so a bad value stops start-up naming its key. */
    aj_err (*check)(const char *value, char *err, size_t errlen);
} aj_cfg_entry;

static aj_err aj_check_disposition(const char *v, char *err, size_t errlen) {
    aj_disposition d;
    if (aj_disposition_parse(v, &d) == AJ_E_OK) return AJ_E_OK;
    snprintf(err, errlen, "'%s' is not APPLY, FLAG or HOLD", v);
    return AJ_E_CONFIG;
}

static aj_err aj_check_rules(const char *v, char *err, size_t errlen) {
    aj_policy p;
    aj_policy_default(&p);
    return aj_policy_parse_rules(&p, v, err, errlen);
}

static aj_err aj_check_amount(const char *v, char *err, size_t errlen) {
    aj_money m;
    if (aj_money_parse(v, &m) == AJ_E_OK && m >= 0) return AJ_E_OK;
    snprintf(err, errlen, "'%s' is not a non-negative amount such as 250.00", v);
    return AJ_E_CONFIG;
}

static aj_err aj_check_percent(const char *v, char *err, size_t errlen) {
    int64_t ppm;
    return aj_policy_parse_percent(v, &ppm, err, errlen);
}

#define AJ_CFG_OFF(field) offsetof(aj_config, field)

/* The one table: --help, the README's reference and the loaders all read it. */
static const aj_cfg_entry aj_config_table[] = {
    {"input.usage_topic", AJ_CFG_STR, "cdr.usage",
     "Topic of usage records, recurring and one-time charges and cycle closes (keyed by account).",
     AJ_CFG_OFF(usage_topic), NULL},
    {"input.contract_topic", AJ_CFG_STR, "contract.events",
     "Compacted topic of contract versions; every instance reads all of it before rating.",
     AJ_CFG_OFF(contract_topic), NULL},
    {"output.invoice_topic", AJ_CFG_STR, "invoices.adjusted", "Topic the adjusted invoices go to.",
     AJ_CFG_OFF(invoice_topic), NULL},
    {"output.correction_topic", AJ_CFG_STR, "corrections", "Topic the corrections go to.",
     AJ_CFG_OFF(correction_topic), NULL},
    {"output.dead_letter_topic", AJ_CFG_STR, "dead-letter",
     "Topic rejected input goes to, whole, with its reason.", AJ_CFG_OFF(dead_letter_topic), NULL},
    {"output.review_topic", AJ_CFG_STR, "invoices.review",
     "Topic held invoices go to, for `ajuste release` (docs/invoice.md, \"Review\").", AJ_CFG_OFF(review_topic), NULL},
    {"input.credit_topic", AJ_CFG_STR, "dispute.credits",
     "Topic of accepted dispute credits (keyed by account); empty to read none.", AJ_CFG_OFF(credit_topic), NULL},
    {"policy.overcharge", AJ_CFG_STR, "APPLY",
     "Disposition of corrections that lower a charge: APPLY, FLAG or HOLD.", AJ_CFG_OFF(policy_overcharge),
     aj_check_disposition},
    {"policy.undercharge", AJ_CFG_STR, "FLAG",
     "Disposition of corrections that raise a charge (FLAG: advisory, the legacy amount stays).",
     AJ_CFG_OFF(policy_undercharge), aj_check_disposition},
    {"policy.rules", AJ_CFG_STR, "",
     "Per-reason dispositions, e.g. RATE_MISMATCH=HOLD,MRC_MISSING:undercharge=APPLY.", AJ_CFG_OFF(policy_rules),
     aj_check_rules},
    {"materiality.amount", AJ_CFG_STR, "0",
     "Hold an invoice for review when its adjustment exceeds this amount; 0: no limit.",
     AJ_CFG_OFF(materiality_amount), aj_check_amount},
    {"materiality.percent", AJ_CFG_STR, "0",
     "Hold an invoice when its adjustment exceeds this percentage of its legacy total; 0: no limit.",
     AJ_CFG_OFF(materiality_percent), aj_check_percent},
    {"policy.rerate_amendments", AJ_CFG_BOOL, "true",
     "Rate the records of the open and last invoiced cycles again when a backdated contract version "
     "arrives (CONTRACT_AMENDED corrections, docs/rating.md); false saves the log this needs, about "
     "130 bytes of memory and checkpoint per record of those cycles.", AJ_CFG_OFF(policy_rerate), NULL},
    {"checkpoint.topic", AJ_CFG_STR, "ajuste.checkpoints",
     "Compacted topic of the per-partition checkpoints (state + input position) that restarts and "
     "rebalances resume from (docs/reliability.md).", AJ_CFG_OFF(checkpoint_topic), NULL},
    {"checkpoint.interval.records", AJ_CFG_INT, "1000000",
     "Checkpoint at the first commit after this many records (0: at every commit).",
     AJ_CFG_OFF(checkpoint_interval_records), NULL},
    {"checkpoint.interval.ms", AJ_CFG_INT, "10000",
     "Checkpoint at the first commit after this many milliseconds (0: at every commit); a crash "
     "re-reads at most about this much.", AJ_CFG_OFF(checkpoint_interval_ms), NULL},
    {"commit.interval.records", AJ_CFG_INT, "20000",
     "Flush the outputs and commit the offsets after this many records (checkpointing when due).",
     AJ_CFG_OFF(commit_interval_records), NULL},
    {"commit.interval.ms", AJ_CFG_INT, "1000",
     "Flush the outputs and commit the offsets at least this often, in milliseconds.",
     AJ_CFG_OFF(commit_interval_ms), NULL},
    {"run.exit_at_end", AJ_CFG_BOOL, "false",
     "Exit 0 once every assigned usage partition is read to its end (batch runs, tests).",
     AJ_CFG_OFF(exit_at_end), NULL},
    {"log.level", AJ_CFG_STR, "info", "error, warn, info or debug.", AJ_CFG_OFF(log_level), NULL},
};

#define AJ_CFG_COUNT (sizeof(aj_config_table) / sizeof(aj_config_table[0]))

static const aj_cfg_entry *aj_cfg_find(const char *key) {
    for (size_t i = 0; i < AJ_CFG_COUNT; i++)
        if (strcmp(aj_config_table[i].key, key) == 0) return &aj_config_table[i];
    return NULL;
}

static aj_err aj_cfg_set_kafka(aj_config *cfg, const char *prop, const char *value) {
    char *v = strdup(value);
    if (!v) return AJ_E_NOMEM;
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        if (strcmp(cfg->kafka[i].key, prop) == 0) {
            free(cfg->kafka[i].value);
            cfg->kafka[i].value = v;
            return AJ_E_OK;
        }
    }
    aj_kv *grown = realloc(cfg->kafka, (cfg->kafka_count + 1) * sizeof(*grown));
    char *k = strdup(prop);
    if (!grown || !k) {
        if (grown) cfg->kafka = grown;
        free(v);
        free(k);
        return AJ_E_NOMEM;
    }
    cfg->kafka = grown;
    cfg->kafka[cfg->kafka_count].key = k;
    cfg->kafka[cfg->kafka_count].value = v;
    cfg->kafka_count++;
    return AJ_E_OK;
}

aj_err aj_config_set(aj_config *cfg, const char *key, const char *value, char *err, size_t errlen) {
    const aj_cfg_entry *e;
    char *end;

    if (strncmp(key, "kafka.", 6) == 0 && key[6]) return aj_cfg_set_kafka(cfg, key + 6, value);
    if (!(e = aj_cfg_find(key))) {
        snprintf(err, errlen, "unknown configuration key '%s' (ajuste run --help lists the keys)", key);
        return AJ_E_CONFIG;
    }
    void *field = (char *)cfg + e->offset;
    switch (e->type) {
    case AJ_CFG_STR: {
        if (e->check) {
            char why[200];
            if (e->check(value, why, sizeof(why)) != AJ_E_OK) {
                snprintf(err, errlen, "configuration key '%s': %s", key, why);
                return AJ_E_CONFIG;
            }
        }
        char *v = strdup(value);
        if (!v) return AJ_E_NOMEM;
        free(*(char **)field);
        *(char **)field = v;
        return AJ_E_OK;
    }
    case AJ_CFG_INT: {
        errno = 0;
        long long n = strtoll(value, &end, 10);
        if (errno || end == value || *end || n < 0) {
            snprintf(err, errlen, "configuration key '%s': '%s' is not a non-negative integer",
                     key, value);
            return AJ_E_CONFIG;
        }
        *(int64_t *)field = n;
        return AJ_E_OK;
    }
    case AJ_CFG_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(int64_t *)field = 1;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(int64_t *)field = 0;
        } else {
            snprintf(err, errlen, "configuration key '%s': '%s' is not true or false", key, value);
            return AJ_E_CONFIG;
        }
        return AJ_E_OK;
    }
    return AJ_E_CONFIG;
}

aj_err aj_config_set_assignment(aj_config *cfg, const char *assignment, char *err, size_t errlen) {
    const char *eq = strchr(assignment, '=');
    char key[128];
    if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(key)) {
        snprintf(err, errlen, "--set expects KEY=VALUE, got '%s'", assignment);
        return AJ_E_CONFIG;
    }
    memcpy(key, assignment, (size_t)(eq - assignment));
    key[eq - assignment] = '\0';
    return aj_config_set(cfg, key, eq + 1, err, errlen);
}

aj_err aj_config_init(aj_config *cfg) {
    char err[256];
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < AJ_CFG_COUNT; i++) {
        aj_err rc = aj_config_set(cfg, aj_config_table[i].key, aj_config_table[i].def, err, sizeof(err));
        if (rc != AJ_E_OK) return rc;
    }
    return AJ_E_OK;
}

void aj_config_free(aj_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < AJ_CFG_COUNT; i++)
        if (aj_config_table[i].type == AJ_CFG_STR) {
            char **p = (char **)((char *)cfg + aj_config_table[i].offset);
            free(*p);
            *p = NULL;
        }
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        free(cfg->kafka[i].key);
        free(cfg->kafka[i].value);
    }
    free(cfg->kafka);
    cfg->kafka = NULL;
    cfg->kafka_count = 0;
}

static char *aj_trim(char *s) {
    char *end;
    while (isspace((unsigned char)*s)) s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

aj_err aj_config_load_file(aj_config *cfg, const char *path, char *err, size_t errlen) {
    char line[4096], msg[512];
    int lineno = 0;
    aj_err rc = AJ_E_OK;
    FILE *f = fopen(path, "r");

    if (!f) {
        snprintf(err, errlen, "cannot read configuration file '%s': %s", path, strerror(errno));
        return AJ_E_IO;
    }
    while (fgets(line, sizeof(line), f)) {
        char *hash, *eq, *key, *value;
        lineno++;
        if ((hash = strchr(line, '#'))) *hash = '\0';
        key = aj_trim(line);
        if (!*key) continue;
        if (!(eq = strchr(key, '='))) {
            snprintf(err, errlen, "%s:%d: expected 'key = value', got '%s'", path, lineno, key);
            rc = AJ_E_CONFIG;
            break;
        }
        *eq = '\0';
        value = aj_trim(eq + 1);
        key = aj_trim(key);
        if ((rc = aj_config_set(cfg, key, value, msg, sizeof(msg))) != AJ_E_OK) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            break;
        }
    }
    fclose(f);
    return rc;
}

aj_err aj_config_load_env(aj_config *cfg, char **envp, char *err, size_t errlen) {
    for (char **e = envp; e && *e; e++) {
        char key[256];
        const char *eq = strchr(*e, '=');
        size_t n;

        if (strncmp(*e, "AJUSTE_", 7) != 0 || !eq) continue;
        n = (size_t)(eq - *e) - 7;
        if (n == 0 || n >= sizeof(key)) continue;
        for (size_t i = 0; i < n; i++) {
            char c = (*e)[7 + i];
            key[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        key[n] = '\0';
        /* Table keys may contain '_' themselves: match them by their own spelling. */
        const char *match = NULL;
        for (size_t i = 0; i < AJ_CFG_COUNT; i++) {
            char want[256];
            size_t k = 0;
            for (const char *p = aj_config_table[i].key; *p && k + 1 < sizeof(want); p++)
                want[k++] = *p == '_' ? '.' : *p;
            want[k] = '\0';
            if (strcmp(want, key) == 0) match = aj_config_table[i].key;
        }
        if (!match && strncmp(key, "kafka.", 6) != 0) {
            snprintf(err, errlen, "unknown configuration variable '%.*s'", (int)(eq - *e), *e);
            return AJ_E_CONFIG;
        }
        aj_err rc = aj_config_set(cfg, match ? match : key, eq + 1, err, errlen);
        if (rc != AJ_E_OK) return rc;
    }
    return AJ_E_OK;
}

const char *aj_config_kafka_get(const aj_config *cfg, const char *prop) {
    for (size_t i = 0; i < cfg->kafka_count; i++)
        if (strcmp(cfg->kafka[i].key, prop) == 0) return cfg->kafka[i].value;
    return NULL;
}

static const char *aj_cfg_type_name(aj_cfg_type t) {
    return t == AJ_CFG_STR ? "string" : t == AJ_CFG_INT ? "integer" : "boolean";
}

void aj_config_print_help(FILE *out) {
    for (size_t i = 0; i < AJ_CFG_COUNT; i++) {
        const aj_cfg_entry *e = &aj_config_table[i];
        fprintf(out, "  %-26s %-8s default %s\n      %s\n", e->key, aj_cfg_type_name(e->type),
                e->def, e->desc);
    }
    fprintf(out, "  %-26s %-8s\n      %s\n", "kafka.<property>", "string",
            "Passed to librdkafka as <property> (e.g. kafka.bootstrap.servers).");
}

void aj_config_print_markdown(FILE *out) {
    fprintf(out, "| key | type | default | description |\n|---|---|---|---|\n");
    for (size_t i = 0; i < AJ_CFG_COUNT; i++) {
        const aj_cfg_entry *e = &aj_config_table[i];
        fprintf(out, "| `%s` | %s | `%s` | %s |\n", e->key, aj_cfg_type_name(e->type), e->def, e->desc);
    }
    fprintf(out, "| `kafka.<property>` | string | | Passed to librdkafka as `<property>`. |\n");
}

void aj_config_print(FILE *out, const aj_config *cfg) {
    for (size_t i = 0; i < AJ_CFG_COUNT; i++) {
        const aj_cfg_entry *e = &aj_config_table[i];
        const void *field = (const char *)cfg + e->offset;
        switch (e->type) {
        case AJ_CFG_STR: fprintf(out, "%s = %s\n", e->key, *(char *const *)field); break;
        case AJ_CFG_INT: fprintf(out, "%s = %lld\n", e->key, (long long)*(const int64_t *)field); break;
        case AJ_CFG_BOOL: fprintf(out, "%s = %s\n", e->key, *(const int64_t *)field ? "true" : "false"); break;
        }
    }
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        int secret = strstr(cfg->kafka[i].key, "password") || strstr(cfg->kafka[i].key, "secret");
        fprintf(out, "kafka.%s = %s\n", cfg->kafka[i].key, secret ? "********" : cfg->kafka[i].value);
    }
}
