/*
 * backend_test.h: what the in-house backends' unit tests share: a statistic
 * by name, the backend's own check as a CHECK, and a randomized test of an
 * allocator against a shadow model. The
 * model holds every live block's size, alignment and a tag from which all of
 * its bytes follow; each operation (malloc, calloc, posix_memalign, realloc up
 * or down, free) is checked against it: contents kept across realloc, calloc
 * zeroed, alignment, usable_size, no block overwritten by another. Every
 * `check_every` operations the backend's own check must pass, its live-block
 * count must match the model's, and every live block is read back in full.
 *
 * Header-only, like testhelper.h, so that its CHECKs count in the test that
 * includes it. Layering: depends on allocators/ (the front end) and
 * testhelper.h.
 */
#ifndef AM_BACKEND_TEST_H
#define AM_BACKEND_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "testhelper.h"

/* A statistic by name: "os_bytes", "live_blocks" or an extra; SIZE_MAX when
 * the backend has no such number. */
__attribute__((unused)) static size_t am_stat_named(struct am_heap *h, const char *name)
{
    struct am_stats s;
    if (am_stats(h, &s) != 0)
        return SIZE_MAX;
    if (!strcmp(name, "os_bytes"))
        return s.os_bytes;
    if (!strcmp(name, "live_blocks"))
        return s.live_blocks;
    for (unsigned i = 0; i < s.n_extra; i++)
        if (!strcmp(s.extra[i].name, name))
            return s.extra[i].value;
    return SIZE_MAX;
}

/* The backend's own check passes; `when` says where in the test. */
__attribute__((unused)) static bool am_heap_sound(struct am_heap *h, const char *when)
{
    char why[256];
    return CHECK(am_verify(h, why, sizeof why) == 0, "%s: %s", when, why);
}

struct am_shadow_plan {
    unsigned long ops;    /* operations to run */
    unsigned slots;       /* live blocks at most */
    size_t largest;       /* the largest request (1 in 100 requests is large) */
    size_t largest_align; /* posix_memalign alignments from 32 up to this */
    unsigned check_every; /* am_check and a full read-back this often */
    uint64_t seed;
};

struct shadow_slot {
    unsigned char *p;
    size_t n, align;
    uint64_t tag;
};

static uint64_t shadow_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* The 8 bytes at offset 8 * i of a block tagged `tag`. */
static uint64_t shadow_word_at(uint64_t tag, size_t i)
{
    return (tag + i) * 0x9E3779B97F4A7C15ULL ^ tag;
}

static void shadow_paint(struct shadow_slot *s, size_t from)
{
    for (size_t i = from / 8; i * 8 < s->n; i++) {
        uint64_t w = shadow_word_at(s->tag, i);
        size_t k = s->n - i * 8 < 8 ? s->n - i * 8 : 8;
        memcpy(s->p + i * 8, &w, k);
    }
}

/* The first byte of [0, n) that differs from the model, or n. */
static size_t shadow_first_bad(const unsigned char *p, size_t n, uint64_t tag)
{
    for (size_t i = 0; i * 8 < n; i++) {
        uint64_t w = shadow_word_at(tag, i);
        size_t k = n - i * 8 < 8 ? n - i * 8 : 8;
        if (memcmp(p + i * 8, &w, k) != 0)
            return i * 8;
    }
    return n;
}

static size_t shadow_random_size(uint64_t *seed, size_t largest)
{
    uint64_t r = shadow_random(seed);
    unsigned bucket = (unsigned)(r % 100);
    r >>= 8;
    if (bucket == 0)
        return 1 + (size_t)(r % largest);
    if (bucket < 20)
        return 257 + (size_t)(r % 3840);
    return 1 + (size_t)(r % 256);
}

/* A block just handed out: aligned, usable, and in step with the model. */
static bool shadow_fresh_block_ok(struct am_heap *h, const struct shadow_slot *s, const char *how)
{
    if (!CHECK(s->p != NULL, "%s(%zu, align %zu) failed: errno %d", how, s->n, s->align, errno))
        return false;
    if (!CHECK((uintptr_t)s->p % s->align == 0, "%s(%zu) = %p not %zu-aligned", how, s->n,
               (void *)s->p, s->align))
        return false;
    size_t usable = am_usable_size(h, s->p);
    return CHECK(usable >= s->n, "%s(%zu): usable_size %zu", how, s->n, usable);
}

