/*
 * test_slab.c: what is particular to the slab backend: its size classes and
 * their waste, blocks passed between four threads with a cookie checked on
 * every free, memory going back to the OS after a burst (and after the thread
 * that allocated it exits), owners that exit while other threads free into
 * their full slabs, fork while other threads allocate, large and
 * aligned blocks, the bounded cache of large runs and its decay, large
 * realloc by remapping, a check() that notices a corrupted free list, and
 * a double free stopped with a message.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "os.h"
#include "testhelper.h"

#define MIB ((size_t)1 << 20)

static struct am_heap heap;

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static struct am_stats stats_now(void)
{
    struct am_stats s;
    if (am_stats(&heap, &s) != 0)
        memset(&s, 0xff, sizeof s);
    return s;
}

/* A backend-specific statistic by name; 0 when absent. */
static size_t stat_extra(const char *name)
{
    struct am_stats s = stats_now();
    for (unsigned i = 0; i < s.n_extra && i < AM_STATS_MAX_EXTRA; i++)
        if (strcmp(s.extra[i].name, name) == 0)
            return s.extra[i].value;
    return 0;
}

static void check_consistent(const char *when)
{
    char why[256];
    int err = am_verify(&heap, why, sizeof why);
    CHECK(err == 0, "%s: %s", when, why);
}

/* ------------------------------------------------------------------------
 * Size classes
 * --------------------------------------------------------------------- */

static void test_size_classes(void)
{
    size_t prev_usable = 0, classes = 0, class_lo = 1;
    for (size_t n = 1; n <= 32768; n++) {
        void *p = am_malloc(&heap, n);
        REQUIRE(p != NULL, "malloc(%zu)", n);
        size_t u = am_usable_size(&heap, p);
        am_free(&heap, p);
        REQUIRE(u >= n && u % 16 == 0, "usable_size(malloc(%zu)) = %zu", n, u);
        REQUIRE(u >= prev_usable, "usable size falls from %zu to %zu at %zu", prev_usable, u, n);
        if (n > 128)
            REQUIRE(u * 4 <= n * 5 + 3, "%zu B rounds up to %zu: more than 20 %% waste", n, u);
        if (u != prev_usable) {
            classes++;
            class_lo = n;
        }
        if (n == u && u >= 64) {
            /* The class (class_lo..u): mean waste over its sizes. */
            double waste = 0;
            for (size_t k = class_lo; k <= u; k++)
                waste += (double)(u - k) / (double)u;
            waste /= (double)(u - class_lo + 1);
            CHECK(waste <= 0.125, "class %zu wastes %.1f %% on average", u, waste * 100);
        }
        prev_usable = u;
    }
    CHECK(prev_usable == 32768 && classes == 40, "%zu classes up to %zu", classes, prev_usable);
    void *big = am_malloc(&heap, 32769);
    REQUIRE(big != NULL);
    CHECK(am_usable_size(&heap, big) >= 32769);
    am_free(&heap, big);
    check_consistent("after the size classes");
}

/* ------------------------------------------------------------------------
 * Owners exit while other threads free into their full slabs
 *
 * The first free into a slab on its owner's full list hands the block to the
 * owner heap's delayed list (remote_free). A heap whose thread exits must
 * wait for hand-offs under way, or a block lands on the delayed list of a
 * heap that sits in the pool and is never freed: live_blocks would stay
 * above zero at the end.
 * --------------------------------------------------------------------- */

#define HANDOFF_ROUNDS  150
#define HANDOFF_BLOCKS  400 /* 1 KiB blocks: six full slabs and some */
#define HANDOFF_FREEERS 2

struct handoff {
    void *blocks[HANDOFF_BLOCKS];
    atomic_int published; /* blocks[] filled: the freers may start */
    atomic_int next;      /* the next block to free */
};

static void *handoff_owner(void *arg)
{
    struct handoff *h = arg;
    for (int i = 0; i < HANDOFF_BLOCKS; i++) {
        h->blocks[i] = am_malloc(&heap, 1024);
        if (!h->blocks[i])
            abort();
        memset(h->blocks[i], 0x5a, 1024);
    }
    atomic_store(&h->published, 1);
    /* Exit while the freers are at it: some of their frees are hand-offs. */
    while (atomic_load(&h->next) < HANDOFF_BLOCKS / 4)
        sched_yield();
    return NULL;
}

