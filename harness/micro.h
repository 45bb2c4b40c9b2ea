/*
 * micro.h: the microbenchmarks of a run: after the cells, `allocmark run`
 * starts allocmark-micro (bench/micro.cc, Google Benchmark) through spawnproc.c
 * for the plan's allocators, with the profile's minimum time and the plan's
 * repetitions; it writes micro-<allocator>.json into the run's directory and
 * its console output to micro.log there.
 *
 * Layering: harness/ (plan, spawn, signals).
 */
#ifndef AM_MICRO_H
#define AM_MICRO_H

#include "plan.h"

/* Returns 0, or -1 after saying why on stderr when it could not run or
 * reported failure; the cells already written are untouched either way. */
int am_micro_run(const struct am_plan *plan, const char *dir);

#endif /* AM_MICRO_H */
