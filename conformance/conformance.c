/*
 * conformance.c: the checks of the conformance suite and their runner (see
 * conformance.h).
 *
 * Every check talks to the allocator only through the front end, so the same
 * code checks the in-house backends (whose contract the front end completes)
 * and the references (whose calls it forwards untouched to the real library).
 * A reference's known deviation is listed in its own vtable (`deviations`,
 * in allocators/<name>/) with its reason: it is reported as "expected",
 * never hidden, and a listed deviation that stops happening is a failure, so
 * the list stays true.
 */
#include "conformance.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend.h"
#include "expect.h"

/* A check gets an opened heap and reports through CHECK and REQUIRE; it calls
 * SKIP() when the allocator lacks what it checks. */
typedef void (*check_fn)(struct am_heap *h);
static bool check_skipped;
#define SKIP()                \
    do {                      \
        check_skipped = true; \
        return;               \
    } while (0)

/* Each check is given this long before it counts as hung, on a machine
 * with a CPU to spare; check_timeout_s stretches it on a busy one. */
#define CHECK_TIMEOUT_S     60
#define CHECK_TIMEOUT_MAX_S 300

/* CHECK_TIMEOUT_S, times the load average per CPU when that is above 1 (at
 * most CHECK_TIMEOUT_MAX_S): a hung check makes no progress at all, while
 * one sharing its CPUs with other work is only slower, and must not be
 * called hung for that (mmap-only's threads_cross_free took 113 s at a
 * load of 9 on 2 CPUs, seconds when quiet). */
static unsigned check_timeout_s(void)
{
    double load;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (getloadavg(&load, 1) != 1 || cpus < 1 || load <= (double)cpus)
        return CHECK_TIMEOUT_S;
    double stretched = CHECK_TIMEOUT_S * load / (double)cpus;
    return stretched >= CHECK_TIMEOUT_MAX_S ? CHECK_TIMEOUT_MAX_S : (unsigned)stretched;
}

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* xorshift64*: reproducible sizes and patterns without libc's rand state. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static unsigned char pattern_byte(uint64_t tag, size_t i)
{
    return (unsigned char)((tag * 131u + i * 7u) ^ (tag >> 8));
}

static void fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(tag, i);
}

/* The index of the first byte that differs from the pattern, or n. */
static size_t first_mismatch(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(tag, i))
            return i;
    return n;
}

/* Sizes like real programs': mostly small, a heavy tail up to max. */
static size_t random_size(uint64_t *s, size_t max)
{
    uint64_t r = next_random(s);
    size_t n;
    switch (r % 16) {
    case 0:
        n = 4096 + (size_t)(r >> 8) % (max > 4096 ? max - 4096 : 1);
        break;
    case 1:
    case 2:
        n = 512 + (size_t)(r >> 8) % 3584;
        break;
    default:
        n = 1 + (size_t)(r >> 8) % 512;
    }
    return n < max ? n : max;
}

static const size_t huge_sizes[] = {
    SIZE_MAX,        (size_t)PTRDIFF_MAX + 1, SIZE_MAX - 1,        SIZE_MAX - 7,
    SIZE_MAX - 15,   SIZE_MAX - 16,           SIZE_MAX - 31,       SIZE_MAX - 64,
    SIZE_MAX - 4095, SIZE_MAX - 4096,         (size_t)PTRDIFF_MAX,
};
#define N_HUGE (sizeof huge_sizes / sizeof huge_sizes[0])

/* ------------------------------------------------------------------------
 * The checks
 * --------------------------------------------------------------------- */

static void malloc_zero_unique(struct am_heap *h)
{
    void *a = am_malloc(h, 0), *b = am_malloc(h, 0);
    CHECK(a != NULL && b != NULL, "malloc(0) returned NULL");
    CHECK(a != b, "two malloc(0) blocks share the address %p", a);
    am_free(h, a);
    am_free(h, b);
}

