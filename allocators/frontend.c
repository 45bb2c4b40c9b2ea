/*
 * frontend.c: the C/POSIX allocation contract over any backend, and the lock
 * adapter that makes a single-threaded backend usable from threads.
 *
 * Every edge case of malloc, calloc, realloc, posix_memalign and free lives
 * here once (see frontend.h for the choices made), so backends stay small and
 * assert their preconditions; so do glibc's older aligned calls (memalign,
 * valloc, pvalloc), which a trace replay makes as they were recorded. The hot path for a backend
 * that needs no lock is one size comparison and one indirect call, a tail call when the backend
 * keeps errno itself (AM_CAP_OWN_ERRNO), as close as it gets to what a
 * reference pays for its call through the PLT.
 */
#include "frontend.h"
#include "forksafe.h"
#include "memcore.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Lock adapter
 *
 * A heap behind the adapter serialises every call on its mutex, which is
 * registered with forksafe.h so that a fork cannot leave it locked. It is
 * registered before the backend's init runs, so before any lock the backend
 * takes inside it: fork takes them in the same order.
 * ------------------------------------------------------------------------ */

static inline void enter(struct am_heap *h)
{
    if (h->locked)
        pthread_mutex_lock(&h->lock);
}

static inline void leave(struct am_heap *h)
{
    if (h->locked)
        pthread_mutex_unlock(&h->lock);
}

/* ---------------------------------------------------------------------------
 * Opening and closing
 * ------------------------------------------------------------------------ */

static bool vtable_is_complete(const struct am_allocator *a)
{
    if (!a->name || !a->summary || !a->malloc || !a->free || a->max_request == 0)
        return false;
    /* realloc needs either the member or usable_size for the fallback copy. */
    if (!a->realloc && !a->usable_size)
        return false;
    /* A reference's aligned allocation is the process's posix_memalign. */
    if ((a->caps & AM_CAP_ALIGNED) && !a->aligned && !(a->caps & AM_CAP_PROCESS_MALLOC))
        return false;
    return true;
}

/* The front end's lock wraps an allocator that is not thread-safe in a heap
 * that threads share. */
static bool needs_lock(const struct am_allocator *a, unsigned flags)
{
    return (flags & AM_OPEN_THREADED) && !(a->caps & AM_CAP_THREAD_SAFE);
}

int am_heap_open(struct am_heap *h, const struct am_allocator *a, unsigned flags)
{
    memset(h, 0, sizeof *h);
    if (!vtable_is_complete(a))
        return EINVAL;
    h->impl = a;
    h->passthrough = (a->caps & AM_CAP_PROCESS_MALLOC) != 0;
    h->locked = needs_lock(a, flags);
    h->direct = !h->locked && (a->caps & AM_CAP_OWN_ERRNO);
    if (h->locked) {
        pthread_mutex_init(&h->lock, NULL);
        int err = am__forksafe_register(&h->lock);
        if (err)
            return err;
    }
    int err = a->init ? a->init() : 0;
    if (err && h->locked)
        am__forksafe_unregister(&h->lock);
    return err;
}

void am_heap_close(struct am_heap *h)
{
    if (h->impl && h->impl->fini)
        h->impl->fini();
    if (h->locked) {
        am__forksafe_unregister(&h->lock);
        pthread_mutex_destroy(&h->lock);
    }
    h->impl = NULL;
}

const char *am_allocator_label(const struct am_allocator *a, unsigned flags, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", a->name, needs_lock(a, flags) ? "+lock" : "");
    return buf;
}

const char *am_heap_label(const struct am_heap *h, char *buf, size_t len)
{
    /* Locked exactly when it was opened threaded and needed the lock. */
    return am_allocator_label(h->impl, h->locked ? AM_OPEN_THREADED : 0, buf, len);
}

/* ---------------------------------------------------------------------------
 * The contract
 * ------------------------------------------------------------------------ */

static void *backend_malloc(struct am_heap *h, size_t n)
{
    enter(h);
    void *p = h->impl->malloc(n);
    leave(h);
    return p;
}

static void backend_free(struct am_heap *h, void *p)
{
    enter(h);
    h->impl->free(p);
    leave(h);
}

static size_t backend_usable_size(struct am_heap *h, void *p)
{
    enter(h);
    size_t n = h->impl->usable_size(p);
    leave(h);
    return n;
}

/* Everything am_malloc's fast path leaves out: n == 0, n too large, a lock,
 * a backend that leaves errno to us. Out of line, so that the fast path needs
 * no stack frame of its own. */
__attribute__((noinline)) static void *malloc_general(struct am_heap *h, size_t n)
{
    if (n == 0)
        n = 1;
    if (n > h->impl->max_request) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = backend_malloc(h, n);
    if (!p)
        errno = ENOMEM;
    return p;
}

