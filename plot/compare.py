"""allocmark compare RUN_A RUN_B: for each cell (allocator, workload,
threads) the ratio B/A of median throughput, each run's spread across
repetitions, and whether the difference exceeds that spread."""

from results import Run

WITHIN = "within noise"


def verdict(a, b):
    """Compare two cells' ops/s. The difference of the medians counts when it
    exceeds the combined run-to-run spread: half of A's range (max - min over
    its repetitions) plus half of B's."""
    if a is None or b is None:
        return None, "only in " + ("B" if a is None else "A")
    if a.failed or b.failed:
        sides = [("A", a), ("B", b)]
        return None, "; ".join("failed in %s: %s" % (n, c.failure_text()) for n, c in sides
                               if c.failed)
    sa, sb = a.spread("ops_per_sec"), b.spread("ops_per_sec")
    if not sa or not sb or not sa.median:
        return None, "no ops/s"
    ratio = sb.median / sa.median
    if sa.n < 2 or sb.n < 2:
        return ratio, "unknown (1 rep: no spread)"
    noise = (sa.max - sa.min) / 2 + (sb.max - sb.min) / 2
    diff = sb.median - sa.median
    if abs(diff) <= noise:
        return ratio, WITHIN
    return ratio, "faster" if diff > 0 else "slower"


def spread_pct(cell):
    if cell is None or cell.failed:
        return "-"
    spread = cell.spread("ops_per_sec")
    rel = spread.relative()
    return "%.1f%%" % (100 * rel) if rel is not None else "1 rep"


def ratio_text(r):
    """Three decimals, or two significant digits below 0.01 (never 0.000)."""
    if r is None:
        return "-"
    return "%.3f" % r if r >= 0.0095 else "%.2g" % r


def median_text(cell, metric, scale=1.0, fmt="%.4g"):
    if cell is None or cell.failed:
        return "-"
    m = cell.spread(metric).median
    return fmt % (m / scale) if m is not None else "-"


def table(run_a, run_b):
    """Rows of the comparison: A's cells in A's order, then those only in B."""
    keys = list(run_a.cells) + [k for k in run_b.cells if k not in run_a.cells]
    rows = []
    for key in keys:
        a, b = run_a.cells.get(key), run_b.cells.get(key)
        ratio, word = verdict(a, b)
        rss_a = a.spread("peak_rss_bytes").median if a and not a.failed else None
        rss_b = b.spread("peak_rss_bytes").median if b and not b.failed else None
        rows.append([
            (b or a).label, key[1], str(key[2]),
            median_text(a, "ops_per_sec", 1e6), spread_pct(a),
            median_text(b, "ops_per_sec", 1e6), spread_pct(b),
            ratio_text(ratio),
            ratio_text(rss_b / rss_a if rss_a and rss_b else None),
            word,
        ])
    return rows


def main(path_a, path_b, out):
    run_a, run_b = Run(path_a), Run(path_b)
    out.write("A: %s (%s)\nB: %s (%s)\n\n" % (path_a, run_a.footer(), path_b, run_b.footer()))
    header = ["allocator", "workload", "threads", "A Mops/s", "A spread", "B Mops/s",
              "B spread", "B/A", "RSS B/A", "verdict"]
    rows = table(run_a, run_b)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        out.write("  ".join(c.ljust(w) if i < 3 or i == len(row) - 1 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths))).rstrip() + "\n")
    counts = {}
    for row in rows:
        word = "failed" if row[-1].startswith("failed") else row[-1].split(" (")[0]
        counts[word] = counts.get(word, 0) + 1
    out.write("\nspread: (max - min) / median over the repetitions that succeeded; a "
              "difference counts when |B - A| exceeds half of each run's range, summed.\n")
    out.write("%s\n" % ", ".join("%d %s" % (n, w) for w, n in sorted(counts.items())))
    return 0
