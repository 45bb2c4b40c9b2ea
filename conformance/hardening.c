/*
 * hardening.c: the cases of the hardening matrix and their runner (see
 * hardening.h).
 *
 * Every case calls the allocator through the front end, as the conformance
 * checks do, so a reference's own free and realloc meet the error. A case
 * makes one error, then `probe`s: it allocates blocks of the size involved
 * and of two others, fills each with its own pattern, and checks that no two
 * overlap, that none overlaps a block the case still holds or lands in a
 * region that is not the allocator's (the stack, a mapping of our own), and
 * that every block, the held ones included, still reads back what was
 * written. A probe that finds damage makes the case `corrupted`; one that
 * finds none leaves it `silent` (or `warned`, when the allocator printed
 * something and went on).
 */
#include "hardening.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend.h"

/* A case is given this long before it counts as hung. */
#define CASE_TIMEOUT_S 10

enum { EXIT_SILENT = 0, EXIT_CORRUPTED = 10, EXIT_NO_HEAP = 11 };

static const char *const outcome_names[AM_OUTCOME_COUNT] = {
    "detected", "abort", "warned", "silent", "corrupted", "crash", "hang", "error",
};

const char *am_outcome_name(enum am_outcome o)
{
    return o < AM_OUTCOME_COUNT ? outcome_names[o] : "?";
}

enum am_outcome am_outcome_parse(const char *word)
{
    for (unsigned o = 0; o < AM_OUTCOME_COUNT; o++)
        if (!strcmp(word, outcome_names[o]) ||
            (o == AM_OUTCOME_CRASH && !strncmp(word, "crash:", 6)))
            return (enum am_outcome)o;
    return AM_OUTCOME_COUNT;
}

/* ------------------------------------------------------------------------
 * The probe
 * --------------------------------------------------------------------- */

/* Memory a probe block must not overlap: a block the case holds (checked for
 * its contents too), or a region that is not the allocator's. */
struct region {
    unsigned char *at;
    size_t len;
    bool filled; /* a held block: its contents are checked afterwards */
    const char *what;
};

#define MAX_REGIONS 4
#define PROBES      28

static struct {
    struct am_heap heap;
    struct region keep[MAX_REGIONS];
    unsigned n_keep;
    int report_fd; /* where a case says what it found */
} hc;

static unsigned char pattern(unsigned tag, size_t i)
{
    return (unsigned char)(0x5a ^ tag * 37u ^ i * 13u);
}

static void fill(unsigned char *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(tag, i);
}

static bool intact(const unsigned char *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(tag, i))
            return false;
    return true;
}

static bool overlaps(const void *a, size_t an, const void *b, size_t bn)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + bn && y < x + an;
}

/* Keep a held block (filled now, checked by the probe) or a foreign region. */
static void hold(void *at, size_t len, bool filled, const char *what)
{
    if (hc.n_keep == MAX_REGIONS)
        return;
    hc.keep[hc.n_keep++] = (struct region){at, len, filled, what};
    if (filled)
        fill(at, len, 100 + hc.n_keep);
}

__attribute__((noreturn, format(printf, 1, 2))) static void corrupted(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && write(hc.report_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1))
        (void)0;
    _exit(EXIT_CORRUPTED);
}

/* Allocate, check and fill PROBES blocks (size n, then 64 and 256 bytes), read
 * every one back, free them. Returns only when nothing was wrong. */
static void probe(size_t n)
{
    unsigned char *p[PROBES];
    size_t len[PROBES];
    for (unsigned i = 0; i < PROBES; i++) {
        len[i] = i < 16 ? n : i < 24 ? 64 : 256;
        p[i] = am_malloc(&hc.heap, len[i]);
        if (!p[i])
            continue;
        for (unsigned k = 0; k < hc.n_keep; k++)
            if (overlaps(p[i], len[i], hc.keep[k].at, hc.keep[k].len))
                corrupted("malloc(%zu) returned %p, inside %s at %p", len[i], (void *)p[i],
                          hc.keep[k].what, (void *)hc.keep[k].at);
        for (unsigned j = 0; j < i; j++)
            if (p[j] && overlaps(p[i], len[i], p[j], len[j]))
                corrupted("malloc(%zu) returned %p, %s the live block %p", len[i], (void *)p[i],
                          p[i] == p[j] ? "the same as" : "overlapping", (void *)p[j]);
        fill(p[i], len[i], i);
    }
    for (unsigned i = 0; i < PROBES; i++)
        if (p[i] && !intact(p[i], len[i], i))
            corrupted("the block at %p was overwritten by another", (void *)p[i]);
    for (unsigned k = 0; k < hc.n_keep; k++)
        if (hc.keep[k].filled && !intact(hc.keep[k].at, hc.keep[k].len, 101 + k))
            corrupted("%s at %p was overwritten", hc.keep[k].what, (void *)hc.keep[k].at);
    for (unsigned i = 0; i < PROBES; i++)
        am_free(&hc.heap, p[i]);
}

