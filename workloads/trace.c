/*
 * trace.c: the replay workload, `-w trace:FILE` (or trace:NAME for a sample
 * trace, build/traces/NAME.amtrace). It replays a recorded trace
 * (trace/trace.h) on the allocator under test with the recorded thread
 * structure: one replay thread per recorded thread (the busiest recorded
 * thread is replay thread 0, which takes the time series), each performing
 * its thread's calls in the recorded order, with cookies written into every
 * block and checked before it is freed or reallocated.
 *
 * Order across threads: every block lives in a slot whose generation counts
 * the operations done on it; an operation waits until its slot has the
 * generation the recording implies (the allocation done before its free, the
 * previous holder of a slot gone before the next). That time is waiting,
 * not allocating: it is summed per thread into the cell's wait_s and never
 * timed as an operation. With AM_TRACE_PACED=1 (run --paced) each operation
 * also waits until its recorded time since the start; with AM_TRACE_STRICT=1
 * (run --strict-order) it waits for the event before it, on whatever
 * thread, so that the recording's global order is kept exactly.
 *
 * The trace is decoded in windows of events before they are replayed (the
 * whole trace is never in memory: a trace larger than memory streams); the
 * decoding is excluded from the measured time and reported as decode_s.
 * With one replay thread, or in strict order, live bytes are checked against
 * the recording's after every event: a replay that diverges fails the cell.
 * Otherwise threads keep their own order and the order of each block's
 * operations, so live bytes at a moment may differ from the recording's.
 *
 * Each event is replayed as the call that was recorded (memalign, valloc and
 * pvalloc through the front end's functions of those names), and the calls
 * issued are counted by function into the cell's `calls`; the exceptions
 * (calls that failed when recorded, realloc(NULL, 0)) are listed in
 * docs/trace-format.md, "How a replay calls the allocator".
 *
 * Layering: a workload; depends on workloads/workload.h (and through it
 * harness/measure.h) and the trace library (trace/trace.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"
#include "workload.h"

enum { OPS, WINDOW };

/* Replayed operation kinds. */
enum { R_MALLOC, R_CALLOC, R_REALLOC, R_FREE, R_ALIGNED, R_SKIP };

#define NO_NEXT UINT32_MAX
#define NO_SLOT UINT32_MAX

struct rop {
    uint8_t kind;
    uint8_t top; /* the recorded operation */
    uint16_t spare;
    uint32_t next;           /* the next operation of the same replay thread */
    uint32_t slot, slot_gen; /* the block it creates, and that slot's generation before */
    uint32_t ref, ref_gen;   /* the block it frees or reallocates */
    uint64_t size, aux;      /* aux: calloc's nmemb, an alignment */
    uint64_t tag;            /* the new block's cookie tag: its trace id */
    uint64_t ns;
    int64_t live;   /* the recording's live bytes after it */
    uint64_t index; /* event number */
};

struct slot {
    void *ptr;
    uint64_t size, tag;
    atomic_uint gen;
    uint32_t spare;
};

struct replay {
    const char *path;
    int fd;
    struct am_trace_reader r;
    uint64_t limit;      /* events to replay */
    uint64_t done;       /* events decoded so far */
    uint32_t *thread_of; /* recorded thread -> replay thread */
    unsigned threads;
    /* Slots, and the decoder's own view of them. */
    struct slot *slot;
    uint32_t slot_cap, fresh; /* slots [fresh, slot_cap) never used yet */
    uint32_t *next_free;      /* free lists, linked through the slots */
    uint32_t free_head[AM_MAX_THREADS];
    uint32_t *dgen;
    uint64_t peak_index; /* the event after which the recording's live bytes peak */
    /* The current window. */
    struct rop *op;
    size_t window;
    uint32_t head[AM_MAX_THREADS], tail[AM_MAX_THREADS];
    bool go; /* thread 0's verdict for the window: replay it */
    /* Accounting. */
    uint64_t decode_ticks;
    uint64_t wait_ticks[AM_MAX_THREADS];
    /* The calls each replay thread issued, by function (AM_TOP_*): a row of
     * two cache lines per thread, so that threads share none. */
    _Alignas(64) uint64_t calls[AM_MAX_THREADS][16];
    uint64_t skipped;
    bool paced;
    bool strict;                    /* AM_TRACE_STRICT=1: the recording's global order */
    _Alignas(64) atomic_ullong seq; /* strict: the next event to replay */
    int64_t exact_peak;             /* strict: the largest live bytes after an event */
    uint64_t pace_start;
    double ticks_per_ns;
    /* Window barrier. */
    atomic_uint arrived, sense;
};

