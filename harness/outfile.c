/*
 * outfile.c: a program cell's output files (see outfile.h): their checksum,
 * a copy kept for a diff, where two of them differ.
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* FNV-1a, 64 bits, of a file; false when it cannot be read. */
bool am_outfile_checksum(const char *path, unsigned long long *sum)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned long long h = 1469598103934665603ull;
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ull;
    close(fd);
    *sum = h;
    return n == 0;
}

int am_outfile_copy(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        int err = errno;
        close(in);
        return err;
    }
    char buf[65536];
    ssize_t n;
    int err = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            err = EIO;
            break;
        }
    close(in);
    close(out);
    return err;
}

/* Where two files first differ: -1 when they are the same, -2 when one
 * cannot be read. */
long long am_outfile_first_difference(const char *a, const char *b)
{
    FILE *fa = fopen(a, "re"), *fb = fopen(b, "re");
    long long at = -2;
    if (fa && fb) {
        for (at = 0;; at++) {
            int ca = getc(fa), cb = getc(fb);
            if (ca != cb)
                break;
            if (ca == EOF) {
                at = -1;
                break;
            }
        }
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return at;
}
