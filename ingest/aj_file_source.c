/* aj_file_source.c - a source over one Avro object container file that trusts none of its bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "aj_ingest.h"
#include "aj_log.h"

/*
 * Object container files (Avro 1.11.1 specification, "Object Container Files"):
 *   header = "Obj" 1, metadata map<bytes> (avro.schema, avro.codec), 16-byte sync marker;
 *   block  = long count, long size, size bytes of (compressed) datums, the sync marker.
 * The file is mapped read-only; datums are returned as borrowed slices of the mapping (null
 * codec) or of the current inflated block (deflate).
 *
 * Broken input never stops the read. A block whose datums cannot all be split is returned as
 * one reject (the bytes from the first undecodable datum to the block's end) and the next block
 * is read. A block whose framing is broken (count, size or sync marker wrong, or truncated) is
 * rejected up to the next sync marker found in the file, where reading resumes (the sync marker
 * exists for exactly that); with no further marker the rest of the file is the reject and
 * AJ_E_EOF follows.
 *
 * Positions: the offset is the datum's 0-based index in the file as the block counts declare
 * it. A reject takes the index of its first undecodable datum; the next block starts at its own
 * declared first index when the rejected block's count was plausible, else right after the
 * reject, so positions stay unique (dead-letter ids derive from them).
 */

#define AJ_OCF_MAGIC "Obj\x01"
#define AJ_OCF_MAGIC_LEN 4
#define AJ_OCF_SYNC_LEN 16

/* Largest block ajuste inflates: a bound against decompression bombs, far above what writers
 * produce (avro-c 16 KiB, Java 64 KiB by default). */
#define AJ_OCF_MAX_BLOCK (256u * 1024u * 1024u)

typedef enum aj_ocf_codec { AJ_OCF_NULL, AJ_OCF_DEFLATE } aj_ocf_codec;

typedef struct aj_file_source {
    aj_source base;
    char *path;
    char reject_detail[256];   /* why the last reject was rejected (msg->detail) */
    const uint8_t *data;   /* the mapped file */
    size_t len;
    const aj_schema *writer;
    aj_ocf_codec codec;
    uint8_t sync[AJ_OCF_SYNC_LEN];
    size_t next_block;     /* file offset of the next block header */
    int at_end;            /* nothing more to read */
    /* The block being split. */
    uint8_t *inflated;     /* deflate output, reused from block to block */
    size_t inflated_cap;
    const uint8_t *blk;    /* decoded datums of the block */
    size_t blk_len, blk_off;
    int64_t blk_left;      /* datums still to return */
    int64_t blk_first;     /* index of the block's first datum */
    int64_t blk_count;
    int64_t index;         /* index of the next datum */
} aj_file_source;

static aj_err aj_file_next(aj_source *src, aj_message *msg, int timeout_ms);
static aj_err aj_file_commit(aj_source *src);
static void aj_file_destroy(aj_source *src);

static const aj_source_ops aj_file_ops = {aj_file_next, aj_file_commit, aj_file_destroy};

/* ------------------------------------------------------------------ header */

/* Reads the metadata map: the schema JSON and the codec name (NULL/0 when absent), borrowed
 * from the file. AJ_E_AVRO with a reason in why. */
