/*
 * test_faults.c: one backend (argv[1]) when the OS says no.
 *
 * Through the primitive layer's fault hook (os.h), every system call a
 * backend makes can be refused: the next N, every Nth, or each with a
 * probability. Under every plan: each allocation either succeeds or returns
 * NULL with errno ENOMEM; a failed realloc leaves its block as it was; no
 * block's contents change (each is filled from a tag and read back); free
 * keeps errno; the backend's own structure walk passes; and once the faults
 * stop, the backend serves again. Also: failures inside init (the heap either
 * opens or says why, and opens once the faults stop), munmap and madvise
 * refused on every free, a real address-space limit (RLIMIT_AS of 200 MiB,
 * as glibc's own tests set), and requests too large to ever succeed, which
 * must fail at the cost of a system call or two, not of a search.
 *
 * Each case runs in a child of its own (backends keep global state, and a
 * crash must stay a named failure).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "frontend.h"
#include "isolate.h"
#include "os.h"
#include "testhelper.h"

/* AddressSanitizer maps terabytes of shadow and keeps mapping as it goes: an
 * address-space or mapping limit starves it, not the backend. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static const struct am_allocator *allocator;
static struct am_heap heap;

/* ---------------------------------------------------------------------------
 * Blocks filled from a tag, checked before every free and resize
 * ------------------------------------------------------------------------ */

enum { SLOTS = 256 };

struct slot {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

static struct slot slots[SLOTS];
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static unsigned char byte_of(uint64_t tag, size_t i)
{
    return (unsigned char)((tag * 0x100000001B3ULL + i * 0x9E3779B1u) >> 24);
}

static void fill(struct slot *s, size_t from)
{
    for (size_t i = from; i < s->n; i++)
        s->p[i] = byte_of(s->tag, i);
}

/* Bytes [0, n) of s still hold its pattern. */
static bool intact(const struct slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s->p[i] != byte_of(s->tag, i))
            return false;
    return true;
}

static size_t random_size(void)
{
    uint64_t r = am_test_xorshift(&rng);
    switch (r % 32) {
    case 0:
        return 1 + (size_t)((r >> 8) % (1u << 20)); /* up to 1 MiB */
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
        return 1 + (size_t)((r >> 8) % (64u << 10));
    default:
        return 1 + (size_t)((r >> 8) % 512);
    }
}

/* What went wrong first, for the report. */
static char failure[200];

#define EXPECT(cond, ...)                                       \
    do {                                                        \
        if (!(cond)) {                                          \
            if (!failure[0])                                    \
                snprintf(failure, sizeof failure, __VA_ARGS__); \
            return false;                                       \
        }                                                       \
    } while (0)

static bool sound(const char *when)
{
    char why[120];
    int err = am_verify(&heap, why, sizeof why);
    EXPECT(err == 0 || err == ENOTSUP, "%s: the backend's check says: %s", when, why);
    return true;
}

/* One random operation on one random slot. Failures allowed by the OS plan
 * are counted in *refused. */
static bool step(unsigned long op, unsigned long *refused)
{
    struct slot *s = &slots[am_test_xorshift(&rng) % SLOTS];
    uint64_t r = am_test_xorshift(&rng);
    if (s->p && r % 4 == 0) {
        /* resize */
        size_t n = random_size(), keep = n < s->n ? n : s->n;
        EXPECT(intact(s, s->n), "op %lu: a block of %zu bytes changed before realloc", op, s->n);
        errno = 0;
        unsigned char *q = am_realloc(&heap, s->p, n);
        if (!q) {
            EXPECT(errno == ENOMEM, "op %lu: realloc(%zu -> %zu) failed with errno %d", op, s->n, n,
                   errno);
            EXPECT(intact(s, s->n), "op %lu: a failed realloc changed its block", op);
            ++*refused;
            return true;
        }
        s->p = q;
        EXPECT(intact(s, keep), "op %lu: realloc %zu -> %zu lost contents", op, s->n, n);
        s->n = n;
        fill(s, keep);
        return true;
    }
    if (s->p) {
        EXPECT(intact(s, s->n), "op %lu: a block of %zu bytes changed before free", op, s->n);
        errno = 4321;
        am_free(&heap, s->p);
        EXPECT(errno == 4321, "op %lu: free changed errno to %d", op, errno);
        s->p = NULL;
        return true;
    }
    size_t n = random_size();
    void *p = NULL;
    errno = 0;
    switch (r % 8) {
    case 0:
        p = am_calloc(&heap, 1, n);
        break;
    case 1: {
        size_t align = (size_t)32 << (r >> 8) % 10;
        int err = am_posix_memalign(&heap, &p, align, n);
        if (err == ENOTSUP)
            return true;
        EXPECT(err == 0 || err == ENOMEM, "op %lu: posix_memalign returned %d", op, err);
        EXPECT(!p || (uintptr_t)p % align == 0, "op %lu: misaligned block", op);
        break;
    }
    default:
        p = am_malloc(&heap, n);
    }
    if (!p) {
        EXPECT(errno == ENOMEM, "op %lu: allocation of %zu failed with errno %d", op, n, errno);
        ++*refused;
        return true;
    }
    if (r % 8 == 0)
        for (size_t i = 0; i < n; i++)
            EXPECT(((unsigned char *)p)[i] == 0, "op %lu: calloc byte %zu not zero", op, i);
    s->p = p;
    s->n = n;
    s->tag = am_test_xorshift(&rng);
    fill(s, 0);
    return true;
}