static void huge_sizes_fail(struct am_heap *h)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        void *p = am_malloc(h, huge_sizes[i]);
        CHECK(p == NULL, "malloc(%zu) succeeded", huge_sizes[i]);
        if (p)
            am_free(h, p);
    }
}

static void huge_sizes_set_enomem(struct am_heap *h)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        void *p = am_malloc(h, huge_sizes[i]);
        CHECK(p != NULL || errno == ENOMEM, "malloc(%zu) failed with errno %d, not ENOMEM",
              huge_sizes[i], errno);
        if (p)
            am_free(h, p);
    }
}

/* The alignment a block of n bytes must have under C17/C23's size-based rule:
 * 16 from 16 bytes up, else the largest power of two not above n. */
static size_t required_alignment(size_t n)
{
    size_t a = 16;
    while (a > n && a > 1)
        a /= 2;
    return a;
}

static void alignment_check(struct am_heap *h, bool any_size_16)
{
    void *blocks[600];
    size_t n = 0;
    for (size_t size = 1; size <= 9000 && n < sizeof blocks / sizeof blocks[0];
         size += size < 256 ? 1 : 97) {
        void *p = am_malloc(h, size);
        REQUIRE(p != NULL, "malloc(%zu) failed", size);
        size_t want = any_size_16 ? 16 : required_alignment(size);
        CHECK((uintptr_t)p % want == 0, "malloc(%zu) = %p is not %zu-byte aligned", size, p, want);
        blocks[n++] = p;
    }
    while (n)
        am_free(h, blocks[--n]);
}

static void alignment_by_size(struct am_heap *h)
{
    alignment_check(h, false);
}

static void alignment_16_any_size(struct am_heap *h)
{
    alignment_check(h, true);
}

static void usable_size_writable(struct am_heap *h)
{
    for (size_t size = 1; size < (1u << 20); size = size * 3 + 1) {
        unsigned char *p = am_malloc(h, size);
        REQUIRE(p != NULL, "malloc(%zu) failed", size);
        size_t usable = am_usable_size(h, p);
        if (usable == AM_STAT_UNKNOWN) {
            am_free(h, p);
            SKIP();
        }
        CHECK(usable >= size, "usable_size %zu < requested %zu", usable, size);
        memset(p, 0xA5, usable); /* every usable byte must be writable */
        am_free(h, p);
    }
}

static void free_null_keeps_errno(struct am_heap *h)
{
    errno = 12345;
    am_free(h, NULL);
    CHECK(errno == 12345, "free(NULL) changed errno to %d", errno);
    void *p = am_malloc(h, 100);
    errno = 4321;
    am_free(h, p);
    CHECK(errno == 4321, "free(p) changed errno to %d", errno);
}

static const size_t calloc_overflows[][2] = {
    {SIZE_MAX / 2 + 1, 2},
    {2, SIZE_MAX / 2 + 1},
    {(size_t)1 << 32, (size_t)1 << 32}, /* the product wraps to exactly 0 */
    {(size_t)1 << 33, (size_t)1 << 31},
    {SIZE_MAX, SIZE_MAX},
    {65537, (SIZE_MAX / 65537) + 1},
};
#define N_CALLOC_OVERFLOWS (sizeof calloc_overflows / sizeof calloc_overflows[0])

static void calloc_overflow_fails(struct am_heap *h)
{
    for (size_t i = 0; i < N_CALLOC_OVERFLOWS; i++) {
        for (int order = 0; order < 2; order++) {
            size_t a = calloc_overflows[i][order], b = calloc_overflows[i][!order];
            void *p = am_calloc(h, a, b);
            CHECK(p == NULL, "calloc(%zu, %zu) succeeded", a, b);
            if (p)
                am_free(h, p);
        }
    }
}

