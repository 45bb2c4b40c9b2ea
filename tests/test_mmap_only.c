/*
 * test_mmap_only.c: what is particular to mmap-only: one mapping per block,
 * OS bytes back to zero after the last free, realloc through mremap, and
 * aligned allocation that trims the over-mapping to the pages it needs.
 */
#include <stdint.h>
#include <string.h>

#include "frontend.h"
#include "os.h"
#include "testhelper.h"

static size_t os_bytes(struct am_heap *h)
{
    struct am_stats s;
    return am_stats(h, &s) == 0 ? s.os_bytes : SIZE_MAX;
}

static void test_mmap_only(void)
{
    struct am_heap h;
    const struct am_allocator *a = am_find_allocator("mmap-only");
    REQUIRE(a != NULL);
    REQUIRE(am_heap_open(&h, a, 0) == 0);
    size_t page = am__os_page_size();

    CHECK(os_bytes(&h) == 0);
    void *p = am_malloc(&h, 1);
    CHECK(os_bytes(&h) == page, "one byte costs one page, got %zu", os_bytes(&h));
    CHECK(am_usable_size(&h, p) == page - 16);
    void *q = am_malloc(&h, page - 16);
    CHECK(os_bytes(&h) == 2 * page, "page - 16 still fits one page");
    void *r = am_malloc(&h, page - 15);
    CHECK(os_bytes(&h) == 4 * page, "page - 15 needs two pages");

    /* realloc grows through mremap and keeps the contents. */
    memset(r, 0x5A, page - 15);
    unsigned char *g = am_realloc(&h, r, 64 * page);
    REQUIRE(g != NULL);
    CHECK(g[0] == 0x5A && g[page - 16] == 0x5A);
    CHECK(os_bytes(&h) == 2 * page + 65 * page, "after mremap: %zu", os_bytes(&h));
    g = am_realloc(&h, g, 10);
    CHECK(g && g[9] == 0x5A && os_bytes(&h) == 3 * page, "shrink returns pages");

    /* Aligned blocks keep only the pages they use, plus the header's page. */
    void *al = NULL;
    REQUIRE(am_posix_memalign(&h, &al, (size_t)1 << 20, 100) == 0);
    CHECK((uintptr_t)al % ((size_t)1 << 20) == 0);
    CHECK(os_bytes(&h) == 3 * page + 2 * page, "1 MiB-aligned 100 B kept %zu bytes",
          os_bytes(&h) - 3 * page);
    void *al2 = NULL;
    REQUIRE(am_posix_memalign(&h, &al2, 64, 100) == 0);
    CHECK((uintptr_t)al2 % 64 == 0);
    CHECK(os_bytes(&h) == 6 * page, "64-aligned 100 B needs a single page");

    am_free(&h, p);
    am_free(&h, q);
    am_free(&h, g);
    am_free(&h, al);
    am_free(&h, al2);
    struct am_stats s;
    am_stats(&h, &s);
    CHECK(s.os_bytes == 0 && s.live_bytes == 0 && s.live_blocks == 0,
          "after the last free: os %zu live %zu blocks %zu", s.os_bytes, s.live_bytes,
          s.live_blocks);
    CHECK(s.os_bytes_peak >= 67 * page, "peak %zu", s.os_bytes_peak);
    am_heap_close(&h);
}

int main(void)
{
    test_mmap_only();
    return am_test_finish("mmap-only");
}
