#!/usr/bin/env python3
"""Checks `allocmark report` and its tables on the hand-made runs.

    check_tables.py ALLOCMARK DATA_DIR

DATA_DIR is tests/data: run-failed (with conformance.csv) and run-threads
(with micro-*.json and memcore.json). The expected numbers are worked out here
from the raw files, not through plot/results.py, so a reader that misreads
a file disagrees with them. Also: every mode has --help, a run directory
that does not exist or lacks the file a mode reads exits 2 naming it, and the
fixtures themselves pass tests/harness/results_check.py (the check every real
run of the test suite passes).
"""

import json
from collections import OrderedDict
import os
import re
import shutil
import statistics
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))
from checks import Checks, median_ops, rows_of, run  # noqa: E402
import results_check  # noqa: E402

check = Checks()


def interval(text):
    """'20.3 [19.9, 20.6]+lock' -> (20.3, 19.9, 20.6), or None."""
    m = re.match(r"^([0-9.]+) \[([0-9.]+), ([0-9.]+)\]", text)
    return tuple(float(x) for x in m.groups()) if m else None


def near(shown, exact):
    """shown is exact at three significant digits."""
    return shown is not None and abs(shown - exact) <= 0.0051 * abs(exact)


def table_cells(output):
    """{(workload, threads): [cells]} from a Markdown table."""
    out = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("| workload") and "---" not in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[(cells[0], cells[1])] = cells[2:]
    return out