static struct replay rp;

bool am_trace_validate = true;

/* ---------------------------------------------------------------------------
 * The workload's registry entry, made when a spec names a trace
 * ------------------------------------------------------------------------ */

#define MAX_TRACE_WORKLOADS 16

static struct am_workload trace_workloads[MAX_TRACE_WORKLOADS];
static char trace_names[MAX_TRACE_WORKLOADS][1024];
static char trace_paths[MAX_TRACE_WORKLOADS][1024];
static unsigned trace_count;

static int trace_prepare(struct am_workload_ctx *c);
static void trace_run(struct am_workload_ctx *c);

/* The file a spec names: a path, or a sample trace's name. */
static void resolve_path(const char *spec, char *out, size_t len)
{
    if (strchr(spec, '/') || strstr(spec, ".amtrace")) {
        snprintf(out, len, "%s", spec);
        return;
    }
    const char *dir = getenv("AM_TRACE_DIR");
    snprintf(out, len, "%s/%s.amtrace", dir && *dir ? dir : AM_TRACE_DIR, spec);
}

const struct am_workload *am_trace_workload(const char *name)
{
    for (unsigned i = 0; i < trace_count; i++)
        if (!strcmp(trace_names[i], name))
            return &trace_workloads[i];
    if (trace_count == MAX_TRACE_WORKLOADS || strlen(name) >= sizeof trace_names[0])
        return NULL;
    unsigned i = trace_count;
    resolve_path(name + 6, trace_paths[i], sizeof trace_paths[i]);
    int fd = open(trace_paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "allocmark: %s: cannot open %s: %s\n", name, trace_paths[i],
                strerror(errno));
        return NULL;
    }
    struct am_trace_reader r;
    /* Read it all now (but in a cell, which reads it anyway): a bad trace is
     * bad input, refused before any cell runs. */
    int rc = am_trace_open(&r, fd, trace_paths[i]);
    unsigned threads = rc == 0 ? r.h.threads : 0;
    struct am_trace_event ev;
    while (rc == 0 && am_trace_validate && (rc = am_trace_next(&r, &ev)) == 1)
        rc = 0;
    if (rc != 0)
        fprintf(stderr, "allocmark: %s: %s\n", name, r.error);
    am_trace_close(&r);
    close(fd);
    if (rc != 0)
        return NULL;
    snprintf(trace_names[i], sizeof trace_names[i], "%s", name);
    trace_workloads[i] = (struct am_workload){
        .name = trace_names[i],
        .summary = "replay of a recorded trace (allocmark record), with its threads",
        .threaded = false,
        .fixed_threads = threads < AM_MAX_THREADS ? threads : AM_MAX_THREADS,
        .params =
            {
                {"ops",
                 "events replayed (at most; the whole trace if shorter)",
                 {20000, 4000000, 1000000000000}},
                {"window", "events decoded ahead at a time", {16384, 262144, 1048576}},
            },
        .prepare = trace_prepare,
        .run = trace_run,
    };
    trace_count++;
    return &trace_workloads[i];
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

