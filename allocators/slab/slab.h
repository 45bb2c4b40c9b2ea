/*
 * slab.h: the slab backend's private types and the functions its files share.
 *
 * Glossary (each type's invariants are next to it):
 *   unit     64 KiB of a segment; the grain the segment manager hands out.
 *   slab     a unit serving one size class; its descriptor (struct slab) lives
 *            in the segment header, so a block finds it with two masks.
 *   segment  4 MiB, aligned to 4 MiB: a header (descriptors of its 64 units)
 *            followed by the units. Unit 0 gives up its first pages to the
 *            header.
 *   large    a request above the largest class: its own run of pages from the
 *            OS, laid out like a segment header with one descriptor, so that
 *            free masks every pointer the same way. Freed runs wait a while
 *            in a bounded cache for the next large request.
 *   heap     a thread's slabs: the current slab per class (in thread-local
 *            storage), partial and full lists, a few empty slabs.
 *
 * Layering: depends on ../allocator.h, ../os.h and the C library.
 * Naming: am__slab_* is shared between the files of this folder; nothing here
 * is used outside it.
 */
#ifndef AM_SLAB_H
#define AM_SLAB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNIT_SHIFT    16
#define UNIT_SIZE     ((size_t)1 << UNIT_SHIFT)
#define SEG_SHIFT     22
#define SEG_SIZE      ((size_t)1 << SEG_SHIFT)
#define SEG_MASK      (SEG_SIZE - 1)
#define UNITS_PER_SEG (SEG_SIZE / UNIT_SIZE)
#define ALL_UNITS     (~(uint64_t)0)
_Static_assert(UNITS_PER_SEG == 64, "one 64-bit mask per segment");

/* Size classes: 16-byte steps to 128 B, then four per power of two to 32 KiB. */
#define N_CLASSES      40
#define MAX_CLASS_SIZE 32768
/* Requests up to this size index tls.direct by (n + 15) / 16. */
#define DIRECT_MAX   1024
#define DIRECT_SLOTS (DIRECT_MAX / 16 + 1)

/* The low bits of slab.remote (blocks are 16-byte aligned, so the list's
 * head leaves them free). NOTIFY: the owner has put the slab on its full
 * list and wants to hear about the next block freed into it; the list is
 * empty while it is set. BUSY: a freeing thread took NOTIFY off and is
 * handing its block to the owner heap's delayed list (see remote_free);
 * other frees push onto the list meanwhile, keeping the bit. */
#define REMOTE_NOTIFY ((uintptr_t)1)
#define REMOTE_BUSY   ((uintptr_t)2)
#define REMOTE_FLAGS  (REMOTE_NOTIFY | REMOTE_BUSY)

enum slab_state {
    SLAB_FREE,      /* unit not handed out by the segment manager */
    SLAB_CURRENT,   /* its heap allocates from it (tls.current) */
    SLAB_PARTIAL,   /* on its heap's partial list for its class */
    SLAB_FULL,      /* on its heap's full list; remote frees notify the heap */
    SLAB_EMPTY,     /* in its heap's cache of empty slabs, no class yet */
    SLAB_ABANDONED, /* its thread exited; in the global pool, owner NULL */
};

struct heap;

/*
 * A slab's descriptor. The first cache line is the owning thread's (malloc
 * reads and writes it); the second is what other threads touch when they
 * free into the slab, so a producer's allocations and a consumer's frees do
 * not fight over one line.
 *
 * Invariants: blocks handed out = used; used counts blocks sitting on the
 * remote list too, so used == 0 means every block is back on `free` or was
 * never carved. Carved blocks are those below `bump`; free + used == carved.
 */
struct slab {
    void *free;                  /* owner's free list (next pointer in the block) */
    _Atomic uint32_t used;       /* relaxed; written by the owner only */
    _Atomic uint32_t block_size; /* relaxed; 0 while the unit is no slab */
    uint32_t bump;               /* offset in the unit of the first uncarved block */
    uint32_t end;                /* offset in the unit past the last block */
    uint32_t capacity;
    uint8_t cls;
    uint8_t state;            /* enum slab_state */
    struct slab *next, *prev; /* partial, full, empty or abandoned list */

    _Alignas(64) _Atomic(struct heap *) fast_owner; /* owner while CURRENT/PARTIAL */
    _Atomic(struct heap *) owner;                   /* NULL when abandoned or free */
    _Atomic uintptr_t remote;                       /* blocks freed by others | NOTIFY */
};

enum { SEG_KIND_SMALL = 0x534c4142, SEG_KIND_LARGE = 0x4c415247 };

/* The header at the start of every segment and every large run. A large run
 * uses only the fields up to units[0]; its units[0] stays zero, so free's
 * owner test fails and sends it to the slow path, which reads `kind`. */
