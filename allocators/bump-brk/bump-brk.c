/*
 * bump-brk: a bump allocator on the program break.
 *
 * Design: memory comes from libc's sbrk in chunks of at least CHUNK_MIN
 * bytes; malloc carves blocks off the top of the newest chunk, each behind a
 * 16-byte header (its size, a freed bit, and the block below it). free can
 * only roll the top back: freeing the newest block lowers the top, and so does
 * every already-freed block below it (a stack that unwinds). Any other free
 * only marks its block and counts it as waste, which the statistics show.
 *
 * Sharing the break with glibc malloc (two heap managers moving the break
 * cannot be naive about it):
 *   - only libc's sbrk is used, never the raw brk system call, so libc's
 *     cached break stays right for glibc's own sbrk calls;
 *   - when glibc has moved the break since our last chunk, the old chunk is
 *     left as it is and a new one starts at the current break;
 *   - the break is lowered only while sbrk(0) still equals our own end, so
 *     glibc's heap above us is never cut off (glibc applies the same test
 *     before trimming, which keeps it off our chunks).
 *
 * Giving the break back: a chunk is returned once empty, except the last one,
 * which stays (cut back to CHUNK_MIN) until fini, so that a heap emptied and
 * filled again does not move the break twice per block.
 *
 * Complexity: O(1) malloc; O(1) amortised free. Thread safety: one mutex,
 * taken around fork as well.
 */
#include "../allocator.h"
#include "../forksafe.h"
#include "../os.h"
#include "memcore.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

/* Smallest sbrk request; larger blocks get a chunk of their own size. */
#define CHUNK_MIN ((size_t)1 << 20)

#define FREED_BIT ((size_t)1)

/* 16 bytes before every user pointer. */
struct bump_header {
    size_t size_and_freed;     /* usable size (a multiple of 16) | FREED_BIT */
    struct bump_header *below; /* the previous block in this chunk, or NULL */
};

/* At the start of every chunk: the chunk below and how its top was left. */
struct bump_chunk {
    struct bump_chunk *below;
    char *end;
    char *saved_top;
    struct bump_header *saved_last;
};

#define HEADER_SIZE       sizeof(struct bump_header)
#define CHUNK_HEADER_SIZE am__align_up(sizeof(struct bump_chunk), AM_MIN_ALIGN)

static struct {
    pthread_mutex_t lock;
    struct bump_chunk *chunk; /* the newest chunk, or NULL */
    char *top;                /* next free byte in it */
    struct bump_header *last; /* the newest block in it, or NULL */
    size_t os_bytes, os_bytes_peak;
    size_t live_bytes, live_blocks;
    size_t waste_bytes;     /* freed but below the top, not reusable */
    size_t abandoned_bytes; /* chunk tails left when the break had moved */
    size_t chunks;
} state = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void lock(void)
{
    pthread_mutex_lock(&state.lock);
}
static void unlock(void)
{
    pthread_mutex_unlock(&state.lock);
}

static size_t block_size(const struct bump_header *h)
{
    return h->size_and_freed & ~FREED_BIT;
}

static struct bump_header *header_of(void *p)
{
    return (struct bump_header *)((char *)p - HEADER_SIZE);
}

static void count_os(size_t bytes, bool add)
{
    if (add) {
        state.os_bytes += bytes;
        if (state.os_bytes > state.os_bytes_peak)
            state.os_bytes_peak = state.os_bytes;
    } else {
        state.os_bytes -= bytes;
    }
}

/* Make room for `need` more bytes above the top: extend the newest chunk when
 * the break is still its end, else start a new chunk at the current break. */
static bool grow(size_t need)
{
    size_t page = am__os_page_size();
    void *old_break;
    if (state.chunk && am__os_break() == state.chunk->end) {
        size_t more = am__align_up(need - (size_t)(state.chunk->end - state.top), page);
        if (more < CHUNK_MIN)
            more = CHUNK_MIN;
        if (am__os_sbrk((intptr_t)more, &old_break))
            return false;
        if ((char *)old_break == state.chunk->end) {
            state.chunk->end += more;
            count_os(more, true);
            return true;
        }
        /* Another thread of glibc's moved the break in between: give the
         * memory back if we can, and start afresh below. */
        if (am__os_break() == (char *)old_break + more)
            am__os_sbrk(-(intptr_t)more, &old_break);
    }

    /* The break may be unaligned; the chunk header starts at the next 16. */
    size_t len = am__align_up(need + CHUNK_HEADER_SIZE + AM_MIN_ALIGN, page);
    if (len < CHUNK_MIN)
        len = CHUNK_MIN;
    if (am__os_sbrk((intptr_t)len, &old_break))
        return false;
    count_os(len, true);
    char *start = (char *)am__align_up((uintptr_t)old_break, AM_MIN_ALIGN);
    struct bump_chunk *c = (struct bump_chunk *)start;
    if (state.chunk) {
        state.abandoned_bytes += (size_t)(state.chunk->end - state.top);
        state.chunk->saved_top = state.top;
        state.chunk->saved_last = state.last;
    }
    c->below = state.chunk;
    c->end = (char *)old_break + len;
    state.abandoned_bytes += (size_t)(start - (char *)old_break);
    state.chunk = c;
    state.top = start + CHUNK_HEADER_SIZE;
    state.last = NULL;
    state.chunks++;
    return true;
}

