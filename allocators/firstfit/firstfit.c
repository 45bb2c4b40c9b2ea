/*
 * firstfit: the Crystal OS kernel allocator, in C, with its flaws
 * fixed: parents (regions of pages from the OS) cut into children (blocks) kept
 * in address order.
 *
 * Design: a parent is one mapping of at least PARENT_BYTES (1 MiB), or of
 * exactly what a larger request needs. It starts with a header and is tiled
 * by children; a child header (48 bytes) holds the payload size, the parent,
 * both neighbours, a state (free or in use) and a magic value. No two free
 * children are ever neighbours.
 *   - malloc is first fit: the parent that last had room (Crystal's
 *     first_with_available), then every parent in address order, then a new
 *     parent. Inside a parent the walk starts at a search hint for the
 *     request's size class, `from[k]`: no free child of at least
 *     class_min(k) lies below it (classes of 16-byte steps to 256 bytes,
 *     then powers of two to 64 KiB). A walk moves the hint up to the first
 *     free child it passed that was large enough for the class, or to the
 *     block it took; a free lowers the hints its child is large enough for.
 *     The block chosen is the lowest that fits, exactly as a walk from the
 *     first child would choose, but a run of allocations no longer walks the
 *     same used children again for every block: without the hints (one
 *     `first_free` for all sizes) a small hole low in a parent made every
 *     larger malloc walk past all the live children above it (lua5.4's
 *     binary trees: 3,200 children walked per malloc, 35 times glibc's
 *     time). A parent is skipped when its free bytes, or `max_free` (no free
 *     child is larger), are too few; a walk that fails lowers `max_free`
 *     below the request, so a full parent is not walked twice.
 *   - A child is split when what would be left over exceeds WASTE_THRESHOLD
 *     (two headers, as in Crystal); a remainder of exactly the threshold stays
 *     with the block as slack.
 *   - free merges with both free neighbours in O(1) through the prev link (the
 *     seed walks the list to find the previous child). A parent left with one
 *     free child is unmapped, except the first one, made by init.
 *   - realloc shrinks by splitting off the tail, grows in place into a free
 *     next child, and only otherwise moves (Crystal always copied).
 *   - Crystal's free ended with `else <comparison>`, a no-op where `elsif`
 *     was meant; here free really moves the hint to a parent that now has more
 *     room than the hinted one.
 *
 * Detection: the magic is a mix of the header's own address, a per-process
 * random secret and the header's kind (live child, merged-away child, parent);
 * a live child's magic also seals every other field of its header (size,
 * links, state, padding), so a header copied elsewhere, or any byte of one
 * written by a program (a one-byte overflow from the block before lands in
 * the size), does not pass. Before touching a block, free checks that the
 * pointer lies in one of our parents (binary search of a sorted table:
 * "invalid free" otherwise), the magic ("corruption" with the header's
 * address), the state ("double free"; a header merged away also reads as
 * freed), the magic of both neighbours and their links back, then the
 * block's place between them. malloc's walk checks every free child it
 * considers in full and passes used ones on their state, parent and the next
 * link it follows (sealing each child walked doubled the cost of malloc).
 * What is found is reported after the lock is released, through a hook
 * (firstfit.h) that tests replace; the default prints one line and aborts.
 * verify walks every parent and child: magic values, links, contiguity,
 * merging, the hints and the free-byte accounts (Crystal's
 * verify_data_structures!).
 *
 * Complexity: malloc is O(parents + children walked); free and in-place
 * realloc O(log parents) for the pointer check and O(1) otherwise.
 * Memory: 48 bytes per block, sizes rounded to 16 (16 at least), up to
 * WASTE_THRESHOLD of slack. Thread safety: one mutex, taken around fork;
 * realloc's copy and the abort hook run outside it.
 */
#include "../allocator.h"
#include "../forksafe.h"
#include "../os.h"
#include "memcore.h"
#include "firstfit.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define PARENT_BYTES ((size_t)1 << 20)
#define MIN_PAYLOAD  ((size_t)16)
#define FIT_CLASSES  24 /* 16..256 bytes in steps of 16, then 512..64 KiB */

