/* aj_log.c - leveled logging to stderr. */
#include "aj_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static aj_log_level aj_log_max = AJ_LOG_INFO;
static const char *const aj_log_names[] = {"error", "warn", "info", "debug"};

void aj_log_set_level(aj_log_level level) {
    aj_log_max = level;
}

int aj_log_parse_level(const char *s, aj_log_level *out) {
    for (int i = 0; i <= AJ_LOG_DEBUG; i++) {
        if (strcmp(s, aj_log_names[i]) == 0) {
            *out = (aj_log_level)i;
            return 0;
        }
    }
    return -1;
}

void aj_log(aj_log_level level, const char *component, const char *fmt, ...) {
    char line[1024];
    va_list ap;

    if (level > aj_log_max) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "ajuste[%s] %s: %s\n", component, aj_log_names[level], line);
}
