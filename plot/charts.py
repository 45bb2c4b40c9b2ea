"""The charts of a run: gnuplot data files under plots/data/ and one gnuplot
call per chart (bars.gp or lines.gp), each writing a PNG and an SVG.

A failed cell is written as NaN, which gnuplot treats as missing: its bar is
absent or its line breaks, and a red note "failed: <status>" stands where the
value would be. Nothing failed is ever drawn as 0.
"""

import math
import os
import re
import shutil
import subprocess
from collections import OrderedDict

import stats
from results import bench_points, number, split_bench_name

MISSING = "NaN"

# The latency columns, in the order of the chart's groups.
LATENCY = [
    ("malloc_p50_ns", "malloc p50"), ("malloc_p99_ns", "malloc p99"),
    ("malloc_p999_ns", "malloc p99.9"), ("malloc_max_ns", "malloc max"),
    ("free_p50_ns", "free p50"), ("free_p99_ns", "free p99"),
    ("free_p999_ns", "free p99.9"), ("free_max_ns", "free max"),
    ("realloc_p50_ns", "realloc p50"), ("realloc_p99_ns", "realloc p99"),
    ("realloc_p999_ns", "realloc p99.9"), ("realloc_max_ns", "realloc max"),
]

# Columns of timeseries.csv that can serve as its x axis, best first: the
# operations done put every allocator at the same point of the workload (the
# harness samples every so many operations), where time would stretch the
# slow ones.
TIME_AXES = [
    ("ops_done", "progress (thousand operations done)", 1e-3),
    ("seconds", "time (s)", 1.0), ("sample", "sample", 1.0),
]


