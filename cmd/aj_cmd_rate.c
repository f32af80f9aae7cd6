/* aj_cmd_rate.c - `ajuste rate`: the offline chain, Avro files in and out, no servers. */
#include <getopt.h>
#include <string.h>

#include "aj_cmd.h"
#include "aj_log.h"

static void rate_usage(FILE *out) {
    fprintf(out,
            "Usage: ajuste rate --in DIR --out DIR [--quiet]\n\n"
            "Re-rates DIR/usage.avro against DIR/contracts.avro (as `ajuste gen` writes them)\n"
            "and writes into the output directory:\n"
            "  invoices.avro       the adjusted invoices (invoice.avsc)\n"
            "  corrections.avro    one correction per wrong legacy charge (correction.avsc)\n"
            "  dead_letters.avro   rejected input, whole, with its reason (dead_letter.avsc)\n"
            "The same input gives byte-identical files. Files are complete only once renamed\n"
            "from *.partial at the end of the run.\n\n"
            "Options:\n"
            "  --in DIR       input directory with contracts.avro and usage.avro\n"
            "  --out DIR      output directory (created if missing)\n"
            "  --contracts F  contracts file instead of DIR/contracts.avro\n"
            "  --usage F      usage file instead of DIR/usage.avro\n"
            "  -q, --quiet    no summary\n"
            "  -h, --help     this help\n");
}

int aj_cmd_rate(int argc, char **argv) {
    static const struct option opts[] = {
        {"in", required_argument, 0, 'i'},        {"out", required_argument, 0, 'o'},
        {"contracts", required_argument, 0, 'c'}, {"usage", required_argument, 0, 'u'},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *in = NULL, *out_dir = NULL, *contracts = NULL, *usage = NULL;
    char cpath[4096], upath[4096], err[512] = "";
    aj_contract_store *store = NULL;
    aj_source *src = NULL;
    aj_sink *sink = NULL;
    aj_pipeline *p = NULL;
    int c, quiet = 0, status = AJ_EXIT_FAILURE;
    aj_err rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'c': contracts = optarg; break;
        case 'u': usage = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': rate_usage(stdout); return AJ_EXIT_OK;
        default: rate_usage(stderr); return AJ_EXIT_USAGE;
        }
    }
    if (!out_dir || (!in && (!contracts || !usage)) || optind < argc) {
        fprintf(stderr, "ajuste rate: --out DIR and --in DIR (or --contracts F --usage F) are required\n");
        rate_usage(stderr);
        return AJ_EXIT_USAGE;
    }
    if (!contracts) contracts = aj_path(cpath, sizeof(cpath), in, "contracts.avro");
    if (!usage) usage = aj_path(upath, sizeof(upath), in, "usage.avro");
    if (aj_schemas_init() != AJ_E_OK) return AJ_EXIT_FAILURE;

    if (!(store = aj_contract_store_create())) goto end;
    if (!(sink = aj_file_sink_open(out_dir, &rc, err, sizeof(err)))) {
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    if (!(p = aj_pipeline_create(store, sink))) goto end;
    if (!(src = aj_file_source_open(contracts, &rc, err, sizeof(err)))) {
        status = AJ_EXIT_USAGE;
        goto fail;
    }
    if ((rc = aj_pipeline_load_contracts(p, src)) != AJ_E_OK) {
        snprintf(err, sizeof(err), "reading %s: %s", contracts, aj_err_str(rc));
        goto fail;
    }
    aj_source_destroy(src);
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
        printf("Output:            %s/{invoices,corrections,dead_letters}.avro\n", out_dir);
    }
    status = AJ_EXIT_OK;
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
