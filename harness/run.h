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

/* Exit statuses of `allocmark run` (cli.h): AM_EXIT_OK every cell ok;
 * AM_EXIT_FAILED some cells failed, or the results could not be written;
 * AM_EXIT_USAGE bad command line, nothing was written; AM_EXIT_INTERRUPTED
 * SIGINT or SIGTERM, finished cells are kept. */

/* argv[0] is "run". */
int am_run_main(int argc, char **argv);

#endif /* AM_RUN_H */
