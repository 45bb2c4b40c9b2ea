/*
 * merit.h: a program's own figure of merit (its throughput in a program
 * cell) and its latencies, read from what it printed: a column of CSV text
 * with a header line (redis-benchmark --csv), or the number a regular
 * expression's first group matches.
 *
 * Layering: the C library only.
 */
#ifndef AM_MERIT_H
#define AM_MERIT_H

#include <stdbool.h>

/* A file's text (its first 16 MiB), NUL-terminated; free() it. NULL when it
 * cannot be read. */
char *am_merit_read_text(const char *path);

/* The harmonic mean (the mean when `mean`) of a CSV column over every row
 * after the header line that names it; NAN when there is none. */
double am_merit_csv(const char *text, const char *column, bool mean);

/* The number in the first group of the last match of a POSIX ERE; NAN when
 * none matches. */
double am_merit_regex(const char *text, const char *pattern);

#endif /* AM_MERIT_H */
