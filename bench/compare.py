#!/usr/bin/env python3
"""Compare allocmark-micro results: per benchmark, the median throughput of
each allocator over all repetitions and rounds, and the ratio of one allocator
(slab by default) to each of the others. A ratio above 1 means faster.

    python3 bench/compare.py DIR [--subject slab]

Reads DIR/micro-*.json (Google Benchmark JSON; either every repetition, or the
"median" aggregates of --benchmark_report_aggregates_only) and DIR/rss.json
when present (peak RSS; there a ratio below 1 means less memory).
Standard library only.
"""
import argparse
import glob
import json
import os
import statistics
import sys
from collections import defaultdict


def split_name(run_name):
    """'xthread/slab/64/real_time/threads:2' -> ('xthread/*/64', 'slab')."""
    parts = run_name.split("/")
    if len(parts) < 2:
        return run_name, "?"
    keep = [p for p in parts[2:] if p != "real_time" and not p.startswith("threads:")]
    return "/".join([parts[0], "*"] + keep), parts[1]


def throughput(entry):
    if "items_per_second" in entry:
        return float(entry["items_per_second"])
    time = float(entry.get("real_time", 0))
    return 1.0 / time if time > 0 else None


def load_micro(directory):
    """{benchmark: {allocator: [throughput samples]}}, plus the files read."""
    samples = defaultdict(lambda: defaultdict(list))
    files = sorted(glob.glob(os.path.join(directory, "micro-*.json")))
    for path in files:
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"compare: skipping {path}: {e}", file=sys.stderr)
            continue
        entries = data.get("benchmarks", [])
        has_iterations = any(e.get("run_type") == "iteration" for e in entries)
        for e in entries:
            if e.get("error_occurred"):
                continue
            if has_iterations:
                if e.get("run_type") != "iteration":
                    continue
            elif e.get("aggregate_name") != "median":
                continue
            bench, allocator = split_name(e.get("run_name", e.get("name", "")))
            value = throughput(e)
            if value is not None:
                samples[bench][allocator].append(value)
    return samples, files


def ratio_text(a, b):
    return f"{a / b:6.2f}" if a and b else "     -"


def print_micro(samples, subject):
    allocators = sorted({a for per in samples.values() for a in per})
    others = [a for a in allocators if a != subject]
    head = f"{'benchmark':22}" + "".join(f"{a:>12}" for a in allocators)
    head += "".join(f"{subject + '/' + o:>18}" for o in others)
    print("median throughput, M items/s (n = samples)")
    print(head)
    medians = {}
    for bench in sorted(samples, key=sort_key):
        per = samples[bench]
        med = {a: statistics.median(v) for a, v in per.items() if v}
        medians[bench] = med
        row = f"{bench:22}"
        for a in allocators:
            row += f"{med[a] / 1e6:9.1f}({len(per[a]):d})" if a in med else f"{'-':>12}"
        for o in others:
            row += f"{ratio_text(med.get(subject), med.get(o)):>18}"
        print(row)
    return medians


def sort_key(bench):
    parts = bench.split("/")
    return [parts[0]] + [int(p) if p.isdigit() else 0 for p in parts[2:]]


def print_targets(medians, subject):
    """The issue's targets, as ratios from this run."""
    def ratios(prefix, ref, sizes=None):
        out = []
        for bench, med in medians.items():
            parts = bench.split("/")
            if parts[0] != prefix or subject not in med or ref not in med:
                continue
            if sizes and not (len(parts) > 2 and parts[2].isdigit() and int(parts[2]) in sizes):
                continue
            out.append((bench, med[subject] / med[ref]))
        return out

    small = {16, 32, 64, 128, 256, 512}
    print(f"\ntargets ({subject}, same run):")
    for ref in ("mimalloc", "jemalloc"):
        r = ratios("pair", ref, small) + ratios("batch", ref, small)
        if r:
            worst = min(r, key=lambda x: x[1])
            gmean = statistics.geometric_mean([x for _, x in r])
            verdict = "met" if worst[1] >= 1.0 else "NOT met"
            print(f"  1 thread 16-512 B vs {ref}: min {worst[1]:.2f} ({worst[0]}), "
                  f"geomean {gmean:.2f} -> {verdict} (target >= 1.0)")
    r = ratios("xthread", "mimalloc") + ratios("larson2", "mimalloc")
    if r:
        worst = min(r, key=lambda x: x[1])
        verdict = "met" if worst[1] >= 0.9 else "NOT met"
        print(f"  2 threads, cross-thread frees vs mimalloc: min {worst[1]:.2f} ({worst[0]}) "
              f"-> {verdict} (target >= 0.9)")


def print_rss(directory, subject):
    path = os.path.join(directory, "rss.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        runs = json.load(f).get("runs", [])
    by_workload = defaultdict(dict)
    for r in runs:
        by_workload[r["workload"]][r["allocator"]] = r
    print("\npeak RSS, MiB (ru_maxrss of the child; baseline = RSS before the workload)")
    for workload, per in by_workload.items():
        cells = "  ".join(f"{a} {r['peak_rss_kib'] / 1024:.1f}" for a, r in sorted(per.items()))
        line = f"  {workload:10} {cells}"
        refs = {a: r for a, r in per.items() if a in ("glibc", "jemalloc", "mimalloc", "tcmalloc")}
        if subject in per and refs:
            best = min(refs, key=lambda a: refs[a]["peak_rss_kib"])
            ratio = per[subject]["peak_rss_kib"] / refs[best]["peak_rss_kib"]
            verdict = "met" if ratio <= 1.1 else "NOT met"
            line += f"   {subject}/{best} (smallest) {ratio:.2f} -> {verdict} (target <= 1.1)"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--subject", default="slab")
    args = parser.parse_args()
    samples, files = load_micro(args.directory)
    if files:
        medians = print_micro(samples, args.subject)
        print_targets(medians, args.subject)
    print_rss(args.directory, args.subject)
    if not files and not os.path.exists(os.path.join(args.directory, "rss.json")):
        print(f"compare: no micro-*.json or rss.json in {args.directory}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
