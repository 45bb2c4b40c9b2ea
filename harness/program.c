/*
 * program.c: the program description format (see program.h and
 * programs/README.md): parsing and validating `[name]` sections of
 * `key = value` lines, expanding placeholders, finding the tools a program
 * needs, and listing the suite.
 */
#include "program.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AM_PROGRAMS_DIR
#define AM_PROGRAMS_DIR "programs"
#endif

const char *am_programs_dir(void)
{
    const char *env = getenv("AM_PROGRAMS_DIR");
    return env && *env ? env : AM_PROGRAMS_DIR;
}

/* ---------------------------------------------------------------------------
 * The list
 * ------------------------------------------------------------------------ */

static void program_free(struct am_program *p)
{
    if (!p)
        return;
    char **fields[] = {&p->name,        &p->summary,     &p->stresses,  &p->requires,
                       &p->packages,    &p->generate,    &p->server,    &p->command,
                       &p->output_arg,  &p->check_arg,   &p->merit_arg, &p->merit_unit,
                       &p->latency_p50, &p->latency_p99, &p->origin};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        free(*fields[i]);
    if (p->argv) {
        for (char **a = p->argv; *a; a++)
            free(*a);
        free(p->argv);
    }
    free(p);
}

void am_programs_free(struct am_programs *list)
{
    for (size_t i = 0; i < list->n; i++)
        program_free(list->p[i]);
    free(list->p);
    memset(list, 0, sizeof *list);
}

struct am_program *am_programs_find(const struct am_programs *list, const char *name)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->p[i]->name, name) == 0)
            return list->p[i];
    return NULL;
}

int am_programs_add(struct am_programs *list, struct am_program *p)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct am_program **grown = realloc(list->p, cap * sizeof *grown);
        if (!grown)
            return ENOMEM;
        list->p = grown;
        list->cap = cap;
    }
    list->p[list->n++] = p;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------ */

struct parser {
    const char *path;
    int line;
    char *why;
    size_t why_len;
    struct am_programs *list;
    struct am_program *cur; /* the section being read, not yet in list */
    int cur_line;
    unsigned seen; /* bit per key: each key once per section */
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *ps, const char *fmt, ...)
{
    int n = snprintf(ps->why, ps->why_len, "%s:%d: ", ps->path, ps->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->why_len)
        vsnprintf(ps->why + n, ps->why_len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static bool name_is_valid(const char *s)
{
    if (!*s || strlen(s) > 48)
        return false;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *s))
            return false;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static const char *const keys[] = {
    "summary",     "stresses",    "requires",    "packages",   "generate",   "server",
    "command",     "output",      "check",       "merit",      "merit_unit", "latency_p50",
    "latency_p99", "scale.smoke", "scale.quick", "scale.full",
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])

static const char valid_keys[] =
    "summary, stresses, requires, packages, generate, server, command, output, check, merit, "
    "merit_unit, latency_p50, latency_p99, scale.smoke, scale.quick, scale.full";

/* "word:rest" with word one of `words`: the index, and rest in *arg. */
static int prefixed(const char *value, const char *const *words, size_t n, const char **arg)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(words[i]);
        if (strncmp(value, words[i], len) != 0)
            continue;
        if (value[len] == '\0') {
            *arg = NULL;
            return (int)i;
        }
        if (value[len] == ':') {
            *arg = value + len + 1;
            return (int)i;
        }
    }
    return -1;
}

static int end_section(struct parser *ps)
{
    struct am_program *p = ps->cur;
    if (!p)
        return 0;
    ps->cur = NULL;
    int line = ps->line;
    ps->line = ps->cur_line;
    int rc = 0;
    if (!p->command)
        rc = fail(ps, "[%s] has no 'command'", p->name);
    else if ((p->latency_p50 || p->latency_p99) && p->merit != AM_MERIT_CSV)
        rc = fail(ps, "[%s]: latency_p50/latency_p99 need 'merit = csv:COLUMN'", p->name);
    else if (am_programs_find(ps->list, p->name))
        rc = fail(ps, "a program named '%s' is already defined", p->name);
    ps->line = line;
    if (rc == 0 && am_programs_add(ps->list, p) != 0)
        rc = fail(ps, "out of memory");
    if (rc)
        program_free(p);
    return rc;
}

