/* aj_schema.c - schema registry, Parsing Canonical Form, CRC-64-AVRO, single-object framing. */
#include "aj_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_log.h"

#define AJ_SCHEMA_MAX 32

static aj_schema aj_registry[AJ_SCHEMA_MAX];
static size_t aj_registry_count;
static const aj_schema *aj_current[AJ_SCHEMA__COUNT];

static const char *const aj_schema_stems[AJ_SCHEMA__COUNT] = {
    "usage_event", "contract", "correction", "invoice", "dead_letter", "dispute_credit",
};

/* ---- CRC-64-AVRO ---- */

#define AJ_CRC64_EMPTY 0xc15d213aa4d7a795ULL

uint64_t aj_crc64_avro(const void *buf, size_t len) {
    static uint64_t table[256];
    static int ready;
    const uint8_t *p = buf;
    uint64_t fp = AJ_CRC64_EMPTY;

    if (!ready) {
        for (int i = 0; i < 256; i++) {
            uint64_t f = (uint64_t)i;
            for (int j = 0; j < 8; j++) f = (f >> 1) ^ (AJ_CRC64_EMPTY & (0 - (f & 1)));
            table[i] = f;
        }
        ready = 1;
    }
    for (size_t i = 0; i < len; i++) fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}

/* ---- Parsing Canonical Form ---- */

typedef struct aj_sbuf {
    char *s;
    size_t len, cap;
    int failed;
    char *seen[64];   /* full names already defined */
    size_t n_seen;
} aj_sbuf;

static void aj_sb_put(aj_sbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

/* Writes the quoted full name of a named schema. */
static void aj_sb_fullname(avro_schema_t s, char *out, size_t outlen) {
    const char *ns = avro_schema_namespace(s);
    const char *name = avro_schema_name(s);
    if (ns && *ns)
        snprintf(out, outlen, "%s.%s", ns, name);
    else
        snprintf(out, outlen, "%s", name);
}

static int aj_sb_seen(aj_sbuf *b, const char *fullname) {
    for (size_t i = 0; i < b->n_seen; i++)
        if (strcmp(b->seen[i], fullname) == 0) return 1;
    return 0;
}

static void aj_pcf(aj_sbuf *b, avro_schema_t s) {
    char full[512], num[32];

    switch (avro_typeof(s)) {
    case AVRO_STRING: aj_sb_put(b, "\"string\""); return;
    case AVRO_BYTES: aj_sb_put(b, "\"bytes\""); return;
    case AVRO_INT32: aj_sb_put(b, "\"int\""); return;
    case AVRO_INT64: aj_sb_put(b, "\"long\""); return;
    case AVRO_FLOAT: aj_sb_put(b, "\"float\""); return;
    case AVRO_DOUBLE: aj_sb_put(b, "\"double\""); return;
    case AVRO_BOOLEAN: aj_sb_put(b, "\"boolean\""); return;
    case AVRO_NULL: aj_sb_put(b, "\"null\""); return;
    case AVRO_LINK: s = avro_schema_link_target(s); /* fall through: named, already seen */
        aj_sb_fullname(s, full, sizeof(full));
        aj_sb_put(b, "\"");
        aj_sb_put(b, full);
        aj_sb_put(b, "\"");
        return;
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_FIXED:
        aj_sb_fullname(s, full, sizeof(full));
        if (aj_sb_seen(b, full)) {
            aj_sb_put(b, "\"");
            aj_sb_put(b, full);
            aj_sb_put(b, "\"");
            return;
        }
        {
            char *dup = strdup(full);
            if (!dup || b->n_seen == sizeof(b->seen) / sizeof(b->seen[0])) {
                free(dup);
                b->failed = 1;
                return;
            }
            b->seen[b->n_seen++] = dup;
        }
        aj_sb_put(b, "{\"name\":\"");
        aj_sb_put(b, full);
        if (avro_typeof(s) == AVRO_RECORD) {
            aj_sb_put(b, "\",\"type\":\"record\",\"fields\":[");
            for (size_t i = 0; i < avro_schema_record_size(s); i++) {
                if (i) aj_sb_put(b, ",");
                aj_sb_put(b, "{\"name\":\"");
                aj_sb_put(b, avro_schema_record_field_name(s, (int)i));
                aj_sb_put(b, "\",\"type\":");
                aj_pcf(b, avro_schema_record_field_get_by_index(s, (int)i));
                aj_sb_put(b, "}");
            }
            aj_sb_put(b, "]}");
        } else if (avro_typeof(s) == AVRO_ENUM) {
            aj_sb_put(b, "\",\"type\":\"enum\",\"symbols\":[");
            for (int i = 0; i < avro_schema_enum_number_of_symbols(s); i++) {
                if (i) aj_sb_put(b, ",");
                aj_sb_put(b, "\"");
                aj_sb_put(b, avro_schema_enum_get(s, i));
                aj_sb_put(b, "\"");
            }
            aj_sb_put(b, "]}");
        } else {
            snprintf(num, sizeof(num), "%lld", (long long)avro_schema_fixed_size(s));
            aj_sb_put(b, "\",\"type\":\"fixed\",\"size\":");
            aj_sb_put(b, num);
            aj_sb_put(b, "}");
        }
        return;
    case AVRO_ARRAY:
        aj_sb_put(b, "{\"type\":\"array\",\"items\":");
        aj_pcf(b, avro_schema_array_items(s));
        aj_sb_put(b, "}");
        return;
    case AVRO_MAP:
        aj_sb_put(b, "{\"type\":\"map\",\"values\":");
        aj_pcf(b, avro_schema_map_values(s));
        aj_sb_put(b, "}");
        return;
    case AVRO_UNION:
        aj_sb_put(b, "[");
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            if (i) aj_sb_put(b, ",");
            aj_pcf(b, avro_schema_union_branch(s, (int)i));
        }
        aj_sb_put(b, "]");
        return;
    }
    b->failed = 1;
}

