/*
 * fuzz_allocator.c: the allocator fuzz target. Its input is a program of
 * allocation calls on one in-house backend (through the front end); a shadow
 * model of every live block checks each result, and at the end of the input
 * every block is read back and freed and the backend's own check must pass.
 *
 * Input: a sequence of operations, each an opcode byte then its operands; an
 * operation cut short by the end of the input is not run.
 *   op & 7: 0 malloc, 1 calloc, 2 realloc, 3 free, 4 posix_memalign,
 *           5 aligned_alloc, 6 usable_size (then write up to it), 7 check
 *   slot byte (every op but check): one of SLOTS shadow slots
 *   size (2 bytes, little-endian; malloc, calloc, realloc, memalign, aligned):
 *           top two bits 0: 0..255; 1: 0..16383; 2: up to 1 MiB;
 *           3: an edge size (powers of two and their neighbours, up to
 *           32 MiB, and sizes no allocator can serve, including the
 *           backend's max_request + 1 and SIZE_MAX)
 *   calloc: one more byte: below 128, nmemb 1..16 dividing the size;
 *           from 128, nmemb = 2^(b % 64) of the size (products that overflow)
 *   align byte (memalign, aligned): below 0xe0, 2^(b % 21); from 0xe0, an
 *           invalid or extreme alignment (0, 3, 24, 2^63...)
 * An operation on an occupied slot (malloc, calloc, memalign, aligned) frees
 * the old block first, checking it. Requests between what the model allows
 * live (LIVE_CAP) and what no machine can serve (NEVER_FITS) are skipped, so
 * the fuzzer neither runs out of memory nor depends on the machine.
 *
 * What is checked: a request that fits returns a block (never NULL), aligned
 * to 16 and to the alignment asked, not overlapping any live block, its
 * usable size at least what was asked; calloc's bytes are zero; every byte
 * written keeps its value until the block is freed or reallocated (realloc
 * keeps min(old, new) bytes, or leaves the block intact when it fails); a
 * request that cannot fit returns NULL with errno ENOMEM (EINVAL for a bad
 * alignment); free never changes errno; am_verify passes.
 */
#include "fuzz_target.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

#define SLOTS 64
/* The most requested bytes the model keeps live at once. */
#define LIVE_CAP ((size_t)64 << 20)
/* No request this large is ever served (user space is 2^47 bytes). */
#define NEVER_FITS ((size_t)1 << 47)

struct block {
    unsigned char *p; /* NULL: the slot is empty */
    size_t size;      /* bytes the model wrote and expects back */
    uint8_t tag;      /* the byte pattern's seed */
};

static struct {
    struct am_heap heap;
    bool open;
    struct block slot[SLOTS];
    size_t live; /* sum of the sizes */
    uint8_t next_tag;
    unsigned long op; /* operations run in this input, for messages */
} fz;

/* ---------------------------------------------------------------------------
 * Failing loudly
 * ------------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    char name[64];
    fprintf(stderr, "fuzz %s: operation %lu: ", am_heap_label(&fz.heap, name, sizeof name), fz.op);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---------------------------------------------------------------------------
 * Contents: every byte follows from the block's tag and its offset
 * ------------------------------------------------------------------------ */

/* The model's own loops over every byte are no coverage worth guiding the
 * fuzzer by, and libFuzzer's comparison hooks in them cost more than the
 * allocator's work: clang leaves them uninstrumented. */
#if defined(__clang__)
#define NOT_COVERED __attribute__((no_sanitize("coverage")))
#else
#define NOT_COVERED
#endif

static unsigned char pattern(uint8_t tag, size_t i)
{
    return (unsigned char)(tag ^ (i * 29u) ^ (i >> 9));
}

/* The bytes the model writes and checks: all of a block's first 64 KiB, then
 * the first 128 bytes of every 64 KiB. Which bytes are tracked depends on the
 * offset alone, so it survives realloc; writing every byte of megabyte
 * blocks would leave the fuzzer doing little else. */
#define TRACK_ALL   ((size_t)64 << 10)
#define TRACK_PAGE  ((size_t)64 << 10)
#define TRACK_FIRST ((size_t)128)

