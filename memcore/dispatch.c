/*
 * dispatch.c: picks the memcore variant once per process and holds the
 * tuning block that the assembly reads.
 *
 * Why a table of function pointers and not an IFUNC: both cost one indirect
 * jump per call, but a table can be re-pointed (AM_MEMCORE, am_mem_force), so
 * every variant can be tested and benchmarked on a machine that has them all,
 * and it needs no loader support (static links, sanitizers). The table starts
 * out pointing at stubs that run the detection (under pthread_once, so racing
 * first calls are safe) and then jump to the chosen variant; a constructor
 * runs the same detection at load time, so in practice the stubs only serve
 * calls made from other constructors. The table is published with release
 * stores after the tuning block is filled, and read with acquire loads,
 * which on x86-64 are plain moves: am_memcpy compiles to one `jmp *table`.
 *
 * Which variant: a table keyed by CPU vendor and family (`choices` below),
 * not a calibration at start-up. A calibration would have to time copies in
 * every process (or keep a cache file somewhere writable, and know when it
 * went stale), and on a shared or busy machine the same point moves by 20 to
 * 80 % between runs (docs/memcore.md): a start-up measurement there picks at
 * random. A table is the same in every process, can be tested, and says
 * which measurement each row rests on.
 */
#include "memcore.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* The assembly (mem_<isa>.asm): memcpy is the same code as memmove. */
#define DECLARE_VARIANT(isa)                \
    HIDDEN am_memcpy_fn am__memcpy_##isa;   \
    HIDDEN am_memmove_fn am__memmove_##isa; \
    HIDDEN am_memset_fn am__memset_##isa
DECLARE_VARIANT(avx512);
DECLARE_VARIANT(avx2);
DECLARE_VARIANT(sse2);
DECLARE_VARIANT(erms);

/* Read by the assembly at the offsets memcore.inc names (TUNE_*). */
HIDDEN extern struct am_mem_tuning am__memcore_tuning;
struct am_mem_tuning am__memcore_tuning;

_Static_assert(offsetof(struct am_mem_tuning, rep_movsb_min) == 0, "memcore.inc TUNE_*");
_Static_assert(offsetof(struct am_mem_tuning, rep_movsb_max) == 8, "memcore.inc TUNE_*");
_Static_assert(offsetof(struct am_mem_tuning, rep_stosb_min) == 16, "memcore.inc TUNE_*");
_Static_assert(offsetof(struct am_mem_tuning, rep_stosb_max) == 24, "memcore.inc TUNE_*");
_Static_assert(offsetof(struct am_mem_tuning, nt_copy_min) == 32, "memcore.inc TUNE_*");
_Static_assert(offsetof(struct am_mem_tuning, nt_set_min) == 40, "memcore.inc TUNE_*");
_Static_assert(offsetof(struct am_mem_tuning, nt_copy_narrow) == 48, "memcore.inc TUNE_*");

/* In the order the dispatch prefers them. erms is never chosen on its own:
 * it is the baseline, and the vector variants already use rep movsb and rep
 * stosb in the window where they measure faster. */
enum { V_AVX512, V_AVX2, V_SSE2, V_ERMS, V_COUNT };
static struct am_mem_ops variants[V_COUNT] = {
    [V_AVX512] = {"avx512", "avx512f avx512bw avx512vl bmi2, zmm state saved by the OS", false,
                  am__memcpy_avx512, am__memmove_avx512, am__memset_avx512},
    [V_AVX2] = {"avx2", "avx2, ymm state saved by the OS", false, am__memcpy_avx2, am__memmove_avx2,
                am__memset_avx2},
    [V_SSE2] = {"sse2", "nothing (every x86-64 CPU)", true, am__memcpy_sse2, am__memmove_sse2,
                am__memset_sse2},
    [V_ERMS] = {"erms", "erms", false, am__memcpy_erms, am__memmove_erms, am__memset_erms},
};

