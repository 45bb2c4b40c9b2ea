/*
 * plan.h: the plan of one `allocmark run`: which allocators, workloads,
 * thread counts and repetitions, under which profile and limits, and what
 * the references' libraries said they are. The command line fills it
 * (runopts.c); the run (run.c) follows it; metadata.json records it
 * (planjson.c).
 *
 * Layering: harness/probe.h, harness/program.h, environment.h, schedule.h,
 * workloads/ and allocators/.
 */
#ifndef AM_PLAN_H
#define AM_PLAN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "environment.h"
#include "frontend.h"
#include "probe.h"
#include "program.h"
#include "schedule.h"
#include "workload.h"

#define AM_PLAN_MAX_ALLOCATORS    64
#define AM_PLAN_MAX_WORKLOADS     64
#define AM_PLAN_MAX_THREAD_COUNTS 16
#define AM_PLAN_MAX_REPS          1000
#define AM_PLAN_MAX_WARMUP        100
/* --precision without --max-reps: at most this many repetitions a cell. */
#define AM_PLAN_DEFAULT_MAX_REPS 30
#define AM_PLAN_MAX_REFERENCES   16

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
    /* How the repetitions are scheduled (schedule.h). */
    enum am_order order;
    uint64_t seed;
    unsigned warmup, max_reps; /* max_reps is reps without --precision */
    double precision_pct;      /* 0: the planned repetitions only */
    /* --aa: every allocator twice, the second labelled NAME#2. */
    bool aa;
    /* --pin: the CPUs every cell's process may run on. */
    bool pinned;
    cpu_set_t pin;
    char pin_text[128];
    /* Programs (program.h): the built-in suite's chosen ones, a --programs
     * file's, the command after `--`; a cell each per allocator and rep.
     * They run after the workload cells' schedule, in repetition order. */
    struct am_programs programs;
    bool timeout_given; /* --timeout: it bounds program cells too */
    /* Filled when the run starts (and the load average again at its end). */
    struct am_environment env;
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
 * timeout_s, mem_limit_mib, order, seed, warmup, aa, precision_pct and
 * max_reps, clock, allocators, workloads, reference_libraries, environment);
 * ctx is the struct am_plan. */
void am_plan_json(struct am_json *j, const void *ctx);

#endif /* AM_PLAN_H */
