/*
 * run.c: `allocmark run` (see run.h). The command line is checked in full
 * before anything is written; then each cell runs in a child of its own, and
 * its outcome, whatever it is, becomes one row of cells.csv. SIGINT and
 * SIGTERM kill the current cell's process group, keep every finished row,
 * mark the run interrupted in metadata.json and exit 130.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell.h"
#include "cli.h"
#include "frontend.h"
#include "measure.h"
#include "arglist.h"
#include "progcell.h"
#include "program.h"
#include "progress.h"
#include "results.h"
#include "spawn.h"
#include "workload.h"

/* A program cell's process tree has its RSS sampled this often. */
#define PROGRAM_SAMPLE_INTERVAL_S 0.01

/* What a cell may commit on top of what its process had at the start. */
#define DEFAULT_MEM_LIMIT_MIB 4096ul

#define MAX_ALLOCATORS    64
#define MAX_WORKLOADS     64
#define MAX_THREAD_COUNTS 16
#define MAX_REPS          1000

struct plan {
    const struct am_allocator *allocator[MAX_ALLOCATORS];
    unsigned n_allocators;
    const struct am_workload *workload[MAX_WORKLOADS];
    unsigned n_workloads;
    unsigned threads[MAX_THREAD_COUNTS];
    unsigned n_threads;
    unsigned reps;
    enum am_profile profile;
    double budget_s, timeout_s;
    unsigned long mem_limit_mib;
    bool micro; /* run allocmark-micro into the run directory afterwards */
    const char *root, *label;
    long total;
    /* Programs (program.h): the built-in suite's chosen ones, a --programs
     * file's, or the command after `--`. */
    struct am_programs programs;
    bool timeout_given;
};

