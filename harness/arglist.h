/*
 * arglist.h: the comma-separated lists of the command line (-a, -w) turned
 * into registry entries, with what bad input is told: which name is unknown,
 * and every valid one. Shared by the sub-commands (check, run) and the hidden child
 * sub-commands.
 *
 * Layering: depends on allocators/ and workloads/ (the registries).
 */
#ifndef AM_ARGLIST_H
#define AM_ARGLIST_H

#include <stdio.h>

#include "frontend.h"
struct am_workload;

/* "a,b,c" into out (each once, in order); `flag` names the option in
 * messages ("-a/--allocators"). Returns the count, or -1 after printing why
 * to stderr, prefixed with `who` ("allocmark run"). */
int am_arglist_allocators(const char *who, const char *flag, const char *arg,
                          const struct am_allocator **out, unsigned max);
int am_arglist_workloads(const char *who, const char *flag, const char *arg,
                         const struct am_workload **out, unsigned max);

/* Every allocator but the test doubles, in registry order; the count. */
unsigned am_arglist_default_allocators(const struct am_allocator **out, unsigned max);

/* The allocator a hidden sub-command was given as its only argument, or
 * NULL after printing why. argv[0] is the sub-command. */
const struct am_allocator *am_arglist_only_allocator(int argc, char **argv);

#endif /* AM_ARGLIST_H */
