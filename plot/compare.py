"""allocmark compare RUN_A RUN_B: for each cell (allocator, workload,
threads) in both runs, the ratio B/A of the median throughput with its 95 %
confidence interval, a Mann-Whitney U test of the two cells' repetitions
with its p-value corrected for the number of cells compared (Holm, or
Benjamini-Hochberg), and a verdict: faster, slower, or no detectable
difference. The summary counts the verdicts and gives the geometric mean of
the ratios with its interval. stats.py says how each number is computed."""

import stats
from results import Run, RunError

NO_DIFFERENCE = "no detectable difference"


PROGRAM = "-"  # the threads field of a program cell's key


def cells_of(run):
    """Every cell of a run by key: workload cells (allocator, workload,
    threads), then program cells (allocator, program, "-")."""
    cells = dict(run.cells)
    for (allocator, program), cell in run.programs.items():
        cells[(allocator, program, PROGRAM)] = cell
    return cells


def metric_of(key, metric):
    """A program cell's throughput is the program's own figure of merit or
    1 / wall time (cells.csv's `throughput`), its ops_per_sec empty."""
    return "throughput" if key[2] == PROGRAM and metric == "ops_per_sec" else metric


def compare_cells(run_a, run_b, metric, correction, alpha):
    """One dict per cell of either run, A's order first: its key, the two
    cells, the ratio B/A (an Estimate), the raw and corrected p-values and
    the verdict (or why there is none)."""
    cells_a, cells_b = cells_of(run_a), cells_of(run_b)
    keys = list(cells_a) + [k for k in cells_b if k not in cells_a]
    # The plan's order (workload, threads, allocator), not the order the
    # cells happened to run in (shuffled, with --order interleaved); the
    # programs after the workloads, by name.
    full = getattr(run_a, "run", run_a)
    workloads, allocators = full.ordered("workload"), full.ordered("allocator")
    place = lambda xs, x: xs.index(x) if x in xs else len(xs)  # noqa: E731
    keys.sort(key=lambda k: (k[2] == PROGRAM, place(workloads, k[1]), k[1],
                             str(k[2]).zfill(4), place(allocators, k[0]), k[0]))
    rows = []
    for key in keys:
        a, b = cells_a.get(key), cells_b.get(key)
        m = metric_of(key, metric)
        row = {"key": key, "a": a, "b": b, "ratio": stats.NONE, "p": None, "p_adj": None,
               "metric": m}
        if a is None or b is None:
            row["verdict"] = "only in " + ("B" if a is None else "A")
        elif a.failed or b.failed:
            row["verdict"] = "; ".join("failed in %s: %s" % (n, c.failure_text())
                                       for n, c in (("A", a), ("B", b)) if c.failed)
        elif not a.values(m) or not b.values(m):
            row["verdict"] = "no %s" % m
        else:
            row["ratio"] = stats.ratio_ci(a.values(m), b.values(m))
            row["p"] = stats.mann_whitney(a.values(m), b.values(m))
            row["verdict"] = None if row["p"] is not None else \
                "unknown (1 repetition: no test)"
        rows.append(row)
    adjusted = stats.CORRECTIONS[correction]([r["p"] for r in rows])
    for row, p_adj in zip(rows, adjusted):
        row["p_adj"] = p_adj
        if row["verdict"] is None:
            if p_adj < alpha:
                row["verdict"] = "faster" if row["ratio"].value > 1 else "slower"
            else:
                row["verdict"] = NO_DIFFERENCE
    return rows


def p_text(p):
    if p is None:
        return "-"
    return "%.2g" % p if p < 0.01 else "%.3f" % p


