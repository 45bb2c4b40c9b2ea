/*
 * text.h: a growing, NUL-terminated text buffer for the writers of the
 * results (JSON, CSV, the quoted command line). An allocation failure is
 * remembered in `failed` and drops the rest; the caller checks it once.
 *
 * Layering: the C library only.
 */
#ifndef AM_TEXT_H
#define AM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct am_text {
    char *s; /* NULL until something is added; free() it */
    size_t len, cap;
    bool failed;
};

void am_text_add(struct am_text *t, const char *s, size_t n);
void am_text_puts(struct am_text *t, const char *s);
__attribute__((format(printf, 2, 3))) void am_text_printf(struct am_text *t, const char *fmt, ...);
void am_text_free(struct am_text *t);

#endif /* AM_TEXT_H */
