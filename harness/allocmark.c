/*
 * allocmark.c: the command line. Each sub-command is one function; work that
 * touches an allocator runs in a child process prepared for it (spawn.h), so
 * a reference is always the real malloc of the process that measures it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "frontend.h"
#include "memcore.h"
#include "spawn.h"

/* Exit status for bad command-line input. */
#define EXIT_USAGE 2

/* The hidden sub-command a child runs: the conformance checks of one
 * allocator, in a process whose malloc is already the right one. */
#define CONFORMANCE_CHILD "__conformance-child"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: allocmark COMMAND [OPTIONS]\n"
            "\n"
            "Commands:\n"
            "  list                     every registered allocator, its summary and "
            "capabilities\n"
            "  check [-a NAMES] [-v]    the conformance matrix: allocators across, checks "
            "down;\n"
            "                           with one allocator, one line per check (exit 1 on "
            "failure)\n"
            "  help                     this text\n"
            "\n"
            "Options:\n"
            "  -a, --allocators NAMES   comma-separated allocator names (default: all)\n"
            "  -v, --verbose            print each check's detail\n"
            "\n"
            "References (glibc, jemalloc, mimalloc, tcmalloc) run in child processes with\n"
            "their library as LD_PRELOAD, the way their users deploy them.\n");
}

static void print_allocator_names(FILE *to)
{
    fprintf(to, "valid allocators:");
    for (size_t i = 0; i < am_registry_count; i++)
        fprintf(to, " %s", am_registry[i]->name);
    fprintf(to, "\n");
}

/* Parse "a,b,c" into registry entries; on an unknown name, say which and list
 * the valid ones. Returns the count, or -1. */
static int parse_allocators(const char *arg, const struct am_allocator **out, int max)
{
    int n = 0;
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return -1;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const struct am_allocator *a = am_find_allocator(name);
        if (!a) {
            fprintf(stderr, "allocmark: unknown allocator '%s'\n", name);
            print_allocator_names(stderr);
            free(copy);
            return -1;
        }
        if (n == max) {
            fprintf(stderr, "allocmark: more than %d allocators given\n", max);
            free(copy);
            return -1;
        }
        out[n++] = a;
    }
    free(copy);
    if (n == 0)
        fprintf(stderr, "allocmark: --allocators needs at least one name\n");
    return n ? n : -1;
}

/* The default set: every allocator except test doubles. */
static int all_allocators(const struct am_allocator **out, int max)
{
    int n = 0;
    for (size_t i = 0; i < am_registry_count && n < max; i++)
        if (!(am_registry[i]->caps & AM_CAP_TEST_ONLY))
            out[n++] = am_registry[i];
    return n;
}

static int cmd_list(void)
{
    printf("%-12s %-60s %s\n", "allocator", "summary", "capabilities");
    for (size_t i = 0; i < am_registry_count; i++) {
        const struct am_allocator *a = am_registry[i];
        char caps[160];
        printf("%-12s %-60s %s\n", a->name, a->summary, am_caps_describe(a->caps, caps, sizeof caps));
    }
    char cores[512];
    am_mem_describe(cores, sizeof cores);
    printf("\nmemory cores: %s\n", cores);
    return 0;
}

#define MAX_ALLOCATORS 64

struct column {
    const struct am_allocator *allocator;
    enum am_verdict verdict[64];
    char *detail[64];
    char fate[96]; /* how the child ended, when it did not finish */
};

/* Run the conformance suite of one allocator in a child and parse its lines. */
static void run_column(struct column *col, const char *self)
{
    char *argv[] = {(char *)self, CONFORMANCE_CHILD, (char *)col->allocator->name, NULL};
    struct am_child child;
    unsigned n = am_conformance_count();
    for (unsigned i = 0; i < n; i++)
        col->verdict[i] = AM_VERDICT_COUNT;
    /* Each check has its own time limit inside the child; this is a backstop. */
    int err = am_spawn(col->allocator, argv, 30.0 * 60, &child);
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

static int cmd_check(int argc, char **argv)
{
    const struct am_allocator *chosen[MAX_ALLOCATORS];
    int n = -1;
    bool verbose = false;
    static const struct option options[] = {
        {"allocators", required_argument, NULL, 'a'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "a:vh", options, NULL)) != -1) {
        switch (c) {
        case 'a':
            n = parse_allocators(optarg, chosen, MAX_ALLOCATORS);
            if (n < 0)
                return EXIT_USAGE;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "allocmark check: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (n < 0)
        n = all_allocators(chosen, MAX_ALLOCATORS);

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

static int cmd_conformance_child(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "allocmark: %s takes one allocator name\n", CONFORMANCE_CHILD);
        return EXIT_USAGE;
    }
    const struct am_allocator *a = am_find_allocator(argv[1]);
    if (!a) {
        fprintf(stderr, "allocmark: unknown allocator '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    return am_conformance_run(a, stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "list"))
        return cmd_list();
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, CONFORMANCE_CHILD))
        return cmd_conformance_child(argc - 1, argv + 1);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "allocmark: unknown command '%s' (valid: list, check, help)\n", cmd);
    return EXIT_USAGE;
}