static void *handoff_freer(void *arg)
{
    struct handoff *h = arg;
    void *mine = am_malloc(&heap, 48); /* a heap of its own, whose exit sweeps the pool */
    while (!atomic_load(&h->published))
        sched_yield();
    for (int i; (i = atomic_fetch_add(&h->next, 1)) < HANDOFF_BLOCKS;)
        am_free(&heap, h->blocks[i]);
    am_free(&heap, mine);
    return NULL;
}

static void test_owner_exits_during_handoff(void)
{
    static struct handoff h;
    for (int round = 0; round < HANDOFF_ROUNDS; round++) {
        memset(&h, 0, sizeof h);
        pthread_t owner, freers[HANDOFF_FREEERS];
        for (int i = 0; i < HANDOFF_FREEERS; i++)
            REQUIRE(pthread_create(&freers[i], NULL, handoff_freer, &h) == 0);
        REQUIRE(pthread_create(&owner, NULL, handoff_owner, &h) == 0);
        pthread_join(owner, NULL);
        for (int i = 0; i < HANDOFF_FREEERS; i++)
            pthread_join(freers[i], NULL);
        /* Every thread here had a heap, and each one's exit swept the pool:
         * the last sweep came after every free. */
        size_t live = stats_now().live_blocks;
        REQUIRE(live == 0, "round %d: %zu blocks still live after every free", round, live);
    }
    check_consistent("after the hand-offs");
}

/* ------------------------------------------------------------------------
 * Four threads pass blocks around; a cookie is checked on every free
 * --------------------------------------------------------------------- */

enum { STRESS_THREADS = 4, STRESS_OPS = 150000, STRESS_LIVE = 512, MAILBOX = 256 };

struct mailbox {
    pthread_mutex_t lock;
    void *slot[MAILBOX];
    int count;
};

struct stresser {
    struct mailbox *inbox, *outbox;
    uint64_t seed;
    long bad_cookies, failed_mallocs;
};

static struct mailbox boxes[STRESS_THREADS];

