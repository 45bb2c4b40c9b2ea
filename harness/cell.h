/*
 * cell.h: the child side of a cell: a hidden sub-command of allocmark, run in
 * a child prepared for the allocator by spawnproc.c (a reference's library
 * preloaded), that runs one workload under measurement and reports on stdout
 * in the cell protocol (protocol.h), which the parent (run.c) reads back.
 *
 * Layering: depends on measure/, harness/protocol.h, workloads/ and
 * allocators/.
 */
#ifndef AM_CELL_H
#define AM_CELL_H

#define AM_CELL_CHILD "__cell-child"

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

#endif /* AM_CELL_H */
