/*
 * progcell.c: one program cell (see progcell.h): its input made once per
 * run, its server started and stopped, its process tree sampled, its
 * outcome classified and its output checked, its row written.
 */
#include "progcell.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gnu/libc-version.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "merit.h"
#include "outfile.h"
#include "proctree.h"

/* Hard limits on a program cell's process, per profile: hangs only. A cell
 * of an allocator other than glibc also stops at RELATIVE_TIMEOUT times
 * glibc's time for the same program plus RELATIVE_SLACK_S, when glibc ran
 * first and --timeout was not given, and an allocator that ran out of time
 * on a program is not run on it again in later repetitions: a pathological
 * allocator (one page per block, one mmap per block) costs a bounded
 * multiple of a program's normal time once, not the profile's limit every
 * time. */
#define RELATIVE_TIMEOUT 5.0
#define RELATIVE_SLACK_S 2.0
static const double profile_timeout_s[AM_PROFILE_COUNT] = {
    [AM_PROFILE_SMOKE] = 30, [AM_PROFILE_QUICK] = 60, [AM_PROFILE_FULL] = 600};

/* A server must accept connections this soon after its start. */
#define SERVER_READY_S 10.0
/* ... and end this soon after SIGTERM. */
#define SERVER_GRACE_S 5.0
/* An output command or a check command. */
#define HELPER_TIMEOUT_S 60.0
/* An input generator, once per program and run. */
#define GENERATE_TIMEOUT_S 600.0
/* timeseries.csv gets at most this many points per cell: each the highest
 * sample of its stretch, so the peak is always drawn. */
#define SERIES_POINTS 400

double am_progrun_profile_timeout(enum am_profile profile)
{
    return profile_timeout_s[profile];
}

/* ---------------------------------------------------------------------------
 * The run's scratch directory, the drop-ins, the C library
 * ------------------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : 0;
    unlink(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : errno;
}

int am_progrun_init(struct am_progrun *run)
{
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir || strlen(tmpdir) > 200)
        tmpdir = "/tmp";
    snprintf(run->tmp, sizeof run->tmp, "%s/allocmark-XXXXXX", tmpdir);
    if (!mkdtemp(run->tmp))
        return errno;

    const char *env = getenv("AM_DROPIN_DIR");
    if (env && *env) {
        snprintf(run->dropin_dir, sizeof run->dropin_dir, "%s", env);
    } else {
        /* build/harness/allocmark -> build/allocators */
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(run->dropin_dir, sizeof run->dropin_dir, "%.4000s/../allocators", exe);
        char resolved[PATH_MAX];
        if (realpath(run->dropin_dir, resolved))
            memcpy(run->dropin_dir, resolved, sizeof resolved);
    }

    /* glibc's cells preload the C library itself: a program linked with
     * another malloc (Debian's redis-server links jemalloc) then runs on
     * glibc's, and a program that is not runs exactly as without. */
    Dl_info info;
    if (dladdr((void *)gnu_get_libc_version, &info) && info.dli_fname)
        snprintf(run->libc_path, sizeof run->libc_path, "%s", info.dli_fname);
    return 0;
}

void am_progrun_end(struct am_progrun *run)
{
    if (run->tmp[0])
        remove_tree(run->tmp);
    run->tmp[0] = '\0';
}

const char *am_progrun_preload(const struct am_progrun *run, const struct am_allocator *a,
                               char *why, size_t why_len)
{
    why[0] = '\0';
    if (strcmp(a->name, "glibc") == 0)
        return run->libc_path[0] ? run->libc_path : NULL;
    if (a->caps & AM_CAP_PROCESS_MALLOC)
        return a->preload;
    static char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s/libam-%s.so", run->dropin_dir, a->name, a->name);
    if (access(path, R_OK) != 0) {
        snprintf(why, why_len, "no drop-in library for %s: %.200s not built", a->name, path);
        return NULL;
    }
    return path;
}

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

/* A TCP port on 127.0.0.1 that nobody listens on right now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                               .sin_port = htons((unsigned short)port)};
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

static void log_text(int fd, const char *text)
{
    ssize_t ignored = write(fd, text, strlen(text));
    (void)ignored;
}

/* Run a shell command to its end on glibc (nothing preloaded), up to
 * timeout_s. Returns its wait status, or -1 (why in buf). */
static int run_helper(const char *cmd, const char *cwd, int stdout_fd, int log_fd,
                      const char *env_name, const char *env_value, double timeout_s, int cancel_fd,
                      char *why, size_t why_len)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    struct am_proc_spec spec = {.argv = argv,
                                .cwd = cwd,
                                .stdin_fd = -1,
                                .stdout_fd = stdout_fd,
                                .stderr_fd = log_fd,
                                .env_name = env_name,
                                .env_value = env_value};
    struct am_proc p;
    int err = am_proc_start(&spec, &p);
    if (err) {
        snprintf(why, why_len, "cannot run /bin/sh: %s", strerror(err));
        return -1;
    }
    bool done = am_proc_wait(&p, timeout_s, cancel_fd);
    if (!done) {
        am_proc_signal(&p, SIGKILL);
        am_proc_wait(&p, 5, -1);
        am_proc_release(&p);
        snprintf(why, why_len, "did not finish within %g s", timeout_s);
        return -1;
    }
    am_proc_signal(&p, SIGKILL);
    am_proc_release(&p);
    return p.status;
}

