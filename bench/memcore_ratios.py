#!/usr/bin/env python3
"""Print memcore's ratio tables from a memcore-bench JSON file.

    bench/memcore_ratios.py results/memcore/<date>.json

For each operation (memcpy, memset) and alignment, one row per size: the
median rates of glibc and of the dispatched entry in GB/s (10^9 bytes per
second), every contender's rate as a ratio to glibc's, and the dispatched
entry as a share of the best rate any contender reached at that size (the
ceiling this machine showed). Medians come from the file's "median"
aggregates, or are computed from the repetitions when the file has none.
Python standard library only.
"""
import json
import re
import statistics
import sys
from collections import defaultdict

SUFFIX = re.compile(r"/(min_time|repeats|iterations):[^/]*")


def load(path):
    """{(op, align): {size: {contender: GB/s}}} and the file's context."""
    with open(path) as f:
        data = json.load(f)
    medians, samples = {}, defaultdict(list)
    for b in data["benchmarks"]:
        name = SUFFIX.sub("", b.get("run_name", b["name"]))
        parts = name.split("/")
        if len(parts) != 4 or "bytes_per_second" not in b:
            continue
        key = tuple(parts)
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = b["bytes_per_second"] / 1e9
        else:
            samples[key].append(b["bytes_per_second"] / 1e9)
    for key, values in samples.items():
        medians.setdefault(key, statistics.median(values))
    table = defaultdict(lambda: defaultdict(dict))
    order = []
    for (op, contender, align, size), rate in medians.items():
        table[(op, align)][int(size)][contender] = rate
        if contender not in order:
            order.append(contender)
    return table, order, data.get("context", {})


def size_text(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


# Columns in this order; contenders the file has beyond these follow.
ORDER = ["dispatch", "avx512", "avx2", "sse2", "erms", "words", "bytes"]


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    table, seen, context = load(args[0])
    ratio_of = [c for c in ORDER if c in seen] + [
        c for c in seen if c not in ORDER and c != "glibc"]
    for key in ("memcore", "command", "glibc", "date", "host_name"):
        if key in context:
            print(f"# {key}: {context[key]}")
    for (op, align) in sorted(table):
        rows = table[(op, align)]
        print(f"\n## {op}, {align}: median GB/s of glibc and of the dispatched "
              "entry, then each contender / glibc, then dispatch / the best "
              "contender at that size")
        head = ["size", "glibc", "dispatch"] + ratio_of + ["of best"]
        print(" ".join(f"{h:>9}" for h in head))
        for size in sorted(rows):
            rates = rows[size]
            glibc = rates.get("glibc")
            best = max(rates.values())
            cells = [size_text(size)]
            cells += [f"{rates[c]:.1f}" if c in rates else "-" for c in ("glibc", "dispatch")]
            cells += [f"{rates[c] / glibc:.2f}" if glibc and c in rates else "-"
                      for c in ratio_of]
            cells.append(f"{rates['dispatch'] / best:.0%}" if "dispatch" in rates else "-")
            print(" ".join(f"{c:>9}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
