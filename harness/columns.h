/*
 * columns.h: the schema of the results' CSV files: the columns of cells.csv
 * in order (one X-macro names the enum and the header line), and the
 * header of timeseries.csv. results/README.md documents each column; this
 * is the list the writer follows.
 *
 * Layering: the C library only.
 */
#ifndef AM_COLUMNS_H
#define AM_COLUMNS_H

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
    X(wait_s) \
    X(decode_s) \
    X(skipped) \
    X(frag_peak) \
    X(frag_mean) \
    X(os_frag_peak) \
    X(os_frag_mean) \
    X(kind) \
    X(exit_status) \
    X(major_faults) \
    X(voluntary_switches) \
    X(involuntary_switches) \
    X(throughput) \
    X(throughput_unit) \
    X(latency_p50_us) \
    X(latency_p99_us) \
    X(output_checksum) \
    X(rss_samples) \
    X(sampler_cpu_s) \
    X(cpu) \
    X(series_s) \
    X(calls)
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

#endif /* AM_COLUMNS_H */
