/*
 * profile.c: the profiles' names and limits (see profile.h).
 *
 * How the quick profile is sized: 9 allocators, 8 threaded workloads x 2
 * thread counts + 5 one-thread workloads = 21 cells per allocator and
 * repetition, so 9 x 21 x 3 = 567 cells. The "ops" of each workload are sized
 * so that glibc needs roughly 0.05-0.3 s; a slow allocator stops at the 0.5 s
 * budget, then frees what it holds (up to 0.3 s more for the slowest,
 * mmap-only). A cell's process also costs about 0.02 s (start, calibration,
 * reaping). Worst case, every cell at its budget: 567 x (0.5 + 0.02) = 295 s;
 * with the slowest teardowns everywhere, 567 x 0.8 = 454 s: both under the
 * 10-minute limit. The microbenchmarks add about 20 s per repetition at
 * 0.05 s. The smoke profile (meson test) is 1 repetition of tiny cells with
 * a 0.1 s budget and no microbenchmarks.
 */
#include "profile.h"

#include <string.h>

static const char *const names[AM_PROFILE_COUNT] = {"smoke", "quick", "full"};

static const struct am_profile_limits limits[AM_PROFILE_COUNT] = {
    [AM_PROFILE_SMOKE] = {.budget_s = 0.1, .timeout_s = 10, .reps = 1, .micro_min_time_s = 0},
    [AM_PROFILE_QUICK] = {.budget_s = 0.5, .timeout_s = 20, .reps = 3, .micro_min_time_s = 0.05},
    [AM_PROFILE_FULL] = {.budget_s = 5, .timeout_s = 120, .reps = 5, .micro_min_time_s = 0.5},
};

const char *am_profile_name(enum am_profile p)
{
    return p < AM_PROFILE_COUNT ? names[p] : "?";
}

enum am_profile am_profile_parse(const char *word)
{
    for (int p = 0; p < AM_PROFILE_COUNT; p++)
        if (strcmp(word, names[p]) == 0)
            return (enum am_profile)p;
    return AM_PROFILE_COUNT;
}

const struct am_profile_limits *am_profile_limits(enum am_profile p)
{
    return p < AM_PROFILE_COUNT ? &limits[p] : NULL;
}
