#!/usr/bin/env python3
"""Check that a results directory written by `allocmark run` parses and is whole.

Usage: results_check.py RUN_DIR [--interrupted]

It reads only what results/README.md documents: metadata.json, cells.csv and
timeseries.csv. From the plan in metadata.json it works out which cells the
run had to produce and checks that each is there exactly once (for a run
that completed), that every row has every column, that ok rows carry numeric
metrics and failed rows carry a reason and no metrics, and that the time
series belongs to rows that exist. Exits 1 with one line per problem.

As a module: load(run_dir) -> (metadata, rows, series) and
problems(run_dir, interrupted=False) -> [str].
"""
import csv
import json
import math
import os
import sys

STATUSES = {"ok", "crash", "timeout", "oom", "corrupt", "error", "wrong", "skipped"}
# Statuses that are not failures.
NOT_FAILED = {"ok", "skipped"}
KEY = ("allocator", "label", "workload", "threads", "rep")
# Columns kept by a failed cell; all others must be empty.
KEPT_WHEN_FAILED = {"allocator", "label", "workload", "threads", "rep", "status", "reason",
                    "wall_s", "kind"}
# ... and a failed program cell (kind=program) also these.
PROGRAM_KEPT_WHEN_FAILED = KEPT_WHEN_FAILED | {"exit_status", "output_checksum"}
# Columns every ok program row must fill with a number.
PROGRAM_OK_NUMBERS = ["seconds", "peak_rss_bytes", "user_s", "sys_s", "minor_faults",
                      "major_faults", "voluntary_switches", "involuntary_switches",
                      "throughput", "wall_s", "rss_samples", "sampler_cpu_s"]
# Columns every ok row must fill with a number.
OK_NUMBERS = ["complete", "ops", "seconds", "ops_per_sec", "ns_per_op", "malloc_samples",
              "free_samples", "realloc_samples", "peak_rss_bytes", "baseline_rss_bytes",
              "end_rss_bytes", "peak_live_bytes", "user_s", "sys_s", "minor_faults",
              "run_user_s", "run_sys_s", "run_minor_faults", "harness_overhead_ns",
              "clock_overhead_ns", "wall_s"]
SERIES_COLUMNS = ["allocator", "label", "workload", "threads", "rep", "sample", "ops_done",
                  "seconds", "rss_bytes", "live_bytes", "os_bytes"]


def read_csv(path):
    """(comment line, rows as dicts, header) of a CSV whose first line is '# command'."""
    with open(path, newline="") as f:
        first = f.readline()
        reader = csv.reader(f)
        header = next(reader)
        rows = []
        for fields in reader:
            if len(fields) != len(header):
                raise ValueError(f"{path}: a row has {len(fields)} fields, not {len(header)}")
            rows.append(dict(zip(header, fields)))
    return first.rstrip("\n"), rows, header


def load(run_dir):
    with open(os.path.join(run_dir, "metadata.json")) as f:
        meta = json.load(f)
    _, rows, _ = read_csv(os.path.join(run_dir, "cells.csv"))
    _, series, _ = read_csv(os.path.join(run_dir, "timeseries.csv"))
    return meta, rows, series


def is_number(text):
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def expected_cells(meta, rows=()):
    """The (allocator, workload, threads, rep) the plan calls for, in plan
    order. With --precision a cell may have more repetitions, up to
    max_reps: those its rows show count as planned."""
    copies = ["", "#2"] if meta.get("aa") else [""]
    reps = {}
    if meta.get("precision_pct"):
        for r in rows:
            key = (r["allocator"], copy_of(r), r["workload"], r["threads"])
            reps[key] = max(reps.get(key, 0), min(int(r["rep"]), meta["max_reps"]))
    cells = []
    for w in meta["workloads"]:
        threads = meta["threads"] if w["threaded"] else [1]
        if w.get("fixed_threads"):
            threads = [w["fixed_threads"]]  # a trace replay: the recording's threads
        for t in threads:
            for a in meta["allocators"]:
                for copy in copies:
                    key = (a["name"], copy, w["name"], str(t))
                    for rep in range(1, max(meta["reps"], reps.get(key, 0)) + 1):
                        cells.append(key + (str(rep),))
    # Program cells: in the same schedule, with --precision and --aa too.
    for p in meta.get("programs", []):
        for a in meta["allocators"]:
            for copy in copies:
                key = (a["name"], copy, p["name"], "")
                for rep in range(1, max(meta["reps"], reps.get(key, 0)) + 1):
                    cells.append(key + (str(rep),))
    return cells


def copy_of(row):
    """'#2' for the second copy of an allocator in an --aa run, else ''."""
    return "#2" if row["label"].endswith("#2") else ""


def cell_key(row):
    """A row's place in the plan: allocator, copy, workload, threads, rep."""
    return (row["allocator"], copy_of(row), row["workload"], row["threads"], row["rep"])