static int set_key(struct parser *ps, const char *key, const char *value)
{
    struct am_program *p = ps->cur;
    size_t k;
    for (k = 0; k < KEY_COUNT && strcmp(keys[k], key) != 0; k++)
        ;
    if (k == KEY_COUNT)
        return fail(ps, "unknown key '%s' (valid: %s)", key, valid_keys);
    if (ps->seen & (1u << k))
        return fail(ps, "'%s' given twice in [%s]", key, p->name);
    ps->seen |= 1u << k;
    if (!*value)
        return fail(ps, "'%s' has no value", key);

    char **text_field = NULL;
    if (!strcmp(key, "summary"))
        text_field = &p->summary;
    else if (!strcmp(key, "stresses"))
        text_field = &p->stresses;
    else if (!strcmp(key, "requires"))
    text_field = &p->requires;
    else if (!strcmp(key, "packages")) text_field = &p->packages;
    else if (!strcmp(key, "generate")) text_field = &p->generate;
    else if (!strcmp(key, "server")) text_field = &p->server;
    else if (!strcmp(key, "command")) text_field = &p->command;
    else if (!strcmp(key, "merit_unit")) text_field = &p->merit_unit;
    else if (!strcmp(key, "latency_p50")) text_field = &p->latency_p50;
    else if (!strcmp(key, "latency_p99")) text_field = &p->latency_p99;
    if (text_field) {
        *text_field = strdup(value);
        return *text_field ? 0 : fail(ps, "out of memory");
    }

    const char *arg = NULL;
    if (!strncmp(key, "scale.", 6)) {
        enum am_profile prof = am_profile_parse(key + 6);
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || *end || v < 1 || v > 1000000)
            return fail(ps, "%s: '%s' is not a whole number from 1 to 1000000", key, value);
        p->scale[prof] = v;
        return 0;
    }
    if (!strcmp(key, "output")) {
        static const char *const words[] = {"stdout", "file", "command"};
        int w = prefixed(value, words, 3, &arg);
        if (w < 0 || (w == 0) != (arg == NULL) || (arg && !*arg))
            return fail(ps, "output: '%s' is not valid (valid: stdout, file:PATH, command:CMD)",
                        value);
        p->output = (enum am_output_source)w;
        if (arg && !(p->output_arg = strdup(arg)))
            return fail(ps, "out of memory");
        return 0;
    }
    if (!strcmp(key, "check")) {
        static const char *const words[] = {"glibc", "command", "expect", "none"};
        int w = prefixed(value, words, 4, &arg);
        if (w < 0 || (w == 0 || w == 3) != (arg == NULL) || (arg && !*arg))
            return fail(ps,
                        "check: '%s' is not valid (valid: glibc, command:CMD, expect:FILE, none)",
                        value);
        p->check = (enum am_check_kind)w;
        if (arg && !(p->check_arg = strdup(arg)))
            return fail(ps, "out of memory");
        return 0;
    }
    /* merit */
    static const char *const words[] = {"none", "csv", "regex"};
    int w = prefixed(value, words, 3, &arg);
    if (w < 0 || (w == 0) != (arg == NULL) || (arg && !*arg))
        return fail(ps, "merit: '%s' is not valid (valid: none, csv:COLUMN, regex:ERE)", value);
    if (w == AM_MERIT_REGEX) {
        regex_t re;
        int err = regcomp(&re, arg, REG_EXTENDED);
        if (err) {
            char msg[128];
            regerror(err, &re, msg, sizeof msg);
            return fail(ps, "merit: regex '%s': %s", arg, msg);
        }
        size_t groups = re.re_nsub;
        regfree(&re);
        if (groups < 1)
            return fail(ps, "merit: regex '%s' needs a group around the number", arg);
    }
    p->merit = (enum am_merit_kind)w;
    if (arg && !(p->merit_arg = strdup(arg)))
        return fail(ps, "out of memory");
    return 0;
}

