/*
 * convert.c: the spool-to-trace converter of convert.h. Each thread's
 * records come out of its chunks in order (chunks sorted by their first
 * record number, records seen before skipped); a heap merges the threads by
 * cycle counter. A realloc is handled at two moments: at its start the old
 * address leaves the address map (another thread may be handed that address
 * before the realloc returns), at its end the event is written and the new
 * address enters the map.
 */
#include "convert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "trace.h"

struct chunk_ref {
    uint64_t first, offset;
    uint32_t records, bytes;
};

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

static bool plausible(const struct am_spool_chunk *h)
{
    return h->magic == AM_SPOOL_MAGIC && h->version == AM_SPOOL_VERSION &&
           h->kind <= AM_SPOOL_HELLO && h->bytes <= (64u << 20);
}

int am_spool_scan(const char *spool, struct am_spool_summary *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int fd = open(spool, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", spool, strerror(errno));
        return -1;
    }
    struct stat st;
    fstat(fd, &st);
    s->bytes = (uint64_t)st.st_size;
    size_t cap = 0;
    uint64_t off = 0;
    struct am_spool_chunk h;
    while (off + sizeof h <= s->bytes && read_at(fd, &h, sizeof h, off) == 0 && plausible(&h) &&
           off + sizeof h + h.bytes <= s->bytes) {
        size_t i;
        for (i = 0; i < s->count && s->inst[i].id != h.instance; i++)
            ;
        if (i == s->count) {
            if (s->count == cap) {
                cap = cap ? cap * 2 : 8;
                void *p = realloc(s->inst, cap * sizeof *s->inst);
                if (!p) {
                    close(fd);
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                s->inst = p;
            }
            memset(&s->inst[i], 0, sizeof s->inst[i]);
            s->inst[i].id = h.instance;
            s->inst[i].pid = h.pid;
            s->count++;
        }
        if (h.kind == AM_SPOOL_HELLO) {
            size_t n =
                h.bytes < sizeof s->inst[i].command - 1 ? h.bytes : sizeof s->inst[i].command - 1;
            read_at(fd, s->inst[i].command, n, off + sizeof h);
            for (size_t k = 0; k < n; k++)
                if (!s->inst[i].command[k])
                    s->inst[i].command[k] = ' ';
            while (n && s->inst[i].command[n - 1] == ' ')
                n--;
            s->inst[i].command[n] = '\0';
        } else {
            s->inst[i].records += h.records;
        }
        off += sizeof h + h.bytes;
    }
    s->bad_tail = s->bytes - off;
    close(fd);
    return 0;
}

long am_spool_pick(const struct am_spool_summary *s, uint32_t root_pid)
{
    /* The process's last image is the command that ran (wrappers such as
     * env or a shell exec it); without a pid, the busiest image. */
    long best = -1;
    for (size_t i = 0; i < s->count; i++) {
        if (root_pid) {
            if (s->inst[i].pid == root_pid && s->inst[i].records)
                best = (long)i;
            continue;
        }
        if (best < 0 || s->inst[i].records > s->inst[best].records)
            best = (long)i;
    }
    return best;
}

/* ---------------------------------------------------------------------------
 * One thread's records, in order
 * ------------------------------------------------------------------------ */

struct rec {
    uint8_t op;
    bool failed;
    uint64_t tsc, tsc_end; /* tsc_end: realloc only */
    uint64_t a, b;         /* size; nmemb and elem; align and size */
    uint64_t ptr, result;
};

struct cursor {
    uint32_t index, tid, out_thread;
    struct chunk_ref *chunk;
    size_t chunks, next_chunk;
    uint8_t *payload;
    size_t payload_cap, pos, len;
    uint32_t left;     /* records left in the loaded chunk */
    uint64_t number;   /* the number of the next record in the loaded chunk */
    uint64_t expected; /* the next record number not yet taken */
    uint64_t prev_tsc, prev_ptr;
    struct rec cur;
    int phase;       /* realloc: 0 before its start is handled, 1 after */
    uint64_t old_id; /* realloc: the id its old address had (0: none) */
    bool old_known;
    uint64_t key;
};

static bool get_v(struct cursor *c, uint64_t *v)
{
    int n = am_varint_get(c->payload + c->pos, c->payload + c->len, v);
    if (n <= 0)
        return false;
    c->pos += (size_t)n;
    return true;
}

static bool get_ptr(struct cursor *c, uint64_t *v)
{
    uint64_t z;
    if (!get_v(c, &z))
        return false;
    c->prev_ptr += (uint64_t)am_unzigzag(z);
    *v = c->prev_ptr;
    return true;
}

static bool decode(struct cursor *c, struct rec *r)
{
    if (c->pos >= c->len)
        return false;
    uint8_t tag = c->payload[c->pos++];
    memset(r, 0, sizeof *r);
    r->op = tag & AM_TAG_OP_MASK;
    r->failed = (tag & AM_TAG_NULL) != 0;
    uint64_t dt;
    if (!get_v(c, &dt))
        return false;
    c->prev_tsc += dt;
    r->tsc = c->prev_tsc;
    switch (r->op) {
    case AM_TOP_FREE:
        return get_ptr(c, &r->ptr);
    case AM_TOP_REALLOC: {
        uint64_t d;
        if (!get_ptr(c, &r->ptr) || !get_v(c, &r->a) || !get_ptr(c, &r->result) || !get_v(c, &d))
            return false;
        r->tsc_end = r->tsc + d;
        return true;
    }
    case AM_TOP_CALLOC:
    case AM_TOP_POSIX_MEMALIGN:
    case AM_TOP_ALIGNED_ALLOC:
    case AM_TOP_MEMALIGN:
        return get_v(c, &r->a) && get_v(c, &r->b) && get_ptr(c, &r->result);
    case AM_TOP_MALLOC:
    case AM_TOP_VALLOC:
    case AM_TOP_PVALLOC:
        return get_v(c, &r->a) && get_ptr(c, &r->result);
    default:
        return false;
    }
}

/* The thread's next record not taken before; false at its end. */
static bool advance(struct cursor *c, int fd, struct am_convert_result *res)
{
    for (;;) {
        while (c->left > 0) {
            struct rec r;
            if (!decode(c, &r)) {
                c->left = 0; /* a damaged chunk: the rest of it is lost */
                break;
            }
            c->left--;
            uint64_t n = c->number++;
            if (n < c->expected) {
                res->duplicates++;
                continue;
            }
            if (n > c->expected)
                res->lost += n - c->expected;
            c->expected = n + 1;
            c->cur = r;
            c->phase = 0;
            c->key = r.tsc;
            return true;
        }
        if (c->next_chunk == c->chunks)
            return false;
        struct chunk_ref *k = &c->chunk[c->next_chunk++];
        if (k->first + k->records <= c->expected) {
            res->duplicates += k->records;
            continue;
        }
        if (k->bytes > c->payload_cap) {
            void *p = realloc(c->payload, k->bytes);
            if (!p)
                return false;
            c->payload = p;
            c->payload_cap = k->bytes;
        }
        if (read_at(fd, c->payload, k->bytes, k->offset + sizeof(struct am_spool_chunk)) != 0)
            return false;
        c->pos = 0;
        c->len = k->bytes;
        c->left = k->records;
        c->number = k->first;
        c->prev_tsc = 0;
        c->prev_ptr = 0;
    }
}

static int cmp_chunk(const void *a, const void *b)
{
    const struct chunk_ref *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->records != y->records)
        return x->records > y->records ? -1 : 1; /* the longer copy first */
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* ---------------------------------------------------------------------------
 * The heap of cursors by key
 * ------------------------------------------------------------------------ */

struct heap {
    struct cursor **v;
    size_t n;
};

static void heap_push(struct heap *h, struct cursor *c)
{
    size_t i = h->n++;
    h->v[i] = c;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->key <= h->v[i]->key)
            break;
        struct cursor *t = h->v[p];
        h->v[p] = h->v[i];
        h->v[i] = t;
        i = p;
    }
}