/* ------------------------------------------------------------------------
 * The cases
 * --------------------------------------------------------------------- */

static void double_free(void)
{
    void *p = am_malloc(&hc.heap, 32);
    am_free(&hc.heap, p);
    am_free(&hc.heap, p);
    probe(32);
}

static void free_interior(size_t offset)
{
    unsigned char *p = am_malloc(&hc.heap, 64);
    hold(p, 64, true, "the block freed through an interior pointer");
    am_free(&hc.heap, p + offset);
    probe(64);
}

static void free_interior_16(void)
{
    free_interior(16);
}

static void free_interior_8(void)
{
    free_interior(8);
}

static void free_stack(void)
{
    _Alignas(64) unsigned char frame[512];
    hold(frame, sizeof frame, false, "the stack");
    am_free(&hc.heap, frame + 256);
    probe(64);
}

static void free_mmap(void)
{
    size_t len = (size_t)1 << 16;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        dprintf(hc.report_fd, "mmap: %s", strerror(errno));
        _exit(EXIT_NO_HEAP);
    }
    hold(m, len, false, "a mapping of our own");
    am_free(&hc.heap, m + 64);
    probe(64);
}

/* A block of another in-house backend, opened beside the one under test. */
static void free_other_heap(void)
{
    static struct am_heap other;
    const char *name = strcmp(hc.heap.impl->name, "firstfit") ? "firstfit" : "bitmap";
    int err = am_heap_open(&other, am_find_allocator(name), 0);
    if (err) {
        dprintf(hc.report_fd, "cannot open %s: %s", name, strerror(err));
        _exit(EXIT_NO_HEAP);
    }
    unsigned char *p = am_malloc(&other, 64);
    hold(p, 64, true, "the other allocator's block");
    am_free(&hc.heap, p);
    probe(64);
}

/* The byte right after the block's last usable byte, every bit flipped. */
static void overflow_1(void)
{
    unsigned char *a = am_malloc(&hc.heap, 32), *b = am_malloc(&hc.heap, 32);
    size_t usable = am_usable_size(&hc.heap, a);
    if (usable == AM_STAT_UNKNOWN)
        usable = 32;
    a[usable] ^= 0xff;
    am_free(&hc.heap, a);
    am_free(&hc.heap, b);
    probe(32);
}

/* The first 16 bytes of a freed block (where free lists keep their links)
 * overwritten, then blocks of its size allocated. */
static void write_after_free(void)
{
    unsigned char *p = am_malloc(&hc.heap, 32);
    am_free(&hc.heap, p);
    memset(p, 0x41, 16);
    probe(32);
}

static void realloc_freed(void)
{
    unsigned char *p = am_malloc(&hc.heap, 32);
    am_free(&hc.heap, p);
    unsigned char *q = am_realloc(&hc.heap, p, 64);
    if (q)
        hold(q, 64, true, "the block realloc returned");
    probe(32);
}

static const struct {
    const char *name;
    void (*fn)(void);
    const char *about;
} cases[] = {
    {"double_free", double_free, "free(p) twice"},
    {"free_interior_16", free_interior_16, "free(p + 16), p a live 64-byte block"},
    {"free_interior_8", free_interior_8, "free(p + 8), p a live 64-byte block"},
    {"free_stack", free_stack, "free of a pointer into the stack"},
    {"free_mmap", free_mmap, "free of a pointer into a mapping of our own (mmap)"},
    {"free_other_heap", free_other_heap,
     "free of a block from another in-house allocator (firstfit, or bitmap for firstfit)"},
    {"overflow_1", overflow_1, "the byte after a block's usable size overwritten, then freed"},
    {"write_after_free", write_after_free, "16 bytes written into a freed block, then malloc"},
    {"realloc_freed", realloc_freed, "realloc(p, 64) after free(p)"},
};
#define N_CASES (sizeof cases / sizeof cases[0])

unsigned am_hardening_count(void)
{
    return N_CASES;
}

const char *am_hardening_name(unsigned i)
{
    return i < N_CASES ? cases[i].name : NULL;
}

