/*
 * program.h: a real program as the subject of a cell, described as data. The
 * built-in suite is programs/<name>.program; `allocmark run --programs FILE`
 * reads the same format (documented in programs/README.md), and
 * `allocmark run -- CMD ARG...` makes the user's command a program of its
 * own. This file only parses, validates and expands descriptions; running
 * one is progcell.c's job.
 *
 * Layering: depends on the C library and on workloads/workload.h (the
 * profile names) only.
 */
#ifndef AM_PROGRAM_H
#define AM_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "workload.h"

/* What a cell's output is: what the check compares. */
enum am_output_source {
    AM_OUTPUT_STDOUT,  /* the command's standard output (the default) */
    AM_OUTPUT_FILE,    /* a file the command wrote (a path, placeholders allowed) */
    AM_OUTPUT_COMMAND, /* the standard output of a shell command run after the command
                        * (with a server: while the server still runs), on glibc */
};

/* How a cell's output is judged. */
enum am_check_kind {
    AM_CHECK_GLIBC,   /* its checksum equals glibc's first run of the same program in this run */
    AM_CHECK_COMMAND, /* a shell command exits 0; $AM_OUTPUT names the output file */
    AM_CHECK_EXPECT,  /* the output equals a file's bytes */
    AM_CHECK_NONE,    /* not judged (only the exit status counts) */
};

/* Where the program's own figure of merit comes from (its throughput). */
enum am_merit_kind {
    AM_MERIT_NONE,  /* throughput is 1 / wall time, in runs/s */
    AM_MERIT_CSV,   /* a column of the command's CSV standard output (header line first);
                     * several rows combine by their harmonic mean */
    AM_MERIT_REGEX, /* the first group of the last match of a POSIX ERE on standard output */
};

struct am_program {
    char *name; /* [A-Za-z0-9._-]+, the `workload` column of its rows */
    char *summary;
    char *stresses; /* what it stresses: threads, sizes, peak live memory */
    char *requires; /* executables it needs, space-separated (looked up on PATH) */
    char *packages; /* the Debian packages that provide them */
    char *generate; /* shell command making its input once per run, on glibc; or NULL */
    char *server;   /* shell command of a server started before the command; or NULL */
    char *command;  /* shell command (/bin/sh -c); NULL when argv is set */
    char **argv;    /* the user's command, run as it is (no shell) */
    long scale[AM_PROFILE_COUNT];
    enum am_output_source output;
    char *output_arg;
    enum am_check_kind check;
    char *check_arg;
    enum am_merit_kind merit;
    char *merit_arg;
    char *merit_unit;
    char *latency_p50, *latency_p99; /* CSV columns in ms (with a CSV merit), or NULL */
    char *origin;                    /* "FILE:LINE" where it was defined, or "command line" */
};

/* The values placeholders take: {input} {work} {programs} {scale} {port}.
 * Only these names in braces are replaced; any other brace stays. */
struct am_program_vars {
    const char *input;    /* the program's generated input directory */
    const char *work;     /* the cell's working directory (also its cwd) */
    const char *programs; /* the directory of the built-in suite and its scripts */
    long scale;
    int port; /* a free TCP port on 127.0.0.1 (servers) */
};

/* A list of programs. */
struct am_programs {
    struct am_program **p;
    size_t n, cap;
};

/* Append the programs of one file. Returns 0, or -1 after writing why (with
 * FILE:LINE and what is valid) to `why`. */
int am_programs_load_file(struct am_programs *list, const char *path, char *why, size_t why_len);
/* Every programs/<name>.program file of a directory, in name order. */
int am_programs_load_dir(struct am_programs *list, const char *dir, char *why, size_t why_len);
/* The user's command (argv[0] must exist and be executable: checked by the
 * caller) with an optional check command or expected-output file. */
struct am_program *am_program_from_argv(char *const argv[], const char *check_cmd,
                                        const char *expect_file);
void am_programs_free(struct am_programs *list);
struct am_program *am_programs_find(const struct am_programs *list, const char *name);
int am_programs_add(struct am_programs *list, struct am_program *p);

/* The directory of the built-in suite: $AM_PROGRAMS_DIR, else the source
 * tree's programs/ (compiled in). */
const char *am_programs_dir(void);

/* `text` with its placeholders replaced; malloc'd, NULL on ENOMEM. */
char *am_program_expand(const char *text, const struct am_program_vars *vars);

/* The first executable of p->requires not found (on PATH, or as a path), or
 * NULL when all are there. Its name goes into buf. */
const char *am_program_missing_tool(const struct am_program *p, char *buf, size_t len);
/* Whether `name` (a path, or a name looked up on PATH) is an executable
 * file; the full path goes into buf when it is. */
bool am_program_find_executable(const char *name, char *buf, size_t len);

/* What `allocmark list` prints about the programs. */
void am_programs_print(FILE *to, const struct am_programs *list);

#endif /* AM_PROGRAM_H */
