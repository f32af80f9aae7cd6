/* test_kafka_review.c - on the mock cluster: late records, dispute credits delivered twice
 * (and one published while the pipeline runs), invoices held for review and released by
 * `ajuste release`, and every correction reflected on exactly one invoice line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "../unit/aj_fixtures.h"
#include "aj_cmd.h"

#define P_OCT 1790823600000LL   /* 2026-10-01T03:00Z = Oct 1 00:00 in Sao Paulo */
#define P_NOV 1793502000000LL
#define P_DEC 1796094000000LL
#define OCT05 1791212400000LL
#define OCT20 1792454400000LL
#define NOV05 1793890800000LL
#define NOV10 (NOV05 + 5 * 86400000LL)
#define HOUR 3600000LL
#define DAY (24 * HOUR)
#define NATIONAL_NR "+552133334444"

/* The right charge of 37 s to NATIONAL_NR under fx_contract(120000): 42 s x 0.12/min + 0.01. */
#define RIGHT 94000
#define OVER 120000      /* a stale price: 26000 too much */
#define WAY_OVER 300000  /* 206000 too much: above 40% of the invoice */

typedef struct kr {
    rd_kafka_t *mrk;
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *prod;
    aj_config cfg;
    aj_encoder *enc;
    char boot[256];
} kr;

static kr K;

/* Produces datum as an Avro single-object message of schema id, keyed by key. */
static void produce_datum(const char *topic, const char *key, aj_schema_id id, const aj_bytes *datum) {
    uint8_t buf[4096];
    assert_true(datum->len + AJ_SOM_HEADER_LEN <= sizeof(buf));
    aj_som_header(aj_schema_current(id)->fingerprint, buf);
    memcpy(buf + AJ_SOM_HEADER_LEN, datum->data, datum->len);
    assert_int_equal(rd_kafka_producev(K.prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                       RD_KAFKA_V_VALUE(buf, datum->len + AJ_SOM_HEADER_LEN),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     0);
}

static void produce(const char *topic, const char *key, const aj_event *ev) {
    aj_bytes b = {0};
    assert_int_equal(aj_encode_event(K.enc, ev, &b), AJ_E_OK);
    produce_datum(topic, key, ev->kind == AJ_EVENT_CREDIT ? AJ_SCHEMA_DISPUTE_CREDIT : AJ_SCHEMA_USAGE_EVENT, &b);
    aj_bytes_free(&b);
}

static void flush_all(void) {
    assert_int_equal(rd_kafka_flush(K.prod, 30000), 0);
}

static aj_event usage(const char *account, const char *id, const char *cycle, aj_money legacy, int64_t start) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_USAGE;
    ev.u.usage = fx_usage(id, AJ_SERVICE_VOICE, NATIONAL_NR, 37, legacy, start);
    snprintf(ev.u.usage.account, sizeof(ev.u.usage.account), "%s", account);
    snprintf(ev.u.usage.subscriber, sizeof(ev.u.usage.subscriber), "%s-L0", account);
    snprintf(ev.u.usage.cycle_id, sizeof(ev.u.usage.cycle_id), "%s", cycle);
    return ev;
}

static aj_event close_of(const char *account, const char *cycle, int64_t from, int64_t to) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CYCLE_CLOSE;
    snprintf(ev.u.close.account, sizeof(ev.u.close.account), "%s", account);
    snprintf(ev.u.close.cycle_id, sizeof(ev.u.close.cycle_id), "%s", cycle);
    ev.u.close.period_start_ms = from;
    ev.u.close.period_end_ms = to;
    return ev;
}

static aj_event credit(const char *dispute, const char *account, aj_money amount, int64_t accepted) {
    aj_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = AJ_EVENT_CREDIT;
    snprintf(ev.u.credit.dispute_id, sizeof(ev.u.credit.dispute_id), "%s", dispute);
    snprintf(ev.u.credit.account, sizeof(ev.u.credit.account), "%s", account);
    snprintf(ev.u.credit.invoice_id, sizeof(ev.u.credit.invoice_id), "LEGACY-2026-08");
    snprintf(ev.u.credit.currency, sizeof(ev.u.credit.currency), "BRL");
    snprintf(ev.u.credit.reason, sizeof(ev.u.credit.reason), "roaming billed twice");
    ev.u.credit.amount = amount;
    ev.u.credit.accepted_ms = accepted;
    return ev;
}