static void calloc_overflow_sets_enomem(struct am_heap *h)
{
    for (size_t i = 0; i < N_CALLOC_OVERFLOWS; i++) {
        for (int order = 0; order < 2; order++) {
            size_t a = calloc_overflows[i][order], b = calloc_overflows[i][!order];
            errno = 0;
            void *p = am_calloc(h, a, b);
            CHECK(p != NULL || errno == ENOMEM, "calloc(%zu, %zu) failed with errno %d", a, b,
                  errno);
            if (p)
                am_free(h, p);
        }
    }
}

/* Dirty blocks, free them, calloc the same sizes: all must read as zero. */
static void calloc_zeroes_reused_memory(struct am_heap *h)
{
    static const size_t sizes[] = {1, 8, 16, 24, 100, 512, 1000, 4096, 5000, 70000, 300000};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            void *dirty[8];
            for (int k = 0; k < 8; k++) {
                dirty[k] = am_malloc(h, n);
                REQUIRE(dirty[k] != NULL, "malloc(%zu) failed", n);
                memset(dirty[k], 0xCD, n);
            }
            for (int k = 7; k >= 0; k--)
                am_free(h, dirty[k]);
            for (int k = 0; k < 8; k++) {
                unsigned char *z = am_calloc(h, 1, n);
                REQUIRE(z != NULL, "calloc(1, %zu) failed", n);
                size_t bad = n;
                for (size_t j = 0; j < n; j++)
                    if (z[j]) {
                        bad = j;
                        break;
                    }
                CHECK(bad == n, "calloc(1, %zu) byte %zu is 0x%02x", n, bad, bad < n ? z[bad] : 0);
                dirty[k] = z;
            }
            for (int k = 0; k < 8; k++)
                am_free(h, dirty[k]);
        }
    }
}

static void realloc_keeps_contents(struct am_heap *h)
{
    size_t n = 1;
    unsigned char *p = am_malloc(h, n);
    REQUIRE(p != NULL);
    fill(p, n, 7);
    /* Grow step by step to 4 MiB, checking what was there at each step. */
    while (n < ((size_t)4 << 20)) {
        size_t next = n * 2 + 3;
        unsigned char *q = am_realloc(h, p, next);
        REQUIRE(q != NULL, "realloc to %zu failed", next);
        size_t bad = first_mismatch(q, n, 7);
        CHECK(bad == n, "growing %zu -> %zu lost byte %zu", n, next, bad);
        fill(q, next, 7);
        p = q;
        n = next;
    }
    /* And shrink back down. */
    while (n > 1) {
        size_t next = n / 3;
        if (next == 0)
            next = 1;
        unsigned char *q = am_realloc(h, p, next);
        REQUIRE(q != NULL, "realloc to %zu failed", next);
        size_t bad = first_mismatch(q, next, 7);
        CHECK(bad == next, "shrinking %zu -> %zu lost byte %zu", n, next, bad);
        p = q;
        n = next;
    }
    am_free(h, p);
}

static void realloc_null_is_malloc(struct am_heap *h)
{
    unsigned char *p = am_realloc(h, NULL, 200);
    REQUIRE(p != NULL, "realloc(NULL, 200) returned NULL");
    memset(p, 1, 200);
    CHECK(am_usable_size(h, p) >= 200);
    am_free(h, p);
}

/* glibc's choice: realloc(p, 0) frees p and returns NULL. */
static void realloc_zero_frees(struct am_heap *h)
{
    void *p = am_malloc(h, 64);
    REQUIRE(p != NULL);
    void *q = am_realloc(h, p, 0);
    CHECK(q == NULL, "realloc(p, 0) returned a block (%p)", q);
    if (q)
        am_free(h, q);
}

static void realloc_failure_keeps_block(struct am_heap *h)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        unsigned char *p = am_malloc(h, 1000);
        REQUIRE(p != NULL);
        fill(p, 1000, i);
        void *q = am_realloc(h, p, huge_sizes[i]);
        CHECK(q == NULL, "realloc to %zu succeeded", huge_sizes[i]);
        if (q) {
            am_free(h, q);
            continue;
        }
        CHECK(first_mismatch(p, 1000, i) == 1000, "failed realloc changed the old block");
        am_free(h, p); /* the old block is still ours to free */
    }
}

