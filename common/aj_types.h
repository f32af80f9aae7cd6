/* aj_types.h - the domain records every stage shares: input events, contracts, outputs. */
#ifndef AJ_TYPES_H
#define AJ_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aj_error.h"
#include "aj_money.h"

/* Longest strings (bytes, without the NUL) ajuste accepts in a record; longer is
 * FIELD_TOO_LONG. Fixed sizes keep the per-record structs free of allocation. */
#define AJ_ID_LEN 63       /* record, contract, line ids */
#define AJ_KEY_LEN 31      /* account, subscriber, tariff codes, zone names */
#define AJ_NUMBER_LEN 31   /* origin and destination numbers */
#define AJ_CYCLE_LEN 15    /* cycle ids such as 2026-10 */
#define AJ_CURRENCY_LEN 3  /* ISO 4217 */

#define AJ_SERVICE_MAP(X) X(VOICE) X(SMS) X(MMS) X(DATA)

typedef enum aj_service {
#define AJ_SERVICE_ENUM(name) AJ_SERVICE_##name,
    AJ_SERVICE_MAP(AJ_SERVICE_ENUM)
#undef AJ_SERVICE_ENUM
    AJ_SERVICE__COUNT
} aj_service;

/* "VOICE", ...; "UNKNOWN" out of range. */
const char *aj_service_name(aj_service s);

/* Returns AJ_E_OK and sets *out, or AJ_E_UNKNOWN_SERVICE. */
aj_err aj_service_parse(const char *s, aj_service *out);

typedef enum aj_record_kind { AJ_KIND_USAGE, AJ_KIND_RECURRING, AJ_KIND__COUNT } aj_record_kind;

/* "USAGE" or "RECURRING". */
const char *aj_record_kind_name(aj_record_kind k);

/* Where an input record came from: Kafka topic/partition/offset or file/-1/index.
 * origin is borrowed from the source and lives as long as it. */
typedef struct aj_position {
    const char *origin;
    int32_t partition;
    int64_t offset;
} aj_position;

/* A usage record (CDR), schema ajuste.usage.UsageRecord. */
typedef struct aj_usage {
    char record_id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    char subscriber[AJ_KEY_LEN + 1];
    aj_service service;
    int64_t start_ms;
    int64_t quantity;  /* seconds (VOICE), messages (SMS, MMS) or bytes (DATA) */
    char origin[AJ_NUMBER_LEN + 1];
    char destination[AJ_NUMBER_LEN + 1];
    bool roaming;
    char cycle_id[AJ_CYCLE_LEN + 1];
    aj_money legacy_charge;
    char currency[AJ_CURRENCY_LEN + 1];
    char tariff_code[AJ_KEY_LEN + 1];
} aj_usage;

/* A recurring charge, schema ajuste.usage.RecurringCharge. */
typedef struct aj_recurring {
    char record_id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    char line_id[AJ_ID_LEN + 1];
    aj_service service;
    char cycle_id[AJ_CYCLE_LEN + 1];
    int64_t period_start_ms;   /* selects the contract version in force */
    int64_t period_end_ms;
    aj_money legacy_amount;
    char currency[AJ_CURRENCY_LEN + 1];
    char tariff_code[AJ_KEY_LEN + 1];
} aj_recurring;

/* End of an account's cycle, schema ajuste.usage.CycleClose. */
typedef struct aj_cycle_close {
    char account[AJ_KEY_LEN + 1];
    char cycle_id[AJ_CYCLE_LEN + 1];
    int64_t period_start_ms;
    int64_t period_end_ms;
} aj_cycle_close;

typedef enum aj_event_kind { AJ_EVENT_USAGE, AJ_EVENT_RECURRING, AJ_EVENT_CYCLE_CLOSE } aj_event_kind;

/* One decoded message of the usage stream. */
typedef struct aj_event {
    aj_event_kind kind;
    aj_position pos;
    union {
        aj_usage usage;
        aj_recurring recurring;
        aj_cycle_close close;
    } u;
} aj_event;

/* Account of any event. */
const char *aj_event_account(const aj_event *ev);

/* ---- contracts (schema ajuste.contract.Contract); heap-allocated, owned by the store ---- */

typedef enum aj_contract_status { AJ_CONTRACT_ACTIVE, AJ_CONTRACT_TERMINATED } aj_contract_status;

typedef struct aj_zone {
    char *name;
    char **prefixes;   /* digits only */
    size_t n_prefixes;
} aj_zone;

typedef struct aj_rate {
    aj_service service;
    char *zone;
    aj_money connect_fee;
    aj_money price;     /* per rate_unit units */
    int64_t rate_unit;
    int64_t first_increment;
    int64_t next_increment;
} aj_rate;

typedef struct aj_line {
    char *line_id;
    aj_service service;
    aj_money monthly_price;
} aj_line;

typedef struct aj_contract {
    char *account;
    char *contract_id;
    int32_t version;
    aj_contract_status status;
    int64_t effective_from;   /* inclusive, UTC ms */
    int64_t effective_to;     /* exclusive, UTC ms; INT64_MAX when open-ended */
    char currency[AJ_CURRENCY_LEN + 1];
    char *time_zone;
    aj_zone *zones;
    size_t n_zones;
    char *default_zone;
    aj_rate *rates;
    size_t n_rates;
    aj_line *lines;
    size_t n_lines;
} aj_contract;

