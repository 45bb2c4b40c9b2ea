/*
 * protocol.c: writing and reading the cell protocol (see protocol.h).
 */
#include "protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[AM_OP_KINDS] = {"malloc", "free", "realloc"};

const char *am_op_kind_name(enum am_op_kind k)
{
    return k < AM_OP_KINDS ? kind_names[k] : "?";
}

/* ---------------------------------------------------------------------------
 * The child's side
 * ------------------------------------------------------------------------ */

void am_protocol_write_label(FILE *to, const char *label)
{
    fprintf(to, "label %s\n", label);
    fflush(to);
}

void am_protocol_write_report(FILE *to, const struct am_cell_report *r)
{
    if (r->has_status)
        fprintf(to, "status %s\n", r->status);
    if (r->reason[0])
        fprintf(to, "reason %s\n", r->reason);
    if (r->has_complete)
        fprintf(to, "complete %d\n", r->complete ? 1 : 0);
    if (r->has_ops)
        fprintf(to, "ops %llu\n", r->ops);
    if (r->has_seconds)
        fprintf(to, "seconds %.6g\n", r->seconds);
    if (r->has_rate)
        fprintf(to, "rate %.6g %.6g\n", r->ops_per_sec, r->ns_per_op);
    for (int k = 0; k < AM_OP_KINDS; k++) {
        if (!r->has_latency[k])
            continue;
        const struct am_latency_report *l = &r->latency[k];
        fprintf(to, "latency %s %llu", kind_names[k], l->samples);
        if (l->samples)
            fprintf(to, " %.6g %.6g %.6g %.6g", l->p50_ns, l->p99_ns, l->p999_ns, l->max_ns);
        fprintf(to, "\n");
    }
    if (r->has_rss)
        fprintf(to, "rss %llu %llu\n", r->baseline_rss, r->end_rss);
    if (r->has_peak_live)
        fprintf(to, "peak_live %llu\n", r->peak_live);
    if (r->has_os_bytes_peak)
        fprintf(to, "os_bytes_peak %llu\n", r->os_bytes_peak);
    if (r->has_usage)
        fprintf(to, "usage %.6g %.6g %llu\n", r->user_s, r->sys_s, r->minor_faults);
    if (r->has_overhead) {
        if (r->has_harness_overhead)
            fprintf(to, "overhead %.6g %.6g\n", r->harness_overhead_ns, r->clock_overhead_ns);
        else
            fprintf(to, "overhead - %.6g\n", r->clock_overhead_ns);
    }
    if (r->has_fragmentation) {
        const double v[4] = {r->frag_peak, r->frag_mean, r->os_frag_peak, r->os_frag_mean};
        fprintf(to, "fragmentation");
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0)
                fprintf(to, " -");
            else
                fprintf(to, " %.6g", v[i]);
        }
        fprintf(to, "\n");
    }
    if (r->has_replay) {
        fprintf(to, "replay %.6g %.6g %llu\n", r->wait_s, r->decode_s, r->skipped);
        if (r->calls[0])
            fprintf(to, "calls %s\n", r->calls);
    }
    if (r->has_cpu)
        fprintf(to, "cpu %llu\n", r->cpu);
    if (r->has_series_time)
        fprintf(to, "series_time %.6g\n", r->series_s);
}

void am_protocol_write_series(FILE *to, const struct am_series_report *pt)
{
    fprintf(to, "series %u %llu %.6f %llu %lld", pt->sample, pt->ops, pt->seconds, pt->rss,
            pt->live);
    if (pt->has_os)
        fprintf(to, " %llu", pt->os);
    fprintf(to, "\n");
}

void am_protocol_write_end(FILE *to)
{
    fprintf(to, "end\n");
    fflush(to);
}

/* ---------------------------------------------------------------------------
 * The parent's side
 * ------------------------------------------------------------------------ */

/* The next space-separated word of *s, or NULL. */
static char *word(char **s)
{
    while (**s == ' ')
        (*s)++;
    if (!**s)
        return NULL;
    char *w = *s;
    char *sp = strchr(w, ' ');
    if (sp) {
        *sp = '\0';
        *s = sp + 1;
    } else {
        *s = w + strlen(w);
    }
    return w;
}

static bool u64(char **s, unsigned long long *out)
{
    char *w = word(s), *end;
    if (!w)
        return false;
    errno = 0;
    *out = strtoull(w, &end, 10);
    return !errno && *end == '\0';
}

static bool i64(char **s, long long *out)
{
    char *w = word(s), *end;
    if (!w)
        return false;
    errno = 0;
    *out = strtoll(w, &end, 10);
    return !errno && *end == '\0';
}

static bool real(char **s, double *out)
{
    char *w = word(s), *end;
    if (!w)
        return false;
    *out = strtod(w, &end);
    return end != w && *end == '\0';
}

