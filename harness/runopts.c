/*
 * runopts.c: the command line of `allocmark run`: its usage text and the
 * parser that turns it into a plan (plan.h), checked in full before anything
 * is written. The profile (workloads/profile.h) gives what no option sets.
 */
#include "plan.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "arglist.h"
#include "cli.h"
#include "schedule.h"

void am_run_usage(FILE *to)
{
    fprintf(to,
            "  run [OPTIONS]            run every (allocator, workload, threads, repetition)\n"
            "                           cell, each in its own process; results go to\n"
            "                           DIR/<YYYYmmdd-HHMMSS>[-LABEL]/ and DIR/latest\n"
            "    -a, --allocators NAMES   comma-separated (default: all but test doubles)\n"
            "    -w, --workloads NAMES    comma-separated (default: all, and the sample\n"
            "                             traces' replays; see `list`); trace:FILE\n"
            "                             replays a trace (allocmark record) with its own\n"
            "                             threads, trace:NAME a sample trace (build/traces/)\n"
            "    -t, --threads LIST       thread counts, comma-separated (default 1,2);\n"
            "                             one-thread workloads always run on 1 thread\n"
            "    -r, --reps N             repetitions of every cell (default: the profile's)\n"
            "    -p, --profile NAME       smoke, quick (default) or full: the workloads'\n"
            "                             sizes, the time budget and the repetitions\n"
            "    -o, --output DIR         results directory (default: results)\n"
            "    -l, --label TEXT         appended to the run's directory name\n"
            "                             ([A-Za-z0-9._-])\n"
            "        --budget SECONDS     a cell's measured phase stops after this long\n"
            "                             (smoke %g, quick %g, full %g); complete=0 says so\n"
            "        --timeout SECONDS    a cell's process is killed after this long and\n"
            "                             recorded as \"timeout\" (smoke %g, quick %g, full %g)\n"
            "        --mem-limit MIB      memory a cell may commit, 0 for no limit\n"
            "                             (default %lu)\n"
            "        --micro, --no-micro  after the cells, run allocmark-micro (Google\n"
            "                             Benchmark) for the same allocators into the run\n"
            "                             directory (default: on, but for smoke)\n"
            "        --order ORDER        interleaved (the default): repetition 1 of every\n"
            "                             cell in a shuffled order, then repetition 2, ...;\n"
            "                             sequential: each cell's repetitions back to back\n"
            "        --seed N             the shuffle's seed (default: from the clock;\n"
            "                             metadata.json records it)\n"
            "        --warmup N           run N more repetitions of every cell first and\n"
            "                             discard them (default 0)\n"
            "        --precision PCT      add repetitions to a cell until the 95%% interval\n"
            "                             of its median throughput is within +-PCT%% of the\n"
            "                             median (at least 6 repetitions), or --max-reps\n"
            "        --max-reps N         the cap for --precision (default %d)\n"
            "        --pin CPUS           run every cell's process on these CPUs only\n"
            "                             (e.g. 1 or 0-1 or 0,2); default: not pinned\n"
            "        --aa                 run every allocator twice, the second copy\n"
            "                             labelled NAME#2, interleaved like any other cell:\n"
            "                             `allocmark compare --aa RUN` then measures the\n"
            "                             noise floor (docs/statistics.md); each cell's\n"
            "                             process has AM_AA_COPY=1 or 2\n"
            "                             (program cells share the order, --warmup,\n"
            "                             --precision, judged on their throughput column,\n"
            "                             and --aa)\n"
            "        --paced              trace replays keep the recorded gaps between\n"
            "                             calls (default: as fast as possible)\n"
            "        --strict-order       trace replays keep the recorded order across\n"
            "                             threads exactly (default: each thread's own\n"
            "                             order and each block's), and check live bytes\n"
            "                             against the recording's after every event\n"
            "    -P, --program NAMES      built-in programs to run, comma-separated (see\n"
            "                             `list`; default with neither -w nor -P: all of\n"
            "                             them, but for smoke); each cell is (allocator,\n"
            "                             program, repetition), the program's malloc being\n"
            "                             the allocator's library as LD_PRELOAD\n"
            "        --programs FILE      the programs described in FILE (format:\n"
            "                             programs/README.md)\n"
            "        --no-programs        workloads only\n"
            "    -- CMD [ARG...]          run this command as the program of every cell\n"
            "        --check CMD          ...judged by a shell command that exits 0 when\n"
            "                             right ($AM_OUTPUT names its standard output)\n"
            "        --expect-output FILE ...judged by its standard output equal to FILE\n"
            "                             (default: equal to glibc's in the same run)\n"
            "                             With -P, --programs or --, only the workloads\n"
            "                             named with -w run.\n"
            "    Exit status: 0 every cell ok or skipped, 1 some cells failed (crash,\n"
            "    timeout, oom, corrupt, wrong, error; the run goes on) or the results\n"
            "    could not be written, 2 bad command line (nothing written), 130\n"
            "    interrupted (finished cells kept, metadata says interrupted).\n",
            am_profile_limits(AM_PROFILE_SMOKE)->budget_s,
            am_profile_limits(AM_PROFILE_QUICK)->budget_s,
            am_profile_limits(AM_PROFILE_FULL)->budget_s,
            am_profile_limits(AM_PROFILE_SMOKE)->timeout_s,
            am_profile_limits(AM_PROFILE_QUICK)->timeout_s,
            am_profile_limits(AM_PROFILE_FULL)->timeout_s, AM_PLAN_DEFAULT_MEM_LIMIT_MIB,
            AM_PLAN_DEFAULT_MAX_REPS);
}

