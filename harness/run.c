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
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cell.h"
#include "cli.h"
#include "environment.h"
#include "frontend.h"
#include "measure.h"
#include "arglist.h"
#include "progress.h"
#include "results.h"
#include "schedule.h"
#include "spawn.h"
#include "workload.h"

/* What a cell may commit on top of what its process had at the start. */
#define DEFAULT_MEM_LIMIT_MIB 4096ul

#define MAX_ALLOCATORS    64
#define MAX_WORKLOADS     64
#define MAX_THREAD_COUNTS 16
#define MAX_REPS          1000
#define MAX_WARMUP        100
/* --precision without --max-reps: at most this many repetitions a cell. */
#define DEFAULT_MAX_REPS 30

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
    /* How the repetitions are scheduled (schedule.h). */
    enum am_order order;
    uint64_t seed;
    unsigned warmup, max_reps;
    double precision_pct; /* 0: the planned repetitions only */
    /* --aa: every allocator twice, the second labelled NAME#2. */
    bool aa;
    /* --pin: the CPUs every cell's process may run on. */
    bool pinned;
    cpu_set_t pin;
    char pin_text[128];
    struct am_environment env;
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
            "    Exit status: 0 every cell ok, 1 some cells failed (crash, timeout, oom,\n"
            "    corrupt, error; the run goes on) or the results could not be written,\n"
            "    2 bad command line (nothing written), 130 interrupted (finished cells\n"
            "    kept, metadata says interrupted).\n",
            am_profile_limits(AM_PROFILE_SMOKE)->budget_s,
            am_profile_limits(AM_PROFILE_QUICK)->budget_s,
            am_profile_limits(AM_PROFILE_FULL)->budget_s,
            am_profile_limits(AM_PROFILE_SMOKE)->timeout_s,
            am_profile_limits(AM_PROFILE_QUICK)->timeout_s,
            am_profile_limits(AM_PROFILE_FULL)->timeout_s, DEFAULT_MEM_LIMIT_MIB, DEFAULT_MAX_REPS);
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
    OPT_ORDER,
    OPT_SEED,
    OPT_WARMUP,
    OPT_PRECISION,
    OPT_MAX_REPS,
    OPT_PIN,
    OPT_AA,
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
        {"order", required_argument, NULL, OPT_ORDER},
        {"seed", required_argument, NULL, OPT_SEED},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"max-reps", required_argument, NULL, OPT_MAX_REPS},
        {"pin", required_argument, NULL, OPT_PIN},
        {"aa", no_argument, NULL, OPT_AA},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0},
    };
    memset(plan, 0, sizeof *plan);
    plan->profile = AM_PROFILE_QUICK;
    plan->root = "results";
    plan->mem_limit_mib = DEFAULT_MEM_LIMIT_MIB;
    const char *reps = NULL;
    double budget = 0, timeout = 0;
    bool seed_given = false;
    int micro = -1; /* -1: the profile decides */
    unsigned long v;
    int c, n;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:w:t:r:p:o:l:h", options, NULL)) != -1) {
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
        case OPT_ORDER:
            plan->order = am_order_parse(optarg);
            if (plan->order == AM_ORDER_COUNT) {
                fprintf(stderr,
                        "allocmark run: --order: unknown order '%s' (valid: interleaved, "
                        "sequential)\n",
                        optarg);
                return LINE_BAD;
            }
            break;
        case OPT_SEED:
            if (!parse_unsigned(optarg, 0, (unsigned long)INT64_MAX, &v)) {
                fprintf(stderr, "allocmark run: --seed: '%s' is not a whole number >= 0\n", optarg);
                return LINE_BAD;
            }
            plan->seed = v;
            seed_given = true;
            break;
        case OPT_WARMUP:
            if (!parse_unsigned(optarg, 0, MAX_WARMUP, &v)) {
                fprintf(stderr,
                        "allocmark run: --warmup: '%s' is not a number of repetitions (0 to "
                        "%d)\n",
                        optarg, MAX_WARMUP);
                return LINE_BAD;
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
                return LINE_BAD;
            }
            plan->precision_pct = pct;
            break;
        }
        case OPT_MAX_REPS:
            if (!parse_unsigned(optarg, 1, MAX_REPS, &v)) {
                fprintf(stderr,
                        "allocmark run: --max-reps: '%s' is not a number of repetitions (1 to "
                        "%d)\n",
                        optarg, MAX_REPS);
                return LINE_BAD;
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
                return LINE_BAD;
            }
            plan->pinned = true;
            snprintf(plan->pin_text, sizeof plan->pin_text, "%s", optarg);
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
    const struct am_profile_limits *p = am_profile_limits(plan->profile);
    if (!reps)
        plan->reps = p->reps;
    plan->budget_s = budget > 0 ? budget : p->budget_s;
    plan->timeout_s = timeout > 0 ? timeout : p->timeout_s;
    plan->micro = micro < 0 ? p->micro_min_time_s > 0 : micro == 1;
    if (plan->max_reps && !plan->precision_pct) {
        fprintf(stderr, "allocmark run: --max-reps is the cap of --precision: give both\n");
        return LINE_BAD;
    }
    if (plan->precision_pct && !plan->max_reps)
        plan->max_reps = DEFAULT_MAX_REPS > plan->reps ? DEFAULT_MAX_REPS : plan->reps;
    if (plan->max_reps && plan->max_reps < plan->reps) {
        fprintf(stderr, "allocmark run: --max-reps %u is below the %u repetitions planned (-r)\n",
                plan->max_reps, plan->reps);
        return LINE_BAD;
    }
    if (!plan->max_reps)
        plan->max_reps = plan->reps;
    if (!seed_given)
        plan->seed = am_schedule_random_seed();
    if (plan->n_allocators == 0)
        plan->n_allocators = am_arglist_default_allocators(plan->allocator, MAX_ALLOCATORS);
    if (plan->n_workloads == 0)
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
    plan->total *= (long)plan->n_allocators * plan->reps * (plan->aa ? 2 : 1);
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
    am_json_string(&j, "order", am_order_name(plan->order));
    am_json_int(&j, "seed", (long long)plan->seed);
    am_json_int(&j, "warmup", plan->warmup);
    am_json_bool(&j, "aa", plan->aa);
    if (plan->precision_pct > 0) {
        am_json_double(&j, "precision_pct", plan->precision_pct);
        am_json_int(&j, "max_reps", plan->max_reps);
    }
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

