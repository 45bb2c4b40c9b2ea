/*
 * test_trace.c: the trace format (trace/): a written trace reads back event
 * for event (ids, refs, live bytes, threads, time, every operation and its
 * failure cases); every kind of bad input is refused with a message naming
 * the byte offset and the event number (a wrong magic, a newer version, every
 * truncation of a valid trace, reserved bits, an unknown operation, a thread
 * beyond the table, a double free, a block never allocated, bytes after the
 * end); a trace longer than the reader's window streams. It also leaves its
 * traces in trace-seeds/ as seeds for scripts/fuzz-trace.sh.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testhelper.h"
#include "trace.h"

static struct am_trace_header header(uint32_t threads, struct am_trace_thread *t)
{
    struct am_trace_header h;
    memset(&h, 0, sizeof h);
    h.threads = threads;
    h.thread = t;
    strcpy(h.command, "test_trace");
    strcpy(h.allocator, "glibc");
    return h;
}

/* A memfd holding what the writer wrote for `recs`. */
static int write_trace(const struct am_trace_rec *recs, size_t n, uint32_t threads)
{
    struct am_trace_thread t[4] = {{100, 1}, {101, 0}, {102, 0}, {103, 0}};
    struct am_trace_header h = header(threads, t);
    int fd = memfd_create("trace", 0);
    struct am_trace_writer w;
    CHECK(am_trace_writer_open(&w, fd, &h) == 0);
    for (size_t i = 0; i < n; i++)
        am_trace_write(&w, &recs[i]);
    CHECK(am_trace_writer_close(&w) == 0);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static size_t file_bytes(int fd, uint8_t *buf, size_t cap)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, cap);
    lseek(fd, 0, SEEK_SET);
    return n > 0 ? (size_t)n : 0;
}

static int from_bytes(const uint8_t *b, size_t n)
{
    int fd = memfd_create("bad", 0);
    if (n)
        CHECK(write(fd, b, n) == (ssize_t)n);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Read to the end; returns the reader's verdict (0 complete, -1 error) and
 * the events read; the message stays in r->error. */
static int read_all(int fd, struct am_trace_reader *r, uint64_t *events)
{
    *events = 0;
    if (am_trace_open(r, fd, "t.amtrace") != 0)
        return -1;
    struct am_trace_event ev;
    int rc;
    while ((rc = am_trace_next(r, &ev)) == 1)
        (*events)++;
    return rc;
}

static void save_seed(int fd, const char *name)
{
    static uint8_t buf[1 << 16];
    size_t n = file_bytes(fd, buf, sizeof buf);
    mkdir("trace-seeds", 0755);
    char path[256];
    snprintf(path, sizeof path, "trace-seeds/%s.amtrace", name);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
        if (write(out, buf, n) != (ssize_t)n)
            fprintf(stderr, "cannot write %s\n", path);
        close(out);
    }
}

/* Every operation and its semantics, on two threads. */
static const struct am_trace_rec sample[] = {
    {.op = AM_TOP_MALLOC, .thread = 0, .ns = 10, .size = 24},             /* id 1 */
    {.op = AM_TOP_CALLOC, .thread = 0, .ns = 20, .nmemb = 4, .elem = 8},  /* id 2 */
    {.op = AM_TOP_REALLOC, .thread = 1, .ns = 30, .ref = 1, .size = 100}, /* 1 -> 3 */
    {.op = AM_TOP_FREE, .thread = 1, .ns = 40, .ref = 2},                 /* cross-thread */
    {.op = AM_TOP_FREE, .thread = 1, .ns = 40},                           /* free(NULL) */
    {.op = AM_TOP_MALLOC, .thread = 0, .ns = 50, .size = 1ull << 40, .failed = true},
    {.op = AM_TOP_REALLOC, .thread = 0, .ns = 60, .ref = 3, .size = 1ull << 40, .failed = true},
    {.op = AM_TOP_POSIX_MEMALIGN, .thread = 0, .ns = 70, .align = 64, .size = 200},   /* id 4 */
    {.op = AM_TOP_ALIGNED_ALLOC, .thread = 0, .ns = 80, .align = 4096, .size = 4096}, /* id 5 */
    {.op = AM_TOP_MEMALIGN, .thread = 0, .ns = 90, .align = 32, .size = 10},          /* id 6 */
    {.op = AM_TOP_VALLOC, .thread = 0, .ns = 100, .size = 5000},                      /* id 7 */
    {.op = AM_TOP_PVALLOC, .thread = 0, .ns = 110, .size = 1},                        /* id 8 */
    {.op = AM_TOP_REALLOC, .thread = 0, .ns = 120, .size = 16},               /* NULL -> 9 */
    {.op = AM_TOP_REALLOC, .thread = 0, .ns = 130, .ref = 9, .failed = true}, /* (9, 0): freed */
    {.op = AM_TOP_FREE, .thread = 0, .ns = 140, .ref = 3},
};

