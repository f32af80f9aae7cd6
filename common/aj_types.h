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

/* What a correction corrects: a usage record, a recurring charge, a tax of an invoice, or a
 * one-time charge. */
typedef enum aj_record_kind { AJ_KIND_USAGE, AJ_KIND_RECURRING, AJ_KIND_TAX, AJ_KIND_ONE_TIME, AJ_KIND__COUNT } aj_record_kind;

/* "USAGE", "RECURRING", "TAX" or "ONE_TIME". */
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

/* A one-time charge (activation fee, SIM replacement, portability fee...), schema
 * ajuste.usage.OneTimeCharge (usage_event.v3). It has no service: docs/rating.md, "One-time
 * charges". */
typedef struct aj_one_time {
    char record_id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    char subscriber[AJ_KEY_LEN + 1];   /* the line the charge is for */
    char charge_code[AJ_KEY_LEN + 1];  /* a code of the contract's one_time_charges */
    int64_t charged_ms;                /* selects the contract version in force */
    char cycle_id[AJ_CYCLE_LEN + 1];
    int64_t quantity;                  /* >= 0; 1 when the writer gave none */
    aj_money legacy_amount;
    char currency[AJ_CURRENCY_LEN + 1];
    char tariff_code[AJ_KEY_LEN + 1];
} aj_one_time;

/* A tax as the legacy chain computed it on its invoice. */
typedef struct aj_legacy_tax {
    char name[AJ_KEY_LEN + 1];
    aj_money amount;
} aj_legacy_tax;

#define AJ_CLOSE_MAX_TAXES 8

/* End of an account's cycle, schema ajuste.usage.CycleClose. */
typedef struct aj_cycle_close {
    char account[AJ_KEY_LEN + 1];
    char cycle_id[AJ_CYCLE_LEN + 1];
    int64_t period_start_ms;
    int64_t period_end_ms;
    aj_legacy_tax legacy_taxes[AJ_CLOSE_MAX_TAXES];   /* the legacy invoice's taxes, by name */
    size_t n_legacy_taxes;                            /* 0: the legacy chain gave none */
} aj_cycle_close;

/* A dispute the carrier accepted, to be credited on the account's next invoice (schema
 * ajuste.dispute.DisputeCredit, docs/invoice.md "Dispute credits"). */
typedef struct aj_credit {
    char dispute_id[AJ_ID_LEN + 1];
    char account[AJ_KEY_LEN + 1];
    char invoice_id[AJ_ID_LEN + 1];  /* the disputed invoice */
    aj_money amount;                 /* > 0, credited */
    char currency[AJ_CURRENCY_LEN + 1];
    char reason[160];
    int64_t accepted_ms;
} aj_credit;

/* Kinds of input event. The values are not union branch indexes of any schema (the codec maps
 * branches by record name): ONE_TIME came with usage_event.v3 and is appended. */
typedef enum aj_event_kind {
    AJ_EVENT_USAGE,
    AJ_EVENT_RECURRING,
    AJ_EVENT_CYCLE_CLOSE,
    AJ_EVENT_CREDIT,
    AJ_EVENT_ONE_TIME
} aj_event_kind;

/* One decoded input message: of the usage stream, or a dispute credit. */
typedef struct aj_event {
    aj_event_kind kind;
    aj_position pos;
    union {
        aj_usage usage;
        aj_recurring recurring;
        aj_cycle_close close;
        aj_credit credit;
        aj_one_time one_time;
    } u;
} aj_event;

/* Account of any event. */
const char *aj_event_account(const aj_event *ev);

/* ---- contracts (schema ajuste.contract.Contract); heap-allocated, owned by the store ---- */

typedef enum aj_contract_status { AJ_CONTRACT_ACTIVE, AJ_CONTRACT_TERMINATED } aj_contract_status;

/* Every field below is documented with its rule in docs/rating.md; the Avro schema is
 * schemas/contract.v2.avsc. Code that builds a contract by hand calls aj_rate_init and
 * aj_line_init so the fields whose zero is not the default get their defaults. */

typedef struct aj_zone {
    char *name;
    char **prefixes;   /* digits only */
    size_t n_prefixes;
} aj_zone;