static void realloc_failure_sets_enomem(struct am_heap *h)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        void *p = am_malloc(h, 1000);
        REQUIRE(p != NULL);
        errno = 0;
        void *q = am_realloc(h, p, huge_sizes[i]);
        CHECK(q != NULL || errno == ENOMEM, "realloc to %zu failed with errno %d", huge_sizes[i],
              errno);
        am_free(h, q ? q : p);
    }
}

static void aligned_16b_to_4mib(struct am_heap *h)
{
    if (!(h->impl->caps & AM_CAP_ALIGNED))
        SKIP();
    for (size_t align = 16; align <= ((size_t)4 << 20); align *= 2) {
        const size_t sizes[] = {1, 24, align - 1, align, align + 1, 3 * align + 5};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = NULL;
            int err = am_posix_memalign(h, &p, align, sizes[i]);
            REQUIRE(err == 0 && p, "posix_memalign(%zu, %zu) = %d", align, sizes[i], err);
            CHECK((uintptr_t)p % align == 0, "posix_memalign(%zu) gave %p", align, p);
            fill(p, sizes[i], align + i);
            void *q = am_aligned_alloc(h, align, sizes[i]);
            REQUIRE(q != NULL, "aligned_alloc(%zu, %zu) failed", align, sizes[i]);
            CHECK((uintptr_t)q % align == 0, "aligned_alloc(%zu) gave %p", align, q);
            fill(q, sizes[i], ~align);
            CHECK(first_mismatch(p, sizes[i], align + i) == sizes[i], "aligned blocks overlap");
            CHECK(am_usable_size(h, p) >= sizes[i]);
            am_free(h, q);
            am_free(h, p);
        }
    }
}

static void aligned_invalid_rejected(struct am_heap *h)
{
    static const size_t bad[] = {0, 1, 2, 4, 3, 24, 48, 100, 4097, ((size_t)1 << 20) + 16};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1;
        int err = am_posix_memalign(h, &p, bad[i], 64);
        CHECK(err == EINVAL, "posix_memalign with alignment %zu returned %d, not EINVAL", bad[i],
              err);
        if (err == 0)
            am_free(h, p);
    }
}

/* 10 000 live blocks of random sizes, each filled with its own pattern: any
 * overlap or stray write shows as a mismatch. */
static void random_10000_live_blocks(struct am_heap *h)
{
    enum { N = 10000 };
    static void *blocks[N];
    static size_t sizes[N];
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < N; i++) {
        sizes[i] = random_size(&seed, 256 << 10);
        blocks[i] = am_malloc(h, sizes[i]);
        REQUIRE(blocks[i] != NULL, "block %d of %zu bytes failed", i, sizes[i]);
        fill(blocks[i], sizes[i], (uint64_t)i);
    }
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            size_t bad = first_mismatch(blocks[i], sizes[i], (uint64_t)i + (uint64_t)round * N);
            if (!CHECK(bad == sizes[i], "block %d (%zu bytes at %p) overwritten at byte %zu", i,
                       sizes[i], blocks[i], bad))
                return;
        }
        /* Replace a random half with new blocks of new sizes and patterns. */
        for (int i = 0; i < N; i++) {
            uint64_t tag = (uint64_t)i + (uint64_t)(round + 1) * N;
            if (next_random(&seed) & 1) {
                am_free(h, blocks[i]);
                sizes[i] = random_size(&seed, 256 << 10);
                blocks[i] = am_malloc(h, sizes[i]);
                REQUIRE(blocks[i] != NULL);
            }
            fill(blocks[i], sizes[i], tag);
        }
    }
    for (int i = 0; i < N; i++)
        am_free(h, blocks[i]);
}

/* Threads churn; a share of the blocks each thread allocates is freed by the
 * next thread, through a small mailbox. */
enum { CHURN_THREADS = 4, CHURN_OPS = 60000, MAILBOX = 64 };