enum child_state { CHILD_FREE = 0x45455246u, CHILD_USED = 0x44455355u }; /* "FREE", "USED" */
enum seal_kind { SEAL_LIVE = 0x11, SEAL_DEAD = 0x22, SEAL_PARENT = 0x33 };

struct ff_parent;

struct ff_child {
    size_t size; /* payload bytes, a multiple of 16 */
    struct ff_parent *parent;
    struct ff_child *prev, *next; /* neighbours in address order; NULL at the ends */
    uint64_t magic;               /* child_seal(this); seal(this, SEAL_DEAD) once merged away */
    uint32_t state;               /* CHILD_FREE or CHILD_USED */
    uint32_t unused;              /* 0, sealed too: every header byte is checked */
};

struct ff_parent {
    uint64_t magic;    /* seal(this, SEAL_PARENT) */
    size_t bytes;      /* the whole mapping, this header included */
    size_t free_bytes; /* payload bytes of its free children */
    size_t max_free;   /* no free child has a larger payload */
    /* from[k]: no free child of class_min(k) bytes or more lies below it;
     * NULL: none in this parent. Always a child of this parent (or NULL). */
    struct ff_child *from[FIT_CLASSES];
};

#define CHILD_HDR       sizeof(struct ff_child)
#define PARENT_HDR      sizeof(struct ff_parent)
#define WASTE_THRESHOLD (2 * CHILD_HDR)
_Static_assert(CHILD_HDR % AM_MIN_ALIGN == 0, "payloads stay 16-byte aligned");
_Static_assert(PARENT_HDR % AM_MIN_ALIGN == 0, "the first payload is 16-byte aligned");

/* One entry of the table of parents, sorted by address. The length is kept
 * here too, so that deciding whether a pointer is ours reads nothing of the
 * parents' own memory. */
struct span {
    struct ff_parent *parent;
    size_t bytes;
};

static struct {
    pthread_mutex_t lock;
    uint64_t secret;
    struct span *index;
    size_t parents, index_bytes;
    struct ff_parent *first; /* made by init, kept even when empty */
    struct ff_parent *hint;  /* the parent that last had room */
    size_t os_bytes, os_bytes_peak, live_bytes, live_blocks, free_children;
    size_t fast_path_hits, in_place_reallocs, parents_returned, children_walked;
    const char *fault; /* what this call detected, reported once the lock is released */
    void *fault_addr;
} ff = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void lock(void)
{
    pthread_mutex_lock(&ff.lock);
}
static void unlock(void)
{
    pthread_mutex_unlock(&ff.lock);
}

/* ---------------------------------------------------------------------------
 * Detection and its hook
 * ------------------------------------------------------------------------ */

static void default_abort(const char *what, void *addr)
{
    char line[96];
    int n = snprintf(line, sizeof line, "firstfit: %s at %p\n", what, addr);
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* stderr is gone; abort all the same */
    }
    abort();
}

static _Atomic(am_firstfit_abort_fn) abort_hook = default_abort;

void am_firstfit_set_abort(am_firstfit_abort_fn fn)
{
    atomic_store(&abort_hook, fn ? fn : default_abort);
}

/* Under the lock: remember the first thing this call found wrong. */
static void detect(const char *what, void *addr)
{
    if (!ff.fault) {
        ff.fault = what;
        ff.fault_addr = addr;
    }
}

static void unlock_and_report(void)
{
    const char *what = ff.fault;
    void *addr = ff.fault_addr;
    ff.fault = NULL;
    unlock();
    if (what)
        atomic_load (&abort_hook)(what, addr);
}

/* splitmix64's finaliser. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* The magic of a parent or a merged-away child: its address, the secret and
 * the kind. */
static uint64_t seal(const void *at, enum seal_kind kind)
{
    return mix((uint64_t)(uintptr_t)at ^ ff.secret ^ (uint64_t)kind);
}

