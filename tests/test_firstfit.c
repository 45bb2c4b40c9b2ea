/*
 * test_firstfit.c: the firstfit backend's boundaries: a split that leaves
 * exactly the waste threshold, merges on both sides at once, a parent emptied
 * and returned to the OS (never the first), the fast-path hint after a free
 * (Crystal OS's `else` bug), realloc in place, aligned children; detection of
 * double, stale, foreign and misaligned frees and of overwritten or forged
 * headers (every byte of one) through the abort hook, plus one real death by SIGABRT; the
 * search hints (first fit placement kept, no rewalk of the same used children); then the
 * randomized shadow-model test.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firstfit/firstfit.h"
#include "backend_test.h"
#include "frontend.h"
#include "testhelper.h"

static struct am_heap heap;
static size_t header; /* a child header's size, measured */

static bool open_firstfit(void)
{
    if (am_heap_open(&heap, am_find_allocator("firstfit"), 0) != 0)
        return false;
    /* Two fresh 16-byte blocks lie one header apart. */
    char *a = am_malloc(&heap, 16), *b = am_malloc(&heap, 16);
    header = (size_t)(b - a) - 16;
    am_free(&heap, b);
    am_free(&heap, a);
    return true;
}

#define stat_of(name)    am_stat_named(&heap, name)
#define heap_sound(when) am_heap_sound(&heap, when)

static void test_split_at_threshold(void)
{
    REQUIRE(open_firstfit());
    CHECK(header == 48, "the header is 48 bytes, measured %zu", header);
    size_t threshold = 2 * header;
    char *a = am_malloc(&heap, 1000), *guard = am_malloc(&heap, 16);
    REQUIRE(a && guard == a + 1008 + header);
    am_free(&heap, a); /* a free child of exactly 1008 bytes before the guard */

    char *x = am_malloc(&heap, 1008 - threshold);
    CHECK(x == a && am_usable_size(&heap, x) == 1008,
          "a remainder of exactly the threshold "
          "stays with the block: usable %zu",
          am_usable_size(&heap, x));
    size_t free_children = stat_of("free_children");
    am_free(&heap, x);

    x = am_malloc(&heap, 1008 - threshold - 16);
    CHECK(x == a && am_usable_size(&heap, x) == 1008 - threshold - 16, "16 more bytes split");
    CHECK(stat_of("free_children") == free_children + 1);
    char *rest = am_malloc(&heap, threshold + 16 - header);
    CHECK(rest == x + 1008 - threshold - 16 + header, "the split-off child fits exactly");
    heap_sound("after the splits");
    am_heap_close(&heap);
}

static int caught_count;
static const char *caught_what;
static void *caught_addr;

static void catch_abort(const char *what, void *addr)
{
    caught_count++;
    caught_what = what;
    caught_addr = addr;
}

/* Exactly one detection since the last call, of `what` at addr. */
static bool caught(const char *what, void *addr)
{
    bool ok =
        CHECK(caught_count == 1 && caught_what && !strcmp(caught_what, what) && caught_addr == addr,
              "wanted \"%s\" at %p, got %d reports, last \"%s\" at %p", what, addr, caught_count,
              caught_what ? caught_what : "", caught_addr);
    caught_count = 0;
    caught_what = NULL;
    caught_addr = NULL;
    return ok;
}

static void test_merge_both_sides(void)
{
    REQUIRE(open_firstfit());
    am_firstfit_set_abort(catch_abort);
    char *a = am_malloc(&heap, 100), *b = am_malloc(&heap, 200), *c = am_malloc(&heap, 300);
    char *guard = am_malloc(&heap, 16);
    REQUIRE(b == a + 112 + header && c == b + 208 + header && guard == c + 304 + header);
    size_t frees = stat_of("free_children");
    am_free(&heap, a);
    am_free(&heap, c);
    CHECK(stat_of("free_children") == frees + 2);
    am_free(&heap, b); /* merges with a before it and c after it */
    CHECK(stat_of("free_children") == frees + 1, "a, b and c are one free child");
    heap_sound("after the merge");

    /* Every one of the three is now a double free, merged away or not. */
    am_free(&heap, b);
    caught("double free", b);
    am_free(&heap, c);
    caught("double free", c);
    am_free(&heap, a);
    caught("double free", a);
    heap_sound("after refused double frees");

    size_t whole = 112 + 208 + 304 + 2 * header;
    char *x = am_malloc(&heap, whole);
    CHECK(x == a && am_usable_size(&heap, x) == whole, "the merged child is reused whole");
    am_firstfit_set_abort(NULL);
    am_heap_close(&heap);
}

