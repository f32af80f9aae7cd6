/* aj_ocf.c - Avro object container files, written deterministically (same datums, same bytes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "aj_emit.h"

/* A block is cut once its raw datums reach this size (spec: "blocks of objects"). */
#define AJ_OCF_BLOCK_BYTES (64 * 1024)

struct aj_ocf_writer {
    FILE *f;
    char *path;
    int deflate;
    uint8_t sync[16];
    aj_bytes block;      /* raw datums of the open block */
    int64_t block_count;
    aj_bytes packed;     /* the block as written (deflated or not) */
    aj_bytes frame;      /* count + size varints */
    int failed;
};

/* The schema text written into the header: the embedded .avsc, docs included. */
static const char *aj_ocf_schema_json(const aj_schema *schema) {
    for (const aj_schema_source *s = aj_schema_sources; s->file; s++)
        if (strcmp(s->file, schema->file) == 0) return s->json;
    return NULL;
}

static aj_err aj_ocf_put(aj_ocf_writer *w, const void *p, size_t len) {
    if (w->failed) return AJ_E_IO;
    if (len && fwrite(p, 1, len, w->f) != len) {
        w->failed = 1;
        return AJ_E_IO;
    }
    return AJ_E_OK;
}

/* Raw deflate (RFC 1951) of in into out, as the Avro "deflate" codec requires. */
static aj_err aj_ocf_deflate(const aj_bytes *in, aj_bytes *out) {
    z_stream z;
    aj_err rc = AJ_E_OK;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return AJ_E_NOMEM;
    out->len = 0;
    uLong bound = deflateBound(&z, (uLong)in->len);
    if (aj_bytes_reserve(out, (size_t)bound)) {
        deflateEnd(&z);
        return AJ_E_NOMEM;
    }
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out->data;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) rc = AJ_E_IO;
    out->len = (size_t)z.total_out;
    deflateEnd(&z);
    return rc;
}

static aj_err aj_ocf_flush_block(aj_ocf_writer *w) {
    const aj_bytes *data = &w->block;
    aj_err rc;

    if (w->block_count == 0) return AJ_E_OK;
    if (w->deflate) {
        if ((rc = aj_ocf_deflate(&w->block, &w->packed))) return rc;
        data = &w->packed;
    }
    w->frame.len = 0;
    if ((rc = aj_avro_put_long(&w->frame, w->block_count)) || (rc = aj_avro_put_long(&w->frame, (int64_t)data->len)) ||
        (rc = aj_ocf_put(w, w->frame.data, w->frame.len)) || (rc = aj_ocf_put(w, data->data, data->len)) ||
        (rc = aj_ocf_put(w, w->sync, sizeof(w->sync))))
        return rc;
    w->block.len = 0;
    w->block_count = 0;
    return AJ_E_OK;
}

aj_ocf_writer *aj_ocf_writer_open(const char *path, const aj_schema *schema, int use_deflate, aj_err *rc, char *err,
                                  size_t errlen) {
    const char *json = schema ? aj_ocf_schema_json(schema) : NULL;
    const char *codec = use_deflate ? "deflate" : "null";
    aj_ocf_writer *w = calloc(1, sizeof(*w));
    aj_bytes hdr = {0};

    *rc = AJ_E_NOMEM;
    if (!w || !(w->path = strdup(path))) goto error;
    if (!json) {
        snprintf(err, errlen, "%s: no embedded schema for the file", path);
        *rc = AJ_E_ARG;
        goto error;
    }
    w->deflate = use_deflate;
    /* Sync marker: the fingerprint and its bitwise complement, so equal inputs give equal
     * files (the spec asks only that the marker be unlikely to appear in the data). */
    for (int i = 0; i < 8; i++) {
        w->sync[i] = (uint8_t)(schema->fingerprint >> (8 * i));
        w->sync[8 + i] = (uint8_t)~w->sync[i];
    }
    if (!(w->f = fopen(path, "wb"))) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        *rc = AJ_E_IO;
        goto error;
    }
    /* Header: magic, metadata map (one block of two entries, in a fixed order), sync. */
    if (aj_avro_put_raw(&hdr, "Obj\x01", 4) || aj_avro_put_long(&hdr, 2) ||
        aj_avro_put_string(&hdr, "avro.codec", 10) || aj_avro_put_string(&hdr, codec, strlen(codec)) ||
        aj_avro_put_string(&hdr, "avro.schema", 11) || aj_avro_put_string(&hdr, json, strlen(json)) ||
        aj_avro_put_long(&hdr, 0) || aj_avro_put_raw(&hdr, w->sync, sizeof(w->sync)))
        goto error;
    if (aj_ocf_put(w, hdr.data, hdr.len)) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        *rc = AJ_E_IO;
        goto error;
    }
    aj_bytes_free(&hdr);
    *rc = AJ_E_OK;
    return w;
error:
    aj_bytes_free(&hdr);
    if (w && w->f) {
        fclose(w->f);
        remove(path);
    }
    if (w) free(w->path);
    free(w);
    return NULL;
}

aj_err aj_ocf_writer_append(aj_ocf_writer *w, const void *datum, size_t len) {
    aj_err rc;
    if (w->failed) return AJ_E_IO;
    if ((rc = aj_avro_put_raw(&w->block, datum, len))) return rc;
    w->block_count++;
    return w->block.len >= AJ_OCF_BLOCK_BYTES ? aj_ocf_flush_block(w) : AJ_E_OK;
}

aj_err aj_ocf_writer_close(aj_ocf_writer *w) {
    aj_err rc;
    if (!w) return AJ_E_OK;
    rc = aj_ocf_flush_block(w);
    if (fflush(w->f) != 0 || ferror(w->f)) rc = AJ_E_IO;
    if (fclose(w->f) != 0 && rc == AJ_E_OK) rc = AJ_E_IO;
    if (w->failed && rc == AJ_E_OK) rc = AJ_E_IO;
    aj_bytes_free(&w->block);
    aj_bytes_free(&w->packed);
    aj_bytes_free(&w->frame);
    free(w->path);
    free(w);
    return rc;
}
