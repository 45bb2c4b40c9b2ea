/*
 * frontend.h: the C and POSIX allocation contract, implemented once on top of
 * any struct am_allocator, plus the lock adapter and the registry.
 *
 * Callers (the harness, workloads, tests) allocate only through these
 * functions; backends never see a zero size, a NULL pointer to free, an
 * overflowing size or an invalid alignment (see allocator.h).
 *
 * Behaviour where C leaves a choice, following glibc so that results compare:
 *   - am_malloc(h, 0) returns a unique, freeable block (of 1 byte);
 *   - am_realloc(h, p, 0) with p != NULL frees p and returns NULL;
 *   - am_realloc(h, NULL, n) is am_malloc(h, n).
 * For a reference (AM_CAP_PROCESS_MALLOC) every call goes straight to the
 * process's own malloc, calloc, realloc, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc and malloc_usable_size (the preloaded
 * library's), untouched:
 * what is measured and checked is the library's own behaviour.
 *
 * Layering: depends on allocator.h, memcore.h (the copy and fill cores that
 * the calloc and realloc fallbacks use) and the C library (libdl) only.
 */
#ifndef AM_FRONTEND_H
#define AM_FRONTEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "allocator.h"

/* am_heap_open flags. */
enum {
    /* The heap will be used from several threads: a backend that is not
     * thread-safe is wrapped in the front end's lock (and labelled "+lock"). */
    AM_OPEN_THREADED = 1u << 0,
};

/* An opened allocator. Backends keep their state in statics, so at most one
 * heap per backend may be open in a process at a time. */
struct am_heap {
    const struct am_allocator *impl;
    bool locked;      /* calls are serialised by `lock` (the lock adapter) */
    bool passthrough; /* AM_CAP_PROCESS_MALLOC: forward calls untouched */
    bool direct;      /* unlocked AM_CAP_OWN_ERRNO: malloc and free are tail calls */
    pthread_mutex_t lock;
};

/* Open a: validate its vtable, run its init, and wrap it in the lock adapter
 * when flags has AM_OPEN_THREADED and a is not thread-safe. Returns 0 or an
 * errno value (EINVAL for an incomplete vtable; whatever init returned). */
int am_heap_open(struct am_heap *h, const struct am_allocator *a, unsigned flags);
/* Run the backend's fini. Every block from h is invalid afterwards. */
void am_heap_close(struct am_heap *h);
/* The name results use: "bump-brk", or "firstfit+lock" behind the adapter. */
const char *am_heap_label(const struct am_heap *h, char *buf, size_t len);
/* The label a heap of allocator a opened with `flags` gets, without opening
 * it: for a parent whose child could not say. */
const char *am_allocator_label(const struct am_allocator *a, unsigned flags, char *buf, size_t len);

void *am_malloc(struct am_heap *h, size_t n);
void am_free(struct am_heap *h, void *p);
void *am_calloc(struct am_heap *h, size_t nmemb, size_t size);
void *am_realloc(struct am_heap *h, void *p, size_t n);
/* Returns 0, EINVAL (alignment not a power of two multiple of sizeof(void *)),
 * ENOMEM, or ENOTSUP when the backend has no aligned allocation. */
int am_posix_memalign(struct am_heap *h, void **out, size_t align, size_t n);
/* C11 aligned_alloc: NULL with errno EINVAL, ENOMEM or ENOTSUP on failure. */
void *am_aligned_alloc(struct am_heap *h, size_t align, size_t n);
/* glibc's memalign, valloc and pvalloc, which a trace replays as recorded,
 * with glibc's semantics on every allocator: memalign's alignment is first
 * raised to a power of two, at least sizeof(void *) (jemalloc's memalign
 * would refuse 48); valloc aligns to the page; pvalloc to the page with the
 * size rounded up to whole pages (a page for 0). A reference calls the
 * process's own function when the library that provides malloc has it
 * (glibc has all three; jemalloc has no pvalloc). Otherwise, and for a
 * backend, each is posix_memalign. NULL with errno on failure. */
void *am_memalign(struct am_heap *h, size_t align, size_t n);
void *am_valloc(struct am_heap *h, size_t n);
void *am_pvalloc(struct am_heap *h, size_t n);
/* 0 for NULL; AM_STAT_UNKNOWN when the backend cannot tell. */
size_t am_usable_size(struct am_heap *h, void *p);
/* ENOTSUP when the backend has no stats. */
int am_stats(struct am_heap *h, struct am_stats *out);
/* 0 when consistent, ENOTSUP without a verify member, else EFAULT with why. */
int am_verify(struct am_heap *h, char *why, size_t len);

/* The registry: every allocator listed in allocators/meson.build, in order. */
extern const struct am_allocator *const am_registry[];
extern const size_t am_registry_count;
/* NULL if no allocator has that name. */
const struct am_allocator *am_find_allocator(const char *name);
/* "thread-safe, real-free, ..." for `allocmark list`. */
const char *am_caps_describe(unsigned caps, char *buf, size_t len);

#endif /* AM_FRONTEND_H */
