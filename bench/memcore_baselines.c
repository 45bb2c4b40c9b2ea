/*
 * memcore_baselines.c: the naive loops of memcore_baselines.h. The word
 * loops follow seed 002's shape; its memset left the last n % 8 bytes
 * unset, which is fixed here so that every baseline does the same work.
 */
#include "memcore_baselines.h"

#include <stdint.h>

/* An 8-byte word at any address. */
typedef uint64_t word __attribute__((aligned(1), may_alias));

void *am_bench_byte_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *am_bench_byte_fill(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *am_bench_word_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n % 8 != 0) {
        *d++ = *s++;
        n--;
    }
    for (; n; n -= 8, d += 8, s += 8)
        *(word *)d = *(const word *)s;
    return dst;
}

void *am_bench_word_fill(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint64_t pattern = (unsigned char)c * UINT64_C(0x0101010101010101);
    while ((uintptr_t)d % 8 != 0 && n) {
        *d++ = (unsigned char)c;
        n--;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(word *)d = pattern;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}
