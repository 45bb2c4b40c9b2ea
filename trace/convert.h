/*
 * convert.h: turning a recorder's spool (spool.h) into .amtrace files: pick
 * the process image to keep, merge its threads' records by time, replace
 * addresses by block ids, and write the trace (trace.h).
 *
 * Layering: the trace library's tool side (it may call malloc: it runs in
 * allocmark, never in a recorded or measured process); depends on
 * trace/trace.h, trace/spool.h and the C library.
 */
#ifndef AM_TRACE_CONVERT_H
#define AM_TRACE_CONVERT_H

#include <stddef.h>
#include <stdint.h>

/* One process image the spool holds (a process, or one after an exec). */
struct am_spool_instance {
    uint64_t id;
    uint32_t pid;
    uint64_t records; /* as counted by its chunks, duplicates included */
    char command[1024];
};

struct am_spool_summary {
    struct am_spool_instance *inst; /* malloc'd; free() it */
    size_t count;
    uint64_t bytes;    /* spool size */
    uint64_t bad_tail; /* bytes at the end that were not a whole chunk */
};

/* Read the spool's chunk headers. 0, or -1 with err set. */
int am_spool_scan(const char *spool, struct am_spool_summary *s, char *err, size_t errlen);

/* Which instance to keep: the last image of pid `root_pid` that recorded
 * anything (0: the image with the most records); -1 when there is none. */
long am_spool_pick(const struct am_spool_summary *s, uint32_t root_pid);

struct am_convert_result {
    uint64_t events;
    uint32_t threads;
    uint64_t bytes;            /* the trace's size */
    uint64_t duplicates;       /* records written twice in the spool, kept once */
    uint64_t lost;             /* records missing in the middle of a thread */
    uint64_t unknown_frees;    /* frees of addresses the recording never saw allocated */
    uint64_t unknown_reallocs; /* reallocs of such addresses, kept as mallocs */
    uint64_t repaired;         /* an address handed out while still live: freed first */
    uint64_t duration_ns;
};

/* Convert instance `which` of the spool to a trace at `out`. `allocator` is
 * stored in the header. 0, or -1 with err set. */
int am_spool_convert(const char *spool, const struct am_spool_summary *s, size_t which,
                     const char *out, const char *allocator, struct am_convert_result *r, char *err,
                     size_t errlen);

#endif /* AM_TRACE_CONVERT_H */