void am_run_usage(FILE *to)
{
    fprintf(to,
            "  run [OPTIONS]            run every (allocator, workload, threads, repetition)\n"
            "                           cell, each in its own process; results go to\n"
            "                           DIR/<YYYYmmdd-HHMMSS>[-LABEL]/ and DIR/latest\n"
            "    -a, --allocators NAMES   comma-separated (default: all but test doubles)\n"
            "    -w, --workloads NAMES    comma-separated (default: all; see `list`)\n"
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
            am_profile_limits(AM_PROFILE_FULL)->timeout_s, DEFAULT_MEM_LIMIT_MIB);
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

static int parse_threads(const char *arg, struct plan *plan)
{
    char copy[1024], *save = NULL;
    snprintf(copy, sizeof copy, "%s", arg);
    plan->n_threads = 0;
    for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        unsigned long v;
        if (!parse_unsigned(word, 1, AM_MAX_THREADS, &v) || plan->n_threads == MAX_THREAD_COUNTS) {
            fprintf(stderr,
                    "allocmark run: -t/--threads: '%s' is not a thread count (a whole number "
                    "from 1 to %u, at most %d of them)\n",
                    word, AM_MAX_THREADS, MAX_THREAD_COUNTS);
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
    OPT_PROGRAMS,
    OPT_NO_PROGRAMS,
    OPT_CHECK,
    OPT_EXPECT
};

#define MAX_PROGRAMS 256

/* The programs of the command line: -P names from the built-in suite,
 * --programs files, the command after --. Returns -1 after saying why. */
static int plan_programs(struct plan *plan, const char *names, const char *const *files,
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

/* Fill plan from the command line; LINE_BAD after saying why. */
static enum parsed_line parse_command_line(int argc, char **argv, struct plan *plan)
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
    plan->mem_limit_mib = DEFAULT_MEM_LIMIT_MIB;
    const char *reps = NULL;
    double budget = 0, timeout = 0;
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
                                      MAX_ALLOCATORS);
            if (n < 0)
                return LINE_BAD;
            plan->n_allocators = (unsigned)n;
            break;
        case 'w':
            n = am_arglist_workloads("allocmark run", "-w/--workloads", optarg, plan->workload,
                                     MAX_WORKLOADS);
            if (n < 0)
                return LINE_BAD;
            plan->n_workloads = (unsigned)n;
            break;
        case 't':
            if (parse_threads(optarg, plan))
                return LINE_BAD;
            break;
        case 'r':
            reps = optarg;
            if (!parse_unsigned(optarg, 1, MAX_REPS, &v)) {
                fprintf(stderr,
                        "allocmark run: -r/--reps: '%s' is not a number of repetitions (a whole "
                        "number from 1 to %d)\n",
                        optarg, MAX_REPS);
                return LINE_BAD;
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
                return LINE_BAD;
            }
            break;
        case 'o':
            if (!*optarg) {
                fprintf(stderr, "allocmark run: -o/--output needs a directory\n");
                return LINE_BAD;
            }
            plan->root = optarg;
            break;
        case 'l':
            if (!label_is_valid(optarg)) {
                fprintf(stderr,
                        "allocmark run: -l/--label: '%s' is not a label (1 to 64 of "
                        "A-Z a-z 0-9 . _ -)\n",
                        optarg);
                return LINE_BAD;
            }
            plan->label = optarg;
            break;
        case OPT_BUDGET:
            if (!parse_seconds(optarg, &budget)) {
                fprintf(stderr, "allocmark run: --budget: '%s' is not a number of seconds > 0\n",
                        optarg);
                return LINE_BAD;
            }
            break;
        case OPT_TIMEOUT:
            if (!parse_seconds(optarg, &timeout)) {
                fprintf(stderr, "allocmark run: --timeout: '%s' is not a number of seconds > 0\n",
                        optarg);
                return LINE_BAD;
            }
            break;
        case OPT_MEM_LIMIT:
            if (!parse_unsigned(optarg, 0, 1ul << 30, &v)) {
                fprintf(stderr,
                        "allocmark run: --mem-limit: '%s' is not a number of MiB (0 for no "
                        "limit)\n",
                        optarg);
                return LINE_BAD;
            }
            plan->mem_limit_mib = v;
            break;
        case OPT_MICRO:
        case OPT_NO_MICRO:
            micro = c == OPT_MICRO ? 1 : 0;
            break;
        case 'P':
            if (program_names) {
                fprintf(stderr, "allocmark run: -P/--program: give the names once, "
                                "comma-separated\n");
                return LINE_BAD;
            }
            program_names = optarg;
            break;
        case OPT_PROGRAMS:
            if (n_program_files == sizeof program_files / sizeof program_files[0]) {
                fprintf(stderr, "allocmark run: --programs: at most 16 files\n");
                return LINE_BAD;
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
            return LINE_HELP;
        case ':':
            fprintf(stderr, "allocmark run: %s needs a value\n", argv[optind - 1]);
            return LINE_BAD;
        default:
            fprintf(stderr, "allocmark run: unknown option '%s' (see allocmark --help)\n",
                    argv[optind - 1]);
            return LINE_BAD;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "allocmark run: unexpected argument '%s'\n", argv[optind]);
        return LINE_BAD;
    }
    if (no_programs && (program_names || n_program_files || cmd)) {
        fprintf(stderr, "allocmark run: --no-programs contradicts -P, --programs and --\n");
        return LINE_BAD;
    }
    bool programs_named = program_names || n_program_files || cmd;
    /* Neither workloads nor programs named: every workload, and (but for
     * smoke, which is for meson test) every built-in program. */
    if (!programs_named && !no_programs && plan->n_workloads == 0 &&
        plan->profile != AM_PROFILE_SMOKE)
        program_names = "all";
    if (plan_programs(plan, program_names, program_files, n_program_files, cmd, check, expect))
        return LINE_BAD;
    const struct am_profile_limits *p = am_profile_limits(plan->profile);
    if (!reps)
        plan->reps = p->reps;
    plan->budget_s = budget > 0 ? budget : p->budget_s;
    plan->timeout_s = timeout > 0 ? timeout : p->timeout_s;
    plan->timeout_given = timeout > 0;
    plan->micro = micro < 0 ? p->micro_min_time_s > 0 : micro == 1;
    if (plan->n_allocators == 0)
        plan->n_allocators = am_arglist_default_allocators(plan->allocator, MAX_ALLOCATORS);
    if (plan->n_workloads == 0 && !programs_named)
        for (size_t i = 0; i < am_workload_count && plan->n_workloads < MAX_WORKLOADS; i++)
            plan->workload[plan->n_workloads++] = am_workloads[i];
    if (plan->n_threads == 0) {
        plan->threads[0] = 1;
        plan->threads[1] = 2;
        plan->n_threads = 2;
    }
    plan->total = 0;
    for (unsigned w = 0; w < plan->n_workloads; w++)
        plan->total += (long)(plan->workload[w]->threaded ? plan->n_threads : 1);
    plan->total += (long)plan->programs.n;
    plan->total *= (long)plan->n_allocators * plan->reps;
    return LINE_OK;
}

