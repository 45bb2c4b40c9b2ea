/*
 * os.c: the primitive layer (see os.h): mmap, munmap, mremap, mprotect,
 * madvise and sbrk, each returning an errno value, and the test hook that
 * makes them fail on demand.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Fault injection
 *
 * Disarmed (always, outside tests) a call costs one relaxed load of `armed`
 * and a branch predicted not taken, beside a system call of hundreds of
 * nanoseconds.
 * ------------------------------------------------------------------------ */

static atomic_bool armed;
static struct am_os_faults plan;
static atomic_ulong eligible_calls, injected;

void am__os_faults_arm(const struct am_os_faults *f)
{
    atomic_store(&armed, false);
    if (!f)
        return;
    plan = *f;
    atomic_store(&eligible_calls, 0);
    atomic_store(&injected, 0);
    atomic_store(&armed, true);
}

unsigned long am__os_faults_injected(void)
{
    return atomic_load(&injected);
}

unsigned long am__os_faults_seen(void)
{
    return atomic_load(&eligible_calls);
}

/* splitmix64: the call's number and the seed to a uniform 64-bit value. */
static uint64_t fault_hash(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

__attribute__((noinline, cold)) static bool refuse(unsigned call)
{
    if (!(plan.calls & call))
        return false;
    unsigned long n = atomic_fetch_add(&eligible_calls, 1);
    if (n < plan.skip)
        return false;
    n -= plan.skip;
    bool fail;
    if (plan.probability > 0)
        fail = (double)(fault_hash(plan.seed ^ n) >> 11) * 0x1.0p-53 < plan.probability;
    else
        fail = plan.every <= 1 || (n + 1) % plan.every == 0;
    if (!fail)
        return false;
    unsigned long done = atomic_load(&injected);
    do {
        if (plan.count && done >= plan.count)
            return false;
    } while (!atomic_compare_exchange_weak(&injected, &done, done + 1));
    return true;
}

/* Return ENOMEM from the calling primitive when the armed plan refuses it. */
#define MAY_REFUSE(call)                                                               \
    do {                                                                               \
        if (__builtin_expect(atomic_load_explicit(&armed, memory_order_relaxed), 0) && \
            refuse(call)) {                                                            \
            errno = ENOMEM;                                                            \
            return ENOMEM;                                                             \
        }                                                                              \
    } while (0)

/* ---------------------------------------------------------------------------
 * The primitives
 * ------------------------------------------------------------------------ */

size_t am__os_page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static int map_with(size_t n, int prot, int extra_flags, void **out)
{
    MAY_REFUSE(AM_OS_MAP);
    void *p = mmap(NULL, n, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    *out = p;
    return 0;
}

int am__os_map(size_t n, void **out)
{
    return map_with(n, PROT_READ | PROT_WRITE, 0, out);
}

int am__os_map_aligned(size_t n, size_t align, size_t offset, void **out)
{
    size_t over = n + align;
    if (over < n)
        return errno = ENOMEM;
    char *raw = NULL;
    int err = map_with(over, PROT_READ | PROT_WRITE, 0, (void **)&raw);
    if (err)
        return err;
    char *start =
        (char *)(((uintptr_t)raw + offset + align - 1) & ~(uintptr_t)(align - 1)) - offset;
    /* A trim that fails (the mapping limit, where the new mapping merged
     * with a neighbour) leaves unused pages mapped: address space lost, the
     * block itself is whole. */
    if (start > raw)
        (void)am__os_unmap(raw, (size_t)(start - raw));
    if (start + n < raw + over)
        (void)am__os_unmap(start + n, (size_t)(raw + over - (start + n)));
    *out = start;
    return 0;
}

int am__os_map_hint(size_t n, void *hint, void **out)
{
    MAY_REFUSE(AM_OS_MAP);
    void *p = mmap(hint, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    *out = p;
    return 0;
}

int am__os_unmap(void *p, size_t n)
{
    MAY_REFUSE(AM_OS_UNMAP);
    return munmap(p, n) == 0 ? 0 : errno;
}

int am__os_remap(void *p, size_t old_n, size_t new_n, void **out)
{
    MAY_REFUSE(AM_OS_REMAP);
    void *q = mremap(p, old_n, new_n, MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return errno;
    *out = q;
    return 0;
}

int am__os_remap_inplace(void *p, size_t old_n, size_t new_n)
{
    MAY_REFUSE(AM_OS_REMAP);
    return mremap(p, old_n, new_n, 0) == MAP_FAILED ? errno : 0;
}

int am__os_remap_to(void *p, size_t old_n, size_t new_n, void *to)
{
    MAY_REFUSE(AM_OS_REMAP);
    void *q = mremap(p, old_n, new_n, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    return q == MAP_FAILED ? errno : 0;
}

int am__os_reserve(size_t n, void **out)
{
    return map_with(n, PROT_NONE, MAP_NORESERVE, out);
}

int am__os_commit(void *p, size_t n)
{
    MAY_REFUSE(AM_OS_PROTECT);
    return mprotect(p, n, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

int am__os_purge(void *p, size_t n)
{
    MAY_REFUSE(AM_OS_ADVISE);
    return madvise(p, n, MADV_DONTNEED) == 0 ? 0 : errno;
}

int am__os_hugepages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    MAY_REFUSE(AM_OS_ADVISE);
    return madvise(p, n, MADV_HUGEPAGE) == 0 ? 0 : errno;
#else
    (void)p;
    (void)n;
    return errno = ENOTSUP;
#endif
}

int am__os_sbrk(intptr_t delta, void **old_break)
{
    if (delta != 0)
        MAY_REFUSE(AM_OS_SBRK);
    void *p = sbrk(delta);
    if (p == (void *)-1)
        return errno ? errno : (errno = ENOMEM);
    *old_break = p;
    return 0;
}

void *am__os_break(void)
{
    return sbrk(0);
}

size_t am__os_address_space_left(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX;
    /* The first field of /proc/self/statm: pages mapped now. Read with
     * open/read into the stack, so that nothing here allocates. */
    char text[64];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return (size_t)limit.rlim_cur;
    ssize_t got = read(fd, text, sizeof text - 1);
    close(fd);
    size_t mapped = 0;
    if (got > 0) {
        text[got] = '\0';
        mapped = (size_t)strtoull(text, NULL, 10) * am__os_page_size();
    }
    return mapped < (size_t)limit.rlim_cur ? (size_t)limit.rlim_cur - mapped : 0;
}

size_t am__os_resident_bytes(void)
{
    unsigned long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * am__os_page_size();
}
