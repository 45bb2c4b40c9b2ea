/*
 * misbehave.h: the one implementation (misbehave.c) that the test doubles
 * crash-test and hang-test share: a block per mapping until the Nth
 * allocation, then a misbehaviour chosen by mode. They exist so that the
 * harness's tests can prove a misbehaving allocator costs one failed cell
 * and nothing more; they are AM_CAP_TEST_ONLY and never run by default.
 *
 * Layering: part of allocators/; depends on allocator.h, os.h and the C library.
 */
#ifndef AM_MISBEHAVE_H
#define AM_MISBEHAVE_H

#include <stddef.h>

/* mode: "segv", "abort", "null", "overlap" or "hang"; NULL reads it from
 * AM_CRASH_TEST (default "segv"). AM_CRASH_TEST_AFTER is N (default 1000).
 * Returns 0, or EINVAL for an unknown mode. */
int am__misbehave_init(const char *mode);
void *am__misbehave_malloc(size_t n);
void am__misbehave_free(void *p);
size_t am__misbehave_usable_size(void *p);

#endif /* AM_MISBEHAVE_H */
