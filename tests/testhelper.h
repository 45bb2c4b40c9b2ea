/*
 * testhelper.h: allocmark's own minimal test helper. CHECK records a failure
 * (with its file, line and an optional printf-style message) and carries on;
 * am_test_finish prints the closing line "N passed, N failed" and returns the
 * exit status. No framework, no allocation inside the helper.
 */
#ifndef AM_TESTHELPER_H
#define AM_TESTHELPER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct am_test_state {
    long passed;
    long failed;
};

static struct am_test_state am_test;

__attribute__((format(printf, 5, 6), unused)) static bool
am__check(bool ok, const char *expr, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        am_test.passed++;
        return true;
    }
    char msg[400];
    int used = snprintf(msg, sizeof msg / 2, "%s:", expr);
    if (used < 0 || (size_t)used >= sizeof msg / 2)
        used = (int)(sizeof msg / 2) - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + used, sizeof msg - (size_t)used, fmt, ap);
    va_end(ap);
    am_test.failed++;
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, msg);
    return false;
}

/* CHECK(cond) or CHECK(cond, "format", args...): evaluates to cond. */
#define CHECK(cond, ...) am__check((cond), #cond, __FILE__, __LINE__, " " __VA_ARGS__)

/* Return from the calling function when cond fails. */
#define REQUIRE(cond, ...)             \
    do {                               \
        if (!CHECK(cond, __VA_ARGS__)) \
            return;                    \
    } while (0)

/* xorshift64: a fast, reproducible stream of test data. The state must not
 * start at 0. */
__attribute__((unused)) static uint64_t am_test_xorshift(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* Print the closing line and return the process's exit status. */
__attribute__((unused)) static int am_test_finish(const char *name)
{
    printf("%s: %ld passed, %ld failed\n", name, am_test.passed, am_test.failed);
    return am_test.failed ? 1 : 0;
}

#endif /* AM_TESTHELPER_H */
