/*
 * mimalloc: Debian's libmimalloc2.0 made the process's malloc with LD_PRELOAD.
 * Reference. Statistics from mi_process_info(): committed bytes now and at
 * peak; mimalloc 2.0 has no cheap public count of live bytes.
 */
#include "../reference.h"

#include <errno.h>
#include <mimalloc.h>

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

const struct am_allocator am_mimalloc_allocator = {
    .name = "mimalloc",
    .summary = "mimalloc 2.0 (Debian libmimalloc2.0) as the process's malloc (reference)",
    AM_REFERENCE_MEMBERS,
    .preload = "libmimalloc.so.2",
    .init = mimalloc_init,
    .stats = mimalloc_stats,
};
