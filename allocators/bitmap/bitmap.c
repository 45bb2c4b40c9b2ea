/*
 * bitmap: whole pages out of one reserved region, one bit per page, after
 * BareMetal-OS's page map, the Crystal OS Bitmap and MouthOS's allocation ids.
 *
 * Design: init reserves one range of address space (64 GiB by default,
 * PROT_NONE and MAP_NORESERVE; under an address-space limit, RLIMIT_AS,
 * three quarters of what the limit leaves, the rest kept for the program's
 * stacks and mappings; halved down to 16 MiB where the kernel refuses more)
 * and commits it read-write from the bottom in 4 MiB steps as runs are handed
 * out. A block is a run of contiguous pages; a request smaller than
 * a page takes a whole page, and that internal fragmentation is meant to show
 * in the results (live_bytes counts whole pages). Three bitmaps, one bit per
 * page, live in a mapping of their own:
 *   used   the page belongs to a live block;
 *   start  the page is the first of a live block (MouthOS's allocation id, in
 *          one bit): free takes only the pointer, and the run's length is the
 *          distance to the next page that is free or starts another block, so
 *          no header sits inside the pages;
 *   dirty  a free page that may still hold memory (freed, not purged).
 *
 * Search: the lowest run that fits (first fit by address, bottom-up). Those page maps
 * scan from the top; bottom-up is the documented choice here because it keeps
 * the live pages, the committed range and the part of the bitmaps ever touched
 * dense at the start of the region, so a scan never walks the untouched top.
 * The scan works on 64-bit words: a full word is skipped with one comparison,
 * the first free or used page inside a word is found with count-trailing-zeros;
 * never bit by bit, never byte by byte. Hints keep small allocations from
 * rescanning from page 0: for each length n up to HINTS pages, hint[n] is a
 * page below which every free stretch is shorter than n (hint[1]: every page
 * below it is in use). A search for n pages starts at hint[n] and leaves it
 * past what it skipped; a free lowers the hints its new stretch satisfies.
 * An aligned request looks for a run whose first page sits on the alignment.
 *
 * Giving memory back: a freed run of at least PURGE_MIN bytes is purged at once
 * (madvise MADV_DONTNEED); smaller runs stay dirty until the dirty pages pass
 * the larger of DIRTY_MAX and twice the pages in use, when dirty pages are
 * purged from the top of the committed range down (bottom-up first fit
 * reuses the lowest first) until half that is left. Purging every dirty
 * stretch at a fixed 32 MiB, as this did before, cost lua5.4's quick run
 * 44 s instead of 3.8 s: a program whose heap swings by more than the cap
 * (a garbage collector's sweep) had its pages purged one madvise per stretch
 * and faulted back in at every cycle. A page known to be clean
 * (fresh or purged) reads as zero, so calloc zeroes only the dirty part.
 * os_bytes counts pages in use and dirty pages, plus the bitmaps' words for
 * the committed range; committed pages never touched or purged do not count.
 *
 * Page size: 4 KiB (the kernel's page) by default; AM_BITMAP_PAGE=2m makes every
 * page 2 MiB, as BareMetal-OS's map does, and asks for transparent huge pages
 * on the committed range (madvise MADV_HUGEPAGE, where the kernel has them).
 * AM_BITMAP_RESERVE=<n>[k|m|g] reserves n bytes instead of 64 GiB (the tests
 * use a small region to reach its last page). Both are read by init.
 *
 * Complexity: malloc and the search are O(W) in the words between the hint and
 * the run found (O(1) for a stream of small blocks); free is O(run / 64).
 * Memory: bitmaps of 3 bits per page (6 MiB of address space for 64 GiB, touched
 * only up to the committed range). Thread safety: one mutex, taken around fork;
 * realloc's copy and calloc's zeroing run outside it, commits and purges
 * inside. Out of reserved space, malloc returns NULL (the front end sets
 * ENOMEM).
 */