/* How a call that crosses a band boundary is rated (docs/rating.md, "Time bands"). */
typedef enum aj_band_mode { AJ_BAND_AT_START, AJ_BAND_SPLIT } aj_band_mode;

/* A weekly time-of-day window of a band: days is a bit mask, bit (weekday - 1) for ISO
 * weekday 1 = Monday .. 7 = Sunday; minutes of the local day [from_minute, to_minute). */
typedef struct aj_window {
    uint8_t days;
    int32_t from_minute;
    int32_t to_minute;
} aj_window;

typedef struct aj_band {
    char *name;
    aj_window *windows;
    size_t n_windows;
    int64_t *holidays;   /* local dates, days since 1970-01-01, ascending */
    size_t n_holidays;
} aj_band;

/* A tier of a rate: from `start` units of elapsed (billed) usage on, each increment costs
 * price per rate_unit and is `increment` units long. */
typedef struct aj_tier {
    int64_t start;
    aj_money price;
    int64_t increment;
} aj_tier;

typedef struct aj_rate {
    aj_service service;
    char *zone;
    char *band;          /* NULL: every band without a rate of its own */
    aj_money connect_fee;
    aj_money price;      /* per rate_unit units: tier 0 */
    int64_t rate_unit;
    int64_t first_increment;
    int64_t next_increment;   /* increment of tier 0 */
    aj_tier *tiers;      /* further tiers, start ascending and > 0 */
    size_t n_tiers;
    aj_money min_charge;      /* 0: none */
    aj_money max_charge;      /* 0: none */
    int32_t decimals;         /* the record's charge is rounded to this many decimals (0..6) */
    aj_rounding rounding;
} aj_rate;

/* Units per cycle for a service (and, when zones are listed, only those zones). */
typedef struct aj_allowance {
    char *name;
    aj_service service;
    char **zones;
    size_t n_zones;
    int64_t units;
} aj_allowance;

typedef struct aj_discount {
    char *name;
    aj_service service;
    char **zones;
    size_t n_zones;
    int64_t percent_ppm;   /* 125000 = 12.5% */
    aj_money cap;          /* most discounted per cycle; 0: no cap */
} aj_discount;

typedef enum aj_promo_kind { AJ_PROMO_FREE_UNITS, AJ_PROMO_PRICE, AJ_PROMO_PERCENT_OFF } aj_promo_kind;

/* A time-windowed override; value is free units per cycle, a price per rate_unit or a
 * percentage in ppm by kind. The highest priority applies; ties go to the first listed. */
typedef struct aj_promotion {
    char *name;
    aj_service service;
    char **zones;
    size_t n_zones;
    int64_t valid_from;   /* record start time, inclusive, UTC ms */
    int64_t valid_to;     /* exclusive; INT64_MAX when open-ended */
    aj_promo_kind kind;
    int64_t value;
    int32_t priority;
} aj_promotion;

typedef struct aj_line {
    char *line_id;
    aj_service service;
    aj_money monthly_price;   /* per unit and cycle */
    int32_t quantity;
    int64_t active_from;      /* activation, inclusive, UTC ms */
    int64_t active_to;        /* deactivation, exclusive; INT64_MAX when active */
} aj_line;

typedef enum aj_tax_mode { AJ_TAX_EXCLUSIVE, AJ_TAX_GROSS_UP } aj_tax_mode;

/* A one-time charge of the contract's price list (clause "One-time charges"): price per unit,
 * micro-units. Codes are unique in a contract version. */
typedef struct aj_otc_price {
    char *code;
    char *description;   /* "" when the contract gives none */
    aj_money price;
} aj_otc_price;

/* A tax on the services whose bit (1 << service) is in services (computed on invoices). */
typedef struct aj_tax {
    char *name;
    uint32_t services;
    int64_t rate_ppm;
    aj_tax_mode mode;
} aj_tax;

