/*
 * crash-test: a test double, not an allocator. Every block is its own
 * anonymous mapping (so sanitizers and glibc stay out of it) until the Nth
 * allocation (AM_CRASH_TEST_AFTER, default 1000); from then on each
 * allocation misbehaves as AM_CRASH_TEST says:
 *   segv     write to an unmapped page (the default)
 *   abort    abort(), as glibc does on a corrupted heap
 *   null     return NULL, as if memory ran out
 *   overlap  hand out the previous block again while it is live (and
 *            never unmap, so the damage is a changed cookie, not a fault)
 *   hang     never return (hang-test always does this)
 * The harness's tests run it to prove that each of these is recorded as one
 * failed cell (crash, oom, corrupt, timeout) and that the run goes on. It
 * does not claim to be thread-safe, so that threaded cells also show the
 * front end's lock adapter at work (and labelled crash-test+lock).
 */
#include <stddef.h>
#include <stdint.h>

#include "../allocator.h"
#include "../misbehave.h"

static int crash_test_init(void)
{
    return am__misbehave_init(NULL);
}

const struct am_allocator am_crash_test_allocator = {
    .name = "crash-test",
    .summary = "test double: misbehaves after N allocations (AM_CRASH_TEST)",
    .caps = AM_CAP_REAL_FREE | AM_CAP_TEST_ONLY,
    .max_request = (size_t)PTRDIFF_MAX - (1u << 20),
    .init = crash_test_init,
    .malloc = am__misbehave_malloc,
    .free = am__misbehave_free,
    .usable_size = am__misbehave_usable_size,
};
