/*
 * run.h: `allocmark run`, the parent side of the benchmark: take the plan
 * from the command line (plan.h), run each cell in its own child process
 * (spawnproc.c, cell.c), read its report (protocol.c), judge it (outcome.c) and
 * record it in the run's results directory (results.c) while showing
 * progress (progress.c); then the microbenchmarks (micro.c).
 *
 * Layering: depends on harness/, measure/, workloads/ and allocators/.
 */
#ifndef AM_RUN_H
#define AM_RUN_H

#include <stdio.h>

/* Exit statuses of `allocmark run` (cli.h): AM_EXIT_OK every cell ok;
 * AM_EXIT_FAILED some cells failed, or the results could not be written;
 * AM_EXIT_USAGE bad command line, nothing was written; AM_EXIT_INTERRUPTED
 * SIGINT or SIGTERM, finished cells are kept. */

/* argv is main's: argv[0] the program, argv[1] "run". */
int am_run_main(int argc, char **argv);

#endif /* AM_RUN_H */
