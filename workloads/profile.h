/*
 * profile.h: the profiles (smoke, quick, full), in one place: their names,
 * and what each sets besides the workloads' own sizes (every workload's
 * am_param holds one value per profile): a cell's time budget and time-out,
 * the repetitions, and the microbenchmarks' minimum time.
 *
 * Layering: the C library only; workload.h includes it, the harness reads
 * the table.
 */
#ifndef AM_PROFILE_H
#define AM_PROFILE_H

enum am_profile { AM_PROFILE_SMOKE, AM_PROFILE_QUICK, AM_PROFILE_FULL, AM_PROFILE_COUNT };

/* "smoke", "quick", "full". */
const char *am_profile_name(enum am_profile p);
/* AM_PROFILE_COUNT for an unknown word. */
enum am_profile am_profile_parse(const char *word);

/*
 * A cell's measured phase ends when each thread has done the workload's "ops"
 * for the profile, or when `budget_s` has passed, whichever is first (a cell
 * cut short says complete=0). `timeout_s` is the hard limit on the cell's
 * whole process, for hangs only: a cell past it is killed and recorded as
 * "timeout".
 */
struct am_profile_limits {
    double budget_s;
    double timeout_s;
    unsigned reps;
    /* allocmark-micro's --benchmark_min_time per benchmark; 0 skips the
     * microbenchmarks. */
    double micro_min_time_s;
};

const struct am_profile_limits *am_profile_limits(enum am_profile p);

#endif /* AM_PROFILE_H */