static struct am_mem_cpu cpu;
static const struct am_mem_ops *chosen;
static const char *chosen_row; /* the table's row behind the choice */
static char override_note[96]; /* what became of AM_MEMCORE, for describe */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static am_memcpy_fn first_memcpy;
static am_memmove_fn first_memmove;
static am_memset_fn first_memset;

static struct {
    am_memcpy_fn *memcpy;
    am_memmove_fn *memmove;
    am_memset_fn *memset;
} table = {first_memcpy, first_memmove, first_memset};

/* ---------------------------------------------------------------------------
 * The CPU
 * ------------------------------------------------------------------------ */

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Deterministic cache parameters: leaf 4 (Intel) and leaf 0x8000001D (AMD)
 * share one layout. Returns whether the leaf described any cache. */
static bool read_cache_leaf(unsigned leaf)
{
    bool any = false;
    for (unsigned i = 0; i < 16; i++) {
        unsigned a, b, c, d;
        __cpuid_count(leaf, i, a, b, c, d);
        unsigned type = a & 31, level = (a >> 5) & 7;
        if (type == 0)
            break;
        if (type == 2) /* instruction cache */
            continue;
        size_t size = (size_t)((b >> 22) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) *
                      ((size_t)c + 1);
        any = true;
        if (level == 1)
            cpu.l1d = size;
        else if (level == 2)
            cpu.l2 = size;
        else if (level == 3) {
            cpu.l3 = size;
            cpu.l3_sharing = ((a >> 14) & 0xfff) + 1;
        }
    }
    return any;
}

static size_t sysconf_size(int name)
{
    long v = sysconf(name);
    return v > 0 ? (size_t)v : 0;
}

static void detect_cpu(void)
{
    unsigned a, b, c, d, max_leaf = __get_cpuid_max(0, NULL),
                         max_ext = __get_cpuid_max(0x80000000, NULL);
    bool osxsave = false;
    __cpuid(0, a, b, c, d);
    memcpy(cpu.vendor, &b, 4);
    memcpy(cpu.vendor + 4, &d, 4);
    memcpy(cpu.vendor + 8, &c, 4);
    cpu.vendor[12] = '\0';
    if (max_leaf >= 1) {
        __cpuid(1, a, b, c, d);
        osxsave = (c >> 27) & 1;
        unsigned base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
        cpu.family = base_family + (base_family == 0xf ? (a >> 20) & 0xff : 0);
        cpu.model = base_model;
        if (base_family == 0x6 || base_family == 0xf)
            cpu.model += ((a >> 16) & 0xf) << 4;
    }
    if (osxsave) {
        uint64_t xcr0 = read_xcr0();
        cpu.os_ymm = (xcr0 & 0x6) == 0x6;                 /* SSE and AVX state */
        cpu.os_zmm = cpu.os_ymm && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        cpu.avx2 = (b >> 5) & 1;
        cpu.bmi2 = (b >> 8) & 1;
        cpu.erms = (b >> 9) & 1;
        cpu.avx512f = (b >> 16) & 1;
        cpu.avx512bw = (b >> 30) & 1;
        cpu.avx512vl = (b >> 31) & 1;
        cpu.fsrm = (d >> 4) & 1;
    }
    bool caches = max_leaf >= 4 && read_cache_leaf(4);
    if (!caches && max_ext >= 0x8000001d)
        caches = read_cache_leaf(0x8000001d);
    /* Leaves missing (an old CPU, a hypervisor that hides them): the C
     * library's view, which knows more vendors' older leaves. */
    if (!cpu.l1d)
        cpu.l1d = sysconf_size(_SC_LEVEL1_DCACHE_SIZE);
    if (!cpu.l2)
        cpu.l2 = sysconf_size(_SC_LEVEL2_CACHE_SIZE);
    if (!cpu.l3) {
        cpu.l3 = sysconf_size(_SC_LEVEL3_CACHE_SIZE);
        cpu.l3_sharing = 0; /* unknown */
    }
}