/* The cookie: the block's size and a hash of its address, at both ends. */
static uint64_t cookie_of(const void *p, size_t n)
{
    return ((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL) ^ n;
}

static void *cookie_malloc(uint64_t *seed, long *failed)
{
    uint64_t r = next_random(seed);
    size_t n = 16 + (size_t)(r % 16 == 0 ? r % 40000 : r % 600);
    unsigned char *p = am_malloc(&heap, n);
    if (!p) {
        (*failed)++;
        return NULL;
    }
    uint64_t c = cookie_of(p, n);
    memcpy(p, &n, sizeof n);
    memcpy(p + 8, &c, sizeof c);
    if (n >= 24) /* below, the tail would overlap the head */
        memcpy(p + n - 8, &c, sizeof c);
    return p;
}

static void cookie_free(void *block, long *bad)
{
    unsigned char *p = block;
    size_t n;
    uint64_t head, tail;
    memcpy(&n, p, sizeof n);
    memcpy(&head, p + 8, sizeof head);
    if (n < 16 || n > 40016) {
        (*bad)++;
        return; /* not ours to free: the size is garbage */
    }
    memcpy(&tail, p + (n >= 24 ? n - 8 : 8), sizeof tail);
    if (head != cookie_of(p, n) || tail != head)
        (*bad)++;
    am_free(&heap, p);
}

static void *stress_thread(void *arg)
{
    struct stresser *t = arg;
    void *live[STRESS_LIVE] = {0};
    for (int op = 0; op < STRESS_OPS; op++) {
        uint64_t r = next_random(&t->seed);
        void **slot = &live[r % STRESS_LIVE];
        if (!*slot) {
            *slot = cookie_malloc(&t->seed, &t->failed_mallocs);
        } else if (r & 0x10000) {
            cookie_free(*slot, &t->bad_cookies);
            *slot = NULL;
        } else { /* pass it on: the next thread frees it */
            pthread_mutex_lock(&t->outbox->lock);
            if (t->outbox->count < MAILBOX) {
                t->outbox->slot[t->outbox->count++] = *slot;
                *slot = NULL;
            }
            pthread_mutex_unlock(&t->outbox->lock);
        }
        if (op % 64 == 0) {
            pthread_mutex_lock(&t->inbox->lock);
            for (int i = 0; i < t->inbox->count; i++)
                cookie_free(t->inbox->slot[i], &t->bad_cookies);
            t->inbox->count = 0;
            pthread_mutex_unlock(&t->inbox->lock);
        }
    }
    for (int i = 0; i < STRESS_LIVE; i++)
        if (live[i])
            cookie_free(live[i], &t->bad_cookies);
    return NULL;
}

static void test_threads_pass_blocks(void)
{
    struct stresser t[STRESS_THREADS];
    pthread_t tid[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        pthread_mutex_init(&boxes[i].lock, NULL);
        boxes[i].count = 0;
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        t[i] = (struct stresser){.inbox = &boxes[i],
                                 .outbox = &boxes[(i + 1) % STRESS_THREADS],
                                 .seed = 0xABCDEFULL * (uint64_t)(i + 1)};
        REQUIRE(pthread_create(&tid[i], NULL, stress_thread, &t[i]) == 0);
    }
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(tid[i], NULL);
    long bad = 0;
    for (int i = 0; i < STRESS_THREADS; i++) {
        CHECK(t[i].bad_cookies == 0 && t[i].failed_mallocs == 0,
              "thread %d: %ld bad cookies, %ld failed mallocs", i, t[i].bad_cookies,
              t[i].failed_mallocs);
        for (int k = 0; k < boxes[i].count; k++)
            cookie_free(boxes[i].slot[k], &bad);
        boxes[i].count = 0;
    }
    CHECK(bad == 0, "%ld bad cookies in the mailboxes", bad);
    check_consistent("after the threads");
    struct am_stats s = stats_now();
    CHECK(s.live_blocks == 0 && s.live_bytes == 0,
          "everything is freed, yet %zu blocks (%zu bytes) count as live", s.live_blocks,
          s.live_bytes);
}

/* ------------------------------------------------------------------------
 * Memory goes back to the OS
 * --------------------------------------------------------------------- */

enum { BURST_BLOCKS = 96 * 1024 };

static void *burst[BURST_BLOCKS];

/* Allocate about 96 MiB in blocks of 64 B to 2 KiB. */
static bool allocate_burst(void)
{
    for (size_t i = 0; i < BURST_BLOCKS; i++) {
        size_t n = 64 + (i * 61) % 1985;
        if (!(burst[i] = am_malloc(&heap, n)))
            return false;
        memset(burst[i], 0x5A, n);
    }
    return true;
}

static void free_burst(void)
{
    for (size_t i = 0; i < BURST_BLOCKS; i++)
        am_free(&heap, burst[i]);
}

static void test_burst_returns_memory(void)
{
    size_t before = stats_now().os_bytes, rss_before = am__os_resident_bytes();
    REQUIRE(allocate_burst(), "the burst ran out of memory");
    struct am_stats s = stats_now();
    size_t rss_peak = am__os_resident_bytes();
    CHECK(s.os_bytes >= 96 * MIB && s.live_bytes >= 95 * MIB, "burst: os %zu live %zu", s.os_bytes,
          s.live_bytes);
    free_burst();
    s = stats_now();
    /* At most 8 MiB of free units stay resident, plus a heap's few slabs. */
    CHECK(s.os_bytes <= before + 10 * MIB, "after the burst os_bytes is still %zu MiB",
          s.os_bytes / MIB);
    size_t rss_after = am__os_resident_bytes();
    CHECK(rss_after + 80 * MIB <= rss_peak, "RSS %zu -> %zu -> %zu MiB", rss_before / MIB,
          rss_peak / MIB, rss_after / MIB);
    check_consistent("after the burst");

    /* Left idle, the rest goes too, at the allocator's next visit to the OS. */
    struct timespec pause = {0, 700 * 1000 * 1000};
    nanosleep(&pause, NULL);
    void *large = am_malloc(&heap, 1 * MIB);
    am_free(&heap, large);
    s = stats_now();
    CHECK(s.os_bytes <= before + 2 * MIB, "after idling os_bytes is still %zu KiB (was %zu)",
          s.os_bytes >> 10, before >> 10);
}

static void *allocate_burst_and_exit(void *arg)
{
    *(bool *)arg = allocate_burst();
    return NULL;
}

/* A thread allocates and exits; its blocks are freed here, after it is gone. */
static void test_exited_thread_hands_over(void)
{
    size_t before = stats_now().os_bytes;
    bool ok = false;
    pthread_t tid;
    REQUIRE(pthread_create(&tid, NULL, allocate_burst_and_exit, &ok) == 0);
    pthread_join(tid, NULL);
    REQUIRE(ok, "the thread's burst ran out of memory");
    CHECK(stats_now().os_bytes >= before + 90 * MIB);
    check_consistent("after the thread exited");
    free_burst();
    struct am_stats s = stats_now();
    CHECK(s.live_blocks == 0, "%zu blocks still live", s.live_blocks);
    CHECK(s.os_bytes <= before + 10 * MIB, "os_bytes %zu MiB after freeing what the thread left",
          s.os_bytes / MIB);
    check_consistent("after freeing the exited thread's blocks");
}

/* ------------------------------------------------------------------------
 * fork while other threads allocate
 * --------------------------------------------------------------------- */

struct busy {
    atomic_int stop;
    uint64_t seed;
};

static void *allocate_until_stopped(void *arg)
{
    struct busy *b = arg;
    void *keep[64] = {0};
    long failed = 0, bad = 0;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        void **slot = &keep[next_random(&b->seed) % 64];
        if (*slot)
            cookie_free(*slot, &bad);
        *slot = cookie_malloc(&b->seed, &failed);
    }
    for (int i = 0; i < 64; i++)
        if (keep[i])
            cookie_free(keep[i], &bad);
    return (void *)(intptr_t)(failed + bad);
}

