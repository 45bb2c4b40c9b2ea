/*
 * csv.h: writing CSV lines: a field is quoted only when it holds a comma, a
 * quote or a line break (a line break becomes a space, so that every record
 * is one line); NULL is an empty field.
 *
 * Layering: harness/text.h and the C library.
 */
#ifndef AM_CSV_H
#define AM_CSV_H

#include "text.h"

void am_csv_field(struct am_text *t, const char *s);
/* n fields, comma-separated, and a newline. */
void am_csv_line(struct am_text *t, const char *const *fields, unsigned n);

#endif /* AM_CSV_H */
