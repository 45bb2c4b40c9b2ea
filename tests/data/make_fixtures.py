#!/usr/bin/env python3
"""Writes the hand-made run directories the plot tests read, following the
results contract (results/README.md). The numbers are invented, deterministic
and only plausible: they exercise the readers and charts, they measure nothing.

    python3 tests/data/make_fixtures.py     # rewrites tests/data/run-*/

run-failed   the harness branch's format (its columns and metadata.json);
             six allocators, two workloads, one thread count, three
             repetitions; failed cells (every repetition of bump-brk on
             'fragment' ran out of memory, one mmap-only repetition crashed,
             one tcmalloc repetition timed out), mmap-only stopped by the time
             budget (complete = 0), a time series, a conformance matrix and a
             column nobody names.
run-threads  the contract's columns only, flat metadata keys;
             three allocators (bump-brk behind the lock adapter when
             threaded), two workloads at 1, 2 and 4 threads, two repetitions;
             one cell that timed out in both repetitions; allocmark-micro's
             JSON (two rounds of jemalloc, a failed benchmark) and rss.json,
             memcore-bench's JSON; no time series, no conformance.
"""

import csv
import io
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

COLUMNS = [
    "allocator", "label", "workload", "threads", "rep", "status", "reason", "ops", "seconds",
    "ops_per_sec", "ns_per_op", "malloc_p50_ns", "malloc_p99_ns", "malloc_p999_ns",
    "malloc_max_ns", "free_p50_ns", "free_p99_ns", "free_p999_ns", "free_max_ns",
    "peak_rss_bytes", "baseline_rss_bytes", "peak_live_bytes", "fragmentation",
    "os_bytes_peak", "user_s", "sys_s", "minor_faults", "harness_overhead_ns",
]

# The columns harness/results.h writes as of this writing (branch harness):
# the contract's and more. run-failed uses these, run-threads the contract's.
HARNESS_COLUMNS = [
    "allocator", "label", "workload", "threads", "rep", "status", "reason", "complete",
    "ops", "seconds", "ops_per_sec", "ns_per_op",
    "malloc_p50_ns", "malloc_p99_ns", "malloc_p999_ns", "malloc_max_ns", "malloc_samples",
    "free_p50_ns", "free_p99_ns", "free_p999_ns", "free_max_ns", "free_samples",
    "realloc_p50_ns", "realloc_p99_ns", "realloc_p999_ns", "realloc_max_ns", "realloc_samples",
    "peak_rss_bytes", "baseline_rss_bytes", "end_rss_bytes", "peak_live_bytes",
    "fragmentation", "os_bytes_peak", "user_s", "sys_s", "minor_faults", "run_user_s",
    "run_sys_s", "run_minor_faults", "harness_overhead_ns", "clock_overhead_ns", "wall_s",
]

# Invented speed (million ops/s, one thread) and memory overhead per allocator.
SPEED = {"glibc": 20.0, "jemalloc": 27.0, "mimalloc": 33.0, "tcmalloc": 30.0,
         "mmap-only": 0.9, "bump-brk": 55.0}
OVERHEAD = {"glibc": 1.35, "jemalloc": 1.2, "mimalloc": 1.25, "tcmalloc": 1.4,
            "mmap-only": 3.5, "bump-brk": 2.6}
LIVE = {"churn": 24 << 20, "fragment": 96 << 20, "prodcons": 40 << 20}
SCALE = {1: 1.0, 2: 1.8, 4: 3.1}


