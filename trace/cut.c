/*
 * cut.c: `allocmark trace cut` and `allocmark trace convert`. A cut is a
 * valid trace of its own: the blocks live when the window opens are
 * allocated first (as mallocs of their size, on the thread that allocated
 * them, at time 0), so that every free in the window has its allocation and
 * live bytes inside the window are the original's. The CSV (one row per
 * event, columns in docs/trace-format.md) is for people and other tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"
#include "trace.h"

static bool inside(const struct am_cut_window *w, const struct am_trace_event *ev, bool *past)
{
    if (w->by_events) {
        *past = ev->index >= w->to_event;
        return ev->index >= w->from_event && !*past;
    }
    double s = (double)ev->ns * 1e-9;
    *past = s >= w->to_s;
    return s >= w->from_s && !*past;
}

struct live_block {
    uint64_t id, size, thread;
};

static int by_id(const void *a, const void *b)
{
    const struct live_block *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

int am_trace_cut(const char *in, const char *out, const struct am_cut_window *w)
{
    int fd = am_trace_open_path(in);
    if (fd < 0)
        return 2;
    struct am_trace_reader r;
    if (am_trace_open(&r, fd, in) != 0) {
        fprintf(stderr, "allocmark trace cut: %s\n", r.error);
        close(fd);
        return 2;
    }
    int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ofd < 0) {
        fprintf(stderr, "allocmark trace cut: cannot create %s: %s\n", out, strerror(errno));
        am_trace_close(&r);
        close(fd);
        return 1;
    }
    struct am_trace_writer wr;
    struct am_idmap remap; /* original id -> the cut's id */
    if (am_idmap_init(&remap) != 0 || am_trace_writer_open(&wr, ofd, &r.h) != 0) {
        fprintf(stderr, "allocmark trace cut: cannot write %s\n", out);
        return 1;
    }
    struct am_trace_event ev;
    int rc;
    bool opened = false, past = false;
    uint64_t base_ns = 0, kept = 0;
    while ((rc = am_trace_next(&r, &ev)) == 1) {
        if (!inside(w, &ev, &past)) {
            if (past)
                break;
            continue;
        }
        if (!opened) {
            /* The blocks live before this event, oldest first. */
            opened = true;
            base_ns = ev.ns;
            size_t n = r.blocks.count + (ev.ref_ended ? 1 : 0) - (ev.id ? 1 : 0);
            struct live_block *lb = calloc(n ? n : 1, sizeof *lb);
            if (!lb) {
                fprintf(stderr, "allocmark trace cut: out of memory\n");
                return 1;
            }
            size_t k = 0;
            AM_IDMAP_FOREACH(&r.blocks, e)
            {
                if (e->key != ev.id && k < n)
                    lb[k++] = (struct live_block){e->key, e->size, e->thread};
            }
            if (ev.ref_ended && k < n)
                lb[k++] = (struct live_block){ev.ref, ev.ref_size, ev.ref_thread};
            qsort(lb, k, sizeof *lb, by_id);
            for (size_t i = 0; i < k; i++) {
                struct am_trace_rec rec = {
                    .op = AM_TOP_MALLOC, .thread = (uint32_t)lb[i].thread, .size = lb[i].size};
                uint64_t id = am_trace_write(&wr, &rec);
                struct am_idmap_entry *m = am_idmap_insert(&remap, lb[i].id);
                if (m)
                    m->id = id;
            }
            free(lb);
        }
        struct am_trace_rec rec = {.op = ev.op,
                                   .failed = ev.failed,
                                   .thread = ev.thread,
                                   .ns = ev.ns - base_ns,
                                   .size = ev.size,
                                   .nmemb = ev.nmemb,
                                   .elem = ev.elem,
                                   .align = ev.align};
        if (ev.ref) {
            struct am_idmap_entry m;
            bool ended = ev.ref_ended;
            if (ended ? !am_idmap_remove(&remap, ev.ref, &m) : !am_idmap_find(&remap, ev.ref)) {
                fprintf(stderr, "allocmark trace cut: internal error: block %" PRIu64 " unknown\n",
                        ev.ref);
                return 1;
            }
            rec.ref = ended ? m.id : am_idmap_find(&remap, ev.ref)->id;
        }
        uint64_t id = am_trace_write(&wr, &rec);
        if (id && ev.id) {
            struct am_idmap_entry *m = am_idmap_insert(&remap, ev.id);
            if (m)
                m->id = id;
        }
        kept++;
    }
    if (rc < 0) {
        fprintf(stderr, "allocmark trace cut: %s\n", r.error);
        close(ofd);
        unlink(out);
        am_trace_close(&r);
        close(fd);
        return 2;
    }
    int err = am_trace_writer_close(&wr);
    am_idmap_fini(&remap);
    am_trace_close(&r);
    close(fd);
    if (close(ofd) != 0 && !err)
        err = errno;
    if (err) {
        fprintf(stderr, "allocmark trace cut: cannot write %s: %s\n", out, strerror(err));
        return 1;
    }
    printf("%s: %" PRIu64 " events of the window, %" PRIu64 " in all (%" PRIu64 " bytes)\n", out,
           kept, wr.events, wr.bytes);
    return 0;
}

int am_trace_csv(const char *in, const char *out)
{
    int fd = am_trace_open_path(in);
    if (fd < 0)
        return 2;
    struct am_trace_reader r;
    if (am_trace_open(&r, fd, in) != 0) {
        fprintf(stderr, "allocmark trace convert: %s\n", r.error);
        close(fd);
        return 2;
    }
    FILE *f = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "allocmark trace convert: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    fprintf(f, "event,ns,thread,op,size,nmemb,elem,align,id,ref,result,live_bytes\n");
    struct am_trace_event ev;
    int rc;
    while ((rc = am_trace_next(&r, &ev)) == 1) {
        fprintf(f, "%" PRIu64 ",%" PRIu64 ",%u,%s,", ev.index, ev.ns, ev.thread,
                am_trace_op_name(ev.op));
        if (ev.op != AM_TOP_FREE)
            fprintf(f, "%" PRIu64, ev.size);
        fprintf(f, ",");
        if (ev.op == AM_TOP_CALLOC)
            fprintf(f, "%" PRIu64 ",%" PRIu64, ev.nmemb, ev.elem);
        else
            fprintf(f, ",");
        fprintf(f, ",");
        if (ev.align)
            fprintf(f, "%" PRIu64, ev.align);
        fprintf(f, ",");
        if (ev.id)
            fprintf(f, "%" PRIu64, ev.id);
        fprintf(f, ",");
        if (ev.ref)
            fprintf(f, "%" PRIu64, ev.ref);
        fprintf(f, ",%s,%" PRId64 "\n", ev.op == AM_TOP_FREE ? "" : (ev.failed ? "null" : "ok"),
                ev.live);
    }
    int werr = ferror(f);
    if (f != stdout)
        werr |= fclose(f) != 0;
    else
        fflush(f);
    if (rc < 0) {
        fprintf(stderr, "allocmark trace convert: %s\n", r.error);
        am_trace_close(&r);
        close(fd);
        return 2;
    }
    am_trace_close(&r);
    close(fd);
    if (werr) {
        fprintf(stderr, "allocmark trace convert: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