unsigned am_trace_samples(const struct am_workload **out, unsigned max)
{
    const char *dir = getenv("AM_TRACE_DIR");
    DIR *d = opendir(dir && *dir ? dir : AM_TRACE_DIR);
    if (!d)
        return 0;
    static char names[MAX_TRACE_WORKLOADS][256];
    const char *sorted[MAX_TRACE_WORKLOADS];
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_TRACE_WORKLOADS) {
        size_t len = strlen(e->d_name);
        if (len <= 8 || len > 200 || strcmp(e->d_name + len - 8, ".amtrace") != 0)
            continue;
        snprintf(names[n], sizeof names[n], "trace:%.*s", (int)(len - 8), e->d_name);
        sorted[n] = names[n];
        n++;
    }
    closedir(d);
    qsort(sorted, n, sizeof sorted[0], by_name);
    unsigned k = 0;
    for (unsigned i = 0; i < n && k < max; i++) {
        const struct am_workload *w = am_trace_workload(sorted[i]);
        if (w)
            out[k++] = w;
    }
    return k;
}

/* ---------------------------------------------------------------------------
 * Preparing: one pass to size everything, then a reader at the start
 * ------------------------------------------------------------------------ */

static int open_reader(struct am_workload_ctx *c)
{
    rp.fd = open(rp.path, O_RDONLY | O_CLOEXEC);
    if (rp.fd < 0) {
        int err = errno;
        am_measure_fail(c->m, AM_STATUS_ERROR, "cannot open %s: %s", rp.path, strerror(err));
        return err;
    }
    if (am_trace_open(&rp.r, rp.fd, rp.path) != 0) {
        am_measure_fail(c->m, AM_STATUS_ERROR, "%s", rp.r.error);
        return EINVAL;
    }
    return 0;
}

