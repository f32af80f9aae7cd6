/* test_tz.c - time zones from TZif files: cross-checked with glibc, gaps, overlaps, dates, bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "aj_tz.h"

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

/* The zones cross-checked with glibc; the first nine are the ones the brief names. */
static const char *const zones[] = {
    "UTC", "Europe/Lisbon", "America/Sao_Paulo", "America/New_York", "Europe/London",
    "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham", "America/Santiago",
    /* footers with a negative DST (Dublin), a negative rule time (Nuuk), hours past 24 (Jerusalem) */
    "Europe/Dublin", "America/Nuuk", "Asia/Jerusalem", "Africa/Cairo",
};
#define NZONES (sizeof(zones) / sizeof(zones[0]))

static aj_tz *load(const char *name) {
    char detail[512] = "";
    aj_tz *tz = NULL;
    aj_err err = aj_tz_load(name, &tz, detail, sizeof(detail));
    if (err != AJ_E_OK) fail_msg("loading %s: %s: %s", name, aj_err_name(err), detail);
    assert_string_equal(aj_tz_name(tz), name);
    return tz;
}

/* UTC ms of a civil date and time. */
static int64_t utc_ms(int32_t y, int m, int d, int hh, int mi) {
    return aj_days_from_civil(y, m, d) * DAY_MS + hh * HOUR_MS + mi * INT64_C(60000);
}

static int64_t floordiv(int64_t a, int64_t b) {
    return a / b - (a % b < 0);
}

/* splitmix64: a deterministic pseudo-random sequence. */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Points glibc at zone; only this test touches libc's TZ state. */
static void glibc_zone(const char *zone) {
    char buf[300];
    snprintf(buf, sizeof(buf), ":%s", zone);
    assert_int_equal(setenv("TZ", buf, 1), 0);
    tzset();
}

