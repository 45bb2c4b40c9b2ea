/*
 * run.c: `allocmark run` (see run.h): follow the plan (plan.h, from the
 * command line) cell by cell, each in a child of its own, and record every
 * outcome, whatever it is, as one row of cells.csv. SIGINT and SIGTERM kill
 * the current cell's process group, keep every finished row, mark the run
 * interrupted in metadata.json and exit 130.
 */
#include "run.h"

#include <errno.h>
#include <sched.h>
#include <math.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cell.h"
#include "cli.h"
#include "measure.h"
#include "micro.h"
#include "outcome.h"
#include "plan.h"
#include "progcell.h"
#include "progress.h"
#include "protocol.h"
#include "results.h"
#include "schedule.h"
#include "signals.h"
#include "spawnproc.h"

enum cell_result { CELL_OK, CELL_FAILED, CELL_CANCELLED, CELL_NOT_WRITTEN, CELL_SKIPPED };

/* The series first: a cell's row in cells.csv says its series is whole, and
 * only a child that finished its report has a whole one. */
static int write_cell(struct am_results *res, const struct am_outcome *o,
                      const struct am_cell_report *report)
{
    int err = 0;
    for (unsigned i = 0; report->ended && i < report->n_series && !err; i++) {
        char store[AM_SERIES_FIELDS][32];
        const char *fields[AM_SERIES_FIELDS];
        am_outcome_series_fields(&report->series[i], store, fields);
        err = am_results_series(res, &o->row, fields, AM_SERIES_FIELDS);
    }
    return err ? err : am_results_row(res, &o->row);
}

/* Run one repetition of a cell and write its row, unless it is a warm-up
 * (run, then discarded). second: the allocator's second copy (--aa).
 * *ops_per_sec: its throughput when it succeeded, else NaN. */
