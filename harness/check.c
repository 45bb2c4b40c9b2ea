/*
 * check.c: `allocmark check`, the conformance matrix and beside it the
 * hardening matrix: each allocator's conformance suite, then its hardening
 * cases, run in a child process prepared for it (spawnproc.h), and the verdicts
 * and outcomes come back as lines to gather into the two matrices.
 */
#include "check.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arglist.h"
#include "cli.h"
#include "conformance.h"
#include "dropin.h"
#include "hardening.h"
#include "frontend.h"
#include "spawnproc.h"

void am_check_usage(FILE *to)
{
    fprintf(
        to,
        "  check [-a NAMES] [-v]    the conformance matrix: allocators across, checks down;\n"
        "                           with one allocator, one line per check (exit 1 on\n"
        "                           failure); each in-house backend is checked twice, through\n"
        "                           the harness and as its LD_PRELOAD drop-in, NAME (preload),\n"
        "                           and the two must agree; then the hardening matrix\n"
        "                           (informational)\n"
        "    -a, --allocators NAMES   comma-separated allocator names (default: all but\n"
        "                             test doubles)\n"
        "    -c, --checks PATTERNS    only the conformance checks matching one of these\n"
        "                             comma-separated shell patterns ('fork*'); no\n"
        "                             hardening matrix unless --hardening is given too\n"
        "    --no-preload             leave out the drop-in columns\n"
        "    --hardening              the hardening matrix (alone, without -c)\n"
        "    --no-hardening           the conformance matrix alone\n"
        "    --hardening-csv FILE     also write the hardening matrix to FILE as CSV\n"
        "    -v, --verbose            print each check's detail\n"
        "        --format FORMAT      text (the default: the matrices, or one line per\n"
        "                             check), csv or json: one record per allocator\n"
        "                             (drop-ins as NAME (preload)) and check (allocator,\n"
        "                             check, verdict, detail), what `allocmark report\n"
        "                             --conformance` reads; the hardening matrix then\n"
        "                             goes only to --hardening-csv FILE\n");
}

#define MAX_ALLOCATORS 64
#define MAX_CHECKS     64
#define MAX_CASES      32

/* Under a sanitizer, the sanitizer's own reports would stand in for the
 * allocator's in the hardening matrix, so it is not made. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct column {
    const struct am_allocator *allocator;
    enum am_verdict verdict[MAX_CHECKS];
    char *detail[MAX_CHECKS];
    char fate[96]; /* how the child ended, when it did not finish */
    enum am_outcome outcome[MAX_CASES];
    char signal[MAX_CASES][16]; /* for a crash: "SIGSEGV" */
    char *about[MAX_CASES];     /* the allocator's message, or what broke */
    char hardening_fate[96];
};

enum format { FORMAT_TEXT, FORMAT_CSV, FORMAT_JSON };

/* A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void put_csv(const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* The conformance matrix as records, one per allocator and check; a check
 * the suite's process never reported is MISSING, with how the process
 * ended. */
static void print_records(enum format format, const struct column *cols, int n, const bool *sel,
                          int failures, int argc, char **argv)
{
    if (format == FORMAT_CSV) {
        printf("# allocmark check");
        for (int i = 1; i < argc; i++)
            printf(" %s", argv[i]);
        printf("\nallocator,check,verdict,detail\n");
    } else {
        printf("{\"failures\": %d, \"results\": [", failures);
    }
    bool first = true;
    for (int k = 0; k < n; k++) {
        for (unsigned i = 0; i < am_conformance_count(); i++) {
            if (sel && !sel[i])
                continue;
            enum am_verdict v = cols[k].verdict[i];
            const char *verdict = v == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(v);
            const char *detail = v == AM_VERDICT_COUNT ? cols[k].fate
                                 : cols[k].detail[i]   ? cols[k].detail[i]
                                                       : "";
            if (format == FORMAT_CSV) {
                put_csv(cols[k].allocator->name, false);
                put_csv(am_conformance_name(i), false);
                put_csv(verdict, false);
                put_csv(detail, true);
                continue;
            }
            printf("%s\n  {\"allocator\": ", first ? "" : ",");
            put_json(cols[k].allocator->name);
            printf(", \"check\": ");
            put_json(am_conformance_name(i));
            printf(", \"verdict\": ");
            put_json(verdict);
            printf(", \"detail\": ");
            put_json(detail);
            printf("}");
            first = false;
        }
    }
    if (format == FORMAT_JSON)
        printf("\n]}\n");
}

