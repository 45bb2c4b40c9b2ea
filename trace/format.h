/*
 * format.h: the .amtrace format's constants and its one primitive, the
 * unsigned LEB128 varint. docs/trace-format.md is the specification; this
 * header and it change together (and the version with them).
 *
 * Layering: the trace library (trace/) depends only on the C library and the
 * kernel (it never calls malloc, so that it can run inside a process whose
 * allocator is being recorded or measured). The recorder, the tools and the
 * replay workload sit on top of it.
 */
#ifndef AM_TRACE_FORMAT_H
#define AM_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "AMTRACE\n": the first eight bytes of every trace. */
#define AM_TRACE_MAGIC     "AMTRACE\n"
#define AM_TRACE_MAGIC_LEN 8
/* The major version this code reads and writes. A reader refuses a larger
 * major version; minor versions only append fields to the header, which a
 * reader skips. */
#define AM_TRACE_VERSION_MAJOR 1
#define AM_TRACE_VERSION_MINOR 0
/* The fixed part of the header: magic, major (u16), minor (u16), header
 * length (u32), all little-endian. */
#define AM_TRACE_FIXED_HEADER 16
/* The eight bytes that close a complete trace, after the end record. */
#define AM_TRACE_END_MAGIC "AMTREND\n"
/* Clock kinds (the header's first varint). */
#define AM_TRACE_CLOCK_MONOTONIC_NS 1

/* Operations: the low four bits of an event's tag byte. */
enum am_trace_op {
    AM_TOP_MALLOC = 0,
    AM_TOP_CALLOC = 1,
    AM_TOP_REALLOC = 2,
    AM_TOP_FREE = 3,
    AM_TOP_POSIX_MEMALIGN = 4,
    AM_TOP_ALIGNED_ALLOC = 5,
    AM_TOP_MEMALIGN = 6,
    AM_TOP_VALLOC = 7,
    AM_TOP_PVALLOC = 8,
    AM_TOP_COUNT,
    AM_TOP_END = 15 /* the end record, never an event */
};

/* Tag flags above the operation. */
#define AM_TAG_OP_MASK  0x0Fu
#define AM_TAG_THREAD   0x10u /* a thread index follows; otherwise the previous event's */
#define AM_TAG_NULL     0x20u /* the call returned NULL (or an error) */
#define AM_TAG_RESERVED 0xC0u /* must be zero in version 1 */

/* "malloc", "calloc", ...; "?" for anything else. */
const char *am_trace_op_name(unsigned op);
/* AM_TOP_COUNT for an unknown name. */
unsigned am_trace_op_parse(const char *name);

/* The longest varint of a 64-bit value. */
#define AM_VARINT_MAX 10

/* Write v as a varint at p; returns the bytes written (1..10). */
static inline size_t am_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Read a varint from [p, end): returns the bytes it took, 0 when it runs past
 * end (truncated), or -1 when it is longer than a 64-bit value allows. */
static inline int am_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < AM_VARINT_MAX; i++) {
        if (p + i >= end)
            return 0;
        uint8_t b = p[i];
        if (i == 9 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return -1;
}

static inline uint64_t am_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t am_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif /* AM_TRACE_FORMAT_H */