/* The next run of tracked bytes [*a, *b) within [from, to); false if none. */
static bool tracked_run(size_t from, size_t to, size_t *a, size_t *b)
{
    while (from < to) {
        size_t end;
        if (from < TRACK_ALL) {
            end = TRACK_ALL;
        } else {
            size_t page = from - from % TRACK_PAGE;
            end = page + TRACK_FIRST;
            if (from >= end) {
                from = page + TRACK_PAGE;
                continue;
            }
        }
        *a = from;
        *b = end < to ? end : to;
        return true;
    }
    return false;
}

NOT_COVERED static void fill(unsigned char *p, size_t from, size_t to, uint8_t tag)
{
    size_t a, b;
    for (; tracked_run(from, to, &a, &b); from = b)
        for (size_t i = a; i < b; i++)
            p[i] = pattern(tag, i);
}

/* The first tracked byte of p[from, to) that is not `pattern`, or to; with
 * zero set, the first that is not zero. */
NOT_COVERED static size_t mismatch(const unsigned char *p, size_t from, size_t to, uint8_t tag,
                                   bool zero)
{
    size_t a, b;
    for (; tracked_run(from, to, &a, &b); from = b)
        for (size_t i = a; i < b; i++)
            if (p[i] != (zero ? 0 : pattern(tag, i)))
                return i;
    return to;
}

static void verify(const struct block *b, size_t n, const char *when)
{
    size_t i = mismatch(b->p, 0, n, b->tag, false);
    if (i < n)
        fail("%s: byte %zu of the block at %p (%zu bytes) is 0x%02x, expected 0x%02x", when, i,
             (void *)b->p, b->size, b->p[i], pattern(b->tag, i));
}

/* ---------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------ */

static void forget(unsigned s)
{
    fz.live -= fz.slot[s].size;
    fz.slot[s].p = NULL;
    fz.slot[s].size = 0;
}

/* A new block p of n bytes in slot s: check it, then fill it. */
static void adopt(unsigned s, void *p, size_t n, size_t align, bool zeroed, const char *what)
{
    uintptr_t at = (uintptr_t)p;
    size_t need = align > AM_MIN_ALIGN ? align : AM_MIN_ALIGN;
    if (at % need)
        fail("%s(%zu) returned %p, not aligned to %zu", what, n, p, need);
    size_t usable = am_usable_size(&fz.heap, p);
    if (usable != AM_STAT_UNKNOWN && usable < n)
        fail("%s(%zu) returned %p whose usable size is %zu", what, n, p, usable);
    uintptr_t end = at + (n ? n : 1);
    for (unsigned j = 0; j < SLOTS; j++) {
        const struct block *o = &fz.slot[j];
        if (j == s || !o->p)
            continue;
        uintptr_t o_end = (uintptr_t)o->p + (o->size ? o->size : 1);
        if (at < o_end && (uintptr_t)o->p < end)
            fail("%s(%zu) returned %p, overlapping the live block at %p (%zu bytes)", what, n, p,
                 (void *)o->p, o->size);
    }
    size_t nonzero = zeroed ? mismatch(p, 0, n, 0, true) : n;
    if (nonzero < n)
        fail("%s(%zu) returned %p whose byte %zu is 0x%02x, not zero", what, n, p, nonzero,
             ((unsigned char *)p)[nonzero]);
    struct block *b = &fz.slot[s];
    *b = (struct block){.p = p, .size = n, .tag = fz.next_tag++};
    fz.live += n;
    fill(b->p, 0, n, b->tag);
}

static void release(unsigned s)
{
    struct block *b = &fz.slot[s];
    if (!b->p)
        return;
    verify(b, b->size, "before free");
    errno = 4242;
    am_free(&fz.heap, b->p);
    if (errno != 4242)
        fail("free(%p) changed errno to %d", (void *)b->p, errno);
    forget(s);
}

/* Whether a request must be served, must fail, may do either (failing with
 * ENOMEM), or is not made at all. */
enum expect { MUST_FIT, MUST_FAIL, MAY_FIT, SKIP };

static enum expect expect_for(size_t n, size_t freed_first)
{
    if (n > fz.heap.impl->max_request || n >= NEVER_FITS)
        return MUST_FAIL;
    if (n <= LIVE_CAP && fz.live - freed_first + n <= LIVE_CAP)
        return MUST_FIT;
    return SKIP;
}

