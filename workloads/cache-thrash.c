/*
 * cache-thrash: active false sharing. Every thread allocates a small block,
 * writes every byte of it `rounds` times, and frees it, over and over. An
 * allocator that hands neighbouring blocks of one cache line to different
 * threads makes those writes fight over the line.
 */
#include "workload.h"

enum { OPS, SIZE, ROUNDS };

static void thrash_thread(struct am_thread *t, void *arg)
{
    const long *p = arg;
    am_touch_loop(t, (size_t)p[SIZE], (unsigned)p[ROUNDS]);
}

static void thrash_run(struct am_workload_ctx *c)
{
    am_parallel(c, thrash_thread, (void *)c->p, 0, false);
}

const struct am_workload am_cache_thrash_workload = {
    .name = "cache-thrash",
    .summary = "active false sharing: each thread allocates, writes, frees small blocks",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {10000, 1200000, 12000000}},
            {"size", "block size (bytes, at most 256)", {8, 8, 8}},
            {"rounds", "writes to every byte of a block before it is freed", {50, 50, 50}},
        },
    .run = thrash_run,
};
