/*
 * preload.c: one in-house backend as the process's malloc, the drop-in
 * libam-<name>.so that LD_PRELOAD puts in front of glibc's (issue 11).
 *
 * meson compiles this file once per backend with AM_PRELOAD_BACKEND naming
 * the backend's vtable (am_slab_allocator...) and links it with the backend,
 * the front end and the primitive layer into one shared object whose only
 * exported symbols are the glibc malloc family defined here and the three
 * am_dropin_* introspection functions of dropin.h. Every call goes through
 * the front end (frontend.c), so the drop-in keeps the contract exactly as
 * `allocmark check` reports it for the backend.
 *
 * Bootstrap. The heap is opened by the first call, whoever makes it (the
 * dynamic loader, a constructor, libc): a constructor alone would come too
 * late. The opening thread marks itself in initial-exec TLS; a call it makes
 * while the backend's init runs (pthread_atfork, pthread_key_create and
 * dlsym may allocate) is served from a bootstrap arena that is never reused,
 * so nothing recurses into a half-open backend; other threads wait for the
 * opening to finish. The arena is 1 MiB of .bss (untouched pages cost
 * nothing); running out of it is reported on stderr and fails the call with
 * ENOMEM, never silently.
 *
 * Fast path. When the front end would call the backend straight through
 * (thread-safe, AM_CAP_OWN_ERRNO; slab), the backend has realloc and
 * usable_size, and no bootstrap block was handed out (the usual case), the
 * state is DIRECT: malloc, free, realloc, calloc and malloc_usable_size test
 * the state and the argument (a size in range, a pointer not NULL) and jump
 * to the backend's own function, without the front end in between. Any
 * other state goes through the front end, bootstrap blocks included.
 *
 * Process life: the heap is opened with AM_OPEN_THREADED, so a backend that
 * is not thread-safe runs behind the front end's lock, which is taken around
 * fork like every backend's own. The heap is never closed: atexit handlers,
 * thread-local destructors and libc's own exit-time frees may still call
 * free after main returns.
 *
 * Layering: an allocators/ file; depends on frontend.h, dropin.h and the C
 * library (libdl for the AM_DEBUG override report).
 */
#include "../dropin.h"
#include "../frontend.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <malloc.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AM_PRELOAD_BACKEND
#error "compile with -DAM_PRELOAD_BACKEND=am_<name>_allocator"
#endif

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define EXPORT      __attribute__((visibility("default")))
/* gcc copies the target's attributes (malloc, nonnull...) onto an alias with
 * `copy`; clang has no such attribute and warns, so it gets none. */
#if defined(__has_attribute) && __has_attribute(copy)
#define ALIAS_ATTRS(f) , copy(f)
#else
#define ALIAS_ATTRS(f)
#endif

/* Hidden: the library's own copy, reached without the GOT. */
extern const struct am_allocator AM_PRELOAD_BACKEND __attribute__((visibility("hidden")));

/* The front end's registry, for this library: its one backend. */
const struct am_allocator *const am_registry[] = {&AM_PRELOAD_BACKEND};
const size_t am_registry_count = 1;

/* ---------------------------------------------------------------------------
 * Opening the heap
 * ------------------------------------------------------------------------ */

/* OPEN: the heap may be used through the front end. DIRECT: also, the front
 * end would call the backend's malloc and free straight through (thread-safe,
 * keeps errno itself), the backend has realloc and usable_size (which never
 * answers AM_STAT_UNKNOWN then), and no bootstrap block exists, so the fast
 * paths below call the vtable themselves (malloc, free, realloc, calloc when
 * the backend has it, malloc_usable_size) and skip the front end's checks. */
enum { CLOSED, OPENING, OPEN, DIRECT };

static struct am_heap heap;
/* OPEN or DIRECT once the heap may be used; read with acquire on every call. */
static _Atomic int state = CLOSED;
/* Set while this thread runs the backend's init. */
static __thread int opening_here __attribute__((tls_model("initial-exec")));

/* Write a message with write(2) only: stdio may allocate. */
static void say(const char *a, const char *b, const char *c)
{
    const char *parts[] = {"libam-", AM_PRELOAD_NAME, ": ", a, b, c, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i] && write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0)
            return;
}