static enum cell_result run_cell(const struct am_plan *plan, const struct am_cell_key *cell,
                                 bool second, bool warmup, const char *self, struct am_results *res,
                                 struct am_progress *progress, double *ops_per_sec)
{
    const struct am_allocator *a = cell->allocator;
    const char *copy = second ? "#2" : "";
    char desc[160];
    *ops_per_sec = NAN;
    if (warmup)
        snprintf(desc, sizeof desc, "%s%s %s t=%u warm-up", a->name, copy, cell->workload,
                 cell->threads);
    else if (cell->rep <= plan->reps)
        snprintf(desc, sizeof desc, "%s%s %s t=%u rep %u/%u", a->name, copy, cell->workload,
                 cell->threads, cell->rep, plan->reps);
    else
        snprintf(desc, sizeof desc, "%s%s %s t=%u rep %u (for precision)", a->name, copy,
                 cell->workload, cell->threads, cell->rep);
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
        .workload = cell->workload,
        .threads = cell->threads,
        .profile = am_profile_name(plan->profile),
        .budget_s = plan->budget_s,
        .clock_hz = plan->clock_hz,
        .mem_limit_mib = plan->mem_limit_mib,
    };
    char store[4][32], *argv[AM_CELL_ARGV_MAX];
    am_cell_argv(&spec, self, store, argv);
    struct am_spawn_options opt = am_spawn_defaults();
    opt.timeout_s = plan->timeout_s;
    opt.stderr_fd = res->log_fd;
    opt.cancel_fd = am_signals_cancel_fd();
    struct am_child child;
    /* --pin: the child inherits the CPUs this process may run on while it
     * starts it; the harness itself goes back to all of them after. */
    cpu_set_t all;
    bool pinned = plan->pinned && sched_getaffinity(0, sizeof all, &all) == 0 &&
                  sched_setaffinity(0, sizeof plan->pin, &plan->pin) == 0;
    /* --aa: the cell's process knows which copy it is (AM_AA_COPY), so that a
     * test double can treat the two differently (delay-test). */
    if (plan->aa)
        setenv("AM_AA_COPY", second ? "2" : "1", 1);
    int err = am_spawn(a, argv, &opt, &child);
    if (plan->aa)
        unsetenv("AM_AA_COPY");
    if (pinned)
        sched_setaffinity(0, sizeof all, &all);

    char stderr_line[200];
    am_results_log_tail(res, after_heading, stderr_line, sizeof stderr_line);
    if (lseek(res->log_fd, 0, SEEK_END) == after_heading && ftruncate(res->log_fd, before) != 0)
        before = after_heading; /* the heading stays: harmless */
    if (!err && child.cancelled) {
        free(child.output);
        return CELL_CANCELLED;
    }

    struct am_cell_report report;
    int perr = am_protocol_parse(err ? (char[]){""} : child.output, &report);
    if (!err)
        free(child.output);
    static struct am_outcome o; /* large; one cell at a time */
    am_outcome_classify(cell, err, &child, &report, stderr_line, plan->timeout_s, &o);
    char second_label[sizeof o.label + 4];
    if (second) {
        snprintf(second_label, sizeof second_label, "%s#2", o.row.v[AM_COL_label]);
        o.row.v[AM_COL_label] = second_label;
    }
    if (o.status == AM_STATUS_OK && report.has_rate)
        *ops_per_sec = report.ops_per_sec;
    if (warmup) {
        am_cell_report_free(&report);
        am_progress_finish(progress, o.status == AM_STATUS_OK,
                           o.status == AM_STATUS_OK ? "ok (warm-up, discarded)"
                                                    : "failed (warm-up, discarded)");
        return o.status == AM_STATUS_OK ? CELL_OK : CELL_FAILED;
    }
    int werr = perr ? perr : write_cell(res, &o, &report);
    am_cell_report_free(&report);
    if (werr) {
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof msg, "allocmark run: cannot write to %s: %s", res->dir,
                 strerror(werr));
        am_progress_note(progress, msg);
        return CELL_NOT_WRITTEN;
    }

    char said[480];
    if (o.status == AM_STATUS_OK)
        snprintf(said, sizeof said, "ok, %.3g Mops/s%s (%.2f s)",
                 report.has_rate ? report.ops_per_sec / 1e6 : 0.0,
                 report.has_complete && !report.complete ? ", budget reached" : "", child.wall_s);
    else
        snprintf(said, sizeof said, "%s: %s", am_status_name(o.status), o.reason);
    am_progress_finish(progress, o.status == AM_STATUS_OK, said);
    return o.status == AM_STATUS_OK ? CELL_OK : CELL_FAILED;
}

/* One repetition of a program cell (progcell.h), or a warm-up. A program
 * checked against glibc's output needs it before any other allocator's cell
 * runs: when no glibc cell has given it yet (glibc is not among the
 * allocators, or the shuffle put another first), a run of glibc that is not
 * a cell gives it. *merit: the cell's throughput when ok, else NaN. */
static enum cell_result run_program_cell(const struct am_plan *plan, struct am_progrun *progrun,
                                         const struct am_program *prog, struct am_progstate *state,
                                         const struct am_allocator *a, bool second, unsigned rep,
                                         bool warmup, struct am_results *res,
                                         struct am_progress *progress, double *merit)
{
    *merit = NAN;
    if (strcmp(a->name, "glibc") != 0 && am_progcell_needs_reference(prog, state)) {
        for (size_t i = 0; i < am_registry_count; i++)
            if (strcmp(am_registry[i]->name, "glibc") == 0)
                am_progcell_reference(progrun, prog, state, am_registry[i], rep, res, progress);
        if (am_signals_interrupted())
            return CELL_CANCELLED;
    }
    /* --aa: the program's process knows which copy it is, as a workload
     * cell's does. */
    if (plan->aa)
        setenv("AM_AA_COPY", second ? "2" : "1", 1);
    enum am_progcell_outcome o =
        am_progcell_run(progrun, prog, state, a, second, rep, warmup, res, progress, merit);
    if (plan->aa)
        unsetenv("AM_AA_COPY");
    switch (o) {
    case AM_PROGCELL_OK:
        return CELL_OK;
    case AM_PROGCELL_FAILED:
        return CELL_FAILED;
    case AM_PROGCELL_SKIPPED:
        return CELL_SKIPPED;
    case AM_PROGCELL_CANCELLED:
        return CELL_CANCELLED;
    case AM_PROGCELL_NOT_WRITTEN:
        return CELL_NOT_WRITTEN;
    }
    return CELL_FAILED;
}

