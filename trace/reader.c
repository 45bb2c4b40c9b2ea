/*
 * reader.c: the streaming .amtrace reader of trace.h. It reads through a
 * fixed window of the file, so a trace of any length needs only the memory
 * of its live blocks, and every field is checked before it is used: a
 * corrupt or hostile file gets a message, never a crash (the reader is
 * fuzzed: trace/fuzz_reader.c).
 */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WINDOW (1u << 20)
/* The longest event: tag, thread, time and two more varints. */
#define MAX_EVENT (1 + 4 * AM_VARINT_MAX)
/* Header strings longer than this are corrupt. */
#define MAX_STRING      (1u << 20)
#define PAGE_SIZE_BYTES 4096u

static const char *const op_names[AM_TOP_COUNT] = {
    "malloc",        "calloc",   "realloc", "free",    "posix_memalign",
    "aligned_alloc", "memalign", "valloc",  "pvalloc",
};

const char *am_trace_op_name(unsigned op)
{
    return op < AM_TOP_COUNT ? op_names[op] : "?";
}

unsigned am_trace_op_parse(const char *name)
{
    for (unsigned i = 0; i < AM_TOP_COUNT; i++)
        if (!strcmp(name, op_names[i]))
            return i;
    return AM_TOP_COUNT;
}

/* ---------------------------------------------------------------------------
 * The window over the file
 * ------------------------------------------------------------------------ */

static uint64_t offset_of(const struct am_trace_reader *r)
{
    return r->file_pos + r->pos;
}

/* Make at least `want` bytes available from pos, unless the file ends first.
 * Returns 0 or an errno value. */
static int fill(struct am_trace_reader *r, size_t want)
{
    if (r->len - r->pos >= want || r->eof)
        return 0;
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->file_pos += r->pos;
    r->len -= r->pos;
    r->pos = 0;
    while (r->len < r->cap && !r->eof) {
        ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            r->eof = true;
        r->len += (size_t)n;
        if (r->len - r->pos >= want)
            break;
    }
    return 0;
}