static int trace_prepare(struct am_workload_ctx *c)
{
    memset(&rp, 0, sizeof rp);
    rp.path = trace_paths[trace_count ? trace_count - 1 : 0];
    rp.limit = (uint64_t)c->p[OPS];
    rp.threads = c->threads;
    int err = open_reader(c);
    if (err)
        return err;
    uint32_t recorded = rp.r.h.threads;
    uint64_t *events = am_scratch(recorded * sizeof(uint64_t));
    rp.thread_of = am_scratch(recorded * sizeof(uint32_t));
    if (!events || !rp.thread_of)
        return ENOMEM;
    struct am_trace_event ev;
    uint64_t max_blocks = 0, n = 0;
    int64_t peak = -1;
    int rc = 0;
    while (n < rp.limit && (rc = am_trace_next(&rp.r, &ev)) == 1) {
        events[ev.thread]++;
        if (ev.live_blocks > max_blocks)
            max_blocks = ev.live_blocks;
        if (ev.live > peak) {
            peak = ev.live;
            rp.peak_index = ev.index;
        }
        n++;
    }
    if (rc < 0) {
        am_measure_fail(c->m, AM_STATUS_ERROR, "%s", rp.r.error);
        return EINVAL;
    }
    size_t blocks_cap = rp.r.blocks.mask + 1;
    am_trace_close(&rp.r);
    close(rp.fd);
    rp.limit = n;

    /* The busiest recorded thread replays as thread 0 (the time series is
     * taken there); the others follow in order, folded onto the cell's
     * threads when the recording had more. */
    uint32_t busiest = 0;
    for (uint32_t i = 1; i < recorded; i++)
        if (events[i] > events[busiest])
            busiest = i;
    for (uint32_t i = 0, next = 1; i < recorded; i++)
        rp.thread_of[i] = i == busiest || rp.threads == 1 ? 0 : (next++ % rp.threads);

    rp.slot_cap = (uint32_t)(max_blocks + 2);
    rp.slot = am_scratch((size_t)rp.slot_cap * sizeof *rp.slot);
    rp.next_free = am_scratch((size_t)rp.slot_cap * sizeof(uint32_t));
    rp.dgen = am_scratch((size_t)rp.slot_cap * sizeof(uint32_t));
    rp.window = (size_t)c->p[WINDOW];
    if (rp.window > n)
        rp.window = n ? n : 1;
    rp.op = am_scratch(rp.window * sizeof *rp.op);
    if (!rp.slot || !rp.next_free || !rp.dgen || !rp.op)
        return ENOMEM;
    for (unsigned t = 0; t < AM_MAX_THREADS; t++)
        rp.free_head[t] = NO_SLOT;

    /* The reader for the run, its block map as large as the pass needed and
     * touched now, so that none of it is counted against the allocator. */
    err = open_reader(c);
    if (err)
        return err;
    if (am_idmap_reserve(&rp.r.blocks, blocks_cap) != 0)
        return ENOMEM;

    /* One series point per 1/100 of thread 0's events; no operation budget
     * (the trace is the budget). */
    c->m->series_every = events[busiest] / 100 ? events[busiest] / 100 : 1;
    for (unsigned i = 0; i < c->threads; i++) {
        c->m->thread[i].ops_target = UINT64_MAX;
        c->m->thread[i].series_next = i == 0 ? c->m->series_every : UINT64_MAX;
    }
    const char *paced = getenv("AM_TRACE_PACED");
    rp.paced = paced && !strcmp(paced, "1");
    const char *strict = getenv("AM_TRACE_STRICT");
    rp.strict = strict && !strcmp(strict, "1");
    rp.ticks_per_ns = am_clock_hz() * 1e-9;
    c->state = &rp;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Decoding a window
 * ------------------------------------------------------------------------ */

/* Slots freed by a replay thread go back to that thread, which is the
 * likeliest to allocate next: reusing them creates no wait on another
 * thread. A thread with none takes a fresh slot, then one of another's. */
static uint32_t take_slot(unsigned t)
{
    uint32_t s = rp.free_head[t];
    if (s == NO_SLOT) {
        if (rp.fresh < rp.slot_cap)
            return rp.fresh++;
        for (unsigned k = 0; k < rp.threads && s == NO_SLOT; k++)
            if (rp.free_head[k] != NO_SLOT)
                s = rp.free_head[t = k];
    }
    rp.free_head[t] = rp.next_free[s];
    return s;
}

static void give_slot(unsigned t, uint32_t s)
{
    rp.next_free[s] = rp.free_head[t];
    rp.free_head[t] = s;
}

/* Fill the window; false when there is nothing left or the trace is bad
 * (the cell failed). */
static bool decode_window(struct am_measure *m)
{
    for (unsigned t = 0; t < rp.threads; t++)
        rp.head[t] = rp.tail[t] = NO_NEXT;
    size_t n = 0;
    struct am_trace_event ev;
    while (n < rp.window && rp.done < rp.limit) {
        int rc = am_trace_next(&rp.r, &ev);
        if (rc <= 0) {
            if (rc < 0)
                am_measure_fail(m, AM_STATUS_ERROR, "%s", rp.r.error);
            rp.limit = rp.done;
            break;
        }
        rp.done++;
        struct rop *o = &rp.op[n];
        memset(o, 0, sizeof *o);
        o->top = ev.op;
        o->size = ev.size;
        o->ns = ev.ns;
        o->live = ev.live;
        o->index = ev.index;
        o->slot = o->ref = NO_SLOT;
        if (ev.ref) {
            o->ref = (uint32_t)ev.ref_user;
            o->ref_gen = rp.dgen[o->ref]++;
        }
        unsigned t = rp.thread_of[ev.thread];
        if (ev.id) {
            o->slot = take_slot(t);
            o->slot_gen = rp.dgen[o->slot]++;
            o->tag = ev.id;
            am_trace_set_user(&rp.r, ev.id, o->slot);
        }
        switch (ev.op) {
        case AM_TOP_MALLOC:
            o->kind = ev.id ? R_MALLOC : R_SKIP;
            break;
        case AM_TOP_CALLOC:
            o->kind = ev.id ? R_CALLOC : R_SKIP;
            o->aux = ev.nmemb;
            break;
        case AM_TOP_FREE:
            o->kind = R_FREE;
            break;
        case AM_TOP_REALLOC:
            /* A failed realloc that kept its block is replayed as nothing. */
            o->kind = ev.id || ev.ref_ended || !ev.ref ? R_REALLOC : R_SKIP;
            if (!ev.id && !ev.ref)
                o->kind = R_SKIP; /* realloc(NULL, n) that failed */
            break;
        default:
            o->kind = ev.id ? R_ALIGNED : R_SKIP;
            o->aux = ev.align;
            break;
        }
        if (o->kind == R_SKIP) {
            rp.skipped++;
            if (ev.ref && !ev.ref_ended)
                rp.dgen[o->ref]--; /* nothing waits on it */
            o->ref = NO_SLOT;
        }
        if (ev.ref_ended)
            give_slot(t, (uint32_t)ev.ref_user);
        o->next = NO_NEXT;
        if (rp.tail[t] == NO_NEXT)
            rp.head[t] = (uint32_t)n;
        else
            rp.op[rp.tail[t]].next = (uint32_t)n;
        rp.tail[t] = (uint32_t)n;
        n++;
    }
    return n > 0 && !atomic_load(&m->failed);
}

/* ---------------------------------------------------------------------------
 * Replaying
 * ------------------------------------------------------------------------ */

/* One step of a wait for another replay thread: a pause, or after 256 of
 * them a yield (that thread may need this CPU); false once the cell stops. */
static inline bool backoff(struct am_thread *t, unsigned *spins)
{
    if (am_op_stopping(t))
        return false;
    if (++*spins > 256)
        sched_yield();
    else
        __builtin_ia32_pause();
    return true;
}

/* Wait for a slot's generation; false if the cell stops meanwhile. */
static inline bool wait_gen(struct am_thread *t, uint32_t s, uint32_t gen)
{
    if (atomic_load_explicit(&rp.slot[s].gen, memory_order_acquire) == gen)
        return true;
    uint64_t t0 = am_clock_ticks();
    unsigned spins = 0;
    while (atomic_load_explicit(&rp.slot[s].gen, memory_order_acquire) != gen) {
        if (!backoff(t, &spins))
            return false;
    }
    rp.wait_ticks[t->index] += am_clock_ticks() - t0;
    return true;
}

static inline void pace(struct am_thread *t, const struct rop *o)
{
    uint64_t due = rp.pace_start + (uint64_t)((double)o->ns * rp.ticks_per_ns);
    uint64_t t0 = am_clock_ticks(), now = t0;
    if (now >= due)
        return;
    while ((now = am_clock_ticks()) < due && !am_op_stopping(t))
        __builtin_ia32_pause();
    rp.wait_ticks[t->index] += now - t0;
}

static inline void release(struct slot *s, uint32_t gen)
{
    atomic_store_explicit(&s->gen, gen + 1, memory_order_release);
}

/* A new block in slot o->slot: checked for NULL, filled, published. */
static bool place(struct am_thread *t, const struct rop *o, void *p)
{
    struct slot *s = &rp.slot[o->slot];
    if (!p) {
        am_measure_fail(t->m, AM_STATUS_OOM,
                        "trace event %llu: %s(%llu) returned NULL; it succeeded when recorded",
                        (unsigned long long)o->index, am_trace_op_name(o->top),
                        (unsigned long long)o->size);
        return false;
    }
    s->ptr = p;
    s->size = o->size;
    s->tag = o->tag;
    am_fill(p, o->size, am_cookie(o->tag, o->size));
    release(s, o->slot_gen);
    return true;
}

/* The recorded aligned call, made as recorded: for glibc (or a reference)
 * each is the library's own function (the front end's am_memalign, am_valloc
 * and am_pvalloc). The alignment of posix_memalign and aligned_alloc is
 * raised as glibc 2.36's memalign would (to a power of two, at least
 * sizeof(void *)), which the recording's success implies it accepted. */
static void *aligned_call(struct am_heap *h, const struct rop *o, uint64_t *calls)
{
    size_t align = (size_t)o->aux, n = (size_t)o->size;
    if (o->top == AM_TOP_POSIX_MEMALIGN || o->top == AM_TOP_ALIGNED_ALLOC) {
        while (align & (align - 1))
            align = (align | (align - 1)) + 1;
        if (align < sizeof(void *))
            align = sizeof(void *);
    }
    void *p = NULL;
    switch (o->top) {
    case AM_TOP_POSIX_MEMALIGN:
        calls[AM_TOP_POSIX_MEMALIGN]++;
        return am_posix_memalign(h, &p, align, n) == 0 ? p : NULL;
    case AM_TOP_ALIGNED_ALLOC:
        calls[AM_TOP_ALIGNED_ALLOC]++;
        return am_aligned_alloc(h, align, n);
    case AM_TOP_MEMALIGN:
        calls[AM_TOP_MEMALIGN]++;
        return am_memalign(h, align, n);
    case AM_TOP_VALLOC:
        calls[AM_TOP_VALLOC]++;
        return am_valloc(h, n);
    default:
        calls[AM_TOP_PVALLOC]++;
        return am_pvalloc(h, n);
    }
}

static bool replay_one(struct am_thread *t, const struct rop *o)
{
    if (o->slot != NO_SLOT && !wait_gen(t, o->slot, o->slot_gen))
        return false;
    if (o->ref != NO_SLOT && !wait_gen(t, o->ref, o->ref_gen))
        return false;
    if (rp.paced)
        pace(t, o);
    struct am_heap *h = t->heap;
    struct slot *r = o->ref != NO_SLOT ? &rp.slot[o->ref] : NULL;
    void *p;
    uint64_t *calls = rp.calls[t->index];
    switch (o->kind) {
    case R_MALLOC:
        calls[AM_TOP_MALLOC]++;
        return place(t, o, am_op_malloc(t, o->size));
    case R_CALLOC:
        calls[AM_TOP_CALLOC]++;
        p = am_calloc(h, o->aux, o->aux ? o->size / o->aux : 0);
        if (p)
            am__count(t, (int64_t)o->size);
        return place(t, o, p);
    case R_ALIGNED:
        p = aligned_call(h, o, calls);
        if (p)
            am__count(t, (int64_t)o->size);
        return place(t, o, p);
    case R_FREE:
        calls[AM_TOP_FREE]++;
        if (!r) {
            am_op_free(t, NULL, 0);
            return true;
        }
        if (!am_free_checked(t, r->ptr, r->size, am_cookie(r->tag, r->size)))
            return false;
        release(r, o->ref_gen);
        return true;
    case R_REALLOC:
        calls[AM_TOP_REALLOC]++;
        if (!r) {
            p = am_op_realloc(t, NULL, 0, o->size ? o->size : 1);
            if (p && !o->size)
                t->live -= 1; /* asked for 1 byte where the recording asked 0 */
            return place(t, o, p);
        }
        if (!am_intact(t, r->ptr, r->size, am_cookie(r->tag, r->size)))
            return false;
        if (o->slot == NO_SLOT) {
            /* realloc(p, 0) that freed p (glibc's way). */
            p = am_realloc(h, r->ptr, 0);
            am__count(t, -(int64_t)r->size);
            if (p) {
                am_free(h, p); /* an allocator that returns a new minimal block */
                calls[AM_TOP_FREE]++;
            }
            release(r, o->ref_gen);
            return true;
        }
        p = am_op_realloc(t, r->ptr, r->size, o->size ? o->size : 1);
        if (p && !o->size)
            t->live -= 1; /* asked for 1 byte where the recording asked 0 */
        release(r, o->ref_gen);
        return place(t, o, p);
    default:
        return true;
    }
}

static void barrier(void)
{
    unsigned sense = atomic_load(&rp.sense);
    if (atomic_fetch_add(&rp.arrived, 1) + 1 == rp.threads) {
        atomic_store(&rp.arrived, 0);
        atomic_store(&rp.sense, sense + 1);
        return;
    }
    unsigned spins = 0;
    while (atomic_load(&rp.sense) == sense)
        if (++spins > 128)
            sched_yield();
}

/* Strict order: wait for the event before this one, on whatever thread. */
static bool wait_turn(struct am_thread *t, const struct rop *o)
{
    if (atomic_load_explicit(&rp.seq, memory_order_acquire) == o->index)
        return true;
    uint64_t t0 = am_clock_ticks();
    unsigned spins = 0;
    while (atomic_load_explicit(&rp.seq, memory_order_acquire) != o->index) {
        if (!backoff(t, &spins))
            return false;
    }
    rp.wait_ticks[t->index] += am_clock_ticks() - t0;
    return true;
}

static int64_t live_now(const struct am_thread *t)
{
    int64_t live = 0;
    for (unsigned i = 0; i < rp.threads; i++)
        live += __atomic_load_n(&t->m->thread[i].live, __ATOMIC_RELAXED);
    return live;
}

static void replay_thread(struct am_thread *t, void *arg)
{
    (void)arg;
    /* One thread, or the global order: live bytes can be checked after
     * every event against the recording's. */
    bool one = rp.threads == 1, exact = one || rp.strict;
    for (;;) {
        if (t->index == 0) {
            uint64_t t0 = am_clock_ticks();
            rp.go = !am_op_stopping(t) && rp.done < rp.limit && decode_window(t->m);
            uint64_t dt = am_clock_ticks() - t0;
            rp.decode_ticks += dt;
            /* Decoding is not the allocator's time: it does not spend the
             * cell's budget either. */
            if (t->m->deadline)
                t->m->deadline += dt;
        }
        /* Everyone reads `go` after the same barrier, so all leave together. */
        if (!one)
            barrier();
        if (!rp.go)
            break;
        for (uint32_t i = rp.head[t->index]; i != NO_NEXT; i = rp.op[i].next) {
            const struct rop *o = &rp.op[i];
            if (rp.strict && !wait_turn(t, o))
                break;
            if (!replay_one(t, o) || am_op_stopping(t))
                break;
            if (o->index == rp.peak_index)
                t->m->rss_at_peak_live = am_measure_rss(t->m);
            int64_t live = exact ? (one ? t->live : live_now(t)) : 0;
            if (exact && live != o->live) {
                am_measure_fail(t->m, AM_STATUS_ERROR,
                                "replay diverged at trace event %llu: %lld bytes live, the "
                                "recording had %lld",
                                (unsigned long long)o->index, (long long)live, (long long)o->live);
                break;
            }
            if (rp.strict) {
                if (live > rp.exact_peak)
                    rp.exact_peak = live;
                atomic_store_explicit(&rp.seq, o->index + 1, memory_order_release);
            }
        }
        if (!one)
            barrier();
    }
}

static void trace_run(struct am_workload_ctx *c)
{
    rp.pace_start = am_clock_ticks();
    am_parallel(c, replay_thread, NULL, 0, false);
    uint64_t wait = 0;
    for (unsigned i = 0; i < rp.threads; i++)
        wait += rp.wait_ticks[i];
    c->m->excluded_ticks = rp.decode_ticks;
    /* The calls issued, by function: "malloc=1000 free=990 ...". */
    size_t at = 0;
    for (unsigned op = 0; op < AM_TOP_COUNT; op++) {
        uint64_t n = 0;
        for (unsigned i = 0; i < rp.threads; i++)
            n += rp.calls[i][op];
        if (n && at < sizeof c->m->calls)
            at += (size_t)snprintf(c->m->calls + at, sizeof c->m->calls - at, "%s%s=%llu",
                                   at ? " " : "", am_trace_op_name(op), (unsigned long long)n);
    }
    c->m->wait_ticks = wait;
    c->m->skipped = rp.skipped;
    /* In strict order the peak is known exactly, not only at series points. */
    if (rp.strict && rp.exact_peak > c->m->series_live_peak)
        c->m->series_live_peak = rp.exact_peak;
}
