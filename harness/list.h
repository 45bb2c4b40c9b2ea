/*
 * list.h: `allocmark list [--all]`.
 *
 * Layering: allocators/ (the registry), workloads/ (the registry and
 * profiles) and memcore/ (which cores this CPU runs).
 */
#ifndef AM_LIST_H
#define AM_LIST_H

/* argv[0] is "list". */
int am_list_main(int argc, char **argv);

#endif /* AM_LIST_H */
