/*
 * segment.c: the slab backend's source of memory. Segments of 64 units are
 * mapped from the OS (aligned, through the primitive layer) and hand out units
 * to heaps; units that come back stay resident for a while, so a heap that
 * frees and allocates again does not fault pages back in, and are purged
 * (madvise) once too many are resident or once they have been idle too long.
 * A segment whose units are all free is unmapped, but for one kept for the
 * next burst. Large blocks are page runs of their own; a freed run waits in a
 * cache (bounded in bytes and runs, unmapped after PURGE_DELAY_MS idle) for
 * the next large request that it fits, and a large realloc moves or grows the
 * run with mremap instead of copying. Fresh mappings are first asked for at
 * a hint address that advances in 4 MiB steps, so that most come aligned in
 * one system call instead of the over-map and trim.
 *
 * Everything here runs under am__slab_g.lock, held by the caller, except the
 * large-block functions, which take it around their bookkeeping only.
 */
#include "slab.h"

#include "../os.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Free units allowed to stay resident before the excess is purged: 8 MiB,
 * or as many as the units in use when that is more, so that a heap that shrinks
 * and grows again in quick succession does not fault its pages back in
 * each time (PURGE_DELAY_MS still returns them once idle). */
#define DIRTY_MAX_UNITS 128
/* A free unit idle for longer than this is purged at the next visit. */
#define PURGE_DELAY_MS 500
/* Segments with every unit free that stay mapped. */
#define EMPTY_SEGMENTS_KEPT 1
/* The cache of freed large runs: at most this many bytes and runs. */
#define LARGE_CACHE_MAX_BYTES ((size_t)32 << 20)
#define LARGE_CACHE_MAX_RUNS  32
/* A cached run serves a request of at least 1/LARGE_FIT_RATIO of its size. */
#define LARGE_FIT_RATIO 4
/* A large realloc that cannot grow in place moves the pages (mremap) from
 * this size of run up; smaller ones are copied. */
#define REMAP_MOVE_MIN ((size_t)1 << 20)
/* Where fresh mappings are asked for first: above the address sanitizer's
 * shadow, below the top of a 47-bit address space. */
#define MAP_HINT_START ((uintptr_t)0x200000000000)
#define MAP_HINT_END   ((uintptr_t)0x600000000000)
/* After this many hints the kernel did not honour, only over-map and trim. */
#define MAP_HINT_MISSES_MAX 64

struct slab_global am__slab_g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint32_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* size bytes aligned to SEG_SIZE: at the next hint address when the kernel
 * gives it (one system call), else over-mapped and trimmed (up to three). */
static int map_seg_aligned(size_t size, void **out)
{
    static _Atomic uintptr_t next_hint = MAP_HINT_START;
    static _Atomic unsigned misses;
    size_t span = am__align_up(size, SEG_SIZE);
    if (atomic_load_explicit(&misses, memory_order_relaxed) < MAP_HINT_MISSES_MAX) {
        uintptr_t hint = atomic_fetch_add_explicit(&next_hint, span, memory_order_relaxed);
        void *p;
        if (hint < MAP_HINT_END && am__os_map_hint(size, (void *)hint, &p) == 0) {
            if (((uintptr_t)p & SEG_MASK) == 0) {
                *out = p;
                return 0;
            }
            am__os_unmap(p, size);
        }
        /* Something sits there: skip ahead a while. */
        atomic_fetch_add_explicit(&next_hint, (uintptr_t)1 << 30, memory_order_relaxed);
        atomic_fetch_add_explicit(&misses, 1, memory_order_relaxed);
    }
    return am__os_map_aligned(size, SEG_SIZE, 0, out);
}

static void os_bytes_add(size_t n)
{
    am__slab_g.os_bytes += n;
    if (am__slab_g.os_bytes > am__slab_g.os_bytes_peak)
        am__slab_g.os_bytes_peak = am__slab_g.os_bytes;
}

/* Bytes of block space in the units of mask (unit 0 is short by the header). */
static size_t units_bytes(uint64_t mask)
{
    size_t n = (size_t)__builtin_popcountll(mask) * UNIT_SIZE;
    return (mask & 1) ? n - SEG_HEADER_SIZE : n;
}

