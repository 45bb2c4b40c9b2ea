#!/usr/bin/env python3
"""Checks `allocmark report --baseline NAME` on copies of the hand-made runs:
the whole report redrawn against another allocator, beside the run's own.

    check_baseline.py ALLOCMARK DATA_DIR

On a copy of tests/data/run-threads (the original is never written):
  - `allocmark plot` first, then `report --baseline jemalloc`: exit 0, the
    table against jemalloc on stdout, and RUN/baseline-jemalloc/ holds
    report.md, report.html and every chart they show (valid PNG and SVG);
  - every relative number there is against jemalloc: the throughput charts'
    data (jemalloc = 1, glibc = glibc's median / jemalloc's, from cells.csv),
    the summary and workload tables' headers; no table or chart says glibc
    is the baseline;
  - the run's own report.md, report.html and chart data are unchanged;
  - a baseline the run does not have exits 2 naming it and the allocators
    there, and writes nothing; --baseline with --micro is refused.
On a synthetic run with program rows (kind=program): the programs' table is
against the baseline too ("time vs jemalloc", the ratio of the medians).
"""

import csv
import hashlib
import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
from checks import Checks, median_ops, rows_of, run  # noqa: E402

check = Checks()


def digests(run_dir):
    """{relative path: sha256} of the run's own report and chart data."""
    out = {}
    paths = ["report.md", "report.html"]
    data = os.path.join(run_dir, "plots", "data")
    paths += [os.path.join("plots", "data", n) for n in sorted(os.listdir(data))]
    for rel in paths:
        with open(os.path.join(run_dir, rel), "rb") as f:
            out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out


