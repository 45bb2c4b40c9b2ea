/*
 * test_memcore.c: every memcore variant this CPU supports, against the C
 * library's memcpy, memmove and memset.
 *
 * Each call works on a region that sits between two PROT_NONE guard pages,
 * placed against the lower guard ("lo") or ending within the alignment slack
 * of the upper one ("hi"), so that reading or writing a byte outside the
 * buffers faults; the SIGSEGV handler names the case. Results are checked
 * against a mirror: every call is repeated on a copy of the destination
 * region with the C library, and the window from 64 bytes before the
 * destination to 64 bytes after it must match the mirror byte for byte (the
 * whole region is compared once per size, for stray stores further away).
 *
 * The matrix per variant: every size 0..2048 x every source and destination
 * offset 0..63 (copy), every size x offset x five byte values (memset),
 * memmove overlaps at every distance 0..256 in both directions, random sizes
 * up to 64 MiB, and the same again with the thresholds forced so that the
 * rep-string and non-temporal paths run at every size above 8 vectors.
 */
#include "memcore.h"
#include "testhelper.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MATRIX_MAX 2048 /* the exhaustive sizes: 0..MATRIX_MAX */
#define OFFSETS    64   /* source and destination offsets 0..63 */
#define WINDOW     64   /* bytes checked on each side of the destination */
#define OVERLAP    256  /* memmove distances 0..OVERLAP */
#define LARGE_MAX  ((size_t)64 << 20)

/* ---------------------------------------------------------------------------
 * Guarded regions and the fault report
 * ------------------------------------------------------------------------ */

/* [lo, hi) is readable and writable; the pages just below lo and at hi are
 * not. hi is page aligned, so a region's end can touch the upper guard. */
struct region {
    unsigned char *lo, *hi;
    size_t len;
};

static size_t page_size;

static struct region region_new(size_t len)
{
    size_t data = (len + page_size - 1) / page_size * page_size;
    unsigned char *map = mmap(NULL, data + 2 * page_size, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        perror("test_memcore: mmap");
        exit(1);
    }
    if (mprotect(map, page_size, PROT_NONE) ||
        mprotect(map + page_size + data, page_size, PROT_NONE)) {
        perror("test_memcore: mprotect");
        exit(1);
    }
    return (struct region){map + page_size, map + page_size + data, data};
}

static void region_free(struct region *r)
{
    munmap(r->lo - page_size, r->len + 2 * page_size);
}

/* `n` bytes at alignment `off` (mod 64): right after the lower guard plus
 * off, or as close to the upper guard as that alignment allows (touching it
 * when (n + off) % 64 == 0). */
static unsigned char *place(const struct region *r, bool hi, size_t n, unsigned off)
{
    if (!hi)
        return r->lo + off;
    return r->hi - n - ((0 - (n + off)) & 63);
}

/* The case in progress, for the SIGSEGV handler. */
static struct {
    const char *variant, *what;
    size_t n;
    long a, b;
} now;

static void on_fault(int sig, siginfo_t *info, void *context)
{
    (void)context;
    char msg[256];
    int len = snprintf(msg, sizeof msg,
                       "test_memcore: signal %d at %p in %s %s n=%zu (%ld, %ld): an access "
                       "outside the buffers\n",
                       sig, info->si_addr, now.variant, now.what, now.n, now.a, now.b);
    if (len > 0)
        (void)!write(2, msg, (size_t)len);
    _exit(1);
}

static void set_case(const char *what, size_t n, long a, long b)
{
    now.what = what;
    now.n = n;
    now.a = a;
    now.b = b;
}

/* ---------------------------------------------------------------------------
 * Data and checking
 * ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    return am_test_xorshift(&rng_state);
}

static void fill_random(unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = rng();
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++)
        p[i] = (unsigned char)rng();
}

/* log-uniform in [0, max]: small sizes as often as large ones. */
static size_t random_size(size_t max)
{
    unsigned bits = (unsigned)(rng() % 27);
    size_t n = (size_t)(rng() & (((uint64_t)1 << bits) - 1));
    return n > max ? max : n;
}

