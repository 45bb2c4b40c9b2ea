#!/usr/bin/env python3
"""Memory against the ideal in trace replays: the charts and table that
`allocmark plot` draws and the report shows for every trace replay, and a
command of its own that prints the table.

    fragmentation.py RUN_DIR [--workloads W,...] [--no-chart]

A replay knows the exact live bytes of the recorded program at every event,
so what an allocator holds above them is its waste. Per trace replay
(workloads named trace:...), one row and one bar group per allocator:

  frag_peak      peak RSS above the baseline / peak live bytes
  frag_mean      the time-weighted mean of RSS above the baseline / that of
                 live bytes
  os_frag_peak,  the same with the allocator's own OS bytes, where it
  os_frag_mean   reports them

each the median over the repetitions that succeeded with its 95 % interval
(stats.median_ci), 1.0 being exactly the live bytes. The charts:

  fragmentation-<workload>  the four ratios per allocator, as bars with
                            their intervals and the repetitions as dots;
  ideal-<workload>          memory over the replay (one repetition): RSS
                            above the baseline (solid) and OS bytes (dashed)
                            of each allocator against the live bytes.

The command prints the table of each trace replay of RUN_DIR (--workloads:
these workloads instead, any of them) and, unless --no-chart, draws the
charts into RUN_DIR/plots/ as `allocmark plot` does. Exit status 0, 1 when a
chart could not be drawn, 2 for a run directory without cells.csv or a
workload it does not have.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # keep the source tree clean
    from interpreter import ensure_numpy_scipy

    ensure_numpy_scipy()

import charts  # noqa: E402
import stats  # noqa: E402
from results import Run, RunError, number  # noqa: E402

# (column, the table's heading, the chart's group)
RATIOS = [
    ("frag_peak", "peak RSS / peak live", "RSS, peak"),
    ("frag_mean", "mean RSS / mean live", "RSS, mean"),
    ("os_frag_peak", "peak OS bytes / peak live", "OS bytes, peak"),
    ("os_frag_mean", "mean OS bytes / mean live", "OS bytes, mean"),
]
# The columns only a replay writes (results/README.md); the report shows them
# here.
REPLAY_COLUMNS = ["wait_s", "decode_s", "skipped", "calls"]
PREFIX = "trace:"


def is_replay(workload):
    return workload.startswith(PREFIX)


def replay_workloads(run):
    """The trace replays of a run, in run order."""
    return [w for w in run.ordered("workload") if is_replay(w)]


def cells_of(run, workload):
    """The workload's cells, allocators in run order (a replay runs at the
    recording's thread count; a workload run at several gives a row each)."""
    return [run.cell(a, workload, t) for t in run.ordered("threads")
            for a in run.ordered("allocator") if run.cell(a, workload, t)]


def reps_text(cell):
    text = "%d/%d" % (len(cell.ok_reps), len(cell.reps))
    return text + (" (%s)" % cell.failure_text() if cell.failures else "")


def table(run, workload):
    """(header, rows): one row per cell, every ratio with its interval."""
    header = (["allocator", "threads", "reps ok", "peak live MiB"]
              + ["%s [95%% CI]" % label for _, label, _ in RATIOS]
              + ["waiting s", "calls issued (first ok repetition)"])
    rows = []
    for cell in cells_of(run, workload):
        if cell.failed:
            rows.append([cell.label, cell.threads, reps_text(cell)]
                        + ["failed: " + cell.failure_text()] + ["-"] * (len(header) - 4))
            continue
        est = cell.estimate
        rows.append([cell.label, cell.threads, reps_text(cell),
                     stats.fmt(est("peak_live_bytes"), scale=2**20)]
                    + [stats.fmt(est(column)) for column, _, _ in RATIOS]
                    + [stats.fmt(est("wait_s")), cell.ok_reps[0].get("calls") or "-"])
    return header, rows


def ratio_chart(run, workload):
    """The four ratios per allocator as grouped bars with their intervals."""
    cells = cells_of(run, workload)
    columns = [(c, group) for c, _, group in RATIOS if any(cell.values(c) for cell in cells)]
    if not columns:
        return None
    series, failures = [], []
    for s, cell in enumerate(cells):
        points = []
        for g, (column, _) in enumerate(columns):
            est = cell.estimate(column)
            points.append(charts.interval_point(est, cell.values(column)) if est else None)
            if cell.failed and g == 0:
                failures.append((g, s, charts.failed_note(cell)))
        series.append((cell.allocator, run.slot(cell.allocator), cell.label, points))
    chart = charts.Chart(charts.slug("fragmentation-%s" % workload),
                         "Memory against the ideal: %s (lower is better)" % workload,
                         "bars.gp", "replay", workload=workload,
                         caption="Bars: the median over repetitions of each ratio (RSS above "
                                 "the cell's baseline, or the allocator's own OS bytes, over "
                                 "the recorded program's live bytes); whiskers: its 95 % "
                                 "confidence interval; circles: the repetitions. The dashed "
                                 "line is the ideal, 1. A log scale when the ratios span "
                                 "more than 20x.")
    chart.vars.update(ylabel="bytes held / bytes live (1 = the ideal)", refline=1)
    values = [v for _, _, _, points in series for p in points if p
              for v in p[:3] if v is not None and v > 0]
    wide = bool(values) and max(values) / min(values) > 20
    if wide:
        chart.vars["ylabel"] += ", log scale"
    return charts.bar_chart(chart, [group for _, group in columns], series, failures,
                            logy=wide)