static void test_parents_returned(void)
{
    REQUIRE(open_firstfit());
    size_t os_start = stat_of("os_bytes");
    CHECK(stat_of("parents") == 1);
    char *big = am_malloc(&heap, (size_t)3 << 20);
    REQUIRE(big != NULL);
    CHECK(stat_of("parents") == 2 && stat_of("os_bytes") >= os_start + ((size_t)3 << 20));
    am_free(&heap, big);
    CHECK(stat_of("parents") == 1 && stat_of("parents_returned") == 1);
    CHECK(stat_of("os_bytes") == os_start, "os_bytes %zu, was %zu", stat_of("os_bytes"), os_start);

    /* Fill the first parent until a second one is made. */
    enum { MAX = 64 };
    char *blocks[MAX];
    int n = 0;
    while (n < MAX && stat_of("parents") == 1)
        REQUIRE((blocks[n++] = am_malloc(&heap, 60000)) != NULL);
    REQUIRE(stat_of("parents") == 2 && n > 1);
    /* Emptying the first parent makes it the hint (Crystal OS's `else` bug left
     * the hint on the second parent): the next block goes to the first. */
    for (int i = 0; i < n - 1; i++)
        am_free(&heap, blocks[i]);
    CHECK(stat_of("parents") == 2, "the first parent stays, even empty");
    char *small = am_malloc(&heap, 16);
    CHECK(small == blocks[0], "the next block lands in the emptied first parent");
    am_free(&heap, small);
    am_free(&heap, blocks[n - 1]);
    CHECK(stat_of("parents") == 1 && stat_of("parents_returned") == 2);
    CHECK(stat_of("os_bytes") == os_start);
    heap_sound("after returning parents");
    am_heap_close(&heap);
}

static void test_realloc_in_place(void)
{
    REQUIRE(open_firstfit());
    char *a = am_malloc(&heap, 100), *b = am_malloc(&heap, 1000), *guard = am_malloc(&heap, 16);
    REQUIRE(a && b && guard);
    memset(a, 'a', 100);
    am_free(&heap, b);
    size_t moves = stat_of("in_place_reallocs");
    CHECK(am_realloc(&heap, a, 600) == a, "grows into the free child after it");
    CHECK(stat_of("in_place_reallocs") == moves + 1 && am_usable_size(&heap, a) == 608);
    CHECK(a[0] == 'a' && a[99] == 'a');
    char *after = am_malloc(&heap, 512);
    CHECK(after == a + 608 + header, "the rest was split off: %p", (void *)after);
    memset(a, 'b', 600);

    CHECK(am_realloc(&heap, a, 100) == a && am_usable_size(&heap, a) == 112, "shrinks in place");
    char *tail = am_malloc(&heap, 600 - 112 - 2 * header);
    CHECK(tail == a + 112 + header, "the tail is a free child");
    am_free(&heap, tail);
    am_free(&heap, after); /* merges with the tail */
    heap_sound("after shrinking");

    char *moved = am_realloc(&heap, a, 5000);
    CHECK(moved && moved != a && moved[0] == 'b' && moved[99] == 'b', "too big: it moves");
    am_free(&heap, moved);
    am_free(&heap, guard);
    CHECK(stat_of("live_blocks") == 0);
    heap_sound("after moving");
    am_heap_close(&heap);
}

