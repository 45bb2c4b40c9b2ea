/*
 * fuzz_reader.c: a libFuzzer target for the trace reader: any bytes, read
 * as a trace to the end or to the first error, must give an event stream or
 * a message, never a crash, a hang or a leak. Built and run by
 * scripts/fuzz-trace.sh (clang -fsanitize=fuzzer,address).
 *
 * Layering: a test of the trace library; depends on trace/trace.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    lseek(fd, 0, SEEK_SET);
    struct am_trace_reader r;
    if (am_trace_open(&r, fd, "fuzz") == 0) {
        struct am_trace_event ev;
        int rc;
        uint64_t n = 0;
        while ((rc = am_trace_next(&r, &ev)) == 1) {
            /* What the reader promises about every event it returns. */
            if (ev.index != n++ || ev.thread >= r.h.threads || ev.op >= AM_TOP_COUNT ||
                ev.live < 0 || (ev.id && ev.size > AM_TRACE_MAX_BLOCK))
                __builtin_trap();
            am_trace_set_user(&r, ev.id, ev.index);
        }
        if (rc < 0 && !memchr(r.error, ':', sizeof r.error))
            __builtin_trap(); /* an error always has a message */
    }
    am_trace_close(&r);
    close(fd);
    return 0;
}
