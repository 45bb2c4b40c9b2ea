/*
 * reference.h: what the reference allocators (glibc, jemalloc, mimalloc,
 * tcmalloc) share. A reference is not linked into allocmark: it becomes the
 * process's malloc through LD_PRELOAD in a child process (harness/spawnproc.c), and
 * its vtable only checks that this really happened and reads the library's own
 * statistics, found with dlsym so that nothing links against it.
 *
 * Layering: depends on allocator.h and the C library (libdl).
 */
#ifndef AM_REFERENCE_H
#define AM_REFERENCE_H

#include "allocator.h"

/* 0 when the process's malloc is defined in a shared object whose file name
 * starts with `soname_prefix` ("libc.so", "libjemalloc.so"); ENOENT otherwise,
 * which means the child was not started with the right LD_PRELOAD. */
int am__reference_verify(const char *soname_prefix);

/* dlsym(RTLD_DEFAULT, name), or NULL. */
void *am__reference_symbol(const char *name);

/* Keep os_bytes_peak as the largest os_bytes seen by any stats call, for
 * libraries that do not track a peak themselves. */
void am__reference_track_peak(struct am_stats *s, size_t *peak);

/* The vtable members every reference shares: the process's own functions. */
#define AM_REFERENCE_MEMBERS                                                             \
    .caps = AM_CAP_PROCESS_MALLOC | AM_CAP_THREAD_SAFE | AM_CAP_REAL_FREE |              \
            AM_CAP_RETURNS_MEMORY | AM_CAP_ALIGNED,                                      \
    .max_request = SIZE_MAX, .malloc = am__reference_malloc, .free = am__reference_free, \
    .usable_size = am__reference_usable_size

void *am__reference_malloc(size_t n);
void am__reference_free(void *p);
size_t am__reference_usable_size(void *p);

#endif /* AM_REFERENCE_H */