static void test_round_trip(void)
{
    int fd = write_trace(sample, sizeof sample / sizeof sample[0], 2);
    save_seed(fd, "sample");
    struct am_trace_reader r;
    REQUIRE(am_trace_open(&r, fd, "t") == 0, "%s", r.error);
    CHECK(r.h.threads == 2 && r.h.thread[0].tid == 100 && r.h.thread[0].flags == 1);
    CHECK(!strcmp(r.h.command, "test_trace") && !strcmp(r.h.allocator, "glibc"));
    struct am_trace_event ev;
    uint64_t want_id[] = {1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7, 8, 9, 0, 0};
    uint64_t want_ref[] = {0, 0, 1, 2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 9, 3};
    int64_t want_live[] = {24,   56,   132,  100,  100,  100,  100, 300,
                           4396, 4406, 9406, 9407, 9423, 9407, 9307};
    for (size_t i = 0; i < sizeof sample / sizeof sample[0]; i++) {
        REQUIRE(am_trace_next(&r, &ev) == 1, "event %zu: %s", i, r.error);
        CHECK(ev.index == i && ev.op == sample[i].op && ev.thread == sample[i].thread, "event %zu",
              i);
        CHECK(ev.ns == sample[i].ns, "event %zu: ns %llu", i, (unsigned long long)ev.ns);
        CHECK(ev.id == want_id[i], "event %zu: id %llu", i, (unsigned long long)ev.id);
        CHECK(ev.ref == want_ref[i], "event %zu: ref %llu", i, (unsigned long long)ev.ref);
        CHECK(ev.live == want_live[i], "event %zu: live %lld", i, (long long)ev.live);
        CHECK(ev.failed == sample[i].failed, "event %zu", i);
    }
    CHECK(am_trace_next(&r, &ev) == 0, "%s", r.error);
    CHECK(r.end_events == sizeof sample / sizeof sample[0]);
    /* The failed realloc kept block 3 live: freed by the last event. */
    CHECK(r.blocks.count == 5, "%zu live", r.blocks.count);
    am_trace_close(&r);
    close(fd);
}

/* Every message names the offset and the event (or the header). */
static void expect_error(const uint8_t *b, size_t n, const char *what, const char *fragment)
{
    int fd = from_bytes(b, n);
    struct am_trace_reader r;
    uint64_t events;
    int rc = read_all(fd, &r, &events);
    CHECK(rc == -1, "%s: accepted", what);
    CHECK(strstr(r.error, "byte ") != NULL, "%s: no offset in '%s'", what, r.error);
    CHECK(!fragment || strstr(r.error, fragment), "%s: '%s' lacks '%s'", what, r.error, fragment);
    am_trace_close(&r);
    close(fd);
}