struct mailbox {
    pthread_mutex_t lock;
    void *slot[MAILBOX];
    size_t size[MAILBOX];
    int count;
};

struct churner {
    struct am_heap *heap;
    struct mailbox *inbox, *outbox;
    uint64_t seed;
    long errors;
};

static void *churn(void *arg)
{
    struct churner *c = arg;
    enum { LIVE = 256 };
    void *live[LIVE] = {0};
    size_t live_size[LIVE] = {0};
    for (int op = 0; op < CHURN_OPS; op++) {
        uint64_t r = next_random(&c->seed);
        int slot = (int)(r % LIVE);
        if (live[slot]) {
            if (first_mismatch(live[slot], live_size[slot], live_size[slot]) != live_size[slot])
                c->errors++;
            if (r & 0x100) { /* hand it to the next thread to free */
                pthread_mutex_lock(&c->outbox->lock);
                if (c->outbox->count < MAILBOX) {
                    c->outbox->slot[c->outbox->count] = live[slot];
                    c->outbox->size[c->outbox->count++] = live_size[slot];
                    live[slot] = NULL;
                }
                pthread_mutex_unlock(&c->outbox->lock);
            }
            if (live[slot])
                am_free(c->heap, live[slot]);
            live[slot] = NULL;
        } else {
            size_t n = random_size(&c->seed, 64 << 10);
            live[slot] = am_malloc(c->heap, n);
            if (!live[slot]) {
                c->errors++;
                continue;
            }
            live_size[slot] = n;
            fill(live[slot], n, n);
        }
        if ((op & 15) == 0) { /* free what other threads sent us */
            pthread_mutex_lock(&c->inbox->lock);
            for (int i = 0; i < c->inbox->count; i++) {
                if (first_mismatch(c->inbox->slot[i], c->inbox->size[i], c->inbox->size[i]) !=
                    c->inbox->size[i])
                    c->errors++;
                am_free(c->heap, c->inbox->slot[i]);
            }
            c->inbox->count = 0;
            pthread_mutex_unlock(&c->inbox->lock);
        }
    }
    for (int i = 0; i < LIVE; i++)
        am_free(c->heap, live[i]);
    return NULL;
}

static void threads_cross_free(struct am_heap *h)
{
    for (int nthreads = 2; nthreads <= CHURN_THREADS; nthreads++) {
        struct mailbox boxes[CHURN_THREADS];
        struct churner c[CHURN_THREADS];
        pthread_t tid[CHURN_THREADS];
        for (int i = 0; i < nthreads; i++) {
            pthread_mutex_init(&boxes[i].lock, NULL);
            boxes[i].count = 0;
        }
        for (int i = 0; i < nthreads; i++) {
            c[i] = (struct churner){.heap = h,
                                    .inbox = &boxes[i],
                                    .outbox = &boxes[(i + 1) % nthreads],
                                    .seed = 0x1234567ULL * (uint64_t)(i + 1)};
            REQUIRE(pthread_create(&tid[i], NULL, churn, &c[i]) == 0);
        }
        for (int i = 0; i < nthreads; i++)
            pthread_join(tid[i], NULL);
        for (int i = 0; i < nthreads; i++) {
            CHECK(c[i].errors == 0, "%d threads: thread %d saw %ld bad blocks", nthreads, i,
                  c[i].errors);
            for (int k = 0; k < boxes[i].count; k++)
                am_free(h, boxes[i].slot[k]);
        }
    }
}

struct busy_thread {
    struct am_heap *heap;
    atomic_int stop; /* atomic: ThreadSanitizer checks this file too */
};

static void *allocate_until_stopped(void *arg)
{
    struct busy_thread *b = arg;
    uint64_t seed = 42;
    void *keep[32] = {0};
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        int slot = (int)(next_random(&seed) % 32);
        am_free(b->heap, keep[slot]);
        keep[slot] = am_malloc(b->heap, random_size(&seed, 32 << 10));
    }
    for (int i = 0; i < 32; i++)
        am_free(b->heap, keep[i]);
    return NULL;
}

