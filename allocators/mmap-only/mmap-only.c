/*
 * mmap-only: one anonymous mapping per allocation.
 *
 * Design: every block is its own mapping, rounded up to whole pages, with a
 * 16-byte header just before the user pointer that records the mapping's
 * length and where it starts. free is munmap, realloc is mremap (the kernel
 * moves page tables, not bytes), aligned allocation over-maps and unmaps the
 * unused head and tail. This is what OpenBSD and glibc (above 128 KiB) do for
 * large blocks, taken to every size: the cost of a system call per operation
 * and a page per block is exactly what the results should show.
 *
 * Complexity: O(1) bookkeeping, one system call per malloc, free and resizing
 * realloc. Memory: n + 16 rounded up to a page (4 KiB minimum per block).
 * Thread safety: the kernel serialises mappings; counters are atomic.
 * Everything goes back to the OS on free, so after the last free os_bytes is 0.
 *
 * A refused munmap: at the mapping limit (vm.max_map_count) the kernel
 * refuses to unmap a block whose mapping it merged with its neighbours,
 * because the cut would make one mapping two. free never aborts on that and
 * keeps errno: the block's pages go back with madvise (which never splits a
 * mapping), its address range waits on a list, and later frees and a failing
 * malloc try to unmap it again. os_bytes counts it until then.
 */
#include "../allocator.h"
#include "../os.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

/* Lives in the 16 bytes before every user pointer. */
struct mmap_header {
    size_t map_len; /* length of the whole mapping */
    size_t offset;  /* user pointer minus the start of the mapping */
};

#define HEADER_SIZE sizeof(struct mmap_header)
_Static_assert(sizeof(struct mmap_header) == AM_MIN_ALIGN, "header keeps 16-byte alignment");

/* A range whose munmap was refused, on the list of those to retry; it lives in
 * the range's own first bytes. */
struct deferred {
    struct deferred *next;
    size_t len;
};

static struct {
    _Atomic(struct deferred *) deferred; /* a Treiber stack */
    _Atomic size_t deferred_bytes;
    _Atomic size_t os_bytes;
    _Atomic size_t os_bytes_peak;
    _Atomic size_t live_bytes;
    _Atomic size_t live_blocks;
    _Atomic size_t maps; /* system calls that created or resized a mapping */
} state;

static struct mmap_header *header_of(void *p)
{
    return (struct mmap_header *)((char *)p - HEADER_SIZE);
}

static void account(size_t map_len, size_t usable, int sign)
{
    if (sign > 0) {
        size_t now = atomic_fetch_add_explicit(&state.os_bytes, map_len, memory_order_relaxed);
        now += map_len;
        size_t peak = atomic_load_explicit(&state.os_bytes_peak, memory_order_relaxed);
        while (now > peak &&
               !atomic_compare_exchange_weak_explicit(&state.os_bytes_peak, &peak, now,
                                                      memory_order_relaxed, memory_order_relaxed)) {
        }
        atomic_fetch_add_explicit(&state.live_bytes, usable, memory_order_relaxed);
        atomic_fetch_add_explicit(&state.live_blocks, 1, memory_order_relaxed);
    } else {
        atomic_fetch_sub_explicit(&state.live_bytes, usable, memory_order_relaxed);
        atomic_fetch_sub_explicit(&state.live_blocks, 1, memory_order_relaxed);
    }
}

static void push_deferred(struct deferred *d)
{
    d->next = atomic_load_explicit(&state.deferred, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&state.deferred, &d->next, d,
                                                  memory_order_release, memory_order_relaxed)) {
    }
}

/* Unmap [base, base + len), or give its pages back and keep the range for a
 * later try. Leaves errno as it was. */
static void unmap_or_defer(char *base, size_t len)
{
    int saved = errno;
    if (am__os_unmap(base, len) == 0) {
        atomic_fetch_sub_explicit(&state.os_bytes, len, memory_order_relaxed);
    } else {
        size_t page = am__os_page_size();
        if (len > page)
            (void)am__os_purge(base + page, len - page);
        struct deferred *d = (struct deferred *)base;
        d->len = len;
        atomic_fetch_add_explicit(&state.deferred_bytes, len, memory_order_relaxed);
        push_deferred(d);
    }
    errno = saved;
}

/* Try once more to unmap every range on the list; those refused again go
 * back on it. Returns whether anything was unmapped. */
static bool retry_deferred(void)
{
    struct deferred *d = atomic_exchange_explicit(&state.deferred, NULL, memory_order_acquire);
    bool freed = false;
    int saved = errno;
    while (d) {
        struct deferred *next = d->next;
        size_t len = d->len;
        if (am__os_unmap(d, len) == 0) {
            atomic_fetch_sub_explicit(&state.os_bytes, len, memory_order_relaxed);
            atomic_fetch_sub_explicit(&state.deferred_bytes, len, memory_order_relaxed);
            freed = true;
        } else {
            push_deferred(d);
        }
        d = next;
    }
    errno = saved;
    return freed;
}

