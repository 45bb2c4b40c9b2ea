/*
 * dropin_life.c: what real programs do to a malloc, run with a drop-in
 * preloaded (LD_PRELOAD=libam-<name>.so, see tests/meson.build): threads
 * that start together and exit holding memory, fork while other threads
 * allocate, fork + exec, posix_spawn, dlopen/dlclose of a library that
 * allocates, signals during allocation, frees from thread-local destructors
 * and atexit handlers after the allocator's own exit handling, and
 * allocation while the drop-in opens its backend (AM_DROPIN_TEST_BOOTSTRAP).
 *
 * Each case runs in a forked child with a time limit, so a crash or a hang
 * is that case's failure. With BACKEND "glibc" and no preload it runs on
 * glibc's malloc, which shows that what it expects is what glibc does. Usage: dropin-life BACKEND
 * PLUGIN_PATH [CASE].
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocator.h"
#include "dropin.h"
#include "testhelper.h"

extern char **environ;

static const char *plugin_path, *backend_name;

/* A block with its size and a pattern derived from both, checked on free. */
static void *fill(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n);
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)(seed + i);
    return p;
}

static bool intact(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed + i))
            return false;
    return true;
}

/* Churn: allocate, check and free blocks of mixed sizes. */
static bool churn(unsigned seed, int rounds)
{
    enum { SLOTS = 64 };
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    bool ok = true;
    uint64_t x = seed * 2654435761u + 1;
    for (int r = 0; r < rounds; r++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        unsigned i = (unsigned)(x >> 33) % SLOTS;
        if (slot[i]) {
            ok &= intact(slot[i], size[i], seed + i);
            free(slot[i]);
        }
        size[i] = 1 + (size_t)(x >> 45) % 3000;
        slot[i] = fill(size[i], seed + i);
        ok &= slot[i] != NULL;
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (slot[i])
            ok &= intact(slot[i], size[i], seed + i);
        free(slot[i]);
    }
    return ok;
}

/* ---- threads that start together, threads that exit holding memory ---- */

static pthread_barrier_t barrier;
static void *kept[32];

static void *start_together(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    pthread_barrier_wait(&barrier);
    bool ok = churn(id, 2000);
    kept[id] = fill(5000, id); /* freed by main after this thread is gone */
    return ok ? arg : NULL;
}

static void threads_start_and_exit(void)
{
    for (int round = 0; round < 5; round++) {
        pthread_t t[8];
        pthread_barrier_init(&barrier, NULL, 8);
        for (uintptr_t i = 0; i < 8; i++)
            REQUIRE(pthread_create(&t[i], NULL, start_together, (void *)(i + 1)) == 0);
        for (uintptr_t i = 0; i < 8; i++) {
            void *ret;
            pthread_join(t[i], &ret);
            CHECK(ret == (void *)(i + 1), "thread %u: a block changed", (unsigned)i + 1);
        }
        pthread_barrier_destroy(&barrier);
        for (unsigned i = 1; i <= 8; i++) {
            CHECK(intact(kept[i], 5000, i), "block of exited thread %u changed", i);
            free(kept[i]);
        }
    }
    CHECK(churn(99, 5000), "churn after the threads exited");
}

/* ---- fork while other threads allocate; fork + exec; posix_spawn ---- */

static atomic_bool stop;

static void *churner(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    bool ok = true;
    while (!atomic_load(&stop))
        ok &= churn(seed, 200);
    return ok ? arg : NULL;
}

static void start_churners(pthread_t *t, int n)
{
    atomic_store(&stop, false);
    for (uintptr_t i = 0; i < (uintptr_t)n; i++)
        REQUIRE(pthread_create(&t[i], NULL, churner, (void *)(i + 100)) == 0);
}

static void stop_churners(pthread_t *t, int n)
{
    atomic_store(&stop, true);
    for (int i = 0; i < n; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        CHECK(ret != NULL, "churning thread %d: a block changed", i);
    }
}

static void *churn_once(void *arg)
{
    return churn((unsigned)(uintptr_t)arg, 500) ? arg : NULL;
}

static int wait_status(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

static void fork_while_allocating(void)
{
    pthread_t t[3];
    start_churners(t, 3);
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            alarm(10); /* a lock left held by a thread that is gone would hang */
            bool ok = churn(7, 500);
            pthread_t u;
            void *ret = NULL;
            ok &= pthread_create(&u, NULL, churn_once, (void *)8) == 0;
            ok &= pthread_join(u, &ret) == 0 && ret != NULL;
            _exit(ok ? 0 : 1);
        }
        int status = wait_status(pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status 0x%x%s", round,
              status, WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (hung)" : "");
    }
    stop_churners(t, 3);
}

static void fork_exec_and_spawn(void)
{
    pthread_t t[2];
    start_churners(t, 2);
    for (int round = 0; round < 10; round++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            /* The drop-in stays in LD_PRELOAD: the shell runs on it too. */
            execl("/bin/sh", "sh", "-c", "x=$(echo drop-in); [ \"$x\" = drop-in ] && exit 7",
                  (char *)NULL);
            _exit(127);
        }
        int status = wait_status(pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "fork+exec: status 0x%x", status);

        char *argv[] = {"sh", "-c", "exit 3", NULL};
        REQUIRE(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0);
        status = wait_status(pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "posix_spawn: status 0x%x", status);
    }
    stop_churners(t, 2);
}

