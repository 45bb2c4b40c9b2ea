/*
 * realloc-grow1: buffers grown by one element at a time (an array appended
 * to without any capacity slack), several side by side. Most steps should
 * stay in place; the ones that move copy the whole buffer.
 */
#include "workload.h"

enum { OPS, BUFFERS, ELEMENT, LAST };

static void grow1_run(struct am_workload_ctx *c)
{
    am_grow_loop(&c->m->thread[0], (unsigned)c->p[BUFFERS], (size_t)c->p[ELEMENT],
                 (size_t)c->p[LAST], (size_t)c->p[ELEMENT]);
}

const struct am_workload am_realloc_grow1_workload = {
    .name = "realloc-grow1",
    .summary = "realloc growth by one element, buffers side by side",
    .threaded = false,
    .params =
        {
            {"ops", "allocator operations", {50000, 5000000, 50000000}},
            {"buffers", "buffers grown side by side (at most 64)", {4, 4, 8}},
            {"element", "bytes added per step (and the first size)", {8, 8, 8}},
            {"last", "final size (bytes)", {4096, 16384, 65536}},
        },
    .run = grow1_run,
};
