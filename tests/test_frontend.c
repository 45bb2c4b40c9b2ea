/*
 * test_frontend.c: the front end's contract and its lock adapter, against a
 * test double that is deliberately not thread-safe, has no realloc, calloc or
 * aligned allocation, and records every call it receives; and memalign,
 * valloc and pvalloc on glibc and on a backend.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"
#include "testhelper.h"

#define DOUBLE_MAX_REQUEST ((size_t)1 << 20)

static struct {
    atomic_int inside;    /* threads inside the double right now */
    atomic_long overlaps; /* times two threads were inside at once */
    long calls, zero_sized;
    size_t largest_request;
} seen;

struct double_header {
    size_t size;
    size_t pad;
};

static void enter_double(void)
{
    if (atomic_fetch_add(&seen.inside, 1) != 0)
        atomic_fetch_add(&seen.overlaps, 1);
    seen.calls++; /* unsynchronised on purpose: the adapter must serialise us */
}

static void leave_double(void)
{
    atomic_fetch_sub(&seen.inside, 1);
}

static void *double_malloc(size_t n)
{
    enter_double();
    if (n == 0)
        seen.zero_sized++;
    if (n > seen.largest_request)
        seen.largest_request = n;
    struct double_header *h = malloc(sizeof *h + n);
    for (volatile int spin = 0; spin < 50; spin++) {
    }
    if (h)
        h->size = n;
    leave_double();
    /* Dirty the block so that calloc's fallback has something to zero. */
    if (h)
        memset(h + 1, 0xEE, n);
    return h ? h + 1 : NULL;
}

static void double_free(void *p)
{
    enter_double();
    errno = EBADF; /* a backend may clobber errno; free must not show it */
    free((struct double_header *)p - 1);
    leave_double();
}

static size_t double_usable_size(void *p)
{
    return ((struct double_header *)p - 1)->size;
}

static const struct am_allocator double_allocator = {
    .name = "double",
    .summary = "test double",
    .caps = AM_CAP_REAL_FREE,
    .max_request = DOUBLE_MAX_REQUEST,
    .malloc = double_malloc,
    .free = double_free,
    .usable_size = double_usable_size,
};

static void test_contract(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, &double_allocator, 0) == 0);

    void *p = am_malloc(&h, 0);
    CHECK(p != NULL && seen.zero_sized == 0, "malloc(0) reached the backend as 0");
    am_free(&h, p);

    long before = seen.calls;
    errno = 0;
    CHECK(am_malloc(&h, DOUBLE_MAX_REQUEST + 1) == NULL && errno == ENOMEM);
    CHECK(seen.calls == before, "a request above max_request reached the backend");
    CHECK(seen.largest_request <= DOUBLE_MAX_REQUEST);

    errno = 77;
    am_free(&h, NULL);
    CHECK(seen.calls == before, "free(NULL) reached the backend");
    p = am_malloc(&h, 10);
    errno = 77;
    am_free(&h, p);
    CHECK(errno == 77, "free let the backend's errno through (%d)", errno);

    /* calloc without a backend calloc: malloc + zeroing. */
    unsigned char *z = am_calloc(&h, 100, 3);
    REQUIRE(z != NULL);
    int nonzero = 0;
    for (int i = 0; i < 300; i++)
        nonzero |= z[i];
    CHECK(nonzero == 0, "calloc fallback left dirty bytes");
    am_free(&h, z);
    errno = 0;
    CHECK(am_calloc(&h, (size_t)1 << 32, (size_t)1 << 32) == NULL && errno == ENOMEM);

    /* realloc without a backend realloc: malloc + copy + free. */
    char *r = am_realloc(&h, NULL, 5);
    REQUIRE(r != NULL);
    memcpy(r, "abcde", 5);
    char *r2 = am_realloc(&h, r, 5000);
    REQUIRE(r2 != NULL);
    CHECK(memcmp(r2, "abcde", 5) == 0, "realloc fallback lost the contents");
    CHECK(am_realloc(&h, r2, DOUBLE_MAX_REQUEST + 1) == NULL && errno == ENOMEM);
    CHECK(memcmp(r2, "abcde", 5) == 0, "failed realloc touched the block");
    CHECK(am_realloc(&h, r2, 0) == NULL, "realloc(p, 0) must free and return NULL");

    /* Alignment: validated before capability. */
    void *a = NULL;
    CHECK(am_posix_memalign(&h, &a, 24, 10) == EINVAL);
    CHECK(am_posix_memalign(&h, &a, 4, 10) == EINVAL);
    CHECK(am_posix_memalign(&h, &a, 64, 10) == ENOTSUP, "no aligned capability: ENOTSUP");
    CHECK(am_posix_memalign(&h, &a, 16, 10) == 0 && a != NULL, "16 needs no capability");
    am_free(&h, a);
    errno = 0;
    CHECK(am_aligned_alloc(&h, 3, 10) == NULL && errno == EINVAL);

    struct am_stats s;
    CHECK(am_stats(&h, &s) == ENOTSUP);
    char why[64];
    CHECK(am_verify(&h, why, sizeof why) == ENOTSUP);
    char label[64];
    CHECK(strcmp(am_heap_label(&h, label, sizeof label), "double") == 0);
    am_heap_close(&h);
}