char *aj_schema_canonical(avro_schema_t schema) {
    aj_sbuf b;
    memset(&b, 0, sizeof(b));
    aj_pcf(&b, schema);
    for (size_t i = 0; i < b.n_seen; i++) free(b.seen[i]);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- registry ---- */

aj_err aj_schemas_init(void) {
    if (aj_registry_count) return AJ_E_OK;
    for (const aj_schema_source *src = aj_schema_sources; src->file; src++) {
        aj_schema *s = &aj_registry[aj_registry_count];
        size_t stem = strcspn(src->file, ".");
        int id = -1;

        for (int i = 0; i < AJ_SCHEMA__COUNT; i++)
            if (strlen(aj_schema_stems[i]) == stem && strncmp(src->file, aj_schema_stems[i], stem) == 0)
                id = i;
        if (id < 0) {
            aj_error("schema", "schemas/%s: file name names no known schema", src->file);
            aj_schemas_shutdown();
            return AJ_E_AVRO;
        }
        if (aj_registry_count == AJ_SCHEMA_MAX) break;
        if (avro_schema_from_json_length(src->json, strlen(src->json), &s->schema) != 0) {
            aj_error("schema", "schemas/%s does not parse: %s", src->file, avro_strerror());
            aj_schemas_shutdown();
            return AJ_E_AVRO;
        }
        s->id = (aj_schema_id)id;
        s->file = src->file;
        s->iface = avro_generic_class_from_schema(s->schema);
        s->canonical = aj_schema_canonical(s->schema);
        if (!s->iface || !s->canonical) {
            aj_registry_count++;
            aj_schemas_shutdown();
            return AJ_E_NOMEM;
        }
        s->fingerprint = aj_crc64_avro(s->canonical, strlen(s->canonical));
        aj_registry_count++;
        /* Files are sorted: contract.avsc precedes contract.v2.avsc, so the last one of a
         * stem is the current writer schema. */
        aj_current[id] = s;
    }
    for (int i = 0; i < AJ_SCHEMA__COUNT; i++)
        if (!aj_current[i]) {
            aj_error("schema", "no schemas/%s.avsc embedded", aj_schema_stems[i]);
            aj_schemas_shutdown();
            return AJ_E_AVRO;
        }
    return AJ_E_OK;
}

void aj_schemas_shutdown(void) {
    for (size_t i = 0; i < aj_registry_count; i++) {
        aj_schema *s = &aj_registry[i];
        if (s->iface) avro_value_iface_decref(s->iface);
        if (s->schema) avro_schema_decref(s->schema);
        free(s->canonical);
        memset(s, 0, sizeof(*s));
    }
    aj_registry_count = 0;
    memset(aj_current, 0, sizeof(aj_current));
}

const aj_schema *aj_schema_current(aj_schema_id id) {
    if ((unsigned)id >= AJ_SCHEMA__COUNT) return NULL;
    return aj_current[id];
}

const aj_schema *aj_schema_by_fingerprint(uint64_t fingerprint) {
    for (size_t i = 0; i < aj_registry_count; i++)
        if (aj_registry[i].fingerprint == fingerprint) return &aj_registry[i];
    return NULL;
}

void aj_som_header(uint64_t fingerprint, uint8_t out[AJ_SOM_HEADER_LEN]) {
    out[0] = 0xC3;
    out[1] = 0x01;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(fingerprint >> (8 * i));
}

aj_err aj_som_parse(const void *buf, size_t len, uint64_t *fingerprint) {
    const uint8_t *p = buf;
    uint64_t fp = 0;

    if (len < 2) return AJ_E_TRUNCATED;
    if (p[0] != 0xC3 || p[1] != 0x01) return AJ_E_BAD_MAGIC;
    if (len < AJ_SOM_HEADER_LEN) return AJ_E_TRUNCATED;
    for (int i = 0; i < 8; i++) fp |= (uint64_t)p[2 + i] << (8 * i);
    *fingerprint = fp;
    return AJ_E_OK;
}
