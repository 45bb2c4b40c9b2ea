/*
 * results.c: the results directory of a run (see results.h): creating it,
 * the CSV rows, the metadata (build, machine, C library, the run's plan and
 * outcome), and the `latest` link.
 */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "buildinfo.h"
#include "gitversion.h"

/* ---------------------------------------------------------------------------
 * Columns
 * ------------------------------------------------------------------------ */

static const char *const column_names[AM_COL_COUNT] = {
#define AM_COLUMN_NAME(name) #name,
    AM_COLUMNS(AM_COLUMN_NAME)
#undef AM_COLUMN_NAME
};

const char *am_column_name(enum am_column c)
{
    return c < AM_COL_COUNT ? column_names[c] : "?";
}

enum am_column am_column_find(const char *name)
{
    for (int c = 0; c < AM_COL_COUNT; c++)
        if (strcmp(name, column_names[c]) == 0)
            return (enum am_column)c;
    return AM_COL_COUNT;
}

/* ---------------------------------------------------------------------------
 * A growing text buffer
 * ------------------------------------------------------------------------ */

struct text {
    char *s;
    size_t len, cap;
    bool failed;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->s, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void text_printf(struct text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        text_add(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------ */

static void json_raw(struct am_json *j, const char *s)
{
    struct text t = {j->text, j->len, j->cap, j->failed};
    text_puts(&t, s);
    j->text = t.s;
    j->len = t.len;
    j->cap = t.cap;
    j->failed = t.failed;
}

static void json_quoted(struct am_json *j, const char *s)
{
    json_raw(j, "\"");
    char esc[8];
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            esc[2] = '\0';
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
        } else {
            esc[0] = (char)*c;
            esc[1] = '\0';
        }
        json_raw(j, esc);
    }
    json_raw(j, "\"");
}

/* The comma due before a member or an element, and the member's key. */
static void json_begin(struct am_json *j, const char *key)
{
    if (j->need_comma[j->depth])
        json_raw(j, ",");
    j->need_comma[j->depth] = true;
    if (key) {
        json_quoted(j, key);
        json_raw(j, ":");
    }
}

void am_json_open(struct am_json *j, const char *key, char bracket)
{
    json_begin(j, key);
    json_raw(j, bracket == '{' ? "{" : "[");
    if (j->depth + 1 < AM_JSON_DEPTH)
        j->depth++;
    j->need_comma[j->depth] = false;
}

void am_json_close(struct am_json *j, char bracket)
{
    json_raw(j, bracket == '}' ? "}" : "]");
    if (j->depth > 0)
        j->depth--;
}

void am_json_string(struct am_json *j, const char *key, const char *s)
{
    json_begin(j, key);
    if (s)
        json_quoted(j, s);
    else
        json_raw(j, "null");
}

void am_json_int(struct am_json *j, const char *key, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    json_begin(j, key);
    json_raw(j, buf);
}

void am_json_double(struct am_json *j, const char *key, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.9g", v);
    json_begin(j, key);
    json_raw(j, buf);
}

void am_json_bool(struct am_json *j, const char *key, bool v)
{
    json_begin(j, key);
    json_raw(j, v ? "true" : "false");
}

void am_json_members(struct am_json *j, const char *members)
{
    if (!members || !*members)
        return;
    json_begin(j, NULL);
    json_raw(j, members);
}

void am_json_free(struct am_json *j)
{
    free(j->text);
    memset(j, 0, sizeof *j);
}

/* ---------------------------------------------------------------------------
 * The command line, quoted
 * ------------------------------------------------------------------------ */

static bool shell_safe(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+-@%", *s))
            return false;
    return true;
}

char *am_command_line(int argc, char *const argv[])
{
    struct text t = {0};
    for (int i = 0; i < argc; i++) {
        if (i)
            text_puts(&t, " ");
        if (shell_safe(argv[i])) {
            text_puts(&t, argv[i]);
            continue;
        }
        text_puts(&t, "'");
        for (const char *c = argv[i]; *c; c++) {
            if (*c == '\'')
                text_puts(&t, "'\\''");
            else
                text_add(&t, c, 1);
        }
        text_puts(&t, "'");
    }
    if (!t.s)
        text_puts(&t, "");
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

/* ---------------------------------------------------------------------------
 * Writing lines
 * ------------------------------------------------------------------------ */

/* All of buf in one write() where the kernel allows (it does for regular
 * files), retried only for what is left. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static void csv_field(struct text *t, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        text_puts(t, s);
        return;
    }
    text_puts(t, "\"");
    for (; *s; s++) {
        if (*s == '"')
            text_puts(t, "\"\"");
        else if (*s == '\n' || *s == '\r')
            text_puts(t, " ");
        else
            text_add(t, s, 1);
    }
    text_puts(t, "\"");
}

int am_results_row(struct am_results *r, const struct am_row *row)
{
    struct text t = {0};
    for (int c = 0; c < AM_COL_COUNT; c++) {
        if (c)
            text_puts(&t, ",");
        csv_field(&t, row->v[c]);
    }
    text_puts(&t, "\n");
    int err = t.failed ? ENOMEM : write_all(r->cells_fd, t.s, t.len);
    free(t.s);
    return err;
}

int am_results_series(struct am_results *r, const struct am_row *key, const char *line)
{
    static const enum am_column keys[] = {AM_COL_allocator, AM_COL_label, AM_COL_workload,
                                          AM_COL_threads, AM_COL_rep};
    struct text t = {0};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        csv_field(&t, key->v[keys[i]]);
        text_puts(&t, ",");
    }
    text_puts(&t, line);
    text_puts(&t, "\n");
    int err = t.failed ? ENOMEM : write_all(r->series_fd, t.s, t.len);
    free(t.s);
    return err;
}

/* ---------------------------------------------------------------------------
 * Metadata: what results.c finds out by itself
 * ------------------------------------------------------------------------ */

static void iso_time(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The value of the first "key : value" line of /proc/cpuinfo. */
static void cpuinfo_field(const char *key, struct text *out)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    size_t klen = strlen(key);
    while (getline(&line, &cap, f) > 0) {
        if (strncmp(line, key, klen) != 0 ||
            (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':'))
            continue;
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ')
            v++;
        v[strcspn(v, "\n")] = '\0';
        text_puts(out, v);
        break;
    }
    free(line);
    fclose(f);
}

/* The first line of a small file, without its newline. */
static void first_line(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static void json_text_member(struct am_json *j, const char *key, struct text *t)
{
    am_json_string(j, key, t->s ? t->s : "");
    free(t->s);
    memset(t, 0, sizeof *t);
}

static void describe_machine(struct am_json *j)
{
    am_json_open(j, "machine", '{');
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    am_json_string(j, "hostname", host);
    struct text t = {0};
    cpuinfo_field("model name", &t);
    json_text_member(j, "cpu_model", &t);
    cpuinfo_field("flags", &t);
    json_text_member(j, "cpu_flags", &t);
    am_json_int(j, "nproc", sysconf(_SC_NPROCESSORS_ONLN));
    am_json_int(j, "memory_bytes", (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
    am_json_int(j, "page_size", sysconf(_SC_PAGESIZE));
    struct utsname u;
    if (uname(&u) == 0) {
        text_printf(&t, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
        json_text_member(j, "kernel", &t);
    }
    char line[256];
    first_line("/sys/kernel/mm/transparent_hugepage/enabled", line, sizeof line);
    am_json_string(j, "transparent_hugepages", line);
    first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", line,
               sizeof line);
    am_json_string(j, "clocksource", line);
    am_json_close(j, '}');
}

static void describe_build(struct am_json *j)
{
    /* "<40 hex digits>" or "<40 hex digits>-dirty", from `git describe` at
     * build time: the commit this very binary was built from. */
    char commit[64];
    snprintf(commit, sizeof commit, "%s", AM_GIT_DESCRIBE);
    char *dirty = strstr(commit, "-dirty");
    if (dirty)
        *dirty = '\0';
    am_json_open(j, "git", '{');
    am_json_string(j, "commit", commit);
    am_json_bool(j, "dirty", dirty != NULL);
    am_json_string(j, "describe", AM_GIT_DESCRIBE);
    am_json_close(j, '}');

    static const char *const build[][2] = {
        {"compiler", AM_BUILD_COMPILER},
        {"compiler_version", __VERSION__},
        {"buildtype", AM_BUILD_TYPE},
        {"optimization", AM_BUILD_OPTIMIZATION},
        {"ndebug", AM_BUILD_NDEBUG},
        {"sanitize", AM_BUILD_SANITIZE},
        {"warning_level", AM_BUILD_WARNING_LEVEL},
        {"c_args", AM_BUILD_C_ARGS},
        {"project_c_args", AM_BUILD_PROJECT_C_ARGS},
        {"c_link_args", AM_BUILD_C_LINK_ARGS},
        {"meson_version", AM_BUILD_MESON_VERSION},
    };
    am_json_open(j, "build", '{');
    for (size_t i = 0; i < sizeof build / sizeof build[0]; i++)
        am_json_string(j, build[i][0], build[i][1]);
    am_json_bool(j, "debug", AM_BUILD_DEBUG);
    am_json_close(j, '}');
}

/* The C library, and the versions of the references' libraries that meson
 * found at configure time (their runtime versions are in the plan). */
static void describe_libraries(struct am_json *j)
{
    am_json_open(j, "glibc", '{');
    am_json_string(j, "version", gnu_get_libc_version());
    am_json_string(j, "release", gnu_get_libc_release());
    am_json_close(j, '}');
    am_json_open(j, "configured_versions", '{');
    am_json_string(j, "jemalloc", AM_BUILD_JEMALLOC_VERSION);
    am_json_string(j, "mimalloc", AM_BUILD_MIMALLOC_VERSION);
    am_json_string(j, "tcmalloc", AM_BUILD_TCMALLOC_VERSION);
    am_json_close(j, '}');
}

int am_results_metadata(struct am_results *r, const struct am_run_info *info)
{
    struct am_json j = {0};
    am_json_open(&j, NULL, '{');
    am_json_int(&j, "format", 1);
    char *command = am_command_line(info->argc, info->argv);
    am_json_string(&j, "command", command ? command : "");
    free(command);
    am_json_open(&j, "argv", '[');
    for (int i = 0; i < info->argc; i++)
        am_json_string(&j, NULL, info->argv[i]);
    am_json_close(&j, ']');
    char cwd[PATH_MAX];
    am_json_string(&j, "cwd", getcwd(cwd, sizeof cwd) ? cwd : NULL);
    am_json_string(&j, "directory", r->name);
    am_json_string(&j, "started", r->started);
    char now[32];
    iso_time(now, sizeof now);
    am_json_string(&j, "finished", info->finished ? now : NULL);
    am_json_string(&j, "state",
                   !info->finished     ? "running"
                   : info->interrupted ? "interrupted"
                                       : "complete");
    am_json_bool(&j, "interrupted", info->interrupted);
    am_json_int(&j, "cells_total", info->cells_total);
    am_json_int(&j, "cells_done", info->cells_done);
    am_json_int(&j, "cells_failed", info->cells_failed);
    am_json_string(&j, "profile", info->profile);
    am_json_members(&j, info->plan_json);
    describe_build(&j);
    describe_machine(&j);
    am_json_open(&j, "libraries", '{');
    describe_libraries(&j);
    am_json_close(&j, '}');
    am_json_close(&j, '}');
    json_raw(&j, "\n");
    if (j.failed) {
        am_json_free(&j);
        return ENOMEM;
    }

    /* Replace, never rewrite in place: a reader sees the old file or the new. */
    char tmp[PATH_MAX + 32], final[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/.metadata.json.tmp", r->dir);
    snprintf(final, sizeof final, "%s/metadata.json", r->dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : write_all(fd, j.text, j.len);
    if (fd >= 0 && !err && fsync(fd) != 0)
        err = errno;
    if (fd >= 0)
        close(fd);
    if (!err && rename(tmp, final) != 0)
        err = errno;
    am_json_free(&j);
    return err;
}

/* ---------------------------------------------------------------------------
 * The directory
 * ------------------------------------------------------------------------ */

static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

static int open_with_header(const char *dir, const char *file, const char *header, int *fd)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (*fd < 0)
        return errno;
    return header ? write_all(*fd, header, strlen(header)) : 0;
}

/* root/latest -> name, replaced atomically. */
static int point_latest(const char *root, const char *name)
{
    char tmp[PATH_MAX + 64], link[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s/.latest-%ld", root, (long)getpid());
    snprintf(link, sizeof link, "%s/latest", root);
    unlink(tmp);
    if (symlink(name, tmp) != 0)
        return errno;
    if (rename(tmp, link) != 0) {
        int err = errno;
        unlink(tmp);
        return err;
    }
    return 0;
}

int am_results_create(struct am_results *r, const char *root, const char *label,
                      const struct am_run_info *info, char *why, size_t why_len)
{
    memset(r, 0, sizeof *r);
    r->cells_fd = r->series_fd = r->log_fd = -1;
    int err = make_dirs(root);
    if (err) {
        snprintf(why, why_len, "cannot create %s: %s", root, strerror(err));
        return err;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    iso_time(r->started, sizeof r->started);
    for (int attempt = 1;; attempt++) {
        char suffix[16] = "", name[sizeof r->name], dir[sizeof r->dir];
        if (attempt > 1)
            snprintf(suffix, sizeof suffix, "-%d", attempt);
        snprintf(name, sizeof name, "%s%s%s%s", stamp, label && *label ? "-" : "",
                 label ? label : "", suffix);
        snprintf(dir, sizeof dir, "%s/%s", root, name);
        memcpy(r->name, name, sizeof name);
        memcpy(r->dir, dir, sizeof dir);
        if (mkdir(r->dir, 0755) == 0)
            break;
        if (errno != EEXIST || attempt == 100) {
            err = errno;
            snprintf(why, why_len, "cannot create %s: %s", r->dir, strerror(err));
            return err;
        }
    }

    char *command = am_command_line(info->argc, info->argv);
    struct text header = {0};
    text_puts(&header, "# ");
    text_puts(&header, command ? command : "");
    text_puts(&header, "\n");
    free(command);
    struct text cells = {0}, series = {0};
    text_add(&cells, header.s, header.len);
    text_add(&series, header.s, header.len);
    for (int c = 0; c < AM_COL_COUNT; c++) {
        if (c)
            text_puts(&cells, ",");
        text_puts(&cells, column_names[c]);
    }
    text_puts(&cells, "\n");
    text_puts(&series, AM_SERIES_HEADER "\n");
    const char *failed = NULL;
    if (header.failed || cells.failed || series.failed)
        err = ENOMEM, failed = "the header lines";
    else if ((err = open_with_header(r->dir, "cells.csv", cells.s, &r->cells_fd)))
        failed = "cells.csv";
    else if ((err = open_with_header(r->dir, "timeseries.csv", series.s, &r->series_fd)))
        failed = "timeseries.csv";
    else if ((err = open_with_header(r->dir, "cells.log", NULL, &r->log_fd)))
        failed = "cells.log";
    else if ((err = am_results_metadata(r, info)))
        failed = "metadata.json";
    free(header.s);
    free(cells.s);
    free(series.s);
    if (err) {
        snprintf(why, why_len, "cannot write %s in %s: %s", failed, r->dir, strerror(err));
        am_results_close(r);
        return err;
    }
    /* Not fatal: the run's own directory is complete without it. */
    why[0] = '\0';
    err = point_latest(root, r->name);
    if (err)
        snprintf(why, why_len, "cannot point %s/latest at %s: %s", root, r->name, strerror(err));
    return 0;
}

void am_results_close(struct am_results *r)
{
    if (r->cells_fd >= 0)
        fsync(r->cells_fd), close(r->cells_fd);
    if (r->series_fd >= 0)
        fsync(r->series_fd), close(r->series_fd);
    if (r->log_fd >= 0)
        close(r->log_fd);
    r->cells_fd = r->series_fd = r->log_fd = -1;
}
