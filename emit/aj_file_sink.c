/* aj_file_sink.c - the outputs as Avro container files, complete only once renamed at close. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aj_emit.h"
#include "aj_log.h"

typedef struct aj_file_sink {
    aj_sink base;
    aj_ocf_writer *w[AJ_OUT__COUNT];
    char *partial[AJ_OUT__COUNT];   /* DIR/<name>.avro.partial */
    char *final[AJ_OUT__COUNT];     /* DIR/<name>.avro */
    int failed;
} aj_file_sink;

static aj_err aj_file_sink_write(aj_sink *sink, aj_output_kind kind, const char *key, const void *datum,
                                 size_t len) {
    aj_file_sink *s = (aj_file_sink *)sink;
    aj_err rc;
    (void)key;
    if ((unsigned)kind >= AJ_OUT__COUNT) return AJ_E_ARG;
    if (s->failed) return AJ_E_IO;
    if ((rc = aj_ocf_writer_append(s->w[kind], datum, len)) != AJ_E_OK) {
        aj_error("file-sink", "cannot write %s: %s", s->partial[kind], aj_err_str(rc));
        s->failed = 1;
    }
    return rc;
}

/* Files are made durable at close; a flush has nothing to wait for. */
static aj_err aj_file_sink_flush(aj_sink *sink, int timeout_ms) {
    (void)timeout_ms;
    return ((aj_file_sink *)sink)->failed ? AJ_E_IO : AJ_E_OK;
}

static void aj_file_sink_free(aj_file_sink *s) {
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        free(s->partial[k]);
        free(s->final[k]);
    }
    free(s);
}

static void aj_file_sink_abort(aj_sink *sink) {
    aj_file_sink *s = (aj_file_sink *)sink;
    if (!s) return;
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        aj_ocf_writer_close(s->w[k]);
        if (s->partial[k]) remove(s->partial[k]);
    }
    aj_file_sink_free(s);
}

static aj_err aj_file_sink_close(aj_sink *sink) {
    aj_file_sink *s = (aj_file_sink *)sink;
    aj_err rc = s->failed ? AJ_E_IO : AJ_E_OK;

    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        aj_err crc = aj_ocf_writer_close(s->w[k]);
        s->w[k] = NULL;
        if (crc != AJ_E_OK && rc == AJ_E_OK) {
            aj_error("file-sink", "cannot finish %s: %s", s->partial[k], aj_err_str(crc));
            rc = crc;
        }
    }
    /* Only a run whose every write succeeded gets files under their final names. */
    for (int k = 0; k < AJ_OUT__COUNT && rc == AJ_E_OK; k++)
        if (rename(s->partial[k], s->final[k]) != 0) {
            aj_error("file-sink", "cannot rename %s to %s: %s", s->partial[k], s->final[k], strerror(errno));
            rc = AJ_E_IO;
        }
    if (rc != AJ_E_OK)
        for (int k = 0; k < AJ_OUT__COUNT; k++) remove(s->partial[k]);
    aj_file_sink_free(s);
    return rc;
}

static const aj_sink_ops aj_file_sink_ops = {aj_file_sink_write, aj_file_sink_flush, aj_file_sink_close,
                                             aj_file_sink_abort};

static char *aj_join(const char *dir, const char *name, const char *suffix) {
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 8;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s.avro%s", dir, name, suffix);
    return p;
}

aj_sink *aj_file_sink_open(const char *dir, aj_err *rc, char *err, size_t errlen) {
    aj_file_sink *s = calloc(1, sizeof(*s));

    *rc = AJ_E_NOMEM;
    if (!s) return NULL;
    s->base.ops = &aj_file_sink_ops;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create output directory %s: %s", dir, strerror(errno));
        *rc = AJ_E_IO;
        goto error;
    }
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        const aj_schema *schema = aj_schema_current(aj_output_schema((aj_output_kind)k));
        if (!(s->partial[k] = aj_join(dir, aj_output_name((aj_output_kind)k), ".partial")) ||
            !(s->final[k] = aj_join(dir, aj_output_name((aj_output_kind)k), "")))
            goto error;
        if (!(s->w[k] = aj_ocf_writer_open(s->partial[k], schema, 1, rc, err, errlen))) goto error;
    }
    *rc = AJ_E_OK;
    return &s->base;
error:
    aj_file_sink_abort(&s->base);
    return NULL;
}
