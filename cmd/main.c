/* main.c - the ajuste executable: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "aj_cmd.h"
#include "aj_cmd_invoice.h"

static void aj_main_usage(FILE *out) {
    fprintf(out,
            "ajuste - pre-billing invoice correction for telecom carriers\n\n"
            "Usage: ajuste <command> [options]   (ajuste <command> --help for each)\n\n"
            "Commands:\n"
            "  demo    the whole chain on an embedded workload and an in-process Kafka mock\n"
            "          cluster; prints what a billing manager wants to know. No server needed.\n"
            "  run     the streaming daemon: Kafka in, adjusted invoices out\n"
            "  rate    the same chain offline: Avro files in, Avro files out\n"
            "  replay  re-rate a range of the usage topic against a contract snapshot; diff it\n"
            "  gen     write a synthetic carrier workload with a ground truth of its errors\n"
            "  invoice show an adjusted invoice as text or an HTML page (invoice show --help)\n"
            "  release list held invoices, or release one as it is or with its corrections flagged\n"
            "  audit   the auditor's correction log in PostgreSQL: audit migrate creates its schema\n\n"
            "Exit codes: 0 success (also after a clean stop on SIGINT/SIGTERM), 1 the run\n"
            "failed, 2 bad command line, configuration or input path.\n");
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"demo", aj_cmd_demo}, {"run", aj_cmd_run}, {"rate", aj_cmd_rate}, {"replay", aj_cmd_replay}, {"gen", aj_cmd_gen},
        {"invoice", aj_cmd_invoice}, {"release", aj_cmd_release}, {"audit", aj_cmd_audit},
    };

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        aj_main_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? AJ_EXIT_USAGE : AJ_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ajuste %s\n", AJ_VERSION);
        return AJ_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ajuste: unknown command '%s'\n\n", argv[1]);
    aj_main_usage(stderr);
    return AJ_EXIT_USAGE;
}
