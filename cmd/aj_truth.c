/* aj_truth.c - checking corrections against a workload's ground truth, per reason. */
#include "aj_truth.h"

#include <stdlib.h>
#include <string.h>

#include "aj_map.h"

struct aj_truth_check {
    aj_map *by_id;        /* correction id -> aj_truth (owned) */
    aj_truth_totals totals;
};

static void aj_truth_free(void *p) {
    free(p);
}

aj_truth_check *aj_truth_check_create(void) {
    aj_truth_check *tc = calloc(1, sizeof(*tc));
    if (!tc) return NULL;
    if (!(tc->by_id = aj_map_create())) {
        free(tc);
        return NULL;
    }
    return tc;
}

void aj_truth_check_destroy(aj_truth_check *tc) {
    if (!tc) return;
    aj_map_destroy(tc->by_id, aj_truth_free);
    free(tc);
}

aj_err aj_truth_check_expect(aj_truth_check *tc, const aj_truth *t) {
    if (t->dead_letter) {
        if ((unsigned)t->dead_reason < AJ_E__COUNT) tc->totals.dead_expected[t->dead_reason]++;
        return AJ_E_OK;
    }
    aj_truth *copy = malloc(sizeof(*copy));
    if (!copy) return AJ_E_NOMEM;
    *copy = *t;
    void *old = NULL;
    if (aj_map_put(tc->by_id, copy->correction_id, strlen(copy->correction_id), copy, &old) != AJ_E_OK) {
        free(copy);
        return AJ_E_NOMEM;
    }
    if (old) {
        aj_truth *prev = old;
        tc->totals.by_reason[prev->reason].injected--;
        tc->totals.injected--;
        free(old);
    }
    tc->totals.by_reason[t->reason].injected++;
    tc->totals.injected++;
    return AJ_E_OK;
}

/* Splits line at commas into at most n fields (in place); returns the count. */
static int aj_csv_split(char *line, char **f, int n) {
    int k = 0;
    f[k++] = line;
    for (char *p = line; *p && k < n; p++)
        if (*p == ',') {
            *p = '\0';
            f[k++] = p + 1;
        }
    return k;
}

aj_err aj_truth_check_load(aj_truth_check *tc, const char *path, char *err, size_t errlen) {
    FILE *in = fopen(path, "r");
    char line[512], *f[5];
    long n = 0;
    aj_err rc = AJ_E_OK;

    if (!in) {
        snprintf(err, errlen, "cannot open %s", path);
        return AJ_E_IO;
    }
    while (fgets(line, sizeof(line), in)) {
        aj_truth t;
        n++;
        line[strcspn(line, "\r\n")] = '\0';
        if (n == 1) {
            if (strcmp(line, AJ_TRUTH_CSV_HEADER) != 0) {
                snprintf(err, errlen, "%s: the first line is not \"%s\"", path, AJ_TRUTH_CSV_HEADER);
                rc = AJ_E_ARG;
                break;
            }
            continue;
        }
        memset(&t, 0, sizeof(t));
        if (aj_csv_split(line, f, 5) != 5 || aj_copy_field(t.correction_id, sizeof(t.correction_id), f[0], strlen(f[0])) ||
            aj_copy_field(t.record_id, sizeof(t.record_id), f[1], strlen(f[1]))) {
            snprintf(err, errlen, "%s line %ld: not 5 fields of ground truth", path, n);
            rc = AJ_E_ARG;
            break;
        }
        t.legacy = strtoll(f[3], NULL, 10);
        t.correct = strtoll(f[4], NULL, 10);
        if (strncmp(f[2], "DEAD_LETTER:", 12) == 0) {
            t.dead_letter = 1;
            t.dead_reason = AJ_E__COUNT;
            for (int e = 0; e < AJ_E__COUNT; e++)
                if (strcmp(f[2] + 12, aj_err_name((aj_err)e)) == 0) t.dead_reason = (aj_err)e;
        } else if (aj_reason_parse(f[2], &t.reason) != AJ_E_OK || !t.correction_id[0]) {
            snprintf(err, errlen, "%s line %ld: unknown reason %s", path, n, f[2]);
            rc = AJ_E_ARG;
            break;
        }
        if ((rc = aj_truth_check_expect(tc, &t))) break;
    }
    if (!rc && ferror(in)) {
        snprintf(err, errlen, "reading %s failed", path);
        rc = AJ_E_IO;
    }
    fclose(in);
    return rc;
}

void aj_truth_check_correction(aj_truth_check *tc, const aj_correction *c) {
    const aj_truth *t = aj_map_get(tc->by_id, c->correction_id, strlen(c->correction_id));
    if ((unsigned)c->reason >= AJ_REASON__COUNT) return;
    tc->totals.by_reason[c->reason].found++;
    tc->totals.found++;
    if (t && t->reason == c->reason && t->legacy == c->legacy_amount && t->correct == c->corrected_amount) {
        tc->totals.by_reason[c->reason].matched++;
        tc->totals.matched++;
    }
}

void aj_truth_check_dead_letter(aj_truth_check *tc, aj_err reason) {
    if ((unsigned)reason < AJ_E__COUNT) tc->totals.dead_found[reason]++;
}

const aj_truth_totals *aj_truth_check_totals(const aj_truth_check *tc) {
    return &tc->totals;
}

int aj_truth_check_exact(const aj_truth_check *tc) {
    const aj_truth_totals *t = &tc->totals;
    for (int e = 0; e < AJ_E__COUNT; e++)
        if (t->dead_expected[e] != t->dead_found[e]) return 0;
    return t->matched == t->found && t->matched == t->injected;
}

const char *aj_truth_pct(int64_t num, int64_t den, char *buf, size_t len) {
    if (den == 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    int64_t bp = num * 10000 / den;   /* basis points, truncated: 100.00% only when exact */
    snprintf(buf, len, "%lld.%02lld%%", (long long)(bp / 100), (long long)(bp % 100));
    return buf;
}

void aj_truth_check_print(const aj_truth_check *tc, FILE *out) {
    const aj_truth_totals *t = &tc->totals;
    char a[16], b[16];
    fprintf(out, "  %-24s %7s %8s %9s %8s  %s\n", "reason", "found", "injected", "precision", "recall",
            "what the legacy chain did");
    for (int i = 0; i < AJ_REASON__COUNT; i++) {
        const aj_truth_class *k = &t->by_reason[i];
        if (!k->found && !k->injected) continue;
        fprintf(out, "  %-24s %7lld %8lld %9s %8s  %s\n", aj_reason_name((aj_reason)i), (long long)k->found,
                (long long)k->injected, aj_truth_pct(k->matched, k->found, a, sizeof(a)),
                aj_truth_pct(k->matched, k->injected, b, sizeof(b)), aj_reason_desc((aj_reason)i));
    }
    fprintf(out, "  %-24s %7lld %8lld %9s %8s\n", "all", (long long)t->found, (long long)t->injected,
            aj_truth_pct(t->matched, t->found, a, sizeof(a)), aj_truth_pct(t->matched, t->injected, b, sizeof(b)));
}