/* A live child's magic covers every other field of its header too (the
 * parent is checked against the table of parents instead), so that a stray
 * write into any header byte (a one-byte overflow from the block before ends
 * in the size) is caught like one into the magic itself. Redone whenever a
 * field changes: a split, a merge, a new neighbour, a change of state. */
static uint64_t child_seal(const struct ff_child *c)
{
    uint64_t x = (uint64_t)(uintptr_t)c ^ ff.secret ^ SEAL_LIVE ^ (uint64_t)c->size ^
                 ((uint64_t)c->state << 32 | c->unused);
    return mix(mix(x) ^ (uint64_t)(uintptr_t)c->prev ^
               (uint64_t)(uintptr_t)c->next * 0x9E3779B97F4A7C15ULL);
}

static void reseal(struct ff_child *c)
{
    c->magic = child_seal(c);
}

/* ---------------------------------------------------------------------------
 * Children
 * ------------------------------------------------------------------------ */

static char *payload(struct ff_child *c)
{
    return (char *)c + CHILD_HDR;
}
static struct ff_child *child_after(struct ff_child *c)
{
    return (struct ff_child *)(payload(c) + c->size);
}
static struct ff_child *first_child(struct ff_parent *p)
{
    return (struct ff_child *)((char *)p + PARENT_HDR);
}
static char *parent_end(struct ff_parent *p)
{
    return (char *)p + p->bytes;
}

static bool header_sound(struct ff_child *c, struct ff_parent *p)
{
    return c->magic == child_seal(c) && c->parent == p &&
           (c->state == CHILD_FREE || c->state == CHILD_USED);
}

/* c's size and both links agree with its place in the parent [first, end). */
static bool links_sound(struct ff_child *c, struct ff_parent *p, char *end)
{
    if (c->size % AM_MIN_ALIGN || c->size > (size_t)(end - payload(c)))
        return false;
    char *after = (char *)child_after(c);
    if (c->next ? (char *)c->next != after || after + CHILD_HDR > end : after != end)
        return false;
    struct ff_child *b = c->prev;
    if (!b)
        return c == first_child(p);
    return (uintptr_t)b >= (uintptr_t)first_child(p) && (uintptr_t)b < (uintptr_t)c &&
           child_after(b) == c;
}

/* Add (+1) or take away (-1) c's share of the accounts. */
static void account(struct ff_child *c, int sign)
{
    bool is_free = c->state == CHILD_FREE;
    size_t *bytes = is_free ? &c->parent->free_bytes : &ff.live_bytes;
    size_t *count = is_free ? &ff.free_children : &ff.live_blocks;
    *bytes = sign > 0 ? *bytes + c->size : *bytes - c->size;
    *count = sign > 0 ? *count + 1 : *count - 1;
}

static void set_state(struct ff_child *c, enum child_state state)
{
    account(c, -1);
    c->state = state;
    reseal(c);
    account(c, +1);
}

/* The smallest payload of size class k. */
static size_t class_min(unsigned k)
{
    return k < 16 ? (size_t)(k + 1) * MIN_PAYLOAD : (size_t)256 << (k - 15);
}

/* The largest class whose smallest payload is at most need (need >= 16, a
 * multiple of 16). */
static unsigned class_of(size_t need)
{
    if (need <= 256)
        return (unsigned)(need / MIN_PAYLOAD) - 1;
    unsigned k = 15 + (unsigned)(63 - __builtin_clzll((unsigned long long)(need / 256)));
    return k < FIT_CLASSES ? k : FIT_CLASSES - 1;
}

/* c is free: keep the parent's hints true. */
static void note_free(struct ff_child *c)
{
    struct ff_parent *p = c->parent;
    for (unsigned k = 0; k < FIT_CLASSES && class_min(k) <= c->size; k++)
        if (!p->from[k] || (uintptr_t)c < (uintptr_t)p->from[k])
            p->from[k] = c;
    if (c->size > p->max_free)
        p->max_free = c->size;
}

