/* aj_money.c - exact money arithmetic and its named roundings. */
#include "aj_money.h"

#include <stdio.h>
#include <string.h>

const char *aj_rounding_name(aj_rounding r) {
    static const char *const names[] = {
#define AJ_ROUNDING_NAME(name) #name,
        AJ_ROUNDING_MAP(AJ_ROUNDING_NAME)
#undef AJ_ROUNDING_NAME
    };
    if ((unsigned)r >= AJ_ROUND__COUNT) return "UNKNOWN";
    return names[r];
}

aj_err aj_money_add(aj_money a, aj_money b, aj_money *out) {
    aj_money r;
    if (__builtin_add_overflow(a, b, &r)) return AJ_E_OVERFLOW;
    *out = r;
    return AJ_E_OK;
}

aj_err aj_money_sub(aj_money a, aj_money b, aj_money *out) {
    aj_money r;
    if (__builtin_sub_overflow(a, b, &r)) return AJ_E_OVERFLOW;
    *out = r;
    return AJ_E_OK;
}

/* Divides n by d (d > 0) rounding by r; n may be negative. */
static __int128 div_round(__int128 n, __int128 d, aj_rounding r) {
    int neg = n < 0;
    __int128 an = neg ? -n : n;
    __int128 q = an / d, rem = an % d;

    if (rem != 0) {
        switch (r) {
        case AJ_ROUND_HALF_UP:
            if (2 * rem >= d) q++;
            break;
        case AJ_ROUND_HALF_EVEN:
            if (2 * rem > d || (2 * rem == d && (q & 1))) q++;
            break;
        case AJ_ROUND_UP:
            q++;
            break;
        case AJ_ROUND_DOWN:
        case AJ_ROUND__COUNT:
            break;
        }
    }
    return neg ? -q : q;
}

aj_err aj_money_muldiv(int64_t a, int64_t b, int64_t d, aj_rounding r, aj_money *out) {
    __int128 n, q;

    if (d == 0 || (unsigned)r >= AJ_ROUND__COUNT) return AJ_E_ARG;
    n = (__int128)a * b;
    if (d < 0) {
        n = -n;
        d = -d;
    }
    q = div_round(n, d, r);
    if (q > INT64_MAX || q < INT64_MIN) return AJ_E_OVERFLOW;
    *out = (aj_money)q;
    return AJ_E_OK;
}

aj_err aj_money_round(aj_money m, int decimals, aj_rounding r, aj_money *out) {
    static const int64_t step[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    __int128 q;

    if (decimals < 0 || decimals > 6 || (unsigned)r >= AJ_ROUND__COUNT) return AJ_E_ARG;
    q = div_round(m, step[decimals], r) * step[decimals];
    if (q > INT64_MAX || q < INT64_MIN) return AJ_E_OVERFLOW;
    *out = (aj_money)q;
    return AJ_E_OK;
}

char *aj_money_format(aj_money m, int decimals, char *buf, size_t len) {
    static const int64_t div[] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    uint64_t a = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
    uint64_t units = a / AJ_MICRO, frac = a % AJ_MICRO;

    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    if (decimals == 0)
        snprintf(buf, len, "%s%llu", m < 0 ? "-" : "", (unsigned long long)units);
    else
        snprintf(buf, len, "%s%llu.%0*llu", m < 0 ? "-" : "", (unsigned long long)units,
                 decimals, (unsigned long long)(frac / (uint64_t)div[decimals]));
    return buf;
}

aj_err aj_money_parse(const char *s, aj_money *out) {
    int neg = 0, digits = 0, decimals = -1;
    __int128 v = 0;

    if (*s == '-' || *s == '+') neg = *s++ == '-';
    for (; *s; s++) {
        if (*s == '.' && decimals < 0) {
            decimals = 0;
            continue;
        }
        if (*s < '0' || *s > '9') return AJ_E_ARG;
        if (decimals >= 0 && ++decimals > 6) return AJ_E_ARG;
        v = v * 10 + (*s - '0');
        digits++;
        if (v > (__int128)INT64_MAX * 10) return AJ_E_OVERFLOW;
    }
    if (digits == 0) return AJ_E_ARG;
    for (int i = decimals < 0 ? 0 : decimals; i < 6; i++) v *= 10;
    if (neg) v = -v;
    if (v > INT64_MAX || v < INT64_MIN) return AJ_E_OVERFLOW;
    *out = (aj_money)v;
    return AJ_E_OK;
}
