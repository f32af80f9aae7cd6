/* aj_schema.h - the embedded Avro schemas, their fingerprints and single-object framing. */
#ifndef AJ_SCHEMA_H
#define AJ_SCHEMA_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "aj_error.h"

/* One schemas/NAME.avsc file, embedded at build time (cmake/embed_schemas.cmake). */
typedef struct aj_schema_source {
    const char *file;
    const char *json;
} aj_schema_source;

extern const aj_schema_source aj_schema_sources[];   /* ends with {NULL, NULL} */

/* What a schema is for; the file name's stem before the first '.' picks it. */
typedef enum aj_schema_id {
    AJ_SCHEMA_USAGE_EVENT,   /* usage_event*.avsc */
    AJ_SCHEMA_CONTRACT,      /* contract*.avsc */
    AJ_SCHEMA_CORRECTION,    /* correction*.avsc */
    AJ_SCHEMA_INVOICE,       /* invoice*.avsc */
    AJ_SCHEMA_DEAD_LETTER,   /* dead_letter*.avsc */
    AJ_SCHEMA_DISPUTE_CREDIT,   /* dispute_credit*.avsc */
    AJ_SCHEMA__COUNT
} aj_schema_id;

typedef struct aj_schema {
    aj_schema_id id;
    const char *file;
    avro_schema_t schema;
    avro_value_iface_t *iface;   /* generic value class of schema */
    uint64_t fingerprint;        /* CRC-64-AVRO of the Parsing Canonical Form */
    char *canonical;             /* Parsing Canonical Form */
} aj_schema;

/*
 * Parses every embedded schema once for the process. Idempotent; not thread-safe (call it
 * from main() or a test's setup before threads start). Returns AJ_E_AVRO naming the file on
 * stderr when a schema does not parse.
 */
aj_err aj_schemas_init(void);

/* Releases what aj_schemas_init built. */
void aj_schemas_shutdown(void);

/* The current (writer) schema for id; NULL before aj_schemas_init. */
const aj_schema *aj_schema_current(aj_schema_id id);

/* Any known schema with that fingerprint (current or older version), or NULL. */
const aj_schema *aj_schema_by_fingerprint(uint64_t fingerprint);

/* CRC-64-AVRO (Rabin) of buf, as the Avro specification defines it. */
uint64_t aj_crc64_avro(const void *buf, size_t len);

/* Parsing Canonical Form of schema, malloc'ed; NULL on allocation failure. */
char *aj_schema_canonical(avro_schema_t schema);

#define AJ_SOM_HEADER_LEN 10

/* Writes the single-object header (C3 01 + little-endian fingerprint) into out. */
void aj_som_header(uint64_t fingerprint, uint8_t out[AJ_SOM_HEADER_LEN]);

/*
 * Reads a single-object header. Returns AJ_E_OK with *fingerprint set, AJ_E_TRUNCATED when
 * len < 10, AJ_E_BAD_MAGIC when the first two bytes are not C3 01.
 */
aj_err aj_som_parse(const void *buf, size_t len, uint64_t *fingerprint);

#endif /* AJ_SCHEMA_H */