/* ---------------------------------------------------------------------------
 * Thresholds from the cache sizes
 * ------------------------------------------------------------------------ */

/*
 * Measured on the machine this was tuned on (AMD Zen 5 under KVM; L1d 48 KiB,
 * L2 1 MiB, L3 32 MiB; medians of interleaved runs of bench/memcore-bench
 * with --tune forcing each strategy, AVX-512 variant):
 *   - copies: the vector loop wins while source and destination fit in L1d
 *     together (about 255 against 165 GB/s for rep movsb at 16 and 24 KiB);
 *     one step further (28 KiB) rep movsb wins, by up to 1.8 times through
 *     L2 (about 168 against 95 GB/s: it writes whole lines without reading
 *     them first), and it stays ahead of the loop down to DRAM;
 *   - memsets: the loop wins while the buffer fits in L2 with room to spare
 *     (about 255 against 167 GB/s up to 768 KiB, level at 896 KiB), then
 *     rep stosb is ahead through L3;
 *   - non-temporal stores: once a call's footprint (source and destination
 *     for a copy) is twice the L3, a cached pass would evict the caller's
 *     whole working set for data that cannot stay anyway; there NT stores
 *     measured level with rep movsb and rep stosb, within the noise.
 * Without ERMS the rep windows are empty and the loop runs up to the NT
 * thresholds. A cache the CPU does not describe gets a typical size.
 */
static void tune_from_cpu(void)
{
    struct am_mem_tuning *t = &am__memcore_tuning;
    size_t l1d = cpu.l1d ? cpu.l1d : (size_t)32 << 10;
    size_t l2 = cpu.l2 ? cpu.l2 : (size_t)512 << 10;
    size_t l3 = cpu.l3 ? cpu.l3 : (size_t)8 << 20;
    memset(t, 0, sizeof *t);
    t->nt_copy_min = l3;    /* footprint 2n >= 2 L3 */
    t->nt_set_min = 2 * l3; /* footprint n >= 2 L3 */
    if (cpu.erms) {
        t->rep_movsb_min = l1d / 2 + 1; /* footprint 2n > L1d */
        t->rep_movsb_max = t->nt_copy_min;
        t->rep_stosb_min = l2 - l2 / 8;
        t->rep_stosb_max = t->nt_set_min;
    }
}

/* ---------------------------------------------------------------------------
 * Choosing
 * ------------------------------------------------------------------------ */

/*
 * The per-CPU table: the first row whose vendor and display family match
 * names the variant; when the CPU cannot run it, the next one down the
 * ladder (avx512, avx2, sse2) that it can. No row: the widest it can run.
 * docs/memcore.md ("Choosing per CPU") has the measurements behind each row.
 */
struct choice {
    const char *vendor;
    unsigned family;
    int variant;           /* V_* */
    size_t l3_when_hidden; /* one L3's size, when CPUID's cache leaves are hidden */
    bool nt_copy_narrow;   /* avx512's non-temporal copy with 32-byte moves */
    const char *row;
};

static const struct choice choices[] = {
    /* Zen 4 executes a 512-bit operation as two 256-bit halves, so zmm
     * buys no bandwidth over ymm; masked stores and line-splitting 512-bit
     * stores then only cost. Not measured here (no Zen 4 at hand). */
    {"AuthenticAMD", 0x19, V_AVX2, (size_t)32 << 20, false, "AMD family 19h (Zen 3, Zen 4): avx2"},
    /* Zen 5 (this project's machine): see docs/memcore.md. Its
     * non-temporal copies to a misaligned destination (64 and 256 MiB) ran
     * 1.07 to 1.21 times faster with 32-byte moves than with 64-byte ones;
     * aligned ones were level either way. */
    {"AuthenticAMD", 0x1a, V_AVX512, (size_t)32 << 20, true,
     "AMD family 1Ah (Zen 5): avx512, 32-byte nt copy"},
    /* The Intel Xeons with AVX-512 the variant order was first set on. */
    {"GenuineIntel", 0x6, V_AVX512, 0, false, "Intel family 6: avx512"},
};