static void *child_thread(void *arg)
{
    (void)arg;
    uint64_t seed = 5;
    long failed = 0, bad = 0;
    for (int i = 0; i < 1000; i++)
        cookie_free(cookie_malloc(&seed, &failed), &bad);
    return (void *)(intptr_t)(failed + bad);
}

/* ThreadSanitizer cannot follow a thread started in a child forked from a
 * threaded process (the new thread reuses a vanished parent thread's id: "dup
 * thread with used id"), so under it the child stays single-threaded. */
#if defined(__SANITIZE_THREAD__)
#define CHILD_THREADS 0
#else
#define CHILD_THREADS 1
#endif

static int in_child(int round)
{
    alarm(10); /* a lock inherited locked would hang here */
    uint64_t seed = (uint64_t)round + 1;
    long failed = 0, bad = 0;
    void *blocks[500];
    for (int i = 0; i < 500; i++)
        blocks[i] = cookie_malloc(&seed, &failed);
    for (int i = 0; i < 500; i++)
        if (blocks[i])
            cookie_free(blocks[i], &bad);
    pthread_t tid;
    void *thread_errors = (void *)1;
    if (!CHILD_THREADS)
        thread_errors = NULL;
    else if (pthread_create(&tid, NULL, child_thread, NULL) == 0)
        pthread_join(tid, &thread_errors);
    char why[256];
    if (failed || bad || thread_errors || am_verify(&heap, why, sizeof why) != 0)
        return 1;
    return 0;
}

static void test_fork_while_allocating(void)
{
    enum { BUSY = 3 };
    struct busy b[BUSY];
    pthread_t tid[BUSY];
    for (int i = 0; i < BUSY; i++) {
        atomic_init(&b[i].stop, 0);
        b[i].seed = 77 + (uint64_t)i;
        REQUIRE(pthread_create(&tid[i], NULL, allocate_until_stopped, &b[i]) == 0);
    }
    for (int round = 0; round < 12; round++) {
        struct timespec pause = {0, 3 * 1000 * 1000};
        nanosleep(&pause, NULL);
        pid_t pid = fork();
        if (pid == 0)
            _exit(in_child(round));
        REQUIRE(pid > 0, "fork failed");
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status 0x%x%s", round,
              status, WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (deadlocked)" : "");
    }
    for (int i = 0; i < BUSY; i++) {
        atomic_store(&b[i].stop, 1);
        void *errors = NULL;
        pthread_join(tid[i], &errors);
        CHECK(errors == NULL, "busy thread %d saw %ld errors", i, (long)(intptr_t)errors);
    }
    check_consistent("after fork");
}

