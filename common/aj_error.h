/* aj_error.h - the one error enum of ajuste, and the reason codes of rejected input. */
#ifndef AJ_ERROR_H
#define AJ_ERROR_H

/*
 * X-macro of every error: name, message. The first block are operational errors; the
 * second are the reasons an input record is rejected to the dead-letter output, and
 * their names are the reason codes written there (docs/dead-letters.md).
 */
#define AJ_ERR_MAP(X)                                                                   \
    X(OK, "success")                                                                    \
    X(NOMEM, "out of memory")                                                           \
    X(IO, "input/output error")                                                         \
    X(ARG, "invalid argument")                                                          \
    X(CONFIG, "invalid configuration")                                                  \
    X(KAFKA, "Kafka client error")                                                      \
    X(AVRO, "Avro library error")                                                       \
    X(OVERFLOW, "money arithmetic overflow")                                            \
    X(NOT_FOUND, "not found")                                                           \
    X(EOF, "end of input")                                                              \
    X(RETRY, "transient failure, retry")                                                \
    X(FATAL, "fatal failure")                                                           \
    X(INTERRUPTED, "interrupted by signal")                                             \
    /* reasons a record goes to the dead-letter output */                              \
    X(BAD_MAGIC, "message is not Avro single-object encoded (no C3 01 header)")         \
    X(UNKNOWN_SCHEMA, "writer schema fingerprint is not a known schema")                \
    X(WRONG_SCHEMA, "message schema does not belong on this input")                     \
    X(TRUNCATED, "datum ends before its schema does")                                   \
    X(BAD_LENGTH, "negative or oversized length in datum")                              \
    X(BAD_UNION, "union branch index out of range")                                     \
    X(BAD_ENUM, "enum symbol index out of range")                                       \
    X(TRAILING_BYTES, "bytes left over after the datum")                                \
    X(MISSING_FIELD, "required field missing or empty")                                 \
    X(FIELD_TOO_LONG, "field longer than ajuste accepts")                               \
    X(NEGATIVE_QUANTITY, "negative duration, message count or volume")                  \
    X(NEGATIVE_AMOUNT, "negative legacy charge")                                        \
    X(UNKNOWN_SERVICE, "service is not VOICE, SMS, MMS or DATA")                        \
    X(NO_CONTRACT, "no contract version in force for the account at the record time")  \
    X(CURRENCY_MISMATCH, "record currency differs from the contract's")                 \
    X(NO_RATE, "contract has no rate for the service and zone")                         \
    X(LATE_USAGE, "record for a cycle already closed")                                  \
    X(BAD_CONTRACT, "contract event is not valid")

typedef enum aj_err {
#define AJ_ERR_ENUM(name, msg) AJ_E_##name,
    AJ_ERR_MAP(AJ_ERR_ENUM)
#undef AJ_ERR_ENUM
    AJ_E__COUNT
} aj_err;

/* First error that is a dead-letter reason (see AJ_ERR_MAP). */
#define AJ_E__FIRST_REJECT AJ_E_BAD_MAGIC

/* Short name without prefix, e.g. "TRUNCATED"; "UNKNOWN" for a value out of range. */
const char *aj_err_name(aj_err err);

/* Human-readable message; never NULL. */
const char *aj_err_str(aj_err err);

/* True when err is a reason for rejecting a record to the dead-letter output. */
int aj_err_is_reject(aj_err err);

#endif /* AJ_ERROR_H */
