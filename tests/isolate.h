/*
 * isolate.h: run one part of a test in a child process under a watchdog, so
 * that a deadlock becomes a failure with a name instead of a test that never
 * ends, and a crash or an abort stays inside the child. Header-only, like
 * testhelper.h. Layering: depends on the C library only.
 */
#ifndef AM_ISOLATE_H
#define AM_ISOLATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Run fn(arg) in a child; the child's exit status is fn's return value. Wait
 * at most `seconds`, then kill it. Writes what happened into `what` ("exit
 * 0", "exit 3", "killed by signal 6", "hung: killed after 20 s") and returns
 * true only for exit 0. */
__attribute__((unused)) static bool am_isolated(int (*fn)(void *), void *arg, int seconds,
                                                char *what, size_t len)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(what, len, "fork failed");
        return false;
    }
    if (pid == 0) {
        int rc = fn(arg);
        fflush(NULL);
        _exit(rc);
    }
    struct timespec start, now, nap = {0, 10 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            if (WIFEXITED(status))
                snprintf(what, len, "exit %d", WEXITSTATUS(status));
            else
                snprintf(what, len, "killed by signal %d (%s)", WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= seconds) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(what, len, "hung (deadlock?): killed after %d s", seconds);
            return false;
        }
        nanosleep(&nap, NULL);
    }
}

#endif /* AM_ISOLATE_H */
