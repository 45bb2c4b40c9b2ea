/*
 * larson: a server simulation after Larson and Krishnan's benchmark. Each
 * thread holds `slots` blocks of random sizes and replaces them at random;
 * every generation ends its threads and starts new ones, and the blocks pass
 * to a different thread (array i goes to thread i + 1), so most frees happen
 * on a thread that did not allocate the block, and the allocator's
 * per-thread caches of threads that have exited must be dealt with.
 */
#include "workload.h"

enum { OPS, SLOTS, MIN_SIZE, MAX_SIZE, GENERATIONS };

#define ENTRIES 65536u

struct larson {
    struct am_churn *churn;
    unsigned generation, generations;
};

static int larson_prepare(struct am_workload_ctx *c)
{
    struct am_churn *churn = am_churn_prepare(c, 1, ENTRIES, (size_t)c->p[SLOTS]);
    if (!churn)
        return ENOMEM;
    am_sizes_uniform(&churn->sizes[0], c->p[MIN_SIZE], c->p[MAX_SIZE]);
    struct larson *l = am_scratch(sizeof *l);
    if (!l)
        return ENOMEM;
    l->churn = churn;
    l->generations = (unsigned)c->p[GENERATIONS];
    c->state = l;
    return 0;
}

static void generation(struct am_thread *t, void *arg)
{
    struct larson *l = arg;
    unsigned threads = t->m->threads;
    /* This generation's thread i takes over the array the previous
     * generation's thread i - 1 worked on. */
    struct am_slots *slots = &l->churn->slots[(t->index + l->generation) % threads];
    uint64_t rng = am_seed(t->index) + l->generation;
    uint64_t until = t->ops_target * (l->generation + 1) / l->generations;
    am_slots_churn(t, slots, &l->churn->sizes[0], &rng, until);
    if (l->generation + 1 == l->generations || am_op_stopping(t))
        am_slots_clear(t, slots);
}

static void larson_run(struct am_workload_ctx *c)
{
    struct larson *l = c->state;
    for (l->generation = 0; l->generation < l->generations; l->generation++) {
        am_parallel(c, generation, l, 0, true);
        if (am_op_stopping(&c->m->thread[0]))
            break;
    }
}

const struct am_workload am_larson_workload = {
    .name = "larson",
    .summary = "server simulation: random replacement, blocks handed to new threads",
    .threaded = true,
    .params =
        {
            {"ops", "allocator operations per thread", {20000, 3000000, 30000000}},
            {"slots", "live blocks per thread", {500, 1000, 10000}},
            {"min_size", "smallest request (bytes)", {16, 16, 16}},
            {"max_size", "largest request (bytes)", {512, 512, 512}},
            {"generations", "times the threads are replaced", {4, 10, 50}},
        },
    .prepare = larson_prepare,
    .run = larson_run,
};