static aj_err aj_ocf_read_meta(aj_avro_in *in, const char **schema, size_t *schema_len, const char **codec,
                               size_t *codec_len, const char **why) {
    *schema = *codec = NULL;
    *schema_len = *codec_len = 0;
    for (;;) {
        int64_t count, size = -1;
        const uint8_t *block;

        if (aj_avro_get_long(in, &count)) {
            *why = "truncated or malformed metadata block count";
            return AJ_E_AVRO;
        }
        if (count == 0) return AJ_E_OK;
        if (count < 0) {
            if (count == INT64_MIN || aj_avro_get_long(in, &size) || size < 0 || size > in->end - in->p) {
                *why = "malformed metadata block size";
                return AJ_E_AVRO;
            }
            count = -count;
        }
        if (count > in->end - in->p) {
            *why = "metadata block count larger than the file";
            return AJ_E_AVRO;
        }
        block = in->p;
        for (int64_t i = 0; i < count; i++) {
            const char *key, *val;
            size_t klen, vlen;

            if (aj_avro_get_string(in, &key, &klen) || aj_avro_get_string(in, &val, &vlen)) {
                *why = "truncated or malformed metadata entry";
                return AJ_E_AVRO;
            }
            if (klen == 11 && memcmp(key, "avro.schema", 11) == 0) {
                if (*schema) {
                    *why = "avro.schema appears twice in the metadata";
                    return AJ_E_AVRO;
                }
                *schema = val;
                *schema_len = vlen;
            } else if (klen == 10 && memcmp(key, "avro.codec", 10) == 0) {
                if (*codec) {
                    *why = "avro.codec appears twice in the metadata";
                    return AJ_E_AVRO;
                }
                *codec = val;
                *codec_len = vlen;
            }
        }
        if (size >= 0 && in->p - block != size) {
            *why = "metadata block size does not match its entries";
            return AJ_E_AVRO;
        }
    }
}

/* Maps path read-only into fs->data. AJ_E_IO with err naming the path. */
static aj_err aj_ocf_map(aj_file_source *fs, const char *path, char *err, size_t errlen) {
    struct stat st;
    aj_err rc = AJ_E_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return AJ_E_IO;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto end;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto end;
    }
    fs->len = (size_t)st.st_size;
    if (fs->len) {
        void *p = mmap(NULL, fs->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            snprintf(err, errlen, "%s: cannot map: %s", path, strerror(errno));
            fs->len = 0;
            goto end;
        }
        fs->data = p;
    }
    rc = AJ_E_OK;
end:
    close(fd);
    return rc;
}

/* Parses the header: magic, metadata, known writer schema, codec, sync marker. */
static aj_err aj_ocf_header(aj_file_source *fs, char *err, size_t errlen) {
    aj_avro_in in = {fs->data, fs->data + fs->len};
    const char *json, *codec, *why = NULL;
    size_t json_len, codec_len;
    avro_schema_t schema = NULL;
    char *canonical = NULL;
    aj_err rc = AJ_E_AVRO;

    if (fs->len < AJ_OCF_MAGIC_LEN || memcmp(fs->data, AJ_OCF_MAGIC, AJ_OCF_MAGIC_LEN) != 0) {
        snprintf(err, errlen, "%s: not an Avro object container file (no 'Obj' 1 magic)", fs->path);
        return AJ_E_AVRO;
    }
    in.p += AJ_OCF_MAGIC_LEN;
    if (aj_ocf_read_meta(&in, &json, &json_len, &codec, &codec_len, &why)) {
        snprintf(err, errlen, "%s: bad Avro header: %s", fs->path, why);
        return AJ_E_AVRO;
    }
    if ((size_t)(in.end - in.p) < AJ_OCF_SYNC_LEN) {
        snprintf(err, errlen, "%s: bad Avro header: truncated before its sync marker", fs->path);
        return AJ_E_AVRO;
    }
    memcpy(fs->sync, in.p, AJ_OCF_SYNC_LEN);
    fs->next_block = (size_t)(in.p - fs->data) + AJ_OCF_SYNC_LEN;
    if (!codec || (codec_len == 4 && memcmp(codec, "null", 4) == 0)) {
        fs->codec = AJ_OCF_NULL;
    } else if (codec_len == 7 && memcmp(codec, "deflate", 7) == 0) {
        fs->codec = AJ_OCF_DEFLATE;
    } else {
        snprintf(err, errlen, "%s: Avro codec '%.*s' is not supported (null, deflate)", fs->path,
                 (int)(codec_len > 64 ? 64 : codec_len), codec);
        return AJ_E_AVRO;
    }
    if (!json) {
        snprintf(err, errlen, "%s: bad Avro header: no avro.schema in the metadata", fs->path);
        return AJ_E_AVRO;
    }
    if (avro_schema_from_json_length(json, json_len, &schema) != 0) {
        snprintf(err, errlen, "%s: writer schema does not parse: %s", fs->path, avro_strerror());
        schema = NULL;
        goto end;
    }
    if (!(canonical = aj_schema_canonical(schema))) {
        rc = AJ_E_NOMEM;
        snprintf(err, errlen, "%s: out of memory", fs->path);
        goto end;
    }
    uint64_t fp = aj_crc64_avro(canonical, strlen(canonical));
    if (!(fs->writer = aj_schema_by_fingerprint(fp))) {
        rc = AJ_E_UNKNOWN_SCHEMA;
        snprintf(err, errlen, "%s: writer schema (fingerprint %016llx) is not a known schema", fs->path,
                 (unsigned long long)fp);
        goto end;
    }
    rc = AJ_E_OK;
end:
    free(canonical);
    if (schema) avro_schema_decref(schema);
    return rc;
}

