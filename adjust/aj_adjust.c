/* aj_adjust.c - per account-cycle accumulation of legacy and corrected charges; invoices. */
#include "aj_adjust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aj_adjust_int.h"
#include "aj_bytes.h"
#include "aj_map.h"
#include "aj_tz.h"

/* A set of 64-bit fingerprints with a count each (open addressing; 0 is never a key). Record
 * ids, calls and lines are told apart by a tag hashed in front (docs/rating.md,
 * "Duplicates": a collision within one account-cycle has probability about n^2 / 2^65). */
typedef struct aj_seen {
    uint64_t *keys;
    uint32_t *counts;
    size_t n, cap;
} aj_seen;

static uint64_t aj_fnv(uint64_t h, const void *p, size_t len) {
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t aj_fp(char tag, const char *a, const char *b) {
    uint64_t h = aj_fnv(0xcbf29ce484222325ULL, &tag, 1);
    h = aj_fnv(h, a, strlen(a) + 1);
    if (b) h = aj_fnv(h, b, strlen(b) + 1);
    return h ? h : 1;
}

/* Count of key (0 when absent). */
static uint32_t aj_seen_count(const aj_seen *s, uint64_t key) {
    if (!s->cap) return 0;
    for (size_t i = key & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->keys[i] == key) return s->counts[i];
        if (!s->keys[i]) return 0;
    }
}

/* Adds one to key's count; *count gets the new count. */
static aj_err aj_seen_add(aj_seen *s, uint64_t key, uint32_t *count) {
    if ((s->n + 1) * 4 > s->cap * 3) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        uint64_t *keys = calloc(cap, sizeof(*keys));
        uint32_t *counts = calloc(cap, sizeof(*counts));
        if (!keys || !counts) {
            free(keys);
            free(counts);
            return AJ_E_NOMEM;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[i]) continue;
            size_t j = s->keys[i] & (cap - 1);
            while (keys[j]) j = (j + 1) & (cap - 1);
            keys[j] = s->keys[i];
            counts[j] = s->counts[i];
        }
        free(s->keys);
        free(s->counts);
        s->keys = keys;
        s->counts = counts;
        s->cap = cap;
    }
    size_t i = key & (s->cap - 1);
    while (s->keys[i] && s->keys[i] != key) i = (i + 1) & (s->cap - 1);
    if (!s->keys[i]) {
        s->keys[i] = key;
        s->n++;
    }
    *count = ++s->counts[i];
    return AJ_E_OK;
}

static void aj_seen_free(aj_seen *s) {
    free(s->keys);
    free(s->counts);
    memset(s, 0, sizeof(*s));
}

/* An instant in hypotheses, as "2026-10-15T00:00:00Z" (UTC, to the second). */
typedef struct aj_when {
    char s[32];
} aj_when;

#define AJ_WHEN_MAX_MS 253402300799999LL   /* 9999-12-31T23:59:59.999Z */

static aj_when aj_utc(int64_t ms) {
    aj_when w;
    if (ms < -AJ_WHEN_MAX_MS || ms > AJ_WHEN_MAX_MS) {   /* beyond years -9999..9999: the number */
        snprintf(w.s, sizeof(w.s), "%lld ms", (long long)ms);
        return w;
    }
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t t = sec - days * 86400;
    int32_t y;
    int mo, d;
    aj_civil_from_days(days, &y, &mo, &d);
    snprintf(w.s, sizeof(w.s), "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, mo, d, (int)(t / 3600), (int)(t / 60 % 60),
             (int)(t % 60));
    return w;
}

/* Where an account-cycle is (docs/invoice.md, "Late usage"): accumulating; invoiced, its
 * consumption kept so late records are rated as they would have been (the delay period, until
 * the account's next invoice); released, when late records are dead-lettered. */
typedef enum aj_acc_state { AJ_ACC_OPEN, AJ_ACC_CLOSED, AJ_ACC_RELEASED } aj_acc_state;

/* What one account-cycle has accumulated until its close. */
typedef struct aj_acc {
    char cycle_id[AJ_CYCLE_LEN + 1];
    char currency[AJ_CURRENCY_LEN + 1];
    char contract_id[AJ_ID_LEN + 1];
    char invoice_id[AJ_ID_LEN + 1];
    aj_lineset ls;          /* its invoice lines */
    int32_t *versions;      /* ascending, unique */
    size_t n_versions, cap_versions;
    aj_acc_state state;
    aj_counters counters;   /* allowances, free units, discount caps used */
    aj_seen seen;           /* record ids, call fingerprints and charged lines */
    aj_bytes rlog;          /* the records rated, to rate again after a backdated amendment */
    const char *rlog_origin; /* the origin of its first entry (adj->origins): others name theirs only when it differs */
    uint32_t amendments;    /* re-ratings that changed a charge (numbers their corrections) */
} aj_acc;

/* What waits for an account's next invoice. */
typedef struct aj_account {
    aj_lineset late;        /* LATE_ lines: records of an invoiced cycle */
    aj_seen applied;        /* dispute ids credited on an invoice of the account */
    aj_acc *kept;           /* the invoiced cycle whose state is kept for late records */
} aj_account;

/* Dispute credits received and not yet on an invoice, per account in arrival order. */
typedef struct aj_pending {
    aj_credit *v;
    size_t n, cap;
} aj_pending;

struct aj_credit_book {
    aj_map *pending;        /* account -> aj_pending */
    aj_seen received;       /* every dispute id received by this process */
    int64_t credits, duplicates;
};

struct aj_adjust {
    aj_contract_store *store;
    aj_credit_book *book;
    int own_book;
    aj_adjust_out out;
    aj_policy policy;
    aj_map *cycles;      /* "account\0cycle" -> aj_acc */
    aj_map *accounts;    /* account -> aj_account */
    size_t open;
    aj_adjust_stats stats;
    size_t amended_seen; /* backdated versions of the store looked at (aj_contract_store_amended) */
    int check_all;       /* a restored state: look at every logged cycle once */
    aj_map *origins;     /* origin -> itself: the positions of re-rated records point here */
};

static void aj_acc_release_state(aj_acc *acc) {
    free(acc->versions);
    acc->versions = NULL;
    acc->n_versions = acc->cap_versions = 0;
    aj_lineset_free(&acc->ls);
    aj_counters_free(&acc->counters);
    aj_seen_free(&acc->seen);
    aj_bytes_free(&acc->rlog);
    acc->rlog_origin = NULL;
}

static void aj_acc_free(void *p) {
    aj_acc *acc = p;
    if (!acc) return;
    aj_acc_release_state(acc);
    free(acc);
}

static void aj_account_free(void *p) {
    aj_account *a = p;
    if (!a) return;
    aj_lineset_free(&a->late);
    aj_seen_free(&a->applied);
    free(a);
}

static void aj_pending_free(void *p) {
    aj_pending *q = p;
    if (!q) return;
    free(q->v);
    free(q);
}

aj_credit_book *aj_credit_book_create(void) {
    aj_credit_book *b = calloc(1, sizeof(*b));
    if (b && !(b->pending = aj_map_create())) {
        free(b);
        return NULL;
    }
    return b;
}

void aj_credit_book_destroy(aj_credit_book *b) {
    if (!b) return;
    aj_map_destroy(b->pending, aj_pending_free);
    aj_seen_free(&b->received);
    free(b);
}

void aj_credit_book_stats(const aj_credit_book *b, int64_t *credits, int64_t *duplicates) {
    *credits = b->credits;
    *duplicates = b->duplicates;
}

aj_adjust *aj_adjust_create(aj_contract_store *store, const aj_adjust_out *out) {
    aj_adjust *adj = calloc(1, sizeof(*adj));
    if (!adj) return NULL;
    adj->store = store;
    adj->out = *out;
    aj_policy_default(&adj->policy);
    adj->own_book = 1;
    if (!(adj->book = aj_credit_book_create()) || !(adj->cycles = aj_map_create()) || !(adj->accounts = aj_map_create()) ||
        !(adj->origins = aj_map_create())) {
        aj_adjust_destroy(adj);
        return NULL;
    }
    return adj;
}

void aj_adjust_set_policy(aj_adjust *adj, const aj_policy *policy) {
    adj->policy = *policy;
}

void aj_adjust_destroy(aj_adjust *adj) {
    if (!adj) return;
    if (adj->cycles) aj_map_destroy(adj->cycles, aj_acc_free);
    if (adj->accounts) aj_map_destroy(adj->accounts, aj_account_free);
    if (adj->origins) aj_map_destroy(adj->origins, free);
    if (adj->own_book) aj_credit_book_destroy(adj->book);
    free(adj);
}

void aj_adjust_share_credits(aj_adjust *adj, aj_credit_book *book) {
    if (adj->own_book) aj_credit_book_destroy(adj->book);
    adj->book = book;
    adj->own_book = 0;
}

const aj_credit_book *aj_adjust_credit_book(const aj_adjust *adj) {
    return adj->book;
}

const aj_adjust_stats *aj_adjust_get_stats(const aj_adjust *adj) {
    return &adj->stats;
}

size_t aj_adjust_open_cycles(const aj_adjust *adj) {
    return adj->open;
}

static aj_err aj_account_get(aj_adjust *adj, const char *account, aj_account **out) {
    size_t klen = strlen(account);
    aj_account *a = aj_map_get(adj->accounts, account, klen);
    if (!a) {
        if (!(a = calloc(1, sizeof(*a)))) return AJ_E_NOMEM;
        if (aj_map_put(adj->accounts, account, klen, a, NULL) != AJ_E_OK) {
            free(a);
            return AJ_E_NOMEM;
        }
    }
    *out = a;
    return AJ_E_OK;
}

static size_t aj_cycle_key(char *key, const char *account, const char *cycle) {
    size_t a = strlen(account), c = strlen(cycle);
    memcpy(key, account, a + 1);
    memcpy(key + a + 1, cycle, c);
    return a + 1 + c;
}

/* The accumulator of account-cycle, created when absent (create) or NULL. */
static aj_err aj_acc_get(aj_adjust *adj, const char *account, const char *cycle, int create, aj_acc **out) {
    char key[AJ_KEY_LEN + AJ_CYCLE_LEN + 2];
    size_t klen = aj_cycle_key(key, account, cycle);
    aj_acc *acc = aj_map_get(adj->cycles, key, klen);

    if (!acc && create) {
        if (!(acc = calloc(1, sizeof(*acc)))) return AJ_E_NOMEM;
        snprintf(acc->cycle_id, sizeof(acc->cycle_id), "%s", cycle);
        if (aj_map_put(adj->cycles, key, klen, acc, NULL) != AJ_E_OK) {
            free(acc);
            return AJ_E_NOMEM;
        }
        adj->open++;
    }
    *out = acc;
    return AJ_E_OK;
}

