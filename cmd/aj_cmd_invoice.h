/* aj_cmd_invoice.h - `ajuste invoice`: adjusted invoices shown to a person, as text or HTML. */
#ifndef AJ_CMD_INVOICE_H
#define AJ_CMD_INVOICE_H

/*
 * `ajuste invoice show`: reads invoices from an Avro file or a Kafka topic, selects by id or
 * account (and cycle) and prints them as text, or writes one as an HTML page. Returns the exit
 * status: AJ_EXIT_OK, AJ_EXIT_FAILURE (no such invoice, input unreadable, write failed) or
 * AJ_EXIT_USAGE (bad command line or input path).
 */
int aj_cmd_invoice(int argc, char **argv);

#endif /* AJ_CMD_INVOICE_H */
