/*
 * random-heavy: random sizes from a heavy-tailed (Pareto) distribution, as
 * real programs ask: most requests a few dozen bytes, a few very large. The
 * tail index alpha (given x100) sets how heavy: P(size > x) = (min/x)^alpha,
 * cut at max_size. Bounded live set, random replacement.
 */
#include "workload.h"

#include <math.h>

enum { OPS, SLOTS, MIN_SIZE, MAX_SIZE, ALPHA_X100 };

#define ENTRIES 65536u

static int heavy_prepare(struct am_workload_ctx *c)
{
    struct am_churn *st = am_churn_prepare(c, 1, ENTRIES, (size_t)c->p[SLOTS]);
    if (!st)
        return ENOMEM;
    double lo = (double)c->p[MIN_SIZE], hi = (double)c->p[MAX_SIZE];
    double alpha = (double)c->p[ALPHA_X100] / 100.0;
    /* Stratified quantiles of the Pareto distribution: the inverse of
     * 1 - (lo/x)^alpha at (i + 1/2)/ENTRIES. */
    for (uint32_t i = 0; i < ENTRIES; i++) {
        double tail = 1.0 - (i + 0.5) / ENTRIES;
        double x = lo / pow(tail, 1.0 / alpha);
        st->sizes[0].v[i] = (uint32_t)(x < hi ? x : hi);
    }
    return 0;
}

const struct am_workload am_random_heavy_workload = {
    .name = "random-heavy",
    .summary = "heavy-tailed (Pareto) random sizes, bounded live set, random replacement",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {20000, 3000000, 30000000}},
            {"slots", "live blocks per thread (at most)", {1000, 10000, 100000}},
            {"min_size", "smallest request, the Pareto scale (bytes)", {16, 16, 16}},
            {"max_size", "largest request (bytes)", {1 << 20, 1 << 20, 1 << 22}},
            {"alpha_x100", "tail index alpha times 100 (smaller: heavier tail)", {110, 110, 110}},
        },
    .prepare = heavy_prepare,
    .run = am_churn_run,
};