/* The destination side of a test: the region under test and its mirror,
 * which the C library keeps in the state the region must be in. */
struct target {
    struct region work, mirror;
};

static struct target target_new(size_t len)
{
    struct target t = {region_new(len), region_new(len)};
    fill_random(t.work.lo, t.work.len);
    memcpy(t.mirror.lo, t.work.lo, t.work.len);
    return t;
}

static void target_free(struct target *t)
{
    region_free(&t->work);
    region_free(&t->mirror);
}

static unsigned char *mirror_of(const struct target *t, const unsigned char *p)
{
    return t->mirror.lo + (p - t->work.lo);
}

/* Compare [p - WINDOW, p + n + WINDOW) (clipped to the region) with the
 * mirror. On a difference, describe it in `why` relative to p. */
static bool window_matches(const struct target *t, const unsigned char *p, size_t n, char *why,
                           size_t len)
{
    const unsigned char *from = p - t->work.lo > WINDOW ? p - WINDOW : t->work.lo;
    const unsigned char *to = (size_t)(t->work.hi - (p + n)) > WINDOW ? p + n + WINDOW : t->work.hi;
    const unsigned char *m = mirror_of(t, from);
    if (memcmp(from, m, (size_t)(to - from)) == 0)
        return true;
    size_t i = 0;
    while (from[i] == m[i])
        i++;
    snprintf(why, len, "byte %+ld from dst is %#x, expected %#x", (long)(from + i - p), from[i],
             m[i]);
    return false;
}

/* Check one call: its return value `ret`, which must be `d`, and the bytes
 * from `d - WINDOW` to `d + n + WINDOW`. A failure is recorded with the
 * case, described by the printf-style arguments. */
__attribute__((format(printf, 5, 6))) static bool verified(const struct target *t, const void *ret,
                                                           const unsigned char *d, size_t n,
                                                           const char *fmt, ...)
{
    char why[160];
    bool ok = ret == d;
    if (!ok)
        snprintf(why, sizeof why, "returned %p, not dst %p", ret, (const void *)d);
    else
        ok = window_matches(t, d, n, why, sizeof why);
    if (!ok) {
        char where[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(where, sizeof where, fmt, ap);
        va_end(ap);
        CHECK(false, "%s %s: %s", now.variant, where, why);
    }
    return ok;
}

/* Once per size: no store landed outside the windows either. */
static bool region_unchanged(const struct target *t, const char *what, size_t n)
{
    if (memcmp(t->work.lo, t->mirror.lo, t->work.len) == 0)
        return true;
    size_t i = 0;
    while (t->work.lo[i] == t->mirror.lo[i])
        i++;
    CHECK(false, "%s %s n=%zu: stray store at byte %zu of the destination region", now.variant,
          what, n, i);
    return false;
}

/* After a failure: make the mirror agree again, so that the next test does
 * not report this one's damage. */
static void resync(struct target *t)
{
    memcpy(t->mirror.lo, t->work.lo, t->work.len);
}

/* ---------------------------------------------------------------------------
 * The exhaustive matrices
 * ------------------------------------------------------------------------ */

/* Offsets tried in a matrix: all 64, or (with the thresholds forced) a few
 * that cover aligned, odd, and every vector boundary's neighbours. */
static const unsigned all_offsets[OFFSETS] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
    22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
    44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};
static const unsigned few_offsets[] = {0, 1, 15, 16, 31, 32, 33, 63};

struct offsets {
    const unsigned *list;
    size_t count;
};

static const struct offsets every_offset = {all_offsets, OFFSETS};
static const struct offsets some_offsets = {few_offsets,
                                            sizeof few_offsets / sizeof few_offsets[0]};