static bool free_all(void)
{
    for (int i = 0; i < SLOTS; i++) {
        if (!slots[i].p)
            continue;
        EXPECT(intact(&slots[i], slots[i].n), "a block of %zu bytes changed", slots[i].n);
        am_free(&heap, slots[i].p);
        slots[i].p = NULL;
    }
    return true;
}

/* With faults off: a round of work that must all succeed. */
static bool serves_again(const char *after)
{
    for (unsigned long op = 0; op < 2000; op++) {
        unsigned long refused = 0;
        if (!step(op, &refused))
            return false;
        EXPECT(refused == 0, "after %s, with faults off: an allocation failed", after);
    }
    return free_all() && sound(after);
}

/* ---------------------------------------------------------------------------
 * The cases
 * ------------------------------------------------------------------------ */

static bool open_heap(void)
{
    int err = am_heap_open(&heap, allocator, AM_OPEN_THREADED);
    EXPECT(err == 0, "open failed: %s", strerror(err));
    return true;
}

/* A plan armed for a run of random work; then faults off, and it serves. */
static bool under_plan(const struct am_os_faults *plan, const char *name)
{
    if (!open_heap())
        return false;
    am__os_faults_arm(plan);
    unsigned long refused = 0;
    for (unsigned long op = 0; op < 3000; op++) {
        if (!step(op, &refused)) {
            am__os_faults_arm(NULL);
            return false;
        }
        if (op % 500 == 499 && !sound(name)) {
            am__os_faults_arm(NULL);
            return false;
        }
    }
    unsigned long injected = am__os_faults_injected();
    am__os_faults_arm(NULL);
    if (!sound(name) || !free_all() || !sound(name) || !serves_again(name))
        return false;
    printf("  %-22s %5lu calls refused, %5lu allocations failed\n", name, injected, refused);
    am_heap_close(&heap);
    return true;
}

static int case_probability(void *arg)
{
    static const double ps[] = {0.02, 0.2, 1.0};
    (void)arg;
    for (unsigned i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "probability %.2f", ps[i]);
        struct am_os_faults plan = {.calls = AM_OS_ALL, .probability = ps[i], .seed = i + 1};
        if (!under_plan(&plan, name))
            return 1;
    }
    return 0;
}

static int case_every_and_next(void *arg)
{
    (void)arg;
    struct am_os_faults every3 = {.calls = AM_OS_ALL, .every = 3};
    struct am_os_faults next20 = {.calls = AM_OS_ALL, .skip = 40, .count = 20};
    struct am_os_faults maps = {.calls = AM_OS_MAP | AM_OS_SBRK | AM_OS_REMAP, .every = 2};
    return under_plan(&every3, "every 3rd call") && under_plan(&next20, "20 calls after 40") &&
                   under_plan(&maps, "every 2nd map/sbrk")
               ? 0
               : 1;
}

/* The k-th call of init refused, for every k until init needs fewer. */
static int case_init(void *arg)
{
    (void)arg;
    unsigned long k;
    for (k = 0; k < 64; k++) {
        struct am_os_faults plan = {.calls = AM_OS_ALL, .skip = k};
        am__os_faults_arm(&plan);
        int err = am_heap_open(&heap, allocator, AM_OPEN_THREADED);
        unsigned long injected = am__os_faults_injected();
        am__os_faults_arm(NULL);
        if (err == 0) {
            bool ok = sound("init under faults") && serves_again("init under faults");
            am_heap_close(&heap);
            if (!ok)
                return 1;
            if (injected == 0)
                break; /* init made fewer than k calls: all of them were tried */
            continue;
        }
        if (!CHECK(err == ENOMEM, "init with call %lu refused: %s", k, strerror(err)))
            return 1;
        if (!open_heap() || !serves_again("a failed init"))
            return 1;
        am_heap_close(&heap);
    }
    printf("  init: %lu OS calls, each refused in turn\n", k);
    return 0;
}

