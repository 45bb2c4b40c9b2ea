/*
 * proctree.h: an outside program as a process tree the harness starts,
 * watches and stops without touching it: started in a process group of its
 * own with a chosen LD_PRELOAD, working directory and standard streams;
 * its resident memory summed over the whole tree from /proc; its end waited
 * for with wait4 (resource use of the program and the children it reaped);
 * the whole group killed on demand, and on the harness's own death
 * (PR_SET_PDEATHSIG), so no server outlives a run.
 *
 * Layering: depends on the C library and Linux's /proc only.
 */
#ifndef AM_PROCTREE_H
#define AM_PROCTREE_H

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

struct am_proc_spec {
    char *const *argv;                /* run with execvp */
    const char *preload;              /* LD_PRELOAD's value, or NULL to remove it */
    const char *cwd;                  /* or NULL */
    int stdin_fd;                     /* -1: /dev/null */
    int stdout_fd;                    /* -1: /dev/null */
    int stderr_fd;                    /* -1: /dev/null */
    const char *env_name, *env_value; /* one more environment variable, or NULL */
};

struct am_proc {
    pid_t pid; /* also its process group */
    int pidfd; /* readable once it has ended; -1 where the kernel has none */
    double start_s;
    bool reaped;
    int status; /* wait4's, once reaped */
    struct rusage usage;
    double wall_s; /* from start to reaping */
};

/* Start argv. Returns 0, or the errno of the failure, including exec's
 * (ENOENT for a program that is not there): the child reports it through a
 * close-on-exec pipe before it is reaped. */
int am_proc_start(const struct am_proc_spec *spec, struct am_proc *p);

/* Reap it without blocking: true once it has ended (then `status`,
 * `usage` and `wall_s` are set). */
bool am_proc_poll(struct am_proc *p);

/* Wait up to timeout_s (0: no wait) for its end, or until `cancel_fd` (-1:
 * none) is readable. True once reaped. */
bool am_proc_wait(struct am_proc *p, double timeout_s, int cancel_fd);

/* Send sig to its whole process group. */
void am_proc_signal(struct am_proc *p, int sig);

/* SIGTERM to the group, up to grace_s for it to end, then SIGKILL; reaps
 * it. Whatever else is left in the group is killed too. True when it had to
 * be killed. */
bool am_proc_stop(struct am_proc *p, double grace_s);

/* Close what start opened (after the process is reaped or abandoned). */
void am_proc_release(struct am_proc *p);

/* The resident memory of the tree rooted at `root`: every process reached
 * through /proc/PID/task/TID/children, summed from /proc/PID/statm (shared
 * pages count once per process that maps them). Returns the number of
 * processes found (0 when root is gone). */
unsigned am_proc_tree_rss(pid_t root, unsigned long long *rss_bytes);

/* Seconds on CLOCK_MONOTONIC, and this thread's CPU time. */
double am_proc_now(void);
double am_proc_thread_cpu(void);

/* "exit 3", "killed by SIGSEGV". */
const char *am_proc_describe(int status, char *buf, size_t len);

#endif /* AM_PROCTREE_H */
