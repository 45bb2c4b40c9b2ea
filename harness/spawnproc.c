/*
 * spawnproc.c: child processes for allocators (see spawnproc.h).
 */
#include "spawnproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void am_spawn_prepare_env(const struct am_allocator *a)
{
    if (a->preload)
        setenv("LD_PRELOAD", a->preload, 1);
    else
        unsetenv("LD_PRELOAD");
}

static int append(struct am_child *c, size_t *cap, const char *buf, size_t n)
{
    if (c->output_len + n + 1 > *cap) {
        size_t want = (*cap ? *cap * 2 : 4096);
        while (want < c->output_len + n + 1)
            want *= 2;
        char *grown = realloc(c->output, want);
        if (!grown)
            return ENOMEM;
        c->output = grown;
        *cap = want;
    }
    memcpy(c->output + c->output_len, buf, n);
    c->output_len += n;
    c->output[c->output_len] = '\0';
    return 0;
}

/* Kill the child's group for a time-out or a cancellation; true for either. */
static bool should_stop(const struct am_spawn_options *opt, double start, pid_t pid,
                        struct am_child *out)
{
    if (out->timed_out || out->cancelled)
        return true;
    if (opt->timeout_s > 0 && now_s() - start >= opt->timeout_s)
        out->timed_out = true;
    else if (opt->cancel_fd >= 0 &&
             poll(&(struct pollfd){.fd = opt->cancel_fd, .events = POLLIN}, 1, 0) > 0)
        out->cancelled = true;
    else
        return false;
    kill(-pid, SIGKILL);
    return true;
}

struct am_spawn_options am_spawn_defaults(void)
{
    return (struct am_spawn_options){
        .timeout_s = 0, .program = NULL, .stdout_fd = -1, .stderr_fd = -1, .cancel_fd = -1};
}

int am_spawn(const struct am_allocator *a, char *const argv[], const struct am_spawn_options *opt,
             struct am_child *out)
{
    struct am_spawn_options defaults = am_spawn_defaults();
    if (!opt)
        opt = &defaults;
    double timeout_s = opt->timeout_s;
    memset(out, 0, sizeof *out);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    fflush(NULL);
    double start = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid == 0) {
        setpgid(0, 0);
        /* With stdout_fd, the pipe's write end closes at exec: the parent
         * reads an empty output and waits for the child. */
        dup2(opt->stdout_fd >= 0 ? opt->stdout_fd : fds[1], STDOUT_FILENO);
        if (opt->stderr_fd >= 0)
            dup2(opt->stderr_fd, STDERR_FILENO);
        if (a)
            am_spawn_prepare_env(a);
        const char *program = opt->program ? opt->program : "/proc/self/exe";
        execv(program, argv);
        fprintf(stderr, "allocmark: cannot execute %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* both sides, whichever runs first */
    close(fds[1]);

    size_t cap = 0;
    int err = 0;
    for (;;) {
        if (should_stop(opt, start, pid, out))
            break;
        int wait_ms = -1;
        if (timeout_s > 0)
            wait_ms = (int)((timeout_s - (now_s() - start)) * 1000) + 1;
        struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN},
                              {.fd = opt->cancel_fd, .events = POLLIN}};
        int ready = poll(p, opt->cancel_fd >= 0 ? 2 : 1, wait_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            err = errno;
            kill(-pid, SIGKILL);
            break;
        }
        if (ready == 0 || !p[0].revents)
            continue; /* should_stop sees the time-out or the cancellation */
        char buf[8192];
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF: the child (and anything it forked) closed stdout */
        if (!err)
            err = append(out, &cap, buf, (size_t)n);
    }
    close(fds[0]);

    /* The child may close its output and still run: keep the limit while
     * waiting for it too. */
    int status;
    struct rusage usage;
    for (;;) {
        pid_t got = wait4(pid, &status, WNOHANG, &usage);
        if (got == pid)
            break;
        if (got < 0 && errno != EINTR)
            return errno;
        should_stop(opt, start, pid, out);
        struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    /* Reap whatever the child left behind in its group. */
    kill(-pid, SIGKILL);
    out->wall_s = now_s() - start;
    out->usage = usage;
    if (WIFEXITED(status)) {
        out->exited = true;
        out->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out->signal = WTERMSIG(status);
    }
    if (!out->output && !err)
        err = append(out, &cap, "", 0);
    return err;
}

const char *am_child_describe(const struct am_child *c, char *buf, size_t len)
{
    if (c->cancelled)
        snprintf(buf, len, "cancelled after %.1f s", c->wall_s);
    else if (c->timed_out)
        snprintf(buf, len, "timed out after %.1f s", c->wall_s);
    else if (c->exited)
        snprintf(buf, len, "exit %d", c->exit_code);
    else
        snprintf(buf, len, "killed by SIG%s",
                 sigabbrev_np(c->signal) ? sigabbrev_np(c->signal) : "?");
    return buf;
}