static void test_aligned(void)
{
    REQUIRE(open_firstfit());
    enum { N = 19 };
    void *p[N] = {0};
    int i = 0;
    for (size_t align = 32; align <= ((size_t)8 << 20); align *= 2, i++) {
        REQUIRE(am_posix_memalign(&heap, &p[i], align, 100 + (size_t)i) == 0);
        CHECK((uintptr_t)p[i] % align == 0, "%p is not %zu-aligned", p[i], align);
        CHECK(am_usable_size(&heap, p[i]) >= 100 + (size_t)i);
        memset(p[i], i, 100 + (size_t)i);
    }
    heap_sound("with aligned children");
    while (i--)
        am_free(&heap, p[i]);
    CHECK(stat_of("live_blocks") == 0 && stat_of("parents") == 1);
    heap_sound("after aligned children");
    am_heap_close(&heap);
}

static void test_detection(void)
{
    REQUIRE(open_firstfit());
    am_firstfit_set_abort(catch_abort);

    char *p = am_malloc(&heap, 100);
    am_free(&heap, p);
    am_free(&heap, p);
    caught("double free", p);
    CHECK(am_realloc(&heap, p, 10) == NULL);
    caught("use after free", p);
    CHECK(am_usable_size(&heap, p) == 0);
    caught("use after free", p);

    _Alignas(16) char on_stack[64];
    am_free(&heap, on_stack + 16);
    caught("invalid free", on_stack + 16);
    void *theirs = malloc(64);
    am_free(&heap, theirs);
    caught("invalid free", theirs);
    free(theirs);
    char *q = am_malloc(&heap, 100);
    am_free(&heap, q + 1);
    caught("invalid free", q + 1);
    CHECK(am_usable_size(&heap, on_stack + 32) == 0);
    caught("invalid pointer", on_stack + 32);

    /* A header copied elsewhere does not pass: its magic is its address's. */
    char *r = am_malloc(&heap, 256);
    memcpy(r + 64, q - header, header);
    am_free(&heap, r + 64 + header);
    caught("corruption", r + 64);
    heap_sound("after refused frees"); /* nothing was touched */

    /* An overflow from a into the header of b, its neighbour. */
    char *a = am_malloc(&heap, 64), *b = am_malloc(&heap, 64);
    REQUIRE(b == a + 64 + header);
    memset(a, 0x41, 64 + 16);
    am_free(&heap, b);
    caught("corruption", b - header);
    am_free(&heap, a);
    caught("corruption", b - header);
    char why[256];
    CHECK(am_verify(&heap, why, sizeof why) == EFAULT && strstr(why, "firstfit: "), "%s", why);
    am_firstfit_set_abort(NULL);
    am_heap_close(&heap); /* fini reads no header */
}

/* Every byte of a header, overwritten (a stray write, or an overflow from the
 * block before, whose last byte lands in the size): freeing the block or
 * either neighbour reports "corruption" at the header, as does a malloc whose
 * walk reaches it while it is free, and nothing is touched, so putting the
 * byte back leaves a sound heap. */
static void test_every_header_byte(void)
{
    REQUIRE(open_firstfit());
    am_firstfit_set_abort(catch_abort);
    char *a = am_malloc(&heap, 64), *b = am_malloc(&heap, 64), *c = am_malloc(&heap, 64);
    REQUIRE(b == a + 64 + header && c == b + 64 + header);
    unsigned char *h = (unsigned char *)b - header;
    for (int is_free = 0; is_free < 2; is_free++) {
        if (is_free)
            am_free(&heap, b); /* a free child between two used ones */
        for (size_t k = 0; k < header; k++) {
            h[k] ^= 0xff;
            if (!is_free) {
                am_free(&heap, b);
                CHECK(caught("corruption", h), "used block, header byte %zu", k);
            } else {
                CHECK(am_malloc(&heap, 32) == NULL, "a malloc used the damaged free child");
                CHECK(caught("corruption", h), "malloc over a free child, header byte %zu", k);
            }
            am_free(&heap, a);
            CHECK(caught("corruption", h), "freeing the block before, header byte %zu", k);
            am_free(&heap, c);
            CHECK(caught("corruption", h), "freeing the block after, header byte %zu", k);
            h[k] ^= 0xff;
            CHECK(am_verify(&heap, (char[256]){0}, 256) == 0, "header byte %zu put back", k);
        }
    }
    /* The same one-byte overflow that the hardening matrix makes: the first
     * byte past a's usable size. */
    REQUIRE(am_usable_size(&heap, a) == 64);
    a[64] ^= 0x5a;
    am_free(&heap, a);
    caught("corruption", h);
    a[64] ^= 0x5a;
    am_free(&heap, a);
    am_free(&heap, c);
    heap_sound("after the header tests");
    am_firstfit_set_abort(NULL);
    am_heap_close(&heap);
}