static int parse_line(struct parser *ps, char *raw)
{
    char *s = trim(raw);
    if (!*s || *s == '#')
        return 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        if (!close || *trim(close + 1))
            return fail(ps, "a section is '[name]' on a line of its own");
        *close = '\0';
        char *name = trim(s + 1);
        if (!name_is_valid(name))
            return fail(ps, "'%s' is not a program name (1 to 48 of A-Z a-z 0-9 . _ -)", name);
        if (end_section(ps))
            return -1;
        struct am_program *p = calloc(1, sizeof *p);
        char origin[PATH_MAX + 32];
        snprintf(origin, sizeof origin, "%s:%d", ps->path, ps->line);
        if (!p || !(p->name = strdup(name)) || !(p->origin = strdup(origin))) {
            program_free(p);
            return fail(ps, "out of memory");
        }
        for (int i = 0; i < AM_PROFILE_COUNT; i++)
            p->scale[i] = 1;
        ps->cur = p;
        ps->cur_line = ps->line;
        ps->seen = 0;
        return 0;
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return fail(ps, "expected 'key = value' or '[name]', not '%s'", s);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (!ps->cur)
        return fail(ps, "'%s' comes before any [name] section", key);
    return set_key(ps, key, value);
}

int am_programs_load_file(struct am_programs *list, const char *path, char *why, size_t why_len)
{
    struct parser ps = {.path = path, .why = why, .why_len = why_len, .list = list};
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL, *joined = NULL;
    size_t cap = 0, joined_len = 0;
    ssize_t n;
    int rc = 0, first_line = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        ps.line++;
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        bool continued = n && line[n - 1] == '\\';
        if (continued)
            line[--n] = ' ';
        /* A line ending in a backslash goes on on the next one. */
        char *grown = realloc(joined, joined_len + (size_t)n + 1);
        if (!grown) {
            rc = fail(&ps, "out of memory");
            break;
        }
        joined = grown;
        if (!joined_len)
            first_line = ps.line;
        memcpy(joined + joined_len, line, (size_t)n + 1);
        joined_len += (size_t)n;
        if (continued)
            continue;
        int at = ps.line;
        ps.line = first_line;
        rc = parse_line(&ps, joined);
        ps.line = at;
        joined_len = 0;
    }
    if (rc == 0 && joined_len)
        rc = parse_line(&ps, joined);
    if (rc == 0)
        rc = end_section(&ps);
    else
        program_free(ps.cur);
    free(line);
    free(joined);
    fclose(f);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int am_programs_load_dir(struct am_programs *list, const char *dir, char *why, size_t why_len)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(why, why_len, "cannot read the program suite %s: %s (AM_PROGRAMS_DIR names it)",
                 dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 9 || strcmp(e->d_name + len - 8, ".program") != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                rc = -1;
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc)
        snprintf(why, why_len, "out of memory");
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = am_programs_load_file(list, path, why, why_len);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

struct am_program *am_program_from_argv(char *const argv[], const char *check_cmd,
                                        const char *expect_file)
{
    struct am_program *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t n = 0;
    while (argv[n])
        n++;
    p->argv = calloc(n + 1, sizeof *p->argv);
    /* The program's name: its file name, made a valid name. */
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    char name[49];
    snprintf(name, sizeof name, "%s", base);
    for (char *c = name; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *c))
            *c = '_';
    p->name = strdup(name[0] ? name : "program");
    p->origin = strdup("command line");
    p->summary = strdup("the command after --");
    bool ok = p->argv && p->name && p->origin && p->summary;
    for (size_t i = 0; ok && i < n; i++)
        ok = (p->argv[i] = strdup(argv[i])) != NULL;
    for (int i = 0; i < AM_PROFILE_COUNT; i++)
        p->scale[i] = 1;
    if (check_cmd) {
        p->check = AM_CHECK_COMMAND;
        ok = ok && (p->check_arg = strdup(check_cmd));
    } else if (expect_file) {
        p->check = AM_CHECK_EXPECT;
        ok = ok && (p->check_arg = strdup(expect_file));
    }
    if (!ok) {
        program_free(p);
        return NULL;
    }
    return p;
}

