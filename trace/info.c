/*
 * info.c: `allocmark trace info`: one pass over a trace gathering the
 * operation mix, the threads, peak live bytes and when, the size-class and
 * lifetime histograms and the cross-thread frees, and (with --plot) a
 * gnuplot chart of live bytes over time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools.h"
#include "trace.h"

#define SIZE_BUCKETS 41 /* <= 2^k bytes, k = 0..40 */
#define LIFE_BUCKETS 10 /* < 1 us, < 10 us, ... < 10 s, >= 10 s, and never freed */
#define CHART_POINTS 4096

struct point {
    uint64_t ns;
    int64_t live; /* the most live bytes in the interval that ends here */
};

/* A thinning series: when full, every other interval is merged into its
 * neighbour (the larger live value kept), and points are taken half as often. */
struct chart {
    struct point p[CHART_POINTS];
    size_t n;
    uint64_t every, count;
    int64_t peak_since;
};

static void chart_add(struct chart *c, uint64_t ns, int64_t live)
{
    if (live > c->peak_since)
        c->peak_since = live;
    if (++c->count < c->every)
        return;
    c->count = 0;
    if (c->n == CHART_POINTS) {
        for (size_t i = 0; i < CHART_POINTS / 2; i++) {
            struct point a = c->p[2 * i], b = c->p[2 * i + 1];
            c->p[i] = (struct point){b.ns, a.live > b.live ? a.live : b.live};
        }
        c->n = CHART_POINTS / 2;
        c->every *= 2;
    }
    c->p[c->n++] = (struct point){ns, c->peak_since};
    c->peak_since = 0;
}

int am_trace_open_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, "allocmark trace: cannot open %s: %s\n", path, strerror(errno));
    return fd;
}

static void human(char *buf, size_t len, double v)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static int plot(const char *path, const struct chart *c, const char *title)
{
    char dat[4096];
    snprintf(dat, sizeof dat, "%s.dat", path);
    FILE *f = fopen(dat, "w");
    if (!f) {
        fprintf(stderr, "allocmark trace: cannot write %s: %s\n", dat, strerror(errno));
        return 1;
    }
    fprintf(f, "# seconds live_bytes (the most live in the interval ending there)\n");
    for (size_t i = 0; i < c->n; i++)
        fprintf(f, "%.9f %" PRId64 "\n", (double)c->p[i].ns * 1e-9, c->p[i].live);
    fclose(f);
    const char *ext = strrchr(path, '.');
    bool svg = ext && !strcmp(ext, ".svg");
    FILE *g = popen("gnuplot", "w");
    if (!g) {
        fprintf(stderr, "allocmark trace: cannot run gnuplot: %s\n", strerror(errno));
        return 1;
    }
    fprintf(g,
            "set terminal %s size 900,500\nset output '%s'\n"
            "set title \"Live bytes over time: %s\" noenhanced\n"
            "set xlabel 'seconds since the recording began'\nset ylabel 'live bytes (MiB)'\n"
            "set grid\nset key off\n"
            "plot '%s' using 1:($2/1048576) with steps lw 2 lc rgb '#1f77b4'\n",
            svg ? "svg" : "pngcairo", path, title, dat);
    int rc = pclose(g);
    if (rc != 0) {
        fprintf(stderr, "allocmark trace: gnuplot failed (status %d) drawing %s\n", rc, path);
        return 1;
    }
    return 0;
}

