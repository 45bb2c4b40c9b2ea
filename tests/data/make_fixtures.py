#!/usr/bin/env python3
"""Writes the hand-made run directories the plot tests read, in the format
`allocmark run` and scripts/run.sh write (results/README.md): the columns and
metadata of the harness, the series of every cell, allocmark-micro's and
memcore-bench's Google Benchmark JSON as those programs name their entries,
and `allocmark check --format csv`. The numbers are invented, deterministic
and only plausible: they exercise the readers and charts, they measure
nothing. Each directory must pass tests/harness/results_check.py, the check
every real run of the test suite passes; this script refuses to write one
that does not.

    python3 tests/data/make_fixtures.py     # rewrites tests/data/run-*/

run-failed   six allocators, two workloads (churn, checkerboard), one thread
             count, three repetitions; failed cells (every repetition of
             bump-brk on checkerboard ran out of memory, one mmap-only
             repetition crashed, one tcmalloc repetition timed out), mmap-only
             stopped by the time budget (complete = 0), a conformance matrix,
             a column nobody names yet, and a machine that was busy (load 3.5
             on 2 CPUs, governor powersave) when the run started.
run-threads  three allocators (bump-brk behind the lock adapter when
             threaded), two workloads at 1, 2 and 4 threads, two repetitions;
             one cell that timed out in both repetitions; allocmark-micro's
             JSON (a failed benchmark) and memcore-bench's; a hardening matrix
             (hardening.csv); no conformance.
run-trace    three allocators, two trace replays (trace:python-threads, its
             recording's 5 threads; trace:sqlite, one thread) and churn, three
             repetitions; the replays' own columns (wait_s, decode_s,
             skipped, calls) and OS bytes in their series; one repetition of
             slab on trace:sqlite corrupt, every repetition of jemalloc on
             trace:python-threads out of memory.
"""

import csv
import io
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "harness"))
sys.dont_write_bytecode = True
import results_check  # noqa: E402

# The columns of cells.csv, as harness/columns.h lists them, but the newest,
# calls (trace replays only), which only run-trace has: the other fixtures
# stand for runs from before it.
COLUMNS = [
    "allocator", "label", "workload", "threads", "rep", "status", "reason", "complete",
    "ops", "seconds", "ops_per_sec", "ns_per_op",
    "malloc_p50_ns", "malloc_p99_ns", "malloc_p999_ns", "malloc_max_ns", "malloc_samples",
    "free_p50_ns", "free_p99_ns", "free_p999_ns", "free_max_ns", "free_samples",
    "realloc_p50_ns", "realloc_p99_ns", "realloc_p999_ns", "realloc_max_ns", "realloc_samples",
    "peak_rss_bytes", "baseline_rss_bytes", "end_rss_bytes", "peak_live_bytes",
    "fragmentation", "os_bytes_peak", "user_s", "sys_s", "minor_faults", "run_user_s",
    "run_sys_s", "run_minor_faults", "harness_overhead_ns", "clock_overhead_ns", "wall_s",
    "wait_s", "decode_s", "skipped", "frag_peak", "frag_mean", "os_frag_peak", "os_frag_mean",
    "kind", "exit_status", "major_faults", "voluntary_switches", "involuntary_switches",
    "throughput", "throughput_unit", "latency_p50_us", "latency_p99_us", "output_checksum",
    "rss_samples", "sampler_cpu_s", "cpu",
]

# Invented speed (million ops/s, one thread) and memory overhead per allocator.
SPEED = {"glibc": 20.0, "jemalloc": 27.0, "mimalloc": 33.0, "tcmalloc": 30.0,
         "mmap-only": 0.9, "bump-brk": 55.0}
OVERHEAD = {"glibc": 1.35, "jemalloc": 1.2, "mimalloc": 1.25, "tcmalloc": 1.4,
            "mmap-only": 3.5, "bump-brk": 2.6}
LIVE = {"churn": 24 << 20, "checkerboard": 96 << 20, "prodcons": 40 << 20,
        "trace:python-threads": 6 << 20, "trace:sqlite": 1 << 20}