/* ---------------------------------------------------------------------------
 * Interruption: the handler only writes to a pipe that am_spawn watches.
 * ------------------------------------------------------------------------ */

static volatile sig_atomic_t interrupted;
static int cancel_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    interrupted = 1;
    if (cancel_pipe[1] >= 0) {
        ssize_t ignored = write(cancel_pipe[1], "x", 1);
        (void)ignored;
    }
    errno = saved;
}

static int catch_signals(void)
{
    if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return errno;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return 0;
}

/* ---------------------------------------------------------------------------
 * The plan as JSON, with what the references' libraries say they are
 * ------------------------------------------------------------------------ */

/* Ask each reference's library for its version, in a child where it is the
 * process's malloc. */
static void describe_references(struct am_json *j, const char *self)
{
    am_json_open(j, "reference_libraries", '{');
    for (size_t i = 0; i < am_registry_count && !interrupted; i++) {
        const struct am_allocator *a = am_registry[i];
        if (!(a->caps & AM_CAP_PROCESS_MALLOC))
            continue;
        char *argv[] = {(char *)self, AM_INFO_CHILD, (char *)a->name, NULL};
        /* A probe that fails (a sanitizer build cannot preload a library)
         * just leaves the version out; what it says is noise here. */
        int quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
        struct am_spawn_options opt = {
            .timeout_s = 10, .stderr_fd = quiet, .cancel_fd = cancel_pipe[0]};
        struct am_child child;
        am_json_open(j, a->name, '{');
        am_json_string(j, "preload", a->preload);
        int err = am_spawn(a, argv, &opt, &child);
        if (quiet >= 0)
            close(quiet);
        if (err == 0) {
            char *save = NULL;
            for (char *line = strtok_r(child.output, "\n", &save); line;
                 line = strtok_r(NULL, "\n", &save)) {
                char *value = strchr(line, ' ');
                if (!value)
                    continue;
                *value++ = '\0';
                am_json_string(j, line, value);
            }
            free(child.output);
        }
        am_json_close(j, '}');
    }
    am_json_close(j, '}');
}

static char *plan_json(const struct plan *plan, const char *self, double clock_hz)
{
    struct am_json j = {0};
    am_json_open(&j, NULL, '{');
    am_json_int(&j, "reps", plan->reps);
    am_json_open(&j, "threads", '[');
    for (unsigned i = 0; i < plan->n_threads; i++)
        am_json_int(&j, NULL, plan->threads[i]);
    am_json_close(&j, ']');
    am_json_double(&j, "budget_s", plan->budget_s);
    am_json_double(&j, "timeout_s", plan->timeout_s);
    am_json_int(&j, "mem_limit_mib", (long long)plan->mem_limit_mib);
    am_json_string(&j, "order", "repetition, then workload, then threads, then allocator");
    am_json_open(&j, "clock", '{');
    am_json_string(&j, "source", am_clock_source());
    am_json_double(&j, "hz", clock_hz);
    am_json_close(&j, '}');
    am_json_open(&j, "allocators", '[');
    for (unsigned i = 0; i < plan->n_allocators; i++) {
        const struct am_allocator *a = plan->allocator[i];
        char caps[160];
        am_json_open(&j, NULL, '{');
        am_json_string(&j, "name", a->name);
        am_json_string(&j, "summary", a->summary);
        am_json_string(&j, "capabilities", am_caps_describe(a->caps, caps, sizeof caps));
        am_json_close(&j, '}');
    }
    am_json_close(&j, ']');
    am_json_open(&j, "workloads", '[');
    for (unsigned i = 0; i < plan->n_workloads; i++) {
        const struct am_workload *w = plan->workload[i];
        am_json_open(&j, NULL, '{');
        am_json_string(&j, "name", w->name);
        am_json_string(&j, "summary", w->summary);
        am_json_bool(&j, "threaded", w->threaded);
        am_json_open(&j, "params", '{');
        for (unsigned k = 0; k < am_workload_param_count(w); k++) {
            am_json_int(&j, w->params[k].name, w->params[k].value[plan->profile]);
        }
        am_json_close(&j, '}');
        am_json_close(&j, '}');
    }
    am_json_close(&j, ']');
    am_json_open(&j, "programs", '[');
    for (size_t i = 0; i < plan->programs.n; i++) {
        const struct am_program *p = plan->programs.p[i];
        am_json_open(&j, NULL, '{');
        am_json_string(&j, "name", p->name);
        am_json_string(&j, "origin", p->origin);
        am_json_string(&j, "summary", p->summary);
        am_json_string(&j, "stresses", p->stresses);
        if (p->argv) {
            am_json_open(&j, "argv", '[');
            for (char **a = p->argv; *a; a++)
                am_json_string(&j, NULL, *a);
            am_json_close(&j, ']');
        } else {
            am_json_string(&j, "command", p->command);
        }
        am_json_string(&j, "server", p->server);
        am_json_string(&j, "generate", p->generate);
        am_json_int(&j, "scale", p->scale[plan->profile]);
        static const char *const checks[] = {"glibc", "command", "expect", "none"};
        am_json_string(&j, "check", checks[p->check]);
        am_json_string(&j, "check_arg", p->check_arg);
        am_json_string(&j, "merit", p->merit_arg);
        am_json_string(&j, "merit_unit", p->merit_unit);
        am_json_close(&j, '}');
    }
    am_json_close(&j, ']');
    am_json_double(&j, "program_sample_interval_s", PROGRAM_SAMPLE_INTERVAL_S);
    am_json_double(&j, "program_timeout_s",
                   plan->timeout_given ? plan->timeout_s
                                       : am_progrun_profile_timeout(plan->profile));
    am_json_string(&j, "program_order",
                   "repetition, then program, then allocator with glibc first");
    describe_references(&j, self);
    am_json_close(&j, '}');
    if (j.failed) {
        am_json_free(&j);
        return NULL;
    }
    /* The members without the outer braces. */
    j.text[j.len - 1] = '\0';
    memmove(j.text, j.text + 1, j.len - 1);
    return j.text;
}

