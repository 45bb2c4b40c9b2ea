/*
 * protocol.h: the cell protocol, what a cell's child process tells the
 * parent on its standard output. It is a format of its own, not the CSV
 * columns: the child writes a struct am_cell_report, the parent reads one
 * back, and outcome.c turns that into a row of cells.csv.
 *
 * The format: text, one record per line, a keyword, then its values
 * separated by single spaces (reason and label take the rest of the line).
 * Numbers are decimal; an integer is an unsigned 64-bit count, a real is
 * printed with %.6g (seconds of a series point with %.6f). Records, in the
 * order the child writes them:
 *
 *   label TEXT                 first, flushed at once, so that even a child
 *                              that crashes says whether it ran behind the lock
 *   status WORD                ok, oom, corrupt or error
 *   reason TEXT                only when status is not ok
 *   complete 0|1               0: the time budget stopped the workload
 *   ops INTEGER                operations done in the measured phase
 *   seconds REAL               length of the measured phase
 *   rate OPS_PER_SEC NS_PER_OP only when ops and seconds are above zero
 *   latency KIND SAMPLES [P50 P99 P999 MAX]
 *                              KIND malloc, free or realloc; the four
 *                              percentiles (ns) only when SAMPLES > 0
 *   rss BASELINE END           bytes resident before and after the phase
 *   peak_live INTEGER          the most requested bytes live at once
 *   os_bytes_peak INTEGER      only when the allocator can tell
 *   usage USER_S SYS_S MINOR_FAULTS
 *                              the measured phase's own resource use
 *   overhead HARNESS_NS CLOCK_NS
 *                              HARNESS_NS is "-" when it could not be measured
 *   fragmentation PEAK MEAN OS_PEAK OS_MEAN
 *                              memory against the ideal (live bytes): RSS above
 *                              the baseline and the allocator's OS bytes over
 *                              live bytes, at peak and as time-weighted means;
 *                              "-" for what is not known
 *   replay WAIT_S DECODE_S SKIPPED
 *                              trace replays only: thread-seconds waiting for
 *                              other threads, seconds decoding (left out of
 *                              SECONDS), recorded calls not replayed
 *   calls TEXT                 trace replays only: the calls issued by C
 *                              function, NAME=COUNT separated by spaces
 *                              ("malloc=1000 free=998"), the rest of the line
 *   cpu INTEGER                the CPU the main thread was on right after the
 *                              measured phase, when the kernel says
 *   series_time SECONDS        the main thread's time taking time-series
 *                              points, left out of SECONDS (divided by the
 *                              threads when there are several)
 *   series SAMPLE OPS SECONDS RSS LIVE [OS]
 *                              one time-series point (OS when known)
 *   end                        last: the report is whole
 *
 * A child that could not run at all writes label, status error, reason and
 * end. The parser ignores keywords it does not know, so a newer child can
 * add records.
 *
 * Layering: measure/ (the kinds of operation) and the C library.
 */
#ifndef AM_PROTOCOL_H
#define AM_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "measure.h"

struct am_latency_report {
    unsigned long long samples;
    double p50_ns, p99_ns, p999_ns, max_ns; /* when samples > 0 */
};

struct am_series_report {
    unsigned sample;
    unsigned long long ops;
    double seconds;
    unsigned long long rss;
    long long live;
    bool has_os;
    unsigned long long os;
};

struct am_cell_report {
    bool has_label, has_status, has_complete, has_ops, has_seconds, has_rate, has_rss,
        has_peak_live, has_os_bytes_peak, has_usage, has_overhead, has_harness_overhead,
        has_fragmentation, has_replay, has_cpu, has_series_time;
    bool has_latency[AM_OP_KINDS];
    bool ended; /* the `end` record came */
    char label[128];
    char status[32];
    char reason[400];
    bool complete;
    unsigned long long ops;
    double seconds;
    double ops_per_sec, ns_per_op;
    struct am_latency_report latency[AM_OP_KINDS];
    unsigned long long baseline_rss, end_rss;
    unsigned long long peak_live;
    unsigned long long os_bytes_peak;
    double user_s, sys_s;
    unsigned long long minor_faults;
    double harness_overhead_ns, clock_overhead_ns;
    /* fragmentation: each < 0 when not known */
    double frag_peak, frag_mean, os_frag_peak, os_frag_mean;
    double wait_s, decode_s;
    unsigned long long skipped;
    char calls[256]; /* has_replay: the calls issued ("malloc=3 free=3"), or "" */
    unsigned long long cpu;
    double series_s; /* thread 0's time taking series points, out of `seconds` */
    /* The parser's: malloc'd, n_series points (am_cell_report_free). */
    struct am_series_report *series;
    unsigned n_series, series_cap;
};

/* "malloc", "free", "realloc". */
const char *am_op_kind_name(enum am_op_kind k);

/* The child's side. The label first (flushed), then everything the report
 * has (series and n_series are not used), then each series point, then the
 * end. */
void am_protocol_write_label(FILE *to, const char *label);
void am_protocol_write_report(FILE *to, const struct am_cell_report *r);
void am_protocol_write_series(FILE *to, const struct am_series_report *pt);
void am_protocol_write_end(FILE *to);

/* The parent's side: read the child's whole output (changed in place) into
 * r. Returns 0, or ENOMEM when the series could not be kept. */
int am_protocol_parse(char *output, struct am_cell_report *r);
void am_cell_report_free(struct am_cell_report *r);

#endif /* AM_PROTOCOL_H */