static void expect_failure(void *p, const char *what, size_t n, int want)
{
    if (p)
        fail("%s(%zu) succeeded at %p; it cannot", what, n, p);
    if (errno != want)
        fail("%s(%zu) failed with errno %d, expected %d", what, n, errno, want);
}

/* ---------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------ */

struct input {
    const uint8_t *at, *end;
};

static bool take(struct input *in, size_t n, uint8_t *out)
{
    if ((size_t)(in->end - in->at) < n)
        return false;
    memcpy(out, in->at, n);
    in->at += n;
    return true;
}

static bool take_size(struct input *in, size_t *n)
{
    uint8_t b[2];
    if (!take(in, 2, b))
        return false;
    unsigned v = b[0] | (unsigned)b[1] << 8;
    switch (v >> 14) {
    case 0:
        *n = v & 0xff;
        break;
    case 1:
        *n = v & 0x3fff;
        break;
    case 2:
        *n = ((size_t)(v & 0x3fff) << 6) | (v & 0x3f);
        break;
    default: {
        const size_t max = fz.heap.impl->max_request;
        const size_t edges[] = {
            0,
            1,
            15,
            16,
            17,
            31,
            32,
            33,
            48,
            63,
            64,
            65,
            127,
            128,
            129,
            255,
            256,
            257,
            1023,
            1024,
            1025,
            4095,
            4096,
            4097,
            8192,
            16383,
            16384,
            16385,
            32767,
            32768,
            32769,
            65535,
            65536,
            65537,
            (size_t)1 << 20,
            ((size_t)1 << 20) + 1,
            ((size_t)4 << 20) - 1,
            (size_t)4 << 20,
            ((size_t)4 << 20) + 1,
            ((size_t)32 << 20) + 16,
            max + 1,
            NEVER_FITS,
            (size_t)PTRDIFF_MAX,
            (size_t)PTRDIFF_MAX + 1,
            SIZE_MAX - 4096,
            SIZE_MAX - 16,
            SIZE_MAX,
        };
        *n = edges[(v & 0x3fff) % (sizeof edges / sizeof edges[0])];
    }
    }
    return true;
}

static bool take_align(struct input *in, size_t *align)
{
    uint8_t b;
    if (!take(in, 1, &b))
        return false;
    static const size_t odd[] = {0, 3, 24, 48, 4097, 12, (size_t)1 << 63, (size_t)1 << 40};
    *align = b < 0xe0 ? (size_t)1 << (b % 21) : odd[b % (sizeof odd / sizeof odd[0])];
    return true;
}

static bool is_power_of_two(size_t x)
{
    return x && !(x & (x - 1));
}

/* ---------------------------------------------------------------------------
 * The operations
 * ------------------------------------------------------------------------ */

static void op_malloc(unsigned s, size_t n)
{
    enum expect e = expect_for(n, fz.slot[s].size);
    if (e == SKIP)
        return;
    release(s);
    errno = 0;
    void *p = am_malloc(&fz.heap, n);
    if (e == MUST_FAIL)
        expect_failure(p, "malloc", n, ENOMEM);
    else if (!p)
        fail("malloc(%zu) returned NULL (errno %d)", n, errno);
    else
        adopt(s, p, n, 0, false, "malloc");
}

static void op_calloc(unsigned s, size_t n, uint8_t split)
{
    size_t nmemb, each, total;
    if (split < 128) {
        nmemb = split % 16 + 1;
        each = n / nmemb;
    } else {
        nmemb = (size_t)1 << (split % 64);
        each = n;
    }
    bool overflows = __builtin_mul_overflow(nmemb, each, &total);
    enum expect e = overflows ? MUST_FAIL : expect_for(total, fz.slot[s].size);
    if (e == SKIP)
        return;
    release(s);
    errno = 0;
    void *p = am_calloc(&fz.heap, nmemb, each);
    if (e == MUST_FAIL)
        expect_failure(p, "calloc", total, ENOMEM);
    else if (!p)
        fail("calloc(%zu, %zu) returned NULL (errno %d)", nmemb, each, errno);
    else
        adopt(s, p, total, 0, true, "calloc");
}

