#!/usr/bin/env python3
"""Print memcore's ratio tables from a memcore-bench JSON file.

    bench/memcore_ratios.py results/memcore/<date>.json

    bench/memcore_ratios.py FILE.json [FILE.json ...]    (later files win)

For each operation (memcpy, memset) and alignment, one row per size: the
median rates of glibc and of the dispatched entry in GB/s (10^9 bytes per
second), every contender's rate as a ratio to glibc's, the dispatched entry
as a share of the best rate any contender reached at that size (the ceiling
this machine showed), and the spread: the largest (q3 - q1) / median of
glibc, the dispatched entry and our best variant at that size. Medians and
quartiles come from the file's aggregates ("median", "q1", "q3"), or are
computed from the repetitions when the file has none.

Then the targets (issue 15): at every point the dispatched entry at least
1.0 x glibc and at least 0.95 x the best of our variants (avx512, avx2, sse2,
erms); the points that miss, with their spread, and a --sizes list to
measure them again. Given several files (a full run, then reruns of some
points), a point's numbers come from the last file that has it.
Python standard library only.
"""
import json
import re
import statistics
import sys
from collections import defaultdict

SUFFIX = re.compile(r"/(min_time|repeats|iterations):[^/]*")


def quartiles(values):
    """(q1, median, q3), interpolated as memcore-bench computes them."""
    v = sorted(values)

    def at(q):
        x = q * (len(v) - 1)
        lo = int(x)
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (x - lo)
    return at(0.25), at(0.5), at(0.75)


def load_one(path):
    """{(op, contender, align, size): (q1, median, q3) in GB/s}, context."""
    with open(path) as f:
        data = json.load(f)
    aggs, samples = defaultdict(dict), defaultdict(list)
    for b in data["benchmarks"]:
        name = SUFFIX.sub("", b.get("run_name", b["name"]))
        parts = name.split("/")
        if len(parts) != 4 or "bytes_per_second" not in b:
            continue
        key = tuple(parts)
        if b.get("run_type") == "aggregate":
            aggs[key][b.get("aggregate_name")] = b["bytes_per_second"] / 1e9
        else:
            samples[key].append(b["bytes_per_second"] / 1e9)
    out = {}
    for key in set(aggs) | set(samples):
        a = aggs.get(key, {})
        if "median" in a:
            med = a["median"]
            out[key] = (a.get("q1", med), med, a.get("q3", med))
        elif samples.get(key):
            out[key] = quartiles(samples[key])
    return out, data.get("context", {})


def load(paths):
    """{(op, align): {size: {contender: (q1, median, q3)}}}, the contenders
    in order of appearance, and the last file's context."""
    points, context = {}, {}
    for path in paths:
        more, context = load_one(path)
        points.update(more)
    table = defaultdict(lambda: defaultdict(dict))
    order = []
    for (op, contender, align, size), q in points.items():
        table[(op, align)][int(size)][contender] = q
        if contender not in order:
            order.append(contender)
    return table, order, context


def size_text(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


# Columns in this order; contenders the file has beyond these follow.
ORDER = ["dispatch", "avx512", "avx2", "sse2", "erms", "words", "bytes"]
# Our variants: the dispatched entry should reach 0.95 of the best of them.
VARIANTS = ["avx512", "avx2", "sse2", "erms"]
GLIBC_TARGET, BEST_TARGET = 1.0, 0.95


def spread(q):
    q1, med, q3 = q
    return (q3 - q1) / med if med else 0.0


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if not args:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    table, seen, context = load(args)
    ratio_of = [c for c in ORDER if c in seen] + [
        c for c in seen if c not in ORDER and c != "glibc"]
    for key in ("memcore", "command", "glibc", "date", "host_name"):
        if key in context:
            print(f"# {key}: {context[key]}")
    misses, checked = [], 0
    for (op, align) in sorted(table):
        rows = table[(op, align)]
        print(f"\n## {op}, {align}: median GB/s of glibc and of the dispatched "
              "entry, then each contender / glibc, then dispatch / the best "
              "contender at that size, then the spread")
        head = ["size", "glibc", "dispatch"] + ratio_of + ["of best", "spread"]
        print(" ".join(f"{h:>9}" for h in head))
        for size in sorted(rows):
            q = rows[size]
            rates = {c: v[1] for c, v in q.items()}
            glibc = rates.get("glibc")
            best = max(rates.values())
            ours = [c for c in VARIANTS if c in rates]
            best_ours = max(ours, key=lambda c: rates[c]) if ours else None
            noisy = [spread(q[c]) for c in ("glibc", "dispatch", best_ours) if c in q]
            cells = [size_text(size)]
            cells += [f"{rates[c]:.1f}" if c in rates else "-" for c in ("glibc", "dispatch")]
            cells += [f"{rates[c] / glibc:.2f}" if glibc and c in rates else "-"
                      for c in ratio_of]
            cells.append(f"{rates['dispatch'] / best:.0%}" if "dispatch" in rates else "-")
            cells.append(f"{max(noisy):.0%}" if noisy else "-")
            print(" ".join(f"{c:>9}" for c in cells))
            if "dispatch" not in rates or not glibc or not best_ours:
                continue
            checked += 1
            vs_glibc = rates["dispatch"] / glibc
            vs_ours = rates["dispatch"] / rates[best_ours]
            if vs_glibc < GLIBC_TARGET or vs_ours < BEST_TARGET:
                misses.append((op, align, size, vs_glibc, vs_ours, best_ours, max(noisy)))
    print(f"\n## targets: dispatch >= {GLIBC_TARGET} x glibc and >= {BEST_TARGET} x our best "
          f"variant at every point: {checked - len(misses)} of {checked} points met")
    for op, align, size, vs_glibc, vs_ours, best_ours, noise in misses:
        print(f"  miss {op}/{align}/{size_text(size)}: {vs_glibc:.2f} x glibc, "
              f"{vs_ours:.2f} x {best_ours} (spread {noise:.0%})")
    if misses:
        sizes = sorted({m[2] for m in misses})
        print("  measure again: memcore-bench --sizes=" + ",".join(map(str, sizes)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
