/*
 * reference.c: helpers shared by the reference allocators (see reference.h).
 */
#include "reference.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void *am__reference_symbol(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

int am__reference_verify(const char *soname_prefix)
{
    Dl_info info;
    void *process_malloc = am__reference_symbol("malloc");
    if (!process_malloc || !dladdr(process_malloc, &info) || !info.dli_fname)
        return ENOENT;
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    return strncmp(base, soname_prefix, strlen(soname_prefix)) == 0 ? 0 : ENOENT;
}

void am__reference_track_peak(struct am_stats *s, size_t *peak)
{
    if (s->os_bytes != AM_STAT_UNKNOWN && s->os_bytes > *peak)
        *peak = s->os_bytes;
    if (s->os_bytes_peak == 0 || s->os_bytes_peak == AM_STAT_UNKNOWN)
        s->os_bytes_peak = *peak;
}

void *am__reference_malloc(size_t n)
{
    return malloc(n);
}

void am__reference_free(void *p)
{
    free(p);
}

size_t am__reference_usable_size(void *p)
{
    return malloc_usable_size(p);
}
