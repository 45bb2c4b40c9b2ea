/*
 * phases: a heap that grows and shrinks. Each round fills `blocks` slots with
 * random sizes, then frees all but one in `keep_every` (a different one each
 * round, so old survivors go too). The time series answers whether memory
 * goes back to the OS after each shrink, and how much the scattered
 * survivors pin.
 */
#include "workload.h"

enum { OPS, BLOCKS, MIN_SIZE, MAX_SIZE, KEEP_EVERY };

#define ENTRIES 65536u

struct phases {
    struct am_sizes sizes;
    struct am_slots slots;
};

static int phases_prepare(struct am_workload_ctx *c)
{
    struct phases *ph = am_scratch(sizeof *ph);
    if (!ph || am_sizes_init(&ph->sizes, ENTRIES) ||
        am_slots_init(&ph->slots, (size_t)c->p[BLOCKS], 0))
        return ENOMEM;
    am_sizes_uniform(&ph->sizes, c->p[MIN_SIZE], c->p[MAX_SIZE]);
    c->state = ph;
    return 0;
}

static void phases_run(struct am_workload_ctx *c)
{
    struct phases *ph = c->state;
    struct am_slots *s = &ph->slots;
    struct am_thread *t = &c->m->thread[0];
    uint64_t rng = am_seed(0);
    size_t keep = (size_t)c->p[KEEP_EVERY];
    for (size_t round = 0; !am_op_done(t); round++) {
        for (size_t i = 0; i < s->count && !am_op_stopping(t); i++) {
            if (s->ptr[i])
                continue;
            uint32_t n = am_sizes_draw(&ph->sizes, &rng);
            s->ptr[i] = am_alloc_filled(t, n, am_cookie(i, n));
            s->len[i] = n;
        }
        for (size_t i = 0; i < s->count && !am_op_stopping(t); i++) {
            if (!s->ptr[i] || (i + round) % keep == 0)
                continue;
            void *p = s->ptr[i];
            s->ptr[i] = NULL;
            if (!am_free_checked(t, p, s->len[i], am_cookie(i, s->len[i])))
                break;
        }
    }
    am_slots_clear(t, s);
}

const struct am_workload am_phases_workload = {
    .name = "phases",
    .summary = "grow the heap, shrink it to a few survivors, repeat: is memory returned?",
    .threaded = false,
    .params =
        {
            {"ops", "allocator operations", {20000, 500000, 5000000}},
            {"blocks", "live blocks at the top of each round", {4000, 32768, 131072}},
            {"min_size", "smallest request (bytes)", {16, 16, 16}},
            {"max_size", "largest request (bytes)", {4096, 4096, 4096}},
            {"keep_every", "one block in this many survives a shrink", {32, 32, 32}},
        },
    .prepare = phases_prepare,
    .run = phases_run,
};