/* Every size 0..MATRIX_MAX, source and destination offset, lo and hi. */
static void copy_matrix(const char *what, am_memmove_fn *fn, struct offsets offs)
{
    struct region src = region_new(4 * page_size);
    struct target dst = target_new(4 * page_size);
    fill_random(src.lo, src.len);
    bool ok = true;
    for (size_t n = 0; n <= MATRIX_MAX && ok; n++) {
        for (int hi = 0; hi < 2 && ok; hi++) {
            for (size_t i = 0; i < offs.count && ok; i++) {
                unsigned char *s = place(&src, hi, n, offs.list[i]);
                for (size_t j = 0; j < offs.count && ok; j++) {
                    unsigned char *d = place(&dst.work, hi, n, offs.list[j]);
                    set_case(what, n, offs.list[i], offs.list[j]);
                    void *ret = fn(d, s, n);
                    memcpy(mirror_of(&dst, d), s, n);
                    ok = verified(&dst, ret, d, n, "%s n=%zu src offset %u dst offset %u (%s)",
                                  what, n, offs.list[i], offs.list[j], hi ? "hi" : "lo");
                }
            }
        }
        ok = ok && region_unchanged(&dst, what, n);
    }
    if (ok)
        CHECK(true);
    region_free(&src);
    target_free(&dst);
}

static const int set_values[] = {0x00, 0xff, 0x5a, 0x80, 0x01};

static void set_matrix(const char *what, am_memset_fn *fn, struct offsets offs)
{
    struct target dst = target_new(4 * page_size);
    bool ok = true;
    for (size_t n = 0; n <= MATRIX_MAX && ok; n++) {
        for (int hi = 0; hi < 2 && ok; hi++) {
            for (size_t v = 0; v < sizeof set_values / sizeof set_values[0] && ok; v++) {
                for (size_t j = 0; j < offs.count && ok; j++) {
                    unsigned char *d = place(&dst.work, hi, n, offs.list[j]);
                    /* Only the low byte counts: vary what lies above it. */
                    int c = set_values[v] | (int)(((n + j) % 3) << 8);
                    set_case(what, n, c, offs.list[j]);
                    void *ret = fn(d, c, n);
                    memset(mirror_of(&dst, d), c, n);
                    ok = verified(&dst, ret, d, n, "%s n=%zu c=%#x dst offset %u (%s)", what, n,
                                  (unsigned)c, offs.list[j], hi ? "hi" : "lo");
                }
            }
        }
        ok = ok && region_unchanged(&dst, what, n);
    }
    if (ok)
        CHECK(true);
    target_free(&dst);
}

/* One memmove inside a region: n bytes from base + from to base + to, the
 * span freshly filled first; the whole span and its windows are checked. */
static bool overlap_once(struct target *t, am_memmove_fn *fn, unsigned char *base, size_t from,
                         size_t to, size_t n, const unsigned char *fresh, const char *where)
{
    size_t span = n + (from > to ? from - to : to - from);
    unsigned char *m = mirror_of(t, base);
    memcpy(base, fresh, span);
    memcpy(m, fresh, span);
    set_case(to > from ? "memmove up" : "memmove down", n, (long)from, (long)to);
    void *ret = fn(base + to, base + from, n);
    memmove(m + to, m + from, n);
    if (ret != base + to)
        return verified(t, ret, base + to, n, "memmove n=%zu from +%zu to +%zu (%s)", n, from, to,
                        where);
    return verified(t, base, base, span, "memmove n=%zu from +%zu to +%zu (%s)", n, from, to,
                    where);
}

/* Every size 0..MATRIX_MAX x distance 0..OVERLAP, dst below and above src,
 * the pair touching the lower guard, the upper guard, or neither. */