static void op_realloc(unsigned s, size_t n)
{
    struct block *b = &fz.slot[s];
    if (!b->p) {
        enum expect e = expect_for(n, 0);
        if (e == SKIP)
            return;
        errno = 0;
        void *p = am_realloc(&fz.heap, NULL, n);
        if (e == MUST_FAIL)
            expect_failure(p, "realloc(NULL)", n, ENOMEM);
        else if (!p)
            fail("realloc(NULL, %zu) returned NULL (errno %d)", n, errno);
        else
            adopt(s, p, n, 0, false, "realloc(NULL)");
        return;
    }
    verify(b, b->size, "before realloc");
    if (n == 0) { /* glibc's choice, which the front end follows: free, NULL */
        void *q = am_realloc(&fz.heap, b->p, 0);
        if (q)
            fail("realloc(%p, 0) returned %p, not NULL", (void *)b->p, q);
        forget(s);
        return;
    }
    enum expect e = expect_for(n, b->size);
    if (e == SKIP)
        return;
    errno = 0;
    unsigned char *q = am_realloc(&fz.heap, b->p, n);
    if (!q) {
        if (e == MUST_FIT)
            fail("realloc(%p, %zu) returned NULL (errno %d)", (void *)b->p, n, errno);
        if (errno != ENOMEM)
            fail("realloc(%p, %zu) failed with errno %d, not ENOMEM", (void *)b->p, n, errno);
        verify(b, b->size, "after a failed realloc");
        return;
    }
    if (e == MUST_FAIL)
        fail("realloc(%p, %zu) succeeded at %p; it cannot", (void *)b->p, n, (void *)q);
    size_t kept = b->size < n ? b->size : n;
    struct block moved = {.p = q, .size = kept, .tag = b->tag};
    verify(&moved, kept, "after realloc");
    /* Check the new block as new (alignment, usable size, overlap), keeping
     * the old contents' tag so that the kept bytes stay what they were. */
    uint8_t tag = b->tag;
    forget(s);
    uint8_t saved_tag = fz.next_tag;
    fz.next_tag = tag;
    adopt(s, q, n, 0, false, "realloc");
    fz.next_tag = saved_tag;
}

static void op_aligned(unsigned s, size_t n, size_t align, bool posix)
{
    bool bad_align =
        posix ? !is_power_of_two(align) || align % sizeof(void *) != 0 : !is_power_of_two(align);
    enum expect e = bad_align ? MUST_FAIL : expect_for(n, fz.slot[s].size);
    size_t max = fz.heap.impl->max_request;
    if (!bad_align && (align > max || n > max - align))
        e = MUST_FAIL;
    /* An alignment beyond what the model lets live may cost more address
     * space than there is: it may fail (with ENOMEM), not must. */
    if (e == MUST_FIT && align > LIVE_CAP)
        e = MAY_FIT;
    if (e == SKIP)
        return;
    release(s);
    const char *what = posix ? "posix_memalign" : "aligned_alloc";
    void *p = NULL;
    int err;
    errno = 0;
    if (posix) {
        err = am_posix_memalign(&fz.heap, &p, align, n);
        /* glibc leaves errno alone, or sets it to what it returns */
        if (err && errno != 0 && errno != err)
            fail("posix_memalign(%zu, %zu) failed with %d and changed errno to %d", align, n, err,
                 errno);
    } else {
        p = am_aligned_alloc(&fz.heap, align, n);
        err = p ? 0 : errno;
    }
    if (err == ENOTSUP && !(fz.heap.impl->caps & AM_CAP_ALIGNED))
        return;
    if (e == MUST_FAIL) {
        int want = bad_align ? EINVAL : ENOMEM;
        if (!err)
            fail("%s(%zu, %zu) succeeded at %p; it cannot", what, align, n, p);
        if (err != want)
            fail("%s(%zu, %zu) failed with %d, expected %d", what, align, n, err, want);
        return;
    }
    if (err == ENOMEM && e == MAY_FIT)
        return;
    if (err)
        fail("%s(%zu, %zu) failed with %d", what, align, n, err);
    adopt(s, p, n, align, false, what);
}

