/* aj_cmd_run.c - `ajuste run`: the streaming daemon, Kafka in and out. */
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "aj_cmd.h"
#include "aj_policy.h"
#include "aj_log.h"

static volatile sig_atomic_t aj_run_stop;

static void run_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste run --config FILE [--set KEY=VALUE]...\n\n"
            "The streaming daemon: consumes the usage topic in a consumer group, re-rates every\n"
            "record against the contracts (the whole contract topic is read first), and produces\n"
            "adjusted invoices, corrections and dead letters. Every commit interval it flushes the\n"
            "outputs, checkpoints each partition's state and position to checkpoint.topic when the\n"
            "checkpoint interval is due, commits the offsets, then reads the contract versions\n"
            "published since. An assigned partition resumes from its latest checkpoint, after the\n"
            "contract topic is read to its end (docs/reliability.md). kafka.transactional.id (one\n"
            "per instance) makes the producer transactional. SIGINT/SIGTERM stop it cleanly (flush,\n"
            "checkpoint, commit, exit 0).\n\n"
            "Configuration: defaults, then FILE ('key = value' lines), then AJUSTE_* environment\n"
            "variables (AJUSTE_COMMIT_INTERVAL_MS, AJUSTE_KAFKA_BOOTSTRAP_SERVERS), then --set.\n"
            "An unknown key stops start-up. Keys:\n\n");
    aj_config_print_help(out);
    fprintf(out, "\nOptions:\n  --config FILE      configuration file\n"
                 "  --set KEY=VALUE    set one key (repeatable)\n"
                 "  --check            validate the configuration, print it as it would be used, exit\n"
                 "  --print-config-reference  print the keys as a Markdown table\n"
                 "  -h, --help         this help\n");
}