static struct ff_child *make_child(void *at, struct ff_parent *p, size_t size,
                                   struct ff_child *prev, struct ff_child *next)
{
    struct ff_child *c = at;
    *c = (struct ff_child){
        .size = size, .parent = p, .prev = prev, .next = next, .state = CHILD_FREE};
    reseal(c);
    if (prev) {
        prev->next = c;
        reseal(prev);
    }
    if (next) {
        next->prev = c;
        reseal(next);
    }
    account(c, +1);
    note_free(c);
    return c;
}

/* Cut c down to `keep` payload bytes; the rest becomes a free child after it. */
static struct ff_child *split(struct ff_child *c, size_t keep)
{
    size_t rest = c->size - keep - CHILD_HDR;
    account(c, -1);
    c->size = keep;
    reseal(c);
    account(c, +1);
    return make_child(payload(c) + keep, c->parent, rest, c, c->next);
}

/* a takes in b, its free right neighbour; b's header is marked merged away. */
static void absorb(struct ff_child *a, struct ff_child *b)
{
    struct ff_parent *p = a->parent;
    account(a, -1);
    account(b, -1);
    a->size += CHILD_HDR + b->size;
    a->next = b->next;
    reseal(a);
    if (b->next) {
        b->next->prev = a;
        reseal(b->next);
    }
    b->magic = seal(b, SEAL_DEAD);
    account(a, +1);
    for (unsigned k = 0; k < FIT_CLASSES; k++) /* a hint below b's place stays true */
        if (p->from[k] == b)
            p->from[k] = a;
    if (a->state == CHILD_FREE)
        note_free(a);
}

/* A used child gives up its tail beyond `need` when that exceeds the threshold;
 * the tail merges with a free right neighbour. */
static void shrink(struct ff_child *c, size_t need)
{
    if (c->size - need <= WASTE_THRESHOLD)
        return;
    struct ff_child *tail = split(c, need);
    if (tail->next && tail->next->state == CHILD_FREE)
        absorb(tail, tail->next);
}

/* ---------------------------------------------------------------------------
 * Parents and the table of them
 * ------------------------------------------------------------------------ */

static void count_os(size_t add, size_t remove)
{
    ff.os_bytes = ff.os_bytes + add - remove;
    if (ff.os_bytes > ff.os_bytes_peak)
        ff.os_bytes_peak = ff.os_bytes;
}

/* How many parents start at or below addr. */
static size_t parents_up_to(const void *addr)
{
    size_t lo = 0, hi = ff.parents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)ff.index[mid].parent <= (uintptr_t)addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The parent whose mapping holds addr, or NULL. */
static struct span *span_holding(const void *addr)
{
    size_t i = parents_up_to(addr);
    if (i == 0)
        return NULL;
    struct span *s = &ff.index[i - 1];
    return (uintptr_t)addr - (uintptr_t)s->parent < s->bytes ? s : NULL;
}

static bool make_room_in_index(void)
{
    if ((ff.parents + 1) * sizeof *ff.index <= ff.index_bytes)
        return true;
    void *moved;
    if (am__os_remap(ff.index, ff.index_bytes, 2 * ff.index_bytes, &moved))
        return false;
    count_os(ff.index_bytes, 0);
    ff.index = moved;
    ff.index_bytes *= 2;
    return true;
}

/* A new parent big enough for `need` bytes at alignment `align`. */
static struct ff_parent *new_parent(size_t need, size_t align)
{
    size_t bytes = PARENT_HDR + CHILD_HDR + need;
    if (align > AM_MIN_ALIGN) /* room for a free child in front of the aligned one */
        bytes += CHILD_HDR + MIN_PAYLOAD + align;
    bytes = bytes <= PARENT_BYTES ? PARENT_BYTES : am__align_up(bytes, am__os_page_size());
    void *mapping;
    if (!make_room_in_index() || am__os_map(bytes, &mapping))
        return NULL;
    struct ff_parent *p = mapping;
    *p = (struct ff_parent){.magic = seal(p, SEAL_PARENT), .bytes = bytes};
    make_child(first_child(p), p, bytes - PARENT_HDR - CHILD_HDR, NULL, NULL);
    size_t at = parents_up_to(p);
    memmove(&ff.index[at + 1], &ff.index[at], (ff.parents - at) * sizeof *ff.index);
    ff.index[at] = (struct span){p, bytes};
    ff.parents++;
    count_os(bytes, 0);
    return p;
}