/* Lower the break by the newest chunk while it is empty and still ours at the
 * top of the break, then resume the chunk below. Unless `all` (fini), the
 * last chunk stays once empty, cut back to CHUNK_MIN: a heap that empties and
 * fills again (a loop of malloc and free on an empty heap) would otherwise
 * move the break twice for every block. */
static void release_empty_chunks(bool all)
{
    while (state.chunk && state.top == (char *)state.chunk + CHUNK_HEADER_SIZE &&
           am__os_break() == state.chunk->end) {
        struct bump_chunk *c = state.chunk;
        char *first = (char *)c;
        /* The bytes between the old break and the chunk header (alignment). */
        void *old_break;
        size_t len = (size_t)(c->end - first);
        struct bump_chunk *below = c->below;
        if (!all && !below) {
            size_t cut = len > CHUNK_MIN ? (len - CHUNK_MIN) & ~(am__os_page_size() - 1) : 0;
            if (cut && am__os_sbrk(-(intptr_t)cut, &old_break) == 0) {
                c->end -= cut;
                count_os(cut, false);
            }
            return;
        }
        if (am__os_sbrk(-(intptr_t)len, &old_break))
            return;
        count_os(len, false);
        state.chunks--;
        state.chunk = below;
        if (below) {
            state.abandoned_bytes -= (size_t)(below->end - below->saved_top);
            state.top = below->saved_top;
            state.last = below->saved_last;
        } else {
            state.top = NULL;
            state.last = NULL;
        }
    }
}

/* Roll the top back over the newest block and every freed block below it. */
static void unwind(void)
{
    for (;;) {
        while (state.last && (state.last->size_and_freed & FREED_BIT)) {
            state.waste_bytes -= block_size(state.last);
            state.top = (char *)state.last;
            state.last = state.last->below;
        }
        struct bump_chunk *before = state.chunk;
        release_empty_chunks(false);
        if (state.chunk == before)
            return;
    }
}

static void *carve(size_t size)
{
    struct bump_header *h = (struct bump_header *)state.top;
    h->size_and_freed = size;
    h->below = state.last;
    state.last = h;
    state.top += HEADER_SIZE + size;
    return (char *)h + HEADER_SIZE;
}

static void *bump_malloc_locked(size_t n)
{
    size_t size = am__align_up(n, AM_MIN_ALIGN);
    if (!state.chunk || (size_t)(state.chunk->end - state.top) < HEADER_SIZE + size) {
        if (!grow(HEADER_SIZE + size))
            return NULL;
    }
    state.live_bytes += size;
    state.live_blocks++;
    return carve(size);
}

static void *bump_malloc(size_t n)
{
    lock();
    void *p = bump_malloc_locked(n);
    unlock();
    return p;
}

static void bump_free_locked(void *p)
{
    struct bump_header *h = header_of(p);
    size_t size = block_size(h);
    h->size_and_freed |= FREED_BIT;
    state.live_bytes -= size;
    state.live_blocks--;
    state.waste_bytes += size;
    if (h == state.last)
        unwind();
}

static void bump_free(void *p)
{
    lock();
    bump_free_locked(p);
    unlock();
}

static void *bump_realloc(void *p, size_t n)
{
    struct bump_header *h = header_of(p);
    size_t size = am__align_up(n, AM_MIN_ALIGN);
    void *q = p;
    lock();
    size_t old = block_size(h);
    if (h == state.last && (size_t)(state.chunk->end - (char *)p) >= size) {
        /* The newest block grows or shrinks in place by moving the top. */
        h->size_and_freed = size;
        state.top = (char *)p + size;
        state.live_bytes += size - old;
    } else if (size > old) {
        q = bump_malloc_locked(n);
        if (q) {
            am_memcpy(q, p, old);
            bump_free_locked(p);
        }
    }
    unlock();
    return q;
}

