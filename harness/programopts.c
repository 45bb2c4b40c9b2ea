/*
 * programopts.c: the programs of `allocmark run`'s command line (see
 * plan.h): -P names of the built-in suite, --programs files, and the user's
 * command after `--` with its --check or --expect-output, each checked
 * before anything runs (a command that does not exist is named, exit 2).
 */
#include "plan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROGRAMS 256

int am_plan_programs(struct am_plan *plan, const char *names, const char *const *files,
                     unsigned n_files, char **cmd, const char *check, const char *expect)
{
    char why[PATH_MAX + 512];
    if ((check || expect) && !cmd) {
        fprintf(stderr,
                "allocmark run: %s goes with a command after -- (allocmark run [OPTIONS] "
                "-- CMD [ARG...])\n",
                check ? "--check" : "--expect-output");
        return -1;
    }
    if (check && expect) {
        fprintf(stderr, "allocmark run: --check and --expect-output: one or the other\n");
        return -1;
    }
    if (names) {
        struct am_programs suite = {0};
        if (am_programs_load_dir(&suite, am_programs_dir(), why, sizeof why) != 0) {
            fprintf(stderr, "allocmark run: %s\n", why);
            am_programs_free(&suite);
            return -1;
        }
        bool all = strcmp(names, "all") == 0;
        char copy[4096], valid[4096] = "", *save = NULL;
        snprintf(copy, sizeof copy, "%s", names);
        for (size_t i = 0; i < suite.n; i++) {
            size_t used = strlen(valid);
            snprintf(valid + used, sizeof valid - used, "%s, ", suite.p[i]->name);
        }
        for (size_t i = 0; all && i < suite.n; i++) {
            am_programs_add(&plan->programs, suite.p[i]);
            suite.p[i] = NULL; /* moved */
        }
        for (char *w = all ? NULL : strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
            size_t i;
            for (i = 0; i < suite.n && (!suite.p[i] || strcmp(suite.p[i]->name, w) != 0); i++)
                ;
            if (i < suite.n) {
                am_programs_add(&plan->programs, suite.p[i]);
                suite.p[i] = NULL;
                continue;
            }
            if (am_programs_find(&plan->programs, w))
                continue; /* named twice */
            fprintf(stderr, "allocmark run: -P/--program: unknown program '%s' (valid: %sor all)\n",
                    w, valid);
            am_programs_free(&suite);
            return -1;
        }
        am_programs_free(&suite);
    }
    for (unsigned f = 0; f < n_files; f++) {
        if (am_programs_load_file(&plan->programs, files[f], why, sizeof why) != 0) {
            fprintf(stderr, "allocmark run: --programs: %s\n", why);
            return -1;
        }
    }
    if (cmd) {
        char found[PATH_MAX];
        if (!cmd[0]) {
            fprintf(stderr, "allocmark run: -- needs a command after it\n");
            return -1;
        }
        if (!am_program_find_executable(cmd[0], found, sizeof found)) {
            fprintf(stderr,
                    "allocmark run: -- %s: %s (give a path to an executable file, or the name "
                    "of one on PATH)\n",
                    cmd[0],
                    strchr(cmd[0], '/') && access(cmd[0], F_OK) == 0 ? "is not an executable file"
                                                                     : "no such program");
            return -1;
        }
        if (expect && access(expect, R_OK) != 0) {
            fprintf(stderr, "allocmark run: --expect-output: cannot read '%s': %s\n", expect,
                    strerror(errno));
            return -1;
        }
        struct am_program *p = am_program_from_argv(cmd, check, expect);
        if (!p || am_programs_add(&plan->programs, p) != 0) {
            fprintf(stderr, "allocmark run: out of memory\n");
            return -1;
        }
        if (am_programs_find(&plan->programs, p->name) != p) {
            fprintf(stderr, "allocmark run: two programs are named '%s'\n", p->name);
            return -1;
        }
    }
    if (plan->programs.n > MAX_PROGRAMS) {
        fprintf(stderr, "allocmark run: at most %d programs\n", MAX_PROGRAMS);
        return -1;
    }
    return 0;
}

enum parsed_line { LINE_OK, LINE_HELP, LINE_BAD };
