/*
 * record.c: `allocmark record -o OUT [--allocator NAME] [--follow-forks]
 * [--keep-spool] -- CMD ARGS`. The command runs as a child with
 * LD_PRELOAD=<recorder>[:<allocator's library>] and the spool's path in its
 * environment; allocmark ignores SIGINT and SIGTERM while it waits, so that a
 * command stopped by Ctrl-C still leaves a trace of what it did.
 */
#include "record.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"
#include "frontend.h"
#include "spool.h"

#include "cli.h"

#define EXIT_USAGE AM_EXIT_USAGE

void am_record_usage(FILE *to)
{
    fprintf(to, "  record -o OUT.amtrace [--allocator NAME] [--follow-forks] [--keep-spool]\n"
                "         -- CMD [ARGS...]\n"
                "                           run CMD with every malloc-family call recorded\n"
                "                           (docs/trace-format.md); --allocator records on top\n"
                "                           of a reference (jemalloc, ...) or of an in-house\n"
                "                           drop-in (build/allocators/NAME/libam-NAME.so)\n"
                "                           instead of glibc; --follow-forks also writes each\n"
                "                           forked child's trace as OUT.PID.amtrace\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "allocmark record: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage:\n");
    am_record_usage(stderr);
    return EXIT_USAGE;
}

static const char *recorder_path(void)
{
    const char *env = getenv("AM_RECORDER_LIB");
    return env && *env ? env : AM_RECORDER_PATH;
}

/* The library that provides malloc for `name`: NULL for glibc, a
 * reference's preload, or an in-house drop-in built beside allocmark. */
static int allocator_library(const char *name, char *buf, size_t len, const char **out)
{
    *out = NULL;
    if (!strcmp(name, "glibc"))
        return 0;
    const struct am_allocator *a = am_find_allocator(name);
    if (a && a->preload) {
        *out = a->preload;
        return 0;
    }
    snprintf(buf, len, "%s/allocators/%s/libam-%s.so", AM_BUILD_ROOT, name, name);
    if (access(buf, R_OK) == 0) {
        *out = buf;
        return 0;
    }
    fprintf(stderr,
            "allocmark record: no malloc library for allocator '%s' (valid: glibc, a reference "
            "such as jemalloc, or an in-house allocator whose drop-in %s has been built)\n",
            name, buf);
    return EXIT_USAGE;
}

static void describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "status 0x%x", status);
}

static void report(const char *out, const struct am_convert_result *r)
{
    printf("%s: %llu events, %u thread%s, %.3f s, %llu bytes (%.2f bytes/event)\n", out,
           (unsigned long long)r->events, r->threads, r->threads == 1 ? "" : "s",
           (double)r->duration_ns * 1e-9, (unsigned long long)r->bytes,
           r->events ? (double)r->bytes / (double)r->events : 0.0);
    if (r->unknown_frees || r->unknown_reallocs)
        printf("  %llu frees and %llu reallocs of blocks allocated before recording began "
               "(dropped; reallocs kept as mallocs)\n",
               (unsigned long long)r->unknown_frees, (unsigned long long)r->unknown_reallocs);
    if (r->lost)
        printf("  %llu records lost (a thread still running at exit or a full disk)\n",
               (unsigned long long)r->lost);
    if (r->repaired)
        printf("  %llu addresses handed out again before their free was seen (freed first)\n",
               (unsigned long long)r->repaired);
}