static void segment_link(struct segment **head, struct segment *seg)
{
    seg->prev = NULL;
    seg->next = *head;
    if (*head)
        (*head)->prev = seg;
    *head = seg;
}

static void segment_unlink(struct segment **head, struct segment *seg)
{
    if (seg->prev)
        seg->prev->next = seg->next;
    else
        *head = seg->next;
    if (seg->next)
        seg->next->prev = seg->prev;
}

/* Give the pages of the units in mask back to the OS, one call per run of
 * adjacent units. */
static void purge_units(struct segment *seg, uint64_t mask)
{
    while (mask) {
        unsigned first = (unsigned)__builtin_ctzll(mask);
        unsigned last = first;
        while (last + 1 < UNITS_PER_SEG && (mask >> (last + 1)) & 1)
            last++;
        uint64_t run = (last + 1 == UNITS_PER_SEG ? ALL_UNITS : ((uint64_t)1 << (last + 1)) - 1) &
                       ~(((uint64_t)1 << first) - 1);
        char *from = (char *)seg + ((size_t)first << UNIT_SHIFT) + unit_first_offset(first);
        char *to = (char *)seg + ((size_t)(last + 1) << UNIT_SHIFT);
        if (am__os_purge(from, (size_t)(to - from)) == 0) {
            seg->dirty_mask &= ~run;
            am__slab_g.dirty_units -= (size_t)__builtin_popcountll(run);
            am__slab_g.os_bytes -= units_bytes(run);
            am__slab_g.purges++;
        }
        mask &= ~run;
    }
}

static void cache_evict(struct segment *seg)
{
    segment_unlink(&am__slab_g.cache, seg);
    am__slab_g.n_cached--;
    am__slab_g.cached_bytes -= seg->map_len;
    am__slab_g.os_bytes -= seg->map_len;
    am__os_unmap(seg, seg->map_len);
}

/* Unmap cached large runs idle for longer than PURGE_DELAY_MS; looks at most
 * every half delay. */
static void cache_decay(uint32_t now)
{
    if (!am__slab_g.cache || now - am__slab_g.last_cache_scan_ms < PURGE_DELAY_MS / 2)
        return;
    am__slab_g.last_cache_scan_ms = now;
    struct segment *next;
    for (struct segment *seg = am__slab_g.cache; seg; seg = next) {
        next = seg->next;
        if (now - seg->released_ms[0] >= PURGE_DELAY_MS)
            cache_evict(seg);
    }
}

/* Purge units (and cached large runs) idle for longer than PURGE_DELAY_MS;
 * looks at most every half delay. */
static void purge_idle(uint32_t now)
{
    cache_decay(now);
    if (am__slab_g.dirty_units == 0 || now - am__slab_g.last_age_scan_ms < PURGE_DELAY_MS / 2)
        return;
    am__slab_g.last_age_scan_ms = now;
    for (struct segment *seg = am__slab_g.segments; seg; seg = seg->next) {
        uint64_t old = 0;
        for (uint64_t m = seg->dirty_mask; m; m &= m - 1) {
            unsigned u = (unsigned)__builtin_ctzll(m);
            if (now - seg->released_ms[u] >= PURGE_DELAY_MS)
                old |= (uint64_t)1 << u;
        }
        purge_units(seg, old);
    }
}

/* Past the cap on resident free units (see DIRTY_MAX_UNITS), purge down to
 * half of it. */
static void purge_excess(void)
{
    size_t max = am__slab_g.units_used > DIRTY_MAX_UNITS ? am__slab_g.units_used : DIRTY_MAX_UNITS;
    if (am__slab_g.dirty_units <= max)
        return;
    for (struct segment *seg = am__slab_g.segments; seg && am__slab_g.dirty_units > max / 2;
         seg = seg->next)
        purge_units(seg, seg->dirty_mask);
}

static struct segment *segment_map(void)
{
    void *p;
    if (map_seg_aligned(SEG_SIZE, &p) != 0)
        return NULL;
    struct segment *seg = p;
    seg->kind = SEG_KIND_SMALL;
    seg->free_mask = ALL_UNITS;
    segment_link(&am__slab_g.segments, seg);
    am__slab_g.n_segments++;
    am__slab_g.empty_segments++;
    os_bytes_add(SEG_HEADER_SIZE);
    return seg;
}