static void *bump_aligned(size_t align, size_t n)
{
    size_t size = am__align_up(n, AM_MIN_ALIGN);
    lock();
    /* Worst case: a filler block of up to align bytes, then the block. */
    size_t need = align + HEADER_SIZE + size;
    if (!state.chunk || (size_t)(state.chunk->end - state.top) < need) {
        if (!grow(need)) {
            unlock();
            return NULL;
        }
    }
    char *user = (char *)am__align_up((uintptr_t)state.top + HEADER_SIZE, align);
    size_t pad = (size_t)(user - HEADER_SIZE - state.top);
    if (pad) {
        /* pad is a multiple of 16 and at least 16: a freed filler block holds
         * it, so the unwind that reaches it rolls the padding back too. */
        void *filler = carve(pad - HEADER_SIZE);
        header_of(filler)->size_and_freed |= FREED_BIT;
        state.waste_bytes += pad - HEADER_SIZE;
    }
    state.live_bytes += size;
    state.live_blocks++;
    void *p = carve(size);
    unlock();
    return p;
}

static size_t bump_usable_size(void *p)
{
    return block_size(header_of(p));
}

static int bump_stats(struct am_stats *s)
{
    s->os_bytes = state.os_bytes;
    s->os_bytes_peak = state.os_bytes_peak;
    s->live_bytes = state.live_bytes;
    s->live_blocks = state.live_blocks;
    am__stats_extra(s, "waste_bytes", state.waste_bytes);
    am__stats_extra(s, "abandoned_bytes", state.abandoned_bytes);
    am__stats_extra(s, "chunks", state.chunks);
    return 0;
}

static int bump_verify(char *why, size_t len)
{
    int err = 0;
    lock();
    size_t live = 0, blocks = 0, waste = 0;
    for (struct bump_chunk *c = state.chunk; c && !err; c = c->below) {
        /* A chunk that was left behind keeps its own top in its header. */
        char *top = c == state.chunk ? state.top : c->saved_top;
        struct bump_header *last = c == state.chunk ? state.last : c->saved_last;
        char *floor = (char *)c + CHUNK_HEADER_SIZE;
        char *expect_end = top;
        for (struct bump_header *h = last; h; h = h->below) {
            char *end = (char *)h + HEADER_SIZE + block_size(h);
            if ((char *)h < floor || end != expect_end || ((uintptr_t)h % AM_MIN_ALIGN)) {
                snprintf(why, len, "bump-brk: block %p breaks the chain of chunk %p", (void *)h,
                         (void *)c);
                err = EFAULT;
                break;
            }
            if (h->size_and_freed & FREED_BIT)
                waste += block_size(h);
            else
                live += block_size(h), blocks++;
            expect_end = (char *)h;
        }
        if (!err && expect_end != floor) {
            snprintf(why, len, "bump-brk: chunk %p has a gap below its first block", (void *)c);
            err = EFAULT;
        }
        if (!err && (top < floor || top > c->end)) {
            snprintf(why, len, "bump-brk: top %p outside chunk %p", (void *)top, (void *)c);
            err = EFAULT;
        }
    }
    if (!err &&
        (live != state.live_bytes || blocks != state.live_blocks || waste != state.waste_bytes)) {
        snprintf(why, len,
                 "bump-brk: counted %zu live bytes in %zu blocks and %zu waste, "
                 "accounts say %zu, %zu, %zu",
                 live, blocks, waste, state.live_bytes, state.live_blocks, state.waste_bytes);
        err = EFAULT;
    }
    unlock();
    return err;
}

static int bump_init(void)
{
    int err = am__forksafe_register(&state.lock);
    if (err)
        return err;
    lock();
    state.os_bytes_peak = state.os_bytes;
    unlock();
    return 0;
}

/* Every block is dead after fini: empty the chunks from the newest down and
 * lower the break while it is still ours. Chunks that glibc's heap sits above
 * stay mapped and are counted in os_bytes and abandoned_bytes. */
static void bump_fini(void)
{
    lock();
    while (state.chunk) {
        struct bump_chunk *c = state.chunk;
        char *floor = (char *)c + CHUNK_HEADER_SIZE, *old_top = state.top;
        state.top = floor;
        state.last = NULL;
        release_empty_chunks(true);
        if (state.chunk == c) {
            state.abandoned_bytes += (size_t)(old_top - floor);
            break;
        }
    }
    state.chunk = NULL;
    state.top = NULL;
    state.last = NULL;
    state.live_bytes = state.live_blocks = state.waste_bytes = 0;
    unlock();
}

const struct am_allocator am_bump_brk_allocator = {
    .name = "bump-brk",
    .summary = "bump pointer on the program break (libc sbrk), LIFO roll-back on free",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_RETURNS_MEMORY | AM_CAP_ALIGNED,
    /* Keeps the chunk arithmetic (size + header + alignment) from overflowing. */
    .max_request = (size_t)PTRDIFF_MAX - ((size_t)1 << 24),
    .init = bump_init,
    .fini = bump_fini,
    .malloc = bump_malloc,
    .free = bump_free,
    .realloc = bump_realloc,
    .aligned = bump_aligned,
    .usable_size = bump_usable_size,
    .stats = bump_stats,
    .verify = bump_verify,
};
