/*
 * dropin.h: allocmark's own backends as LD_PRELOAD drop-ins, from both sides.
 *
 * allocators/preload/ builds, for every in-house backend, a shared library
 * libam-<name>.so that becomes the process's malloc (see preload.c). Besides
 * the malloc family it exports only the three am_dropin_* functions below,
 * which allocmark finds with dlsym in a child that has the drop-in preloaded.
 *
 * On allocmark's side, am_dropin_allocator describes such a drop-in as one
 * more allocator: the process's malloc (AM_CAP_PROCESS_MALLOC, as a
 * reference is), its library as `preload`, its statistics and structure walk
 * through the library's exports. `allocmark check` runs the conformance suite
 * against it beside the backend itself, and the two must agree.
 *
 * Layering: depends on allocator.h and the C library (libdl).
 */
#ifndef AM_DROPIN_H
#define AM_DROPIN_H

#include <stddef.h>

#include "allocator.h"

/* Exported by every libam-<name>.so. */
/* The backend's name ("slab"). */
const char *am_dropin_backend(void);
/* The backend's statistics (am_stats through the front end). */
int am_dropin_stats(struct am_stats *out);
/* The backend's walk of its own structures (am_verify through the front end). */
int am_dropin_verify(char *why, size_t len);

/* What a drop-in's name adds to its backend's: "slab (preload)". */
#define AM_DROPIN_SUFFIX " (preload)"

/* The drop-in of an in-house backend (neither a reference nor a test double),
 * or NULL for any other allocator. Its preload path is the build tree's
 * allocators/<name>/libam-<name>.so, or AM_DROPIN_DIR/libam-<name>.so when
 * that variable is set (an installed lib/ directory). */
const struct am_allocator *am_dropin_allocator(const struct am_allocator *backend);
/* The drop-in named "NAME (preload)", or NULL. */
const struct am_allocator *am_dropin_find(const char *name);

#endif /* AM_DROPIN_H */