/* With the default hook a double free kills the process with SIGABRT and
 * says why on stderr. */
static void test_death_by_double_free(void)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        if (am_heap_open(&heap, am_find_allocator("firstfit"), 0) != 0)
            _exit(2);
        void *p = am_malloc(&heap, 32);
        am_free(&heap, p);
        am_free(&heap, p);
        _exit(3);
    }
    close(fds[1]);
    char said[512] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof said - 1 && (r = read(fds[0], said + got, sizeof said - 1 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "child status 0x%x", status);
    CHECK(strstr(said, "firstfit: double free at 0x") != NULL, "stderr said \"%s\"", said);
}

/* A small hole low in the parent must not make every larger malloc walk past
 * all the live children above it (the size-class hints), and the blocks
 * chosen are still the lowest that fit. */
static void test_search_hints(void)
{
    REQUIRE(open_firstfit());
    enum { N = 4000 };
    static char *block[N];
    char *hole = am_malloc(&heap, 16), *guard = am_malloc(&heap, 16);
    REQUIRE(hole && guard);
    am_free(&heap, hole); /* a 16-byte free child at the bottom, too small below */
    size_t walked = stat_of("children_walked");
    for (int i = 0; i < N; i++) {
        block[i] = am_malloc(&heap, 64);
        REQUIRE(block[i] != NULL);
        CHECK(i == 0 || block[i] == block[i - 1] + 64 + header || stat_of("parents") > 1,
              "block %d follows the one before", i);
    }
    size_t steps = stat_of("children_walked") - walked;
    CHECK(steps < 4 * (size_t)N, "%d mallocs walked %zu children (a rewalk: about %zu)", N, steps,
          (size_t)N * N / 2);
    /* Holes of 64 bytes in the lower half: each malloc takes the lowest. */
    for (int i = 0; i < N / 2; i += 2)
        am_free(&heap, block[i]);
    for (int i = 0; i < N / 2; i += 2) {
        char *again = am_malloc(&heap, 48);
        CHECK(again == block[i], "malloc %d took %p, the lowest hole is %p", i / 2, (void *)again,
              (void *)block[i]);
    }
    CHECK(am_malloc(&heap, 16) == hole, "the 16-byte hole still comes first for 16 bytes");
    heap_sound("after the hinted walks");
    am_heap_close(&heap);
}

static void test_randomized(void)
{
    REQUIRE(open_firstfit());
    struct am_shadow_plan plan = {.ops = 1000000,
                                  .slots = 1500,
                                  .largest = 256 << 10,
                                  .largest_align = 256 << 10,
                                  .check_every = 2000,
                                  .seed = 0xF125F17};
    CHECK(am_shadow_run(&heap, &plan));
    CHECK(stat_of("parents") == 1, "every parent but the first went back");
    am_heap_close(&heap);
}

int main(void)
{
    test_split_at_threshold();
    test_merge_both_sides();
    test_parents_returned();
    test_realloc_in_place();
    test_aligned();
    test_detection();
    test_every_header_byte();
    test_death_by_double_free();
    test_search_hints();
    test_randomized();
    return am_test_finish("firstfit");
}