/* A source that hands on the Kafka source's messages and, just before the first one whose key
 * is `trigger_key` and whose offset is at least trigger_offset, publishes a credit: the live
 * credit topic, as the daemon sees it. */
typedef struct live_src {
    aj_source base;
    aj_source *inner;
    int fired;
} live_src;

static aj_err live_next(aj_source *s, aj_message *m, int timeout_ms) {
    live_src *l = (live_src *)s;
    aj_err rc = aj_source_next(l->inner, m, timeout_ms);
    if (rc == AJ_E_OK && !l->fired && m->key_len == 4 && memcmp(m->key, "ACC1", 4) == 0) {
        /* The message is ACC1's: once its November record comes, the credit of Nov 10 is
         * accepted; the pipeline must pick it up at ACC1's November close. */
        aj_event ev;
        char detail[128];
        aj_decoder *dec = aj_decoder_create();
        assert_non_null(dec);
        if (aj_decode_event_message(dec, m->value, m->value_len, &ev, detail, sizeof(detail)) == AJ_E_OK &&
            ev.kind == AJ_EVENT_USAGE && strcmp(ev.u.usage.record_id, "n1") == 0) {
            aj_event cr = credit("D-2", "ACC1", 30000, NOV10);
            produce(K.cfg.credit_topic, "ACC1", &cr);
            flush_all();
            l->fired = 1;
        }
        aj_decoder_destroy(dec);
    }
    return rc;
}
static aj_err live_commit(aj_source *s) {
    return aj_source_commit(((live_src *)s)->inner);
}
static void live_destroy(aj_source *s) {
    aj_source_destroy(((live_src *)s)->inner);
}
static const aj_source_ops live_ops = {live_next, live_commit, live_destroy};

/* ---- reading the outputs back ---- */

typedef struct invs {
    aj_invoice v[16];
    size_t n;
} invs;

static aj_err collect_invoice(void *opaque, const aj_message *m) {
    invs *iv = opaque;
    uint64_t fp;
    assert_int_equal(aj_som_parse(m->value, m->value_len, &fp), AJ_E_OK);
    assert_true(iv->n < 16);
    assert_int_equal(aj_decode_invoice(aj_schema_by_fingerprint(fp), (const uint8_t *)m->value + AJ_SOM_HEADER_LEN,
                                       m->value_len - AJ_SOM_HEADER_LEN, &iv->v[iv->n]),
                     AJ_E_OK);
    iv->n++;
    return AJ_E_OK;
}

static void read_invoices(const char *topic, invs *iv) {
    char err[512];
    memset(iv, 0, sizeof(*iv));
    assert_int_equal(aj_kafka_read_topic(&K.cfg, topic, 30000, collect_invoice, iv, NULL, err, sizeof(err)), AJ_E_OK);
}

static void free_invoices(invs *iv) {
    for (size_t i = 0; i < iv->n; i++) aj_invoice_release(&iv->v[i]);
}

static const aj_invoice *find_invoice(const invs *iv, const char *id) {
    for (size_t i = 0; i < iv->n; i++)
        if (strcmp(iv->v[i].invoice_id, id) == 0) return &iv->v[i];
    return NULL;
}

typedef struct cors {
    aj_correction v[64];
    char origin[64][64];
    size_t n;
} cors;

static aj_err collect_correction(void *opaque, const aj_message *m) {
    cors *c = opaque;
    assert_true(c->n < 64);
    assert_int_equal(aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION),
                                          (const uint8_t *)m->value + AJ_SOM_HEADER_LEN, m->value_len - AJ_SOM_HEADER_LEN,
                                          &c->v[c->n], c->origin[c->n], sizeof(c->origin[c->n])),
                     AJ_E_OK);
    c->n++;
    return AJ_E_OK;
}

static aj_err count_message(void *opaque, const aj_message *m) {
    (void)m;
    (*(int64_t *)opaque)++;
    return AJ_E_OK;
}

/* Lines sum to the totals; legacy - removed + added = corrected. */
static void check_invoice_sums(const aj_invoice *inv) {
    aj_money legacy = 0, billed = 0;
    for (size_t i = 0; i < inv->n_lines; i++) {
        if (inv->lines[i].memo) continue;
        legacy += inv->lines[i].legacy_amount;
        billed += inv->lines[i].billed_amount;
    }
    assert_int_equal(legacy, inv->legacy_total);
    assert_int_equal(billed, inv->corrected_total);
    assert_int_equal(inv->legacy_total - inv->overcharge_removed + inv->undercharge_added, inv->corrected_total);
    assert_int_equal(inv->amount_due, inv->corrected_total);
}

