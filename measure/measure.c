/*
 * measure.c: the clock, the latency samplers, the RSS reader and the time
 * series behind the instrumented operations of measure.h.
 *
 * Everything here that holds samples is mapped with mmap and populated before
 * the measured phase: for a reference the process's malloc is the allocator
 * under test, so the harness never calls it while a workload runs.
 */
#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Clock
 * ------------------------------------------------------------------------ */

bool am__clock_use_tsc;
static double clock_hz = 1e9;

uint64_t am__clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The TSC is usable as a clock only when it ticks at a constant rate in every
 * power state (constant_tsc and nonstop_tsc in /proc/cpuinfo). */
static bool tsc_is_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
#else
    return false;
#endif
}

double am_clock_calibrate(double seconds)
{
    if (!am__clock_use_tsc)
        return 1e9;
    uint64_t ns0 = am__clock_monotonic_ns(), t0 = am_clock_ticks();
    uint64_t want = (uint64_t)(seconds * 1e9), ns1, t1;
    do {
        ns1 = am__clock_monotonic_ns();
        t1 = am_clock_ticks();
    } while (ns1 - ns0 < want);
    return (double)(t1 - t0) * 1e9 / (double)(ns1 - ns0);
}

void am_clock_init(double ticks_per_s)
{
    am__clock_use_tsc = tsc_is_invariant();
    if (!am__clock_use_tsc)
        clock_hz = 1e9;
    else
        clock_hz = ticks_per_s > 0 ? ticks_per_s : am_clock_calibrate(0.05);
}

double am_clock_hz(void)
{
    return clock_hz;
}

const char *am_clock_source(void)
{
    return am__clock_use_tsc ? "tsc" : "monotonic";
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t am_clock_overhead_ticks(void)
{
    enum { ROUNDS = 501 };
    uint64_t d[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t a = am_clock_ticks();
        uint64_t b = am_clock_ticks();
        d[i] = b - a;
    }
    qsort(d, ROUNDS, sizeof d[0], compare_u64);
    return d[ROUNDS / 2];
}

/* ---------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------ */

static const char *const status_names[AM_STATUS_COUNT] = {
    [AM_STATUS_OK] = "ok",       [AM_STATUS_CRASH] = "crash",     [AM_STATUS_TIMEOUT] = "timeout",
    [AM_STATUS_OOM] = "oom",     [AM_STATUS_CORRUPT] = "corrupt", [AM_STATUS_ERROR] = "error",
    [AM_STATUS_WRONG] = "wrong", [AM_STATUS_SKIPPED] = "skipped",
};

const char *am_status_name(enum am_status s)
{
    return s < AM_STATUS_COUNT ? status_names[s] : "?";
}

enum am_status am_status_parse(const char *word)
{
    for (int s = 0; s < AM_STATUS_COUNT; s++)
        if (strcmp(word, status_names[s]) == 0)
            return (enum am_status)s;
    return AM_STATUS_COUNT;
}

void am_measure_fail(struct am_measure *m, enum am_status s, const char *fmt, ...)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&m->failed, &expected, 1)) {
        m->status = s;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->reason, sizeof m->reason, fmt, ap);
        va_end(ap);
    }
    atomic_store(&m->stop, 1);
}

/* ---------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------ */

