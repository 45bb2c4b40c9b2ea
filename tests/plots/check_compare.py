#!/usr/bin/env python3
"""Checks `allocmark compare` and the errors of `allocmark plot`.

    check_compare.py ALLOCMARK RUN_DIR

RUN_DIR must hold three repetitions of glibc on its first workload and one
cell whose repetitions all failed (tests/data/run-failed does). The check
compares the run with itself (no detectable difference anywhere, ratios of
exactly 1), then with a copy where glibc's first cell is 1.5 times faster
(ratio 1.50, yet with three repetitions a side no test can call it: compare
must say so rather than claim a difference), and asks both commands about a
directory that does not exist (exit 2, the path named). The statistics
themselves are checked in check_stats.py.
"""

import csv
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
from checks import Checks, run  # noqa: E402

check = Checks()


def verdicts(output):
    """{(allocator, workload, threads): verdict} from compare's table."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("allocator"))
    out = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        parts = line.split()
        out[(parts[0], parts[1], parts[2])] = line
    return out


def faster_copy(source, target):
    """A copy of the run where glibc's first cell is 1.5 times as fast."""
    shutil.copytree(source, target)
    path = os.path.join(target, "cells.csv")
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    comments = [line for line in lines if line.startswith("#")]
    rows = list(csv.DictReader([line for line in lines if not line.startswith("#")]))
    first = next(r for r in rows if r["allocator"] == "glibc")
    key = (first["workload"], first["threads"])
    for r in rows:
        if r["allocator"] == "glibc" and (r["workload"], r["threads"]) == key:
            r["ops_per_sec"] = str(float(r["ops_per_sec"]) * 1.5)
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.writelines(comments)
        writer = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return ("glibc", key[0], key[1])


def main():
    allocmark, source = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="allocmark-compare-")
    try:
        same = run(allocmark, "compare", source, source)
        check(same.returncode == 0, "compare of a run with itself exits 0")
        table = verdicts(same.stdout)
        check(table, "compare prints a table")
        for key, line in table.items():
            check(line.endswith("no detectable difference") or "failed in A" in line,
                  "a run against itself: %s is no detectable difference or failed: %s"
                  % (key, line))
            check("failed in A" in line or " 1.00 [" in line,
                  "a run against itself: ratio 1.00: %s" % line)
        check(any("failed in A" in line for line in table.values()),
              "a cell that failed is reported as failed, not as a ratio")

        other = os.path.join(tmp, "faster")
        key = faster_copy(source, other)
        proc = run(allocmark, "compare", source, other)
        check(proc.returncode == 0, "compare exits 0")
        line = verdicts(proc.stdout).get(key, "")
        check(line.endswith("no detectable difference") and " 1.50 [" in line,
              "glibc made 1.5 times faster: ratio 1.50, not callable with 3 reps: %r" % line)
        check("no cell can be called different" in proc.stdout,
              "compare says why with 3 repetitions a side")

        missing = os.path.join(tmp, "no-such-run")
        for command in (("plot", missing), ("compare", missing, source)):
            proc = run(allocmark, *command)
            check(proc.returncode == 2, "allocmark %s on a missing directory exits 2 (got %d)"
                  % (command[0], proc.returncode))
            check(missing in proc.stderr, "allocmark %s names the missing path" % command[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
