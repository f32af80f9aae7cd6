/* aj_gen.h - a deterministic synthetic carrier workload with a ground truth of its errors. */
#ifndef AJ_GEN_H
#define AJ_GEN_H

#include <stdint.h>

#include "aj_types.h"

typedef struct aj_gen_opts {
    int64_t accounts;       /* billing accounts (default 2000) */
    int64_t records;        /* usage records (default 300000) */
    int64_t error_ppm;      /* usage and recurring records given a billing error, per million */
    int64_t invalid_ppm;    /* usage records made invalid (dead letters), per million */
    uint64_t seed;
} aj_gen_opts;

/* One injected error: what a correct pipeline must report for the record. */
typedef struct aj_truth {
    char correction_id[AJ_ID_LEN + 8];   /* the id the correction must carry ("" for a dead letter) */
    char record_id[AJ_ID_LEN + 1];
    int dead_letter;        /* 1: must be rejected with dead_reason; 0: must be corrected */
    aj_reason reason;       /* when corrected: the reason the correction must carry */
    aj_err dead_reason;
    aj_money legacy;
    aj_money correct;       /* when corrected: the corrected amount */
} aj_truth;

/* Where the generator writes. Datums carry no header; key is the account. */
typedef struct aj_gen_out {
    void *opaque;
    aj_err (*contract)(void *opaque, const char *key, const void *datum, size_t len);
    aj_err (*event)(void *opaque, const char *key, const void *datum, size_t len);
    aj_err (*truth)(void *opaque, const aj_truth *t);
} aj_gen_out;

typedef struct aj_gen_counts {
    int64_t contracts, usage, recurring, one_time, closes, truths, invalid;
} aj_gen_counts;

void aj_gen_defaults(aj_gen_opts *o);

/*
 * Generates the workload: every contract version, then the usage stream (recurring charges,
 * usage records, then a cycle close per account), then the ground truth. Same options, same
 * calls with the same bytes. counts may be NULL. Errors from out's callbacks are returned.
 */
aj_err aj_gen_run(const aj_gen_opts *o, const aj_gen_out *out, aj_gen_counts *counts);

/* Parses a rate such as "0.05", "5%" or "0" into parts per million. AJ_E_ARG otherwise. */
aj_err aj_gen_parse_rate(const char *s, int64_t *ppm);

/* Writes a truth row as CSV / the header line. */
void aj_truth_csv(const aj_truth *t, char *buf, size_t len);
#define AJ_TRUTH_CSV_HEADER "correction_id,record_id,expected,legacy_amount,correct_amount"

#endif /* AJ_GEN_H */
