/*
 * measure.h: what a cell measures while its workload runs, and the cheap
 * instrumented operations (am_op_malloc, am_op_free, am_op_realloc) that
 * workloads call instead of the front end directly.
 *
 * Every instrumented operation counts itself and the requested bytes it makes
 * live; one operation in about every AM_SAMPLE_EVERY of each kind is timed
 * with the cycle counter (rdtsc where the CPU has an invariant TSC, else
 * CLOCK_MONOTONIC) into a preallocated per-thread array. Thread 0 also takes a
 * time-series point (RSS from /proc/self/statm, live requested bytes, the
 * allocator's own OS bytes) every fixed number of its operations. Nothing here
 * allocates through the allocator under test, and nothing on the fast path
 * touches memory shared between threads except the read-mostly stop flag.
 *
 * Layering: depends on allocators/ (the front end) and the C library. Workloads
 * use it through workloads/workload.h; harness/cell.c drives it.
 */
#ifndef AM_MEASURE_H
#define AM_MEASURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend.h"

/* ---------------------------------------------------------------------------
 * Clock
 * ------------------------------------------------------------------------ */

/* Choose the clock. ticks_per_s > 0 is a rate measured earlier (the parent
 * calibrates once per run and hands it to every cell); 0 calibrates here. */
void am_clock_init(double ticks_per_s);
/* Measure the tick rate against CLOCK_MONOTONIC over about `seconds`. */
double am_clock_calibrate(double seconds);
double am_clock_hz(void);
/* "tsc" or "monotonic". */
const char *am_clock_source(void);

extern bool am__clock_use_tsc;
uint64_t am__clock_monotonic_ns(void);

static inline uint64_t am_clock_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (am__clock_use_tsc)
        return __builtin_ia32_rdtsc();
#endif
    return am__clock_monotonic_ns();
}

/* The median cost of two back-to-back clock reads, in ticks: what every
 * latency sample carries on top of the operation itself. */
uint64_t am_clock_overhead_ticks(void);

/* ---------------------------------------------------------------------------
 * Cell outcome
 * ------------------------------------------------------------------------ */

enum am_status {
    AM_STATUS_OK,
    AM_STATUS_CRASH,   /* killed by a signal */
    AM_STATUS_TIMEOUT, /* ran past its hard time limit */
    AM_STATUS_OOM,     /* an allocation returned NULL */
    AM_STATUS_CORRUPT, /* a block's cookie changed while it was live */
    AM_STATUS_ERROR,   /* anything else: could not start, bad output, ... */
    AM_STATUS_WRONG,   /* a program's output differs from glibc's or fails its check */
    AM_STATUS_SKIPPED, /* could not run here: its tool or drop-in is missing (not a failure) */
    AM_STATUS_COUNT
};

/* "ok", "crash", "timeout", "oom", "corrupt", "error". */
const char *am_status_name(enum am_status s);
/* AM_STATUS_COUNT for an unknown word. */
enum am_status am_status_parse(const char *word);

/* ---------------------------------------------------------------------------
 * Per-thread and per-cell state
 * ------------------------------------------------------------------------ */

enum am_op_kind { AM_OP_MALLOC, AM_OP_FREE, AM_OP_REALLOC, AM_OP_KINDS };

/* The most threads a cell may run. */
#define AM_MAX_THREADS 256u

/* Mean number of operations of one kind between two timed ones. */
#define AM_SAMPLE_EVERY 16u
/* Latency samples kept per thread and kind before thinning (see measure.c). */
#define AM_SAMPLE_CAPACITY 65536u
/* Time-series points kept per cell before thinning. */
#define AM_SERIES_CAPACITY 512u

struct am_measure;

struct am_sampler {
    uint32_t countdown; /* operations of this kind left before the next timed one */
    uint32_t every;     /* mean distance between timed operations */
    uint32_t count;
    uint32_t *ticks; /* AM_SAMPLE_CAPACITY entries, mapped and populated up front */
    uint64_t max;    /* the longest timed operation, not clipped */
};

/* One workload thread's counters. Written only by its thread (thread 0 reads
 * `live` of the others when it takes a series point). */
struct am_thread {
    struct am_heap *heap;
    struct am_measure *m;
    uint64_t ops;         /* instrumented operations so far */
    uint64_t ops_target;  /* the workload's per-thread budget of operations */
    int64_t live;         /* requested bytes allocated minus freed by this thread */
    int64_t live_peak;    /* the largest `live` seen (exact for one thread) */
    uint64_t series_next; /* `ops` at which to take the next series point */
    uint64_t rng;         /* the sampler's own random state */
    unsigned index;
    struct am_sampler lat[AM_OP_KINDS];
} __attribute__((aligned(64)));

struct am_series_point {
    uint64_t ops;   /* operations done by all threads */
    uint64_t ticks; /* since the measured phase began */
    size_t rss;     /* resident bytes of the process */
    int64_t live;   /* requested bytes live, all threads */
    size_t os;      /* the allocator's os_bytes, or AM_STAT_UNKNOWN */
};

