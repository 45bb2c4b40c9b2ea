/*
 * os.h: the primitive layer. Every system call a backend makes to get or give
 * back memory goes through here, so backends differ only in how they manage
 * pages, never in how they talk to the kernel.
 *
 * Each function returns 0 or an errno value and prints nothing; the caller
 * decides what a failure means. A failure also leaves errno set, as the
 * system call does, so a caller that must keep errno saves it.
 *
 * Fault injection (for tests): am__os_faults_arm makes chosen calls fail with
 * ENOMEM, as the kernel does when memory, the address-space limit or the
 * mapping limit (vm.max_map_count, which also refuses a munmap that would
 * split a mapping) runs out. Disarmed, each call pays one load and one
 * never-taken branch beside its system call.
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

/* Address space the process may still map under its RLIMIT_AS (as `ulimit
 * -v` sets), in bytes: the limit less what is mapped now; SIZE_MAX without a
 * limit. Allocates nothing (a backend's init may run inside malloc). */
size_t am__os_address_space_left(void);

/* The process's resident set now, in bytes (/proc/self/statm); 0 when it
 * cannot be read. For tests and benchmarks that check what the OS sees. */
size_t am__os_resident_bytes(void);

/* The program break through libc's sbrk, never the raw brk system call, so
 * that libc's cached break stays right for glibc malloc beside us. On success
 * *old_break is the break before the move. */
int am__os_sbrk(intptr_t delta, void **old_break);
/* The current program break. */
void *am__os_break(void);

/* ---------------------------------------------------------------------------
 * Fault injection
 * ------------------------------------------------------------------------ */

/* Which calls an armed fault plan may refuse (struct am_os_faults.calls). */
enum {
    AM_OS_MAP = 1u << 0,     /* mmap: map, map_aligned, map_hint, reserve */
    AM_OS_UNMAP = 1u << 1,   /* munmap */
    AM_OS_REMAP = 1u << 2,   /* mremap */
    AM_OS_PROTECT = 1u << 3, /* mprotect: commit */
    AM_OS_ADVISE = 1u << 4,  /* madvise: purge, hugepages */
    AM_OS_SBRK = 1u << 5,    /* sbrk with a non-zero delta */
    AM_OS_ALL = (1u << 6) - 1,
};

/* A fault plan. Of the calls named in `calls`, the first `skip` go through;
 * after them a call fails when it is the `every`-th (0 or 1: each one) or,
 * with probability > 0 instead, with that probability (a hash of seed and the
 * call's number, so a plan replays the same on the same sequence of calls);
 * at most `count` calls fail (0: no limit). A refused call does nothing and
 * returns ENOMEM with errno set to ENOMEM. */
struct am_os_faults {
    unsigned calls;
    unsigned long skip;
    unsigned long count;
    unsigned long every;
    double probability;
    uint64_t seed;
};

/* Arm plan f for the whole process (f is copied), or disarm with NULL. Not
 * meant to race with allocation in other threads: arm and disarm between
 * phases of a test. */
void am__os_faults_arm(const struct am_os_faults *f);
/* Calls refused since the plan was armed. */
unsigned long am__os_faults_injected(void);
/* Calls the armed plan has seen (those named in its `calls`); a plan with
 * skip = ULONG_MAX refuses nothing and only counts. */
unsigned long am__os_faults_seen(void);

#endif /* AM_OS_H */
