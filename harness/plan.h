/*
 * plan.h: the plan of one `allocmark run`: which allocators, workloads,
 * thread counts and repetitions, under which profile and limits, and what
 * the references' libraries said they are. The command line fills it
 * (runopts.c); the run (run.c) follows it; metadata.json records it
 * (planjson.c).
 *
 * Layering: harness/probe.h, harness/program.h, workloads/ and allocators/.
 */
#ifndef AM_PLAN_H
#define AM_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "frontend.h"
#include "probe.h"
#include "program.h"
#include "workload.h"

#define AM_PLAN_MAX_ALLOCATORS    64
#define AM_PLAN_MAX_WORKLOADS     64
#define AM_PLAN_MAX_THREAD_COUNTS 16
#define AM_PLAN_MAX_REPS          1000
#define AM_PLAN_MAX_REFERENCES    16

/* What a cell may commit on top of what its process had at the start. */
#define AM_PLAN_DEFAULT_MEM_LIMIT_MIB 4096ul

struct am_plan {
    const struct am_allocator *allocator[AM_PLAN_MAX_ALLOCATORS];
    unsigned n_allocators;
    const struct am_workload *workload[AM_PLAN_MAX_WORKLOADS];
    unsigned n_workloads;
    unsigned threads[AM_PLAN_MAX_THREAD_COUNTS];
    unsigned n_threads;
    unsigned reps;
    enum am_profile profile;
    double budget_s, timeout_s;
    unsigned long mem_limit_mib;
    bool micro; /* run allocmark-micro into the run directory afterwards */
    const char *root, *label;
    long total; /* cells */
    /* Programs (program.h): the built-in suite's chosen ones, a --programs
     * file's, the command after `--`; a cell each per allocator and rep. */
    struct am_programs programs;
    bool timeout_given; /* --timeout: it bounds program cells too */
    /* Filled when the run starts. */
    double clock_hz;
    struct am_library_facts references[AM_PLAN_MAX_REFERENCES];
    unsigned n_references;
};

enum am_plan_parsed { AM_PLAN_OK, AM_PLAN_HELP, AM_PLAN_BAD };

/* Fill plan from `run`'s options (argv[0] is "run"); AM_PLAN_BAD after
 * saying why on stderr. */
enum am_plan_parsed am_plan_parse(int argc, char **argv, struct am_plan *plan);

/* Add the programs of the command line to the plan: -P names of the
 * built-in suite ("all" for every one), --programs files, the user's
 * command (cmd: the words after `--`, or NULL) with its --check or
 * --expect-output. Returns -1 after saying why on stderr. (programopts.c) */
int am_plan_programs(struct am_plan *plan, const char *names, const char *const *files,
                     unsigned n_files, char **cmd, const char *check, const char *expect);

/* A program cell's process tree has its RSS sampled this often. */
#define AM_PLAN_PROGRAM_SAMPLE_INTERVAL_S 0.01

/* The members the plan adds to metadata.json (reps, threads, budget_s,
 * timeout_s, mem_limit_mib, order, clock, allocators, workloads,
 * reference_libraries); ctx is the struct am_plan. */
void am_plan_json(struct am_json *j, const void *ctx);

#endif /* AM_PLAN_H */