#include "../allocator.h"
#include "../forksafe.h"
#include "../os.h"
#include "memcore.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS         64
#define DEFAULT_RESERVE   ((size_t)64 << 30)
#define SMALLEST_FALLBACK ((size_t)16 << 20)
#define REGION_ALIGN      ((size_t)2 << 20) /* page 0 sits on a huge-page boundary */
#define COMMIT_STEP       ((size_t)4 << 20)
#define PURGE_MIN         ((size_t)64 << 10) /* a freed run this large goes back at once */
#define DIRTY_MAX         ((size_t)32 << 20) /* dirty bytes kept: this or twice those in use */
#define HUGE_SHIFT        21
#define HINTS             16 /* run lengths with a search hint of their own */
#define NO_RUN            SIZE_MAX

/* Which bits a scan looks for: each is one word expression over the bitmaps. */
enum bits { USED_BITS, FREE_BITS, RUN_END_BITS, DIRTY_BITS, CLEAN_BITS };

static struct {
    pthread_mutex_t lock;
    char *base;                     /* page 0; the reservation is [base, base + total pages) */
    unsigned shift;                 /* log2 of the page size */
    size_t total;                   /* pages in the region */
    uint64_t *used, *start, *dirty; /* the three bitmaps, one mapping */
    size_t meta_len;                /* length of that mapping */
    size_t committed;               /* pages [0, committed) are read-write */
    size_t hint[HINTS + 1];         /* hint[n]: free stretches starting below are < n pages */
    size_t used_pages, dirty_pages, live_blocks;
    size_t os_bytes_peak;
    size_t purge_calls;
} bm = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void lock(void)
{
    pthread_mutex_lock(&bm.lock);
}
static void unlock(void)
{
    pthread_mutex_unlock(&bm.lock);
}

static size_t page_bytes(void)
{
    return (size_t)1 << bm.shift;
}
static char *page_addr(size_t page)
{
    return bm.base + (page << bm.shift);
}

/* ---------------------------------------------------------------------------
 * Word-at-a-time bitmap primitives
 * ------------------------------------------------------------------------ */

static inline uint64_t word_of(enum bits kind, size_t w)
{
    switch (kind) {
    case USED_BITS:
        return bm.used[w];
    case FREE_BITS:
        return ~bm.used[w];
    case RUN_END_BITS: /* where a run stops: a free page or another run's start */
        return ~bm.used[w] | bm.start[w];
    case DIRTY_BITS:
        return bm.dirty[w];
    case CLEAN_BITS:
        return ~bm.dirty[w];
    }
    return 0;
}

/* The first page in [from, limit) whose `kind` bit is set, or limit. */
static inline size_t find_next(enum bits kind, size_t from, size_t limit)
{
    if (from >= limit)
        return limit;
    size_t w = from / WORD_BITS;
    uint64_t bits = word_of(kind, w) & (~(uint64_t)0 << (from % WORD_BITS));
    while (!bits) {
        if (++w >= (limit + WORD_BITS - 1) / WORD_BITS)
            return limit;
        bits = word_of(kind, w);
    }
    size_t i = w * WORD_BITS + (size_t)__builtin_ctzll(bits);
    return i < limit ? i : limit;
}

/* What range() does: set or clear the bits, and count those set before. */
enum range_op { RANGE_SET = 1, RANGE_CLEAR = 2, RANGE_COUNT = 4 };

/* Apply op to the bits of pages [from, from + n) in map, a word at a time.
 * With RANGE_COUNT, returns how many were set before; else 0. */
static size_t range(uint64_t *map, size_t from, size_t n, unsigned op)
{
    size_t count = 0;
    while (n) {
        size_t w = from / WORD_BITS, bit = from % WORD_BITS;
        size_t take = WORD_BITS - bit < n ? WORD_BITS - bit : n;
        uint64_t mask = take == WORD_BITS ? ~(uint64_t)0 : (((uint64_t)1 << take) - 1) << bit;
        if (op & RANGE_COUNT)
            count += (size_t)__builtin_popcountll(map[w] & mask);
        if (op & RANGE_SET)
            map[w] |= mask;
        else if (op & RANGE_CLEAR)
            map[w] &= ~mask;
        from += take;
        n -= take;
    }
    return count;
}