def blocks(path):
    """A gnuplot data file's blocks, as rows of tab-separated fields."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [[line.split("\t") for line in block.strip("\n").split("\n")]
            for block in re.split(r"\n\n\n+", text) if block.strip()]


def series_values(path):
    """{series name: [value, ...]} of a bar chart's data file (the second
    column of each block whose header names a series)."""
    out = {}
    for block in blocks(path):
        head = block[0]
        if len(head) > 1 and head[0] == "x" and head[1].startswith('"'):
            out[head[1].strip('"')] = [float(r[1]) for r in block[1:]]
    return out


def check_images(out_dir, md):
    shown = re.findall(r"\]\((plots/[^)]+)\)", md)
    check(shown, "the report against the baseline shows charts")
    for rel in shown:
        path = os.path.join(out_dir, rel)
        if not check(os.path.exists(path), "%s exists" % path):
            continue
        with open(path, "rb") as f:
            head = f.read(8)
        if rel.endswith(".png"):
            check(head == b"\x89PNG\r\n\x1a\n", "%s is a PNG" % path)
        else:
            check(head.startswith(b"<?xml") or head.startswith(b"<svg"), "%s is an SVG" % path)


def threads_run_checks(allocmark, source, tmp):
    copy = os.path.join(tmp, "run-threads")
    shutil.copytree(source, copy)
    p = run(allocmark, "plot", copy)
    check(p.returncode == 0, "plot exits 0")
    before = digests(copy)

    p = run(allocmark, "report", "--baseline", "jemalloc", copy)
    check(p.returncode == 0, "report --baseline jemalloc exits 0")
    out_dir = os.path.join(copy, "baseline-jemalloc")
    check("baseline-jemalloc/report.md" in p.stdout, "report says where the report went")
    check(re.search(r"^\| churn \| 1 \| [0-9.]+ \[", p.stdout, re.M),
          "report --baseline still prints the table")
    for name in ("report.md", "report.html"):
        check(os.path.exists(os.path.join(out_dir, name)), "%s in baseline-jemalloc/" % name)
    if not os.path.exists(os.path.join(out_dir, "report.md")):
        return
    with open(os.path.join(out_dir, "report.md"), encoding="utf-8") as f:
        md = f.read()
    check_images(out_dir, md)

    rows = rows_of(os.path.join(copy, "cells.csv"))
    for threads in (1, 2, 4):
        data = os.path.join(out_dir, "plots", "data", "throughput-t%d.dat" % threads)
        if not check(os.path.exists(data), "%s exists" % data):
            continue
        values = series_values(data)
        # NaN where jemalloc's cell failed (prodcons at 4 threads timed out).
        check(values.get("jemalloc") and all(v == 1 for v in values["jemalloc"] if v == v)
              and values["jemalloc"][0] == 1,
              "t=%d: jemalloc is 1 in its own chart: %s" % (threads, values.get("jemalloc")))
        glibc = median_ops(rows, "glibc", "churn", threads)
        jem = median_ops(rows, "jemalloc", "churn", threads)
        shown = (values.get("glibc") or [None])[0]
        check(shown is not None and glibc and jem
              and abs(shown - glibc / jem) <= 1e-5 * glibc / jem,
              "t=%d: glibc/jemalloc on churn is %.6g in the chart, not %r"
              % (threads, glibc / jem, shown))
    check("Median throughput relative to jemalloc (jemalloc = 1" in md,
          "the summary tables are against jemalloc")
    check("vs jemalloc [95% CI]" in md, "the workload tables are against jemalloc")
    check("relative to glibc" not in md and "vs glibc" not in md
          and "glibc = 1" not in md, "nothing in the report is against glibc")
    check("Throughput relative to jemalloc" in md, "the throughput charts are against jemalloc")

    check(digests(copy) == before, "the run's own report and charts are unchanged")

    p = run(allocmark, "report", "--baseline", "nosuch", copy)
    check(p.returncode == 2 and "nosuch" in p.stderr and "jemalloc" in p.stderr,
          "an unknown baseline exits 2 naming it and the run's allocators")
    check(not os.path.exists(os.path.join(copy, "baseline-nosuch")),
          "an unknown baseline writes nothing")
    p = run(allocmark, "report", "--micro", "--baseline", "jemalloc", copy)
    check(p.returncode == 2 and "--baseline" in p.stderr, "--micro --baseline is refused")
    p = run(allocmark, "report", "--help")
    check("baseline-NAME" in p.stdout, "report --help says where --baseline writes")


def program_run(path):
    """A run with one workload cell and one program, on glibc and jemalloc:
    glibc's program takes 2.0 s median, jemalloc's 1.5 s (3 repetitions)."""
    os.makedirs(path)
    columns = ["allocator", "label", "workload", "threads", "rep", "status", "reason",
               "ops_per_sec", "peak_rss_bytes", "kind", "wall_s", "throughput",
               "throughput_unit", "exit_status"]
    with open(os.path.join(path, "cells.csv"), "w", newline="") as f:
        f.write("# allocmark run (synthetic)\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for rep, jitter in enumerate((0.9, 1.0, 1.1), 1):
            for a, speed, wall, mib in (("glibc", 2e7, 2.0, 40), ("jemalloc", 3e7, 1.5, 50)):
                w.writerow([a, a, "churn", 1, rep, "ok", "", speed * jitter, 30 << 20,
                            "workload", "", speed * jitter, "ops/s", ""])
                w.writerow([a, a, "sqlite", "", rep, "ok", "", "", (mib << 20) + rep, "program",
                            wall * jitter, 1 / (wall * jitter), "runs/s", "exit 0"])
    with open(os.path.join(path, "metadata.json"), "w") as f:
        f.write('{"reps": 3, "profile": "quick", '
                '"allocators": [{"name": "glibc"}, {"name": "jemalloc"}]}\n')


def program_checks(allocmark, tmp):
    path = os.path.join(tmp, "programs")
    program_run(path)
    p = run(allocmark, "report", "--baseline", "jemalloc", path)
    check(p.returncode == 0, "report --baseline on a run with programs exits 0")
    md_path = os.path.join(path, "baseline-jemalloc", "report.md")
    if not check(os.path.exists(md_path), "the programs' run got its report"):
        return
    with open(md_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = next((l for l in lines if l.startswith("| allocator | reps ok")), "")
    cols = [c.strip() for c in header.strip("|").split("|")]
    check("time vs jemalloc" in cols, "the programs' table is against jemalloc: %r" % header)
    row = next((l for l in lines if l.startswith("| glibc | 3/3")), "")
    cells = [c.strip() for c in row.strip("|").split("|")]
    if check(len(cells) == len(cols) and "time vs jemalloc" in cols, "glibc's program row"):
        check(cells[cols.index("time vs jemalloc")] == "%.2f" % (2.0 / 1.5),
              "glibc's time / jemalloc's is 1.33: %r" % row)


def main():
    allocmark, data = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="allocmark-baseline-")
    try:
        threads_run_checks(allocmark, os.path.join(data, "run-threads"), tmp)
        program_checks(allocmark, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