static const struct choice *find_choice(const char *vendor, unsigned family)
{
    for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++)
        if (vendor && !strcmp(vendor, choices[i].vendor) && family == choices[i].family)
            return &choices[i];
    return NULL;
}

const char *am_mem_choose(const char *vendor, unsigned family, bool avx512, bool avx2,
                          const char **row)
{
    const bool can[V_ERMS] = {[V_AVX512] = avx512, [V_AVX2] = avx2, [V_SSE2] = true};
    const struct choice *c = find_choice(vendor, family);
    int from = c ? c->variant : V_AVX512;
    if (row)
        *row = c ? c->row : "no row: the widest variant";
    for (int v = from; v < V_ERMS; v++)
        if (can[v])
            return variants[v].name;
    return variants[V_SSE2].name;
}

static void publish(const struct am_mem_ops *v)
{
    chosen = v;
    __atomic_store_n(&table.memcpy, v->memcpy, __ATOMIC_RELEASE);
    __atomic_store_n(&table.memmove, v->memmove, __ATOMIC_RELEASE);
    __atomic_store_n(&table.memset, v->memset, __ATOMIC_RELEASE);
}

static void init(void)
{
    detect_cpu();
    variants[V_AVX512].supported =
        cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.bmi2 && cpu.os_zmm;
    variants[V_AVX2].supported = cpu.avx2 && cpu.os_ymm;
    variants[V_ERMS].supported = cpu.erms;
    /* Hypervisors may hide the deterministic cache leaves: then only leaf
     * 0x80000006 and sysconf are left, which on AMD give the L3 of the whole
     * package (508 MiB on this project's 2-CPU Zen 5 guest), not the one
     * L3 that a core's copies run through. */
    const struct choice *c = find_choice(cpu.vendor, cpu.family);
    if (c && c->l3_when_hidden && !cpu.l3_sharing && cpu.l3 > c->l3_when_hidden)
        cpu.l3 = c->l3_when_hidden;
    tune_from_cpu();
    am__memcore_tuning.nt_copy_narrow = c && c->nt_copy_narrow;

    const struct am_mem_ops *pick =
        am_mem_find_variant(am_mem_choose(cpu.vendor, cpu.family, variants[V_AVX512].supported,
                                          variants[V_AVX2].supported, &chosen_row));

    const char *want = getenv("AM_MEMCORE");
    if (want && *want) {
        const struct am_mem_ops *v = am_mem_find_variant(want);
        if (v && v->supported) {
            pick = v;
            snprintf(override_note, sizeof override_note, "forced by AM_MEMCORE");
        } else {
            snprintf(override_note, sizeof override_note, "AM_MEMCORE=%.32s ignored: %s", want,
                     v ? "not supported by this CPU" : "no such variant");
        }
    }
    publish(pick);
}

static void ensure_init(void)
{
    pthread_once(&init_once, init);
}

__attribute__((constructor)) static void init_at_load(void)
{
    ensure_init();
}

static void *first_memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    ensure_init();
    return table.memcpy(dst, src, n);
}

static void *first_memmove(void *dst, const void *src, size_t n)
{
    ensure_init();
    return table.memmove(dst, src, n);
}

static void *first_memset(void *dst, int c, size_t n)
{
    ensure_init();
    return table.memset(dst, c, n);
}

/* ---------------------------------------------------------------------------
 * The public functions
 * ------------------------------------------------------------------------ */

void *am_memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    return __atomic_load_n(&table.memcpy, __ATOMIC_ACQUIRE)(dst, src, n);
}

void *am_memmove(void *dst, const void *src, size_t n)
{
    return __atomic_load_n(&table.memmove, __ATOMIC_ACQUIRE)(dst, src, n);
}

void *am_memset(void *dst, int c, size_t n)
{
    return __atomic_load_n(&table.memset, __ATOMIC_ACQUIRE)(dst, c, n);
}

