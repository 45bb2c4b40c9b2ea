/*
 * test_bitmap.c: the bitmap backend's boundaries: the first and last page of
 * the region and what lies past it (ENOMEM), runs that straddle bitmap words,
 * adjacent runs told apart by the run-start bitmap alone, realloc in place,
 * purging and calloc over dirty pages, aligned runs, the 2 MiB page mode, bad
 * settings; then the randomized shadow-model test in both page modes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend_test.h"
#include "frontend.h"
#include "os.h"
#include "testhelper.h"

static struct am_heap heap;
static size_t page;

/* Open bitmap with AM_BITMAP_PAGE and AM_BITMAP_RESERVE (NULL: unset). */
static int open_bitmap(const char *page_mode, const char *reserve)
{
    if (page_mode)
        setenv("AM_BITMAP_PAGE", page_mode, 1);
    else
        unsetenv("AM_BITMAP_PAGE");
    if (reserve)
        setenv("AM_BITMAP_RESERVE", reserve, 1);
    else
        unsetenv("AM_BITMAP_RESERVE");
    int err = am_heap_open(&heap, am_find_allocator("bitmap"), 0);
    struct am_stats s;
    page = err == 0 && am_stats(&heap, &s) == 0 ? s.extra[0].value : 0;
    return err;
}

#define stat_of(name)    am_stat_named(&heap, name)
#define heap_sound(when) am_heap_sound(&heap, when)

static char *pages(size_t n)
{
    return am_malloc(&heap, n * page);
}

/* A 256-page region: the first block is page 0, the last page can be handed
 * out and written to its last byte, and one page more is ENOMEM. */
static void test_first_and_last_page(void)
{
    REQUIRE(open_bitmap(NULL, "1m") == 0);
    CHECK(page == am__os_page_size());
    CHECK(stat_of("reserved_bytes") == 256 * page);
    char *first = am_malloc(&heap, 1);
    REQUIRE(first != NULL);
    CHECK(am_usable_size(&heap, first) == page, "a 1-byte request takes a whole page");
    CHECK(stat_of("free_pages") == 255 && stat_of("largest_free_run") == 255);
    char *middle = pages(254);
    CHECK(middle == first + page, "the run follows page 0");
    char *last = am_malloc(&heap, page);
    REQUIRE(last != NULL);
    CHECK(last == first + 255 * page, "the last page is %p, got %p", first + 255 * page, last);
    last[page - 1] = 'z'; /* the region's very last byte is usable */
    CHECK(stat_of("free_pages") == 0 && stat_of("largest_free_run") == 0);

    errno = 0;
    CHECK(am_malloc(&heap, 1) == NULL && errno == ENOMEM, "a full region gives ENOMEM");
    void *al = NULL;
    CHECK(am_posix_memalign(&heap, &al, 2 * page, 1) == ENOMEM);

    /* Page 0 and the last page come back to the next requests for them. */
    am_free(&heap, first);
    am_free(&heap, last);
    CHECK(stat_of("largest_free_run") == 1, "two separate free pages");
    CHECK(am_malloc(&heap, 10) == first, "page 0 is found again");
    char *again = am_malloc(&heap, 10);
    CHECK(again == last, "and then the last page");
    CHECK(again && again[page - 1] == 'z', "a small freed run is not purged");
    heap_sound("full region");

    /* The last page cannot grow past the end: realloc moves it down. */
    am_free(&heap, middle);
    char *moved = am_realloc(&heap, again, 2 * page);
    CHECK(moved == first + page && moved[page - 1] == 'z', "moved to %p", (void *)moved);
    CHECK(am_realloc(&heap, moved, 255 * page) == moved, "grows in place up to the last page");
    moved[255 * page - 1] = 'y';
    am_free(&heap, first); /* page 0 is free, yet nothing lies past the end */
    errno = 0;
    CHECK(am_realloc(&heap, moved, 256 * page) == NULL && errno == ENOMEM, "one page more");
    CHECK(moved[page - 1] == 'z' && moved[255 * page - 1] == 'y', "a failed realloc keeps it");
    CHECK(am_usable_size(&heap, moved) == 255 * page);
    am_free(&heap, moved);
    CHECK(stat_of("free_pages") == 256 && stat_of("largest_free_run") == 256);
    heap_sound("empty region");
    am_heap_close(&heap);
}

/* Runs crossing the 64-page words of the bitmaps, and neighbours that only
 * the run-start bitmap separates. */