static void destroy_parent(struct ff_parent *p)
{
    size_t at = parents_up_to(p) - 1;
    memmove(&ff.index[at], &ff.index[at + 1], (ff.parents - at - 1) * sizeof *ff.index);
    ff.parents--;
    account(first_child(p), -1);
    if (ff.hint == p)
        ff.hint = ff.first;
    p->magic = 0;
    ff.parents_returned++;
    count_os(0, p->bytes);
    am__os_unmap(p, p->bytes);
}

/* ---------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

static size_t payload_for(size_t n)
{
    return n < MIN_PAYLOAD ? MIN_PAYLOAD : am__align_up(n, AM_MIN_ALIGN);
}

/* Bytes between c's payload and an aligned payload carved out of it: 0, or
 * enough to leave a free child of at least MIN_PAYLOAD in front. */
static size_t lead_for(struct ff_child *c, size_t align)
{
    uintptr_t at = (uintptr_t)payload(c);
    if (at % align == 0)
        return 0;
    return am__align_up(at + CHILD_HDR + MIN_PAYLOAD, align) - at;
}

/* Hand out `need` bytes of the free child c, `lead` bytes into its payload. */
static struct ff_child *carve(struct ff_child *c, size_t lead, size_t need)
{
    if (lead)
        c = split(c, lead - CHILD_HDR);
    if (c->size - need > WASTE_THRESHOLD)
        split(c, need);
    set_state(c, CHILD_USED);
    return c;
}

/* First fit inside p, or NULL: the lowest free child that fits, found from
 * the hint of need's class. A walk that finds nothing lowers max_free below
 * need. */
static struct ff_child *fit_in(struct ff_parent *p, size_t need, size_t align)
{
    if (p->magic != seal(p, SEAL_PARENT)) {
        detect("corruption", p);
        return NULL;
    }
    if (p->free_bytes < need || p->max_free < need)
        return NULL;
    unsigned k = class_of(need);
    struct ff_child *qualified = NULL; /* the first free child walked of class k or more */
    size_t largest = 0;
    for (struct ff_child *c = p->from[k]; c; c = c->next) {
        ff.children_walked++;
        /* A used child is passed over on a cheap look (its header is checked
         * in full when it is freed); sealing every child walked would cost
         * more than the walk itself. The look includes the link the walk
         * follows, so an overwritten size or next link is caught here, not
         * followed. A free one is checked in full before use. */
        if (c->state == CHILD_USED && c->parent == p && (!c->next || c->next == child_after(c)))
            continue;
        if (!header_sound(c, p) || !links_sound(c, p, parent_end(p))) {
            detect("corruption", c);
            return NULL;
        }
        size_t lead = lead_for(c, align);
        if (c->size >= need + lead) {
            /* Every free child skipped was too small for need, so, need
             * being at least class_min(k), for class k too (unless it was
             * skipped for its alignment: `qualified`). */
            p->from[k] = qualified ? qualified : c;
            return carve(c, lead, need);
        }
        if (!qualified && c->size >= class_min(k))
            qualified = c;
        if (c->size > largest)
            largest = c->size;
    }
    p->from[k] = qualified;
    /* The free children below the hint are smaller than class_min(k). */
    p->max_free = largest > class_min(k) - MIN_PAYLOAD ? largest : class_min(k) - MIN_PAYLOAD;
    return NULL;
}

