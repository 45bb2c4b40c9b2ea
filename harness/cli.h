/*
 * cli.h: what the sub-commands of allocmark (and the programs it starts)
 * share on their command lines: the exit statuses, and where each
 * sub-command's lines of `allocmark help` come from.
 *
 * Layering: the C library only.
 */
#ifndef AM_CLI_H
#define AM_CLI_H

#include <stdio.h>

/* Exit statuses, the same for every sub-command. */
enum {
    AM_EXIT_OK = 0,
    AM_EXIT_FAILED = 1,       /* the work ran and something failed */
    AM_EXIT_USAGE = 2,        /* bad command line; nothing was done */
    AM_EXIT_INTERRUPTED = 130 /* SIGINT or SIGTERM */
};

/* Each sub-command's lines of `allocmark help` (check.c, run.c, plotdriver.c). */
void am_check_usage(FILE *to);
void am_run_usage(FILE *to);
void am_plot_usage(FILE *to);

#endif /* AM_CLI_H */
