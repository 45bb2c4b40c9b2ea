/*
 * firstfit.h: what firstfit offers beyond its vtable: replacing the function
 * it calls when it detects a double free, a corrupted header or a pointer that
 * is not its own, so that tests can observe detection without dying.
 *
 * Layering: depends on the C library only.
 */
#ifndef AM_FIRSTFIT_H
#define AM_FIRSTFIT_H

/* Called with what was detected ("double free", "invalid free", "corruption",
 * or for realloc and usable_size "use after free" and "invalid pointer") and
 * the address concerned: the caller's pointer, or for "corruption" the
 * damaged header. The allocator's lock is not held. If the function returns,
 * the operation does nothing (free), or returns NULL (realloc) or 0
 * (usable_size). */
typedef void (*am_firstfit_abort_fn)(const char *what, void *addr);

/* Install fn; NULL restores the default, which writes
 * "firstfit: WHAT at ADDR" to stderr and calls abort(). */
void am_firstfit_set_abort(am_firstfit_abort_fn fn);

#endif /* AM_FIRSTFIT_H */