static bool shadow_allocate(struct am_heap *h, struct shadow_slot *s, uint64_t *seed,
                            const struct am_shadow_plan *plan, uint64_t tag)
{
    uint64_t r = shadow_random(seed);
    s->n = shadow_random_size(seed, plan->largest);
    s->align = 16;
    s->tag = tag;
    const char *how;
    switch (r % 16) {
    case 0:
    case 1:
        how = "calloc";
        s->p = am_calloc(h, 1, s->n);
        break;
    case 2: {
        how = "posix_memalign";
        s->align = (size_t)32 << ((r >> 8) % 16);
        while (s->align > plan->largest_align)
            s->align /= 2;
        void *p = NULL;
        errno = am_posix_memalign(h, &p, s->align, s->n);
        s->p = p;
        break;
    }
    case 3:
        how = "realloc(NULL)";
        s->p = am_realloc(h, NULL, s->n);
        break;
    default:
        how = "malloc";
        s->p = am_malloc(h, s->n);
    }
    if (!shadow_fresh_block_ok(h, s, how))
        return false;
    if (r % 16 < 2) {
        for (size_t i = 0; i < s->n; i++)
            if (s->p[i] && !CHECK(false, "calloc(%zu) byte %zu is %d", s->n, i, s->p[i]))
                return false;
    }
    shadow_paint(s, 0);
    return true;
}

static bool shadow_intact(const struct shadow_slot *s, unsigned long op)
{
    size_t bad = shadow_first_bad(s->p, s->n, s->tag);
    return CHECK(bad == s->n, "op %lu: block %p (%zu bytes) differs at byte %zu", op, (void *)s->p,
                 s->n, bad);
}

static bool shadow_resize(struct am_heap *h, struct shadow_slot *s, uint64_t *seed,
                          const struct am_shadow_plan *plan, unsigned long op)
{
    size_t n = shadow_random_size(seed, plan->largest), keep = n < s->n ? n : s->n;
    unsigned char *q = am_realloc(h, s->p, n);
    if (!CHECK(q != NULL, "op %lu: realloc(%zu -> %zu) failed", op, s->n, n))
        return false;
    size_t bad = shadow_first_bad(q, keep, s->tag);
    if (!CHECK(bad == keep, "op %lu: realloc %zu -> %zu lost byte %zu", op, s->n, n, bad))
        return false;
    s->p = q;
    s->n = n;
    s->align = 16;
    if (!shadow_fresh_block_ok(h, s, "realloc"))
        return false;
    shadow_paint(s, keep); /* the kept prefix already matches the tag */
    return true;
}

static bool shadow_audit(struct am_heap *h, struct shadow_slot *slots, unsigned n, size_t live,
                         unsigned long op)
{
    char why[256];
    if (!CHECK(am_verify(h, why, sizeof why) == 0, "op %lu: %s", op, why))
        return false;
    size_t blocks = am_stat_named(h, "live_blocks");
    if (blocks != SIZE_MAX &&
        !CHECK(blocks == live, "op %lu: %zu live blocks, the model has %zu", op, blocks, live))
        return false;
    for (unsigned i = 0; i < n; i++)
        if (slots[i].p && !shadow_intact(&slots[i], op))
            return false;
    return true;
}

/* Run the plan on h, reporting through CHECK; false at the first mismatch.
 * Every block is freed at the end. */
__attribute__((unused)) static bool am_shadow_run(struct am_heap *h,
                                                  const struct am_shadow_plan *plan)
{
    struct shadow_slot *slots = calloc(plan->slots, sizeof *slots);
    if (!CHECK(slots != NULL))
        return false;
    uint64_t seed = plan->seed | 1, tags = 0;
    size_t live = 0;
    bool ok = true;
    for (unsigned long op = 0; ok && op < plan->ops; op++) {
        struct shadow_slot *s = &slots[shadow_random(&seed) % plan->slots];
        if (!s->p) {
            ok = shadow_allocate(h, s, &seed, plan, ++tags);
            live += ok;
        } else if (!(ok = shadow_intact(s, op))) {
            break;
        } else if (shadow_random(&seed) % 8 < 3) {
            ok = shadow_resize(h, s, &seed, plan, op);
        } else {
            am_free(h, s->p);
            s->p = NULL;
            live--;
        }
        if (ok && (op + 1) % plan->check_every == 0)
            ok = shadow_audit(h, slots, plan->slots, live, op);
    }
    for (unsigned i = 0; i < plan->slots; i++)
        if (slots[i].p)
            am_free(h, slots[i].p);
    free(slots);
    return ok && shadow_audit(h, NULL, 0, 0, plan->ops);
}

#endif /* AM_BACKEND_TEST_H */