/* ---- dlopen / dlclose of a library that allocates ---- */

static void dlopen_dlclose(void)
{
    void *from_plugin[20];
    for (int round = 0; round < 20; round++) {
        void *lib = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
        REQUIRE(lib != NULL);
        void *(*take)(void *) = (void *(*)(void *))dlsym(lib, "am_plugin_take");
        REQUIRE(take != NULL);
        from_plugin[round] = take(fill(300, 3));
        REQUIRE(from_plugin[round] != NULL);
        REQUIRE(dlclose(lib) == 0);
    }
    for (int round = 0; round < 20; round++) {
        const unsigned char *b = from_plugin[round];
        bool ok = true;
        for (int i = 0; i < 1000; i++)
            ok &= b[i] == 0x77;
        CHECK(ok, "block %d from the unloaded library changed", round);
        free(from_plugin[round]);
    }
}

/* ---- signals arriving during allocation ---- */

static atomic_ulong handled;

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    errno = EBADF; /* a handler that uses errno and restores it, as it must */
    atomic_fetch_add(&handled, 1);
    errno = saved;
}

static void signals_during_allocation(void)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t t[2];
    start_churners(t, 2);
    for (int i = 0; i < 20000; i++) {
        pthread_kill(t[i % 2], SIGUSR1);
        if (i % 64 == 0)
            usleep(100);
    }
    stop_churners(t, 2);
    CHECK(atomic_load(&handled) > 0, "no signal was handled");
    /* A failing allocation keeps errno ENOMEM across signals too. */
    errno = 0;
    CHECK(malloc(SIZE_MAX / 2) == NULL && errno == ENOMEM, "huge malloc: errno %d", errno);
}

/* ---- frees after the allocator's own thread-exit and process-exit work ---- */

static pthread_key_t late_key;
static void *late_block;

static void late_destructor(void *p)
{
    /* Runs after the drop-in's thread-exit handling (its key was made first). */
    if (!intact(p, 4000, 11))
        _exit(3);
    free(p);
    void *q = fill(2000, 12);
    if (!q || !intact(q, 2000, 12))
        _exit(3);
    free(q);
}

static void *thread_with_destructor(void *arg)
{
    pthread_setspecific(late_key, fill(4000, 11));
    churn(13, 500);
    return arg;
}

static void last_atexit(void)
{
    /* Registered first, so it runs last: after every other exit handler. */
    if (!intact(late_block, 70000, 21))
        _exit(4);
    free(late_block);
    if (!churn(22, 2000))
        _exit(4);
    static const char done[] = "exit handlers done\n";
    if (write(STDOUT_FILENO, done, sizeof done - 1) < 0)
        _exit(4);
}

static void exit_time_frees(void)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(10);
        atexit(last_atexit);
        late_block = fill(70000, 21);
        pthread_key_create(&late_key, late_destructor);
        for (int i = 0; i < 20; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, thread_with_destructor, NULL) != 0)
                _exit(5);
            pthread_join(t, NULL);
        }
        pthread_setspecific(late_key, fill(4000, 11)); /* the main thread's: never run */
        exit(0);
    }
    int status = wait_status(pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit-time frees: status 0x%x", status);
}

/* ---- allocation while the drop-in opens its backend ---- */

static void bootstrap_allocations(void)
{
    /* With AM_DROPIN_TEST_BOOTSTRAP set, the drop-in allocated (through
     * dlsym's error path and directly) while opening: those blocks came from
     * its bootstrap arena, were freed and realloc'd out of it. */
    __typeof__(am_dropin_stats) *stats = dlsym(RTLD_DEFAULT, "am_dropin_stats");
    __typeof__(am_dropin_verify) *verify = dlsym(RTLD_DEFAULT, "am_dropin_verify");
    if (!stats && strcmp(backend_name, "glibc") == 0)
        return; /* the test's own check on glibc: nothing to look at */
    REQUIRE(stats && verify);
    struct am_stats s = {0};
    REQUIRE(stats(&s) == 0);
    size_t boot = SIZE_MAX;
    for (unsigned i = 0; i < s.n_extra; i++)
        if (strcmp(s.extra[i].name, "dropin_bootstrap_bytes") == 0)
            boot = s.extra[i].value;
    if (getenv("AM_DROPIN_TEST_BOOTSTRAP"))
        CHECK(boot != SIZE_MAX && boot >= 300, "bootstrap arena holds %zu bytes", boot);
    CHECK(churn(31, 3000), "churn after the bootstrap");
    char why[256] = "";
    int err = verify(why, sizeof why);
    CHECK(err == 0 || err == ENOTSUP, "the backend's check: %s", why);
}

/* ---- glibc's extras: memalign, valloc, pvalloc, reallocarray, aliases ---- */

