/*
 * cell.c: one cell, inside its own child process (see cell.h): guard the
 * machine's memory, open the heap, measure the harness's own overhead,
 * prepare and run the workload, and print every metric for the parent.
 *
 * Order matters for honesty: everything the harness needs (sample arrays,
 * the workload's bookkeeping, stdout's buffer) exists before the baseline RSS
 * is read and the clock starts, and nothing after the start calls malloc
 * except the workload, through the heap under test.
 */
#include "cell.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "cli.h"
#include "frontend.h"
#include "measure.h"
#include "protocol.h"
#include "workload.h"

void am_cell_argv(const struct am_cell_spec *spec, const char *self, char store[][32],
                  char *argv[AM_CELL_ARGV_MAX])
{
    snprintf(store[0], 32, "%u", spec->threads);
    snprintf(store[1], 32, "%.6g", spec->budget_s);
    snprintf(store[2], 32, "%.17g", spec->clock_hz);
    snprintf(store[3], 32, "%lu", spec->mem_limit_mib);
    int n = 0;
    argv[n++] = (char *)self;
    argv[n++] = AM_CELL_CHILD;
    argv[n++] = (char *)spec->allocator;
    argv[n++] = (char *)spec->workload;
    argv[n++] = store[0];
    argv[n++] = (char *)spec->profile;
    argv[n++] = store[1];
    argv[n++] = store[2];
    argv[n++] = store[3];
    argv[n] = NULL;
}

/* ---------------------------------------------------------------------------
 * Memory guard
 * ------------------------------------------------------------------------ */

/* VmData (private writable mappings, the heap included) in bytes, or 0. */
static unsigned long long data_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return kib * 1024;
}

/* A backend that never reuses memory (bump-brk, or a bug) must not take the
 * shared machine down: cap what the cell may commit on top of what it has.
 * RLIMIT_DATA counts committed private mappings and the break, not PROT_NONE
 * reservations, so a backend may still reserve a large address range. */
static void guard_memory(unsigned long mib)
{
    if (!mib)
        return;
    rlim_t limit = (rlim_t)(data_bytes() + (unsigned long long)mib * 1024 * 1024);
    struct rlimit rl = {limit, limit};
    setrlimit(RLIMIT_DATA, &rl);
}

/* ---------------------------------------------------------------------------
 * The harness's own cost per operation
 * ------------------------------------------------------------------------ */

/* An "allocator" that does nothing: the same front-end path as a real
 * backend, with no work behind it. */
static _Alignas(16) unsigned char null_block[64];

static void *null_malloc(size_t n)
{
    (void)n;
    return null_block;
}

static void null_free(void *p)
{
    (void)p;
}

static size_t null_usable_size(void *p)
{
    (void)p;
    return sizeof null_block;
}

static const struct am_allocator null_allocator = {
    .name = "null",
    .summary = "calibration only",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_TEST_ONLY,
    .max_request = sizeof null_block,
    .malloc = null_malloc,
    .free = null_free,
    .usable_size = null_usable_size,
};

#define CALIBRATION_PAIRS  50000
#define CALIBRATION_TRIALS 3

/* Ticks per operation that the instrumentation (counting, live bytes,
 * amortised sampling) adds to a bare front-end call: the best of a few
 * trials of each, instrumented minus bare. */
static double harness_overhead_ticks(void)
{
    struct am_heap heap;
    struct am_measure m;
    if (am_heap_open(&heap, &null_allocator, 0) != 0)
        return -1;
    if (am_measure_init(&m, &heap, 1, UINT64_MAX) != 0) {
        am_heap_close(&heap);
        return -1;
    }
    struct am_thread *t = &m.thread[0];
    uint64_t best_instrumented = UINT64_MAX, best_bare = UINT64_MAX;
    for (int trial = 0; trial < CALIBRATION_TRIALS; trial++) {
        uint64_t t0 = am_clock_ticks();
        for (int i = 0; i < CALIBRATION_PAIRS; i++)
            am_op_free(t, am_op_malloc(t, 48), 48);
        uint64_t t1 = am_clock_ticks();
        for (int i = 0; i < CALIBRATION_PAIRS; i++)
            am_free(&heap, am_malloc(&heap, 48));
        uint64_t t2 = am_clock_ticks();
        if (t1 - t0 < best_instrumented)
            best_instrumented = t1 - t0;
        if (t2 - t1 < best_bare)
            best_bare = t2 - t1;
    }
    am_measure_fini(&m);
    am_heap_close(&heap);
    double extra = (double)best_instrumented - (double)best_bare;
    return extra > 0 ? extra / (2.0 * CALIBRATION_PAIRS) : 0;
}

/* ---------------------------------------------------------------------------
 * Reporting (the cell protocol, protocol.h)
 * ------------------------------------------------------------------------ */

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Memory against the ideal: RSS above the baseline, and the allocator's OS
 * bytes, over live requested bytes, at peak and over time. Over time is a
 * ratio of time-weighted means (each series point weighted by the time to
 * the next): the bytes held on average over the bytes live on average, which
 * a moment of almost nothing live cannot blow up. */