/* ------------------------------------------------------------------------
 * Large and aligned blocks; check() sees corruption
 * --------------------------------------------------------------------- */

static void test_large_and_aligned(void)
{
    size_t before = stats_now().os_bytes;
    for (size_t align = 32; align <= 16 * MIB; align *= 2) {
        for (size_t n = 1; n <= 100000; n = n * 7 + 3) {
            void *p = NULL;
            REQUIRE(am_posix_memalign(&heap, &p, align, n) == 0, "align %zu n %zu", align, n);
            CHECK((uintptr_t)p % align == 0, "align %zu n %zu: %p", align, n, p);
            size_t u = am_usable_size(&heap, p);
            CHECK(u >= n, "align %zu n %zu: usable %zu", align, n, u);
            memset(p, 0xA5, u);
            am_free(&heap, p);
        }
    }
    void *big = am_malloc(&heap, 5 * MIB);
    REQUIRE(big != NULL);
    memset(big, 1, 5 * MIB);
    CHECK(stats_now().os_bytes >= before + 5 * MIB);
    am_free(&heap, big);
    /* Its run waits in the cache (counted in os_bytes), or is unmapped. */
    size_t cached = stat_extra("large_cached_bytes");
    CHECK(cached <= 32 * MIB, "%zu bytes cached", cached);
    CHECK(stats_now().os_bytes <= before + 2 * MIB + cached,
          "a large block's pages are unmapped or cached");
    check_consistent("after large and aligned blocks");
}

/* A burst of large blocks: the cache keeps at most 32 MiB of them, the rest
 * goes back to the OS at once, and the cached runs after an idle while. */
static void test_large_burst_returns_memory(void)
{
    enum { N = 40 };
    void *p[N];
    size_t before = stats_now().os_bytes;
    for (int i = 0; i < N; i++) {
        size_t n = 3 * MIB + (size_t)i * 4096;
        REQUIRE((p[i] = am_malloc(&heap, n)) != NULL, "malloc(%zu)", n);
        memset(p[i], i, n);
    }
    size_t rss_peak = am__os_resident_bytes();
    CHECK(stats_now().os_bytes + 32 * MIB >= before + N * 3 * MIB, "os_bytes %zu MiB",
          stats_now().os_bytes / MIB);
    for (int i = 0; i < N; i++)
        am_free(&heap, p[i]);
    size_t cached = stat_extra("large_cached_bytes"), runs = stat_extra("large_cached_runs");
    CHECK(cached > 0 && cached <= 32 * MIB && runs <= 32, "cache: %zu runs, %zu bytes", runs,
          cached);
    struct am_stats s = stats_now();
    CHECK(s.os_bytes <= before + cached + 1 * MIB, "os_bytes %zu MiB after the burst (%zu cached)",
          s.os_bytes / MIB, cached / MIB);
    size_t rss_after = am__os_resident_bytes();
    CHECK(rss_after + 80 * MIB <= rss_peak, "RSS %zu -> %zu MiB", rss_peak / MIB, rss_after / MIB);
    check_consistent("after a large burst");

    struct timespec pause = {0, 700 * 1000 * 1000};
    nanosleep(&pause, NULL);
    void *one = am_malloc(&heap, 1 * MIB);
    REQUIRE(one != NULL);
    am_free(&heap, one);
    CHECK(stats_now().os_bytes <= before + 2 * MIB, "after idling os_bytes is %zu KiB (was %zu)",
          stats_now().os_bytes >> 10, before >> 10);
    CHECK(stat_extra("large_cached_bytes") <= 2 * MIB);
    check_consistent("after the cache decayed");
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i += 512)
        p[i] = (unsigned char)(i / 512 * 7 + seed);
    p[n - 1] = (unsigned char)seed;
}

