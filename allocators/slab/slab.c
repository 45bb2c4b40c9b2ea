/*
 * slab: allocmark's own fast allocator, after the designs of
 * mimalloc (free lists sharded per slab, a thread-free list per slab, a
 * delayed-free notification for full slabs) and rpmalloc (per-thread heaps
 * handed over when their thread exits).
 *
 * Design. Requests up to 32 KiB are rounded to one of 40 size classes
 * (16-byte steps to 128 B, then four per power of two: a block wastes under
 * 20 % of itself, 10 % on average over a class's sizes) and served from
 * 64 KiB slabs, each holding blocks of one class. A slab's descriptor sits in
 * the header of its 4 MiB-aligned segment, so free finds it from any block
 * with a mask and a shift. Each thread has a heap in thread-local storage: a
 * current slab per class, reached for small sizes straight from the request
 * size (tls.direct). malloc pops the current slab's free list; a same-thread
 * free pushes onto the block's slab; neither takes a lock or an atomic
 * read-modify-write. A free from another thread pushes onto the slab's
 * atomic remote list (one CAS), which the owner collects when its free list
 * runs dry; when the slab is on the owner's full list, the first such free
 * instead hands the block to the owner heap's `delayed` list, so that the
 * owner learns that the slab has room again without scanning its full slabs.
 * The hand-off takes no lock: a preempted freer delays nobody but a thread
 * that is exiting, a fork (which lets hand-offs under way finish), or,
 * rarely, the owner retiring that same slab again.
 * A thread that exits hands its slabs to a global pool, from which other
 * threads adopt them (when they need a slab of that class, or when they free
 * into one). Empty slabs go back to the segment manager (segment.c), which
 * keeps some resident and purges the rest. When the current slab runs dry,
 * blocks already resident come first: its remote frees, then a partial
 * slab's free blocks, then a pooled slab's, and only then fresh pages carved
 * from its untouched end (each carve faults pages in and adds to the peak
 * RSS). calloc clears what it hands out, but for a large run fresh from mmap,
 * which is zero already. A free of the block at the head of its slab's free
 * list, the usual double free, stops the process with a message (one
 * comparison on the fast path). Requests above 32 KiB get page
 * runs of their own from the OS; freed runs wait in a small cache (32 MiB,
 * 32 runs, unmapped after 500 ms idle) for the next large request, and a
 * large realloc remaps the run (mremap, in place or moved) instead of
 * copying it.
 *
 * Complexity: malloc and free O(1); collecting a remote list is linear in its
 * length; the segment manager's slow paths are linear in the segments.
 * Memory: per-class internal waste as above; per slab the uncarved tail (the
 * free list is carved a page at a time); per segment a 12 KiB header.
 * Thread safety: lock-free fast paths and cross-thread frees; one mutex for
 * the segment manager and the pools, and notify_lock, which only thread exit
 * and fork take; both are taken around fork (forksafe.h: not in a process
 * without threads, after stdio's lock).
 */
#include "../allocator.h"
#include "../forksafe.h"
#include "../os.h"
#include "memcore.h"
#include "slab.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/single_threaded.h>
#include <string.h>
#include <unistd.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Blocks are carved from a slab's untouched end this many bytes at a time. */
#define CARVE_BYTES 4096
/* Empty slabs a heap keeps for any class before returning units. */
#define EMPTY_SLABS_KEPT 4
/* Alignments up to this are served from slabs (every slab starts on a page). */
#define SLAB_ALIGN_MAX 4096

/* ===========================================================================
 * Types and state
 * ======================================================================== */

/* What the fast paths read, per thread. `current` and `direct` never hold
 * NULL: &empty_slab stands for "none", so that malloc needs a single test. */
struct tls_heap {
    struct slab *direct[DIRECT_SLOTS]; /* by (n + 15) / 16: the current slab */
    struct slab *current[N_CLASSES];
    struct heap *heap; /* &no_heap until the thread first allocates */
};

/* Slabs waiting for their turn to be current: taken oldest first, so that
 * none waits forever while its remote frees pile up. */
struct slab_queue {
    struct slab *head, *tail;
};

/* A heap is owned by at most one thread (tls != NULL); heaps are never
 * unmapped, so a late look at one from a key destructor is always safe. */
struct heap {
    struct tls_heap *tls;
    struct slab_queue partial[N_CLASSES]; /* slabs with free blocks, oldest first */
    struct slab *full;                    /* no free block when last looked at */
    struct slab *empty;                   /* empty slabs kept for any class */
    unsigned n_empty;
    _Atomic(void *) delayed; /* blocks other threads freed into full slabs */
    struct heap *next_all, *next_pooled;
};

static struct slab empty_slab; /* its free list is always empty */
static struct heap no_heap;    /* never the owner of anything */

static __thread struct tls_heap tls __attribute__((tls_model("initial-exec"))) = {
    .direct = {[0 ... DIRECT_SLOTS - 1] = &empty_slab},
    .current = {[0 ... N_CLASSES - 1] = &empty_slab},
    .heap = &no_heap,
};

