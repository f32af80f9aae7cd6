/* test_pipeline.c - the whole chain in process on a generated workload: every injected error is
 * found with its reason and amount, nothing else is corrected, every record is accounted for,
 * and the generator is deterministic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aj_cmd.h"
#include "aj_gen.h"
#include "aj_map.h"

/* A sink that keeps every correction and invoice, decoded back from the bytes written. */
typedef struct mem_sink {
    aj_sink base;
    aj_correction *corr;
    size_t n_corr, cap_corr;
    int64_t invoices, dead;
    aj_money invoice_adjust;
    char origin[256];
    uint64_t out_hash;   /* FNV-1a over every output's kind and bytes, in order */
} mem_sink;

static aj_err mem_write(aj_sink *s, aj_output_kind kind, const char *key, const void *d, size_t len) {
    mem_sink *m = (mem_sink *)s;
    uint8_t k = (uint8_t)kind;
    (void)key;
    m->out_hash = (m->out_hash ^ k) * 0x100000001b3ULL;
    for (size_t i = 0; i < len; i++) m->out_hash = (m->out_hash ^ ((const uint8_t *)d)[i]) * 0x100000001b3ULL;
    if (kind == AJ_OUT_CORRECTION) {
        if (m->n_corr == m->cap_corr) {
            m->cap_corr = m->cap_corr ? m->cap_corr * 2 : 1024;
            m->corr = realloc(m->corr, m->cap_corr * sizeof(*m->corr));
        }
        aj_err rc = aj_decode_correction(aj_schema_current(AJ_SCHEMA_CORRECTION), d, len, &m->corr[m->n_corr],
                                         m->origin, sizeof(m->origin));
        if (rc) return rc;
        m->n_corr++;
    } else if (kind == AJ_OUT_INVOICE || kind == AJ_OUT_REVIEW) {
        aj_invoice inv;
        aj_err rc = aj_decode_invoice(aj_schema_current(AJ_SCHEMA_INVOICE), d, len, &inv);
        if (rc) return rc;
        m->invoices++;
        /* The invoice invariants (docs/invoice.md, "Totals"): lines sum to the totals, the
         * totals reconcile, and the corrections' adjustments are on its lines. */
        aj_money legacy = 0, billed = 0;
        for (size_t i = 0; i < inv.n_lines; i++)
            if (!inv.lines[i].memo) {
                legacy += inv.lines[i].legacy_amount;
                billed += inv.lines[i].billed_amount;
            }
        if (legacy != inv.legacy_total || billed != inv.corrected_total ||
            inv.legacy_total - inv.overcharge_removed + inv.undercharge_added != inv.corrected_total)
            fail_msg("invoice %s does not add up", inv.invoice_id);
        for (size_t i = 0; i < inv.n_adjustments; i++)
            if (inv.adjustments[i].reason != AJ_ADJ_TAX_BASE) m->invoice_adjust += inv.adjustments[i].delta;
        aj_invoice_release(&inv);
    } else {
        m->dead++;
    }
    return AJ_E_OK;
}

static aj_err mem_flush(aj_sink *s, int timeout_ms) {
    (void)s;
    (void)timeout_ms;
    return AJ_E_OK;
}

static aj_err mem_close(aj_sink *s) {
    (void)s;
    return AJ_E_OK;
}

static void mem_abort(aj_sink *s) {
    (void)s;
}

static const aj_sink_ops mem_ops = {mem_write, mem_flush, mem_close, mem_abort, NULL};

/* The generator's output, in memory. */
typedef struct gen_mem {
    aj_contract_store *store;
    aj_decoder *dec;
    aj_pipeline *p;
    aj_truth *truths;
    size_t n_truths, cap_truths;
    int64_t events;
    uint64_t hash;    /* FNV-1a over every datum, for determinism */
    int64_t restore_every;   /* > 0: save the state and restore it into a new adjuster every N */
    int64_t restores;
    size_t max_state;
} gen_mem;

