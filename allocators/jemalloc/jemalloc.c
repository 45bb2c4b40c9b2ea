/*
 * jemalloc: Debian's libjemalloc2 made the process's malloc with LD_PRELOAD.
 * Reference. Statistics through mallctl: refresh "epoch", then read
 * "stats.mapped" (bytes mapped from the OS), "stats.allocated" (live) and
 * "stats.resident".
 */
#include "../reference.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <jemalloc/jemalloc.h>

static __typeof__(mallctl) *jemalloc_mallctl;
static size_t observed_peak;

static int jemalloc_init(void)
{
    int err = am__reference_verify("libjemalloc.so");
    if (err)
        return err;
    jemalloc_mallctl = (__typeof__(mallctl) *)am__reference_symbol("mallctl");
    return jemalloc_mallctl ? 0 : ENOENT;
}

static size_t read_size(const char *name)
{
    size_t value, len = sizeof value;
    return jemalloc_mallctl(name, &value, &len, NULL, 0) == 0 ? value : AM_STAT_UNKNOWN;
}

static int jemalloc_stats(struct am_stats *s)
{
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    /* Statistics are a snapshot taken when the epoch advances. */
    jemalloc_mallctl("epoch", &epoch, &len, &epoch, len);
    s->os_bytes = read_size("stats.mapped");
    s->live_bytes = read_size("stats.allocated");
    s->live_blocks = AM_STAT_UNKNOWN;
    am__reference_track_peak(s, &observed_peak);
    am__stats_extra(s, "resident_bytes", read_size("stats.resident"));
    am__stats_extra(s, "active_bytes", read_size("stats.active"));
    am__stats_extra(s, "retained_bytes", read_size("stats.retained"));
    return 0;
}

/* The running library's own word: mallctl("version"). */
static const char *jemalloc_version(char *buf, size_t len)
{
    const char *version = NULL;
    size_t n = sizeof version;
    if (!jemalloc_mallctl || jemalloc_mallctl("version", &version, &n, NULL, 0) != 0 || !version)
        return NULL;
    snprintf(buf, len, "%s", version);
    return buf;
}

static const struct am_deviation jemalloc_deviations[] = {
    {"alignment_16_any_size", "blocks below 16 B are 8-aligned (C17/C23 allow it)"},
    {"realloc_failure_enomem", "jemalloc 5.3.0 leaves errno unset on a huge realloc"},
    {NULL, NULL},
};

const struct am_allocator am_jemalloc_allocator = {
    .name = "jemalloc",
    .summary = "jemalloc 5 (Debian libjemalloc2) as the process's malloc (reference)",
    AM_REFERENCE_MEMBERS,
    .preload = "libjemalloc.so.2",
    .init = jemalloc_init,
    .stats = jemalloc_stats,
    .configured_version = AM_JEMALLOC_CONFIGURED_VERSION,
    .version = jemalloc_version,
    .deviations = jemalloc_deviations,
};