/* ---------------------------------------------------------------------------
 * The input, once per program and run
 * ------------------------------------------------------------------------ */

static void input_dir(const struct am_progrun *run, const struct am_program *prog, char *buf,
                      size_t len)
{
    snprintf(buf, len, "%s/input-%.48s", run->tmp, prog->name);
}

static bool generate_input(struct am_progrun *run, const struct am_program *prog,
                           struct am_progstate *st, const struct am_results *res)
{
    int log_fd = res->log_fd;
    if (st->generated)
        return true;
    if (st->generate_failed)
        return false;
    char dir[PATH_MAX];
    input_dir(run, prog, dir, sizeof dir);
    int err = make_dir(dir);
    if (err) {
        snprintf(st->generate_why, sizeof st->generate_why, "cannot create %.200s: %s", dir,
                 strerror(err));
        st->generate_failed = true;
        return false;
    }
    if (!prog->generate) {
        st->generated = true;
        return true;
    }
    struct am_program_vars vars = {.input = dir,
                                   .work = dir,
                                   .programs = am_programs_dir(),
                                   .scale = prog->scale[run->profile]};
    char *cmd = am_program_expand(prog->generate, &vars);
    char heading[256], why[200] = "";
    snprintf(heading, sizeof heading, "=== %s: generating its input\n", prog->name);
    log_text(log_fd, heading);
    off_t from = lseek(log_fd, 0, SEEK_END);
    int status = cmd ? run_helper(cmd, dir, -1, log_fd, NULL, NULL, GENERATE_TIMEOUT_S,
                                  run->cancel_fd, why, sizeof why)
                     : -1;
    free(cmd);
    if (status == 0) {
        st->generated = true;
        return true;
    }
    char last[160], fate[64];
    am_results_log_tail(res, from, last, sizeof last);
    snprintf(st->generate_why, sizeof st->generate_why, "its input generator failed (%s)%s%s",
             status < 0 ? why : am_proc_describe(status, fate, sizeof fate), last[0] ? ": " : "",
             last);
    st->generate_failed = true;
    return false;
}

/* ---------------------------------------------------------------------------
 * Running and sampling
 * ------------------------------------------------------------------------ */

struct sample {
    double t;
    unsigned long long rss;
};

struct measured {
    struct am_proc proc;   /* the measured program: the command, or the server */
    struct am_proc client; /* with a server: the command that drives it */
    bool has_client;
    bool timed_out, over_limit, cancelled, server_died, server_not_ready;
    bool server_would_not_stop; /* killed after SERVER_GRACE_S */
    double wall_s;
    struct sample *samples;
    unsigned n_samples, cap_samples;
    unsigned long long peak_rss;
    double sampler_cpu_s;
};

static void take_sample(struct measured *m, double start)
{
    double cpu = am_proc_thread_cpu();
    unsigned long long rss = 0;
    unsigned found = am_proc_tree_rss(m->proc.pid, &rss);
    m->sampler_cpu_s += am_proc_thread_cpu() - cpu;
    if (!found)
        return;
    if (m->n_samples == m->cap_samples) {
        unsigned cap = m->cap_samples ? m->cap_samples * 2 : 1024;
        struct sample *grown = realloc(m->samples, cap * sizeof *grown);
        if (!grown)
            return;
        m->samples = grown;
        m->cap_samples = cap;
    }
    m->samples[m->n_samples++] = (struct sample){am_proc_now() - start, rss};
    if (rss > m->peak_rss)
        m->peak_rss = rss;
}

/* Sample the measured tree every interval until `until` (the program, or
 * the client) ends, a limit is passed, or the run is cancelled. */
static void watch(struct am_progrun *run, struct measured *m, struct am_proc *until,
                  double timeout_s)
{
    double start = m->proc.start_s;
    unsigned long long limit = (unsigned long long)run->mem_limit_mib << 20;
    for (unsigned tick = 1;; tick++) {
        if (am_proc_poll(until))
            break;
        if (m->has_client && am_proc_poll(&m->proc)) {
            m->server_died = true;
            break;
        }
        take_sample(m, start);
        double now = am_proc_now();
        if (limit && m->peak_rss > limit) {
            m->over_limit = true;
            break;
        }
        if (now - until->start_s >= timeout_s) {
            m->timed_out = true;
            break;
        }
        if (run->cancel_fd >= 0 &&
            poll(&(struct pollfd){.fd = run->cancel_fd, .events = POLLIN}, 1, 0) > 0) {
            m->cancelled = true;
            break;
        }
        double next = start + tick * run->interval_s;
        while (next < now)
            next += run->interval_s, tick++;
        int ms = (int)ceil((next - now) * 1000);
        struct pollfd fds[3];
        nfds_t n = 0;
        if (until->pidfd >= 0)
            fds[n++] = (struct pollfd){.fd = until->pidfd, .events = POLLIN};
        if (m->has_client && m->proc.pidfd >= 0)
            fds[n++] = (struct pollfd){.fd = m->proc.pidfd, .events = POLLIN};
        if (run->cancel_fd >= 0)
            fds[n++] = (struct pollfd){.fd = run->cancel_fd, .events = POLLIN};
        poll(fds, n, ms > 0 ? ms : 0);
    }
}

