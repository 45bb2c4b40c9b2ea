/*
 * check.c: `allocmark check`, the conformance matrix: each allocator's
 * conformance suite runs in a child process prepared for it (spawn.h), and
 * the verdicts come back as lines to gather into a matrix.
 */
#include "check.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arglist.h"
#include "cli.h"
#include "conformance.h"
#include "frontend.h"
#include "spawn.h"

void am_check_usage(FILE *to)
{
    fprintf(to,
            "  check [-a NAMES] [-v]    the conformance matrix: allocators across, checks down;\n"
            "                           with one allocator, one line per check (exit 1 on\n"
            "                           failure)\n"
            "    -a, --allocators NAMES   comma-separated allocator names (default: all but\n"
            "                             test doubles)\n"
            "    -v, --verbose            print each check's detail\n"
            "        --format FORMAT      text (the default: the matrix, or one line per\n"
            "                             check), csv or json: one record per allocator\n"
            "                             and check (allocator, check, verdict, detail),\n"
            "                             what `allocmark report --conformance` reads\n");
}

#define MAX_ALLOCATORS 64

struct column {
    const struct am_allocator *allocator;
    enum am_verdict verdict[64];
    char *detail[64];
    char fate[96]; /* how the child ended, when it did not finish */
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

/* Run the conformance suite of one allocator in a child and parse its lines. */
static void run_column(struct column *col, const char *self)
{
    char *argv[] = {(char *)self, AM_CONFORMANCE_CHILD, (char *)col->allocator->name, NULL};
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

int am_check_main(int argc, char **argv)
{
    const struct am_allocator *chosen[MAX_ALLOCATORS];
    int n = -1;
    bool verbose = false;
    enum format format = FORMAT_TEXT;
    static const struct option options[] = {
        {"allocators", required_argument, NULL, 'a'},
        {"verbose", no_argument, NULL, 'v'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "a:vhf:", options, NULL)) != -1) {
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
        case 'f':
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
    if (n < 0)
        n = (int)am_arglist_default_allocators(chosen, MAX_ALLOCATORS);

    static struct column cols[MAX_ALLOCATORS];
    unsigned checks = am_conformance_count();
    int failures = 0;
    for (int k = 0; k < n; k++) {
        cols[k].allocator = chosen[k];
        run_column(&cols[k], argv[0]);
        for (unsigned i = 0; i < checks; i++)
            if (cols[k].verdict[i] == AM_VERDICT_COUNT || am_verdict_is_failure(cols[k].verdict[i]))
                failures++;
    }

    if (format != FORMAT_TEXT) {
        /* One record per allocator and check; a check the suite's process
         * never reported is MISSING, with how the process ended. */
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
            for (unsigned i = 0; i < checks; i++) {
                enum am_verdict v = cols[k].verdict[i];
                const char *verdict = v == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(v);
                const char *detail = v == AM_VERDICT_COUNT ? cols[k].fate
                                     : cols[k].detail[i]   ? cols[k].detail[i]
                                                           : "";
                if (format == FORMAT_CSV) {
                    put_csv(chosen[k]->name, false);
                    put_csv(am_conformance_name(i), false);
                    put_csv(verdict, false);
                    put_csv(detail, true);
                    continue;
                }
                printf("%s\n  {\"allocator\": ", first ? "" : ",");
                put_json(chosen[k]->name);
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
        return failures ? 1 : 0;
    }

    if (n == 1 || verbose) {
        for (int k = 0; k < n; k++) {
            printf("conformance of %s%s%s\n", chosen[k]->name, cols[k].fate[0] ? ": " : "",
                   cols[k].fate);
            for (unsigned i = 0; i < checks; i++) {
                enum am_verdict v = cols[k].verdict[i];
                printf("  %-28s %-16s %s\n", am_conformance_name(i),
                       v == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(v),
                       cols[k].detail[i] ? cols[k].detail[i] : "");
            }
        }
    } else {
        printf("%-28s", "check");
        for (int k = 0; k < n; k++)
            printf(" %-10s", chosen[k]->name);
        printf("\n");
        for (unsigned i = 0; i < checks; i++) {
            printf("%-28s", am_conformance_name(i));
            for (int k = 0; k < n; k++) {
                enum am_verdict v = cols[k].verdict[i];
                printf(" %-10s", v == AM_VERDICT_COUNT ? "MISSING" : am_verdict_name(v));
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
    printf("%d checks failed\n", failures);
    return failures ? 1 : 0;
}

int am_conformance_child_main(int argc, char **argv)
{
    const struct am_allocator *a = am_arglist_only_allocator(argc, argv);
    if (!a)
        return AM_EXIT_USAGE;
    return am_conformance_run(a, stdout) ? 1 : 0;
}