static int fail(struct am_trace_reader *r, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct am_trace_reader *r, uint64_t offset, const char *fmt, ...)
{
    int n;
    if (r->next_id) /* past the header */
        n = snprintf(r->error, sizeof r->error, "%s: byte %llu, event %llu: ", r->name,
                     (unsigned long long)offset, (unsigned long long)r->events);
    else
        n = snprintf(r->error, sizeof r->error, "%s: byte %llu (header): ", r->name,
                     (unsigned long long)offset);
    if (n < 0 || (size_t)n >= sizeof r->error)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error + n, sizeof r->error - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A varint at pos, called `what` in messages. */
static int get(struct am_trace_reader *r, uint64_t *v, const char *what)
{
    int err = fill(r, AM_VARINT_MAX);
    if (err)
        return fail(r, offset_of(r), "cannot read: %s", strerror(err));
    int n = am_varint_get(r->buf + r->pos, r->buf + r->len, v);
    if (n == 0)
        return fail(r, offset_of(r), "truncated: the file ends inside %s", what);
    if (n < 0)
        return fail(r, offset_of(r), "corrupt %s: a varint longer than 64 bits", what);
    r->pos += (size_t)n;
    return 0;
}

/* Copy a length-prefixed string into dst (truncated to fit) and skip the rest. */
static int get_string(struct am_trace_reader *r, char *dst, size_t cap, const char *what)
{
    uint64_t len;
    uint64_t at = offset_of(r);
    if (get(r, &len, what) != 0)
        return -1;
    if (len > MAX_STRING)
        return fail(r, at, "corrupt %s: length %llu is over %u", what, (unsigned long long)len,
                    MAX_STRING);
    size_t kept = 0;
    while (len > 0) {
        int err = fill(r, 1);
        if (err)
            return fail(r, offset_of(r), "cannot read: %s", strerror(err));
        if (r->pos == r->len)
            return fail(r, offset_of(r), "truncated: the file ends inside %s", what);
        size_t n = r->len - r->pos;
        if (n > len)
            n = (size_t)len;
        for (size_t i = 0; i < n; i++)
            if (kept + 1 < cap)
                dst[kept++] = (char)(r->buf[r->pos + i] ? r->buf[r->pos + i] : ' ');
        r->pos += n;
        len -= n;
    }
    dst[kept] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------------
 * The header
 * ------------------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int am_trace_open(struct am_trace_reader *r, int fd, const char *name)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->name = name ? name : "trace";
    r->cap = WINDOW;
    void *p = mmap(NULL, r->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(r->error, sizeof r->error, "%s: out of memory", r->name);
        return -1;
    }
    r->buf = p;
    if (am_idmap_init(&r->blocks) != 0) {
        snprintf(r->error, sizeof r->error, "%s: out of memory", r->name);
        return -1;
    }
    int err = fill(r, AM_TRACE_FIXED_HEADER);
    if (err)
        return fail(r, 0, "cannot read: %s", strerror(err));
    if (r->len < AM_TRACE_MAGIC_LEN || memcmp(r->buf, AM_TRACE_MAGIC, AM_TRACE_MAGIC_LEN) != 0)
        return fail(r, 0,
                    "not an allocmark trace: wrong magic (a trace begins with the 8 bytes "
                    "\"AMTRACE\\n\"; see docs/trace-format.md)");
    if (r->len < AM_TRACE_FIXED_HEADER)
        return fail(r, r->len, "truncated: the file ends inside the fixed header (16 bytes)");
    r->h.major = (unsigned)(r->buf[8] | r->buf[9] << 8);
    r->h.minor = (unsigned)(r->buf[10] | r->buf[11] << 8);
    r->h.header_len = le32(r->buf + 12);
    if (r->h.major > AM_TRACE_VERSION_MAJOR)
        return fail(r, 8,
                    "trace format version %u.%u is newer than this allocmark reads (%d.x): "
                    "read it with a newer allocmark",
                    r->h.major, r->h.minor, AM_TRACE_VERSION_MAJOR);
    if (r->h.major == 0)
        return fail(r, 8, "corrupt version 0.%u (versions start at 1)", r->h.minor);
    r->pos = AM_TRACE_FIXED_HEADER;

    uint64_t v, at;
    if (get(r, &r->h.clock, "the clock kind") != 0)
        return -1;
    if (r->h.clock != AM_TRACE_CLOCK_MONOTONIC_NS)
        return fail(r, AM_TRACE_FIXED_HEADER, "unknown clock kind %llu (valid: 1, nanoseconds)",
                    (unsigned long long)r->h.clock);
    if (get(r, &r->h.start_unix_ns, "the start time") != 0)
        return -1;
    at = offset_of(r);
    if (get(r, &v, "the thread count") != 0)
        return -1;
    if (v == 0 || v > AM_TRACE_MAX_THREADS)
        return fail(r, at, "corrupt thread count %llu (valid: 1..%u)", (unsigned long long)v,
                    AM_TRACE_MAX_THREADS);
    r->h.threads = (uint32_t)v;
    p = mmap(NULL, r->h.threads * sizeof *r->h.thread, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(r->error, sizeof r->error, "%s: out of memory for %u threads", r->name,
                 r->h.threads);
        return -1;
    }
    r->h.thread = p;
    for (uint32_t i = 0; i < r->h.threads; i++) {
        if (get(r, &r->h.thread[i].tid, "the thread table") != 0 ||
            get(r, &r->h.thread[i].flags, "the thread table") != 0)
            return -1;
        if (offset_of(r) > r->h.header_len)
            return fail(r, offset_of(r),
                        "corrupt header: the thread table runs past its "
                        "length");
    }
    if (get_string(r, r->h.command, sizeof r->h.command, "the command") != 0 ||
        get_string(r, r->h.allocator, sizeof r->h.allocator, "the allocator name") != 0)
        return -1;
    if (offset_of(r) > r->h.header_len)
        return fail(r, AM_TRACE_FIXED_HEADER - 4,
                    "corrupt header length %llu: its fields end at byte %llu",
                    (unsigned long long)r->h.header_len, (unsigned long long)offset_of(r));
    /* Fields a later minor version added: skip them. */
    while (offset_of(r) < r->h.header_len) {
        err = fill(r, 1);
        if (err)
            return fail(r, offset_of(r), "cannot read: %s", strerror(err));
        if (r->pos == r->len)
            return fail(r, offset_of(r),
                        "truncated: the file ends inside the header (%llu "
                        "bytes long)",
                        (unsigned long long)r->h.header_len);
        uint64_t skip = r->h.header_len - offset_of(r);
        r->pos += skip < r->len - r->pos ? (size_t)skip : r->len - r->pos;
    }
    r->next_id = 1;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

static int end_record(struct am_trace_reader *r, uint64_t at)
{
    if (get(r, &r->end_events, "the end record") != 0 || get(r, &r->end_ns, "the end record") != 0)
        return -1;
    if (r->end_events != r->events)
        return fail(r, at, "corrupt end record: it counts %llu events, the trace holds %llu",
                    (unsigned long long)r->end_events, (unsigned long long)r->events);
    int err = fill(r, 9);
    if (err)
        return fail(r, offset_of(r), "cannot read: %s", strerror(err));
    if (r->len - r->pos < 8 || memcmp(r->buf + r->pos, AM_TRACE_END_MAGIC, 8) != 0)
        return fail(r, offset_of(r), "corrupt end record: \"AMTREND\\n\" expected");
    r->pos += 8;
    if (r->pos != r->len)
        return fail(r, offset_of(r), "unexpected bytes after the end of the trace");
    r->done = true;
    return 0;
}

/* Resolve a reference to a block (next_id - id, 0 for NULL) into ev. */
static int resolve(struct am_trace_reader *r, struct am_trace_event *ev, uint64_t enc, uint64_t at)
{
    if (enc == 0)
        return 0;
    if (enc >= r->next_id)
        return fail(r, at,
                    "%s of a block that was never allocated (reference %llu, only %llu blocks "
                    "allocated so far)",
                    am_trace_op_name(ev->op), (unsigned long long)enc,
                    (unsigned long long)(r->next_id - 1));
    uint64_t id = r->next_id - enc;
    struct am_idmap_entry *e = am_idmap_find(&r->blocks, id);
    if (!e)
        return fail(r, at, "%s of block %llu, which was already freed", am_trace_op_name(ev->op),
                    (unsigned long long)id);
    ev->ref = id;
    ev->ref_size = e->size;
    ev->ref_ns = e->ns;
    ev->ref_user = e->user;
    ev->ref_thread = e->thread;
    ev->ref_index = e->id;
    return 0;
}

static int create(struct am_trace_reader *r, struct am_trace_event *ev)
{
    struct am_idmap_entry *e = am_idmap_insert(&r->blocks, r->next_id);
    if (!e) {
        snprintf(r->error, sizeof r->error, "%s: out of memory for the live blocks", r->name);
        return -1;
    }
    e->size = ev->size;
    e->ns = ev->ns;
    e->thread = ev->thread;
    e->id = ev->index;
    ev->id = r->next_id++;
    r->live += (int64_t)ev->size;
    return 0;
}

int am_trace_next(struct am_trace_reader *r, struct am_trace_event *ev)
{
    if (r->done)
        return 0;
    int err = fill(r, MAX_EVENT);
    if (err)
        return fail(r, offset_of(r), "cannot read: %s", strerror(err));
    uint64_t at = offset_of(r);
    if (r->pos == r->len)
        return fail(r, at,
                    "truncated: the trace ends after event %llu without its end record (the "
                    "recording was cut short or the file was cut)",
                    (unsigned long long)r->events);
    memset(ev, 0, sizeof *ev);
    uint8_t tag = r->buf[r->pos++];
    unsigned op = tag & AM_TAG_OP_MASK;
    if (op == AM_TOP_END) {
        if (tag != AM_TOP_END)
            return fail(r, at, "corrupt end record: tag 0x%02x has flags set", tag);
        return end_record(r, at) == 0 ? 0 : -1;
    }
    if (tag & AM_TAG_RESERVED)
        return fail(r, at, "corrupt event: tag 0x%02x has reserved bits set", tag);
    if (op >= AM_TOP_COUNT)
        return fail(r, at, "corrupt event: unknown operation %u in tag 0x%02x", op, tag);
    ev->op = (uint8_t)op;
    ev->index = r->events;
    ev->offset = at;
    ev->failed = (tag & AM_TAG_NULL) != 0;
    ev->nmemb = 1;
    if (tag & AM_TAG_THREAD) {
        uint64_t t;
        if (get(r, &t, "the thread index") != 0)
            return -1;
        if (t >= r->h.threads)
            return fail(r, at, "corrupt event: thread %llu, the header lists %u",
                        (unsigned long long)t, r->h.threads);
        r->thread = (uint32_t)t;
        r->have_thread = true;
    } else if (!r->have_thread) {
        return fail(r, at, "corrupt event: the first event must name its thread");
    }
    ev->thread = r->thread;
    uint64_t dt, enc = 0;
    if (get(r, &dt, "the time delta") != 0)
        return -1;
    if (r->ns + dt < r->ns)
        return fail(r, at, "corrupt event: its time overflows 64 bits");
    r->ns += dt;
    ev->ns = r->ns;
    int rc = 0;
    switch (op) {
    case AM_TOP_MALLOC:
        rc = get(r, &ev->size, "the size");
        break;
    case AM_TOP_VALLOC:
    case AM_TOP_PVALLOC:
        rc = get(r, &ev->size, "the size");
        ev->align = PAGE_SIZE_BYTES;
        break;
    case AM_TOP_CALLOC:
        rc = get(r, &ev->nmemb, "the element count") || get(r, &ev->elem, "the element size");
        if (rc == 0 && __builtin_mul_overflow(ev->nmemb, ev->elem, &ev->size)) {
            if (!ev->failed)
                return fail(r, at, "corrupt event: calloc(%llu, %llu) overflows yet succeeded",
                            (unsigned long long)ev->nmemb, (unsigned long long)ev->elem);
            ev->size = UINT64_MAX;
        }
        break;
    case AM_TOP_REALLOC:
        rc = get(r, &enc, "the block reference") || get(r, &ev->size, "the size");
        break;
    case AM_TOP_FREE:
        if (ev->failed)
            return fail(r, at, "corrupt event: a free marked as failed (tag 0x%02x)", tag);
        rc = get(r, &enc, "the block reference");
        break;
    default: /* the aligned allocations */
        rc = get(r, &ev->align, "the alignment") || get(r, &ev->size, "the size");
        break;
    }
    if (rc)
        return -1;
    if (!ev->failed && op != AM_TOP_FREE && ev->size > AM_TRACE_MAX_BLOCK)
        return fail(r, at, "corrupt event: a successful %s of %llu bytes (over 2^48)",
                    am_trace_op_name(op), (unsigned long long)ev->size);
    if (resolve(r, ev, enc, at) != 0)
        return -1;

    /* What the event does to the live blocks. */
    bool ends = false, creates = false;
    if (op == AM_TOP_FREE) {
        ends = ev->ref != 0;
    } else if (op == AM_TOP_REALLOC && ev->ref) {
        ends = !ev->failed || ev->size == 0; /* glibc's realloc(p, 0) frees, returns NULL */
        creates = !ev->failed;
    } else {
        creates = !ev->failed;
    }
    if (ends) {
        am_idmap_remove(&r->blocks, ev->ref, NULL);
        r->live -= (int64_t)ev->ref_size;
        ev->ref_ended = true;
    }
    if (creates && create(r, ev) != 0)
        return -1;
    ev->live = r->live;
    ev->live_blocks = r->blocks.count;
    r->events++;
    return 1;
}

void am_trace_set_user(struct am_trace_reader *r, uint64_t id, uint64_t user)
{
    struct am_idmap_entry *e = am_idmap_find(&r->blocks, id);
    if (e)
        e->user = user;
}

void am_trace_close(struct am_trace_reader *r)
{
    if (r->buf)
        munmap(r->buf, r->cap);
    if (r->h.thread)
        munmap(r->h.thread, r->h.threads * sizeof *r->h.thread);
    am_idmap_fini(&r->blocks);
    r->buf = NULL;
    r->h.thread = NULL;
}