static void segment_unmap(struct segment *seg)
{
    am__slab_g.dirty_units -= (size_t)__builtin_popcountll(seg->dirty_mask);
    am__slab_g.os_bytes -= SEG_HEADER_SIZE + units_bytes(seg->dirty_mask);
    segment_unlink(&am__slab_g.segments, seg);
    am__slab_g.n_segments--;
    am__slab_g.empty_segments--;
    am__os_unmap(seg, SEG_SIZE);
}

struct slab *am__slab_unit_acquire(void)
{
    /* A resident free unit first: its pages need no fault. */
    struct segment *seg;
    uint64_t pick = 0;
    for (seg = am__slab_g.segments; seg && !seg->dirty_mask; seg = seg->next) {
    }
    if (seg) {
        pick = seg->dirty_mask;
    } else {
        for (seg = am__slab_g.segments; seg && !seg->free_mask; seg = seg->next) {
        }
        if (!seg && !(seg = segment_map()))
            return NULL;
        pick = seg->free_mask;
    }
    unsigned u = (unsigned)__builtin_ctzll(pick);
    uint64_t bit = (uint64_t)1 << u;
    seg->free_mask &= ~bit;
    if (seg->dirty_mask & bit) {
        seg->dirty_mask &= ~bit;
        am__slab_g.dirty_units--;
    } else {
        os_bytes_add(units_bytes(bit));
    }
    am__slab_g.units_used++;
    if (seg->n_used++ == 0)
        am__slab_g.empty_segments--;
    struct slab *s = &seg->units[u];
    memset(s, 0, sizeof *s);
    purge_idle(now_ms());
    return s;
}

void am__slab_unit_release(struct slab *s)
{
    struct segment *seg = segment_of_slab(s);
    unsigned u = unit_index(s);
    uint64_t bit = (uint64_t)1 << u;
    uint32_t now = now_ms();
    atomic_store_explicit(&s->block_size, 0, memory_order_relaxed);
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&s->fast_owner, NULL, memory_order_relaxed);
    s->state = SLAB_FREE;
    seg->free_mask |= bit;
    seg->dirty_mask |= bit;
    seg->released_ms[u] = now;
    am__slab_g.dirty_units++;
    am__slab_g.units_used--;
    if (--seg->n_used == 0 && ++am__slab_g.empty_segments > EMPTY_SEGMENTS_KEPT)
        segment_unmap(seg);
    purge_excess();
    purge_idle(now);
}

/* Under am__slab_g.lock: the best-fitting cached run of at least len bytes (and at
 * most LARGE_FIT_RATIO times len), out of the cache; NULL when none fits. */
static struct segment *cache_take(size_t len)
{
    struct segment *best = NULL;
    for (struct segment *seg = am__slab_g.cache; seg; seg = seg->next)
        if (seg->map_len >= len && seg->map_len / LARGE_FIT_RATIO <= len &&
            (!best || seg->map_len < best->map_len))
            best = seg;
    if (best) {
        segment_unlink(&am__slab_g.cache, best);
        am__slab_g.n_cached--;
        am__slab_g.cached_bytes -= best->map_len;
    }
    return best;
}

/* Under am__slab_g.lock: seg becomes a live large block. */
static void large_link(struct segment *seg)
{
    segment_link(&am__slab_g.large, seg);
    am__slab_g.n_large++;
    am__slab_g.large_usable += seg->usable;
}

static void large_unlink(struct segment *seg)
{
    segment_unlink(&am__slab_g.large, seg);
    am__slab_g.n_large--;
    am__slab_g.large_usable -= seg->usable;
}

