/*
 * misbehave.c: the one implementation behind the test doubles crash-test and
 * hang-test (misbehave.h): a block per anonymous mapping (so sanitizers and
 * glibc stay out of it) until the Nth allocation, then the misbehaviour the
 * mode names.
 */
#include "misbehave.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocator.h"
#include "os.h"

enum mode { MODE_SEGV, MODE_ABORT, MODE_NULL, MODE_OVERLAP, MODE_HANG };

static const char *const mode_names[] = {"segv", "abort", "null", "overlap", "hang"};

static struct {
    enum mode mode;
    size_t after;
    atomic_size_t count;
    atomic_bool said;
    _Atomic(void *) last;
} state;

#define HEADER 16u /* the mapping's length, kept before the block */

int am__misbehave_init(const char *mode)
{
    if (!mode)
        mode = getenv("AM_CRASH_TEST");
    if (!mode || !*mode)
        mode = "segv";
    int found = -1;
    for (int i = 0; i < (int)(sizeof mode_names / sizeof mode_names[0]); i++)
        if (strcmp(mode, mode_names[i]) == 0)
            found = i;
    if (found < 0)
        return EINVAL;
    state.mode = (enum mode)found;
    const char *after = getenv("AM_CRASH_TEST_AFTER");
    state.after = after && *after ? strtoull(after, NULL, 10) : 1000;
    atomic_store(&state.count, 0);
    atomic_store(&state.said, false);
    atomic_store(&state.last, NULL);
    return 0;
}

static void fault(void)
{
    size_t page = am__os_page_size();
    void *p;
    if (am__os_map(page, &p) == 0 && am__os_unmap(p, page) == 0)
        *(volatile char *)p = 1;
    raise(SIGSEGV); /* only if someone mapped the page again in between */
}

/* One line on stderr before the first misbehaviour, as a real allocator's
 * "free(): invalid pointer" would be: the harness's tests check that a
 * failed cell's reason ends with the last thing its process said. */
static void say_once(size_t at)
{
    if (atomic_exchange(&state.said, true))
        return;
    char line[128];
    int len = snprintf(line, sizeof line, "crash-test: allocation %zu misbehaves (%s)\n", at + 1,
                       mode_names[state.mode]);
    if (len > 0) {
        ssize_t ignored = write(2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
        (void)ignored;
    }
}

void *am__misbehave_malloc(size_t n)
{
    size_t at = atomic_fetch_add(&state.count, 1);
    if (at >= state.after) {
        say_once(at);
        switch (state.mode) {
        case MODE_SEGV:
            fault();
            break;
        case MODE_ABORT:
            abort();
        case MODE_NULL:
            return NULL;
        case MODE_HANG:
            for (;;)
                sleep(1000);
        case MODE_OVERLAP: {
            void *last = atomic_load(&state.last);
            if (last && am__misbehave_usable_size(last) >= n)
                return last;
            break;
        }
        }
    }
    size_t len = am__align_up(n + HEADER, am__os_page_size());
    char *base;
    if (am__os_map(len, (void **)&base))
        return NULL;
    memcpy(base, &len, sizeof len);
    atomic_store(&state.last, base + HEADER);
    return base + HEADER;
}

void am__misbehave_free(void *p)
{
    if (state.mode == MODE_OVERLAP)
        return;
    size_t len;
    memcpy(&len, (char *)p - HEADER, sizeof len);
    am__os_unmap((char *)p - HEADER, len);
}

size_t am__misbehave_usable_size(void *p)
{
    size_t len;
    memcpy(&len, (char *)p - HEADER, sizeof len);
    return len - HEADER;
}
