/* aj_policy.c - the correction policy and its parsers. */
#include "aj_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void aj_policy_set_all(aj_policy *p, int side, aj_disposition d) {
    for (int r = 0; r < AJ_REASON__COUNT; r++)
        for (int s = 0; s < 2; s++)
            if (side < 0 || side == s) p->disposition[r][s] = d;
}

void aj_policy_default(aj_policy *p) {
    memset(p, 0, sizeof(*p));
    aj_policy_set_all(p, AJ_SIDE_OVERCHARGE, AJ_DISP_APPLY);
    /* Charging more than the legacy chain billed can need customer notice: advisory. */
    aj_policy_set_all(p, AJ_SIDE_UNDERCHARGE, AJ_DISP_FLAG);
    p->rerate = 1;
}

static const char *aj_trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* One rule "REASON[:side]=DISP" (trimmed, NUL-terminated, writable). */
static aj_err aj_policy_rule(aj_policy *p, char *rule, char *err, size_t errlen) {
    char *eq = strchr(rule, '='), *colon;
    aj_reason reason;
    aj_disposition d;
    int side = -1;

    if (!eq) {
        snprintf(err, errlen, "policy rule '%s' has no '=' (expected REASON[:overcharge|:undercharge]=APPLY|FLAG|HOLD)",
                 rule);
        return AJ_E_CONFIG;
    }
    *eq = '\0';
    if ((colon = strchr(rule, ':'))) {
        *colon = '\0';
        const char *s = aj_trim(colon + 1);
        if (strcmp(s, "overcharge") == 0)
            side = AJ_SIDE_OVERCHARGE;
        else if (strcmp(s, "undercharge") == 0)
            side = AJ_SIDE_UNDERCHARGE;
        else {
            snprintf(err, errlen, "policy rule for %s: side '%s' is not overcharge or undercharge", aj_trim(rule), s);
            return AJ_E_CONFIG;
        }
    }
    const char *name = aj_trim(rule), *value = aj_trim(eq + 1);
    if (aj_reason_parse(name, &reason) != AJ_E_OK) {
        snprintf(err, errlen, "policy rule: '%s' is not a reason code (docs/rating.md lists them)", name);
        return AJ_E_CONFIG;
    }
    if (aj_disposition_parse(value, &d) != AJ_E_OK) {
        snprintf(err, errlen, "policy rule for %s: '%s' is not APPLY, FLAG or HOLD", name, value);
        return AJ_E_CONFIG;
    }
    for (int s = 0; s < 2; s++)
        if (side < 0 || side == s) p->disposition[reason][s] = d;
    return AJ_E_OK;
}

aj_err aj_policy_parse_rules(aj_policy *p, const char *rules, char *err, size_t errlen) {
    char buf[2048];
    if (snprintf(buf, sizeof(buf), "%s", rules) >= (int)sizeof(buf)) {
        snprintf(err, errlen, "policy rules longer than %zu bytes", sizeof(buf) - 1);
        return AJ_E_CONFIG;
    }
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *rule = (char *)aj_trim(tok);
        if (!*rule) continue;
        aj_err rc = aj_policy_rule(p, rule, err, errlen);
        if (rc) return rc;
    }
    return AJ_E_OK;
}

aj_err aj_policy_parse_percent(const char *s, int64_t *ppm, char *err, size_t errlen) {
    char buf[32];
    aj_money m;
    size_t n = strlen(s);

    if (n && s[n - 1] == '%') n--;
    if (n == 0 || n >= sizeof(buf)) goto bad;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* A percentage with at most 4 decimals is a money value with at most 6 whose ppm is x 10000. */
    if (aj_money_parse(buf, &m) != AJ_E_OK || m < 0 || m > 100000000 || m % 100) goto bad;
    *ppm = m / 100;
    return AJ_E_OK;
bad:
    snprintf(err, errlen, "'%s' is not a percentage between 0 and 100 with at most 4 decimals", s);
    return AJ_E_CONFIG;
}

int aj_policy_material(const aj_policy *p, aj_money gross, aj_money legacy_total, char *why, size_t len) {
    char a[32], b[32];
    if (p->materiality_amount > 0 && gross > p->materiality_amount) {
        snprintf(why, len, "adjustment %s exceeds the materiality amount %s", aj_money_format(gross, 2, a, sizeof(a)),
                 aj_money_format(p->materiality_amount, 2, b, sizeof(b)));
        return 1;
    }
    /* gross / legacy > ppm / 10^6, exactly: gross * 10^6 > ppm * legacy (128 bits). */
    if (p->materiality_ppm > 0 && gross > 0 &&
        (legacy_total <= 0 || (__int128)gross * 1000000 > (__int128)p->materiality_ppm * legacy_total)) {
        snprintf(why, len, "adjustment %s exceeds %lld.%04lld%% of the legacy total %s",
                 aj_money_format(gross, 2, a, sizeof(a)), (long long)(p->materiality_ppm / 10000),
                 (long long)(p->materiality_ppm % 10000), aj_money_format(legacy_total, 2, b, sizeof(b)));
        return 1;
    }
    return 0;
}

aj_err aj_policy_from_config(const aj_config *cfg, aj_policy *p, char *err, size_t errlen) {
    aj_disposition over, under;
    aj_err rc;

    aj_policy_default(p);
    if (aj_disposition_parse(cfg->policy_overcharge, &over) || aj_disposition_parse(cfg->policy_undercharge, &under)) {
        snprintf(err, errlen, "policy.overcharge '%s' / policy.undercharge '%s': expected APPLY, FLAG or HOLD",
                 cfg->policy_overcharge, cfg->policy_undercharge);
        return AJ_E_CONFIG;
    }
    aj_policy_set_all(p, AJ_SIDE_OVERCHARGE, over);
    aj_policy_set_all(p, AJ_SIDE_UNDERCHARGE, under);
    p->rerate = cfg->policy_rerate != 0;
    if ((rc = aj_policy_parse_rules(p, cfg->policy_rules, err, errlen))) return rc;
    if (aj_money_parse(cfg->materiality_amount, &p->materiality_amount) || p->materiality_amount < 0) {
        snprintf(err, errlen, "materiality.amount '%s' is not a non-negative amount", cfg->materiality_amount);
        return AJ_E_CONFIG;
    }
    return aj_policy_parse_percent(cfg->materiality_percent, &p->materiality_ppm, err, errlen);
}
