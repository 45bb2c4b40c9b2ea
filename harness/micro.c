/*
 * micro.c: starting allocmark-micro after the cells (see micro.h).
 */
#include "micro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signals.h"
#include "spawnproc.h"

#ifndef AM_MICRO_PATH
#define AM_MICRO_PATH "allocmark-micro"
#endif

int am_micro_run(const struct am_plan *plan, const char *dir)
{
    const char *path = getenv("AM_MICRO");
    if (!path)
        path = AM_MICRO_PATH;
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "allocmark run: microbenchmarks skipped: %s: %s (AM_MICRO names it)\n",
                path, strerror(errno));
        return -1;
    }
    char allocators[4096] = "--allocators=";
    for (unsigned k = 0; k < plan->n_allocators; k++) {
        size_t used = strlen(allocators);
        snprintf(allocators + used, sizeof allocators - used, "%s%s", k ? "," : "",
                 plan->allocator[k]->name);
    }
    double min_time = am_profile_limits(plan->profile)->micro_min_time_s;
    char out[PATH_MAX + 8], log[PATH_MAX + 16], min_time_arg[64], reps_arg[64];
    snprintf(out, sizeof out, "--out=%s", dir);
    snprintf(log, sizeof log, "%s/micro.log", dir);
    snprintf(min_time_arg, sizeof min_time_arg, "--benchmark_min_time=%g",
             min_time > 0 ? min_time : 0.01);
    snprintf(reps_arg, sizeof reps_arg, "--benchmark_repetitions=%u", plan->reps);
    char *argv[] = {(char *)path, allocators, out, min_time_arg, reps_arg, NULL};

    printf("allocmark run: microbenchmarks (allocmark-micro, %u repetition%s) -> %s\n", plan->reps,
           plan->reps == 1 ? "" : "s", log);
    fflush(NULL);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "allocmark run: cannot write %s: %s\n", log, strerror(errno));
        return -1;
    }
    /* No allocator: allocmark-micro prepares a child per allocator itself. */
    struct am_spawn_options opt = am_spawn_defaults();
    opt.program = path;
    opt.stdout_fd = fd;
    opt.stderr_fd = fd;
    opt.cancel_fd = am_signals_cancel_fd();
    struct am_child child;
    int err = am_spawn(NULL, argv, &opt, &child);
    close(fd);
    if (err) {
        fprintf(stderr, "allocmark run: cannot start %s: %s\n", path, strerror(err));
        return -1;
    }
    free(child.output);
    if (child.exited && child.exit_code == 0)
        return 0;
    fprintf(stderr, "allocmark run: allocmark-micro %s; see %s\n",
            child.exited ? "reported failed benchmarks" : "was killed", log);
    return -1;
}
