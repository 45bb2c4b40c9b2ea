/*
 * test_fork.c: fork at the edges of process life, on one backend (argv[1]).
 *
 *   signal  a process without threads allocates in a loop (small and large
 *           blocks, realloc, its own forks, closing and reopening the heap)
 *           while a timer's signal handler forks; the child exits at once.
 *           A fork handler that locks what the interrupted code holds waits
 *           for itself forever.
 *   stdio   threads fork while other threads write to stdio streams whose
 *           output function allocates (it runs with the FILE's lock held, as
 *           getline's malloc does) and another flushes every stream
 *           (fflush(NULL) holds stdio's list lock while it waits for each
 *           FILE). A fork that holds the allocator's lock while it waits for
 *           the list lock closes the circle. Each child allocates and exits.
 *
 * Each runs for a few seconds in a child of its own under a watchdog: a hang
 * is reported as one, never a test that does not end.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "isolate.h"
#include "testhelper.h"

enum { RUN_SECONDS = 2, WATCHDOG_SECONDS = 30 };

static const struct am_allocator *allocator;
static struct am_heap heap;

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Sizes that reach each backend's locked paths: small blocks, and large ones
 * (slab's segment manager, firstfit's parents of their own). */
static size_t some_size(uint64_t *seed)
{
    uint64_t r = am_test_xorshift(seed);
    return r % 8 == 0 ? (size_t)(256 << 10) + (size_t)(r >> 40) % (1 << 20) : 1 + (r >> 40) % 512;
}

/* A child of a fork: allocate a little, then leave without atexit handlers. */
static void child_allocates_and_exits(void)
{
    alarm(10); /* a child that inherited a held lock dies instead of hanging */
    uint64_t seed = (uint64_t)getpid() | 1;
    for (int i = 0; i < 50; i++) {
        size_t n = some_size(&seed);
        char *p = am_malloc(&heap, n);
        if (!p)
            _exit(2);
        memset(p, 0x5A, n);
        am_free(&heap, p);
    }
    _exit(0);
}

/* ---------------------------------------------------------------------------
 * fork from a signal handler
 * ------------------------------------------------------------------------ */

static atomic_long handler_forks;

static void fork_in_handler(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0); /* only async-signal-safe calls in a child of a handler */
    if (pid > 0)
        atomic_fetch_add(&handler_forks, 1);
    errno = saved;
}

static int signal_scenario(void *arg)
{
    (void)arg;
    if (am_heap_open(&heap, allocator, AM_OPEN_THREADED) != 0)
        return 10;
    /* Children of the handler's forks are reaped by the kernel. */
    struct sigaction ign = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
    sigaction(SIGCHLD, &ign, NULL);
    struct sigaction sa = {.sa_handler = fork_in_handler, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    timer_t timer;
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
        return 11;
    struct itimerspec every = {{0, 2000 * 1000}, {0, 2000 * 1000}};
    timer_settime(timer, 0, &every, NULL);

    enum { SLOTS = 64 };
    char *keep[SLOTS] = {0};
    uint64_t seed = 12345;
    long loops = 0;
    double end = seconds_now() + RUN_SECONDS;
    while (seconds_now() < end) {
        for (int i = 0; i < 200; i++) {
            int s = (int)(am_test_xorshift(&seed) % SLOTS);
            if (keep[s] && am_test_xorshift(&seed) % 4 == 0) {
                char *q = am_realloc(&heap, keep[s], some_size(&seed));
                if (q)
                    keep[s] = q;
            } else {
                am_free(&heap, keep[s]);
                keep[s] = am_malloc(&heap, some_size(&seed));
            }
        }
        /* Forks of our own, so that a signal also lands inside fork. */
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        /* Now and then the heap's init runs again (firstfit's init locks). */
        if (++loops % 4 == 0) {
            for (int s = 0; s < SLOTS; s++) {
                am_free(&heap, keep[s]);
                keep[s] = NULL;
            }
            am_heap_close(&heap);
            if (am_heap_open(&heap, allocator, AM_OPEN_THREADED) != 0)
                return 12;
        }
    }
    timer_delete(timer);
    for (int s = 0; s < SLOTS; s++)
        am_free(&heap, keep[s]);
    printf("  signal: %ld forks from the handler, %ld rounds of our own\n",
           atomic_load(&handler_forks), loops);
    return atomic_load(&handler_forks) > 0 ? 0 : 13;
}

/* ---------------------------------------------------------------------------
 * fork among threads that use stdio
 * ------------------------------------------------------------------------ */

enum { WRITERS = 2, FORKERS = 2 };

static atomic_bool stop;
static atomic_long child_failures, forks_done;

/* A stream's output function, called by stdio with the FILE's lock held. */
static ssize_t allocating_write(void *cookie, const char *buf, size_t n)
{
    uint64_t *seed = cookie;
    size_t len = some_size(seed);
    char *p = am_malloc(&heap, len > n ? len : n);
    if (!p)
        return -1;
    memcpy(p, buf, n);
    am_free(&heap, p);
    return (ssize_t)n;
}

static void *writer(void *arg)
{
    uint64_t seed = (uintptr_t)arg | 1;
    cookie_io_functions_t io = {.write = allocating_write};
    FILE *f = fopencookie(&seed, "w", io);
    if (!f)
        return NULL;
    static char buffers[WRITERS][64];
    setvbuf(f, buffers[(uintptr_t)arg % WRITERS], _IOFBF, sizeof buffers[0]);
    for (long i = 0; !atomic_load(&stop); i++)
        fprintf(f, "line %ld of writer %p\n", i, arg);
    fclose(f);
    return NULL;
}

static void *flusher(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        fflush(NULL);
        sched_yield(); /* leave the list lock to fork now and then */
    }
    return NULL;
}

static void *forker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pid_t pid = fork();
        if (pid == 0)
            child_allocates_and_exits();
        if (pid < 0)
            continue;
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            atomic_fetch_add(&child_failures, 1);
        atomic_fetch_add(&forks_done, 1);
    }
    return NULL;
}

static int stdio_scenario(void *arg)
{
    (void)arg;
    if (am_heap_open(&heap, allocator, AM_OPEN_THREADED) != 0)
        return 10;
    pthread_t t[WRITERS + FORKERS + 1];
    int n = 0;
    for (uintptr_t i = 0; i < WRITERS; i++)
        pthread_create(&t[n++], NULL, writer, (void *)(i + 1));
    pthread_create(&t[n++], NULL, flusher, NULL);
    for (int i = 0; i < FORKERS; i++)
        pthread_create(&t[n++], NULL, forker, NULL);
    sleep(RUN_SECONDS);
    atomic_store(&stop, true);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("  stdio: %ld forks, %ld children failed\n", atomic_load(&forks_done),
           atomic_load(&child_failures));
    return atomic_load(&child_failures) == 0 && atomic_load(&forks_done) > 0 ? 0 : 13;
}

int main(int argc, char **argv)
{
    if (argc != 2 || !(allocator = am_find_allocator(argv[1]))) {
        fprintf(stderr, "usage: test-fork ALLOCATOR (an in-house backend's name)\n");
        return 2;
    }
    char what[128];
    bool ok = am_isolated(signal_scenario, NULL, WATCHDOG_SECONDS, what, sizeof what);
    CHECK(ok, "fork from a signal handler on %s: %s", argv[1], what);
    ok = am_isolated(stdio_scenario, NULL, WATCHDOG_SECONDS, what, sizeof what);
    CHECK(ok, "fork from threads among stdio on %s: %s", argv[1], what);
    return am_test_finish(argv[1]);
}