/* munmap and madvise refused on every free: nothing crashes, errno is kept,
 * and the memory is still there to serve from. */
static int case_unmap(void *arg)
{
    (void)arg;
    if (!open_heap())
        return 1;
    unsigned long refused = 0;
    for (int round = 0; round < 2; round++) {
        for (unsigned long op = 0; op < 3000; op++)
            if (!step(op, &refused))
                return 1;
        struct am_os_faults plan = {.calls = AM_OS_UNMAP | AM_OS_ADVISE | AM_OS_SBRK};
        am__os_faults_arm(&plan);
        bool ok = free_all() && sound("free with munmap and madvise refused");
        unsigned long injected = am__os_faults_injected();
        am__os_faults_arm(NULL);
        if (!ok)
            return 1;
        if (round == 0)
            printf("  free with munmap/madvise refused: %lu refused\n", injected);
    }
    if (!serves_again("frees with munmap refused"))
        return 1;
    am_heap_close(&heap);
    return refused == 0 ? 0 : 1;
}

/* The real mapping limit (vm.max_map_count), no hook: the process's mappings
 * are used up with one-page fillers that cannot merge (alternate
 * protections); then blocks are freed, which for a backend that unmaps means
 * cutting a mapping the kernel merged with its neighbours, which needs one
 * mapping more, which the kernel refuses. free must live through it and keep
 * errno; once the fillers go, the backend serves again. */
