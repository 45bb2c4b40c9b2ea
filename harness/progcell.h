/*
 * progcell.h: one program cell of `allocmark run`, the parent side only: the
 * program (program.h) is started with the cell's allocator as its malloc
 * (a reference's library, an in-house backend's drop-in
 * build/allocators/<name>/libam-<name>.so, or glibc's own C library) and
 * measured from outside (proctree.h): wall, user and system time, faults,
 * context switches, the peak and the course of the resident memory of its
 * whole process tree, its exit status, its output checked, its own figure
 * of merit parsed. The outcome is one row of cells.csv (kind=program) and
 * its samples in timeseries.csv.
 *
 * Layering: depends on harness/ (program, proctree, results, progress) and
 * allocators/ (the vtable).
 */
#ifndef AM_PROGCELL_H
#define AM_PROGCELL_H

#include <limits.h>
#include <stdbool.h>

#include "allocator.h"
#include "program.h"
#include "progress.h"
#include "results.h"

/* What every program cell of a run shares. */
struct am_progrun {
    enum am_profile profile;
    unsigned reps;
    double timeout_s; /* a cell's hard limit; 0: the profile's, shortened by glibc's time */
    unsigned long mem_limit_mib; /* the tree's RSS limit, 0 for none */
    double interval_s;           /* RSS sampling interval */
    int cancel_fd;               /* readable when the run is interrupted */
    char tmp[256];               /* scratch: inputs and the cells' working directories */
    char dropin_dir[PATH_MAX];
    char libc_path[PATH_MAX];
};

/* Per program, across its cells. */
struct am_progstate {
    bool generated, generate_failed;
    char generate_why[300];
    bool have_reference; /* glibc's output checksum is known */
    unsigned long long reference_sum;
    double reference_wall_s;
    char reference_file[PATH_MAX]; /* a copy of glibc's output in the run directory */
    /* Allocators that ran out of time on this program, and in which
     * repetition: their later repetitions are skipped. */
    bool reference_failed; /* glibc's reference run (not a cell) failed */
    const char *timed_out[64];
    unsigned timed_out_rep[64], n_timed_out;
};

enum am_progcell_outcome {
    AM_PROGCELL_OK,
    AM_PROGCELL_FAILED,
    AM_PROGCELL_SKIPPED,
    AM_PROGCELL_CANCELLED,
    AM_PROGCELL_NOT_WRITTEN
};

/* Make the scratch directory and find the drop-ins and the C library.
 * Returns 0 or an errno value. */
int am_progrun_init(struct am_progrun *run);
/* Remove the scratch directory. */
void am_progrun_end(struct am_progrun *run);

/* The profile's hard time limit for a program cell. */
double am_progrun_profile_timeout(enum am_profile profile);

/* Why allocator a cannot be a program's malloc here (its drop-in is not
 * built), or NULL; the LD_PRELOAD value it gets otherwise (NULL: none). */
const char *am_progrun_preload(const struct am_progrun *run, const struct am_allocator *a,
                               char *why, size_t why_len);

/* Whether a program still needs glibc's output to check the others against
 * (its check is `glibc`, and no glibc run has given one yet). */
bool am_progcell_needs_reference(const struct am_program *prog, const struct am_progstate *st);
/* Run the program once on glibc for its reference output only, when glibc
 * is not one of the run's allocators: no row, a note on the progress line
 * and cells.log; it also sets the others' time limit as glibc's cells do. */
void am_progcell_reference(struct am_progrun *run, const struct am_program *prog,
                           struct am_progstate *st, const struct am_allocator *glibc, unsigned rep,
                           struct am_results *res, struct am_progress *progress);

/* Run one cell and write its row; a warm-up (--warmup) runs and is judged
 * the same, but writes no row. second: the allocator's second copy (--aa),
 * labelled NAME#2; an allocator that ran out of time is skipped afterwards
 * in both copies. *merit: the cell's figure of merit (its throughput
 * column) when it is ok, else NaN. A program whose check is `glibc` needs
 * the reference output first (am_progcell_needs_reference). */
enum am_progcell_outcome am_progcell_run(struct am_progrun *run, const struct am_program *prog,
                                         struct am_progstate *state, const struct am_allocator *a,
                                         bool second, unsigned rep, bool warmup,
                                         struct am_results *res, struct am_progress *progress,
                                         double *merit);

#endif /* AM_PROGCELL_H */
