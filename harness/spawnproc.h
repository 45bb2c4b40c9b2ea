/*
 * spawnproc.h: run one piece of work in a child process of this very program,
 * prepared for one allocator: a reference gets its library as LD_PRELOAD (so it
 * is the child's real malloc, the way its users deploy it); every other
 * allocator gets a child with LD_PRELOAD cleared, on glibc malloc. The child's
 * standard output is captured; a crash, an abort or a time-out is reported,
 * never fatal to the caller.
 *
 * Layering: depends on allocators/ (the vtable) and the C library.
 */
#ifndef AM_SPAWNPROC_H
#define AM_SPAWNPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>

#include "allocator.h"

struct am_child {
    bool exited; /* exited normally, with exit_code */
    int exit_code;
    int signal;     /* killed by this signal (SIGKILL after a time-out) */
    bool timed_out; /* ran past its time limit and was killed */
    bool cancelled; /* killed because the caller asked (am_spawn_options.cancel_fd) */
    double wall_s;
    struct rusage usage; /* the child's own resource use */
    char *output;        /* its standard output, NUL-terminated; free() it */
    size_t output_len;
};

struct am_spawn_options {
    double timeout_s; /* 0: no limit */
    /* The program to run; NULL: this very program (/proc/self/exe). */
    const char *program;
    /* The child's standard output; -1: captured into am_child.output. */
    int stdout_fd;
    int stderr_fd; /* the child's standard error; -1: inherited */
    /* -1, or a descriptor that becomes readable when the caller wants the
     * child gone (a self-pipe written by a SIGINT handler): the child's whole
     * process group is killed at once and `cancelled` set. */
    int cancel_fd;
};

/* No time limit, this program, standard output captured, standard error
 * inherited, no cancellation: start from these and set what differs. */
struct am_spawn_options am_spawn_defaults(void);

/* Run `/proc/self/exe argv[1..]` (argv[0] is kept as the child's name), or
 * opt->program, for allocator a (NULL: the environment as it is), as opt
 * says (NULL: am_spawn_defaults()). The child runs in its own process group, all of which is
 * killed on a time-out or a cancellation. Returns 0 when the child ran
 * (whatever its fate, see *out), or an errno value when it could not be
 * started. */
int am_spawn(const struct am_allocator *a, char *const argv[], const struct am_spawn_options *opt,
             struct am_child *out);

/* "exit 0", "exit 3", "killed by SIGSEGV", "timed out after 10 s". */
const char *am_child_describe(const struct am_child *c, char *buf, size_t len);

/* Prepare the current process's environment for running allocator a (set or
 * clear LD_PRELOAD). Used by am_spawn in the child before exec. */
void am_spawn_prepare_env(const struct am_allocator *a);

#endif /* AM_SPAWNPROC_H */