static void op_usable(unsigned s)
{
    struct block *b = &fz.slot[s];
    size_t u = am_usable_size(&fz.heap, b->p);
    if (!b->p) {
        if (u != 0)
            fail("usable_size(NULL) is %zu, not 0", u);
        return;
    }
    if (u == AM_STAT_UNKNOWN)
        return;
    if (u < b->size)
        fail("usable_size(%p) is %zu, below the %zu bytes asked", (void *)b->p, u, b->size);
    /* A program may use every usable byte: write them all. */
    if (u - b->size <= ((size_t)1 << 20) && fz.live + (u - b->size) <= LIVE_CAP) {
        fill(b->p, b->size, u, b->tag);
        fz.live += u - b->size;
        b->size = u;
    }
}

static void op_check(void)
{
    char why[256];
    int err = am_verify(&fz.heap, why, sizeof why);
    if (err && err != ENOTSUP)
        fail("the backend's check failed: %s", why);
    for (unsigned s = 0; s < SLOTS; s++)
        if (fz.slot[s].p)
            verify(&fz.slot[s], fz.slot[s].size, "at a check");
}

/* ---------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

int am_fuzz_open(const char *name)
{
    const struct am_allocator *a = name ? am_find_allocator(name) : NULL;
    if (!a || (a->caps & (AM_CAP_PROCESS_MALLOC | AM_CAP_TEST_ONLY))) {
        fprintf(stderr, "fuzz: %s%s%s; the in-house backends are:", name ? "'" : "",
                name ? name : "no allocator named",
                name ? (a ? "' is not an in-house backend" : "' is not an allocator") : "");
        for (size_t i = 0; i < am_registry_count; i++)
            if (!(am_registry[i]->caps & (AM_CAP_PROCESS_MALLOC | AM_CAP_TEST_ONLY)))
                fprintf(stderr, " %s", am_registry[i]->name);
        fprintf(stderr, "\n");
        return -1;
    }
    int err = am_heap_open(&fz.heap, a, 0);
    if (err) {
        fprintf(stderr, "fuzz: opening %s failed: %s\n", name, strerror(err));
        return -1;
    }
    fz.open = true;
    return 0;
}

/* libFuzzer calls this once; the backend comes from AM_FUZZ_ALLOCATOR. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (am_fuzz_open(getenv("AM_FUZZ_ALLOCATOR")) != 0) {
        fprintf(stderr, "fuzz: set AM_FUZZ_ALLOCATOR to the backend to fuzz\n");
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz.open)
        abort(); /* am_fuzz_open first */
    struct input in = {data, data + size};
    uint8_t op, s;
    fz.op = 0;
    while (take(&in, 1, &op)) {
        fz.op++;
        size_t n = 0, align = 0;
        uint8_t split = 0;
        if ((op & 7) == 7) {
            op_check();
            continue;
        }
        if (!take(&in, 1, &s))
            break;
        s %= SLOTS;
        bool sized = (op & 7) <= 2 || (op & 7) == 4 || (op & 7) == 5;
        if (sized && !take_size(&in, &n))
            break;
        if ((op & 7) == 1 && !take(&in, 1, &split))
            break;
        if (((op & 7) == 4 || (op & 7) == 5) && !take_align(&in, &align))
            break;
        switch (op & 7) {
        case 0:
            op_malloc(s, n);
            break;
        case 1:
            op_calloc(s, n, split);
            break;
        case 2:
            op_realloc(s, n);
            break;
        case 3:
            if (fz.slot[s].p) {
                release(s);
            } else { /* free(NULL) does nothing, errno included */
                errno = 4242;
                am_free(&fz.heap, NULL);
                if (errno != 4242)
                    fail("free(NULL) changed errno to %d", errno);
            }
            break;
        case 4:
        case 5:
            op_aligned(s, n, align, (op & 7) == 4);
            break;
        case 6:
            op_usable(s);
            break;
        }
    }
    /* The end of an input: everything back, and the backend still sound. */
    op_check();
    for (unsigned i = 0; i < SLOTS; i++)
        release(i);
    op_check();
    fz.next_tag = 0;
    return 0;
}