static void overlap_matrix(am_memmove_fn *fn)
{
    size_t len = 2 * page_size + MATRIX_MAX + OVERLAP;
    struct target t = target_new(len);
    /* Each span starts at a different offset of `fresh` (below 256). */
    size_t fresh_len = MATRIX_MAX + OVERLAP + 256;
    unsigned char *fresh = malloc(fresh_len);
    fill_random(fresh, fresh_len);
    static const char *const wheres[] = {"lo", "hi", "mid"};
    bool ok = true;
    for (size_t n = 0; n <= MATRIX_MAX && ok; n++) {
        for (size_t dist = 0; dist <= OVERLAP && ok; dist++) {
            size_t span = n + dist;
            unsigned char *bases[] = {t.work.lo, t.work.hi - span,
                                      t.work.lo + page_size + ((n + 7 * dist) & 63)};
            for (int where = 0; where < 3 && ok; where++) {
                for (int up = 0; up < 2 && ok; up++)
                    ok = overlap_once(&t, fn, bases[where], up ? 0 : dist, up ? dist : 0, n,
                                      fresh + (n & 255), wheres[where]);
            }
        }
    }
    if (ok)
        CHECK(true);
    free(fresh);
    target_free(&t);
}

/* ---------------------------------------------------------------------------
 * Random large sizes
 * ------------------------------------------------------------------------ */

struct large {
    struct region src;
    struct target dst;
};

static void large_copies(struct large *b, am_memmove_fn *fn, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        size_t n = random_size(LARGE_MAX);
        unsigned soff = (unsigned)(rng() & 63), doff = (unsigned)(rng() & 63);
        bool hi = rng() & 1;
        unsigned char *s = place(&b->src, hi, n, soff), *d = place(&b->dst.work, hi, n, doff);
        set_case("memcpy (large)", n, soff, doff);
        void *ret = fn(d, s, n);
        memcpy(mirror_of(&b->dst, d), s, n);
        if (!verified(&b->dst, ret, d, n, "memcpy n=%zu src offset %u dst offset %u", n, soff,
                      doff)) {
            resync(&b->dst);
            return;
        }
    }
    CHECK(true);
}

static void large_sets(struct large *b, am_memset_fn *fn, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        size_t n = random_size(LARGE_MAX);
        unsigned doff = (unsigned)(rng() & 63);
        int c = (int)(rng() & 0x1ff);
        unsigned char *d = place(&b->dst.work, rng() & 1, n, doff);
        set_case("memset (large)", n, c, doff);
        void *ret = fn(d, c, n);
        memset(mirror_of(&b->dst, d), c, n);
        if (!verified(&b->dst, ret, d, n, "memset n=%zu c=%#x dst offset %u", n, (unsigned)c,
                      doff)) {
            resync(&b->dst);
            return;
        }
    }
    CHECK(true);
}

/* Overlapping moves of up to 4 MiB, at distances from 1 byte to the size. */
static void large_overlaps(struct large *b, am_memmove_fn *fn, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        size_t n = random_size((size_t)4 << 20);
        size_t dist = 1 + random_size(n);
        bool up = rng() & 1;
        unsigned char *base =
            rng() & 1 ? b->dst.work.hi - (n + dist) : b->dst.work.lo + (rng() & 63);
        if (!overlap_once(&b->dst, fn, base, up ? 0 : dist, up ? dist : 0, n, b->src.lo, "large")) {
            resync(&b->dst);
            return;
        }
    }
    CHECK(true);
}

/* ---------------------------------------------------------------------------
 * The variants, under each tuning
 * ------------------------------------------------------------------------ */

/* Thresholds that force one strategy on every size above 8 vectors. */
static const struct {
    const char *name;
    struct am_mem_tuning tuning;
} forced[] = {
    {"rep", {0, SIZE_MAX, 0, SIZE_MAX, SIZE_MAX, SIZE_MAX, 0}},
    {"nt", {0, 0, 0, 0, 0, 0, 0}},
    {"narrow nt", {0, 0, 0, 0, 0, 0, 1}},
    {"loop", {0, 0, 0, 0, SIZE_MAX, SIZE_MAX, 0}},
};

