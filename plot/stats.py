"""The statistics behind every number allocmark prints: the median of a cell's
repetitions with its confidence interval, the ratio of two cells' medians with
its interval, the test of a difference and the correction for testing many
cells at once. numpy and scipy (Debian's python3-numpy and python3-scipy) do
the work; this file chooses the methods and says what they mean.

- Median: the distribution-free interval between two order statistics
  (x(k), x(n+1-k)), whose coverage follows from the binomial distribution of
  how many values fall below the true median. It needs no assumption about
  the shape of the distribution. Below 6 values no such interval reaches 95 %:
  then it is the full range, and `confidence` says what it covers (3 values:
  75 %).
- Ratio of medians (B/A): a percentile bootstrap (scipy.stats.bootstrap),
  resampling each side's repetitions independently, with a fixed seed so that
  a report is reproducible. With few repetitions a bootstrap interval is
  narrower than its nominal level; the tables say how many repetitions each
  side had.
- Difference: the two-sided Mann-Whitney U test (scipy.stats.mannwhitneyu,
  exact for small samples without ties), its p-values corrected for the
  number of cells compared by Holm's step-down method (the family-wise error)
  or Benjamini-Hochberg's (the false discovery rate). With n repetitions on
  each side the smallest p-value the test can give is 2 / C(2n, n): 3 and 3
  give 0.1, so no difference can be called; 6 and 6 give 0.002.
- Summary: the geometric mean of the cells' ratios, with a bootstrap interval
  over the cells. Where each cell's repetitions are at hand (compare), the
  interval is the wider, at each end, of that one and of a bootstrap over the
  repetitions with the cells held fixed (both sides of every cell resampled).
  The first measures how much the cells disagree, the second how much noise
  their repetitions leave in the mean. Over a few cells the spread of their
  ratios says little: two cells whose own intervals are wide can have ratios
  of 1.07 and 1.12 by chance, and a bootstrap of those two numbers alone
  would call a difference that neither cell shows. Resampling both levels at
  once would count the repetitions' noise twice (it is already in the
  cells' spread) and miss real shifts over many cells.
"""

import math
import sys

try:
    import numpy as np
    from scipy import stats as sstats
except ImportError as e:  # pragma: no cover - said once, clearly
    sys.stderr.write(
        "allocmark: the statistics need numpy and scipy (%s): install python3-numpy and "
        "python3-scipy (scripts/setup.sh does), and run Debian's python3 (/usr/bin/python3)\n"
        % e)
    raise

CONFIDENCE = 0.95
# Bootstrap resamples: enough for the 2.5 % and 97.5 % percentiles to be
# stable to about a percent of the interval; fixed seed, reproducible reports.
RESAMPLES = 2000
SEED = 20261204


class Estimate:
    """A median with its interval: value, low, high, the interval's real
    coverage (confidence) and the number of values (n)."""

    def __init__(self, value, low, high, confidence, n):
        self.value, self.low, self.high = value, low, high
        self.confidence, self.n = confidence, n

    def __bool__(self):
        return self.value is not None

    def half_width(self):
        """Half the interval's width relative to the value, or None."""
        if self.value in (None, 0) or self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2 / abs(self.value)

    def scaled(self, factor):
        """The estimate times factor (> 0), or with 1 / value when factor is
        'inverse' (a time from a rate: the interval's ends swap)."""
        if self.value is None:
            return self
        if factor == "inverse":
            inv = lambda v: None if not v else 1.0 / v  # noqa: E731
            return Estimate(inv(self.value), inv(self.high), inv(self.low), self.confidence,
                            self.n)
        f = lambda v: None if v is None else v * factor  # noqa: E731
        return Estimate(f(self.value), f(self.low), f(self.high), self.confidence, self.n)


NONE = Estimate(None, None, None, None, 0)


def order_statistic_ranks(n, confidence=CONFIDENCE):
    """(k, coverage): the widest-k interval (x(k), x(n+1-k)), 1-based ranks,
    whose coverage of the median is at least `confidence`, and that coverage.
    For n < 6 no interval reaches 95 %: k = 1 (the range), with its coverage."""
    best = (1, 1.0 - 2.0 * sstats.binom.cdf(0, n, 0.5))
    for k in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * sstats.binom.cdf(k - 1, n, 0.5)
        if coverage >= confidence:
            best = (k, coverage)
        else:
            break
    return best


def median_ci(values, confidence=CONFIDENCE):
    """The median of values (None ignored) with its order-statistic interval."""
    x = np.sort(np.array([v for v in values if v is not None], dtype=float))
    n = len(x)
    if n == 0:
        return NONE
    median = float(np.median(x))
    if n == 1:
        return Estimate(median, None, None, None, 1)
    k, coverage = order_statistic_ranks(n, confidence)
    return Estimate(median, float(x[k - 1]), float(x[n - k]), float(coverage), n)


def _ratio_of_medians(a, b, axis=-1):
    return np.median(b, axis=axis) / np.median(a, axis=axis)


def ratio_ci(a, b, confidence=CONFIDENCE):
    """median(b) / median(a) with a percentile-bootstrap interval, resampling
    a and b independently. An Estimate whose confidence is the nominal level;
    no interval with fewer than 2 values on a side."""
    a = np.array([v for v in a if v is not None], dtype=float)
    b = np.array([v for v in b if v is not None], dtype=float)
    if len(a) == 0 or len(b) == 0 or np.median(a) == 0:
        return NONE
    ratio = float(_ratio_of_medians(a, b))
    if len(a) < 2 or len(b) < 2:
        return Estimate(ratio, None, None, None, min(len(a), len(b)))
    if np.all(a == a[0]) and np.all(b == b[0]):
        return Estimate(ratio, ratio, ratio, confidence, min(len(a), len(b)))
    res = sstats.bootstrap((a, b), _ratio_of_medians, vectorized=True, paired=False,
                           confidence_level=confidence, n_resamples=RESAMPLES,
                           method="percentile", random_state=np.random.default_rng(SEED))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Estimate(ratio, min(low, ratio), max(high, ratio), confidence,
                    min(len(a), len(b)))