static int case_map_limit(void *arg)
{
    (void)arg;
    if (UNDER_ASAN) {
        printf("  mapping limit: skipped under AddressSanitizer\n");
        return 0;
    }
    if (!open_heap())
        return 1;
    enum { BLOCKS = 64 };
    void *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = am_malloc(&heap, 3000 + (size_t)i * 64);
        if (!blocks[i])
            return 1;
        memset(blocks[i], i, 3000);
    }
    size_t cap = (size_t)1 << 20, n = 0;
    void **fillers = mmap(NULL, cap * sizeof *fillers, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (fillers == MAP_FAILED)
        return 2;
    while (n < cap) {
        void *f =
            mmap(NULL, 4096, n % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (f == MAP_FAILED)
            break;
        fillers[n++] = f;
    }
    unsigned long kept_errno = 0, allocations = 0, refused = 0;
    for (int i = 0; i < BLOCKS; i += 2) {
        errno = 4321;
        am_free(&heap, blocks[i]);
        kept_errno += errno == 4321;
        blocks[i] = NULL;
        errno = 0;
        void *p = am_malloc(&heap, 5000);
        if (p) {
            allocations++;
            am_free(&heap, p);
        } else if (!CHECK(errno == ENOMEM, "at the mapping limit: malloc errno %d", errno)) {
            return 1;
        } else {
            refused++;
        }
    }
    for (size_t i = 0; i < n; i++)
        munmap(fillers[i], 4096);
    munmap(fillers, cap * sizeof *fillers);
    CHECK(kept_errno == BLOCKS / 2, "free at the mapping limit changed errno %lu times",
          BLOCKS / 2 - kept_errno);
    for (int i = 1; i < BLOCKS; i += 2) {
        unsigned char *b = blocks[i];
        for (size_t k = 0; k < 3000; k++)
            if (b[k] != (unsigned char)i) {
                CHECK(false, "block %d changed at the mapping limit", i);
                return 1;
            }
        am_free(&heap, b);
    }
    printf("  mapping limit: %zu fillers; %lu allocations served, %lu refused there\n", n,
           allocations, refused);
    if (!sound("the mapping limit") || !serves_again("the mapping limit"))
        return 1;
    am_heap_close(&heap);
    return am_test.failed ? 1 : 0;
}

/* An address-space limit of 200 MiB: the backend opens, fills it, says
 * ENOMEM, and after the frees serves as much again. */
static int case_rlimit(void *arg)
{
    (void)arg;
    if (UNDER_ASAN) {
        printf("  RLIMIT_AS: skipped under AddressSanitizer\n");
        return 0;
    }
    struct rlimit limit = {200u << 20, 200u << 20};
    if (setrlimit(RLIMIT_AS, &limit) != 0)
        return 2;
    if (!open_heap())
        return 1;
    size_t filled[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        int i = 0;
        for (;; i = (i + 1) % SLOTS) {
            struct slot *s = &slots[i];
            if (s->p)
                break; /* every slot full: a MiB each */
            errno = 0;
            s->p = am_malloc(&heap, (size_t)1 << 20);
            s->n = 256; /* the pattern covers the start: address space is what counts */
            if (!s->p) {
                if (!CHECK(errno == ENOMEM, "out of address space: errno %d", errno))
                    return 1;
                break;
            }
            s->tag = (uint64_t)i + 1;
            fill(s, 0);
            filled[round] += (size_t)1 << 20;
        }
        /* Small blocks still fail cleanly, or fit in what is left. */
        for (int k = 0; k < 1000; k++) {
            errno = 0;
            void *p = am_malloc(&heap, 100);
            if (!p && !CHECK(errno == ENOMEM, "small block: errno %d", errno))
                return 1;
            am_free(&heap, p);
        }
        if (!sound("full under RLIMIT_AS") || !free_all() || !sound("emptied under RLIMIT_AS"))
            return 1;
    }
    printf("  RLIMIT_AS 200 MiB: %zu MiB, then %zu MiB after freeing\n", filled[0] >> 20,
           filled[1] >> 20);
    CHECK(filled[0] >= (100u << 20), "only %zu MiB served under a 200 MiB limit", filled[0] >> 20);
    CHECK(filled[1] >= filled[0] - filled[0] / 8, "%zu MiB, then only %zu MiB after freeing",
          filled[0] >> 20, filled[1] >> 20);
    am_heap_close(&heap);
    return am_test.failed ? 1 : 0;
}

/* Requests no machine can satisfy fail after at most two system calls each
 * (glibc's too-large test makes hundreds of thousands of them). */
static int case_too_large(void *arg)
{
    (void)arg;
    if (!open_heap())
        return 1;
    void *small = am_malloc(&heap, 16);
    struct am_os_faults count_only = {.calls = AM_OS_ALL, .skip = ULONG_MAX};
    am__os_faults_arm(&count_only);
    unsigned long requests = 0;
    for (unsigned shift = 47; shift < 64; shift++) {
        for (size_t k = 0; k < 4; k++) {
            size_t n = ((size_t)1 << shift) - k * 4096;
            void *p = NULL;
            errno = 0;
            if (!CHECK(am_malloc(&heap, n) == NULL && errno == ENOMEM, "malloc(%zu)", n) ||
                !CHECK(am_calloc(&heap, 2, n / 2) == NULL, "calloc(2, %zu)", n / 2) ||
                !CHECK(am_realloc(&heap, small, n) == NULL, "realloc(%zu)", n) ||
                !CHECK(am_posix_memalign(&heap, &p, 4096, n) != 0, "posix_memalign(%zu)", n))
                return 1;
            requests += 4;
        }
    }
    unsigned long calls = am__os_faults_seen();
    am__os_faults_arm(NULL);
    printf("  too large: %lu requests, %lu OS calls\n", requests, calls);
    CHECK(calls <= 2 * requests, "%lu impossible requests made %lu OS calls", requests, calls);
    am_free(&heap, small);
    am_heap_close(&heap);
    return am_test.failed ? 1 : 0;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* In the child: run the case, and say what went wrong before exiting. */
static int (*current_case)(void *);

static int run_case(void *arg)
{
    am_test.passed = am_test.failed = 0; /* the parent's count is not this case's */
    int rc = current_case(arg);
    if (rc && failure[0])
        fprintf(stderr, "FAIL %s: %s\n", allocator->name, failure);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 || !(allocator = am_find_allocator(argv[1])) ||
        (allocator->caps & (AM_CAP_PROCESS_MALLOC | AM_CAP_TEST_ONLY))) {
        fprintf(stderr, "usage: test-faults BACKEND (an in-house backend's name)\n");
        return 2;
    }
    static const struct {
        const char *name;
        int (*run)(void *);
    } cases[] = {
        {"random faults", case_probability},    {"every Nth, next N", case_every_and_next},
        {"faults during init", case_init},      {"munmap/madvise refused on free", case_unmap},
        {"RLIMIT_AS 200 MiB", case_rlimit},     {"the real mapping limit", case_map_limit},
        {"too-large requests", case_too_large},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[128];
        current_case = cases[i].run;
        double start = now_seconds();
        bool ok = am_isolated(run_case, NULL, 120, what, sizeof what);
        printf("  (%s: %.1f s)\n", cases[i].name, now_seconds() - start);
        CHECK(ok, "%s on %s: %s", cases[i].name, argv[1], what);
    }
    return am_test_finish(argv[1]);
}
