/*
 * memcore_baselines.h: the naive copies and fills that memcore is measured
 * against, besides the C library and `rep movsb` (memcore's erms variant).
 * Built without loop vectorisation or idiom recognition (bench/meson.build),
 * so they stay the loops they are written as.
 */
#ifndef AM_MEMCORE_BASELINES_H
#define AM_MEMCORE_BASELINES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One byte per iteration. */
void *am_bench_byte_copy(void *dst, const void *src, size_t n);
void *am_bench_byte_fill(void *dst, int c, size_t n);

/* Seed 002's word loops: single bytes until the rest is a multiple of 8
 * (memcpy) or until dst is 8-byte aligned (memset), then 8-byte words. */
void *am_bench_word_copy(void *dst, const void *src, size_t n);
void *am_bench_word_fill(void *dst, int c, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* AM_MEMCORE_BASELINES_H */
