/*
 * allocator.h: the contract between an allocator backend and the rest of allocmark.
 *
 * A backend is one folder under allocators/ whose .c file exports exactly one
 * `const struct am_allocator am_<name>_allocator` (the name with '-' as '_').
 * Everything a caller may rely on is written here, member by member.
 *
 * Layering: this header depends on the C library only. Backends may include it,
 * allocators/os.h (the primitive layer) and memcore.h (am_memcpy, am_memmove,
 * am_memset: use them for every copy or fill of block contents); nothing else.
 *
 * The front end (frontend.h) implements the C and POSIX contract once, so that
 * a backend can assert its preconditions instead of re-checking them:
 *   - malloc, realloc and aligned are never called with n == 0, nor with
 *     n > max_request (the front end answers those with NULL and ENOMEM);
 *   - free, realloc and usable_size are never called with NULL;
 *   - aligned is only called with a power-of-two alignment > AM_MIN_ALIGN;
 *   - the front end sets errno = ENOMEM whenever a backend returns NULL.
 * A backend must return memory aligned to AM_MIN_ALIGN from malloc, realloc and
 * calloc. Functions that can fail for reasons other than memory return an errno
 * value; nothing in a backend prints.
 */
#ifndef AM_ALLOCATOR_H
#define AM_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

/* Every block from malloc, calloc and realloc is aligned to at least this. */
#define AM_MIN_ALIGN 16

/* Capability flags (struct am_allocator.caps). */
enum {
    /* May be called from several threads at once without the front end's lock. */
    AM_CAP_THREAD_SAFE = 1u << 0,
    /* free can give memory back to the OS (munmap, madvise, sbrk(-n)). */
    AM_CAP_RETURNS_MEMORY = 1u << 1,
    /* free makes the block's memory reusable by later allocations. A backend
     * without it (a pure bump allocator) only counts what was freed. */
    AM_CAP_REAL_FREE = 1u << 2,
    /* Implements `aligned` for alignments above AM_MIN_ALIGN. */
    AM_CAP_ALIGNED = 1u << 3,
    /* Every block returned by malloc is zero-filled (fresh from the OS), so the
     * front end's calloc fallback may skip its memset. */
    AM_CAP_ALWAYS_ZEROED = 1u << 4,
    /* The process's own malloc (a reference, made the process's malloc by
     * `preload`). The front end calls the process's malloc family directly and
     * untouched, so the library's real behaviour is what gets measured and
     * checked; the vtable adds init (verifying the library really is the
     * process's malloc) and the library's own statistics. */
    AM_CAP_PROCESS_MALLOC = 1u << 5,
    /* Not a real allocator: a test double (it crashes or hangs on purpose).
     * Listed only when asked for; never part of a default run. */
    AM_CAP_TEST_ONLY = 1u << 6,
    /* The backend keeps errno itself: malloc (and realloc and calloc, where
     * it has them) sets ENOMEM whenever it returns NULL, and free never changes errno (it
     * saves and restores it around anything that could). The front end then
     * calls malloc and free straight through, as it does a reference's, and
     * the drop-in (preload.c) realloc too. */
    AM_CAP_OWN_ERRNO = 1u << 7,
};

/* A value of a statistic the backend cannot know. */
#define AM_STAT_UNKNOWN SIZE_MAX

/* Backend-specific statistics beyond the common ones (free pages, waste...). */
#define AM_STATS_MAX_EXTRA 48

struct am_stats {
    size_t os_bytes;      /* bytes obtained from the OS and not given back, now */
    size_t os_bytes_peak; /* the largest os_bytes since init */
    size_t live_bytes;    /* bytes in live blocks, as the backend accounts them */
    size_t live_blocks;   /* number of live blocks */
    unsigned n_extra;
    struct {
        const char *name; /* a static string, lower_case_with_underscores */
        size_t value;
    } extra[AM_STATS_MAX_EXTRA];
};

/* Append a named extra statistic (s->n_extra counts them; past
 * AM_STATS_MAX_EXTRA the rest are dropped). Every backend's stats fills its
 * extras through this. */
static inline void am__stats_extra(struct am_stats *s, const char *name, size_t value)
{
    if (s->n_extra < AM_STATS_MAX_EXTRA) {
        s->extra[s->n_extra].name = name;
        s->extra[s->n_extra].value = value;
        s->n_extra++;
    }
}

/* A conformance check an allocator is known to fail, and why (a reference's
 * documented behaviour or upstream bug). `allocmark check` reports it as
 * "expected"; a listed deviation that stops happening is a failure, so the
 * list stays true. */
struct am_deviation {
    const char *check; /* the check's name, as `allocmark check -v` prints it */
    const char *why;
};

struct am_allocator {
    /* Short name as used on the command line: [a-z0-9-]+. */
    const char *name;
    /* One line for `allocmark list`: the design in a few words. */
    const char *summary;
    /* AM_CAP_* flags. */
    unsigned caps;
    /* The largest request malloc, realloc and aligned accept; the front end
     * refuses anything larger before the backend sees it. A backend sets this
     * so that its own size arithmetic (header, rounding) cannot overflow. */
    size_t max_request;
    /* AM_CAP_PROCESS_MALLOC only: the shared object to LD_PRELOAD so that it
     * becomes the process's malloc, or NULL when libc's malloc is meant. */
    const char *preload;
    /* The library's version as meson found it at configure time (set from
     * the allocator's own meson.build), or NULL for none. */
    const char *configured_version;
    /* Optional: write the version the running library reports into buf and
     * return buf, or NULL when it cannot tell. Called in a child where the
     * allocator is open (a reference: its library is the process's malloc). */
    const char *(*version)(char *buf, size_t len);
    /* Known conformance deviations, ended by an entry whose check is NULL;
     * NULL for none. */
    const struct am_deviation *deviations;

    /* Set up global state. Called once before any other member; returns 0 or
     * an errno value. Optional. */
    int (*init)(void);
    /* Release everything the backend holds. After fini no block is valid.
     * Optional. */
    void (*fini)(void);

    /* Return a block of at least n bytes (1 <= n <= max_request), or NULL. */
    void *(*malloc)(size_t n);
    /* Release a block returned by this backend and not yet freed. */
    void (*free)(void *p);

    /* Optional: resize p (non-NULL) to n bytes (1 <= n <= max_request),
     * keeping min(old, n) bytes of content. On failure return NULL and leave p
     * untouched. Without it the front end uses malloc + copy + free, which
     * needs usable_size. */
    void *(*realloc)(void *p, size_t n);
    /* Optional: return n zeroed bytes (1 <= n <= max_request; the front end has
     * already multiplied and checked nmemb * size). */
    void *(*calloc)(size_t n);
    /* Optional (needs AM_CAP_ALIGNED): a block of n bytes aligned to `align`, a
     * power of two greater than AM_MIN_ALIGN; n <= max_request - align. */
    void *(*aligned)(size_t align, size_t n);
    /* Optional: the number of bytes usable in p, at least what was asked for. */
    size_t (*usable_size)(void *p);
    /* Optional: fill *out (zeroed by the caller); return 0 or an errno value. */
    int (*stats)(struct am_stats *out);
    /* Optional: walk and verify the backend's own structures. Return 0 if they
     * are consistent; otherwise write what is wrong into why (NUL-terminated,
     * at most len bytes) and return EFAULT. */
    int (*verify)(char *why, size_t len);
};

#endif /* AM_ALLOCATOR_H */
