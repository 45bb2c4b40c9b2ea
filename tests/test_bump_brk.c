/*
 * test_bump_brk.c: bump-brk shares the program break with glibc malloc.
 * glibc's heap grows and is trimmed between bump allocations; every block on
 * both sides carries its own pattern, and no byte of either may change. Also:
 * LIFO roll-back, waste accounting, and giving the break back.
 */
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"
#include "os.h"
#include "testhelper.h"

enum { SLOTS = 200, ROUNDS = 400 };

struct block {
    unsigned char *p;
    size_t n;
    unsigned char tag;
};

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
    return am_test_xorshift(&rng);
}

static void paint(struct block *b, unsigned char tag)
{
    b->tag = tag;
    memset(b->p, tag, b->n);
}

static bool intact(const struct block *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->p[i] != b->tag)
            return false;
    return true;
}

static bool overlaps(const struct block *a, const struct block *b)
{
    return a->p < b->p + b->n && b->p < a->p + a->n;
}

static struct block glibc_side[SLOTS], bump_side[SLOTS];

static void test_interleaving_with_glibc(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, am_find_allocator("bump-brk"), 0) == 0);
    /* Keep glibc on the break (its default for requests below 128 KiB). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    int bump_top = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* glibc grows its heap: blocks up to 100 KiB come from sbrk. */
        int s = (int)(next() % SLOTS);
        if (glibc_side[s].p)
            free(glibc_side[s].p);
        glibc_side[s].n = 1 + next() % (100 << 10);
        glibc_side[s].p = malloc(glibc_side[s].n);
        REQUIRE(glibc_side[s].p != NULL);
        paint(&glibc_side[s], (unsigned char)(round | 1));

        /* bump-brk pushes, and sometimes pops (LIFO) or frees out of order. */
        uint64_t r = next();
        if (bump_top < SLOTS && (r % 3 != 0 || bump_top == 0)) {
            struct block *b = &bump_side[bump_top++];
            b->n = 1 + next() % (200 << 10);
            b->p = am_malloc(&h, b->n);
            REQUIRE(b->p != NULL);
            paint(b, (unsigned char)(round & 0xFE));
        } else if (bump_top > 0) {
            struct block *b = &bump_side[--bump_top];
            CHECK(intact(b), "bump block %d changed before its free", bump_top);
            am_free(&h, b->p);
            b->p = NULL;
        }

        /* glibc frees a batch and trims its heap back to the OS. */
        if (round % 25 == 24) {
            for (int i = 0; i < SLOTS; i += 2) {
                free(glibc_side[i].p);
                glibc_side[i].p = NULL;
            }
            malloc_trim(0);
        }

        for (int i = 0; i < SLOTS; i++) {
            if (glibc_side[i].p && !CHECK(intact(&glibc_side[i]), "glibc block %d overwritten", i))
                return;
        }
        for (int i = 0; i < bump_top; i++) {
            if (!CHECK(intact(&bump_side[i]), "bump block %d overwritten (round %d)", i, round))
                return;
            for (int k = 0; k < SLOTS; k++)
                if (glibc_side[k].p && !CHECK(!overlaps(&bump_side[i], &glibc_side[k]),
                                              "bump block %d overlaps glibc block %d", i, k))
                    return;
        }
        char why[256];
        if (!CHECK(am_verify(&h, why, sizeof why) == 0, "round %d: %s", round, why))
            return;
    }
    for (int i = 0; i < SLOTS; i++)
        free(glibc_side[i].p);
    while (bump_top > 0)
        am_free(&h, bump_side[--bump_top].p);
    struct am_stats s;
    am_stats(&h, &s);
    CHECK(s.live_bytes == 0 && s.live_blocks == 0);
    am_heap_close(&h);
}

static size_t extra(const struct am_stats *s, const char *name)
{
    for (unsigned i = 0; i < s->n_extra; i++)
        if (!strcmp(s->extra[i].name, name))
            return s->extra[i].value;
    return SIZE_MAX;
}

