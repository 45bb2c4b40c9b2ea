#!/usr/bin/env python3
"""Checks plot/stats.py against answers worked out by hand or from first
principles, then `allocmark compare` on synthetic runs whose truth is known.

    check_stats.py ALLOCMARK

Known answers:
  - the order-statistic interval of the median: its coverage is
    1 - 2 P(Binomial(n, 1/2) <= k - 1): 75 % for the range of 3, 93.75 % of
    5, 96.9 % of 6; for 10 values the widest 95 % interval is (x(2), x(9))
    at 97.85 %; for 20, (x(6), x(15)) at 95.86 %;
  - Mann-Whitney U: two fully separated samples of 3 give the smallest
    two-sided exact p-value, 2 / C(6, 3) = 0.1; of 6, 2 / C(12, 6) = 0.00216;
  - Holm and Benjamini-Hochberg on p = (0.01, 0.04, 0.03, 0.005): Holm
    (0.03, 0.06, 0.06, 0.02), BH (0.02, 0.04, 0.04, 0.02);
  - the geometric mean of 2 and 1/2 is 1;
  - coverage, by simulation: the 95 % interval of the median of 10 lognormal
    values holds the true median in 95-99 % of 2000 draws; the bootstrap
    interval of a ratio of medians (8 and 8 values) holds the true ratio in
    at least 88 % of 300 draws (a percentile bootstrap is a little narrow at
    so few values; the docs say so).
Then compare: an A/A pair of runs (same distribution, 3 % noise, 8
repetitions, 24 cells) must call at most 5 % of cells different; the same
run against one where one allocator is 10 % slower must call that
allocator's cells slower and no other cell different, and --fail-if-slower 5
must exit 1 there and 0 on the A/A pair.
"""

import csv
import json
import math
import os
import random
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "plot"))
sys.dont_write_bytecode = True  # keep the source tree clean
from interpreter import ensure_numpy_scipy  # noqa: E402

ensure_numpy_scipy()

import numpy as np  # noqa: E402

import stats  # noqa: E402
from checks import Checks, run  # noqa: E402

check = Checks()
close = lambda a, b, tol=1e-9: a is not None and abs(a - b) <= tol  # noqa: E731


def known_answers():
    for n, coverage in ((3, 0.75), (5, 0.9375), (6, 0.96875)):
        k, c = stats.order_statistic_ranks(n)
        check(k == 1 and close(c, coverage), "n=%d: range with coverage %g (got %d, %g)"
              % (n, coverage, k, c))
    k, c = stats.order_statistic_ranks(10)
    check(k == 2 and close(c, 1 - 2 * 11 / 1024), "n=10: (x(2), x(9)) at 97.85 %%: %d %g" % (k, c))
    k, c = stats.order_statistic_ranks(20)
    check(k == 6 and close(c, 0.9586105346679688), "n=20: (x(6), x(15)) at 95.86 %%: %d %g"
          % (k, c))
    e = stats.median_ci([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])
    check((e.value, e.low, e.high, e.n) == (5.5, 2.0, 9.0, 10),
          "median_ci of 1..10: 5.5 [2, 9] (got %s)" % stats.fmt(e))
    e = stats.median_ci([3.0])
    check(e.value == 3.0 and e.low is None and stats.fmt(e) == "3.00 [-]",
          "one value: a median, no interval")
    check(not stats.median_ci([]) and stats.fmt(stats.median_ci([])) == "-", "no value: '-'")

    check(close(stats.mann_whitney([1, 2, 3], [4, 5, 6]), 0.1), "MWU 3 vs 3 separated: 0.1")
    check(close(stats.mann_whitney(range(6), range(6, 12)), 2 / 924), "MWU 6 vs 6: 2/924")
    check(close(stats.smallest_p(3, 3), 0.1) and close(stats.smallest_p(8, 8), 2 / 12870),
          "smallest p: 2 / C(2n, n)")
    check(stats.mann_whitney([1], [2, 3]) is None, "MWU with one value: no test")

    p = [0.01, 0.04, 0.03, None, 0.005]
    check(all(close(a, b) if b is not None else a is None
              for a, b in zip(stats.holm(p), [0.03, 0.06, 0.06, None, 0.02])),
          "Holm: %s" % stats.holm(p))
    check(all(close(a, b) if b is not None else a is None
              for a, b in zip(stats.benjamini_hochberg(p), [0.02, 0.04, 0.04, None, 0.02])),
          "BH: %s" % stats.benjamini_hochberg(p))

    g = stats.geometric_mean_ci([2.0, 0.5])
    check(close(g.value, 1.0), "geometric mean of 2 and 1/2 is 1 (got %s)" % g.value)
    r = stats.ratio_ci([10, 10, 10], [15, 15, 15])
    check(close(r.value, 1.5) and close(r.low, 1.5) and close(r.high, 1.5),
          "ratio of constant samples: exactly 1.5")
    check(stats.fmt(stats.Estimate(1.4213, 1.3504, 1.4999, 0.95, 9)) == "1.42 [1.35, 1.50]",
          "the table format: 1.42 [1.35, 1.50]")
    check([stats.sig(v) for v in (0.001234, 45.67, 13456, 9.996)] ==
          ["0.00123", "45.7", "13500", "10.0"], "three significant digits, no exponent")