int am_run_main(int argc, char **argv)
{
    /* argv is main's: argv[0] the program, argv[1] "run". */
    static struct am_plan plan; /* large: the references' facts */
    switch (am_plan_parse(argc - 1, argv + 1, &plan)) {
    case AM_PLAN_OK:
        break;
    case AM_PLAN_HELP:
        printf("usage: allocmark run [OPTIONS]\n\n");
        am_run_usage(stdout);
        return AM_EXIT_OK;
    case AM_PLAN_BAD:
        return AM_EXIT_USAGE;
    }
    const char *self = argv[0];
    if (am_signals_catch() != 0) {
        fprintf(stderr, "allocmark run: cannot set up signal handling: %s\n", strerror(errno));
        return AM_EXIT_FAILED;
    }

    /* One calibration for every cell, so that all share one tick rate. */
    am_clock_init(0);
    plan.clock_hz = am_clock_calibrate(0.1);
    plan.n_references = am_probe_references(self, plan.references, AM_PLAN_MAX_REFERENCES);
    am_environment_probe(&plan.env);
    if (am_signals_interrupted())
        return AM_EXIT_INTERRUPTED; /* nothing written yet */

    struct am_run_info info = {
        .argv = argv,
        .argc = argc,
        .profile = am_profile_name(plan.profile),
        .plan = am_plan_json,
        .plan_ctx = &plan,
        .cells_total = plan.total,
    };
    struct am_results res;
    char why[PATH_MAX + 128];
    if (am_results_create(&res, plan.root, plan.label, &info, why, sizeof why) != 0) {
        fprintf(stderr, "allocmark run: %s\n", why);
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

    /* The workload cells in plan order (workload, thread count, allocator,
     * copy), then the program cells (program, allocator with glibc first,
     * whose output the others' is checked against); the schedule hands out
     * the repetitions of both alike (schedule.h). */
    struct planned_cell {
        struct am_cell_key key;
        bool second;
        int program; /* index in plan.programs, -1 for a workload cell */
    } *cells =
        calloc(2 * AM_PLAN_MAX_WORKLOADS * AM_PLAN_MAX_THREAD_COUNTS * AM_PLAN_MAX_ALLOCATORS +
                   2 * plan.programs.n * plan.n_allocators,
               sizeof *cells);
    if (!cells) {
        fprintf(stderr, "allocmark run: out of memory for the plan\n");
        am_results_close(&res);
        return AM_EXIT_FAILED;
    }
    unsigned n_cells = 0;
    for (unsigned w = 0; w < plan.n_workloads; w++) {
        const struct am_workload *wl = plan.workload[w];
        for (unsigned t = 0; t < (wl->threaded ? plan.n_threads : 1); t++)
            for (unsigned k = 0; k < plan.n_allocators; k++)
                for (unsigned copy = 0; copy < (plan.aa ? 2u : 1u); copy++)
                    cells[n_cells++] = (struct planned_cell){{plan.allocator[k], wl->name,
                                                              wl->fixed_threads ? wl->fixed_threads
                                                              : wl->threaded    ? plan.threads[t]
                                                                                : 1,
                                                              0},
                                                             copy == 1,
                                                             -1};
    }
    for (size_t i = 0; i < plan.programs.n; i++)
        for (int glibc_pass = 1; glibc_pass >= 0; glibc_pass--)
            for (unsigned k = 0; k < plan.n_allocators; k++)
                for (unsigned copy = 0; copy < (plan.aa ? 2u : 1u); copy++)
                    if ((strcmp(plan.allocator[k]->name, "glibc") == 0) == glibc_pass)
                        cells[n_cells++] = (struct planned_cell){
                            {plan.allocator[k], plan.programs.p[i]->name, 0, 0}, copy == 1, (int)i};
    struct am_progrun progrun = {.profile = plan.profile,
                                 .reps = plan.reps,
                                 .timeout_s = plan.timeout_given ? plan.timeout_s : 0,
                                 .mem_limit_mib = plan.mem_limit_mib,
                                 .interval_s = AM_PLAN_PROGRAM_SAMPLE_INTERVAL_S,
                                 .cancel_fd = am_signals_cancel_fd()};
    struct am_progstate *progstate = calloc(plan.programs.n + 1, sizeof *progstate);
    int perr = progstate ? am_progrun_init(&progrun) : ENOMEM;
    if (perr) {
        fprintf(stderr, "allocmark run: cannot make a scratch directory for the programs: %s\n",
                strerror(perr));
        free(progstate);
        free(cells);
        am_results_close(&res);
        return AM_EXIT_FAILED;
    }
    struct am_schedule schedule;
    if (am_schedule_init(&schedule, n_cells, plan.order, plan.seed, plan.reps, plan.warmup,
                         plan.precision_pct, plan.max_reps) != 0) {
        fprintf(stderr, "allocmark run: out of memory for the schedule\n");
        am_progrun_end(&progrun);
        free(progstate);
        free(cells);
        am_results_close(&res);
        return AM_EXIT_FAILED;
    }
    struct am_progress progress;
    am_progress_init(&progress, stderr, (long)schedule.planned);
    long counts[5] = {0};
    bool stop = false, warmup;
    unsigned index, rep;
    while (!stop && !am_signals_interrupted() &&
           am_schedule_next(&schedule, &index, &warmup, &rep)) {
        progress.total = (long)schedule.planned;
        struct am_cell_key cell = cells[index].key;
        cell.rep = rep;
        double ops;
        int p = cells[index].program;
        enum cell_result o =
            p >= 0
                ? run_program_cell(&plan, &progrun, plan.programs.p[p], &progstate[p],
                                   cell.allocator, cells[index].second, rep, warmup, &res,
                                   &progress, &ops)
                : run_cell(&plan, &cell, cells[index].second, warmup, self, &res, &progress, &ops);
        if (!warmup || o == CELL_CANCELLED || o == CELL_NOT_WRITTEN)
            counts[o]++;
        am_schedule_record(&schedule, index, warmup, ops);
        stop = o == CELL_CANCELLED || o == CELL_NOT_WRITTEN;
    }
    /* The cells planned, as kept: --precision may have added some. */
    long kept_total = (long)schedule.planned - (long)n_cells * plan.warmup;
    am_schedule_free(&schedule);
    free(cells);
    am_progress_end(&progress);
    am_progrun_end(&progrun);
    free(progstate);
    if (plan.micro && !am_signals_interrupted() && !counts[CELL_CANCELLED] &&
        !counts[CELL_NOT_WRITTEN])
        am_micro_run(&plan, res.dir);

    info.cells_done = counts[CELL_OK] + counts[CELL_FAILED] + counts[CELL_SKIPPED];
    info.cells_failed = counts[CELL_FAILED];
    info.finished = true;
    info.cells_total = kept_total;
    am_environment_finish(&plan.env);
    /* A signal after the last cell interrupted nothing. */
    info.interrupted =
        counts[CELL_CANCELLED] || (am_signals_interrupted() && info.cells_done < kept_total);
    int merr = am_results_metadata(&res, &info);
    am_results_close(&res);
    if (merr)
        fprintf(stderr, "allocmark run: cannot complete metadata.json: %s\n", strerror(merr));

    double elapsed = am_progress_elapsed(&progress);
    long minutes = (long)elapsed / 60;
    printf("allocmark run: %s after %ld:%04.1f: %ld of %ld cells done, %ld failed, %ld skipped\n",
           info.interrupted ? "interrupted" : "finished", minutes, elapsed - 60.0 * (double)minutes,
           info.cells_done, kept_total, info.cells_failed, counts[CELL_SKIPPED]);
    printf("results: %s\n", res.dir);
    if (info.interrupted)
        return AM_EXIT_INTERRUPTED;
    if (counts[CELL_NOT_WRITTEN] || merr)
        return AM_EXIT_FAILED;
    return info.cells_failed ? AM_EXIT_FAILED : AM_EXIT_OK;
}