typedef struct aj_contract {
    char *account;
    char *contract_id;
    int32_t version;
    aj_contract_status status;
    int64_t effective_from;   /* inclusive, UTC ms */
    int64_t effective_to;     /* exclusive, UTC ms; INT64_MAX when open-ended */
    char currency[AJ_CURRENCY_LEN + 1];
    int32_t decimals;         /* minor unit of the currency, for recurring charges and taxes */
    aj_rounding rounding;     /* of recurring charges (proration) and taxes */
    int32_t payment_terms_days;
    char *time_zone;
    aj_zone *zones;
    size_t n_zones;
    char *default_zone;
    aj_band_mode band_mode;
    aj_band *bands;
    size_t n_bands;
    char *default_band;       /* band of a time no band claims */
    aj_rate *rates;
    size_t n_rates;
    aj_allowance *allowances;
    size_t n_allowances;
    aj_discount *discounts;
    size_t n_discounts;
    aj_promotion *promotions;
    size_t n_promotions;
    aj_line *lines;
    size_t n_lines;
    aj_tax *taxes;
    size_t n_taxes;
    aj_otc_price *one_time_charges;   /* contract.v3; none in older versions */
    size_t n_one_time_charges;
} aj_contract;

/* Sets the fields of a rate whose zero is not the default: decimals 6, HALF_UP, increments 1. */
void aj_rate_init(aj_rate *r);

/* Sets quantity 1, active_from INT64_MIN and active_to INT64_MAX. */
void aj_line_init(aj_line *l);

/* Sets decimals 2, HALF_UP, effective_to INT64_MAX. */
void aj_contract_init(aj_contract *c);

/* Names of the enums above: "AT_START"/"SPLIT", "FREE_UNITS"/..., "EXCLUSIVE"/"GROSS_UP". */
const char *aj_band_mode_name(aj_band_mode m);
const char *aj_promo_kind_name(aj_promo_kind k);
const char *aj_tax_mode_name(aj_tax_mode m);

/* Frees a contract and everything it owns; NULL-safe. */
void aj_contract_free(aj_contract *c);

/* ---- outputs ---- */

/*
 * Why a legacy charge differs from the contract's (docs/rating.md, "Reasons"). Usage reasons
 * from STALE_CONTRACT_VERSION to MIN_MAX_CHARGE name the counterfactual that reproduces the
 * legacy charge, tried in this order; RATE_MISMATCH when none does. The first three and the
 * MRC_ and OTC_ reasons are decided by the record itself and the account-cycle's state. New
 * reasons are appended: the numbers of the others never move.
 */
#define AJ_REASON_MAP(X)                                                                          \
    X(DUPLICATE_USAGE, "usage charged twice (same record id, or same call) in the cycle")         \
    X(USAGE_AFTER_TERMINATION, "usage charged after the contract was terminated")                 \
    X(NO_CONTRACT, "usage charged while no contract version was in force")                        \
    X(STALE_CONTRACT_VERSION, "rated with an earlier contract version")                          \
    X(WRONG_ZONE, "rated as another destination zone")                                           \
    X(WRONG_TIME_BAND, "rated in another time band")                                             \
    X(INCREMENT_ROUNDING, "rated with other increments (e.g. whole minutes instead of 30/6)")     \
    X(CONNECT_FEE, "connect fee left out, or charged on a zero-quantity record")                 \
    X(TIER_NOT_APPLIED, "the rate's tiers were not applied")                                     \
    X(ALLOWANCE_NOT_APPLIED, "the cycle's allowance was not applied")                            \
    X(PROMOTION_NOT_APPLIED, "the promotion in force was not applied")                           \
    X(DISCOUNT_NOT_APPLIED, "the contract's discount was not applied")                           \
    X(MIN_MAX_CHARGE, "the minimum or maximum charge per record was not applied")                \
    X(RATE_MISMATCH, "differs from the contract; no single hypothesis explains it")              \
    X(MRC_INACTIVE_LINE, "recurring charge for a line not active in the cycle (or not in the inventory)") \
    X(MRC_DUPLICATE, "line charged twice in the cycle")                                          \
    X(MRC_PRORATION, "full month charged for a line active only part of the cycle")              \
    X(MRC_PRICE_MISMATCH, "recurring charge differs from the line's contracted price")           \
    X(MRC_MISSING, "contracted active line not charged (undercharge)")                          \
    X(TAX_MISMATCH, "legacy tax differs from the contract's tax on the legacy base")              \
    X(OTC_NOT_IN_CONTRACT, "one-time charge the contract does not have")                         \
    X(OTC_PRICE_MISMATCH, "one-time charge differs from the contract's price")                   \
    X(OTC_DUPLICATE, "one-time charge billed twice (same record id, or same code and line in the cycle)") \
    X(CONTRACT_AMENDED, "a backdated contract amendment changes a charge already rated")

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