static struct cursor *heap_pop(struct heap *h)
{
    struct cursor *top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->key < h->v[m]->key)
            m = l;
        if (r < h->n && h->v[r]->key < h->v[m]->key)
            m = r;
        if (m == i)
            break;
        struct cursor *t = h->v[m];
        h->v[m] = h->v[i];
        h->v[i] = t;
        i = m;
    }
    return top;
}

/* ---------------------------------------------------------------------------
 * Conversion
 * ------------------------------------------------------------------------ */

struct conv {
    struct am_trace_writer w;
    struct am_idmap addr; /* address -> entry.id: the block's trace id */
    struct am_convert_result *res;
    uint64_t tsc0;
    double ns_per_tick;
    int err;
};

static uint64_t to_ns(const struct conv *v, uint64_t tsc)
{
    return tsc <= v->tsc0 ? 0 : (uint64_t)((double)(tsc - v->tsc0) * v->ns_per_tick);
}

static void emit(struct conv *v, struct am_trace_rec *e)
{
    v->res->events++;
    uint64_t id = am_trace_write(&v->w, e);
    (void)id;
}

/* A block now lives at `addr` with trace id `id`. */
static void place(struct conv *v, uint64_t addr, uint64_t id, const struct am_trace_rec *at)
{
    struct am_idmap_entry *e = am_idmap_find(&v->addr, addr);
    if (e) {
        /* Handed out again before its free was seen: free it here. */
        struct am_trace_rec f = {
            .op = AM_TOP_FREE, .thread = at->thread, .ns = at->ns, .ref = e->id};
        emit(v, &f);
        v->res->repaired++;
        e->id = id;
        return;
    }
    e = am_idmap_insert(&v->addr, addr);
    if (!e) {
        v->err = ENOMEM;
        return;
    }
    e->id = id;
}