/* ---------------------------------------------------------------------------
 * One cell
 * ------------------------------------------------------------------------ */

struct cell {
    const struct am_allocator *allocator;
    const struct am_workload *workload;
    unsigned threads, rep;
};

enum cell_outcome { CELL_OK, CELL_FAILED, CELL_CANCELLED, CELL_NOT_WRITTEN, CELL_SKIPPED };

/* The columns a failed cell keeps; every other field is left empty. */
static bool kept_when_failed(enum am_column c)
{
    return c == AM_COL_allocator || c == AM_COL_label || c == AM_COL_workload ||
           c == AM_COL_threads || c == AM_COL_rep || c == AM_COL_status || c == AM_COL_reason ||
           c == AM_COL_wall_s || c == AM_COL_kind;
}

/* The last non-empty line the cell wrote to cells.log since `from`. */
static void last_log_line(int fd, off_t from, char *out, size_t len)
{
    out[0] = '\0';
    off_t end = lseek(fd, 0, SEEK_END);
    if (end <= from)
        return;
    char buf[2048];
    off_t at = end - from > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : from;
    ssize_t n = pread(fd, buf, (size_t)(end - at), at);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    char *line = strrchr(buf, '\n');
    snprintf(out, len, "%.*s", (int)len - 1, line ? line + 1 : buf);
}

struct parsed {
    const char *v[AM_COL_COUNT];
    char *series[AM_SERIES_CAPACITY + 2];
    unsigned n_series;
    bool ended;
};