static void hash_bytes(uint64_t *h, const void *d, size_t len) {
    const uint8_t *p = d;
    for (size_t i = 0; i < len; i++) *h = (*h ^ p[i]) * 0x100000001b3ULL;
}

static aj_err gm_contract(void *o, const char *key, const void *d, size_t len) {
    gen_mem *g = o;
    aj_contract *c;
    char detail[256];
    (void)key;
    hash_bytes(&g->hash, d, len);
    aj_err rc = aj_decode_contract(g->dec, aj_schema_current(AJ_SCHEMA_CONTRACT), d, len, &c, detail, sizeof(detail));
    if (!rc) rc = aj_contract_store_put(g->store, c, detail, sizeof(detail));
    if (rc) print_error("generated contract refused: %s: %s\n", aj_err_name(rc), detail);
    return rc;
}

static aj_err gm_event(void *o, const char *key, const void *d, size_t len) {
    gen_mem *g = o;
    hash_bytes(&g->hash, d, len);
    aj_message m = {key, strlen(key), d, len, {"mem", -1, g->events++}, aj_schema_current(AJ_SCHEMA_USAGE_EVENT), NULL};
    aj_err rc = aj_pipeline_message(g->p, &m);
    if (rc == AJ_E_OK && g->restore_every > 0 && g->events % g->restore_every == 0) {
        /* What a restart from a checkpoint does: the state as bytes, into a new adjuster. */
        aj_bytes st = {0};
        if ((rc = aj_pipeline_save_partition(g->p, -1, &st)) == AJ_E_OK)
            rc = aj_pipeline_restore_partition(g->p, -1, st.data, st.len);
        if (st.len > g->max_state) g->max_state = st.len;
        aj_bytes_free(&st);
        g->restores++;
    }
    return rc;
}

static aj_err gm_truth(void *o, const aj_truth *t) {
    gen_mem *g = o;
    if (g->n_truths == g->cap_truths) {
        g->cap_truths = g->cap_truths ? g->cap_truths * 2 : 1024;
        g->truths = realloc(g->truths, g->cap_truths * sizeof(*g->truths));
    }
    g->truths[g->n_truths++] = *t;
    return AJ_E_OK;
}

static void run_workload_restoring(uint64_t seed, int64_t error_ppm, int64_t restore_every, gen_mem *g, mem_sink *sink,
                                   aj_gen_counts *counts) {
    aj_gen_opts o;
    aj_gen_defaults(&o);
    o.accounts = 400;
    o.records = 40000;
    o.seed = seed;
    o.error_ppm = error_ppm;
    o.invalid_ppm = 5000;
    memset(sink, 0, sizeof(*sink));
    sink->base.ops = &mem_ops;
    memset(g, 0, sizeof(*g));
    g->hash = 0xcbf29ce484222325ULL;
    g->restore_every = restore_every;
    sink->out_hash = 0xcbf29ce484222325ULL;
    g->store = aj_contract_store_create();
    g->dec = aj_decoder_create();
    g->p = aj_pipeline_create(g->store, &sink->base);
    aj_gen_out out = {g, gm_contract, gm_event, gm_truth};
    assert_int_equal(aj_gen_run(&o, &out, counts), AJ_E_OK);
}

static void run_workload(uint64_t seed, int64_t error_ppm, gen_mem *g, mem_sink *sink, aj_gen_counts *counts) {
    run_workload_restoring(seed, error_ppm, 0, g, sink, counts);
}

static void release(gen_mem *g, mem_sink *sink) {
    aj_pipeline_destroy(g->p);
    aj_decoder_destroy(g->dec);
    aj_contract_store_destroy(g->store);
    free(g->truths);
    free(sink->corr);
}