static void *hammer(void *arg)
{
    struct am_heap *h = arg;
    void *keep[16] = {0};
    for (int i = 0; i < 20000; i++) {
        int slot = i % 16;
        am_free(h, keep[slot]);
        keep[slot] = am_malloc(h, (size_t)(i % 200) + 1);
        if (i % 7 == 0) {
            void *q = am_realloc(h, keep[slot], (size_t)(i % 500) + 1);
            if (q)
                keep[slot] = q;
        }
    }
    for (int i = 0; i < 16; i++)
        am_free(h, keep[i]);
    return NULL;
}

static void test_lock_adapter(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, &double_allocator, AM_OPEN_THREADED) == 0);
    char label[64];
    CHECK(strcmp(am_heap_label(&h, label, sizeof label), "double+lock") == 0, "label %s", label);
    atomic_store(&seen.overlaps, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, &h);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(atomic_load(&seen.overlaps) == 0, "%ld overlapping calls behind the adapter",
          atomic_load(&seen.overlaps));
    am_heap_close(&h);
}

/* The double really does detect overlap when nothing serialises it, so the
 * adapter test above cannot pass vacuously. */
static void test_double_detects_races(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, &double_allocator, 0) == 0);
    atomic_store(&seen.overlaps, 0);
    for (int attempt = 0; attempt < 20 && atomic_load(&seen.overlaps) == 0; attempt++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, hammer, &h);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    CHECK(atomic_load(&seen.overlaps) > 0, "no overlap seen without the adapter");
    am_heap_close(&h);
}

/* posix_memalign fails as glibc 2.36's does (checked against it with the
 * compiler's builtin knowledge of posix_memalign turned off, which otherwise
 * assumes errno survives the call): *memptr untouched on every failure; errno
 * set to ENOMEM on ENOMEM, left alone on EINVAL. */
static void test_posix_memalign_failure(void)
{
    struct am_heap h;
    REQUIRE(am_heap_open(&h, am_find_allocator("mmap-only"), 0) == 0);
    void *sentinel = (void *)&h, *p;
    const size_t too_much[] = {(size_t)1 << 60, SIZE_MAX - 4096, SIZE_MAX / 2};
    for (unsigned i = 0; i < sizeof too_much / sizeof too_much[0]; i++) {
        p = sentinel;
        errno = 0;
        int err = am_posix_memalign(&h, &p, 64, too_much[i]);
        CHECK(err == ENOMEM, "posix_memalign(64, %zu) = %d", too_much[i], err);
        CHECK(errno == ENOMEM, "posix_memalign(64, %zu): errno %d, glibc sets ENOMEM", too_much[i],
              errno);
        CHECK(p == sentinel, "posix_memalign(64, %zu) wrote %p on failure", too_much[i], p);
    }
    p = sentinel;
    errno = 77;
    CHECK(am_posix_memalign(&h, &p, 24, 10) == EINVAL);
    CHECK(errno == 77 && p == sentinel, "EINVAL: errno %d, *memptr %p", errno, p);
    errno = 77;
    CHECK(am_posix_memalign(&h, &p, 64, 10) == 0 && p != sentinel && errno == 77);
    am_free(&h, p);
    am_heap_close(&h);
}