/* Read the child's "key value" lines (changing the output in place). */
static void parse_output(char *output, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    char *save = NULL;
    for (char *line = strtok_r(output, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *value = strchr(line, ' ');
        if (value)
            *value++ = '\0';
        else
            value = line + strlen(line);
        if (strcmp(line, "end") == 0) {
            p->ended = true;
        } else if (strcmp(line, "series") == 0) {
            if (p->n_series < sizeof p->series / sizeof p->series[0]) {
                for (char *c = value; *c; c++)
                    if (*c == ' ')
                        *c = ',';
                p->series[p->n_series++] = value;
            }
        } else {
            enum am_column c = am_column_find(line);
            if (c != AM_COL_COUNT)
                p->v[c] = value;
        }
    }
}

static enum cell_outcome run_cell(const struct plan *plan, const struct cell *cell,
                                  const char *self, double clock_hz, struct am_results *res,
                                  struct am_progress *progress)
{
    const struct am_allocator *a = cell->allocator;
    char desc[160];
    snprintf(desc, sizeof desc, "%s %s t=%u rep %u/%u", a->name, cell->workload->name,
             cell->threads, cell->rep, plan->reps);
    am_progress_start(progress, desc);

    /* Whatever the cell's process says on stderr goes to cells.log, under a
     * heading that is taken back if it says nothing. */
    char heading[200];
    int heading_len = snprintf(heading, sizeof heading, "=== %s\n", desc);
    off_t before = lseek(res->log_fd, 0, SEEK_END);
    ssize_t ignored = write(res->log_fd, heading, (size_t)heading_len);
    (void)ignored;
    off_t after_heading = lseek(res->log_fd, 0, SEEK_END);

    struct am_cell_spec spec = {
        .allocator = a->name,
        .workload = cell->workload->name,
        .threads = cell->threads,
        .profile = am_profile_name(plan->profile),
        .budget_s = plan->budget_s,
        .clock_hz = clock_hz,
        .mem_limit_mib = plan->mem_limit_mib,
    };
    char store[4][32], *argv[AM_CELL_ARGV_MAX];
    am_cell_argv(&spec, self, store, argv);
    struct am_spawn_options opt = {
        .timeout_s = plan->timeout_s, .stderr_fd = res->log_fd, .cancel_fd = cancel_pipe[0]};
    struct am_child child;
    int err = am_spawn(a, argv, &opt, &child);

    char stderr_line[200];
    last_log_line(res->log_fd, after_heading, stderr_line, sizeof stderr_line);
    if (lseek(res->log_fd, 0, SEEK_END) == after_heading && ftruncate(res->log_fd, before) != 0)
        before = after_heading; /* the heading stays: harmless */
    if (!err && child.cancelled) {
        free(child.output);
        return CELL_CANCELLED;
    }

    struct parsed out;
    parse_output(err ? (char[]){""} : child.output, &out);
    struct am_row row = {{0}};
    for (int c = 0; c < AM_COL_COUNT; c++)
        row.v[c] = out.v[c];

    /* The columns only the parent knows. */
    char threads[16], rep[16], wall[32], reason[400], label[128];
    snprintf(threads, sizeof threads, "%u", cell->threads);
    snprintf(rep, sizeof rep, "%u", cell->rep);
    snprintf(wall, sizeof wall, "%.3f", err ? 0.0 : child.wall_s);
    row.v[AM_COL_allocator] = a->name;
    row.v[AM_COL_workload] = cell->workload->name;
    row.v[AM_COL_threads] = threads;
    row.v[AM_COL_rep] = rep;
    row.v[AM_COL_wall_s] = wall;
    row.v[AM_COL_kind] = "workload";
    if (!row.v[AM_COL_label]) {
        /* The child died before saying; the front end's rule, applied here. */
        struct am_heap h = {.impl = a,
                            .locked = cell->threads > 1 && !(a->caps & AM_CAP_THREAD_SAFE)};
        row.v[AM_COL_label] = am_heap_label(&h, label, sizeof label);
    }

    enum am_status status;
    const char *tail_sep = stderr_line[0] ? ": " : "";
    char fate[96];
    if (err) {
        status = AM_STATUS_ERROR;
        snprintf(reason, sizeof reason, "cannot start the cell's process: %s", strerror(err));
    } else if (child.timed_out) {
        status = AM_STATUS_TIMEOUT;
        snprintf(reason, sizeof reason, "no result within the %g s time limit", plan->timeout_s);
    } else if (!child.exited) {
        status = AM_STATUS_CRASH;
        snprintf(reason, sizeof reason, "%s%s%s", am_child_describe(&child, fate, sizeof fate),
                 tail_sep, stderr_line);
    } else if (!out.ended || !out.v[AM_COL_status]) {
        status = AM_STATUS_ERROR;
        snprintf(reason, sizeof reason, "%s without a complete result%s%s",
                 am_child_describe(&child, fate, sizeof fate), tail_sep, stderr_line);
    } else {
        status = am_status_parse(out.v[AM_COL_status]);
        snprintf(reason, sizeof reason, "%s", out.v[AM_COL_reason] ? out.v[AM_COL_reason] : "");
        if (status == AM_STATUS_COUNT || status == AM_STATUS_CRASH || status == AM_STATUS_TIMEOUT ||
            status == AM_STATUS_WRONG || status == AM_STATUS_SKIPPED) {
            snprintf(reason, sizeof reason, "the cell reported status '%s'", out.v[AM_COL_status]);
            status = AM_STATUS_ERROR;
        }
    }
    row.v[AM_COL_status] = am_status_name(status);
    row.v[AM_COL_reason] = reason[0] ? reason : NULL;

    char peak_rss[32], user[32], sys[32], faults[32], fragmentation[32];
    if (status == AM_STATUS_OK) {
        unsigned long long rss = (unsigned long long)child.usage.ru_maxrss * 1024;
        snprintf(peak_rss, sizeof peak_rss, "%llu", rss);
        snprintf(user, sizeof user, "%.6f",
                 child.usage.ru_utime.tv_sec + child.usage.ru_utime.tv_usec * 1e-6);
        snprintf(sys, sizeof sys, "%.6f",
                 child.usage.ru_stime.tv_sec + child.usage.ru_stime.tv_usec * 1e-6);
        snprintf(faults, sizeof faults, "%ld", child.usage.ru_minflt);
        row.v[AM_COL_peak_rss_bytes] = peak_rss;
        row.v[AM_COL_user_s] = user;
        row.v[AM_COL_sys_s] = sys;
        row.v[AM_COL_minor_faults] = faults;
        row.v[AM_COL_throughput] = row.v[AM_COL_ops_per_sec];
        row.v[AM_COL_throughput_unit] = row.v[AM_COL_ops_per_sec] ? "ops/s" : NULL;
        double live =
            out.v[AM_COL_peak_live_bytes] ? strtod(out.v[AM_COL_peak_live_bytes], NULL) : 0;
        if (live > 0) {
            snprintf(fragmentation, sizeof fragmentation, "%.4f", (double)rss / live);
            row.v[AM_COL_fragmentation] = fragmentation;
        }
    } else {
        for (int c = 0; c < AM_COL_COUNT; c++)
            if (!kept_when_failed((enum am_column)c))
                row.v[c] = NULL;
    }

    /* The series first: a cell's row in cells.csv says its series is whole,
     * and only a child that finished its report has a whole one. */
    int werr = 0;
    for (unsigned i = 0; out.ended && i < out.n_series && !werr; i++)
        werr = am_results_series(res, &row, out.series[i]);
    if (!werr)
        werr = am_results_row(res, &row);
    if (werr) {
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof msg, "allocmark run: cannot write to %s: %s", res->dir,
                 strerror(werr));
        am_progress_note(progress, msg);
        if (!err)
            free(child.output);
        return CELL_NOT_WRITTEN;
    }

    char outcome[480];
    if (status == AM_STATUS_OK)
        snprintf(outcome, sizeof outcome, "ok, %.3g Mops/s%s (%.2f s)",
                 row.v[AM_COL_ops_per_sec] ? strtod(row.v[AM_COL_ops_per_sec], NULL) / 1e6 : 0.0,
                 row.v[AM_COL_complete] && strcmp(row.v[AM_COL_complete], "0") == 0
                     ? ", budget reached"
                     : "",
                 child.wall_s);
    else
        snprintf(outcome, sizeof outcome, "%s: %s", am_status_name(status), reason);
    if (!err)
        free(child.output); /* row's fields point into it until here */
    am_progress_finish(progress, status == AM_STATUS_OK, outcome);
    return status == AM_STATUS_OK ? CELL_OK : CELL_FAILED;
}