/* Checks aj_tz_offset, aj_tz_local and next_change_ms at ms against glibc's localtime_r. */
static void check_instant(const aj_tz *tz, int64_t ms) {
    time_t t = (time_t)floordiv(ms, 1000);
    int64_t next;
    int32_t off = aj_tz_offset(tz, ms, &next);
    struct tm tm;
    aj_local loc;

    assert_non_null(localtime_r(&t, &tm));
    if (off != tm.tm_gmtoff)
        fail_msg("%s at %lld ms: offset %d, glibc %ld", aj_tz_name(tz), (long long)ms, off,
                 (long)tm.tm_gmtoff);
    aj_tz_local(tz, ms, &loc);
    assert_int_equal(loc.offset, off);
    assert_int_equal(loc.year, tm.tm_year + 1900);
    assert_int_equal(loc.month, tm.tm_mon + 1);
    assert_int_equal(loc.day, tm.tm_mday);
    assert_int_equal(loc.weekday, tm.tm_wday == 0 ? 7 : tm.tm_wday);
    assert_int_equal(loc.days, aj_days_from_civil(loc.year, loc.month, loc.day));
    assert_int_equal(loc.ms_of_day / 1000, tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
    assert_int_equal(loc.ms_of_day % 1000, ms - floordiv(ms, 1000) * 1000);
    if (next != INT64_MAX) {
        assert_true(next > ms);
        assert_int_equal(aj_tz_offset(tz, next - 1, NULL), off);
        assert_int_not_equal(aj_tz_offset(tz, next, NULL), off);
    }
}

/* Every zone: ~20000 pseudo-random instants in 1900..2150, every day of 1970..2100 and every
 * transition of 1970..2100 at -1 s, -1 ms, 0 and +1 s agree with glibc. */
static void test_matches_glibc(void **state) {
    const int64_t lo = utc_ms(1900, 1, 1, 0, 0), hi = utc_ms(2150, 1, 1, 0, 0);
    const int64_t t1970 = 0, t2100 = utc_ms(2100, 1, 1, 0, 0);
    uint64_t seed = 20260101;
    (void)state;

    for (size_t z = 0; z < NZONES; z++) {
        aj_tz *tz = load(zones[z]);
        int64_t t = t1970, next;
        int transitions = 0;

        glibc_zone(zones[z]);
        for (int i = 0; i < 20000; i++)
            check_instant(tz, lo + (int64_t)(rng_next(&seed) % (uint64_t)(hi - lo)));
        for (int64_t d = 0; d * DAY_MS < t2100; d++)
            check_instant(tz, d * DAY_MS + (d * 7919 % 86400) * 1000);
        for (;;) {
            aj_tz_offset(tz, t, &next);
            if (next >= t2100) break;
            check_instant(tz, next - 1000);
            check_instant(tz, next - 1);
            check_instant(tz, next);
            check_instant(tz, next + 1000);
            transitions++;
            t = next;
        }
        /* The zones with DST today change twice a year through 2100. */
        if (strcmp(zones[z], "UTC") == 0 || strcmp(zones[z], "Asia/Kolkata") == 0)
            assert_int_equal(transitions, 0);
        else if (strcmp(zones[z], "America/Sao_Paulo") == 0)
            assert_in_range(transitions, 60, 120); /* DST 1985..2019 */
        else
            assert_in_range(transitions, 150, 400);
        aj_tz_free(tz);
    }
    unsetenv("TZ");
}

static void test_known_offsets(void **state) {
    aj_tz *lis = load("Europe/Lisbon"), *sp = load("America/Sao_Paulo"), *utc = load("UTC");
    int64_t next;
    (void)state;

    assert_int_equal(aj_tz_offset(lis, utc_ms(2026, 7, 1, 12, 0), NULL), 3600);
    assert_int_equal(aj_tz_offset(lis, utc_ms(2026, 12, 1, 12, 0), &next), 0);
    assert_int_equal(next, utc_ms(2027, 3, 28, 1, 0)); /* last Sunday of March, 01:00 UTC */
    assert_int_equal(aj_tz_offset(lis, utc_ms(2026, 3, 29, 0, 59), &next), 0);
    assert_int_equal(next, utc_ms(2026, 3, 29, 1, 0));
    assert_int_equal(aj_tz_offset(lis, utc_ms(2026, 3, 29, 1, 0), &next), 3600);
    assert_int_equal(next, utc_ms(2026, 10, 25, 1, 0));
    /* Far beyond 2037 the footer rule still gives Lisbon its summer time. */
    assert_int_equal(aj_tz_offset(lis, utc_ms(2150, 7, 1, 0, 0), NULL), 3600);
    assert_int_equal(aj_tz_offset(lis, utc_ms(2150, 1, 1, 0, 0), NULL), 0);

    for (int64_t d = aj_days_from_civil(2026, 1, 1); d < aj_days_from_civil(2027, 1, 1); d++) {
        assert_int_equal(aj_tz_offset(sp, d * DAY_MS + 12 * HOUR_MS, &next), -10800);
        assert_int_equal(next, INT64_MAX); /* no DST since 2019, and the 2038 no-op is no change */
    }
    assert_int_equal(aj_tz_offset(sp, utc_ms(2018, 12, 1, 12, 0), NULL), -7200);
    assert_int_equal(aj_tz_offset(sp, utc_ms(2019, 2, 17, 1, 59), NULL), -7200);
    assert_int_equal(aj_tz_offset(sp, utc_ms(2019, 2, 17, 2, 0), NULL), -10800);

    assert_int_equal(aj_tz_offset(utc, INT64_MIN, &next), 0);
    assert_int_equal(next, INT64_MAX);
    aj_tz_free(lis);
    aj_tz_free(sp);
    aj_tz_free(utc);
}

/* Local ms of a local civil time. */
static int64_t local_ms(int32_t y, int m, int d, int hh, int mi) {
    return utc_ms(y, m, d, hh, mi);
}

static int64_t local_of(const aj_tz *tz, int64_t ms) {
    aj_local l;
    aj_tz_local(tz, ms, &l);
    return l.days * DAY_MS + l.ms_of_day;
}

static void test_utc_of_local(void **state) {
    aj_tz *lis = load("Europe/Lisbon");
    uint64_t seed = 7;
    (void)state;

    /* Gap: 01:00..02:00 local on 2026-03-29 does not exist. */
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 3, 29, 1, 30)), utc_ms(2026, 3, 29, 1, 0));
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 3, 29, 1, 0)), utc_ms(2026, 3, 29, 1, 0));
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 3, 29, 2, 0)), utc_ms(2026, 3, 29, 1, 0));
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 3, 29, 1, 0) - 1), utc_ms(2026, 3, 29, 1, 0) - 1);
    /* Overlap: 01:00..02:00 local on 2026-10-25 happens twice; the earlier is taken. */
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 10, 25, 1, 30)), utc_ms(2026, 10, 25, 0, 30));
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 10, 25, 1, 0)), utc_ms(2026, 10, 25, 0, 0));
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 10, 25, 2, 0)), utc_ms(2026, 10, 25, 2, 0));
    /* Ordinary times. */
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 7, 1, 14, 0)), utc_ms(2026, 7, 1, 13, 0));
    assert_int_equal(aj_tz_utc_of_local(lis, local_ms(2026, 12, 1, 14, 0)), utc_ms(2026, 12, 1, 14, 0));

    /* Round trip: the local time of the answer is the one asked, no earlier instant has it, and it
     * is the instant itself unless that was the second pass of an overlap. */
    for (size_t z = 0; z < NZONES; z++) {
        aj_tz *tz = load(zones[z]);
        const int64_t lo = utc_ms(1900, 1, 1, 0, 0), span = utc_ms(2150, 1, 1, 0, 0) - lo;
        for (int i = 0; i < 5000; i++) {
            int64_t ms = lo + (int64_t)(rng_next(&seed) % (uint64_t)span);
            int64_t lms = local_of(tz, ms), u = aj_tz_utc_of_local(tz, lms);
            assert_int_equal(local_of(tz, u), lms);
            assert_true(u <= ms);
            assert_true(local_of(tz, u - 1) < lms);
            if (u != ms) assert_true(aj_tz_offset(tz, u, NULL) > aj_tz_offset(tz, ms, NULL));
        }
        aj_tz_free(tz);
    }
    aj_tz_free(lis);
}