aj_source *aj_file_source_open(const char *path, aj_err *rc, char *err, size_t errlen) {
    aj_file_source *fs = calloc(1, sizeof(*fs));
    aj_err r = AJ_E_NOMEM;

    if (errlen) err[0] = '\0';
    if (!fs || !(fs->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto error;
    }
    fs->base.ops = &aj_file_ops;
    if ((r = aj_ocf_map(fs, path, err, errlen)) || (r = aj_ocf_header(fs, err, errlen))) goto error;
    if (rc) *rc = AJ_E_OK;
    return &fs->base;
error:
    if (rc) *rc = r;
    if (fs) aj_file_destroy(&fs->base);
    return NULL;
}

/* ------------------------------------------------------------------ blocks */

/* Inflates raw deflate data (RFC 1951) into fs->inflated. AJ_E_TRUNCATED when the stream ends
 * early, AJ_E_BAD_LENGTH when it is corrupt, has bytes after its end or inflates beyond
 * AJ_OCF_MAX_BLOCK, AJ_E_NOMEM. */
static aj_err aj_ocf_inflate(aj_file_source *fs, const uint8_t *in, size_t len, size_t *out_len,
                             char *detail, size_t detlen) {
    z_stream z;
    aj_err rc = AJ_E_BAD_LENGTH;
    int zrc;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK) return AJ_E_NOMEM;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;   /* len < AJ_OCF_MAX_BLOCK */
    for (;;) {
        if (z.total_out == fs->inflated_cap) {
            size_t cap = fs->inflated_cap ? fs->inflated_cap * 2 : 64 * 1024;
            if (fs->inflated_cap >= AJ_OCF_MAX_BLOCK) {
                snprintf(detail, detlen, "block inflates beyond %u bytes", AJ_OCF_MAX_BLOCK);
                goto end;
            }
            if (cap > AJ_OCF_MAX_BLOCK) cap = AJ_OCF_MAX_BLOCK;
            uint8_t *grown = realloc(fs->inflated, cap);
            if (!grown) {
                rc = AJ_E_NOMEM;
                goto end;
            }
            fs->inflated = grown;
            fs->inflated_cap = cap;
        }
        z.next_out = fs->inflated + z.total_out;
        z.avail_out = (uInt)(fs->inflated_cap - z.total_out);
        zrc = inflate(&z, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) break;
        if ((zrc == Z_OK || zrc == Z_BUF_ERROR) && z.avail_out == 0) continue;   /* output full: grow */
        if (zrc == Z_MEM_ERROR) {
            rc = AJ_E_NOMEM;
            goto end;
        }
        if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT || zrc == Z_STREAM_ERROR) {
            snprintf(detail, detlen, "deflate data is corrupt: %s", z.msg ? z.msg : "inflate failed");
            goto end;
        }
        /* Z_OK or Z_BUF_ERROR with output room left: the input ran out before the stream ended. */
        snprintf(detail, detlen, "deflate stream ends before its last block");
        rc = AJ_E_TRUNCATED;
        goto end;
    }
    if (z.avail_in) {
        snprintf(detail, detlen, "%u bytes after the end of the deflate stream", z.avail_in);
        goto end;
    }
    *out_len = z.total_out;
    rc = AJ_E_OK;
end:
    inflateEnd(&z);
    return rc;
}

