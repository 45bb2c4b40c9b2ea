/*
 * json.c: the JSON writer (see json.h).
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

static void quoted(struct am_json *j, const char *s)
{
    am_text_puts(&j->t, "\"");
    char esc[8];
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            esc[2] = '\0';
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
        } else {
            esc[0] = (char)*c;
            esc[1] = '\0';
        }
        am_text_puts(&j->t, esc);
    }
    am_text_puts(&j->t, "\"");
}

/* The comma due before a member or an element, and the member's key. */
static void begin(struct am_json *j, const char *key)
{
    if (j->need_comma[j->depth])
        am_text_puts(&j->t, ",");
    j->need_comma[j->depth] = true;
    if (key) {
        quoted(j, key);
        am_text_puts(&j->t, ":");
    }
}

void am_json_open(struct am_json *j, const char *key, char bracket)
{
    begin(j, key);
    am_text_puts(&j->t, bracket == '{' ? "{" : "[");
    if (j->depth + 1 < AM_JSON_DEPTH)
        j->depth++;
    j->need_comma[j->depth] = false;
}

void am_json_close(struct am_json *j, char bracket)
{
    am_text_puts(&j->t, bracket == '}' ? "}" : "]");
    if (j->depth > 0)
        j->depth--;
}

void am_json_string(struct am_json *j, const char *key, const char *s)
{
    begin(j, key);
    if (s)
        quoted(j, s);
    else
        am_text_puts(&j->t, "null");
}

void am_json_int(struct am_json *j, const char *key, long long v)
{
    begin(j, key);
    am_text_printf(&j->t, "%lld", v);
}

void am_json_double(struct am_json *j, const char *key, double v)
{
    begin(j, key);
    am_text_printf(&j->t, "%.9g", v);
}

void am_json_bool(struct am_json *j, const char *key, bool v)
{
    begin(j, key);
    am_text_puts(&j->t, v ? "true" : "false");
}

void am_json_free(struct am_json *j)
{
    am_text_free(&j->t);
    memset(j, 0, sizeof *j);
}
