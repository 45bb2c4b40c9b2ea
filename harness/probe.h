/*
 * probe.h: what each reference's library says it is. The parent asks once
 * per run, for the plan in metadata.json (reference_libraries): for every
 * allocator that is the process's malloc (AM_CAP_PROCESS_MALLOC) it runs the
 * hidden sub-command `__info-child NAME` in a child prepared by spawnproc.c, which
 * opens the allocator and prints "version V" (the allocator's own `version`
 * member) and "library PATH" (the shared object malloc comes from), or
 * "error WHY".
 *
 * Layering: harness/ (spawn, json, signals, arglist) and allocators/.
 */
#ifndef AM_PROBE_H
#define AM_PROBE_H

#include <limits.h>

#include "frontend.h"
#include "json.h"

#define AM_INFO_CHILD "__info-child"

/* `allocmark __info-child ALLOCATOR` (argv[0] is the sub-command). */
int am_info_child_main(int argc, char **argv);

#define AM_PROBE_MAX_FACTS 4

/* One reference's answer: its lines as key and value, in order. */
struct am_library_facts {
    const struct am_allocator *allocator;
    unsigned n;
    struct {
        char key[32];
        char value[512];
    } fact[AM_PROBE_MAX_FACTS];
};

/* Ask every reference of the registry (at most max), running `self`; stops
 * early when a signal came. Returns how many were asked. A probe that fails
 * (a sanitizer build cannot preload a library) leaves its facts empty. */
unsigned am_probe_references(const char *self, struct am_library_facts *out, unsigned max);

/* The member "reference_libraries": {NAME: {preload, version, library}}. */
void am_probe_json(struct am_json *j, const struct am_library_facts *facts, unsigned n);

#endif /* AM_PROBE_H */