/* ---------------------------------------------------------------------------
 * The command line
 * ------------------------------------------------------------------------ */

/* A whole decimal number in [min, max]. */
static bool parse_unsigned(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (!*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A finite number of seconds > 0. */
static bool parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
        return false;
    *out = v;
    return true;
}

static int parse_threads(const char *arg, struct am_plan *plan)
{
    char copy[1024], *save = NULL;
    snprintf(copy, sizeof copy, "%s", arg);
    plan->n_threads = 0;
    for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        unsigned long v;
        if (!parse_unsigned(word, 1, AM_MAX_THREADS, &v) ||
            plan->n_threads == AM_PLAN_MAX_THREAD_COUNTS) {
            fprintf(stderr,
                    "allocmark run: -t/--threads: '%s' is not a thread count (a whole number "
                    "from 1 to %u, at most %d of them)\n",
                    word, AM_MAX_THREADS, AM_PLAN_MAX_THREAD_COUNTS);
            return -1;
        }
        bool seen = false;
        for (unsigned k = 0; k < plan->n_threads; k++)
            seen |= plan->threads[k] == v;
        if (!seen)
            plan->threads[plan->n_threads++] = (unsigned)v;
    }
    if (plan->n_threads == 0) {
        fprintf(stderr, "allocmark run: -t/--threads needs at least one thread count\n");
        return -1;
    }
    return 0;
}

static bool label_is_valid(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *s))
            return false;
    return true;
}

enum {
    OPT_BUDGET = 256,
    OPT_TIMEOUT,
    OPT_MEM_LIMIT,
    OPT_MICRO,
    OPT_NO_MICRO,
    OPT_ORDER,
    OPT_SEED,
    OPT_WARMUP,
    OPT_PRECISION,
    OPT_MAX_REPS,
    OPT_PIN,
    OPT_AA,
    OPT_PACED,
    OPT_STRICT,
    OPT_PROGRAMS,
    OPT_NO_PROGRAMS,
    OPT_CHECK,
    OPT_EXPECT
};

/* "0-1,3" into a CPU set; every CPU must be one this process may use. */
static bool parse_cpus(const char *arg, cpu_set_t *set)
{
    cpu_set_t allowed;
    CPU_ZERO(set);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return false;
    char copy[256], *save = NULL;
    if (snprintf(copy, sizeof copy, "%s", arg) >= (int)sizeof copy)
        return false;
    for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        unsigned long lo, hi;
        char *dash = strchr(word, '-');
        if (dash)
            *dash = '\0';
        if (!parse_unsigned(word, 0, CPU_SETSIZE - 1, &lo) ||
            !parse_unsigned(dash ? dash + 1 : word, lo, CPU_SETSIZE - 1, &hi))
            return false;
        for (unsigned long c = lo; c <= hi; c++) {
            if (!CPU_ISSET(c, &allowed))
                return false;
            CPU_SET(c, set);
        }
    }
    return CPU_COUNT(set) > 0;
}

