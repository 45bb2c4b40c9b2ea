/*
 * common.c: what the workloads share (see workload.h): the registry lookup,
 * cookies, slot churn, threads and scratch memory.
 */
#include "workload.h"
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

/* ---------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------ */

const struct am_workload *am_find_workload(const char *name)
{
    if (strncmp(name, "trace:", 6) == 0)
        return am_trace_workload(name);
    for (size_t i = 0; i < am_workload_count; i++)
        if (strcmp(am_workloads[i]->name, name) == 0)
            return am_workloads[i];
    return NULL;
}

unsigned am_workload_param_count(const struct am_workload *w)
{
    unsigned n = 0;
    while (n < AM_MAX_PARAMS && w->params[n].name)
        n++;
    return n;
}

uint64_t am_seed(unsigned index)
{
    return 0x243F6A8885A308D3ull ^ ((uint64_t)(index + 1) * 0x9E3779B97F4A7C15ull);
}

/* ---------------------------------------------------------------------------
 * Cookies
 * ------------------------------------------------------------------------ */

#define COOKIE_PAGE 4096u

static size_t head_len(size_t n)
{
    return n < 8 ? n : 8;
}

/* Where the tail copy of the cookie starts (only when n > 8). */
static size_t tail_at(size_t n)
{
    return n >= 16 ? n - 8 : 8;
}

static unsigned char page_byte(uint64_t cookie, size_t page)
{
    return (unsigned char)(cookie ^ page);
}

/* The page bytes at offsets k = j * 4096 (j >= 1) with from <= k < n - 8. */
static void write_pages(unsigned char *b, size_t from, size_t n, uint64_t cookie)
{
    size_t j = from <= COOKIE_PAGE ? 1 : (from + COOKIE_PAGE - 1) / COOKIE_PAGE;
    for (size_t k = j * COOKIE_PAGE; k + 8 < n; k += COOKIE_PAGE, j++)
        b[k] = page_byte(cookie, j);
}

static void write_tail(unsigned char *b, size_t n, uint64_t cookie)
{
    if (n > 8)
        memcpy(b + tail_at(n), &cookie, n - tail_at(n));
}

void am_fill(void *p, size_t n, uint64_t cookie)
{
    unsigned char *b = p;
    memcpy(b, &cookie, head_len(n));
    write_pages(b, 0, n, cookie);
    write_tail(b, n, cookie);
}

void am_extend(void *p, size_t old_n, size_t n, uint64_t cookie)
{
    unsigned char *b = p;
    if (old_n < 8)
        memcpy(b, &cookie, head_len(n));
    /* Pages below old_n - 8 are already written; the old tail is not a page. */
    write_pages(b, old_n >= 8 ? old_n - 8 : 0, n, cookie);
    write_tail(b, n, cookie);
}

/* The first offset that differs from am_fill's pattern, or n. */
static size_t first_difference(const unsigned char *b, size_t n, uint64_t cookie)
{
    const unsigned char *c = (const unsigned char *)&cookie;
    for (size_t i = 0; i < head_len(n); i++)
        if (b[i] != c[i])
            return i;
    size_t j = 1;
    for (size_t k = COOKIE_PAGE; k + 8 < n; k += COOKIE_PAGE, j++)
        if (b[k] != page_byte(cookie, j))
            return k;
    if (n > 8)
        for (size_t i = tail_at(n); i < n; i++)
            if (b[i] != c[i - tail_at(n)])
                return i;
    return n;
}

bool am_intact(struct am_thread *t, const void *p, size_t n, uint64_t cookie)
{
    const unsigned char *b = p;
    /* The common case in two comparisons; the slow walk only to say where. */
    if (n >= 16 && n <= COOKIE_PAGE + 8 && memcmp(b, &cookie, 8) == 0 &&
        memcmp(b + n - 8, &cookie, 8) == 0)
        return true;
    size_t at = first_difference(b, n, cookie);
    if (at == n)
        return true;
    am_measure_fail(t->m, AM_STATUS_CORRUPT,
                    "a live %zu-byte block changed at offset %zu before it was freed", n, at);
    return false;
}

void *am_alloc_filled(struct am_thread *t, size_t n, uint64_t cookie)
{
    void *p = am_op_malloc(t, n);
    if (!p) {
        am_measure_fail(t->m, AM_STATUS_OOM, "malloc(%zu) returned NULL after %llu operations", n,
                        (unsigned long long)t->ops);
        return NULL;
    }
    am_fill(p, n, cookie);
    return p;
}

