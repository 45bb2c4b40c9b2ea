/*
 * outcome.c: a cell's outcome as a row of cells.csv (see outcome.h).
 */
#include "outcome.h"

#include <stdio.h>
#include <string.h>

/* The columns a failed cell keeps; every other field is left empty. */
static bool kept_when_failed(enum am_column c)
{
    return c == AM_COL_allocator || c == AM_COL_label || c == AM_COL_workload ||
           c == AM_COL_threads || c == AM_COL_rep || c == AM_COL_status || c == AM_COL_reason ||
           c == AM_COL_wall_s || c == AM_COL_kind;
}

static void set_u64(struct am_outcome *o, enum am_column c, unsigned long long v)
{
    snprintf(o->field[c], sizeof o->field[c], "%llu", v);
    o->row.v[c] = o->field[c];
}

/* The child's reals keep the precision it wrote them with (%.6g). */
static void set_real(struct am_outcome *o, enum am_column c, double v)
{
    snprintf(o->field[c], sizeof o->field[c], "%.6g", v);
    o->row.v[c] = o->field[c];
}

static void set_fixed(struct am_outcome *o, enum am_column c, const char *fmt, double v)
{
    snprintf(o->field[c], sizeof o->field[c], fmt, v);
    o->row.v[c] = o->field[c];
}

/* The child's report, column by column. */
static void report_columns(const struct am_cell_report *r, struct am_outcome *o)
{
    static const enum am_column latency_first[AM_OP_KINDS] = {
        [AM_OP_MALLOC] = AM_COL_malloc_p50_ns,
        [AM_OP_FREE] = AM_COL_free_p50_ns,
        [AM_OP_REALLOC] = AM_COL_realloc_p50_ns,
    };
    static const enum am_column latency_samples[AM_OP_KINDS] = {
        [AM_OP_MALLOC] = AM_COL_malloc_samples,
        [AM_OP_FREE] = AM_COL_free_samples,
        [AM_OP_REALLOC] = AM_COL_realloc_samples,
    };
    static const enum am_column latency_rest[AM_OP_KINDS][3] = {
        [AM_OP_MALLOC] = {AM_COL_malloc_p99_ns, AM_COL_malloc_p999_ns, AM_COL_malloc_max_ns},
        [AM_OP_FREE] = {AM_COL_free_p99_ns, AM_COL_free_p999_ns, AM_COL_free_max_ns},
        [AM_OP_REALLOC] = {AM_COL_realloc_p99_ns, AM_COL_realloc_p999_ns, AM_COL_realloc_max_ns},
    };
    if (r->has_complete)
        set_u64(o, AM_COL_complete, r->complete);
    if (r->has_ops)
        set_u64(o, AM_COL_ops, r->ops);
    if (r->has_seconds)
        set_real(o, AM_COL_seconds, r->seconds);
    if (r->has_rate) {
        set_real(o, AM_COL_ops_per_sec, r->ops_per_sec);
        set_real(o, AM_COL_ns_per_op, r->ns_per_op);
    }
    for (int k = 0; k < AM_OP_KINDS; k++) {
        if (!r->has_latency[k])
            continue;
        const struct am_latency_report *l = &r->latency[k];
        set_u64(o, latency_samples[k], l->samples);
        if (!l->samples)
            continue; /* no such operation in this workload: empty fields */
        set_real(o, latency_first[k], l->p50_ns);
        set_real(o, latency_rest[k][0], l->p99_ns);
        set_real(o, latency_rest[k][1], l->p999_ns);
        set_real(o, latency_rest[k][2], l->max_ns);
    }
    if (r->has_rss) {
        set_u64(o, AM_COL_baseline_rss_bytes, r->baseline_rss);
        set_u64(o, AM_COL_end_rss_bytes, r->end_rss);
    }
    if (r->has_peak_live)
        set_u64(o, AM_COL_peak_live_bytes, r->peak_live);
    if (r->has_os_bytes_peak)
        set_u64(o, AM_COL_os_bytes_peak, r->os_bytes_peak);
    if (r->has_usage) {
        set_real(o, AM_COL_run_user_s, r->user_s);
        set_real(o, AM_COL_run_sys_s, r->sys_s);
        set_u64(o, AM_COL_run_minor_faults, r->minor_faults);
    }
    if (r->has_overhead) {
        if (r->has_harness_overhead)
            set_real(o, AM_COL_harness_overhead_ns, r->harness_overhead_ns);
        set_real(o, AM_COL_clock_overhead_ns, r->clock_overhead_ns);
    }
    if (r->has_fragmentation) {
        const double v[4] = {r->frag_peak, r->frag_mean, r->os_frag_peak, r->os_frag_mean};
        const enum am_column c[4] = {AM_COL_frag_peak, AM_COL_frag_mean, AM_COL_os_frag_peak,
                                     AM_COL_os_frag_mean};
        for (int i = 0; i < 4; i++)
            if (v[i] >= 0)
                set_real(o, c[i], v[i]);
    }
    if (r->has_replay) {
        set_real(o, AM_COL_wait_s, r->wait_s);
        set_real(o, AM_COL_decode_s, r->decode_s);
        set_u64(o, AM_COL_skipped, r->skipped);
        if (r->calls[0]) {
            snprintf(o->calls, sizeof o->calls, "%s", r->calls);
            o->row.v[AM_COL_calls] = o->calls;
        }
    }
    if (r->has_cpu)
        set_u64(o, AM_COL_cpu, r->cpu);
    if (r->has_series_time)
        set_real(o, AM_COL_series_s, r->series_s);
}

