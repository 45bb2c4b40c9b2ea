/*
 * trace_target.c: a program with a known allocation pattern, for the
 * recorder's tests (test_record.py): sizes chosen so that each part can be
 * counted in the trace's CSV. Main thread: 1000 malloc(1001) that a second
 * thread frees; the second thread's own 500 calloc(3, 333); a realloc chain
 * 7, 14, ... 1400; 10 posix_memalign(64, 777); 10 aligned_alloc(64, 640),
 * 10 memalign(128, 555), 5 each of memalign(48, 556), valloc(5000),
 * pvalloc(3000) and realloc(malloc(99), 0); a forked child's 5000
 * malloc(2002) (not recorded unless asked). Then by mode: "exit" returns
 * from main; "one-thread" too, but does the second thread's part itself;
 * "_exit" calls _exit; "crash" raises SIGSEGV; "abort" calls abort; "exec"
 * runs itself again as "after-exec", which does 300 malloc(3003).
 *
 * "slow" does none of that: it frees a malloc(4004) every 100 us, prints
 * "ready" after 2000 of them and goes on until killed (at most a minute).
 */
#include <malloc.h> /* memalign, pvalloc */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HANDED 1000

static void *handed[HANDED];

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < HANDED; i++)
        free(handed[i]);
    for (int i = 0; i < 500; i++) {
        char *p = calloc(3, 333);
        p[0] = 1;
        free(p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exit";
    if (!strcmp(mode, "slow")) {
        for (long i = 0; i < 600000; i++) {
            free(malloc(4004));
            if (i == 1999) {
                printf("ready\n");
                fflush(stdout);
            }
            usleep(100);
        }
        return 0;
    }
    if (!strcmp(mode, "after-exec")) {
        for (int i = 0; i < 300; i++)
            free(malloc(3003));
        return 0;
    }
    for (int i = 0; i < HANDED; i++) {
        handed[i] = malloc(1001);
        memset(handed[i], 1, 1001);
    }
    if (!strcmp(mode, "one-thread")) {
        worker(NULL);
    } else {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0)
            return 3;
        pthread_join(t, NULL);
    }
    char *chain = NULL;
    for (int n = 7; n <= 1400; n += 7) {
        chain = realloc(chain, (size_t)n);
        chain[n - 1] = 1;
    }
    free(chain);
    for (int i = 0; i < 10; i++) {
        void *p;
        if (posix_memalign(&p, 64, 777) != 0)
            return 4;
        free(p);
    }
    /* The rest of the aligned family, each replayed as itself on glibc. */
    for (int i = 0; i < 10; i++) {
        free(aligned_alloc(64, 640));
        free(memalign(128, 555));
    }
    /* Not a power of two: glibc rounds it up to 64. Through a volatile so
     * that clang's -Wnon-power-of-two-alignment cannot see the constant. */
    volatile size_t odd_alignment = 48;
    for (int i = 0; i < 5; i++) {
        free(memalign(odd_alignment, 556));
        free(valloc(5000));
        free(pvalloc(3000));
        /* glibc's realloc(p, 0) frees p and returns NULL. */
        if (realloc(malloc(99), 0) != NULL)
            return 6;
    }
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 5000; i++)
            free(malloc(2002));
        _exit(0);
    }
    waitpid(child, NULL, 0);
    if (!strcmp(mode, "_exit"))
        _exit(0);
    if (!strcmp(mode, "crash"))
        raise(SIGSEGV);
    if (!strcmp(mode, "abort"))
        abort();
    if (!strcmp(mode, "exec")) {
        char *args[] = {argv[0], "after-exec", NULL};
        execv("/proc/self/exe", args);
        return 5;
    }
    return 0;
}
