/*
 * delay-test: a test double, not an allocator. It hands every call to the C
 * library's malloc, free and realloc and then, when AM_DELAY_TEST_NS names a
 * number of nanoseconds (0 to 100000, read once in init), spins about that
 * long: the allocator itself gets slower by a known amount and the workload
 * around it does not. It exists to prove that `allocmark compare` finds a
 * slowdown of a known size (docs/statistics.md): run the same matrix with
 * AM_DELAY_TEST_NS unset and set, and compare the two runs; or, better on a
 * busy machine, one run of `allocmark run --aa` with AM_DELAY_TEST_COPY=2,
 * which delays only the second copy (the harness tells each cell's process
 * its copy in AM_AA_COPY), so that both copies share the machine's drift.
 *
 * AM_DELAY_TEST_STATS_US (0 to 100000) makes its statistics (am_stats, which
 * the harness calls at every time-series point) sleep that long and then
 * say they know nothing: the harness's tests use it to prove that the time
 * series stays out of the measured time. Without it there are no statistics.
 *
 * The spin is a calibrated empty loop, not a clock: in a virtual machine a
 * clock read (rdtsc) can cost a hundred nanoseconds or more, and PAUSE can
 * make the hypervisor take the CPU away, either of which would stretch the
 * delay far past what was asked.
 */
#include "../allocator.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t spins;    /* loop iterations per call */
static unsigned stats_us; /* the sleep in stats; 0: no statistics */

static void spin(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        __asm__ volatile("" ::: "memory");
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* An environment variable's value from 0 to max (unset or empty: 0), or -1. */
static long env_number(const char *name, unsigned long max)
{
    const char *text = getenv(name);
    if (!text || !*text)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    return errno || *end || v > max ? -1 : (long)v;
}

static int delay_test_init(void)
{
    long us = env_number("AM_DELAY_TEST_STATS_US", 100000);
    if (us < 0)
        return EINVAL;
    stats_us = (unsigned)us;
    const char *text = getenv("AM_DELAY_TEST_NS");
    char *end = NULL;
    spins = 0;
    if (!text || !*text)
        return 0;
    errno = 0;
    unsigned long ns = strtoul(text, &end, 10);
    if (errno || *end || ns > 100000)
        return EINVAL;
    const char *only = getenv("AM_DELAY_TEST_COPY");
    const char *copy = getenv("AM_AA_COPY");
    if (only && *only && (!copy || strcmp(only, copy) != 0))
        return 0; /* another copy is the slow one */
    if (ns == 0)
        return 0;
    /* Iterations per nanosecond: the fastest of a few timed runs, so that
     * a run interrupted by another process does not count. */
    const uint64_t probe = 1u << 22;
    double best = 1e30;
    for (int i = 0; i < 5; i++) {
        double t0 = now_ns();
        spin(probe);
        double t = now_ns() - t0;
        if (t > 0 && t < best)
            best = t;
    }
    spins = (uint64_t)((double)probe / best * (double)ns + 0.5);
    return 0;
}

static void *delay_test_malloc(size_t n)
{
    void *p = malloc(n);
    spin(spins);
    return p;
}

static void delay_test_free(void *p)
{
    free(p);
    spin(spins);
}

static void *delay_test_realloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    spin(spins);
    return q;
}

static size_t delay_test_usable_size(void *p)
{
    return malloc_usable_size(p);
}

static int delay_test_stats(struct am_stats *s)
{
    if (!stats_us)
        return ENOTSUP;
    struct timespec ts = {.tv_sec = stats_us / 1000000,
                          .tv_nsec = (long)(stats_us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    s->os_bytes = s->os_bytes_peak = s->live_bytes = s->live_blocks = AM_STAT_UNKNOWN;
    return 0;
}

const struct am_allocator am_delay_test_allocator = {
    .name = "delay-test",
    .summary = "test double: the C library's malloc, AM_DELAY_TEST_NS slower a call",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_REAL_FREE | AM_CAP_RETURNS_MEMORY | AM_CAP_TEST_ONLY,
    .max_request = (size_t)PTRDIFF_MAX - (1u << 20),
    .init = delay_test_init,
    .malloc = delay_test_malloc,
    .free = delay_test_free,
    .realloc = delay_test_realloc,
    .usable_size = delay_test_usable_size,
    .stats = delay_test_stats,
};
