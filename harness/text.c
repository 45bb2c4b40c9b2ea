/*
 * text.c: the growing text buffer (see text.h).
 */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void am_text_add(struct am_text *t, const char *s, size_t n)
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

void am_text_puts(struct am_text *t, const char *s)
{
    am_text_add(t, s, strlen(s));
}

void am_text_printf(struct am_text *t, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        am_text_add(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void am_text_free(struct am_text *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}