static int release(const char *args) {
    char cmd[1024];
    const char *bin = getenv("AJ_BIN");
    assert_non_null(bin);
    snprintf(cmd, sizeof(cmd), "%s release --bootstrap-servers %s %s >/dev/null", bin, K.boot, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_review_late_and_credits(void **state) {
    char err[512];
    aj_err rc;
    (void)state;

    /* Contracts: ACC1..ACC3, the fixture catalogue, no recurring lines. */
    for (int a = 1; a <= 3; a++) {
        aj_contract *c = fx_contract(1, P_OCT - 300 * 86400000LL, INT64_MAX, 120000);
        char acc[8], ct[8];
        snprintf(acc, sizeof(acc), "ACC%d", a);
        snprintf(ct, sizeof(ct), "CT-%d", a);
        free(c->account);
        free(c->contract_id);
        c->account = fx_dup(acc);
        c->contract_id = fx_dup(ct);
        fx_no_lines(c);
        aj_bytes b = {0};
        assert_int_equal(aj_encode_contract(K.enc, c, &b), AJ_E_OK);
        produce_datum(K.cfg.contract_topic, acc, AJ_SCHEMA_CONTRACT, &b);
        aj_bytes_free(&b);
        aj_contract_free(c);
    }
    /* D-1, accepted in October, delivered twice on the credit topic before the run. */
    aj_event d1 = credit("D-1", "ACC1", 50000, OCT20);
    produce(K.cfg.credit_topic, "ACC1", &d1);
    produce(K.cfg.credit_topic, "ACC1", &d1);

    /* October. ACC1: a stale price on one record (8% of its invoice: issued). ACC2, ACC3: one
     * record 206000 too much (52%: held). */
    const char *U = K.cfg.usage_topic;
    aj_event e;
    e = usage("ACC1", "a", "2026-10", RIGHT, OCT05), produce(U, "ACC1", &e);
    e = usage("ACC1", "b", "2026-10", RIGHT, OCT05 + HOUR), produce(U, "ACC1", &e);
    e = usage("ACC1", "c", "2026-10", OVER, OCT05 + 2 * HOUR), produce(U, "ACC1", &e);
    for (int a = 2; a <= 3; a++) {
        char acc[8], id[8];
        snprintf(acc, sizeof(acc), "ACC%d", a);
        snprintf(id, sizeof(id), "x%d", a);
        e = usage(acc, id, "2026-10", RIGHT, OCT05), produce(U, acc, &e);
        snprintf(id, sizeof(id), "y%d", a);
        e = usage(acc, id, "2026-10", WAY_OVER, OCT05 + HOUR), produce(U, acc, &e);
        e = close_of(acc, "2026-10", P_OCT, P_NOV), produce(U, acc, &e);
    }
    e = close_of("ACC1", "2026-10", P_OCT, P_NOV), produce(U, "ACC1", &e);
    /* The third delivery of D-1, on the usage topic itself. */
    produce(U, "ACC1", &d1);
    /* November: n1 (when it is read, D-2 is published), a late October record with the stale
     * price, the close. Then an October record again: October's delay period is over. */
    e = usage("ACC1", "n1", "2026-11", RIGHT, NOV05), produce(U, "ACC1", &e);
    e = usage("ACC1", "late", "2026-10", OVER, OCT05 + 3 * HOUR), produce(U, "ACC1", &e);
    e = close_of("ACC1", "2026-11", P_NOV, P_DEC), produce(U, "ACC1", &e);
    e = usage("ACC1", "too-late", "2026-10", OVER, OCT05 + 4 * HOUR), produce(U, "ACC1", &e);
    flush_all();

    /* The daemon's wiring: contracts, the credit follower, policy (materiality 40%). */
    assert_int_equal(aj_config_set(&K.cfg, "materiality.percent", "40", err, sizeof(err)), AJ_E_OK);
    aj_policy policy;
    assert_int_equal(aj_policy_from_config(&K.cfg, &policy, err, sizeof(err)), AJ_E_OK);
    aj_contract_store *store = aj_contract_store_create();
    aj_sink *sink = aj_kafka_sink_create(&K.cfg, &rc, err, sizeof(err));
    if (!sink) fail_msg("%s", err);
    aj_pipeline *p = aj_pipeline_create(store, sink);
    assert_non_null(p);
    aj_pipeline_set_policy(p, &policy);
    int64_t read = 0, rejected = 0;
    assert_int_equal(aj_kafka_read_contracts(&K.cfg, K.cfg.contract_topic, 30000, aj_pipeline_add_contract, p, &read,
                                             &rejected, err, sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(read, 3);
    aj_kafka_follower *f = aj_kafka_follower_create(&K.cfg, K.cfg.credit_topic, 30000, &rc, err, sizeof(err));
    if (!f) fail_msg("%s", err);
    aj_pipeline_follow_credits(p, f);
    assert_int_equal(aj_pipeline_sync_credits(p), AJ_E_OK);
    live_src live = {{&live_ops}, aj_kafka_source_create(&K.cfg, &rc, err, sizeof(err)), 0};
    if (!live.inner) fail_msg("%s", err);
    aj_run_opts ro = {1000, 1000, NULL, NULL, NULL, 0};
    assert_int_equal(aj_pipeline_run(p, &live.base, &ro), AJ_E_OK);
    assert_true(live.fired);
    aj_source_destroy(&live.base);
    assert_int_equal(sink->ops->close(sink), AJ_E_OK);

    const aj_adjust_stats *as = aj_pipeline_adjust_stats(p);
    assert_int_equal(as->credits, 2);             /* D-1, D-2 */
    assert_int_equal(as->duplicate_credits, 2);   /* D-1's second and third deliveries */
    assert_int_equal(as->credits_applied, 2);
    assert_int_equal(as->late_records, 1);
    assert_int_equal(as->held, 2);
    assert_int_equal(aj_pipeline_get_stats(p)->dead_by_reason[AJ_E_LATE_USAGE], 1);
    aj_pipeline_destroy(p);
    aj_kafka_follower_destroy(f);
    aj_contract_store_destroy(store);

    /* Review: both held invoices on the review topic, nothing of theirs on the invoice topic. */
    invs review, out;
    read_invoices(K.cfg.review_topic, &review);
    assert_int_equal(review.n, 2);
    for (size_t i = 0; i < review.n; i++) {
        assert_int_equal(review.v[i].status, AJ_INV_HELD);
        assert_non_null(strstr(review.v[i].status_reason, "40"));
        check_invoice_sums(&review.v[i]);
    }
    read_invoices(K.cfg.invoice_topic, &out);
    assert_int_equal(out.n, 2);   /* ACC1 October and November */
    free_invoices(&out);

    /* Releases: ACC2 as it is, ACC3 with its corrections flagged; a second release of either
     * is refused and writes nothing; an unknown id is refused. */
    assert_int_equal(release("--id INV-ACC2-2026-10-r1 --as-is --reviewer ana"), 0);
    assert_int_equal(release("--id INV-ACC3-2026-10-r1 --flag --reviewer ana --note 'notice pending'"), 0);
    assert_int_equal(release("--id INV-ACC2-2026-10-r1 --flag --reviewer bob"), 1);
    assert_int_equal(release("--id INV-ACC3-2026-10-r1 --as-is --reviewer bob"), 1);
    assert_int_equal(release("--id INV-ACC1-2026-10-r1 --as-is --reviewer bob"), 1);
    assert_int_equal(release("--id INV-ACC2 --as-is"), 2);   /* no --reviewer */

    read_invoices(K.cfg.invoice_topic, &out);
    assert_int_equal(out.n, 4);
    const char *ids[] = {"INV-ACC1-2026-10-r1", "INV-ACC1-2026-11-r1", "INV-ACC2-2026-10-r1", "INV-ACC3-2026-10-r2"};
    for (int i = 0; i < 4; i++) assert_non_null(find_invoice(&out, ids[i]));
    for (size_t i = 0; i < out.n; i++) check_invoice_sums(&out.v[i]);

    /* As it is: the held invoice's amounts, status RELEASED naming the reviewer. */
    const aj_invoice *r2 = find_invoice(&out, "INV-ACC2-2026-10-r1"), *h2 = find_invoice(&review, "INV-ACC2-2026-10-r1");
    assert_int_equal(r2->status, AJ_INV_RELEASED);
    assert_non_null(strstr(r2->status_reason, "ana"));
    assert_int_equal(r2->corrected_total, h2->corrected_total);
    assert_int_equal(r2->corrected_total, 2 * RIGHT);
    /* Flagged: revision 2, billed at the legacy amounts, the correction kept as advisory. */
    const aj_invoice *r3 = find_invoice(&out, "INV-ACC3-2026-10-r2");
    assert_int_equal(r3->status, AJ_INV_RELEASED);
    assert_int_equal(r3->revision, 2);
    assert_int_equal(r3->corrected_total, RIGHT + WAY_OVER);
    assert_int_equal(r3->flagged_overcharge, WAY_OVER - RIGHT);
    assert_int_equal(r3->overcharge_removed, 0);
    assert_non_null(strstr(r3->status_reason, "notice pending"));

    /* ACC1: D-1 on October's invoice, D-2 on November's, each exactly once; the late record on
     * November's invoice, naming October's. */
    const aj_invoice *oct = find_invoice(&out, "INV-ACC1-2026-10-r1"), *nov = find_invoice(&out, "INV-ACC1-2026-11-r1");
    int d1_lines = 0, d2_lines = 0, late_lines = 0;
    for (size_t k = 0; k < out.n; k++)
        for (size_t i = 0; i < out.v[k].n_lines; i++) {
            const aj_invoice_line *l = &out.v[k].lines[i];
            if (l->kind == AJ_LINE_CREDIT && strcmp(l->item, "D-1") == 0) {
                d1_lines++;
                assert_ptr_equal(&out.v[k], oct);
                assert_int_equal(l->billed_amount, -50000);
            }
            if (l->kind == AJ_LINE_CREDIT && strcmp(l->item, "D-2") == 0) {
                d2_lines++;
                assert_ptr_equal(&out.v[k], nov);
                assert_int_equal(l->billed_amount, -30000);
            }
            if (l->kind == AJ_LINE_LATE_USAGE) {
                late_lines++;
                assert_ptr_equal(&out.v[k], nov);
                assert_string_equal(l->refers_to, "INV-ACC1-2026-10-r1");
                assert_int_equal(l->legacy_amount, OVER);
                assert_int_equal(l->billed_amount, RIGHT);
            }
        }
    assert_int_equal(d1_lines, 1);
    assert_int_equal(d2_lines, 1);
    assert_int_equal(late_lines, 1);
    assert_int_equal(oct->corrected_total, 3 * RIGHT - 50000);
    assert_int_equal(nov->corrected_total, RIGHT + RIGHT - 30000);

    /* Every correction on exactly one line of one emitted invoice: per (invoice, line, reason,
     * disposition, sign) the corrections' count and sum equal the adjustment's. A correction's
     * invoice is the one emitted for its account and cycle, or for a late one the invoice that
     * carries its line; on a revision-2 release its disposition reads FLAG. */
    cors cs;
    memset(&cs, 0, sizeof(cs));
    assert_int_equal(aj_kafka_read_topic(&K.cfg, K.cfg.correction_topic, 30000, collect_correction, &cs, NULL, err,
                                         sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(cs.n, 4);   /* c, y2, y3, late */
    int64_t matched[16][32];
    memset(matched, 0, sizeof(matched));
    for (size_t i = 0; i < cs.n; i++) {
        const aj_correction *c = &cs.v[i];
        int hits = 0;
        for (size_t k = 0; k < out.n; k++) {
            const aj_invoice *inv = &out.v[k];
            if (strcmp(inv->account, c->account) != 0) continue;
            for (size_t a = 0; a < inv->n_adjustments; a++) {
                const aj_invoice_adjustment *adj = &inv->adjustments[a];
                aj_disposition want = inv->revision == 2 ? AJ_DISP_FLAG : c->disposition;
                if (strcmp(inv->lines[adj->line].line_id, c->invoice_line) != 0 || adj->reason != c->reason ||
                    adj->disposition != want || (adj->delta < 0) != (c->delta < 0))
                    continue;
                /* Not late: the invoice of its own cycle. */
                if (!c->late && strcmp(inv->cycle_id, c->cycle_id) != 0) continue;
                matched[k][a] += 1;
                hits++;
            }
        }
        assert_int_equal(hits, 1);
    }
    for (size_t k = 0; k < out.n; k++)
        for (size_t a = 0; a < out.v[k].n_adjustments; a++)
            if (out.v[k].adjustments[a].reason != AJ_ADJ_TAX_BASE)
                assert_int_equal(matched[k][a], out.v[k].adjustments[a].count);

    /* The too-late record is a dead letter, not lost. */
    int64_t dead = 0;
    assert_int_equal(aj_kafka_read_topic(&K.cfg, K.cfg.dead_letter_topic, 30000, count_message, &dead, NULL, err,
                                         sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(dead, 1);
    free_invoices(&out);
    free_invoices(&review);
}

/* ---- a contract amendment published while the daemon runs ---- */

/* The right charge of 37 s to NATIONAL_NR at 0.06/min (version 2): 42 s x 0.06/min + 0.01. */
#define RIGHT_V2 52000

/* Hands on the Kafka source's messages; when message number fire_at (1: the first) is read,
 * publishes version 2 of the account's contract, in force from `from` at `price` per minute. */
typedef struct amend_src {
    aj_source base;
    aj_source *inner;
    int fired;
    int read, fire_at;
    const char *account;
    int64_t from;
    int64_t price;
} amend_src;

static aj_err amend_next(aj_source *s, aj_message *m, int timeout_ms) {
    amend_src *a = (amend_src *)s;
    aj_err rc = aj_source_next(a->inner, m, timeout_ms);
    if (rc == AJ_E_OK && !a->fired && ++a->read == a->fire_at) {
        aj_contract *c = fx_contract(2, a->from, INT64_MAX, a->price);
        aj_bytes b = {0};
        free(c->account);
        c->account = fx_dup(a->account);
        fx_no_lines(c);
        assert_int_equal(aj_encode_contract(K.enc, c, &b), AJ_E_OK);
        produce_datum(K.cfg.contract_topic, a->account, AJ_SCHEMA_CONTRACT, &b);
        flush_all();
        aj_bytes_free(&b);
        aj_contract_free(c);
        a->fired = 1;
    }
    return rc;
}
static aj_err amend_commit(aj_source *s) {
    return aj_source_commit(((amend_src *)s)->inner);
}
static void amend_destroy(aj_source *s) {
    aj_source_destroy(((amend_src *)s)->inner);
}
static const aj_source_ops amend_ops = {amend_next, amend_commit, amend_destroy};

/* Points the configuration at topics "<pfx>.usage", "<pfx>.contracts"... (created, one
 * partition each) and group pfx, and publishes version 1 of account's contract (no lines, in
 * force from 300 days before October to `to`, 0.12/min). */
static void amend_prepare(const char *pfx, const char *account, int64_t to) {
    static const char *keys[][2] = {{"input.usage_topic", "usage"},          {"input.contract_topic", "contracts"},
                                    {"output.invoice_topic", "invoices"},    {"output.correction_topic", "corrections"},
                                    {"output.dead_letter_topic", "dead"},    {"output.review_topic", "review"},
                                    {"checkpoint.topic", "checkpoints"}};
    char err[512], topic[64];
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(topic, sizeof(topic), "%s.%s", pfx, keys[i][1]);
        rd_kafka_mock_topic_create(K.mc, topic, 1, 1);
        assert_int_equal(aj_config_set(&K.cfg, keys[i][0], topic, err, sizeof(err)), AJ_E_OK);
    }
    assert_int_equal(aj_config_set(&K.cfg, "kafka.group.id", pfx, err, sizeof(err)), AJ_E_OK);
    assert_int_equal(aj_config_set(&K.cfg, "materiality.percent", "0", err, sizeof(err)), AJ_E_OK);

    aj_contract *c = fx_contract(1, P_OCT - 300 * 86400000LL, to, 120000);
    aj_bytes b = {0};
    free(c->account);
    c->account = fx_dup(account);
    fx_no_lines(c);
    assert_int_equal(aj_encode_contract(K.enc, c, &b), AJ_E_OK);
    produce_datum(K.cfg.contract_topic, account, AJ_SCHEMA_CONTRACT, &b);
    aj_bytes_free(&b);
    aj_contract_free(c);
}

/* Runs the usage topic to its end with the daemon's wiring (checkpoints, the contract
 * follower, a commit after every record) through src, which publishes version 2 on the way;
 * then reads the corrections back into cs. */
static void amend_run(const char *pfx, amend_src *src, cors *cs) {
    char err[512];
    aj_err rc;
    aj_contract_store *store = aj_contract_store_create();
    aj_sink *sink = aj_kafka_sink_create(&K.cfg, &rc, err, sizeof(err));
    if (!sink) fail_msg("%s", err);
    aj_pipeline *p = aj_pipeline_create(store, sink);
    assert_non_null(p);
    aj_kafka_follower *contracts = aj_kafka_follower_create(&K.cfg, K.cfg.contract_topic, 30000, &rc, err, sizeof(err));
    aj_kafka_follower *ckpts = aj_kafka_follower_create(&K.cfg, K.cfg.checkpoint_topic, 30000, &rc, err, sizeof(err));
    assert_non_null(contracts);
    assert_non_null(ckpts);
    int64_t read = 0, rejected = 0;
    assert_int_equal(aj_kafka_sync_contracts(contracts, K.cfg.contract_topic, 30000, aj_pipeline_add_contract, p, &read,
                                             &rejected, err, sizeof(err)),
                     AJ_E_OK);
    assert_int_equal(read, 1);
    aj_ckpt_conf ck = {pfx, K.cfg.usage_topic, K.cfg.checkpoint_topic, ckpts, contracts, K.cfg.contract_topic, 0, 0};
    assert_int_equal(aj_pipeline_enable_checkpoints(p, &ck), AJ_E_OK);
    src->base.ops = &amend_ops;
    if (!(src->inner = aj_kafka_source_create(&K.cfg, &rc, err, sizeof(err)))) fail_msg("%s", err);
    aj_partition_hooks hooks = aj_pipeline_hooks(p);
    aj_kafka_source_set_hooks(src->inner, &hooks);
    aj_run_opts ro = {1, 1000, NULL, NULL, NULL, 0};   /* a commit after every record */
    assert_int_equal(aj_pipeline_run(p, &src->base, &ro), AJ_E_OK);
    assert_true(src->fired);
    aj_source_destroy(&src->base);
    assert_int_equal(sink->ops->close(sink), AJ_E_OK);
    assert_int_equal(aj_pipeline_get_stats(p)->contracts, 2);
    aj_pipeline_destroy(p);
    aj_kafka_follower_destroy(contracts);
    aj_kafka_follower_destroy(ckpts);
    aj_contract_store_destroy(store);

    memset(cs, 0, sizeof(*cs));
    assert_int_equal(aj_kafka_read_topic(&K.cfg, K.cfg.correction_topic, 30000, collect_correction, cs, NULL, err,
                                         sizeof(err)),
                     AJ_E_OK);
}

/*
 * The daemon's wiring (checkpoints, the contract follower): version 2 of ACC9's contract is
 * published after m1 is read; from the next commit the records are rated against it. m2 was
 * billed at version 2's price: no correction. m3 was billed at version 1's: a correction naming
 * version 2. Without following the contract topic, m2 would be corrected and m3 not.
 */
static void test_amendment_while_running(void **state) {
    (void)state;
    amend_prepare("amend", "ACC9", NOV05 + HOUR / 2);
    aj_event e;
    const char *U = K.cfg.usage_topic;
    e = usage("ACC9", "m1", "2026-11", RIGHT, NOV05), produce(U, "ACC9", &e);
    e = usage("ACC9", "m2", "2026-11", RIGHT_V2, NOV05 + HOUR), produce(U, "ACC9", &e);
    e = usage("ACC9", "m3", "2026-11", RIGHT, NOV05 + 2 * HOUR), produce(U, "ACC9", &e);
    e = close_of("ACC9", "2026-11", P_NOV, P_DEC), produce(U, "ACC9", &e);
    flush_all();

    amend_src src = {.fire_at = 1, .account = "ACC9", .from = NOV05 + HOUR / 2, .price = 60000};
    cors cs;
    amend_run("amend", &src, &cs);
    assert_int_equal(cs.n, 1);
    assert_string_equal(cs.v[0].record_id, "m3");
    assert_int_equal(cs.v[0].contract_version, 2);
    assert_int_equal(cs.v[0].legacy_amount, RIGHT);
    assert_int_equal(cs.v[0].corrected_amount, RIGHT_V2);
    assert_int_equal(cs.v[0].reason, AJ_REASON_STALE_CONTRACT_VERSION);
}

/*
 * A backdated amendment (docs/rating.md): November is rated at 0.12/min and invoiced; then
 * version 2, at 0.06/min from November 1, is published. The November invoice stays as it was;
 * n1 gets a CONTRACT_AMENDED correction naming it, and December's invoice carries the
 * difference on a LATE_USAGE line that names it.
 */
static void test_backdated_amendment_while_running(void **state) {
    (void)state;
    amend_prepare("backdated", "ACC8", INT64_MAX);
    aj_event e;
    const char *U = K.cfg.usage_topic;
    e = usage("ACC8", "n1", "2026-11", RIGHT, NOV05), produce(U, "ACC8", &e);
    e = close_of("ACC8", "2026-11", P_NOV, P_DEC), produce(U, "ACC8", &e);
    e = usage("ACC8", "d1", "2026-12", RIGHT_V2, P_DEC + 4 * DAY), produce(U, "ACC8", &e);
    e = close_of("ACC8", "2026-12", P_DEC, P_DEC + 31 * DAY), produce(U, "ACC8", &e);
    flush_all();

    /* Published when the November close is read: in the store from the commit after it. */
    amend_src src = {.fire_at = 2, .account = "ACC8", .from = P_NOV, .price = 60000};
    cors cs;
    amend_run("backdated", &src, &cs);
    assert_int_equal(cs.n, 1);
    const aj_correction *c = &cs.v[0];
    assert_string_equal(c->correction_id, "COR-n1/A1");
    assert_int_equal(c->reason, AJ_REASON_CONTRACT_AMENDED);
    assert_int_equal(c->contract_version, 2);
    assert_int_equal(c->legacy_amount, RIGHT);
    assert_int_equal(c->corrected_amount, RIGHT_V2);
    assert_true(c->late);
    assert_string_equal(c->invoice_id, "INV-ACC8-2026-11-r1");
    assert_string_equal(c->invoice_line, "LATE_USAGE/INV-ACC8-2026-11-r1/VOICE");
    assert_int_equal(c->disposition, AJ_DISP_APPLY);

    invs iv;
    read_invoices(K.cfg.invoice_topic, &iv);
    assert_int_equal(iv.n, 2);
    const aj_invoice *nov = find_invoice(&iv, "INV-ACC8-2026-11-r1"), *dec = find_invoice(&iv, "INV-ACC8-2026-12-r1");
    assert_non_null(nov);
    assert_non_null(dec);
    assert_int_equal(nov->corrected_total, RIGHT);   /* emitted as it was, once */
    check_invoice_sums(dec);
    const aj_invoice_line *late = NULL;
    for (size_t i = 0; i < dec->n_lines; i++)
        if (strcmp(dec->lines[i].line_id, "LATE_USAGE/INV-ACC8-2026-11-r1/VOICE") == 0) late = &dec->lines[i];
    assert_non_null(late);
    assert_string_equal(late->refers_to, "INV-ACC8-2026-11-r1");
    assert_int_equal(late->billed_amount, RIGHT_V2 - RIGHT);
    assert_int_equal(dec->corrected_total, RIGHT_V2 + RIGHT_V2 - RIGHT);
    assert_int_equal(dec->overcharge_removed, RIGHT - RIGHT_V2);
    free_invoices(&iv);
}

static int setup(void **state) {
    char errstr[256], err[256];
    (void)state;
    if (aj_schemas_init() != AJ_E_OK) return -1;
    memset(&K, 0, sizeof(K));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(K.mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) return -1;
    if (!(K.mc = rd_kafka_mock_cluster_new(K.mrk, 1))) return -1;
    if (aj_config_init(&K.cfg) != AJ_E_OK) return -1;
    rd_kafka_mock_topic_create(K.mc, K.cfg.usage_topic, 4, 1);
    rd_kafka_mock_topic_create(K.mc, K.cfg.contract_topic, 1, 1);
    rd_kafka_mock_topic_create(K.mc, K.cfg.credit_topic, 2, 1);
    rd_kafka_mock_topic_create(K.mc, K.cfg.invoice_topic, 2, 1);
    rd_kafka_mock_topic_create(K.mc, K.cfg.review_topic, 1, 1);
    rd_kafka_mock_topic_create(K.mc, K.cfg.correction_topic, 2, 1);
    rd_kafka_mock_topic_create(K.mc, K.cfg.dead_letter_topic, 1, 1);
    snprintf(K.boot, sizeof(K.boot), "%s", rd_kafka_mock_cluster_bootstraps(K.mc));
    aj_config_set(&K.cfg, "kafka.bootstrap.servers", K.boot, err, sizeof(err));
    aj_config_set(&K.cfg, "kafka.fetch.wait.max.ms", "10", err, sizeof(err));
    aj_config_set(&K.cfg, "kafka.log_level", "3", err, sizeof(err));
    aj_config_set(&K.cfg, "run.exit_at_end", "true", err, sizeof(err));
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", K.boot, NULL, 0);
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    if (!(K.prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) return -1;
    if (!(K.enc = aj_encoder_create())) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    aj_encoder_destroy(K.enc);
    rd_kafka_destroy(K.prod);
    aj_config_free(&K.cfg);
    rd_kafka_mock_cluster_destroy(K.mc);
    rd_kafka_destroy(K.mrk);
    aj_schemas_shutdown();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_review_late_and_credits),
        cmocka_unit_test(test_amendment_while_running),
        cmocka_unit_test(test_backdated_amendment_while_running),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