/* How min/max changed a record's charge. */
typedef enum aj_clamp { AJ_CLAMP_NONE, AJ_CLAMP_MIN, AJ_CLAMP_MAX, AJ_CLAMP__BAD } aj_clamp;

/* The rules that produced an expected charge (docs/rating.md, "Trace"). */
typedef struct aj_trace {
    int32_t contract_version;
    char zone[AJ_KEY_LEN + 1];
    char matched_prefix[AJ_NUMBER_LEN + 1];
    char band[AJ_KEY_LEN + 1];        /* band at the record's start */
    char bands[96];                   /* every band charged, in time order, comma-separated */
    int32_t tiers;                    /* highest tier index charged (0: the base tier) */
    int64_t quantity;
    int64_t billed_quantity;          /* after increments, before allowances */
    int64_t first_increment;
    int64_t next_increment;
    aj_money price;                   /* tier 0 price per rate_unit at the start */
    int64_t rate_unit;
    aj_money connect_fee;
    int64_t free_units;               /* billed units covered by free units and allowances */
    char allowance[AJ_KEY_LEN + 1];   /* first allowance (or free-unit promotion) drawn on */
    char promotion[AJ_KEY_LEN + 1];
    aj_money promotion_amount;        /* taken off by a PERCENT_OFF promotion */
    char discount[AJ_KEY_LEN + 1];
    aj_money discount_amount;
    aj_clamp clamp;
    int32_t decimals;
    aj_rounding rounding;
} aj_trace;

/* What an invoice does with a correction (docs/invoice.md, "Policy"). */
typedef enum aj_disposition { AJ_DISP_APPLY, AJ_DISP_FLAG, AJ_DISP_HOLD, AJ_DISP__COUNT } aj_disposition;

/* "APPLY", "FLAG", "HOLD". */
const char *aj_disposition_name(aj_disposition d);

/* Returns AJ_E_OK and sets *out, or AJ_E_NOT_FOUND. */
aj_err aj_disposition_parse(const char *s, aj_disposition *out);

#define AJ_LINE_ID_LEN 127

typedef struct aj_correction {
    char correction_id[AJ_ID_LEN + 32];   /* COR-<record id>#<n>/A<k> at the longest */
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
    aj_disposition disposition;          /* the policy's for (reason, sign of delta) */
    char invoice_id[AJ_ID_LEN + 1];      /* the invoice of the record's cycle */
    char invoice_line[AJ_LINE_ID_LEN + 1];   /* the line it adjusts (on the next invoice when late) */
    bool late;                           /* the cycle was closed: carried on the next invoice */
} aj_correction;

/* Kinds of invoice line (docs/invoice.md, "Lines"), in the order lines are listed. DISCOUNT and
 * PROMOTION lines are memo lines: they show how much of the usage lines is discount or
 * promotion and are not summed. The values are never stored (lines travel by name). */
#define AJ_LINE_KIND_MAP(X)                                                                      \
    X(USAGE) X(RECURRING) X(ONE_TIME) X(LATE_USAGE) X(LATE_RECURRING) X(LATE_ONE_TIME) X(TAX) X(CREDIT) \
    X(DISCOUNT) X(PROMOTION)

typedef enum aj_line_kind {
#define AJ_LINE_KIND_ENUM(name) AJ_LINE_##name,
    AJ_LINE_KIND_MAP(AJ_LINE_KIND_ENUM)
#undef AJ_LINE_KIND_ENUM
    AJ_LINE__COUNT
} aj_line_kind;

const char *aj_line_kind_name(aj_line_kind k);
aj_err aj_line_kind_parse(const char *s, aj_line_kind *out);

