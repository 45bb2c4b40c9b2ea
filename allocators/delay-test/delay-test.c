/*
 * delay-test: a test double, not an allocator. It hands every call to the C
 * library's malloc and then, when AM_DELAY_TEST_PCT names a percentage,
 * spins for that share of the call's own duration (timed with the TSC), so
 * that the allocator itself is exactly that much slower and the workload
 * around it is not. It exists to prove that `allocmark compare` finds a
 * slowdown of a known size (docs/statistics.md): run the same matrix with
 * AM_DELAY_TEST_PCT unset and set to 10, and compare the two runs. Read
 * once, in init; 0 to 1000.
 */
#include "../allocator.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <x86intrin.h>

static uint64_t delay_pct;

static int delay_test_init(void)
{
    const char *pct = getenv("AM_DELAY_TEST_PCT");
    char *end = NULL;
    delay_pct = 0;
    if (pct && *pct) {
        errno = 0;
        unsigned long v = strtoul(pct, &end, 10);
        if (errno || *end || v > 1000)
            return EINVAL;
        delay_pct = v;
    }
    return 0;
}

/* Spin until the TSC has moved on by pct % of the call that took
 * start..now. */
static void stretch(uint64_t start)
{
    if (!delay_pct)
        return;
    uint64_t now = __rdtsc();
    uint64_t until = now + (now - start) * delay_pct / 100;
    while (__rdtsc() < until)
        _mm_pause();
}

static void *delay_test_malloc(size_t n)
{
    uint64_t start = __rdtsc();
    void *p = malloc(n);
    stretch(start);
    return p;
}

static void delay_test_free(void *p)
{
    uint64_t start = __rdtsc();
    free(p);
    stretch(start);
}

static void *delay_test_realloc(void *p, size_t n)
{
    uint64_t start = __rdtsc();
    void *q = realloc(p, n);
    stretch(start);
    return q;
}

static size_t delay_test_usable_size(void *p)
{
    return malloc_usable_size(p);
}

const struct am_allocator am_delay_test_allocator = {
    .name = "delay-test",
    .summary = "test double: the C library's malloc, AM_DELAY_TEST_PCT % slower",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_REAL_FREE | AM_CAP_RETURNS_MEMORY | AM_CAP_TEST_ONLY,
    .max_request = (size_t)PTRDIFF_MAX - (1u << 20),
    .init = delay_test_init,
    .malloc = delay_test_malloc,
    .free = delay_test_free,
    .realloc = delay_test_realloc,
    .usable_size = delay_test_usable_size,
};