static void test_lifo_and_waste(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, am_find_allocator("bump-brk"), 0) == 0);
    struct am_stats s;
    void *a = am_malloc(&h, 100), *b = am_malloc(&h, 200), *c = am_malloc(&h, 300);
    REQUIRE(a && b && c);
    am_free(&h, b); /* not the newest: only counted */
    am_stats(&h, &s);
    CHECK(extra(&s, "waste_bytes") == 208, "waste %zu", extra(&s, "waste_bytes"));
    void *d = am_malloc(&h, 16);
    CHECK((char *)d > (char *)c, "b's space must not be reused");
    am_free(&h, d);
    am_free(&h, c); /* the newest: rolls back over c and the freed b */
    am_stats(&h, &s);
    CHECK(extra(&s, "waste_bytes") == 0, "unwind left waste %zu", extra(&s, "waste_bytes"));
    void *e = am_malloc(&h, 16);
    CHECK(e == b, "after the unwind the next block starts where b was (%p, %p)", e, b);
    am_free(&h, e);
    am_free(&h, a);

    /* With nobody above us on the break, the last chunk stays, no larger than
     * one chunk; closing the heap gives it back. */
    am_stats(&h, &s);
    CHECK(s.live_bytes == 0);
    CHECK(extra(&s, "chunks") <= 1 && s.os_bytes <= (1u << 20), "%zu chunks, %zu OS bytes",
          extra(&s, "chunks"), s.os_bytes);
    void *brk_open = sbrk(0);
    am_heap_close(&h);
    CHECK(am_heap_open(&h, am_find_allocator("bump-brk"), 0) == 0);
    am_stats(&h, &s);
    CHECK(s.os_bytes == 0 && extra(&s, "chunks") == 0, "after fini: %zu OS bytes, %zu chunks",
          s.os_bytes, extra(&s, "chunks"));
    CHECK((char *)sbrk(0) <= (char *)brk_open, "fini left the break above where it was");
    am_heap_close(&h);
}

/* malloc(16) and free on an empty heap, a thousand times: the break moves a
 * handful of times, not twice per pair (it did: 2002 brk calls). Then a big
 * block and its free: the chunk it grew is cut back, not kept whole. */
static void test_break_hysteresis(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, am_find_allocator("bump-brk"), 0) == 0);
    /* Counted by watching the break after every call (nothing else moves it
     * here), and by the primitive layer's count of sbrk calls. */
    struct am_os_faults count_only = {.calls = AM_OS_SBRK, .skip = ULONG_MAX};
    am__os_faults_arm(&count_only);
    unsigned long moves = 0;
    char *last = sbrk(0);
    for (int i = 0; i < 1000; i++) {
        void *p = am_malloc(&h, 16);
        REQUIRE(p != NULL);
        moves += (char *)sbrk(0) != last;
        last = sbrk(0);
        am_free(&h, p);
        moves += (char *)sbrk(0) != last;
        last = sbrk(0);
    }
    unsigned long calls = am__os_faults_seen();
    CHECK(moves <= 4 && calls <= 4,
          "1000 malloc(16)/free pairs: the break moved %lu times, %lu sbrk calls", moves, calls);
    void *big = am_malloc(&h, (size_t)8 << 20);
    REQUIRE(big != NULL);
    am_free(&h, big);
    am__os_faults_arm(NULL);
    struct am_stats s;
    am_stats(&h, &s);
    CHECK(s.os_bytes <= (1u << 20), "an emptied heap keeps %zu OS bytes", s.os_bytes);
    am_heap_close(&h);
}

int main(void)
{
    test_break_hysteresis(); /* first: before glibc's heap sits above ours */
    test_lifo_and_waste();
    test_interleaving_with_glibc();
    return am_test_finish("bump-brk");
}
