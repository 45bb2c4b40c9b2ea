/*
 * results.c: the files of a run's results directory (see results.h):
 * creating the directory and its `latest` link, appending rows to the CSV
 * files, and writing metadata.json whole.
 */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buildfacts.h"
#include "csv.h"
#include "machine.h"
#include "shellquote.h"
#include "text.h"

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

int am_results_row(struct am_results *r, const struct am_row *row)
{
    struct am_text t = {0};
    am_csv_line(&t, row->v, AM_COL_COUNT);
    int err = t.failed ? ENOMEM : write_all(r->cells_fd, t.s, t.len);
    am_text_free(&t);
    return err;
}

int am_results_series(struct am_results *r, const struct am_row *key, const char *const *fields,
                      unsigned n_fields)
{
    static const enum am_column keys[] = {AM_COL_allocator, AM_COL_label, AM_COL_workload,
                                          AM_COL_threads, AM_COL_rep};
    struct am_text t = {0};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        am_csv_field(&t, key->v[keys[i]]);
        am_text_puts(&t, ",");
    }
    am_csv_line(&t, fields, n_fields);
    int err = t.failed ? ENOMEM : write_all(r->series_fd, t.s, t.len);
    am_text_free(&t);
    return err;
}

/* ---------------------------------------------------------------------------
 * metadata.json
 * ------------------------------------------------------------------------ */

static void iso_time(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
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
    if (info->plan)
        info->plan(&j, info->plan_ctx);
    am_buildfacts_describe(&j);
    am_machine_describe(&j);
    am_buildfacts_libraries(&j);
    am_json_close(&j, '}');
    am_text_puts(&j.t, "\n");
    if (j.t.failed) {
        am_json_free(&j);
        return ENOMEM;
    }

    /* Replace, never rewrite in place: a reader sees the old file or the new. */
    char tmp[PATH_MAX + 32], final[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/.metadata.json.tmp", r->dir);
    snprintf(final, sizeof final, "%s/metadata.json", r->dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : write_all(fd, j.t.s, j.t.len);
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

void am_results_log_tail(const struct am_results *r, off_t from, char *out, size_t len)
{
    out[0] = '\0';
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cells.log", r->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end <= from) {
        close(fd);
        return;
    }
    char buf[2048];
    off_t at = end - from > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : from;
    ssize_t n = pread(fd, buf, (size_t)(end - at), at);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *line = strrchr(buf, '\n');
    snprintf(out, len, "%.*s", (int)len - 1, line ? line + 1 : buf);
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
    struct am_text header = {0};
    am_text_puts(&header, "# ");
    am_text_puts(&header, command ? command : "");
    am_text_puts(&header, "\n");
    free(command);
    struct am_text cells = {0}, series = {0};
    am_text_add(&cells, header.s ? header.s : "", header.len);
    am_text_add(&series, header.s ? header.s : "", header.len);
    for (int c = 0; c < AM_COL_COUNT; c++) {
        if (c)
            am_text_puts(&cells, ",");
        am_text_puts(&cells, am_column_name((enum am_column)c));
    }
    am_text_puts(&cells, "\n");
    am_text_puts(&series, AM_SERIES_HEADER "\n");
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
    am_text_free(&header);
    am_text_free(&cells);
    am_text_free(&series);
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
