/*
 * workload.h: the contract between a workload and the harness, and the pieces
 * every workload shares: random numbers, cookies, slot churn, threads and
 * scratch memory.
 *
 * A workload is one file workloads/<name>.c exporting one
 * `const struct am_workload am_<name>_workload` ('-' written as '_'), listed
 * once in workloads/meson.build. It allocates only through the instrumented
 * operations of measure/measure.h (am_op_malloc, am_op_free, am_op_realloc),
 * writes into every block it allocates (am_fill: a cookie at both ends and a
 * byte in every page, so an allocator cannot win by handing out memory nobody
 * touches) and checks the cookie before freeing (am_free_checked), so that a
 * broken allocator is caught as "corrupt" rather than measured. Its own
 * bookkeeping (slot arrays, queues, size tables) comes from am_scratch, never
 * from the allocator under test, and is set up in `prepare`, before the
 * measured phase.
 *
 * A workload stops early, freeing what it holds, when am_op_stopping() turns
 * true (the cell's time budget is spent or something failed); an allocation
 * that returns NULL is reported by am_alloc_filled as "oom".
 *
 * Layering: depends on measure/ (and through it the front end) and
 * the C library; harness/cell.c runs workloads.
 */
#ifndef AM_WORKLOAD_H
#define AM_WORKLOAD_H

#include <errno.h> /* prepare returns errno values */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "measure.h"
#include "profile.h"

/* ---------------------------------------------------------------------------
 * The contract
 * ------------------------------------------------------------------------ */

#define AM_MAX_PARAMS 8

struct am_param {
    const char *name; /* lower_case_words; params[0] is always "ops" */
    const char *about;
    long value[AM_PROFILE_COUNT]; /* smoke, quick, full */
};

struct am_workload_ctx {
    struct am_measure *m;
    unsigned threads;
    const long *p; /* p[i]: the value of params[i] in this cell's profile */
    void *state;   /* whatever prepare wants run to have */
};

struct am_workload {
    const char *name; /* [a-z0-9-]+, as on the command line */
    const char *summary;
    /* Runs at every requested thread count; otherwise on one thread only. */
    bool threaded;
    /* Nonzero: always runs on this many threads, whatever was requested (a
     * trace replay runs the recording's threads). */
    unsigned fixed_threads;
    /* The first is "ops": each thread's budget of allocator operations, after
     * which the workload frees what it holds and returns. A NULL name ends
     * the list. */
    struct am_param params[AM_MAX_PARAMS];
    /* Optional, before the measured phase: scratch memory, tables. Must not
     * call the allocator. Returns 0 or an errno value. */
    int (*prepare)(struct am_workload_ctx *c);
    /* The measured phase, on the calling thread (thread 0) or through
     * am_parallel. */
    void (*run)(struct am_workload_ctx *c);
};

/* The registry, generated from the list in workloads/meson.build. */
extern const struct am_workload *const am_workloads[];
extern const size_t am_workload_count;
/* NULL if no workload has that name. "trace:FILE" (or trace:NAME, a sample
 * trace) names a replay of that trace (workloads/trace.c). */
const struct am_workload *am_find_workload(const char *name);
/* The replay workload of "trace:FILE", made on first use; NULL (with the
 * reason on stderr) when the trace cannot be read. */
const struct am_workload *am_trace_workload(const char *name);
/* Whether am_trace_workload reads the whole trace to check it (true; a
 * cell's child, which reads it anyway, turns it off). */
extern bool am_trace_validate;
/* The sample traces that set-up recorded (build/traces/NAME.amtrace, or the
 * directory AM_TRACE_DIR), as trace:NAME workloads, by name; how many. */
unsigned am_trace_samples(const struct am_workload **out, unsigned max);
unsigned am_workload_param_count(const struct am_workload *w);

/* ---------------------------------------------------------------------------
 * Random numbers: xorshift64*, one state per thread, the same seeds for every
 * allocator so that each sees the same sequence of requests.
 * ------------------------------------------------------------------------ */

static inline uint64_t am_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t am_rand_below(uint64_t *s, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)am_rand(s) * n) >> 64);
}

/* The seed of thread `index`. */
uint64_t am_seed(unsigned index);

/* ---------------------------------------------------------------------------
 * Cookies. A block of n bytes holds the cookie's bytes in its first
 * min(n, 8) bytes and in its last bytes from max(8, n - 8) on, and one byte
 * derived from it at every 4096-byte offset below n - 8.
 * ------------------------------------------------------------------------ */

/* The cookie of a block: distinct tags give distinct cookies, so a block
 * handed out twice is overwritten with the other holder's cookie. */
