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


def compare_cells(run_a, run_b, metric, correction, alpha):
    """One dict per cell of either run, A's order first: its key, the two
    cells, the ratio B/A (an Estimate), the raw and corrected p-values and
    the verdict (or why there is none)."""
    keys = list(run_a.cells) + [k for k in run_b.cells if k not in run_a.cells]
    # The plan's order (workload, threads, allocator), not the order the
    # cells happened to run in (shuffled, with --order interleaved).
    full = getattr(run_a, "run", run_a)
    workloads, allocators = full.ordered("workload"), full.ordered("allocator")
    place = lambda xs, x: xs.index(x) if x in xs else len(xs)  # noqa: E731
    keys.sort(key=lambda k: (place(workloads, k[1]), k[2], place(allocators, k[0])))
    rows = []
    for key in keys:
        a, b = run_a.cells.get(key), run_b.cells.get(key)
        row = {"key": key, "a": a, "b": b, "ratio": stats.NONE, "p": None, "p_adj": None}
        if a is None or b is None:
            row["verdict"] = "only in " + ("B" if a is None else "A")
        elif a.failed or b.failed:
            row["verdict"] = "; ".join("failed in %s: %s" % (n, c.failure_text())
                                       for n, c in (("A", a), ("B", b)) if c.failed)
        elif not a.values(metric) or not b.values(metric):
            row["verdict"] = "no %s" % metric
        else:
            row["ratio"] = stats.ratio_ci(a.values(metric), b.values(metric))
            row["p"] = stats.mann_whitney(a.values(metric), b.values(metric))
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
        if not run_b.cells:
            raise RunError("%s: no second copies (NAME#2): not a run of `allocmark run --aa`"
                           % path_a)
        path_b = path_a
    else:
        run_a, run_b = Run(path_a), Run(path_b)
    out.write("A: %s (%s)\nB: %s (%s)\n\n" % (path_a, run_a.footer(), path_b, run_b.footer()))
    rows = compare_cells(run_a, run_b, metric, correction, alpha)
    header = ["allocator", "workload", "threads", "A Mops/s [95% CI]", "B Mops/s [95% CI]",
              "B/A [95% CI]", "p", "p adj.", "RSS B/A", "verdict"]
    table = []
    for r in rows:
        a, b = r["a"], r["b"]
        ok = lambda c: c is not None and not c.failed  # noqa: E731
        rss = stats.ratio_ci(a.values("peak_rss_bytes"), b.values("peak_rss_bytes")) \
            if ok(a) and ok(b) else stats.NONE
        table.append([
            (b or a).label, r["key"][1], str(r["key"][2]),
            stats.fmt(a.estimate(metric), scale=1e6) if ok(a) else "-",
            stats.fmt(b.estimate(metric), scale=1e6) if ok(b) else "-",
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
    out.write("\nB/A: the ratio of the medians of %s (above 1: B is faster), its interval "
              "from a bootstrap of both cells' repetitions. p: two-sided Mann-Whitney U; "
              "p adj.: corrected for the %d cells tested (%s); a cell is faster or slower "
              "when p adj. < %g.\n" % (metric, len(tested), {
                  "holm": "Holm", "bh": "Benjamini-Hochberg"}[correction], alpha))
    if tested:
        floor = min(stats.smallest_p(len(r["a"].values(metric)), len(r["b"].values(metric)))
                    for r in tested)
        if floor >= alpha or (correction == "holm" and floor * len(tested) >= alpha):
            out.write("With these repetitions no cell can be called different: the smallest "
                      "p-value Mann-Whitney can give is %.3g%s. Run both with more "
                      "repetitions (-r 8, or --precision).\n" % (
                          floor, ", before the correction for %d cells" % len(tested)
                          if floor < alpha else ""))
    moved = counts.get("faster", 0) + counts.get("slower", 0)
    out.write("\n%d of %d cells tested moved: %s.\n" % (
        moved, len(tested), ", ".join("%d %s" % (n, w) for w, n in sorted(counts.items()))))
    gm = stats.geometric_mean_ci([r["ratio"].value for r in tested if r["ratio"]])
    if gm:
        out.write("Geometric mean of B/A over those cells: %s (interval: bootstrap over the "
                  "cells).\n" % stats.fmt(gm))
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
