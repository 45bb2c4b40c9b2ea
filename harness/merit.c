/*
 * merit.c: a program's own figure of merit read from its output (see
 * merit.h): a column of CSV text, or a number a regular expression finds.
 */
#include "merit.h"

#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Outputs are read for the figure of merit up to this size. */
#define MERIT_READ_MAX (16u << 20)

char *am_merit_read_text(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap && cap < MERIT_READ_MAX) {
            char *grown = realloc(buf, cap * 2 + 1);
            if (!grown)
                break;
            buf = grown;
            cap *= 2;
        } else if (len == cap) {
            break;
        }
    }
    close(fd);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Split a CSV line in place into at most max fields, quotes removed. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *s = line;
    while (n < max) {
        bool quoted = *s == '"';
        if (quoted)
            s++;
        fields[n++] = s;
        char *end = quoted ? strchr(s, '"') : s + strcspn(s, ",");
        if (!end)
            break;
        char *next = quoted ? end + 1 : end;
        bool more = *next == ',';
        *end = '\0';
        if (!more)
            break;
        s = next + 1;
    }
    return n;
}

/* The harmonic mean (mean when `mean`) of a CSV column over every row
 * after the header that names it. NAN when there is none. */
double am_merit_csv(const char *text, const char *column, bool mean)
{
    char *copy = strdup(text);
    if (!copy)
        return NAN;
    int col = -1;
    double sum = 0;
    unsigned n = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        char *f[64];
        int nf = csv_split(line, f, 64);
        if (col < 0) {
            for (int i = 0; i < nf; i++)
                if (strcmp(f[i], column) == 0)
                    col = i;
            continue;
        }
        if (col >= nf)
            continue;
        char *end;
        double v = strtod(f[col], &end);
        if (end == f[col] || !isfinite(v) || v <= 0)
            continue;
        sum += mean ? v : 1 / v;
        n++;
    }
    free(copy);
    if (!n)
        return NAN;
    return mean ? sum / n : n / sum;
}

double am_merit_regex(const char *text, const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE) != 0)
        return NAN;
    double v = NAN;
    regmatch_t m[2];
    const char *s = text;
    while (regexec(&re, s, 2, m, s == text ? 0 : REG_NOTBOL) == 0) {
        if (m[1].rm_so >= 0) {
            char num[64];
            snprintf(num, sizeof num, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), s + m[1].rm_so);
            char *end;
            double x = strtod(num, &end);
            if (end != num)
                v = x;
        }
        if (m[0].rm_eo == 0)
            break;
        s += m[0].rm_eo;
    }
    regfree(&re);
    return v;
}
