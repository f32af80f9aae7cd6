/* aj_audit_report.h - the auditor's reports on the correction log (show, summary, rootcause,
 * export; docs/audit.md "Reports"): the tables they build and how they are written out. */
#ifndef AJ_AUDIT_REPORT_H
#define AJ_AUDIT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "aj_error.h"
#include "aj_money.h"

/* ------------------------------------------------------------------ the commands */

/* What `ajuste audit` lends the reports: its connection and its --wait parsing, so that every
 * audit command connects and reports a failure the same way. */
typedef struct aj_audit_report_hooks {
    /* Connects subcommand cmd to db (empty: the PG* variables); NULL with *status and a message. */
    PGconn *(*open)(const char *cmd, const char *db, int64_t wait_s, int *status);
    /* Parses --wait SECONDS of subcommand cmd; -1 with a message. */
    int (*parse_wait)(const char *cmd, const char *arg, int64_t *wait_s);
} aj_audit_report_hooks;

/*
 * `ajuste audit show|summary|rootcause|export ...`: argv[0] is the subcommand. Returns an exit
 * code: AJ_EXIT_OK, AJ_EXIT_FAILURE (no connection, a query failed, no corrections for the
 * selection, output not written), AJ_EXIT_USAGE (bad command line).
 */
int aj_audit_report_cmd(int argc, char **argv, const aj_audit_report_hooks *hooks);

/* ------------------------------------------------------------------ the tables */

/* How a column is written. Every cell is text; INT and MONEY cells hold a decimal integer
 * (MONEY: micro-units of the row's currency), formatted by the writer. */
typedef enum aj_rep_type { AJ_REP_TEXT, AJ_REP_INT, AJ_REP_MONEY } aj_rep_type;

/* Where a column appears. */
#define AJ_REP_ALL 0       /* a column in text, CSV and HTML */
#define AJ_REP_PROSE 1     /* a sentence: under its row in text, a wide cell in HTML, a column in CSV */
#define AJ_REP_HUMAN 2     /* as PROSE, but not in CSV (it says what CSV-only columns hold) */
#define AJ_REP_CSV 3       /* CSV only (the machine's copy of what a HUMAN column says) */

typedef struct aj_rep_col {
    const char *key;     /* CSV header and HTML id part, snake_case */
    const char *title;   /* text and HTML header */
    aj_rep_type type;
    int where;           /* AJ_REP_ALL, AJ_REP_PROSE, AJ_REP_HUMAN or AJ_REP_CSV */
} aj_rep_col;

/* A row: ncols cells (owned). */
typedef struct aj_rep_row {
    char **cells;
    int total;      /* 0 a row; 1 a total row; 2 a total row of the whole report (HTML ids) */
    int decimals;   /* the currency's decimals, for MONEY cells in text and HTML */
} aj_rep_row;

/* A section of a report: a title and its rows; every section of a report has the same columns. */
typedef struct aj_rep_section {
    char *title;
    aj_rep_row *rows;
    size_t n_rows, cap_rows;
} aj_rep_section;

/* One bar of a chart: a label, a count and a note (amounts per currency), both owned. */
typedef struct aj_rep_bar {
    char *label;
    int64_t count;
    char *note;
} aj_rep_bar;

typedef struct aj_rep_chart {
    const char *title;   /* static */
    const char *id;      /* static: HTML id of the figure */
    aj_rep_bar *bars;
    size_t n_bars, cap_bars;
} aj_rep_chart;

/* A whole report: what the writers take. */
typedef struct aj_rep {
    char *title;          /* "Corrections summary, cycle 2026-10, by reason" */
    char *subtitle;       /* where it was read from */
    const aj_rep_col *cols;
    size_t n_cols;
    aj_rep_section *sections;
    size_t n_sections, cap_sections;
    aj_rep_chart charts[2];   /* by reason, by day (HTML only) */
    char *notes;              /* paragraphs under the tables, '\n'-separated (owned, may be NULL) */
} aj_rep;

/* Frees everything a report owns; NULL-safe. */
void aj_rep_free(aj_rep *r);

/* Adds a section titled title (copied). NULL when out of memory. */
aj_rep_section *aj_rep_section_add(aj_rep *r, const char *title);

/* Adds a row of r->n_cols cells to s, copying cells[i] (NULL: ""). NULL when out of memory. */
aj_rep_row *aj_rep_row_add(aj_rep *r, aj_rep_section *s, const char *const *cells, int total, int decimals);

/* Adds a bar (label and note copied). AJ_E_OK or AJ_E_NOMEM. */
aj_err aj_rep_bar_add(aj_rep_chart *c, const char *label, int64_t count, const char *note);

/* The writers. Text: aligned columns, amounts at the currency's decimals (rounded half up,
 * display only), prose under its row. CSV (RFC 4180): one header line, then every row of every
 * section; the first column, row_type, is "row", "subtotal" (total 1) or "total" (total 2);
 * amounts exact, the micro-units as decimals with 6 places (-0.300000), never rounded. HTML: one standalone page (inline CSS
 * and SVG, no script, nothing loaded from elsewhere) with the tables and the charts; the cells
 * of rows with total 2 carry the ids "total-<CURRENCY>-<key>". Each returns AJ_E_OK, or AJ_E_IO
 * when out reports a write error. */
aj_err aj_rep_write_text(FILE *out, const aj_rep *r);
aj_err aj_rep_write_csv(FILE *out, const aj_rep *r);
aj_err aj_rep_write_html(FILE *out, const aj_rep *r);

/* Exact micro-units as a decimal with 6 places: -300000 -> "-0.300000". buf: 32 bytes. */
const char *aj_rep_exact(aj_money m, char *buf, size_t len);

#endif /* AJ_AUDIT_REPORT_H */