static void test_extremes_do_not_overflow(void **state) {
    aj_tz *tz = load("Europe/Lisbon");
    aj_local l;
    (void)state;

    aj_tz_local(tz, INT64_MAX, &l);
    assert_true(l.year > 290000000);
    assert_in_range(l.ms_of_day, 0, DAY_MS - 1);
    aj_tz_local(tz, INT64_MIN, &l);
    assert_true(l.year < -290000000);
    assert_in_range(l.ms_of_day, 0, DAY_MS - 1);
    assert_int_equal(aj_tz_offset(tz, INT64_MIN, NULL), -2205); /* LMT before 1912 */
    assert_int_equal(aj_tz_utc_of_local(tz, INT64_MAX), INT64_MAX);
    assert_true(aj_tz_utc_of_local(tz, INT64_MIN) < utc_ms(-1000000, 1, 1, 0, 0));
    aj_tz_free(tz);
}

/* Test-side calendar, independent of the module. */
static int t_month_days(int32_t y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : days[m - 1];
}

static void test_civil_days(void **state) {
    int32_t y = -1000, gy;
    int m = 1, d = 1, gm, gd;
    int64_t first = aj_days_from_civil(-1000, 1, 1);
    int wd = aj_weekday_of_days(first);
    int64_t days = 0;
    (void)state;

    assert_int_equal(aj_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(aj_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(aj_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(aj_weekday_of_days(0), 4);
    assert_int_equal(aj_weekday_of_days(-1), 3);
    assert_int_equal(aj_weekday_of_days(-4), 7);
    assert_int_equal(aj_weekday_of_days(aj_days_from_civil(2026, 11, 23)), 1);
    for (int64_t n = first; y <= 3000; n++) {
        assert_int_equal(aj_days_from_civil(y, m, d), n);
        aj_civil_from_days(n, &gy, &gm, &gd);
        if (gy != y || gm != m || gd != d)
            fail_msg("day %lld: %d-%d-%d, want %d-%d-%d", (long long)n, gy, gm, gd, y, m, d);
        assert_int_equal(aj_weekday_of_days(n), wd);
        wd = wd % 7 + 1;
        if (++d > t_month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }

    assert_int_equal(aj_parse_date("2026-11-23", &days), AJ_E_OK);
    assert_int_equal(days, aj_days_from_civil(2026, 11, 23));
    assert_int_equal(aj_parse_date("2024-02-29", &days), AJ_E_OK);
    assert_int_equal(aj_parse_date("1970-01-01", &days), AJ_E_OK);
    assert_int_equal(days, 0);
    static const char *const bad[] = {"2026-02-29", "2026-13-01", "2026-1-01", "x", "", "2026-00-10",
                                      "2026-01-32", "2026-01-01 ", "+026-01-01", "2026/01/01", "2026-01-0a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        days = 42;
        if (aj_parse_date(bad[i], &days) != AJ_E_ARG) fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(days, 42);
    }
}

/* ---- bad names and bad files ---------------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *name, const void *data, size_t len) {
    char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static uint8_t *read_zone(const char *name, size_t *len) {
    char path[256];
    uint8_t *buf = malloc(1 << 20);
    FILE *f;
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void put32(uint8_t **p, uint32_t v) {
    (*p)[0] = (uint8_t)(v >> 24);
    (*p)[1] = (uint8_t)(v >> 16);
    (*p)[2] = (uint8_t)(v >> 8);
    (*p)[3] = (uint8_t)v;
    *p += 4;
}

static void put_header(uint8_t **p, char version, uint32_t timecnt) {
    memcpy(*p, "TZif", 4);
    (*p)[4] = (uint8_t)version;
    memset(*p + 5, 0, 15);
    *p += 20;
    put32(p, 0);       /* isutcnt */
    put32(p, 0);       /* isstdcnt */
    put32(p, 0);       /* leapcnt */
    put32(p, timecnt); /* timecnt */
    put32(p, 2);       /* typecnt */
    put32(p, 8);       /* charcnt */
}

/* A TZif v2 file of types {utoff0 "AAA", utoff1 "BBB"}, n transitions (to types idx) and a footer. */
static size_t make_tzif(uint8_t *buf, int32_t utoff0, int32_t utoff1, size_t n, const int64_t *at,
                        const uint8_t *idx, const char *footer) {
    uint8_t *p = buf;
    for (int v = 1; v <= 2; v++) {
        put_header(&p, '2', (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            if (v == 2) put32(&p, (uint32_t)((uint64_t)at[i] >> 32));
            put32(&p, (uint32_t)at[i]);
        }
        if (n > 0) memcpy(p, idx, n);
        p += n;
        put32(&p, (uint32_t)utoff0);
        *p++ = 0;
        *p++ = 0;
        put32(&p, (uint32_t)utoff1);
        *p++ = 1;
        *p++ = 4;
        memcpy(p, "AAA\0BBB\0", 8);
        p += 8;
    }
    p += sprintf((char *)p, "\n%s\n", footer);
    return (size_t)(p - buf);
}

static aj_err try_load(const char *name, char *detail, size_t detlen) {
    aj_tz *tz = (aj_tz *)&tz;
    aj_err err = aj_tz_load(name, &tz, detail, detlen);
    if (err == AJ_E_OK) {
        assert_non_null(tz);
        aj_tz_free(tz);
    } else {
        assert_null(tz);
    }
    return err;
}

static void test_bad_names(void **state) {
    static const char *const bad[] = {"../etc/passwd", "/etc/localtime", "", "Europe/../../etc/passwd",
                                      "Europe/Lis bon", "a.b", "Europe\\Lisbon", "UTC\n"};
    char detail[512];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        detail[0] = '\0';
        if (try_load(bad[i], detail, sizeof(detail)) != AJ_E_ARG) fail_msg("'%s' not rejected", bad[i]);
        assert_non_null(strstr(detail, "invalid zone name"));
    }
    assert_int_equal(try_load("No/Such_Zone", detail, sizeof(detail)), AJ_E_NOT_FOUND);
    assert_non_null(strstr(detail, "No/Such_Zone"));
    assert_non_null(strstr(detail, "/usr/share/zoneinfo/No/Such_Zone"));
    assert_int_equal(try_load("America", detail, sizeof(detail)), AJ_E_NOT_FOUND); /* a directory */
    assert_int_equal(try_load("No/Such_Zone", NULL, 0), AJ_E_NOT_FOUND);
    aj_tz_free(NULL);
}

static void test_bad_files(void **state) {
    char detail[512];
    size_t len, n;
    uint8_t *lisbon = read_zone("Europe/Lisbon", &len), *buf = malloc((1 << 20) + 16);
    (void)state;

    assert_non_null(buf);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/aj_tz_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_int_equal(setenv("TZDIR", tmpdir, 1), 0);

    /* The unchanged copy loads; every truncation of it is AJ_E_IO. */
    write_file("Copy", lisbon, len);
    assert_int_equal(try_load("Copy", detail, sizeof(detail)), AJ_E_OK);
    for (size_t cut = 0; cut < len; cut += cut < 100 ? 1 : 97) {
        write_file("Trunc", lisbon, cut);
        if (try_load("Trunc", detail, sizeof(detail)) != AJ_E_IO) fail_msg("cut at %zu loaded", cut);
    }
    write_file("Trunc", lisbon, len / 2);
    assert_int_equal(try_load("Trunc", detail, sizeof(detail)), AJ_E_IO);
    assert_non_null(strstr(detail, "'Trunc'"));
    assert_non_null(strstr(detail, tmpdir));

    /* Garbage footers. */
    static const char *const footers[] = {
        "WET0WEST,M3.5.0/1,garbage", "garbage", "WET", "WE0", "WET0WEST,M13.5.0,M10.5.0", "WET0WEST,M3.5.0/1",
        "WET0WEST,M3.5.0,M10.5.0,", "<WET0", "WET25", "WET0WEST,J0,J10", "WET0WEST,M3.6.0,M10.5.0",
        "WET0WEST,M3.5.7,M10.5.0", "WET0WEST,M3.5.0/168,M10.5.0"};
    for (size_t i = 0; i < sizeof(footers) / sizeof(footers[0]); i++) {
        int64_t at = 0;
        uint8_t idx = 1;
        n = make_tzif(buf, 0, 3600, 1, &at, &idx, footers[i]);
        write_file("Footer", buf, n);
        if (try_load("Footer", detail, sizeof(detail)) != AJ_E_IO)
            fail_msg("footer '%s' accepted", footers[i]);
        assert_non_null(strstr(detail, "footer"));
    }
    /* No footer at all, or no newline closing it. */
    memcpy(buf, lisbon, len);
    buf[len - 1] = 'x';
    write_file("Footer", buf, len);
    assert_int_equal(try_load("Footer", detail, sizeof(detail)), AJ_E_IO);
    /* Version 1, a bad magic, transitions out of order, a type index out of range. */
    memcpy(buf, lisbon, len);
    buf[4] = 0;
    write_file("Bad", buf, len);
    assert_int_equal(try_load("Bad", detail, sizeof(detail)), AJ_E_IO);
    buf[4] = '2';
    buf[0] = 'X';
    write_file("Bad", buf, len);
    assert_int_equal(try_load("Bad", detail, sizeof(detail)), AJ_E_IO);
    {
        int64_t at[2] = {100, 50};
        uint8_t idx[2] = {1, 0};
        n = make_tzif(buf, 0, 3600, 2, at, idx, "AAA0");
        write_file("Bad", buf, n);
        assert_int_equal(try_load("Bad", detail, sizeof(detail)), AJ_E_IO);
        at[1] = 200;
        idx[1] = 2;
        n = make_tzif(buf, 0, 3600, 2, at, idx, "AAA0");
        write_file("Bad", buf, n);
        assert_int_equal(try_load("Bad", detail, sizeof(detail)), AJ_E_IO);
        idx[1] = 0;
        n = make_tzif(buf, 0, 3600, 2, at, idx, "AAA0");
        write_file("Bad", buf, n);
        assert_int_equal(try_load("Bad", detail, sizeof(detail)), AJ_E_OK);
    }
    /* Larger than 1 MiB. */
    memset(buf, 0, (1 << 20) + 16);
    memcpy(buf, lisbon, len);
    write_file("Big", buf, (1 << 20) + 1);
    assert_int_equal(try_load("Big", detail, sizeof(detail)), AJ_E_IO);
    assert_non_null(strstr(detail, "1 MiB"));

    /* UTC works without tzdata; other zones are then not found. */
    {
        aj_tz *tz = NULL;
        int64_t next;
        assert_int_equal(aj_tz_load("UTC", &tz, detail, sizeof(detail)), AJ_E_OK);
        assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 7, 1, 0, 0), &next), 0);
        assert_int_equal(next, INT64_MAX);
        aj_tz_free(tz);
        assert_int_equal(aj_tz_load("Etc/UTC", &tz, detail, sizeof(detail)), AJ_E_OK);
        assert_string_equal(aj_tz_name(tz), "Etc/UTC");
        aj_tz_free(tz);
        assert_int_equal(try_load("Europe/Lisbon", detail, sizeof(detail)), AJ_E_NOT_FOUND);
    }

    unlink(strcat(strcat(strcpy((char *)buf, tmpdir), "/"), "Copy"));
    unlink(strcat(strcat(strcpy((char *)buf, tmpdir), "/"), "Trunc"));
    unlink(strcat(strcat(strcpy((char *)buf, tmpdir), "/"), "Footer"));
    unlink(strcat(strcat(strcpy((char *)buf, tmpdir), "/"), "Bad"));
    unlink(strcat(strcat(strcpy((char *)buf, tmpdir), "/"), "Big"));
    assert_int_equal(rmdir(tmpdir), 0);
    unsetenv("TZDIR");
    free(buf);
    free(lisbon);
}

