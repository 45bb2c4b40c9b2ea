/*
 * writer.c: the buffered .amtrace writer of trace.h. It assigns block ids in
 * the order allocations succeed (1, 2, ...), which is how a reader knows
 * them without their being written, and encodes a reference to a block as
 * its distance from the newest id, so that recent blocks cost a byte.
 */
#include "trace.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BUFFER (1u << 20)

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void flush(struct am_trace_writer *w)
{
    if (!w->err && w->len)
        w->err = write_all(w->fd, w->buf, w->len);
    w->bytes += w->len;
    w->len = 0;
}

static size_t put_string(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    size_t k = am_varint_put(p, n);
    memcpy(p + k, s, n);
    return k + n;
}

int am_trace_writer_open(struct am_trace_writer *w, int fd, const struct am_trace_header *h)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->cap = BUFFER;
    size_t hdr_cap = AM_TRACE_FIXED_HEADER + 4 * AM_VARINT_MAX +
                     (size_t)h->threads * 2 * AM_VARINT_MAX + sizeof h->command +
                     sizeof h->allocator + 2 * AM_VARINT_MAX;
    if (hdr_cap > w->cap)
        w->cap = hdr_cap + BUFFER;
    void *p = mmap(NULL, w->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return ENOMEM;
    w->buf = p;
    uint8_t *b = w->buf;
    memcpy(b, AM_TRACE_MAGIC, AM_TRACE_MAGIC_LEN);
    b[8] = AM_TRACE_VERSION_MAJOR & 0xFF;
    b[9] = AM_TRACE_VERSION_MAJOR >> 8;
    b[10] = AM_TRACE_VERSION_MINOR & 0xFF;
    b[11] = AM_TRACE_VERSION_MINOR >> 8;
    size_t n = AM_TRACE_FIXED_HEADER;
    n += am_varint_put(b + n, AM_TRACE_CLOCK_MONOTONIC_NS);
    n += am_varint_put(b + n, h->start_unix_ns);
    n += am_varint_put(b + n, h->threads);
    for (uint32_t i = 0; i < h->threads; i++) {
        n += am_varint_put(b + n, h->thread[i].tid);
        n += am_varint_put(b + n, h->thread[i].flags);
    }
    n += put_string(b + n, h->command);
    n += put_string(b + n, h->allocator);
    b[12] = (uint8_t)n;
    b[13] = (uint8_t)(n >> 8);
    b[14] = (uint8_t)(n >> 16);
    b[15] = (uint8_t)(n >> 24);
    w->len = n;
    w->next_id = 1;
    flush(w);
    return w->err;
}

uint64_t am_trace_write(struct am_trace_writer *w, const struct am_trace_rec *e)
{
    if (w->cap - w->len < 64)
        flush(w);
    uint8_t *b = w->buf + w->len;
    size_t n = 1;
    uint8_t tag = e->op & AM_TAG_OP_MASK;
    if (e->failed && e->op != AM_TOP_FREE)
        tag |= AM_TAG_NULL;
    if (!w->have_thread || e->thread != w->thread) {
        tag |= AM_TAG_THREAD;
        n += am_varint_put(b + n, e->thread);
        w->thread = e->thread;
        w->have_thread = true;
    }
    b[0] = tag;
    uint64_t ns = e->ns < w->ns ? w->ns : e->ns;
    n += am_varint_put(b + n, ns - w->ns);
    w->ns = ns;
    uint64_t ref = e->ref ? w->next_id - e->ref : 0;
    bool creates;
    switch (e->op) {
    case AM_TOP_CALLOC:
        n += am_varint_put(b + n, e->nmemb);
        n += am_varint_put(b + n, e->elem);
        creates = !e->failed;
        break;
    case AM_TOP_REALLOC:
        n += am_varint_put(b + n, ref);
        n += am_varint_put(b + n, e->size);
        creates = !e->failed;
        break;
    case AM_TOP_FREE:
        n += am_varint_put(b + n, ref);
        creates = false;
        break;
    case AM_TOP_POSIX_MEMALIGN:
    case AM_TOP_ALIGNED_ALLOC:
    case AM_TOP_MEMALIGN:
        n += am_varint_put(b + n, e->align);
        n += am_varint_put(b + n, e->size);
        creates = !e->failed;
        break;
    default: /* malloc, valloc, pvalloc */
        n += am_varint_put(b + n, e->size);
        creates = !e->failed;
        break;
    }
    w->len += n;
    w->events++;
    return creates ? w->next_id++ : 0;
}

int am_trace_writer_close(struct am_trace_writer *w)
{
    if (w->cap - w->len < 64)
        flush(w);
    uint8_t *b = w->buf + w->len;
    size_t n = 0;
    b[n++] = AM_TOP_END;
    n += am_varint_put(b + n, w->events);
    n += am_varint_put(b + n, w->ns);
    memcpy(b + n, AM_TRACE_END_MAGIC, 8);
    w->len += n + 8;
    flush(w);
    munmap(w->buf, w->cap);
    w->buf = NULL;
    return w->err;
}