int aj_cmd_run(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"set", required_argument, 0, 's'},
        {"print-config-reference", no_argument, 0, 'm'}, {"check", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *config_path = NULL;
    char err[512] = "";
    char *sets[64];
    int n_sets = 0, c, status = AJ_EXIT_FAILURE, check = 0;
    aj_config cfg;
    aj_contract_store *store = NULL;
    aj_source *src = NULL;
    aj_sink *sink = NULL;
    aj_pipeline *p = NULL;
    aj_kafka_follower *credits = NULL, *contracts = NULL, *checkpoints = NULL;
    aj_err rc;
    int64_t read = 0, rejected = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 's':
            if (n_sets == 64) {
                fprintf(stderr, "ajuste run: at most 64 --set flags\n");
                return AJ_EXIT_USAGE;
            }
            sets[n_sets++] = optarg;
            break;
        case 'm': aj_config_print_markdown(stdout); return AJ_EXIT_OK;
        case 'k': check = 1; break;
        case 'h': run_usage(stdout); return AJ_EXIT_OK;
        default: run_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ajuste run: unexpected argument '%s'\n", argv[optind]);
        return AJ_EXIT_USAGE;
    }
    if (aj_config_init(&cfg) != AJ_E_OK) return AJ_EXIT_FAILURE;
    if ((rc = aj_config_from_cli(&cfg, config_path, sets, n_sets, err, sizeof(err))) != AJ_E_OK) goto usage;
    if (!aj_config_kafka_get(&cfg, "bootstrap.servers")) {
        snprintf(err, sizeof(err), "kafka.bootstrap.servers is not set (in the file, AJUSTE_KAFKA_BOOTSTRAP_SERVERS or --set)");
        goto usage;
    }
    if (check) {
        /* The effective configuration, as the daemon would start with it. */
        aj_config_print(stdout, &cfg);
        status = AJ_EXIT_OK;
        goto end;
    }
    if (aj_schemas_init() != AJ_E_OK) goto end;

    aj_stop_on_signals(&aj_run_stop);

    if (!cfg.checkpoint_topic[0]) {
        snprintf(err, sizeof(err), "checkpoint.topic is empty: the daemon cannot restart or rebalance without "
                 "losing state (docs/reliability.md)");
        goto usage;
    }
    if (!(store = aj_contract_store_create())) goto end;
    /* kafka.transactional.id (one per instance): outputs and checkpoints in transactions, and a
     * restarted instance fences its zombie. */
    const char *txn_id = aj_config_kafka_get(&cfg, "transactional.id");
    sink = txn_id ? aj_kafka_sink_create_txn(&cfg, txn_id, &rc, err, sizeof(err))
                  : aj_kafka_sink_create(&cfg, &rc, err, sizeof(err));
    if (!sink) goto usage_or_fail;
    if (!(p = aj_pipeline_create(store, sink))) goto end;
    aj_policy policy;
    if ((rc = aj_policy_from_config(&cfg, &policy, err, sizeof(err))) != AJ_E_OK) goto usage;
    aj_pipeline_set_policy(p, &policy);
    /* The contract topic is followed: read whole now, and up to its end again at every
     * partition assignment, before any record of it is rated. */
    if (!(contracts = aj_kafka_follower_create(&cfg, cfg.contract_topic, 60000, &rc, err, sizeof(err))))
        goto usage_or_fail;
    if ((rc = aj_kafka_sync_contracts(contracts, cfg.contract_topic, 60000, aj_pipeline_add_contract, p, &read,
                                      &rejected, err, sizeof(err))) != AJ_E_OK)
        goto fail;
    aj_info("run", "%lld contract versions read from %s (%lld rejected), %zu accounts", (long long)read,
            cfg.contract_topic, (long long)rejected, aj_contract_store_accounts(store));
    if (aj_contract_store_versions(store) == 0) {
        /* Without contracts every record would be dead-lettered as NO_CONTRACT: a wrong topic
         * name or an empty topic, not a billing run. */
        snprintf(err, sizeof(err), "no valid contract on topic %s (%lld refused): check input.contract_topic "
                 "and publish the contracts before starting", cfg.contract_topic, (long long)rejected);
        goto fail;
    }
    if (cfg.credit_topic[0]) {
        /* Accepted disputes so far, then again before the first close of each period; each
         * goes on the first invoice whose period ends after it was accepted (credits published
         * on the usage topic are read in its order). */
        char cerr[512] = "";
        if (!(credits = aj_kafka_follower_create(&cfg, cfg.credit_topic, 60000, &rc, cerr, sizeof(cerr)))) {
            if (rc != AJ_E_KAFKA) {
                snprintf(err, sizeof(err), "%s: %s", cfg.credit_topic, cerr);
                goto usage_or_fail;
            }
            aj_warn("run", "dispute credits will not be read: %s", cerr);
        } else {
            aj_pipeline_follow_credits(p, credits);
            if ((rc = aj_pipeline_sync_credits(p)) != AJ_E_OK) {
                snprintf(err, sizeof(err), "reading %s: %s", cfg.credit_topic, aj_err_str(rc));
                goto fail;
            }
        }
    }
    if (!(checkpoints = aj_kafka_follower_create(&cfg, cfg.checkpoint_topic, 60000, &rc, err, sizeof(err)))) {
        if (rc == AJ_E_KAFKA)
            snprintf(err, sizeof(err), "checkpoint topic %s cannot be read: create it (cleanup.policy=compact) "
                     "before starting, or set checkpoint.topic", cfg.checkpoint_topic);
        goto usage_or_fail;
    }
    const char *group = aj_config_kafka_get(&cfg, "group.id");
    aj_ckpt_conf ck = {group ? group : "ajuste", cfg.usage_topic, cfg.checkpoint_topic, checkpoints, contracts,
                       cfg.contract_topic, cfg.checkpoint_interval_records, cfg.checkpoint_interval_ms};
    if ((rc = aj_pipeline_enable_checkpoints(p, &ck)) != AJ_E_OK) goto fail;
    /* The producer learns where its topics live before the first record: a restart resumes
     * at full speed instead of waiting on each topic's lookup at its first message. */
    const char *warm[] = {cfg.checkpoint_topic, cfg.invoice_topic, cfg.correction_topic, cfg.dead_letter_topic,
                          cfg.review_topic};
    for (size_t i = 0; i < sizeof(warm) / sizeof(warm[0]); i++) aj_kafka_sink_warm(sink, warm[i], 10000);
    if (!(src = aj_kafka_source_create(&cfg, &rc, err, sizeof(err)))) goto usage_or_fail;
    aj_partition_hooks hooks = aj_pipeline_hooks(p);
    aj_kafka_source_set_hooks(src, &hooks);

    aj_run_opts ro = {cfg.commit_interval_records, cfg.commit_interval_ms, &aj_run_stop, NULL, NULL, 0};
    rc = aj_pipeline_run(p, src, &ro);
    if (rc != AJ_E_OK && rc != AJ_E_INTERRUPTED) {
        snprintf(err, sizeof(err), "pipeline stopped: %s (see the errors above); nothing after the last checkpoint "
                 "was committed: restart it and it resumes from there", aj_err_str(rc));
        goto fail;
    }
    aj_source_destroy(src);
    src = NULL;
    rc = sink->ops->close(sink);
    sink = NULL;
    if (rc != AJ_E_OK) {
        snprintf(err, sizeof(err), "outputs could not be delivered: %s", aj_err_str(rc));
        goto fail;
    }
    aj_summary_print(stderr, aj_pipeline_get_stats(p), aj_pipeline_adjust_stats(p));
    status = AJ_EXIT_OK;
    goto end;
usage_or_fail:
    if (rc != AJ_E_CONFIG) goto fail;
usage:
    fprintf(stderr, "ajuste run: %s\n", err);
    status = AJ_EXIT_USAGE;
    goto end;
fail:
    fprintf(stderr, "ajuste run: %s\n", err[0] ? err : aj_err_str(rc));
end:
    aj_source_destroy(src);
    if (sink) sink->ops->abort(sink);   /* only a failed run gets here with a sink */
    aj_pipeline_destroy(p);
    aj_kafka_follower_destroy(credits);
    aj_kafka_follower_destroy(contracts);
    aj_kafka_follower_destroy(checkpoints);
    aj_contract_store_destroy(store);
    aj_config_free(&cfg);
    aj_schemas_shutdown();
    return status;
}