static void fragmentation(const struct am_measure *m, size_t baseline_rss,
                          const struct am_stats *st, bool have_st, struct am_cell_report *r)
{
    int64_t live_peak = am_measure_live_peak(m);
    if (live_peak <= 0 || m->series_count == 0)
        return;
    size_t rss_peak = m->rss_at_peak_live > baseline_rss ? m->rss_at_peak_live - baseline_rss : 0;
    double live_sum = 0, rss_sum = 0, os_sum = 0;
    bool os_known = true;
    for (unsigned i = 0; i < m->series_count; i++) {
        const struct am_series_point *pt = &m->series[i];
        size_t above = pt->rss > baseline_rss ? pt->rss - baseline_rss : 0;
        if (above > rss_peak)
            rss_peak = above;
        os_known &= pt->os != AM_STAT_UNKNOWN;
        if (i + 1 == m->series_count)
            continue;
        double dt = (double)(m->series[i + 1].ticks - pt->ticks);
        live_sum += dt * (double)(pt->live > 0 ? pt->live : 0);
        rss_sum += dt * (double)above;
        if (pt->os != AM_STAT_UNKNOWN)
            os_sum += dt * (double)pt->os;
    }
    r->has_fragmentation = true;
    r->frag_peak = (double)rss_peak / (double)live_peak;
    r->frag_mean = live_sum > 0 ? rss_sum / live_sum : -1;
    r->os_frag_peak = have_st && st->os_bytes_peak != AM_STAT_UNKNOWN
                          ? (double)st->os_bytes_peak / (double)live_peak
                          : -1;
    r->os_frag_mean = os_known && live_sum > 0 ? os_sum / live_sum : -1;
}

static void report(struct am_measure *m, struct am_heap *heap, const struct rusage *before,
                   const struct rusage *after, size_t baseline_rss, size_t end_rss,
                   double overhead_ticks, uint64_t clock_ticks, bool replay)
{
    double hz = am_clock_hz();
    uint64_t ops = am_measure_ops(m);
    /* Work the workload did that is not the allocator's (a replay's
     * decoding) is not part of the measured time, and neither is the time
     * series: thread 0's time taking its points, all of it on one thread;
     * on several, thread 0's share of the threads' time (the others went
     * on meanwhile). */
    uint64_t span = m->end - m->start;
    uint64_t excluded = m->excluded_ticks + m->series_ticks / (m->threads ? m->threads : 1);
    double seconds = (double)(span > excluded ? span - excluded : 0) / hz;
    double wait_s = (double)m->wait_ticks / hz;
    bool failed = atomic_load(&m->failed) != 0;
    struct am_cell_report r = {0};
    r.has_status = true;
    snprintf(r.status, sizeof r.status, "%s", failed ? am_status_name(m->status) : "ok");
    if (failed)
        snprintf(r.reason, sizeof r.reason, "%s", m->reason);
    /* Stopped without a failure: the time budget ran out first. */
    r.has_complete = true;
    r.complete = !failed && !atomic_load(&m->stop);
    r.has_ops = true;
    r.ops = ops;
    r.has_seconds = true;
    r.seconds = seconds;
    if (ops && seconds > 0) {
        r.has_rate = true;
        r.ops_per_sec = (double)ops / seconds;
        /* Thread-time per operation: equal to 1/throughput on one thread.
         * Time threads spent waiting for each other is not the allocator's. */
        double thread_s = seconds * m->threads - wait_s;
        r.ns_per_op = (thread_s > 0 ? thread_s : 0) * 1e9 / (double)ops;
    }
    for (int k = 0; k < AM_OP_KINDS; k++) {
        struct am_latency lat = am_measure_latency(m, (enum am_op_kind)k);
        r.has_latency[k] = true;
        r.latency[k] = (struct am_latency_report){
            .samples = lat.samples,
            .p50_ns = lat.p50_ns,
            .p99_ns = lat.p99_ns,
            .p999_ns = lat.p999_ns,
            .max_ns = lat.max_ns,
        };
    }
    r.has_rss = true;
    r.baseline_rss = baseline_rss;
    r.end_rss = end_rss;
    int64_t live_peak = am_measure_live_peak(m);
    r.has_peak_live = true;
    r.peak_live = live_peak > 0 ? (unsigned long long)live_peak : 0;
    struct am_stats st = {0};
    bool have_st = am_stats(heap, &st) == 0;
    if (have_st && st.os_bytes_peak != AM_STAT_UNKNOWN) {
        r.has_os_bytes_peak = true;
        r.os_bytes_peak = st.os_bytes_peak;
    }
    fragmentation(m, baseline_rss, &st, have_st, &r);
    if (replay) {
        r.has_replay = true;
        r.wait_s = wait_s;
        r.decode_s = (double)m->excluded_ticks / hz;
        r.skipped = m->skipped;
        snprintf(r.calls, sizeof r.calls, "%s", m->calls);
    }
    r.has_usage = true;
    r.user_s = tv_seconds(after->ru_utime) - tv_seconds(before->ru_utime);
    r.sys_s = tv_seconds(after->ru_stime) - tv_seconds(before->ru_stime);
    r.minor_faults = (unsigned long long)(after->ru_minflt - before->ru_minflt);
    r.has_overhead = true;
    if (overhead_ticks >= 0 && ops) {
        /* Instrumentation on every operation (the time series is no longer
         * in the measured time: series_s says what it cost). */
        r.has_harness_overhead = true;
        r.harness_overhead_ns = overhead_ticks * 1e9 / hz;
    }
    r.has_series_time = true;
    r.series_s = (double)m->series_ticks / hz;
    r.clock_overhead_ns = (double)clock_ticks * 1e9 / hz;
    /* The CPU the cell's main thread reports from, right after the measured
     * phase (with --pin, one of the pinned CPUs). */
    int cpu = sched_getcpu();
    r.has_cpu = cpu >= 0;
    r.cpu = cpu >= 0 ? (unsigned long long)cpu : 0;
    am_protocol_write_report(stdout, &r);
    for (unsigned i = 0; i < m->series_count; i++) {
        const struct am_series_point *pt = &m->series[i];
        struct am_series_report p = {
            .sample = i,
            .ops = (unsigned long long)pt->ops,
            .seconds = (double)pt->ticks / hz,
            .rss = pt->rss,
            .live = (long long)pt->live,
            .has_os = pt->os != AM_STAT_UNKNOWN,
            .os = pt->os,
        };
        am_protocol_write_series(stdout, &p);
    }
}

