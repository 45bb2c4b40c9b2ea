#!/usr/bin/env python3
"""bench-dropin.py: ns per malloc/free pair, a backend through the harness
against the same backend as an LD_PRELOAD drop-in, with mimalloc, jemalloc
and glibc called the same way, all in one run.

    python3 scripts/bench-dropin.py [--build=build] [--backends=slab,firstfit]
                                    [--rounds=5] [--min-time=0.2] [--json=FILE]

Per round, in an order that rotates: allocmark-micro's pair/B/SIZE for each
backend B (am_malloc/am_free on an opened heap, the harness path), then
dropin-bench (plain malloc/free through the PLT) with B's drop-in preloaded,
with libmimalloc and libjemalloc preloaded, and on glibc. Each cell is the
median over rounds of Google Benchmark's CPU time per iteration (one
malloc, two byte writes, one free); the spread is (max - min) / median.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SIZES = [16, 64, 256, 512]
REFERENCES = {
    "mimalloc": "libmimalloc.so.2",
    "jemalloc": "libjemalloc.so.2",
    "glibc": None,
}


def read_times(path, prefix):
    """{size: cpu ns per iteration} from a Google Benchmark JSON file."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if not name.startswith(prefix) or b.get("run_type") == "aggregate":
            continue
        size = int(name[len(prefix):].split("/")[0])
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        out[size] = b["cpu_time"] * scale
    return out


def run(argv, env_preload=None):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if env_preload:
        env["LD_PRELOAD"] = env_preload
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("bench-dropin: %s failed (exit %d): %s" % (" ".join(argv), r.returncode,
                                                            r.stderr[-500:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--backends", default="slab")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-time", default="0.2")
    ap.add_argument("--json", help="write every measurement here")
    o = ap.parse_args()
    micro = os.path.join(o.build, "bench", "allocmark-micro")
    bench = os.path.join(o.build, "bench", "dropin-bench")
    backends = o.backends.split(",")
    sizes = "|".join(str(s) for s in SIZES)
    for b in backends:
        lib = os.path.join(o.build, "allocators", b, "libam-%s.so" % b)
        if not os.path.exists(lib):
            sys.exit("bench-dropin: no drop-in %s (valid backends: those under %s/allocators "
                     "with a libam-NAME.so)" % (lib, o.build))
    columns = []  # (label, kind, arg)
    for b in backends:
        columns.append(("%s harness" % b, "harness", b))
        columns.append(("%s drop-in" % b, "dropin",
                        os.path.abspath(os.path.join(o.build, "allocators", b, "libam-%s.so" % b))))
    for name, lib in REFERENCES.items():
        columns.append((name, "dropin", lib))
    samples = {c[0]: {s: [] for s in SIZES} for c in columns}
    gb = ["--benchmark_min_time=%s" % o.min_time]
    with tempfile.TemporaryDirectory(prefix="am-dropin-bench-") as tmp:
        for r in range(o.rounds):
            order = columns[r % len(columns):] + columns[:r % len(columns)]
            for label, kind, arg in order:
                if kind == "harness":
                    out = os.path.join(tmp, "h")
                    run([micro, "--allocators=" + arg, "--out=" + out, "--rounds=1",
                         "--benchmark_filter=^pair/%s/(%s)$" % (arg, sizes)] + gb)
                    times = read_times(os.path.join(out, "micro-%s.json" % arg), "pair/%s/" % arg)
                else:
                    out = os.path.join(tmp, "d.json")
                    run([bench, "--benchmark_out=" + out, "--benchmark_out_format=json"] + gb, arg)
                    times = read_times(out, "pair/")
                for s in SIZES:
                    samples[label][s].append(times[s])
            print("round %d of %d done" % (r + 1, o.rounds), file=sys.stderr)
    if o.json:
        with open(o.json, "w") as f:
            json.dump(samples, f, indent=1)
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print("ns per malloc/free pair (median CPU time of %d rounds; spread in %%), %s"
          % (o.rounds, cpu))
    head = "%-6s" % "size" + "".join(" %20s" % c[0] for c in columns)
    for b in backends:
        head += " %14s" % ("%s +ns" % b)
    print(head)
    for s in SIZES:
        line = "%-6d" % s
        med = {}
        for label, _, _ in columns:
            v = samples[label][s]
            med[label] = statistics.median(v)
            spread = (max(v) - min(v)) / med[label] * 100 if med[label] else 0
            line += " %13.2f (%3.0f%%)" % (med[label], spread)
        for b in backends:
            line += " %14.2f" % (med["%s drop-in" % b] - med["%s harness" % b])
        print(line)
    print("+ns: the drop-in's median minus the harness path's (the target is at most 1 ns)")


if __name__ == "__main__":
    main()