/* ---------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------ */

/* ---------------------------------------------------------------------------
 * Microbenchmarks: allocmark-micro after the cells, into the run directory
 * ------------------------------------------------------------------------ */

#ifndef AM_MICRO_PATH
#define AM_MICRO_PATH "allocmark-micro"
#endif

/* Run allocmark-micro (bench/micro.cc) for the plan's allocators: it starts a
 * child per allocator itself (a reference's with its LD_PRELOAD) and writes
 * micro-<allocator>.json into dir; its console output goes to dir/micro.log.
 * Returns 0, or -1 with a message when it could not run or reported failure;
 * the cells already written are untouched either way. */
static int run_micro(const struct plan *plan, const char *dir)
{
    const char *path = getenv("AM_MICRO");
    if (!path)
        path = AM_MICRO_PATH;
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "allocmark run: microbenchmarks skipped: %s: %s (AM_MICRO names it)\n",
                path, strerror(errno));
        return -1;
    }
    char allocators[4096] = "--allocators=";
    for (unsigned k = 0; k < plan->n_allocators; k++) {
        size_t used = strlen(allocators);
        snprintf(allocators + used, sizeof allocators - used, "%s%s", k ? "," : "",
                 plan->allocator[k]->name);
    }
    double min_time = am_profile_limits(plan->profile)->micro_min_time_s;
    char out[PATH_MAX + 8], log[PATH_MAX + 16], min_time_arg[64], reps_arg[64];
    snprintf(out, sizeof out, "--out=%s", dir);
    snprintf(log, sizeof log, "%s/micro.log", dir);
    snprintf(min_time_arg, sizeof min_time_arg, "--benchmark_min_time=%g",
             min_time > 0 ? min_time : 0.01);
    snprintf(reps_arg, sizeof reps_arg, "--benchmark_repetitions=%u", plan->reps);
    char *argv[] = {(char *)path, allocators, out, min_time_arg, reps_arg, NULL};

    printf("allocmark run: microbenchmarks (allocmark-micro, %u repetition%s) -> %s\n", plan->reps,
           plan->reps == 1 ? "" : "s", log);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "allocmark run: cannot start %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(126);
        execv(path, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "allocmark run: allocmark-micro %s; see %s\n",
            WIFEXITED(status) ? "reported failed benchmarks" : "was killed", log);
    return -1;
}

