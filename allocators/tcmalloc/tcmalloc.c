/*
 * tcmalloc: gperftools' tcmalloc_minimal (Debian libtcmalloc-minimal4) made the
 * process's malloc with LD_PRELOAD. Reference. Statistics from
 * MallocExtension's numeric properties: the heap size less what tcmalloc has
 * already unmapped, and the bytes the application holds.
 */
#include "../reference.h"

#include <errno.h>
#include <gperftools/malloc_extension_c.h>
#include <stdio.h>

static __typeof__(MallocExtension_GetNumericProperty) *tcmalloc_property;
static size_t observed_peak;

static int tcmalloc_init(void)
{
    int err = am__reference_verify("libtcmalloc");
    if (err)
        return err;
    tcmalloc_property = (__typeof__(MallocExtension_GetNumericProperty) *)am__reference_symbol(
        "MallocExtension_GetNumericProperty");
    return tcmalloc_property ? 0 : ENOENT;
}

static size_t property(const char *name)
{
    size_t value;
    return tcmalloc_property(name, &value) ? value : AM_STAT_UNKNOWN;
}

static int tcmalloc_stats(struct am_stats *s)
{
    size_t heap = property("generic.heap_size");
    size_t unmapped = property("tcmalloc.pageheap_unmapped_bytes");
    s->os_bytes =
        heap == AM_STAT_UNKNOWN || unmapped == AM_STAT_UNKNOWN ? AM_STAT_UNKNOWN : heap - unmapped;
    s->live_bytes = property("generic.current_allocated_bytes");
    s->live_blocks = AM_STAT_UNKNOWN;
    am__reference_track_peak(s, &observed_peak);
    am__stats_extra(s, "pageheap_free_bytes", property("tcmalloc.pageheap_free_bytes"));
    am__stats_extra(s, "unmapped_bytes", unmapped);
    return 0;
}

/* The running library's own word: gperftools' tc_version(). */
static const char *tcmalloc_version(char *buf, size_t len)
{
    const char *(*version)(int *, int *, const char **) =
        (const char *(*)(int *, int *, const char **))am__reference_symbol("tc_version");
    if (!version)
        return NULL;
    int major, minor;
    const char *patch;
    snprintf(buf, len, "%s", version(&major, &minor, &patch));
    return buf;
}

static const struct am_deviation tcmalloc_deviations[] = {
    {"alignment_16_any_size", "blocks below 16 B are 8-aligned (C17/C23 allow it)"},
    {"calloc_overflow_sets_enomem", "tcmalloc 2.10 leaves errno unset"},
    {NULL, NULL},
};

const struct am_allocator am_tcmalloc_allocator = {
    .name = "tcmalloc",
    .summary = "gperftools tcmalloc_minimal as the process's malloc (reference)",
    AM_REFERENCE_MEMBERS,
    .preload = "libtcmalloc_minimal.so.4",
    .init = tcmalloc_init,
    .stats = tcmalloc_stats,
    .configured_version = AM_TCMALLOC_CONFIGURED_VERSION,
    .version = tcmalloc_version,
    .deviations = tcmalloc_deviations,
};
