/*
 * allocmark.c: the command line's dispatcher. Each sub-command lives in its
 * own file (check.c, run.c; list is here); work that touches an allocator
 * runs in a child process prepared for it (spawn.h), through the hidden
 * sub-commands below, so a reference is always the real malloc of the
 * process that measures it.
 */
#include <stdio.h>
#include <string.h>

#include "cell.h"
#include "check.h"
#include "cli.h"
#include "frontend.h"
#include "plotdriver.h"
#include "run.h"
#include "workload.h"
#include "memcore.h"

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
    fprintf(to, "  help                     this text\n"
                "\n"
                "References (glibc, jemalloc, mimalloc, tcmalloc) run in child processes with\n"
                "their library as LD_PRELOAD, the way their users deploy them; every cell of\n"
                "`run` and every allocator of `check` runs in a process of its own.\n");
}

static int cmd_list(int argc, char **argv)
{
    bool all = argc == 2 && strcmp(argv[1], "--all") == 0;
    if (argc > 1 && !all) {
        fprintf(stderr, "allocmark list: unexpected argument '%s' (valid: --all)\n", argv[1]);
        return AM_EXIT_USAGE;
    }
    printf("%-14s %-66s %s\n", "allocator", "summary", "capabilities");
    for (size_t i = 0; i < am_registry_count; i++) {
        const struct am_allocator *a = am_registry[i];
        if ((a->caps & AM_CAP_TEST_ONLY) && !all)
            continue;
        char caps[160];
        printf("%-14s %-66s %s\n", a->name, a->summary,
               am_caps_describe(a->caps, caps, sizeof caps));
    }

    printf("\n%-16s %-8s %s\n", "workload", "threads", "summary");
    printf("%-16s %-8s %-52s %10s %10s %10s\n", "", "", "  parameter", "smoke", "quick", "full");
    for (size_t i = 0; i < am_workload_count; i++) {
        const struct am_workload *w = am_workloads[i];
        printf("%-16s %-8s %s\n", w->name, w->threaded ? "1..N" : "1", w->summary);
        for (unsigned k = 0; k < am_workload_param_count(w); k++) {
            const struct am_param *p = &w->params[k];
            char what[128];
            snprintf(what, sizeof what, "  %s: %s", p->name, p->about);
            printf("%-16s %-8s %-52s %10ld %10ld %10ld\n", "", "", what, p->value[AM_PROFILE_SMOKE],
                   p->value[AM_PROFILE_QUICK], p->value[AM_PROFILE_FULL]);
        }
    }
    char cores[512];
    am_mem_describe(cores, sizeof cores);
    printf("\nmemory cores: %s\n", cores);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return AM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return am_check_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return am_run_main(argc, argv);
    if (!strcmp(cmd, "plot") || !strcmp(cmd, "report") || !strcmp(cmd, "compare"))
        return am_plot_main(argc - 1, argv + 1);
    if (!strcmp(cmd, AM_CONFORMANCE_CHILD))
        return am_conformance_child_main(argc - 1, argv + 1);
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
            "help)\n",
            cmd);
    return AM_EXIT_USAGE;
}