typedef struct aj_invoice_line {
    char line_id[AJ_LINE_ID_LEN + 1];   /* unique in the invoice, e.g. USAGE/VOICE/LOCAL */
    aj_line_kind kind;
    aj_service service;              /* AJ_SERVICE__COUNT on TAX, CREDIT, ONE_TIME, LATE_ONE_TIME lines */
    char item[AJ_ID_LEN + 1];        /* zone, line id, charge code, tax, dispute, discount or promotion name */
    char refers_to[AJ_ID_LEN + 1];   /* LATE_*: the closed invoice; CREDIT: the disputed invoice */
    char description[160];
    int64_t records;
    int64_t quantity;                /* seconds, messages, bytes; lines; the tax base */
    aj_money legacy_amount;
    aj_money corrected_amount;       /* every correction applied: what the contract says */
    aj_money billed_amount;          /* legacy + the adjustments the invoice applies */
    int64_t corrections;
    bool memo;
} aj_invoice_line;

/* The adjustment of an invoice line by the corrections of one reason and disposition.
 * reason AJ_ADJ_TAX_BASE on a TAX line: the tax following its base's applied corrections. */
#define AJ_ADJ_TAX_BASE AJ_REASON__COUNT

typedef struct aj_invoice_adjustment {
    uint32_t line;                   /* index in the invoice's lines */
    aj_reason reason;
    aj_disposition disposition;
    int64_t count;
    aj_money delta;
} aj_invoice_adjustment;

/* "TAX_BASE" for AJ_ADJ_TAX_BASE, else aj_reason_name. */
const char *aj_adjustment_reason_name(aj_reason r);

typedef struct aj_reason_summary {
    aj_reason reason;
    int64_t count;
    aj_money delta;      /* every correction of the reason */
    aj_money applied;    /* the part the invoice applies */
} aj_reason_summary;

/* ISSUED: on the invoice output. HELD: on the review output, waiting for `ajuste release`.
 * RELEASED: a held invoice a reviewer released (docs/invoice.md, "Review"). */
typedef enum aj_invoice_status { AJ_INV_ISSUED, AJ_INV_HELD, AJ_INV_RELEASED, AJ_INV__COUNT } aj_invoice_status;

const char *aj_invoice_status_name(aj_invoice_status s);
aj_err aj_invoice_status_parse(const char *s, aj_invoice_status *out);

/* Arrays are borrowed from the producer (adjust while building, the decoder after
 * aj_decode_invoice, freed by aj_invoice_release). */
typedef struct aj_invoice {
    char invoice_id[AJ_ID_LEN + 1];  /* INV-<account>-<cycle>-r<revision> */
    char account[AJ_KEY_LEN + 1];
    char cycle_id[AJ_CYCLE_LEN + 1];
    int32_t revision;
    aj_invoice_status status;
    char status_reason[192];         /* why held; who released and how */
    int64_t period_start_ms;
    int64_t period_end_ms;
    int32_t issue_date;              /* local dates (contract time zone), days since 1970-01-01 */
    int32_t due_date;
    char currency[AJ_CURRENCY_LEN + 1];
    int32_t decimals;                /* minor unit the invoice is shown in */
    char contract_id[AJ_ID_LEN + 1];
    const int32_t *versions;         /* ascending */
    size_t n_versions;
    aj_invoice_line *lines;
    size_t n_lines;
    aj_invoice_adjustment *adjustments;
    size_t n_adjustments;
    aj_money legacy_total;           /* sum of the lines' legacy amounts (memo lines excluded) */
    aj_money corrected_total;        /* sum of the lines' billed amounts: the amount due */
    aj_money adjustment_total;       /* corrected_total - legacy_total */
    aj_money overcharge_removed;     /* applied negative adjustments, as a positive amount */
    aj_money undercharge_added;      /* applied positive adjustments */
    aj_money flagged_overcharge;     /* FLAG corrections: advisory, not on the invoice */
    aj_money flagged_undercharge;
    aj_money tax_total;              /* billed amounts of the TAX lines */
    aj_money credit_total;           /* billed amounts of the CREDIT lines (negative) */
    aj_money amount_due;
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

/* A character a phone number may carry between its digits: '+', space, '-', '(', ')', '.'. */
static inline int aj_number_separator(char c) {
    return c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.';
}

/* Normalizes a phone number to E.164 digits: drops '+', spaces, '-', '(', ')', '.', and a leading
 * international "00". Returns the number of digits written (at most outlen-1, NUL-terminated),
 * or -1 when another character appears or the digits do not fit. */
int aj_normalize_number(const char *in, char *out, size_t outlen);

#endif /* AJ_TYPES_H */
