/*
 * mimalloc: Debian's libmimalloc2.0 made the process's malloc with LD_PRELOAD.
 * Reference. Statistics from mi_process_info(): committed bytes now and at
 * peak; mimalloc 2.0 has no cheap public count of live bytes.
 */
#include "../reference.h"

#include <errno.h>
#include <mimalloc.h>
#include <stdio.h>

static __typeof__(mi_process_info) *mimalloc_process_info;

static int mimalloc_init(void)
{
    int err = am__reference_verify("libmimalloc.so");
    if (err)
        return err;
    mimalloc_process_info = (__typeof__(mi_process_info) *)am__reference_symbol("mi_process_info");
    return mimalloc_process_info ? 0 : ENOENT;
}

static int mimalloc_stats(struct am_stats *s)
{
    size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
    mimalloc_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
    s->os_bytes = commit;
    s->os_bytes_peak = peak_commit;
    s->live_bytes = AM_STAT_UNKNOWN;
    s->live_blocks = AM_STAT_UNKNOWN;
    am__stats_extra(s, "rss_bytes", rss);
    am__stats_extra(s, "peak_rss_bytes", peak_rss);
    return 0;
}

/* The running library's own word: mi_version() (major * 100 + minor * 10
 * + patch). */
static const char *mimalloc_version(char *buf, size_t len)
{
    __typeof__(mi_version) *version = (__typeof__(mi_version) *)am__reference_symbol("mi_version");
    if (!version)
        return NULL;
    int v = version();
    snprintf(buf, len, "%d.%d.%d", v / 100, v / 10 % 10, v % 10);
    return buf;
}

static const struct am_deviation mimalloc_deviations[] = {
    {"alignment_16_any_size", "blocks below 16 B are 8-aligned (C17/C23 allow it)"},
    {"aligned_16b_to_4mib", "mimalloc 2.0.9 misaligns posix_memalign(A, A) for A = 256..1024 "
                            "(upstream bug microsoft/mimalloc#700, fixed after 2.0.9)"},
    {"huge_sizes_set_enomem",
     "mimalloc 2.0.9 sets ENOENT for SIZE_MAX and leaves errno unset for other huge sizes"},
    {"calloc_overflow_sets_enomem", "mimalloc 2.0.9 leaves errno unset"},
    {"realloc_failure_enomem", "mimalloc 2.0.9 leaves errno unset"},
    {"realloc_zero_frees",
     "mimalloc returns a minimal block for realloc(p, 0) (C leaves this to the implementation)"},
    {NULL, NULL},
};

const struct am_allocator am_mimalloc_allocator = {
    .name = "mimalloc",
    .summary = "mimalloc 2.0 (Debian libmimalloc2.0) as the process's malloc (reference)",
    AM_REFERENCE_MEMBERS,
    .preload = "libmimalloc.so.2",
    .init = mimalloc_init,
    .stats = mimalloc_stats,
    .configured_version = AM_MIMALLOC_CONFIGURED_VERSION,
    .version = mimalloc_version,
    .deviations = mimalloc_deviations,
};
