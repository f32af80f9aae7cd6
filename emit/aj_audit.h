/* aj_audit.h - the audit log's rows: canonical encoding, hash chains, the correction row's
 * values and its rule_trace JSON (docs/audit.md, "Canonical form" and "Hash chains"). */
#ifndef AJ_AUDIT_H
#define AJ_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include <libpq-fe.h>

#include "aj_bytes.h"
#include "aj_config.h"
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
/* Indexes into aj_audit_trace_keys in jsonb's key order (shorter keys first, then bytewise). */
extern const unsigned char aj_audit_trace_jsonb_order[AJ_AUDIT_TRACE_NKEYS];

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

/* The most fields a canonical form has after its tag (the corrections'). */
#define AJ_AUDIT_MAX_FIELDS AJ_AUDIT_CORRECTION_NFIELDS

/* The text values of one row, in its table's canonical order (aj_audit_correction_sql,
 * aj_audit_invoice_sql). The pointers point into the struct itself or into the record it was
 * filled from (borrowed: the record must outlive it). */
typedef struct aj_audit_values {
    const char *v[AJ_AUDIT_MAX_FIELDS];
    char num[AJ_AUDIT_MAX_FIELDS][32];
} aj_audit_values;

/*
 * Fills vals from c as the row the sink inserts: pipeline_version and chain borrowed,
 * chain_seq rendered. Integers as decimal text ("-300000"), late "true" or "false", enums by
 * name. AJ_E_ARG when an enum of c is out of range.
 */
aj_err aj_audit_correction_values(const aj_correction *c, const char *pipeline_version, const char *chain,
                                  int64_t chain_seq, aj_audit_values *vals);

/* Appends the rule_trace JSON object of vals (its keys in aj_audit_trace_jsonb_order: the
 * order jsonb stores them in, so the server need not sort them; the integers as JSON numbers,
 * the strings escaped) to out. AJ_E_NOMEM. */
aj_err aj_audit_trace_json(aj_bytes *out, const aj_audit_values *vals);
/* The rule_trace object's keys in jsonb's order (aj_audit_trace_jsonb_order), each with the JSON
 * type the sink writes: "band:string,tier:number,..." (what verify expects of every stored
 * rule_trace, listed by ORDER BY octet_length(key), key COLLATE "C"). */
#define AJ_AUDIT_TRACE_SHAPE_LEN 512
void aj_audit_trace_shape(char *buf, size_t len);

/* Index in vals->v of the first rule_trace key's value (the count is just before it). */
#define AJ_AUDIT_TRACE_FIRST 16

/* ------------------------------------------------------------------- invoice headers */

/* The first field of every invoice header's canonical form. */
#define AJ_AUDIT_INVOICE_TAG "ajuste.invoice_headers.v1"

/* Fields of an invoice header's canonical form after the tag: the columns of invoice_headers in
 * their order (docs/audit.md lists them), prev_hash and row_hash left out. */
#define AJ_AUDIT_INVOICE_NFIELDS 29
extern const char *const aj_audit_invoice_sql[AJ_AUDIT_INVOICE_NFIELDS];

/* An invoice as the log stores it: the header, without its lines. */
typedef struct aj_audit_header {
    aj_invoice inv;              /* lines and adjustments: none; versions owned (aj_invoice_release) */
    int64_t line_count;          /* the invoice's lines (memo lines included) */
    int64_t correction_count;    /* its corrections: the sum of its corrections_summary counts */
} aj_audit_header;

/*
 * Fills vals from h as the row the sink inserts (pipeline_version and chain borrowed, h too):
 * integers in decimal, the period bounds as UTC timestamps "YYYY-MM-DDTHH:MM:SS.mmmZ", the dates
 * "YYYY-MM-DD", contract_versions as PostgreSQL prints an integer[] ("{1,2}", "{}"), written
 * into *text (cleared first; vals points into it, so it must not change while vals is used).
 * Each value is also the COPY text of its column. AJ_E_ARG when the status is out of range or
 * a date or timestamp is outside the years 1 to 9999; AJ_E_NOMEM.
 */
aj_err aj_audit_invoice_values(const aj_audit_header *h, const char *pipeline_version, const char *chain,
                               int64_t chain_seq, aj_audit_values *vals, aj_bytes *text);

/* ------------------------------------------------------------------------------ the sink */



/* The topics the sink reads, each into its table (docs/audit.md, "The sink"). */
typedef enum aj_audit_source {
    AJ_AUDIT_SRC_CORRECTIONS,      /* corrections -> corrections */
    AJ_AUDIT_SRC_INVOICES,         /* invoices ISSUED and RELEASED -> invoice_headers */
    AJ_AUDIT_SRC_REVIEW,           /* invoices HELD -> invoice_headers */
    AJ_AUDIT_SRC__COUNT
} aj_audit_source;

/* "corrections", "invoices", "review". */
const char *aj_audit_source_name(aj_audit_source src);

