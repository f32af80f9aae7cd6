/* aj_tz.c - IANA time zones from compiled TZif files (RFC 8536), integers only, no libc TZ state. */
#include "aj_tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AJ_TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define AJ_TZ_NAME_MAX 255
#define AJ_TZ_FILE_MAX (1024 * 1024)
#define AJ_TZ_FOOTER_MAX 255
#define AJ_TZ_HDR 44
#define AJ_TZ_FIRST_RULE_YEAR 1799 /* footer rules are expanded from here at the earliest... */
#define AJ_TZ_LAST_RULE_YEAR 2200  /* ...through here; later instants keep the last offset */
#define AJ_TZ_MAX_UTOFF 93599      /* RFC 8536: utoff SHOULD be in [-89999, 93599] */
#define AJ_TZ_FAR_S (INT64_C(1) << 52) /* instants beyond +-2^52 s are clamped to it */
#define AJ_DAY_S 86400
#define AJ_DAY_MS INT64_C(86400000)

/* One change of offset: from at_ms (UTC, inclusive) on, `off` seconds east of UTC. */
typedef struct aj_tz_tr {
    int64_t at_ms;
    int32_t off;
} aj_tz_tr;

struct aj_tz {
    char name[AJ_TZ_NAME_MAX + 1];
    int32_t off0;    /* in force before the first transition (type 0, RFC 8536 3.2) */
    int32_t min_off; /* smallest and largest offset ever in force */
    int32_t max_off;
    size_t n;        /* tr[0..n): strictly ascending at_ms, each changing the offset */
    aj_tz_tr tr[];
};

/* A date rule of a POSIX TZ string: Jn (1..365, Feb 29 never counted), n (0..365), Mm.w.d. */
typedef struct aj_tz_rule {
    char kind; /* 'J', 'D' (plain n) or 'M' */
    int n, m, w, d;
    int32_t secs; /* local time of day of the change; may be negative or past 24 h (RFC 8536) */
} aj_tz_rule;

/* A parsed POSIX TZ string (the TZif footer); offsets in seconds east of UTC. */
typedef struct aj_tz_posix {
    int32_t std_off;
    int32_t dst_off;
    int has_dst;
    aj_tz_rule start; /* DST starts; secs in standard local time */
    aj_tz_rule end;   /* DST ends; secs in daylight local time */
} aj_tz_posix;

/* The counts of a TZif header (RFC 8536 3.1). */
typedef struct aj_tzif_hdr {
    uint8_t version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} aj_tzif_hdr;

/* ---- calendar -------------------------------------------------------------------------------- */

