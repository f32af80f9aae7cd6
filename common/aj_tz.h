/* aj_tz.h - IANA time zones read from compiled TZif files, and proleptic Gregorian dates. */
#ifndef AJ_TZ_H
#define AJ_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "aj_error.h"

/*
 * A loaded time zone: every UTC offset change as one sorted array, the file's own transitions
 * followed by those of its footer rule (RFC 8536) expanded through the year 2200; after the last
 * one the last offset stays. It never touches libc's TZ state and is read-only once loaded, so
 * one aj_tz may be shared by threads.
 */
typedef struct aj_tz aj_tz;

/* Loads zone `name` ("UTC", "Europe/Lisbon", ...) from $TZDIR or /usr/share/zoneinfo. "UTC" and
 * "Etc/UTC" work even without tzdata.
 * Rejects names that are empty, absolute, contain "..", or characters other than [A-Za-z0-9_+-/]: AJ_E_ARG.
 * Missing file: AJ_E_NOT_FOUND; malformed file: AJ_E_IO. detail gets a one-line reason naming the zone
 * (and the path). */
aj_err aj_tz_load(const char *name, aj_tz **out, char *detail, size_t detlen);
void aj_tz_free(aj_tz *tz);               /* NULL-safe */
const char *aj_tz_name(const aj_tz *tz);

/* UTC offset in seconds in force at utc_ms; *next_change_ms (may be NULL) is set to the first instant
 * after utc_ms at which the offset changes (INT64_MAX when it never does). */
int32_t aj_tz_offset(const aj_tz *tz, int64_t utc_ms, int64_t *next_change_ms);

typedef struct aj_local {
    int32_t year;
    int month;          /* 1..12 */
    int day;            /* 1..31 */
    int weekday;        /* ISO: 1 = Monday .. 7 = Sunday */
    int64_t days;       /* local days since 1970-01-01 (can be negative) */
    int64_t ms_of_day;  /* 0 .. 86399999 */
    int32_t offset;     /* seconds east of UTC in force */
} aj_local;

/* Local civil time of utc_ms. */
void aj_tz_local(const aj_tz *tz, int64_t utc_ms, aj_local *out);

/* The first UTC instant whose local time (local days*86400000 + ms_of_day, as one "local ms" number)
 * is >= local_ms. In a DST gap this is the transition instant; in an overlap it is the earlier of the
 * two instants. */
int64_t aj_tz_utc_of_local(const aj_tz *tz, int64_t local_ms);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms,
 * integers only). */
int64_t aj_days_from_civil(int32_t y, int m, int d);
void aj_civil_from_days(int64_t days, int32_t *y, int *m, int *d);
/* ISO weekday (1=Mon..7=Sun) of days since 1970-01-01 (1970-01-01 was a Thursday = 4). Correct for
 * negative days. */
int aj_weekday_of_days(int64_t days);
/* Parses "YYYY-MM-DD" (exactly that form, valid date) into days since epoch: AJ_E_OK or AJ_E_ARG. */
aj_err aj_parse_date(const char *s, int64_t *days);

#endif /* AJ_TZ_H */
