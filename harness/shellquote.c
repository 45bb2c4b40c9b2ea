/*
 * shellquote.c: the command line, quoted for a shell (see shellquote.h).
 */
#include "shellquote.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

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
    struct am_text t = {0};
    for (int i = 0; i < argc; i++) {
        if (i)
            am_text_puts(&t, " ");
        if (shell_safe(argv[i])) {
            am_text_puts(&t, argv[i]);
            continue;
        }
        am_text_puts(&t, "'");
        for (const char *c = argv[i]; *c; c++) {
            if (*c == '\'')
                am_text_puts(&t, "'\\''");
            else
                am_text_add(&t, c, 1);
        }
        am_text_puts(&t, "'");
    }
    if (!t.s)
        am_text_puts(&t, "");
    if (t.failed) {
        am_text_free(&t);
        return NULL;
    }
    return t.s;
}