static void handle(struct conv *v, struct cursor *c)
{
    struct rec *r = &c->cur;
    struct am_trace_rec e = {.op = r->op, .thread = c->out_thread, .failed = r->failed};
    struct am_idmap_entry old;
    switch (r->op) {
    case AM_TOP_FREE:
        e.ns = to_ns(v, r->tsc);
        if (r->ptr) {
            if (!am_idmap_remove(&v->addr, r->ptr, &old)) {
                v->res->unknown_frees++;
                return;
            }
            e.ref = old.id;
        }
        emit(v, &e);
        return;
    case AM_TOP_REALLOC:
        if (c->phase == 0) {
            /* Its start: the old address is no longer this block's. */
            c->old_known = r->ptr && am_idmap_remove(&v->addr, r->ptr, &old);
            c->old_id = c->old_known ? old.id : 0;
            return;
        }
        e.ns = to_ns(v, r->tsc_end);
        e.size = r->a;
        if (r->ptr && !c->old_known) {
            v->res->unknown_reallocs++;
            if (r->failed)
                return;
            e.op = AM_TOP_MALLOC;
        }
        e.ref = c->old_id;
        break;
    case AM_TOP_CALLOC:
        e.ns = to_ns(v, r->tsc);
        e.nmemb = r->a;
        e.elem = r->b;
        break;
    case AM_TOP_POSIX_MEMALIGN:
    case AM_TOP_ALIGNED_ALLOC:
    case AM_TOP_MEMALIGN:
        e.ns = to_ns(v, r->tsc);
        e.align = r->a;
        e.size = r->b;
        break;
    default:
        e.ns = to_ns(v, r->tsc);
        e.size = r->a;
        break;
    }
    v->res->events++;
    uint64_t id = am_trace_write(&v->w, &e);
    if (id)
        place(v, r->result, id, &e);
    else if (e.op == AM_TOP_REALLOC && e.ref && r->failed && e.size > 0)
        place(v, r->ptr, e.ref, &e); /* a failed realloc keeps its block */
}