static bool bit_is_set(const uint64_t *map, size_t i)
{
    return (map[i / WORD_BITS] >> (i % WORD_BITS)) & 1;
}

/* ---------------------------------------------------------------------------
 * Committing and giving back
 * ------------------------------------------------------------------------ */

static size_t meta_bytes_in_use(void)
{
    size_t words = (bm.committed + WORD_BITS - 1) / WORD_BITS;
    return 3 * am__align_up(words * sizeof(uint64_t), am__os_page_size());
}

static size_t os_bytes_now(void)
{
    return ((bm.used_pages + bm.dirty_pages) << bm.shift) + meta_bytes_in_use();
}

static void note_peak(void)
{
    size_t now = os_bytes_now();
    if (now > bm.os_bytes_peak)
        bm.os_bytes_peak = now;
}

/* Make pages [0, end) read-write, in steps of COMMIT_STEP. */
static bool commit_to(size_t end)
{
    size_t step = COMMIT_STEP >> bm.shift ? COMMIT_STEP >> bm.shift : 1;
    size_t new_end = end > bm.committed + step ? end : bm.committed + step;
    if (new_end > bm.total)
        new_end = bm.total;
    char *from = page_addr(bm.committed);
    size_t len = (new_end - bm.committed) << bm.shift;
    if (am__os_commit(from, len))
        return false;
    if (bm.shift >= HUGE_SHIFT)
        (void)am__os_hugepages(from, len); /* a kernel without THP keeps small pages */
    bm.committed = new_end;
    return true;
}

/* Give pages [from, from + n) back; on failure they stay dirty. */
static void purge(size_t from, size_t n)
{
    if (am__os_purge(page_addr(from), n << bm.shift) == 0) {
        bm.dirty_pages -= range(bm.dirty, from, n, RANGE_CLEAR | RANGE_COUNT);
        bm.purge_calls++;
    } else {
        bm.dirty_pages += n - range(bm.dirty, from, n, RANGE_SET | RANGE_COUNT);
    }
}

/* The page after the last page in [floor, from) whose `kind` bit is set, or
 * floor. */
static size_t after_last(enum bits kind, size_t floor, size_t from)
{
    while (from > floor) {
        size_t w = (from - 1) / WORD_BITS, top = (from - 1) % WORD_BITS;
        uint64_t bits =
            word_of(kind, w) & (top == WORD_BITS - 1 ? ~(uint64_t)0 : ((uint64_t)2 << top) - 1);
        if (bits) {
            size_t i = w * WORD_BITS + (WORD_BITS - 1) - (size_t)__builtin_clzll(bits);
            return i >= floor ? i + 1 : floor;
        }
        from = w * WORD_BITS;
    }
    return floor;
}

/* Purge dirty pages from the top of the committed range down until at most
 * `keep` are left: first fit hands out the lowest pages first, so the
 * highest dirty pages are the ones least likely to be reused soon. */
static void purge_dirty_down_to(size_t keep)
{
    size_t end = bm.committed;
    while (bm.dirty_pages > keep && (end = after_last(DIRTY_BITS, 0, end)) > 0) {
        size_t start = after_last(CLEAN_BITS, 0, end), excess = bm.dirty_pages - keep;
        size_t from = end - start > excess ? end - excess : start;
        purge(from, end - from);
        end = from;
    }
}

/* ---------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------ */

/* The lowest s with s % k == r and pages [s, s + n) free, or NO_RUN. */
static size_t find_run(size_t n, size_t k, size_t r)
{
    size_t *hint = &bm.hint[n < HINTS ? n : HINTS];
    size_t from = *hint;
    for (;;) {
        size_t a = find_next(FREE_BITS, from, bm.total);
        if (from == *hint)
            *hint = a; /* no stretch starts on the used pages in between */
        if (a == bm.total)
            return NO_RUN;
        size_t s = a + (r + k - a % k) % k;
        if (s >= bm.total || bm.total - s < n)
            return NO_RUN;
        size_t b = find_next(USED_BITS, a, s + n);
        if (b == s + n) {
            if (k == 1 && n <= HINTS)
                *hint = s; /* every stretch skipped was shorter than n */
            return s;
        }
        from = b; /* [a, b) is too short: go on after the used page */
    }
}

