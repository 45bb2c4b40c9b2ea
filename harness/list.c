/*
 * list.c: `allocmark list`: the allocators (with --all, the test doubles
 * too), the workloads with their parameters per profile, the built-in
 * programs with what each stresses, and the memory cores this CPU runs (see
 * list.h).
 */
#include "list.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "frontend.h"
#include "memcore.h"
#include "program.h"
#include "workload.h"

int am_list_main(int argc, char **argv)
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
    const struct am_workload *samples[16];
    unsigned n_samples = am_trace_samples(samples, 16);
    for (unsigned i = 0; i < n_samples; i++)
        printf("%-16s %-8u %s\n", samples[i]->name, samples[i]->fixed_threads,
               "replay of a sample trace (scripts/record-samples.sh)");
    struct am_programs programs = {0};
    char why[PATH_MAX + 256];
    printf("\n");
    if (am_programs_load_dir(&programs, am_programs_dir(), why, sizeof why) == 0)
        am_programs_print(stdout, &programs);
    else
        printf("programs: %s\n", why);
    am_programs_free(&programs);
    char cores[512];
    am_mem_describe(cores, sizeof cores);
    printf("\nmemory cores: %s\n", cores);
    return 0;
}
