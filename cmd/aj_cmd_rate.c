/* aj_cmd_rate.c - `ajuste rate`: the offline chain, Avro files in and out, no servers. */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "aj_cmd.h"
#include "aj_emit.h"
#include "aj_log.h"
#include "aj_policy.h"
#include "aj_truth.h"

static void rate_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste rate --in DIR --out DIR [--credits F] [--set KEY=VALUE]... [--truth F] [--quiet]\n\n"
            "Re-rates DIR/usage.avro against DIR/contracts.avro (as `ajuste gen` writes them)\n"
            "and writes into the output directory:\n"
            "  invoices.avro       the adjusted invoices (invoice.v2.avsc)\n"
            "  review.avro         invoices held for review by the policy (same schema)\n"
            "  corrections.avro    one correction per wrong legacy charge (correction.avsc)\n"
            "  dead_letters.avro   rejected input, whole, with its reason (dead_letter.avsc)\n"
            "The same input gives byte-identical files. Files are complete only once renamed\n"
            "from *.partial at the end of the run.\n\n"
            "Options:\n"
            "  --in DIR       input directory with contracts.avro and usage.avro\n"
            "  --out DIR      output directory (created if missing)\n"
            "  --contracts F  contracts file instead of DIR/contracts.avro\n"
            "  --usage F      usage file instead of DIR/usage.avro\n"
            "  --credits F    dispute credits (dispute_credit.avsc); default DIR/credits.avro when\n"
            "                 it exists\n"
            "  --set KEY=VALUE  a policy.* or materiality.* key (listed by `ajuste run --help`),\n"
            "                 e.g. --set policy.rules=RATE_MISMATCH=HOLD --set materiality.percent=20\n"
            "  --truth F      check the outputs against a ground_truth.csv of `ajuste gen`:\n"
            "                 print precision and recall per reason, and exit 1 unless every\n"
            "                 correction and dead letter is exactly the injected one\n"
            "  -q, --quiet    no summary\n"
            "  -h, --help     this help\n");
}

/* Feeds every datum of DIR/name to the checker; AJ_E_OK or an error written to stderr. */
static aj_err rate_read_back(aj_truth_check *tc, const char *dir, const char *name, int corrections) {
    char path[4096], err[512] = "", origin[256];
    aj_err rc;
    aj_message m;
    aj_source *src = aj_file_source_open(aj_path(path, sizeof(path), dir, name), &rc, err, sizeof(err));

    if (!src) {
        fprintf(stderr, "ajuste rate: %s\n", err);
        return rc;
    }
    while ((rc = aj_source_next(src, &m, 0)) == AJ_E_OK) {
        if (corrections) {
            aj_correction c;
            if ((rc = aj_decode_correction(m.writer, m.value, m.value_len, &c, origin, sizeof(origin)))) break;
            aj_truth_check_correction(tc, &c);
        } else {
            aj_dead_letter dl;
            if ((rc = aj_decode_dead_letter(m.writer, m.value, m.value_len, &dl, origin, sizeof(origin)))) break;
            aj_truth_check_dead_letter(tc, dl.reason);
        }
    }
    aj_source_destroy(src);
    if (rc == AJ_E_EOF) return AJ_E_OK;
    fprintf(stderr, "ajuste rate: reading back %s: %s\n", path, aj_err_str(rc));
    return rc;
}

