/* aj_fixtures.h - a small contract built in code for the rating and adjust tests. */
#ifndef AJ_FIXTURES_H
#define AJ_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_types.h"

static inline char *fx_dup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

/*
 * Contract CT-1 of account ACC1, BRL:
 *   zones LOCAL {5511}, MOBILE {55119}, NATIONAL {55}, INTL {1, 44}; default OTHER
 *   VOICE LOCAL     0.09/min 30/6 fee 0
 *   VOICE MOBILE    0.30/min 30/6 fee 0.02
 *   VOICE NATIONAL  0.12/min 30/6 fee 0.01
 *   VOICE INTL      0.60/min 60/60
 *   SMS   LOCAL     0.05/msg
 *   DATA  OTHER     0.50 per MiB, 1024/1024
 *   line ACC1-L0 VOICE 49.90/month
 * price_scale_num/den scale the VOICE NATIONAL price (amendments in tests).
 */
static inline aj_contract *fx_contract(int version, int64_t from, int64_t to, int64_t national_price) {
    static const char *const zones[][3] = {{"LOCAL", "5511", NULL}, {"MOBILE", "55119", NULL},
                                           {"NATIONAL", "55", NULL}, {"INTL", "1", "44"}};
    aj_contract *c = calloc(1, sizeof(*c));
    c->account = fx_dup("ACC1");
    c->contract_id = fx_dup("CT-1");
    c->version = version;
    c->effective_from = from;
    c->effective_to = to;
    memcpy(c->currency, "BRL", 4);
    c->time_zone = fx_dup("America/Sao_Paulo");
    c->default_zone = fx_dup("OTHER");
    c->zones = calloc(4, sizeof(*c->zones));
    for (int z = 0; z < 4; z++) {
        aj_zone *zone = &c->zones[c->n_zones++];
        zone->name = fx_dup(zones[z][0]);
        zone->prefixes = calloc(2, sizeof(char *));
        for (int p = 1; p < 3 && zones[z][p]; p++) zone->prefixes[zone->n_prefixes++] = fx_dup(zones[z][p]);
    }
    const struct { aj_service s; const char *zone; aj_money fee, price; int64_t unit, first, next; } rates[] = {
        {AJ_SERVICE_VOICE, "LOCAL", 0, 90000, 60, 30, 6},
        {AJ_SERVICE_VOICE, "MOBILE", 20000, 300000, 60, 30, 6},
        {AJ_SERVICE_VOICE, "NATIONAL", 10000, national_price, 60, 30, 6},
        {AJ_SERVICE_VOICE, "INTL", 0, 600000, 60, 60, 60},
        {AJ_SERVICE_SMS, "LOCAL", 0, 50000, 1, 1, 1},
        {AJ_SERVICE_DATA, "OTHER", 0, 500000, 1048576, 1024, 1024},
    };
    size_t n = sizeof(rates) / sizeof(rates[0]);
    c->rates = calloc(n, sizeof(*c->rates));
    for (size_t i = 0; i < n; i++) {
        aj_rate *r = &c->rates[c->n_rates++];
        r->service = rates[i].s;
        r->zone = fx_dup(rates[i].zone);
        r->connect_fee = rates[i].fee;
        r->price = rates[i].price;
        r->rate_unit = rates[i].unit;
        r->first_increment = rates[i].first;
        r->next_increment = rates[i].next;
    }
    c->lines = calloc(1, sizeof(*c->lines));
    c->lines[0].line_id = fx_dup("ACC1-L0");
    c->lines[0].service = AJ_SERVICE_VOICE;
    c->lines[0].monthly_price = 49900000;
    c->n_lines = 1;
    return c;
}

static inline aj_usage fx_usage(const char *id, aj_service s, const char *dest, int64_t q, aj_money legacy,
                                int64_t start) {
    aj_usage u;
    memset(&u, 0, sizeof(u));
    snprintf(u.record_id, sizeof(u.record_id), "%s", id);
    memcpy(u.account, "ACC1", 5);
    memcpy(u.subscriber, "ACC1-L0", 8);
    u.service = s;
    u.start_ms = start;
    u.quantity = q;
    snprintf(u.destination, sizeof(u.destination), "%s", dest);
    memcpy(u.cycle_id, "2026-10", 8);
    u.legacy_charge = legacy;
    memcpy(u.currency, "BRL", 4);
    memcpy(u.tariff_code, "VOZ_T0", 7);
    return u;
}

#endif /* AJ_FIXTURES_H */