const char *am_hardening_about(unsigned i)
{
    return i < N_CASES ? cases[i].about : NULL;
}

/* ------------------------------------------------------------------------
 * The runner: each case in a forked child, its stderr captured
 * --------------------------------------------------------------------- */

static void run_in_child(const struct am_allocator *a, unsigned i, int report_fd, int err_fd)
{
    alarm(CASE_TIMEOUT_S);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(err_fd, STDERR_FILENO);
    close(err_fd);
    hc.report_fd = report_fd;
    int err = am_heap_open(&hc.heap, a, 0);
    if (err) {
        dprintf(report_fd, "cannot open %s: %s", a->name, strerror(err));
        _exit(EXIT_NO_HEAP);
    }
    cases[i].fn();
    _exit(EXIT_SILENT);
}

/* Read fd to its end into buf (at most len - 1 bytes kept). */
static void slurp(int fd, char *buf, size_t len)
{
    size_t used = 0;
    char sink[512];
    ssize_t n;
    while ((n = read(fd, used + 1 < len ? buf + used : sink,
                     used + 1 < len ? len - used - 1 : sizeof sink)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0 && used + 1 < len)
            used += (size_t)n;
    buf[used] = '\0';
    close(fd);
}

/* The message's first non-empty line, printable, in at most len bytes. */
static void first_line(const char *said, char *out, size_t len)
{
    while (*said == '\n' || *said == '\r' || *said == ' ')
        said++;
    size_t n = 0;
    for (; said[n] && said[n] != '\n' && n + 1 < len; n++)
        out[n] = said[n] >= ' ' && said[n] < 0x7f ? said[n] : '?';
    out[n] = '\0';
}

static enum am_outcome run_one(const struct am_allocator *a, unsigned i, char *detail, size_t len)
{
    int report[2], err[2];
    detail[0] = '\0';
    if (pipe(report) != 0 || pipe(err) != 0) {
        snprintf(detail, len, "pipe: %s", strerror(errno));
        return AM_OUTCOME_ERROR;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        close(err[0]);
        run_in_child(a, i, report[1], err[1]);
    }
    close(report[1]);
    close(err[1]);
    char said[4096], found[512], message[200];
    slurp(err[0], said, sizeof said);
    slurp(report[0], found, sizeof found);
    first_line(said, message, sizeof message);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        snprintf(detail, len, "fork/wait: %s", strerror(errno));
        return AM_OUTCOME_ERROR;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM) {
            snprintf(detail, len, "still running after %d s%s%s", CASE_TIMEOUT_S,
                     message[0] ? "; said: " : "", message);
            return AM_OUTCOME_HANG;
        }
        if (sig == SIGABRT) {
            snprintf(detail, len, "%s", message);
            return message[0] ? AM_OUTCOME_DETECTED : AM_OUTCOME_ABORT;
        }
        snprintf(detail, len, "SIG%s%s%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
                 message[0] ? "; said: " : "", message);
        return AM_OUTCOME_CRASH;
    }
    int code = WEXITSTATUS(status);
    switch (code) {
    case EXIT_SILENT:
        snprintf(detail, len, "%s", message);
        return message[0] ? AM_OUTCOME_WARNED : AM_OUTCOME_SILENT;
    case EXIT_CORRUPTED:
        snprintf(detail, len, "%.300s%s%s", found, message[0] ? "; said: " : "", message);
        return AM_OUTCOME_CORRUPTED;
    case EXIT_NO_HEAP:
        snprintf(detail, len, "%s", found);
        return AM_OUTCOME_ERROR;
    default: /* the allocator ended the process itself */
        snprintf(detail, len, "exit %d%s%s", code, message[0] ? ": " : "", message);
        return message[0] ? AM_OUTCOME_DETECTED : AM_OUTCOME_ABORT;
    }
}

void am_hardening_run(const struct am_allocator *a, FILE *out)
{
    for (unsigned i = 0; i < N_CASES; i++) {
        char detail[512];
        enum am_outcome o = run_one(a, i, detail, sizeof detail);
        for (char *c = detail; *c; c++)
            if (*c == '\n')
                *c = ' ';
        if (o == AM_OUTCOME_CRASH) /* "crash:SIGSEGV", the signal first in detail */
            fprintf(out, "hardening %s crash:%.*s %s\n", cases[i].name, (int)strcspn(detail, ";"),
                    detail, detail);
        else
            fprintf(out, "hardening %s %s %s\n", cases[i].name, am_outcome_name(o), detail);
        fflush(out);
    }
}
