/*
 * expect.h: how a conformance check states what must hold. CHECK records a
 * failed expectation (its file, line and an optional printf-style message)
 * and carries on; REQUIRE returns from the check when it fails. Only the
 * first failure's text is kept: the runner (conformance.c) sends it to the
 * parent as the check's detail. No allocation inside the helper, so it never
 * disturbs the allocator under test.
 *
 * Layering: the C library only; used by conformance.c alone.
 */
#ifndef AM_EXPECT_H
#define AM_EXPECT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

struct am_expect_state {
    long failed;
    char first_failure[512];
};

static struct am_expect_state am_expect;

__attribute__((format(printf, 5, 6), unused)) static bool
am__expect(bool ok, const char *expr, const char *file, int line, const char *fmt, ...)
{
    if (ok)
        return true;
    if (am_expect.failed++ == 0) {
        char msg[400];
        int used = snprintf(msg, sizeof msg / 2, "%s:", expr);
        if (used < 0 || (size_t)used >= sizeof msg / 2)
            used = (int)(sizeof msg / 2) - 1;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + used, sizeof msg - (size_t)used, fmt, ap);
        va_end(ap);
        snprintf(am_expect.first_failure, sizeof am_expect.first_failure, "%s:%d: %s", file, line,
                 msg);
    }
    return false;
}

/* CHECK(cond) or CHECK(cond, "format", args...): evaluates to cond. */
#define CHECK(cond, ...) am__expect((cond), #cond, __FILE__, __LINE__, " " __VA_ARGS__)

/* Return from the calling function when cond fails. */
#define REQUIRE(cond, ...)             \
    do {                               \
        if (!CHECK(cond, __VA_ARGS__)) \
            return;                    \
    } while (0)

/* Forget every failure: a new check starts. */
__attribute__((unused)) static void am_expect_reset(void)
{
    am_expect.failed = 0;
    am_expect.first_failure[0] = '\0';
}

#endif /* AM_EXPECT_H */
