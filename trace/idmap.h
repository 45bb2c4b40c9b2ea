/*
 * idmap.h: a hash map from nonzero 64-bit keys (block ids, addresses) to a
 * block's facts, in memory from mmap (never malloc). Open addressing with
 * linear probing and backward-shift deletion, so no tombstones build up in a
 * long trace; it grows by doubling at 5/8 load.
 *
 * Layering: the trace library; depends on the C library and mmap only.
 */
#ifndef AM_TRACE_IDMAP_H
#define AM_TRACE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct am_idmap_entry {
    uint64_t key; /* 0: empty */
    uint64_t size;
    uint64_t ns;
    uint64_t user; /* the caller's own value */
    uint64_t id;   /* for address maps: the block's id */
    uint32_t thread;
    uint32_t spare;
};

struct am_idmap {
    struct am_idmap_entry *slot;
    size_t mask; /* capacity - 1 */
    size_t count;
};

/* Returns 0 or ENOMEM. */
int am_idmap_init(struct am_idmap *m);
void am_idmap_fini(struct am_idmap *m);
/* Grow (never shrink) to `capacity` entries (rounded up to a power of two),
 * populated now; 0 or ENOMEM. */
int am_idmap_reserve(struct am_idmap *m, size_t capacity);
/* The entry of key, or NULL. */
struct am_idmap_entry *am_idmap_find(struct am_idmap *m, uint64_t key);
/* Insert key (not present) and return its zeroed entry with the key set, or
 * NULL when out of memory. The pointer is valid until the next insert. */
struct am_idmap_entry *am_idmap_insert(struct am_idmap *m, uint64_t key);
/* Remove key, copying its entry to *out when out is not NULL. False when the
 * key is not there. */
bool am_idmap_remove(struct am_idmap *m, uint64_t key, struct am_idmap_entry *out);

/* Visit every entry (in no particular order). */
#define AM_IDMAP_FOREACH(m, e)                                                       \
    for (struct am_idmap_entry *e = (m)->slot; e && e <= (m)->slot + (m)->mask; e++) \
        if (e->key)

#endif /* AM_TRACE_IDMAP_H */