def main(path_a, path_b, out, metric="ops_per_sec", correction="holm", alpha=0.05,
         fail_if_slower=None, aa=False):
    """Compare run B against run A; with aa, path_b is None and path_a an
    `allocmark run --aa` run whose second copies (NAME#2) are B."""
    if aa:
        run = Run(path_a)
        run_a, run_b = run.split_aa()
        if not run_b.cells and not run_b.programs:
            raise RunError("%s: no second copies (NAME#2): not a run of `allocmark run --aa`"
                           % path_a)
        path_b = path_a
    else:
        run_a, run_b = Run(path_a), Run(path_b)
    out.write("A: %s (%s)\nB: %s (%s)\n\n" % (path_a, run_a.footer(), path_b, run_b.footer()))
    rows = compare_cells(run_a, run_b, metric, correction, alpha)
    header = ["allocator", "workload", "threads", "A [95% CI]", "B [95% CI]",
              "B/A [95% CI]", "p", "p adj.", "RSS B/A", "verdict"]
    table = []
    for r in rows:
        a, b, m = r["a"], r["b"], r["metric"]
        ok = lambda c: c is not None and not c.failed  # noqa: E731
        rss = stats.ratio_ci(a.values("peak_rss_bytes"), b.values("peak_rss_bytes")) \
            if ok(a) and ok(b) else stats.NONE
        # Workloads' ops/s in millions; a program's throughput as it is.
        scale = 1e6 if m == "ops_per_sec" else 1.0
        table.append([
            (b or a).label, r["key"][1], str(r["key"][2]),
            stats.fmt(a.estimate(m), scale=scale) if ok(a) else "-",
            stats.fmt(b.estimate(m), scale=scale) if ok(b) else "-",
            stats.fmt(r["ratio"]), p_text(r["p"]), p_text(r["p_adj"]),
            stats.sig(rss.value) if rss else "-", r["verdict"]])
    widths = [max(len(t[i]) for t in table + [header]) for i in range(len(header))]
    for t in [header] + table:
        out.write("  ".join(c.ljust(w) if i < 3 or i == len(t) - 1 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(t, widths))).rstrip() + "\n")

    tested = [r for r in rows if r["p"] is not None]
    counts = {}
    for r in rows:
        word = "failed" if r["verdict"].startswith("failed") else r["verdict"]
        counts[word] = counts.get(word, 0) + 1
    what = metric
    if any(r["metric"] != metric for r in rows):
        what = "%s (workloads, in millions) and of throughput (programs, marked - in the " \
            "threads column: the program's own figure of merit or 1 / wall time)" % metric
    elif metric == "ops_per_sec":
        what += " (in millions)"
    out.write("\nB/A: the ratio of the medians of %s (above 1: B is faster), its interval "
              "from a bootstrap of both cells' repetitions. p: two-sided Mann-Whitney U; "
              "p adj.: corrected for the %d cells tested (%s); a cell is faster or slower "
              "when p adj. < %g.\n" % (what, len(tested), {
                  "holm": "Holm", "bh": "Benjamini-Hochberg"}[correction], alpha))
    if tested:
        floor = min(stats.smallest_p(len(r["a"].values(r["metric"])),
                                     len(r["b"].values(r["metric"]))) for r in tested)
        if floor >= alpha or (correction == "holm" and floor * len(tested) >= alpha):
            out.write("With these repetitions no cell can be called different: the smallest "
                      "p-value Mann-Whitney can give is %.3g%s. Run both with more "
                      "repetitions (-r 8, or --precision).\n" % (
                          floor, ", before the correction for %d cells" % len(tested)
                          if floor < alpha else ""))
    moved = counts.get("faster", 0) + counts.get("slower", 0)
    out.write("\n%d of %d cells tested moved: %s.\n" % (
        moved, len(tested), ", ".join("%d %s" % (n, w) for w, n in sorted(counts.items()))))
    gm = stats.geometric_mean_ci_nested([(r["a"].values(r["metric"]), r["b"].values(r["metric"]))
                                         for r in tested if r["ratio"]])
    if gm:
        out.write("Geometric mean of B/A over those cells: %s (interval: the wider of "
                  "bootstraps over the cells and over their repetitions).\n" % stats.fmt(gm))
        # One test over every cell: a shift too small for any one cell's
        # repetitions to show can still move the whole set (docs/statistics.md).
        if gm.low is not None and gm.high is not None and len(tested) >= 2:
            if gm.high < 1 or gm.low > 1:
                out.write("Over all cells: B is %s (the geometric mean's interval lies %s "
                          "1).\n" % (("slower", "below") if gm.high < 1 else ("faster", "above")))
            else:
                out.write("Over all cells: no detectable difference (the geometric mean's "
                          "interval holds 1).\n")
    if fail_if_slower is not None:
        limit = 1 - fail_if_slower / 100.0
        slower = [r for r in rows if r["verdict"] == "slower" and r["ratio"].value < limit]
        if slower:
            out.write("--fail-if-slower %g: %d cell%s slower by more than %g %%: %s\n" % (
                fail_if_slower, len(slower), "" if len(slower) == 1 else "s", fail_if_slower,
                ", ".join("%s/%s/%s (%s)" % (r["key"] + (stats.sig(r["ratio"].value),))
                          for r in slower)))
            return 1
        out.write("--fail-if-slower %g: no cell is slower by more than that.\n"
                  % fail_if_slower)
    return 0