/* --truth: the outputs against the ground truth. Exit status. */
static int rate_check_truth(const char *truth, const char *out_dir, int quiet) {
    aj_truth_check *tc = aj_truth_check_create();
    char err[512] = "";
    int status = AJ_EXIT_FAILURE;

    if (!tc) return AJ_EXIT_FAILURE;
    if (aj_truth_check_load(tc, truth, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste rate: %s\n", err);
        status = AJ_EXIT_USAGE;
    } else if (rate_read_back(tc, out_dir, "corrections.avro", 1) == AJ_E_OK &&
               rate_read_back(tc, out_dir, "dead_letters.avro", 0) == AJ_E_OK) {
        int exact = aj_truth_check_exact(tc);
        if (!quiet || !exact) {
            printf("Against %s:\n", truth);
            aj_truth_check_print(tc, stdout);
        }
        printf("Ground truth:      %s\n", exact ? "every correction and dead letter is exactly the injected one"
                                                 : "NOT matched (see the table above)");
        status = exact ? AJ_EXIT_OK : AJ_EXIT_FAILURE;
    }
    aj_truth_check_destroy(tc);
    return status;
}

int aj_cmd_rate(int argc, char **argv) {
    static const struct option opts[] = {
        {"in", required_argument, 0, 'i'},        {"out", required_argument, 0, 'o'},
        {"contracts", required_argument, 0, 'c'}, {"usage", required_argument, 0, 'u'},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {"truth", required_argument, 0, 't'},     {"credits", required_argument, 0, 'r'},
        {"set", required_argument, 0, 's'},       {0, 0, 0, 0},
    };
    const char *in = NULL, *out_dir = NULL, *contracts = NULL, *usage = NULL, *truth = NULL, *credits = NULL;
    char cpath[4096], upath[4096], rpath[4096], err[512] = "";
    aj_config cfg;
    aj_policy policy;
    aj_contract_store *store = NULL;
    aj_source *src = NULL;
    aj_sink *sink = NULL;
    aj_pipeline *p = NULL;
    int c, quiet = 0, status = AJ_EXIT_FAILURE;
    aj_err rc;

    if (aj_config_init(&cfg) != AJ_E_OK) return AJ_EXIT_FAILURE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': credits = optarg; break;
        case 's':
            /* Only the policy applies offline; topics and Kafka properties mean nothing here. */
            if ((strncmp(optarg, "policy.", 7) != 0 && strncmp(optarg, "materiality.", 12) != 0) ||
                aj_config_set_assignment(&cfg, optarg, err, sizeof(err)) != AJ_E_OK) {
                if (!err[0])
                    snprintf(err, sizeof(err), "--set expects policy.KEY=VALUE or materiality.KEY=VALUE, got '%s'",
                             optarg);
                fprintf(stderr, "ajuste rate: %s\n", err);
                aj_config_free(&cfg);
                return AJ_EXIT_USAGE;
            }
            break;
        case 'i': in = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'c': contracts = optarg; break;
        case 'u': usage = optarg; break;
        case 't': truth = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': rate_usage(stdout); aj_config_free(&cfg); return AJ_EXIT_OK;
        default: rate_usage(stderr); aj_config_free(&cfg); return AJ_EXIT_USAGE;
        }
    }
    if (aj_policy_from_config(&cfg, &policy, err, sizeof(err)) != AJ_E_OK) {
        fprintf(stderr, "ajuste rate: %s\n", err);
        aj_config_free(&cfg);
        return AJ_EXIT_USAGE;
    }
    aj_config_free(&cfg);
    if (!out_dir || (!in && (!contracts || !usage)) || optind < argc) {
        fprintf(stderr, "ajuste rate: --out DIR and --in DIR (or --contracts F --usage F) are required\n");
        rate_usage(stderr);
        return AJ_EXIT_USAGE;
    }
    if (!contracts) contracts = aj_path(cpath, sizeof(cpath), in, "contracts.avro");
    if (!usage) usage = aj_path(upath, sizeof(upath), in, "usage.avro");
    if (!credits && in && access(aj_path(rpath, sizeof(rpath), in, "credits.avro"), R_OK) == 0) credits = rpath;
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;

    if (!(store = aj_contract_store_create())) goto end;
    if (!(sink = aj_file_sink_open(out_dir, &rc, err, sizeof(err)))) {
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    if (!(p = aj_pipeline_create(store, sink))) goto end;
    aj_pipeline_set_policy(p, &policy);
    int bad_path = 0;
    if ((rc = aj_load_input_file(p, contracts, 0, &bad_path, err, sizeof(err))) != AJ_E_OK ||
        (credits && (rc = aj_load_input_file(p, credits, 1, &bad_path, err, sizeof(err))) != AJ_E_OK)) {
        if (bad_path) status = AJ_EXIT_USAGE;
        goto fail;
    }
    if (!(src = aj_file_source_open(usage, &rc, err, sizeof(err)))) {
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    aj_run_opts ro = {INT64_MAX, INT64_MAX, NULL, quiet ? NULL : aj_progress_stderr, NULL, 0};
    if ((rc = aj_pipeline_run(p, src, &ro)) != AJ_E_OK) {
        snprintf(err, sizeof(err), "reading %s: %s", usage, aj_err_str(rc));
        goto fail;
    }
    rc = sink->ops->close(sink);
    sink = NULL;
    if (rc != AJ_E_OK) {
        snprintf(err, sizeof(err), "writing %s: %s", out_dir, aj_err_str(rc));
        goto fail;
    }
    if (!quiet) {
        fprintf(stderr, "\n");
        printf("Contracts:         %lld versions (%lld refused)\n", (long long)aj_pipeline_get_stats(p)->contracts,
               (long long)aj_pipeline_get_stats(p)->contracts_rejected);
        aj_summary_print(stdout, aj_pipeline_get_stats(p), aj_pipeline_adjust_stats(p));
        printf("Open cycles:       %zu (records of cycles not closed in the input)\n",
               aj_pipeline_open_cycles(p));
        printf("Output:            %s/{invoices,review,corrections,dead_letters}.avro\n", out_dir);
    }
    status = AJ_EXIT_OK;
    if (truth) status = rate_check_truth(truth, out_dir, quiet);
    goto end;
fail:
    fprintf(stderr, "ajuste rate: %s\n", err[0] ? err : aj_err_str(rc));
end:
    aj_source_destroy(src);
    if (sink) sink->ops->abort(sink);   /* only a failed run gets here with a sink */
    aj_pipeline_destroy(p);
    aj_contract_store_destroy(store);
    aj_schemas_shutdown();
    return status;
}