void *am_malloc(struct am_heap *h, size_t n)
{
    const struct am_allocator *a = h->impl;
    if (h->passthrough)
        return malloc(n);
    /* One comparison covers 1 <= n <= max_request (n - 1 wraps for 0). */
    if (__builtin_expect(h->direct && n - 1 < a->max_request, 1))
        return a->malloc(n);
    return malloc_general(h, n);
}

__attribute__((noinline)) static void free_general(struct am_heap *h, void *p)
{
    if (!p)
        return;
    int saved = errno; /* free never changes errno, whatever the backend does */
    backend_free(h, p);
    errno = saved;
}

void am_free(struct am_heap *h, void *p)
{
    if (h->passthrough) {
        free(p);
        return;
    }
    if (__builtin_expect(h->direct && p != NULL, 1)) {
        h->impl->free(p);
        return;
    }
    free_general(h, p);
}

void *am_calloc(struct am_heap *h, size_t nmemb, size_t size)
{
    const struct am_allocator *a = h->impl;
    if (h->passthrough)
        return calloc(nmemb, size);
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n) || n > a->max_request) {
        errno = ENOMEM;
        return NULL;
    }
    if (n == 0)
        n = 1;
    void *p;
    if (a->calloc) {
        enter(h);
        p = a->calloc(n);
        leave(h);
    } else {
        p = backend_malloc(h, n);
        if (p && !(a->caps & AM_CAP_ALWAYS_ZEROED))
            am_memset(p, 0, n);
    }
    if (!p)
        errno = ENOMEM;
    return p;
}

/* realloc for a backend without its own: keep the block when the new size
 * still fits, else move. */
static void *realloc_by_copy(struct am_heap *h, void *p, size_t n)
{
    size_t old = backend_usable_size(h, p);
    if (n <= old)
        return p;
    void *q = backend_malloc(h, n);
    if (!q)
        return NULL;
    am_memcpy(q, p, old);
    backend_free(h, p);
    return q;
}

void *am_realloc(struct am_heap *h, void *p, size_t n)
{
    const struct am_allocator *a = h->impl;
    if (h->passthrough)
        return realloc(p, n);
    if (!p)
        return am_malloc(h, n);
    if (n == 0) {
        am_free(h, p);
        return NULL;
    }
    if (n > a->max_request) {
        errno = ENOMEM;
        return NULL;
    }
    void *q;
    if (a->realloc) {
        enter(h);
        q = a->realloc(p, n);
        leave(h);
    } else {
        q = realloc_by_copy(h, p, n);
    }
    if (!q)
        errno = ENOMEM;
    return q;
}

