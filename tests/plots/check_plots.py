#!/usr/bin/env python3
"""Checks `allocmark plot` on one run directory.

    check_plots.py [--allocmark EXE] [--strict] [--shuffle] RUN_DIR

Copies RUN_DIR to a temporary directory (the original is never written),
plots it, and checks:
  - the driver exits 0 and says where the report is;
  - every chart the run's data calls for exists as a valid, non-empty PNG
    (signature, IHDR with a size) and SVG (parses as XML, has drawing
    elements), and so does every other image under plots/;
  - report.md and report.html exist, name every allocator and label of
    cells.csv, and every image they show exists;
  - each cell whose repetitions all failed is missing from the throughput
    data (NaN, never 0), noted "failed: <status>" there and in the report;
  - each trace replay (a workload named trace:...) has its charts
    (fragmentation-<workload>, ideal-<workload>) and a section of its own in
    report.md with each allocator's median peak RSS / peak live and
    time-weighted mean RSS / live, with the interval its repetitions give
    (the full range below 6 of them), and the calls the replay issued; a
    cell that failed in every repetition is NaN in the chart's data and
    "failed: <status>" in the table;
  - when the run has hardening.csv, report.md has a "Hardening matrix"
    section right after the conformance one, a row per case with each
    allocator's outcome (the signal's name for a crash), and report.html
    names every outcome;
  - with --strict, gnuplot printed nothing (no warnings);
  - with --shuffle, a copy of cells.csv with its columns in another order and
    an extra column gives the same data files.
The expectations come from the raw files, not from the driver's code, so that
the integrator can point this at a real smoke run.

Without --allocmark it runs plot/allocmark_plot.py directly.
"""

import argparse
import csv
import math
import os
import re
import shutil
import statistics
import struct
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # keep the source tree clean
from checks import Checks, run  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(SOURCE, "plot", "allocmark_plot.py")
FRAGMENTATION = ("frag_peak", "frag_mean", "os_frag_peak", "os_frag_mean")
LATENCY = ("malloc_p50_ns", "malloc_p99_ns", "malloc_p999_ns", "malloc_max_ns",
           "free_p50_ns", "free_p99_ns", "free_p999_ns", "free_max_ns")

check = Checks()


