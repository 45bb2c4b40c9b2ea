/*
 * glibc: the C library's own malloc (ptmalloc2), as every program gets it.
 * Reference. Statistics from mallinfo2(): the main arena's sbrk'd bytes plus
 * mmapped chunks.
 */
#include "../reference.h"

#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdio.h>

static size_t observed_peak;

static int glibc_init(void)
{
    return am__reference_verify("libc.so");
}

static int glibc_stats(struct am_stats *s)
{
    struct mallinfo2 mi = mallinfo2();
    s->os_bytes = mi.arena + mi.hblkhd;
    s->live_bytes = mi.uordblks + mi.hblkhd;
    s->live_blocks = AM_STAT_UNKNOWN;
    am__reference_track_peak(s, &observed_peak);
    am__stats_extra(s, "mmapped_bytes", mi.hblkhd);
    am__stats_extra(s, "free_bytes", mi.fordblks);
    am__stats_extra(s, "trimmable_bytes", mi.keepcost);
    return 0;
}

/* The C library's version: glibc's malloc is part of it. */
static const char *glibc_version(char *buf, size_t len)
{
    snprintf(buf, len, "glibc %s", gnu_get_libc_version());
    return buf;
}

const struct am_allocator am_glibc_allocator = {
    .name = "glibc",
    .summary = "glibc ptmalloc2, the process's default malloc (reference)",
    AM_REFERENCE_MEMBERS,
    .preload = NULL,
    .init = glibc_init,
    .stats = glibc_stats,
    .version = glibc_version,
};