int am_spool_convert(const char *spool, const struct am_spool_summary *s, size_t which,
                     const char *out, const char *allocator, struct am_convert_result *res,
                     char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    const struct am_spool_instance *inst = &s->inst[which];
    int fd = open(spool, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", spool, strerror(errno));
        return -1;
    }
    /* Gather the instance's chunks per thread, and its clock pairs. */
    struct cursor *cur = NULL;
    size_t ncur = 0;
    uint64_t tsc0 = 0, mono0 = 0, real0 = 0, tsc1 = 0, mono1 = 0;
    bool have0 = false;
    uint64_t off = 0, end = s->bytes - s->bad_tail;
    struct am_spool_chunk h;
    int rc = -1;
    while (off < end && read_at(fd, &h, sizeof h, off) == 0) {
        if (h.instance == inst->id) {
            if (h.kind == AM_SPOOL_HELLO && !have0) {
                tsc0 = h.tsc;
                mono0 = h.mono_ns;
                real0 = h.real_ns;
                have0 = true;
            }
            if (h.tsc > tsc1) {
                tsc1 = h.tsc;
                mono1 = h.mono_ns;
            }
            if (h.kind == AM_SPOOL_EVENTS && h.records) {
                size_t i;
                for (i = 0; i < ncur && cur[i].index != h.thread; i++)
                    ;
                if (i == ncur) {
                    void *p = realloc(cur, (ncur + 1) * sizeof *cur);
                    if (!p)
                        goto oom;
                    cur = p;
                    memset(&cur[ncur], 0, sizeof *cur);
                    cur[ncur].index = h.thread;
                    cur[ncur].tid = h.tid;
                    ncur++;
                }
                struct cursor *c = &cur[i];
                if ((c->chunks & (c->chunks - 1)) == 0) {
                    void *p = realloc(c->chunk, (c->chunks ? c->chunks * 2 : 1) * sizeof *c->chunk);
                    if (!p)
                        goto oom;
                    c->chunk = p;
                }
                c->chunk[c->chunks++] = (struct chunk_ref){h.first, off, h.records, h.bytes};
            }
        }
        off += sizeof h + h.bytes;
    }
    if (ncur == 0) {
        snprintf(err, errlen, "the recording holds no allocation (process %u: %s)", inst->pid,
                 inst->command);
        goto out;
    }
    /* Threads in the order they first allocated. */
    for (size_t i = 1; i < ncur; i++)
        for (size_t j = i; j > 0 && cur[j].index < cur[j - 1].index; j--) {
            struct cursor t = cur[j];
            cur[j] = cur[j - 1];
            cur[j - 1] = t;
        }
    struct am_trace_header th;
    memset(&th, 0, sizeof th);
    th.threads = (uint32_t)ncur;
    th.thread = calloc(ncur, sizeof *th.thread);
    if (!th.thread)
        goto oom;
    for (size_t i = 0; i < ncur; i++) {
        cur[i].out_thread = (uint32_t)i;
        th.thread[i].tid = cur[i].tid;
        th.thread[i].flags = cur[i].tid == inst->pid;
        qsort(cur[i].chunk, cur[i].chunks, sizeof *cur[i].chunk, cmp_chunk);
    }
    th.start_unix_ns = real0;
    snprintf(th.command, sizeof th.command, "%s", inst->command);
    snprintf(th.allocator, sizeof th.allocator, "%s", allocator ? allocator : "glibc");

    struct conv v;
    memset(&v, 0, sizeof v);
    v.res = res;
    v.tsc0 = tsc0;
    v.ns_per_tick =
        tsc1 > tsc0 && mono1 > mono0 ? (double)(mono1 - mono0) / (double)(tsc1 - tsc0) : 1.0;
    int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ofd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", out, strerror(errno));
        free(th.thread);
        goto out;
    }
    if (am_idmap_init(&v.addr) != 0 || am_trace_writer_open(&v.w, ofd, &th) != 0) {
        free(th.thread);
        close(ofd);
        goto oom;
    }
    free(th.thread);
    res->threads = (uint32_t)ncur;

    struct heap hp = {calloc(ncur, sizeof(struct cursor *)), 0};
    if (!hp.v) {
        close(ofd);
        goto oom;
    }
    for (size_t i = 0; i < ncur; i++)
        if (advance(&cur[i], fd, res))
            heap_push(&hp, &cur[i]);
    while (hp.n && !v.err) {
        struct cursor *c = heap_pop(&hp);
        handle(&v, c);
        if (c->cur.op == AM_TOP_REALLOC && c->phase == 0) {
            c->phase = 1;
            c->key = c->cur.tsc_end;
            heap_push(&hp, c);
        } else if (advance(c, fd, res)) {
            heap_push(&hp, c);
        }
    }
    free(hp.v);
    res->duration_ns = v.w.ns;
    res->events = v.w.events;
    int werr = am_trace_writer_close(&v.w);
    res->bytes = v.w.bytes;
    am_idmap_fini(&v.addr);
    if (close(ofd) != 0 && !werr)
        werr = errno;
    if (v.err || werr) {
        snprintf(err, errlen, "cannot write %s: %s", out, strerror(v.err ? v.err : werr));
        goto out;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory while converting %s", spool);
out:
    for (size_t i = 0; i < ncur; i++) {
        free(cur[i].chunk);
        free(cur[i].payload);
    }
    free(cur);
    close(fd);
    return rc;
}
