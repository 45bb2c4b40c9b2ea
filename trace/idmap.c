/*
 * idmap.c: the open-addressing hash map of idmap.h.
 */
#include "idmap.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define INITIAL_CAPACITY 1024

static size_t home(const struct am_idmap *m, uint64_t key)
{
    /* Keys are sequential ids or aligned addresses: mix every bit in. */
    uint64_t h = key;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return (size_t)h & m->mask;
}

static struct am_idmap_entry *map_slots(size_t n)
{
    void *p = mmap(NULL, n * sizeof(struct am_idmap_entry), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int am_idmap_init(struct am_idmap *m)
{
    m->slot = map_slots(INITIAL_CAPACITY);
    if (!m->slot)
        return ENOMEM;
    m->mask = INITIAL_CAPACITY - 1;
    m->count = 0;
    return 0;
}

void am_idmap_fini(struct am_idmap *m)
{
    if (m->slot)
        munmap(m->slot, (m->mask + 1) * sizeof(struct am_idmap_entry));
    m->slot = NULL;
    m->mask = 0;
    m->count = 0;
}

struct am_idmap_entry *am_idmap_find(struct am_idmap *m, uint64_t key)
{
    for (size_t i = home(m, key);; i = (i + 1) & m->mask) {
        if (m->slot[i].key == key)
            return &m->slot[i];
        if (!m->slot[i].key)
            return NULL;
    }
}

static int rehash(struct am_idmap *m, size_t cap, bool populate)
{
    size_t old_cap = m->mask + 1;
    struct am_idmap_entry *old = m->slot, *n = map_slots(cap);
    if (!n)
        return ENOMEM;
    m->slot = n;
    m->mask = cap - 1;
    for (size_t k = 0; k < old_cap; k++) {
        if (!old[k].key)
            continue;
        size_t i = home(m, old[k].key);
        while (n[i].key)
            i = (i + 1) & m->mask;
        n[i] = old[k];
    }
    munmap(old, old_cap * sizeof *old);
    if (populate)
        for (size_t k = 0; k < cap * sizeof *n; k += 4096)
            ((volatile char *)n)[k] = ((volatile char *)n)[k];
    return 0;
}

static int grow(struct am_idmap *m)
{
    return rehash(m, (m->mask + 1) * 2, false);
}

int am_idmap_reserve(struct am_idmap *m, size_t capacity)
{
    size_t cap = m->mask + 1;
    while (cap < capacity)
        cap *= 2;
    if (cap == m->mask + 1) {
        for (size_t k = 0; k < cap * sizeof *m->slot; k += 4096)
            ((volatile char *)m->slot)[k] = ((volatile char *)m->slot)[k];
        return 0;
    }
    return rehash(m, cap, true);
}

struct am_idmap_entry *am_idmap_insert(struct am_idmap *m, uint64_t key)
{
    if ((m->count + 1) * 8 > (m->mask + 1) * 5 && grow(m) != 0)
        return NULL;
    size_t i = home(m, key);
    while (m->slot[i].key)
        i = (i + 1) & m->mask;
    memset(&m->slot[i], 0, sizeof m->slot[i]);
    m->slot[i].key = key;
    m->count++;
    return &m->slot[i];
}

bool am_idmap_remove(struct am_idmap *m, uint64_t key, struct am_idmap_entry *out)
{
    struct am_idmap_entry *e = am_idmap_find(m, key);
    if (!e)
        return false;
    if (out)
        *out = *e;
    /* Backward shift: pull later entries of the probe run into the hole
     * whenever their home position allows it. */
    size_t hole = (size_t)(e - m->slot);
    for (size_t i = (hole + 1) & m->mask; m->slot[i].key; i = (i + 1) & m->mask) {
        size_t h = home(m, m->slot[i].key);
        /* Entry i may move to hole if hole lies cyclically in [h, i). */
        bool movable = hole <= i ? (h <= hole || h > i) : (h <= hole && h > i);
        if (movable) {
            m->slot[hole] = m->slot[i];
            hole = i;
        }
    }
    m->slot[hole].key = 0;
    m->count--;
    return true;
}