/* Files of no transitions whose footer alone gives the rule, checked by hand and against a real zone. */
static void test_footer_only(void **state) {
    uint8_t buf[512];
    size_t n;
    aj_tz *tz, *ny;
    int64_t next;
    (void)state;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/aj_tz_test_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_int_equal(setenv("TZDIR", tmpdir, 1), 0);

    /* US rules from the footer only: same as New York from 2007 on. */
    n = make_tzif(buf, -18000, -14400, 0, NULL, NULL, "EST5EDT,M3.2.0,M11.1.0");
    write_file("Footer", buf, n);
    tz = load("Footer");
    unsetenv("TZDIR");
    ny = load("America/New_York");
    for (int64_t ms = utc_ms(2008, 1, 1, 0, 0); ms < utc_ms(2200, 1, 1, 0, 0); ms += 7 * HOUR_MS + 13)
        assert_int_equal(aj_tz_offset(tz, ms, NULL), aj_tz_offset(ny, ms, NULL));
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 3, 8, 6, 59), &next), -18000);
    assert_int_equal(next, utc_ms(2026, 3, 8, 7, 0));
    aj_tz_free(tz);
    aj_tz_free(ny);

    /* Negative DST (Eire): "standard" IST is UTC+1 in summer, GMT in winter. */
    assert_int_equal(setenv("TZDIR", tmpdir, 1), 0);
    n = make_tzif(buf, 3600, 0, 0, NULL, NULL, "IST-1GMT0,M10.5.0,M3.5.0/1");
    write_file("Footer", buf, n);
    tz = load("Footer");
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 7, 1, 0, 0), NULL), 3600);
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 1, 15, 0, 0), &next), 0);
    assert_int_equal(next, utc_ms(2026, 3, 29, 1, 0));
    aj_tz_free(tz);

    /* DST all year: the end at Dec 31 25:00 meets the next start, so it is never a change. */
    n = make_tzif(buf, -18000, -14400, 0, NULL, NULL, "EST5EDT,0/0,J365/25");
    write_file("Footer", buf, n);
    tz = load("Footer");
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 1, 1, 3, 0), &next), -14400);
    assert_int_equal(next, INT64_MAX);
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 12, 31, 23, 0), NULL), -14400);
    aj_tz_free(tz);

    /* Rule times past 24 h and negative (RFC 8536 section 3.3.1). */
    n = make_tzif(buf, 7200, 10800, 0, NULL, NULL, "EET-2EEST,M3.4.4/50,M10.4.4/-1");
    write_file("Footer", buf, n);
    tz = load("Footer");
    /* 4th Thursday of March 2026 is the 26th: 50 h later is Sat 28 02:00 local = 00:00 UTC. */
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 3, 27, 23, 59), &next), 7200);
    assert_int_equal(next, utc_ms(2026, 3, 28, 0, 0));
    /* 4th Thursday of October 2026 is the 22nd: -1 h is Wed 21 23:00 EEST = 20:00 UTC. */
    assert_int_equal(aj_tz_offset(tz, utc_ms(2026, 10, 21, 19, 59), &next), 10800);
    assert_int_equal(next, utc_ms(2026, 10, 21, 20, 0));
    aj_tz_free(tz);

    /* Julian days: J60 is March 1 in every year; a plain 300 counts Feb 29 (Oct 27 in 2024, Oct 28
     * in 2025), and the end time is read in daylight time (00:00 BBB = 23:00 UTC the day before). */
    n = make_tzif(buf, 0, 3600, 0, NULL, NULL, "AAA0BBB,J60/0,300/0");
    write_file("Footer", buf, n);
    tz = load("Footer");
    assert_int_equal(aj_tz_offset(tz, utc_ms(2024, 2, 29, 12, 0), &next), 0);
    assert_int_equal(next, utc_ms(2024, 3, 1, 0, 0));
    assert_int_equal(aj_tz_offset(tz, utc_ms(2024, 3, 1, 0, 0), &next), 3600);
    assert_int_equal(next, utc_ms(2024, 10, 26, 23, 0));
    assert_int_equal(aj_tz_offset(tz, utc_ms(2025, 2, 28, 23, 59), &next), 0);
    assert_int_equal(next, utc_ms(2025, 3, 1, 0, 0));
    assert_int_equal(aj_tz_offset(tz, utc_ms(2025, 3, 1, 0, 0), &next), 3600);
    assert_int_equal(next, utc_ms(2025, 10, 27, 23, 0));
    aj_tz_free(tz);

    snprintf((char *)buf, sizeof(buf), "%s/Footer", tmpdir);
    unlink((char *)buf);
    assert_int_equal(rmdir(tmpdir), 0);
    unsetenv("TZDIR");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_glibc),     cmocka_unit_test(test_known_offsets),
        cmocka_unit_test(test_utc_of_local),      cmocka_unit_test(test_extremes_do_not_overflow),
        cmocka_unit_test(test_civil_days),        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_bad_files),         cmocka_unit_test(test_footer_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