/* ---------------------------------------------------------------------------
 * Programs: one repetition of every (program, allocator) cell
 * ------------------------------------------------------------------------ */

/* glibc runs first in each repetition: its output is what the others' is
 * checked against, and its time bounds theirs. Returns true to stop. */
static bool run_programs(const struct plan *plan, struct am_progrun *progrun,
                         struct am_progstate *state, unsigned rep, struct am_results *res,
                         struct am_progress *progress, long counts[5])
{
    const struct am_allocator *order[MAX_ALLOCATORS];
    unsigned n = 0;
    for (unsigned k = 0; k < plan->n_allocators; k++)
        if (strcmp(plan->allocator[k]->name, "glibc") == 0)
            order[n++] = plan->allocator[k];
    for (unsigned k = 0; k < plan->n_allocators; k++)
        if (strcmp(plan->allocator[k]->name, "glibc") != 0)
            order[n++] = plan->allocator[k];
    for (size_t i = 0; i < plan->programs.n; i++) {
        for (unsigned k = 0; k < n; k++) {
            if (interrupted)
                return true;
            enum am_progcell_outcome o = am_progcell_run(progrun, plan->programs.p[i], &state[i],
                                                         order[k], rep, res, progress);
            switch (o) {
            case AM_PROGCELL_OK:
                counts[CELL_OK]++;
                break;
            case AM_PROGCELL_FAILED:
                counts[CELL_FAILED]++;
                break;
            case AM_PROGCELL_SKIPPED:
                counts[CELL_SKIPPED]++;
                break;
            case AM_PROGCELL_CANCELLED:
                counts[CELL_CANCELLED]++;
                return true;
            case AM_PROGCELL_NOT_WRITTEN:
                counts[CELL_NOT_WRITTEN]++;
                return true;
            }
        }
    }
    return false;
}

