/*
 * progress.c: the progress line of a run (see progress.h).
 */
#include "progress.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void clock_text(char *buf, size_t len, double seconds)
{
    unsigned s = seconds < 0 ? 0 : seconds > 359999 ? 359999 : (unsigned)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%u:%02u:%02u", s / 3600 % 100, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%u:%02u", s / 60 % 60, s % 60);
}

void am_progress_init(struct am_progress *p, FILE *out, long total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    p->total = total;
    p->start = now_s();
}

double am_progress_elapsed(const struct am_progress *p)
{
    return now_s() - p->start;
}

static void clear_line(struct am_progress *p)
{
    if (p->line_is_drawn)
        fputs("\r\033[K", p->out);
    p->line_is_drawn = false;
}

static void draw(struct am_progress *p)
{
    double elapsed = am_progress_elapsed(p);
    char spent[16], left[24] = "?";
    clock_text(spent, sizeof spent, elapsed);
    if (p->done > 0) {
        left[0] = '~';
        clock_text(left + 1, sizeof left - 1,
                   elapsed / (double)p->done * (double)(p->total - p->done));
    }
    char line[320];
    int n = snprintf(line, sizeof line, "[%ld/%ld] %s | %s elapsed, %s left", p->done, p->total,
                     p->current, spent, left);
    if (p->failed && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " | %ld failed", p->failed);
    /* A line wider than the terminal would wrap, and \r only goes back to the
     * start of its last row. */
    struct winsize ws;
    if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && ws.ws_col <= sizeof line)
        line[ws.ws_col - 1] = '\0';
    clear_line(p);
    fputs(line, p->out);
    fflush(p->out);
    p->line_is_drawn = true;
}

void am_progress_start(struct am_progress *p, const char *cell)
{
    snprintf(p->current, sizeof p->current, "%s", cell);
    if (p->tty)
        draw(p);
}

void am_progress_finish(struct am_progress *p, bool ok, const char *outcome)
{
    p->done++;
    if (!ok)
        p->failed++;
    if (p->tty) {
        if (!ok) {
            clear_line(p);
            fprintf(p->out, "FAILED %s: %s\n", p->current, outcome);
        }
        draw(p);
        return;
    }
    char spent[16];
    clock_text(spent, sizeof spent, am_progress_elapsed(p));
    fprintf(p->out, "[%ld/%ld %s] %s: %s\n", p->done, p->total, spent, p->current, outcome);
    fflush(p->out);
}

void am_progress_note(struct am_progress *p, const char *message)
{
    clear_line(p);
    fprintf(p->out, "%s\n", message);
    fflush(p->out);
}

void am_progress_end(struct am_progress *p)
{
    clear_line(p);
    fflush(p->out);
}