static void test_ground_truth_exactly(void **state) {
    gen_mem g;
    mem_sink sink;
    aj_gen_counts counts;
    (void)state;

    run_workload(11, 80000, &g, &sink, &counts);
    const aj_pipeline_stats *ps = aj_pipeline_get_stats(g.p);
    const aj_adjust_stats *as = aj_pipeline_adjust_stats(g.p);

    /* every record accounted for */
    assert_int_equal(ps->records_in, counts.usage + counts.recurring + counts.one_time + counts.closes);
    assert_true(counts.one_time > 0);
    assert_int_equal(as->one_time, counts.one_time);
    assert_int_equal(ps->processed + ps->dead_letters, ps->records_in);
    assert_int_equal(sink.dead, ps->dead_letters);
    assert_int_equal(sink.invoices, 400);
    assert_int_equal(as->closes, 400);
    assert_int_equal(aj_pipeline_open_cycles(g.p), 0);

    /* dead letters: exactly the invalid records, by reason */
    int64_t want_dead[AJ_E__COUNT] = {0}, want_corr = 0;
    aj_map *by_id = aj_map_create();
    for (size_t i = 0; i < g.n_truths; i++) {
        if (g.truths[i].dead_letter)
            want_dead[g.truths[i].dead_reason]++;
        else
            want_corr++;
        aj_map_put(by_id, g.truths[i].correction_id, strlen(g.truths[i].correction_id), &g.truths[i], NULL);
    }
    assert_true(counts.invalid > 0);
    for (int e = 0; e < AJ_E__COUNT; e++)
        if (want_dead[e] != ps->dead_by_reason[e])
            fail_msg("dead letters %s: want %lld, got %lld", aj_err_name((aj_err)e), (long long)want_dead[e],
                     (long long)ps->dead_by_reason[e]);

    /* corrections: exactly the injected errors, with their reasons and amounts */
    assert_true(want_corr > 1000);
    assert_int_equal((int64_t)sink.n_corr, want_corr);
    aj_money sum = 0;
    for (size_t i = 0; i < sink.n_corr; i++) {
        const aj_correction *c = &sink.corr[i];
        const aj_truth *t = aj_map_get(by_id, c->correction_id, strlen(c->correction_id));
        if (!t || t->dead_letter) fail_msg("correction %s is not in the ground truth", c->correction_id);
        if (t->reason != c->reason || t->correct != c->corrected_amount || t->legacy != c->legacy_amount)
            fail_msg("%s: want %s %lld->%lld, got %s %lld->%lld (%s)", c->record_id, aj_reason_name(t->reason),
                     (long long)t->legacy, (long long)t->correct, aj_reason_name(c->reason),
                     (long long)c->legacy_amount, (long long)c->corrected_amount, c->hypothesis);
        sum += c->delta;
    }
    /* every reason the generator injects occurs */
    for (int r = 0; r < AJ_REASON__COUNT; r++)
        if (as->by_reason[r] == 0 && r != AJ_REASON_CONTRACT_AMENDED)   /* ajuste's own, not the legacy's */
            fail_msg("no %s injected", aj_reason_name((aj_reason)r));
    assert_int_equal(as->by_reason[AJ_REASON_CONTRACT_AMENDED], 0);   /* contracts known from the start */
    /* the invoices carry the same money as the corrections */
    assert_int_equal(sink.invoice_adjust, sum);
    assert_int_equal(as->undercharge - as->overcharge, sum);
    aj_map_destroy(by_id, NULL);
    release(&g, &sink);
}

static void test_generator_is_deterministic(void **state) {
    gen_mem a, b, c;
    mem_sink sa, sb, sc;
    aj_gen_counts ca, cb, cc;
    (void)state;
    run_workload(5, 50000, &a, &sa, &ca);
    run_workload(5, 50000, &b, &sb, &cb);
    run_workload(6, 50000, &c, &sc, &cc);
    assert_true(a.hash == b.hash);
    assert_true(a.hash != c.hash);
    assert_int_equal(a.n_truths, b.n_truths);
    assert_memory_equal(a.truths, b.truths, a.n_truths * sizeof(*a.truths));
    release(&a, &sa);
    release(&b, &sb);
    release(&c, &sc);
}