/* Pages [s, s + n) have just become free: the stretch they are part of may be
 * the lowest for some lengths. Only HINTS pages either side are looked at. */
static void lower_hints(size_t s, size_t n)
{
    size_t floor = s > HINTS ? s - HINTS : 0;
    size_t start = after_last(USED_BITS, floor, s);
    if (start == floor && floor > 0)
        return; /* a stretch of HINTS pages or more ended at s: the hints are below it */
    size_t len = HINTS;
    if (s + n - start < HINTS) {
        size_t limit = start + HINTS < bm.total ? start + HINTS : bm.total;
        len = find_next(USED_BITS, s + n, limit) - start;
    }
    for (size_t m = 1; m <= len; m++)
        if (start < bm.hint[m])
            bm.hint[m] = start;
}

/* The dirty stretch of a run about to be handed out, for calloc. */
struct dirty_span {
    size_t from, to; /* pages; from == to when the run is clean */
};

/* Mark [s, s + n) as in use (committing it first). Reports in *d the span of
 * pages that may hold old contents. */
static bool take_pages(size_t s, size_t n, struct dirty_span *d)
{
    if (s + n > bm.committed && !commit_to(s + n))
        return false;
    range(bm.used, s, n, RANGE_SET);
    d->from = d->to = find_next(DIRTY_BITS, s, s + n);
    for (size_t i = d->from; i < s + n;) {
        d->to = find_next(CLEAN_BITS, i, s + n);
        i = find_next(DIRTY_BITS, d->to, s + n);
    }
    if (d->from < d->to)
        bm.dirty_pages -= range(bm.dirty, d->from, d->to - d->from, RANGE_CLEAR | RANGE_COUNT);
    bm.used_pages += n;
    for (size_t m = 1; m <= HINTS; m++)
        if (bm.hint[m] == s)
            bm.hint[m] = s + n;
    note_peak();
    return true;
}

/* Pages [s, s + n) are free again: purge them or keep them as dirty. */
static void release_pages(size_t s, size_t n)
{
    range(bm.used, s, n, RANGE_CLEAR);
    bm.used_pages -= n;
    lower_hints(s, n);
    if ((n << bm.shift) >= PURGE_MIN) {
        purge(s, n);
        return;
    }
    bm.dirty_pages += n - range(bm.dirty, s, n, RANGE_SET | RANGE_COUNT);
    size_t floor = DIRTY_MAX >> bm.shift ? DIRTY_MAX >> bm.shift : 1;
    size_t cap = floor > 2 * bm.used_pages ? floor : 2 * bm.used_pages;
    if (bm.dirty_pages > cap)
        purge_dirty_down_to(cap / 2);
}

/* The page where the block at p starts. Anything that is not the start of a
 * live block is a broken precondition (allocator.h): abort. */
static size_t block_page(void *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)bm.base;
    size_t s = off >> bm.shift;
    if ((uintptr_t)p < (uintptr_t)bm.base || s >= bm.total || (off & (page_bytes() - 1)) ||
        !bit_is_set(bm.start, s))
        abort();
    return s;
}

/* The length of the run starting at s: up to the next page that is free or
 * starts another run. */
static size_t run_length(size_t s)
{
    return find_next(RUN_END_BITS, s + 1, bm.total) - s;
}

static size_t pages_for(size_t n)
{
    return (n + page_bytes() - 1) >> bm.shift;
}

/* Allocate a run for n bytes whose address is a multiple of align (a power of
 * two; anything up to a page is free). Must hold the lock. */
static void *alloc_locked(size_t n, size_t align, struct dirty_span *d)
{
    size_t pages = pages_for(n), k = 1, r = 0;
    if (align > page_bytes()) {
        k = align >> bm.shift;
        r = (k - ((uintptr_t)bm.base >> bm.shift) % k) % k;
    }
    size_t s = find_run(pages, k, r);
    if (s == NO_RUN || !take_pages(s, pages, d))
        return NULL;
    bm.start[s / WORD_BITS] |= (uint64_t)1 << (s % WORD_BITS);
    bm.live_blocks++;
    return page_addr(s);
}

