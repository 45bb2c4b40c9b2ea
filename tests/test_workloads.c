/*
 * test_workloads.c: unit tests of what every workload relies on: the cookie
 * layout (fill, extend after a realloc, detection of a changed byte at the
 * head, in a page, at the tail), the registry's invariants, and the
 * measurement layer's counting, sampling and series on a real backend.
 */
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "testhelper.h"
#include "workload.h"

static const size_t sizes[] = {1,    2,    7,    8,    9,    15,   16,    17,    24,    100,
                               4095, 4096, 4103, 4104, 4105, 8191, 12289, 65536, 100000};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* A measurement with one thread on mmap-only, enough for am_intact to
 * report through. */
static struct am_heap heap;
static struct am_measure m;

static void test_cookies(void)
{
    unsigned char *buf = malloc(200000);
    REQUIRE(buf != NULL);
    struct am_thread *t = &m.thread[0];
    for (size_t i = 0; i < N_SIZES; i++) {
        size_t n = sizes[i];
        uint64_t c = am_cookie(i, n);
        memset(buf, 0x5A, n);
        am_fill(buf, n, c);
        CHECK(am_intact(t, buf, n, c), "a fresh %zu-byte block", n);
        CHECK(!atomic_load(&m.failed));
        /* One changed byte anywhere the cookie lives is caught. */
        size_t spots[] = {0, n - 1, n > 4104 ? 4096 : 0};
        for (size_t k = 0; k < 3; k++) {
            am_measure_reset(&m);
            buf[spots[k]] ^= 0x40;
            CHECK(!am_intact(t, buf, n, c), "%zu-byte block changed at %zu", n, spots[k]);
            CHECK(m.status == AM_STATUS_CORRUPT, "status %d", m.status);
            CHECK(strstr(m.reason, "changed at offset") != NULL, "reason '%s'", m.reason);
            buf[spots[k]] ^= 0x40;
        }
        am_measure_reset(&m);
        /* A different cookie (another holder of the same block) is caught. */
        CHECK(!am_intact(t, buf, n, am_cookie(i + 1, n)), "another holder's cookie, %zu", n);
        am_measure_reset(&m);
        /* Growing: what extend adds to a filled prefix equals a fresh fill. */
        for (size_t j = i + 1; j < N_SIZES; j++) {
            size_t grown = sizes[j];
            uint64_t g = am_cookie(7, 0);
            memset(buf, 0xA5, grown);
            am_fill(buf, n, g);
            am_extend(buf, n, grown, g);
            CHECK(am_intact(t, buf, grown, g), "extended from %zu to %zu", n, grown);
            am_measure_reset(&m);
        }
    }
    free(buf);
}

static void test_registry(void)
{
    CHECK(am_workload_count >= 13, "%zu workloads", am_workload_count);
    for (size_t i = 0; i < am_workload_count; i++) {
        const struct am_workload *w = am_workloads[i];
        if (!CHECK(w->name && w->summary && w->run, "workload %zu is complete", i))
            continue;
        CHECK(am_find_workload(w->name) == w, "%s is found by name", w->name);
        unsigned n = am_workload_param_count(w);
        CHECK(n >= 1 && strcmp(w->params[0].name, "ops") == 0, "%s: params[0] is ops", w->name);
        for (unsigned k = 0; k < n; k++)
            for (int p = 0; p < AM_PROFILE_COUNT; p++)
                CHECK(w->params[k].value[p] > 0, "%s.%s > 0", w->name, w->params[k].name);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(am_workloads[j]->name, w->name) != 0, "workloads %zu and %zu", j, i);
    }
    CHECK(am_find_workload("nosuch") == NULL);
    CHECK(am_profile_parse("quick") == AM_PROFILE_QUICK);
    CHECK(am_profile_parse("slow") == AM_PROFILE_COUNT);
}

static void test_measure(void)
{
    enum { PAIRS = 20000, SIZE = 100 };
    am_measure_reset(&m);
    am_measure_begin(&m, 0);
    struct am_thread *t = &m.thread[0];
    for (int i = 0; i < PAIRS; i++) {
        void *p = am_op_malloc(t, SIZE);
        REQUIRE(p != NULL);
        am_op_free(t, p, SIZE);
    }
    am_measure_end(&m);
    CHECK(am_measure_ops(&m) == 2 * PAIRS, "%llu ops", (unsigned long long)am_measure_ops(&m));
    CHECK(am_measure_live_peak(&m) == SIZE, "live peak %lld", (long long)am_measure_live_peak(&m));
    CHECK(t->live == 0);
    /* Points at the start, the end, and every 1/100 of the budget between. */
    CHECK(m.series_count >= 50 && m.series_count <= 110, "%u series points", m.series_count);
    CHECK(m.series[m.series_count - 1].ops == 2 * PAIRS);
    CHECK(m.series[1].rss > 0);
    struct am_latency lat = am_measure_latency(&m, AM_OP_MALLOC);
    /* About one in AM_SAMPLE_EVERY, never in step with the loop. */
    CHECK(lat.samples > PAIRS / AM_SAMPLE_EVERY / 2 && lat.samples < PAIRS / AM_SAMPLE_EVERY * 2,
          "%llu malloc samples", (unsigned long long)lat.samples);
    CHECK(lat.p50_ns > 0 && lat.p50_ns <= lat.p99_ns && lat.p99_ns <= lat.p999_ns &&
              lat.p999_ns <= lat.max_ns,
          "%g %g %g %g", lat.p50_ns, lat.p99_ns, lat.p999_ns, lat.max_ns);
    CHECK(am_measure_latency(&m, AM_OP_REALLOC).samples == 0);
    CHECK(!am_op_stopping(t) && am_op_done(t) == (t->ops >= t->ops_target));
    am_measure_fail(&m, AM_STATUS_OOM, "first %d", 1);
    am_measure_fail(&m, AM_STATUS_CORRUPT, "second");
    CHECK(m.status == AM_STATUS_OOM && strcmp(m.reason, "first 1") == 0, "the first failure wins");
    CHECK(am_op_stopping(t) && am_op_done(t));
}

int main(void)
{
    am_clock_init(0);
    const struct am_allocator *a = am_find_allocator("mmap-only");
    if (!a || am_heap_open(&heap, a, 0) || am_measure_init(&m, &heap, 1, 2 * 20000)) {
        fprintf(stderr, "cannot set up\n");
        return 1;
    }
    test_cookies();
    test_registry();
    test_measure();
    am_measure_fini(&m);
    am_heap_close(&heap);
    return am_test_finish("workloads");
}