SUMMARY = {"churn": ("fixed-size churn", True), "checkerboard": ("fill, free every other", False),
           "prodcons": ("producer/consumer pairs", True),
           "trace:python-threads": ("replay of a recorded trace (allocmark record), with its "
                                    "threads", False),
           "trace:sqlite": ("replay of a recorded trace (allocmark record), with its threads",
                            False)}
# A trace replay: its recording's threads and the calls it issues (cells.csv's
# calls), by function.
REPLAY = {"trace:python-threads": (5, {"malloc": 52000, "calloc": 3100, "realloc": 9800,
                                       "free": 61000, "posix_memalign": 12}),
          "trace:sqlite": (1, {"malloc": 8803, "realloc": 2741, "free": 8456})}
SCALE = {1: 1.0, 2: 1.8, 4: 3.1}
BASELINE_RSS = 3 << 20


def metrics(rng, allocator, workload, threads, locked):
    speed = SPEED[allocator] * 1e6 * SCALE[threads] * (0.45 if locked else 1.0)
    speed *= {"churn": 1.0, "checkerboard": 0.6, "prodcons": 0.8, "trace:python-threads": 0.5,
              "trace:sqlite": 0.7}[workload]
    speed *= rng.uniform(0.97, 1.03)
    seconds = round(rng.uniform(0.45, 0.55), 6)
    ops = int(speed * seconds)
    live = LIVE[workload]
    rss = int(BASELINE_RSS + live * OVERHEAD[allocator] * rng.uniform(0.99, 1.01))
    p50 = 1e9 / speed * threads * 0.4
    return {
        "complete": 1, "ops": ops, "seconds": seconds, "ops_per_sec": round(ops / seconds, 1),
        "ns_per_op": round(seconds * threads * 1e9 / ops, 3),
        "malloc_p50_ns": round(p50), "malloc_p99_ns": round(p50 * 4),
        "malloc_p999_ns": round(p50 * 20), "malloc_max_ns": round(p50 * 2000),
        "malloc_samples": ops // 32,
        "free_p50_ns": round(p50 * 0.6), "free_p99_ns": round(p50 * 3),
        "free_p999_ns": round(p50 * 12), "free_max_ns": round(p50 * 900),
        "free_samples": ops // 32, "realloc_samples": 0,
        "peak_rss_bytes": rss, "baseline_rss_bytes": BASELINE_RSS,
        "end_rss_bytes": BASELINE_RSS + live // 8, "peak_live_bytes": live,
        "fragmentation": round(rss / live, 4), "os_bytes_peak": rss - BASELINE_RSS + 4096,
        "user_s": round(seconds * threads * 0.97, 6), "sys_s": round(seconds * 0.03, 6),
        "minor_faults": rss // 4096, "run_user_s": round(seconds * threads * 0.95, 6),
        "run_sys_s": round(seconds * 0.02, 6), "run_minor_faults": live // 4096,
        "harness_overhead_ns": 1.5, "clock_overhead_ns": 9.0,
        "wall_s": round(seconds + 0.02, 3),
        "frag_peak": round((rss - BASELINE_RSS) / live, 4),
        "frag_mean": round((rss - BASELINE_RSS) / live * 1.05, 4),
        "os_frag_peak": round((rss - BASELINE_RSS + 4096) / live, 4),
        "os_frag_mean": round((rss - BASELINE_RSS + 4096) / live * 1.05, 4),
        "kind": "workload", "throughput": round(ops / seconds, 1), "throughput_unit": "ops/s",
        "cpu": rng.randint(0, 1),
    }


def failed(row, status, reason):
    for c in set(COLUMNS) | set(row):
        if c not in results_check.KEPT_WHEN_FAILED:
            row[c] = ""
    row.update(status=status, reason=reason, kind="workload")
    return row