static void *alloc_locked(size_t n, size_t align)
{
    size_t need = payload_for(n);
    struct ff_child *c = NULL;
    struct ff_parent *p;
    if (ff.hint && (c = fit_in(ff.hint, need, align)))
        ff.fast_path_hits++;
    for (size_t i = 0; !c && !ff.fault && i < ff.parents; i++)
        if (ff.index[i].parent != ff.hint)
            c = fit_in(ff.index[i].parent, need, align);
    if (!c && !ff.fault && (p = new_parent(need, align)))
        c = fit_in(p, need, align);
    if (!c)
        return NULL;
    /* Crystal's "is the page full?": a full parent is no hint. */
    ff.hint = c->parent->free_bytes ? c->parent : ff.first;
    return payload(c);
}

/* ---------------------------------------------------------------------------
 * Finding a block from its pointer, and freeing it
 * ------------------------------------------------------------------------ */

enum caller { FROM_FREE, FROM_OTHER };
static const char *const freed_word[] = {"double free", "use after free"};
static const char *const foreign_word[] = {"invalid free", "invalid pointer"};

/* The live block at p, or NULL once what is wrong has been detected. */
static struct ff_child *find_block(void *p, enum caller who)
{
    struct span *s = (uintptr_t)p % AM_MIN_ALIGN ? NULL : span_holding(p);
    if (!s || (uintptr_t)p < (uintptr_t)payload(first_child(s->parent))) {
        detect(foreign_word[who], p);
        return NULL;
    }
    struct ff_parent *parent = s->parent;
    if (parent->magic != seal(parent, SEAL_PARENT)) {
        detect("corruption", parent);
        return NULL;
    }
    struct ff_child *c = (struct ff_child *)((char *)p - CHILD_HDR);
    if (c->magic == seal(c, SEAL_DEAD)) {
        detect(freed_word[who], p);
        return NULL;
    }
    if (!header_sound(c, parent)) {
        detect("corruption", c);
        return NULL;
    }
    if (c->state == CHILD_FREE) {
        detect(freed_word[who], p);
        return NULL;
    }
    /* c's links are sealed, so its neighbours are safe to read; they are
     * checked before c's place among them, so that a damaged neighbour is
     * the header reported. */
    struct ff_child *around[2] = {c->prev, c->next};
    for (int i = 0; i < 2; i++) {
        if (around[i] && (!header_sound(around[i], parent) ||
                          (i ? around[i]->prev != c : around[i]->next != c))) {
            detect("corruption", around[i]);
            return NULL;
        }
    }
    if (!links_sound(c, parent, (char *)parent + s->bytes)) {
        detect("corruption", c);
        return NULL;
    }
    return c;
}

static void release(struct ff_child *c)
{
    struct ff_parent *p = c->parent;
    set_state(c, CHILD_FREE);
    if (c->prev && c->prev->state == CHILD_FREE) {
        c = c->prev;
        absorb(c, c->next);
    }
    if (c->next && c->next->state == CHILD_FREE)
        absorb(c, c->next);
    note_free(c);
    if (p != ff.first && !c->prev && !c->next)
        destroy_parent(p);
    else if (!ff.hint || p->free_bytes > ff.hint->free_bytes)
        ff.hint = p; /* Crystal's `else` that meant `elsif` */
}

/* ---------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

static void *firstfit_malloc(size_t n)
{
    lock();
    void *p = alloc_locked(n, AM_MIN_ALIGN);
    unlock_and_report();
    return p;
}

static void *firstfit_aligned(size_t align, size_t n)
{
    lock();
    void *p = alloc_locked(n, align);
    unlock_and_report();
    return p;
}

static void firstfit_free(void *p)
{
    lock();
    struct ff_child *c = find_block(p, FROM_FREE);
    if (c)
        release(c);
    unlock_and_report();
}

static void *firstfit_realloc(void *p, size_t n)
{
    lock();
    struct ff_child *c = find_block(p, FROM_OTHER);
    if (!c) {
        unlock_and_report();
        return NULL;
    }
    size_t need = payload_for(n), old = c->size;
    struct ff_child *next = c->next;
    if (need > old && next && next->state == CHILD_FREE && old + CHILD_HDR + next->size >= need) {
        absorb(c, next);
        ff.in_place_reallocs++;
    }
    if (need <= c->size) {
        shrink(c, need);
        unlock();
        return p;
    }
    void *q = alloc_locked(n, AM_MIN_ALIGN);
    unlock_and_report();
    if (!q)
        return NULL;
    am_memcpy(q, p, old); /* p is still ours alone: no lock needed */
    firstfit_free(p);
    return q;
}

