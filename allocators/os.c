/*
 * os.c: the primitive layer (see os.h): mmap, munmap, mremap, mprotect,
 * madvise and sbrk, each returning an errno value.
 */
#include "os.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

size_t am__os_page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static int map_with(size_t n, int prot, int extra_flags, void **out)
{
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
        return ENOMEM;
    char *raw = NULL;
    int err = map_with(over, PROT_READ | PROT_WRITE, 0, (void **)&raw);
    if (err)
        return err;
    char *start =
        (char *)(((uintptr_t)raw + offset + align - 1) & ~(uintptr_t)(align - 1)) - offset;
    if (start > raw)
        munmap(raw, (size_t)(start - raw));
    if (start + n < raw + over)
        munmap(start + n, (size_t)(raw + over - (start + n)));
    *out = start;
    return 0;
}

int am__os_map_hint(size_t n, void *hint, void **out)
{
    void *p = mmap(hint, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    *out = p;
    return 0;
}

int am__os_unmap(void *p, size_t n)
{
    return munmap(p, n) == 0 ? 0 : errno;
}

int am__os_remap(void *p, size_t old_n, size_t new_n, void **out)
{
    void *q = mremap(p, old_n, new_n, MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return errno;
    *out = q;
    return 0;
}

int am__os_remap_inplace(void *p, size_t old_n, size_t new_n)
{
    return mremap(p, old_n, new_n, 0) == MAP_FAILED ? errno : 0;
}

int am__os_remap_to(void *p, size_t old_n, size_t new_n, void *to)
{
    void *q = mremap(p, old_n, new_n, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    return q == MAP_FAILED ? errno : 0;
}

int am__os_reserve(size_t n, void **out)
{
    return map_with(n, PROT_NONE, MAP_NORESERVE, out);
}

int am__os_commit(void *p, size_t n)
{
    return mprotect(p, n, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

int am__os_purge(void *p, size_t n)
{
    return madvise(p, n, MADV_DONTNEED) == 0 ? 0 : errno;
}

int am__os_hugepages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    return madvise(p, n, MADV_HUGEPAGE) == 0 ? 0 : errno;
#else
    (void)p;
    (void)n;
    return ENOTSUP;
#endif
}

int am__os_sbrk(intptr_t delta, void **old_break)
{
    void *p = sbrk(delta);
    if (p == (void *)-1)
        return errno ? errno : ENOMEM;
    *old_break = p;
    return 0;
}

void *am__os_break(void)
{
    return sbrk(0);
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
