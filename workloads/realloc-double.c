/*
 * realloc-double: buffers grown by doubling (a string builder, a vector),
 * several side by side so that a block cannot always grow into free space
 * behind it. Content is checked after every move.
 */
#include "workload.h"

enum { OPS, BUFFERS, FIRST, LAST };

static void double_run(struct am_workload_ctx *c)
{
    am_grow_loop(&c->m->thread[0], (unsigned)c->p[BUFFERS], (size_t)c->p[FIRST], (size_t)c->p[LAST],
                 0);
}

const struct am_workload am_realloc_double_workload = {
    .name = "realloc-double",
    .summary = "realloc growth by doubling, buffers side by side",
    .threaded = false,
    .params =
        {
            {"ops", "allocator operations", {2000, 200000, 2000000}},
            {"buffers", "buffers grown side by side (at most 64)", {4, 8, 8}},
            {"first", "initial size (bytes)", {16, 16, 16}},
            {"last", "final size (bytes)", {64 << 10, 256 << 10, 4 << 20}},
        },
    .run = double_run,
};