def value(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#") and line.strip()]
    return list(csv.DictReader(lines))


def expected_charts(run):
    """Chart names the run's raw files call for."""
    rows = read_csv(os.path.join(run, "cells.csv"))
    threads = sorted({int(value(r["threads"])) for r in rows})
    names = set()
    slug = lambda text: re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_")
    if any(value(r.get("ops_per_sec")) is not None for r in rows):
        names |= {"throughput-t%d" % t for t in threads}
    if any(value(r.get("peak_rss_bytes")) is not None for r in rows):
        names |= {"memory-t%d" % t for t in threads}
    for w in {r["workload"] for r in rows}:
        mine = [r for r in rows if r["workload"] == w]
        counts = {int(value(r["threads"])) for r in mine}
        if len(counts) > 1:
            names.add(slug("scaling-" + w))
        low = [r for r in mine if int(value(r["threads"])) == min(counts)]
        if any(value(r.get(c)) is not None for r in low for c in LATENCY):
            names.add(slug("latency-%s-t%d" % (w, min(counts))))
    series = os.path.join(run, "timeseries.csv")
    if os.path.exists(series):
        names |= {slug("timeseries-" + r["workload"]) for r in read_csv(series)
                  if value(r.get("rss_bytes")) is not None}
    for w in {r["workload"] for r in rows if r["workload"].startswith("trace:")}:
        ok = [r for r in rows if r["workload"] == w and (r.get("status") or "ok") == "ok"]
        if any(value(r.get(c)) is not None for r in ok for c in FRAGMENTATION):
            names.add(slug("fragmentation-" + w))
        if os.path.exists(series) and any(value(r.get("baseline_rss_bytes")) is not None
                                          for r in ok) and \
                any(r["workload"] == w for r in read_csv(series)):
            names.add(slug("ideal-" + w))
    for name in os.listdir(run):
        if not name.endswith(".json") or name == "metadata.json":
            continue
        with open(os.path.join(run, name), encoding="utf-8") as f:
            text = f.read()
        names |= {"bandwidth-" + op for op in ("memcpy", "memset")
                  if re.search(r'"run_name": "[^"]*%s' % op, text)}
    return names, rows


def check_png(path):
    with open(path, "rb") as f:
        head = f.read(24)
    ok = check(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR",
               "%s is a PNG" % path)
    if ok:
        width, height = struct.unpack(">II", head[16:24])
        check(width >= 400 and height >= 300, "%s is %dx%d" % (path, width, height))


def check_svg(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, "%s parses as XML (%s)" % (path, e))
        return
    check(root.tag.endswith("svg"), "%s has an <svg> root" % path)
    drawn = [e for e in root.iter() if e.tag.split("}")[-1] in ("path", "text", "rect", "g")]
    check(len(drawn) > 10, "%s draws something (%d elements)" % (path, len(drawn)))


def blocks(path):
    """A gnuplot data file's blocks (separated by two blank lines), as rows
    of tab-separated fields."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [[line.split("\t") for line in block.strip("\n").split("\n")]
            for block in re.split(r"\n\n\n+", text) if block.strip()]


def check_failed_cells(run, rows, report):
    """Every cell with no successful repetition is NaN in the throughput data
    and says 'failed: <status>'."""
    cells = {}
    for r in rows:
        key = (r["allocator"], r["workload"], int(value(r["threads"])))
        cells.setdefault(key, []).append(r)
    for (allocator, workload, threads), reps in cells.items():
        statuses = {(r.get("status") or "ok") for r in reps}
        if "ok" in statuses:
            continue
        for r in reps:
            check(all(r.get(c, "") == "" for c in ("ops_per_sec", "peak_rss_bytes")),
                  "the fixture keeps failed metrics empty (%s %s)" % (allocator, workload))
        data = os.path.join(run, "plots", "data", "throughput-t%d.dat" % threads)
        if not check(os.path.exists(data), "%s exists" % data):
            continue
        b = blocks(data)
        groups = [row[1].strip('"') for row in b[0] if not row[0].startswith("#")]
        labels = {r.get("label") or allocator for r in reps}
        series = [blk for blk in b[1:] if blk[0][0] == "x"
                  and any(label in blk[0][1] for label in labels | {allocator})]
        if check(series and workload in groups,
                 "%s has a series for %s and a group for %s" % (data, allocator, workload)):
            row = series[0][1 + groups.index(workload)]
            check(row[1] == "NaN", "%s: failed cell %s/%s is NaN, not %r"
                  % (data, allocator, workload, row[1]))
        notes = "\n".join("\t".join(row) for blk in b for row in blk)
        for status in statuses:
            check("failed: " in notes and status in notes,
                  "%s notes the failure '%s'" % (data, status))
            check("failed: " + status in report or status in report,
                  "report.md names the failure '%s' of %s/%s" % (status, allocator, workload))


def sig(v, digits=3):
    """The report's number format: three significant digits, no exponent."""
    if v == 0:
        return "0"
    exponent = math.floor(math.log10(abs(v)))
    rounded = round(v, digits - 1 - exponent)
    if rounded and math.floor(math.log10(abs(rounded))) > exponent:
        exponent += 1
    return "%.*f" % (max(0, digits - 1 - exponent), rounded)


def check_replays(run, rows, md):
    """Each trace replay's section of report.md against cells.csv: per
    allocator, the median of frag_peak and frag_mean over the ok repetitions
    with the full range as its interval (2 to 5 repetitions: no narrower
    interval reaches 95 %), the calls of the first ok repetition; a cell with
    none ok is failed, in the table and as NaN in the chart's data."""
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    replays = [w for w in workloads if w.startswith("trace:")]
    heading = "## Trace replays: memory against the ideal"
    if not replays:
        check(heading not in md, "report.md has no trace replay section (no replay in the run)")
        return
    start = md.find(heading)
    if not check(start >= 0, "report.md has a section on the trace replays"):
        return
    end = md.find("\n## ", start + 1)
    section = md[start:end if end > 0 else len(md)]
    for w in workloads:
        if not w.startswith("trace:"):
            check("### Replay: %s\n" % w not in section, "no replay section for %s" % w)
            continue
        at = section.find("### Replay: %s\n" % w)
        if not check(at >= 0, "report.md has a section for the replay %s" % w):
            continue
        following = section.find("\n### ", at + 1)
        mine = section[at:following if following > 0 else len(section)]
        for name in ("fragmentation-", "ideal-"):
            image = "plots/%s.png" % re.sub(r"[^A-Za-z0-9._+-]+", "_", name + w).strip("_")
            check(image in mine, "the %s section shows %s" % (w, image))
        cells = {}
        for r in rows:
            if r["workload"] == w:
                cells.setdefault((r["allocator"], r["threads"]), []).append(r)
        header = next((l for l in mine.splitlines() if l.startswith("| allocator |")), "")
        header = [h.strip() for h in header.strip("|").split("|")]
        where = {c: next((i for i, h in enumerate(header) if h.startswith(title)), None)
                 for c, title in (("frag_peak", "peak RSS / peak live"),
                                  ("frag_mean", "mean RSS / mean live"))}
        check(None not in where.values(), "the %s table has the columns peak RSS / peak live "
              "and mean RSS / mean live (%s)" % (w, header))
        data = os.path.join(run, "plots", "data",
                            re.sub(r"[^A-Za-z0-9._+-]+", "_", "fragmentation-" + w) + ".dat")
        series = blocks(data) if os.path.exists(data) else []
        for (allocator, threads), reps in cells.items():
            ok = [r for r in reps if (r.get("status") or "ok") == "ok"]
            label = ok[0]["label"] if ok else reps[0].get("label") or allocator
            line = next((l for l in mine.splitlines()
                         if l.startswith("| %s | %s | %d/%d" % (label, threads, len(ok),
                                                                len(reps)))), None)
            if not check(line is not None, "the %s table has a row for %s" % (w, label)):
                continue
            if not ok:
                status = reps[0]["status"]
                check("failed: " + status in line, "%s on %s: 'failed: %s' in the table"
                      % (label, w, status))
                mine_series = [b for b in series if b[0][0] == "x" and label in b[0][1]]
                check(mine_series and all(row[1] == "NaN" for row in mine_series[0][1:]),
                      "%s on %s: NaN in the chart's data, never 0" % (label, w))
                continue
            fields = [f.strip() for f in line.strip("|").split("|")]
            for column in ("frag_peak", "frag_mean"):
                values = sorted(value(r[column]) for r in ok)
                text = sig(statistics.median(values)) + (
                    " [%s, %s]" % (sig(values[0]), sig(values[-1])) if 1 < len(values) < 6
                    else "" if len(values) >= 6 else " [-]")
                got = fields[where[column]] if where[column] is not None and \
                    where[column] < len(fields) else None
                check(got is not None and got.startswith(text),
                      "%s on %s: %s is %s (the table has %s)" % (label, w, column, text, got))
            if ok[0].get("calls"):
                check(ok[0]["calls"] in line, "%s on %s: the calls %s" % (label, w, ok[0]["calls"]))


def check_hardening(run, md, html):
    """report.md's "Hardening matrix" section against hardening.csv."""
    path = os.path.join(run, "hardening.csv")
    if not os.path.exists(path):
        check("## Hardening matrix" in md and "no hardening.csv" in md,
              "report.md says the run has no hardening matrix")
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    allocators = list(dict.fromkeys(r["allocator"] for r in rows))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    cell = {(r["allocator"], r["case"]): (r["signal"] if r["outcome"] == "crash" and r["signal"]
                                          else r["outcome"]) for r in rows}
    conformance = md.find("## Conformance")
    hardening = md.find("## Hardening matrix")
    following = md.find("\n## ", hardening + 1)
    check(0 <= conformance < hardening and md.find("\n## ", conformance + 1) == hardening - 1,
          "report.md has a Hardening matrix section right after Conformance")
    section = md[hardening:following if following > 0 else len(md)]
    check("informational" in section.lower(), "the hardening section says it is informational")
    check("| case | " + " | ".join(allocators) + " |" in section,
          "the hardening matrix has the allocators across in file order")
    for case in cases:
        line = "| %s | %s |" % (case, " | ".join(cell[(a, case)] for a in allocators))
        check(line in section, "the hardening matrix has the row %s" % line)
    for outcome in set(cell.values()):
        check(outcome in html, "report.html names the hardening outcome %s" % outcome)


def run_plot(args, run_dir):
    command = ([args.allocmark, "plot", run_dir] if args.allocmark
               else [sys.executable, DRIVER, "plot", run_dir])
    proc = run(*command)
    check(proc.returncode == 0, "%s exits 0 (got %d)" % (" ".join(command), proc.returncode))
    check("report.md" in proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else False,
          "the last line of output says where the report is")
    if args.strict:
        check(not proc.stderr.strip(), "gnuplot and the driver printed nothing on stderr")


def shuffled_copy(run, target):
    """A copy of the run whose cells.csv has its columns reversed and one more."""
    shutil.copytree(run, target)
    path = os.path.join(target, "cells.csv")
    with open(path, encoding="utf-8") as f:
        comments = [line for line in f if line.startswith("#")]
    rows = read_csv(path)
    columns = ["zz_unknown"] + list(reversed(list(rows[0])))
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.writelines(comments)
        writer = csv.DictWriter(f, columns, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(dict(r, zz_unknown="42"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--allocmark", help="the allocmark executable (default: the driver)")
    parser.add_argument("--strict", action="store_true", help="no output on stderr allowed")
    parser.add_argument("--shuffle", action="store_true",
                        help="also check that column order does not matter")
    args = parser.parse_args()
    if shutil.which("gnuplot") is None:
        print("gnuplot is not installed (scripts/setup.sh installs gnuplot-nox)")
        return 1
    tmp = tempfile.mkdtemp(prefix="allocmark-plots-")
    try:
        copy = os.path.join(tmp, "run")
        shutil.copytree(os.path.realpath(args.run_dir), copy)
        run_plot(args, copy)
        names, rows = expected_charts(copy)
        check(names, "the run calls for some chart")
        plots = os.path.join(copy, "plots")
        for name in sorted(names):
            for ext in ("png", "svg"):
                path = os.path.join(plots, "%s.%s" % (name, ext))
                check(os.path.exists(path) and os.path.getsize(path) > 0,
                      "%s exists and is not empty" % path)
        for name in sorted(os.listdir(plots)) if os.path.isdir(plots) else []:
            path = os.path.join(plots, name)
            if name.endswith(".png"):
                check_png(path)
            elif name.endswith(".svg"):
                check_svg(path)
        report, html = "", ""
        for name in ("report.md", "report.html"):
            path = os.path.join(copy, name)
            if not check(os.path.exists(path), "%s exists" % name):
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            report = text if name == "report.md" else report
            html = text if name == "report.html" else html
            for who in {r["allocator"] for r in rows} | {r.get("label", "") for r in rows}:
                check(who in text, "%s names %s" % (name, who))
            for image in re.findall(r'(?:\]\(|src=")(plots/[^)"]+)', text):
                check(os.path.exists(os.path.join(copy, image)), "%s shows %s" % (name, image))
        check_failed_cells(copy, rows, report)
        check_replays(copy, rows, report)
        check_hardening(copy, report, html)
        if args.shuffle:
            other = os.path.join(tmp, "shuffled")
            shuffled_copy(os.path.realpath(args.run_dir), other)
            run_plot(args, other)
            data = os.path.join(copy, "plots", "data")
            for name in sorted(os.listdir(data)):
                with open(os.path.join(data, name), encoding="utf-8") as a, \
                        open(os.path.join(other, "plots", "data", name), encoding="utf-8") as b:
                    check(a.read() == b.read(), "%s is the same with columns shuffled" % name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