def main():
    allocmark, data = sys.argv[1], sys.argv[2]
    failed_run, threads_run = (os.path.join(data, n) for n in ("run-failed", "run-threads"))

    for run_dir in (failed_run, threads_run):
        problems = results_check.problems(run_dir)
        check(not problems, "%s follows the results contract: %s" % (run_dir, problems[:5]))

    # The throughput table: glibc in Mops/s, the others relative to it.
    rows = rows_of(os.path.join(threads_run, "cells.csv"))
    p = run(allocmark, "report", threads_run)
    check(p.returncode == 0, "report exits 0")
    table = table_cells(p.stdout)
    for workload in ("churn", "prodcons"):
        for threads in (1, 2, 4):
            cells = table.get((workload, str(threads)))
            if not check(cells, "report has a row for %s/%d" % (workload, threads)):
                continue
            # Two repetitions: the median's interval is their range.
            reps = [float(r["ops_per_sec"]) / 1e6 for r in rows if r["allocator"] == "glibc"
                    and r["workload"] == workload and r["threads"] == str(threads)]
            shown = interval(cells[0])
            check(shown and near(shown[0], statistics.median(reps)) and near(shown[1], min(reps))
                  and near(shown[2], max(reps)),
                  "%s/%d glibc: median %.4g [%.4g, %.4g] Mops/s, not %r" % (
                      workload, threads, statistics.median(reps), min(reps), max(reps),
                      cells[0]))
            base = median_ops(rows, "glibc", workload, threads)
            bump = median_ops(rows, "bump-brk", workload, threads)
            shown = interval(cells[2])
            check(shown and near(shown[0], bump / base) and shown[1] <= shown[0] <= shown[2],
                  "%s/%d bump-brk: ratio %.4g inside its interval, not %r"
                  % (workload, threads, bump / base, cells[2]))
            check(cells[2].endswith("+lock") == (threads > 1), "+lock marks the locked cells")
    check(table.get(("prodcons", "4"), ["", ""])[1] == "timeout",
          "a cell whose repetitions all timed out says timeout")
    # --baseline also writes the report against it into the run directory:
    # on a copy (tests/plots/check_baseline.py checks what it writes).
    tmp = tempfile.mkdtemp(prefix="allocmark-tables-")
    try:
        copy = os.path.join(tmp, "run-threads")
        shutil.copytree(threads_run, copy)
        p = run(allocmark, "report", "--baseline", "jemalloc", copy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = table_cells(p.stdout)
    base = median_ops(rows, "jemalloc", "churn", 1)
    shown = interval(table.get(("churn", "1"), [""])[0])
    check(p.returncode == 0 and shown and near(shown[0], base / 1e6),
          "--baseline jemalloc puts jemalloc first, in Mops/s")

    # The environment: run-failed started on a busy machine with a powersave
    # governor (its metadata says so); run-threads on a quiet one.
    p = run(allocmark, "report", failed_run)
    check("warning: the load average was 3.50 on 2 CPUs" in p.stdout
          and "governor powersave" in p.stdout, "report warns about load and governor")
    check("order: interleaved" in p.stdout and "seed 12345" in p.stdout,
          "report says the order and the seed")
    p = run(allocmark, "report", threads_run)
    check("warning" not in p.stdout, "no warning for a quiet machine")

    # --micro: bump-brk against glibc, from the iterations of each file.
    p = run(allocmark, "report", "--micro", "--subject", "bump-brk", threads_run)
    check(p.returncode == 0, "report --micro exits 0")
    per = {}
    for a in ("glibc", "bump-brk"):
        with open(os.path.join(threads_run, "micro-%s.json" % a), encoding="utf-8") as f:
            entries = json.load(f)["benchmarks"]
        per[a] = statistics.median(e["items_per_second"] for e in entries
                                   if e["run_name"] == "pair/%s/256" % a)
    line = next((x for x in p.stdout.splitlines() if x.startswith("pair/*/256")), "")
    found = [tuple(map(float, m)) for m in re.findall(r"([0-9.]+) \[([0-9.]+), ([0-9.]+)\]",
                                                       line)]
    # glibc, jemalloc, bump-brk, bump-brk/glibc, bump-brk/jemalloc
    check(len(found) == 5 and near(found[3][0], per["bump-brk"] / per["glibc"])
          and near(found[0][0], per["glibc"] / 1e6),
          "pair/*/256 bump-brk/glibc is %.3g: %r" % (per["bump-brk"] / per["glibc"], line))
    line = next((x for x in p.stdout.splitlines() if x.startswith("xthread/*/16")), "")
    check(line and len(re.findall(r"\[", line)) == 2 and line.split().count("-") == 3,
          "a failed benchmark has no value: %r" % line)

    # --micro pools allocmark-micro's rounds (--rounds=N writes
    # micro-NAME.rN.json for round N > 1): a second round of glibc, 10 %
    # faster, with a per-round median aggregate that must not stand for all.
    tmp = tempfile.mkdtemp(prefix="allocmark-tables-")
    try:
        copy = os.path.join(tmp, "run-threads")
        shutil.copytree(threads_run, copy)
        with open(os.path.join(copy, "micro-glibc.json"), encoding="utf-8") as f:
            doc = json.load(f)
        first = [e["items_per_second"] for e in doc["benchmarks"]
                 if e["run_name"] == "pair/glibc/256" and e.get("run_type") == "iteration"]
        for e in doc["benchmarks"]:
            if "items_per_second" in e:
                e["items_per_second"] *= 1.1
        doc["benchmarks"].append({"name": "pair/glibc/256_median", "run_name": "pair/glibc/256",
                                  "run_type": "aggregate", "aggregate_name": "median",
                                  "items_per_second": 1.0, "real_time": 1.0, "cpu_time": 1.0,
                                  "time_unit": "ns", "iterations": 2})
        with open(os.path.join(copy, "micro-glibc.r2.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f)
        p = run(allocmark, "report", "--micro", "--subject", "bump-brk", copy)
        # allocmark-micro --out=DIR by hand: micro-*.json and nothing else.
        bare = os.path.join(tmp, "micro-only")
        os.makedirs(bare)
        for name in os.listdir(copy):
            if name.startswith("micro-"):
                shutil.copy(os.path.join(copy, name), bare)
        q = run(allocmark, "report", "--micro", bare)
        check(q.returncode == 0 and "pair/*/256" in q.stdout,
              "report --micro reads a directory of allocmark-micro's files without cells.csv")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pooled = statistics.median(first + [v * 1.1 for v in first])
    line = next((x for x in p.stdout.splitlines() if x.startswith("pair/*/256")), "")
    found = [tuple(map(float, m)) for m in re.findall(r"([0-9.]+) \[([0-9.]+), ([0-9.]+)\]",
                                                       line)]
    check(p.returncode == 0 and found and near(found[0][0], pooled / 1e6),
          "report --micro: glibc's pair/*/256 is the median of both rounds, %.4g: %r"
          % (pooled / 1e6, line))
    check("2-4 repetitions per benchmark, pooled over 1-2 rounds" in p.stdout,
          "report --micro says it pooled the rounds")

    # --memcore, from the run directory and from the file itself.
    for where in (threads_run, os.path.join(threads_run, "memcore.json")):
        p = run(allocmark, "report", "--memcore", where)
        check(p.returncode == 0 and "## memcpy, aligned" in p.stdout
              and "## memset, dst+1" in p.stdout, "report --memcore %s" % where)
    with open(os.path.join(threads_run, "memcore.json"), encoding="utf-8") as f:
        entries = json.load(f)["benchmarks"]
    rate = {e["run_name"].split("/")[1]: e["bytes_per_second"] for e in entries
            if e.get("aggregate_name") == "median"
            and re.match(r"memcpy/[^/]+/aligned/4096/", e["run_name"])}
    line = next((x for x in p.stdout.splitlines() if x.startswith("4 KiB")), "")
    check(line.split()[2:4] == ["%.1f" % (rate["glibc"] / 1e9), "%.1f" % (rate["dispatch"] / 1e9)],
          "memcpy aligned 4 KiB: glibc and dispatch GB/s from the median aggregates: %r" % line)

    # The noise floor (dispatch against the variant it runs) and the targets
    # line: every miss listed, those beyond the floor marked.
    m = re.search(r"points met; of the (\d+) missed, (\d+) by more than the noise floor, "
                  r"(\d+) within it", p.stdout)
    listed = [x for x in p.stdout.splitlines() if x.startswith("  miss ")]
    check("## noise floor: the dispatched entry against " in p.stdout and m
          and int(m.group(1)) == len(listed) == int(m.group(2)) + int(m.group(3))
          and int(m.group(2)) == sum(1 for x in listed if x.endswith(", beyond the floor")),
          "report --memcore: a noise floor, and misses that add up: %r" % (m and m.group(0)))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "plot"))
    import tables  # noqa: E402
    same = OrderedDict([(("memcpy", "aligned"), OrderedDict(
        (n, {"dispatch": (0, r, 0), "avx512": (0, 1.0, 0)})
        for n, r in zip(range(10), [1.0, 0.98, 1.02, 0.95, 1.05, 1.01, 0.99, 1.0, 0.9, 1.2])))])
    # interval_note at every repetition count (6 and up once failed on a
    # stray % in its format).
    class FakeCell:
        def __init__(self, n):
            self.failed, self.n = False, n

        def values(self, metric):
            return [1.0] * self.n

    class FakeRun:
        def __init__(self, n):
            self.cells = {"x": FakeCell(n)}

    notes = [tables.interval_note(FakeRun(n)) for n in (1, 2, 3, 5, 6, 21)]
    check(all(notes) and "at 21 repetitions" in notes[-1] and "95 % coverage" in notes[-1]
          and "with 3 repetitions" in notes[2],
          "interval_note for 1 to 21 repetitions: %r" % notes[-1])
    ratios, floor = tables.same_code_floor(same, "avx512")
    check(len(ratios) == 10 and abs(floor - 0.2) < 1e-9
          and tables.beyond_floor(0.79, 1.0, floor) and not tables.beyond_floor(0.81, 1.0, floor)
          and not tables.beyond_floor(0.1, 1.0, None)
          and tables.context_variant({"memcore": "avx2 (cpu: x)"}) == "avx2"
          and tables.context_variant({}) is None,
          "same_code_floor: the 90th percentile of |dispatch / its variant - 1|")

    # --conformance: the matrix, built from conformance.csv.
    p = run(allocmark, "report", "--conformance", failed_run)
    check(p.returncode == 0 and re.search(r"realloc_zero_frees\s+pass\s+pass\s+expected", p.stdout)
          and "0 checks failed" in p.stdout, "report --conformance prints the matrix")
    p = run(allocmark, "report", "--conformance", threads_run)
    check(p.returncode == 1 and "no conformance.csv" in p.stdout,
          "report --conformance says when the run has none")
    # ... and the hardening matrix after it when the run has hardening.csv
    # (run-threads has one, run-failed none).
    lines = p.stdout.splitlines()
    check("hardening matrix (hardening.csv)" in p.stdout
          and any(l.split() == ["case", "glibc", "jemalloc", "bump-brk"] for l in lines)
          and any(l.split() == ["free_stack", "detected", "SIGSEGV", "abort"] for l in lines)
          and any(l.split() == ["overflow_1", "silent", "silent", "SIGBUS"] for l in lines),
          "report --conformance prints the hardening matrix after the conformance one")
    p = run(allocmark, "report", "--conformance", failed_run)
    check("hardening" not in p.stdout, "report --conformance prints no hardening matrix "
          "when the run has none")

    # Help and bad input.
    p = run(allocmark, "report", "--help")
    check(p.returncode == 0 and all(o in p.stdout for o in ("--micro", "--memcore",
                                                            "--conformance", "--baseline")),
          "report --help names every mode")
    missing = os.path.join(data, "no-such-run")
    for mode in ([], ["--micro"], ["--memcore"], ["--conformance"]):
        p = run(allocmark, "report", *(mode + [missing]))
        check(p.returncode == 2 and missing in p.stderr,
              "report %s on a missing run exits 2 naming it" % " ".join(mode))
    p = run(allocmark, "report", "--memcore", failed_run)
    check(p.returncode == 2 and "memcore.json" in p.stderr,
          "report --memcore on a run without memcore.json exits 2 naming the file")
    p = run(allocmark, "report", "--micro", "--memcore", threads_run)
    check(p.returncode == 2, "two modes at once are refused")
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