static aj_err aj_acc_version(aj_acc *acc, int32_t version) {
    size_t i;
    for (i = 0; i < acc->n_versions && acc->versions[i] < version; i++)
        ;
    if (i < acc->n_versions && acc->versions[i] == version) return AJ_E_OK;
    if (acc->n_versions == acc->cap_versions) {
        size_t cap = acc->cap_versions ? acc->cap_versions * 2 : 2;
        int32_t *grown = realloc(acc->versions, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        acc->versions = grown;
        acc->cap_versions = cap;
    }
    memmove(&acc->versions[i + 1], &acc->versions[i], (acc->n_versions - i) * sizeof(*acc->versions));
    acc->versions[i] = version;
    acc->n_versions++;
    return AJ_E_OK;
}

static void aj_correction_common(aj_correction *c, const aj_event *ev, const char *record_id, uint32_t occurrence,
                                 const aj_contract *k) {
    memset(c, 0, sizeof(*c));
    /* Clause "Correction ids": the record id, and its occurrence when it came again. */
    if (occurrence > 1)
        snprintf(c->correction_id, sizeof(c->correction_id), "COR-%s#%u", record_id, occurrence);
    else
        snprintf(c->correction_id, sizeof(c->correction_id), "COR-%s", record_id);
    snprintf(c->record_id, sizeof(c->record_id), "%s", record_id);
    snprintf(c->contract_id, sizeof(c->contract_id), "%s", k->contract_id);
    c->contract_version = k->version;
    c->trace.contract_version = k->version;
    memcpy(c->currency, k->currency, sizeof(c->currency));
    c->source = ev->pos;
}

static aj_err aj_record_stats(aj_adjust *adj, const aj_correction *c) {
    aj_money side;
    aj_err rc = aj_money_add(c->delta < 0 ? adj->stats.overcharge : adj->stats.undercharge,
                             c->delta < 0 ? -c->delta : c->delta, &side);
    if (rc) return rc;
    if (c->delta < 0)
        adj->stats.overcharge = side;
    else
        adj->stats.undercharge = side;
    adj->stats.corrections++;
    adj->stats.by_reason[c->reason]++;
    return AJ_E_OK;
}

/* Common prologue of usage and recurring records: the contract in force (or, for an account
 * with versions but none in force, the nearest one, *in_force 0), currency, cycle state. */
static aj_err aj_begin_record(aj_adjust *adj, const char *account, const char *cycle, int64_t ts,
                              const char *currency, const aj_plan **plan, int *in_force, aj_acc **acc,
                              char *detail, size_t detlen) {
    int known;
    aj_err rc;

    *plan = aj_contract_store_find(adj->store, account, ts, &known);
    *in_force = *plan != NULL;
    if (!known) {
        snprintf(detail, detlen, "account %s has no contract", account);
        return AJ_E_NO_CONTRACT;
    }
    if (!*plan) *plan = aj_contract_store_nearest(adj->store, account, ts);
    const aj_contract *k = aj_plan_contract(*plan);
    if (strcmp(currency, k->currency) != 0) {
        snprintf(detail, detlen, "record currency %s, contract %s v%d currency %s", currency,
                 k->contract_id, k->version, k->currency);
        return AJ_E_CURRENCY_MISMATCH;
    }
    if ((rc = aj_acc_get(adj, account, cycle, 0, acc))) return rc;
    if (*acc && (*acc)->state == AJ_ACC_RELEASED) {
        snprintf(detail, detlen, "cycle %s of account %s was invoiced (%s) and the account's next invoice was "
                 "built since: beyond the delay period", cycle, account, (*acc)->invoice_id);
        return AJ_E_LATE_USAGE;
    }
    return AJ_E_OK;
}

static aj_err aj_put_str(aj_bytes *b, const char *s) {
    return aj_avro_put_string(b, s, strlen(s));
}

/* ---------------------------------------------------------------- the log of rated records */

/*
 * Clause "Backdated amendments": every record an account-cycle accepts is logged with what it
 * was rated at, so that a contract version arriving later for a period already rated can rate
 * it again. An entry: 13 bytes rewritten in place by a re-rating (the expected amount, int64;
 * the contract version, int32; little-endian; whether it was in force, one byte), then in Avro
 * binary: kind, the line of the open cycle's lineset, record id, tariff code, legacy amount, occurrence, position
 * (origin, "" when the first entry's; partition, offset), and what rating the kind needs
 * (aj_rlog_add; a usage record's subscriber, calling number and roaming flag are not kept:
 * rating does not read them). The log lives as long as the cycle's state: open, then invoiced
 * until the account's next invoice.
 */
#define AJ_RLOG_HEAD 13
#define AJ_RLOG_ORIGIN_LEN 1023   /* a topic name (249 at most) or a file's path; longer is cut */

static void aj_le_put(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t aj_le_get(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Sets the head of the entry at `at`. */
static void aj_rlog_set(aj_bytes *log, size_t at, aj_money expected, int32_t version, int in_force) {
    aj_le_put(log->data + at, (uint64_t)expected, 8);
    aj_le_put(log->data + at + 8, (uint64_t)(uint32_t)version, 4);
    log->data[at + 12] = (uint8_t)(in_force != 0);
}

/* The adjuster's copy of origin (positions of re-rated records point there). */
static aj_err aj_origin_intern(aj_adjust *adj, const char *origin, const char **out) {
    size_t len = strlen(origin);
    char *o = aj_map_get(adj->origins, origin, len);
    if (!o) {
        if (!(o = strdup(origin))) return AJ_E_NOMEM;
        if (aj_map_put(adj->origins, o, len, o, NULL) != AJ_E_OK) {
            free(o);
            return AJ_E_NOMEM;
        }
    }
    *out = o;
    return AJ_E_OK;
}

/* Appends ev, rated at expected with version (in force or the nearest) on line; occurrence: its
 * id's count in the cycle; extra: usage 1 when a duplicate, recurring the line's charge count,
 * one-time the earlier charges of its code for its line. */
static aj_err aj_rlog_add(aj_adjust *adj, aj_acc *acc, const aj_event *ev, aj_money expected, int32_t version, int in_force,
                          uint32_t line, uint32_t occurrence, uint32_t extra) {
    aj_bytes *b = &acc->rlog;
    size_t at = b->len;
    aj_err rc;
    if (!adj->policy.rerate) return AJ_E_OK;
#define AJ_LPUT(expr)                              \
    do {                                           \
        if ((rc = (expr)) != AJ_E_OK) goto fail;   \
    } while (0)
    char cut[AJ_RLOG_ORIGIN_LEN + 1];
    const char *origin = ev->pos.origin ? ev->pos.origin : "";
    if (strlen(origin) > AJ_RLOG_ORIGIN_LEN) {
        snprintf(cut, sizeof(cut), "%s", origin);
        origin = cut;
    }
    if (at == 0) AJ_LPUT(aj_origin_intern(adj, origin, &acc->rlog_origin));
    AJ_LPUT(aj_bytes_reserve(b, AJ_RLOG_HEAD));
    b->len += AJ_RLOG_HEAD;
    aj_rlog_set(b, at, expected, version, in_force);
    const char *rid, *tariff;
    aj_money legacy;
    switch (ev->kind) {
    case AJ_EVENT_USAGE: rid = ev->u.usage.record_id, tariff = ev->u.usage.tariff_code, legacy = ev->u.usage.legacy_charge; break;
    case AJ_EVENT_RECURRING:
        rid = ev->u.recurring.record_id, tariff = ev->u.recurring.tariff_code, legacy = ev->u.recurring.legacy_amount;
        break;
    case AJ_EVENT_ONE_TIME:
        rid = ev->u.one_time.record_id, tariff = ev->u.one_time.tariff_code, legacy = ev->u.one_time.legacy_amount;
        break;
    default: rc = AJ_E_ARG; goto fail;
    }
    AJ_LPUT(aj_avro_put_long(b, ev->kind));
    AJ_LPUT(aj_avro_put_long(b, line));
    AJ_LPUT(aj_put_str(b, rid));
    AJ_LPUT(aj_put_str(b, tariff));
    AJ_LPUT(aj_avro_put_long(b, legacy));
    AJ_LPUT(aj_avro_put_long(b, occurrence));
    AJ_LPUT(aj_put_str(b, at == 0 || strcmp(origin, acc->rlog_origin) != 0 ? origin : ""));
    AJ_LPUT(aj_avro_put_long(b, ev->pos.partition));
    AJ_LPUT(aj_avro_put_long(b, ev->pos.offset));
    AJ_LPUT(aj_avro_put_long(b, extra));
    if (ev->kind == AJ_EVENT_USAGE) {
        const aj_usage *u = &ev->u.usage;
        AJ_LPUT(aj_avro_put_long(b, u->service));
        AJ_LPUT(aj_avro_put_long(b, u->start_ms));
        AJ_LPUT(aj_avro_put_long(b, u->quantity));
        AJ_LPUT(aj_put_str(b, u->destination));
    } else if (ev->kind == AJ_EVENT_RECURRING) {
        const aj_recurring *r = &ev->u.recurring;
        AJ_LPUT(aj_put_str(b, r->line_id));
        AJ_LPUT(aj_avro_put_long(b, r->service));
        AJ_LPUT(aj_avro_put_long(b, r->period_start_ms));
        AJ_LPUT(aj_avro_put_long(b, r->period_end_ms));
    } else {
        const aj_one_time *o = &ev->u.one_time;
        AJ_LPUT(aj_put_str(b, o->subscriber));
        AJ_LPUT(aj_put_str(b, o->charge_code));
        AJ_LPUT(aj_avro_put_long(b, o->charged_ms));
        AJ_LPUT(aj_avro_put_long(b, o->quantity));
    }
    return AJ_E_OK;
fail:
    b->len = at;   /* no half entry */
    return rc;
#undef AJ_LPUT
}

/* One entry of a log, read back. */
typedef struct aj_rentry {
    size_t at, next;      /* where it starts, where the next one does */
    aj_money expected;
    int32_t version;
    uint32_t line;
    int in_force;
    uint32_t occurrence, extra;
    char origin[AJ_RLOG_ORIGIN_LEN + 1];
    aj_event ev;          /* pos.origin points to origin */
} aj_rentry;

/* Copies an Avro string of at most size - 1 bytes into dst. */
static aj_err aj_rlog_str(aj_avro_in *in, char *dst, size_t size) {
    const char *p;
    size_t n;
    aj_err rc;
    if ((rc = aj_avro_get_string(in, &p, &n))) return rc;
    if (n >= size) return AJ_E_BAD_LENGTH;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return AJ_E_OK;
}

/* Reads the entry at `at` of acc's log (of account) into e. */
static aj_err aj_rlog_get(const aj_acc *acc, const char *account, size_t at, aj_rentry *e) {
    const aj_bytes *b = &acc->rlog;
    int64_t kind, line, legacy, occurrence, part, offset, extra, v1, v2, v3;
    char rid[AJ_ID_LEN + 1], tariff[AJ_KEY_LEN + 1];
    aj_err rc;

    if (b->len - at < AJ_RLOG_HEAD) return AJ_E_TRUNCATED;
    memset(e, 0, sizeof(*e));
    e->at = at;
    e->expected = (aj_money)aj_le_get(b->data + at, 8);
    e->version = (int32_t)(uint32_t)aj_le_get(b->data + at + 8, 4);
    if (b->data[at + 12] > 1) return AJ_E_BAD_ENUM;
    e->in_force = b->data[at + 12];
    aj_avro_in in = {b->data + at + AJ_RLOG_HEAD, b->data + b->len};
#define AJ_LGET(expr)                        \
    do {                                     \
        if ((rc = (expr)) != AJ_E_OK) return rc; \
    } while (0)
    AJ_LGET(aj_avro_get_long(&in, &kind));
    AJ_LGET(aj_avro_get_long(&in, &line));
    if (line < 0 || line > UINT32_MAX) return AJ_E_BAD_LENGTH;
    e->line = (uint32_t)line;
    AJ_LGET(aj_rlog_str(&in, rid, sizeof(rid)));
    AJ_LGET(aj_rlog_str(&in, tariff, sizeof(tariff)));
    AJ_LGET(aj_avro_get_long(&in, &legacy));
    AJ_LGET(aj_avro_get_long(&in, &occurrence));
    AJ_LGET(aj_rlog_str(&in, e->origin, sizeof(e->origin)));
    if (!e->origin[0] && acc->rlog_origin) snprintf(e->origin, sizeof(e->origin), "%s", acc->rlog_origin);
    AJ_LGET(aj_avro_get_long(&in, &part));
    AJ_LGET(aj_avro_get_long(&in, &offset));
    AJ_LGET(aj_avro_get_long(&in, &extra));
    if (occurrence < 1 || occurrence > UINT32_MAX || extra < 0 || extra > UINT32_MAX || part < -1 || part > INT32_MAX ||
        offset < -1)
        return AJ_E_BAD_LENGTH;
    e->occurrence = (uint32_t)occurrence;
    e->extra = (uint32_t)extra;
    e->ev.kind = (aj_event_kind)kind;
    e->ev.pos.origin = e->origin;
    e->ev.pos.partition = (int32_t)part;
    e->ev.pos.offset = offset;
    switch (e->ev.kind) {
    case AJ_EVENT_USAGE: {
        aj_usage *u = &e->ev.u.usage;
        AJ_LGET(aj_avro_get_long(&in, &v1));
        AJ_LGET(aj_avro_get_long(&in, &u->start_ms));
        AJ_LGET(aj_avro_get_long(&in, &u->quantity));
        AJ_LGET(aj_rlog_str(&in, u->destination, sizeof(u->destination)));
        if (v1 < 0 || v1 >= AJ_SERVICE__COUNT) return AJ_E_BAD_ENUM;
        u->service = (aj_service)v1;
        u->legacy_charge = legacy;
        memcpy(u->record_id, rid, sizeof(rid));
        memcpy(u->tariff_code, tariff, sizeof(tariff));
        snprintf(u->account, sizeof(u->account), "%s", account);
        memcpy(u->cycle_id, acc->cycle_id, sizeof(u->cycle_id));
        memcpy(u->currency, acc->currency, sizeof(u->currency));
        break;
    }
    case AJ_EVENT_RECURRING: {
        aj_recurring *r = &e->ev.u.recurring;
        AJ_LGET(aj_rlog_str(&in, r->line_id, sizeof(r->line_id)));
        AJ_LGET(aj_avro_get_long(&in, &v1));
        AJ_LGET(aj_avro_get_long(&in, &r->period_start_ms));
        AJ_LGET(aj_avro_get_long(&in, &r->period_end_ms));
        if (v1 < 0 || v1 >= AJ_SERVICE__COUNT) return AJ_E_BAD_ENUM;
        r->service = (aj_service)v1;
        r->legacy_amount = legacy;
        memcpy(r->record_id, rid, sizeof(rid));
        memcpy(r->tariff_code, tariff, sizeof(tariff));
        snprintf(r->account, sizeof(r->account), "%s", account);
        memcpy(r->cycle_id, acc->cycle_id, sizeof(r->cycle_id));
        memcpy(r->currency, acc->currency, sizeof(r->currency));
        break;
    }
    case AJ_EVENT_ONE_TIME: {
        aj_one_time *o = &e->ev.u.one_time;
        AJ_LGET(aj_rlog_str(&in, o->subscriber, sizeof(o->subscriber)));
        AJ_LGET(aj_rlog_str(&in, o->charge_code, sizeof(o->charge_code)));
        AJ_LGET(aj_avro_get_long(&in, &v2));
        AJ_LGET(aj_avro_get_long(&in, &v3));
        o->charged_ms = v2;
        o->quantity = v3;
        o->legacy_amount = legacy;
        memcpy(o->record_id, rid, sizeof(rid));
        memcpy(o->tariff_code, tariff, sizeof(tariff));
        snprintf(o->account, sizeof(o->account), "%s", account);
        memcpy(o->cycle_id, acc->cycle_id, sizeof(o->cycle_id));
        memcpy(o->currency, acc->currency, sizeof(o->currency));
        break;
    }
    default: return AJ_E_BAD_ENUM;
    }
#undef AJ_LGET
    e->next = (size_t)(in.p - b->data);
    return AJ_E_OK;
}

/* Clause "Late usage": an accepted record goes on its cycle's line, or, when the cycle was
 * invoiced, on a LATE_ line of the account's next invoice naming the invoiced one. Its
 * correction (c, may be NULL) gets the disposition and the line, then is emitted. */
static aj_err aj_finish_record(aj_adjust *adj, const char *account, aj_acc *acc, const aj_contract *k, aj_line_kind kind,
                               aj_service service, const char *item, int64_t quantity, aj_money legacy,
                               aj_money expected, aj_correction *c, uint32_t *line) {
    aj_lineset *ls = &acc->ls;
    const char *refers_to = "";
    int late = acc->state == AJ_ACC_CLOSED;
    uint32_t idx;
    aj_err rc;

    if (late) {
        aj_account *a;
        if ((rc = aj_account_get(adj, account, &a))) return rc;
        ls = &a->late;
        kind = kind == AJ_LINE_USAGE       ? AJ_LINE_LATE_USAGE
               : kind == AJ_LINE_ONE_TIME ? AJ_LINE_LATE_ONE_TIME
                                          : AJ_LINE_LATE_RECURRING;
        item = "";
        refers_to = acc->invoice_id;
    } else {
        if (acc->n_versions == 0) {
            memcpy(acc->currency, k->currency, sizeof(acc->currency));
            snprintf(acc->contract_id, sizeof(acc->contract_id), "%s", k->contract_id);
        }
        if ((rc = aj_acc_version(acc, k->version))) return rc;
    }
    if ((rc = aj_lineset_line(ls, kind, service, item, refers_to, &idx)) ||
        (rc = aj_lineset_add(ls, idx, 1, quantity, legacy, expected)))
        return rc;
    if (line) *line = idx;
    if (late) adj->stats.late_records++;
    if (!c) return AJ_E_OK;
    c->disposition = aj_policy_of(&adj->policy, c->reason, c->delta);
    if (late)
        snprintf(c->invoice_id, sizeof(c->invoice_id), "%s", acc->invoice_id);
    else
        aj_invoice_id(c->invoice_id, sizeof(c->invoice_id), account, c->cycle_id, 1);
    const char *line_id = aj_lineset_line_id(ls, idx);
    memcpy(c->invoice_line, line_id, strlen(line_id) + 1);
    c->late = late;
    if ((rc = aj_lineset_adjust(ls, idx, c->reason, c->disposition, 1, c->delta)) || (rc = aj_record_stats(adj, c)))
        return rc;
    return adj->out.correction(adj->out.opaque, c);
}

/* The memo lines of a rated record: how much of its charge is discount or promotion. */
static aj_err aj_memo_lines(aj_acc *acc, const aj_trace *t) {
    uint32_t idx;
    aj_err rc;
    if (acc->state != AJ_ACC_OPEN) return AJ_E_OK;
    if (t->discount[0] && t->discount_amount &&
        ((rc = aj_lineset_line(&acc->ls, AJ_LINE_DISCOUNT, AJ_SERVICE__COUNT, t->discount, "", &idx)) ||
         (rc = aj_lineset_add(&acc->ls, idx, 1, 0, 0, -t->discount_amount))))
        return rc;
    if (t->promotion[0] &&
        ((rc = aj_lineset_line(&acc->ls, AJ_LINE_PROMOTION, AJ_SERVICE__COUNT, t->promotion, "", &idx)) ||
         (rc = aj_lineset_add(&acc->ls, idx, 1, 0, 0, -t->promotion_amount))))
        return rc;
    return AJ_E_OK;
}

/* A usage record that must cost nothing (duplicate, no contract, terminated). */
static void aj_zero_reason(const aj_usage *u, aj_reason reason, uint32_t occurrence, const aj_contract *k,
                           char *hyp, size_t len) {
    char a[32];
    aj_money_format(u->legacy_charge, 6, a, sizeof(a));
    switch (reason) {
    case AJ_REASON_DUPLICATE_USAGE:
        if (occurrence > 1)
            snprintf(hyp, len, "record id %s already charged in cycle %s (occurrence %u); %s removed", u->record_id,
                     u->cycle_id, occurrence, a);
        else
            snprintf(hyp, len, "same call (subscriber %s, start %s, destination %s, %lld units, %s) already "
                     "charged in cycle %s; %s removed", u->subscriber, aj_utc(u->start_ms).s, u->destination,
                     (long long)u->quantity, aj_service_name(u->service), u->cycle_id, a);
        break;
    case AJ_REASON_NO_CONTRACT:
        snprintf(hyp, len, "no contract version in force at %s (nearest: %s v%d from %s); %s removed",
                 aj_utc(u->start_ms).s, k->contract_id, k->version, aj_utc(k->effective_from).s, a);
        break;
    default:
        snprintf(hyp, len, "contract %s terminated from %s (version %d); %s removed", k->contract_id,
                 aj_utc(k->effective_from).s, k->version, a);
    }
}

static aj_err aj_adjust_usage(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_usage *u = &ev->u.usage;
    const aj_plan *plan;
    aj_acc *acc;
    aj_charge charge;
    aj_correction c, *cp = NULL;
    int in_force;
    uint32_t id_count, call_count = 0;
    aj_reason zero = AJ_REASON__COUNT;
    char digits[AJ_NUMBER_LEN + 1], call[AJ_KEY_LEN + AJ_NUMBER_LEN + 64];
    aj_err rc;

    if ((rc = aj_begin_record(adj, u->account, u->cycle_id, u->start_ms, u->currency, &plan, &in_force, &acc,
                              detail, detlen)))
        return rc;
    const aj_contract *k = aj_plan_contract(plan);
    /* Clause "Record checks": duplicates, then no contract in force, then termination. */
    static const aj_seen none;
    const aj_seen *seen = acc ? &acc->seen : &none;
    uint64_t id_key = aj_fp('I', u->record_id, NULL);
    if (aj_normalize_number(u->destination, digits, sizeof(digits)) < 0) snprintf(digits, sizeof(digits), "%s", u->destination);
    snprintf(call, sizeof(call), "%s|%lld|%lld|%s", u->subscriber, (long long)u->start_ms, (long long)u->quantity,
             aj_service_name(u->service));
    uint64_t call_key = aj_fp('C', call, digits);
    id_count = aj_seen_count(seen, id_key) + 1;
    if (id_count > 1 || aj_seen_count(seen, call_key))
        zero = AJ_REASON_DUPLICATE_USAGE;
    else if (!in_force)
        zero = AJ_REASON_NO_CONTRACT;
    else if (k->status == AJ_CONTRACT_TERMINATED)
        zero = AJ_REASON_USAGE_AFTER_TERMINATION;

    if (zero != AJ_REASON__COUNT) {
        memset(&charge, 0, sizeof(charge));
        charge.trace.quantity = u->quantity;
        charge.trace.contract_version = k->version;
    } else {
        if ((rc = aj_rating_rate_usage(plan, u, acc ? &acc->counters : NULL, NULL, &charge)) == AJ_E_NO_RATE) {
            snprintf(detail, detlen, "contract %s v%d has no %s rate for zone %s in band %s", k->contract_id,
                     k->version, aj_service_name(u->service), charge.trace.zone, charge.trace.band);
            return rc;
        }
        if (rc) return rc;
    }
    if (charge.amount != u->legacy_charge) {
        aj_correction_common(&c, ev, u->record_id, id_count, k);
        memcpy(c.account, u->account, sizeof(c.account));
        memcpy(c.cycle_id, u->cycle_id, sizeof(c.cycle_id));
        memcpy(c.tariff_code, u->tariff_code, sizeof(c.tariff_code));
        c.kind = AJ_KIND_USAGE;
        c.service = u->service;
        c.legacy_amount = u->legacy_charge;
        c.corrected_amount = charge.amount;
        if ((rc = aj_money_sub(charge.amount, u->legacy_charge, &c.delta))) return rc;
        c.trace = charge.trace;
        if (zero != AJ_REASON__COUNT) {
            c.reason = zero;
            aj_zero_reason(u, zero, id_count, k, c.hypothesis, sizeof(c.hypothesis));
        } else {
            c.reason = aj_classify_usage(adj->store, plan, u, acc ? &acc->counters : NULL, &charge, c.hypothesis,
                                         sizeof(c.hypothesis));
            adj->stats.classified++;
        }
        cp = &c;
    }
    /* The record is accepted: open its account-cycle, remember it (its call only the first
     * time its id is seen). */
    if (!acc && (rc = aj_acc_get(adj, u->account, u->cycle_id, 1, &acc))) return rc;
    if ((rc = aj_seen_add(&acc->seen, id_key, &id_count))) return rc;
    if (id_count == 1 && (rc = aj_seen_add(&acc->seen, call_key, &call_count))) return rc;
    if (zero == AJ_REASON__COUNT && (rc = aj_charge_commit(&charge, &acc->counters))) return rc;
    aj_contract_store_mark_rated(adj->store, u->account, u->start_ms);
    /* The usage line is the service's in the record's zone (looked up for records not rated). */
    const char *zone = charge.trace.zone;
    if (zero != AJ_REASON__COUNT) {
        char prefix[AJ_NUMBER_LEN + 1];
        size_t z = aj_plan_zone_of(plan, u->service, u->destination, prefix);
        zone = z < aj_plan_zone_count(plan) ? aj_plan_zone_name(plan, z) : "";
    }
    uint32_t line;
    if ((rc = aj_finish_record(adj, u->account, acc, k, AJ_LINE_USAGE, u->service, zone, u->quantity, u->legacy_charge,
                               charge.amount, cp, &line)) ||
        (rc = aj_rlog_add(adj, acc, ev, charge.amount, k->version, in_force, line, id_count,
                          zero == AJ_REASON_DUPLICATE_USAGE)))
        return rc;
    if (zero == AJ_REASON__COUNT && (rc = aj_memo_lines(acc, &charge.trace))) return rc;
    adj->stats.usage++;
    return AJ_E_OK;
}

/* Clause "Contract versions": the version in force at a period's start, else at its end (a
 * contract that starts mid-cycle); NULL when neither. *ts gets the instant used. */
static const aj_plan *aj_plan_for_period(const aj_adjust *adj, const char *account, int64_t start, int64_t end,
                                         int64_t *ts) {
    const aj_plan *plan = aj_contract_store_find(adj->store, account, start, NULL);
    *ts = start;
    if (!plan && end > start && (plan = aj_contract_store_find(adj->store, account, end - 1, NULL))) *ts = end - 1;
    return plan;
}

/* Clause "Recurring charges": the expected amount of a recurring charge and, when it is not
 * the legacy one, the reason. */
static aj_reason aj_rate_recurring(const aj_plan *plan, int in_force, const aj_recurring *r, uint32_t times,
                                   aj_charge *ch, char *hyp, size_t len) {
    const aj_contract *k = aj_plan_contract(plan);
    const aj_line *line = aj_plan_line(plan, r->line_id);
    int64_t days = 0, period = 0;
    aj_money full = 0;
    char a[32], b[32];

    memset(ch, 0, sizeof(*ch));
    ch->trace.contract_version = k->version;
    ch->trace.quantity = 1;
    ch->trace.rate_unit = 1;
    aj_money_format(r->legacy_amount, 6, a, sizeof(a));
    if (!in_force || k->status == AJ_CONTRACT_TERMINATED) {
        snprintf(hyp, len, "line %s charged %s while %s", r->line_id, a,
                 in_force ? "the contract is terminated" : "no contract version was in force");
        return AJ_REASON_MRC_INACTIVE_LINE;
    }
    if (!line || line->service != r->service) {
        snprintf(hyp, len, "line %s (%s) is not in the inventory of contract %s v%d; %s removed", r->line_id,
                 aj_service_name(r->service), k->contract_id, k->version, a);
        return AJ_REASON_MRC_INACTIVE_LINE;
    }
    int64_t all_days;
    if (aj_rating_line_amount(plan, line, r->period_start_ms, r->period_end_ms, 1, &ch->amount, &days, &period) ||
        aj_rating_line_amount(plan, line, r->period_start_ms, r->period_end_ms, 0, &full, &all_days, &period)) {
        snprintf(hyp, len, "line %s amount overflows", r->line_id);
        return AJ_REASON__COUNT;
    }
    ch->trace.price = line->monthly_price;
    ch->trace.billed_quantity = line->quantity;
    ch->trace.free_units = days;
    snprintf(ch->trace.bands, sizeof(ch->trace.bands), "%lld of %lld days", (long long)days, (long long)period);
    if (times > 1) {
        ch->amount = 0;
        snprintf(hyp, len, "line %s already charged in cycle %s (charge %u); %s removed", r->line_id, r->cycle_id,
                 times, a);
        return AJ_REASON_MRC_DUPLICATE;
    }
    if (days == 0) {
        snprintf(hyp, len, "line %s is not active in cycle %s; %s removed", r->line_id, r->cycle_id, a);
        return AJ_REASON_MRC_INACTIVE_LINE;
    }
    aj_money_format(ch->amount, 6, b, sizeof(b));
    if (r->legacy_amount == full && days < period) {
        snprintf(hyp, len, "line %s charged the whole cycle (%s) though active %lld of %lld days (%s)", r->line_id, a,
                 (long long)days, (long long)period, b);
        return AJ_REASON_MRC_PRORATION;
    }
    snprintf(hyp, len, "line %s charged %s where %d x %lld micro-units for %lld of %lld days gives %s", r->line_id, a,
             line->quantity, (long long)line->monthly_price, (long long)days, (long long)period, b);
    return AJ_REASON_MRC_PRICE_MISMATCH;
}

static aj_err aj_adjust_recurring(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_recurring *r = &ev->u.recurring;
    const aj_plan *plan;
    aj_acc *acc;
    aj_charge charge;
    aj_correction c, *cp = NULL;
    char hyp[sizeof(c.hypothesis)];
    int in_force;
    uint32_t times;
    aj_err rc;

    int64_t ts;
    aj_plan_for_period(adj, r->account, r->period_start_ms, r->period_end_ms, &ts);
    if ((rc = aj_begin_record(adj, r->account, r->cycle_id, ts, r->currency, &plan, &in_force, &acc, detail, detlen)))
        return rc;
    const aj_contract *k = aj_plan_contract(plan);
    uint32_t id_count;
    if (!acc && (rc = aj_acc_get(adj, r->account, r->cycle_id, 1, &acc))) return rc;
    if ((rc = aj_seen_add(&acc->seen, aj_fp('R', r->record_id, NULL), &id_count))) return rc;
    if ((rc = aj_seen_add(&acc->seen, aj_fp('L', r->line_id, NULL), &times))) return rc;
    aj_reason reason = aj_rate_recurring(plan, in_force, r, times, &charge, hyp, sizeof(hyp));
    if (reason == AJ_REASON__COUNT) return AJ_E_OVERFLOW;
    if (charge.amount != r->legacy_amount) {
        aj_correction_common(&c, ev, r->record_id, id_count, k);
        memcpy(c.account, r->account, sizeof(c.account));
        memcpy(c.cycle_id, r->cycle_id, sizeof(c.cycle_id));
        memcpy(c.tariff_code, r->tariff_code, sizeof(c.tariff_code));
        c.kind = AJ_KIND_RECURRING;
        c.service = r->service;
        c.legacy_amount = r->legacy_amount;
        c.corrected_amount = charge.amount;
        if ((rc = aj_money_sub(charge.amount, r->legacy_amount, &c.delta))) return rc;
        c.trace = charge.trace;
        c.reason = reason;
        memcpy(c.hypothesis, hyp, sizeof(c.hypothesis));
        cp = &c;
    }
    uint32_t line;
    if ((rc = aj_finish_record(adj, r->account, acc, k, AJ_LINE_RECURRING, r->service, r->line_id, 1, r->legacy_amount,
                               charge.amount, cp, &line)) ||
        (rc = aj_rlog_add(adj, acc, ev, charge.amount, k->version, in_force, line, id_count, times)))
        return rc;
    aj_contract_store_mark_rated(adj->store, r->account, ts);
    adj->stats.recurring++;
    return AJ_E_OK;
}

/* Clause "One-time charges": the expected amount of a one-time charge and, when it is not the
 * legacy one, the reason. id_count: occurrences of its record id in the account-cycle, this one
 * included; code_count: earlier records of its code for its line in the cycle. Returns
 * AJ_REASON__COUNT with *rc set when the amount overflows. */
static aj_reason aj_rate_one_time(const aj_plan *plan, int in_force, const aj_one_time *o, uint32_t id_count,
                                  uint32_t code_count, aj_charge *ch, char *hyp, size_t len, aj_err *rc) {
    const aj_contract *k = aj_plan_contract(plan);
    const aj_otc_price *price = NULL;
    char a[32], b[32], p[32];

    memset(ch, 0, sizeof(*ch));
    *rc = AJ_E_OK;
    ch->trace.contract_version = k->version;
    ch->trace.quantity = o->quantity;
    ch->trace.billed_quantity = o->quantity;
    ch->trace.rate_unit = 1;
    aj_money_format(o->legacy_amount, 6, a, sizeof(a));
    /* The order of docs/rating.md: duplicates, no contract in force, termination, the price list. */
    if (id_count > 1) {
        snprintf(hyp, len, "record id %s already charged in cycle %s (occurrence %u); %s removed", o->record_id,
                 o->cycle_id, id_count, a);
        return AJ_REASON_OTC_DUPLICATE;
    }
    if (code_count > 0) {
        snprintf(hyp, len, "%s already charged to line %s in cycle %s; %s removed", o->charge_code, o->subscriber,
                 o->cycle_id, a);
        return AJ_REASON_OTC_DUPLICATE;
    }
    if (!in_force) {
        snprintf(hyp, len, "%s charged at %s while no contract version was in force (nearest: %s v%d from %s); "
                 "%s removed", o->charge_code, aj_utc(o->charged_ms).s, k->contract_id, k->version,
                 aj_utc(k->effective_from).s, a);
        return AJ_REASON_NO_CONTRACT;
    }
    if (k->status == AJ_CONTRACT_TERMINATED) {
        snprintf(hyp, len, "%s charged after contract %s was terminated from %s (version %d); %s removed",
                 o->charge_code, k->contract_id, aj_utc(k->effective_from).s, k->version, a);
        return AJ_REASON_USAGE_AFTER_TERMINATION;
    }
    *rc = aj_rating_one_time_amount(plan, o, &price, &ch->amount);
    if (*rc == AJ_E_NOT_FOUND) {
        *rc = AJ_E_OK;
        snprintf(hyp, len, "contract %s v%d has no one-time charge %s; %s removed", k->contract_id, k->version,
                 o->charge_code, a);
        return AJ_REASON_OTC_NOT_IN_CONTRACT;
    }
    if (*rc) return AJ_REASON__COUNT;
    ch->trace.price = price->price;
    aj_money_format(price->price, 6, p, sizeof(p));
    aj_money_format(ch->amount, 6, b, sizeof(b));
    snprintf(hyp, len, "%s charged %s where %lld x %s (contract %s v%d) gives %s", o->charge_code, a,
             (long long)o->quantity, p, k->contract_id, k->version, b);
    return AJ_REASON_OTC_PRICE_MISMATCH;
}

static aj_err aj_adjust_one_time(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_one_time *o = &ev->u.one_time;
    const aj_plan *plan;
    aj_acc *acc;
    aj_charge charge;
    aj_correction c, *cp = NULL;
    char hyp[sizeof(c.hypothesis)];
    int in_force;
    uint32_t id_count, code_count = 0;
    aj_err rc;

    if ((rc = aj_begin_record(adj, o->account, o->cycle_id, o->charged_ms, o->currency, &plan, &in_force, &acc,
                              detail, detlen)))
        return rc;
    const aj_contract *k = aj_plan_contract(plan);
    if (!acc && (rc = aj_acc_get(adj, o->account, o->cycle_id, 1, &acc))) return rc;
    /* Clause "One-time charges", duplicates: the record id (a delivery repeated), then the code
     * for the line (counted once per record id). */
    uint64_t code_key = aj_fp('O', o->charge_code, o->subscriber);
    if ((rc = aj_seen_add(&acc->seen, aj_fp('T', o->record_id, NULL), &id_count))) return rc;
    if (id_count == 1) {
        if ((rc = aj_seen_add(&acc->seen, code_key, &code_count))) return rc;
        code_count--;
    }
    aj_reason reason = aj_rate_one_time(plan, in_force, o, id_count, code_count, &charge, hyp, sizeof(hyp), &rc);
    if (reason == AJ_REASON__COUNT) return rc;
    if (charge.amount != o->legacy_amount) {
        aj_correction_common(&c, ev, o->record_id, id_count, k);
        memcpy(c.account, o->account, sizeof(c.account));
        memcpy(c.cycle_id, o->cycle_id, sizeof(c.cycle_id));
        memcpy(c.tariff_code, o->tariff_code, sizeof(c.tariff_code));
        c.kind = AJ_KIND_ONE_TIME;
        c.service = AJ_SERVICE__COUNT;
        c.legacy_amount = o->legacy_amount;
        c.corrected_amount = charge.amount;
        if ((rc = aj_money_sub(charge.amount, o->legacy_amount, &c.delta))) return rc;
        c.trace = charge.trace;
        c.reason = reason;
        memcpy(c.hypothesis, hyp, sizeof(c.hypothesis));
        cp = &c;
    }
    uint32_t line;
    if ((rc = aj_finish_record(adj, o->account, acc, k, AJ_LINE_ONE_TIME, AJ_SERVICE__COUNT, o->charge_code,
                               o->quantity, o->legacy_amount, charge.amount, cp, &line)) ||
        (rc = aj_rlog_add(adj, acc, ev, charge.amount, k->version, in_force, line, id_count, code_count)))
        return rc;
    aj_contract_store_mark_rated(adj->store, o->account, o->charged_ms);
    adj->stats.one_time++;
    return AJ_E_OK;
}

/* Clause "Recurring charges", MRC_MISSING: every contracted line active in the closed period
 * that had no recurring charge is an undercharge. */
static aj_err aj_missing_lines(aj_adjust *adj, const aj_event *ev, aj_acc *acc) {
    const aj_cycle_close *cl = &ev->u.close;
    int64_t ts;
    const aj_plan *plan = aj_plan_for_period(adj, cl->account, cl->period_start_ms, cl->period_end_ms, &ts);
    char record_id[AJ_ID_LEN + 1], a[32];
    aj_correction c;
    aj_err rc;

    if (!plan || aj_plan_contract(plan)->status == AJ_CONTRACT_TERMINATED) return AJ_E_OK;
    const aj_contract *k = aj_plan_contract(plan);
    for (size_t i = 0; i < k->n_lines; i++) {
        const aj_line *l = &k->lines[i];
        aj_money amount;
        int64_t days, period;
        if (aj_seen_count(&acc->seen, aj_fp('L', l->line_id, NULL))) continue;
        if ((rc = aj_rating_line_amount(plan, l, cl->period_start_ms, cl->period_end_ms, 1, &amount, &days, &period)))
            return rc;
        if (days == 0 || amount == 0) continue;
        snprintf(record_id, sizeof(record_id), "MISSING-%s-%s", l->line_id, cl->cycle_id);
        aj_correction_common(&c, ev, record_id, 1, k);
        memcpy(c.account, cl->account, sizeof(c.account));
        memcpy(c.cycle_id, cl->cycle_id, sizeof(c.cycle_id));
        c.kind = AJ_KIND_RECURRING;
        c.service = l->service;
        c.reason = AJ_REASON_MRC_MISSING;
        c.corrected_amount = amount;
        c.delta = amount;
        c.trace.quantity = 1;
        c.trace.rate_unit = 1;
        c.trace.price = l->monthly_price;
        c.trace.billed_quantity = l->quantity;
        c.trace.free_units = days;
        snprintf(c.trace.bands, sizeof(c.trace.bands), "%lld of %lld days", (long long)days, (long long)period);
        aj_money_format(amount, 6, a, sizeof(a));
        snprintf(c.hypothesis, sizeof(c.hypothesis), "line %s active %lld of %lld days in cycle %s had no recurring "
                 "charge; %s added", l->line_id, (long long)days, (long long)period, cl->cycle_id, a);
        if ((rc = aj_finish_record(adj, cl->account, acc, k, AJ_LINE_RECURRING, l->service, l->line_id, 1, 0, amount, &c,
                                   NULL)))
            return rc;
    }
    return AJ_E_OK;
}

static aj_err aj_on_tax_correction(void *opaque, const aj_correction *c) {
    aj_adjust *adj = opaque;
    aj_err rc = aj_record_stats(adj, c);
    return rc ? rc : adj->out.correction(adj->out.opaque, c);
}

/* Clause "Dispute credits": the account's pending credits accepted before the period's end
 * move to the front of q (in arrival order); those already credited to the account (a
 * restored state, or a credit received again after a restart) are dropped. Returns how many
 * are due. */
static aj_err aj_credits_due(aj_pending *q, aj_account *a, int64_t period_end_ms, size_t *due) {
    size_t n = 0, kept = 0;
    for (size_t i = 0; i < q->n; i++) {
        aj_credit c = q->v[i];
        if (aj_seen_count(&a->applied, aj_fp('D', c.dispute_id, NULL))) continue;
        if (c.accepted_ms < period_end_ms) {
            memmove(&q->v[n + 1], &q->v[n], (kept - n) * sizeof(c));
            q->v[n++] = c;
        } else {
            q->v[kept] = c;
        }
        kept++;
    }
    q->n = kept;
    *due = n;
    return AJ_E_OK;
}

static aj_err aj_adjust_close(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_cycle_close *cl = &ev->u.close;
    const aj_plan *plan;
    aj_invoice inv;
    aj_account *a;
    aj_acc *acc;
    aj_err rc;

    if ((rc = aj_acc_get(adj, cl->account, cl->cycle_id, 0, &acc))) return rc;
    if (acc && acc->state != AJ_ACC_OPEN) {
        adj->stats.duplicate_closes++;
        return AJ_E_OK;
    }
    plan = aj_contract_store_find(adj->store, cl->account, cl->period_start_ms, NULL);
    if (!plan) plan = aj_contract_store_nearest(adj->store, cl->account, cl->period_start_ms);
    if (!acc && !plan) {
        snprintf(detail, detlen, "account %s has no record and no contract in cycle %s", cl->account, cl->cycle_id);
        return AJ_E_NO_CONTRACT;
    }
    if (!acc && (rc = aj_acc_get(adj, cl->account, cl->cycle_id, 1, &acc))) return rc;
    if ((rc = aj_account_get(adj, cl->account, &a))) return rc;
    if ((rc = aj_missing_lines(adj, ev, acc))) return rc;
    /* The late lines and credits due wait on the account: they go on this invoice. */
    if ((rc = aj_lineset_append(&acc->ls, &a->late))) return rc;
    aj_pending *q = aj_map_get(adj->book->pending, cl->account, strlen(cl->account)), none = {NULL, 0, 0};
    size_t due = 0;
    if (!q) q = &none;
    if ((rc = aj_credits_due(q, a, cl->period_end_ms, &due))) return rc;
    for (size_t i = 0; i < due; i++) {
        uint32_t times;
        if ((rc = aj_seen_add(&a->applied, aj_fp('D', q->v[i].dispute_id, NULL), &times))) return rc;
    }
    const aj_contract *k = plan ? aj_plan_contract(plan) : NULL;
    aj_invoice_input in = {cl, ev->pos, k, plan ? aj_plan_tz(plan) : NULL, &adj->policy, q->v, due,
                           acc->versions, acc->n_versions, acc->n_versions ? acc->currency : NULL,
                           acc->n_versions ? acc->contract_id : NULL};
    if ((rc = aj_invoice_assemble(&acc->ls, &in, aj_on_tax_correction, adj, &inv))) return rc;
    if ((rc = adj->out.invoice(adj->out.opaque, &inv))) return rc;
    if (inv.status == AJ_INV_HELD) adj->stats.held++;
    adj->stats.credits_applied += (int64_t)due;
    if (due) memmove(q->v, q->v + due, (q->n - due) * sizeof(*q->v));
    q->n -= due;
    aj_lineset_clear(&a->late);
    /* The previous invoiced cycle's delay period ends; this one's begins. */
    if (a->kept) {
        aj_acc_release_state(a->kept);
        a->kept->state = AJ_ACC_RELEASED;
    }
    memcpy(acc->invoice_id, inv.invoice_id, sizeof(acc->invoice_id));
    acc->state = AJ_ACC_CLOSED;
    aj_lineset_free(&acc->ls);
    free(acc->versions);
    acc->versions = NULL;
    acc->n_versions = acc->cap_versions = 0;
    a->kept = acc;
    adj->open--;
    adj->stats.closes++;
    adj->stats.invoices++;
    return AJ_E_OK;
}

/* Clause "Dispute credits": a credit waits in the book for its account's next invoice, once per
 * dispute id. */
static aj_err aj_adjust_credit(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    const aj_credit *cr = &ev->u.credit;
    const aj_plan *plan = aj_contract_store_nearest(adj->store, cr->account, cr->accepted_ms);
    aj_credit_book *b = adj->book;
    uint32_t times;
    aj_err rc;

    if (!plan) {
        snprintf(detail, detlen, "dispute %s: account %s has no contract", cr->dispute_id, cr->account);
        return AJ_E_NO_CONTRACT;
    }
    const aj_contract *k = aj_plan_contract(plan);
    if (strcmp(cr->currency, k->currency) != 0) {
        snprintf(detail, detlen, "dispute %s: credit currency %s, contract %s v%d currency %s", cr->dispute_id,
                 cr->currency, k->contract_id, k->version, k->currency);
        return AJ_E_CURRENCY_MISMATCH;
    }
    if ((rc = aj_seen_add(&b->received, aj_fp('D', cr->dispute_id, NULL), &times))) return rc;
    if (times > 1) {
        b->duplicates++;
        return AJ_E_OK;
    }
    size_t klen = strlen(cr->account);
    aj_pending *q = aj_map_get(b->pending, cr->account, klen);
    if (!q) {
        if (!(q = calloc(1, sizeof(*q)))) return AJ_E_NOMEM;
        if (aj_map_put(b->pending, cr->account, klen, q, NULL) != AJ_E_OK) {
            free(q);
            return AJ_E_NOMEM;
        }
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 2;
        aj_credit *grown = realloc(q->v, cap * sizeof(*grown));
        if (!grown) return AJ_E_NOMEM;
        q->v = grown;
        q->cap = cap;
    }
    q->v[q->n++] = *cr;
    b->credits++;
    return AJ_E_OK;
}

/* ------------------------------------------------------------------ backdated amendments */

/* The plan a logged record would be rated with now (in force, or the nearest: *in_force 0),
 * as aj_begin_record and aj_adjust_recurring choose it; NULL when the account has none. */
static const aj_plan *aj_rerate_plan(const aj_adjust *adj, const aj_event *ev, int *in_force) {
    const char *account = aj_event_account(ev);
    int64_t ts;
    switch (ev->kind) {
    case AJ_EVENT_USAGE: ts = ev->u.usage.start_ms; break;
    case AJ_EVENT_ONE_TIME: ts = ev->u.one_time.charged_ms; break;
    default:
        aj_plan_for_period(adj, account, ev->u.recurring.period_start_ms, ev->u.recurring.period_end_ms, &ts);
        break;
    }
    const aj_plan *plan = aj_contract_store_find(adj->store, account, ts, NULL);
    *in_force = plan != NULL;
    return plan ? plan : aj_contract_store_nearest(adj->store, account, ts);
}

/* Whether some record of the log would now be rated with another version than it was. */
static aj_err aj_rerate_due(const aj_adjust *adj, const char *account, const aj_acc *acc, int *due) {
    aj_rentry e;
    aj_err rc;
    *due = 0;
    for (size_t at = 0; at < acc->rlog.len; at = e.next) {
        int in_force;
        if ((rc = aj_rlog_get(acc, account, at, &e))) return rc;
        const aj_plan *plan = aj_rerate_plan(adj, &e.ev, &in_force);
        if (plan && (aj_plan_contract(plan)->version != e.version || in_force != e.in_force)) {
            *due = 1;
            return AJ_E_OK;
        }
    }
    return AJ_E_OK;
}

/* Rates a logged record again with plan: *ok 0 when it cannot be (no rate for its zone in the
 * new version, an amount that overflows, another currency): it then keeps its charge. */
static aj_err aj_rerate_record(const aj_plan *plan, int in_force, const aj_rentry *e, aj_counters *counters,
                               aj_charge *charge, int *ok) {
    const aj_contract *k = aj_plan_contract(plan);
    char hyp[sizeof(((aj_correction *)0)->hypothesis)];
    aj_err rc = AJ_E_OK;
    *ok = 0;
    memset(charge, 0, sizeof(*charge));
    switch (e->ev.kind) {
    case AJ_EVENT_USAGE: {
        const aj_usage *u = &e->ev.u.usage;
        if (u->currency[0] && strcmp(u->currency, k->currency) != 0) return AJ_E_OK;
        if (e->extra || !in_force || k->status == AJ_CONTRACT_TERMINATED) {
            charge->trace.quantity = u->quantity;
            charge->trace.contract_version = k->version;
            break;
        }
        rc = aj_rating_rate_usage(plan, u, counters, NULL, charge);
        if (rc == AJ_E_NO_RATE || rc == AJ_E_OVERFLOW) return AJ_E_OK;
        if (rc || (rc = aj_charge_commit(charge, counters))) return rc;
        break;
    }
    case AJ_EVENT_RECURRING:
        if (e->ev.u.recurring.currency[0] && strcmp(e->ev.u.recurring.currency, k->currency) != 0) return AJ_E_OK;
        if (aj_rate_recurring(plan, in_force, &e->ev.u.recurring, e->extra, charge, hyp, sizeof(hyp)) ==
            AJ_REASON__COUNT)
            return AJ_E_OK;
        break;
    case AJ_EVENT_ONE_TIME:
        if (e->ev.u.one_time.currency[0] && strcmp(e->ev.u.one_time.currency, k->currency) != 0) return AJ_E_OK;
        if (aj_rate_one_time(plan, in_force, &e->ev.u.one_time, e->occurrence, e->extra, charge, hyp, sizeof(hyp),
                             &rc) == AJ_REASON__COUNT)
            return rc == AJ_E_OVERFLOW ? AJ_E_OK : rc;
        break;
    default: return AJ_E_BAD_ENUM;
    }
    *ok = 1;
    return AJ_E_OK;
}

/* The CONTRACT_AMENDED correction of a record whose charge changed from e->expected to
 * charge->amount: on the record's line while its cycle is open, on the LATE_ line of the
 * account's next invoice naming the emitted one once it is invoiced. */
static aj_err aj_rerate_correct(aj_adjust *adj, const char *account, aj_acc *acc, const aj_rentry *e,
                                const aj_plan *plan, const aj_charge *charge) {
    const aj_contract *k = aj_plan_contract(plan);
    const aj_event *ev = &e->ev;
    aj_correction c;
    aj_lineset *ls = &acc->ls;
    uint32_t idx = e->line;
    aj_err rc;
    const char *rid = ev->kind == AJ_EVENT_USAGE       ? ev->u.usage.record_id
                      : ev->kind == AJ_EVENT_RECURRING ? ev->u.recurring.record_id
                                                       : ev->u.one_time.record_id;
    const char *tariff = ev->kind == AJ_EVENT_USAGE       ? ev->u.usage.tariff_code
                         : ev->kind == AJ_EVENT_RECURRING ? ev->u.recurring.tariff_code
                                                          : ev->u.one_time.tariff_code;
    aj_service service = ev->kind == AJ_EVENT_USAGE       ? ev->u.usage.service
                         : ev->kind == AJ_EVENT_RECURRING ? ev->u.recurring.service
                                                          : AJ_SERVICE__COUNT;

    aj_correction_common(&c, ev, rid, e->occurrence, k);
    /* The correction's position outlives the entry read back: it points to the origin kept. */
    if ((rc = aj_origin_intern(adj, e->origin, &c.source.origin))) return rc;
    /* Clause "Correction ids": the record's id, then the re-rating that changed it. */
    size_t n = strlen(c.correction_id);
    snprintf(c.correction_id + n, sizeof(c.correction_id) - n, "/A%u", acc->amendments);
    snprintf(c.account, sizeof(c.account), "%s", account);
    memcpy(c.cycle_id, acc->cycle_id, sizeof(c.cycle_id));
    snprintf(c.tariff_code, sizeof(c.tariff_code), "%s", tariff);
    c.kind = ev->kind == AJ_EVENT_USAGE ? AJ_KIND_USAGE : ev->kind == AJ_EVENT_RECURRING ? AJ_KIND_RECURRING
                                                                                          : AJ_KIND_ONE_TIME;
    c.service = service;
    c.legacy_amount = e->expected;
    c.corrected_amount = charge->amount;
    if ((rc = aj_money_sub(charge->amount, e->expected, &c.delta))) return rc;
    c.trace = charge->trace;
    c.trace.contract_version = k->version;
    c.reason = AJ_REASON_CONTRACT_AMENDED;
    char was[32], now[32];
    aj_money_format(e->expected, 6, was, sizeof(was));
    aj_money_format(charge->amount, 6, now, sizeof(now));
    snprintf(c.hypothesis, sizeof(c.hypothesis),
             "contract %s v%d%s, effective from %s, arrived after this record was rated with v%d: %s becomes %s",
             k->contract_id, k->version, k->status == AJ_CONTRACT_TERMINATED ? " (terminated)" : "",
             aj_utc(k->effective_from).s, e->version,
             was, now);
    c.disposition = aj_policy_of(&adj->policy, c.reason, c.delta);
    c.late = acc->state == AJ_ACC_CLOSED;
    if (c.late) {
        aj_account *a;
        if ((rc = aj_account_get(adj, account, &a))) return rc;
        ls = &a->late;
        aj_line_kind kind = ev->kind == AJ_EVENT_USAGE       ? AJ_LINE_LATE_USAGE
                            : ev->kind == AJ_EVENT_RECURRING ? AJ_LINE_LATE_RECURRING
                                                             : AJ_LINE_LATE_ONE_TIME;
        if ((rc = aj_lineset_line(ls, kind, service, "", acc->invoice_id, &idx))) return rc;
        snprintf(c.invoice_id, sizeof(c.invoice_id), "%s", acc->invoice_id);
    } else {
        if (idx >= ls->n) return AJ_E_BAD_LENGTH;   /* a log that does not match its lines */
        aj_invoice_id(c.invoice_id, sizeof(c.invoice_id), account, acc->cycle_id, 1);
        if ((rc = aj_acc_version(acc, k->version))) return rc;   /* the invoice names the versions it carries */
    }
    const char *line_id = aj_lineset_line_id(ls, idx);
    snprintf(c.invoice_line, sizeof(c.invoice_line), "%s", line_id);
    if ((rc = aj_lineset_add(ls, idx, 0, 0, 0, c.delta)) ||
        (rc = aj_lineset_adjust(ls, idx, c.reason, c.disposition, 1, c.delta)) || (rc = aj_record_stats(adj, &c)))
        return rc;
    adj->stats.amended++;
    return adj->out.correction(adj->out.opaque, &c);
}

/*
 * Clause "Backdated amendments": rates every logged record of the cycle again, in the order it
 * came, with fresh allowances, as if the contract as it is now had been known all along. Each
 * record whose charge changes gets a CONTRACT_AMENDED correction of the difference; the cycle
 * keeps the new allowances and the log the new charges.
 */
static aj_err aj_rerate_cycle(aj_adjust *adj, const char *account, aj_acc *acc) {
    aj_counters counters = {0};
    aj_rentry e;
    aj_charge charge;
    int bumped = 0;
    aj_err rc = AJ_E_OK;

    for (size_t at = 0; at < acc->rlog.len; at = e.next) {
        int in_force, ok;
        if ((rc = aj_rlog_get(acc, account, at, &e))) goto out;
        const aj_plan *plan = aj_rerate_plan(adj, &e.ev, &in_force);
        if (!plan) continue;
        if ((rc = aj_rerate_record(plan, in_force, &e, &counters, &charge, &ok))) goto out;
        if (!ok) {
            adj->stats.amend_kept++;
            continue;
        }
        if (charge.amount != e.expected) {
            if (!bumped) {
                acc->amendments++;
                bumped = 1;
            }
            if ((rc = aj_rerate_correct(adj, account, acc, &e, plan, &charge))) goto out;
        }
        aj_rlog_set(&acc->rlog, at, charge.amount, aj_plan_contract(plan)->version, in_force);
    }
    aj_counters_free(&acc->counters);
    acc->counters = counters;
    return AJ_E_OK;
out:
    aj_counters_free(&counters);
    return rc;
}

/* A cycle to look at, with its key ("account\0cycle"). */
typedef struct aj_rerate_item {
    const char *key;
    size_t klen;
    aj_acc *acc;
} aj_rerate_item;

typedef struct aj_rerate_list {
    aj_rerate_item *v;
    size_t n, cap;
    const char **accounts;   /* sorted; NULL: every account */
    size_t n_accounts;
    aj_err rc;
} aj_rerate_list;

static int aj_strcmp_p(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int aj_rerate_item_cmp(const void *a, const void *b) {
    const aj_rerate_item *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int aj_rerate_collect(void *opaque, const void *key, size_t klen, void *value) {
    aj_rerate_list *l = opaque;
    aj_acc *acc = value;
    const char *account = key;
    if (acc->state == AJ_ACC_RELEASED || acc->rlog.len == 0) return 0;
    if (l->accounts && !bsearch(&account, l->accounts, l->n_accounts, sizeof(*l->accounts), aj_strcmp_p)) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        aj_rerate_item *grown = realloc(l->v, cap * sizeof(*grown));
        if (!grown) {
            l->rc = AJ_E_NOMEM;
            return 1;
        }
        l->v = grown;
        l->cap = cap;
    }
    l->v[l->n++] = (aj_rerate_item){key, klen, acc};
    return 0;
}

aj_err aj_adjust_amendments(aj_adjust *adj) {
    size_t total = aj_contract_store_amended_count(adj->store);
    aj_rerate_list l = {0};
    aj_err rc = AJ_E_OK;

    if (!adj->check_all && adj->amended_seen == total) return AJ_E_OK;
    if (!adj->check_all) {
        l.n_accounts = total - adj->amended_seen;
        if (!(l.accounts = malloc(l.n_accounts * sizeof(*l.accounts)))) return AJ_E_NOMEM;
        aj_contract_store_amended(adj->store, adj->amended_seen, l.accounts, l.n_accounts);
        qsort(l.accounts, l.n_accounts, sizeof(*l.accounts), aj_strcmp_p);
    }
    aj_map_each(adj->cycles, aj_rerate_collect, &l);
    if ((rc = l.rc)) goto out;
    /* In key order, so that the corrections come out in the same order whatever the map's. */
    if (l.n) qsort(l.v, l.n, sizeof(*l.v), aj_rerate_item_cmp);
    for (size_t i = 0; i < l.n; i++) {
        int due;
        if ((rc = aj_rerate_due(adj, l.v[i].key, l.v[i].acc, &due))) goto out;
        if (due && (rc = aj_rerate_cycle(adj, l.v[i].key, l.v[i].acc))) goto out;
    }
    adj->amended_seen = total;
    adj->check_all = 0;
out:
    free(l.v);
    free((void *)l.accounts);
    return rc;
}

aj_err aj_adjust_event(aj_adjust *adj, const aj_event *ev, char *detail, size_t detlen) {
    if (detlen) detail[0] = '\0';
    /* Clause "Backdated amendments": a version that arrived since is applied before the event. */
    aj_err rc = aj_adjust_amendments(adj);
    if (rc) {
        /* Not the event's fault: never a reason to dead-letter it. */
        snprintf(detail, detlen, "re-rating after a backdated contract amendment: %s", aj_err_str(rc));
        return aj_err_is_reject(rc) ? AJ_E_FATAL : rc;
    }
    switch (ev->kind) {
    case AJ_EVENT_USAGE:
        return aj_adjust_usage(adj, ev, detail, detlen);
    case AJ_EVENT_RECURRING:
        return aj_adjust_recurring(adj, ev, detail, detlen);
    case AJ_EVENT_CYCLE_CLOSE:
        return aj_adjust_close(adj, ev, detail, detlen);
    case AJ_EVENT_CREDIT:
        return aj_adjust_credit(adj, ev, detail, detlen);
    case AJ_EVENT_ONE_TIME:
        return aj_adjust_one_time(adj, ev, detail, detlen);
    }
    return AJ_E_ARG;
}

/* ------------------------------------------------------------------ the state, saved and restored */

/*
 * The state of an adjuster as bytes (docs/reliability.md, "Checkpoints"): every account-cycle
 * (open, closed with its kept consumption, released), every account (late lines, credited
 * dispute ids, the kept cycle). Avro binary primitives; version 1:
 *   "AJST" 1
 *   n_cycles, then per cycle: account, cycle, currency, contract, invoice id, state, lineset,
 *                             versions, counters, seen; since version 2: amendments, log (bytes)
 *   n_accounts, then per account: account, late lineset, applied seen, kept cycle ("" none)
 * Statistics and the policy are not state: they belong to the process.
 */
#define AJ_STATE_MAGIC "AJST"
#define AJ_STATE_VERSION 2   /* 2: the log of rated records (1 is still read, with no log) */
#define AJ_RLOG_PIECE (1u << 20)   /* the log is saved in pieces of at most 1 MiB */

#define AJ_PUT(expr)                        \
    do {                                    \
        if ((rc = (expr)) != AJ_E_OK) return rc; \
    } while (0)

static aj_err aj_save_lineset(aj_bytes *b, const aj_lineset *ls) {
    aj_err rc;
    AJ_PUT(aj_avro_put_long(b, (int64_t)ls->n));
    for (size_t i = 0; i < ls->n; i++) {
        aj_invoice_line line, *l = &line;
        aj_lineset_invoice_line(ls, (uint32_t)i, l);
        AJ_PUT(aj_put_str(b, l->line_id));
        AJ_PUT(aj_avro_put_long(b, l->kind));
        AJ_PUT(aj_avro_put_long(b, l->service));
        AJ_PUT(aj_put_str(b, l->item));
        AJ_PUT(aj_put_str(b, l->refers_to));
        AJ_PUT(aj_put_str(b, l->description));
        AJ_PUT(aj_avro_put_long(b, l->records));
        AJ_PUT(aj_avro_put_long(b, l->quantity));
        AJ_PUT(aj_avro_put_long(b, l->legacy_amount));
        AJ_PUT(aj_avro_put_long(b, l->corrected_amount));
        AJ_PUT(aj_avro_put_long(b, l->billed_amount));
        AJ_PUT(aj_avro_put_long(b, l->corrections));
        AJ_PUT(aj_avro_put_bool(b, l->memo));
    }
    AJ_PUT(aj_avro_put_long(b, (int64_t)ls->n_adjs));
    for (size_t i = 0; i < ls->n_adjs; i++) {
        const aj_invoice_adjustment *a = &ls->adjs[i];
        AJ_PUT(aj_avro_put_long(b, a->line));
        AJ_PUT(aj_avro_put_long(b, a->reason));
        AJ_PUT(aj_avro_put_long(b, a->disposition));
        AJ_PUT(aj_avro_put_long(b, a->count));
        AJ_PUT(aj_avro_put_long(b, a->delta));
    }
    return AJ_E_OK;
}

static aj_err aj_save_seen(aj_bytes *b, const aj_seen *s) {
    aj_err rc;
    AJ_PUT(aj_avro_put_long(b, (int64_t)s->n));
    for (size_t i = 0; i < s->cap; i++)
        if (s->keys[i]) {
            AJ_PUT(aj_avro_put_long(b, (int64_t)s->keys[i]));
            AJ_PUT(aj_avro_put_long(b, s->counts[i]));
        }
    return AJ_E_OK;
}

typedef struct aj_save_ctx {
    aj_bytes *b;
    aj_err rc;
} aj_save_ctx;

static int aj_save_cycle(void *opaque, const void *key, size_t klen, void *value) {
    aj_save_ctx *x = opaque;
    const aj_acc *acc = value;
    aj_bytes *b = x->b;
    aj_err rc = AJ_E_OK;
    size_t alen = strlen(key);   /* "account\0cycle" */
    (void)klen;
#define AJ_SPUT(expr)                          \
    do {                                       \
        if ((rc = (expr)) != AJ_E_OK) goto fail; \
    } while (0)
    AJ_SPUT(aj_avro_put_string(b, key, alen));
    AJ_SPUT(aj_put_str(b, acc->cycle_id));
    AJ_SPUT(aj_put_str(b, acc->currency));
    AJ_SPUT(aj_put_str(b, acc->contract_id));
    AJ_SPUT(aj_put_str(b, acc->invoice_id));
    AJ_SPUT(aj_avro_put_long(b, acc->state));
    AJ_SPUT(aj_save_lineset(b, &acc->ls));
    AJ_SPUT(aj_avro_put_long(b, (int64_t)acc->n_versions));
    for (size_t i = 0; i < acc->n_versions; i++) AJ_SPUT(aj_avro_put_long(b, acc->versions[i]));
    AJ_SPUT(aj_avro_put_long(b, (int64_t)acc->counters.n));
    for (size_t i = 0; i < acc->counters.n; i++) {
        AJ_SPUT(aj_avro_put_long(b, acc->counters.v[i].kind));
        AJ_SPUT(aj_put_str(b, acc->counters.v[i].name));
        AJ_SPUT(aj_avro_put_long(b, acc->counters.v[i].used));
    }
    AJ_SPUT(aj_save_seen(b, &acc->seen));
    AJ_SPUT(aj_avro_put_long(b, acc->amendments));
    /* The log in pieces (a reader refuses a string over AJ_AVRO_MAX_LEN): count, then each. */
    size_t pieces = (acc->rlog.len + AJ_RLOG_PIECE - 1) / AJ_RLOG_PIECE;
    AJ_SPUT(aj_avro_put_long(b, (int64_t)pieces));
    for (size_t i = 0; i < pieces; i++) {
        size_t off = i * AJ_RLOG_PIECE, n = acc->rlog.len - off < AJ_RLOG_PIECE ? acc->rlog.len - off : AJ_RLOG_PIECE;
        AJ_SPUT(aj_avro_put_string(b, (const char *)acc->rlog.data + off, n));
    }
    return 0;
fail:
    x->rc = rc;
    return 1;
}

static int aj_save_account(void *opaque, const void *key, size_t klen, void *value) {
    aj_save_ctx *x = opaque;
    const aj_account *a = value;
    aj_bytes *b = x->b;
    aj_err rc = AJ_E_OK;
    AJ_SPUT(aj_avro_put_string(b, key, klen));
    AJ_SPUT(aj_save_lineset(b, &a->late));
    AJ_SPUT(aj_save_seen(b, &a->applied));
    AJ_SPUT(aj_put_str(b, a->kept ? a->kept->cycle_id : ""));
    return 0;
fail:
    x->rc = rc;
    return 1;
#undef AJ_SPUT
}

aj_err aj_adjust_save(const aj_adjust *adj, aj_bytes *out) {
    aj_save_ctx x = {out, AJ_E_OK};
    aj_err rc;
    AJ_PUT(aj_avro_put_raw(out, AJ_STATE_MAGIC, 4));
    AJ_PUT(aj_avro_put_long(out, AJ_STATE_VERSION));
    AJ_PUT(aj_avro_put_long(out, (int64_t)aj_map_size(adj->cycles)));
    aj_map_each(adj->cycles, aj_save_cycle, &x);
    if (x.rc) return x.rc;
    AJ_PUT(aj_avro_put_long(out, (int64_t)aj_map_size(adj->accounts)));
    aj_map_each(adj->accounts, aj_save_account, &x);
    return x.rc;
}

/* ---- restoring: every read checked, every count bounded by the bytes left */

static aj_err aj_get_count(aj_avro_in *in, size_t *n) {
    int64_t v;
    aj_err rc = aj_avro_get_long(in, &v);
    if (rc) return rc;
    /* Each item takes at least one byte. */
    if (v < 0 || (uint64_t)v > (uint64_t)(in->end - in->p)) return AJ_E_BAD_LENGTH;
    *n = (size_t)v;
    return AJ_E_OK;
}

static aj_err aj_get_field(aj_avro_in *in, char *dst, size_t size) {
    const char *s;
    size_t len;
    aj_err rc = aj_avro_get_string(in, &s, &len);
    if (rc) return rc;
    if (len >= size) return AJ_E_FIELD_TOO_LONG;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return AJ_E_OK;
}

static aj_err aj_get_int(aj_avro_in *in, int64_t lo, int64_t hi, int64_t *v) {
    aj_err rc = aj_avro_get_long(in, v);
    if (rc) return rc;
    return *v < lo || *v > hi ? AJ_E_BAD_ENUM : AJ_E_OK;
}

static aj_err aj_load_lineset(aj_avro_in *in, aj_lineset *ls) {
    size_t n;
    int64_t v;
    int memo;
    aj_err rc;
    AJ_PUT(aj_get_count(in, &n));
    for (size_t i = 0; i < n; i++) {
        aj_invoice_line line, *l = &line;
        memset(l, 0, sizeof(*l));
        AJ_PUT(aj_get_field(in, l->line_id, sizeof(l->line_id)));
        AJ_PUT(aj_get_int(in, 0, AJ_LINE__COUNT - 1, &v));
        l->kind = (aj_line_kind)v;
        AJ_PUT(aj_get_int(in, 0, AJ_SERVICE__COUNT, &v));
        l->service = (aj_service)v;
        AJ_PUT(aj_get_field(in, l->item, sizeof(l->item)));
        AJ_PUT(aj_get_field(in, l->refers_to, sizeof(l->refers_to)));
        AJ_PUT(aj_get_field(in, l->description, sizeof(l->description)));
        AJ_PUT(aj_avro_get_long(in, &l->records));
        AJ_PUT(aj_avro_get_long(in, &l->quantity));
        AJ_PUT(aj_avro_get_long(in, &l->legacy_amount));
        AJ_PUT(aj_avro_get_long(in, &l->corrected_amount));
        AJ_PUT(aj_avro_get_long(in, &l->billed_amount));
        AJ_PUT(aj_avro_get_long(in, &l->corrections));
        AJ_PUT(aj_avro_get_bool(in, &memo));
        l->memo = memo;
        AJ_PUT(aj_lineset_put_line(ls, l));
    }
    AJ_PUT(aj_get_count(in, &n));
    if (n && !(ls->adjs = calloc(n, sizeof(*ls->adjs)))) return AJ_E_NOMEM;
    ls->cap_adjs = n;
    for (size_t i = 0; i < n; i++) {
        aj_invoice_adjustment *a = &ls->adjs[i];
        AJ_PUT(aj_get_int(in, 0, (int64_t)ls->n - 1, &v));
        a->line = (uint32_t)v;
        AJ_PUT(aj_get_int(in, 0, AJ_ADJ_TAX_BASE, &v));
        a->reason = (aj_reason)v;
        AJ_PUT(aj_get_int(in, 0, AJ_DISP_HOLD, &v));
        a->disposition = (aj_disposition)v;
        AJ_PUT(aj_avro_get_long(in, &a->count));
        AJ_PUT(aj_avro_get_long(in, &a->delta));
        ls->n_adjs++;
    }
    return AJ_E_OK;
}

static aj_err aj_load_seen(aj_avro_in *in, aj_seen *s) {
    size_t n;
    int64_t key, count;
    aj_err rc;
    AJ_PUT(aj_get_count(in, &n));
    for (size_t i = 0; i < n; i++) {
        uint32_t now;
        AJ_PUT(aj_avro_get_long(in, &key));
        AJ_PUT(aj_get_int(in, 1, UINT32_MAX, &count));
        if (!key || aj_seen_count(s, (uint64_t)key)) return AJ_E_BAD_LENGTH;   /* 0 or twice: corrupt */
        AJ_PUT(aj_seen_add(s, (uint64_t)key, &now));
        /* The new slot holds 1: set the saved count. */
        for (size_t j = (uint64_t)key & (s->cap - 1);; j = (j + 1) & (s->cap - 1))
            if (s->keys[j] == (uint64_t)key) {
                s->counts[j] = (uint32_t)count;
                break;
            }
    }
    return AJ_E_OK;
}

static aj_err aj_load_cycle(aj_adjust *adj, aj_avro_in *in, int64_t version) {
    char account[AJ_KEY_LEN + 1], cycle[AJ_CYCLE_LEN + 1];
    size_t n;
    int64_t v;
    aj_acc *acc;
    aj_err rc;
    AJ_PUT(aj_get_field(in, account, sizeof(account)));
    AJ_PUT(aj_get_field(in, cycle, sizeof(cycle)));
    AJ_PUT(aj_acc_get(adj, account, cycle, 0, &acc));
    if (acc) return AJ_E_BAD_LENGTH;   /* twice */
    AJ_PUT(aj_acc_get(adj, account, cycle, 1, &acc));
    AJ_PUT(aj_get_field(in, acc->currency, sizeof(acc->currency)));
    AJ_PUT(aj_get_field(in, acc->contract_id, sizeof(acc->contract_id)));
    AJ_PUT(aj_get_field(in, acc->invoice_id, sizeof(acc->invoice_id)));
    AJ_PUT(aj_get_int(in, AJ_ACC_OPEN, AJ_ACC_RELEASED, &v));
    acc->state = (aj_acc_state)v;
    if (acc->state != AJ_ACC_OPEN) adj->open--;
    AJ_PUT(aj_load_lineset(in, &acc->ls));
    AJ_PUT(aj_get_count(in, &n));
    for (size_t i = 0; i < n; i++) {
        AJ_PUT(aj_get_int(in, INT32_MIN, INT32_MAX, &v));
        AJ_PUT(aj_acc_version(acc, (int32_t)v));
    }
    AJ_PUT(aj_get_count(in, &n));
    for (size_t i = 0; i < n; i++) {
        char name[AJ_KEY_LEN + 1];
        int64_t kind, used;
        AJ_PUT(aj_get_int(in, AJ_COUNTER_FREE_UNITS, AJ_COUNTER_DISCOUNT, &kind));
        AJ_PUT(aj_get_field(in, name, sizeof(name)));
        AJ_PUT(aj_avro_get_long(in, &used));
        AJ_PUT(aj_counters_add(&acc->counters, (aj_counter_kind)kind, name, used));
    }
    AJ_PUT(aj_load_seen(in, &acc->seen));
    if (version < 2) return AJ_E_OK;
    const char *piece;
    size_t len, n_pieces;
    AJ_PUT(aj_get_int(in, 0, UINT32_MAX, &v));
    acc->amendments = (uint32_t)v;
    AJ_PUT(aj_get_count(in, &n_pieces));
    for (size_t i = 0; i < n_pieces; i++) {
        AJ_PUT(aj_avro_get_string(in, &piece, &len));
        if (len == 0 || len > AJ_RLOG_PIECE) return AJ_E_BAD_LENGTH;
        AJ_PUT(aj_bytes_reserve(&acc->rlog, len));
        memcpy(acc->rlog.data + acc->rlog.len, piece, len);
        acc->rlog.len += len;
    }
    if ((len = acc->rlog.len)) {
        /* Every entry must read back, and lines must exist while the cycle is open. */
        aj_rentry e;
        AJ_PUT(aj_rlog_get(acc, account, 0, &e));
        AJ_PUT(aj_origin_intern(adj, e.origin, &acc->rlog_origin));
        for (size_t at = 0; at < len; at = e.next) {
            AJ_PUT(aj_rlog_get(acc, account, at, &e));
            if (acc->state == AJ_ACC_OPEN && e.line >= acc->ls.n) return AJ_E_BAD_LENGTH;
        }
        adj->check_all = 1;
    }
    return AJ_E_OK;
}

static aj_err aj_load_account(aj_adjust *adj, aj_avro_in *in) {
    char account[AJ_KEY_LEN + 1], kept[AJ_CYCLE_LEN + 1];
    aj_account *a;
    aj_err rc;
    AJ_PUT(aj_get_field(in, account, sizeof(account)));
    if (aj_map_get(adj->accounts, account, strlen(account))) return AJ_E_BAD_LENGTH;   /* twice */
    AJ_PUT(aj_account_get(adj, account, &a));
    AJ_PUT(aj_load_lineset(in, &a->late));
    AJ_PUT(aj_load_seen(in, &a->applied));
    AJ_PUT(aj_get_field(in, kept, sizeof(kept)));
    if (kept[0]) {
        AJ_PUT(aj_acc_get(adj, account, kept, 0, &a->kept));
        if (!a->kept) return AJ_E_MISSING_FIELD;   /* names a cycle the state does not have */
    }
    return AJ_E_OK;
}

aj_err aj_adjust_load(aj_adjust *adj, const void *data, size_t len) {
    aj_avro_in in = {data, (const uint8_t *)data + len};
    size_t n;
    int64_t version;
    aj_err rc;
    if (aj_map_size(adj->cycles) || aj_map_size(adj->accounts)) return AJ_E_ARG;
    if (len < 4 || memcmp(data, AJ_STATE_MAGIC, 4) != 0) return AJ_E_BAD_MAGIC;
    in.p += 4;
    AJ_PUT(aj_avro_get_long(&in, &version));
    if (version < 1 || version > AJ_STATE_VERSION) return AJ_E_UNKNOWN_SCHEMA;
    AJ_PUT(aj_get_count(&in, &n));
    for (size_t i = 0; i < n; i++) AJ_PUT(aj_load_cycle(adj, &in, version));
    AJ_PUT(aj_get_count(&in, &n));
    for (size_t i = 0; i < n; i++) AJ_PUT(aj_load_account(adj, &in));
    return in.p == in.end ? AJ_E_OK : AJ_E_TRAILING_BYTES;
}

#undef AJ_PUT