struct segment {
    uint32_t kind;
    uint32_t n_used;                     /* small: units handed out */
    struct segment *next, *prev;         /* g.segments, g.large or g.cache */
    uint64_t free_mask;                  /* small: units not handed out */
    uint64_t dirty_mask;                 /* small: free units whose pages may be resident */
    size_t map_len;                      /* large: bytes mapped from the header on */
    size_t usable;                       /* large: bytes from the user pointer to the end */
    uint32_t released_ms[UNITS_PER_SEG]; /* small: when each free unit was freed;
                                            large: [0], when the run was cached */
    struct slab units[UNITS_PER_SEG];
};

/* The header's size, rounded to pages: where unit 0's blocks start. */
#define SEG_HEADER_SIZE ((sizeof(struct segment) + 4095) & ~(size_t)4095)
/* A large run's header: everything up to and including units[0]. */
#define LARGE_HEADER_SIZE (offsetof(struct segment, units) + sizeof(struct slab))

static inline struct segment *segment_of(const void *p)
{
    /* p - 1: a block aligned to the segment size (a large block with a huge
     * alignment) has its header in the segment-sized span below it. */
    return (struct segment *)(((uintptr_t)p - 1) & ~(uintptr_t)SEG_MASK);
}

static inline struct slab *slab_of(struct segment *seg, const void *p)
{
    return &seg->units[((uintptr_t)p >> UNIT_SHIFT) & (UNITS_PER_SEG - 1)];
}

static inline unsigned unit_index(const struct slab *s)
{
    return (unsigned)((((uintptr_t)s & SEG_MASK) - offsetof(struct segment, units)) /
                      sizeof(struct slab));
}

static inline struct segment *segment_of_slab(const struct slab *s)
{
    return (struct segment *)((uintptr_t)s & ~(uintptr_t)SEG_MASK);
}

static inline char *unit_base(const struct slab *s)
{
    return (char *)segment_of_slab(s) + ((size_t)unit_index(s) << UNIT_SHIFT);
}

/* Where a unit's blocks may start, from the unit's base. */
static inline uint32_t unit_first_offset(unsigned index)
{
    return index == 0 ? (uint32_t)SEG_HEADER_SIZE : 0;
}

/* ---- size classes ---- */

static inline unsigned class_of(size_t n)
{
    if (n <= 128)
        return (unsigned)((n + 15) >> 4) - 1;
    size_t m = n - 1;
    unsigned k = 63u - (unsigned)__builtin_clzll(m);
    return 8 + (k - 7) * 4 + (unsigned)((m >> (k - 2)) & 3);
}

static inline uint32_t class_size(unsigned cls)
{
    if (cls < 8)
        return (cls + 1) * 16;
    unsigned j = cls - 8, k = 7 + j / 4;
    return (1u << k) + (j % 4 + 1) * (1u << (k - 2));
}

/* ---- the segment manager (segment.c), all under am__slab_g.lock ---- */

struct slab_global {
    pthread_mutex_t lock; /* everything in this struct, and the pools of slab.c */
    struct segment *segments, *large;
    size_t n_segments, n_large;
    size_t empty_segments; /* segments with every unit free, kept mapped */
    size_t dirty_units;    /* free units that may still be resident */
    size_t units_used;     /* units handed out, over all segments */
    size_t os_bytes, os_bytes_peak;
    size_t large_usable;           /* bytes in live large blocks */
    struct segment *cache;         /* freed large runs kept mapped, newest first */
    size_t n_cached, cached_bytes; /* in the cache (counted in os_bytes too) */
    uint32_t last_cache_scan_ms;
    size_t purges; /* madvise calls that gave pages back */
    uint32_t last_age_scan_ms;
};

extern struct slab_global am__slab_g;

/* A unit for a new slab (its descriptor zeroed but for `owner`-less fields),
 * or NULL when the OS has no memory. */
struct slab *am__slab_unit_acquire(void);
/* Give a unit back; its pages go back to the OS past a threshold or an age. */
void am__slab_unit_release(struct slab *s);
/* A large block of n bytes aligned to align (>= 16), or NULL. *fresh says
 * whether it was mapped for this call (all zero) or is a cached run. */
void *am__slab_large_alloc(size_t n, size_t align, bool *fresh);
void am__slab_large_free(struct segment *seg);
/* Resize the large block p of run seg to n bytes (n > MAX_CLASS_SIZE) by
 * remapping its pages, in place or moved; NULL (p untouched) when the caller
 * should copy instead. */
void *am__slab_large_resize(struct segment *seg, void *p, size_t n);
/* Unmap every segment and large run; counters back to zero. */
void am__slab_segments_reset(void);
/* Recount os_bytes from the segments; "" or what is inconsistent. */
int am__slab_segments_verify(char *why, size_t len);

#endif /* AM_SLAB_H */
