/*
 * json.h: a small JSON writer: members and elements get their commas by
 * themselves. Every writer takes the member's key, or NULL for an array
 * element. On allocation failure the text is dropped and `failed` set.
 *
 * Layering: harness/text.h and the C library.
 */
#ifndef AM_JSON_H
#define AM_JSON_H

#include <stdbool.h>

#include "text.h"

#define AM_JSON_DEPTH 16
struct am_json {
    struct am_text t; /* the document so far */
    int depth;
    bool need_comma[AM_JSON_DEPTH];
};

void am_json_open(struct am_json *j, const char *key, char bracket);    /* '{' or '[' */
void am_json_close(struct am_json *j, char bracket);                    /* '}' or ']' */
void am_json_string(struct am_json *j, const char *key, const char *s); /* NULL: null */
void am_json_int(struct am_json *j, const char *key, long long v);
void am_json_double(struct am_json *j, const char *key, double v);
void am_json_bool(struct am_json *j, const char *key, bool v);
void am_json_free(struct am_json *j);

#endif /* AM_JSON_H */