def coverage():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(2000):
        e = stats.median_ci(rng.lognormal(0.0, 0.1, 10))
        hits += e.low <= 1.0 <= e.high
    check(0.95 <= hits / 2000 <= 0.99, "median interval covers %.1f %% (95-99 %% expected)"
          % (100 * hits / 2000))
    hits = 0
    for _ in range(300):
        a = rng.lognormal(0.0, 0.05, 8)
        b = 1.2 * rng.lognormal(0.0, 0.05, 8)
        r = stats.ratio_ci(a, b)
        hits += r.low <= 1.2 <= r.high
    check(hits / 300 >= 0.88, "ratio interval covers %.1f %% (>= 88 %% expected)"
          % (100 * hits / 300))

    # The summary's interval. Two cells, each noisy (20 %), their ratios 1.07
    # and 1.12 by chance: the cells alone give [1.07, 1.12], which lies above
    # 1; with the repetitions' noise taken into account it must hold 1.
    a1, a2 = rng.lognormal(0.0, 0.2, 21), rng.lognormal(0.0, 0.2, 21)
    b1 = a1[rng.permutation(21)] * 1.07
    b2 = a2[rng.permutation(21)] * 1.12
    flat = stats.geometric_mean_ci([1.07, 1.12])
    nested = stats.geometric_mean_ci_nested([(a1, b1), (a2, b2)])
    check(flat.low > 1 and nested.low < 1 < nested.high and close(nested.value, flat.value),
          "two noisy cells: flat %s calls a difference, nested %s does not"
          % (stats.fmt(flat), stats.fmt(nested)))
    # No shift, 24 cells of 8 repetitions at 20 % noise: the interval holds 1
    # in at least 90 % of trials; a 10 % shift in every cell is found.
    holds, found = 0, 0
    for _ in range(40):
        same = [(rng.lognormal(0, 0.2, 8), rng.lognormal(0, 0.2, 8)) for _ in range(24)]
        e = stats.geometric_mean_ci_nested(same)
        holds += e.low <= 1 <= e.high
        slow = [(rng.lognormal(0, 0.2, 8), 0.9 * rng.lognormal(0, 0.2, 8)) for _ in range(24)]
        found += stats.geometric_mean_ci_nested(slow).high < 1
    check(holds >= 36 and found >= 36, "nested geometric mean: holds 1 in %d of 40 A/A "
          "trials, finds a 10 %% shift in %d of 40" % (holds, found))
    e = stats.geometric_mean_ci_nested([([1, 1, 1], [2, 2, 2])])
    check(close(e.value, 2.0) and e.low is None, "one cell: its ratio, no interval")


def write_run(path, seed, slow=None, reps=8, noise=0.03, aa_slow=None, programs=()):
    """A run directory with cells.csv (and metadata.json) only: 4 allocators
    x 3 workloads x 2 thread counts, `reps` repetitions each, lognormal noise;
    `slow` names an allocator whose throughput is 10 % lower. With aa_slow,
    an --aa run: every allocator twice (the second labelled NAME#2), the
    second copy of aa_slow 10 % slower. `programs` adds program cells (kind
    program: a throughput in runs/s, no ops/s), slowed the same way."""
    rng = random.Random(seed)
    os.makedirs(path)
    allocators = ["glibc", "jemalloc", "mimalloc", "delay-test"]
    workloads = ["churn", "larson", "bintree"]
    with open(os.path.join(path, "cells.csv"), "w", newline="") as f:
        f.write("# allocmark run (synthetic)\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["allocator", "label", "workload", "threads", "rep", "status", "reason",
                    "ops_per_sec", "peak_rss_bytes", "kind", "throughput"])
        cells = [(wl, t) for wl in workloads for t in (1, 2)] + [(p, "") for p in programs]
        for rep in range(1, reps + 1):
            for workload, threads in cells:
                for k, a in enumerate(allocators):
                    for copy in ("", "#2") if aa_slow else ("",):
                        slower = a == slow or (a == aa_slow and copy)
                        speed = (1 + k) * (0.9 if slower else 1.0) * math.exp(rng.gauss(0, noise))
                        rss = str(int(3e7 * math.exp(rng.gauss(0, noise))))
                        if threads:
                            w.writerow([a, a + copy, workload, threads, rep, "ok", "",
                                        "%.1f" % (1e7 * threads * speed), rss, "workload", ""])
                        else:
                            w.writerow([a, a + copy, workload, "", rep, "ok", "", "", rss,
                                        "program", "%.5f" % (0.5 * speed)])
    with open(os.path.join(path, "metadata.json"), "w") as f:
        json.dump({"reps": reps, "profile": "quick", "allocators": [
            {"name": a} for a in allocators]}, f)