def metrics(rng, allocator, workload, threads, locked):
    speed = SPEED[allocator] * 1e6 * SCALE[threads] * (0.45 if locked else 1.0)
    speed *= {"churn": 1.0, "fragment": 0.6, "prodcons": 0.8}[workload] * rng.uniform(0.97, 1.03)
    seconds = round(rng.uniform(0.45, 0.55), 4)
    ops = int(speed * seconds)
    live = LIVE[workload]
    baseline = 3 << 20
    rss = int(baseline + live * OVERHEAD[allocator] * rng.uniform(0.99, 1.01))
    p50 = 1e9 / speed * threads * 0.4
    return {
        "ops": ops, "seconds": seconds, "ops_per_sec": round(ops / seconds, 1),
        "ns_per_op": round(seconds * 1e9 / ops, 3),
        "malloc_p50_ns": round(p50), "malloc_p99_ns": round(p50 * 4),
        "malloc_p999_ns": round(p50 * 20), "malloc_max_ns": round(p50 * 2000),
        "free_p50_ns": round(p50 * 0.6), "free_p99_ns": round(p50 * 3),
        "free_p999_ns": round(p50 * 12), "free_max_ns": round(p50 * 900),
        "peak_rss_bytes": rss, "baseline_rss_bytes": baseline, "peak_live_bytes": live,
        "fragmentation": round((rss - baseline) / live, 3),
        "os_bytes_peak": rss - baseline + 4096, "user_s": round(seconds * threads * 0.97, 3),
        "sys_s": round(seconds * 0.03, 3), "minor_faults": rss // 4096,
        "harness_overhead_ns": 21,
    }


