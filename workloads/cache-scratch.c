/*
 * cache-scratch: passive false sharing. The main thread allocates one small
 * block per worker, back to back (likely in one cache line), and hands block
 * i to new thread i, which frees it and then allocates, writes `rounds` times
 * and frees small blocks over and over. An allocator that gives a thread the
 * memory another thread freed back keeps the workers writing to neighbouring
 * bytes of the main thread's cache line.
 */
#include "workload.h"

enum { OPS, SIZE, ROUNDS };

struct scratch {
    const long *p;
    void *handed[AM_MAX_THREADS];
};

static int scratch_prepare(struct am_workload_ctx *c)
{
    struct scratch *s = am_scratch(sizeof *s);
    if (!s)
        return ENOMEM;
    s->p = c->p;
    c->state = s;
    return 0;
}

static void scratch_thread(struct am_thread *t, void *arg)
{
    struct scratch *s = arg;
    size_t n = (size_t)s->p[SIZE];
    if (s->handed[t->index])
        am_free_checked(t, s->handed[t->index], n, am_cookie(t->index, n));
    am_touch_loop(t, n, (unsigned)s->p[ROUNDS]);
}

static void scratch_run(struct am_workload_ctx *c)
{
    struct scratch *s = c->state;
    size_t n = (size_t)c->p[SIZE];
    /* Allocated here, on the main thread, before the workers exist. */
    for (unsigned i = 0; i < c->threads; i++)
        s->handed[i] = am_alloc_filled(&c->m->thread[0], n, am_cookie(i, n));
    am_parallel(c, scratch_thread, s, 0, true);
}

const struct am_workload am_cache_scratch_workload = {
    .name = "cache-scratch",
    .summary = "passive false sharing: workers free blocks the main thread allocated",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {10000, 1500000, 15000000}},
            {"size", "block size (bytes, at most 256)", {8, 8, 8}},
            {"rounds", "writes to every byte of a block before it is freed", {50, 50, 50}},
        },
    .prepare = scratch_prepare,
    .run = scratch_run,
};