def ideal_chart(run, workload):
    """RSS above the baseline and OS bytes of each allocator against live
    bytes, over the replay's progress (the first ok repetition)."""
    per_allocator = run.series_of_timeseries(workload)
    if not per_allocator:
        return None
    values, prepared = [], []
    for allocator, (threads, rep, rows) in per_allocator.items():
        cell = run.cell(allocator, workload, threads)
        mine = [r for r in cell.reps if number(r.get("rep")) == rep] if cell else []
        base = number(mine[0].get("baseline_rss_bytes")) if mine else None
        if base is None:
            continue  # a failed repetition: no baseline to measure from
        points = []
        for r in rows:
            x = number(r.get("ops_done"))
            if x is None:
                continue
            rss, os_bytes, live = (number(r.get(k)) for k in ("rss_bytes", "os_bytes",
                                                               "live_bytes"))
            points.append((x / 1e3, None if rss is None else max(0.0, rss - base),
                           os_bytes, live))
            values += [v for v in points[-1][1:] if v is not None]
        prepared.append((allocator, cell.label if cell else allocator, points))
    if not prepared:
        return None
    divisor, unit = charts.scale_for(values, "B", binary=True)
    scaled = lambda v: None if v is None else v / divisor  # noqa: E731
    rss, os_series = [], []
    for allocator, label, points in prepared:
        rss.append((allocator, run.slot(allocator), label + " RSS",
                    [(x, scaled(r), None, None) for x, r, _, _ in points]))
        if any(o is not None for _, _, o, _ in points):
            os_series.append((allocator, run.slot(allocator), label + " OS bytes",
                              [(x, scaled(o), None, None) for x, _, o, _ in points]))
    _, first_label, first = prepared[0]
    live = [("workload", 0, "live bytes (%s's replay)" % first_label,
             [(x, scaled(v), None, None) for x, _, _, v in first])]
    chart = charts.Chart(charts.slug("ideal-%s" % workload),
                         "Memory against live bytes over the replay: %s" % workload,
                         "lines.gp", "replay", workload=workload,
                         caption="Solid: each allocator's RSS above its baseline; dashed: "
                                 "the OS bytes it reports holding; black: the live bytes, "
                                 "the ideal (with one thread or --strict-order every "
                                 "allocator's replay has the recording's; otherwise they "
                                 "can differ between samples). One repetition (the first "
                                 "that succeeded), against the replay's progress.")
    chart.vars.update(xlabel="progress (thousand operations done)",
                      ylabel="memory (%s)" % unit, points=0, errorbars=0,
                      dashes=" ".join(["1"] * len(rss) + ["2"] * len(os_series) + ["3"]))
    return charts.line_chart(chart, rss + os_series + live, [])


def replay_charts(run):
    """Every trace replay's charts, in report order."""
    out = []
    for w in replay_workloads(run):
        out += [c for c in (ratio_chart(run, w), ideal_chart(run, w)) if c is not None]
    return out


def print_table(run, workload, to):
    header, rows = table(run, workload)
    to.write("\n%s (medians over repetitions [95 %% CI]; 1.0 = exactly the live bytes)\n"
             % workload)
    to.write("| " + " | ".join(header) + " |\n")
    to.write("|" + "---|" * len(header) + "\n")
    for row in rows:
        to.write("| " + " | ".join(str(v) for v in row) + " |\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--workloads", default="",
                    help="comma-separated workloads (default: the run's trace replays)")
    ap.add_argument("--no-chart", action="store_true")
    args = ap.parse_args(argv)
    try:
        run = Run(args.run)
    except RunError as e:
        sys.stderr.write("fragmentation: %s\n" % e)
        return 2
    wanted = [w for w in args.workloads.split(",") if w] or replay_workloads(run)
    unknown = [w for w in wanted if w not in run.ordered("workload")]
    if unknown:
        sys.stderr.write("fragmentation: %s: no such workload in %s (it has: %s)\n"
                         % (", ".join(unknown), args.run, ", ".join(run.ordered("workload"))))
        return 2
    if not wanted:
        print("fragmentation: %s has no trace replay (--workloads names others)" % args.run)
    for w in wanted:
        print_table(run, w, sys.stdout)
    if args.no_chart:
        return 0
    drawn = [c for w in wanted for c in (ratio_chart(run, w), ideal_chart(run, w))
             if c is not None]
    failed = charts.draw(drawn, run, HERE)
    for c in drawn:
        if c.error:
            sys.stderr.write("fragmentation: %s: %s\n" % (c.name, c.error))
    print("fragmentation: %d charts in %s" % (len(drawn) - len(failed),
                                               os.path.join(args.run, "plots")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
