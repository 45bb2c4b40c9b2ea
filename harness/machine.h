/*
 * machine.h: the facts about the machine that metadata.json records: host,
 * CPU model and flags, cores, memory, page size, kernel, transparent huge
 * pages, clock source.
 *
 * Layering: harness/json.h and the C library (/proc, /sys, uname).
 */
#ifndef AM_MACHINE_H
#define AM_MACHINE_H

#include "json.h"

/* The member "machine": {...}. */
void am_machine_describe(struct am_json *j);

#endif /* AM_MACHINE_H */
