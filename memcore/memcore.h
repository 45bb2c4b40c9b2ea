/*
 * memcore.h: allocmark's memcpy, memmove and memset. The cores are written in
 * NASM for AVX-512, AVX2 and SSE2, plus a bare `rep movsb`/`rep stosb`
 * variant; one variant is chosen per process from CPUID, once, and every
 * call goes straight to it through one indirect jump.
 *
 * Layering: depends on nothing but the CPU and the C library's headers. It
 * sits below allocators/ (realloc copies and calloc zeroing go through it);
 * it must not include or call anything of allocmark's.
 *
 * Choosing a variant: AM_MEMCORE=avx512|avx2|sse2|erms in the environment
 * forces one at start-up (ignored, with the reason in am_mem_describe, when
 * unknown or not supported here); am_mem_force does the same from code.
 * Tests and benchmarks call a variant directly through am_mem_variants.
 */
#ifndef AM_MEMCORE_H
#define AM_MEMCORE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C library's contracts: memcpy's buffers must not overlap, memmove's
 * may; memset stores (unsigned char)c. Each returns dst. */
void *am_memcpy(void *__restrict dst, const void *__restrict src, size_t n);
void *am_memmove(void *dst, const void *src, size_t n);
void *am_memset(void *dst, int c, size_t n);

typedef void *am_memcpy_fn(void *__restrict dst, const void *__restrict src, size_t n);
typedef void *am_memmove_fn(void *dst, const void *src, size_t n);
typedef void *am_memset_fn(void *dst, int c, size_t n);

/* One implementation of the three functions. */
struct am_mem_ops {
    const char *name;  /* "avx512", "avx2", "sse2", "erms" */
    const char *needs; /* the CPU features it requires, for messages */
    bool supported;    /* this CPU and OS can run it */
    am_memcpy_fn *memcpy;
    am_memmove_fn *memmove;
    am_memset_fn *memset;
};

/* Every variant, in the order the dispatch prefers them; *count is set to
 * their number. The functions of an unsupported variant must not be called. */
const struct am_mem_ops *am_mem_variants(size_t *count);

/* The variant called `name`, or NULL. */
const struct am_mem_ops *am_mem_find_variant(const char *name);

/* The name of the variant am_memcpy and friends go to. */
const char *am_mem_variant(void);

/* Send am_memcpy and friends to the variant `name`: 0, EINVAL (no such
 * variant) or ENOTSUP (this CPU cannot run it). Not while other threads may
 * be calling them. */
int am_mem_force(const char *name);

/* For benchmarks: send am_memcpy, am_memmove and am_memset to the functions
 * of `ops` (the C library's, say), so that every contender is timed through
 * the very same call site; am_mem_force(am_mem_variant()) from before undoes
 * it. `ops` must outlive the routing. Not while other threads may be calling
 * the functions. */
void am_mem_route(const struct am_mem_ops *ops);

/* Where the size classes change, in bytes; set from the CPU at start-up.
 * Only copies whose buffers do not overlap take `rep movsb` or non-temporal
 * stores. A window [min, max) is empty when min >= max. Every variant but
 * erms reads these. */
struct am_mem_tuning {
    size_t rep_movsb_min, rep_movsb_max; /* copies in [min, max): rep movsb */
    size_t rep_stosb_min, rep_stosb_max; /* memsets in [min, max): rep stosb */
    size_t nt_copy_min;                  /* copies from here up: non-temporal */
    size_t nt_set_min;                   /* memsets from here up: non-temporal */
    size_t nt_copy_narrow;               /* not 0: avx512's non-temporal copy moves
                                          * 32 bytes at a time (the per-CPU table) */
};

void am_mem_get_tuning(struct am_mem_tuning *out);

/* For tests and threshold sweeps: not while other threads may be calling the
 * functions. */
void am_mem_set_tuning(const struct am_mem_tuning *tuning);

/* What the dispatch read from the CPU. Cache sizes are 0 when unknown. */
struct am_mem_cpu {
    char vendor[13]; /* CPUID leaf 0: "GenuineIntel", "AuthenticAMD", ... */
    unsigned family; /* display family: base + extended (0x19 Zen 3/4, 0x1a Zen 5) */
    unsigned model;  /* display model */
    bool avx2, avx512f, avx512bw, avx512vl, bmi2, erms, fsrm;
    bool os_ymm, os_zmm; /* the OS saves ymm / zmm and mask state (XCR0) */
    size_t l1d, l2, l3;  /* bytes per cache instance */
    unsigned l3_sharing; /* logical CPUs sharing one L3 */
};

const struct am_mem_cpu *am_mem_cpu(void);

/* The per-CPU table (dispatch.c; the measurements behind each row are in
 * docs/memcore.md): the variant it picks for a CPU of this vendor and display
 * family that can run avx512 and/or avx2 (sse2 always). *row, when not NULL,
 * is set to the row's description, or "no row: the widest variant" when no
 * row matches. For tests; the dispatch calls it with what CPUID said. */
const char *am_mem_choose(const char *vendor, unsigned family, bool avx512, bool avx2,
                          const char **row);

/* One line for `allocmark list`: the variant, the CPU features behind it and
 * the thresholds, e.g. "avx512 (cpu: avx2 avx512f ...; nt copy >= 16 MiB ...)".
 * Returns what snprintf returns. */
int am_mem_describe(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* AM_MEMCORE_H */