bool am_free_checked(struct am_thread *t, void *p, size_t n, uint64_t cookie)
{
    if (!am_intact(t, p, n, cookie))
        return false;
    am_op_free(t, p, n);
    return true;
}

bool am_grow(struct am_thread *t, void **p, size_t old_n, size_t n, uint64_t cookie)
{
    if (!am_intact(t, *p, old_n, cookie)) {
        *p = NULL;
        return false;
    }
    void *q = am_op_realloc(t, *p, old_n, n);
    if (!q) {
        am_measure_fail(t->m, AM_STATUS_OOM,
                        "realloc(%zu -> %zu) returned NULL after %llu operations", old_n, n,
                        (unsigned long long)t->ops);
        return false;
    }
    am_extend(q, old_n, n, cookie);
    *p = q;
    return true;
}

/* ---------------------------------------------------------------------------
 * Sizes and slots
 * ------------------------------------------------------------------------ */

int am_sizes_init(struct am_sizes *s, uint32_t entries)
{
    s->v = am_scratch(entries * sizeof *s->v);
    s->mask = entries - 1;
    return s->v ? 0 : ENOMEM;
}

void am_sizes_uniform(struct am_sizes *s, long min, long max)
{
    double entries = (double)s->mask + 1, span = (double)(max - min);
    for (uint32_t i = 0; i <= s->mask; i++)
        s->v[i] = (uint32_t)((double)min + span * (i + 0.5) / entries);
}

int am_slots_init(struct am_slots *s, size_t count, uint64_t tag)
{
    s->ptr = am_scratch(count * sizeof *s->ptr);
    s->len = am_scratch(count * sizeof *s->len);
    s->count = count;
    s->tag = tag;
    return s->ptr && s->len ? 0 : ENOMEM;
}

void am_slots_churn(struct am_thread *t, struct am_slots *s, const struct am_sizes *sizes,
                    uint64_t *rng, uint64_t until)
{
    while (t->ops < until && !am_op_stopping(t)) {
        size_t i = am_rand_below(rng, s->count);
        if (s->ptr[i]) {
            void *old = s->ptr[i];
            s->ptr[i] = NULL;
            if (!am_free_checked(t, old, s->len[i], am_cookie(s->tag + i, s->len[i])))
                return;
        }
        uint32_t n = am_sizes_draw(sizes, rng);
        void *p = am_alloc_filled(t, n, am_cookie(s->tag + i, n));
        if (!p)
            return;
        s->ptr[i] = p;
        s->len[i] = n;
    }
}

void am_slots_clear(struct am_thread *t, struct am_slots *s)
{
    for (size_t i = 0; i < s->count; i++) {
        if (!s->ptr[i])
            continue;
        /* After a failure keep freeing: the remaining blocks are still ours. */
        am_free_checked(t, s->ptr[i], s->len[i], am_cookie(s->tag + i, s->len[i]));
        s->ptr[i] = NULL;
    }
}

struct am_churn *am_churn_prepare(struct am_workload_ctx *c, unsigned phases, uint32_t entries,
                                  size_t slots_per_thread)
{
    struct am_churn *st = am_scratch(sizeof *st);
    if (!st || phases > AM_MAX_PHASES)
        return NULL;
    st->phases = phases;
    for (unsigned k = 0; k < phases; k++)
        if (am_sizes_init(&st->sizes[k], entries))
            return NULL;
    for (unsigned i = 0; i < c->threads; i++)
        if (am_slots_init(&st->slots[i], slots_per_thread, (uint64_t)i << 32))
            return NULL;
    c->state = st;
    return st;
}

static void churn_thread(struct am_thread *t, void *arg)
{
    struct am_churn *st = arg;
    struct am_slots *slots = &st->slots[t->index];
    uint64_t rng = am_seed(t->index);
    for (unsigned k = 0; k < st->phases && !am_op_stopping(t); k++) {
        am_slots_churn(t, slots, &st->sizes[k], &rng, t->ops_target * (k + 1) / st->phases);
        am_slots_clear(t, slots);
    }
    am_slots_clear(t, slots);
}

void am_churn_run(struct am_workload_ctx *c)
{
    am_parallel(c, churn_thread, c->state, 0, false);
}