static inline uint64_t am_cookie(uint64_t tag, size_t n)
{
    uint64_t x = tag * 0x9E3779B97F4A7C15ull + n;
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void am_fill(void *p, size_t n, uint64_t cookie);
/* After growing a filled block from old_n to n bytes: write what am_fill
 * would have written beyond what the first old_n bytes already hold. */
void am_extend(void *p, size_t old_n, size_t n, uint64_t cookie);
/* True when p still holds what am_fill wrote; otherwise the cell fails as
 * "corrupt", naming the offset. */
bool am_intact(struct am_thread *t, const void *p, size_t n, uint64_t cookie);

/* am_op_malloc + am_fill; NULL (and the cell fails as "oom") on failure. */
void *am_alloc_filled(struct am_thread *t, size_t n, uint64_t cookie);
/* am_intact, then am_op_free. A block that fails the check is not freed (its
 * allocator can no longer be trusted with it) and false is returned. */
bool am_free_checked(struct am_thread *t, void *p, size_t n, uint64_t cookie);
/* Check the first old_n bytes, realloc to n > old_n, am_extend. On failure
 * returns false and the cell has failed: *p is still the caller's after
 * "oom", and NULL (abandoned) after "corrupt". */
bool am_grow(struct am_thread *t, void **p, size_t old_n, size_t n, uint64_t cookie);

/* ---------------------------------------------------------------------------
 * Sizes and slots: a bounded live set whose blocks are replaced at random.
 * ------------------------------------------------------------------------ */

/* A distribution of request sizes: draws pick an entry at random. */
struct am_sizes {
    uint32_t *v;
    uint32_t mask; /* entries - 1, entries a power of two */
};

/* A table of `entries` (a power of two) sizes in scratch memory; 0 or ENOMEM. */
int am_sizes_init(struct am_sizes *s, uint32_t entries);
/* Fill it with sizes uniform in [min, max]: entry i is the (i + 1/2)/entries
 * quantile, so that the table is the distribution, not a sample of it. */
void am_sizes_uniform(struct am_sizes *s, long min, long max);

static inline uint32_t am_sizes_draw(const struct am_sizes *s, uint64_t *rng)
{
    return s->v[am_rand(rng) & s->mask];
}

struct am_slots {
    void **ptr;    /* NULL when empty */
    uint32_t *len; /* requested bytes */
    size_t count;
    uint64_t tag; /* distinguishes these slots' cookies from other sets' */
};

/* Map slot arrays for `count` slots; 0 or an errno value. */
int am_slots_init(struct am_slots *s, size_t count, uint64_t tag);
/* Until thread t has done `until` operations or must stop: pick a slot at
 * random, free its block (checked) and allocate a new one of a size drawn
 * from `sizes`. */
void am_slots_churn(struct am_thread *t, struct am_slots *s, const struct am_sizes *sizes,
                    uint64_t *rng, uint64_t until);
/* Free every block still held (checked). */
void am_slots_clear(struct am_thread *t, struct am_slots *s);

/* The workloads that only churn slots: each thread churns its own slots
 * through the phases in turn (an equal share of its budget each, the slots
 * cleared after each), drawing sizes from that phase's table. */
#define AM_MAX_PHASES 16

struct am_churn {
    unsigned phases;
    struct am_sizes sizes[AM_MAX_PHASES];
    struct am_slots slots[AM_MAX_THREADS];
};

/* c->state = a struct am_churn with `phases` tables of `entries` sizes each
 * (for the caller to fill) and slots_per_thread slots per thread; returns it,
 * or NULL when out of memory. */
struct am_churn *am_churn_prepare(struct am_workload_ctx *c, unsigned phases, uint32_t entries,
                                  size_t slots_per_thread);
void am_churn_run(struct am_workload_ctx *c);

/* ---------------------------------------------------------------------------
 * Blocks written over and over (false-sharing workloads) and blocks grown by
 * realloc.
 * ------------------------------------------------------------------------ */

/* Increment every byte of p[0..n) `rounds` times, through memory. */
void am_touch(void *p, size_t n, unsigned rounds);
/* Until thread t is done: allocate an n-byte block (n <= 256), touch it
 * `rounds` times, check and free it. */
void am_touch_loop(struct am_thread *t, size_t n, unsigned rounds);

/* Until thread t is done: grow `count` blocks side by side (count <= 64) from
 * `first` to `last` bytes, each step from n to n * 2 (step == 0) or n + step,
 * then free them. */
void am_grow_loop(struct am_thread *t, unsigned count, size_t first, size_t last, size_t step);

/* ---------------------------------------------------------------------------
 * Threads and scratch memory
 * ------------------------------------------------------------------------ */

typedef void (*am_thread_fn)(struct am_thread *t, void *arg);

/* Run fn on c->threads threads, thread i getting &c->m->thread[i] and
 * (char *)args + i * arg_size; they start together and all are joined before
 * it returns. With one thread and !fresh, fn runs on the calling thread;
 * fresh asks for new threads even then (for workloads whose point is that
 * blocks outlive the thread that allocated them). A thread that cannot be
 * created fails the cell as "error". */
void am_parallel(struct am_workload_ctx *c, am_thread_fn fn, void *args, size_t arg_size,
                 bool fresh);

/* Zeroed, populated memory from mmap, for a workload's own bookkeeping;
 * NULL when out of memory. Lives until the cell's process ends. */
void *am_scratch(size_t n);

#endif /* AM_WORKLOAD_H */
