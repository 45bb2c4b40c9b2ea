/*
 * os.h: the primitive layer. Every system call a backend makes to get or give
 * back memory goes through here, so backends differ only in how they manage
 * pages, never in how they talk to the kernel.
 *
 * Each function returns 0 or an errno value and prints nothing; the caller
 * decides what a failure means.
 *
 * Layering: depends on the C library and the kernel only.
 */
#ifndef AM_OS_H
#define AM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's page size (4096 on x86-64), read once. */
size_t am__os_page_size(void);

static inline size_t am__align_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

/* Map n bytes (a multiple of the page size) of zeroed, read-write memory. */
int am__os_map(size_t n, void **out);
/* Map n bytes (a multiple of the page size) of zeroed, read-write memory whose
 * start + offset is a multiple of align (a power of two, at least the page
 * size; offset a multiple of the page size, below align). Over-maps by align
 * and unmaps the unused head and tail, so it costs up to three system calls. */
int am__os_map_aligned(size_t n, size_t align, size_t offset, void **out);
/* Map n bytes (a multiple of the page size) of zeroed, read-write memory,
 * asking for it at hint; the kernel may place it elsewhere (never over an
 * existing mapping), so the caller checks *out. One system call. */
int am__os_map_hint(size_t n, void *hint, void **out);
/* Unmap [p, p + n); p and n page-aligned. */
int am__os_unmap(void *p, size_t n);
/* Grow or shrink the mapping [p, p + old_n) to new_n bytes; it may move. */
int am__os_remap(void *p, size_t old_n, size_t new_n, void **out);
/* Grow or shrink the mapping [p, p + old_n) to new_n bytes where it is;
 * ENOMEM when the pages after it are taken. */
int am__os_remap_inplace(void *p, size_t old_n, size_t new_n);
/* Move the mapping [p, p + old_n) to [to, to + new_n), replacing whatever was
 * mapped there; the pages move, their contents are not copied. */
int am__os_remap_to(void *p, size_t old_n, size_t new_n, void *to);
/* Reserve n bytes of address space without committing memory (PROT_NONE). */
int am__os_reserve(size_t n, void **out);
/* Make reserved pages [p, p + n) usable (read-write). */
int am__os_commit(void *p, size_t n);
/* Give the contents of [p, p + n) back to the OS; the range stays mapped and
 * reads as zero the next time it is touched. */
int am__os_purge(void *p, size_t n);
/* Ask for transparent huge pages on [p, p + n); ENOTSUP where the kernel has
 * none. */
int am__os_hugepages(void *p, size_t n);

/* The process's resident set now, in bytes (/proc/self/statm); 0 when it
 * cannot be read. For tests and benchmarks that check what the OS sees. */
size_t am__os_resident_bytes(void);

/* The program break through libc's sbrk, never the raw brk system call, so
 * that libc's cached break stays right for glibc malloc beside us. On success
 * *old_break is the break before the move. */
int am__os_sbrk(intptr_t delta, void **old_break);
/* The current program break. */
void *am__os_break(void);

#endif /* AM_OS_H */
