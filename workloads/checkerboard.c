/*
 * checkerboard: fragmentation by holes. Fill the heap with `blocks` small
 * blocks, free every other one, then ask for larger blocks worth the freed
 * bytes: none fits a hole, so an allocator must find new memory while half
 * of what it holds sits free. peak RSS / peak live bytes shows the cost.
 * Then everything is freed and the round starts again.
 */
#include "workload.h"

enum { OPS, BLOCKS, SMALL, LARGE };

struct board {
    void **small;
    void **large;
    size_t n_small, n_large;
};

static int board_prepare(struct am_workload_ctx *c)
{
    struct board *b = am_scratch(sizeof *b);
    if (!b)
        return ENOMEM;
    b->n_small = (size_t)c->p[BLOCKS];
    b->n_large = b->n_small / 2 * (size_t)c->p[SMALL] / (size_t)c->p[LARGE];
    b->small = am_scratch(b->n_small * sizeof(void *));
    b->large = am_scratch((b->n_large + 1) * sizeof(void *));
    if (!b->small || !b->large)
        return ENOMEM;
    c->state = b;
    return 0;
}

static void free_all(struct am_thread *t, void **v, size_t count, size_t n, uint64_t tag)
{
    for (size_t i = 0; i < count; i++) {
        if (v[i])
            am_free_checked(t, v[i], n, am_cookie(tag + i, n));
        v[i] = NULL;
    }
}

static void board_run(struct am_workload_ctx *c)
{
    struct board *b = c->state;
    struct am_thread *t = &c->m->thread[0];
    size_t small = (size_t)c->p[SMALL], large = (size_t)c->p[LARGE];
    const uint64_t large_tag = 1ull << 40;
    while (!am_op_done(t)) {
        for (size_t i = 0; i < b->n_small && !am_op_stopping(t); i++)
            b->small[i] = am_alloc_filled(t, small, am_cookie(i, small));
        for (size_t i = 1; i < b->n_small && !am_op_stopping(t); i += 2) {
            if (!am_free_checked(t, b->small[i], small, am_cookie(i, small)))
                break;
            b->small[i] = NULL;
        }
        for (size_t i = 0; i < b->n_large && !am_op_stopping(t); i++)
            b->large[i] = am_alloc_filled(t, large, am_cookie(large_tag + i, large));
        free_all(t, b->small, b->n_small, small, 0);
        free_all(t, b->large, b->n_large, large, large_tag);
    }
}

const struct am_workload am_checkerboard_workload = {
    .name = "checkerboard",
    .summary = "fill, free every other block, then allocate larger blocks",
    .threaded = false,
    .params =
        {
            {"ops", "allocator operations", {20000, 2000000, 20000000}},
            {"blocks", "small blocks per round", {5000, 100000, 1000000}},
            {"small", "small block size (bytes)", {64, 64, 64}},
            {"large", "larger block size (bytes)", {192, 192, 192}},
        },
    .prepare = board_prepare,
    .run = board_run,
};