enum am_plan_parsed am_plan_parse(int argc, char **argv, struct am_plan *plan)
{
    static const struct option options[] = {
        {"allocators", required_argument, NULL, 'a'},
        {"workloads", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},
        {"reps", required_argument, NULL, 'r'},
        {"profile", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"label", required_argument, NULL, 'l'},
        {"budget", required_argument, NULL, OPT_BUDGET},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"mem-limit", required_argument, NULL, OPT_MEM_LIMIT},
        {"micro", no_argument, NULL, OPT_MICRO},
        {"no-micro", no_argument, NULL, OPT_NO_MICRO},
        {"order", required_argument, NULL, OPT_ORDER},
        {"seed", required_argument, NULL, OPT_SEED},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"max-reps", required_argument, NULL, OPT_MAX_REPS},
        {"pin", required_argument, NULL, OPT_PIN},
        {"aa", no_argument, NULL, OPT_AA},
        {"paced", no_argument, NULL, OPT_PACED},
        {"strict-order", no_argument, NULL, OPT_STRICT},
        {"program", required_argument, NULL, 'P'},
        {"programs", required_argument, NULL, OPT_PROGRAMS},
        {"no-programs", no_argument, NULL, OPT_NO_PROGRAMS},
        {"check", required_argument, NULL, OPT_CHECK},
        {"expect-output", required_argument, NULL, OPT_EXPECT},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    memset(plan, 0, sizeof *plan);
    plan->profile = AM_PROFILE_QUICK;
    plan->root = "results";
    plan->mem_limit_mib = AM_PLAN_DEFAULT_MEM_LIMIT_MIB;
    const char *reps = NULL;
    double budget = 0, timeout = 0;
    bool seed_given = false;
    int micro = -1; /* -1: the profile decides */
    unsigned long v;
    int c, n;
    const char *program_names = NULL, *check = NULL, *expect = NULL;
    const char *program_files[16];
    unsigned n_program_files = 0;
    bool no_programs = false;
    /* Everything after `--` is the user's command: getopt must not see it. */
    char **cmd = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            cmd = argv + i + 1;
            argc = i;
            break;
        }
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:w:t:r:p:o:l:P:h", options, NULL)) != -1) {
        switch (c) {
        case 'a':
            n = am_arglist_allocators("allocmark run", "-a/--allocators", optarg, plan->allocator,
                                      AM_PLAN_MAX_ALLOCATORS);
            if (n < 0)
                return AM_PLAN_BAD;
            plan->n_allocators = (unsigned)n;
            break;
        case 'w':
            n = am_arglist_workloads("allocmark run", "-w/--workloads", optarg, plan->workload,
                                     AM_PLAN_MAX_WORKLOADS);
            if (n < 0)
                return AM_PLAN_BAD;
            plan->n_workloads = (unsigned)n;
            break;
        case 't':
            if (parse_threads(optarg, plan))
                return AM_PLAN_BAD;
            break;
        case 'r':
            reps = optarg;
            if (!parse_unsigned(optarg, 1, AM_PLAN_MAX_REPS, &v)) {
                fprintf(stderr,
                        "allocmark run: -r/--reps: '%s' is not a number of repetitions (a whole "
                        "number from 1 to %d)\n",
                        optarg, AM_PLAN_MAX_REPS);
                return AM_PLAN_BAD;
            }
            plan->reps = (unsigned)v;
            break;
        case 'p':
            plan->profile = am_profile_parse(optarg);
            if (plan->profile == AM_PROFILE_COUNT) {
                fprintf(stderr,
                        "allocmark run: -p/--profile: unknown profile '%s' (valid: smoke, quick, "
                        "full)\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            break;
        case 'o':
            if (!*optarg) {
                fprintf(stderr, "allocmark run: -o/--output needs a directory\n");
                return AM_PLAN_BAD;
            }
            plan->root = optarg;
            break;
        case 'l':
            if (!label_is_valid(optarg)) {
                fprintf(stderr,
                        "allocmark run: -l/--label: '%s' is not a label (1 to 64 of "
                        "A-Z a-z 0-9 . _ -)\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            plan->label = optarg;
            break;
        case OPT_BUDGET:
            if (!parse_seconds(optarg, &budget)) {
                fprintf(stderr, "allocmark run: --budget: '%s' is not a number of seconds > 0\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            break;
        case OPT_TIMEOUT:
            if (!parse_seconds(optarg, &timeout)) {
                fprintf(stderr, "allocmark run: --timeout: '%s' is not a number of seconds > 0\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            break;
        case OPT_MEM_LIMIT:
            if (!parse_unsigned(optarg, 0, 1ul << 30, &v)) {
                fprintf(stderr,
                        "allocmark run: --mem-limit: '%s' is not a number of MiB (0 for no "
                        "limit)\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            plan->mem_limit_mib = v;
            break;
        case OPT_MICRO:
        case OPT_NO_MICRO:
            micro = c == OPT_MICRO ? 1 : 0;
            break;
        case OPT_ORDER:
            plan->order = am_order_parse(optarg);
            if (plan->order == AM_ORDER_COUNT) {
                fprintf(stderr,
                        "allocmark run: --order: unknown order '%s' (valid: interleaved, "
                        "sequential)\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            break;
        case OPT_SEED:
            if (!parse_unsigned(optarg, 0, (unsigned long)INT64_MAX, &v)) {
                fprintf(stderr, "allocmark run: --seed: '%s' is not a whole number >= 0\n", optarg);
                return AM_PLAN_BAD;
            }
            plan->seed = v;
            seed_given = true;
            break;
        case OPT_WARMUP:
            if (!parse_unsigned(optarg, 0, AM_PLAN_MAX_WARMUP, &v)) {
                fprintf(stderr,
                        "allocmark run: --warmup: '%s' is not a number of repetitions (0 to "
                        "%d)\n",
                        optarg, AM_PLAN_MAX_WARMUP);
                return AM_PLAN_BAD;
            }
            plan->warmup = (unsigned)v;
            break;
        case OPT_PRECISION: {
            char *end;
            errno = 0;
            double pct = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(pct) || pct <= 0 || pct > 100) {
                fprintf(stderr,
                        "allocmark run: --precision: '%s' is not a percentage (above 0, at "
                        "most 100)\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            plan->precision_pct = pct;
            break;
        }
        case OPT_MAX_REPS:
            if (!parse_unsigned(optarg, 1, AM_PLAN_MAX_REPS, &v)) {
                fprintf(stderr,
                        "allocmark run: --max-reps: '%s' is not a number of repetitions (1 to "
                        "%d)\n",
                        optarg, AM_PLAN_MAX_REPS);
                return AM_PLAN_BAD;
            }
            plan->max_reps = (unsigned)v;
            break;
        case OPT_AA:
            plan->aa = true;
            break;
        case OPT_PIN:
            if (!parse_cpus(optarg, &plan->pin)) {
                fprintf(stderr,
                        "allocmark run: --pin: '%s' is not a list of CPUs this process may "
                        "use (e.g. 1, 0-1, 0,2)\n",
                        optarg);
                return AM_PLAN_BAD;
            }
            plan->pinned = true;
            snprintf(plan->pin_text, sizeof plan->pin_text, "%s", optarg);
            break;
        case OPT_PACED:
        case OPT_STRICT:
            /* For the replay workload (workloads/trace.c), in every cell's
             * process: the environment is inherited. */
            setenv(c == OPT_PACED ? "AM_TRACE_PACED" : "AM_TRACE_STRICT", "1", 1);
            break;
        case 'P':
            if (program_names) {
                fprintf(stderr, "allocmark run: -P/--program: give the names once, "
                                "comma-separated\n");
                return AM_PLAN_BAD;
            }
            program_names = optarg;
            break;
        case OPT_PROGRAMS:
            if (n_program_files == sizeof program_files / sizeof program_files[0]) {
                fprintf(stderr, "allocmark run: --programs: at most 16 files\n");
                return AM_PLAN_BAD;
            }
            program_files[n_program_files++] = optarg;
            break;
        case OPT_NO_PROGRAMS:
            no_programs = true;
            break;
        case OPT_CHECK:
            check = optarg;
            break;
        case OPT_EXPECT:
            expect = optarg;
            break;
        case 'h':
            return AM_PLAN_HELP;
        case ':':
            fprintf(stderr, "allocmark run: %s needs a value\n", argv[optind - 1]);
            return AM_PLAN_BAD;
        default:
            fprintf(stderr, "allocmark run: unknown option '%s' (see allocmark --help)\n",
                    argv[optind - 1]);
            return AM_PLAN_BAD;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "allocmark run: unexpected argument '%s'\n", argv[optind]);
        return AM_PLAN_BAD;
    }
    if (no_programs && (program_names || n_program_files || cmd)) {
        fprintf(stderr, "allocmark run: --no-programs contradicts -P, --programs and --\n");
        return AM_PLAN_BAD;
    }
    bool programs_named = program_names || n_program_files || cmd;
    /* Neither workloads nor programs named: every workload, and (but for
     * smoke, which is for meson test) every built-in program. */
    if (!programs_named && !no_programs && plan->n_workloads == 0 &&
        plan->profile != AM_PROFILE_SMOKE)
        program_names = "all";
    if (am_plan_programs(plan, program_names, program_files, n_program_files, cmd, check, expect))
        return AM_PLAN_BAD;
    const struct am_profile_limits *p = am_profile_limits(plan->profile);
    if (!reps)
        plan->reps = p->reps;
    plan->budget_s = budget > 0 ? budget : p->budget_s;
    plan->timeout_s = timeout > 0 ? timeout : p->timeout_s;
    plan->timeout_given = timeout > 0;
    plan->micro = micro < 0 ? p->micro_min_time_s > 0 : micro == 1;
    if (plan->max_reps && !plan->precision_pct) {
        fprintf(stderr, "allocmark run: --max-reps is the cap of --precision: give both\n");
        return AM_PLAN_BAD;
    }
    if (plan->precision_pct && !plan->max_reps)
        plan->max_reps =
            AM_PLAN_DEFAULT_MAX_REPS > plan->reps ? AM_PLAN_DEFAULT_MAX_REPS : plan->reps;
    if (plan->max_reps && plan->max_reps < plan->reps) {
        fprintf(stderr, "allocmark run: --max-reps %u is below the %u repetitions planned (-r)\n",
                plan->max_reps, plan->reps);
        return AM_PLAN_BAD;
    }
    if (!plan->max_reps)
        plan->max_reps = plan->reps;
    if (!seed_given)
        plan->seed = am_schedule_random_seed();
    if (plan->n_allocators == 0)
        plan->n_allocators = am_arglist_default_allocators(plan->allocator, AM_PLAN_MAX_ALLOCATORS);
    if (plan->n_workloads == 0 && !programs_named) {
        for (size_t i = 0; i < am_workload_count && plan->n_workloads < AM_PLAN_MAX_WORKLOADS; i++)
            plan->workload[plan->n_workloads++] = am_workloads[i];
        /* And the replays of the sample traces set-up recorded. */
        plan->n_workloads += am_trace_samples(plan->workload + plan->n_workloads,
                                              AM_PLAN_MAX_WORKLOADS - plan->n_workloads);
    }
    if (plan->n_threads == 0) {
        plan->threads[0] = 1;
        plan->threads[1] = 2;
        plan->n_threads = 2;
    }
    plan->total = 0;
    for (unsigned w = 0; w < plan->n_workloads; w++)
        plan->total += (long)(plan->workload[w]->threaded ? plan->n_threads : 1);
    plan->total *= (long)plan->n_allocators * plan->reps * (plan->aa ? 2 : 1);
    plan->total += (long)plan->programs.n * plan->n_allocators * plan->reps * (plan->aa ? 2 : 1);
    return AM_PLAN_OK;
}
