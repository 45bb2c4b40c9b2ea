/*
 * conformance.h: the conformance suite, the checks every allocator must pass
 * (the C and POSIX allocation contract, no overlap, threads, fork).
 *
 * am_conformance_run runs in a process already prepared for the allocator (a
 * reference's library preloaded, see harness/spawnproc.h); each check runs in a
 * forked child of its own, so a crash or hang is that check's verdict only.
 * Output: one line per check, "check NAME VERDICT DETAIL", for
 * `allocmark check` to gather into its matrix.
 *
 * Layering: depends on allocators/ (the front end) and the C library.
 */
#ifndef AM_CONFORMANCE_H
#define AM_CONFORMANCE_H

#include <stdbool.h>
#include <stdio.h>

#include "allocator.h"

enum am_verdict {
    AM_VERDICT_PASS,
    AM_VERDICT_FAIL,
    AM_VERDICT_EXPECTED,   /* a known, documented deviation of a reference */
    AM_VERDICT_UNEXPECTED, /* listed as a known deviation, yet passed */
    AM_VERDICT_SKIPPED,    /* the allocator lacks the capability checked */
    AM_VERDICT_CRASH,      /* died by a signal or ran out of time */
    AM_VERDICT_COUNT
};

/* "pass", "FAIL", "expected", "UNEXPECTED-PASS", "skipped", "CRASH". */
const char *am_verdict_name(enum am_verdict v);
/* AM_VERDICT_COUNT for an unknown word. */
enum am_verdict am_verdict_parse(const char *word);
/* True for the verdicts that make the suite fail. */
int am_verdict_is_failure(enum am_verdict v);

/* The checks, in order. */
unsigned am_conformance_count(void);
const char *am_conformance_name(unsigned i);
const char *am_conformance_about(unsigned i);

/* Run every check for a (only those with only[i] set, when only is not NULL);
 * print one line per check run to out. Returns the number of checks whose
 * verdict is a failure. */
int am_conformance_run(const struct am_allocator *a, const bool *only, FILE *out);

#endif /* AM_CONFORMANCE_H */
