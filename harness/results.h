/*
 * results.h: the results directory of one run (the format is documented in
 * results/README.md, which is the contract plots and reports read):
 *   metadata.json    the command, the build, the machine, the libraries, and
 *                    how the run went; written at the start, completed at the end
 *   cells.csv        one row per cell and repetition (columns.h)
 *   timeseries.csv   the RSS / live-bytes series of every cell that reported one
 *   cells.log        what the cells' processes wrote to stderr
 * Every row goes out in one write() of a complete line, and metadata.json is
 * replaced by rename(), so an interrupted run leaves files that parse.
 *
 * Layering: harness/ (columns, csv, json, text, shellquote, machine,
 * buildfacts) and the C library.
 */
#ifndef AM_RESULTS_H
#define AM_RESULTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "columns.h"
#include "json.h"

/* What metadata.json says about the run, beyond what the harness finds out
 * by itself (build, machine, C library). `plan` writes the plan's members
 * (allocators, workloads, threads, ...) into the metadata object each time
 * it is written. */
struct am_run_info {
    char *const *argv;
    int argc;
    const char *profile;
    void (*plan)(struct am_json *j, const void *ctx);
    const void *plan_ctx;
    long cells_total, cells_done, cells_failed;
    bool finished, interrupted;
};

struct am_results {
    char dir[PATH_MAX];  /* the run's directory */
    char name[NAME_MAX]; /* its last component */
    int cells_fd, series_fd, log_fd;
    char started[32]; /* ISO 8601, UTC */
};

/* Create root/<YYYYmmdd-HHMMSS>[-label]/ (UTC; a suffix -2, -3, ... if
 * taken), its files with their header lines, and point root/latest at it.
 * Returns 0 or an errno value, with a message in why; on success why holds a
 * warning (latest could not be updated) or "". */
int am_results_create(struct am_results *r, const char *root, const char *label,
                      const struct am_run_info *info, char *why, size_t why_len);
/* Append one row to cells.csv (one write). */
int am_results_row(struct am_results *r, const struct am_row *row);
/* Append one line to timeseries.csv: the key columns of `key` (allocator,
 * label, workload, threads, rep), then `fields` (sample, ops_done, ...). */
int am_results_series(struct am_results *r, const struct am_row *key, const char *const *fields,
                      unsigned n_fields);
/* The last non-empty line written to cells.log from byte offset `from` on
 * ("" if none), at most len - 1 bytes of it. cells.log is opened write-only
 * for the cells to write to: this reads it through a descriptor of its own. */
void am_results_log_tail(const struct am_results *r, off_t from, char *out, size_t len);
/* Rewrite metadata.json with what info says now (atomically). */
int am_results_metadata(struct am_results *r, const struct am_run_info *info);
void am_results_close(struct am_results *r);

#endif /* AM_RESULTS_H */
