/*
 * signals.h: how `allocmark run` is interrupted. SIGINT, SIGTERM and SIGHUP
 * only set a flag and write to a self-pipe; am_spawn watches the pipe's read
 * end (am_spawn_options.cancel_fd) and kills the running child's process
 * group at once, and the run loop stops at the flag.
 *
 * Layering: the C library only.
 */
#ifndef AM_SIGNALS_H
#define AM_SIGNALS_H

#include <stdbool.h>

/* Install the handlers. Returns 0 or an errno value. */
int am_signals_catch(void);
/* A signal came. */
bool am_signals_interrupted(void);
/* The self-pipe's read end, for am_spawn_options.cancel_fd (-1 before
 * am_signals_catch). */
int am_signals_cancel_fd(void);

#endif /* AM_SIGNALS_H */