static void test_bad_input(void)
{
    static uint8_t good[4096], bad[4096];
    int fd = write_trace(sample, sizeof sample / sizeof sample[0], 2);
    size_t n = file_bytes(fd, good, sizeof good);
    close(fd);
    uint32_t hlen = good[12] | good[13] << 8;

    expect_error(good, 0, "empty", "wrong magic");
    memcpy(bad, good, n);
    bad[0] = 'X';
    expect_error(bad, n, "magic", "wrong magic");
    memcpy(bad, good, n);
    bad[8] = 2;
    expect_error(bad, n, "version", "newer than this allocmark reads");
    /* Every truncation fails, and says so. */
    for (size_t k = 1; k < n; k++) {
        int tfd = from_bytes(good, k);
        struct am_trace_reader r;
        uint64_t events;
        int rc = read_all(tfd, &r, &events);
        CHECK(rc == -1, "cut at %zu of %zu accepted", k, n);
        CHECK(k < 16 || strstr(r.error, "truncated") || strstr(r.error, "corrupt"),
              "cut at %zu: '%s'", k, r.error);
        am_trace_close(&r);
        close(tfd);
    }
    memcpy(bad, good, n);
    bad[hlen] |= 0x40;
    expect_error(bad, n, "reserved bits", "reserved bits");
    memcpy(bad, good, n);
    bad[hlen] = (uint8_t)((bad[hlen] & 0xF0) | 11);
    expect_error(bad, n, "unknown op", "unknown operation");
    memcpy(bad, good, n);
    bad[hlen + 1] = 7; /* the first event's thread index */
    expect_error(bad, n, "thread", "thread 7");
    memcpy(bad, good, n);
    bad[n] = 0;
    expect_error(bad, n + 1, "trailing", "after the end");

    /* Id errors, written by a writer that does not check them. */
    struct am_trace_rec twice[] = {
        {.op = AM_TOP_MALLOC, .size = 8},
        {.op = AM_TOP_FREE, .ref = 1},
        {.op = AM_TOP_FREE, .ref = 1},
    };
    fd = write_trace(twice, 3, 1);
    n = file_bytes(fd, bad, sizeof bad);
    close(fd);
    expect_error(bad, n, "double free", "event 2: free of block 1, which was already freed");
    struct am_trace_rec never[] = {
        {.op = AM_TOP_MALLOC, .size = 8},
        {.op = AM_TOP_REALLOC, .ref = 5, .size = 9}, /* a ref before id 1 */
    };
    fd = write_trace(never, 2, 1);
    n = file_bytes(fd, bad, sizeof bad);
    close(fd);
    expect_error(bad, n, "never allocated", "never allocated");
    struct am_trace_rec huge[] = {{.op = AM_TOP_MALLOC, .size = 1ull << 50}};
    fd = write_trace(huge, 1, 1);
    n = file_bytes(fd, bad, sizeof bad);
    close(fd);
    expect_error(bad, n, "huge", "over 2^48");
}

/* More events than the reader's window holds: read back, in order. */
static void test_streaming(void)
{
    const size_t n = 600000;
    struct am_trace_thread t[1] = {{1, 1}};
    struct am_trace_header h = header(1, t);
    int fd = memfd_create("big", 0);
    struct am_trace_writer w;
    CHECK(am_trace_writer_open(&w, fd, &h) == 0);
    uint64_t rng = 42, ids[64] = {0};
    for (size_t i = 0; i < n; i++) {
        unsigned k = (unsigned)(am_test_xorshift(&rng) % 64);
        struct am_trace_rec rec = {.ns = i * 37};
        if (ids[k]) {
            rec.op = AM_TOP_FREE;
            rec.ref = ids[k];
            ids[k] = 0;
            am_trace_write(&w, &rec);
        } else {
            rec.op = AM_TOP_MALLOC;
            rec.size = k * 16 + 1;
            ids[k] = am_trace_write(&w, &rec);
        }
    }
    CHECK(am_trace_writer_close(&w) == 0);
    CHECK(w.bytes < n * 6, "%llu bytes for %zu events", (unsigned long long)w.bytes, n);
    lseek(fd, 0, SEEK_SET);
    struct am_trace_reader r;
    uint64_t events;
    CHECK(read_all(fd, &r, &events) == 0, "%s", r.error);
    CHECK(events == n);
    CHECK(r.end_ns == (n - 1) * 37);
    am_trace_close(&r);
    close(fd);
}

/* `test-trace --write-big FILE EVENTS`: a long trace with a small live set
 * (64 slots, sizes 1..1009), for showing that a replay streams. */
static int write_big(const char *path, unsigned long long n)
{
    struct am_trace_thread t[1] = {{1, 1}};
    struct am_trace_header h = header(1, t);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct am_trace_writer w;
    if (fd < 0 || am_trace_writer_open(&w, fd, &h) != 0)
        return 1;
    uint64_t rng = 7, ids[64] = {0};
    for (unsigned long long i = 0; i < n; i++) {
        unsigned k = (unsigned)(am_test_xorshift(&rng) % 64);
        struct am_trace_rec rec = {.ns = i * 50};
        if (ids[k]) {
            rec.op = AM_TOP_FREE;
            rec.ref = ids[k];
            ids[k] = 0;
            am_trace_write(&w, &rec);
        } else {
            rec.op = AM_TOP_MALLOC;
            rec.size = k * 16 + 1;
            ids[k] = am_trace_write(&w, &rec);
        }
    }
    int err = am_trace_writer_close(&w);
    close(fd);
    printf("%s: %llu events, %llu bytes\n", path, n, (unsigned long long)w.bytes);
    return err ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--write-big"))
        return write_big(argv[2], strtoull(argv[3], NULL, 10));
    test_round_trip();
    test_bad_input();
    test_streaming();
    return am_test_finish("test_trace");
}
