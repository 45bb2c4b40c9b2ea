/*
 * large: large blocks, sizes log-uniform from min_size (64 KiB) to max_size
 * (32 MiB), a few live at a time, replaced at random. Every page of every
 * block is written, so the cost of fresh pages from the OS (mmap, page
 * faults, zeroing) against reusing them is what shows.
 */
#include "workload.h"

#include <math.h>

enum { OPS, SLOTS, MIN_SIZE, MAX_SIZE };

#define ENTRIES 4096u

static int large_prepare(struct am_workload_ctx *c)
{
    struct am_churn *st = am_churn_prepare(c, 1, ENTRIES, (size_t)c->p[SLOTS]);
    if (!st)
        return ENOMEM;
    double lo = log((double)c->p[MIN_SIZE]), hi = log((double)c->p[MAX_SIZE]);
    for (uint32_t i = 0; i < ENTRIES; i++)
        st->sizes[0].v[i] = (uint32_t)exp(lo + (hi - lo) * (i + 0.5) / ENTRIES);
    return 0;
}

const struct am_workload am_large_workload = {
    .name = "large",
    .summary = "large blocks, log-uniform 64 KiB..32 MiB, every page written",
    .threaded = false,
    .params =
        {
            {"ops", "allocator operations", {40, 400, 4000}},
            {"slots", "live blocks (at most)", {4, 8, 8}},
            {"min_size", "smallest request (bytes)", {64 << 10, 64 << 10, 64 << 10}},
            {"max_size", "largest request (bytes)", {4 << 20, 32 << 20, 32 << 20}},
        },
    .prepare = large_prepare,
    .run = am_churn_run,
};
