/* aj_log.h - leveled logging to stderr. */
#ifndef AJ_LOG_H
#define AJ_LOG_H

typedef enum aj_log_level {
    AJ_LOG_ERROR,
    AJ_LOG_WARN,
    AJ_LOG_INFO,
    AJ_LOG_DEBUG
} aj_log_level;

/* Sets the most verbose level printed (default AJ_LOG_INFO). Call before threads start. */
void aj_log_set_level(aj_log_level level);

/* Parses "error", "warn", "info", "debug". Returns 0 on success, -1 otherwise. */
int aj_log_parse_level(const char *s, aj_log_level *out);

/* Prints "ajuste[component] level: message" to stderr when level is enabled. */
void aj_log(aj_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define aj_error(comp, ...) aj_log(AJ_LOG_ERROR, comp, __VA_ARGS__)
#define aj_warn(comp, ...) aj_log(AJ_LOG_WARN, comp, __VA_ARGS__)
#define aj_info(comp, ...) aj_log(AJ_LOG_INFO, comp, __VA_ARGS__)
#define aj_debug(comp, ...) aj_log(AJ_LOG_DEBUG, comp, __VA_ARGS__)

#endif /* AJ_LOG_H */
