/*
 * spool.h: the recorder's raw output, the "spool", and nothing else. The
 * recording library (recorder.c) appends self-contained chunks of one
 * thread's calls to one file; `allocmark record` then merges the threads by
 * time, turns addresses into block ids and writes the .amtrace (convert.c).
 * The spool lives only between the two and is not a stable format.
 *
 * A chunk is a struct am_spool_chunk, then `bytes` bytes of records. Each
 * record is a tag byte (an enum am_trace_op, AM_TAG_NULL when the call
 * failed), the cycle counter as a varint delta from the chunk's previous
 * record (the first one absolute), then by operation: malloc/valloc/pvalloc
 * size, result; calloc nmemb, elem, result; realloc pointer, size, result,
 * cycles spent in the call; free pointer; the aligned ones alignment, size,
 * result. Pointers are zigzag varint deltas from the chunk's previous
 * pointer. A free is stamped before the call, an allocation after it, a
 * realloc both, so that merging by time never sees an address handed out
 * again before it was freed.
 *
 * Records are numbered per thread from 0; `first` is the number of a chunk's
 * first record. A thread's records may be written twice (a flush at exit or
 * in a signal handler writes what is buffered without taking it from the
 * thread that owns it); the converter keeps each number once.
 *
 * Layering: the trace library; depends on trace/format.h only.
 */
#ifndef AM_TRACE_SPOOL_H
#define AM_TRACE_SPOOL_H

#include <stdint.h>

#define AM_SPOOL_MAGIC   0x50534D41u /* "AMSP" */
#define AM_SPOOL_VERSION 1

enum am_spool_kind {
    AM_SPOOL_EVENTS = 0,
    AM_SPOOL_HELLO = 1, /* a process began recording; payload: its command line */
};

struct am_spool_chunk {
    uint32_t magic;
    uint16_t kind;
    uint16_t version;
    uint32_t bytes;   /* payload bytes after this header */
    uint32_t records; /* records in the payload */
    uint32_t thread;  /* the thread's index in its process, from 0 */
    uint32_t pid;
    uint32_t tid;
    uint32_t spare;
    uint64_t instance; /* random, one per process image (a new one after exec) */
    uint64_t first;    /* the number of the first record */
    uint64_t tsc;      /* the cycle counter when the chunk was written... */
    uint64_t mono_ns;  /* ...and CLOCK_MONOTONIC at that moment */
    uint64_t real_ns;  /* and CLOCK_REALTIME */
};

/* The environment the recorder reads. */
#define AM_SPOOL_ENV       "AM_TRACE_SPOOL"     /* the spool's path; unset: do not record */
#define AM_SPOOL_ENV_FORKS "AM_TRACE_FORKS"     /* "1": children of fork record too */
#define AM_SPOOL_ENV_ALLOC "AM_TRACE_ALLOCATOR" /* the name to store in the trace */
#define AM_SPOOL_ENV_PID   "AM_TRACE_PID"       /* the recorded process; others do not record */

#endif /* AM_TRACE_SPOOL_H */
