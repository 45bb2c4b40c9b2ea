/*
 * results.h: the results directory of one run (the format is documented in
 * results/README.md, which is the contract plots and reports read):
 *   metadata.json    the command, the build, the machine, the libraries, and
 *                    how the run went; written at the start, completed at the end
 *   cells.csv        one row per cell and repetition
 *   timeseries.csv   the RSS / live-bytes series of every cell that reported one
 *   cells.log        what the cells' processes wrote to stderr
 * Every row goes out in one write() of a complete line, and metadata.json is
 * replaced by rename(), so an interrupted run leaves files that parse.
 *
 * Layering: depends on the C library only. The column names double as the
 * keys of the lines a cell's child prints (harness/cell.c), so one list
 * names both.
 */
#ifndef AM_RESULTS_H
#define AM_RESULTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* The columns of cells.csv, in order. */
// clang-format off
#define AM_COLUMNS(X) \
    X(allocator) \
    X(label) \
    X(workload) \
    X(threads) \
    X(rep) \
    X(status) \
    X(reason) \
    X(complete) \
    X(ops) \
    X(seconds) \
    X(ops_per_sec) \
    X(ns_per_op) \
    X(malloc_p50_ns) \
    X(malloc_p99_ns) \
    X(malloc_p999_ns) \
    X(malloc_max_ns) \
    X(malloc_samples) \
    X(free_p50_ns) \
    X(free_p99_ns) \
    X(free_p999_ns) \
    X(free_max_ns) \
    X(free_samples) \
    X(realloc_p50_ns) \
    X(realloc_p99_ns) \
    X(realloc_p999_ns) \
    X(realloc_max_ns) \
    X(realloc_samples) \
    X(peak_rss_bytes) \
    X(baseline_rss_bytes) \
    X(end_rss_bytes) \
    X(peak_live_bytes) \
    X(fragmentation) \
    X(os_bytes_peak) \
    X(user_s) \
    X(sys_s) \
    X(minor_faults) \
    X(run_user_s) \
    X(run_sys_s) \
    X(run_minor_faults) \
    X(harness_overhead_ns) \
    X(clock_overhead_ns) \
    X(wall_s) \
    X(cpu)
// clang-format on

enum am_column {
#define AM_COLUMN_ENUM(name) AM_COL_##name,
    AM_COLUMNS(AM_COLUMN_ENUM)
#undef AM_COLUMN_ENUM
        AM_COL_COUNT
};

/* "allocator", ...; AM_COL_COUNT for an unknown name. */
const char *am_column_name(enum am_column c);
enum am_column am_column_find(const char *name);

/* One row: NULL is an empty field (a metric a failed cell does not have). */
struct am_row {
    const char *v[AM_COL_COUNT];
};

/* The columns of timeseries.csv. */
#define AM_SERIES_HEADER \
    "allocator,label,workload,threads,rep,sample,ops_done,seconds,rss_bytes,live_bytes,os_bytes"

/* A small JSON writer: members and elements get their commas by themselves.
 * Every writer takes the member's key, or NULL for an array element. On
 * allocation failure the text is dropped and `failed` set. */
#define AM_JSON_DEPTH 16
struct am_json {
    char *text;
    size_t len, cap;
    int depth;
    bool need_comma[AM_JSON_DEPTH];
    bool failed;
};
void am_json_open(struct am_json *j, const char *key, char bracket);    /* '{' or '[' */
void am_json_close(struct am_json *j, char bracket);                    /* '}' or ']' */
void am_json_string(struct am_json *j, const char *key, const char *s); /* NULL: null */
void am_json_int(struct am_json *j, const char *key, long long v);
void am_json_double(struct am_json *j, const char *key, double v);
void am_json_bool(struct am_json *j, const char *key, bool v);
/* Members of another object's text (without braces), as they are. */
void am_json_members(struct am_json *j, const char *members);
void am_json_free(struct am_json *j);

/* What metadata.json says about the run, beyond what results.c finds out by
 * itself (build, machine, C library). `plan_json` holds further members
 * (without braces), inserted as they are. */
struct am_run_info {
    char *const *argv;
    int argc;
    const char *profile;
    const char *plan_json;
    long cells_total, cells_done, cells_failed;
    bool finished, interrupted;
};

struct am_results {
    char dir[PATH_MAX];  /* the run's directory */
    char name[NAME_MAX]; /* its last component */
    int cells_fd, series_fd, log_fd;
    char started[32]; /* ISO 8601, UTC */
};

/* The exact command as a shell would take it back: argv joined, each word
 * quoted where needed. Returns a malloc'd string. */
char *am_command_line(int argc, char *const argv[]);

/* Create root/<YYYYmmdd-HHMMSS>[-label]/ (UTC; a suffix -2, -3, ... if
 * taken), its files with their header lines, and point root/latest at it.
 * Returns 0 or an errno value, with a message in why; on success why holds a
 * warning (latest could not be updated) or "". */
int am_results_create(struct am_results *r, const char *root, const char *label,
                      const struct am_run_info *info, char *why, size_t why_len);
/* Append one row to cells.csv (one write). */
int am_results_row(struct am_results *r, const struct am_row *row);
/* Append one line to timeseries.csv; `line` holds the columns after the key
 * columns (sample,ops_done,...) without a newline. */
int am_results_series(struct am_results *r, const struct am_row *key, const char *line);
/* Rewrite metadata.json with what info says now (atomically). */
int am_results_metadata(struct am_results *r, const struct am_run_info *info);
void am_results_close(struct am_results *r);

#endif /* AM_RESULTS_H */