def mann_whitney(a, b):
    """Two-sided Mann-Whitney U p-value of a and b, or None with fewer than
    two values on a side."""
    a = [v for v in a if v is not None]
    b = [v for v in b if v is not None]
    if len(a) < 2 or len(b) < 2:
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(sstats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def smallest_p(n_a, n_b):
    """The smallest two-sided p-value Mann-Whitney U can give for samples of
    n_a and n_b without ties: 2 / C(n_a + n_b, n_a)."""
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def holm(pvalues):
    """Holm's step-down adjusted p-values (None stays None), same order."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out = list(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def benjamini_hochberg(pvalues):
    """Benjamini-Hochberg adjusted p-values (None stays None), same order."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out = list(pvalues)
    running = 1.0
    ranked = sorted(idx, key=lambda i: pvalues[i])
    for rank in range(m - 1, -1, -1):
        i = ranked[rank]
        running = min(running, pvalues[i] * m / (rank + 1))
        out[i] = min(1.0, running)
    return out


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg}


def geometric_mean_ci(ratios, confidence=CONFIDENCE):
    """The geometric mean of ratios with a percentile-bootstrap interval over
    them (an Estimate; no interval below 2 ratios)."""
    logs = np.log(np.array([r for r in ratios if r and r > 0], dtype=float))
    if len(logs) == 0:
        return NONE
    value = float(np.exp(np.mean(logs)))
    if len(logs) < 2 or np.all(logs == logs[0]):
        return Estimate(value, value if len(logs) > 1 else None,
                        value if len(logs) > 1 else None, confidence, len(logs))
    res = sstats.bootstrap((logs,), np.mean, vectorized=True, confidence_level=confidence,
                           n_resamples=RESAMPLES, method="percentile",
                           random_state=np.random.default_rng(SEED))
    return Estimate(value, float(np.exp(res.confidence_interval.low)),
                    float(np.exp(res.confidence_interval.high)), confidence, len(logs))


def _median_ratio_resamples(a, b, rng, resamples):
    """log(median(b*) / median(a*)) for `resamples` bootstrap draws of a and
    of b, each drawn independently with replacement."""
    da = a[rng.integers(0, len(a), size=(resamples, len(a)))]
    db = b[rng.integers(0, len(b), size=(resamples, len(b)))]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.median(db, axis=1) / np.median(da, axis=1))


def geometric_mean_ci_nested(samples, confidence=CONFIDENCE):
    """The geometric mean of median(b) / median(a) over cells, samples being
    [(a values, b values)] per cell. Its interval is the wider, at each end,
    of a percentile bootstrap over the cells and one over every cell's
    repetitions with the cells fixed (see the top of this file). Cells with
    fewer than 2 values on a side count with their ratio alone; cells with a
    zero median are left out. An Estimate; no interval below 2 cells."""
    cells = []
    for a, b in samples:
        a = np.array([v for v in a if v is not None], dtype=float)
        b = np.array([v for v in b if v is not None], dtype=float)
        if len(a) and len(b) and np.median(a) > 0 and np.median(b) > 0:
            cells.append((a, b))
    if not cells:
        return NONE
    logs = np.array([math.log(np.median(b) / np.median(a)) for a, b in cells])
    value = float(np.exp(np.mean(logs)))
    if len(cells) < 2:
        return Estimate(value, None, None, confidence, len(cells))
    rng = np.random.default_rng(SEED)
    per_cell = np.empty((len(cells), RESAMPLES))
    for i, (a, b) in enumerate(cells):
        if len(a) < 2 or len(b) < 2:
            per_cell[i] = logs[i]
        else:
            per_cell[i] = _median_ratio_resamples(a, b, rng, RESAMPLES)
    within = per_cell.mean(axis=0)
    between = logs[rng.integers(0, len(cells), size=(RESAMPLES, len(cells)))].mean(axis=1)
    tail = (1 - confidence) / 2
    ends = [np.quantile(m[np.isfinite(m)], [tail, 1 - tail]) for m in (within, between)]
    low, high = min(e[0] for e in ends), max(e[1] for e in ends)
    return Estimate(value, min(float(np.exp(low)), value), max(float(np.exp(high)), value),
                    confidence, len(cells))


def fmt(estimate, digits=3, scale=1.0):
    """'1.42 [1.35, 1.50]': the value and its interval at `digits`
    significant digits, '1.42 [-]' without an interval, '-' without a value."""
    if not estimate:
        return "-"
    g = lambda v: sig(v / scale, digits)  # noqa: E731
    if estimate.low is None or estimate.high is None:
        return "%s [-]" % g(estimate.value)
    return "%s [%s, %s]" % (g(estimate.value), g(estimate.low), g(estimate.high))


def sig(value, digits=3):
    """value with `digits` significant digits, never in exponent form for
    the magnitudes allocmark prints (0.00123, 45.6, 13500)."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    exponent = int(math.floor(math.log10(abs(value))))
    rounded = round(value, digits - 1 - exponent)
    if rounded and int(math.floor(math.log10(abs(rounded)))) > exponent:
        exponent += 1  # 9.996 rounds to 10.0: one decimal fewer
    return "%.*f" % (max(0, digits - 1 - exponent), rounded)
