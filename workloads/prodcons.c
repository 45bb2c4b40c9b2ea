/*
 * prodcons: producer/consumer with cross-thread frees. Threads pair up:
 * thread 2k allocates blocks of random sizes and passes them through a
 * bounded single-producer single-consumer queue to thread 2k + 1, which
 * checks and frees them. An odd thread out (and a single thread) produces a
 * batch and consumes it itself. The allocator sees every block freed by a
 * thread that never allocates.
 */
#include "workload.h"

#include <sched.h>

enum { OPS, MIN_SIZE, MAX_SIZE, QUEUE };

#define ENTRIES 65536u

struct item {
    void *p;
    size_t n;
    uint64_t cookie;
};

/* One per pair; head and tail in their own cache lines. */
struct queue {
    _Alignas(64) atomic_size_t head; /* next item to take (consumer) */
    _Alignas(64) atomic_size_t tail; /* next free place (producer) */
    _Alignas(64) struct item *items;
    size_t capacity; /* a power of two */
};

struct prodcons {
    struct am_sizes sizes;
    struct queue queue[AM_MAX_THREADS / 2 + 1];
};

static int prodcons_prepare(struct am_workload_ctx *c)
{
    struct prodcons *pc = am_scratch(sizeof *pc);
    if (!pc || am_sizes_init(&pc->sizes, ENTRIES))
        return ENOMEM;
    am_sizes_uniform(&pc->sizes, c->p[MIN_SIZE], c->p[MAX_SIZE]);
    size_t capacity = 1;
    while (capacity < (size_t)c->p[QUEUE])
        capacity *= 2;
    for (unsigned q = 0; q < c->threads / 2 + 1; q++) {
        pc->queue[q].capacity = capacity;
        pc->queue[q].items = am_scratch(capacity * sizeof(struct item));
        if (!pc->queue[q].items)
            return ENOMEM;
    }
    c->state = pc;
    return 0;
}

static bool push(struct queue *q, struct item it)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tail - atomic_load_explicit(&q->head, memory_order_acquire) == q->capacity)
        return false;
    q->items[tail & (q->capacity - 1)] = it;
    atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
    return true;
}

static bool pop(struct queue *q, struct item *it)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head == atomic_load_explicit(&q->tail, memory_order_acquire))
        return false;
    *it = q->items[head & (q->capacity - 1)];
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    return true;
}

/* Produce one block into q; false when the thread must stop. */
static bool produce(struct am_thread *t, struct prodcons *pc, struct queue *q, uint64_t *rng,
                    uint64_t *tag)
{
    struct item it = {.n = am_sizes_draw(&pc->sizes, rng)};
    it.cookie = am_cookie((*tag)++, it.n);
    it.p = am_alloc_filled(t, it.n, it.cookie);
    if (!it.p)
        return false;
    while (!push(q, it))
        sched_yield(); /* the consumer always drains, whatever happens */
    return true;
}

/* Take one item; false when the queue is empty. A NULL item ends the stream. */
static bool consume(struct am_thread *t, struct queue *q, bool *ended)
{
    struct item it;
    if (!pop(q, &it))
        return false;
    if (!it.p)
        *ended = true;
    else
        am_free_checked(t, it.p, it.n, it.cookie);
    return true;
}

static void producer(struct am_thread *t, struct prodcons *pc, struct queue *q)
{
    uint64_t rng = am_seed(t->index), tag = (uint64_t)t->index << 32;
    while (!am_op_done(t) && produce(t, pc, q, &rng, &tag)) {
    }
    struct item end = {0};
    while (!push(q, end))
        sched_yield();
}

static void consumer(struct am_thread *t, struct queue *q)
{
    bool ended = false;
    while (!ended)
        if (!consume(t, q, &ended))
            sched_yield();
}

/* Alone: fill the queue, then empty it, until done. */
static void both(struct am_thread *t, struct prodcons *pc, struct queue *q)
{
    uint64_t rng = am_seed(t->index), tag = (uint64_t)t->index << 32;
    bool ended = false;
    while (!am_op_done(t)) {
        size_t batch = q->capacity;
        while (batch-- && !am_op_done(t) && produce(t, pc, q, &rng, &tag)) {
        }
        while (consume(t, q, &ended)) {
        }
    }
}

static void prodcons_thread(struct am_thread *t, void *arg)
{
    struct prodcons *pc = arg;
    unsigned i = t->index, pairs = t->m->threads / 2;
    struct queue *q = &pc->queue[i / 2];
    if (i / 2 >= pairs)
        both(t, pc, q);
    else if (i % 2 == 0)
        producer(t, pc, q);
    else
        consumer(t, q);
}

static void prodcons_run(struct am_workload_ctx *c)
{
    am_parallel(c, prodcons_thread, c->state, 0, false);
}

const struct am_workload am_prodcons_workload = {
    .name = "prodcons",
    .summary = "producer/consumer pairs: every block freed by another thread",
    .threaded = true,
    .params =
        {
            {"ops", "blocks each producer allocates", {20000, 3000000, 30000000}},
            {"min_size", "smallest request (bytes)", {16, 16, 16}},
            {"max_size", "largest request (bytes)", {512, 512, 512}},
            {"queue", "blocks in flight per pair (at most)", {256, 1024, 4096}},
        },
    .prepare = prodcons_prepare,
    .run = prodcons_run,
};