static bool aligned_to(const void *p, size_t a)
{
    return p && (uintptr_t)p % a == 0;
}

/* Sizes the compiler must not see through (it warns about them). */
static volatile size_t huge_size = SIZE_MAX - 10000, half_size = SIZE_MAX / 2;

static void glibc_extras(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = memalign(64, 100);
    CHECK(aligned_to(p, 64) && malloc_usable_size(p) >= 100, "memalign(64, 100): %p", p);
    free(p);
    p = memalign(8, 10); /* up to 16: malloc's alignment */
    CHECK(aligned_to(p, 16), "memalign(8, 10): %p", p);
    free(p);
    p = memalign(48, 100); /* not a power of two: rounded up to 64 */
    CHECK(aligned_to(p, 64), "memalign(48, 100): %p", p);
    free(p);
    errno = 0;
    p = memalign(SIZE_MAX / 2 + 2, 10);
    CHECK(p == NULL && errno == EINVAL, "memalign(huge alignment): %p, errno %d", p, errno);
    errno = 0;
    p = memalign(4096, huge_size);
    CHECK(p == NULL && errno == ENOMEM, "memalign(4096, huge): %p, errno %d", p, errno);

    p = valloc(100);
    CHECK(aligned_to(p, page) && malloc_usable_size(p) >= 100, "valloc(100): %p", p);
    free(p);
    p = pvalloc(1); /* whole pages */
    CHECK(aligned_to(p, page) && malloc_usable_size(p) >= page, "pvalloc(1): %p, usable %zu", p,
          malloc_usable_size(p));
    free(p);
    p = pvalloc(page + 1);
    CHECK(aligned_to(p, page) && malloc_usable_size(p) >= 2 * page, "pvalloc(page + 1): %p", p);
    free(p);
    errno = 0;
    p = pvalloc(SIZE_MAX - 10); /* rounding up overflows */
    CHECK(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX - 10): %p, errno %d", p, errno);

    errno = 0;
    p = reallocarray(NULL, half_size, 3);
    CHECK(p == NULL && errno == ENOMEM, "reallocarray overflow: %p, errno %d", p, errno);
    p = reallocarray(NULL, 10, 10);
    CHECK(p != NULL, "reallocarray(NULL, 10, 10)");
    memset(p, 9, 100);
    p = reallocarray(p, 100, 100);
    CHECK(p && ((unsigned char *)p)[99] == 9, "reallocarray keeps the contents");
    free(p);
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");

    /* glibc's own names reach the same heap as the plain ones. */
    void *(*libc_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "__libc_malloc");
    void (*libc_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "__libc_free");
    void *(*libc_memalign)(size_t, size_t) =
        (void *(*)(size_t, size_t))dlsym(RTLD_DEFAULT, "__libc_memalign");
    REQUIRE(libc_malloc && libc_free && libc_memalign);
    p = libc_malloc(1000);
    CHECK(p != NULL, "__libc_malloc");
    free(p);
    p = malloc(1000);
    libc_free(p);
    p = libc_memalign(256, 1000);
    CHECK(aligned_to(p, 256), "__libc_memalign(256, 1000): %p", p);
    free(p);
    CHECK(churn(41, 2000), "churn after the extras");
}

/* ---- driver ---- */

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    {"bootstrap_allocations", bootstrap_allocations},
    {"glibc_extras", glibc_extras},
    {"threads_start_and_exit", threads_start_and_exit},
    {"fork_while_allocating", fork_while_allocating},
    {"fork_exec_and_spawn", fork_exec_and_spawn},
    {"dlopen_dlclose", dlopen_dlclose},
    {"signals_during_allocation", signals_during_allocation},
    {"exit_time_frees", exit_time_frees},
};

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s BACKEND PLUGIN_PATH [CASE] (with LD_PRELOAD=libam-BACKEND.so)\n",
                argv[0]);
        return 2;
    }
    plugin_path = argv[2];
    backend_name = argv[1];
    /* The drop-in must really be this process's malloc ("glibc": none, to
     * show that the test expects what glibc does). */
    const char *(*backend)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "am_dropin_backend");
    const char *preload = getenv("LD_PRELOAD");
    bool on_glibc = strcmp(argv[1], "glibc") == 0 && !backend && !(preload && *preload);
    if (!on_glibc && (!backend || strcmp(backend(), argv[1]) != 0)) {
        fprintf(stderr, "%s: libam-%s.so is not preloaded (LD_PRELOAD=%s)\n", argv[0], argv[1],
                getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (argc == 4 && strcmp(argv[3], cases[i].name) != 0)
            continue;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(60);
            cases[i].fn();
            fflush(stdout);
            _exit(am_test.failed ? 1 : 0);
        }
        int status = wait_status(pid);
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("%-28s %s", cases[i].name, ok ? "ok" : "FAILED");
        if (WIFSIGNALED(status))
            printf(" (signal %d%s)", WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? ", timed out" : "");
        printf("\n");
        failed += !ok;
    }
    printf("%d of %zu cases failed\n", failed, sizeof cases / sizeof cases[0]);
    return failed ? 1 : 0;
}
