/*
 * proctree.c: starting, watching and stopping an outside program's process
 * tree (see proctree.h).
 */
#include "proctree.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double am_proc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double am_proc_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void child_side(const struct am_proc_spec *spec, int report_fd, pid_t parent)
{
    setpgid(0, 0);
    /* Die with the harness, whatever kills it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int fds[3] = {spec->stdin_fd, spec->stdout_fd, spec->stderr_fd};
    for (int i = 0; i < 3; i++)
        dup2(fds[i] >= 0 ? fds[i] : null, i);
    /* Signals the harness catches or ignores are the program's own again. */
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (spec->preload)
        setenv("LD_PRELOAD", spec->preload, 1);
    else
        unsetenv("LD_PRELOAD");
    if (spec->env_name)
        setenv(spec->env_name, spec->env_value ? spec->env_value : "", 1);
    int err = 0;
    if (spec->cwd && chdir(spec->cwd) != 0)
        err = errno;
    else
        execvp(spec->argv[0], spec->argv);
    if (!err)
        err = errno;
    ssize_t ignored = write(report_fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

int am_proc_start(const struct am_proc_spec *spec, struct am_proc *p)
{
    memset(p, 0, sizeof *p);
    p->pidfd = -1;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        return errno;
    fflush(NULL);
    pid_t parent = getpid();
    p->start_s = am_proc_now();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(report[0]);
        close(report[1]);
        return err;
    }
    if (pid == 0)
        child_side(spec, report[1], parent);
    setpgid(pid, pid); /* both sides, whichever runs first */
    close(report[1]);
    p->pid = pid;
    int err = 0;
    ssize_t n;
    do
        n = read(report[0], &err, sizeof err);
    while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof err) {
        /* exec failed: reap the child and say why. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        p->reaped = true;
        return err ? err : ENOEXEC;
    }
#ifdef SYS_pidfd_open
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    return 0;
}

bool am_proc_poll(struct am_proc *p)
{
    if (p->reaped)
        return true;
    int status;
    struct rusage usage;
    pid_t got;
    do
        got = wait4(p->pid, &status, WNOHANG, &usage);
    while (got < 0 && errno == EINTR);
    if (got != p->pid)
        return false;
    p->wall_s = am_proc_now() - p->start_s;
    p->reaped = true;
    p->status = status;
    p->usage = usage;
    return true;
}

bool am_proc_wait(struct am_proc *p, double timeout_s, int cancel_fd)
{
    double until = am_proc_now() + timeout_s;
    for (;;) {
        if (am_proc_poll(p))
            return true;
        double left = until - am_proc_now();
        if (left <= 0)
            return false;
        if (cancel_fd >= 0 && poll(&(struct pollfd){.fd = cancel_fd, .events = POLLIN}, 1, 0) > 0)
            return false;
        int ms = (int)(left * 1000) + 1;
        if (p->pidfd >= 0) {
            struct pollfd fds[2] = {{.fd = p->pidfd, .events = POLLIN},
                                    {.fd = cancel_fd, .events = POLLIN}};
            poll(fds, cancel_fd >= 0 ? 2 : 1, ms);
        } else {
            struct timespec pause = {0, (ms < 2 ? ms : 2) * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
}

void am_proc_signal(struct am_proc *p, int sig)
{
    if (p->pid > 0)
        kill(-p->pid, sig);
}

bool am_proc_stop(struct am_proc *p, double grace_s)
{
    bool killed = false;
    if (p->pid <= 0)
        return false;
    if (!p->reaped) {
        am_proc_signal(p, SIGTERM);
        if (!am_proc_wait(p, grace_s, -1)) {
            killed = true;
            am_proc_signal(p, SIGKILL);
            while (!am_proc_wait(p, 1, -1))
                ;
        }
    }
    /* Anything it left behind in its group. */
    am_proc_signal(p, SIGKILL);
    return killed;
}

void am_proc_release(struct am_proc *p)
{
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->pidfd = -1;
}

/* ---------------------------------------------------------------------------
 * The tree's resident memory
 * ------------------------------------------------------------------------ */

static unsigned long long statm_rss(pid_t pid, long page)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return resident * (unsigned long long)page;
}

/* Push the children of every thread of pid. */
static void push_children(pid_t pid, pid_t *stack, unsigned *top, unsigned cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    /* Most programs have few threads: read the task directory by hand. */
    char dents[8192];
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, dents, sizeof dents);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct {
                unsigned long long ino;
                long long off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (void *)(dents + off);
            off += d->reclen;
            if (d->name[0] < '0' || d->name[0] > '9')
                continue;
            char file[96], buf[4096];
            snprintf(file, sizeof file, "/proc/%d/task/%s/children", (int)pid, d->name);
            int fd = open(file, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t got = read(fd, buf, sizeof buf - 1);
            close(fd);
            if (got <= 0)
                continue;
            buf[got] = '\0';
            char *s = buf, *end;
            for (;;) {
                long child = strtol(s, &end, 10);
                if (end == s)
                    break;
                if (*top < cap)
                    stack[(*top)++] = (pid_t)child;
                s = end;
            }
        }
    }
    close(dfd);
}

unsigned am_proc_tree_rss(pid_t root, unsigned long long *rss_bytes)
{
    static long page;
    if (!page)
        page = sysconf(_SC_PAGESIZE);
    enum { CAP = 1024 };
    pid_t stack[CAP];
    unsigned top = 0, found = 0;
    unsigned long long sum = 0;
    stack[top++] = root;
    while (top) {
        pid_t pid = stack[--top];
        unsigned long long rss = statm_rss(pid, page);
        if (rss == 0 && pid == root && found == 0) {
            /* Gone, or a zombie: nothing resident. */
            char path[64];
            snprintf(path, sizeof path, "/proc/%d", (int)pid);
            if (access(path, F_OK) != 0)
                break;
        }
        found++;
        sum += rss;
        push_children(pid, stack, &top, CAP);
    }
    *rss_bytes = sum;
    return found;
}

const char *am_proc_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by SIG%s",
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    else
        snprintf(buf, len, "status %d", status);
    return buf;
}