const struct am_mem_ops *am_mem_variants(size_t *count)
{
    ensure_init();
    *count = V_COUNT;
    return variants;
}

const struct am_mem_ops *am_mem_find_variant(const char *name)
{
    for (int i = 0; i < V_COUNT; i++)
        if (strcmp(variants[i].name, name) == 0)
            return &variants[i];
    return NULL;
}

const char *am_mem_variant(void)
{
    ensure_init();
    return chosen->name;
}

int am_mem_force(const char *name)
{
    ensure_init();
    const struct am_mem_ops *v = am_mem_find_variant(name);
    if (!v)
        return EINVAL;
    if (!v->supported)
        return ENOTSUP;
    publish(v);
    return 0;
}

void am_mem_route(const struct am_mem_ops *ops)
{
    ensure_init();
    publish(ops);
}

void am_mem_get_tuning(struct am_mem_tuning *out)
{
    ensure_init();
    *out = am__memcore_tuning;
}

void am_mem_set_tuning(const struct am_mem_tuning *tuning)
{
    ensure_init();
    am__memcore_tuning = *tuning;
}

const struct am_mem_cpu *am_mem_cpu(void)
{
    ensure_init();
    return &cpu;
}

/* "48 KiB", "1 MiB", "2112 B": exact, in the largest unit that divides. */
static const char *size_text(size_t n, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (u < 3 && n >= 1024 && n % 1024 == 0) {
        n /= 1024;
        u++;
    }
    snprintf(buf, len, "%zu %s", n, units[u]);
    return buf;
}

static const char *window_text(size_t min, size_t max, char *buf, size_t len)
{
    char lo[24], hi[24];
    if (min >= max)
        snprintf(buf, len, "never");
    else
        snprintf(buf, len, "%s..%s", size_text(min, lo, sizeof lo), size_text(max, hi, sizeof hi));
    return buf;
}

int am_mem_describe(char *buf, size_t len)
{
    ensure_init();
    const struct am_mem_tuning *t = &am__memcore_tuning;
    char flags[96] = "", l1[24], l2[24], l3[24], movsb[64], stosb[64], ntc[24], nts[24];
    static const struct {
        size_t offset;
        const char *word;
    } words[] = {
        {offsetof(struct am_mem_cpu, avx2), "avx2"},
        {offsetof(struct am_mem_cpu, avx512f), "avx512f"},
        {offsetof(struct am_mem_cpu, avx512bw), "avx512bw"},
        {offsetof(struct am_mem_cpu, avx512vl), "avx512vl"},
        {offsetof(struct am_mem_cpu, bmi2), "bmi2"},
        {offsetof(struct am_mem_cpu, erms), "erms"},
        {offsetof(struct am_mem_cpu, fsrm), "fsrm"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (*((const bool *)&cpu + words[i].offset)) {
            size_t used = strlen(flags);
            snprintf(flags + used, sizeof flags - used, "%s%s", used ? " " : "", words[i].word);
        }
    }
    return snprintf(
        buf, len,
        "%s (cpu: %s family %xh model %xh, %s; table: %s; L1d %s, L2 %s, L3 %s shared by %u; "
        "rep movsb %s, rep stosb %s, nt copy >= %s%s, nt set >= %s%s%s)",
        chosen->name, cpu.vendor, cpu.family, cpu.model, flags, chosen_row,
        size_text(cpu.l1d, l1, sizeof l1), size_text(cpu.l2, l2, sizeof l2),
        size_text(cpu.l3, l3, sizeof l3), cpu.l3_sharing,
        window_text(t->rep_movsb_min, t->rep_movsb_max, movsb, sizeof movsb),
        window_text(t->rep_stosb_min, t->rep_stosb_max, stosb, sizeof stosb),
        size_text(t->nt_copy_min, ntc, sizeof ntc), t->nt_copy_narrow ? " (32-byte moves)" : "",
        size_text(t->nt_set_min, nts, sizeof nts), override_note[0] ? "; " : "", override_note);
}