/* Frees a contract and everything it owns; NULL-safe. */
void aj_contract_free(aj_contract *c);

/* ---- outputs ---- */

/*
 * Why a legacy charge differs from the contract's (docs/rating.md, "Reasons"). Each names the
 * counterfactual that reproduces the legacy charge; PRICE_MISMATCH when none does.
 */
#define AJ_REASON_MAP(X)                                                                   \
    X(STALE_CONTRACT_VERSION, "rated with an earlier contract version's price")           \
    X(WRONG_INCREMENT, "rated with other first/next increments")                          \
    X(WRONG_ZONE, "rated as another destination zone")                                    \
    X(MISSING_CONNECT_FEE, "connect fee not charged")                                     \
    X(UNKNOWN_LINE, "recurring charge for a line not in the contract's inventory")        \
    X(RECURRING_PRICE, "recurring charge differs from the contract's monthly price")      \
    X(PRICE_MISMATCH, "differs from the contract; no single hypothesis explains it")

typedef enum aj_reason {
#define AJ_REASON_ENUM(name, desc) AJ_REASON_##name,
    AJ_REASON_MAP(AJ_REASON_ENUM)
#undef AJ_REASON_ENUM
    AJ_REASON__COUNT
} aj_reason;

const char *aj_reason_name(aj_reason r);
const char *aj_reason_desc(aj_reason r);

/* Returns AJ_E_OK and sets *out, or AJ_E_NOT_FOUND. */
aj_err aj_reason_parse(const char *s, aj_reason *out);

/* The rules that produced an expected charge. */
typedef struct aj_trace {
    char zone[AJ_KEY_LEN + 1];
    char matched_prefix[AJ_NUMBER_LEN + 1];
    int64_t quantity;
    int64_t billed_quantity;
    int64_t first_increment;
    int64_t next_increment;
    aj_money price;
    int64_t rate_unit;
    aj_money connect_fee;
} aj_trace;

typedef struct aj_correction {
    char correction_id[AJ_ID_LEN + 8];
    char account[AJ_KEY_LEN + 1];
    char cycle_id[AJ_CYCLE_LEN + 1];
    char record_id[AJ_ID_LEN + 1];
    aj_record_kind kind;
    aj_service service;
    aj_reason reason;
    char hypothesis[192];
    aj_money legacy_amount;
    aj_money corrected_amount;
    aj_money delta;
    char currency[AJ_CURRENCY_LEN + 1];
    char contract_id[AJ_ID_LEN + 1];
    int32_t contract_version;
    char tariff_code[AJ_KEY_LEN + 1];
    aj_trace trace;
    aj_position source;
} aj_correction;

typedef struct aj_invoice_line {
    aj_record_kind kind;
    aj_service service;
    int64_t records;
    int64_t quantity;
    aj_money legacy_amount;
    aj_money corrected_amount;
    int64_t corrections;
} aj_invoice_line;

typedef struct aj_reason_summary {
    aj_reason reason;
    int64_t count;
    aj_money delta;
} aj_reason_summary;

#define AJ_INVOICE_MAX_LINES (AJ_KIND__COUNT * AJ_SERVICE__COUNT)

typedef struct aj_invoice {
    char invoice_id[AJ_KEY_LEN + AJ_CYCLE_LEN + 16];
    char account[AJ_KEY_LEN + 1];
    char cycle_id[AJ_CYCLE_LEN + 1];
    int32_t revision;
    int64_t period_start_ms;
    int64_t period_end_ms;
    char currency[AJ_CURRENCY_LEN + 1];
    char contract_id[AJ_ID_LEN + 1];
    const int32_t *versions;   /* ascending; borrowed from the producer of the invoice */
    size_t n_versions;
    aj_invoice_line lines[AJ_INVOICE_MAX_LINES];
    size_t n_lines;
    aj_money legacy_total;
    aj_money corrected_total;
    aj_money adjustment_total;
    aj_money overcharge_removed;
    aj_money undercharge_added;
    aj_reason_summary reasons[AJ_REASON__COUNT];
    size_t n_reasons;
} aj_invoice;

/* A rejected input message. key and payload are borrowed from the source. */
typedef struct aj_dead_letter {
    char dead_letter_id[320];
    aj_position pos;
    aj_err reason;
    char detail[256];
    const void *key;       /* NULL when the message had no key */
    size_t key_len;
    const void *payload;
    size_t payload_len;
} aj_dead_letter;

/* Fills id and pos of dl from pos: "DLQ-<origin>-<partition>-<offset>". */
void aj_dead_letter_init(aj_dead_letter *dl, const aj_position *pos, aj_err reason,
                         const char *detail);

/* Copies src into a fixed field of size dstsize; AJ_E_FIELD_TOO_LONG when it does not fit. */
aj_err aj_copy_field(char *dst, size_t dstsize, const char *src, size_t srclen);

/* Normalizes a phone number to E.164 digits: drops '+', spaces, '-', '(', ')', '.', and a leading
 * international "00". Returns the number of digits written (at most outlen-1, NUL-terminated),
 * or -1 when another character appears or the digits do not fit. */
int aj_normalize_number(const char *in, char *out, size_t outlen);

#endif /* AJ_TYPES_H */