/* What `ajuste audit sink` is told (docs/audit.md, "The sink"). Everything borrowed. */
typedef struct aj_audit_sink_opts {
    const aj_config *cfg;          /* kafka.* properties (bootstrap servers, security) */
    const char *topics[AJ_AUDIT_SRC__COUNT];   /* NULL or "": that source is not stored */
    const char *conninfo;          /* libpq connection string or URI; "" for the PG* variables */
    const char *pipeline_version;  /* written in every row */
    int64_t batch_rows;            /* rows per transaction at most (N) */
    int64_t batch_ms;              /* following: time between reads of the topic (T) */
    int until_end;                 /* stop once every partition is stored up to its end */
    int64_t retry_ms;              /* how long to keep retrying a database that is down */
    int wait_ms;                   /* first connection: wait for a server still starting */
    FILE *report;                  /* a line per reconnection and the totals; NULL: silent */
} aj_audit_sink_opts;

typedef struct aj_audit_sink_stats {
    int64_t read;           /* messages read (those re-read after a failure included) */
    int64_t inserted;       /* rows inserted */
    int64_t duplicates;     /* keys already in the log (or twice in a batch): skipped */
    int64_t transactions;   /* committed */
    int64_t retries;        /* the whole sink's failures given up and re-read (the same in each source) */
    int64_t db_us;          /* time spent sending rows to PostgreSQL and waiting for it (COPY, commits) */
    int partitions;
} aj_audit_sink_stats;

/*
 * Stores each source topic in its table (corrections; invoice_headers for the invoice and
 * review topics, which may carry only ISSUED or RELEASED, and HELD, invoices), each topic in
 * transactions of its own of at most batch_rows rows: the rows COPY-ed straight into the table
 * as they are read (a key already there fails the COPY with 23505: the batch is then taken again
 * through a temporary table and INSERT ... ON CONFLICT DO NOTHING, row by row if need be, the
 * key skipped), the chains continued over the rows inserted only, and one sink_offsets row per
 * partition read, all committed together. Resumes every partition from its last sink_offsets row (never
 * from Kafka group offsets). A transient failure (aj_pg_classify, a lost connection) drops the
 * transaction, reconnects with a backoff for up to retry_ms, and re-reads from sink_offsets.
 * *stop set (a signal) ends it after the current transaction. Returns AJ_E_OK (until_end: all
 * stored; or stopped); AJ_E_FATAL / AJ_E_KAFKA / AJ_E_CONFIG with err naming the message,
 * statement or SQLSTATE.
 */
aj_err aj_audit_sink_run(const aj_audit_sink_opts *opts, volatile int *stop,
                         aj_audit_sink_stats stats[AJ_AUDIT_SRC__COUNT], char *err, size_t errlen);

/* ---------------------------------------------------------------------------- verify */



/* The tables verify walks, in this order. */
typedef enum aj_audit_table { AJ_AUDIT_CORRECTIONS, AJ_AUDIT_INVOICE_HEADERS, AJ_AUDIT_TABLE__COUNT } aj_audit_table;

/* What aj_audit_verify found. */
typedef struct aj_audit_verify_result {
    int64_t rows;           /* rows checked */
    int chains;             /* chains seen */
    int64_t table_rows[AJ_AUDIT_TABLE__COUNT];   /* the same per table */
    int table_chains[AJ_AUDIT_TABLE__COUNT];
    int bad;                /* 1: a row does not match, or the anchor is not met (reported on out) */
} aj_audit_verify_result;

/*
 * Recomputes every chain of corrections, then of invoice_headers (each ORDER BY chain,
 * chain_seq, all in one REPEATABLE READ READ ONLY transaction, through a cursor): each chain must
 * number its rows 1, 2, 3... without a gap, each prev_hash must be the recomputed row_hash of
 * the row before (32 zero bytes for the first), and each row_hash must equal SHA-256(prev_hash ||
 * canonical form). Stops at the first row that does not and reports it on out (chain, seq, the
 * row's id (correction id; invoice id and status), what was expected and
 * what is stored), result->bad = 1. Otherwise prints one line per chain (rows, head seq and
 * hash). anchor_in (NULL: none): a file of chain heads written earlier by anchor_out; each chain
 * it names must still reach its seq with the same row_hash there (a truncated tail, a removed
 * chain, a rewritten history are reported). anchor_out (NULL: none): after a clean check, the
 * heads are written there (via a temporary file and rename).
 * Returns AJ_E_OK (see result->bad); AJ_E_RETRY / AJ_E_FATAL for a database failure, AJ_E_IO /
 * AJ_E_CONFIG for an anchor file that cannot be read, written or parsed, with err.
 */
aj_err aj_audit_verify(PGconn *conn, const char *anchor_in, const char *anchor_out, FILE *out,
                       aj_audit_verify_result *result, char *err, size_t errlen);

#endif /* AJ_AUDIT_H */
