/* aj_truth.h - checking corrections against a workload's ground truth, per reason. */
#ifndef AJ_TRUTH_H
#define AJ_TRUTH_H

#include <stdio.h>

#include "aj_gen.h"

typedef struct aj_truth_check aj_truth_check;

aj_truth_check *aj_truth_check_create(void);
void aj_truth_check_destroy(aj_truth_check *tc);   /* NULL-safe */

/* Adds one expected outcome (copied). AJ_E_NOMEM. */
aj_err aj_truth_check_expect(aj_truth_check *tc, const aj_truth *t);

/* Reads a ground_truth.csv written by `ajuste gen`. AJ_E_IO / AJ_E_ARG with err naming the
 * file and line. */
aj_err aj_truth_check_load(aj_truth_check *tc, const char *path, char *err, size_t errlen);

/* Counts one correction the pipeline emitted: matched when its id is expected with the same
 * reason, legacy and corrected amounts. */
void aj_truth_check_correction(aj_truth_check *tc, const aj_correction *c);

/* Counts one dead letter. */
void aj_truth_check_dead_letter(aj_truth_check *tc, aj_err reason);

typedef struct aj_truth_class {
    int64_t injected, found, matched;
} aj_truth_class;

typedef struct aj_truth_totals {
    aj_truth_class by_reason[AJ_REASON__COUNT];
    int64_t injected, found, matched;
    int64_t dead_expected[AJ_E__COUNT], dead_found[AJ_E__COUNT];
} aj_truth_totals;

const aj_truth_totals *aj_truth_check_totals(const aj_truth_check *tc);

/* 1 when every correction matches an injected error and every injected error and dead
 * letter was found; 0 otherwise. */
int aj_truth_check_exact(const aj_truth_check *tc);

/* num/den as "99.99%", truncated so that 100.00% means exact ("-" when den is 0). */
const char *aj_truth_pct(int64_t num, int64_t den, char *buf, size_t len);

/* Prints the table "reason found injected precision recall" and the totals. */
void aj_truth_check_print(const aj_truth_check *tc, FILE *out);

#endif /* AJ_TRUTH_H */