def size_name(size):
    """4096 -> '4KiB', 64 -> '64B'."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return "%d%s" % (size // (1 << shift), unit)
    return "%gB" % size


def size_axis(chart, sizes):
    """A log2 x axis over byte sizes, labelled 64B, 4KiB, 1MiB, padded a
    quarter on each side; at most about 12 labels."""
    sizes = sorted(set(sizes))
    if not sizes:
        return
    step = max(1, (len(sizes) + 11) // 12)
    pad = max(1.25, 2 ** (0.04 * math.log2(sizes[-1] / sizes[0])))
    chart.vars.update(logx=1, xmin=sizes[0] / pad, xmax=sizes[-1] * pad,
                      xticks=" ".join("%.17g:%s" % (s, size_name(s)) for s in sizes[::step]))


def slug(text):
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "x"


def field(value):
    return MISSING if value is None else "%.6g" % value


def quoted(text):
    return '"%s"' % str(text).replace('"', "'").replace("\t", " ")


def scale_for(values, unit, binary=False):
    """A divisor and a unit prefix that keep the largest value readable:
    (1e6, 'M' + unit) for millions. Binary: KiB, MiB, GiB."""
    top = max([abs(v) for v in values if v is not None] or [0])
    steps = ([(2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")] if binary
             else [(1e9, "G"), (1e6, "M"), (1e3, "k")])
    for divisor, prefix in steps:
        if top >= divisor:
            return divisor, prefix + unit
    return 1.0, unit


class Chart:
    """One chart: its gnuplot script, variables and data, and where it goes
    in the report (section, and the workload it belongs to, if any)."""

    def __init__(self, name, title, script, section, workload=None, caption=""):
        self.name = name
        self.title = title
        self.script = script
        self.section = section
        self.workload = workload
        self.caption = caption
        self.vars = {}
        self.blocks = []  # lists of lines, written two blank lines apart
        self.error = None

    def png(self):
        return "plots/%s.png" % self.name

    def svg(self):
        return "plots/%s.svg" % self.name


def y_axis(chart, series, values, logy):
    """Set the series' keys and colour slots and the y axis; return the y
    at which failure notes stand: just above the bottom of the axis (gnuplot
    leaves out a label exactly on it). A log axis starts at the power of ten
    below the smallest value (values: the chart's positive values)."""
    chart.vars.update(keys=" ".join(k for k, _, _, _ in series),
                      slots=" ".join(str(slot) for _, slot, _, _ in series), logy=int(logy))
    if not logy:
        bottom = chart.vars.get("ymin", 0.0)
        return bottom + 0.01 * ((max(values) if values else 1.0) - bottom)
    # A decade below the smallest value at least halved, so that a value on a
    # power of ten (a latency at the clock's resolution) still shows a bar.
    chart.vars["ymin"] = 10.0 ** math.floor(math.log10(min(values) / 2)) if values else 1.0
    return chart.vars["ymin"] * 1.05


# Individual repetitions are drawn as dots where a point has at most this many.
MAX_DOTS = 10


def add_dots(chart, rows):
    """The individual repetitions of every series as one data block of "x,
    value" rows, drawn as dots (dots=1 tells the script), when there are
    any. Its header is a comment, so that readers of the series blocks
    (whose first line is "x<TAB>title") do not take it for one."""
    if rows:
        chart.blocks.append(["# x\trepetition"] + rows)
        chart.vars["dots"] = 1


def bar_chart(chart, groups, series, failures, logy=False):
    """Grouped bars. series: [(key, slot, title, [(value, low, high, marker[,
    dots]) or None per group])]: low and high the whisker (the interval),
    dots the individual repetitions (drawn when there are at most MAX_DOTS);
    failures: [(group, series index, text)]."""
    count = max(len(series), 1)
    width = 0.8 / count
    xs = lambda g, s: g + (s - (count - 1) / 2.0) * width
    chart.blocks.append(["# x\tgroup"] + ["%d\t%s" % (g, quoted(name)) for g, name in enumerate(groups)])
    positive, dots = [], []
    for s, (_, _, title, points) in enumerate(series):
        rows = ["x\t%s\tlow\thigh\tmarker" % quoted(title)]
        for g, point in enumerate(points):
            value, low, high, marker = point[:4] if point else (None, None, None, None)
            rows.append("%.4f\t%s\t%s\t%s\t%s" % (xs(g, s), field(value), field(low),
                                                 field(high), field(marker)))
            positive += [v for v in (value, low, high) if v is not None and v > 0]
            extra = point[4] if point and len(point) > 4 and point[4] else []
            if len(extra) <= MAX_DOTS:
                dots += ["%.4f\t%s" % (xs(g, s), field(v)) for v in extra]
                positive += [v for v in extra if v is not None and v > 0]
        chart.blocks.append(rows)
    add_dots(chart, dots)
    label_y = y_axis(chart, series, positive, logy)
    if failures:
        chart.blocks.append(["# x\ty\ttext"] + ["%.4f\t%g\t%s" % (xs(g, s), label_y, quoted(text))
                                                for g, s, text in failures])
    chart.vars.update(ngroups=len(groups), haslabels=int(bool(failures)),
                      width=max(900, min(1800, 360 + 22 * len(groups) * count)))
    # Group names turn when they would not fit their width (about 7 px a letter).
    px_per_group = (chart.vars["width"] - 360) / max(len(groups), 1)
    if 7 * max((len(g) for g in groups), default=0) > px_per_group:
        chart.vars["xrot"] = 30
    return chart


def line_chart(chart, series, failures, logy=False):
    """Lines against x. series: [(key, slot, title, [(x, value, low, high[,
    dots])])]: low and high the error bar (the interval), dots the individual
    repetitions (drawn when there are at most MAX_DOTS); failures: [(x,
    text)], notes at the bottom of the chart at that x."""
    positive, dots = [], []
    for _, _, title, points in series:
        rows = ["x\t%s\tlow\thigh" % quoted(title)]
        for point in points:
            x, value, low, high = point[:4]
            rows.append("%s\t%s\t%s\t%s" % (field(x), field(value), field(low), field(high)))
            positive += [v for v in (value, low, high) if v is not None and v > 0]
            extra = point[4] if len(point) > 4 and point[4] else []
            if len(extra) <= MAX_DOTS:
                dots += ["%s\t%s" % (field(x), field(v)) for v in extra]
                positive += [v for v in extra if v is not None and v > 0]
        chart.blocks.append(rows)
    add_dots(chart, dots)
    label_y = y_axis(chart, series, positive, logy)
    if failures:
        merged = {}
        for x, text in failures:
            merged.setdefault(x, []).append(text)
        chart.blocks.append(["# x\ty\ttext"] + ["%g\t%g\t%s" % (x, label_y, quoted("; ".join(texts)))
                                                for x, texts in sorted(merged.items())])
    chart.vars["haslabels"] = int(bool(failures))
    return chart


def failed_note(cell):
    return "failed: " + cell.failure_text()


def legend_title(run, allocator, cells):
    labels = []
    for c in cells:
        for label in c.labels:
            if label not in labels:
                labels.append(label)
    return " / ".join(labels) if labels else allocator


# -- the charts of a run ------------------------------------------------------

def workload_bars(run, threads, point_of):
    """The series of a chart with one group per workload and one bar per
    allocator, at one thread count. point_of(cell) gives a cell that has data
    its (value, low, high, marker) or None, and a note to print instead or
    None; a cell whose repetitions all failed gets "failed: <status>"."""
    workloads = [w for w in run.ordered("workload") if any(
        c.workload == w and c.threads == threads for c in run.cells.values())]
    allocators = [a for a in run.ordered("allocator") if any(
        run.cell(a, w, threads) for w in workloads)]
    series, failures = [], []
    for s, a in enumerate(allocators):
        points = []
        for g, w in enumerate(workloads):
            cell = run.cell(a, w, threads)
            point, note = (None, None) if cell is None else \
                (None, failed_note(cell)) if cell.failed else point_of(cell)
            if note:
                failures.append((g, s, note))
            points.append(point)
        cells = [run.cell(a, w, threads) for w in workloads if run.cell(a, w, threads)]
        series.append((a, run.slot(a), legend_title(run, a, cells), points))
    return workloads, series, failures


def interval_point(estimate, values, scale=1.0, marker=None):
    """(value, low, high, marker, dots) of a bar: the median and its interval
    divided by scale, the repetitions as dots."""
    f = lambda v: None if v is None else v / scale  # noqa: E731
    return (f(estimate.value), f(estimate.low), f(estimate.high), marker,
            [v / scale for v in values])


def throughput_chart(run, threads, baseline):
    has_base = baseline is not None and any(
        c.allocator == baseline and c.threads == threads for c in run.cells.values())

    def relative(cell):
        if not has_base:
            est = cell.estimate("ops_per_sec")
            return (interval_point(est, cell.values("ops_per_sec")) if est else None), None
        base = run.cell(baseline, cell.workload, threads)
        if base is None or base.failed:
            return None, ("no %s baseline" % baseline) if cell.allocator != baseline else None
        ratio = run.ratio(cell, base)
        if not ratio:
            return None, None
        base_median = base.estimate("ops_per_sec").value
        return (ratio.value, ratio.low, ratio.high, None,
                [v / base_median for v in cell.values("ops_per_sec")]), None

    workloads, series, failures = workload_bars(run, threads, relative)
    plural = "thread" if threads == 1 else "threads"
    if has_base:
        title = "Throughput relative to %s, %d %s (higher is better)" % (baseline, threads,
                                                                          plural)
        ylabel = "throughput / %s's throughput (%s = 1)" % (baseline, baseline)
    else:
        title = "Throughput, %d %s (higher is better)" % (threads, plural)
        ylabel = "throughput (ops/s)"
    chart = Chart("throughput-t%d" % threads, title, "bars.gp", "throughput",
                  caption="Bars: median throughput%s; whiskers: the %s 95 %% confidence "
                          "interval; circles: the repetitions%s. Absolute ops/s are in the "
                          "workload tables." % (
                              " relative to %s's median" % baseline if has_base else "",
                              "ratio's (bootstrap)" if has_base else "median's",
                              ", each divided by %s's median" % baseline if has_base else ""))
    chart.vars.update(ylabel=ylabel, xlabel="workload")
    if has_base:
        chart.vars["refline"] = 1
    # Ratios spanning more than 20x read better on a log axis (2x faster and
    # 2x slower stand as far from the baseline's line).
    values = [p[0] for _, _, _, points in series for p in points if p and p[0]]
    wide = bool(values) and max(values) / min(values) > 20
    if wide:
        chart.vars["ylabel"] = ylabel + ", log scale"
    return bar_chart(chart, workloads, series, failures, logy=wide)


def memory_chart(run, threads):
    rss_all = [c.spread("peak_rss_bytes").max for c in run.cells.values()
               if c.threads == threads and not c.failed]
    divisor, unit = scale_for(rss_all, "B", binary=True)

    def peak(cell):
        rss, live = cell.estimate("peak_rss_bytes"), cell.estimate("peak_live_bytes")
        if not rss:
            return None, None
        return interval_point(rss, cell.values("peak_rss_bytes"), divisor,
                              live.value / divisor if live else None), None

    workloads, series, failures = workload_bars(run, threads, peak)
    plural = "thread" if threads == 1 else "threads"
    chart = Chart("memory-t%d" % threads,
                  "Peak memory per workload, %d %s (lower is better)" % (threads, plural),
                  "bars.gp", "memory",
                  caption="Bars: peak resident set size, the median over repetitions; "
                          "whiskers: its 95 % confidence interval; circles: the repetitions. "
                          "Diamonds: peak live bytes, what the workload held.")
    chart.vars.update(ylabel="peak RSS (%s)" % unit, xlabel="workload",
                      markers="peak live bytes")
    return bar_chart(chart, workloads, series, failures)


def latency_chart(run, workload, threads):
    columns = [(c, name) for c, name in LATENCY if any(
        number(r.get(c)) is not None for cell in run.cells.values()
        if cell.workload == workload and cell.threads == threads for r in cell.reps)]
    if not columns:
        return None
    allocators = [a for a in run.ordered("allocator") if run.cell(a, workload, threads)]
    series, failures = [], []
    for a in allocators:
        cell = run.cell(a, workload, threads)
        points = []
        for column, _ in columns:
            est = cell.estimate(column)
            points.append(interval_point(est, []) if est else None)
        # A failed cell has no bars; the legend says why (one note per bar
        # would crowd the chart).
        title = "%s (%s)" % (cell.label, failed_note(cell)) if cell.failed else cell.label
        series.append((a, run.slot(a), title, points))
    plural = "thread" if threads == 1 else "threads"
    chart = Chart(slug("latency-%s-t%d" % (workload, threads)),
                  "Latency percentiles: %s, %d %s (lower is better)" % (workload, threads, plural),
                  "bars.gp", "workload", workload=workload,
                  caption="Median over repetitions of each percentile; whiskers: its 95 % "
                          "confidence interval.")
    chart.vars.update(ylabel="latency (ns, log scale)", xlabel="call and percentile")
    return bar_chart(chart, [name for _, name in columns], series, failures, logy=True)


def scaling_chart(run, workload):
    threads = sorted({c.threads for c in run.cells.values() if c.workload == workload})
    if len(threads) < 2:
        return None
    allocators = [a for a in run.ordered("allocator") if any(
        run.cell(a, workload, t) for t in threads)]
    medians = [c.spread("ops_per_sec").max for c in run.cells.values()
               if c.workload == workload and not c.failed]
    divisor, unit = scale_for(medians, "ops/s")
    series, failures = [], []
    for a in allocators:
        points, cells, notes = [], [], []
        for t in threads:
            cell = run.cell(a, workload, t)
            if cell is None:
                continue
            cells.append(cell)
            ops = cell.estimate("ops_per_sec")
            if cell.failed or not ops:
                points.append((t, None, None, None))
                notes.append((t, "%s %s" % (a, failed_note(cell))))
            else:
                points.append((t,) + interval_point(ops, cell.values("ops_per_sec"), divisor)[:3]
                              + (interval_point(ops, cell.values("ops_per_sec"), divisor)[4],))
        title = legend_title(run, a, cells)
        if notes and len(notes) == len(points):
            # Failed at every thread count: the legend says so once.
            notes = []
            title += " (%s)" % "; ".join(sorted({failed_note(c) for c in cells}))
        failures += notes
        series.append((a, run.slot(a), title, points))
    chart = Chart(slug("scaling-%s" % workload), "Thread scaling: %s (higher is better)" % workload,
                  "lines.gp", "workload", workload=workload,
                  caption="Median throughput against threads; error bars: its 95 % confidence "
                          "interval; circles: the repetitions.")
    chart.vars.update(xlabel="threads", ylabel="throughput (%s)" % unit, logx=1,
                      xticks=" ".join(str(t) for t in threads),
                      xmin=threads[0] / 1.25, xmax=threads[-1] * 1.25)
    return line_chart(chart, series, failures)


def timeseries_chart(run, workload):
    per_allocator = run.series_of_timeseries(workload)
    if not per_allocator:
        return None
    columns = set()
    for _, _, rows in per_allocator.values():
        for r in rows:
            columns.update(k for k, v in r.items() if number(v) is not None)
    xcol, xlabel, xscale = next((t for t in TIME_AXES if t[0] in columns), TIME_AXES[-1])
    values = [number(r.get(m)) for _, _, rows in per_allocator.values() for r in rows
              for m in ("rss_bytes", "live_bytes")]
    divisor, unit = scale_for(values, "B", binary=True)
    threads = next(iter(per_allocator.values()))[0]

    def points_of(rows, metric):
        points = []
        for r in rows:
            x, y = number(r.get(xcol)), number(r.get(metric))
            if x is not None:
                points.append((x * xscale, None if y is None else y / divisor, None, None))
        return points if any(p[1] is not None for p in points) else None

    rss, live = [], []
    for a, (_, rep, rows) in per_allocator.items():
        cell = run.cell(a, workload, threads)
        title, ended = (cell.label if cell else a), ""
        mine = [r for r in cell.reps if number(r.get("rep")) == rep] if cell else []
        if mine and mine[0].get("status", "ok") != "ok":
            ended = " (%s)" % mine[0].get("status")
        elif mine and mine[0].get("complete") == "0":
            ended = " (stopped by the time budget)"
        if points_of(rows, "rss_bytes"):
            rss.append((a, run.slot(a), title + " RSS" + ended, points_of(rows, "rss_bytes")))
        if points_of(rows, "live_bytes"):
            live.append((a, run.slot(a), title + " live" + ended, points_of(rows, "live_bytes")))
    if not rss and not live:
        return None
    # A workload usually holds the same live bytes whatever the allocator:
    # the allocators that agree (one series the other's start, when a cell
    # stopped early) share one black line; the others keep their own.
    groups = []  # [points of the longest, [series]]
    for one in live:
        group = next((g for g in groups if g[0][:len(one[3])] == one[3]
                      or one[3][:len(g[0])] == g[0]), None)
        if group is None:
            groups.append([one[3], [one]])
        else:
            group[1].append(one)
            group[0] = max(group[0], one[3], key=len)
    if groups:
        groups.sort(key=lambda g: -len(g[1]))
        points, shared = groups[0]
        if len(shared) > 1:
            others = [one[0] for g in groups[1:] for one in g[1]]
            title = "live bytes (every allocator)" if not others else \
                "live bytes (all but %s)" % ", ".join(others)
            live = [("workload", 0, title, points)] + [one for g in groups[1:] for one in g[1]]
    series = rss + live
    dashes = ["1"] * len(rss) + ["2"] * len(live)
    plural = "thread" if threads == 1 else "threads"
    chart = Chart(slug("timeseries-%s" % workload),
                  "Memory over time: %s, %d %s" % (workload, threads, plural),
                  "lines.gp", "workload", workload=workload,
                  caption="Solid: resident set size; dashed: live bytes the workload held, "
                          "against the operations done (the same point of the workload for "
                          "every allocator). One repetition (the first that succeeded).")
    chart.vars.update(xlabel=xlabel, ylabel="memory (%s)" % unit, points=0, errorbars=0,
                      dashes=" ".join(dashes))
    return line_chart(chart, series, [])


def bandwidth_charts(run):
    """memcpy and memset bandwidth against size, one line per contender
    (glibc, memcore's variants, the baselines). A benchmark named
    op/contender/condition.../size ("memcpy/erms/src+1/4096") goes to the chart
    of its op and condition: aligned buffers in bandwidth-<op>, the others in
    bandwidth-<op>-<condition>."""
    charts_of = OrderedDict()  # (op, condition) -> {contender: [points]}
    contenders = []
    if run.memcore:
        for name, error, fields in bench_points(run.memcore):
            words, numbers = split_bench_name(name)
            op = next((o for o in ("memcpy", "memset") if o in name.lower()), None)
            if op is None or not numbers:
                continue
            rest = []
            for w in words:
                w = re.sub(r"^BM_", "", w)
                w = re.sub(op, "", w, flags=re.IGNORECASE).strip("_-:")
                if w:
                    rest.append(w)
            contender = rest[0] if rest else op
            condition = "/".join(w for w in rest[1:] if w != "aligned")
            if contender not in contenders:
                contenders.append(contender)
            size = numbers[0]
            bw = bench_estimate(fields["bytes_per_second"])
            if not bw and fields["time_ns"]:
                bw = bench_estimate(fields["time_ns"]).scaled("inverse").scaled(size * 1e9)
            point = (size, None, None, None) if error or not bw else \
                (size,) + interval_point(bw, [], 1e9)[:3]
            charts_of.setdefault((op, condition), OrderedDict()).setdefault(
                contender, []).append(point)
    charts = []
    for (op, condition), per_contender in charts_of.items():
        series = [(c, contenders.index(c), c, sorted(points, key=lambda p: p[0]))
                  for c, points in per_contender.items()]
        name = slug("bandwidth-%s-%s" % (op, condition)) if condition else "bandwidth-" + op
        chart = Chart(name, "%s bandwidth against size%s (higher is better)"
                      % (op, ", " + condition if condition else ""), "lines.gp", "bandwidth",
                      caption="Every contender's %s: glibc's, memcore's variants and the "
                              "baselines; median over repetitions (error bars: its 95 %% confidence "
                              "interval, where the JSON has each repetition; memcore-bench "
                              "writes only aggregates, so there are none). From memcore.json."
                              % op)
        chart.vars.update(xlabel="size (bytes, log scale)", ylabel="bandwidth (GB/s)")
        size_axis(chart, [p[0] for _, _, _, points in series for p in points])
        charts.append(line_chart(chart, series, []))
    return charts


MICRO_CAPTION = ("allocmark-micro: median time per operation over the repetitions; "
                 "error bars: its 95 % confidence interval; circles: the repetitions.")


def bench_estimate(spread):
    """A Google Benchmark field's median with its interval, from the
    repetitions when the JSON has them (the 'median' aggregate otherwise, with
    no interval)."""
    if spread.values:
        est = stats.median_ci(spread.values)
        if spread.median is not None and spread.median != est.value:
            est.value = spread.median  # the file's own median aggregate
        return est
    return stats.Estimate(spread.median, None, None, None, 0) if spread else stats.NONE


def micro_charts(run):
    """allocmark-micro: per benchmark family, time per operation against its
    argument (size), one line per allocator; families without an argument
    share one bar chart."""
    families, flat = {}, {}
    for allocator, entries in run.micro.items():
        for name, error, fields in bench_points(entries):
            words, numbers = split_bench_name(name)
            # "pair/glibc/64": the family is the name without its allocator.
            family = "/".join(w for w in words if w != allocator) or name
            ips = fields["items_per_second"]
            if ips:
                est = bench_estimate(ips).scaled("inverse").scaled(1e9)
                reps = [1e9 / v for v in ips.values if v]
            else:
                est, reps = bench_estimate(fields["time_ns"]), fields["time_ns"].values
            value = (est.value, est.low, est.high, reps) if est and not error else \
                (None, None, None, [])
            if numbers:
                families.setdefault(family, {}).setdefault(allocator, []).append(
                    (numbers[0],) + value)
            else:
                flat.setdefault(family, {})[allocator] = value
    charts = []
    allocators = sorted(run.micro, key=run.slot)
    slot = run.slot
    for family, per_allocator in families.items():
        series = [(a, slot(a), a, sorted(per_allocator[a], key=lambda p: p[0]))
                  for a in allocators if a in per_allocator]
        failures = [(p[0], "%s failed" % a) for a, _, _, pts in series for p in pts if p[1] is None]
        chart = Chart(slug("micro-%s" % family), "Microbenchmark %s (lower is better)" % family,
                      "lines.gp", "micro", caption=MICRO_CAPTION)
        chart.vars.update(xlabel="argument (bytes, log scale)",
                          ylabel="time per operation (ns, log scale)")
        size_axis(chart, [p[0] for _, _, _, points in series for p in points])
        charts.append(line_chart(chart, series, failures, logy=True))
    if flat:
        groups = list(flat)
        series, failures = [], []
        for s, a in enumerate(allocators):
            points = []
            for g, family in enumerate(groups):
                median, low, high, reps = flat[family].get(a, (None, None, None, []))
                points.append((median, low, high, None, reps) if median is not None else None)
                if a in flat[family] and median is None:
                    failures.append((g, s, "failed"))
            series.append((a, slot(a), a, points))
        chart = Chart("micro", "Microbenchmarks (lower is better)", "bars.gp", "micro",
                      caption=MICRO_CAPTION)
        chart.vars.update(ylabel="time per operation (ns, log scale)", xlabel="benchmark")
        charts.append(bar_chart(chart, groups, series, failures, logy=True))
    return charts


def all_charts(run, baseline):
    """Every chart the run's data allows, in report order; throughput is
    relative to baseline (an allocator of the run, or None)."""
    charts = []
    threads = run.ordered("threads")
    if run.has_metric("ops_per_sec"):
        charts += [throughput_chart(run, t, baseline) for t in threads]
    if run.has_metric("peak_rss_bytes"):
        charts += [memory_chart(run, t) for t in threads]
    for w in run.ordered("workload"):
        charts.append(scaling_chart(run, w))
        charts.append(latency_chart(run, w, min(
            c.threads for c in run.cells.values() if c.workload == w)))
        charts.append(timeseries_chart(run, w))
    charts += fragmentation.replay_charts(run)
    charts += programs.program_charts(run)
    charts += bandwidth_charts(run)
    charts += micro_charts(run)
    return [c for c in charts if c is not None]


import fragmentation  # noqa: E402  (it uses this module's helpers)
import programs  # noqa: E402  (it uses this module's helpers)


# -- writing and drawing ------------------------------------------------------

def gnuplot_value(value):
    if isinstance(value, str):
        return "'%s'" % value.replace("'", "''")
    return repr(value)


def draw(charts, run, plot_dir, gnuplot="gnuplot", out_dir=None):
    """Write each chart's data file and run gnuplot on it, into out_dir's
    plots/ (default: the run directory's). Returns the charts that failed to
    draw, each with its error set."""
    out_dir = os.path.join(out_dir or run.path, "plots")
    data_dir = os.path.join(out_dir, "data")
    os.makedirs(data_dir, exist_ok=True)
    footer = run.footer()
    failed = []
    have_gnuplot = shutil.which(gnuplot) is not None
    for chart in charts:
        data = os.path.join(data_dir, chart.name + ".dat")
        with open(data, "w", encoding="utf-8") as f:
            f.write("\n\n\n".join("\n".join(block) for block in chart.blocks) + "\n")
        if not have_gnuplot:
            chart.error = "gnuplot not found"
            failed.append(chart)
            continue
        variables = dict(chart.vars, datafile=data, out=os.path.join(out_dir, chart.name),
                         title=chart.title, footer=footer)
        assign = "; ".join("%s=%s" % (k, gnuplot_value(v)) for k, v in sorted(variables.items()))
        proc = subprocess.run([gnuplot, "-e", assign, os.path.join(plot_dir, chart.script)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300, check=False)
        messages = proc.stderr.strip()
        if proc.returncode != 0 or messages:
            chart.error = messages or "gnuplot exited with %d" % proc.returncode
            if proc.returncode != 0:
                failed.append(chart)
    return failed
