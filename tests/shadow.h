/*
 * shadow.h: a randomized test of an allocator against a shadow model. The
 * model holds every live block's size, alignment and a tag from which all of
 * its bytes follow; each operation (malloc, calloc, posix_memalign, realloc up
 * or down, free) is checked against it: contents kept across realloc, calloc
 * zeroed, alignment, usable_size, no block overwritten by another. Every
 * `check_every` operations the backend's own check must pass, its live-block
 * count must match the model's, and every live block is read back in full.
 *
 * Layering: depends on allocators/ (the front end) and testhelper.h.
 */
#ifndef AM_SHADOW_H
#define AM_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend.h"

struct am_shadow_plan {
    unsigned long ops;     /* operations to run */
    unsigned slots;        /* live blocks at most */
    size_t largest;        /* the largest request (1 in 100 requests is large) */
    size_t largest_align;  /* posix_memalign alignments from 32 up to this */
    unsigned check_every;  /* am_check and a full read-back this often */
    uint64_t seed;
};

/* Run the plan on h, reporting through CHECK; false at the first mismatch.
 * Every block is freed at the end. */
bool am_shadow_run(struct am_heap *h, const struct am_shadow_plan *plan);

#endif /* AM_SHADOW_H */
