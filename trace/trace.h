/*
 * trace.h: reading and writing .amtrace files (docs/trace-format.md): a
 * streaming reader that checks every event (magic, version, tags, varints,
 * block ids, sizes) and tracks the live blocks, and a buffered writer that
 * gives block ids out. Neither ever holds the whole trace: memory grows with
 * the live blocks only, and all of it comes from mmap, never malloc.
 *
 * Errors name the file, the byte offset and the event number: "app.amtrace:
 * byte 1234, event 56: free of block 9, which event 40 already freed".
 *
 * Layering: the trace library; depends on trace/format.h, trace/idmap.h and
 * the C library.
 */
#ifndef AM_TRACE_H
#define AM_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "idmap.h"

/* The most threads a trace may declare: a sanity bound on a corrupt header. */
#define AM_TRACE_MAX_THREADS (1u << 20)
/* The largest successful allocation a trace may hold: 2^48 bytes. */
#define AM_TRACE_MAX_BLOCK (1ull << 48)

struct am_trace_thread {
    uint64_t tid;   /* the recorded thread's kernel id */
    uint64_t flags; /* bit 0: the process's first thread */
};

struct am_trace_header {
    unsigned major, minor;
    uint64_t header_len; /* bytes before the first event */
    uint64_t clock;      /* AM_TRACE_CLOCK_MONOTONIC_NS */
    uint64_t start_unix_ns;
    uint32_t threads;
    struct am_trace_thread *thread; /* [threads], mmap'd by the reader */
    char command[1024];             /* what was recorded (truncated to fit) */
    char allocator[64];             /* the allocator under the recording */
};

/* One event as read. Sizes are requested bytes; calloc's size is
 * nmemb * elem. */
struct am_trace_event {
    uint64_t index;  /* 0-based event number */
    uint64_t offset; /* byte offset of its tag */
    uint64_t ns;     /* since the recording began */
    uint32_t thread;
    uint8_t op;  /* enum am_trace_op */
    bool failed; /* returned NULL (or an error) */
    uint64_t size, nmemb, elem, align;
    uint64_t id;  /* the block it created, 0 if none */
    uint64_t ref; /* the block it freed or reallocated, 0 if none (NULL) */
    /* When ref != 0: what the reader knew of that block. */
    bool ref_ended; /* ref is no longer live after this event */
    uint64_t ref_size, ref_ns, ref_user;
    uint32_t ref_thread;
    uint64_t ref_index;   /* the event that allocated it */
    int64_t live;         /* requested bytes live after this event */
    uint64_t live_blocks; /* blocks live after this event */
};

struct am_trace_reader {
    int fd;
    const char *name;
    struct am_trace_header h;
    uint8_t *buf; /* mmap'd */
    size_t cap, pos, len;
    uint64_t file_pos; /* file offset of buf[0] */
    bool eof;
    bool done; /* the end record has been read */
    uint64_t events, next_id, ns;
    uint32_t thread;
    bool have_thread;
    int64_t live;
    struct am_idmap blocks;      /* live id -> size, ns, thread, user, event */
    uint64_t end_events, end_ns; /* from the end record */
    char error[512];
};

/* Open fd (read from its current position to EOF) and read the header.
 * Returns 0, or -1 with r->error set. `name` is used in messages. */
int am_trace_open(struct am_trace_reader *r, int fd, const char *name);
/* The next event: 1, 0 after the end record (and nothing after it), or -1
 * with r->error set (a truncated or corrupt trace). */
int am_trace_next(struct am_trace_reader *r, struct am_trace_event *ev);
/* Give the block the last event created a value of the caller's, returned as
 * ref_user by the event that frees or reallocates it. */
void am_trace_set_user(struct am_trace_reader *r, uint64_t id, uint64_t user);
/* Release the reader's memory (not the fd). */
void am_trace_close(struct am_trace_reader *r);

/* ---------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------ */

struct am_trace_writer {
    int fd;
    uint8_t *buf; /* mmap'd */
    size_t cap, len;
    uint64_t next_id, events, ns, bytes;
    uint32_t thread;
    bool have_thread;
    int err; /* the first write error (errno) */
};

/* One event to write: op, thread, ns (not below the previous event's), size
 * (for calloc: nmemb and elem instead), align, failed, ref (a block id this
 * writer gave out, or 0 for NULL). */
struct am_trace_rec {
    uint8_t op;
    bool failed;
    uint32_t thread;
    uint64_t ns, size, nmemb, elem, align, ref;
};

/* Write the header (threads and strings from h) to fd. 0 or an errno. */
int am_trace_writer_open(struct am_trace_writer *w, int fd, const struct am_trace_header *h);
/* Append one event; returns the id of the block it creates (0 if none). */
uint64_t am_trace_write(struct am_trace_writer *w, const struct am_trace_rec *e);
/* Write the end record, flush, release; 0 or the first errno. */
int am_trace_writer_close(struct am_trace_writer *w);

#endif /* AM_TRACE_H */