def problems(run_dir, interrupted=False):
    out = []
    try:
        meta, rows, series = load(run_dir)
        command_line, _, header = read_csv(os.path.join(run_dir, "cells.csv"))
        series_comment, _, series_header = read_csv(os.path.join(run_dir, "timeseries.csv"))
    except (OSError, ValueError, KeyError, StopIteration) as e:
        return [f"cannot read the results: {e}"]

    for key in ("command", "argv", "started", "finished", "state", "git", "build", "machine",
                "libraries", "profile", "reps", "threads", "allocators", "workloads",
                "cells_total", "cells_done", "cells_failed", "order", "seed", "warmup",
                "environment"):
        if key not in meta:
            out.append(f"metadata.json has no '{key}'")
    if out:
        return out
    if meta["order"] not in ("interleaved", "sequential"):
        out.append(f"metadata order is {meta['order']!r}")
    env = meta["environment"]
    for key in ("governor", "boost", "smt_control", "smt_active", "thp_enabled", "thp_defrag",
                "aslr", "loadavg_start", "loadavg_end", "pinned"):
        if key not in env:
            out.append(f"metadata environment has no '{key}'")
    want_state = "interrupted" if interrupted else "complete"
    if meta["state"] != want_state or meta["interrupted"] != interrupted:
        out.append(f"metadata says state={meta['state']} interrupted={meta['interrupted']}")
    if command_line != "# " + meta["command"] or series_comment != command_line:
        out.append(f"the CSV files do not begin with '# {meta['command']}'")
    if series_header != SERIES_COLUMNS:
        out.append(f"timeseries.csv header is {series_header}")
    for column in OK_NUMBERS + list(KEPT_WHEN_FAILED) + ["fragmentation", "os_bytes_peak"]:
        if column not in header:
            out.append(f"cells.csv has no column '{column}'")
    # series_s came later than the hand-made runs in tests/data: where the
    # column is there, every ok workload row has a number in it.
    ok_numbers = OK_NUMBERS + (["series_s"] if "series_s" in header else [])

    expected = expected_cells(meta, rows)
    if meta["cells_total"] != len(expected):
        out.append(f"cells_total is {meta['cells_total']}, the plan has {len(expected)}")
    if meta["cells_done"] != len(rows):
        out.append(f"cells_done is {meta['cells_done']} but cells.csv has {len(rows)} rows")
    failed = sum(1 for r in rows if r["status"] not in NOT_FAILED)
    if meta["cells_failed"] != failed:
        out.append(f"cells_failed is {meta['cells_failed']} but {failed} rows failed")
    seen = {}
    for r in rows:
        key = cell_key(r)
        seen[key] = seen.get(key, 0) + 1
    for key, n in seen.items():
        if n > 1:
            out.append(f"cell {key} appears {n} times")
        if key not in expected:
            out.append(f"cell {key} is not in the plan")
    if not interrupted:
        for key in expected:
            if key not in seen:
                out.append(f"cell {key} is missing")

    for r in rows:
        name = "/".join(r[k] for k in KEY)
        if r["status"] not in STATUSES:
            out.append(f"{name}: status '{r['status']}'")
            continue
        program = r.get("kind") == "program"
        if r.get("kind") not in ("workload", "program"):
            out.append(f"{name}: kind '{r.get('kind')}'")
        if program and (r["label"] != r["allocator"] + copy_of(r) or r["threads"] != ""):
            out.append(f"{name}: program row with label '{r['label']}', threads "
                       f"'{r['threads']}'")
        if program and r["status"] == "ok":
            for column in PROGRAM_OK_NUMBERS:
                if not is_number(r[column]):
                    out.append(f"{name}: ok program row with {column}='{r[column]}'")
            if not r["throughput_unit"] or r["reason"] or not r["exit_status"]:
                out.append(f"{name}: ok program row without a unit or exit status, or "
                           f"with a reason")
            continue
        if program:
            if not r["reason"]:
                out.append(f"{name}: {r['status']} row without a reason")
            for column, value in r.items():
                if column not in PROGRAM_KEPT_WHEN_FAILED and value != "":
                    out.append(f"{name}: failed program row with {column}='{value}'")
            continue
        label = r["label"][:-2] if meta.get("aa") and copy_of(r) else r["label"]
        if label not in (r["allocator"], r["allocator"] + "+lock") or (
                label.endswith("+lock") and r["threads"] == "1"):
            out.append(f"{name}: label '{r['label']}'")
        if r["status"] == "ok":
            for column in ok_numbers:
                if not is_number(r[column]):
                    out.append(f"{name}: ok row with {column}='{r[column]}'")
            for kind in ("malloc", "free", "realloc"):
                if is_number(r[f"{kind}_samples"]) and int(r[f"{kind}_samples"]) > 0:
                    for q in ("p50", "p99", "p999", "max"):
                        if not is_number(r[f"{kind}_{q}_ns"]):
                            out.append(f"{name}: {kind}_{q}_ns is '{r[f'{kind}_{q}_ns']}'")
            if r["reason"]:
                out.append(f"{name}: ok row with a reason")
        else:
            if not r["reason"]:
                out.append(f"{name}: {r['status']} row without a reason")
            for column, value in r.items():
                if column not in KEPT_WHEN_FAILED and value != "":
                    out.append(f"{name}: failed row with {column}='{value}'")

    points = {}
    for s in series:
        key = cell_key(s)
        if key not in seen:
            out.append(f"series point of a cell without a row: {key}")
        program = s["threads"] == ""
        for column in ("sample", "seconds", "rss_bytes") if program else (
                "sample", "ops_done", "seconds", "rss_bytes", "live_bytes"):
            if not is_number(s[column]):
                out.append(f"series {key}: {column}='{s[column]}'")
        points[key] = points.get(key, 0) + 1
    for r in rows:
        key = cell_key(r)
        if r["status"] == "ok" and r.get("kind") != "program" and points.get(key, 0) < 2:
            out.append(f"{'/'.join(key)}: ok cell with {points.get(key, 0)} series points")
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    found = problems(args[0], interrupted="--interrupted" in sys.argv)
    for p in found:
        print(p)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