static void free_locked(void *p)
{
    size_t s = block_page(p);
    size_t n = run_length(s);
    bm.start[s / WORD_BITS] &= ~((uint64_t)1 << (s % WORD_BITS));
    bm.live_blocks--;
    release_pages(s, n);
}

/* ---------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

static void *bitmap_malloc(size_t n)
{
    struct dirty_span d;
    lock();
    void *p = alloc_locked(n, 1, &d);
    unlock();
    return p;
}

static void *bitmap_aligned(size_t align, size_t n)
{
    struct dirty_span d;
    lock();
    void *p = alloc_locked(n, align, &d);
    unlock();
    return p;
}

/* Pages fresh from the OS or purged read as zero: only the dirty span needs
 * clearing, and that happens outside the lock (the block is already ours). */
static void *bitmap_calloc(size_t n)
{
    struct dirty_span d;
    lock();
    char *p = alloc_locked(n, 1, &d);
    size_t s = p ? (size_t)(p - bm.base) >> bm.shift : 0;
    unlock();
    if (p && d.from < d.to) {
        size_t from = (d.from - s) << bm.shift, to = (d.to - s) << bm.shift;
        am_memset(p + from, 0, (to < n ? to : n) - from);
    }
    return p;
}

static void bitmap_free(void *p)
{
    lock();
    free_locked(p);
    unlock();
}

/* Shrink by releasing the tail pages, grow in place when the pages after the
 * run are free, else move: allocate, copy outside the lock, free. */
static void *bitmap_realloc(void *p, size_t n)
{
    struct dirty_span d;
    lock();
    size_t s = block_page(p), old = run_length(s), want = pages_for(n);
    if (want <= old) {
        if (want < old)
            release_pages(s + want, old - want);
        unlock();
        return p;
    }
    if (want <= bm.total - s && find_next(USED_BITS, s + old, s + want) == s + want &&
        take_pages(s + old, want - old, &d)) {
        unlock();
        return p;
    }
    void *q = alloc_locked(n, 1, &d);
    unlock();
    if (!q)
        return NULL;
    am_memcpy(q, p, old << bm.shift);
    bitmap_free(p);
    return q;
}

static size_t bitmap_usable_size(void *p)
{
    lock();
    size_t n = run_length(block_page(p)) << bm.shift;
    unlock();
    return n;
}

/* The longest stretch of free pages; the one reaching the committed end goes
 * on to the end of the region (nothing above `committed` is ever in use). */
static size_t largest_free_run(void)
{
    size_t best = 0;
    for (size_t i = 0; i < bm.total;) {
        size_t a = find_next(FREE_BITS, i, bm.committed);
        size_t b = a >= bm.committed ? bm.total : find_next(USED_BITS, a, bm.committed);
        if (b == bm.committed)
            b = bm.total;
        if (b - a > best)
            best = b - a;
        i = b;
    }
    return best;
}