static size_t firstfit_usable_size(void *p)
{
    lock();
    struct ff_child *c = find_block(p, FROM_OTHER);
    size_t n = c ? c->size : 0;
    unlock_and_report();
    return n;
}

static int firstfit_stats(struct am_stats *s)
{
    lock();
    size_t free_bytes = 0;
    for (size_t i = 0; i < ff.parents; i++)
        free_bytes += ff.index[i].parent->free_bytes;
    s->os_bytes = ff.os_bytes;
    s->os_bytes_peak = ff.os_bytes_peak;
    s->live_bytes = ff.live_bytes;
    s->live_blocks = ff.live_blocks;
    static const char *const names[] = {
        "parents",        "free_bytes",        "free_children",    "header_bytes",
        "fast_path_hits", "in_place_reallocs", "parents_returned", "children_walked",
    };
    const size_t values[] = {
        ff.parents,
        free_bytes,
        ff.free_children,
        ff.parents * PARENT_HDR + (ff.live_blocks + ff.free_children) * CHILD_HDR,
        ff.fast_path_hits,
        ff.in_place_reallocs,
        ff.parents_returned,
        ff.children_walked,
    };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        am__stats_extra(s, names[i], values[i]);
    unlock();
    return 0;
}

/* ---------------------------------------------------------------------------
 * verify: Crystal's verify_data_structures!, and more
 * ------------------------------------------------------------------------ */

struct tally {
    size_t live, blocks, frees;
};

/* Walk one parent's children; NULL when sound, else what is wrong (with *at). */
static const char *check_parent(struct ff_parent *p, size_t bytes, struct tally *t, void **at)
{
    *at = p;
    if (p->magic != seal(p, SEAL_PARENT))
        return "bad parent magic";
    if (p->bytes != bytes)
        return "parent size differs from the table";
    char *end = parent_end(p);
    struct ff_child *prev = NULL, *c = first_child(p);
    size_t free_sum = 0, largest = 0;
    uint32_t passed = 0; /* bit k: the walk has reached from[k] */
    _Static_assert(FIT_CLASSES <= 32, "one bit a class");
    while (c) {
        *at = c;
        if ((char *)c + CHILD_HDR > end)
            return "child header beyond its parent";
        if (!header_sound(c, p))
            return "bad child magic, parent or state";
        if (c->prev != prev)
            return "prev link broken";
        if (c->size < MIN_PAYLOAD || !links_sound(c, p, end))
            return "size or next link broken";
        for (unsigned k = 0; k < FIT_CLASSES; k++)
            passed |= (uint32_t)(c == p->from[k]) << k;
        if (c->state == CHILD_FREE) {
            if (prev && prev->state == CHILD_FREE)
                return "two free neighbours not merged";
            for (unsigned k = 0; k < FIT_CLASSES && class_min(k) <= c->size; k++)
                if (!(passed >> k & 1))
                    return "free child below the search hint of its size";
            free_sum += c->size;
            largest = c->size > largest ? c->size : largest;
            t->frees++;
        } else {
            t->live += c->size;
            t->blocks++;
        }
        prev = c;
        c = c->next;
    }
    *at = p;
    for (unsigned k = 0; k < FIT_CLASSES; k++)
        if (p->from[k] && !(passed >> k & 1))
            return "a search hint is not a child of its parent";
    if (free_sum != p->free_bytes)
        return "free bytes differ from the sum of free children";
    if (largest > p->max_free)
        return "a free child is larger than max_free";
    return NULL;
}

