/*
 * signals.c: interruption by signal (see signals.h).
 */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;
static int cancel_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    interrupted = 1;
    if (cancel_pipe[1] >= 0) {
        ssize_t ignored = write(cancel_pipe[1], "x", 1);
        (void)ignored;
    }
    errno = saved;
}

int am_signals_catch(void)
{
    if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return errno;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return 0;
}

bool am_signals_interrupted(void)
{
    return interrupted != 0;
}

int am_signals_cancel_fd(void)
{
    return cancel_pipe[0];
}