void *am__slab_large_alloc(size_t n, size_t align, bool *fresh)
{
    size_t page = am__os_page_size();
    size_t offset, len;
    void *base;
    if (align <= SEG_SIZE) {
        /* The header at the segment-aligned start, the block right after it. */
        offset = am__align_up(LARGE_HEADER_SIZE, align);
        len = am__align_up(offset + n, page);
        pthread_mutex_lock(&am__slab_g.lock);
        purge_idle(now_ms());
        struct segment *seg = cache_take(len);
        if (seg) {
            seg->usable = seg->map_len - offset;
            large_link(seg);
            pthread_mutex_unlock(&am__slab_g.lock);
            *fresh = false;
            return (char *)seg + offset;
        }
        pthread_mutex_unlock(&am__slab_g.lock);
        if (map_seg_aligned(len, &base) != 0)
            return NULL;
    } else {
        /* The block on its alignment, the header one segment below it. */
        offset = SEG_SIZE;
        len = am__align_up(offset + n, page);
        if (am__os_map_aligned(len, align, SEG_SIZE, &base) != 0)
            return NULL;
    }
    struct segment *seg = base;
    seg->kind = SEG_KIND_LARGE;
    seg->map_len = len;
    seg->usable = len - offset;
    pthread_mutex_lock(&am__slab_g.lock);
    large_link(seg);
    os_bytes_add(len);
    purge_idle(now_ms());
    pthread_mutex_unlock(&am__slab_g.lock);
    *fresh = true; /* straight from mmap: every page reads as zero */
    return (char *)base + offset;
}

void am__slab_large_free(struct segment *seg)
{
    uint32_t now = now_ms();
    bool keep = seg->map_len <= LARGE_CACHE_MAX_BYTES;
    pthread_mutex_lock(&am__slab_g.lock);
    large_unlink(seg);
    if (keep) {
        /* Room for it: the oldest cached runs go (the list is newest first). */
        while (am__slab_g.cache &&
               (am__slab_g.cached_bytes + seg->map_len > LARGE_CACHE_MAX_BYTES ||
                am__slab_g.n_cached >= LARGE_CACHE_MAX_RUNS)) {
            struct segment *oldest = am__slab_g.cache;
            while (oldest->next)
                oldest = oldest->next;
            cache_evict(oldest);
        }
        seg->released_ms[0] = now;
        segment_link(&am__slab_g.cache, seg);
        am__slab_g.n_cached++;
        am__slab_g.cached_bytes += seg->map_len;
    } else {
        am__slab_g.os_bytes -= seg->map_len;
    }
    purge_idle(now);
    pthread_mutex_unlock(&am__slab_g.lock);
    if (!keep)
        am__os_unmap(seg, seg->map_len);
}

void *am__slab_large_resize(struct segment *seg, void *p, size_t n)
{
    size_t offset = (size_t)((char *)p - (char *)seg);
    size_t len = am__align_up(offset + n, am__os_page_size());
    struct segment *to = seg;
    /* Where it is first; else its pages move to a fresh aligned mapping,
     * unless the run is small enough that the caller's copy is as cheap. */
    if (len != seg->map_len && am__os_remap_inplace(seg, seg->map_len, len) != 0) {
        void *target;
        if (len < REMAP_MOVE_MIN || offset >= SEG_SIZE || map_seg_aligned(len, &target) != 0)
            return NULL;
        pthread_mutex_lock(&am__slab_g.lock);
        large_unlink(seg);
        if (am__os_remap_to(seg, seg->map_len, len, target) != 0) {
            large_link(seg);
            pthread_mutex_unlock(&am__slab_g.lock);
            am__os_unmap(target, len);
            return NULL;
        }
        to = target;
        large_link(to);
        pthread_mutex_unlock(&am__slab_g.lock);
    }
    pthread_mutex_lock(&am__slab_g.lock);
    am__slab_g.large_usable -= to->usable;
    am__slab_g.os_bytes -= to->map_len;
    to->map_len = len;
    to->usable = len - offset;
    am__slab_g.large_usable += to->usable;
    os_bytes_add(len);
    pthread_mutex_unlock(&am__slab_g.lock);
    return (char *)to + offset;
}

void am__slab_segments_reset(void)
{
    while (am__slab_g.segments) {
        struct segment *seg = am__slab_g.segments;
        am__slab_g.segments = seg->next;
        am__os_unmap(seg, SEG_SIZE);
    }
    for (struct segment **list = &am__slab_g.large; list;
         list = list == &am__slab_g.large ? &am__slab_g.cache : NULL) {
        while (*list) {
            struct segment *seg = *list;
            *list = seg->next;
            am__os_unmap(seg, seg->map_len);
        }
    }
    am__slab_g.n_cached = am__slab_g.cached_bytes = 0;
    am__slab_g.n_segments = am__slab_g.n_large = am__slab_g.empty_segments =
        am__slab_g.dirty_units = am__slab_g.units_used = 0;
    am__slab_g.os_bytes = am__slab_g.os_bytes_peak = am__slab_g.large_usable = am__slab_g.purges =
        0;
}

