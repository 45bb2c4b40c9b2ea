/*
 * arglist.c: command-line names to registry entries (see arglist.h).
 */
#include "arglist.h"

#include "workload.h"

#include <string.h>

/* A registry seen through two functions, so one parser serves both. */
struct registry {
    const char *kind; /* "allocator", "workload" */
    size_t count;
    const char *(*name)(size_t i);
    const void *(*find)(const char *name);
};

static const char *allocator_name(size_t i)
{
    return am_registry[i]->name;
}

static const void *find_allocator(const char *name)
{
    return am_find_allocator(name);
}

static const char *workload_name(size_t i)
{
    return am_workloads[i]->name;
}

static const void *find_workload(const char *name)
{
    return am_find_workload(name);
}

static void print_valid(const struct registry *r)
{
    fprintf(stderr, "valid %ss:", r->kind);
    for (size_t i = 0; i < r->count; i++)
        fprintf(stderr, " %s", r->name(i));
    fprintf(stderr, "\n");
}

static int parse(const struct registry *r, const char *who, const char *flag, const char *arg,
                 const void **out, unsigned max)
{
    char copy[4096], *save = NULL;
    if (strlen(arg) >= sizeof copy) {
        fprintf(stderr, "%s: %s: the list is too long\n", who, flag);
        return -1;
    }
    strcpy(copy, arg);
    unsigned n = 0;
    for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        const void *entry = r->find(word);
        if (!entry) {
            fprintf(stderr, "%s: %s: unknown %s '%s'\n", who, flag, r->kind, word);
            print_valid(r);
            return -1;
        }
        bool seen = false;
        for (unsigned k = 0; k < n; k++)
            seen |= out[k] == entry;
        if (seen)
            continue;
        if (n == max) {
            fprintf(stderr, "%s: %s: more than %u %ss\n", who, flag, max, r->kind);
            return -1;
        }
        out[n++] = entry;
    }
    if (n == 0) {
        fprintf(stderr, "%s: %s needs at least one %s name\n", who, flag, r->kind);
        print_valid(r);
        return -1;
    }
    return (int)n;
}

int am_arglist_allocators(const char *who, const char *flag, const char *arg,
                          const struct am_allocator **out, unsigned max)
{
    const struct registry r = {"allocator", am_registry_count, allocator_name, find_allocator};
    return parse(&r, who, flag, arg, (const void **)out, max);
}

int am_arglist_workloads(const char *who, const char *flag, const char *arg,
                         const struct am_workload **out, unsigned max)
{
    const struct registry r = {"workload", am_workload_count, workload_name, find_workload};
    return parse(&r, who, flag, arg, (const void **)out, max);
}

unsigned am_arglist_default_allocators(const struct am_allocator **out, unsigned max)
{
    unsigned n = 0;
    for (size_t i = 0; i < am_registry_count && n < max; i++)
        if (!(am_registry[i]->caps & AM_CAP_TEST_ONLY))
            out[n++] = am_registry[i];
    return n;
}

const struct am_allocator *am_arglist_only_allocator(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "allocmark: %s takes one allocator name\n", argv[0]);
        return NULL;
    }
    const struct am_allocator *a = am_find_allocator(argv[1]);
    if (!a)
        fprintf(stderr, "allocmark: %s: unknown allocator '%s'\n", argv[0], argv[1]);
    return a;
}