/* memalign, valloc and pvalloc: glibc's own functions for glibc, the
 * emulation (posix_memalign with glibc's arguments) for a backend, and the
 * emulation's errors for one without aligned allocation. */
static void test_old_aligned_calls(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const char *names[] = {"glibc", "mmap-only"};
    for (unsigned i = 0; i < 2; i++) {
        struct am_heap h;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        /* The sanitizer's malloc is the process's: glibc's cannot open. */
        if (i == 0)
            continue;
#endif
        REQUIRE(am_heap_open(&h, am_find_allocator(names[i]), 0) == 0);
        char *m = am_memalign(&h, 24, 10); /* not a power of two: 32 */
        CHECK(m && (uintptr_t)m % 32 == 0, "%s: memalign(24, 10) = %p", names[i], (void *)m);
        char *m2 = am_memalign(&h, 2, 10); /* below sizeof(void *) */
        CHECK(m2 && (uintptr_t)m2 % sizeof(void *) == 0, "%s: memalign(2, 10)", names[i]);
        char *v = am_valloc(&h, 10);
        CHECK(v && (uintptr_t)v % page == 0, "%s: valloc(10) = %p", names[i], (void *)v);
        char *pv = am_pvalloc(&h, page + 1);
        CHECK(pv && (uintptr_t)pv % page == 0, "%s: pvalloc(page + 1) = %p", names[i], (void *)pv);
        size_t usable = am_usable_size(&h, pv);
        CHECK(usable == AM_STAT_UNKNOWN || usable >= 2 * page,
              "%s: pvalloc(page + 1) has %zu usable bytes, needs two pages", names[i], usable);
        if (pv)
            memset(pv, 1, 2 * page); /* pvalloc's caller may use the whole pages */
        am_free(&h, m);
        am_free(&h, m2);
        am_free(&h, v);
        am_free(&h, pv);
        am_heap_close(&h);
    }
    struct am_heap h;
    REQUIRE(am_heap_open(&h, &double_allocator, 0) == 0);
    errno = 0;
    CHECK(am_valloc(&h, 10) == NULL && errno == ENOTSUP, "valloc without aligned: ENOTSUP");
    errno = 0;
    CHECK(am_memalign(&h, SIZE_MAX, 10) == NULL && errno == EINVAL, "memalign(SIZE_MAX): EINVAL");
    char *small = am_memalign(&h, 8, 10);
    CHECK(small != NULL, "memalign(8, 10) needs no aligned capability");
    am_free(&h, small);
    am_heap_close(&h);
}

static void test_registry(void)
{
    CHECK(am_registry_count >= 6);
    for (size_t i = 0; i < am_registry_count; i++) {
        const struct am_allocator *a = am_registry[i];
        CHECK(am_find_allocator(a->name) == a, "%s not found by name", a->name);
        for (const char *c = a->name; *c; c++)
            CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-',
                  "bad character in allocator name %s", a->name);
    }
    CHECK(am_find_allocator("no-such-allocator") == NULL);
    struct am_heap h;
    struct am_allocator broken = double_allocator;
    broken.usable_size = NULL; /* neither realloc nor usable_size */
    CHECK(am_heap_open(&h, &broken, 0) == EINVAL, "an incomplete vtable was accepted");
}

int main(void)
{
    test_contract();
    test_lock_adapter();
    test_double_detects_races();
    test_registry();
    test_posix_memalign_failure();
    test_old_aligned_calls();
    return am_test_finish("frontend");
}
