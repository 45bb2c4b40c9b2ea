/*
 * progress.h: telling the person at the terminal how far a run has got. On
 * a terminal, one line on stderr rewritten in place (cells done of total, the
 * current cell, elapsed time, an estimate of what is left), with failed cells
 * kept above it; otherwise one plain line per finished cell.
 *
 * Layering: depends on the C library only.
 */
#ifndef AM_PROGRESS_H
#define AM_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

struct am_progress {
    FILE *out;
    bool tty;
    long total, done, failed;
    double start;       /* monotonic seconds */
    char current[160];  /* the cell being run */
    bool line_is_drawn; /* a progress line is on screen and must be cleared */
};

void am_progress_init(struct am_progress *p, FILE *out, long total);
/* A cell starts: what it is, e.g. "glibc churn t=2 rep 1/3". */
void am_progress_start(struct am_progress *p, const char *cell);
/* It finished: `outcome` is "ok 12.3 Mops/s" or "crash: SIGSEGV". */
void am_progress_finish(struct am_progress *p, bool ok, const char *outcome);
/* Print a message of its own (a warning) without garbling the line. */
void am_progress_note(struct am_progress *p, const char *message);
/* The run is over: clear the line. */
void am_progress_end(struct am_progress *p);
double am_progress_elapsed(const struct am_progress *p);

#endif /* AM_PROGRESS_H */