struct am_measure {
    /* Read by every thread on every loop: alone in its cache line. */
    _Alignas(64) atomic_int stop; /* the deadline passed or something failed */
    _Alignas(64) struct am_heap *heap;
    unsigned threads;
    struct am_thread *thread;      /* [threads] */
    uint64_t start, end, deadline; /* ticks */
    uint64_t series_every;         /* thread-0 operations between series points */
    struct am_series_point *series;
    unsigned series_count;
    /* Time thread 0 spent taking series points inside the measured phase
     * (RSS from /proc, the allocator's statistics): not the workload's, so
     * the harness takes it out of the measured time. */
    uint64_t series_ticks;
    int64_t series_live_peak;
    int statm_fd;
    size_t page_size;
    /* Set by a workload that does work of its own inside the measured phase:
     * time that is not the allocator's (excluded from `seconds`), threads'
     * waiting on each other (thread-ticks, reported, excluded from ns/op),
     * and recorded calls it did not replay. */
    uint64_t excluded_ticks, wait_ticks, skipped;
    /* The calls a workload that counts them (a replay) issued, by C function:
     * "malloc=1000 calloc=500 free=1500"; empty when it does not. */
    char calls[256];
    /* RSS read at the moment live bytes peaked, by a workload that knows it
     * (a replay); 0 when unknown. */
    size_t rss_at_peak_live;
    atomic_int failed; /* the first failure wins the status and reason */
    enum am_status status;
    char reason[256];
};

/* Map and populate everything the measurement needs (so it is part of the
 * baseline RSS, never of the workload's), for `threads` threads with a budget
 * of ops_target operations each. Returns 0 or an errno value. */
int am_measure_init(struct am_measure *m, struct am_heap *heap, unsigned threads,
                    uint64_t ops_target);
void am_measure_fini(struct am_measure *m);
/* Forget every count and sample (after a calibration on the same arrays). */
void am_measure_reset(struct am_measure *m);
/* The measured phase: begin takes the first series point, then starts the
 * clock and sets the deadline `budget_s` seconds ahead (0: no deadline); end
 * stops the clock, then takes the last point. */
void am_measure_begin(struct am_measure *m, double budget_s);
void am_measure_end(struct am_measure *m);

/* Record the cell's first failure (later ones are ignored) and ask every
 * thread to stop. */
void am_measure_fail(struct am_measure *m, enum am_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The process's resident bytes now, from /proc/self/statm. */
size_t am_measure_rss(struct am_measure *m);

/* Results once the phase has ended. */
uint64_t am_measure_ops(const struct am_measure *m);
int64_t am_measure_live_peak(const struct am_measure *m);
struct am_latency {
    uint64_t samples;
    double p50_ns, p99_ns, p999_ns, max_ns;
};
/* Percentiles of one kind over every thread's samples (sorts them in place). */
struct am_latency am_measure_latency(struct am_measure *m, enum am_op_kind k);

/* ---------------------------------------------------------------------------
 * The instrumented operations
 * ------------------------------------------------------------------------ */

void *am__timed_malloc(struct am_thread *t, size_t n);
void am__timed_free(struct am_thread *t, void *p);
void *am__timed_realloc(struct am_thread *t, void *p, size_t n);
void am__series_point(struct am_thread *t);

static inline void am__count(struct am_thread *t, int64_t delta)
{
    /* Relaxed stores: plain moves, but thread 0 may read both at any time. */
    __atomic_store_n(&t->ops, t->ops + 1, __ATOMIC_RELAXED);
    int64_t live = t->live + delta;
    __atomic_store_n(&t->live, live, __ATOMIC_RELAXED);
    if (live > t->live_peak)
        t->live_peak = live;
    if (__builtin_expect(t->ops >= t->series_next, 0))
        am__series_point(t);
}

/* am_malloc, counted and sometimes timed. n is also what the workload will
 * pass to am_op_free. */
static inline void *am_op_malloc(struct am_thread *t, size_t n)
{
    void *p;
    if (__builtin_expect(--t->lat[AM_OP_MALLOC].countdown == 0, 0))
        p = am__timed_malloc(t, n);
    else
        p = am_malloc(t->heap, n);
    if (__builtin_expect(p != NULL, 1))
        am__count(t, (int64_t)n);
    return p;
}

/* am_free of a block of n requested bytes. */
static inline void am_op_free(struct am_thread *t, void *p, size_t n)
{
    if (__builtin_expect(--t->lat[AM_OP_FREE].countdown == 0, 0))
        am__timed_free(t, p);
    else
        am_free(t->heap, p);
    am__count(t, -(int64_t)n);
}

/* am_realloc from old_n to n requested bytes (n > 0). */
static inline void *am_op_realloc(struct am_thread *t, void *p, size_t old_n, size_t n)
{
    void *q;
    if (__builtin_expect(--t->lat[AM_OP_REALLOC].countdown == 0, 0))
        q = am__timed_realloc(t, p, n);
    else
        q = am_realloc(t->heap, p, n);
    if (__builtin_expect(q != NULL, 1))
        am__count(t, (int64_t)n - (int64_t)old_n);
    return q;
}

/* True once the workload should wind down: its thread has done its budget
 * of operations, the time budget is spent, or the cell failed. */
static inline bool am_op_done(const struct am_thread *t)
{
    return t->ops >= t->ops_target || atomic_load_explicit(&t->m->stop, memory_order_relaxed);
}

/* True once the time budget is spent or the cell failed: the workload frees
 * what it holds and returns. */
static inline bool am_op_stopping(const struct am_thread *t)
{
    return atomic_load_explicit(&t->m->stop, memory_order_relaxed) != 0;
}

#endif /* AM_MEASURE_H */