/* Floor division and modulo for b > 0. */
static int64_t aj_floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int64_t aj_floormod(int64_t a, int64_t b) {
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static int aj_is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days in month m (1..12) of year y. */
static int aj_month_days(int64_t y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && aj_is_leap(y) ? 29 : days[m - 1];
}

int64_t aj_days_from_civil(int32_t y, int m, int d) {
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = aj_floordiv(yy, 400);
    int64_t yoe = yy - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* Valid while the year fits int32 (|days| below about 7.8e11). */
void aj_civil_from_days(int64_t days, int32_t *y, int *m, int *d) {
    int64_t z = days + 719468;
    int64_t era = aj_floordiv(z, 146097);
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = (int32_t)(yoe + era * 400 + (mm <= 2));
}

int aj_weekday_of_days(int64_t days) {
    return (int)((aj_floormod(days, 7) + 3) % 7) + 1;
}

/* Value of n decimal digits at s, all of which must be digits; -1 otherwise. */
static int aj_digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

aj_err aj_parse_date(const char *s, int64_t *days) {
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return AJ_E_ARG;
    y = aj_digits(s, 4);
    m = aj_digits(s + 5, 2);
    d = aj_digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > aj_month_days(y, m)) return AJ_E_ARG;
    *days = aj_days_from_civil(y, m, d);
    return AJ_E_OK;
}

/* ---- lookups ------------------------------------------------------------------------------- */

static int64_t aj_sat_sub(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* Index of the last transition at or before ms, or -1 when ms is before them all. */
static ptrdiff_t aj_tz_find(const aj_tz *tz, int64_t ms) {
    size_t lo = 0, hi = tz->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->tr[mid].at_ms <= ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

/* Offset of segment i (-1: before the first transition). */
static int32_t aj_tz_seg_off(const aj_tz *tz, ptrdiff_t i) {
    return i < 0 ? tz->off0 : tz->tr[i].off;
}

/* First instant of segment i+1, INT64_MAX after the last one. */
static int64_t aj_tz_seg_end(const aj_tz *tz, ptrdiff_t i) {
    return (size_t)(i + 1) < tz->n ? tz->tr[i + 1].at_ms : INT64_MAX;
}

const char *aj_tz_name(const aj_tz *tz) {
    return tz->name;
}

int32_t aj_tz_offset(const aj_tz *tz, int64_t utc_ms, int64_t *next_change_ms) {
    ptrdiff_t i = aj_tz_find(tz, utc_ms);

    if (next_change_ms) *next_change_ms = aj_tz_seg_end(tz, i);
    return aj_tz_seg_off(tz, i);
}

void aj_tz_local(const aj_tz *tz, int64_t utc_ms, aj_local *out) {
    int32_t off = aj_tz_offset(tz, utc_ms, NULL);
    int64_t secs = aj_floordiv(utc_ms, 1000);
    int64_t local_s = secs + off; /* |secs| < 9.3e15: cannot overflow */

    out->offset = off;
    out->days = aj_floordiv(local_s, AJ_DAY_S);
    out->ms_of_day = (local_s - out->days * AJ_DAY_S) * 1000 + aj_floormod(utc_ms, 1000);
    aj_civil_from_days(out->days, &out->year, &out->month, &out->day);
    out->weekday = aj_weekday_of_days(out->days);
}

/*
 * Local time L(u) = u + off(u)*1000 rises inside each segment, so the first u with L(u) >= local_ms
 * is the first segment's max(start, local_ms - off*1000) that falls before the segment's end. No
 * u before local_ms - max_off can qualify and local_ms - min_off always does, so only the
 * segments between those two are looked at.
 */
int64_t aj_tz_utc_of_local(const aj_tz *tz, int64_t local_ms) {
    ptrdiff_t i = aj_tz_find(tz, aj_sat_sub(local_ms, (int64_t)tz->max_off * 1000));

    for (;; i++) {
        int64_t start = i < 0 ? INT64_MIN : tz->tr[i].at_ms;
        int64_t end = aj_tz_seg_end(tz, i);
        int64_t cand = aj_sat_sub(local_ms, (int64_t)aj_tz_seg_off(tz, i) * 1000);

        if (cand < start) cand = start;
        if (cand < end || end == INT64_MAX) return cand;
    }
}

/* ---- POSIX TZ strings ---------------------------------------------------------------------- */

/* Reads 1..maxdig digits into *v, which must lie in [lo, hi]. Returns 0 or -1. */
static int aj_tz_pnum(const char **s, int maxdig, int lo, int hi, int *v) {
    int n = 0, val = 0;

    while (n < maxdig && **s >= '0' && **s <= '9') {
        val = val * 10 + (*(*s)++ - '0');
        n++;
    }
    if (n == 0 || val < lo || val > hi) return -1;
    *v = val;
    return 0;
}

/* Reads [+-]h[h[h]][:mm[:ss]] with hours up to max_h into *secs (sign applied). Returns 0 or -1. */
static int aj_tz_phms(const char **s, int max_h, int32_t *secs) {
    int neg = 0, h, mi = 0, se = 0;

    if (**s == '+' || **s == '-') neg = *(*s)++ == '-';
    if (aj_tz_pnum(s, 3, 0, max_h, &h)) return -1;
    if (**s == ':') {
        (*s)++;
        if (aj_tz_pnum(s, 2, 0, 59, &mi)) return -1;
        if (**s == ':') {
            (*s)++;
            if (aj_tz_pnum(s, 2, 0, 59, &se)) return -1;
        }
    }
    *secs = (int32_t)(h * 3600 + mi * 60 + se) * (neg ? -1 : 1);
    return 0;
}

/* Skips a zone abbreviation: 3+ letters, or <3+ of [A-Za-z0-9+-]>. Returns 0 or -1. */
static int aj_tz_pabbr(const char **s) {
    const char *p = *s;
    int quoted = *p == '<', n = 0;

    if (quoted) p++;
    for (;; p++, n++) {
        char c = *p;
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!alpha && !(quoted && ((c >= '0' && c <= '9') || c == '+' || c == '-'))) break;
    }
    if (n < 3 || (quoted && *p != '>')) return -1;
    *s = p + quoted;
    return 0;
}

/* Reads a date rule with its optional /time (default 02:00). Returns 0 or -1. */
static int aj_tz_prule(const char **s, aj_tz_rule *r) {
    memset(r, 0, sizeof(*r));
    r->secs = 7200;
    if (**s == 'J') {
        (*s)++;
        r->kind = 'J';
        if (aj_tz_pnum(s, 3, 1, 365, &r->n)) return -1;
    } else if (**s == 'M') {
        (*s)++;
        r->kind = 'M';
        if (aj_tz_pnum(s, 2, 1, 12, &r->m) || *(*s)++ != '.') return -1;
        if (aj_tz_pnum(s, 1, 1, 5, &r->w) || *(*s)++ != '.') return -1;
        if (aj_tz_pnum(s, 1, 0, 6, &r->d)) return -1;
    } else {
        r->kind = 'D';
        if (aj_tz_pnum(s, 3, 0, 365, &r->n)) return -1;
    }
    if (**s != '/') return 0;
    (*s)++;
    return aj_tz_phms(s, 167, &r->secs);
}

/*
 * Parses a POSIX TZ string "std offset [dst [offset] [,start[/time],end[/time]]]". A dst without
 * rules gets the US rules ",M3.2.0,M11.1.0", as glibc and tzcode do without posixrules.
 * Returns 0, or -1 when the string is not exactly that.
 */
static int aj_tz_posix_parse(const char *s, aj_tz_posix *p) {
    int32_t v;

    memset(p, 0, sizeof(*p));
    if (aj_tz_pabbr(&s) || aj_tz_phms(&s, 24, &v)) return -1;
    p->std_off = -v; /* POSIX counts west of UTC */
    if (*s == '\0') return 0;
    if (aj_tz_pabbr(&s)) return -1;
    p->has_dst = 1;
    p->dst_off = p->std_off + 3600;
    if (*s == '+' || *s == '-' || (*s >= '0' && *s <= '9')) {
        if (aj_tz_phms(&s, 24, &v)) return -1;
        p->dst_off = -v;
    }
    if (*s == '\0') s = ",M3.2.0,M11.1.0";
    if (*s++ != ',' || aj_tz_prule(&s, &p->start)) return -1;
    if (*s++ != ',' || aj_tz_prule(&s, &p->end)) return -1;
    return *s == '\0' ? 0 : -1;
}

/* Local day (since 1970-01-01) on which rule r falls in year y. */
static int64_t aj_tz_rule_day(const aj_tz_rule *r, int32_t y) {
    int64_t jan1 = aj_days_from_civil(y, 1, 1), first, day;

    if (r->kind == 'J') return jan1 + r->n - 1 + (aj_is_leap(y) && r->n >= 60);
    if (r->kind == 'D') return jan1 + r->n;
    first = aj_days_from_civil(y, r->m, 1);
    day = first + (r->d - aj_weekday_of_days(first) % 7 + 7) % 7 + 7 * (r->w - 1);
    while (day >= first + aj_month_days(y, r->m)) day -= 7;
    return day;
}

/* UTC ms at which rule r fires in year y, its time read in local time of offset off_before. */
static int64_t aj_tz_rule_ms(const aj_tz_rule *r, int32_t y, int32_t off_before) {
    return (aj_tz_rule_day(r, y) * AJ_DAY_S + r->secs - off_before) * 1000;
}

/*
 * Writes the transitions of the DST rule of p from year y0 until the end of AJ_TZ_LAST_RULE_YEAR
 * into out (room for 2 per year, one year more), sorted by instant; at equal instants they keep the
 * order generated, so a later one wins (an end of DST that meets next year's start is no change).
 * Returns how many.
 */
static size_t aj_tz_expand(const aj_tz_posix *p, int32_t y0, aj_tz_tr *out) {
    int64_t cutoff = aj_days_from_civil(AJ_TZ_LAST_RULE_YEAR + 1, 1, 1) * AJ_DAY_MS;
    size_t n = 0;

    for (int32_t y = y0; y <= AJ_TZ_LAST_RULE_YEAR + 1; y++) {
        aj_tz_tr s = {aj_tz_rule_ms(&p->start, y, p->std_off), p->dst_off};
        aj_tz_tr e = {aj_tz_rule_ms(&p->end, y, p->dst_off), p->std_off};
        if (s.at_ms < cutoff) out[n++] = s;
        if (e.at_ms < cutoff) out[n++] = e;
    }
    for (size_t i = 1; i < n; i++) { /* stable insertion sort; nearly sorted already */
        aj_tz_tr key = out[i];
        size_t j = i;
        for (; j > 0 && out[j - 1].at_ms > key.at_ms; j--) out[j] = out[j - 1];
        out[j] = key;
    }
    return n;
}

/* ---- TZif files ---------------------------------------------------------------------------- */

static uint32_t aj_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t aj_be64(const uint8_t *p) {
    return (int64_t)((uint64_t)aj_be32(p) << 32 | aj_be32(p + 4));
}

/* Reads and checks the header at p (len bytes left). Returns NULL or why it is bad. */
static const char *aj_tzif_header(const uint8_t *p, size_t len, aj_tzif_hdr *h) {
    if (len < AJ_TZ_HDR) return "truncated header";
    if (memcmp(p, "TZif", 4) != 0) return "not a TZif file";
    h->version = p[4];
    h->isutcnt = aj_be32(p + 20);
    h->isstdcnt = aj_be32(p + 24);
    h->leapcnt = aj_be32(p + 28);
    h->timecnt = aj_be32(p + 32);
    h->typecnt = aj_be32(p + 36);
    h->charcnt = aj_be32(p + 40);
    if (h->typecnt == 0 || h->charcnt == 0 || (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return "inconsistent header counts";
    return NULL;
}

/* Size of the data block that follows header h, with times of tsize bytes. */
static uint64_t aj_tzif_block(const aj_tzif_hdr *h, unsigned tsize) {
    return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Clamps a transition time in seconds to +-AJ_TZ_FAR_S and makes it ms. */
static int64_t aj_tz_clamp_ms(int64_t s) {
    if (s > AJ_TZ_FAR_S) s = AJ_TZ_FAR_S;
    if (s < -AJ_TZ_FAR_S) s = -AJ_TZ_FAR_S;
    return s * 1000;
}

/* The 64-bit data of a TZif file, pointing into its bytes, and its footer. */
typedef struct aj_tzif {
    aj_tzif_hdr h;
    const uint8_t *times; /* timecnt big-endian int64 */
    const uint8_t *idx;   /* timecnt type indexes */
    const uint8_t *types; /* typecnt ttinfo of 6 bytes */
    char footer[AJ_TZ_FOOTER_MAX + 1];
} aj_tzif;

static int32_t aj_tzif_utoff(const aj_tzif *f, uint8_t type) {
    return (int32_t)aj_be32(f->types + 6 * (size_t)type);
}

/* Checks the transitions and types of f. Returns NULL or why they are bad. */
static const char *aj_tzif_check(const aj_tzif *f) {
    for (uint32_t i = 0; i < f->h.timecnt; i++) {
        if (f->idx[i] >= f->h.typecnt) return "transition type index out of range";
        if (i > 0 && aj_be64(f->times + 8 * (size_t)i) <= aj_be64(f->times + 8 * (size_t)(i - 1)))
            return "transition times not ascending";
    }
    for (uint32_t t = 0; t < f->h.typecnt; t++) {
        const uint8_t *tt = f->types + 6 * (size_t)t;
        int32_t off = (int32_t)aj_be32(tt);
        if (off < -AJ_TZ_MAX_UTOFF || off > AJ_TZ_MAX_UTOFF) return "UTC offset out of range";
        if (tt[4] > 1 || tt[5] >= f->h.charcnt) return "bad local time type";
    }
    return NULL;
}

/* Splits buf into the v2+ data block and footer of f. Returns NULL or why the file is bad. */
static const char *aj_tzif_parse(const uint8_t *buf, size_t len, aj_tzif *f) {
    const uint8_t *p, *nl;
    const char *why;
    uint64_t skip;
    size_t flen;

    if ((why = aj_tzif_header(buf, len, &f->h))) return why;
    if (f->h.version < '2') return "TZif version 1 (no 64-bit data) is not supported";
    skip = AJ_TZ_HDR + aj_tzif_block(&f->h, 4);
    if (skip >= len) return "truncated version 1 data";
    if ((why = aj_tzif_header(buf + skip, len - skip, &f->h))) return why;
    if (f->h.version < '2') return "second header is not version 2+";
    if (f->h.leapcnt != 0) return "leap-second zones are not supported";
    p = buf + skip + AJ_TZ_HDR;
    if (aj_tzif_block(&f->h, 8) + 1 > (uint64_t)(buf + len - p)) return "truncated data";
    f->times = p;
    f->idx = p + 8 * (size_t)f->h.timecnt;
    f->types = f->idx + f->h.timecnt;
    p += aj_tzif_block(&f->h, 8);
    if (*p++ != '\n' || !(nl = memchr(p, '\n', (size_t)(buf + len - p)))) return "missing footer";
    flen = (size_t)(nl - p);
    if (flen > AJ_TZ_FOOTER_MAX || memchr(p, '\0', flen)) return "bad footer TZ string";
    memcpy(f->footer, p, flen);
    f->footer[flen] = '\0';
    return aj_tzif_check(f);
}

/* Appends a change to `off` at at_ms; one at the same instant as the last replaces it, and one that
 * does not change the offset is dropped. */
static void aj_tz_push(aj_tz *tz, int64_t at_ms, int32_t off) {
    if (tz->n > 0 && tz->tr[tz->n - 1].at_ms == at_ms) tz->n--;
    if (off == aj_tz_seg_off(tz, (ptrdiff_t)tz->n - 1)) return;
    tz->tr[tz->n++] = (aj_tz_tr){at_ms, off};
}

/* Sets min_off and max_off from the transitions. */
static void aj_tz_bounds(aj_tz *tz) {
    tz->min_off = tz->max_off = tz->off0;
    for (size_t i = 0; i < tz->n; i++) {
        if (tz->tr[i].off < tz->min_off) tz->min_off = tz->tr[i].off;
        if (tz->tr[i].off > tz->max_off) tz->max_off = tz->tr[i].off;
    }
}

/* First year whose footer rule is expanded: the one before the last transition's, clamped. */
static int32_t aj_tz_first_year(const aj_tzif *f) {
    int32_t y = AJ_TZ_FIRST_RULE_YEAR;
    int m, d;

    if (f->h.timecnt > 0) {
        int64_t last = aj_tz_clamp_ms(aj_be64(f->times + 8 * (size_t)(f->h.timecnt - 1)));
        aj_civil_from_days(aj_floordiv(last, AJ_DAY_MS), &y, &m, &d);
        y = y - 1 < AJ_TZ_FIRST_RULE_YEAR ? AJ_TZ_FIRST_RULE_YEAR : y - 1;
    }
    return y;
}

/*
 * Builds the zone from parsed file f: its transitions, then those of the footer rule after the
 * last of them. Returns AJ_E_OK, AJ_E_IO (bad footer, *why set) or AJ_E_NOMEM.
 */
static aj_err aj_tz_build(const aj_tzif *f, const char *name, aj_tz **out, const char **why) {
    aj_tz_posix px;
    int has_rule = f->footer[0] != '\0';
    int32_t y0 = aj_tz_first_year(f);
    size_t tcnt = f->h.timecnt, ngen = 0, cap;
    int64_t last = 0;
    aj_tz *tz;

    if (has_rule && aj_tz_posix_parse(f->footer, &px)) {
        *why = "bad footer TZ string";
        return AJ_E_IO;
    }
    cap = tcnt + (has_rule && px.has_dst && y0 <= AJ_TZ_LAST_RULE_YEAR
                      ? 2 * (size_t)(AJ_TZ_LAST_RULE_YEAR + 1 - y0 + 1) : 0);
    tz = malloc(sizeof(*tz) + cap * sizeof(aj_tz_tr));
    if (!tz) return AJ_E_NOMEM;
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    for (size_t i = 0; i < tcnt; i++)
        tz->tr[i] = (aj_tz_tr){aj_tz_clamp_ms(aj_be64(f->times + 8 * i)), aj_tzif_utoff(f, f->idx[i])};
    if (tcnt > 0) last = tz->tr[tcnt - 1].at_ms;
    if (cap > tcnt) ngen = aj_tz_expand(&px, y0, tz->tr + tcnt);

    tz->off0 = aj_tzif_utoff(f, 0);
    if (tcnt == 0 && has_rule) /* the footer covers all time: before its first change, the other offset */
        tz->off0 = ngen > 0 && tz->tr[0].off == px.std_off ? px.dst_off : px.std_off;
    tz->n = 0;
    for (size_t i = 0; i < tcnt + ngen; i++) /* compacts in place: n <= i */
        if (i < tcnt || tcnt == 0 || tz->tr[i].at_ms > last) aj_tz_push(tz, tz->tr[i].at_ms, tz->tr[i].off);
    aj_tz_bounds(tz);
    *out = tz;
    return AJ_E_OK;
}

/* ---- loading ------------------------------------------------------------------------------- */

/* True when name is a relative zone name of [A-Za-z0-9_+-/] (so no "..") within the size limit. */
static int aj_tz_name_ok(const char *name) {
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > AJ_TZ_NAME_MAX || name[0] == '/' || strstr(name, "..")) return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '+' || *c == '-' || *c == '/'))
            return 0;
    return 1;
}

/* Writes "time zone 'name': why (path)" to detail and returns err. */
static aj_err aj_tz_fail(aj_err err, char *detail, size_t detlen, const char *name, const char *path,
                         const char *why) {
    if (!detail || detlen == 0) return err;
    if (path)
        snprintf(detail, detlen, "time zone '%.300s': %s (%s)", name, why, path);
    else
        snprintf(detail, detlen, "time zone '%.300s': %s", name ? name : "(null)", why);
    return err;
}

/* Reads all of the regular file at path (at most AJ_TZ_FILE_MAX bytes) into a new *buf. Returns
 * AJ_E_OK, AJ_E_NOT_FOUND (no such file, or not a file), AJ_E_IO or AJ_E_NOMEM; *why set. */
static aj_err aj_tz_read(const char *path, uint8_t **buf, size_t *len, const char **why) {
    struct stat st;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *buf = NULL;
    if (fd < 0) {
        *why = errno == ENOENT || errno == ENOTDIR ? "no such time zone file" : "cannot open the file";
        return errno == ENOENT || errno == ENOTDIR ? AJ_E_NOT_FOUND : AJ_E_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a time zone file";
        return AJ_E_NOT_FOUND;
    }
    if (st.st_size > AJ_TZ_FILE_MAX) {
        close(fd);
        *why = "file larger than 1 MiB";
        return AJ_E_IO;
    }
    if (!(*buf = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return AJ_E_NOMEM;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            close(fd);
            free(*buf);
            *buf = NULL;
            *why = "read error";
            return AJ_E_IO;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return AJ_E_OK;
}

/* The zone UTC, built without a file. */
static aj_err aj_tz_utc(const char *name, aj_tz **out) {
    aj_tz *tz = calloc(1, sizeof(*tz));
    if (!tz) return AJ_E_NOMEM;
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    *out = tz;
    return AJ_E_OK;
}

aj_err aj_tz_load(const char *name, aj_tz **out, char *detail, size_t detlen) {
    const char *dir = getenv("TZDIR"), *why = "out of memory";
    char path[4096];
    uint8_t *buf;
    size_t len = 0;
    aj_tzif f;
    aj_err err;

    *out = NULL;
    if (!aj_tz_name_ok(name)) return aj_tz_fail(AJ_E_ARG, detail, detlen, name, NULL, "invalid zone name");
    if (!dir || !*dir) dir = AJ_TZ_DEFAULT_DIR;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return aj_tz_fail(AJ_E_ARG, detail, detlen, name, NULL, "path too long");
    err = aj_tz_read(path, &buf, &len, &why);
    if (err == AJ_E_NOT_FOUND && (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0))
        return aj_tz_utc(name, out);
    if (err != AJ_E_OK) return aj_tz_fail(err, detail, detlen, name, path, why);
    why = aj_tzif_parse(buf, len, &f);
    err = why ? AJ_E_IO : aj_tz_build(&f, name, out, &why);
    free(buf);
    if (err != AJ_E_OK) return aj_tz_fail(err, detail, detlen, name, path, why ? why : "out of memory");
    return AJ_E_OK;
}

void aj_tz_free(aj_tz *tz) {
    free(tz);
}