int am_run_main(int argc, char **argv)
{
    /* argv is main's: argv[0] the program, argv[1] "run". */
    struct plan plan;
    switch (parse_command_line(argc - 1, argv + 1, &plan)) {
    case LINE_OK:
        break;
    case LINE_HELP:
        printf("usage: allocmark run [OPTIONS]\n\n");
        am_run_usage(stdout);
        return AM_EXIT_OK;
    case LINE_BAD:
        return AM_EXIT_USAGE;
    }
    const char *self = argv[0];
    if (catch_signals() != 0) {
        fprintf(stderr, "allocmark run: cannot set up signal handling: %s\n", strerror(errno));
        return AM_EXIT_FAILED;
    }

    /* One calibration for every cell, so that all share one tick rate. */
    am_clock_init(0);
    double clock_hz = am_clock_calibrate(0.1);
    char *plan_members = plan_json(&plan, self, clock_hz);
    if (interrupted)
        return AM_EXIT_INTERRUPTED; /* nothing written yet */

    struct am_run_info info = {
        .argv = argv,
        .argc = argc,
        .profile = am_profile_name(plan.profile),
        .plan_json = plan_members,
        .cells_total = plan.total,
    };
    struct am_results res;
    char why[PATH_MAX + 128];
    if (am_results_create(&res, plan.root, plan.label, &info, why, sizeof why) != 0) {
        fprintf(stderr, "allocmark run: %s\n", why);
        free(plan_members);
        return AM_EXIT_FAILED;
    }
    if (why[0])
        fprintf(stderr, "allocmark run: warning: %s\n", why);
    printf("allocmark run: %ld cells (%s profile, %u repetition%s) -> %s\n", plan.total,
           info.profile, plan.reps, plan.reps == 1 ? "" : "s", res.dir);
    fflush(stdout);

    struct am_progrun progrun = {.profile = plan.profile,
                                 .reps = plan.reps,
                                 .timeout_s = plan.timeout_given ? plan.timeout_s : 0,
                                 .mem_limit_mib = plan.mem_limit_mib,
                                 .interval_s = PROGRAM_SAMPLE_INTERVAL_S,
                                 .cancel_fd = cancel_pipe[0]};
    struct am_progstate *progstate = calloc(plan.programs.n + 1, sizeof *progstate);
    int perr = progstate ? am_progrun_init(&progrun) : ENOMEM;
    if (perr) {
        fprintf(stderr, "allocmark run: cannot make a scratch directory for the programs: %s\n",
                strerror(perr));
        free(progstate);
        am_results_close(&res);
        free(plan_members);
        return AM_EXIT_FAILED;
    }
    struct am_progress progress;
    am_progress_init(&progress, stderr, plan.total);
    long counts[5] = {0};
    bool stop = false;
    for (unsigned rep = 1; rep <= plan.reps && !stop; rep++) {
        for (unsigned w = 0; w < plan.n_workloads && !stop; w++) {
            const struct am_workload *wl = plan.workload[w];
            unsigned n_threads = wl->threaded ? plan.n_threads : 1;
            for (unsigned t = 0; t < n_threads && !stop; t++) {
                for (unsigned k = 0; k < plan.n_allocators && !stop; k++) {
                    if (interrupted) {
                        stop = true;
                        break;
                    }
                    struct cell cell = {plan.allocator[k], wl, wl->threaded ? plan.threads[t] : 1,
                                        rep};
                    enum cell_outcome o = run_cell(&plan, &cell, self, clock_hz, &res, &progress);
                    counts[o]++;
                    stop = o == CELL_CANCELLED || o == CELL_NOT_WRITTEN;
                }
            }
        }
        if (plan.programs.n && !stop)
            stop = run_programs(&plan, &progrun, progstate, rep, &res, &progress, counts);
    }
    am_progress_end(&progress);
    am_progrun_end(&progrun);
    free(progstate);
    if (plan.micro && !interrupted && !counts[CELL_CANCELLED] && !counts[CELL_NOT_WRITTEN])
        run_micro(&plan, res.dir);

    info.cells_done = counts[CELL_OK] + counts[CELL_FAILED] + counts[CELL_SKIPPED];
    info.cells_failed = counts[CELL_FAILED];
    info.finished = true;
    /* A signal after the last cell interrupted nothing. */
    info.interrupted = counts[CELL_CANCELLED] || (interrupted && info.cells_done < plan.total);
    int merr = am_results_metadata(&res, &info);
    am_results_close(&res);
    free(plan_members);
    if (merr)
        fprintf(stderr, "allocmark run: cannot complete metadata.json: %s\n", strerror(merr));

    double elapsed = am_progress_elapsed(&progress);
    long minutes = (long)elapsed / 60;
    printf("allocmark run: %s after %ld:%04.1f: %ld of %ld cells done, %ld failed, %ld skipped\n",
           info.interrupted ? "interrupted" : "finished", minutes, elapsed - 60.0 * (double)minutes,
           info.cells_done, plan.total, info.cells_failed, counts[CELL_SKIPPED]);
    printf("results: %s\n", res.dir);
    if (info.interrupted)
        return AM_EXIT_INTERRUPTED;
    if (counts[CELL_NOT_WRITTEN] || merr)
        return AM_EXIT_FAILED;
    return info.cells_failed ? AM_EXIT_FAILED : AM_EXIT_OK;
}