def series_of(row, samples=12):
    """A cell's time series: the live set grows and shrinks, RSS follows it
    up and keeps part of it."""
    live, rss = LIVE[row["workload"]], row["peak_rss_bytes"] or BASELINE_RSS
    out = []
    for sample in range(samples):
        phase = min(sample, samples - 1 - sample) / ((samples - 1) / 2.0)
        out.append({k: row[k] for k in ("allocator", "label", "workload", "threads", "rep")})
        out[-1].update(sample=sample, ops_done=sample * 500000,
                       seconds="%.6f" % (sample * 0.025),
                       rss_bytes=int(BASELINE_RSS + (rss - BASELINE_RSS) * max(phase, 0.6 * (
                           sample > 0))),
                       live_bytes=int(live * phase), os_bytes="")
    return out


def write_csv(path, command, rows, columns):
    out = io.StringIO()
    out.write("# %s\n" % command)
    writer = csv.DictWriter(out, columns, lineterminator="\n", restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    with open(path, "w", encoding="utf-8") as f:
        f.write(out.getvalue())


def metadata(label, argv, profile, reps, threads, allocators, workloads, rows, load):
    """metadata.json as harness/results.c writes it at the end of a run;
    load: the load average when it started."""
    bad = sum(1 for r in rows if r["status"] != "ok")
    return {
        "format": 1, "command": " ".join(argv), "argv": argv, "cwd": "/src/allocmark",
        "directory": "20250102-030405-" + label, "started": "2025-01-02T03:04:05Z",
        "finished": "2025-01-02T03:09:05Z", "state": "complete", "interrupted": False,
        "cells_total": len(rows), "cells_done": len(rows), "cells_failed": bad,
        "profile": profile, "reps": reps, "threads": threads, "budget_s": 0.5,
        "timeout_s": 20, "mem_limit_mib": 4096,
        "order": "interleaved", "seed": 12345, "warmup": 0,
        "clock": {"source": "tsc", "hz": 3000000000.0},
        "allocators": [{"name": a, "summary": "fixture", "capabilities": "thread-safe"}
                       for a in allocators],
        "workloads": [{"name": w, "summary": SUMMARY[w][0], "threaded": SUMMARY[w][1],
                       "params": {"ops": 100000}} for w in workloads],
        "reference_libraries": {
            "glibc": {"preload": None, "version": "glibc 2.36",
                      "library": "/lib/x86_64-linux-gnu/libc.so.6"},
            "jemalloc": {"preload": "libjemalloc.so.2", "version": "5.3.0-0-g54eaed1",
                         "library": "/lib/x86_64-linux-gnu/libjemalloc.so.2"}},
        "git": {"commit": "3cb4e71a9c0d5e2f00000000000000000000abcd", "dirty": False,
                "describe": "3cb4e71a9c0d5e2f00000000000000000000abcd"},
        "build": {"compiler": "gcc 12.2.0", "compiler_version": "12.2.0",
                  "buildtype": "release", "optimization": "3", "ndebug": "false",
                  "sanitize": "none", "warning_level": "2", "c_args": "",
                  "project_c_args": "-D_GNU_SOURCE", "c_link_args": "",
                  "meson_version": "1.0.1", "debug": False},
        "machine": {"hostname": "fixture-" + label, "cpu_model": "Fixture CPU @ 3.0GHz",
                    "cpu_flags": "fpu sse4_2 avx2 erms fsrm", "nproc": 2,
                    "memory_bytes": 8 << 30, "page_size": 4096,
                    "kernel": "Linux 6.1.0-fixture #1 SMP PREEMPT_DYNAMIC Debian x86_64",
                    "transparent_hugepages": "always [madvise] never", "clocksource": "tsc"},
        "libraries": {"glibc": {"version": "2.36", "release": "stable"},
                      "configured_versions": {"jemalloc": "5.3.0_0", "mimalloc": "2.0",
                                              "tcmalloc": "2.10"}},
        "environment": {"governor": "powersave" if load > 1 else "performance",
                        "boost": "on", "smt_control": "on", "smt_active": True,
                        "thp_enabled": "madvise", "thp_defrag": "madvise", "aslr": 2,
                        "loadavg_start": [load, load, load], "loadavg_end": [0.5, 0.4, 0.3],
                        "pinned": None},
    }


def write_run(name, argv, profile, reps, threads, allocators, workloads, rows, extra=(),
              load=0.1, series=None):
    path = os.path.join(HERE, name)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    command = " ".join(argv)
    write_csv(os.path.join(path, "cells.csv"), command, rows, COLUMNS + list(extra))
    if series is None:
        series = [p for r in rows if r["status"] == "ok" or r["rep"] == 1 for p in series_of(r)]
    write_csv(os.path.join(path, "timeseries.csv"), command, series,
              results_check.SERIES_COLUMNS)
    meta = metadata(name.split("-", 1)[1], argv, profile, reps, threads, allocators, workloads,
                    rows, load)
    for w in meta["workloads"]:
        if w["name"] in REPLAY:
            w["fixed_threads"] = REPLAY[w["name"]][0]
    with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return path


def run_failed(rng):
    allocators = list(SPEED)
    workloads = ["churn", "checkerboard"]
    argv = ["allocmark", "run", "-a", ",".join(allocators), "-w", ",".join(workloads),
            "-t", "1", "--no-micro"]
    rows = []
    for rep in (1, 2, 3):
        for workload in workloads:
            for allocator in allocators:
                row = {"allocator": allocator, "label": allocator, "workload": workload,
                       "threads": 1, "rep": rep, "status": "ok", "reason": "",
                       "future_metric": rng.randint(1, 9)}
                row.update(metrics(rng, allocator, workload, 1, False))
                if allocator == "mmap-only":
                    row["complete"] = 0
                if allocator == "bump-brk" and workload == "checkerboard":
                    failed(row, "oom", "malloc(192) returned NULL after 1803 MiB")
                elif allocator == "mmap-only" and workload == "churn" and rep == 1:
                    failed(row, "crash", "killed by SIGSEGV")
                elif allocator == "tcmalloc" and workload == "checkerboard" and rep == 2:
                    failed(row, "timeout", "no result within the 20 s time limit")
                rows.append(row)
    # A busy machine with a powersave governor: the report must warn.
    path = write_run("run-failed", argv, "quick", 3, [1], allocators, workloads, rows,
                     extra=["future_metric"], load=3.5)
    with open(os.path.join(path, "conformance.csv"), "w", encoding="utf-8") as f:
        f.write("# allocmark check --format csv\nallocator,check,verdict,detail\n")
        for allocator in allocators:
            for check in ("malloc_zero_unique", "realloc_zero_frees", "backend_check"):
                verdict, detail = "pass", ""
                if check == "realloc_zero_frees" and allocator == "mimalloc":
                    verdict, detail = "expected", "mimalloc returns a minimal block, \"C\" allows"
                if check == "backend_check" and allocator in ("glibc", "jemalloc", "mimalloc",
                                                              "tcmalloc"):
                    verdict = "skipped"
                f.write("%s,%s,%s,%s\n" % (allocator, check, verdict,
                                           '"%s"' % detail.replace('"', '""') if detail else ""))


def bench_entry(name, real_time, **extra):
    entry = {"name": name, "family_index": 0, "per_family_instance_index": 0,
             "run_name": name, "run_type": "iteration", "repetitions": 2,
             "repetition_index": 0, "threads": 1, "iterations": 1000,
             "real_time": real_time, "cpu_time": real_time, "time_unit": "ns"}
    entry.update(extra)
    return entry


def bench_file(path, entries, **context_extra):
    context = {"date": "2025-01-02T03:04:05+00:00", "host_name": "fixture-threads",
               "executable": "build/bench/x", "num_cpus": 2, "mhz_per_cpu": 3000,
               "cpu_scaling_enabled": False, "load_avg": [0.1, 0.2, 0.3],
               "library_build_type": "release"}
    context.update(context_extra)
    with open(path, "w", encoding="utf-8") as f:
        # One entry a line keeps the fixture small and readable.
        f.write('{"context": %s,\n"benchmarks": [\n%s\n]}\n' % (
            json.dumps(context), ",\n".join(json.dumps(e) for e in entries)))


def run_threads(rng):
    allocators = ["glibc", "jemalloc", "bump-brk"]
    workloads = ["churn", "prodcons"]
    argv = ["allocmark", "run", "-a", ",".join(allocators), "-w", ",".join(workloads),
            "-t", "1,2,4", "-r", "2"]
    rows = []
    for rep in (1, 2):
        for workload in workloads:
            for threads in (1, 2, 4):
                for allocator in allocators:
                    locked = allocator == "bump-brk" and threads > 1
                    row = {"allocator": allocator,
                           "label": allocator + ("+lock" if locked else ""),
                           "workload": workload, "threads": threads, "rep": rep,
                           "status": "ok", "reason": ""}
                    row.update(metrics(rng, allocator, workload, threads, locked))
                    if allocator == "jemalloc" and workload == "prodcons" and threads == 4:
                        failed(row, "timeout", "no result within the 20 s time limit")
                    rows.append(row)
    path = write_run("run-threads", argv, "quick", 2, [1, 2, 4], allocators, workloads, rows)
    # Named the way allocmark-micro names them (family/allocator/size, with
    # Google Benchmark's settings after); xthread failed for bump-brk.
    for allocator in allocators:
        entries = []
        for family, suffix in (("pair", ""), ("xthread", "/real_time/threads:2")):
            for size in (16, 256, 4096):
                name = "%s/%s/%d%s" % (family, allocator, size, suffix)
                for rep in range(2):
                    if family == "xthread" and allocator == "bump-brk":
                        entries.append(dict(bench_entry(name, 0.0, repetition_index=rep),
                                            error_occurred=True, error_message="child crashed"))
                        continue
                    t = 1e3 / SPEED[allocator] * (1 + size / 8192) * rng.uniform(0.98, 1.02)
                    entries.append(bench_entry(name, round(t, 3), repetition_index=rep,
                                               items_per_second=round(1e9 / t, 1)))
        for rep in range(2):
            t = 90.0 - SPEED[allocator]
            entries.append(bench_entry("larson/%s" % allocator, t, repetition_index=rep,
                                       items_per_second=1e9 / t))
        bench_file(os.path.join(path, "micro-%s.json" % allocator), entries,
                   allocator=allocator)
    # Named the way memcore-bench names them
    # (op/contender/alignment/bytes/min_time:...): every repetition, then the
    # mean, median and stddev aggregates, as --benchmark_repetitions=2 writes.
    entries = []
    for op, variants in (("memcpy", ("glibc", "dispatch", "erms", "bytes")),
                         ("memset", ("glibc", "dispatch", "avx2", "bytes"))):
        for variant in variants:
            for align in ("aligned", "src+1" if op == "memcpy" else "dst+1"):
                for size in (64, 4096, 1048576):
                    gbps = {"glibc": 30.0, "dispatch": 33.0, "bytes": 1.2, "erms": 25.0,
                            "avx2": 35.0}[variant]
                    gbps *= size / (size + 256.0) * (0.8 if align != "aligned" else 1.0)
                    name = "%s/%s/%s/%d/min_time:0.010" % (op, variant, align, size)
                    rates = [gbps * 1e9 * rng.uniform(0.97, 1.03) for _ in range(2)]
                    for rep, bps in enumerate(rates):
                        entries.append(bench_entry(name, round(size / bps * 1e9, 3),
                                                   repetition_index=rep,
                                                   bytes_per_second=round(bps, 1)))
                    for aggregate, bps in (("mean", sum(rates) / 2), ("median", sum(rates) / 2),
                                           ("stddev", abs(rates[0] - rates[1]) / 2 ** 0.5)):
                        entries.append(dict(bench_entry(name + "_" + aggregate,
                                                        round(size / bps * 1e9, 3)),
                                            run_name=name, run_type="aggregate",
                                            aggregate_name=aggregate,
                                            bytes_per_second=round(bps, 1)))
    bench_file(os.path.join(path, "memcore.json"), entries, glibc="2.36",
               memcore="avx2 (fixture)")
    # `allocmark check --hardening-csv`: one row per (allocator, case), RFC
    # 4180 quoting (a detail with a comma and quotes); no random numbers, so
    # the files above do not change.
    hardening = {
        "glibc": [("double_free", "detected", "", "free(): double free detected in tcache 2"),
                  ("free_stack", "detected", "", "free(): invalid pointer"),
                  ("overflow_1", "silent", "", "")],
        "jemalloc": [("double_free", "corrupted", "", "the same block, twice"),
                     ("free_stack", "crash", "SIGSEGV", ""),
                     ("overflow_1", "silent", "", "")],
        "bump-brk": [("double_free", "silent", "", ""),
                     ("free_stack", "abort", "", ""),
                     ("overflow_1", "crash", "SIGBUS", 'at "0x1000", then killed')],
    }
    with open(os.path.join(path, "hardening.csv"), "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["allocator", "case", "outcome", "signal", "detail"])
        for allocator in allocators:
            for row in hardening[allocator]:
                writer.writerow([allocator] + list(row))


def run_trace(rng):
    """Trace replays beside an ordinary workload. A replay's operations are
    its trace's events, its memory is measured against the recording's live
    bytes, and its series carry the allocator's OS bytes."""
    allocators = ["glibc", "jemalloc", "slab"]
    workloads = ["trace:python-threads", "trace:sqlite", "churn"]
    argv = ["allocmark", "run", "-a", ",".join(allocators), "-w", ",".join(workloads),
            "-t", "1", "-r", "3", "--no-micro"]
    rows, series = [], []
    # slab is in neither SPEED nor OVERHEAD (run-failed takes its allocators
    # from SPEED): its numbers for this run only.
    OVERHEAD.setdefault("slab", 1.3)
    SPEED.setdefault("slab", 29.0)
    for rep in (1, 2, 3):
        for workload in workloads:
            threads, calls = REPLAY.get(workload, (1, None))
            for allocator in allocators:
                row = {"allocator": allocator, "label": allocator, "workload": workload,
                       "threads": threads, "rep": rep, "status": "ok", "reason": ""}
                row.update(metrics(rng, allocator, workload, 1, False))
                if calls:
                    # The trace's events at the invented speed.
                    ops = sum(calls.values())
                    seconds = round(ops / row["ops_per_sec"], 6)
                    row.update(ops=ops, seconds=seconds, ops_per_sec=round(ops / seconds, 1),
                               ns_per_op=round(seconds * threads * 1e9 / ops, 3),
                               throughput=round(ops / seconds, 1),
                               malloc_samples=ops // 32, free_samples=ops // 32,
                               wait_s=round(rng.uniform(0.001, 0.02) * (threads - 1), 6),
                               decode_s=round(rng.uniform(0.002, 0.004), 6), skipped=0,
                               calls=" ".join("%s=%d" % kv for kv in calls.items()))
                if allocator == "slab" and workload == "trace:sqlite" and rep == 2:
                    failed(row, "corrupt", "block 0x7f0000001000 of 48 bytes: cookie changed")
                elif allocator == "jemalloc" and workload == "trace:python-threads":
                    failed(row, "oom", "trace event 1234: malloc(4096) returned NULL; it "
                                       "succeeded when recorded")
                rows.append(row)
                if row["status"] == "ok" or rep == 1:
                    points = series_of(row)
                    if calls and row["status"] == "ok":
                        for p in points:
                            p["os_bytes"] = int((p["rss_bytes"] - BASELINE_RSS) * 1.1) + 65536
                    series += points
    write_run("run-trace", argv, "quick", 3, [1], allocators, workloads, rows,
              extra=["calls"], series=series)


def main():
    run_failed(random.Random(7))
    run_threads(random.Random(11))
    run_trace(random.Random(13))
    bad = 0
    for name in ("run-failed", "run-threads", "run-trace"):
        for problem in results_check.problems(os.path.join(HERE, name)):
            print("%s: %s" % (name, problem))
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