static void test_runs_across_words(void)
{
    REQUIRE(open_bitmap(NULL, "64m") == 0);
    char *low = pages(62); /* pages 0..61 */
    REQUIRE(low != NULL);
    char *wide = pages(130); /* pages 62..191: crosses pages 64 and 128 */
    char *after = pages(1);  /* page 192 */
    REQUIRE(wide == low + 62 * page && after == low + 192 * page);
    memset(wide, 0x5A, 130 * page);
    after[0] = 'a';
    CHECK(am_usable_size(&heap, wide) == 130 * page);
    size_t free_before = stat_of("free_pages");
    am_free(&heap, wide);
    CHECK(stat_of("free_pages") == free_before + 130, "free recovers the run's 130 pages");
    CHECK(am_usable_size(&heap, low) == 62 * page && am_usable_size(&heap, after) == page,
          "the neighbours keep their lengths");
    heap_sound("after freeing a run across three words");

    /* Two runs meeting exactly at a word boundary, and two meeting inside a
     * word: freeing one leaves the other whole. */
    char *a = pages(2), *b = pages(64), *c = pages(3), *d = pages(7);
    REQUIRE(a == low + 62 * page && b == low + 64 * page);
    REQUIRE(c == low + 128 * page && d == low + 131 * page);
    memset(b, 'b', 64 * page);
    memset(d, 'd', 7 * page);
    am_free(&heap, a);
    am_free(&heap, c);
    CHECK(am_usable_size(&heap, b) == 64 * page, "b lost pages to a's or c's free");
    CHECK(am_usable_size(&heap, d) == 7 * page, "d lost pages to c's free");
    CHECK(b[0] == 'b' && b[64 * page - 1] == 'b' && d[0] == 'd' && d[7 * page - 1] == 'd');
    CHECK(stat_of("dirty_pages") == 5, "small frees stay dirty: %zu", stat_of("dirty_pages"));

    /* First fit: a 3-page request skips the 2-page hole at 62 for the one at
     * 128; a 2-page request takes the hole at 62. With c's pages free again, b
     * grows in place by 3 pages; one page more runs into d, so it moves. */
    CHECK(pages(3) == c && pages(2) == a, "holes are reused lowest first");
    am_free(&heap, c);
    char *b2 = am_realloc(&heap, b, 67 * page);
    CHECK(b2 == b, "b grows in place into the 3 free pages after it");
    char *b3 = am_realloc(&heap, b2, 68 * page);
    CHECK(b3 != b2 && b3 && b3[0] == 'b' && b3[64 * page - 1] == 'b', "then it has to move");
    CHECK(am_realloc(&heap, b3, 10 * page + 1) == b3, "shrinking stays in place");
    CHECK(am_usable_size(&heap, b3) == 11 * page);
    heap_sound("after the realloc chain");
    am_heap_close(&heap);
}

/* Large frees go back at once; small ones stay dirty; calloc over dirty
 * pages still reads zero; aligned runs sit on their alignment. */
static void test_purge_calloc_aligned(void)
{
    REQUIRE(open_bitmap(NULL, NULL) == 0);
    CHECK(stat_of("reserved_bytes") >= ((size_t)1 << 30), "at least 1 GiB reserved");
    char *big = am_malloc(&heap, (size_t)1 << 20);
    REQUIRE(big != NULL);
    memset(big, 0xEE, (size_t)1 << 20);
    size_t os_full = stat_of("os_bytes");
    CHECK(os_full >= ((size_t)1 << 20));
    size_t purges = stat_of("purge_calls");
    am_free(&heap, big);
    CHECK(stat_of("purge_calls") == purges + 1, "a 1 MiB free is purged");
    CHECK(stat_of("os_bytes") == os_full - ((size_t)1 << 20), "os_bytes %zu after the free",
          stat_of("os_bytes"));
    CHECK(stat_of("committed_bytes") >= ((size_t)1 << 20), "the range stays committed");

    char *dirty = am_malloc(&heap, 3 * page);
    REQUIRE(dirty == big, "first fit reuses the purged pages");
    CHECK(dirty[0] == 0 && dirty[3 * page - 1] == 0, "purged pages read as zero");
    memset(dirty, 0xAB, 3 * page);
    am_free(&heap, dirty);
    CHECK(stat_of("dirty_pages") == 3);
    unsigned char *z = am_calloc(&heap, 1, 2 * page + 5);
    REQUIRE(z == (unsigned char *)dirty);
    size_t bad = 0;
    while (bad < 2 * page + 5 && z[bad] == 0)
        bad++;
    CHECK(bad == 2 * page + 5, "calloc over dirty pages: byte %zu is 0x%x", bad, z[bad]);
    CHECK(stat_of("dirty_pages") == 0, "calloc took all three dirty pages");
    am_free(&heap, z);

    /* Dirty pages beyond the cap (32 MiB here: little is in use) are purged
     * from the top down to half the cap; the lowest, which first fit reuses
     * first, stay. A purged page reads as zero, a dirty one keeps its byte. */
    enum { N = (32 << 20) / 4096 + 2, KEEP = (16 << 20) / 4096 };
    static char *one[N];
    for (int i = 0; i < N; i++) {
        one[i] = am_malloc(&heap, 1);
        REQUIRE(one[i] != NULL);
        one[i][0] = 1;
    }
    for (int i = 0; i < N; i += 2)
        am_free(&heap, one[i]);
    for (int i = 1; i < N - 1; i += 2)
        am_free(&heap, one[i]);
    CHECK(stat_of("dirty_pages") == KEEP, "dirty pages past the cap purged to %d, %zu left",
          (int)KEEP, stat_of("dirty_pages"));
    uintptr_t highest_dirty = 0, lowest_purged = UINTPTR_MAX;
    size_t still_dirty = 0;
    for (int i = 0; i < N - 1; i++) {
        uintptr_t at = (uintptr_t)one[i];
        if (one[i][0] == 1) {
            still_dirty++;
            highest_dirty = at > highest_dirty ? at : highest_dirty;
        } else if (at < lowest_purged) {
            lowest_purged = at;
        }
    }
    CHECK(still_dirty == KEEP && highest_dirty < lowest_purged,
          "the highest dirty pages were purged: %zu kept, highest kept %#lx, lowest purged %#lx",
          still_dirty, (unsigned long)highest_dirty, (unsigned long)lowest_purged);
    am_free(&heap, one[N - 1]);
    CHECK(stat_of("dirty_pages") == KEEP + 1, "below the cap a free stays dirty");
    heap_sound("after the dirty cap");

    for (size_t align = 2 * page; align <= ((size_t)8 << 20); align *= 4) {
        char *spacer = am_malloc(&heap, 1);
        void *p = NULL;
        REQUIRE(am_posix_memalign(&heap, &p, align, 3 * page) == 0);
        CHECK((uintptr_t)p % align == 0, "%p is not %zu-aligned", p, align);
        CHECK(am_usable_size(&heap, p) == 3 * page);
        am_free(&heap, spacer);
        am_free(&heap, p);
    }
    CHECK(stat_of("live_blocks") == 0);
    heap_sound("after aligned runs");
    am_heap_close(&heap);
}