static void *map_populated(size_t n)
{
    void *p =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static uint32_t next_countdown(struct am_thread *t, uint32_t every)
{
    /* Uniform in [1, 2 * every - 1]: mean `every`, and never in step with a
     * workload's own period (which a fixed stride could alias with). */
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return 1 + (uint32_t)(t->rng % (2u * every - 1));
}

static size_t thread_bytes(unsigned threads)
{
    return (size_t)threads * sizeof(struct am_thread);
}

static size_t sample_bytes(unsigned threads)
{
    return (size_t)threads * AM_OP_KINDS * AM_SAMPLE_CAPACITY * sizeof(uint32_t);
}

static size_t series_bytes(void)
{
    return AM_SERIES_CAPACITY * sizeof(struct am_series_point);
}

int am_measure_init(struct am_measure *m, struct am_heap *heap, unsigned threads,
                    uint64_t ops_target)
{
    memset(m, 0, sizeof *m);
    m->heap = heap;
    m->threads = threads;
    m->statm_fd = -1;
    m->page_size = (size_t)sysconf(_SC_PAGESIZE);
    m->thread = map_populated(thread_bytes(threads));
    uint32_t *samples = map_populated(sample_bytes(threads));
    m->series = map_populated(series_bytes());
    m->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (!m->thread || !samples || !m->series || m->statm_fd < 0) {
        int err = errno ? errno : ENOMEM;
        if (samples)
            munmap(samples, sample_bytes(threads));
        am_measure_fini(m);
        return err;
    }
    /* A series point every 1/100 of thread 0's budget. */
    m->series_every = ops_target / 100 ? ops_target / 100 : 1;
    for (unsigned i = 0; i < threads; i++) {
        struct am_thread *t = &m->thread[i];
        t->heap = heap;
        t->m = m;
        t->index = i;
        t->ops_target = ops_target;
        for (int k = 0; k < AM_OP_KINDS; k++)
            t->lat[k].ticks = samples + ((size_t)i * AM_OP_KINDS + (size_t)k) * AM_SAMPLE_CAPACITY;
    }
    am_measure_reset(m);
    return 0;
}

void am_measure_reset(struct am_measure *m)
{
    for (unsigned i = 0; i < m->threads; i++) {
        struct am_thread *t = &m->thread[i];
        t->ops = 0;
        t->live = t->live_peak = 0;
        t->series_next = i == 0 ? m->series_every : UINT64_MAX;
        t->rng = 0x9E3779B97F4A7C15ull * (i + 1);
        for (int k = 0; k < AM_OP_KINDS; k++) {
            t->lat[k].every = AM_SAMPLE_EVERY;
            t->lat[k].count = 0;
            t->lat[k].max = 0;
            t->lat[k].countdown = next_countdown(t, AM_SAMPLE_EVERY);
        }
    }
    m->series_count = 0;
    m->series_ticks = 0;
    m->series_live_peak = 0;
    m->excluded_ticks = m->wait_ticks = m->skipped = 0;
    m->calls[0] = '\0';
    m->rss_at_peak_live = 0;
    m->deadline = 0;
    atomic_store(&m->stop, 0);
    atomic_store(&m->failed, 0);
    m->status = AM_STATUS_OK;
    m->reason[0] = '\0';
}

void am_measure_fini(struct am_measure *m)
{
    if (m->thread) {
        munmap(m->thread[0].lat[0].ticks, sample_bytes(m->threads));
        munmap(m->thread, thread_bytes(m->threads));
    }
    if (m->series)
        munmap(m->series, series_bytes());
    if (m->statm_fd >= 0)
        close(m->statm_fd);
    m->thread = NULL;
    m->series = NULL;
    m->statm_fd = -1;
}

size_t am_measure_rss(struct am_measure *m)
{
    char buf[128];
    ssize_t n = pread(m->statm_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return 0;
    return (size_t)resident * m->page_size;
}

/* ---------------------------------------------------------------------------
 * Time series
 * ------------------------------------------------------------------------ */

uint64_t am_measure_ops(const struct am_measure *m)
{
    uint64_t ops = 0;
    for (unsigned i = 0; i < m->threads; i++)
        ops += __atomic_load_n(&m->thread[i].ops, __ATOMIC_RELAXED);
    return ops;
}

static void take_point(struct am_measure *m, uint64_t now)
{
    if (m->series_count == AM_SERIES_CAPACITY) {
        /* Full: keep every other point and take them half as often, so the
         * series still spans the whole cell at an even spacing. */
        for (unsigned i = 0; i < AM_SERIES_CAPACITY / 2; i++)
            m->series[i] = m->series[2 * i];
        m->series_count = AM_SERIES_CAPACITY / 2;
        m->series_every *= 2;
    }
    struct am_series_point *pt = &m->series[m->series_count++];
    pt->ops = am_measure_ops(m);
    pt->ticks = now - m->start;
    pt->rss = am_measure_rss(m);
    int64_t live = 0;
    for (unsigned i = 0; i < m->threads; i++)
        live += __atomic_load_n(&m->thread[i].live, __ATOMIC_RELAXED);
    pt->live = live;
    if (live > m->series_live_peak)
        m->series_live_peak = live;
    struct am_stats st = {0};
    pt->os = am_stats(m->heap, &st) == 0 ? st.os_bytes : AM_STAT_UNKNOWN;
}

void am__series_point(struct am_thread *t)
{
    struct am_measure *m = t->m;
    uint64_t t0 = am_clock_ticks();
    take_point(m, t0);
    uint64_t t1 = am_clock_ticks();
    m->series_ticks += t1 - t0;
    t->series_next = t->ops + m->series_every;
    if (m->deadline && t1 > m->deadline)
        atomic_store_explicit(&m->stop, 1, memory_order_relaxed);
}

void am_measure_begin(struct am_measure *m, double budget_s)
{
    /* The first point before the clock starts (at 0 s): what it costs (an
     * allocator's statistics can take microseconds) is not the workload's. */
    m->start = am_clock_ticks();
    take_point(m, m->start);
    m->start = am_clock_ticks();
    m->deadline = budget_s > 0 ? m->start + (uint64_t)(budget_s * clock_hz) : 0;
}

void am_measure_end(struct am_measure *m)
{
    m->end = am_clock_ticks();
    take_point(m, m->end);
}

/* ---------------------------------------------------------------------------
 * Latency samples
 * ------------------------------------------------------------------------ */

static void record(struct am_thread *t, enum am_op_kind k, uint64_t t0, uint64_t t1)
{
    struct am_sampler *s = &t->lat[k];
    uint64_t d = t1 >= t0 ? t1 - t0 : 0; /* a migration between CPUs can step back */
    if (s->count == AM_SAMPLE_CAPACITY) {
        /* Full: keep every other sample and time half as often from now on,
         * so early and late parts of the cell stay equally represented. */
        for (uint32_t i = 0; i < AM_SAMPLE_CAPACITY / 2; i++)
            s->ticks[i] = s->ticks[2 * i];
        s->count = AM_SAMPLE_CAPACITY / 2;
        s->every *= 2;
    }
    s->ticks[s->count++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    if (d > s->max)
        s->max = d;
    s->countdown = next_countdown(t, s->every);
    if (t->m->deadline && t1 > t->m->deadline)
        atomic_store_explicit(&t->m->stop, 1, memory_order_relaxed);
}

void *am__timed_malloc(struct am_thread *t, size_t n)
{
    uint64_t t0 = am_clock_ticks();
    void *p = am_malloc(t->heap, n);
    uint64_t t1 = am_clock_ticks();
    record(t, AM_OP_MALLOC, t0, t1);
    return p;
}

void am__timed_free(struct am_thread *t, void *p)
{
    uint64_t t0 = am_clock_ticks();
    am_free(t->heap, p);
    uint64_t t1 = am_clock_ticks();
    record(t, AM_OP_FREE, t0, t1);
}

void *am__timed_realloc(struct am_thread *t, void *p, size_t n)
{
    uint64_t t0 = am_clock_ticks();
    void *q = am_realloc(t->heap, p, n);
    uint64_t t1 = am_clock_ticks();
    record(t, AM_OP_REALLOC, t0, t1);
    return q;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least q of all samples at or
 * below it. */
static uint32_t percentile(const uint32_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

int64_t am_measure_live_peak(const struct am_measure *m)
{
    /* One thread: exact. Several: the largest sum seen at a series point. */
    return m->threads == 1 ? m->thread[0].live_peak : m->series_live_peak;
}

struct am_latency am_measure_latency(struct am_measure *m, enum am_op_kind k)
{
    struct am_latency out = {0};
    size_t n = 0;
    uint64_t max = 0;
    for (unsigned i = 0; i < m->threads; i++) {
        n += m->thread[i].lat[k].count;
        if (m->thread[i].lat[k].max > max)
            max = m->thread[i].lat[k].max;
    }
    out.samples = n;
    if (n == 0)
        return out;
    /* Every thread's samples together in one scratch mapping, sorted. */
    uint32_t *all = map_populated(n * sizeof(uint32_t));
    if (!all) {
        out.samples = 0;
        return out;
    }
    size_t at = 0;
    for (unsigned i = 0; i < m->threads; i++) {
        memcpy(all + at, m->thread[i].lat[k].ticks, m->thread[i].lat[k].count * sizeof(uint32_t));
        at += m->thread[i].lat[k].count;
    }
    qsort(all, n, sizeof all[0], compare_u32);
    double ns_per_tick = 1e9 / clock_hz;
    out.p50_ns = percentile(all, n, 0.50) * ns_per_tick;
    out.p99_ns = percentile(all, n, 0.99) * ns_per_tick;
    out.p999_ns = percentile(all, n, 0.999) * ns_per_tick;
    out.max_ns = (double)max * ns_per_tick;
    munmap(all, n * sizeof(uint32_t));
    return out;
}
