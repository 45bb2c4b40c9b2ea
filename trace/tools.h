/*
 * tools.h: the `allocmark trace` sub-commands, each reading a trace through
 * the streaming reader: info (what a trace holds, and a chart of its live
 * bytes), cut (a window of it, as a valid trace), convert (to CSV).
 *
 * Layering: the trace library's tool side (stdio and malloc allowed: they
 * run in allocmark, not in a measured process); depends on trace/trace.h.
 * Every command exits 0, 1 (it could not write) or 2 (bad input, named with
 * its byte offset and event number).
 */
#ifndef AM_TRACE_TOOLS_H
#define AM_TRACE_TOOLS_H

#include <stdio.h>

/* `allocmark trace ...`: argv[0] is "trace". */
int am_trace_main(int argc, char **argv);
void am_trace_usage(FILE *to);

int am_trace_info(const char *path, const char *plot, FILE *out);
struct am_cut_window {
    double from_s, to_s;           /* seconds since the recording began */
    unsigned long long from_event; /* or event numbers, [from, to) */
    unsigned long long to_event;
    int by_events;
};
int am_trace_cut(const char *in, const char *out, const struct am_cut_window *w);
int am_trace_csv(const char *in, const char *out);

/* Open `path` for reading; on failure print why and return -1. */
int am_trace_open_path(const char *path);

#endif /* AM_TRACE_TOOLS_H */
