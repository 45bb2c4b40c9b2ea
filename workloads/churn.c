/*
 * churn: fixed-size churn, one size at a time from min_size doubling up to
 * max_size. Each thread keeps `live` slots; every step frees a random slot's
 * block and allocates a new one of the same size, so the allocator's
 * per-size-class fast path is what gets measured, size class by size class.
 */
#include "workload.h"

enum { OPS, LIVE, MIN_SIZE, MAX_SIZE };

static int churn_prepare(struct am_workload_ctx *c)
{
    unsigned phases = 0;
    for (long n = c->p[MIN_SIZE]; n <= c->p[MAX_SIZE] && phases < AM_MAX_PHASES; n *= 2)
        phases++;
    struct am_churn *st = am_churn_prepare(c, phases, 1, (size_t)c->p[LIVE]);
    if (!st)
        return ENOMEM;
    for (unsigned k = 0; k < phases; k++)
        st->sizes[k].v[0] = (uint32_t)(c->p[MIN_SIZE] << k);
    return 0;
}

const struct am_workload am_churn_workload = {
    .name = "churn",
    .summary = "fixed-size churn, one size class after another (min..max, doubling)",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {40000, 10000000, 100000000}},
            {"live", "live blocks per thread", {256, 1000, 10000}},
            {"min_size", "smallest block size (bytes)", {16, 16, 16}},
            {"max_size", "largest block size (bytes)", {4096, 4096, 16384}},
        },
    .prepare = churn_prepare,
    .run = am_churn_run,
};