int am_record_main(int argc, char **argv)
{
    const char *out = NULL, *allocator = "glibc";
    bool follow = false, keep = false;
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc)
            out = argv[++i];
        else if ((!strcmp(a, "-a") || !strcmp(a, "--allocator")) && i + 1 < argc)
            allocator = argv[++i];
        else if (!strcmp(a, "--follow-forks"))
            follow = true;
        else if (!strcmp(a, "--keep-spool"))
            keep = true;
        else if (a[0] == '-')
            return usage_error("unknown option or missing value: '%s'", a);
        else
            break; /* the command, without "--" */
    }
    if (!out)
        return usage_error("%s", "-o OUT.amtrace is needed");
    if (i >= argc)
        return usage_error("%s", "no command to record (give it after --)");
    char libbuf[4096];
    const char *alloc_lib;
    int rc = allocator_library(allocator, libbuf, sizeof libbuf, &alloc_lib);
    if (rc)
        return rc;
    const char *rec = recorder_path();
    if (access(rec, R_OK) != 0) {
        fprintf(stderr,
                "allocmark record: the recording library %s is missing (build it: "
                "ninja -C build)\n",
                rec);
        return 1;
    }
    char spool[4096];
    snprintf(spool, sizeof spool, "%s.spool", out);
    unlink(spool);

    char preload[8192];
    snprintf(preload, sizeof preload, "%s%s%s", rec, alloc_lib ? ":" : "",
             alloc_lib ? alloc_lib : "");
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_term;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGTERM, &ign, &old_term);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "allocmark record: cannot fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        setenv("LD_PRELOAD", preload, 1);
        setenv(AM_SPOOL_ENV, spool, 1);
        setenv(AM_SPOOL_ENV_ALLOC, allocator, 1);
        char self[32];
        snprintf(self, sizeof self, "%ld", (long)getpid());
        setenv(AM_SPOOL_ENV_PID, self, 1);
        if (follow)
            setenv(AM_SPOOL_ENV_FORKS, "1", 1);
        else
            unsetenv(AM_SPOOL_ENV_FORKS);
        execvp(argv[i], argv + i);
        fprintf(stderr, "allocmark record: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct rusage usage = {0};
    while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    char how[128];
    describe(status, how, sizeof how);
    fprintf(stderr, "allocmark record: %s %s after %.3f s (%.3f s user, %.3f s system)\n", argv[i],
            how, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9,
            (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6,
            (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && access(spool, F_OK) != 0)
        return 1;

    char err[512];
    struct am_spool_summary s;
    if (am_spool_scan(spool, &s, err, sizeof err) != 0) {
        fprintf(stderr, "allocmark record: %s (did the command start?)\n", err);
        return 1;
    }
    long main_inst = am_spool_pick(&s, (uint32_t)pid);
    if (main_inst < 0) {
        fprintf(stderr, "allocmark record: the command recorded nothing (is it statically "
                        "linked, or setuid?)\n");
        free(s.inst);
        if (!keep)
            unlink(spool);
        return 1;
    }
    if (s.bad_tail)
        fprintf(stderr,
                "allocmark record: the last %llu bytes of the spool are not a whole "
                "chunk (the command was killed while writing); ignored\n",
                (unsigned long long)s.bad_tail);
    struct am_convert_result r;
    rc = 0;
    if (am_spool_convert(spool, &s, (size_t)main_inst, out, allocator, &r, err, sizeof err) != 0) {
        fprintf(stderr, "allocmark record: %s\n", err);
        rc = 1;
    } else {
        report(out, &r);
    }
    for (size_t k = 0; k < s.count && rc == 0; k++) {
        if ((long)k == main_inst || s.inst[k].records == 0)
            continue;
        if (!follow || s.inst[k].pid == (uint32_t)pid) {
            fprintf(stderr, "allocmark record: not kept: process %u (%s), %llu records%s\n",
                    s.inst[k].pid, s.inst[k].command, (unsigned long long)s.inst[k].records,
                    s.inst[k].pid == (uint32_t)pid ? " (before an exec)"
                                                   : " (a child; --follow-forks keeps it)");
            continue;
        }
        char child_out[4200];
        snprintf(child_out, sizeof child_out, "%.*s.%u.amtrace",
                 (int)(strlen(out) > 8 && !strcmp(out + strlen(out) - 8, ".amtrace")
                           ? strlen(out) - 8
                           : strlen(out)),
                 out, s.inst[k].pid);
        if (am_spool_convert(spool, &s, k, child_out, allocator, &r, err, sizeof err) == 0)
            report(child_out, &r);
        else
            fprintf(stderr, "allocmark record: child %u: %s\n", s.inst[k].pid, err);
    }
    free(s.inst);
    if (!keep)
        unlink(spool);
    return rc;
}