/* sel[i] for each check matching one of the comma-separated shell patterns.
 * False, after saying why, when a pattern matches no check. */
static bool select_checks(const char *patterns, bool *sel)
{
    unsigned n = am_conformance_count();
    for (unsigned i = 0; i < n; i++)
        sel[i] = false;
    char *copy = strdup(patterns), *save = NULL;
    bool ok = copy != NULL;
    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
        bool any = false;
        for (unsigned i = 0; i < n; i++)
            if (fnmatch(p, am_conformance_name(i), 0) == 0)
                sel[i] = any = true;
        if (!any) {
            fprintf(stderr,
                    "allocmark check: -c/--checks: '%s' matches no check; the checks are:", p);
            for (unsigned i = 0; i < n; i++)
                fprintf(stderr, " %s", am_conformance_name(i));
            fprintf(stderr, "\n");
        }
        ok = ok && any;
    }
    free(copy);
    return ok;
}

/* Run the conformance suite of one allocator in a child and parse its lines. */
static void run_column(struct column *col, const char *self, const char *patterns)
{
    char *argv[] = {(char *)self, AM_CONFORMANCE_CHILD, (char *)col->allocator->name,
                    (char *)patterns, NULL};
    struct am_child child;
    unsigned n = am_conformance_count();
    for (unsigned i = 0; i < n; i++)
        col->verdict[i] = AM_VERDICT_COUNT;
    /* Each check has its own time limit inside the child; this is a backstop. */
    struct am_spawn_options opt = am_spawn_defaults();
    opt.timeout_s = 30.0 * 60;
    int err = am_spawn(col->allocator, argv, &opt, &child);
    if (err) {
        snprintf(col->fate, sizeof col->fate, "could not start: %s", strerror(err));
        return;
    }
    char *save = NULL;
    for (char *line = strtok_r(child.output, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[64], verdict[32];
        int used = 0;
        if (sscanf(line, "check %63s %31s %n", name, verdict, &used) < 2)
            continue;
        for (unsigned i = 0; i < n; i++) {
            if (strcmp(name, am_conformance_name(i)) == 0) {
                col->verdict[i] = am_verdict_parse(verdict);
                col->detail[i] = strdup(line + used);
            }
        }
    }
    if (!(child.exited && (child.exit_code == 0 || child.exit_code == 1)))
        am_child_describe(&child, col->fate, sizeof col->fate);
    free(child.output);
}

static int column_width(const struct am_allocator *a)
{
    int len = (int)strlen(a->name);
    return len > 10 ? len : 10;
}

/* Put each in-house backend's drop-in right after it. */
static int add_dropins(const struct am_allocator **chosen, int n)
{
    const struct am_allocator *with[MAX_ALLOCATORS];
    int m = 0;
    for (int k = 0; k < n && m < MAX_ALLOCATORS; k++) {
        with[m++] = chosen[k];
        const struct am_allocator *d = am_dropin_allocator(chosen[k]);
        if (d && m < MAX_ALLOCATORS)
            with[m++] = d;
    }
    memcpy(chosen, with, (size_t)m * sizeof *chosen);
    return m;
}

/* A backend and its drop-in must give every check the same verdict: the
 * drop-in is the backend behind the same front end. Each difference is one
 * more failure, printed. */
static int compare_dropins(const struct column *cols, int n, unsigned checks)
{
    int differences = 0;
    for (int k = 0; k + 1 < n; k++) {
        if (cols[k + 1].allocator != am_dropin_allocator(cols[k].allocator))
            continue;
        for (unsigned i = 0; i < checks; i++) {
            enum am_verdict a = cols[k].verdict[i], b = cols[k + 1].verdict[i];
            if (a == b)
                continue;
            printf("%s / %s: the harness path says %s, the drop-in %s\n", cols[k].allocator->name,
                   am_conformance_name(i), a == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(a),
                   b == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(b));
            differences++;
        }
    }
    return differences;
}

/* Run the hardening cases of one allocator in a child and parse its lines. */
static void run_hardening(struct column *col, const char *self)
{
    char *argv[] = {(char *)self, AM_HARDENING_CHILD, (char *)col->allocator->name, NULL};
    struct am_child child;
    unsigned n = am_hardening_count();
    for (unsigned i = 0; i < n; i++)
        col->outcome[i] = AM_OUTCOME_COUNT;
    struct am_spawn_options opt = am_spawn_defaults();
    opt.timeout_s = 10.0 * 60;
    int err = am_spawn(col->allocator, argv, &opt, &child);
    if (err) {
        snprintf(col->hardening_fate, sizeof col->hardening_fate, "could not start: %s",
                 strerror(err));
        return;
    }
    char *save = NULL;
    for (char *line = strtok_r(child.output, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[64], outcome[32];
        int used = 0;
        if (sscanf(line, "hardening %63s %31s %n", name, outcome, &used) < 2)
            continue;
        for (unsigned i = 0; i < n; i++) {
            if (strcmp(name, am_hardening_name(i)) != 0)
                continue;
            col->outcome[i] = am_outcome_parse(outcome);
            const char *colon = strchr(outcome, ':');
            snprintf(col->signal[i], sizeof col->signal[i], "%s", colon ? colon + 1 : "");
            col->about[i] = strdup(line + used);
        }
    }
    if (!(child.exited && child.exit_code == 0))
        am_child_describe(&child, col->hardening_fate, sizeof col->hardening_fate);
    free(child.output);
}

/* A cell of the hardening matrix: the outcome, or for a crash the signal. */
static const char *outcome_cell(const struct column *col, unsigned i)
{
    if (col->outcome[i] == AM_OUTCOME_COUNT)
        return "MISSING";
    if (col->outcome[i] == AM_OUTCOME_CRASH && col->signal[i][0])
        return col->signal[i];
    return am_outcome_name(col->outcome[i]);
}

static void print_hardening(const struct column *cols, int n, bool one_per_line)
{
    unsigned cases = am_hardening_count();
    if (one_per_line) {
        for (int k = 0; k < n; k++) {
            printf("hardening of %s%s%s\n", cols[k].allocator->name,
                   cols[k].hardening_fate[0] ? ": " : "", cols[k].hardening_fate);
            for (unsigned i = 0; i < cases; i++)
                printf("  %-28s %-16s %s\n", am_hardening_name(i), outcome_cell(&cols[k], i),
                       cols[k].about[i] ? cols[k].about[i] : "");
        }
        return;
    }
    printf("%-28s", "hardening");
    for (int k = 0; k < n; k++)
        printf(" %-10s", cols[k].allocator->name);
    printf("\n");
    for (unsigned i = 0; i < cases; i++) {
        printf("%-28s", am_hardening_name(i));
        for (int k = 0; k < n; k++)
            printf(" %-10s", outcome_cell(&cols[k], i));
        printf("\n");
    }
    printf("(detected: stopped with a message; abort: SIGABRT without one; warned: a message,\n"
           " then carried on; silent: carried on and nothing broke; corrupted: carried on, then\n"
           " a block handed out twice, overlapping another or outside the heap; SIG...: killed\n"
           " by that signal; hang: still running after 10 s. Informational: no verdict.)\n");
    for (int k = 0; k < n; k++) {
        if (cols[k].hardening_fate[0])
            printf("%s: the hardening cases' process ended early: %s\n", cols[k].allocator->name,
                   cols[k].hardening_fate);
        for (unsigned i = 0; i < cases; i++) {
            enum am_outcome o = cols[k].outcome[i];
            const char *about = cols[k].about[i];
            /* A crash's detail starts with its signal: worth a line only
             * when the allocator said something too. */
            if (about && about[0] && o != AM_OUTCOME_SILENT &&
                !(o == AM_OUTCOME_CRASH && !strchr(about, ';')))
                printf("%s / %s: %s: %s\n", cols[k].allocator->name, am_hardening_name(i),
                       outcome_cell(&cols[k], i), about);
        }
    }
}

/* One CSV field, quoted when it needs to be. */
static void csv_field(FILE *f, const char *s, const char *end)
{
    if (!strpbrk(s, ",\"\n")) {
        fprintf(f, "%s%s", s, end);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fprintf(f, "\"%s", end);
}

/* The hardening matrix as CSV (results/README.md, hardening.csv); 0 or -1
 * after saying why. */
static int write_hardening_csv(const char *path, const struct column *cols, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "allocmark check: --hardening-csv: cannot write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    fprintf(f, "allocator,case,outcome,signal,detail\n");
    for (int k = 0; k < n; k++)
        for (unsigned i = 0; i < am_hardening_count(); i++) {
            enum am_outcome o = cols[k].outcome[i];
            csv_field(f, cols[k].allocator->name, ",");
            csv_field(f, am_hardening_name(i), ",");
            csv_field(f, o == AM_OUTCOME_COUNT ? "missing" : am_outcome_name(o), ",");
            csv_field(f, cols[k].signal[i], ",");
            csv_field(f, cols[k].about[i] ? cols[k].about[i] : cols[k].hardening_fate, "\n");
        }
    if (fclose(f) != 0) {
        fprintf(stderr, "allocmark check: --hardening-csv: cannot write %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

enum { OPT_HARDENING = 256, OPT_NO_HARDENING, OPT_HARDENING_CSV, OPT_FORMAT };

int am_check_main(int argc, char **argv)
{
    const struct am_allocator *chosen[MAX_ALLOCATORS];
    int n = -1;
    bool verbose = false, preload = true, hardening_flag = false, no_hardening = false;
    const char *patterns = NULL, *csv = NULL;
    enum format format = FORMAT_TEXT;
    bool sel[MAX_CHECKS];
    /* A sanitizer's runtime (ASan's, TSan's) must be the process's malloc: a
     * drop-in cannot be. */
    if (SANITIZED)
        preload = false;
    static const struct option options[] = {
        {"allocators", required_argument, NULL, 'a'},
        {"checks", required_argument, NULL, 'c'},
        {"no-preload", no_argument, NULL, 'P'},
        {"hardening", no_argument, NULL, OPT_HARDENING},
        {"no-hardening", no_argument, NULL, OPT_NO_HARDENING},
        {"hardening-csv", required_argument, NULL, OPT_HARDENING_CSV},
        {"verbose", no_argument, NULL, 'v'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "a:c:vh", options, NULL)) != -1) {
        switch (c) {
        case 'a':
            n = am_arglist_allocators("allocmark check", "-a/--allocators", optarg, chosen,
                                      MAX_ALLOCATORS);
            if (n < 0)
                return AM_EXIT_USAGE;
            break;
        case 'v':
            verbose = true;
            break;
        case 'P':
            preload = false;
            break;
        case 'c':
            if (!select_checks(optarg, sel))
                return AM_EXIT_USAGE;
            patterns = optarg;
            break;
        case OPT_HARDENING:
            hardening_flag = true;
            break;
        case OPT_NO_HARDENING:
            no_hardening = true;
            break;
        case OPT_HARDENING_CSV:
            csv = optarg;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "text") || !strcmp(optarg, "csv") || !strcmp(optarg, "json")) {
                format = optarg[0] == 't'   ? FORMAT_TEXT
                         : optarg[0] == 'c' ? FORMAT_CSV
                                            : FORMAT_JSON;
                break;
            }
            fprintf(stderr,
                    "allocmark check: --format: unknown format '%s' (valid: text, csv, json)\n",
                    optarg);
            return AM_EXIT_USAGE;
        case 'h':
            am_check_usage(stdout);
            return 0;
        default:
            am_check_usage(stderr);
            return AM_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "allocmark check: unexpected argument '%s'\n", argv[optind]);
        return AM_EXIT_USAGE;
    }
    if (hardening_flag && no_hardening) {
        fprintf(stderr, "allocmark check: --hardening and --no-hardening contradict each other\n");
        return AM_EXIT_USAGE;
    }
    if (n < 0)
        n = (int)am_arglist_default_allocators(chosen, MAX_ALLOCATORS);
    bool single = n == 1;
    bool conformance = !hardening_flag || patterns;
    bool hardening = hardening_flag || (!no_hardening && !patterns);
    if (csv && !hardening) {
        fprintf(stderr, "allocmark check: --hardening-csv needs the hardening matrix, which "
                        "--no-hardening or -c leaves out (add --hardening)\n");
        return AM_EXIT_USAGE;
    }
    /* The hardening matrix: the allocators as named, without drop-ins. */
    static struct column hcols[MAX_ALLOCATORS];
    int hn = n;
    for (int k = 0; k < hn; k++)
        hcols[k].allocator = chosen[k];
    if (preload)
        n = add_dropins(chosen, n);

    static struct column cols[MAX_ALLOCATORS];
    unsigned checks = am_conformance_count();
    int failures = 0;
    for (int k = 0; k < n; k++) {
        cols[k].allocator = chosen[k];
        if (!conformance)
            continue;
        run_column(&cols[k], argv[0], patterns);
        for (unsigned i = 0; i < checks; i++)
            if ((!patterns || sel[i]) && (cols[k].verdict[i] == AM_VERDICT_COUNT ||
                                          am_verdict_is_failure(cols[k].verdict[i])))
                failures++;
    }
    if (conformance)
        failures += compare_dropins(cols, n, checks);

    if (format != FORMAT_TEXT) {
        /* Records on standard output, nothing else: the hardening matrix
         * only to its CSV file. */
        if (!conformance) {
            fprintf(stderr,
                    "allocmark check: --format %s is for the conformance matrix, which "
                    "--hardening alone leaves out\n",
                    format == FORMAT_CSV ? "csv" : "json");
            return AM_EXIT_USAGE;
        }
        print_records(format, cols, n, patterns ? sel : NULL, failures, argc, argv);
        if (csv && !SANITIZED) {
            for (int k = 0; k < hn; k++)
                run_hardening(&hcols[k], argv[0]);
            if (write_hardening_csv(csv, hcols, hn) != 0)
                return AM_EXIT_USAGE;
        }
        return failures ? 1 : 0;
    }
    if (!conformance) {
        /* the hardening matrix alone */
    } else if (single || verbose) {
        for (int k = 0; k < n; k++) {
            printf("conformance of %s%s%s\n", chosen[k]->name, cols[k].fate[0] ? ": " : "",
                   cols[k].fate);
            for (unsigned i = 0; i < checks; i++) {
                enum am_verdict v = cols[k].verdict[i];
                if (patterns && !sel[i])
                    continue;
                printf("  %-28s %-16s %s\n", am_conformance_name(i),
                       v == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(v),
                       cols[k].detail[i] ? cols[k].detail[i] : "");
            }
        }
    } else {
        printf("%-28s", "check");
        for (int k = 0; k < n; k++)
            printf(" %-*s", column_width(chosen[k]), cols[k].allocator->name);
        printf("\n");
        for (unsigned i = 0; i < checks; i++) {
            if (patterns && !sel[i])
                continue;
            printf("%-28s", am_conformance_name(i));
            for (int k = 0; k < n; k++) {
                enum am_verdict v = cols[k].verdict[i];
                printf(" %-*s", column_width(chosen[k]),
                       v == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(v));
            }
            printf("\n");
        }
        for (int k = 0; k < n; k++) {
            if (cols[k].fate[0])
                printf("%s: the suite's process ended early: %s\n", chosen[k]->name, cols[k].fate);
            for (unsigned i = 0; i < checks; i++) {
                enum am_verdict v = cols[k].verdict[i];
                if (v != AM_VERDICT_PASS && v != AM_VERDICT_COUNT && cols[k].detail[i] &&
                    cols[k].detail[i][0])
                    printf("%s / %s: %s: %s\n", chosen[k]->name, am_conformance_name(i),
                           am_verdict_name(v), cols[k].detail[i]);
            }
        }
    }
    if (conformance)
        printf("%d checks failed\n", failures);

    if (hardening && SANITIZED) {
        printf("%shardening matrix: skipped in a sanitizer build (the sanitizer's own reports "
               "would stand in for the allocator's)\n",
               conformance ? "\n" : "");
    } else if (hardening) {
        for (int k = 0; k < hn; k++)
            run_hardening(&hcols[k], argv[0]);
        if (conformance)
            printf("\n");
        print_hardening(hcols, hn, single || verbose);
        if (csv && write_hardening_csv(csv, hcols, hn) != 0)
            return AM_EXIT_USAGE;
    }
    return failures ? 1 : 0;
}

int am_conformance_child_main(int argc, char **argv)
{
    bool only[MAX_CHECKS];
    const bool *sel = NULL;
    if (argc == 3) { /* NAME PATTERNS */
        if (!select_checks(argv[2], only))
            return AM_EXIT_USAGE;
        sel = only;
        argc = 2;
    }
    const struct am_allocator *a = argc == 2 ? am_dropin_find(argv[1]) : NULL;
    if (!a)
        a = am_arglist_only_allocator(argc, argv);
    if (!a)
        return AM_EXIT_USAGE;
    return am_conformance_run(a, sel, stdout) ? 1 : 0;
}

int am_hardening_child_main(int argc, char **argv)
{
    const struct am_allocator *a = am_arglist_only_allocator(argc, argv);
    if (!a)
        return AM_EXIT_USAGE;
    am_hardening_run(a, stdout);
    return 0;
}