static int firstfit_verify(char *why, size_t len)
{
    lock();
    struct tally t = {0};
    const char *what = NULL;
    void *at = NULL;
    size_t os = ff.index_bytes;
    bool first_listed = false, hint_listed = ff.hint == NULL;
    for (size_t i = 0; i < ff.parents && !what; i++) {
        struct span *s = &ff.index[i];
        at = s->parent;
        if (i && (uintptr_t)s->parent < (uintptr_t)s[-1].parent + s[-1].bytes)
            what = "parents out of order or overlapping";
        else
            what = check_parent(s->parent, s->bytes, &t, &at);
        first_listed = first_listed || s->parent == ff.first;
        hint_listed = hint_listed || s->parent == ff.hint;
        os += s->bytes;
    }
    if (!what && (!first_listed || !hint_listed))
        what = "the first parent or the hint is not in the table";
    if (!what && (t.live != ff.live_bytes || t.blocks != ff.live_blocks ||
                  t.frees != ff.free_children || os != ff.os_bytes)) {
        snprintf(why, len,
                 "firstfit: counted %zu live bytes in %zu blocks, %zu free children, %zu OS "
                 "bytes; accounts say %zu, %zu, %zu, %zu",
                 t.live, t.blocks, t.frees, os, ff.live_bytes, ff.live_blocks, ff.free_children,
                 ff.os_bytes);
        unlock();
        return EFAULT;
    }
    if (what)
        snprintf(why, len, "firstfit: %s at %p", what, at);
    unlock();
    return what ? EFAULT : 0;
}

/* ---------------------------------------------------------------------------
 * Set-up and tear-down
 * ------------------------------------------------------------------------ */

static uint64_t fresh_secret(void)
{
    uint64_t s;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
        return s;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 32) ^ (uint64_t)(uintptr_t)&t ^
           ((uint64_t)getpid() << 16);
}

static void reset_counters(void)
{
    ff.parents = ff.index_bytes = 0;
    ff.index = NULL;
    ff.first = ff.hint = NULL;
    ff.os_bytes = ff.os_bytes_peak = ff.live_bytes = ff.live_blocks = ff.free_children = 0;
    ff.fast_path_hits = ff.in_place_reallocs = ff.parents_returned = ff.children_walked = 0;
}

static int setup(void)
{
    void *index;
    int err = am__os_map(am__os_page_size(), &index);
    if (err)
        return err;
    reset_counters();
    ff.secret = fresh_secret();
    ff.index = index;
    ff.index_bytes = am__os_page_size();
    count_os(ff.index_bytes, 0);
    ff.first = ff.hint = new_parent(MIN_PAYLOAD, AM_MIN_ALIGN);
    if (!ff.first) {
        am__os_unmap(ff.index, ff.index_bytes);
        reset_counters();
        return ENOMEM;
    }
    return 0;
}

static int firstfit_init(void)
{
    int err = am__forksafe_register(&ff.lock);
    if (err)
        return err;
    lock();
    err = ff.index ? EBUSY : setup();
    unlock();
    return err;
}

static void firstfit_fini(void)
{
    lock();
    for (size_t i = 0; i < ff.parents; i++)
        am__os_unmap(ff.index[i].parent, ff.index[i].bytes);
    if (ff.index)
        am__os_unmap(ff.index, ff.index_bytes);
    reset_counters();
    unlock();
}

const struct am_allocator am_firstfit_allocator = {
    .name = "firstfit",
    .summary = "first-fit children in page-region parents, O(1) merges",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_RETURNS_MEMORY | AM_CAP_REAL_FREE | AM_CAP_ALIGNED,
    /* Keeps need + headers + alignment slack + page rounding from overflowing. */
    .max_request = (size_t)PTRDIFF_MAX - ((size_t)1 << 24),
    .init = firstfit_init,
    .fini = firstfit_fini,
    .malloc = firstfit_malloc,
    .free = firstfit_free,
    .realloc = firstfit_realloc,
    .aligned = firstfit_aligned,
    .usable_size = firstfit_usable_size,
    .stats = firstfit_stats,
    .verify = firstfit_verify,
};