/* Offset of the first sync marker at or after from, or fs->len. */
static size_t aj_ocf_find_sync(const aj_file_source *fs, size_t from) {
    while (from < fs->len && fs->len - from >= AJ_OCF_SYNC_LEN) {
        const uint8_t *hit = memchr(fs->data + from, fs->sync[0], fs->len - from - AJ_OCF_SYNC_LEN + 1);
        if (!hit) break;
        from = (size_t)(hit - fs->data);
        if (memcmp(hit, fs->sync, AJ_OCF_SYNC_LEN) == 0) return from;
        from++;
    }
    return fs->len;
}

/* Fills msg with a reject of value[0..len) at the next index and advances the index past it:
 * to the rejected block's declared end when its count was plausible (trusted). */
static aj_err aj_ocf_reject(aj_file_source *fs, aj_message *msg, aj_err reason, const uint8_t *value,
                            size_t len, int trusted, const char *detail) {
    msg->value = value;
    msg->value_len = len;
    msg->pos.offset = fs->index;
    snprintf(fs->reject_detail, sizeof(fs->reject_detail), "%s", detail);
    msg->detail = fs->reject_detail;
    aj_warn("ingest", "%s: datum %lld: %s (%s); %zu bytes rejected", fs->path, (long long)fs->index,
            aj_err_name(reason), detail, len);
    fs->index++;
    if (trusted && fs->blk_first + fs->blk_count > fs->index) fs->index = fs->blk_first + fs->blk_count;
    fs->blk_left = 0;
    fs->blk_len = fs->blk_off = 0;
    return reason;
}

/*
 * Reads the block at fs->next_block into fs->blk. AJ_E_OK (the block is ready), AJ_E_EOF at the
 * clean end of the file, AJ_E_NOMEM, or a reject reason with msg filled (the block's bytes, or
 * for broken framing everything up to the next sync marker, where reading resumes).
 */
static aj_err aj_ocf_load_block(aj_file_source *fs, aj_message *msg) {
    const uint8_t *start = fs->data + fs->next_block;
    aj_avro_in in = {start, fs->data + fs->len};
    int64_t count = -1, size = -1;
    char detail[160] = "";
    aj_err rc;

    if (fs->next_block >= fs->len) return AJ_E_EOF;
    fs->blk_first = fs->index;
    fs->blk_count = 0;
    if ((rc = aj_avro_get_long(&in, &count)) || (rc = aj_avro_get_long(&in, &size))) {
        snprintf(detail, sizeof(detail), "block header at byte %zu is %s", fs->next_block,
                 rc == AJ_E_TRUNCATED ? "truncated" : "malformed");
    } else if (count < 0 || size < 0) {
        rc = AJ_E_BAD_LENGTH;
        snprintf(detail, sizeof(detail), "block at byte %zu has a negative count or size", fs->next_block);
    } else if (size > AJ_OCF_MAX_BLOCK) {
        rc = AJ_E_BAD_LENGTH;
        snprintf(detail, sizeof(detail), "block at byte %zu claims %lld bytes", fs->next_block, (long long)size);
    } else if ((uint64_t)size + AJ_OCF_SYNC_LEN > (uint64_t)(in.end - in.p)) {
        rc = AJ_E_TRUNCATED;
        snprintf(detail, sizeof(detail), "block at byte %zu claims %lld bytes, the file ends first", fs->next_block,
                 (long long)size);
    } else if (memcmp(in.p + size, fs->sync, AJ_OCF_SYNC_LEN) != 0) {
        rc = AJ_E_BAD_LENGTH;
        snprintf(detail, sizeof(detail), "block at byte %zu is not followed by the sync marker", fs->next_block);
    }
    if (rc) {
        /* Broken framing: resume at the next sync marker, if any. */
        size_t sync = aj_ocf_find_sync(fs, fs->next_block);
        size_t chunk = sync - fs->next_block;
        fs->blk_count = count;
        fs->next_block = sync < fs->len ? sync + AJ_OCF_SYNC_LEN : fs->len;
        return aj_ocf_reject(fs, msg, rc, start, chunk, count > 0 && (uint64_t)count <= chunk, detail);
    }
    /* Framing is intact: whatever happens inside, the next block starts after the sync. */
    fs->next_block = (size_t)(in.p + size - fs->data) + AJ_OCF_SYNC_LEN;
    fs->blk_count = count;
    fs->blk = in.p;
    fs->blk_len = (size_t)size;
    if (fs->codec == AJ_OCF_DEFLATE && size > 0) {
        if ((rc = aj_ocf_inflate(fs, in.p, (size_t)size, &fs->blk_len, detail, sizeof(detail)))) {
            if (rc == AJ_E_NOMEM) return rc;
            return aj_ocf_reject(fs, msg, rc, in.p, (size_t)size, (uint64_t)count <= AJ_OCF_MAX_BLOCK, detail);
        }
        fs->blk = fs->inflated;
    }
    if ((uint64_t)count > fs->blk_len) {
        /* Every datum of a known schema takes at least one byte. */
        snprintf(detail, sizeof(detail), "block claims %lld datums in %zu bytes", (long long)count, fs->blk_len);
        return aj_ocf_reject(fs, msg, AJ_E_BAD_LENGTH, fs->blk, fs->blk_len, 0, detail);
    }
    fs->blk_off = 0;
    fs->blk_left = count;
    return AJ_E_OK;
}