static void *boot_alloc(size_t align, size_t n);
static size_t boot_used; /* the arena's bytes handed out; only the opening thread allocates */

/* The tests' stand-in for a backend whose init allocates (tests/dropin/):
 * what dlsym does for a missing symbol (its error message is malloc'd), plus
 * direct calls, all while this thread is still opening the heap. */
static void allocate_while_opening(void)
{
    dlsym(RTLD_DEFAULT, "am_dropin_no_such_symbol");
    void *p = malloc(100), *q = calloc(10, 10), *r = NULL;
    if (posix_memalign(&r, 256, 100) == 0)
        memset(r, 1, 100);
    if (p && q) {
        memset(p, 2, 100);
        p = realloc(p, 200);
    }
    free(p);
    free(q);
    free(r);
}

/* True when the heap is open; false when the caller is the thread opening
 * it, which must then use the bootstrap arena. */
__attribute__((noinline, cold)) static bool open_heap(void)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (s >= OPEN)
        return true;
    if (opening_here)
        return false;
    int expected = CLOSED;
    if (s == CLOSED &&
        atomic_compare_exchange_strong_explicit(&state, &expected, OPENING, memory_order_acq_rel,
                                                memory_order_acquire)) {
        opening_here = 1;
        int err = am_heap_open(&heap, &AM_PRELOAD_BACKEND, AM_OPEN_THREADED);
        if (!err && getenv("AM_DROPIN_TEST_BOOTSTRAP"))
            allocate_while_opening();
        opening_here = 0;
        if (err) {
            /* No malloc at all: the program cannot run. */
            say("cannot open the backend: ", strerror(err), "");
            abort();
        }
        /* Only when no bootstrap block exists (the usual case), so that the
         * fast paths need not look for one. */
        bool direct = heap.direct && AM_PRELOAD_BACKEND.realloc && AM_PRELOAD_BACKEND.usable_size &&
                      boot_used == 0;
        atomic_store_explicit(&state, direct ? DIRECT : OPEN, memory_order_release);
        return true;
    }
    while (atomic_load_explicit(&state, memory_order_acquire) < OPEN)
        sched_yield();
    return true;
}

static inline bool is_open(void)
{
    return likely(atomic_load_explicit(&state, memory_order_acquire) >= OPEN) || open_heap();
}

static inline bool is_direct(void)
{
    return likely(atomic_load_explicit(&state, memory_order_acquire) == DIRECT);
}

/* 1 <= n <= the backend's max_request (n - 1 wraps for 0), as am_malloc's. */
static inline bool direct_size(size_t n)
{
    return likely(n - 1 < AM_PRELOAD_BACKEND.max_request);
}

/* ---------------------------------------------------------------------------
 * The bootstrap arena: blocks handed out while the backend's init runs
 * ------------------------------------------------------------------------ */

#define BOOT_BYTES ((size_t)1 << 20)

static _Alignas(4096) char boot_arena[BOOT_BYTES];

/* Each bootstrap block is preceded by its size in the 16 bytes before it. */
static inline bool in_boot_arena(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot_arena < BOOT_BYTES;
}

static size_t boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - 16, sizeof n);
    return n;
}

static void *boot_alloc(size_t align, size_t n)
{
    if (align < 16)
        align = 16;
    size_t start = (boot_used + 16 + align - 1) & ~(align - 1);
    if (n > BOOT_BYTES || start > BOOT_BYTES - n) {
        say("an allocation made while the backend starts does not fit the 1 MiB bootstrap arena",
            "", "");
        errno = ENOMEM;
        return NULL;
    }
    boot_used = start + n;
    memcpy(boot_arena + start - 16, &n, sizeof n);
    return boot_arena + start; /* .bss, never reused: already zero */
}

/* ---------------------------------------------------------------------------
 * The malloc family
 * ------------------------------------------------------------------------ */

__attribute__((noinline, cold)) static void *malloc_slow(size_t n)
{
    if (open_heap())
        return am_malloc(&heap, n);
    return boot_alloc(16, n ? n : 1);
}

