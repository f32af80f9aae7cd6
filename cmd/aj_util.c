/* aj_util.c - helpers shared by the subcommands: flags, paths, summaries, invoice rendering. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aj_cmd.h"
#include "aj_log.h"

extern char **environ;

int aj_parse_count(const char *flag, const char *value, int64_t *out) {
    char *end;
    errno = 0;
    long long n = strtoll(value, &end, 10);
    if (errno || end == value || *end || n < 0) {
        fprintf(stderr, "ajuste: %s expects a non-negative integer, got '%s'\n", flag, value);
        return -1;
    }
    *out = n;
    return 0;
}

char *aj_path(char *buf, size_t len, const char *dir, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

const char *aj_amount(aj_money m, char *buf, size_t len) {
    /* Display rounding only: HALF_UP to cents. */
    aj_money r = m;
    if (aj_money_round(m, 2, AJ_ROUND_HALF_UP, &r) != AJ_E_OK) r = m;
    return aj_money_format(r, 2, buf, len);
}

void aj_summary_print(FILE *out, const aj_pipeline_stats *ps, const aj_adjust_stats *as) {
    char a[32], b[32];

    fprintf(out, "Records in:        %lld (usage %lld, recurring %lld, one-time %lld, cycle closes %lld)\n",
            (long long)ps->records_in, (long long)as->usage, (long long)as->recurring, (long long)as->one_time,
            (long long)as->closes);
    fprintf(out, "Dead letters:      %lld\n", (long long)ps->dead_letters);
    for (int e = 0; e < AJ_E__COUNT; e++)
        if (ps->dead_by_reason[e])
            fprintf(out, "  %-22s %lld\n", aj_err_name((aj_err)e), (long long)ps->dead_by_reason[e]);
    fprintf(out, "Corrections:       %lld\n", (long long)as->corrections);
    for (int r = 0; r < AJ_REASON__COUNT; r++)
        if (as->by_reason[r])
            fprintf(out, "  %-22s %lld\n", aj_reason_name((aj_reason)r), (long long)as->by_reason[r]);
    fprintf(out, "Money corrected:   overcharges removed %s, undercharges added %s\n",
            aj_amount(as->overcharge, a, sizeof(a)), aj_amount(as->undercharge, b, sizeof(b)));
    fprintf(out, "Invoices emitted:  %lld (%lld held for review)\n", (long long)as->invoices, (long long)as->held);
    if (as->late_records)
        fprintf(out, "Late records:      %lld (carried on the account's next invoice)\n", (long long)as->late_records);
    if (as->credits || as->duplicate_credits)
        fprintf(out, "Dispute credits:   %lld received, %lld applied, %lld duplicate deliveries ignored\n",
                (long long)as->credits, (long long)as->credits_applied, (long long)as->duplicate_credits);
}

void aj_progress_stderr(void *opaque, const aj_pipeline_stats *st) {
    static int64_t started;
    int64_t now = aj_now_ms();
    (void)opaque;
    if (!isatty(STDERR_FILENO)) return;
    if (!started) started = now;
    int64_t secs = (now - started) / 1000 + 1;
    fprintf(stderr, "\r  %lld records, %lld dead letters, %lld records/s   ", (long long)st->records_in,
            (long long)st->dead_letters, (long long)(st->records_in / secs));
    fflush(stderr);
}

aj_err aj_config_from_cli(aj_config *cfg, const char *path, char *const *sets, int n_sets, char *err, size_t errlen) {
    aj_log_level level;
    aj_err rc;

    if (path && (rc = aj_config_load_file(cfg, path, err, errlen)) != AJ_E_OK) return rc;
    if ((rc = aj_config_load_env(cfg, environ, err, errlen)) != AJ_E_OK) return rc;
    for (int i = 0; i < n_sets; i++)
        if ((rc = aj_config_set_assignment(cfg, sets[i], err, errlen)) != AJ_E_OK) return rc;
    if (aj_log_parse_level(cfg->log_level, &level) != 0) {
        snprintf(err, errlen, "configuration key 'log.level': '%s' is not error, warn, info or debug", cfg->log_level);
        return AJ_E_CONFIG;
    }
    aj_log_set_level(level);
    return AJ_E_OK;
}

static volatile sig_atomic_t *aj_stop_flag;

static void aj_stop_handler(int sig) {
    (void)sig;
    *aj_stop_flag = 1;
}

void aj_stop_on_signals(volatile sig_atomic_t *flag) {
    struct sigaction sa;
    aj_stop_flag = flag;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = aj_stop_handler;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

aj_err aj_load_input_file(aj_pipeline *p, const char *path, int credits, int *bad_path, char *err, size_t errlen) {
    aj_err rc;
    aj_source *src = aj_file_source_open(path, &rc, err, errlen);

    *bad_path = !src;
    if (!src) return rc;
    rc = credits ? aj_pipeline_load_credits(p, src) : aj_pipeline_load_contracts(p, src);
    aj_source_destroy(src);
    if (rc != AJ_E_OK) snprintf(err, errlen, "reading %s: %s", path, aj_err_str(rc));
    return rc;
}