/* Start and watch one cell's processes. Returns 0 or an error text in why
 * (the cell could not be run at all). */
static int run_processes(struct am_progrun *run, const struct am_program *prog,
                         const struct am_program_vars *vars, const char *preload, int stdout_fd,
                         int log_fd, double timeout_s, struct measured *m, char *why,
                         size_t why_len)
{
    char *command = NULL, *server = NULL;
    char *sh_argv[] = {"/bin/sh", "-c", NULL, NULL};
    char *server_argv[] = {"/bin/sh", "-c", NULL, NULL};
    char *const *argv = prog->argv;
    if (!argv) {
        command = am_program_expand(prog->command, vars);
        sh_argv[2] = command;
        argv = sh_argv;
    }
    int rc = 0;
    if (prog->server) {
        server = am_program_expand(prog->server, vars);
        server_argv[2] = server;
        struct am_proc_spec sspec = {.argv = server_argv,
                                     .preload = preload,
                                     .cwd = vars->work,
                                     .stdin_fd = -1,
                                     .stdout_fd = log_fd,
                                     .stderr_fd = log_fd};
        int err = server && command ? am_proc_start(&sspec, &m->proc) : ENOMEM;
        if (err) {
            snprintf(why, why_len, "cannot start the server: %s", strerror(err));
            rc = -1;
            goto out;
        }
        /* Ready when it accepts a connection on its port. */
        double deadline = am_proc_now() + SERVER_READY_S;
        while (!port_accepts(vars->port)) {
            if (am_proc_poll(&m->proc)) {
                m->server_died = true;
                goto out;
            }
            if (am_proc_now() > deadline) {
                m->server_not_ready = true;
                goto out;
            }
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        struct am_proc_spec cspec = {.argv = argv,
                                     .preload = NULL,
                                     .cwd = vars->work,
                                     .stdin_fd = -1,
                                     .stdout_fd = stdout_fd,
                                     .stderr_fd = log_fd};
        err = am_proc_start(&cspec, &m->client);
        if (err) {
            snprintf(why, why_len, "cannot start %s: %s", argv[0], strerror(err));
            rc = -1;
            goto out;
        }
        m->has_client = true;
        watch(run, m, &m->client, timeout_s);
        m->wall_s = m->client.reaped ? m->client.wall_s : am_proc_now() - m->client.start_s;
    } else {
        struct am_proc_spec spec = {.argv = argv,
                                    .preload = preload,
                                    .cwd = vars->work,
                                    .stdin_fd = -1,
                                    .stdout_fd = stdout_fd,
                                    .stderr_fd = log_fd};
        int err = command || prog->argv ? am_proc_start(&spec, &m->proc) : ENOMEM;
        if (err) {
            snprintf(why, why_len, "cannot start %s: %s", argv[0], strerror(err));
            rc = -1;
            goto out;
        }
        watch(run, m, &m->proc, timeout_s);
        m->wall_s = m->proc.reaped ? m->proc.wall_s : am_proc_now() - m->proc.start_s;
    }
out:
    free(command);
    free(server);
    return rc;
}

/* Stop whatever still runs: the client and a program past its limits at
 * once, a server gently (it is being measured to its end). */
static void stop_processes(struct measured *m)
{
    if (m->has_client) {
        am_proc_signal(&m->client, SIGKILL);
        am_proc_wait(&m->client, 5, -1);
        am_proc_release(&m->client);
    }
    if (m->proc.pid > 0) {
        bool force = m->timed_out || m->over_limit || m->cancelled;
        if (force)
            am_proc_signal(&m->proc, SIGKILL);
        bool killed = am_proc_stop(&m->proc, force ? 1 : SERVER_GRACE_S);
        m->server_would_not_stop = killed && !force && m->has_client;
        am_proc_release(&m->proc);
    }
}

/* ---------------------------------------------------------------------------
 * One cell
 * ------------------------------------------------------------------------ */

struct rowbuf {
    struct am_row row;
    char rep[16], wall[32], seconds[32], peak[32], base[32], end[32], user[32], sys[32], minflt[32],
        majflt[32], nvcsw[32], nivcsw[32], throughput[32], p50[32], p99[32], sum[24], samples[16],
        sampler[32], exit_status[64];
    char reason[512];
    bool reference; /* glibc's run for the reference output only: no row */
    bool warmup;    /* a warm-up repetition (--warmup): run, judged, no row */
};

static int write_row(struct am_results *res, struct rowbuf *b, const struct measured *m)
{
    int err = 0;
    bool ok = b->row.v[AM_COL_status] && strcmp(b->row.v[AM_COL_status], "ok") == 0;
    if (ok && m && m->n_samples) {
        /* At most SERIES_POINTS points: each stretch's highest sample. */
        unsigned step = (m->n_samples + SERIES_POINTS - 1) / SERIES_POINTS;
        for (unsigned i = 0, k = 0; i < m->n_samples && !err; i += step, k++) {
            unsigned top = i;
            for (unsigned j = i; j < i + step && j < m->n_samples; j++)
                if (m->samples[j].rss > m->samples[top].rss)
                    top = j;
            char sample[16], seconds[32], rss[32];
            snprintf(sample, sizeof sample, "%u", k);
            snprintf(seconds, sizeof seconds, "%.4f", m->samples[top].t);
            snprintf(rss, sizeof rss, "%llu", m->samples[top].rss);
            /* sample, ops_done, seconds, rss_bytes, live_bytes, os_bytes */
            const char *fields[] = {sample, NULL, seconds, rss, NULL, NULL};
            err = am_results_series(res, &b->row, fields, 6);
        }
    }
    if (!err)
        err = am_results_row(res, &b->row);
    return err;
}

static enum am_progcell_outcome finish(struct am_results *res, struct rowbuf *b,
                                       const struct measured *m, struct am_progress *progress,
                                       enum am_status status, const char *outcome)
{
    b->row.v[AM_COL_status] = am_status_name(status);
    if (b->reason[0])
        b->row.v[AM_COL_reason] = b->reason;
    if (b->warmup) {
        char line[700];
        snprintf(line, sizeof line, "%s (warm-up, discarded)%s%s",
                 status == AM_STATUS_OK ? "ok" : am_status_name(status), b->reason[0] ? ": " : "",
                 b->reason);
        am_progress_finish(progress, status == AM_STATUS_OK || status == AM_STATUS_SKIPPED, line);
        if (status == AM_STATUS_OK)
            return AM_PROGCELL_OK;
        return status == AM_STATUS_SKIPPED ? AM_PROGCELL_SKIPPED : AM_PROGCELL_FAILED;
    }
    if (b->reference) {
        char msg[800];
        snprintf(msg, sizeof msg, "%s %s: glibc's reference output (not a cell): %s%s%s",
                 b->row.v[AM_COL_workload], b->rep, am_status_name(status),
                 b->reason[0] ? ": " : "", b->reason);
        am_progress_note(progress, msg);
        return status == AM_STATUS_OK ? AM_PROGCELL_OK : AM_PROGCELL_FAILED;
    }
    int err = write_row(res, b, m);
    if (err) {
        char msg[PATH_MAX + 128];
        snprintf(msg, sizeof msg, "allocmark run: cannot write to %s: %s", res->dir, strerror(err));
        am_progress_note(progress, msg);
        return AM_PROGCELL_NOT_WRITTEN;
    }
    char line[700];
    if (status == AM_STATUS_OK)
        snprintf(line, sizeof line, "%s", outcome);
    else
        snprintf(line, sizeof line, "%s: %s", am_status_name(status), b->reason);
    am_progress_finish(progress, status == AM_STATUS_OK || status == AM_STATUS_SKIPPED, line);
    if (status == AM_STATUS_OK)
        return AM_PROGCELL_OK;
    return status == AM_STATUS_SKIPPED ? AM_PROGCELL_SKIPPED : AM_PROGCELL_FAILED;
}

static double seconds_of(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Keep a wrong output and glibc's beside it in RUN/outputs/ for a diff. */
static void keep_outputs(struct am_results *res, const struct am_program *prog,
                         const struct am_progstate *st, const char *allocator, unsigned rep,
                         const char *output, char *note, size_t note_len)
{
    char dir[PATH_MAX + 16], to[PATH_MAX + 200];
    snprintf(dir, sizeof dir, "%s/outputs", res->dir);
    make_dir(dir);
    snprintf(to, sizeof to, "%s/%s.%s.r%u.out", dir, prog->name, allocator, rep);
    if (am_outfile_copy(output, to) == 0)
        snprintf(note, note_len, "; kept in outputs/%s.%s.r%u.out", prog->name, allocator, rep);
    if (st->have_reference && st->reference_file[0]) {
        snprintf(to, sizeof to, "%s/%s.glibc.out", dir, prog->name);
        if (access(to, F_OK) != 0)
            am_outfile_copy(st->reference_file, to);
    }
}

/* Judge the output; AM_STATUS_OK or AM_STATUS_WRONG / ERROR with a reason. */
static enum am_status check_output(struct am_progrun *run, const struct am_program *prog,
                                   struct am_progstate *st, const struct am_allocator *a,
                                   unsigned rep, const char *output,
                                   const struct am_program_vars *vars, int log_fd,
                                   struct am_results *res, struct rowbuf *b)
{
    unsigned long long sum;
    if (!am_outfile_checksum(output, &sum)) {
        snprintf(b->reason, sizeof b->reason, "its output %.400s was not written", output);
        return AM_STATUS_WRONG;
    }
    snprintf(b->sum, sizeof b->sum, "%016llx", sum);
    b->row.v[AM_COL_output_checksum] = b->sum;
    char note[PATH_MAX + 64] = "";
    switch (prog->check) {
    case AM_CHECK_NONE:
        return AM_STATUS_OK;
    case AM_CHECK_GLIBC:
        if (!st->have_reference) {
            if (strcmp(a->name, "glibc") != 0) {
                snprintf(b->reason, sizeof b->reason,
                         "no reference output to compare with: glibc's runs of %s failed or "
                         "have not run",
                         prog->name);
                return AM_STATUS_ERROR;
            }
            st->have_reference = true;
            st->reference_sum = sum;
            snprintf(st->reference_file, sizeof st->reference_file, "%s/reference-%.48s.out",
                     run->tmp, prog->name);
            if (am_outfile_copy(output, st->reference_file) != 0)
                st->reference_file[0] = '\0';
            return AM_STATUS_OK;
        }
        if (sum == st->reference_sum)
            return AM_STATUS_OK;
        keep_outputs(res, prog, st, b->row.v[AM_COL_label], rep, output, note, sizeof note);
        snprintf(b->reason, sizeof b->reason,
                 "output checksum %016llx differs from glibc's %016llx%s", sum, st->reference_sum,
                 note);
        return AM_STATUS_WRONG;
    case AM_CHECK_EXPECT: {
        char *expect = am_program_expand(prog->check_arg, vars);
        long long at = expect ? am_outfile_first_difference(output, expect) : -2;
        enum am_status s = AM_STATUS_OK;
        if (at == -2) {
            snprintf(b->reason, sizeof b->reason, "cannot read the expected output %s",
                     expect ? expect : "?");
            s = AM_STATUS_ERROR;
        } else if (at >= 0) {
            keep_outputs(res, prog, st, b->row.v[AM_COL_label], rep, output, note, sizeof note);
            snprintf(b->reason, sizeof b->reason, "output differs from %s at byte %lld%s", expect,
                     at, note);
            s = AM_STATUS_WRONG;
        }
        free(expect);
        return s;
    }
    case AM_CHECK_COMMAND: {
        char *cmd = am_program_expand(prog->check_arg, vars);
        char why[200] = "", fate[64];
        int status = cmd ? run_helper(cmd, vars->work, log_fd, log_fd, "AM_OUTPUT", output,
                                      HELPER_TIMEOUT_S, run->cancel_fd, why, sizeof why)
                         : -1;
        free(cmd);
        if (status == 0)
            return AM_STATUS_OK;
        keep_outputs(res, prog, st, b->row.v[AM_COL_label], rep, output, note, sizeof note);
        snprintf(b->reason, sizeof b->reason, "the check command failed (%s)%s",
                 status < 0 ? why : am_proc_describe(status, fate, sizeof fate), note);
        return AM_STATUS_WRONG;
    }
    }
    return AM_STATUS_OK;
}

/* reference: glibc's run for the reference output only; warmup: a warm-up
 * repetition. Neither writes a row. *merit: the figure of merit of an ok
 * run (what --precision judges), else NaN. */
static enum am_progcell_outcome run_cell(struct am_progrun *run, const struct am_program *prog,
                                         struct am_progstate *st, const struct am_allocator *a,
                                         bool second, unsigned rep, struct am_results *res,
                                         struct am_progress *progress, bool reference, bool warmup,
                                         double *merit_out)
{
    char desc[200], label[64];
    *merit_out = NAN;
    /* --aa: the second copy's rows are labelled NAME#2, as workload cells'. */
    snprintf(label, sizeof label, "%s%s", a->name, second ? "#2" : "");
    if (warmup)
        snprintf(desc, sizeof desc, "%s %s warm-up", label, prog->name);
    else if (rep <= run->reps)
        snprintf(desc, sizeof desc, "%s %s rep %u/%u%s", label, prog->name, rep, run->reps,
                 reference ? " (glibc's reference output, not a cell)" : "");
    else
        snprintf(desc, sizeof desc, "%s %s rep %u (for precision)", label, prog->name, rep);
    if (!reference)
        am_progress_start(progress, desc);

    struct rowbuf b;
    memset(&b, 0, sizeof b);
    b.reference = reference;
    b.warmup = warmup;
    snprintf(b.rep, sizeof b.rep, reference ? "for rep %u" : "%u", rep);
    b.row.v[AM_COL_allocator] = a->name;
    b.row.v[AM_COL_label] = label;
    b.row.v[AM_COL_workload] = prog->name;
    b.row.v[AM_COL_rep] = b.rep;
    b.row.v[AM_COL_kind] = "program";

    /* Cells that cannot run here are skipped, with the reason. */
    char tool[128], why[300];
    const char *preload = am_progrun_preload(run, a, why, sizeof why);
    if (why[0]) {
        snprintf(b.reason, sizeof b.reason, "%s", why);
        return finish(res, &b, NULL, progress, AM_STATUS_SKIPPED, NULL);
    }
    for (unsigned i = 0; i < st->n_timed_out; i++) {
        if (strcmp(st->timed_out[i], a->name) == 0) {
            if (st->timed_out_rep[i])
                snprintf(b.reason, sizeof b.reason,
                         "ran out of time in repetition %u; not run again", st->timed_out_rep[i]);
            else
                snprintf(b.reason, sizeof b.reason,
                         "ran out of time in its warm-up; not run again");
            return finish(res, &b, NULL, progress, AM_STATUS_SKIPPED, NULL);
        }
    }
    if (am_program_missing_tool(prog, tool, sizeof tool)) {
        /* Only the built-in suite's packages are scripts/setup.sh's. */
        const char *dir = am_programs_dir();
        bool builtin = prog->origin && strncmp(prog->origin, dir, strlen(dir)) == 0;
        snprintf(b.reason, sizeof b.reason, "%s is not installed%s%s%s", tool,
                 prog->packages ? " (Debian package " : "", prog->packages ? prog->packages : "",
                 !prog->packages ? ""
                 : builtin       ? "; scripts/setup.sh installs it)"
                                 : ")");
        return finish(res, &b, NULL, progress, AM_STATUS_SKIPPED, NULL);
    }
    if (!generate_input(run, prog, st, res)) {
        if (run->cancel_fd >= 0 &&
            poll(&(struct pollfd){.fd = run->cancel_fd, .events = POLLIN}, 1, 0) > 0)
            return AM_PROGCELL_CANCELLED;
        snprintf(b.reason, sizeof b.reason, "%s", st->generate_why);
        return finish(res, &b, NULL, progress, AM_STATUS_ERROR, NULL);
    }

    /* A fresh working directory, the output files beside it. */
    char work[PATH_MAX], input[PATH_MAX], out_path[PATH_MAX + 16], check_path[PATH_MAX + 16];
    snprintf(work, sizeof work, "%s/work", run->tmp);
    remove_tree(work);
    make_dir(work);
    input_dir(run, prog, input, sizeof input);
    snprintf(out_path, sizeof out_path, "%s/stdout", run->tmp);
    snprintf(check_path, sizeof check_path, "%s/output", run->tmp);
    struct am_program_vars vars = {.input = input,
                                   .work = work,
                                   .programs = am_programs_dir(),
                                   .scale = prog->scale[run->profile],
                                   .port = prog->server ? free_port() : 0};
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    double timeout_s = run->timeout_s;
    if (timeout_s <= 0) {
        timeout_s = profile_timeout_s[run->profile];
        double relative = RELATIVE_TIMEOUT * st->reference_wall_s + RELATIVE_SLACK_S;
        if (st->reference_wall_s > 0 && relative < timeout_s)
            timeout_s = relative;
    }

    char heading[300];
    snprintf(heading, sizeof heading, "=== %s (LD_PRELOAD=%.80s)\n", desc, preload ? preload : "");
    log_text(res->log_fd, heading);
    off_t log_from = lseek(res->log_fd, 0, SEEK_END);

    struct measured m;
    memset(&m, 0, sizeof m);
    int rc =
        out_fd < 0
            ? (snprintf(why, sizeof why, "cannot create %.200s: %s", out_path, strerror(errno)), -1)
            : run_processes(run, prog, &vars, preload, out_fd, res->log_fd, timeout_s, &m, why,
                            sizeof why);
    if (out_fd >= 0)
        close(out_fd);

    /* With a server, its output command runs while it still serves. */
    const char *output = out_path;
    enum am_status status = AM_STATUS_OK;
    char helper_why[200] = "";
    int helper_status = 0;
    bool measured_ok = rc == 0 && !m.timed_out && !m.over_limit && !m.cancelled && !m.server_died &&
                       !m.server_not_ready;
    if (measured_ok && prog->output == AM_OUTPUT_COMMAND) {
        char *cmd = am_program_expand(prog->output_arg, &vars);
        int fd = open(check_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        helper_status = cmd && fd >= 0
                            ? run_helper(cmd, work, fd, res->log_fd, NULL, NULL, HELPER_TIMEOUT_S,
                                         run->cancel_fd, helper_why, sizeof helper_why)
                            : -1;
        if (fd >= 0)
            close(fd);
        free(cmd);
        output = check_path;
    }
    stop_processes(&m);
    if (m.cancelled || (run->cancel_fd >= 0 &&
                        poll(&(struct pollfd){.fd = run->cancel_fd, .events = POLLIN}, 1, 0) > 0)) {
        free(m.samples);
        return AM_PROGCELL_CANCELLED;
    }

    char last[200], fate[64];
    am_results_log_tail(res, log_from, last, sizeof last);
    const char *sep = last[0] ? ": " : "";
    if (m.proc.reaped || m.proc.pid > 0) {
        am_proc_describe(m.proc.status, b.exit_status, sizeof b.exit_status);
        b.row.v[AM_COL_exit_status] = m.proc.reaped ? b.exit_status : NULL;
    }
    snprintf(b.wall, sizeof b.wall, "%.3f", m.wall_s);
    b.row.v[AM_COL_wall_s] = b.wall;
    bool server_stopped_by_us = prog->server && m.proc.reaped && WIFSIGNALED(m.proc.status) &&
                                WTERMSIG(m.proc.status) == SIGTERM;

    if (rc != 0) {
        status = AM_STATUS_ERROR;
        snprintf(b.reason, sizeof b.reason, "%s", why);
    } else if (m.timed_out) {
        status = AM_STATUS_TIMEOUT;
        snprintf(b.reason, sizeof b.reason, "still running after %.1f s (the cell's limit%s)",
                 timeout_s,
                 timeout_s < profile_timeout_s[run->profile] && run->timeout_s <= 0
                     ? ": 5 x glibc's time + 2 s"
                     : "");
        if (st->n_timed_out < sizeof st->timed_out / sizeof st->timed_out[0]) {
            st->timed_out[st->n_timed_out] = a->name;
            st->timed_out_rep[st->n_timed_out++] = rep;
        }
    } else if (m.over_limit) {
        status = AM_STATUS_OOM;
        snprintf(b.reason, sizeof b.reason,
                 "the process tree's resident memory passed the %lu MiB limit (--mem-limit)",
                 run->mem_limit_mib);
    } else if (m.server_would_not_stop) {
        status = AM_STATUS_TIMEOUT;
        snprintf(b.reason, sizeof b.reason,
                 "the server did not stop within %g s of SIGTERM (killed)%s%s", SERVER_GRACE_S, sep,
                 last);
    } else if (m.server_not_ready) {
        status = AM_STATUS_ERROR;
        snprintf(b.reason, sizeof b.reason,
                 "the server did not accept connections on port %d "
                 "within %g s%s%s",
                 vars.port, SERVER_READY_S, sep, last);
    } else if (m.server_died || (prog->server && m.proc.reaped && !server_stopped_by_us &&
                                 !(WIFEXITED(m.proc.status) && !WEXITSTATUS(m.proc.status)))) {
        status = WIFSIGNALED(m.proc.status) ? AM_STATUS_CRASH : AM_STATUS_ERROR;
        snprintf(b.reason, sizeof b.reason, "the server %s%s%s",
                 am_proc_describe(m.proc.status, fate, sizeof fate), sep, last);
    } else if (!prog->server && WIFSIGNALED(m.proc.status)) {
        status = AM_STATUS_CRASH;
        snprintf(b.reason, sizeof b.reason, "%s%s%s",
                 am_proc_describe(m.proc.status, fate, sizeof fate), sep, last);
    } else if (!prog->server && WEXITSTATUS(m.proc.status) != 0) {
        status = AM_STATUS_ERROR;
        snprintf(b.reason, sizeof b.reason, "%s%s%s",
                 am_proc_describe(m.proc.status, fate, sizeof fate), sep, last);
    } else if (prog->server && m.client.status != 0) {
        status = AM_STATUS_ERROR;
        snprintf(b.reason, sizeof b.reason, "its driver %s%s%s",
                 am_proc_describe(m.client.status, fate, sizeof fate), sep, last);
    } else if (helper_status != 0) {
        status = AM_STATUS_ERROR;
        snprintf(b.reason, sizeof b.reason, "its output command %s%s%s",
                 helper_status < 0 ? helper_why
                                   : am_proc_describe(helper_status, fate, sizeof fate),
                 sep, last);
    } else {
        if (prog->output == AM_OUTPUT_FILE) {
            char *path = am_program_expand(prog->output_arg, &vars);
            char full[PATH_MAX * 2 + 2];
            snprintf(full, sizeof full, "%s%s%s", path && path[0] != '/' ? work : "",
                     path && path[0] != '/' ? "/" : "", path ? path : "");
            free(path);
            snprintf(check_path, sizeof check_path, "%.*s", (int)sizeof check_path - 1, full);
            output = check_path;
        }
        status = check_output(run, prog, st, a, rep, output, &vars, res->log_fd, res, &b);
    }

    if (status == AM_STATUS_OK) {
        if (strcmp(a->name, "glibc") == 0 && st->reference_wall_s <= 0)
            st->reference_wall_s = m.wall_s;
        const struct rusage *u = &m.proc.usage;
        unsigned long long maxrss = (unsigned long long)u->ru_maxrss * 1024;
        unsigned long long peak = m.peak_rss > maxrss ? m.peak_rss : maxrss;
        snprintf(b.seconds, sizeof b.seconds, "%.6f", m.wall_s);
        snprintf(b.peak, sizeof b.peak, "%llu", peak);
        snprintf(b.user, sizeof b.user, "%.6f", seconds_of(u->ru_utime));
        snprintf(b.sys, sizeof b.sys, "%.6f", seconds_of(u->ru_stime));
        snprintf(b.minflt, sizeof b.minflt, "%ld", u->ru_minflt);
        snprintf(b.majflt, sizeof b.majflt, "%ld", u->ru_majflt);
        snprintf(b.nvcsw, sizeof b.nvcsw, "%ld", u->ru_nvcsw);
        snprintf(b.nivcsw, sizeof b.nivcsw, "%ld", u->ru_nivcsw);
        snprintf(b.samples, sizeof b.samples, "%u", m.n_samples);
        snprintf(b.sampler, sizeof b.sampler, "%.6f", m.sampler_cpu_s);
        b.row.v[AM_COL_complete] = "1";
        b.row.v[AM_COL_seconds] = b.seconds;
        b.row.v[AM_COL_peak_rss_bytes] = b.peak;
        if (m.n_samples) {
            snprintf(b.base, sizeof b.base, "%llu", m.samples[0].rss);
            snprintf(b.end, sizeof b.end, "%llu", m.samples[m.n_samples - 1].rss);
            b.row.v[AM_COL_baseline_rss_bytes] = b.base;
            b.row.v[AM_COL_end_rss_bytes] = b.end;
        }
        b.row.v[AM_COL_user_s] = b.user;
        b.row.v[AM_COL_sys_s] = b.sys;
        b.row.v[AM_COL_minor_faults] = b.minflt;
        b.row.v[AM_COL_major_faults] = b.majflt;
        b.row.v[AM_COL_voluntary_switches] = b.nvcsw;
        b.row.v[AM_COL_involuntary_switches] = b.nivcsw;
        b.row.v[AM_COL_rss_samples] = b.samples;
        b.row.v[AM_COL_sampler_cpu_s] = b.sampler;

        double merit = NAN, p50 = NAN, p99 = NAN;
        const char *unit = "runs/s";
        if (prog->merit != AM_MERIT_NONE) {
            char *text = am_merit_read_text(out_path);
            if (text && prog->merit == AM_MERIT_CSV) {
                merit = am_merit_csv(text, prog->merit_arg, false);
                if (prog->latency_p50)
                    p50 = am_merit_csv(text, prog->latency_p50, true);
                if (prog->latency_p99)
                    p99 = am_merit_csv(text, prog->latency_p99, true);
            } else if (text) {
                merit = am_merit_regex(text, prog->merit_arg);
            }
            free(text);
            if (!isfinite(merit)) {
                status = AM_STATUS_ERROR;
                snprintf(b.reason, sizeof b.reason, "no figure of merit (%s:%s) in its output",
                         prog->merit == AM_MERIT_CSV ? "csv" : "regex", prog->merit_arg);
            }
            unit = prog->merit_unit ? prog->merit_unit : "per s";
        } else {
            merit = m.wall_s > 0 ? 1 / m.wall_s : NAN;
        }
        snprintf(b.throughput, sizeof b.throughput, "%.6g", merit);
        b.row.v[AM_COL_throughput] = isfinite(merit) ? b.throughput : NULL;
        b.row.v[AM_COL_throughput_unit] = unit;
        if (isfinite(p50)) {
            snprintf(b.p50, sizeof b.p50, "%.1f", p50 * 1000);
            b.row.v[AM_COL_latency_p50_us] = b.p50;
        }
        if (isfinite(p99)) {
            snprintf(b.p99, sizeof b.p99, "%.1f", p99 * 1000);
            b.row.v[AM_COL_latency_p99_us] = b.p99;
        }
    }

    char outcome[300] = "";
    if (status == AM_STATUS_OK)
        *merit_out = strtod(b.throughput, NULL);
    if (status == AM_STATUS_OK)
        snprintf(outcome, sizeof outcome, "ok, %.3g %s, peak RSS %.1f MiB (%.2f s)",
                 strtod(b.throughput, NULL), b.row.v[AM_COL_throughput_unit],
                 strtod(b.peak, NULL) / (1 << 20), m.wall_s);
    enum am_progcell_outcome o = finish(res, &b, &m, progress, status, outcome);
    free(m.samples);
    return o;
}

enum am_progcell_outcome am_progcell_run(struct am_progrun *run, const struct am_program *prog,
                                         struct am_progstate *st, const struct am_allocator *a,
                                         bool second, unsigned rep, bool warmup,
                                         struct am_results *res, struct am_progress *progress,
                                         double *merit)
{
    return run_cell(run, prog, st, a, second, rep, res, progress, false, warmup, merit);
}

bool am_progcell_needs_reference(const struct am_program *prog, const struct am_progstate *st)
{
    return prog->check == AM_CHECK_GLIBC && !st->have_reference && !st->reference_failed;
}

void am_progcell_reference(struct am_progrun *run, const struct am_program *prog,
                           struct am_progstate *st, const struct am_allocator *glibc, unsigned rep,
                           struct am_results *res, struct am_progress *progress)
{
    double merit;
    if (run_cell(run, prog, st, glibc, false, rep, res, progress, true, false, &merit) !=
        AM_PROGCELL_OK)
        st->reference_failed = true;
}
