/* aj_cmd.h - the subcommands of the ajuste executable and their shared helpers. */
#ifndef AJ_CMD_H
#define AJ_CMD_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "aj_pipeline.h"

/* Exit codes of every command (README "Exit codes"). */
#define AJ_EXIT_OK 0        /* done; also after a clean stop on SIGINT/SIGTERM */
#define AJ_EXIT_FAILURE 1   /* the run failed: I/O, Kafka fatal error, output not durable */
#define AJ_EXIT_USAGE 2     /* bad command line, configuration or input path */

int aj_cmd_gen(int argc, char **argv);
int aj_cmd_rate(int argc, char **argv);
int aj_cmd_replay(int argc, char **argv);
int aj_cmd_run(int argc, char **argv);
int aj_cmd_demo(int argc, char **argv);
int aj_cmd_audit(int argc, char **argv);

/* Parses a non-negative integer flag value; prints an error naming the flag and returns -1. */
int aj_parse_count(const char *flag, const char *value, int64_t *out);

/* Joins dir and name into buf; returns buf. */
char *aj_path(char *buf, size_t len, const char *dir, const char *name);

/* Prints the run summary: records, dead letters by reason, corrections by reason, money. */
void aj_summary_print(FILE *out, const aj_pipeline_stats *ps, const aj_adjust_stats *as);

/* Formats micro-units as a currency amount with 2 decimals (display only). */
const char *aj_amount(aj_money m, char *buf, size_t len);

/* Progress line on stderr when it is a terminal (or always with force). */
void aj_progress_stderr(void *opaque, const aj_pipeline_stats *st);

/*
 * The configuration as `run` and `replay` take it, onto an initialized cfg: FILE (NULL: none),
 * then AJUSTE_* environment variables, then the KEY=VALUE assignments; then the log level from
 * log.level. AJ_E_OK, or the first error with err naming the file, key or value.
 */
aj_err aj_config_from_cli(aj_config *cfg, const char *path, char *const *sets, int n_sets, char *err, size_t errlen);

/*
 * Loads an Avro file of contracts (credits 0) or of dispute credits (credits 1) into p. AJ_E_OK;
 * otherwise err names the file and *bad_path says whether it could not be opened at all (a bad
 * input path: exit 2) rather than failed while loading.
 */
aj_err aj_load_input_file(aj_pipeline *p, const char *path, int credits, int *bad_path, char *err, size_t errlen);

/* SIGINT and SIGTERM set *flag (borrowed; it must outlive the process's use of the signals). */
void aj_stop_on_signals(volatile sig_atomic_t *flag);

#endif /* AJ_CMD_H */
