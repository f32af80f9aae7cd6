/* aj_ocf.c - Avro object container files, written deterministically (same datums, same bytes). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "aj_emit.h"

/* A block is cut once its raw datums reach this size (spec: "blocks of objects"; Java's
 * writer defaults to 64 KiB too). */
#define AJ_OCF_BLOCK_BYTES (64 * 1024)

#define AJ_OCF_SYNC_LEN 16

struct aj_ocf_writer {
    FILE *f;
    int deflate;
    uint8_t sync[AJ_OCF_SYNC_LEN];
    aj_bytes block;      /* raw datums of the open block */
    int64_t block_count;
    aj_bytes packed;     /* the block as written when deflated */
    aj_bytes frame;      /* object count + byte size varints */
    aj_err failed;       /* first error; every later call returns it */
};

/* The schema text written into the header: the embedded .avsc, docs included, so a reader
 * sees the documentation of every field. NULL when schema has no embedded source. */
static const char *aj_ocf_schema_json(const aj_schema *schema) {
    for (const aj_schema_source *s = aj_schema_sources; s->file; s++)
        if (strcmp(s->file, schema->file) == 0) return s->json;
    return NULL;
}

/* Writes len bytes; AJ_E_IO (sticky) when the stream refuses them. */
static aj_err aj_ocf_put(aj_ocf_writer *w, const void *p, size_t len) {
    if (w->failed) return w->failed;
    if (len && fwrite(p, 1, len, w->f) != len) w->failed = AJ_E_IO;
    return w->failed;
}

/* Raw deflate (RFC 1951, no zlib header) of in into out, as the Avro "deflate" codec requires.
 * Level and parameters are fixed, so the same block always packs to the same bytes.
 * AJ_E_NOMEM, AJ_E_ARG for a block zlib cannot take in one call (over 4 GiB). */
static aj_err aj_ocf_deflate(const aj_bytes *in, aj_bytes *out) {
    z_stream z;
    aj_err rc = AJ_E_OK;

    if (in->len > UINT_MAX / 2) return AJ_E_ARG;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return AJ_E_NOMEM;
    uLong bound = deflateBound(&z, (uLong)in->len);
    out->len = 0;
    if (aj_bytes_reserve(out, (size_t)bound)) {
        rc = AJ_E_NOMEM;
        goto end;
    }
    z.next_in = in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out->data;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {   /* cannot happen with deflateBound's room */
        rc = AJ_E_IO;
        goto end;
    }
    out->len = (size_t)z.total_out;
end:
    deflateEnd(&z);
    return rc;
}

/* Writes the open block, if any: object count, byte size, (packed) data, sync marker.
 * Any failure is sticky: the file can no longer be completed. */
static aj_err aj_ocf_flush_block(aj_ocf_writer *w) {
    const aj_bytes *data = &w->block;
    aj_err rc;

    if (w->failed) return w->failed;
    if (w->block_count == 0) return AJ_E_OK;
    if (w->deflate) {
        if ((rc = aj_ocf_deflate(&w->block, &w->packed))) goto fail;
        data = &w->packed;
    }
    w->frame.len = 0;
    if ((rc = aj_avro_put_long(&w->frame, w->block_count)) || (rc = aj_avro_put_long(&w->frame, (int64_t)data->len)) ||
        (rc = aj_ocf_put(w, w->frame.data, w->frame.len)) || (rc = aj_ocf_put(w, data->data, data->len)) ||
        (rc = aj_ocf_put(w, w->sync, sizeof(w->sync))))
        goto fail;
    w->block.len = 0;
    w->block_count = 0;
    return AJ_E_OK;
fail:
    w->failed = rc;
    return rc;
}

/*
 * Creates (truncates) path and writes the header: magic "Obj\x01", the metadata map in a fixed
 * order (avro.codec, then avro.schema = the embedded .avsc text) as one block, the sync marker.
 * Returns NULL with *rc (AJ_E_NOMEM, AJ_E_ARG for a schema without embedded text, AJ_E_IO) and
 * a message naming path in err. Nothing is left on disk on failure.
 */
aj_ocf_writer *aj_ocf_writer_open(const char *path, const aj_schema *schema, int use_deflate, aj_err *rc, char *err,
                                  size_t errlen) {
    const char *json = schema ? aj_ocf_schema_json(schema) : NULL;
    const char *codec = use_deflate ? "deflate" : "null";
    aj_ocf_writer *w = calloc(1, sizeof(*w));
    aj_bytes hdr = {0};

    *rc = AJ_E_NOMEM;
    if (!w) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto error;
    }
    if (!json) {
        snprintf(err, errlen, "%s: no embedded schema text for %s", path, schema ? schema->file : "(null schema)");
        *rc = AJ_E_ARG;
        goto error;
    }
    w->deflate = use_deflate;
    /* Sync marker: the fingerprint and its bitwise complement. Equal inputs give equal files;
     * the spec asks only that the marker be unlikely to occur in the data, and a reader that
     * resynchronizes also checks the block frame around it. */
    for (int i = 0; i < 8; i++) {
        w->sync[i] = (uint8_t)(schema->fingerprint >> (8 * i));
        w->sync[8 + i] = (uint8_t)~w->sync[i];
    }
    if (aj_avro_put_raw(&hdr, "Obj\x01", 4) || aj_avro_put_long(&hdr, 2) ||
        aj_avro_put_string(&hdr, "avro.codec", 10) || aj_avro_put_string(&hdr, codec, strlen(codec)) ||
        aj_avro_put_string(&hdr, "avro.schema", 11) || aj_avro_put_string(&hdr, json, strlen(json)) ||
        aj_avro_put_long(&hdr, 0) || aj_avro_put_raw(&hdr, w->sync, sizeof(w->sync))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto error;
    }
    if (!(w->f = fopen(path, "wb"))) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        *rc = AJ_E_IO;
        goto error;
    }
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
    free(w);
    return NULL;
}

/* Appends one datum (copied) to the open block, writing the block once it reaches
 * AJ_OCF_BLOCK_BYTES. AJ_E_NOMEM / AJ_E_IO; after any failure every call fails. */
aj_err aj_ocf_writer_append(aj_ocf_writer *w, const void *datum, size_t len) {
    aj_err rc;
    if (!w) return AJ_E_ARG;
    if (w->failed) return w->failed;
    if ((rc = aj_avro_put_raw(&w->block, datum, len))) return w->failed = rc;
    w->block_count++;
    return w->block.len >= AJ_OCF_BLOCK_BYTES ? aj_ocf_flush_block(w) : AJ_E_OK;
}

/* Writes the last block, flushes and fsyncs the file, closes it and frees w (NULL-safe).
 * Returns the first error of the writer's life (AJ_E_IO, AJ_E_NOMEM) or AJ_E_OK; the file
 * is left in place either way (the caller decides whether it is kept). */
aj_err aj_ocf_writer_close(aj_ocf_writer *w) {
    aj_err rc;
    if (!w) return AJ_E_OK;
    rc = aj_ocf_flush_block(w);
    if (fflush(w->f) != 0 || ferror(w->f) || fsync(fileno(w->f)) != 0)
        if (rc == AJ_E_OK) rc = AJ_E_IO;
    if (fclose(w->f) != 0 && rc == AJ_E_OK) rc = AJ_E_IO;
    aj_bytes_free(&w->block);
    aj_bytes_free(&w->packed);
    aj_bytes_free(&w->frame);
    free(w);
    return rc;
}