/* Saving the state and going on with a new adjuster restored from the bytes (every 997 events,
 * so mid-cycle, between a cycle's records, at closes) changes no output byte. Truncated or
 * altered state is refused, never half-loaded. */
static void test_state_restore_is_invisible(void **state) {
    gen_mem a, b;
    mem_sink sa, sb;
    aj_gen_counts ca, cb;
    (void)state;
    run_workload(11, 50000, &a, &sa, &ca);
    run_workload_restoring(11, 50000, 997, &b, &sb, &cb);
    assert_true(b.restores > 40);
    assert_true(sa.invoices > 0 && sa.n_corr > 0);
    assert_int_equal(sa.invoices, sb.invoices);
    assert_int_equal(sa.n_corr, sb.n_corr);
    assert_int_equal(sa.dead, sb.dead);
    assert_true(sa.out_hash == sb.out_hash);

    aj_bytes st = {0};
    assert_int_equal(aj_pipeline_save_partition(b.p, -1, &st), AJ_E_OK);
    assert_true(st.len > 1000);
    for (size_t cut = 0; cut < st.len; cut += st.len / 97 + 1)
        assert_int_not_equal(aj_pipeline_restore_partition(b.p, -1, st.data, cut), AJ_E_OK);
    st.data[0] = 'X';
    assert_int_equal(aj_pipeline_restore_partition(b.p, -1, st.data, st.len), AJ_E_BAD_MAGIC);
    st.data[0] = 'A';
    assert_int_equal(aj_pipeline_restore_partition(b.p, -1, st.data, st.len), AJ_E_OK);
    aj_bytes_free(&st);
    release(&a, &sa);
    release(&b, &sb);
}

static void test_no_errors_no_corrections(void **state) {
    gen_mem g;
    mem_sink sink;
    aj_gen_counts counts;
    (void)state;
    run_workload(3, 0, &g, &sink, &counts);
    for (size_t i = 0; i < sink.n_corr && i < 5; i++)
        print_error("unexpected correction %s %s %lld -> %lld (%s)\n", sink.corr[i].correction_id,
                    aj_reason_name(sink.corr[i].reason), (long long)sink.corr[i].legacy_amount,
                    (long long)sink.corr[i].corrected_amount, sink.corr[i].hypothesis);
    assert_int_equal(sink.n_corr, 0);
    assert_int_equal(sink.invoice_adjust, 0);
    assert_int_equal(sink.invoices, 400);
    release(&g, &sink);
}

static void test_parse_rate(void **state) {
    int64_t ppm;
    (void)state;
    assert_int_equal(aj_gen_parse_rate("0.05", &ppm), AJ_E_OK);
    assert_int_equal(ppm, 50000);
    assert_int_equal(aj_gen_parse_rate("5%", &ppm), AJ_E_OK);
    assert_int_equal(ppm, 50000);
    assert_int_equal(aj_gen_parse_rate("1", &ppm), AJ_E_OK);
    assert_int_equal(ppm, 1000000);
    assert_int_equal(aj_gen_parse_rate("1.5", &ppm), AJ_E_ARG);
    assert_int_equal(aj_gen_parse_rate("-0.1", &ppm), AJ_E_ARG);
    assert_int_equal(aj_gen_parse_rate("x", &ppm), AJ_E_ARG);
}

static int setup(void **state) {
    (void)state;
    return aj_schemas_init() == AJ_E_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    aj_schemas_shutdown();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ground_truth_exactly),
        cmocka_unit_test(test_generator_is_deterministic),
        cmocka_unit_test(test_state_restore_is_invisible),
        cmocka_unit_test(test_no_errors_no_corrections),
        cmocka_unit_test(test_parse_rate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
