/*
 * test_protocol.c: the cell protocol (harness/protocol.h) read back as it was
 * written: every record round-trips, a child that wrote only a label (it
 * crashed) has no end, and unknown records are ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "testhelper.h"

/* What the writer produced for r and points, as one string (free it). */
static char *written(const struct am_cell_report *r, const struct am_series_report *pts, unsigned n,
                     bool end)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    am_protocol_write_label(f, "slab+lock");
    am_protocol_write_report(f, r);
    for (unsigned i = 0; i < n; i++)
        am_protocol_write_series(f, &pts[i]);
    if (end)
        am_protocol_write_end(f);
    fclose(f);
    return text;
}

static void round_trip(void)
{
    struct am_cell_report r = {
        .has_status = true,
        .status = "oom",
        .reason = "malloc(16) returned NULL after 3 ops",
        .has_complete = true,
        .complete = false,
        .has_ops = true,
        .ops = 123456789012ull,
        .has_seconds = true,
        .seconds = 0.25,
        .has_rate = true,
        .ops_per_sec = 4.5e6,
        .ns_per_op = 222.5,
        .has_rss = true,
        .baseline_rss = 4096,
        .end_rss = 8192,
        .has_peak_live = true,
        .peak_live = 1000,
        .has_usage = true,
        .user_s = 0.125,
        .sys_s = 0.5,
        .minor_faults = 77,
        .has_overhead = true,
        .clock_overhead_ns = 9.5,
        .has_cpu = true,
        .cpu = 1,
        .has_series_time = true,
        .series_s = 0.0625,
        .has_replay = true,
        .wait_s = 0.5,
        .decode_s = 0.25,
        .skipped = 3,
        .calls = "malloc=1000 calloc=501 free=1513 pvalloc=5",
    };
    r.has_latency[AM_OP_MALLOC] = true;
    r.latency[AM_OP_MALLOC] = (struct am_latency_report){5, 10, 20, 30, 40};
    r.has_latency[AM_OP_REALLOC] = true; /* samples 0: no percentiles */
    struct am_series_report pts[2] = {
        {.sample = 0, .ops = 10, .seconds = 0.001, .rss = 4096, .live = -16, .has_os = false},
        {.sample = 1,
         .ops = 20,
         .seconds = 0.002,
         .rss = 8192,
         .live = 32,
         .has_os = true,
         .os = 65536},
    };
    char *text = written(&r, pts, 2, true);
    REQUIRE(text != NULL);
    struct am_cell_report got;
    CHECK(am_protocol_parse(text, &got) == 0);
    CHECK(got.ended && got.has_label && strcmp(got.label, "slab+lock") == 0, "%s", got.label);
    CHECK(got.has_status && strcmp(got.status, "oom") == 0);
    CHECK(strcmp(got.reason, r.reason) == 0, "%s", got.reason);
    CHECK(got.has_complete && !got.complete);
    CHECK(got.has_ops && got.ops == r.ops);
    CHECK(got.has_seconds && got.seconds == 0.25);
    CHECK(got.has_rate && got.ops_per_sec == 4.5e6 && got.ns_per_op == 222.5);
    CHECK(got.has_latency[AM_OP_MALLOC] && got.latency[AM_OP_MALLOC].samples == 5 &&
          got.latency[AM_OP_MALLOC].p999_ns == 30 && got.latency[AM_OP_MALLOC].max_ns == 40);
    CHECK(!got.has_latency[AM_OP_FREE]);
    CHECK(got.has_latency[AM_OP_REALLOC] && got.latency[AM_OP_REALLOC].samples == 0);
    CHECK(got.has_rss && got.baseline_rss == 4096 && got.end_rss == 8192);
    CHECK(got.has_peak_live && got.peak_live == 1000);
    CHECK(!got.has_os_bytes_peak);
    CHECK(got.has_usage && got.user_s == 0.125 && got.sys_s == 0.5 && got.minor_faults == 77);
    CHECK(got.has_overhead && !got.has_harness_overhead && got.clock_overhead_ns == 9.5);
    CHECK(got.has_cpu && got.cpu == 1);
    CHECK(got.has_series_time && got.series_s == 0.0625);
    CHECK(got.has_replay && got.wait_s == 0.5 && got.decode_s == 0.25 && got.skipped == 3);
    CHECK(strcmp(got.calls, r.calls) == 0, "calls: %s", got.calls);
    REQUIRE(got.n_series == 2, "%u series points", got.n_series);
    CHECK(got.series[0].live == -16 && !got.series[0].has_os && got.series[0].seconds == 0.001);
    CHECK(got.series[1].has_os && got.series[1].os == 65536 && got.series[1].ops == 20);
    am_cell_report_free(&got);
    free(text);
}

static void crashed_child(void)
{
    char text[] = "label crash-test+lock\n";
    struct am_cell_report got;
    CHECK(am_protocol_parse(text, &got) == 0);
    CHECK(got.has_label && !got.ended && !got.has_status);
    am_cell_report_free(&got);
}

static void unknown_records_ignored(void)
{
    char text[] = "label glibc\nstatus ok\nflux 42 capacitors\nops 7\nend\n";
    struct am_cell_report got;
    CHECK(am_protocol_parse(text, &got) == 0);
    CHECK(got.ended && got.has_ops && got.ops == 7 && strcmp(got.status, "ok") == 0);
    am_cell_report_free(&got);
}

static void many_series_points(void)
{
    struct am_cell_report r = {.has_status = true, .status = "ok"};
    enum { N = 1000 };
    static struct am_series_report pts[N];
    for (unsigned i = 0; i < N; i++)
        pts[i] = (struct am_series_report){.sample = i, .ops = i * 2ull, .seconds = i * 1e-3};
    char *text = written(&r, pts, N, true);
    REQUIRE(text != NULL);
    struct am_cell_report got;
    CHECK(am_protocol_parse(text, &got) == 0);
    CHECK(got.n_series == N && got.series[N - 1].ops == 2ull * (N - 1), "%u", got.n_series);
    am_cell_report_free(&got);
    free(text);
}

int main(void)
{
    round_trip();
    crashed_child();
    unknown_records_ignored();
    many_series_points();
    return am_test_finish("protocol");
}
