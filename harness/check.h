/*
 * check.h: `allocmark check`, the conformance and hardening matrices, and
 * the hidden sub-commands that run one allocator's conformance suite or
 * hardening cases in its child.
 *
 * Layering: depends on harness/spawnproc.h, conformance/ and allocators/.
 */
#ifndef AM_CHECK_H
#define AM_CHECK_H

#include <stdio.h>

#define AM_CONFORMANCE_CHILD "__conformance-child"
#define AM_HARDENING_CHILD   "__hardening-child"

/* argv[0] is "check" / the hidden sub-command. */
int am_check_main(int argc, char **argv);
int am_conformance_child_main(int argc, char **argv);
int am_hardening_child_main(int argc, char **argv);

#endif /* AM_CHECK_H */
