#!/usr/bin/env python3
"""Memory against the ideal: each allocator's fragmentation in a run.

    fragmentation.py RUN_DIR [--workloads trace:...] [--no-chart]

Reads a run's cells.csv and timeseries.csv (results/README.md) and, for each
workload whose cells report fragmentation (every workload does; a trace
replay is where live bytes are the recorded program's exact ones), prints a
table per allocator: peak RSS above the baseline / peak live bytes
(frag_peak), the time-weighted mean of RSS / live (frag_mean), and the same
with the allocator's own OS bytes (os_frag_peak, os_frag_mean), medians over
repetitions; 1.0 is the ideal. Unless --no-chart, it draws with gnuplot:

  plots/fragmentation-<workload>.png (and .svg): the four ratios per
      allocator, as bars;
  plots/waste-<workload>.png (and .svg): RSS above the baseline divided by
      live bytes over the first repetition of each allocator's cell.

The numbers it draws are in plots/data/. A standalone module (Python standard
library only) beside the report's plot/ scripts, which it does not change.
Exit status 0, or 2 for a run directory without cells.csv.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

import results

COLUMNS = ["frag_peak", "frag_mean", "os_frag_peak", "os_frag_mean"]
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def median_of(rows, col):
    vals = [float(r[col]) for r in rows if r.get(col) not in (None, "")]
    return statistics.median(vals) if vals else None


def gnuplot(script):
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if p.returncode != 0:
        print(f"fragmentation: gnuplot failed: {p.stderr.strip()}", file=sys.stderr)
    return p.returncode == 0


def bars(run, workload, allocators, table):
    data = os.path.join(run, "plots", "data", f"fragmentation-{slug(workload)}.dat")
    with open(data, "w") as f:
        f.write("# allocator " + " ".join(COLUMNS) + "\n")
        for a in allocators:
            f.write(a + " " + " ".join("%.4f" % table[a][c] if table[a][c] is not None else "NaN"
                                       for c in COLUMNS) + "\n")
    for term, ext in (("pngcairo size 900,500", "png"), ("svg size 900,500", "svg")):
        out = os.path.join(run, "plots", f"fragmentation-{slug(workload)}.{ext}")
        plots = ", ".join(
            f"'{data}' using {i + 2}:xtic(1) title '{c}' lc rgb '{COLOURS[i]}'"
            for i, c in enumerate(COLUMNS))
        gnuplot(f"""set terminal {term}
set output '{out}'
set title "Memory against the ideal: {workload} (1 = exactly the live bytes)" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'bytes held / bytes live'
set yrange [0:*]
set grid ytics
set key top left noenhanced
set xtics noenhanced
plot {plots}
""")


def waste(run, workload, allocators, series):
    lines = []
    for i, a in enumerate(allocators):
        pts = series.get(a, [])
        if not pts:
            continue
        data = os.path.join(run, "plots", "data", f"waste-{slug(workload)}-{slug(a)}.dat")
        with open(data, "w") as f:
            f.write("# seconds (rss - baseline) / live\n")
            for sec, ratio in pts:
                f.write(f"{sec:.6f} {ratio:.4f}\n")
        lines.append(f"'{data}' using 1:2 with lines lw 2 lc rgb '{COLOURS[i % len(COLOURS)]}' "
                     f"title '{a}'")
    if not lines:
        return
    for term, ext in (("pngcairo size 900,500", "png"), ("svg size 900,500", "svg")):
        out = os.path.join(run, "plots", f"waste-{slug(workload)}.{ext}")
        gnuplot(f"""set terminal {term}
set output '{out}'
set title "RSS above the baseline / live bytes over time: {workload}" noenhanced
set xlabel 'seconds into the measured phase'
set ylabel 'RSS / live'
set yrange [0:*]
set grid
set key top right noenhanced
plot {", ".join(lines)}
""")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--workloads", default="", help="comma-separated (default: all)")
    ap.add_argument("--no-chart", action="store_true")
    args = ap.parse_args()
    # The run directory through the one reader (plot/results.py).
    try:
        run = results.Run(args.run)
    except results.RunError as e:
        print(f"fragmentation: {e}", file=sys.stderr)
        return 2
    cells = [r for cell in run.cells.values() for r in cell.reps if r.get("status") == "ok"]
    ts = run.timeseries
    wanted = [w for w in args.workloads.split(",") if w]
    workloads = []
    for r in cells:
        if r["workload"] not in workloads and (not wanted or r["workload"] in wanted):
            workloads.append(r["workload"])
    if not args.no_chart:
        os.makedirs(os.path.join(args.run, "plots", "data"), exist_ok=True)
    for w in workloads:
        mine = [r for r in cells if r["workload"] == w]
        allocators = []
        for r in mine:
            if r["allocator"] not in allocators:
                allocators.append(r["allocator"])
        table = {a: {c: median_of([r for r in mine if r["allocator"] == a], c) for c in COLUMNS}
                 for a in allocators}
        peak_live = {a: median_of([r for r in mine if r["allocator"] == a], "peak_live_bytes")
                     for a in allocators}
        print(f"\n{w} (medians over repetitions; 1.0 = exactly the live bytes)")
        print(f"| allocator | peak live MiB | {' | '.join(COLUMNS)} |")
        print("| --- | ---: |" + " ---: |" * len(COLUMNS))
        for a in allocators:
            vals = " | ".join("%.2f" % table[a][c] if table[a][c] is not None else "-"
                              for c in COLUMNS)
            pl = peak_live[a] / 1048576 if peak_live[a] else 0
            print(f"| {a} | {pl:.1f} | {vals} |")
        if args.no_chart:
            continue
        series = {}
        for a in allocators:
            first = [r for r in mine if r["allocator"] == a][0]
            base = float(first["baseline_rss_bytes"] or 0)
            pts = []
            for s in ts:
                if (s["allocator"], s["workload"], s["threads"], s["rep"]) == \
                        (a, w, first["threads"], first["rep"]) and float(s["live_bytes"]) > 0:
                    pts.append((float(s["seconds"]),
                                max(0.0, float(s["rss_bytes"]) - base) / float(s["live_bytes"])))
            series[a] = pts
        bars(args.run, w, allocators, table)
        waste(args.run, w, allocators, series)
    return 0


if __name__ == "__main__":
    sys.exit(main())