/* The plan's members and the environment's, as metadata.json splices them. */
static char *metadata_members(const char *plan_members, const struct plan *plan)
{
    struct am_json j = {0};
    am_json_open(&j, NULL, '{');
    am_json_members(&j, plan_members);
    am_environment_json(&j, &plan->env, plan->pinned ? plan->pin_text : NULL);
    am_json_close(&j, '}');
    if (j.failed) {
        am_json_free(&j);
        return NULL;
    }
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
    bool second; /* --aa: the allocator's second copy, labelled NAME#2 */
};

enum cell_outcome { CELL_OK, CELL_FAILED, CELL_CANCELLED, CELL_NOT_WRITTEN };

/* The columns a failed cell keeps; every other field is left empty. */
static bool kept_when_failed(enum am_column c)
{
    return c == AM_COL_allocator || c == AM_COL_label || c == AM_COL_workload ||
           c == AM_COL_threads || c == AM_COL_rep || c == AM_COL_status || c == AM_COL_reason ||
           c == AM_COL_wall_s;
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

/* Run one repetition of a cell and write its row, unless it is a warm-up
 * (run, then discarded). *ops_per_sec: its throughput when it succeeded. */
static enum cell_outcome run_cell(const struct plan *plan, const struct cell *cell, bool warmup,
                                  const char *self, double clock_hz, struct am_results *res,
                                  struct am_progress *progress, double *ops_per_sec)
{
    const struct am_allocator *a = cell->allocator;
    char desc[160];
    *ops_per_sec = NAN;
    const char *copy = cell->second ? "#2" : "";
    if (warmup)
        snprintf(desc, sizeof desc, "%s%s %s t=%u warm-up", a->name, copy, cell->workload->name,
                 cell->threads);
    else if (cell->rep <= plan->reps)
        snprintf(desc, sizeof desc, "%s%s %s t=%u rep %u/%u", a->name, copy, cell->workload->name,
                 cell->threads, cell->rep, plan->reps);
    else
        snprintf(desc, sizeof desc, "%s%s %s t=%u rep %u (for precision)", a->name, copy,
                 cell->workload->name, cell->threads, cell->rep);
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
    /* --pin: the child inherits the CPUs this process may run on while it
     * starts it; the harness itself goes back to all of them after. */
    cpu_set_t all;
    bool pinned = plan->pinned && sched_getaffinity(0, sizeof all, &all) == 0 &&
                  sched_setaffinity(0, sizeof plan->pin, &plan->pin) == 0;
    /* --aa: the cell's process knows which copy it is (AM_AA_COPY), so that a
     * test double can treat the two differently (delay-test). */
    if (plan->aa)
        setenv("AM_AA_COPY", cell->second ? "2" : "1", 1);
    int err = am_spawn(a, argv, &opt, &child);
    if (plan->aa)
        unsetenv("AM_AA_COPY");
    if (pinned)
        sched_setaffinity(0, sizeof all, &all);

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
    if (!row.v[AM_COL_label]) {
        /* The child died before saying; the front end's rule, applied here. */
        struct am_heap h = {.impl = a,
                            .locked = cell->threads > 1 && !(a->caps & AM_CAP_THREAD_SAFE)};
        row.v[AM_COL_label] = am_heap_label(&h, label, sizeof label);
    }
    char second_label[140];
    if (cell->second) {
        snprintf(second_label, sizeof second_label, "%s#2", row.v[AM_COL_label]);
        row.v[AM_COL_label] = second_label;
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
        if (status == AM_STATUS_COUNT || status == AM_STATUS_CRASH || status == AM_STATUS_TIMEOUT) {
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

    if (status == AM_STATUS_OK && row.v[AM_COL_ops_per_sec])
        *ops_per_sec = strtod(row.v[AM_COL_ops_per_sec], NULL);
    if (warmup) {
        char said[480];
        snprintf(said, sizeof said, "%s (warm-up, discarded)",
                 status == AM_STATUS_OK ? "ok" : am_status_name(status));
        if (!err)
            free(child.output);
        am_progress_finish(progress, status == AM_STATUS_OK, said);
        return status == AM_STATUS_OK ? CELL_OK : CELL_FAILED;
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

    am_environment_probe(&plan.env);
    char *info_members = metadata_members(plan_members, &plan);
    struct am_run_info info = {
        .argv = argv,
        .argc = argc,
        .profile = am_profile_name(plan.profile),
        .plan_json = info_members,
        .cells_total = plan.total,
    };
    struct am_results res;
    char why[PATH_MAX + 128];
    if (am_results_create(&res, plan.root, plan.label, &info, why, sizeof why) != 0) {
        fprintf(stderr, "allocmark run: %s\n", why);
        free(info_members);
        free(plan_members);
        return AM_EXIT_FAILED;
    }
    if (why[0])
        fprintf(stderr, "allocmark run: warning: %s\n", why);
    printf("allocmark run: %ld cells (%s profile, %u repetition%s%s, %s order, seed %llu) -> "
           "%s\n",
           plan.total, info.profile, plan.reps, plan.reps == 1 ? "" : "s",
           plan.precision_pct > 0 ? " or more for precision" : "", am_order_name(plan.order),
           (unsigned long long)plan.seed, res.dir);
    fflush(stdout);

    /* The cells in plan order (workload, thread count, allocator); the
     * schedule hands out their repetitions (schedule.h). */
    static struct cell cells[2 * MAX_WORKLOADS * MAX_THREAD_COUNTS * MAX_ALLOCATORS];
    unsigned n_cells = 0;
    for (unsigned w = 0; w < plan.n_workloads; w++) {
        const struct am_workload *wl = plan.workload[w];
        for (unsigned t = 0; t < (wl->threaded ? plan.n_threads : 1); t++)
            for (unsigned k = 0; k < plan.n_allocators; k++)
                for (unsigned copy = 0; copy < (plan.aa ? 2u : 1u); copy++)
                    cells[n_cells++] = (struct cell){
                        plan.allocator[k], wl, wl->threaded ? plan.threads[t] : 1, 0, copy == 1};
    }
    struct am_schedule schedule;
    if (am_schedule_init(&schedule, n_cells, plan.order, plan.seed, plan.reps, plan.warmup,
                         plan.precision_pct, plan.max_reps) != 0) {
        fprintf(stderr, "allocmark run: out of memory for the schedule\n");
        am_results_close(&res);
        free(info_members);
        free(plan_members);
        return AM_EXIT_FAILED;
    }
    struct am_progress progress;
    am_progress_init(&progress, stderr, (long)schedule.planned);
    long counts[4] = {0};
    bool stop = false, warmup;
    unsigned index, rep;
    while (!stop && !interrupted && am_schedule_next(&schedule, &index, &warmup, &rep)) {
        progress.total = (long)schedule.planned;
        struct cell cell = cells[index];
        cell.rep = rep;
        double ops;
        enum cell_outcome o = run_cell(&plan, &cell, warmup, self, clock_hz, &res, &progress, &ops);
        if (!warmup || o == CELL_CANCELLED || o == CELL_NOT_WRITTEN)
            counts[o]++;
        am_schedule_record(&schedule, index, warmup, ops);
        stop = o == CELL_CANCELLED || o == CELL_NOT_WRITTEN;
    }
    /* The cells planned, as kept: the precision may have added some. */
    long kept_total = (long)schedule.planned - (long)n_cells * plan.warmup;
    am_schedule_free(&schedule);
    am_progress_end(&progress);
    if (plan.micro && !interrupted && !counts[CELL_CANCELLED] && !counts[CELL_NOT_WRITTEN])
        run_micro(&plan, res.dir);

    info.cells_done = counts[CELL_OK] + counts[CELL_FAILED];
    info.cells_failed = counts[CELL_FAILED];
    info.finished = true;
    info.cells_total = kept_total;
    am_environment_finish(&plan.env);
    char *end_members = metadata_members(plan_members, &plan);
    if (end_members) {
        free(info_members);
        info_members = end_members;
        info.plan_json = info_members;
    }
    /* A signal after the last cell interrupted nothing. */
    info.interrupted = counts[CELL_CANCELLED] || (interrupted && info.cells_done < kept_total);
    int merr = am_results_metadata(&res, &info);
    am_results_close(&res);
    free(info_members);
    free(plan_members);
    if (merr)
        fprintf(stderr, "allocmark run: cannot complete metadata.json: %s\n", strerror(merr));

    double elapsed = am_progress_elapsed(&progress);
    long minutes = (long)elapsed / 60;
    printf("allocmark run: %s after %ld:%04.1f: %ld of %ld cells done, %ld failed\n",
           info.interrupted ? "interrupted" : "finished", minutes, elapsed - 60.0 * (double)minutes,
           info.cells_done, kept_total, info.cells_failed);
    printf("results: %s\n", res.dir);
    if (info.interrupted)
        return AM_EXIT_INTERRUPTED;
    if (counts[CELL_NOT_WRITTEN] || merr)
        return AM_EXIT_FAILED;
    return info.cells_failed ? AM_EXIT_FAILED : AM_EXIT_OK;
}
