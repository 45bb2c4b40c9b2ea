/*
 * random-uniform: random sizes drawn uniformly from [min_size, max_size] with
 * a bounded live set: each thread replaces blocks in random slots.
 */
#include "workload.h"

enum { OPS, SLOTS, MIN_SIZE, MAX_SIZE };

#define ENTRIES 65536u

static int uniform_prepare(struct am_workload_ctx *c)
{
    struct am_churn *st = am_churn_prepare(c, 1, ENTRIES, (size_t)c->p[SLOTS]);
    if (!st)
        return ENOMEM;
    am_sizes_uniform(&st->sizes[0], c->p[MIN_SIZE], c->p[MAX_SIZE]);
    return 0;
}

const struct am_workload am_random_uniform_workload = {
    .name = "random-uniform",
    .summary = "uniformly random sizes, bounded live set, random replacement",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {20000, 3000000, 30000000}},
            {"slots", "live blocks per thread (at most)", {1000, 10000, 100000}},
            {"min_size", "smallest request (bytes)", {8, 8, 8}},
            {"max_size", "largest request (bytes)", {2048, 2048, 8192}},
        },
    .prepare = uniform_prepare,
    .run = am_churn_run,
};