/* ---------------------------------------------------------------------------
 * Placeholders and tools
 * ------------------------------------------------------------------------ */

char *am_program_expand(const char *text, const struct am_program_vars *vars)
{
    size_t cap = strlen(text) + 1024, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *s = text; *s;) {
        char number[32];
        const char *with = NULL;
        size_t skip = 0;
        if (*s == '{') {
            static const char *const names[] = {"{input}", "{work}", "{programs}", "{scale}",
                                                "{port}"};
            for (size_t i = 0; i < 5 && !with; i++) {
                size_t n = strlen(names[i]);
                if (strncmp(s, names[i], n) != 0)
                    continue;
                skip = n;
                switch (i) {
                case 0:
                    with = vars->input ? vars->input : "";
                    break;
                case 1:
                    with = vars->work ? vars->work : "";
                    break;
                case 2:
                    with = vars->programs ? vars->programs : "";
                    break;
                case 3:
                    snprintf(number, sizeof number, "%ld", vars->scale);
                    with = number;
                    break;
                default:
                    snprintf(number, sizeof number, "%d", vars->port);
                    with = number;
                }
            }
        }
        if (!with) {
            number[0] = *s;
            number[1] = '\0';
            with = number;
            skip = 1;
        }
        size_t n = strlen(with);
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, with, n);
        len += n;
        s += skip;
    }
    out[len] = '\0';
    return out;
}

bool am_program_find_executable(const char *name, char *buf, size_t len)
{
    if (!buf || len == 0)
        return false;
    struct stat st;
    if (strchr(name, '/')) {
        if (stat(name, &st) != 0 || !S_ISREG(st.st_mode) || access(name, X_OK) != 0)
            return false;
        snprintf(buf, len, "%s", name);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, len, "%.*s/%s", (int)n, n ? path : ".", name);
        if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
            return true;
        path += n;
        if (*path == ':')
            path++;
    }
    return false;
}

const char *am_program_missing_tool(const struct am_program *p, char *buf, size_t len)
{
    if (!p->requires)
        return NULL;
    char copy[1024], *save = NULL, found[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", p->requires);
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (!am_program_find_executable(w, found, sizeof found)) {
            snprintf(buf, len, "%s", w);
            return buf;
        }
    }
    return NULL;
}

void am_programs_print(FILE *to, const struct am_programs *list)
{
    fprintf(to, "%-16s %s\n", "program", "summary");
    fprintf(to, "%-16s %s\n", "", "  stresses / needs (Debian package) / scale smoke quick full");
    for (size_t i = 0; i < list->n; i++) {
        const struct am_program *p = list->p[i];
        char tool[128];
        const char *missing = am_program_missing_tool(p, tool, sizeof tool);
        fprintf(to, "%-16s %s\n", p->name, p->summary ? p->summary : "");
        if (p->stresses)
            fprintf(to, "%-16s   stresses: %s\n", "", p->stresses);
        fprintf(to, "%-16s   needs: %s (%s)%s%s\n", "", p->requires ? p->requires : "-",
                p->packages ? p->packages : "-", missing ? "; NOT INSTALLED: " : "",
                missing ? missing : "");
        fprintf(to, "%-16s   scale: %ld %ld %ld\n", "", p->scale[AM_PROFILE_SMOKE],
                p->scale[AM_PROFILE_QUICK], p->scale[AM_PROFILE_FULL]);
    }
}