def write_cells(path, command, rows, columns):
    out = io.StringIO()
    out.write("# %s\n" % command)
    writer = csv.DictWriter(out, columns, lineterminator="\n", restval="", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    with open(path, "w", encoding="utf-8") as f:
        f.write(out.getvalue())


def harness_metadata(label, command, cells_done, cells_failed):
    """metadata.json the way harness/results.c writes it (as of this writing)."""
    return {
        "format": 1, "command": command, "argv": command.split(), "cwd": "/src/allocmark",
        "directory": "20250102-030405-" + label, "started": "2025-01-02T03:04:05Z",
        "finished": "2025-01-02T03:09:05Z", "state": "complete", "interrupted": False,
        "cells_total": cells_done + cells_failed, "cells_done": cells_done,
        "cells_failed": cells_failed, "profile": "quick",
        "git": {"commit": "3cb4e71a9c0d5e2f00000000000000000000abcd", "dirty": False,
                "describe": "3cb4e71a9c0d5e2f00000000000000000000abcd"},
        "build": {"compiler": "gcc", "compiler_version": "12.2.0", "buildtype": "release",
                  "optimization": "3", "c_args": "-D_GNU_SOURCE"},
        "machine": {"hostname": "fixture-" + label, "cpu_model": "Fixture CPU @ 3.0GHz",
                    "cpu_flags": "fpu sse4_2 avx2 erms fsrm", "nproc": 2,
                    "memory_bytes": 8 << 30, "page_size": 4096,
                    "kernel": "Linux 6.1.0-fixture #1 SMP PREEMPT_DYNAMIC Debian x86_64",
                    "transparent_hugepages": "always [madvise] never", "clocksource": "tsc"},
        "libraries": {"glibc": {"version": "2.36", "release": "stable"},
                      "configured_versions": {"jemalloc": "5.3.0", "mimalloc": "2.0.9",
                                              "tcmalloc": "2.10"}},
    }


def metadata(label, command, cells_done, cells_failed):
    """metadata.json in another shape the contract allows (flat keys)."""
    return {
        "command": command, "git": {"commit": "3cb4e71a9c0d5e2f", "dirty": False},
        "compiler": {"id": "gcc", "version": "12.2.0", "flags": "-O3 -D_GNU_SOURCE"},
        "cpu": {"model": "Fixture CPU @ 3.0GHz", "flags": "sse4_2 avx2 erms fsrm"},
        "kernel": "6.1.0-fixture", "libraries": {"glibc": "2.36", "jemalloc": "5.3.0",
                                                 "mimalloc": "2.0.9", "tcmalloc": "2.10"},
        "date": "2025-01-02T03:04:05Z", "end_time": "2025-01-02T03:09:05Z",
        "profile": "quick", "hostname": "fixture-" + label, "nproc": 2,
        "memory_bytes": 8 << 30, "cells_done": cells_done, "cells_failed": cells_failed,
        "interrupted": False,
    }


def failed(row, status, reason):
    for c in HARNESS_COLUMNS[HARNESS_COLUMNS.index("ops"):]:
        row[c] = ""
    row.update(status=status, reason=reason)
    return row


def run_failed(rng):
    path = os.path.join(HERE, "run-failed")
    os.makedirs(path, exist_ok=True)
    command = "allocmark run --profile quick --reps 3"
    rows, series = [], []
    for workload in ("churn", "fragment"):
        for allocator in SPEED:
            for rep in range(3):
                row = {"allocator": allocator, "label": allocator, "workload": workload,
                       "threads": 1, "rep": rep, "status": "ok", "reason": "",
                       "complete": 0 if allocator == "mmap-only" else 1,
                       "future_metric": rng.randint(1, 9)}
                row.update(metrics(rng, allocator, workload, 1, False))
                row.update(malloc_samples=row["ops"] // 2, free_samples=row["ops"] // 2,
                           realloc_samples=0, end_rss_bytes=row["peak_rss_bytes"] // 2,
                           wall_s=row["seconds"] + 0.01)
                if allocator == "bump-brk" and workload == "fragment":
                    failed(row, "oom", "RSS over the 2 GiB limit")
                elif allocator == "mmap-only" and workload == "churn" and rep == 1:
                    failed(row, "crash", "SIGSEGV")
                elif allocator == "tcmalloc" and workload == "fragment" and rep == 2:
                    failed(row, "timeout", "over 60 s")
                rows.append(row)
                if workload == "fragment" and rep == 0:
                    samples = 6 if allocator == "bump-brk" else 12
                    for sample in range(samples):
                        phase = min(sample, 11 - sample) / 5.5
                        live = int(LIVE[workload] * phase)
                        rss = int(3 * 2**20 + LIVE[workload] * OVERHEAD[allocator]
                                  * max(phase, min(sample, 6) / 6.0 * 0.8))
                        series.append({"allocator": allocator, "label": allocator,
                                       "workload": workload, "threads": 1, "rep": 0,
                                       "sample": sample, "ops_done": sample * 500000,
                                       "seconds": round(sample * 0.025, 4), "rss_bytes": rss,
                                       "live_bytes": live, "os_bytes": rss - 3 * 2**20})
    write_cells(os.path.join(path, "cells.csv"), command, rows,
                HARNESS_COLUMNS + ["future_metric"])
    with open(os.path.join(path, "timeseries.csv"), "w", encoding="utf-8") as f:
        f.write("# %s\n" % command)
        writer = csv.DictWriter(f, list(series[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(series)
    bad = sum(1 for r in rows if r["status"] != "ok")
    with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as f:
        json.dump(harness_metadata("failed", command, len(rows) - bad, bad), f, indent=1)
        f.write("\n")
    with open(os.path.join(path, "conformance.txt"), "w", encoding="utf-8") as f:
        f.write("check                        glibc      jemalloc   mimalloc   tcmalloc   "
                "mmap-only  bump-brk\n"
                "malloc_zero_unique           pass       pass       pass       pass       "
                "pass       pass\n"
                "realloc_zero_frees           pass       pass       expected   pass       "
                "pass       pass\n"
                "0 checks failed\n")


def bench_entry(name, real_time, **extra):
    entry = {"name": name, "run_name": name, "run_type": "iteration",
             "real_time": real_time, "time_unit": "ns"}
    entry.update(extra)
    return entry


def bench_file(path, entries, allocator=None):
    context = {"date": "2025-01-02T03:04:05+00:00", "host_name": "fixture-threads",
               "num_cpus": 2, "mhz_per_cpu": 3000, "library_build_type": "release"}
    if allocator:
        context["allocator"] = allocator
    with open(path, "w", encoding="utf-8") as f:
        # One entry a line keeps the fixture small and readable.
        f.write('{"context": %s,\n"benchmarks": [\n%s\n]}\n' % (
            json.dumps(context), ",\n".join(json.dumps(e) for e in entries)))


def run_threads(rng):
    path = os.path.join(HERE, "run-threads")
    os.makedirs(path, exist_ok=True)
    command = "allocmark run --allocators glibc,jemalloc,bump-brk --threads 1,2,4 --reps 2"
    rows = []
    for workload in ("churn", "prodcons"):
        for threads in (1, 2, 4):
            for allocator in ("glibc", "jemalloc", "bump-brk"):
                locked = allocator == "bump-brk" and threads > 1
                for rep in range(2):
                    row = {"allocator": allocator,
                           "label": allocator + ("+lock" if locked else ""),
                           "workload": workload, "threads": threads, "rep": rep,
                           "status": "ok", "reason": ""}
                    row.update(metrics(rng, allocator, workload, threads, locked))
                    if allocator == "jemalloc" and workload == "prodcons" and threads == 4:
                        failed(row, "timeout", "over 60 s")
                    rows.append(row)
    write_cells(os.path.join(path, "cells.csv"), command, rows, COLUMNS)
    bad = sum(1 for r in rows if r["status"] != "ok")
    with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as f:
        json.dump(metadata("threads", command, len(rows) - bad, bad), f, indent=1)
        f.write("\n")
    # Named the way allocmark-micro names them (family/allocator/size, with
    # Google Benchmark's settings after), context.allocator set; jemalloc ran
    # two rounds (micro-jemalloc.r2.json); xthread failed for bump-brk.
    for allocator in ("glibc", "jemalloc", "bump-brk"):
        for round_ in (1, 2) if allocator == "jemalloc" else (1,):
            entries = []
            for family, suffix in (("pair", ""), ("xthread", "/real_time/threads:2")):
                for size in (16, 256, 4096):
                    name = "%s/%s/%d%s" % (family, allocator, size, suffix)
                    if family == "xthread" and allocator == "bump-brk":
                        entries.append(dict(bench_entry(name, 0.0), error_occurred=True,
                                            error_message="child crashed"))
                        continue
                    t = 1e3 / SPEED[allocator] * (1 + size / 8192) * rng.uniform(0.98, 1.02)
                    entries.append(bench_entry(name, round(t, 3),
                                               items_per_second=round(1e9 / t, 1)))
            entries.append(bench_entry("larson/%s" % allocator, 90.0 - SPEED[allocator],
                                       items_per_second=1e9 / (90.0 - SPEED[allocator])))
            suffix = ".r%d" % round_ if round_ > 1 else ""
            bench_file(os.path.join(path, "micro-%s%s.json" % (allocator, suffix)), entries,
                       allocator)
    with open(os.path.join(path, "rss.json"), "w", encoding="utf-8") as f:
        runs = [{"workload": w, "allocator": a, "peak_rss_kib": int(kib * OVERHEAD[a]),
                 "baseline_kib": 3000, "wall_s": 0.5}
                for w, kib in (("larson", 9000), ("batch", 40000)) for a in SPEED if a in
                ("glibc", "jemalloc", "bump-brk")]
        json.dump({"unit": "KiB", "runs": runs}, f, indent=1)
        f.write("\n")
    # Named the way memcore-bench names them (op/contender/alignment/bytes):
    # memcpy with aggregates only, as memcore-bench reports by default;
    # memset with every repetition.
    entries = []
    for op, variants in (("memcpy", ("glibc", "erms", "bytes")),
                         ("memset", ("glibc", "avx2", "bytes"))):
        for variant in variants:
            for align in ("aligned", "src+1" if op == "memcpy" else "dst+1"):
                for size in (64, 4096, 1048576):
                    gbps = {"glibc": 30.0, "bytes": 1.2, "erms": 25.0, "avx2": 35.0}[variant]
                    gbps *= size / (size + 256.0) * (0.8 if align != "aligned" else 1.0)
                    name = "%s/%s/%s/%d" % (op, variant, align, size)
                    if op == "memcpy":
                        bps = round(gbps * 1e9 * rng.uniform(0.99, 1.01), 1)
                        for aggregate in ("median",):
                            entries.append(dict(bench_entry(name + "_" + aggregate,
                                                            round(size / bps * 1e9, 3)),
                                                run_name=name, run_type="aggregate",
                                                aggregate_name=aggregate, bytes_per_second=bps))
                        continue
                    for rep in range(2):
                        bps = gbps * 1e9 * rng.uniform(0.97, 1.03)
                        entries.append(bench_entry(name, round(size / bps * 1e9, 3),
                                                   bytes_per_second=round(bps, 1)))
    bench_file(os.path.join(path, "memcore.json"), entries)


def main():
    run_failed(random.Random(7))
    run_threads(random.Random(11))


if __name__ == "__main__":
    main()
