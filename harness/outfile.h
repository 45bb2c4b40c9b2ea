/*
 * outfile.h: a program cell's output files: their checksum (what is compared
 * with glibc's), a copy kept in the run directory when it is wrong, and
 * where two of them first differ (--expect-output).
 *
 * Layering: the C library only.
 */
#ifndef AM_OUTFILE_H
#define AM_OUTFILE_H

#include <stdbool.h>

/* FNV-1a, 64 bits, of a file; false when it cannot be read. */
bool am_outfile_checksum(const char *path, unsigned long long *sum);

/* Copy a file; 0 or an errno value. */
int am_outfile_copy(const char *from, const char *to);

/* Where two files first differ: -1 when they are the same, -2 when one
 * cannot be read. */
long long am_outfile_first_difference(const char *a, const char *b);

#endif /* AM_OUTFILE_H */