/* fork while another thread allocates; the child must be able to allocate. */
static void fork_while_allocating(struct am_heap *h)
{
    struct busy_thread b = {.heap = h, .stop = 0};
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, allocate_until_stopped, &b) == 0);
    for (int round = 0; round < 20; round++) {
        usleep(2000);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(10); /* a lock inherited locked would hang here */
            uint64_t seed = (uint64_t)round + 1;
            for (int i = 0; i < 2000; i++) {
                size_t n = random_size(&seed, 64 << 10);
                void *p = am_malloc(h, n);
                if (!p)
                    _exit(2);
                fill(p, n, n);
                if (first_mismatch(p, n, n) != n)
                    _exit(3);
                am_free(h, p);
            }
            _exit(0);
        }
        REQUIRE(pid > 0, "fork failed");
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "child %d after fork: status 0x%x (%s)", round, status,
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "deadlocked" : "failed");
    }
    atomic_store(&b.stop, 1);
    pthread_join(tid, NULL);
}

static bool is_check_name(const char *name);

/* Every known deviation the allocator lists names a check of this suite (a
 * misspelt one would never apply). */
static void deviations_name_checks(struct am_heap *h)
{
    if (!h->impl->deviations)
        SKIP();
    for (const struct am_deviation *d = h->impl->deviations; d->check; d++)
        CHECK(is_check_name(d->check), "'%s' is listed as a known deviation but is no check",
              d->check);
}

/* After mixed work the backend's own walk of its structures finds them sound. */
static void backend_verify_after_churn(struct am_heap *h)
{
    char why[256];
    if (am_verify(h, why, sizeof why) == ENOTSUP)
        SKIP();
    enum { N = 3000 };
    static void *blocks[N];
    uint64_t seed = 99;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            if (blocks[i] && (next_random(&seed) & 1)) {
                am_free(h, blocks[i]);
                blocks[i] = NULL;
            } else if (!blocks[i]) {
                blocks[i] = am_malloc(h, random_size(&seed, 100000));
            } else {
                void *q = am_realloc(h, blocks[i], random_size(&seed, 100000));
                if (q)
                    blocks[i] = q;
            }
        }
        int err = am_verify(h, why, sizeof why);
        CHECK(err == 0, "round %d: %s", round, why);
    }
    for (int i = 0; i < N; i++)
        am_free(h, blocks[i]);
    int err = am_verify(h, why, sizeof why);
    CHECK(err == 0, "after freeing everything: %s", why);
}

/* The allocator's own statistics account for what is live. */
static void stats_cover_live_blocks(struct am_heap *h)
{
    struct am_stats s;
    if (am_stats(h, &s) == ENOTSUP)
        SKIP();
    enum { N = 1000, SIZE = 1000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = am_malloc(h, SIZE);
        REQUIRE(blocks[i] != NULL);
        memset(blocks[i], 1, SIZE);
    }
    REQUIRE(am_stats(h, &s) == 0);
    if (s.live_bytes != AM_STAT_UNKNOWN)
        CHECK(s.live_bytes >= (size_t)N * SIZE, "live_bytes %zu < %d", s.live_bytes, N * SIZE);
    if (s.os_bytes != AM_STAT_UNKNOWN)
        CHECK(s.os_bytes >= (size_t)N * SIZE, "os_bytes %zu < %d", s.os_bytes, N * SIZE);
    if (s.os_bytes_peak != AM_STAT_UNKNOWN && s.os_bytes != AM_STAT_UNKNOWN)
        CHECK(s.os_bytes_peak >= s.os_bytes, "peak %zu < now %zu", s.os_bytes_peak, s.os_bytes);
    for (int i = 0; i < N; i++)
        am_free(h, blocks[i]);
}

/* ------------------------------------------------------------------------
 * The table of checks and the known deviations of the references
 * --------------------------------------------------------------------- */