static int bitmap_stats(struct am_stats *s)
{
    lock();
    s->os_bytes = os_bytes_now();
    s->os_bytes_peak = bm.os_bytes_peak;
    s->live_bytes = bm.used_pages << bm.shift;
    s->live_blocks = bm.live_blocks;
    static const char *const names[] = {
        "page_size",        "reserved_bytes", "committed_bytes", "free_pages",
        "largest_free_run", "dirty_pages",    "purge_calls",
    };
    const size_t values[] = {
        page_bytes(),
        bm.total << bm.shift,
        bm.committed << bm.shift,
        bm.total - bm.used_pages,
        largest_free_run(),
        bm.dirty_pages,
        bm.purge_calls,
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        am__stats_extra(s, names[i], values[i]);
    unlock();
    return 0;
}

/* Every free stretch that starts below hint[m] is shorter than m pages. */
static bool hints_hold(char *why, size_t len)
{
    size_t highest = 0;
    for (size_t m = 1; m <= HINTS; m++) {
        if (bm.hint[m] > bm.total) {
            snprintf(why, len, "bitmap: the hint for %zu-page runs lies beyond the region", m);
            return false;
        }
        highest = bm.hint[m] > highest ? bm.hint[m] : highest;
    }
    size_t a = 0;
    while ((a = find_next(FREE_BITS, a, highest)) < highest) {
        size_t limit = a + HINTS < bm.total ? a + HINTS : bm.total;
        size_t b = find_next(USED_BITS, a, limit), stretch = b - a;
        for (size_t m = 1; m <= HINTS; m++) {
            if (a < bm.hint[m] && stretch >= m) {
                snprintf(why, len, "bitmap: free page %zu is below the hint %zu for %zu-page runs",
                         a, bm.hint[m], m);
                return false;
            }
        }
        a = b;
    }
    return true;
}

/* Every start bit is on a used page, every used page follows a used page or is
 * a start, no page is dirty and used at once, nothing is marked above the
 * committed range, the search hints hold, and the counts agree. */
static int bitmap_verify(char *why, size_t len)
{
    int err = EFAULT;
    lock();
    size_t used = 0, starts = 0, dirty = 0, words = (bm.committed + WORD_BITS - 1) / WORD_BITS;
    for (size_t w = 0; w < words; w++) {
        uint64_t u = bm.used[w], st = bm.start[w], d = bm.dirty[w];
        uint64_t before = (u << 1) | (w ? bm.used[w - 1] >> (WORD_BITS - 1) : 0);
        uint64_t beyond = 0;
        if ((w + 1) * WORD_BITS > bm.committed)
            beyond = ~(uint64_t)0 << (bm.committed % WORD_BITS);
        const struct {
            uint64_t bad;
            const char *what;
        } rules[] = {
            {st & ~u, "a start bit on a free page"},
            {d & u, "a used page marked dirty"},
            {u & ~st & ~before, "a run without a start bit"},
            {(u | st | d) & beyond, "a page marked above the committed range"},
        };
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
            if (rules[i].bad) {
                snprintf(why, len, "bitmap: %s (page %zu)", rules[i].what,
                         w * WORD_BITS + (size_t)__builtin_ctzll(rules[i].bad));
                goto out;
            }
        }
        used += (size_t)__builtin_popcountll(u);
        starts += (size_t)__builtin_popcountll(st);
        dirty += (size_t)__builtin_popcountll(d);
    }
    if (used != bm.used_pages || starts != bm.live_blocks || dirty != bm.dirty_pages) {
        snprintf(why, len,
                 "bitmap: counted %zu used pages, %zu runs, %zu dirty; accounts say %zu, %zu, %zu",
                 used, starts, dirty, bm.used_pages, bm.live_blocks, bm.dirty_pages);
        goto out;
    }
    if (!hints_hold(why, len))
        goto out;
    err = 0;
out:
    unlock();
    return err;
}

/* ---------------------------------------------------------------------------
 * Set-up and tear-down
 * ------------------------------------------------------------------------ */

/* "64g", "512m", "4096k", "65536": bytes, or 0 when malformed. */
static size_t parse_size(const char *text)
{
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case '\0':
        break;
    default:
        return 0;
    }
    if (*end && end[1])
        return 0;
    if (end == text || n > (SIZE_MAX >> shift))
        return 0;
    return (size_t)n << shift;
}

static int read_settings(unsigned *shift, size_t *reserve, bool *exact)
{
    const char *page = getenv("AM_BITMAP_PAGE"), *size = getenv("AM_BITMAP_RESERVE");
    *shift = (unsigned)__builtin_ctzll(am__os_page_size());
    if (page && *page && strcmp(page, "4k") != 0) {
        if (strcmp(page, "2m") != 0)
            return EINVAL;
        *shift = HUGE_SHIFT;
    }
    *reserve = DEFAULT_RESERVE;
    *exact = size && *size;
    if (*exact) {
        *reserve = am__align_up(parse_size(size), (size_t)1 << *shift);
        if (*reserve == 0 || *reserve > DEFAULT_RESERVE)
            return EINVAL;
    }
    return 0;
}