/* Under am__slab_g.lock: heaps and abandoned slabs. notify_lock: heap_abandon's
 * clearing of NOTIFY bits (remote_free takes no lock). */
static struct {
    pthread_mutex_t notify_lock;
    struct heap *all, *pooled;
    struct slab *abandoned[N_CLASSES];
    size_t n_abandoned;
    char *meta; /* heap structs are carved from here and never unmapped */
    size_t meta_left;
    pthread_key_t key;
} st = {.notify_lock = PTHREAD_MUTEX_INITIALIZER};

/* How many slabs of each class are in the pool: written under the lock, read
 * without it by refill, as a hint that looking there may pay. */
static _Atomic unsigned abandoned_hint[N_CLASSES];

static void abandoned_count(unsigned cls, int delta)
{
    atomic_store_explicit(&abandoned_hint[cls],
                          atomic_load_explicit(&abandoned_hint[cls], memory_order_relaxed) +
                              (unsigned)delta,
                          memory_order_relaxed);
}

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static inline uint32_t used_of(const struct slab *s)
{
    return atomic_load_explicit(&s->used, memory_order_relaxed);
}

static inline void set_used(struct slab *s, uint32_t n)
{
    atomic_store_explicit(&s->used, n, memory_order_relaxed);
}

static inline uint32_t block_size_of(const struct slab *s)
{
    return atomic_load_explicit(&s->block_size, memory_order_relaxed);
}

