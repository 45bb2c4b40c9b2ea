#!/usr/bin/env python3
"""Print a run's table: workloads down, allocators across, the median ops/s of
each cell over its repetitions relative to glibc's (glibc's own column in
millions of ops/s). It reads only the results directory (results/README.md).

Usage: scripts/report.py [RUN_DIR]     (default: results/latest)

Then, for the programs (rows with kind=program), the same with each cell's
median time (wall time, or 1 / its figure of merit) and median peak RSS
relative to glibc's (lower is better).

A cell shows `crash`, `oom`, ... when no repetition was ok, and is marked `*`
when the time budget stopped a repetition before its work was done, `+lock`
when the allocator ran behind the front end's lock.
"""
import csv
import datetime
import json
import os
import statistics
import sys


def load(run_dir):
    with open(os.path.join(run_dir, "metadata.json")) as f:
        meta = json.load(f)
    with open(os.path.join(run_dir, "cells.csv"), newline="") as f:
        f.readline()  # the command
        rows = list(csv.DictReader(f))
    return meta, rows


def duration(meta):
    if not meta.get("finished"):
        return "unfinished"
    parse = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    seconds = int((parse(meta["finished"]) - parse(meta["started"])).total_seconds())
    return f"{seconds // 60} min {seconds % 60:02d} s"


def main():
    run_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("results", "latest")
    meta, rows = load(run_dir)
    allocators = [a["name"] for a in meta["allocators"]]
    cells = {}
    for r in rows:
        cells.setdefault((r["workload"], r["threads"], r["allocator"]), []).append(r)

    def summary(workload, threads, allocator):
        reps = cells.get((workload, threads, allocator), [])
        ok = [r for r in reps if r["status"] == "ok"]
        if not ok:
            return None, (reps[0]["status"] if reps else "-"), ""
        marks = ("+lock" if any(r["label"].endswith("+lock") for r in ok) else "") + (
            "*" if any(r["complete"] == "0" for r in ok) else "")
        failed = len(reps) - len(ok)
        if failed:
            marks += f" ({failed} failed)"
        return statistics.median(float(r["ops_per_sec"]) for r in ok), None, marks

    base = "glibc" if "glibc" in allocators else allocators[0]
    others = [a for a in allocators if a != base]
    print(f"{meta['command']}")
    reps = f"{meta['reps']} repetition{'' if meta['reps'] == 1 else 's'}"
    print(f"{meta['profile']} profile, {reps}, {meta['cells_done']} of "
          f"{meta['cells_total']} cells, {meta['cells_failed']} failed, {duration(meta)}, "
          f"{meta['state']}")
    print()
    if not meta["workloads"]:
        program_table(meta, rows, base, others)
        return
    print(f"| workload | threads | {base} (Mops/s) | " + " | ".join(others) + " |")
    print("| --- | --- | ---: | " + " | ".join("---:" for _ in others) + " |")
    for w in meta["workloads"]:
        threads = meta["threads"] if w["threaded"] else [1]
        if w.get("fixed_threads"):
            threads = [w["fixed_threads"]]  # a trace replay: the recording's threads
        for t in threads:
            t = str(t)
            base_rate, base_fail, base_marks = summary(w["name"], t, base)
            line = [w["name"], t, base_fail or f"{base_rate / 1e6:.3g}{base_marks}"]
            for a in others:
                rate, fail, marks = summary(w["name"], t, a)
                if fail:
                    line.append(fail)
                elif base_rate:
                    line.append(f"{rate / base_rate:.3g}{marks}")
                else:
                    line.append(f"{rate / 1e6:.3g}M{marks}")
            print("| " + " | ".join(line) + " |")
    print()
    print(f"Median of each cell's repetitions; {base} in millions of operations per second, "
          f"the others relative to it (higher is faster). * the time budget "
          f"({meta['budget_s']} s) stopped a repetition first; +lock: behind the front "
          f"end's lock.")
    if meta.get("programs"):
        print()
        program_table(meta, rows, base, others)


def program_table(meta, rows, base, others):
    """Programs down, allocators across: time and peak RSS against base."""
    cells = {}
    for r in rows:
        if r.get("kind") == "program":
            cells.setdefault((r["workload"], r["allocator"]), []).append(r)

    def time_of(r):
        if r["throughput_unit"] != "runs/s" and float(r["throughput"] or 0) > 0:
            return 1 / float(r["throughput"])
        return float(r["wall_s"])

    def summary(program, allocator):
        reps = cells.get((program, allocator), [])
        ok = [r for r in reps if r["status"] == "ok"]
        bad = [r["status"] for r in reps if r["status"] not in ("ok", "skipped")]
        if not ok:
            return None, None, (bad[0] if bad else reps[0]["status"] if reps else "-")
        return (statistics.median(time_of(r) for r in ok),
                statistics.median(float(r["peak_rss_bytes"]) for r in ok),
                f" ({len(bad)} {bad[0]})" if bad else "")

    print(f"| program | {base} s, MiB | " + " | ".join(others) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in others) + " |")
    for p in meta["programs"]:
        t0, m0, note0 = summary(p["name"], base)
        line = [p["name"], f"{t0:.3g}, {m0 / 2**20:.0f}{note0}" if t0 else note0]
        for a in others:
            t, m, note = summary(p["name"], a)
            if t is None:
                line.append(note)
            elif t0:
                line.append(f"{t / t0:.2f}, {m / m0:.2f}{note}")
            else:
                line.append(f"{t:.3g} s, {m / 2**20:.0f} MiB{note}")
        print("| " + " | ".join(line) + " |")
    print()
    print(f"Programs: median time (wall, or per request where the program reports a rate) "
          f"and median peak RSS of the process tree; {base} absolute, the others relative "
          f"to it (lower is better). A status (wrong, timeout, skipped...) where no "
          f"repetition was ok.")


if __name__ == "__main__":
    main()