/* ---------------------------------------------------------------------------
 * The child
 * ------------------------------------------------------------------------ */

static bool parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && *out >= 0;
}

/* The cell could not run at all: say why in the protocol ("cannot DOING
 * WHAT: error") and exit 0; the parent records "error" with the reason. */
static int cannot_run(const char *doing, const char *what, int err)
{
    struct am_cell_report r = {.has_status = true, .status = "error"};
    snprintf(r.reason, sizeof r.reason, "cannot %s %s: %s", doing, what, strerror(err));
    am_protocol_write_report(stdout, &r);
    am_protocol_write_end(stdout);
    return 0;
}

int am_cell_child_main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "allocmark: %s takes 7 arguments\n", AM_CELL_CHILD);
        return AM_EXIT_USAGE;
    }
    const struct am_allocator *a = am_find_allocator(argv[1]);
    am_trace_validate = false; /* a replay reads its trace in prepare */
    const struct am_workload *w = am_find_workload(argv[2]);
    enum am_profile profile = am_profile_parse(argv[4]);
    double threads, budget, hz, mem_limit;
    if (!a || !w || profile == AM_PROFILE_COUNT || !parse_number(argv[3], &threads) ||
        threads < 1 || threads > AM_MAX_THREADS || !parse_number(argv[5], &budget) ||
        !parse_number(argv[6], &hz) || !parse_number(argv[7], &mem_limit)) {
        fprintf(stderr, "allocmark: %s: bad arguments\n", AM_CELL_CHILD);
        return AM_EXIT_USAGE;
    }
    unsigned n_threads = (unsigned)threads;

    guard_memory((unsigned long)mem_limit);
    am_clock_init(hz);

    struct am_heap heap;
    int err = am_heap_open(&heap, a, n_threads > 1 ? AM_OPEN_THREADED : 0);
    char label[128];
    if (err) {
        am_protocol_write_label(stdout, a->name);
        return cannot_run("open", a->name, err);
    }
    am_protocol_write_label(stdout, am_heap_label(&heap, label, sizeof label));

    long params[AM_MAX_PARAMS] = {0};
    for (unsigned i = 0; i < am_workload_param_count(w); i++)
        params[i] = w->params[i].value[profile];
    struct am_measure m;
    err = am_measure_init(&m, &heap, n_threads, (uint64_t)params[0]);
    if (err)
        return cannot_run("set up the measurement of", w->name, err);
    double overhead = harness_overhead_ticks();
    uint64_t clock_ticks = am_clock_overhead_ticks();

    struct am_workload_ctx ctx = {.m = &m, .threads = n_threads, .p = params};
    err = w->prepare ? w->prepare(&ctx) : 0;
    if (err && atomic_load(&m.failed)) {
        /* The workload said why (a trace that cannot be read, ...). */
        struct am_cell_report r = {.has_status = true};
        snprintf(r.status, sizeof r.status, "%s", am_status_name(m.status));
        snprintf(r.reason, sizeof r.reason, "%s", m.reason);
        am_protocol_write_report(stdout, &r);
        am_protocol_write_end(stdout);
        return 0;
    }
    if (err)
        return cannot_run("prepare", w->name, err);

    struct rusage before, after;
    size_t baseline_rss = am_measure_rss(&m);
    getrusage(RUSAGE_SELF, &before);
    am_measure_begin(&m, budget);
    w->run(&ctx);
    am_measure_end(&m);
    getrusage(RUSAGE_SELF, &after);
    size_t end_rss = am_measure_rss(&m);

    report(&m, &heap, &before, &after, baseline_rss, end_rss, overhead, clock_ticks,
           w->fixed_threads != 0);
    am_heap_close(&heap);
    am_protocol_write_end(stdout);
    return 0;
}