static void slab_link(struct slab **head, struct slab *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

static void slab_unlink(struct slab **head, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void queue_push(struct slab_queue *q, struct slab *s)
{
    s->next = NULL;
    s->prev = q->tail;
    if (q->tail)
        q->tail->next = s;
    else
        q->head = s;
    q->tail = s;
}

static void queue_remove(struct slab_queue *q, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        q->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        q->tail = s->prev;
    s->next = s->prev = NULL;
}

static void slab_free(void *p);

/* ===========================================================================
 * Slabs: carving, collecting, changing hands
 * ======================================================================== */

/* Make s a slab of class cls owned by h, with nothing carved yet. */
static void slab_format(struct slab *s, unsigned cls, struct heap *h)
{
    uint32_t size = class_size(cls);
    uint32_t first = unit_first_offset(unit_index(s));
    uint32_t capacity = ((uint32_t)UNIT_SIZE - first) / size;
    s->free = NULL;
    set_used(s, 0);
    atomic_store_explicit(&s->block_size, size, memory_order_relaxed);
    s->bump = first;
    s->end = first + capacity * size;
    s->capacity = capacity;
    s->cls = (uint8_t)cls;
    s->state = SLAB_CURRENT;
    atomic_store_explicit(&s->owner, h, memory_order_relaxed);
    atomic_store_explicit(&s->fast_owner, h, memory_order_relaxed);
}

/* Carve up to a page's worth of blocks from the slab's untouched end onto its
 * free list, in address order. False when nothing is left to carve. */
static bool slab_carve(struct slab *s)
{
    if (s->bump >= s->end)
        return false;
    uint32_t size = block_size_of(s);
    uint32_t n = CARVE_BYTES / size, left = (s->end - s->bump) / size;
    if (n == 0)
        n = 1;
    if (n > left)
        n = left;
    char *first = unit_base(s) + s->bump, *b = first;
    for (uint32_t i = 1; i < n; i++, b += size)
        *(void **)b = b + size;
    *(void **)b = s->free;
    s->free = first;
    s->bump += n * size;
    return true;
}

/* Move the blocks other threads freed into s onto its free list (a BUSY
 * bit stays where it is; a NOTIFY bit means that there are none). */
static bool slab_collect(struct slab *s)
{
    uintptr_t old = atomic_load_explicit(&s->remote, memory_order_relaxed);
    if (!(old & ~REMOTE_FLAGS))
        return false;
    while (!atomic_compare_exchange_weak_explicit(&s->remote, &old, old & REMOTE_BUSY,
                                                  memory_order_acquire, memory_order_relaxed)) {
    }
    void *list = (void *)(old & ~REMOTE_FLAGS);
    uint32_t n = 1;
    void *tail = list;
    while (*(void **)tail) {
        tail = *(void **)tail;
        n++;
    }
    *(void **)tail = s->free;
    s->free = list;
    set_used(s, used_of(s) - n);
    return true;
}

/* Point the thread's current slab for cls (and its direct slots) at s. */
static void set_current(struct tls_heap *t, unsigned cls, struct slab *s)
{
    t->current[cls] = s;
    uint32_t size = class_size(cls);
    if (size > DIRECT_MAX)
        return;
    uint32_t lo = (cls ? class_size(cls - 1) : 0) / 16 + 1;
    for (uint32_t i = lo; i <= size / 16; i++)
        t->direct[i] = s;
}

/* An empty slab (used == 0) of h that is not current: keep it in h's cache or
 * give its unit back. */
static void slab_retire_empty(struct heap *h, struct slab *s)
{
    atomic_store_explicit(&s->fast_owner, NULL, memory_order_relaxed);
    if (h->n_empty < EMPTY_SLABS_KEPT) {
        s->state = SLAB_EMPTY;
        atomic_store_explicit(&s->block_size, 0, memory_order_relaxed);
        slab_link(&h->empty, s);
        h->n_empty++;
        return;
    }
    pthread_mutex_lock(&am__slab_g.lock);
    am__slab_unit_release(s);
    pthread_mutex_unlock(&am__slab_g.lock);
}

/* Fork and the hand-off (remote_free): a child must not inherit a BUSY bit
 * from a freer that does not exist there, or whoever waits for it waits
 * forever. So before a fork, new hand-offs wait and those under way finish;
 * like forksafe.c, not in a process without threads (a signal handler may
 * have interrupted this very thread in a hand-off). */
static _Atomic unsigned handoffs_under_way;
static _Atomic bool fork_pending;

static void handoff_before_fork(void)
{
    if (__libc_single_threaded)
        return;
    atomic_store(&fork_pending, true);
    while (atomic_load(&handoffs_under_way))
        sched_yield();
}

static void handoff_after_fork(void)
{
    atomic_store(&fork_pending, false);
}

/* Until no freer is in the middle of handing a block of s to its owner
 * (a few instructions, unless the freer was preempted there: then it needs
 * the CPU). */
static void wait_handoff(struct slab *s)
{
    while (atomic_load_explicit(&s->remote, memory_order_acquire) & REMOTE_BUSY)
        sched_yield();
}

/* The current slab s has no free block: put it on h's full list and ask the
 * remote freers to notify h. False (and s stays current, with blocks) when
 * a remote free raced in first. */
static bool slab_retire_full(struct heap *h, struct slab *s)
{
    uintptr_t expected = 0;
    while (!atomic_compare_exchange_strong_explicit(&s->remote, &expected, REMOTE_NOTIFY,
                                                    memory_order_acq_rel, memory_order_relaxed)) {
        if (slab_collect(s))
            return false;
        /* Only BUSY: the hand-off of an earlier full period is still on its
         * way (rare: it needs the owner to have drained it already). NOTIFY
         * must not go on before it is done. */
        wait_handoff(s);
        expected = 0;
    }
    s->state = SLAB_FULL;
    atomic_store_explicit(&s->fast_owner, NULL, memory_order_relaxed);
    slab_link(&h->full, s);
    return true;
}

/* Under am__slab_g.lock: hand s (owned by a heap that is letting go) to the pool, or
 * give its unit back when it is empty. */
static void slab_abandon_locked(struct slab *s)
{
    slab_collect(s);
    if (used_of(s) == 0) {
        am__slab_unit_release(s);
        return;
    }
    atomic_store_explicit(&s->fast_owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&s->owner, NULL, memory_order_release);
    s->state = SLAB_ABANDONED;
    slab_link(&st.abandoned[s->cls], s);
    st.n_abandoned++;
    abandoned_count(s->cls, 1);
}

/* Under am__slab_g.lock: take s out of the pool for h. */
static void slab_adopt_locked(struct heap *h, struct slab *s)
{
    slab_unlink(&st.abandoned[s->cls], s);
    st.n_abandoned--;
    abandoned_count(s->cls, -1);
    atomic_store_explicit(&s->owner, h, memory_order_release);
    slab_collect(s);
}

/* Under am__slab_g.lock: give back the units of abandoned slabs that remote frees
 * have emptied since. */
/* Collect an abandoned slab's remote frees; when that leaves it empty, take
 * it out of the pool and give it back to the segment manager (true). The
 * pool's lock is held. */
static bool release_if_empty_locked(unsigned cls, struct slab *s)
{
    slab_collect(s);
    if (used_of(s) != 0)
        return false;
    slab_unlink(&st.abandoned[cls], s);
    st.n_abandoned--;
    abandoned_count(cls, -1);
    am__slab_unit_release(s);
    return true;
}

static void sweep_abandoned_locked(void)
{
    for (unsigned cls = 0; cls < N_CLASSES && st.n_abandoned; cls++) {
        struct slab *next;
        for (struct slab *s = st.abandoned[cls]; s; s = next) {
            next = s->next;
            release_if_empty_locked(cls, s);
        }
    }
}

/* ===========================================================================
 * Heaps: a thread's first allocation, its exit, fork
 * ======================================================================== */

static void drain_delayed(struct heap *h)
{
    void *b = atomic_exchange_explicit(&h->delayed, NULL, memory_order_acquire);
    while (b) {
        void *next = *(void **)b;
        slab_free(b);
        b = next;
    }
}

static void tls_reset(struct tls_heap *t)
{
    for (unsigned i = 0; i < DIRECT_SLOTS; i++)
        t->direct[i] = &empty_slab;
    for (unsigned i = 0; i < N_CLASSES; i++)
        t->current[i] = &empty_slab;
    t->heap = &no_heap;
}

static struct heap *heap_new_locked(void)
{
    size_t size = am__align_up(sizeof(struct heap), 64);
    if (st.meta_left < size) {
        size_t chunk = 64 * 1024;
        void *p;
        if (am__os_map(chunk, &p) != 0)
            return NULL;
        st.meta = p;
        st.meta_left = chunk;
    }
    struct heap *h = (struct heap *)st.meta;
    st.meta += size;
    st.meta_left -= size;
    h->next_all = st.all;
    st.all = h;
    return h;
}

static struct heap *heap_attach(void)
{
    pthread_mutex_lock(&am__slab_g.lock);
    struct heap *h = st.pooled;
    if (h)
        st.pooled = h->next_pooled;
    else
        h = heap_new_locked();
    if (h)
        h->tls = &tls;
    pthread_mutex_unlock(&am__slab_g.lock);
    if (!h)
        return NULL;
    tls.heap = h;
    pthread_setspecific(st.key, h);
    return h;
}

/* The thread owning h is exiting: stop notifications, wait for the hand-offs
 * under way (they read h as the owner and push onto h->delayed), take in the
 * blocks already notified, then hand every slab to the pool (or back to the
 * segment manager when empty). */
static void heap_abandon(struct heap *h)
{
    pthread_mutex_lock(&st.notify_lock);
    for (struct slab *s = h->full; s; s = s->next) {
        atomic_fetch_and_explicit(&s->remote, ~REMOTE_NOTIFY, memory_order_relaxed);
        wait_handoff(s);
    }
    /* A hand-off may outlive the full period that started it: the owner can
     * have drained the block and moved the slab on before the freer cleared
     * BUSY. */
    for (unsigned cls = 0; cls < N_CLASSES; cls++) {
        if (tls.current[cls] != &empty_slab)
            wait_handoff(tls.current[cls]);
        for (struct slab *s = h->partial[cls].head; s; s = s->next)
            wait_handoff(s);
    }
    pthread_mutex_unlock(&st.notify_lock);
    drain_delayed(h);

    pthread_mutex_lock(&am__slab_g.lock);
    for (unsigned cls = 0; cls < N_CLASSES; cls++) {
        struct slab *s = tls.current[cls];
        if (s != &empty_slab)
            slab_abandon_locked(s);
        while ((s = h->partial[cls].head)) {
            queue_remove(&h->partial[cls], s);
            slab_abandon_locked(s);
        }
    }
    for (struct slab *s; (s = h->full);) {
        slab_unlink(&h->full, s);
        slab_abandon_locked(s);
    }
    for (struct slab *s; (s = h->empty);) {
        slab_unlink(&h->empty, s);
        am__slab_unit_release(s);
    }
    h->n_empty = 0;
    /* Frees by threads that exited before this one are all in: what they
     * emptied in the pool goes back now. */
    sweep_abandoned_locked();
    h->tls = NULL;
    h->next_pooled = st.pooled;
    st.pooled = h;
    pthread_mutex_unlock(&am__slab_g.lock);
    tls_reset(&tls);
}

static void thread_exit(void *arg)
{
    /* fini may have reset this thread's heap since the key was set. */
    if (tls.heap == arg)
        heap_abandon(arg);
}

static char class_stat_names[N_CLASSES][24];
static int setup_err;

static void setup(void)
{
    pthread_key_create(&st.key, thread_exit);
    /* In the order the code takes them: notify_lock, then am__slab_g.lock. */
    setup_err = am__forksafe_register(&st.notify_lock);
    if (!setup_err)
        setup_err = am__forksafe_register(&am__slab_g.lock);
    if (!setup_err)
        setup_err = pthread_atfork(handoff_before_fork, handoff_after_fork, handoff_after_fork);
    for (unsigned c = 0; c < N_CLASSES; c++)
        snprintf(class_stat_names[c], sizeof class_stat_names[c], "live_bytes_%u", class_size(c));
}

/* ===========================================================================
 * malloc and free
 * ======================================================================== */

static inline void *slab_pop(struct slab *s)
{
    void *b = s->free;
    s->free = *(void **)b;
    set_used(s, used_of(s) + 1);
    return b;
}

/* Slabs of the pool a refill looks at for free blocks before it carves. */
#define ABANDONED_SCAN 8

/* A slab of the pool of class cls with free blocks (resident already, unlike
 * the pages a carve would touch), adopted by h as its current one; NULL when
 * the first few in the pool have none. Those that remote frees emptied go
 * back to the segment manager on the way. */
static struct slab *adopt_with_free(struct heap *h, unsigned cls)
{
    struct slab *found = NULL, *next;
    unsigned seen = 0;
    pthread_mutex_lock(&am__slab_g.lock);
    for (struct slab *s = st.abandoned[cls]; s && seen < ABANDONED_SCAN; s = next, seen++) {
        next = s->next;
        if (!release_if_empty_locked(cls, s) && s->free) {
            slab_adopt_locked(h, s);
            s->state = SLAB_CURRENT;
            atomic_store_explicit(&s->fast_owner, h, memory_order_relaxed);
            found = s;
            break;
        }
    }
    pthread_mutex_unlock(&am__slab_g.lock);
    return found;
}

/* A slab of class cls with a free block for h, made current; NULL when out of
 * memory. */
static struct slab *refill(struct heap *h, unsigned cls)
{
    struct slab *s = tls.current[cls];
    /* Blocks freed by other threads first: they are resident already. */
    if (s != &empty_slab && slab_collect(s))
        return s;
    if (atomic_load_explicit(&h->delayed, memory_order_relaxed)) {
        drain_delayed(h);
        if (s->free)
            return s;
    }
    if (s != &empty_slab) {
        /* Free blocks of a partial slab before fresh pages of this one:
         * they are resident, carving faults pages in. A slab with pages
         * left to carve waits in the partial queue for its turn. */
        if (s->bump < s->end) {
            if (!h->partial[cls].head) {
                struct slab *a = atomic_load_explicit(&abandoned_hint[cls], memory_order_relaxed)
                                     ? adopt_with_free(h, cls)
                                     : NULL;
                if (!a) {
                    slab_carve(s);
                    return s;
                }
                s->state = SLAB_PARTIAL;
                queue_push(&h->partial[cls], s);
                set_current(&tls, cls, a);
                return a;
            }
            s->state = SLAB_PARTIAL;
            queue_push(&h->partial[cls], s);
        } else if (!slab_retire_full(h, s)) {
            return s;
        }
    }

    if ((s = h->partial[cls].head)) {
        queue_remove(&h->partial[cls], s);
        s->state = SLAB_CURRENT;
        slab_collect(s);
    } else if ((s = h->empty)) {
        slab_unlink(&h->empty, s);
        h->n_empty--;
        slab_format(s, cls, h);
    } else {
        pthread_mutex_lock(&am__slab_g.lock);
        while ((s = st.abandoned[cls])) {
            slab_adopt_locked(h, s);
            if (s->free || s->bump < s->end)
                break;
            /* Adopted full: it waits on h's full list like h's own. */
            s->state = SLAB_CURRENT;
            if (slab_retire_full(h, s))
                continue;
            break;
        }
        if (s) {
            s->state = SLAB_CURRENT;
            atomic_store_explicit(&s->fast_owner, h, memory_order_relaxed);
        } else {
            if (st.n_abandoned)
                sweep_abandoned_locked();
            s = am__slab_unit_acquire();
        }
        pthread_mutex_unlock(&am__slab_g.lock);
        if (!s) {
            set_current(&tls, cls, &empty_slab);
            return NULL;
        }
        if (s->state == SLAB_FREE)
            slab_format(s, cls, h);
    }
    set_current(&tls, cls, s);
    if (!s->free)
        slab_carve(s);
    return s;
}

/* malloc's slow paths: NULL comes with errno ENOMEM (AM_CAP_OWN_ERRNO). */
__attribute__((noinline, cold)) static void *out_of_memory(void)
{
    errno = ENOMEM;
    return NULL;
}

__attribute__((noinline)) static void *large_malloc(size_t n)
{
    bool fresh;
    void *p = am__slab_large_alloc(n, AM_MIN_ALIGN, &fresh);
    return p ? p : out_of_memory();
}

__attribute__((noinline)) static void *malloc_slow(size_t n)
{
    if (n > MAX_CLASS_SIZE)
        return large_malloc(n);
    struct heap *h = tls.heap;
    if (h == &no_heap && !(h = heap_attach()))
        return out_of_memory();
    struct slab *s = refill(h, class_of(n));
    return s ? slab_pop(s) : out_of_memory();
}

static void *slab_malloc(size_t n)
{
    struct slab *s;
    if (likely(n <= DIRECT_MAX))
        s = tls.direct[(n + 15) >> 4];
    else if (n <= MAX_CLASS_SIZE)
        s = tls.current[class_of(n)];
    else
        return large_malloc(n);
    if (unlikely(!s->free))
        return malloc_slow(n);
    return slab_pop(s);
}

/* A free by the owner into a slab on its full list: back to the partial list
 * (or the empty cache). */
static void free_into_full(struct heap *h, struct slab *s, void *p)
{
    *(void **)p = s->free;
    s->free = p;
    uint32_t used = used_of(s) - 1;
    set_used(s, used);
    atomic_fetch_and_explicit(&s->remote, ~REMOTE_NOTIFY, memory_order_relaxed);
    slab_unlink(&h->full, s);
    if (used == 0) {
        slab_retire_empty(h, s);
        return;
    }
    s->state = SLAB_PARTIAL;
    atomic_store_explicit(&s->fast_owner, h, memory_order_relaxed);
    queue_push(&h->partial[s->cls], s);
}

/* A free by another thread. The block goes onto the slab's remote list; if
 * the owner is waiting for news of the slab (NOTIFY), the one freer whose
 * CAS turns NOTIFY into BUSY gives the block to the owner heap's delayed
 * list instead, then clears BUSY. Without a lock: the owner read under BUSY
 * is still alive and still the owner, because a heap letting go of its
 * slabs first waits for every BUSY bit on them to clear (heap_abandon). No
 * freer waits for another here: while one hands off, the others push onto
 * the list as usual (the owner's next collect finds them); a hand-off only
 * waits while a fork is being prepared (handoff_before_fork). */
static void remote_free(struct slab *s, void *p)
{
    uintptr_t old = atomic_load_explicit(&s->remote, memory_order_relaxed);
    for (;;) {
        if (old == REMOTE_NOTIFY) {
            /* Counted, then the fork flag read (both sequentially consistent,
             * against the store and read in handoff_before_fork). */
            atomic_fetch_add(&handoffs_under_way, 1);
            if (atomic_load(&fork_pending) ||
                !atomic_compare_exchange_strong_explicit(
                    &s->remote, &old, REMOTE_BUSY, memory_order_acquire, memory_order_relaxed)) {
                atomic_fetch_sub(&handoffs_under_way, 1);
                while (atomic_load(&fork_pending))
                    sched_yield();
                old = atomic_load_explicit(&s->remote, memory_order_relaxed);
                continue;
            }
            struct heap *h = atomic_load_explicit(&s->owner, memory_order_acquire);
            void *head = atomic_load_explicit(&h->delayed, memory_order_relaxed);
            do {
                *(void **)p = head;
            } while (!atomic_compare_exchange_weak_explicit(
                &h->delayed, &head, p, memory_order_release, memory_order_relaxed));
            atomic_fetch_and_explicit(&s->remote, ~REMOTE_BUSY, memory_order_release);
            atomic_fetch_sub_explicit(&handoffs_under_way, 1, memory_order_release);
            return;
        }
        *(uintptr_t *)p = old & ~REMOTE_FLAGS;
        if (atomic_compare_exchange_weak_explicit(&s->remote, &old,
                                                  (uintptr_t)p | (old & REMOTE_BUSY),
                                                  memory_order_release, memory_order_relaxed))
            return;
    }
}

/* A free into a slab in the pool: the freeing thread adopts the slab, so
 * that memory freed after its thread exited comes back. False when someone
 * else took it first. */
static bool free_adopting(struct heap *h, struct slab *s, void *p)
{
    pthread_mutex_lock(&am__slab_g.lock);
    bool adoptable =
        atomic_load_explicit(&s->owner, memory_order_acquire) == NULL && s->state == SLAB_ABANDONED;
    if (adoptable) {
        slab_adopt_locked(h, s);
        *(void **)p = s->free;
        s->free = p;
        uint32_t used = used_of(s) - 1;
        set_used(s, used);
        if (used == 0) {
            am__slab_unit_release(s);
        } else {
            s->state = SLAB_PARTIAL;
            atomic_store_explicit(&s->fast_owner, h, memory_order_relaxed);
            queue_push(&h->partial[s->cls], s);
        }
    }
    pthread_mutex_unlock(&am__slab_g.lock);
    return adoptable;
}

/* free's slow paths may reach munmap or madvise: they keep errno, as the
 * vtable promises (AM_CAP_OWN_ERRNO). */
__attribute__((noinline)) static void free_emptied(struct heap *h, struct slab *s)
{
    int saved = errno;
    queue_remove(&h->partial[s->cls], s);
    slab_retire_empty(h, s);
    errno = saved;
}

__attribute__((noinline)) static void free_rare(struct segment *seg, struct slab *s, void *p,
                                                struct heap *h, struct heap *owner)
{
    int saved = errno;
    if (seg->kind == SEG_KIND_LARGE)
        am__slab_large_free(seg);
    else if (owner == h)
        free_into_full(h, s, p);
    else if (h == &no_heap || !free_adopting(h, s, p))
        remote_free(s, p);
    errno = saved;
}

/* A block of another thread's slab (the common case here: one CAS, no call
 * that could touch errno), or one of the rare cases above. */
__attribute__((noinline)) static void free_slow(struct segment *seg, struct slab *s, void *p)
{
    struct heap *h = tls.heap;
    struct heap *owner = atomic_load_explicit(&s->owner, memory_order_acquire);
    if (likely(seg->kind != SEG_KIND_LARGE && owner != h && owner != NULL))
        remote_free(s, p);
    else
        free_rare(seg, s, p, h, owner);
}

/* A block freed again while it heads its slab's free list (the common double
 * free: nothing else of that slab was freed in between) would be handed out
 * twice by the next two mallocs. Stop the process, as glibc does. */
__attribute__((noinline, cold, noreturn)) static void double_free(void *p)
{
    char line[64];
    int n = snprintf(line, sizeof line, "slab: double free of %p\n", p);
    if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* stderr is gone; abort all the same */
    }
    abort();
}

static void slab_free(void *p)
{
    struct segment *seg = segment_of(p);
    struct slab *s = slab_of(seg, p);
    struct heap *h = tls.heap;
    if (likely(atomic_load_explicit(&s->fast_owner, memory_order_relaxed) == h)) {
        if (unlikely(p == s->free))
            double_free(p);
        *(void **)p = s->free;
        s->free = p;
        uint32_t used = used_of(s) - 1;
        set_used(s, used);
        /* An emptied partial slab leaves; the current one stays for reuse. */
        if (unlikely(used == 0) && s->state == SLAB_PARTIAL)
            free_emptied(h, s);
        return;
    }
    free_slow(seg, s, p);
}

/* ===========================================================================
 * The rest of the vtable
 * ======================================================================== */

static size_t slab_usable_size(void *p)
{
    struct segment *seg = segment_of(p);
    if (seg->kind == SEG_KIND_LARGE)
        return seg->usable;
    return block_size_of(slab_of(seg, p));
}

static void *slab_realloc(void *p, size_t n)
{
    struct segment *seg = segment_of(p);
    bool large = seg->kind == SEG_KIND_LARGE;
    size_t old = large ? seg->usable : block_size_of(slab_of(seg, p));
    /* Keep the block unless a much smaller one would do (a large run may be
     * up to four times its request, as the cache of large runs hands out). */
    if (n <= old && (n >= old / (large ? 4 : 2) || old <= 32))
        return p;
    if (large && n > MAX_CLASS_SIZE) {
        int saved = errno;
        void *q = am__slab_large_resize(seg, p, n);
        errno = saved;
        if (q)
            return q;
    }
    void *q = slab_malloc(n);
    if (!q)
        return n <= old ? p : NULL;
    am_memcpy(q, p, n < old ? n : old);
    slab_free(p);
    return q;
}

static void *slab_aligned(size_t align, size_t n)
{
    if (align <= SLAB_ALIGN_MAX && n <= MAX_CLASS_SIZE) {
        /* Blocks of a class whose size is a multiple of align are aligned. */
        for (unsigned cls = class_of(n < align ? align : n); cls < N_CLASSES; cls++)
            if (class_size(cls) % align == 0)
                return slab_malloc(class_size(cls));
    }
    bool fresh;
    return am__slab_large_alloc(n, align, &fresh);
}

/* calloc: a large block fresh from mmap is zero already; writing zeros over
 * it would only fault in every page (a program's big calloc'd table may
 * never touch most of them). Everything else is cleared. */
static void *slab_calloc(size_t n)
{
    if (n > MAX_CLASS_SIZE) {
        bool fresh;
        void *p = am__slab_large_alloc(n, AM_MIN_ALIGN, &fresh);
        if (!p)
            return out_of_memory();
        if (!fresh)
            am_memset(p, 0, n);
        return p;
    }
    void *p = slab_malloc(n);
    if (p)
        am_memset(p, 0, n);
    return p;
}

static int slab_init(void)
{
    pthread_once(&setup_once, setup);
    return setup_err;
}

/* Everything back to the OS. Other threads must not be using the allocator;
 * their thread-local state is reset through their heaps. Heap structs stay
 * (a key destructor may still look at them). */
static void slab_fini(void)
{
    pthread_mutex_lock(&st.notify_lock);
    pthread_mutex_lock(&am__slab_g.lock);
    st.pooled = NULL;
    for (struct heap *h = st.all; h; h = h->next_all) {
        if (h->tls)
            tls_reset(h->tls);
        struct heap *keep = h->next_all;
        memset(h, 0, sizeof *h);
        h->next_all = keep;
        h->next_pooled = st.pooled;
        st.pooled = h;
    }
    memset(st.abandoned, 0, sizeof st.abandoned);
    st.n_abandoned = 0;
    for (unsigned c = 0; c < N_CLASSES; c++)
        atomic_store_explicit(&abandoned_hint[c], 0, memory_order_relaxed);
    am__slab_segments_reset();
    pthread_mutex_unlock(&am__slab_g.lock);
    pthread_mutex_unlock(&st.notify_lock);
}

static int slab_stats(struct am_stats *out)
{
    size_t live[N_CLASSES] = {0};
    pthread_mutex_lock(&am__slab_g.lock);
    out->os_bytes = am__slab_g.os_bytes;
    out->os_bytes_peak = am__slab_g.os_bytes_peak;
    out->live_bytes = am__slab_g.large_usable;
    out->live_blocks = am__slab_g.n_large;
    for (struct segment *seg = am__slab_g.segments; seg; seg = seg->next) {
        for (uint64_t m = ~seg->free_mask; m; m &= m - 1) {
            struct slab *s = &seg->units[__builtin_ctzll(m)];
            uint32_t size = block_size_of(s), used = used_of(s);
            if (size) {
                live[class_of(size)] += (size_t)used * size;
                out->live_bytes += (size_t)used * size;
                out->live_blocks += used;
            }
        }
    }
    const struct {
        const char *name;
        size_t value;
    } extra[] = {
        {"segments", am__slab_g.n_segments},
        {"large_blocks", am__slab_g.n_large},
        {"resident_free_bytes", am__slab_g.dirty_units * UNIT_SIZE},
        {"large_cached_runs", am__slab_g.n_cached},
        {"large_cached_bytes", am__slab_g.cached_bytes},
        {"abandoned_slabs", st.n_abandoned},
        {"purges", am__slab_g.purges},
    };
    pthread_mutex_unlock(&am__slab_g.lock);
    for (unsigned i = 0; i < sizeof extra / sizeof extra[0]; i++)
        am__stats_extra(out, extra[i].name, extra[i].value);
    for (unsigned c = 0; c < N_CLASSES; c++)
        if (live[c])
            am__stats_extra(out, class_stat_names[c], live[c]);
    return 0;
}

/* ---- verify ---- */

#define FAIL(...)                        \
    do {                                 \
        snprintf(why, len, __VA_ARGS__); \
        return EFAULT;                   \
    } while (0)

/* A slab whose lists the calling thread may walk (its own, or in the pool). */
static int check_slab(const struct slab *s, char *why, size_t len)
{
    uint32_t size = block_size_of(s);
    if (s->cls >= N_CLASSES || size != class_size(s->cls))
        FAIL("slab %p: block size %u, class %u", (void *)s, size, s->cls);
    uint32_t first = unit_first_offset(unit_index(s));
    if (s->capacity != ((uint32_t)UNIT_SIZE - first) / size ||
        s->end != first + s->capacity * size || s->bump < first || s->bump > s->end ||
        (s->bump - first) % size)
        FAIL("slab %p: capacity %u, carved to %u of %u", (void *)s, s->capacity, s->bump, s->end);
    const char *base = unit_base(s);
    uint32_t n_free = 0;
    for (const void *b = s->free; b; b = *(void *const *)b) {
        uint32_t off = (uint32_t)((const char *)b - base);
        if ((const char *)b < base + first || off >= s->bump || (off - first) % size)
            FAIL("slab %p (class %u): free block %p out of place", (void *)s, size, b);
        if (++n_free > s->capacity)
            FAIL("slab %p: free list longer than the slab (a cycle?)", (void *)s);
    }
    uint32_t carved = (s->bump - first) / size;
    if (n_free + used_of(s) != carved)
        FAIL("slab %p (class %u): %u free + %u used != %u carved", (void *)s, size, n_free,
             used_of(s), carved);
    return 0;
}

static int check_list(const struct slab *head, struct heap *owner, enum slab_state state, char *why,
                      size_t len)
{
    const struct slab *prev = NULL;
    for (const struct slab *s = head; s; prev = s, s = s->next) {
        if (s->prev != prev || s->state != state ||
            atomic_load_explicit(&s->owner, memory_order_relaxed) != owner)
            FAIL("slab %p: list links, state %u or owner wrong (want state %u)", (void *)s,
                 s->state, state);
        if (state != SLAB_EMPTY && check_slab(s, why, len))
            return EFAULT;
    }
    return 0;
}

static int slab_verify(char *why, size_t len)
{
    int err;
    struct heap *h = tls.heap;
    pthread_mutex_lock(&am__slab_g.lock);
    err = am__slab_segments_verify(why, len);
    for (unsigned c = 0; c < N_CLASSES && !err; c++)
        err = check_list(st.abandoned[c], NULL, SLAB_ABANDONED, why, len);
    if (!err && h != &no_heap) {
        for (unsigned c = 0; c < N_CLASSES && !err; c++) {
            struct slab *s = tls.current[c];
            err = check_list(h->partial[c].head, h, SLAB_PARTIAL, why, len);
            const struct slab *last = h->partial[c].head;
            while (last && last->next)
                last = last->next;
            if (!err && last != h->partial[c].tail) {
                snprintf(why, len, "class %u: the partial queue's tail is not its last slab", c);
                err = EFAULT;
            }
            if (!err && s != &empty_slab)
                err = check_list(s, h, SLAB_CURRENT, why, len);
            for (unsigned d = 1; d < DIRECT_SLOTS && !err; d++)
                if (class_of(d * 16) == c && tls.direct[d] != s) {
                    snprintf(why, len, "direct slot %u is not class %u's current slab", d, c);
                    err = EFAULT;
                }
        }
        if (!err)
            err = check_list(h->full, h, SLAB_FULL, why, len);
        if (!err)
            err = check_list(h->empty, h, SLAB_EMPTY, why, len);
    }
    pthread_mutex_unlock(&am__slab_g.lock);
    return err;
}

const struct am_allocator am_slab_allocator = {
    .name = "slab",
    .summary = "size-class slabs in aligned segments, thread-local heaps, remote-free lists",
    .caps = AM_CAP_THREAD_SAFE | AM_CAP_RETURNS_MEMORY | AM_CAP_REAL_FREE | AM_CAP_ALIGNED |
            AM_CAP_OWN_ERRNO,
    /* Leaves room for a large run's header, alignment slack and rounding. */
    .max_request = (size_t)PTRDIFF_MAX - ((size_t)1 << 26),
    .init = slab_init,
    .fini = slab_fini,
    .malloc = slab_malloc,
    .free = slab_free,
    .realloc = slab_realloc,
    .calloc = slab_calloc,
    .aligned = slab_aligned,
    .usable_size = slab_usable_size,
    .stats = slab_stats,
    .verify = slab_verify,
};