int am_trace_info(const char *path, const char *plot_path, FILE *out)
{
    int fd = am_trace_open_path(path);
    if (fd < 0)
        return 2;
    struct am_trace_reader r;
    if (am_trace_open(&r, fd, path) != 0) {
        fprintf(stderr, "allocmark trace info: %s\n", r.error);
        am_trace_close(&r);
        close(fd);
        return 2;
    }
    uint64_t ops[AM_TOP_COUNT] = {0}, failed[AM_TOP_COUNT] = {0};
    uint64_t sizes[SIZE_BUCKETS] = {0}, lives[LIFE_BUCKETS] = {0};
    uint64_t *per_thread = calloc(r.h.threads, sizeof *per_thread);
    struct chart *chart = calloc(1, sizeof *chart);
    if (!per_thread || !chart) {
        fprintf(stderr, "allocmark trace info: out of memory\n");
        return 1;
    }
    chart->every = 1;
    uint64_t cross = 0, frees = 0, free_null = 0, events = 0, peak_event = 0, peak_ns = 0;
    uint64_t peak_blocks = 0, alloc_bytes = 0, allocs = 0;
    int64_t peak = 0;
    struct am_trace_event ev;
    int rc;
    while ((rc = am_trace_next(&r, &ev)) == 1) {
        events++;
        ops[ev.op]++;
        failed[ev.op] += ev.failed;
        per_thread[ev.thread]++;
        if (ev.id) {
            int k = 0;
            while (k < SIZE_BUCKETS - 1 && (1ull << k) < ev.size)
                k++;
            sizes[k]++;
            alloc_bytes += ev.size;
            allocs++;
        }
        if (ev.op == AM_TOP_FREE && !ev.ref)
            free_null++;
        if (ev.ref_ended) {
            frees++;
            if (ev.ref_thread != ev.thread)
                cross++;
            uint64_t life = ev.ns - ev.ref_ns, lim = 1000;
            int k = 0;
            while (k < LIFE_BUCKETS - 2 && life >= lim) {
                lim *= 10;
                k++;
            }
            lives[k]++;
        }
        if (ev.live > peak) {
            peak = ev.live;
            peak_ns = ev.ns;
            peak_event = ev.index;
            peak_blocks = ev.live_blocks;
        }
        chart_add(chart, ev.ns, ev.live);
    }
    if (rc < 0) {
        fprintf(stderr, "allocmark trace info: %s\n", r.error);
        am_trace_close(&r);
        close(fd);
        free(per_thread);
        free(chart);
        return 2;
    }
    lives[LIFE_BUCKETS - 1] = r.blocks.count;
    struct stat st;
    fstat(fd, &st);
    double secs = (double)r.end_ns * 1e-9;
    char b1[32], b2[32];
    fprintf(out, "trace:      %s (format %u.%u, %lld bytes, %.2f bytes/event)\n", path, r.h.major,
            r.h.minor, (long long)st.st_size, events ? (double)st.st_size / (double)events : 0.0);
    fprintf(out, "command:    %s\nallocator:  %s\n", r.h.command[0] ? r.h.command : "(none)",
            r.h.allocator[0] ? r.h.allocator : "(unknown)");
    fprintf(out, "events:     %" PRIu64 " in %.3f s", events, secs);
    if (secs > 0)
        fprintf(out, " (%.0f events/s)", (double)events / secs);
    fprintf(out, "\n");
    for (unsigned op = 0; op < AM_TOP_COUNT; op++) {
        if (!ops[op])
            continue;
        fprintf(out, "  %-15s %12" PRIu64 "  %5.1f%%", am_trace_op_name(op), ops[op],
                100.0 * (double)ops[op] / (double)events);
        if (failed[op])
            fprintf(out, "  (%" PRIu64 " returned NULL%s)", failed[op],
                    op == AM_TOP_REALLOC ? " or freed with size 0" : "");
        if (op == AM_TOP_FREE && free_null)
            fprintf(out, "  (%" PRIu64 " of NULL)", free_null);
        fprintf(out, "\n");
    }
    fprintf(out, "threads:    %u\n", r.h.threads);
    for (uint32_t i = 0; i < r.h.threads; i++)
        fprintf(out, "  %-4u tid %-8" PRIu64 " %12" PRIu64 " events%s\n", i, r.h.thread[i].tid,
                per_thread[i], (r.h.thread[i].flags & 1) ? "  (main thread)" : "");
    human(b1, sizeof b1, (double)peak);
    fprintf(out,
            "peak live:  %lld bytes (%s) in %" PRIu64 " blocks, at %.6f s (event %" PRIu64 ")\n",
            (long long)peak, b1, peak_blocks, (double)peak_ns * 1e-9, peak_event);
    human(b2, sizeof b2, (double)r.live);
    fprintf(out, "at the end: %lld bytes (%s) live in %zu blocks never freed\n", (long long)r.live,
            b2, r.blocks.count);
    fprintf(out, "allocated:  %" PRIu64 " blocks, mean %.1f bytes\n", allocs,
            allocs ? (double)alloc_bytes / (double)allocs : 0.0);
    fprintf(out, "cross-thread frees: %" PRIu64 " of %" PRIu64 " (%.2f%%)\n", cross, frees,
            frees ? 100.0 * (double)cross / (double)frees : 0.0);
    fprintf(out, "sizes (requested bytes, by power-of-two class):\n");
    uint64_t most = 1;
    for (int k = 0; k < SIZE_BUCKETS; k++)
        if (sizes[k] > most)
            most = sizes[k];
    for (int k = 0; k < SIZE_BUCKETS; k++) {
        if (!sizes[k])
            continue;
        char lo[32];
        human(lo, sizeof lo, (double)(1ull << k));
        int bar = (int)(40.0 * (double)sizes[k] / (double)most + 0.5);
        fprintf(out, "  <= %-9s %12" PRIu64 "  %5.1f%%  %.*s\n", lo, sizes[k],
                100.0 * (double)sizes[k] / (double)(allocs ? allocs : 1), bar,
                "########################################");
    }
    static const char *const life_names[LIFE_BUCKETS] = {
        "< 1 us",   "< 10 us", "< 100 us", "< 1 ms",  "< 10 ms",
        "< 100 ms", "< 1 s",   "< 10 s",   ">= 10 s", "never freed"};
    fprintf(out, "lifetimes (allocation to free or realloc):\n");
    uint64_t blocks = frees + r.blocks.count;
    most = 1;
    for (int k = 0; k < LIFE_BUCKETS; k++)
        if (lives[k] > most)
            most = lives[k];
    for (int k = 0; k < LIFE_BUCKETS; k++) {
        int bar = (int)(40.0 * (double)lives[k] / (double)most + 0.5);
        fprintf(out, "  %-12s %12" PRIu64 "  %5.1f%%  %.*s\n", life_names[k], lives[k],
                100.0 * (double)lives[k] / (double)(blocks ? blocks : 1), bar,
                "########################################");
    }
    rc = 0;
    if (plot_path) {
        const char *base = strrchr(path, '/');
        rc = plot(plot_path, chart, base ? base + 1 : path);
        if (rc == 0)
            fprintf(out, "chart:      %s (data: %s.dat)\n", plot_path, plot_path);
    }
    am_trace_close(&r);
    close(fd);
    free(per_thread);
    free(chart);
    return rc;
}
