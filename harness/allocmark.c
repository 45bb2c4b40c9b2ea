/*
 * allocmark.c: the command line's dispatcher. Each sub-command lives in its
 * own file (list.c, check.c, run.c, plotdriver.c); work that touches an allocator
 * runs in a child process prepared for it (spawnproc.h), through the hidden
 * sub-commands below, so a reference is always the real malloc of the
 * process that measures it.
 */
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "check.h"
#include "cli.h"
#include "frontend.h"
#include "list.h"
#include "plotdriver.h"
#include "probe.h"
#include "record.h"
#include "run.h"
#include "tools.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: allocmark COMMAND [OPTIONS]\n"
                "\n"
                "Commands:\n"
                "  list [--all]             the allocators (--all: test doubles too) and the\n"
                "                           workloads with their parameters per profile\n");
    am_check_usage(to);
    am_run_usage(to);
    am_plot_usage(to);
    am_record_usage(to);
    am_trace_usage(to);
    fprintf(to, "  help                     this text\n"
                "\n"
                "References (");
    const char *sep = "";
    for (size_t i = 0; i < am_registry_count; i++) {
        if (am_registry[i]->caps & AM_CAP_PROCESS_MALLOC) {
            fprintf(to, "%s%s", sep, am_registry[i]->name);
            sep = ", ";
        }
    }
    fprintf(to, ") run in child processes with\n"
                "their library as LD_PRELOAD, the way their users deploy them; every cell of\n"
                "`run` and every allocator of `check` runs in a process of its own.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return AM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "list"))
        return am_list_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return am_check_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return am_run_main(argc, argv);
    if (!strcmp(cmd, "plot") || !strcmp(cmd, "report") || !strcmp(cmd, "compare"))
        return am_plot_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "record"))
        return am_record_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "trace"))
        return am_trace_main(argc - 1, argv + 1);
    if (!strcmp(cmd, AM_CONFORMANCE_CHILD))
        return am_conformance_child_main(argc - 1, argv + 1);
    if (!strcmp(cmd, AM_HARDENING_CHILD))
        return am_hardening_child_main(argc - 1, argv + 1);
    if (!strcmp(cmd, AM_CELL_CHILD))
        return am_cell_child_main(argc - 1, argv + 1);
    if (!strcmp(cmd, AM_INFO_CHILD))
        return am_info_child_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr,
            "allocmark: unknown command '%s' (valid: list, check, run, plot, report, compare,\n"
            "record, trace, help)\n",
            cmd);
    return AM_EXIT_USAGE;
}
