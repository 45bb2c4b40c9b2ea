/*
 * cli.c: the `allocmark trace` command line: info, cut and convert, their
 * options, and the messages for bad ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"

#define EXIT_USAGE 2

void am_trace_usage(FILE *to)
{
    fprintf(to, "  trace info FILE [--plot OUT.png|OUT.svg]\n"
                "                           what a trace holds: operations, threads, duration,\n"
                "                           peak live bytes and when, size and lifetime\n"
                "                           histograms, cross-thread frees; --plot draws live\n"
                "                           bytes over time with gnuplot\n"
                "  trace cut FILE -o OUT (--seconds FROM:TO | --events FROM:TO)\n"
                "                           a window of a trace, as a trace (blocks live at its\n"
                "                           start are allocated first)\n"
                "  trace convert FILE -o OUT.csv\n"
                "                           one CSV row per event (docs/trace-format.md); -o -\n"
                "                           writes to standard output\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "allocmark trace: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage:\n");
    am_trace_usage(stderr);
    return EXIT_USAGE;
}

/* "A:B" with A < B, both numbers (B may be empty: to the end). */
static bool parse_range(const char *s, double *a, double *b)
{
    char *end;
    errno = 0;
    *a = strtod(s, &end);
    if (errno || end == s || *end != ':' || *a < 0)
        return false;
    const char *t = end + 1;
    if (!*t) {
        *b = 1e300;
        return true;
    }
    *b = strtod(t, &end);
    return !errno && end != t && !*end && *b > *a;
}

int am_trace_main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "a sub-command is needed (valid: info, cut, convert)");
    const char *sub = argv[1];
    const char *file = NULL, *out = NULL, *plot = NULL, *secs = NULL, *evs = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!has_value)
                return usage_error("%s needs a file name", a);
            out = argv[++i];
        } else if (!strcmp(a, "--plot") && !strcmp(sub, "info")) {
            if (!has_value)
                return usage_error("%s needs a file name", a);
            plot = argv[++i];
        } else if (!strcmp(a, "--seconds") && !strcmp(sub, "cut")) {
            if (!has_value)
                return usage_error("%s needs FROM:TO", a);
            secs = argv[++i];
        } else if (!strcmp(a, "--events") && !strcmp(sub, "cut")) {
            if (!has_value)
                return usage_error("%s needs FROM:TO", a);
            evs = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s' for this sub-command", a);
        } else if (!file) {
            file = a;
        } else {
            return usage_error("unexpected argument '%s' (one trace file at a time)", a);
        }
    }
    if (strcmp(sub, "info") && strcmp(sub, "cut") && strcmp(sub, "convert"))
        return usage_error("unknown sub-command '%s' (valid: info, cut, convert)", sub);
    if (!file)
        return usage_error("%s", "which trace? (a file name is needed)");
    if (!strcmp(sub, "info")) {
        if (out)
            return usage_error("%s", "info takes no -o (use --plot for the chart)");
        return am_trace_info(file, plot, stdout);
    }
    if (!out)
        return usage_error("%s", "-o OUT is needed");
    if (!strcmp(sub, "convert"))
        return am_trace_csv(file, out);
    struct am_cut_window w = {0};
    if (!!secs == !!evs)
        return usage_error("%s", "cut needs one of --seconds FROM:TO or --events FROM:TO");
    double a, b;
    if (!parse_range(secs ? secs : evs, &a, &b))
        return usage_error("bad window '%s' (valid: FROM:TO, numbers, FROM < TO; TO may be "
                           "empty for the end)",
                           secs ? secs : evs);
    if (secs) {
        w.from_s = a;
        w.to_s = b;
    } else {
        w.by_events = 1;
        w.from_event = (unsigned long long)a;
        w.to_event = b > 1.8e19 ? ~0ull : (unsigned long long)b;
    }
    return am_trace_cut(file, out, &w);
}