/* ------------------------------------------------------------------ source ops */

/*
 * One datum per call (timeout_ms unused: a file never waits). AJ_E_OK, AJ_E_EOF, AJ_E_NOMEM, or
 * a reject reason with the undecodable bytes in msg (see the top of this file).
 */
static aj_err aj_file_next(aj_source *src, aj_message *msg, int timeout_ms) {
    aj_file_source *fs = (aj_file_source *)src;
    char detail[256];
    size_t used = 0;
    aj_err rc;

    memset(msg, 0, sizeof(*msg));
    msg->pos.origin = fs->path;
    msg->pos.partition = -1;
    msg->writer = fs->writer;
    for (;;) {
        if (fs->at_end) return AJ_E_EOF;
        if (fs->blk_left > 0) break;
        if (fs->blk_off < fs->blk_len) {
            /* The block's count is spent and bytes remain. */
            snprintf(detail, sizeof(detail), "%zu bytes after the block's %lld datums", fs->blk_len - fs->blk_off,
                     (long long)fs->blk_count);
            return aj_ocf_reject(fs, msg, AJ_E_TRAILING_BYTES, fs->blk + fs->blk_off, fs->blk_len - fs->blk_off, 1,
                                 detail);
        }
        fs->blk_len = fs->blk_off = 0;
        rc = aj_ocf_load_block(fs, msg);
        if (rc == AJ_E_EOF) fs->at_end = 1;
        if (rc != AJ_E_OK) return rc;
    }
    const uint8_t *datum = fs->blk + fs->blk_off;
    size_t left = fs->blk_len - fs->blk_off;
    if (!left) {
        snprintf(detail, sizeof(detail), "block ends after %lld of the %lld datums it counts",
                 (long long)(fs->blk_count - fs->blk_left), (long long)fs->blk_count);
        return aj_ocf_reject(fs, msg, AJ_E_TRUNCATED, datum, 0, 1, detail);
    }
    if ((rc = aj_avro_check(fs->writer->schema, datum, left, &used, detail, sizeof(detail))))
        return aj_ocf_reject(fs, msg, rc, datum, left, 1, detail);
    msg->value = datum;
    msg->value_len = used;
    msg->pos.offset = fs->index++;
    fs->blk_off += used;
    fs->blk_left--;
    return AJ_E_OK;
}

static aj_err aj_file_commit(aj_source *src) {
    (void)src;
    return AJ_E_OK;
}

static void aj_file_destroy(aj_source *src) {
    aj_file_source *fs = (aj_file_source *)src;
    if (!fs) return;
    if (fs->data) munmap((void *)(uintptr_t)fs->data, fs->len);
    free(fs->inflated);
    free(fs->path);
    free(fs);
}
