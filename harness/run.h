/*
 * run.h: `allocmark run`, the parent side of the benchmark: validate the
 * command line, plan the matrix of (allocator, workload, threads,
 * repetition) cells, run each cell in its own child process (spawn.c,
 * cell.c), and record every outcome in the run's results directory
 * (results.c) while showing progress (progress.c).
 *
 * Layering: depends on harness/ (spawn, cell, results, progress),
 * workloads/ (the registry and profiles) and allocators/ (the registry).
 */
#ifndef AM_RUN_H
#define AM_RUN_H

#include <stdio.h>

/* Exit statuses of `allocmark run`. */
enum {
    AM_RUN_OK = 0,           /* every cell ok */
    AM_RUN_CELLS_FAILED = 1, /* some cells failed, or the results could not be written */
    AM_RUN_USAGE = 2,        /* bad command line; nothing was written */
    AM_RUN_INTERRUPTED = 130 /* SIGINT or SIGTERM; finished cells are kept */
};

/* argv[0] is "run". */
int am_run_main(int argc, char **argv);
/* The options of `run`, for `allocmark --help`. */
void am_run_usage(FILE *to);

#endif /* AM_RUN_H */