int am__slab_segments_verify(char *why, size_t len)
{
    size_t os_bytes = 0, dirty = 0, empty = 0, n = 0, units_used = 0;
    for (struct segment *seg = am__slab_g.segments; seg; seg = seg->next, n++) {
        if (((uintptr_t)seg & SEG_MASK) || seg->kind != SEG_KIND_SMALL) {
            snprintf(why, len, "segment %p: misaligned or not a segment", (void *)seg);
            return EFAULT;
        }
        if (seg->dirty_mask & ~seg->free_mask) {
            snprintf(why, len, "segment %p: a unit in use is marked dirty", (void *)seg);
            return EFAULT;
        }
        uint64_t used = ~seg->free_mask;
        if ((unsigned)__builtin_popcountll(used) != seg->n_used) {
            snprintf(why, len, "segment %p: %u units counted in use, %d marked", (void *)seg,
                     seg->n_used, __builtin_popcountll(used));
            return EFAULT;
        }
        for (uint64_t m = seg->free_mask; m; m &= m - 1) {
            struct slab *s = &seg->units[__builtin_ctzll(m)];
            if (s->state != SLAB_FREE || atomic_load(&s->block_size) != 0) {
                snprintf(why, len, "segment %p unit %d: free but in state %u", (void *)seg,
                         __builtin_ctzll(m), s->state);
                return EFAULT;
            }
        }
        os_bytes += SEG_HEADER_SIZE + units_bytes(used) + units_bytes(seg->dirty_mask);
        dirty += (size_t)__builtin_popcountll(seg->dirty_mask);
        empty += seg->n_used == 0;
        units_used += seg->n_used;
    }
    size_t n_large = 0;
    for (struct segment *seg = am__slab_g.large; seg; seg = seg->next, n_large++) {
        if (((uintptr_t)seg & SEG_MASK) || seg->kind != SEG_KIND_LARGE) {
            snprintf(why, len, "large run %p: misaligned or not a large run", (void *)seg);
            return EFAULT;
        }
        os_bytes += seg->map_len;
    }
    size_t n_cached = 0, cached_bytes = 0;
    for (struct segment *seg = am__slab_g.cache; seg; seg = seg->next, n_cached++) {
        if (((uintptr_t)seg & SEG_MASK) || seg->kind != SEG_KIND_LARGE ||
            seg->map_len > LARGE_CACHE_MAX_BYTES) {
            snprintf(why, len, "cached run %p: misaligned, not a large run or too large",
                     (void *)seg);
            return EFAULT;
        }
        cached_bytes += seg->map_len;
    }
    if (n_cached != am__slab_g.n_cached || cached_bytes != am__slab_g.cached_bytes ||
        cached_bytes > LARGE_CACHE_MAX_BYTES || n_cached > LARGE_CACHE_MAX_RUNS) {
        snprintf(why, len, "large cache: %zu/%zu runs, %zu/%zu bytes", n_cached,
                 am__slab_g.n_cached, cached_bytes, am__slab_g.cached_bytes);
        return EFAULT;
    }
    os_bytes += cached_bytes;
    if (n != am__slab_g.n_segments || n_large != am__slab_g.n_large ||
        dirty != am__slab_g.dirty_units || empty != am__slab_g.empty_segments ||
        os_bytes != am__slab_g.os_bytes || units_used != am__slab_g.units_used) {
        snprintf(why, len,
                 "counters disagree: segments %zu/%zu large %zu/%zu dirty %zu/%zu empty %zu/%zu "
                 "os_bytes %zu/%zu units used %zu/%zu",
                 n, am__slab_g.n_segments, n_large, am__slab_g.n_large, dirty,
                 am__slab_g.dirty_units, empty, am__slab_g.empty_segments, os_bytes,
                 am__slab_g.os_bytes, units_used, am__slab_g.units_used);
        return EFAULT;
    }
    return 0;
}
