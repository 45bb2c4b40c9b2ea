#!/usr/bin/env python3
"""The hardening matrix end to end: `allocmark check --hardening` over the
allocators given, its table and its CSV (results/README.md, hardening.csv).

Usage: hardening_test.py ALLOCMARK ALLOCATORS
  - exit 0, a table with one row per case and one column per allocator;
  - the CSV has one row per (allocator, case), every outcome a known word,
    a crash naming its signal, and agrees with the table;
  - firstfit, which promises detection, has `detected` (stopped with its own
    "firstfit: ..." message) for every double free, invalid free and header
    overwrite: every case but write_after_free (a write into a free block's
    payload, which no header covers).
In a sanitizer build allocmark skips the matrix; so does this test (exit 77).
Ends with "N passed, N failed" like the C tests; exit 1 on any failure.
"""
import csv
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally  # noqa: E402

OUTCOMES = {"detected", "abort", "warned", "silent", "corrupted", "crash", "hang", "error"}
FIRSTFIT_DETECTS = ["double_free", "free_interior_16", "free_interior_8", "free_stack",
                    "free_mmap", "free_other_heap", "overflow_1", "realloc_freed"]

check = Tally()


def main():
    if len(sys.argv) != 3:
        print("usage: hardening_test.py ALLOCMARK ALLOCATORS", file=sys.stderr)
        return 2
    allocmark, names = sys.argv[1], sys.argv[2].split(",")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "hardening.csv")
        r = subprocess.run([allocmark, "check", "--hardening", "-a", ",".join(names),
                            "--hardening-csv", out],
                           capture_output=True, text=True, timeout=600)
        if "skipped in a sanitizer build" in r.stdout:
            print(r.stdout.strip())
            return 77
        print(r.stdout)
        check(r.returncode == 0, f"exit status {r.returncode}; stderr: {r.stderr.strip()}")
        check(os.path.exists(out), "no CSV written")
        rows = []
        if os.path.exists(out):
            with open(out, newline="") as f:
                reader = csv.DictReader(f)
                check(reader.fieldnames == ["allocator", "case", "outcome", "signal", "detail"],
                      f"CSV columns: {reader.fieldnames}")
                rows = list(reader)
    cells = {(row["allocator"], row["case"]): row for row in rows}
    cases = sorted({row["case"] for row in rows})
    check(len(cases) >= 9, f"only {len(cases)} cases: {cases}")
    check(len(rows) == len(cases) * len(names), f"{len(rows)} rows for {len(names)} allocators")
    for row in rows:
        check(row["allocator"] in names, f"unknown allocator {row['allocator']}")
        check(row["outcome"] in OUTCOMES, f"unknown outcome {row}")
        check((row["outcome"] == "crash") == row["signal"].startswith("SIG"),
              f"a crash and only a crash names a signal: {row}")
        check(row["outcome"] not in ("error", "hang"), f"case did not run: {row}")
    # The table: a header naming the allocators, then one row per case.
    lines = r.stdout.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("hardening ")), None)
    if check(header is not None, "no table header"):
        check(lines[header].split()[1:] == names, f"table header: {lines[header]}")
        for case in cases:
            row = next((line.split() for line in lines[header:] if line.split()[:1] == [case]),
                       None)
            if check(row is not None, f"no table row for {case}"):
                want = [cells[(n, case)]["outcome"] if cells[(n, case)]["outcome"] != "crash"
                        else cells[(n, case)]["signal"] for n in names]
                check(row[1:] == want, f"table row {row} differs from the CSV {want}")
    if "firstfit" in names:
        for case in FIRSTFIT_DETECTS:
            row = cells.get(("firstfit", case), {})
            check(row.get("outcome") == "detected" and row.get("detail", "").startswith("firstfit: "),
                  f"firstfit does not detect {case}: {row}")
    print(f"hardening: {check.summary()}")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
