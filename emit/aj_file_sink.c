/* aj_file_sink.c - the outputs as Avro container files, complete only once renamed at close. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aj_emit.h"
#include "aj_log.h"

typedef struct aj_file_sink {
    aj_sink base;
    char *dir;
    aj_ocf_writer *w[AJ_OUT__COUNT];
    char *partial[AJ_OUT__COUNT];   /* DIR/<name>.avro.partial */
    char *final[AJ_OUT__COUNT];     /* DIR/<name>.avro */
    aj_err failed;                  /* first write error; the run cannot complete */
} aj_file_sink;

/* Appends datum to the kind's file (the key has no place in a container file). After a
 * failure every write returns it: the files are already lost to this run. */
static aj_err aj_file_sink_write(aj_sink *sink, aj_output_kind kind, const char *key, const void *datum,
                                 size_t len) {
    aj_file_sink *s = (aj_file_sink *)sink;
    aj_err rc;
    (void)key;
    if ((unsigned)kind >= AJ_OUT__COUNT) return AJ_E_ARG;
    if (s->failed) return s->failed;
    if ((rc = aj_ocf_writer_append(s->w[kind], datum, len)) != AJ_E_OK) {
        aj_error("file-sink", "cannot write %s: %s", s->partial[kind], aj_err_str(rc));
        s->failed = rc;
    }
    return rc;
}

/* Files are made durable at close; a flush only reports an earlier failure. */
static aj_err aj_file_sink_flush(aj_sink *sink, int timeout_ms) {
    (void)timeout_ms;
    return ((aj_file_sink *)sink)->failed;
}

static void aj_file_sink_free(aj_file_sink *s) {
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        free(s->partial[k]);
        free(s->final[k]);
    }
    free(s->dir);
    free(s);
}

/* Closes every writer without checking and deletes the .partial files. NULL-safe. */
static void aj_file_sink_abort(aj_sink *sink) {
    aj_file_sink *s = (aj_file_sink *)sink;
    if (!s) return;
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        aj_ocf_writer_close(s->w[k]);
        if (s->partial[k]) remove(s->partial[k]);
    }
    aj_file_sink_free(s);
}

/* Makes the renames in dir durable. Best effort: not every file system can sync a directory. */
void aj_file_sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    if (fsync(fd) != 0 && errno != EINVAL)
        aj_warn("file-sink", "cannot sync directory %s: %s", dir, strerror(errno));
    close(fd);
}

/*
 * Finishes every file (last block, fsync), then renames the .partial files to their final
 * names, only if every write and finish succeeded. On any failure nothing is left under a
 * final name by this run (files already renamed are removed again) and the first error is
 * returned, logged with the path. Frees the sink either way.
 */
static aj_err aj_file_sink_close(aj_sink *sink) {
    aj_file_sink *s = (aj_file_sink *)sink;
    aj_err rc = s->failed;
    int renamed = 0;

    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        aj_err crc = aj_ocf_writer_close(s->w[k]);
        s->w[k] = NULL;
        if (crc != AJ_E_OK && rc == AJ_E_OK) {
            aj_error("file-sink", "cannot finish %s: %s", s->partial[k], aj_err_str(crc));
            rc = crc;
        }
    }
    for (; renamed < AJ_OUT__COUNT && rc == AJ_E_OK; renamed++)
        if (rename(s->partial[renamed], s->final[renamed]) != 0) {
            aj_error("file-sink", "cannot rename %s to %s: %s", s->partial[renamed], s->final[renamed],
                     strerror(errno));
            rc = AJ_E_IO;
            break;
        }
    if (rc != AJ_E_OK) {
        for (int k = 0; k < AJ_OUT__COUNT; k++) {
            remove(s->partial[k]);
            if (k < renamed) remove(s->final[k]);
        }
    }
    aj_file_sync_dir(s->dir);
    aj_file_sink_free(s);
    return rc;
}

static const aj_sink_ops aj_file_sink_ops = {aj_file_sink_write, aj_file_sink_flush, aj_file_sink_close,
                                             aj_file_sink_abort, NULL};

static char *aj_join(const char *dir, const char *name, const char *suffix) {
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + sizeof("/.avro");
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s.avro%s", dir, name, suffix);
    return p;
}

/* mkdir -p: creates dir and its missing parents. 0 or -1 with errno. */
static int aj_mkdirs(const char *dir) {
    char *p = strdup(dir);
    int ret = -1;
    if (!p || !p[0]) {
        errno = p ? ENOENT : ENOMEM;
        free(p);
        return -1;
    }
    for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) goto end;
        *slash = '/';
    }
    ret = (mkdir(p, 0777) != 0 && errno != EEXIST) ? -1 : 0;
end:
    free(p);
    return ret;
}

/*
 * Opens the three output files of dir (created with its parents when missing) under their
 * .partial names, deflate codec. NULL with *rc (AJ_E_IO, AJ_E_NOMEM, ...) and a message
 * naming the path in err; nothing is left on disk then.
 */
aj_sink *aj_file_sink_open(const char *dir, aj_err *rc, char *err, size_t errlen) {
    aj_file_sink *s = calloc(1, sizeof(*s));

    *rc = AJ_E_NOMEM;
    if (!s || !(s->dir = strdup(dir))) {
        snprintf(err, errlen, "%s: out of memory", dir);
        free(s);
        return NULL;
    }
    s->base.ops = &aj_file_sink_ops;
    if (aj_mkdirs(dir) != 0) {
        snprintf(err, errlen, "cannot create output directory %s: %s", dir, strerror(errno));
        *rc = AJ_E_IO;
        goto error;
    }
    for (int k = 0; k < AJ_OUT__COUNT; k++) {
        const char *name = aj_output_name((aj_output_kind)k);
        const aj_schema *schema = aj_schema_current(aj_output_schema((aj_output_kind)k));
        if (!(s->partial[k] = aj_join(dir, name, ".partial")) || !(s->final[k] = aj_join(dir, name, ""))) {
            snprintf(err, errlen, "%s: out of memory", dir);
            *rc = AJ_E_NOMEM;
            goto error;
        }
        if (!(s->w[k] = aj_ocf_writer_open(s->partial[k], schema, 1, rc, err, errlen))) goto error;
    }
    *rc = AJ_E_OK;
    return &s->base;
error:
    aj_file_sink_abort(&s->base);
    return NULL;
}