/* Reserve `reserve` bytes (or, unless exact, as much as the kernel gives down
 * to SMALLEST_FALLBACK) with page 0 on a REGION_ALIGN boundary. */
static int reserve_region(size_t *reserve, bool exact, char **base)
{
    size_t left = am__os_address_space_left();
    if (!exact && left != SIZE_MAX) {
        size_t fits = left / 4 * 3;
        fits = fits > REGION_ALIGN ? (fits - REGION_ALIGN) & ~(REGION_ALIGN - 1) : 0;
        if (fits < *reserve)
            *reserve = fits < SMALLEST_FALLBACK ? SMALLEST_FALLBACK : fits;
    }
    for (;;) {
        size_t len = *reserve + REGION_ALIGN;
        void *map;
        int err = am__os_reserve(len, &map);
        if (!err) {
            char *start = (char *)am__align_up((uintptr_t)map, REGION_ALIGN);
            char *end = start + *reserve, *map_end = (char *)map + len;
            if (start > (char *)map)
                am__os_unmap(map, (size_t)(start - (char *)map));
            if (map_end > end)
                am__os_unmap(end, (size_t)(map_end - end));
            *base = start;
            return 0;
        }
        if (exact || *reserve <= SMALLEST_FALLBACK)
            return err;
        *reserve = (*reserve / 2) & ~(REGION_ALIGN - 1);
    }
}

static int setup(void)
{
    unsigned shift;
    size_t reserve;
    bool exact;
    int err = read_settings(&shift, &reserve, &exact);
    if (err)
        return err;
    char *base;
    if ((err = reserve_region(&reserve, exact, &base)))
        return err;
    size_t total = reserve >> shift, words = (total + WORD_BITS - 1) / WORD_BITS;
    size_t meta_len = am__align_up(3 * words * sizeof(uint64_t), am__os_page_size());
    void *meta;
    if ((err = am__os_map(meta_len, &meta))) {
        am__os_unmap(base, reserve);
        return err;
    }
    bm.base = base;
    bm.shift = shift;
    bm.total = total;
    bm.used = meta;
    bm.start = bm.used + words;
    bm.dirty = bm.start + words;
    bm.meta_len = meta_len;
    bm.committed = 0;
    memset(bm.hint, 0, sizeof bm.hint);
    bm.used_pages = bm.dirty_pages = bm.live_blocks = bm.purge_calls = 0;
    bm.os_bytes_peak = os_bytes_now();
    return 0;
}

static int bitmap_init(void)
{
    int err = am__forksafe_register(&bm.lock);
    if (err)
        return err;
    lock();
    err = bm.base ? EBUSY : setup();
    unlock();
    return err;
}

static void bitmap_fini(void)
{
    lock();
    if (bm.base) {
        am__os_unmap(bm.base, bm.total << bm.shift);
        am__os_unmap(bm.used, bm.meta_len);
    }
    bm.base = NULL;
    bm.used = bm.start = bm.dirty = NULL;
    bm.total = bm.committed = 0;
    bm.used_pages = bm.dirty_pages = bm.live_blocks = 0;
    unlock();
}

const struct am_allocator am_bitmap_allocator = {
    .name = "bitmap",
    .summary = "whole-page runs in one reserved region, one bit per page",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_RETURNS_MEMORY | AM_CAP_REAL_FREE | AM_CAP_ALIGNED,
    /* Nothing larger fits the reservation; keeps n + page and n + align from
     * overflowing the page arithmetic. */
    .max_request = DEFAULT_RESERVE,
    .init = bitmap_init,
    .fini = bitmap_fini,
    .malloc = bitmap_malloc,
    .free = bitmap_free,
    .realloc = bitmap_realloc,
    .calloc = bitmap_calloc,
    .aligned = bitmap_aligned,
    .usable_size = bitmap_usable_size,
    .stats = bitmap_stats,
    .verify = bitmap_verify,
};