EXPORT void *malloc(size_t n)
{
    if (is_direct() && direct_size(n))
        return AM_PRELOAD_BACKEND.malloc(n);
    if (unlikely(atomic_load_explicit(&state, memory_order_acquire) < OPEN))
        return malloc_slow(n);
    return am_malloc(&heap, n);
}

__attribute__((noinline)) static void free_slow(void *p)
{
    /* Bootstrap blocks are never reused; nothing else is in the arena. */
    if (in_boot_arena(p))
        return;
    am_free(&heap, p);
}

EXPORT void free(void *p)
{
    if (is_direct() && likely(p != NULL)) {
        AM_PRELOAD_BACKEND.free(p);
        return;
    }
    free_slow(p);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
    size_t n;
    /* DIRECT: the backend's calloc, if any, sets ENOMEM itself. */
    if (is_direct() && AM_PRELOAD_BACKEND.calloc && !__builtin_mul_overflow(nmemb, size, &n) &&
        direct_size(n))
        return AM_PRELOAD_BACKEND.calloc(n);
    if (is_open())
        return am_calloc(&heap, nmemb, size);
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return boot_alloc(16, n ? n : 1);
}

__attribute__((noinline)) static void *realloc_slow(void *p, size_t n)
{
    if (likely(!in_boot_arena(p))) {
        if (is_open())
            return am_realloc(&heap, p, n);
        if (!p)
            return boot_alloc(16, n ? n : 1);
    }
    /* A bootstrap block moves out, as glibc's realloc(p, 0) frees. */
    if (n == 0)
        return NULL;
    void *q = malloc(n);
    if (q) {
        size_t old = boot_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

EXPORT void *realloc(void *p, size_t n)
{
    /* DIRECT: the backend's realloc sets ENOMEM itself (AM_CAP_OWN_ERRNO). */
    if (is_direct() && direct_size(n))
        return p ? AM_PRELOAD_BACKEND.realloc(p, n) : AM_PRELOAD_BACKEND.malloc(n);
    return realloc_slow(p, n);
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (is_open())
        return am_posix_memalign(&heap, out, align, n);
    if (align == 0 || (align & (align - 1)) || align % sizeof(void *))
        return EINVAL;
    *out = boot_alloc(align, n ? n : 1);
    return *out ? 0 : ENOMEM;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (is_open())
        return am_aligned_alloc(&heap, align, n);
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return boot_alloc(align, n ? n : 1);
}

/* glibc's memalign: an alignment up to 16 is malloc's; one that is not a
 * power of two is rounded up to the next; one above SIZE_MAX / 2 + 1 (no
 * power of two holds it) is EINVAL. */
EXPORT void *memalign(size_t align, size_t n)
{
    if (align <= AM_MIN_ALIGN)
        return malloc(n);
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align & (align - 1))
        align = (size_t)1 << (64 - __builtin_clzll(align));
    if (is_open())
        return am_aligned_alloc(&heap, align, n);
    return boot_alloc(align, n ? n : 1);
}

EXPORT void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

/* glibc's pvalloc: valloc of n rounded up to whole pages (a page for 0);
 * ENOMEM when the rounding overflows. */
EXPORT void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), rounded;
    if (__builtin_add_overflow(n, page - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(page - 1);
    return memalign(page, rounded ? rounded : page);
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (is_direct() && likely(p != NULL))
        return AM_PRELOAD_BACKEND.usable_size(p);
    if (unlikely(in_boot_arena(p)))
        return boot_size(p);
    if (!p || !is_open())
        return 0;
    size_t n = am_usable_size(&heap, p);
    return n == AM_STAT_UNKNOWN ? 0 : n;
}

/* Gone from glibc's headers, still called by old programs. */
EXPORT void cfree(void *p);
EXPORT void cfree(void *p)
{
    free(p);
}

/* glibc's own names for the same functions: a few programs and libraries
 * (and old binaries) call these directly to reach "the real malloc". */
EXPORT void *__libc_malloc(size_t n) __attribute__((alias("malloc") ALIAS_ATTRS(malloc)));
EXPORT void __libc_free(void *p) __attribute__((alias("free") ALIAS_ATTRS(free)));
EXPORT void *__libc_calloc(size_t nmemb, size_t size)
    __attribute__((alias("calloc") ALIAS_ATTRS(calloc)));
EXPORT void *__libc_realloc(void *p, size_t n)
    __attribute__((alias("realloc") ALIAS_ATTRS(realloc)));
EXPORT void *__libc_memalign(size_t align, size_t n)
    __attribute__((alias("memalign") ALIAS_ATTRS(memalign)));
EXPORT void *__libc_valloc(size_t n) __attribute__((alias("valloc") ALIAS_ATTRS(valloc)));
EXPORT void *__libc_pvalloc(size_t n) __attribute__((alias("pvalloc") ALIAS_ATTRS(pvalloc)));
EXPORT void *__libc_reallocarray(void *p, size_t nmemb, size_t size)
    __attribute__((alias("reallocarray") ALIAS_ATTRS(reallocarray)));
EXPORT int __posix_memalign(void **out, size_t align, size_t n)
    __attribute__((alias("posix_memalign") ALIAS_ATTRS(posix_memalign)));

/* ---------------------------------------------------------------------------
 * Introspection for `allocmark check` (dropin.h) and the AM_DEBUG report
 * ------------------------------------------------------------------------ */

EXPORT const char *am_dropin_backend(void)
{
    return AM_PRELOAD_BACKEND.name;
}

EXPORT int am_dropin_stats(struct am_stats *out)
{
    if (!is_open())
        return EAGAIN;
    int err = am_stats(&heap, out);
    if (!err && out->n_extra < AM_STATS_MAX_EXTRA) {
        out->extra[out->n_extra].name = "dropin_bootstrap_bytes";
        out->extra[out->n_extra++].value = boot_used;
    }
    return err;
}

EXPORT int am_dropin_verify(char *why, size_t len)
{
    if (!is_open())
        return EAGAIN;
    return am_verify(&heap, why, len);
}

/* The first loaded object, in the search order, that defines malloc; NULL
 * when it is this library. dlsym on each object's own handle finds its own
 * definition first (the main program's canonical PLT entry would fool a look
 * at the address of the process's malloc). */
static const char *first_other_malloc(void)
{
    void *self_handle = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    struct link_map *map = NULL;
    Dl_info self;
    if (!self_handle || dlinfo(self_handle, RTLD_DI_LINKMAP, &map) != 0 ||
        !dladdr((void *)first_other_malloc, &self) || !self.dli_fname)
        return NULL;
    for (struct link_map *l = map->l_next; l; l = l->l_next) {
        void *h = dlopen(l->l_name, RTLD_LAZY | RTLD_NOLOAD);
        void *m = h ? dlsym(h, "malloc") : NULL;
        Dl_info info;
        bool defines =
            m && dladdr(m, &info) && info.dli_fname && strcmp(info.dli_fname, l->l_name) == 0;
        if (h)
            dlclose(h);
        if (defines)
            return strcmp(l->l_name, self.dli_fname) == 0 ? NULL : l->l_name;
    }
    return NULL;
}

/* With AM_DEBUG set, say whether this library really is the process's malloc:
 * another library earlier in the search order (a second LD_PRELOAD, the
 * program itself) may define malloc and leave ours unused. The test is
 * direct: a block from the process's malloc must show in our statistics. */
__attribute__((constructor)) static void report_override(void)
{
    const char *debug = getenv("AM_DEBUG");
    if (!debug || !*debug || !is_open())
        return;
    enum { PROBE = 1 << 20 };
    struct am_stats before, after;
    void *(*process_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
    void (*process_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
    if (!process_malloc || !process_free || am_stats(&heap, &before) != 0)
        return;
    void *p = process_malloc(PROBE);
    bool ours = am_stats(&heap, &after) == 0 && after.live_bytes != AM_STAT_UNKNOWN &&
                after.live_bytes >= before.live_bytes + PROBE;
    process_free(p);
    if (ours) {
        say("the process's malloc is the ", AM_PRELOAD_NAME, " backend");
        return;
    }
    const char *who = first_other_malloc();
    say("another malloc overrides this drop-in's, from ", who ? who : "the program itself",
        "; this library's allocator is not used");
}