static const struct {
    const char *name;
    check_fn fn;
    const char *about;
} checks[] = {
    {"malloc_zero_unique", malloc_zero_unique, "malloc(0) gives distinct, freeable blocks"},
    {"huge_sizes_fail", huge_sizes_fail, "SIZE_MAX, PTRDIFF_MAX+1, SIZE_MAX-k give NULL"},
    {"huge_sizes_set_enomem", huge_sizes_set_enomem, "... and set errno to ENOMEM"},
    {"alignment_16", alignment_by_size, "16-byte aligned from 16 B up (smaller: by size)"},
    {"alignment_16_any_size", alignment_16_any_size, "16-byte aligned at every size (glibc)"},
    {"usable_size_writable", usable_size_writable, "usable_size >= n, all of it writable"},
    {"free_null_keeps_errno", free_null_keeps_errno, "free(NULL) and free(p) leave errno"},
    {"calloc_overflow_fails", calloc_overflow_fails, "nmemb*size overflow (both orders) is NULL"},
    {"calloc_overflow_sets_enomem", calloc_overflow_sets_enomem, "... and sets ENOMEM"},
    {"calloc_zeroes_reused", calloc_zeroes_reused_memory, "calloc zeroes dirty reused memory"},
    {"realloc_keeps_contents", realloc_keeps_contents, "grow to 4 MiB and shrink keep bytes"},
    {"realloc_null_is_malloc", realloc_null_is_malloc, "realloc(NULL, n) allocates"},
    {"realloc_zero_frees", realloc_zero_frees, "realloc(p, 0) frees p, returns NULL (glibc)"},
    {"realloc_failure_keeps", realloc_failure_keeps_block, "failed realloc keeps the block"},
    {"realloc_failure_enomem", realloc_failure_sets_enomem, "... and sets ENOMEM"},
    {"aligned_16b_to_4mib", aligned_16b_to_4mib, "posix_memalign/aligned_alloc 16 B..4 MiB"},
    {"aligned_invalid_einval", aligned_invalid_rejected, "bad alignments give EINVAL"},
    {"random_10000_live", random_10000_live_blocks, "10 000 patterned blocks never overlap"},
    {"threads_cross_free", threads_cross_free, "2-4 threads churn, frees by other threads"},
    {"fork_while_allocating", fork_while_allocating, "fork during allocation; child allocates"},
    {"backend_verify", backend_verify_after_churn, "the backend's own verify passes after churn"},
    {"stats_cover_live", stats_cover_live_blocks, "statistics account for live blocks"},
    {"deviations_name_checks", deviations_name_checks, "each listed known deviation is a check"},
};
#define N_CHECKS (sizeof checks / sizeof checks[0])

static bool is_check_name(const char *name)
{
    for (unsigned i = 0; i < N_CHECKS; i++)
        if (!strcmp(checks[i].name, name))
            return true;
    return false;
}

/* The allocator's own list of known deviations (its vtable, in its folder;
 * measured on Debian 12 with its packages, each reproducible outside
 * allocmark with a ten-line program). */
static const char *known_deviation(const struct am_allocator *a, const char *check)
{
    for (const struct am_deviation *d = a->deviations; d && d->check; d++)
        if (!strcmp(d->check, check))
            return d->why;
    return NULL;
}

static const char *const verdict_names[AM_VERDICT_COUNT] = {
    "pass", "FAIL", "expected", "UNEXPECTED-PASS", "skipped", "CRASH",
};

const char *am_verdict_name(enum am_verdict v)
{
    return v < AM_VERDICT_COUNT ? verdict_names[v] : "?";
}

enum am_verdict am_verdict_parse(const char *word)
{
    for (int v = 0; v < AM_VERDICT_COUNT; v++)
        if (!strcmp(word, verdict_names[v]))
            return (enum am_verdict)v;
    return AM_VERDICT_COUNT;
}

