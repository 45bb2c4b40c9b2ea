/*
 * cell.h: the child side of a cell, and of the small probe that asks a
 * reference library its version. Both run as hidden sub-commands of
 * allocmark in a child prepared for the allocator by spawn.c (the
 * reference's library preloaded), and report on stdout in lines of
 * "key value" that the parent (run.c) reads back.
 *
 * A cell's lines: `label`, then after the run `status` (ok, oom, corrupt,
 * error), `reason` when not ok, one line per metric named as its cells.csv
 * column (results.h), `series SAMPLE OPS SECONDS RSS LIVE OS` per
 * time-series point, and `end` last. The label line is flushed first, so
 * that even a cell that crashes says whether it ran behind the lock.
 *
 * Layering: depends on measure/, harness/results.h (column names),
 * workloads/ and allocators/.
 */
#ifndef AM_CELL_H
#define AM_CELL_H

#define AM_CELL_CHILD "__cell-child"
#define AM_INFO_CHILD "__info-child"

/* What a cell child is asked to do. */
struct am_cell_spec {
    const char *allocator;
    const char *workload;
    unsigned threads;
    const char *profile;
    double budget_s;             /* time budget of the measured phase (0: none) */
    double clock_hz;             /* the parent's calibration (0: calibrate) */
    unsigned long mem_limit_mib; /* added to RLIMIT_DATA (0: no limit) */
};

#define AM_CELL_ARGV_MAX 12

/* argv for spawning the child: argv[0] = self, then the sub-command and the
 * spec; numbers are formatted into `store`. NULL-terminated. */
void am_cell_argv(const struct am_cell_spec *spec, const char *self, char store[][32],
                  char *argv[AM_CELL_ARGV_MAX]);

/* `allocmark __cell-child ...` (argv[0] is the sub-command). */
int am_cell_child_main(int argc, char **argv);

/* `allocmark __info-child ALLOCATOR`: prints `version ...` and `library PATH`
 * for the process's malloc. */
int am_info_child_main(int argc, char **argv);

#endif /* AM_CELL_H */
