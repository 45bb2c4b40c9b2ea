/*
 * hardening.h: the hardening matrix, what an allocator does with a program's
 * memory errors (double free, invalid frees, an overflow, a write after
 * free, realloc of a freed block). Informational: there is no right answer,
 * only what happened, which `allocmark check` shows beside the conformance
 * matrix.
 *
 * am_hardening_run runs in a process already prepared for the allocator (a
 * reference's library preloaded, see harness/spawnproc.h); each case runs in a
 * forked child of its own whose stderr is captured, so a message can be told
 * from none. After the error, each case allocates and fills more blocks and
 * checks that none is handed out twice, overlaps another or lands where it
 * must not (the stack, a foreign mapping), so damage that shows only later
 * is seen too. Output: one line per case, "hardening NAME OUTCOME DETAIL".
 *
 * Layering: depends on allocators/ (the front end) only.
 */
#ifndef AM_HARDENING_H
#define AM_HARDENING_H

#include <stdio.h>

#include "allocator.h"

enum am_outcome {
    AM_OUTCOME_DETECTED,  /* stopped (abort or exit) after printing a message */
    AM_OUTCOME_ABORT,     /* SIGABRT without a message */
    AM_OUTCOME_WARNED,    /* printed a message and carried on, nothing broke */
    AM_OUTCOME_SILENT,    /* carried on, and nothing broke afterwards */
    AM_OUTCOME_CORRUPTED, /* carried on, then handed out a block twice, blocks
                           * overlapping, or memory that was not its own */
    AM_OUTCOME_CRASH,     /* killed by another signal (the cell names it) */
    AM_OUTCOME_HANG,      /* did not finish in time */
    AM_OUTCOME_ERROR,     /* the case could not be set up */
    AM_OUTCOME_COUNT
};

/* "detected", "abort", "warned", "silent", "corrupted", "crash", "hang",
 * "error". */
const char *am_outcome_name(enum am_outcome o);
/* AM_OUTCOME_COUNT for an unknown word. */
enum am_outcome am_outcome_parse(const char *word);

/* The cases, in order. */
unsigned am_hardening_count(void);
const char *am_hardening_name(unsigned i);
const char *am_hardening_about(unsigned i);

/* Run every case for a; print one line per case to out: "hardening NAME
 * OUTCOME DETAIL", where OUTCOME is a word above, "crash" followed by ":"
 * and the signal's name (crash:SIGSEGV), and DETAIL the allocator's message
 * or what went wrong. */
void am_hardening_run(const struct am_allocator *a, FILE *out);

#endif /* AM_HARDENING_H */
