/*
 * dropin.c: the drop-ins of the in-house backends as allocators that
 * `allocmark check` can run (see dropin.h). Each is described like a
 * reference: the process's malloc in a child started with its library as
 * LD_PRELOAD; its statistics and structure walk come from the library's
 * am_dropin_* exports, found with dlsym.
 */
#include "dropin.h"
#include "frontend.h"
#include "reference.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AM_DROPIN_BUILD_DIR
#error "compile with -DAM_DROPIN_BUILD_DIR=\"<build>/allocators\""
#endif

#define MAX_DROPINS 16

struct dropin {
    const struct am_allocator *backend;
    struct am_allocator vtable;
    char name[64];
    char path[4096];
};

static struct dropin table[MAX_DROPINS];
static size_t n_table;

/* The drop-in a child looked up (am_dropin_find): its init checks that this
 * is the library the process really runs on. */
static const struct dropin *expected;
static __typeof__(am_dropin_stats) *lib_stats;
static __typeof__(am_dropin_verify) *lib_verify;

static int dropin_init(void)
{
    if (!expected)
        return EINVAL;
    char soname[80];
    snprintf(soname, sizeof soname, "libam-%s.so", expected->backend->name);
    int err = am__reference_verify(soname);
    if (err)
        return err;
    __typeof__(am_dropin_backend) *backend = am__reference_symbol("am_dropin_backend");
    lib_stats = am__reference_symbol("am_dropin_stats");
    lib_verify = am__reference_symbol("am_dropin_verify");
    if (!backend || !lib_stats || !lib_verify || strcmp(backend(), expected->backend->name) != 0)
        return ENOENT;
    return 0;
}

static int dropin_stats(struct am_stats *out)
{
    return lib_stats(out);
}

static int dropin_verify(char *why, size_t len)
{
    return lib_verify(why, len);
}

static bool is_in_house(const struct am_allocator *a)
{
    return !(a->caps & (AM_CAP_PROCESS_MALLOC | AM_CAP_TEST_ONLY));
}

static void fill(struct dropin *d, const struct am_allocator *backend)
{
    d->backend = backend;
    snprintf(d->name, sizeof d->name, "%s%s", backend->name, AM_DROPIN_SUFFIX);
    const char *dir = getenv("AM_DROPIN_DIR");
    if (dir && *dir)
        snprintf(d->path, sizeof d->path, "%s/libam-%s.so", dir, backend->name);
    else
        snprintf(d->path, sizeof d->path, "%s/%s/libam-%s.so", AM_DROPIN_BUILD_DIR, backend->name,
                 backend->name);
    d->vtable = (struct am_allocator){
        .name = d->name,
        .summary = "an in-house backend as the process's malloc (LD_PRELOAD drop-in)",
        /* What the backend can do, reached the way a reference's is. */
        .caps = (backend->caps & ~AM_CAP_OWN_ERRNO) | AM_CAP_PROCESS_MALLOC | AM_CAP_THREAD_SAFE,
        .max_request = SIZE_MAX,
        .preload = d->path,
        .init = dropin_init,
        .malloc = am__reference_malloc,
        .free = am__reference_free,
        .usable_size = am__reference_usable_size,
        .stats = backend->stats ? dropin_stats : NULL,
        .verify = backend->verify ? dropin_verify : NULL,
    };
}

const struct am_allocator *am_dropin_allocator(const struct am_allocator *backend)
{
    if (!is_in_house(backend))
        return NULL;
    for (size_t i = 0; i < n_table; i++)
        if (table[i].backend == backend)
            return &table[i].vtable;
    if (n_table == MAX_DROPINS)
        return NULL;
    fill(&table[n_table], backend);
    return &table[n_table++].vtable;
}

const struct am_allocator *am_dropin_find(const char *name)
{
    size_t len = strlen(name), suffix = strlen(AM_DROPIN_SUFFIX);
    if (len <= suffix || strcmp(name + len - suffix, AM_DROPIN_SUFFIX) != 0 || len - suffix >= 64)
        return NULL;
    char backend_name[64];
    memcpy(backend_name, name, len - suffix);
    backend_name[len - suffix] = '\0';
    const struct am_allocator *backend = am_find_allocator(backend_name);
    const struct am_allocator *a = backend ? am_dropin_allocator(backend) : NULL;
    if (a)
        expected = (const struct dropin *)((const char *)a - offsetof(struct dropin, vtable));
    return a;
}
