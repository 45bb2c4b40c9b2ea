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
#include "cli.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "frontend.h"
#include "measure.h"
#include "arglist.h"
#include "results.h"
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
 * Reporting
 * ------------------------------------------------------------------------ */

static void put_u64(enum am_column c, unsigned long long v)
{
    printf("%s %llu\n", am_column_name(c), v);
}

static void put_double(enum am_column c, double v)
{
    printf("%s %.6g\n", am_column_name(c), v);
}

static void put_latency(struct am_measure *m, enum am_op_kind k, enum am_column first)
{
    /* first is <kind>_p50_ns; p99, p999, max and samples follow it. */
    struct am_latency lat = am_measure_latency(m, k);
    put_u64(first + 4, lat.samples);
    if (!lat.samples)
        return; /* no such operation in this workload: empty fields */
    put_double(first, lat.p50_ns);
    put_double(first + 1, lat.p99_ns);
    put_double(first + 2, lat.p999_ns);
    put_double(first + 3, lat.max_ns);
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void report(struct am_measure *m, struct am_heap *heap, const struct rusage *before,
                   const struct rusage *after, size_t baseline_rss, size_t end_rss,
                   double overhead_ticks, uint64_t clock_ticks)
{
    double hz = am_clock_hz();
    uint64_t ops = am_measure_ops(m);
    double seconds = (double)(m->end - m->start) / hz;
    bool failed = atomic_load(&m->failed) != 0;
    printf("status %s\n", failed ? am_status_name(m->status) : "ok");
    if (failed)
        printf("reason %s\n", m->reason);
    /* Stopped without a failure: the time budget ran out first. */
    put_u64(AM_COL_complete, !failed && !atomic_load(&m->stop));
    put_u64(AM_COL_ops, ops);
    put_double(AM_COL_seconds, seconds);
    if (ops && seconds > 0) {
        put_double(AM_COL_ops_per_sec, (double)ops / seconds);
        /* Thread-time per operation: equal to 1/throughput on one thread. */
        put_double(AM_COL_ns_per_op, seconds * m->threads * 1e9 / (double)ops);
    }
    put_latency(m, AM_OP_MALLOC, AM_COL_malloc_p50_ns);
    put_latency(m, AM_OP_FREE, AM_COL_free_p50_ns);
    put_latency(m, AM_OP_REALLOC, AM_COL_realloc_p50_ns);
    put_u64(AM_COL_baseline_rss_bytes, baseline_rss);
    put_u64(AM_COL_end_rss_bytes, end_rss);
    int64_t live_peak = am_measure_live_peak(m);
    put_u64(AM_COL_peak_live_bytes, live_peak > 0 ? (unsigned long long)live_peak : 0);
    struct am_stats st = {0};
    if (am_stats(heap, &st) == 0 && st.os_bytes_peak != AM_STAT_UNKNOWN)
        put_u64(AM_COL_os_bytes_peak, st.os_bytes_peak);
    put_double(AM_COL_run_user_s, tv_seconds(after->ru_utime) - tv_seconds(before->ru_utime));
    put_double(AM_COL_run_sys_s, tv_seconds(after->ru_stime) - tv_seconds(before->ru_stime));
    put_u64(AM_COL_run_minor_faults, (unsigned long long)(after->ru_minflt - before->ru_minflt));
    if (overhead_ticks >= 0 && ops) {
        /* Instrumentation on every operation, plus thread 0's time taking
         * series points spread over all operations. */
        double per_op = overhead_ticks + (double)m->series_ticks / (double)ops;
        put_double(AM_COL_harness_overhead_ns, per_op * 1e9 / hz);
    }
    put_double(AM_COL_clock_overhead_ns, (double)clock_ticks * 1e9 / hz);
    /* The CPU the cell's main thread reports from, right after the measured
     * phase (with --pin, one of the pinned CPUs). */
    int cpu = sched_getcpu();
    if (cpu >= 0)
        put_u64(AM_COL_cpu, (unsigned long long)cpu);
    for (unsigned i = 0; i < m->series_count; i++) {
        const struct am_series_point *pt = &m->series[i];
        printf("series %u %llu %.6f %zu %lld ", i, (unsigned long long)pt->ops,
               (double)pt->ticks / hz, pt->rss, (long long)pt->live);
        if (pt->os == AM_STAT_UNKNOWN)
            printf("\n");
        else
            printf("%zu\n", pt->os);
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
    printf("status error\nreason cannot %s %s: %s\nend\n", doing, what, strerror(err));
    return 0;
}

int am_cell_child_main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "allocmark: %s takes 7 arguments\n", AM_CELL_CHILD);
        return AM_EXIT_USAGE;
    }
    const struct am_allocator *a = am_find_allocator(argv[1]);
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
        printf("label %s\n", a->name);
        return cannot_run("open", a->name, err);
    }
    printf("label %s\n", am_heap_label(&heap, label, sizeof label));
    fflush(stdout);

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

    report(&m, &heap, &before, &after, baseline_rss, end_rss, overhead, clock_ticks);
    am_heap_close(&heap);
    printf("end\n");
    fflush(stdout);
    return 0;
}

/* ---------------------------------------------------------------------------
 * The version probe
 * ------------------------------------------------------------------------ */

/* The process's malloc says which library it is through that library's own
 * introspection: jemalloc's mallctl("version"), mimalloc's mi_version(),
 * gperftools' tc_version(); otherwise it is the C library's. */
static void print_version(void)
{
    int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
        (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
    int (*mi_version)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "mi_version");
    const char *(*tc_version)(int *, int *, const char **) =
        (const char *(*)(int *, int *, const char **))dlsym(RTLD_DEFAULT, "tc_version");
    const char *version = NULL;
    size_t len = sizeof version;
    if (mallctl && mallctl("version", &version, &len, NULL, 0) == 0 && version) {
        printf("version %s\n", version);
    } else if (mi_version) {
        int v = mi_version();
        printf("version %d.%d.%d\n", v / 100, v / 10 % 10, v % 10);
    } else if (tc_version) {
        int major, minor;
        const char *patch;
        printf("version %s\n", tc_version(&major, &minor, &patch));
    } else {
        printf("version glibc %s\n", gnu_get_libc_version());
    }
}

int am_info_child_main(int argc, char **argv)
{
    const struct am_allocator *a = am_arglist_only_allocator(argc, argv);
    if (!a)
        return AM_EXIT_USAGE;
    struct am_heap heap;
    int err = am_heap_open(&heap, a, 0);
    if (err) {
        printf("error cannot open %s: %s\n", a->name, strerror(err));
        return 1;
    }
    print_version();
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym && dladdr(sym, &info) && info.dli_fname)
        printf("library %s\n", info.dli_fname);
    am_heap_close(&heap);
    return 0;
}
