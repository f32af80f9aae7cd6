/* aj_audit.h - the audit log's rows: canonical encoding, hash chains, the correction row's
 * values and its rule_trace JSON (docs/audit.md, "Canonical form" and "Hash chains"). */
#ifndef AJ_AUDIT_H
#define AJ_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "aj_bytes.h"
#include "aj_error.h"
#include "aj_sha256.h"
#include "aj_types.h"

#define AJ_AUDIT_HASH_LEN AJ_SHA256_LEN

/* The first field of every correction row's canonical form: names the table and the form's
 * version, so a row of another table or form can never hash the same. */
#define AJ_AUDIT_CORRECTION_TAG "ajuste.corrections.v1"

/* Fields of a correction's canonical form after the tag (docs/audit.md lists them). */
#define AJ_AUDIT_CORRECTION_NFIELDS 47
/* Of which the rule_trace keys: their count, then each key's value, in this order. */
#define AJ_AUDIT_TRACE_NKEYS 21
extern const char *const aj_audit_trace_keys[AJ_AUDIT_TRACE_NKEYS];

/* The SQL expression (over a row of corrections) whose text is each field: the same list
 * drives `ajuste audit verify` and the documentation, so an auditor can recompute in SQL. */
extern const char *const aj_audit_correction_sql[AJ_AUDIT_CORRECTION_NFIELDS];

/*
 * Appends the canonical form of one row to out: field(tag), then field(values[i]) for each i,
 * where field(s) is the byte length of s as 4 bytes big-endian followed by the bytes of s.
 * AJ_E_NOMEM; AJ_E_ARG when a value is NULL or longer than 2^31 - 1 bytes.
 */
aj_err aj_audit_canonical(aj_bytes *out, const char *tag, const char *const *values, size_t n);

/* row_hash = SHA-256(prev_hash || canonical). Cannot fail. */
void aj_audit_row_hash(const uint8_t prev[AJ_AUDIT_HASH_LEN], const void *canonical, size_t len,
                       uint8_t out[AJ_AUDIT_HASH_LEN]);

/* The text values of one correction row, in aj_audit_correction_sql's order. The pointers
 * point into the struct itself or into c (borrowed: c must outlive it). */
typedef struct aj_audit_values {
    const char *v[AJ_AUDIT_CORRECTION_NFIELDS];
    char num[AJ_AUDIT_CORRECTION_NFIELDS][24];
} aj_audit_values;

/*
 * Fills vals from c as the row the sink inserts: pipeline_version and chain borrowed,
 * chain_seq rendered. Integers as decimal text ("-300000"), late "true" or "false", enums by
 * name. AJ_E_ARG when an enum of c is out of range.
 */
aj_err aj_audit_correction_values(const aj_correction *c, const char *pipeline_version, const char *chain,
                                  int64_t chain_seq, aj_audit_values *vals);

/* Appends the rule_trace JSON object of vals (its keys in aj_audit_trace_keys' order, the
 * integers as JSON numbers, the strings escaped) to out. AJ_E_NOMEM. */
aj_err aj_audit_trace_json(aj_bytes *out, const aj_audit_values *vals);

/* Index in vals->v of the first rule_trace key's value (the count is just before it). */
#define AJ_AUDIT_TRACE_FIRST 16

#endif /* AJ_AUDIT_H */