/* What the child's own words and its fate add up to. */
static enum am_status classify(int spawn_err, const struct am_child *child,
                               const struct am_cell_report *r, const char *stderr_line,
                               double timeout_s, char *reason, size_t len)
{
    const char *tail_sep = stderr_line[0] ? ": " : "";
    char fate[96];
    if (spawn_err) {
        snprintf(reason, len, "cannot start the cell's process: %s", strerror(spawn_err));
        return AM_STATUS_ERROR;
    }
    if (child->timed_out) {
        snprintf(reason, len, "no result within the %g s time limit", timeout_s);
        return AM_STATUS_TIMEOUT;
    }
    if (!child->exited) {
        snprintf(reason, len, "%s%s%s", am_child_describe(child, fate, sizeof fate), tail_sep,
                 stderr_line);
        return AM_STATUS_CRASH;
    }
    if (!r->ended || !r->has_status) {
        snprintf(reason, len, "%s without a complete result%s%s",
                 am_child_describe(child, fate, sizeof fate), tail_sep, stderr_line);
        return AM_STATUS_ERROR;
    }
    enum am_status status = am_status_parse(r->status);
    snprintf(reason, len, "%s", r->reason);
    if (status == AM_STATUS_COUNT || status == AM_STATUS_CRASH || status == AM_STATUS_TIMEOUT ||
        status == AM_STATUS_WRONG || status == AM_STATUS_SKIPPED) {
        snprintf(reason, len, "the cell reported status '%s'", r->status);
        return AM_STATUS_ERROR;
    }
    return status;
}

/* What only the parent knows of a cell that ran: its process's rusage. */
static void parent_metrics(const struct am_child *child, const struct am_cell_report *r,
                           struct am_outcome *o)
{
    unsigned long long rss = (unsigned long long)child->usage.ru_maxrss * 1024;
    set_u64(o, AM_COL_peak_rss_bytes, rss);
    set_fixed(o, AM_COL_user_s, "%.6f",
              child->usage.ru_utime.tv_sec + child->usage.ru_utime.tv_usec * 1e-6);
    set_fixed(o, AM_COL_sys_s, "%.6f",
              child->usage.ru_stime.tv_sec + child->usage.ru_stime.tv_usec * 1e-6);
    set_u64(o, AM_COL_minor_faults, (unsigned long long)child->usage.ru_minflt);
    if (r->has_peak_live && r->peak_live > 0)
        set_fixed(o, AM_COL_fragmentation, "%.4f", (double)rss / (double)r->peak_live);
    /* A workload's figure of merit, in the column programs share. */
    o->row.v[AM_COL_throughput] = o->row.v[AM_COL_ops_per_sec];
    o->row.v[AM_COL_throughput_unit] = o->row.v[AM_COL_ops_per_sec] ? "ops/s" : NULL;
}

void am_outcome_classify(const struct am_cell_key *key, int spawn_err, const struct am_child *child,
                         const struct am_cell_report *report, const char *stderr_line,
                         double timeout_s, struct am_outcome *out)
{
    memset(out, 0, sizeof *out);
    report_columns(report, out);

    /* The columns only the parent knows. */
    out->row.v[AM_COL_allocator] = key->allocator->name;
    out->row.v[AM_COL_workload] = key->workload;
    set_u64(out, AM_COL_threads, key->threads);
    set_u64(out, AM_COL_rep, key->rep);
    set_fixed(out, AM_COL_wall_s, "%.3f", spawn_err ? 0.0 : child->wall_s);
    out->row.v[AM_COL_kind] = "workload";
    if (report->has_label)
        snprintf(out->label, sizeof out->label, "%s", report->label);
    else /* the child died before saying: the front end's rule, asked here */
        am_allocator_label(key->allocator, key->threads > 1 ? AM_OPEN_THREADED : 0, out->label,
                           sizeof out->label);
    out->row.v[AM_COL_label] = out->label;

    out->status =
        classify(spawn_err, child, report, stderr_line, timeout_s, out->reason, sizeof out->reason);
    out->row.v[AM_COL_status] = am_status_name(out->status);
    out->row.v[AM_COL_reason] = out->reason[0] ? out->reason : NULL;

    if (out->status == AM_STATUS_OK) {
        parent_metrics(child, report, out);
    } else {
        for (int c = 0; c < AM_COL_COUNT; c++)
            if (!kept_when_failed((enum am_column)c))
                out->row.v[c] = NULL;
    }
}

void am_outcome_series_fields(const struct am_series_report *pt, char store[][32],
                              const char *fields[AM_SERIES_FIELDS])
{
    snprintf(store[0], 32, "%u", pt->sample);
    snprintf(store[1], 32, "%llu", pt->ops);
    snprintf(store[2], 32, "%.6f", pt->seconds);
    snprintf(store[3], 32, "%llu", pt->rss);
    snprintf(store[4], 32, "%lld", pt->live);
    snprintf(store[5], 32, "%llu", pt->os);
    for (int i = 0; i < AM_SERIES_FIELDS; i++)
        fields[i] = store[i];
    if (!pt->has_os)
        fields[5] = NULL; /* unknown: an empty field */
}