static bool is_power_of_two(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* Shared by posix_memalign and aligned_alloc once the alignment is valid. */
static int aligned_checked(struct am_heap *h, void **out, size_t align, size_t n)
{
    const struct am_allocator *a = h->impl;
    if (n == 0)
        n = 1;
    if (align <= AM_MIN_ALIGN) {
        *out = am_malloc(h, n);
        return *out ? 0 : ENOMEM;
    }
    if (!(a->caps & AM_CAP_ALIGNED))
        return ENOTSUP;
    if (align > a->max_request || n > a->max_request - align)
        return ENOMEM;
    enter(h);
    *out = a->aligned(align, n);
    leave(h);
    return *out ? 0 : ENOMEM;
}

/* As glibc's: a failure leaves *out untouched, and ENOMEM (only) also sets
 * errno, which programs read. */
int am_posix_memalign(struct am_heap *h, void **out, size_t align, size_t n)
{
    if (h->passthrough)
        return posix_memalign(out, align, n);
    if (!is_power_of_two(align) || align % sizeof(void *) != 0)
        return EINVAL;
    void *p = NULL;
    int saved = errno;
    int err = aligned_checked(h, &p, align, n);
    if (err) {
        errno = err == ENOMEM ? ENOMEM : saved;
        return err;
    }
    errno = saved;
    *out = p;
    return 0;
}

void *am_aligned_alloc(struct am_heap *h, size_t align, size_t n)
{
    void *p = NULL;
    int err;
    if (h->passthrough)
        return aligned_alloc(align, n);
    if (!is_power_of_two(align))
        err = EINVAL;
    else
        err = aligned_checked(h, &p, align, n);
    if (err) {
        errno = err;
        return NULL;
    }
    return p;
}

/* ---------------------------------------------------------------------------
 * glibc's older aligned calls (a trace replays each as recorded)
 * ------------------------------------------------------------------------ */

/* The process's own `name` when the library that provides malloc provides
 * it too, else NULL: jemalloc has no pvalloc, and glibc's would take memory
 * from glibc's heap, which jemalloc's free cannot release. */
static void *resolve_process_symbol(const char *name)
{
    void *fn = dlsym(RTLD_DEFAULT, name);
    Dl_info mine, theirs;
    void *process_malloc = dlsym(RTLD_DEFAULT, "malloc");
    if (!fn || !process_malloc || !dladdr(fn, &mine) || !dladdr(process_malloc, &theirs))
        return NULL;
    return mine.dli_fbase == theirs.dli_fbase ? fn : NULL;
}

/* Resolved once: the process's malloc does not change. A race resolves the
 * same answer twice. */
enum { SYM_MEMALIGN, SYM_VALLOC, SYM_PVALLOC, SYM_COUNT };
static const char *const sym_name[SYM_COUNT] = {"memalign", "valloc", "pvalloc"};
static _Atomic(void *) sym_fn[SYM_COUNT];
static atomic_bool sym_known[SYM_COUNT];

static void *process_symbol(int which)
{
    if (!atomic_load_explicit(&sym_known[which], memory_order_acquire)) {
        atomic_store_explicit(&sym_fn[which], resolve_process_symbol(sym_name[which]),
                              memory_order_relaxed);
        atomic_store_explicit(&sym_known[which], true, memory_order_release);
    }
    return atomic_load_explicit(&sym_fn[which], memory_order_relaxed);
}

static size_t round_to_power_of_two(size_t x)
{
    while (!is_power_of_two(x))
        x = (x | (x - 1)) + 1;
    return x;
}

/* What glibc's memalign does with an alignment: at least sizeof(void *),
 * rounded up to a power of two; 0 when there is none that large. */
static size_t glibc_alignment(size_t align)
{
    if (align < sizeof(void *))
        align = sizeof(void *);
    return align > SIZE_MAX / 2 + 1 ? 0 : round_to_power_of_two(align);
}

/* The emulation: posix_memalign with an alignment glibc_alignment made. */
static void *aligned_fallback(struct am_heap *h, size_t align, size_t n)
{
    if (!align) {
        errno = EINVAL;
        return NULL;
    }
    void *p = NULL;
    int err = am_posix_memalign(h, &p, align, n);
    if (err) {
        errno = err;
        return NULL;
    }
    return p;
}

/* The alignment is made glibc's first, so that a library whose memalign
 * refuses what glibc's accepts (jemalloc's, mimalloc's: 48) does the same. */
void *am_memalign(struct am_heap *h, size_t align, size_t n)
{
    align = glibc_alignment(align);
    if (h->passthrough && align) {
        void *(*fn)(size_t, size_t) = (void *(*)(size_t, size_t))process_symbol(SYM_MEMALIGN);
        if (fn)
            return fn(align, n);
    }
    return aligned_fallback(h, align, n);
}

void *am_valloc(struct am_heap *h, size_t n)
{
    if (h->passthrough) {
        void *(*fn)(size_t) = (void *(*)(size_t))process_symbol(SYM_VALLOC);
        if (fn)
            return fn(n);
    }
    return aligned_fallback(h, (size_t)sysconf(_SC_PAGESIZE), n);
}

void *am_pvalloc(struct am_heap *h, size_t n)
{
    if (h->passthrough) {
        void *(*fn)(size_t) = (void *(*)(size_t))process_symbol(SYM_PVALLOC);
        if (fn)
            return fn(n);
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = n ? (n + page - 1) & ~(page - 1) : page;
    return aligned_fallback(h, page, rounded);
}

size_t am_usable_size(struct am_heap *h, void *p)
{
    if (!p)
        return 0;
    if (h->passthrough)
        return malloc_usable_size(p);
    if (!h->impl->usable_size)
        return AM_STAT_UNKNOWN;
    return backend_usable_size(h, p);
}

int am_stats(struct am_heap *h, struct am_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!h->impl->stats)
        return ENOTSUP;
    enter(h);
    int err = h->impl->stats(out);
    leave(h);
    return err;
}

int am_verify(struct am_heap *h, char *why, size_t len)
{
    if (len)
        why[0] = '\0';
    if (!h->impl->verify)
        return ENOTSUP;
    enter(h);
    int err = h->impl->verify(why, len);
    leave(h);
    return err;
}

/* ---------------------------------------------------------------------------
 * Registry look-ups (the table itself is generated by meson: registry.c)
 * ------------------------------------------------------------------------ */

const struct am_allocator *am_find_allocator(const char *name)
{
    for (size_t i = 0; i < am_registry_count; i++)
        if (strcmp(am_registry[i]->name, name) == 0)
            return am_registry[i];
    return NULL;
}

const char *am_caps_describe(unsigned caps, char *buf, size_t len)
{
    static const struct {
        unsigned flag;
        const char *word;
    } words[] = {
        {AM_CAP_PROCESS_MALLOC, "process-malloc"},
        {AM_CAP_THREAD_SAFE, "thread-safe"},
        {AM_CAP_REAL_FREE, "real-free"},
        {AM_CAP_RETURNS_MEMORY, "returns-memory"},
        {AM_CAP_ALIGNED, "aligned"},
        {AM_CAP_ALWAYS_ZEROED, "always-zeroed"},
        {AM_CAP_OWN_ERRNO, "own-errno"},
        {AM_CAP_TEST_ONLY, "test-only"},
    };
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (!(caps & words[i].flag) || used >= len)
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", words[i].word);
        if (w > 0)
            used += (size_t)w;
    }
    return buf;
}