static void test_variant(const struct am_mem_ops *v, struct large *b)
{
    struct am_mem_tuning defaults;
    am_mem_get_tuning(&defaults);
    now.variant = v->name;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* memcpy is memmove's code in every variant today; test both entries
     * in full only if that ever changes. */
    copy_matrix("memmove", v->memmove, every_offset);
    if ((void *)v->memcpy != (void *)v->memmove)
        copy_matrix("memcpy", (am_memmove_fn *)v->memcpy, every_offset);
    set_matrix("memset", v->memset, every_offset);
    overlap_matrix(v->memmove);
    large_copies(b, (am_memmove_fn *)v->memcpy, 40);
    large_sets(b, v->memset, 40);
    large_overlaps(b, v->memmove, 40);

    for (size_t i = 0; i < sizeof forced / sizeof forced[0]; i++) {
        am_mem_set_tuning(&forced[i].tuning);
        char what[64];
        snprintf(what, sizeof what, "memmove (%s forced)", forced[i].name);
        copy_matrix(what, v->memmove, some_offsets);
        snprintf(what, sizeof what, "memset (%s forced)", forced[i].name);
        set_matrix(what, v->memset, some_offsets);
        large_copies(b, (am_memmove_fn *)v->memcpy, 12);
        large_sets(b, v->memset, 12);
        large_overlaps(b, v->memmove, 12);
    }
    am_mem_set_tuning(&defaults);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("variant %s: %.1f s\n", v->name,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    fflush(stdout);
}

/* ---------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------ */

/* Run this program with AM_MEMCORE=value and return the variant it reports. */
static bool variant_under_env(const char *self, const char *value, char *out, size_t len)
{
    int fds[2];
    if (pipe(fds))
        return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char env_entry[64];
    snprintf(env_entry, sizeof env_entry, "AM_MEMCORE=%s", value);
    char *child_env[] = {env_entry, NULL};
    char *argv[] = {(char *)self, "--print-variant", NULL};
    pid_t pid;
    int err = posix_spawn(&pid, self, &actions, NULL, argv, child_env);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    ssize_t got = err ? -1 : read(fds[0], out, len - 1);
    close(fds[0]);
    if (!err)
        waitpid(pid, NULL, 0);
    if (got <= 0)
        return false;
    out[got] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return true;
}

/* Stand-ins for am_mem_route: count their calls, then do the work. */
static unsigned routed_calls;

static void *routed_memcpy(void *restrict d, const void *restrict s, size_t n)
{
    routed_calls++;
    return memcpy(d, s, n);
}

static void *routed_memmove(void *d, const void *s, size_t n)
{
    routed_calls++;
    return memmove(d, s, n);
}

static void *routed_memset(void *d, int c, size_t n)
{
    routed_calls++;
    return memset(d, c, n);
}

/* What the table in dispatch.c picks for AMD family 1Ah (Zen 5). */
#define ZEN5_CHOICE "avx512"

static void test_dispatch(const char *self)
{
    size_t count;
    const struct am_mem_ops *all = am_mem_variants(&count);
    const struct am_mem_ops *active = am_mem_find_variant(am_mem_variant());
    CHECK(active && active->supported, "dispatched to %s", am_mem_variant());
    CHECK(am_mem_find_variant("sse2") && am_mem_find_variant("sse2")->supported);
    CHECK(am_mem_force("no-such-variant") == EINVAL);

    /* Each supported variant, forced, answers through the public entries;
     * AM_MEMCORE does the same at start-up. */
    unsigned char a[300], b[300];
    for (size_t i = 0; i < count; i++) {
        if (!all[i].supported) {
            CHECK(am_mem_force(all[i].name) == ENOTSUP, "%s", all[i].name);
            continue;
        }
        CHECK(am_mem_force(all[i].name) == 0 && !strcmp(am_mem_variant(), all[i].name));
        memset(a, 7, sizeof a);
        CHECK(am_memset(a, 'x', 299) == a && a[0] == 'x' && a[298] == 'x' && a[299] == 7);
        CHECK(am_memcpy(b, a, 300) == b && !memcmp(a, b, 300));
        CHECK(am_memmove(a + 1, a, 299) == a + 1 && a[1] == 'x' && a[299] == 'x');
        char got[64];
        CHECK(variant_under_env(self, all[i].name, got, sizeof got) && !strcmp(got, all[i].name),
              "AM_MEMCORE=%s gave '%s'", all[i].name, got);
    }
    char got[64];
    CHECK(variant_under_env(self, "bogus", got, sizeof got) && !strcmp(got, active->name),
          "AM_MEMCORE=bogus gave '%s', not the default %s", got, active->name);
    am_mem_force(active->name);

    /* am_mem_route sends the entries to any functions (memcore-bench times
     * glibc that way); forcing the variant back undoes it. */
    static const struct am_mem_ops routed = {"routed",       "",           true, routed_memcpy,
                                             routed_memmove, routed_memset};
    am_mem_route(&routed);
    memset(a, 1, sizeof a);
    CHECK(am_memset(a, 'r', 10) == a && am_memcpy(b, a, 10) == b &&
              am_memmove(a + 1, a, 9) == a + 1 && routed_calls == 3 &&
              !memcmp(b, "rrrrrrrrrr", 10) && !strcmp(am_mem_variant(), "routed"),
          "am_mem_route: %u calls routed, variant %s", routed_calls, am_mem_variant());
    CHECK(am_mem_force(active->name) == 0 && am_memset(a, 0, 10) == a && routed_calls == 3 &&
              !strcmp(am_mem_variant(), active->name),
          "am_mem_force after am_mem_route goes back to %s", active->name);

    /* The per-CPU table: rows by vendor and family, then down the ladder to
     * what the CPU runs; the dispatch follows it (unless AM_MEMCORE says). */
    const char *row = NULL;
    CHECK(!strcmp(am_mem_choose("GenuineIntel", 6, true, true, &row), "avx512") && row &&
          strstr(row, "Intel"));
    CHECK(!strcmp(am_mem_choose("GenuineIntel", 6, false, true, NULL), "avx2"));
    CHECK(!strcmp(am_mem_choose("AuthenticAMD", 0x19, true, true, &row), "avx2") &&
          strstr(row, "19h"));
    CHECK(!strcmp(am_mem_choose("AuthenticAMD", 0x19, false, false, NULL), "sse2"));
    CHECK(!strcmp(am_mem_choose("AuthenticAMD", 0x1a, true, true, &row), ZEN5_CHOICE) &&
          strstr(row, "1Ah"));
    CHECK(!strcmp(am_mem_choose("SomeoneElse", 6, true, true, &row), "avx512") &&
          strstr(row, "no row"));
    CHECK(!strcmp(am_mem_choose("SomeoneElse", 6, false, false, NULL), "sse2"));
    const struct am_mem_cpu *cpu = am_mem_cpu();
    const char *want =
        am_mem_choose(cpu->vendor, cpu->family, am_mem_find_variant("avx512")->supported,
                      am_mem_find_variant("avx2")->supported, NULL);
    const char *env = getenv("AM_MEMCORE");
    if (!env || !*env)
        CHECK(!strcmp(active->name, want), "dispatched to %s, the table says %s", active->name,
              want);

    char line[512];
    CHECK(am_mem_describe(line, sizeof line) > 0 &&
          !strncmp(line, active->name, strlen(active->name)));
    printf("memory cores: %s\n", line);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--print-variant")) {
        printf("%s\n", am_mem_variant());
        return 0;
    }
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    test_dispatch(argv[0]);

    struct large b = {region_new(LARGE_MAX + 64), target_new(LARGE_MAX + 64)};
    fill_random(b.src.lo, b.src.len);
    size_t count;
    const struct am_mem_ops *all = am_mem_variants(&count);
    for (size_t i = 0; i < count; i++) {
        if (all[i].supported)
            test_variant(&all[i], &b);
        else
            printf("variant %s: skipped, this CPU lacks %s\n", all[i].name, all[i].needs);
    }
    region_free(&b.src);
    target_free(&b.dst);
    return am_test_finish("memcore");
}