static bool have_deferred(void)
{
    return atomic_load_explicit(&state.deferred, memory_order_relaxed) != NULL;
}

static void *finish_block(char *base, size_t map_len, char *user)
{
    struct mmap_header *h = header_of(user);
    h->map_len = map_len;
    h->offset = (size_t)(user - base);
    account(map_len, map_len - h->offset, +1);
    return user;
}

static void *mmap_malloc(size_t n)
{
    size_t len = am__align_up(n + HEADER_SIZE, am__os_page_size());
    void *base;
    if (am__os_map(len, &base) && !(retry_deferred() && am__os_map(len, &base) == 0))
        return NULL;
    atomic_fetch_add_explicit(&state.maps, 1, memory_order_relaxed);
    return finish_block(base, len, (char *)base + HEADER_SIZE);
}

static void mmap_free(void *p)
{
    struct mmap_header *h = header_of(p);
    size_t len = h->map_len, offset = h->offset;
    account(len, len - offset, -1);
    if (__builtin_expect(have_deferred(), 0))
        retry_deferred();
    unmap_or_defer((char *)p - offset, len);
}

static void *mmap_realloc(void *p, size_t n)
{
    struct mmap_header *h = header_of(p);
    size_t old_len = h->map_len, offset = h->offset;
    size_t new_len = am__align_up(n + offset, am__os_page_size());
    if (new_len == old_len)
        return p;
    void *base;
    if (am__os_remap((char *)p - offset, old_len, new_len, &base))
        return NULL;
    atomic_fetch_add_explicit(&state.maps, 1, memory_order_relaxed);
    account(old_len, old_len - offset, -1);
    atomic_fetch_sub_explicit(&state.os_bytes, old_len, memory_order_relaxed);
    return finish_block(base, new_len, (char *)base + offset);
}

static void *mmap_aligned(size_t align, size_t n)
{
    size_t page = am__os_page_size();
    size_t len = am__align_up(n + HEADER_SIZE + align, page);
    char *base;
    if (am__os_map(len, (void **)&base) &&
        !(retry_deferred() && am__os_map(len, (void **)&base) == 0))
        return NULL;
    atomic_fetch_add_explicit(&state.maps, 1, memory_order_relaxed);
    /* The header sits just below the aligned pointer, so keep the page it is
     * in and trim whole pages on either side. */
    char *user = (char *)am__align_up((uintptr_t)base + HEADER_SIZE, align);
    char *keep_from = (char *)((uintptr_t)(user - HEADER_SIZE) & ~(page - 1));
    char *keep_to = (char *)am__align_up((uintptr_t)user + n, page);
    /* A trim the kernel refuses keeps its pages in the block's mapping. */
    if (keep_from > base && am__os_unmap(base, (size_t)(keep_from - base)) != 0)
        keep_from = base;
    if (keep_to < base + len && am__os_unmap(keep_to, (size_t)(base + len - keep_to)) != 0)
        keep_to = base + len;
    return finish_block(keep_from, (size_t)(keep_to - keep_from), user);
}

static size_t mmap_usable_size(void *p)
{
    struct mmap_header *h = header_of(p);
    return h->map_len - h->offset;
}

static int mmap_stats(struct am_stats *s)
{
    s->os_bytes = atomic_load_explicit(&state.os_bytes, memory_order_relaxed);
    s->os_bytes_peak = atomic_load_explicit(&state.os_bytes_peak, memory_order_relaxed);
    s->live_bytes = atomic_load_explicit(&state.live_bytes, memory_order_relaxed);
    s->live_blocks = atomic_load_explicit(&state.live_blocks, memory_order_relaxed);
    am__stats_extra(s, "map_calls", atomic_load_explicit(&state.maps, memory_order_relaxed));
    am__stats_extra(s, "deferred_unmap_bytes",
                    atomic_load_explicit(&state.deferred_bytes, memory_order_relaxed));
    return 0;
}

static int mmap_init(void)
{
    atomic_store(&state.os_bytes_peak, atomic_load(&state.os_bytes));
    return 0;
}

const struct am_allocator am_mmap_only_allocator = {
    .name = "mmap-only",
    .summary = "one anonymous mmap per block, munmap on free, mremap on realloc",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_RETURNS_MEMORY | AM_CAP_REAL_FREE | AM_CAP_ALIGNED |
            AM_CAP_ALWAYS_ZEROED,
    /* Leaves room for the header, the alignment slack and page rounding. */
    .max_request = (size_t)PTRDIFF_MAX - (1u << 20),
    .init = mmap_init,
    .malloc = mmap_malloc,
    .free = mmap_free,
    .realloc = mmap_realloc,
    .aligned = mmap_aligned,
    .usable_size = mmap_usable_size,
    .stats = mmap_stats,
};