/* ---------------------------------------------------------------------------
 * Touched blocks and grown blocks
 * ------------------------------------------------------------------------ */

#define TOUCH_MAX 256u

void am_touch(void *p, size_t n, unsigned rounds)
{
    volatile unsigned char *b = p;
    for (unsigned r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++)
            b[i]++;
}

/* Whether every byte is what am_fill wrote plus `rounds`. */
static bool touched_intact(struct am_thread *t, const unsigned char *b, size_t n, uint64_t cookie,
                           unsigned rounds)
{
    unsigned char want[TOUCH_MAX];
    am_fill(want, n, cookie);
    for (size_t i = 0; i < n; i++) {
        if (b[i] != (unsigned char)(want[i] + rounds)) {
            am_measure_fail(t->m, AM_STATUS_CORRUPT,
                            "a live %zu-byte block changed at offset %zu before it was freed", n,
                            i);
            return false;
        }
    }
    return true;
}

void am_touch_loop(struct am_thread *t, size_t n, unsigned rounds)
{
    if (n > TOUCH_MAX)
        n = TOUCH_MAX;
    uint64_t tag = (uint64_t)t->index << 32;
    while (!am_op_done(t)) {
        uint64_t cookie = am_cookie(tag++, n);
        unsigned char *p = am_alloc_filled(t, n, cookie);
        if (!p)
            return;
        am_touch(p, n, rounds);
        if (!touched_intact(t, p, n, cookie, rounds))
            return;
        am_op_free(t, p, n);
    }
}

#define GROW_MAX 64u

void am_grow_loop(struct am_thread *t, unsigned count, size_t first, size_t last, size_t step)
{
    void *block[GROW_MAX];
    size_t len[GROW_MAX];
    uint64_t cookie[GROW_MAX];
    if (count > GROW_MAX)
        count = GROW_MAX;
    uint64_t tag = (uint64_t)t->index << 32;
    while (!am_op_done(t)) {
        unsigned held = 0;
        for (; held < count; held++) {
            cookie[held] = am_cookie(tag++, 0);
            len[held] = first;
            block[held] = am_alloc_filled(t, first, cookie[held]);
            if (!block[held])
                break;
        }
        /* Grow them in turn, so that each realloc has neighbours to move past. */
        bool growing = held == count;
        while (growing && !am_op_stopping(t)) {
            growing = false;
            for (unsigned i = 0; i < held; i++) {
                if (!block[i] || len[i] >= last)
                    continue;
                size_t n = step ? len[i] + step : len[i] * 2;
                if (n > last)
                    n = last;
                if (!am_grow(t, &block[i], len[i], n, cookie[i]))
                    break;
                len[i] = n;
                growing = true;
            }
        }
        for (unsigned i = 0; i < held; i++)
            if (block[i])
                am_free_checked(t, block[i], len[i], cookie[i]);
        if (am_op_stopping(t))
            return;
    }
}

/* ---------------------------------------------------------------------------
 * Threads and scratch memory
 * ------------------------------------------------------------------------ */

struct launch {
    am_thread_fn fn;
    struct am_thread *t;
    void *arg;
    atomic_int *go;
};

static void *launch_thread(void *v)
{
    struct launch *l = v;
    while (!atomic_load_explicit(l->go, memory_order_acquire))
        sched_yield();
    l->fn(l->t, l->arg);
    return NULL;
}

void am_parallel(struct am_workload_ctx *c, am_thread_fn fn, void *args, size_t arg_size,
                 bool fresh)
{
    unsigned n = c->threads;
    if (n == 1 && !fresh) {
        fn(&c->m->thread[0], args);
        return;
    }
    pthread_t ids[AM_MAX_THREADS];
    struct launch launches[AM_MAX_THREADS];
    atomic_int go = 0;
    unsigned started = 0;
    for (; started < n; started++) {
        struct launch *l = &launches[started];
        l->fn = fn;
        l->t = &c->m->thread[started];
        l->arg = (char *)args + started * arg_size;
        l->go = &go;
        int err = pthread_create(&ids[started], NULL, launch_thread, l);
        if (err) {
            am_measure_fail(c->m, AM_STATUS_ERROR, "cannot start thread %u: %s", started,
                            strerror(err));
            break;
        }
    }
    atomic_store_explicit(&go, 1, memory_order_release);
    for (unsigned i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
}

void *am_scratch(size_t n)
{
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
