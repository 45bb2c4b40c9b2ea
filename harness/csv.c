/*
 * csv.c: CSV fields and lines (see csv.h).
 */
#include "csv.h"

#include <string.h>

void am_csv_field(struct am_text *t, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        am_text_puts(t, s);
        return;
    }
    am_text_puts(t, "\"");
    for (; *s; s++) {
        if (*s == '"')
            am_text_puts(t, "\"\"");
        else if (*s == '\n' || *s == '\r')
            am_text_puts(t, " ");
        else
            am_text_add(t, s, 1);
    }
    am_text_puts(t, "\"");
}

void am_csv_line(struct am_text *t, const char *const *fields, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (i)
            am_text_puts(t, ",");
        am_csv_field(t, fields[i]);
    }
    am_text_puts(t, "\n");
}