static int add_series(struct am_cell_report *r, char *v)
{
    struct am_series_report pt = {0};
    unsigned long long sample;
    if (!u64(&v, &sample) || !u64(&v, &pt.ops) || !real(&v, &pt.seconds) || !u64(&v, &pt.rss) ||
        !i64(&v, &pt.live))
        return 0; /* a malformed point is left out */
    pt.sample = (unsigned)sample;
    pt.has_os = u64(&v, &pt.os);
    if (r->n_series == r->series_cap) {
        unsigned cap = r->series_cap ? 2 * r->series_cap : 64;
        struct am_series_report *grown = realloc(r->series, cap * sizeof *grown);
        if (!grown)
            return ENOMEM;
        r->series = grown;
        r->series_cap = cap;
    }
    r->series[r->n_series++] = pt;
    return 0;
}

static void parse_latency(struct am_cell_report *r, char *v)
{
    char *kind = word(&v);
    for (int k = 0; kind && k < AM_OP_KINDS; k++) {
        if (strcmp(kind, kind_names[k]) != 0)
            continue;
        struct am_latency_report *l = &r->latency[k];
        if (!u64(&v, &l->samples))
            return;
        if (l->samples && !(real(&v, &l->p50_ns) && real(&v, &l->p99_ns) && real(&v, &l->p999_ns) &&
                            real(&v, &l->max_ns)))
            return;
        r->has_latency[k] = true;
    }
}

int am_protocol_parse(char *output, struct am_cell_report *r)
{
    memset(r, 0, sizeof *r);
    int err = 0;
    char *save = NULL;
    for (char *line = strtok_r(output, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *v = strchr(line, ' ');
        if (v)
            *v++ = '\0';
        else
            v = line + strlen(line);
        unsigned long long n;
        if (strcmp(line, "end") == 0) {
            r->ended = true;
        } else if (strcmp(line, "label") == 0) {
            snprintf(r->label, sizeof r->label, "%s", v);
            r->has_label = true;
        } else if (strcmp(line, "status") == 0) {
            snprintf(r->status, sizeof r->status, "%s", v);
            r->has_status = true;
        } else if (strcmp(line, "reason") == 0) {
            snprintf(r->reason, sizeof r->reason, "%s", v);
        } else if (strcmp(line, "complete") == 0) {
            r->has_complete = u64(&v, &n);
            r->complete = n != 0;
        } else if (strcmp(line, "ops") == 0) {
            r->has_ops = u64(&v, &r->ops);
        } else if (strcmp(line, "seconds") == 0) {
            r->has_seconds = real(&v, &r->seconds);
        } else if (strcmp(line, "rate") == 0) {
            r->has_rate = real(&v, &r->ops_per_sec) && real(&v, &r->ns_per_op);
        } else if (strcmp(line, "latency") == 0) {
            parse_latency(r, v);
        } else if (strcmp(line, "rss") == 0) {
            r->has_rss = u64(&v, &r->baseline_rss) && u64(&v, &r->end_rss);
        } else if (strcmp(line, "peak_live") == 0) {
            r->has_peak_live = u64(&v, &r->peak_live);
        } else if (strcmp(line, "os_bytes_peak") == 0) {
            r->has_os_bytes_peak = u64(&v, &r->os_bytes_peak);
        } else if (strcmp(line, "usage") == 0) {
            r->has_usage = real(&v, &r->user_s) && real(&v, &r->sys_s) && u64(&v, &r->minor_faults);
        } else if (strcmp(line, "overhead") == 0) {
            char *harness = word(&v);
            r->has_harness_overhead =
                harness && strcmp(harness, "-") != 0 && real(&harness, &r->harness_overhead_ns);
            r->has_overhead = real(&v, &r->clock_overhead_ns);
        } else if (strcmp(line, "fragmentation") == 0) {
            double *f[4] = {&r->frag_peak, &r->frag_mean, &r->os_frag_peak, &r->os_frag_mean};
            r->has_fragmentation = true;
            for (int i = 0; i < 4; i++) {
                char *w = word(&v);
                *f[i] = -1;
                if (!w || (strcmp(w, "-") != 0 && !real(&w, f[i])))
                    r->has_fragmentation = false;
            }
        } else if (strcmp(line, "replay") == 0) {
            r->has_replay = real(&v, &r->wait_s) && real(&v, &r->decode_s) && u64(&v, &r->skipped);
        } else if (strcmp(line, "calls") == 0) {
            snprintf(r->calls, sizeof r->calls, "%s", v);
        } else if (strcmp(line, "cpu") == 0) {
            r->has_cpu = u64(&v, &r->cpu);
        } else if (strcmp(line, "series_time") == 0) {
            r->has_series_time = real(&v, &r->series_s);
        } else if (strcmp(line, "series") == 0) {
            if (!err)
                err = add_series(r, v);
        }
    }
    return err;
}

void am_cell_report_free(struct am_cell_report *r)
{
    free(r->series);
    r->series = NULL;
    r->n_series = r->series_cap = 0;
}
