/*
 * outcome.h: what a cell came to, as one row of cells.csv: the parent's
 * verdict on the child (ok, or crash, timeout, oom, corrupt, error, with a
 * reason), the child's report (protocol.h) turned into columns, and the
 * metrics only the parent can derive (the process's peak RSS, CPU time and
 * faults from its rusage; fragmentation = peak RSS / peak live bytes). A
 * failed cell keeps only its key columns, its status, reason and wall time.
 *
 * Layering: harness/ (columns, protocol, spawn), measure/ (statuses) and
 * allocators/.
 */
#ifndef AM_OUTCOME_H
#define AM_OUTCOME_H

#include "columns.h"
#include "frontend.h"
#include "measure.h"
#include "protocol.h"
#include "spawnproc.h"

/* Which cell, in the plan's terms. */
struct am_cell_key {
    const struct am_allocator *allocator;
    const char *workload;
    unsigned threads, rep;
};

/* The text behind a row's fields. */
struct am_outcome {
    enum am_status status;
    struct am_row row;
    char field[AM_COL_COUNT][48];
    char label[128];
    char reason[400];
    char calls[256]; /* a replay's calls by function: longer than a field */
};

/* Fill out from what happened: spawn_err (am_spawn's result), the child's
 * fate and its parsed report, the last line it wrote to stderr ("" for
 * none), and the time limit it had. */
void am_outcome_classify(const struct am_cell_key *key, int spawn_err, const struct am_child *child,
                         const struct am_cell_report *report, const char *stderr_line,
                         double timeout_s, struct am_outcome *out);

/* The fields of one time-series point (sample, ops_done, seconds, rss_bytes,
 * live_bytes, os_bytes), formatted into store. */
#define AM_SERIES_FIELDS 6
void am_outcome_series_fields(const struct am_series_report *pt, char store[][32],
                              const char *fields[AM_SERIES_FIELDS]);

#endif /* AM_OUTCOME_H */