def verdicts(output):
    """{(allocator, workload, threads): line} from compare's table, which
    runs from its header to the first blank line."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("allocator")), len(lines))
    out = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        parts = line.split()
        out[(parts[0], parts[1], parts[2])] = line
    return out


def compare_runs(allocmark):
    tmp = tempfile.mkdtemp(prefix="allocmark-stats-")
    try:
        a, b, slow = (os.path.join(tmp, n) for n in ("a", "b", "slow"))
        write_run(a, 1)
        write_run(b, 2)
        write_run(slow, 3, slow="delay-test")
        p = run(allocmark, "compare", a, b)
        table = verdicts(p.stdout)
        moved = [k for k, line in table.items() if not line.endswith("no detectable difference")]
        check(p.returncode == 0 and len(table) == 24, "A/A compare: 24 cells, exit 0")
        check(len(moved) <= 0.05 * len(table), "A/A: at most 5 %% of cells differ: %s" % moved)
        check("0 of 24 cells tested moved" in p.stdout or len(moved) <= 1,
              "the summary counts the cells that moved")
        check("Geometric mean of B/A" in p.stdout, "the summary gives the geometric mean")
        check("Over all cells: no detectable difference" in p.stdout,
              "A/A: no difference over all cells either")
        p = run(allocmark, "compare", a, b, "--fail-if-slower", "5")
        check(p.returncode == 0, "--fail-if-slower 5 on A/A exits 0")

        for correction in ("holm", "bh"):
            p = run(allocmark, "compare", a, slow, "--correction", correction)
            table = verdicts(p.stdout)
            wrong = []
            for key, line in table.items():
                if key[0] == "delay-test":
                    check(line.endswith("slower"), "%s: 10 %% slower is found (%s): %s"
                          % (correction, key, line))
                elif not line.endswith("no detectable difference"):
                    wrong.append(line)
            # Holm bounds the chance of any false call; Benjamini-Hochberg
            # the share of false calls among those made (one here is 1/7).
            check(len(wrong) <= (0 if correction == "holm" else 0.05 * len(table)),
                  "%s: unchanged cells called different: %s" % (correction, wrong))
        check("Over all cells: B is slower" in p.stdout,
              "one allocator of four 10 % slower: slower over all cells")
        p = run(allocmark, "compare", a, slow, "--fail-if-slower", "5")
        check(p.returncode == 1 and "delay-test" in p.stdout.splitlines()[-1],
              "--fail-if-slower 5 exits 1 naming the slower cells")
        p = run(allocmark, "compare", a, slow, "--fail-if-slower", "20")
        check(p.returncode == 0, "--fail-if-slower 20: a 10 % slowdown passes")

        # compare --aa: one run holding both copies (NAME#2 the second).
        aa = os.path.join(tmp, "aa")
        write_run(aa, 5, aa_slow="delay-test")
        p = run(allocmark, "compare", "--aa", aa)
        table = verdicts(p.stdout)
        check(len(table) == 24 and all(line.endswith("slower") == (key[0] == "delay-test#2")
                                       for key, line in table.items()),
              "compare --aa: only the slowed second copy is slower: %s" % list(table.items())[:3])
        p = run(allocmark, "compare", "--aa", a)
        check(p.returncode == 2 and "not a run of `allocmark run --aa`" in p.stderr,
              "compare --aa on a run without second copies exits 2")
        p = run(allocmark, "compare", a)
        check(p.returncode == 2, "compare with one run and no --aa exits 2")

        few = os.path.join(tmp, "few")
        write_run(few, 4, slow="delay-test", reps=3)
        p = run(allocmark, "compare", few, few)
        check("no cell can be called different" in p.stdout,
              "with 3 repetitions compare says no difference can be detected")
        # Program cells: compared on their throughput, threads shown as -.
        pa, pslow, paa = (os.path.join(tmp, n) for n in ("pa", "pslow", "paa"))
        write_run(pa, 6, programs=("lua5.4", "perl"))
        write_run(pslow, 7, slow="delay-test", programs=("lua5.4", "perl"))
        table = verdicts(run(allocmark, "compare", pa, pslow).stdout)
        progs = {k: line for k, line in table.items() if k[2] == "-"}
        check(len(table) == 32 and len(progs) == 8, "programs are compared too: %d cells, "
              "%d programs" % (len(table), len(progs)))
        check(all(line.endswith("slower") == (k[0] == "delay-test") for k, line in progs.items()),
              "a program 10 %% slower is found, no other: %s" % list(progs.values()))
        write_run(paa, 8, aa_slow="delay-test", programs=("lua5.4",))
        table = verdicts(run(allocmark, "compare", "--aa", paa).stdout)
        check(len(table) == 28 and table[("delay-test#2", "lua5.4", "-")].endswith("slower")
              and table[("glibc#2", "lua5.4", "-")].endswith("no detectable difference"),
              "compare --aa pairs the programs' copies: %s" % [
                  line for k, line in table.items() if k[2] == "-"])

        p = run(allocmark, "compare", a, b, "--alpha", "2")
        check(p.returncode == 2 and "--alpha" in p.stderr, "a bad --alpha exits 2")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    known_answers()
    coverage()
    compare_runs(sys.argv[1])
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