/* AM_BITMAP_PAGE=2m: every page is 2 MiB, on a 2 MiB boundary. */
static void test_huge_pages(void)
{
    REQUIRE(open_bitmap("2m", "256m") == 0);
    CHECK(page == ((size_t)2 << 20), "page size %zu", page);
    CHECK(stat_of("free_pages") == 128);
    char *a = am_malloc(&heap, 1), *b = am_malloc(&heap, 100);
    REQUIRE(a && b);
    CHECK((uintptr_t)a % page == 0 && b == a + page, "a %p b %p", (void *)a, (void *)b);
    CHECK(am_usable_size(&heap, a) == page, "a byte costs 2 MiB");
    a[page - 1] = 1;
    am_free(&heap, b);
    CHECK(am_realloc(&heap, a, 3 * page - 7) == a, "grows in place over b's page");
    void *al = NULL;
    REQUIRE(am_posix_memalign(&heap, &al, (size_t)8 << 20, 10) == 0);
    CHECK((uintptr_t)al % ((size_t)8 << 20) == 0);
    am_free(&heap, al);
    am_free(&heap, a);
    CHECK(stat_of("free_pages") == 128 && stat_of("dirty_pages") == 0,
          "2 MiB frees go straight back");
    heap_sound("2m mode");
    am_heap_close(&heap);
}

static void test_bad_settings(void)
{
    CHECK(open_bitmap("3k", NULL) == EINVAL, "AM_BITMAP_PAGE=3k refused");
    CHECK(open_bitmap(NULL, "lots") == EINVAL, "AM_BITMAP_RESERVE=lots refused");
    CHECK(open_bitmap(NULL, "65g") == EINVAL, "above 64 GiB refused");
    REQUIRE(open_bitmap("4k", "1k") == 0, "1k rounds up to one page");
    CHECK(stat_of("free_pages") == 1);
    am_heap_close(&heap);
}

static void test_randomized(void)
{
    REQUIRE(open_bitmap(NULL, NULL) == 0);
    struct am_shadow_plan plan = {.ops = 1000000,
                                  .slots = 1500,
                                  .largest = 256 << 10,
                                  .largest_align = 1 << 20,
                                  .check_every = 2000,
                                  .seed = 0xB17B17};
    CHECK(am_shadow_run(&heap, &plan), "4 KiB pages");
    am_heap_close(&heap);

    REQUIRE(open_bitmap("2m", NULL) == 0);
    plan = (struct am_shadow_plan){.ops = 10000,
                                   .slots = 24,
                                   .largest = 5 << 20,
                                   .largest_align = 4 << 20,
                                   .check_every = 500,
                                   .seed = 0x2B17};
    CHECK(am_shadow_run(&heap, &plan), "2 MiB pages");
    am_heap_close(&heap);
}

int main(void)
{
    test_first_and_last_page();
    test_runs_across_words();
    test_purge_calloc_aligned();
    test_huge_pages();
    test_bad_settings();
    test_randomized();
    return am_test_finish("bitmap");
}
