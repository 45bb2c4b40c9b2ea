/*
 * hang-test: a test double, not an allocator: crash-test (see
 * allocators/crash-test/crash-test.c) always in "hang" mode, so that one run
 * can show a crashed cell and a timed-out one side by side.
 */
#include "../allocator.h"
#include "../misbehave.h"

#include <stdint.h>

static int hang_test_init(void)
{
    return am__misbehave_init("hang");
}

const struct am_allocator am_hang_test_allocator = {
    .name = "hang-test",
    .summary = "test double: never returns from its Nth allocation",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_REAL_FREE | AM_CAP_TEST_ONLY,
    .max_request = (size_t)PTRDIFF_MAX - (1u << 20),
    .init = hang_test_init,
    .malloc = am__misbehave_malloc,
    .free = am__misbehave_free,
    .usable_size = am__misbehave_usable_size,
};
