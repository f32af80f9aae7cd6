/* aj_cmd_invoice.h - `ajuste invoice`: adjusted invoices shown to a person, as text or HTML. */
#ifndef AJ_CMD_INVOICE_H
#define AJ_CMD_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include "aj_config.h"
#include "aj_schema.h"
#include "aj_types.h"

/*
 * `ajuste invoice show`: reads invoices from an Avro file or a Kafka topic, selects by id or
 * account (and cycle) and prints them as text, or writes one as an HTML page. Returns the exit
 * status: AJ_EXIT_OK, AJ_EXIT_FAILURE (no such invoice, input unreadable, write failed) or
 * AJ_EXIT_USAGE (bad command line or input path).
 */
int aj_cmd_invoice(int argc, char **argv);

/*
 * `ajuste release`: releases a held invoice from the review output to the invoice output, as it
 * is or with its corrections turned to FLAG (docs/invoice.md, "Review"), never twice.
 */
int aj_cmd_release(int argc, char **argv);

/* ------------------------------------------------- reading invoices from a file or a topic */

/*
 * Called with every invoice read, its writer schema and datum (no header) and where it was ("index N" or
 * "partition P offset O"). inv and datum are valid during the call. Returning AJ_E_EOF stops
 * the reading without an error; any other error stops it and is returned.
 */
typedef aj_err (*aj_invoice_visit_fn)(void *opaque, const aj_invoice *inv, const aj_schema *writer, const void *datum,
                                      size_t len, const char *where);

typedef struct aj_invoice_reader {
    const char *input;           /* file path or topic */
    int topic;                   /* input is a Kafka topic */
    aj_invoice_visit_fn visit;
    void *opaque;
    int64_t read;                /* invoices decoded */
    int status;                  /* exit status of a failure: AJ_EXIT_USAGE or AJ_EXIT_FAILURE */
    char err[512];
} aj_invoice_reader;

/* Reads every invoice of r->input (a topic through cfg's kafka.* properties). AJ_E_OK, or an
 * error with r->err and r->status set. Records of another schema are an error. */
aj_err aj_invoice_read(aj_invoice_reader *r, const aj_config *cfg);

/* A configuration for reading or writing invoice topics: AJUSTE_* variables, then bootstrap
 * when not NULL; librdkafka's log quiet. AJ_E_CONFIG with err set when no broker is named.
 * Free cfg with aj_config_free whatever the result. */
aj_err aj_invoice_config(aj_config *cfg, const char *bootstrap, char *err, size_t errlen);

#endif /* AJ_CMD_INVOICE_H */