/* The pattern in the first n bytes; its last byte too when `whole`. */
static bool pattern_intact(const unsigned char *p, size_t n, unsigned seed, bool whole)
{
    for (size_t i = 0; i < n; i += 512)
        if (p[i] != (unsigned char)(i / 512 * 7 + seed))
            return false;
    return !whole || p[n - 1] == (unsigned char)seed;
}

/* A large realloc grows and shrinks by remapping (in place or moved) and
 * keeps the contents; a realloc the block already holds keeps the pointer. */
static void test_realloc_large_and_same_class(void)
{
    size_t sizes[] = {40000, 2 * MIB, 3 * MIB, 20 * MIB, 7 * MIB, 100000, 1 * MIB, 48 * MIB, 33000};
    size_t n = 100000;
    unsigned char *p = am_malloc(&heap, n);
    REQUIRE(p != NULL);
    fill_pattern(p, n, 1);
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t m = sizes[i], keep = m < n ? m : n;
        unsigned char *q = am_realloc(&heap, p, m);
        REQUIRE(q != NULL, "realloc to %zu", m);
        CHECK(pattern_intact(q, keep, i + 1, m >= n), "realloc %zu -> %zu lost the contents", n, m);
        CHECK(am_usable_size(&heap, q) >= m);
        p = q;
        n = m;
        fill_pattern(p, n, i + 2);
        check_consistent("after a large realloc");
    }
    am_free(&heap, p);

    /* Within the usable size (a slab block's class, a large block's pages):
     * the same pointer. */
    for (size_t m = 1; m <= 8 * MIB; m = m * 3 + 5) {
        void *a = am_malloc(&heap, m);
        REQUIRE(a != NULL);
        size_t u = am_usable_size(&heap, a);
        CHECK(am_realloc(&heap, a, u) == a, "realloc(%zu) to its usable size %zu moved", m, u);
        CHECK(am_realloc(&heap, a, u - u / 4) == a, "realloc(%zu) within its class moved", m);
        am_free(&heap, a);
    }
    check_consistent("after same-class reallocs");
}

static void test_check_sees_corruption(void)
{
    void *a = am_malloc(&heap, 48), *b = am_malloc(&heap, 48);
    REQUIRE(a && b);
    check_consistent("before the corruption");
    am_free(&heap, a);
    void *saved;
    memcpy(&saved, a, sizeof saved);
    void *bogus = (char *)b + 8; /* inside a live block, off the block grid */
    memcpy(a, &bogus, sizeof bogus);
    char why[256];
    CHECK(am_verify(&heap, why, sizeof why) == EFAULT, "a free list into a live block passed");
    memcpy(a, &saved, sizeof saved);
    check_consistent("after the repair");
    am_free(&heap, b);
}

/* free(p); free(p): the second free finds p at the head of its slab's free
 * list, says so on stderr and aborts (in a child, whose stderr is a pipe). */
static void test_double_free_detected(void)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    REQUIRE(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        void *a = am_malloc(&heap, 40), *b = am_malloc(&heap, 40);
        am_free(&heap, a);
        am_free(&heap, b);
        am_free(&heap, b);
        _exit(0);
    }
    close(fds[1]);
    char msg[128] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof msg - 1 && (n = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)n;
    msg[got] = 0;
    close(fds[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
          "double free: the child was not aborted (status %#x)", status);
    CHECK(strstr(msg, "slab: double free of ") != NULL, "double free: stderr said \"%s\"", msg);
}

int main(void)
{
    const struct am_allocator *a = am_find_allocator("slab");
    if (!a || am_heap_open(&heap, a, AM_OPEN_THREADED) != 0) {
        fprintf(stderr, "cannot open slab\n");
        return 1;
    }
    test_size_classes();
    test_check_sees_corruption();
    test_double_free_detected();
    test_threads_pass_blocks();
    test_burst_returns_memory();
    test_exited_thread_hands_over();
    test_owner_exits_during_handoff();
    test_large_and_aligned();
    test_large_burst_returns_memory();
    test_realloc_large_and_same_class();
    test_fork_while_allocating();
    am_heap_close(&heap);
    return am_test_finish("slab");
}