int am_verdict_is_failure(enum am_verdict v)
{
    return v == AM_VERDICT_FAIL || v == AM_VERDICT_UNEXPECTED || v == AM_VERDICT_CRASH;
}

unsigned am_conformance_count(void)
{
    return N_CHECKS;
}

const char *am_conformance_name(unsigned i)
{
    return i < N_CHECKS ? checks[i].name : NULL;
}

const char *am_conformance_about(unsigned i)
{
    return i < N_CHECKS ? checks[i].about : NULL;
}

/* ------------------------------------------------------------------------
 * The runner: each check in a forked child
 * --------------------------------------------------------------------- */

enum { CHILD_PASS = 0, CHILD_FAIL = 1, CHILD_SKIP = 77, CHILD_NO_HEAP = 78 };

static void run_in_child(const struct am_allocator *a, unsigned i, int report_fd,
                         unsigned timeout_s)
{
    alarm(timeout_s);
    am_expect_reset(); /* the first failure goes back through report_fd */
    struct am_heap heap;
    int err = am_heap_open(&heap, a, AM_OPEN_THREADED);
    if (err) {
        dprintf(report_fd, "cannot open %s: %s", a->name, strerror(err));
        _exit(CHILD_NO_HEAP);
    }
    check_skipped = false;
    checks[i].fn(&heap);
    am_heap_close(&heap);
    if (am_expect.failed)
        dprintf(report_fd, "%s", am_expect.first_failure);
    _exit(am_expect.failed ? CHILD_FAIL : check_skipped ? CHILD_SKIP : CHILD_PASS);
}

static enum am_verdict run_one(const struct am_allocator *a, unsigned i, char *detail, size_t len)
{
    int fds[2];
    detail[0] = '\0';
    if (pipe(fds) != 0) {
        snprintf(detail, len, "pipe: %s", strerror(errno));
        return AM_VERDICT_CRASH;
    }
    unsigned timeout_s = check_timeout_s();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        run_in_child(a, i, fds[1], timeout_s);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < len && (n = read(fds[0], detail + used, len - used - 1)) > 0)
        used += (size_t)n;
    detail[used] = '\0';
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        snprintf(detail, len, "fork/wait: %s", strerror(errno));
        return AM_VERDICT_CRASH;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            snprintf(detail, len, "hung for more than %u s", timeout_s);
        else
            snprintf(detail, len, "killed by SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        return AM_VERDICT_CRASH;
    }
    switch (WEXITSTATUS(status)) {
    case CHILD_PASS:
        return AM_VERDICT_PASS;
    case CHILD_SKIP:
        return AM_VERDICT_SKIPPED;
    case CHILD_FAIL:
        return AM_VERDICT_FAIL;
    case CHILD_NO_HEAP:
        return AM_VERDICT_CRASH; /* never mistaken for a known deviation */
    default:
        snprintf(detail, len, "exited with status %d", WEXITSTATUS(status));
        return AM_VERDICT_CRASH;
    }
}

int am_conformance_run(const struct am_allocator *a, const bool *only, FILE *out)
{
    int failures = 0;
    for (unsigned i = 0; i < N_CHECKS; i++) {
        if (only && !only[i])
            continue;
        char detail[512];
        enum am_verdict v = run_one(a, i, detail, sizeof detail);
        const char *deviation = known_deviation(a, checks[i].name);
        if (deviation && v == AM_VERDICT_FAIL) {
            v = AM_VERDICT_EXPECTED;
            snprintf(detail, sizeof detail, "%s", deviation);
        } else if (deviation && v == AM_VERDICT_PASS) {
            v = AM_VERDICT_UNEXPECTED;
            snprintf(detail, sizeof detail, "listed as a known deviation (%s) but passed",
                     deviation);
        }
        for (char *c = detail; *c; c++)
            if (*c == '\n')
                *c = ' ';
        failures += am_verdict_is_failure(v);
        fprintf(out, "check %s %s %s\n", checks[i].name, am_verdict_name(v), detail);
        fflush(out);
    }
    return failures;
}
