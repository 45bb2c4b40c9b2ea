"""Reading one allocmark run directory, and the statistics across repetitions.

Everything here reads the raw results only and keys every column and JSON
field by name, never by position: extra columns are ignored, a missing column
reads as missing data. See results/README.md for the files of a run.
"""

import csv
import glob
import json
import math
import os
import re
import statistics
from collections import Counter, OrderedDict

import stats

# The statuses of a cell; every one but "ok" is a failure.
OK = "ok"

# Metric columns of cells.csv, with the unit the report prints.
METRICS = [
    "ops", "seconds", "ops_per_sec", "ns_per_op",
    "malloc_p50_ns", "malloc_p99_ns", "malloc_p999_ns", "malloc_max_ns",
    "free_p50_ns", "free_p99_ns", "free_p999_ns", "free_max_ns",
    "peak_rss_bytes", "baseline_rss_bytes", "peak_live_bytes", "fragmentation",
    "os_bytes_peak", "user_s", "sys_s", "minor_faults", "harness_overhead_ns",
]


class RunError(Exception):
    """A run directory that cannot be read; the message names the path."""


def number(text):
    """A CSV or JSON field as a float, or None when empty, NaN or not a number."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        text = text.strip()
        if text in ("", "?", "-"):
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    return None if math.isnan(value) or math.isinf(value) else value


def read_commented_csv(path):
    """Rows of a CSV file as dicts keyed by the header row, and the comment
    lines ("# ...") that precede or interleave it, without the "# "."""
    comments, lines = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.strip():
                lines.append(line)
    reader = csv.DictReader(lines)
    rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            for row in reader]
    return rows, comments, [name.strip() for name in (reader.fieldnames or [])]


class Spread:
    """The median, minimum and maximum of one metric over the ok repetitions."""

    def __init__(self, values):
        self.values = sorted(v for v in values if v is not None)
        self.n = len(self.values)
        self.median = statistics.median(self.values) if self.values else None
        self.min = self.values[0] if self.values else None
        self.max = self.values[-1] if self.values else None

    def relative(self):
        """(max - min) / median, or None without two values."""
        if self.n < 2 or not self.median:
            return None
        return (self.max - self.min) / self.median

    def __bool__(self):
        return self.median is not None


class Cell:
    """One (allocator, workload, threads) with all its repetitions."""

    def __init__(self, allocator, workload, threads):
        self.allocator = allocator
        self.workload = workload
        self.threads = threads
        self.labels = []
        self.reps = []  # the rows of cells.csv, as dicts
        self._estimates = {}

    @property
    def label(self):
        return " / ".join(self.labels) if self.labels else self.allocator

    @property
    def ok_reps(self):
        return [r for r in self.reps if status_of(r) == OK]

    @property
    def failures(self):
        """Counter of failure statuses across the repetitions."""
        return Counter(status_of(r) for r in self.reps if status_of(r) != OK)

    @property
    def failed(self):
        """True when no repetition succeeded: the cell has no data."""
        return not self.ok_reps

    def failure_text(self):
        """'crash', '2 crash, 1 timeout': the failures, most common first."""
        return ", ".join(s if n == len(self.reps) else "%d %s" % (n, s)
                         for s, n in self.failures.most_common())

    def spread(self, metric):
        return Spread(number(r.get(metric)) for r in self.ok_reps)

    def values(self, metric):
        """The metric over the repetitions that succeeded, in run order."""
        return [v for v in (number(r.get(metric)) for r in self.ok_reps) if v is not None]

    def estimate(self, metric):
        """The median over the ok repetitions with its confidence interval
        (stats.median_ci), computed once."""
        if metric not in self._estimates:
            self._estimates[metric] = stats.median_ci(self.values(metric))
        return self._estimates[metric]


def status_of(row):
    """A row's status; a file without the column counts every row as ok."""
    return (row.get("status") or OK).strip().lower()


def int_or(text, default):
    value = number(text)
    return int(value) if value is not None else default


class Run:
    """A run directory: metadata, cells by (allocator, workload, threads),
    the time series, the conformance matrix and the Google Benchmark JSON
    that scripts/run.sh and `allocmark run` put there (results/README.md).
    Only files inside the directory are read. need_cells=False accepts a
    directory without cells.csv (allocmark-micro --out=DIR's, for
    `report --micro`)."""

    def __init__(self, path, need_cells=True):
        if not os.path.isdir(path):
            raise RunError("%s: no such run directory" % path)
        self.path = path
        self.need_cells = need_cells
        self.name = os.path.basename(os.path.realpath(path))
        self.notes = []  # what was absent or could not be read
        self._ratios = {}
        self.metadata = self._read_metadata()
        self.command = ""
        self.columns = []
        self.cells = OrderedDict()
        self._read_cells()
        self.timeseries = self._read_timeseries()
        self.conformance = self._read_conformance()
        self.hardening = self._read_hardening()
        self.micro = self._read_micro()
        self.memcore = self._read_memcore()

    # -- reading -----------------------------------------------------------

    def _file(self, name):
        return os.path.join(self.path, name)

    def _read_text(self, name):
        try:
            with open(self._file(name), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return None

    def _read_metadata(self):
        text = self._read_text("metadata.json")
        if text is None:
            self.notes.append("no metadata.json: the machine is unknown")
            return {}
        try:
            data = json.loads(text)
        except ValueError as e:
            self.notes.append("metadata.json does not parse (%s)" % e)
            return {}
        return data if isinstance(data, dict) else {}

    def _read_cells(self):
        path = self._file("cells.csv")
        self.programs = OrderedDict()  # (allocator, program) -> Cell; see programs.py
        if not os.path.exists(path) and not self.need_cells:
            self.notes.append("no cells.csv")
            return
        if not os.path.exists(path):
            raise RunError("%s: no cells.csv in the run directory" % self.path)
        rows, comments, self.columns = read_commented_csv(path)
        self.command = comments[0] if comments else ""
        for row in rows:
            allocator = row_allocator(row)
            workload = row.get("workload", "")
            if not allocator or not workload:
                continue
            if row.get("kind") == "program":
                cell = self.programs.get((allocator, workload))
                if cell is None:
                    cell = self.programs[(allocator, workload)] = Cell(allocator, workload, 0)
                cell.labels = cell.labels or [row.get("label") or allocator]
                cell.reps.append(row)
                continue
            threads = int_or(row.get("threads"), 1)
            key = (allocator, workload, threads)
            cell = self.cells.get(key)
            if cell is None:
                cell = self.cells[key] = Cell(allocator, workload, threads)
            label = row.get("label") or allocator
            if label not in cell.labels:
                cell.labels.append(label)
            cell.reps.append(row)
        if not self.cells and not self.programs:
            self.notes.append("cells.csv holds no cells")

    def _read_timeseries(self):
        path = self._file("timeseries.csv")
        if not os.path.exists(path):
            self.notes.append("no timeseries.csv: no memory-over-time charts")
            return []
        rows, _, _ = read_commented_csv(path)
        if not rows:
            self.notes.append("timeseries.csv holds no samples: no memory-over-time charts")
        return rows

    def _read_conformance(self):
        """conformance.csv (`allocmark check --format csv`) as a Conformance,
        or None when the run has none."""
        path = self._file("conformance.csv")
        if not os.path.exists(path):
            self.notes.append("no conformance.csv: no conformance matrix "
                              "(scripts/run.sh saves `allocmark check --format csv` there)")
            return None
        rows, comments, _ = read_commented_csv(path)
        return Conformance(rows, comments[0] if comments else "")

    def _read_hardening(self):
        """hardening.csv (`allocmark check --hardening-csv FILE`) as a
        Hardening, or None when the run has none."""
        path = self._file("hardening.csv")
        if not os.path.exists(path):
            self.notes.append("no hardening.csv: no hardening matrix "
                              "(scripts/run.sh saves `allocmark check --hardening-csv` there)")
            return None
        rows, _, _ = read_commented_csv(path)
        return Hardening(rows)

    def _read_json(self, path):
        """A Google Benchmark JSON file's benchmark entries, or None with a
        note when it cannot be read."""
        try:
            return read_benchmark_json(path)[1]
        except RunError as e:
            self.notes.append(str(e))
            return None

    def _read_micro(self):
        """micro-<allocator>.json, written by allocmark-micro during
        `allocmark run`, and micro-<allocator>.rN.json, its rounds 2, 3, ...
        (`allocmark-micro --rounds=N`): {allocator: entries of every round},
        the allocator from the name. self.micro_rounds: {allocator: rounds}."""
        micro, self.micro_rounds = OrderedDict(), OrderedDict()
        found = []
        for path in glob.glob(os.path.join(self.path, "micro-*.json")):
            match = MICRO_FILE.match(os.path.basename(path))
            if match:
                found.append((match.group(1), int(match.group(2) or 1), path))
        for allocator, _, path in sorted(found):
            entries = self._read_json(path)
            if entries is not None:
                micro.setdefault(allocator, []).extend(entries)
                self.micro_rounds[allocator] = self.micro_rounds.get(allocator, 0) + 1
        for allocator, entries in micro.items():
            if self.micro_rounds[allocator] > 1:
                micro[allocator] = pooled_rounds(entries)
        if not micro:
            self.notes.append("no micro-<allocator>.json (allocmark-micro): "
                              "no microbenchmark charts")
        return micro

    def _read_memcore(self):
        """memcore.json, written by memcore-bench in scripts/run.sh: the
        memcpy and memset entries, or [] without one."""
        path = self._file("memcore.json")
        self.memcore_context = {}
        if not os.path.exists(path):
            self.notes.append("no memcore.json (memcore-bench): no bandwidth charts")
            return []
        try:
            self.memcore_context, entries = read_benchmark_json(path)
        except RunError as e:
            self.notes.append(str(e))
            return []
        return [e for e in entries if is_memcore_name(bench_name(e))]

    # -- questions ---------------------------------------------------------

    def ordered(self, field):
        """Distinct values of allocator, workload or threads: allocators and
        workloads in the order of the plan (metadata.json), then any other in
        the order of cells.csv; threads ascending."""
        values = list(OrderedDict.fromkeys(getattr(c, field) for c in self.cells.values()))
        if field == "threads":
            return sorted(values)
        plan = []
        for x in self.metadata.get(field + "s") or []:
            if isinstance(x, dict):
                # --aa: the second copy right after the first.
                plan += [x.get("name"), "%s%s" % (x.get("name"), SECOND_COPY)]
        return [v for v in plan if v in values] + [v for v in values if v not in plan]

    def split_aa(self):
        """An --aa run as two runs: the first copies of the allocators and
        the second (NAME#2, renamed NAME), for compare."""
        first, second = RunView(self, "first copies"), RunView(self, "second copies")
        for cells, into in ((self.cells, "cells"), (self.programs, "programs")):
            for key, cell in cells.items():
                allocator = key[0]
                if allocator.endswith(SECOND_COPY):
                    key = (allocator[:-len(SECOND_COPY)],) + key[1:]
                    getattr(second, into)[key] = cell
                else:
                    getattr(first, into)[key] = cell
        return first, second

    def cell(self, allocator, workload, threads):
        return self.cells.get((allocator, workload, threads))

    def ratio(self, cell, base, metric="ops_per_sec"):
        """cell's median over base's, with the ratio's confidence interval
        (stats.ratio_ci), computed once per pair; stats.NONE when either
        has no value."""
        if cell is None or base is None or cell.failed or base.failed:
            return stats.NONE
        key = (cell.allocator, cell.workload, cell.threads, base.allocator, metric)
        if key not in self._ratios:
            self._ratios[key] = stats.ratio_ci(base.values(metric), cell.values(metric))
        return self._ratios[key]

    def baseline_of(self, wanted):
        """The baseline allocator: `wanted` when the run has it, else None."""
        return wanted if wanted in self.ordered("allocator") or \
            any(a == wanted for a, _ in self.programs) else None

    def plan(self):
        """How the cells were run, from metadata.json: reps, warm-up
        repetitions discarded, order, seed, precision target and cap."""
        get = lambda k: self.metadata.get(k)  # noqa: E731
        return {"reps": get("reps"), "warmup": get("warmup") or 0,
                "order": get("order"), "seed": get("seed"),
                "precision_pct": get("precision_pct"), "max_reps": get("max_reps")}

    def hit_cap(self, cell, metric="ops_per_sec"):
        """True when the run asked for a precision (--precision) and this
        cell reached --max-reps without its interval getting that narrow."""
        plan = self.plan()
        if not plan["precision_pct"] or not plan["max_reps"]:
            return False
        est = cell.estimate(metric)
        half = est.half_width()
        return len(cell.reps) >= plan["max_reps"] and (
            half is None or half * 100 > plan["precision_pct"])

    def has_metric(self, metric):
        return any(number(r.get(metric)) is not None
                   for c in self.cells.values() for r in c.reps)

    def slot(self, allocator):
        """The allocator's place in the run's allocator list: its colour."""
        allocators = self.ordered("allocator")
        extra = sorted(self.micro) if hasattr(self, "micro") else []
        allocators += [a for a in extra if a not in allocators]
        return allocators.index(allocator) if allocator in allocators else len(allocators)

    def meta(self, path, default=""):
        """The metadata value at a dotted path ("machine.kernel"), as text."""
        value = self.metadata
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value in (None, "", [], {}):
            return default
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def footer(self):
        """Machine and date, for the charts' footers."""
        parts = [self.meta("machine.hostname"), self.meta("machine.cpu_model")]
        nproc = self.meta("machine.nproc")
        if nproc:
            parts.append("%s CPUs" % nproc)
        kernel = self.meta("machine.kernel")
        if kernel:
            # "Linux 6.1.0-18-amd64 #1 SMP ... x86_64": the name and release.
            parts.append(" ".join(kernel.split()[:2]))
        parts.append(self.meta("started", default=self.name))
        commit = self.meta("git.commit")
        if commit:
            dirty = self.meta("git.dirty") == "true"
            parts.append("allocmark " + commit[:10] + ("+dirty" if dirty else ""))
        return " | ".join(p for p in parts if p)

    def series_of_timeseries(self, workload):
        """The time series of one workload: {allocator: (threads, rep, rows)},
        at the lowest thread count sampled, from the first ok repetition (or
        the first at all, when every one failed: its samples up to the end)."""
        rows = [r for r in self.timeseries if r.get("workload") == workload]
        if not rows:
            return {}
        threads = min(int_or(r.get("threads"), 1) for r in rows)
        out = OrderedDict()
        for allocator in OrderedDict.fromkeys(row_allocator(r) for r in rows):
            mine = [r for r in rows if row_allocator(r) == allocator
                    and int_or(r.get("threads"), 1) == threads]
            reps = sorted({int_or(r.get("rep"), 0) for r in mine})
            cell = self.cell(allocator, workload, threads)
            ok = {int_or(r.get("rep"), 0) for r in cell.ok_reps} if cell else set()
            rep = next((x for x in reps if x in ok), reps[0] if reps else 0)
            chosen = [r for r in mine if int_or(r.get("rep"), 0) == rep]
            chosen.sort(key=lambda r: number(r.get("sample")) or 0)
            out[allocator] = (threads, rep, chosen)
        return out


# `allocmark run --aa` labels an allocator's second copy NAME#2 (NAME+lock#2
# behind the lock); the reader treats it as an allocator of its own.
SECOND_COPY = "#2"


def row_allocator(row):
    """The allocator a row of cells.csv or timeseries.csv belongs to:
    its name, with #2 for the second copy of an --aa run."""
    allocator = row.get("allocator", "")
    return allocator + SECOND_COPY if (row.get("label") or "").endswith(SECOND_COPY) \
        else allocator


class RunView:
    """Part of a run's cells, with the run's footer: one side of compare --aa."""

    def __init__(self, run, what):
        self.run, self.what = run, what
        self.cells = OrderedDict()
        self.programs = OrderedDict()

    def footer(self):
        return "%s: %s" % (self.what, self.run.footer())


# micro-<allocator>.json, and micro-<allocator>.rN.json for round N > 1;
# allocator names are [a-z0-9-].
MICRO_FILE = re.compile(r"^micro-([A-Za-z0-9_+-]+?)(?:\.r([0-9]+))?\.json$")


def pooled_rounds(entries):
    """Several rounds' entries as one set of repetitions: a benchmark's
    per-round aggregates (mean, median, ...) are dropped where its
    iterations are there, so that its median is over every round's."""
    iterated = {bench_name(e) for e in entries
                if e.get("run_type", "iteration") == "iteration" and not e.get("error_occurred")}
    return [e for e in entries
            if not (e.get("run_type") == "aggregate" and bench_name(e) in iterated)]


class Conformance:
    """conformance.csv: one row per (allocator, check) with its verdict and
    detail, in the order `allocmark check` ran them."""

    FAILURES = ("FAIL", "UNEXPECTED-PASS", "CRASH", "MISSING")

    def __init__(self, rows, command):
        self.command = command
        self.rows = [r for r in rows if r.get("allocator") and r.get("check")]
        self.allocators = list(OrderedDict.fromkeys(r["allocator"] for r in self.rows))
        self.checks = list(OrderedDict.fromkeys(r["check"] for r in self.rows))
        self.verdict = {(r["allocator"], r["check"]): r.get("verdict", "") for r in self.rows}
        self.detail = {(r["allocator"], r["check"]): r.get("detail", "") for r in self.rows}

    def failures(self):
        return sum(1 for v in self.verdict.values() if v in self.FAILURES)

    def matrix(self):
        """Checks down, allocators across: (header, rows)."""
        return (["check"] + self.allocators,
                [[c] + [self.verdict.get((a, c), "") for a in self.allocators]
                 for c in self.checks])

    def notes(self):
        """'allocator / check: verdict: detail' for every verdict but pass
        that has a detail."""
        return ["%s / %s: %s: %s" % (r["allocator"], r["check"], r.get("verdict", ""),
                                     r.get("detail", ""))
                for r in self.rows if r.get("verdict") != "pass" and r.get("detail")]


class Hardening:
    """hardening.csv: one row per (allocator, case) with its outcome, the
    signal of a crash and a detail; allocators and cases in file order.
    Informational: no outcome is a failure."""

    def __init__(self, rows):
        self.rows = [r for r in rows if r.get("allocator") and r.get("case")]
        self.allocators = list(OrderedDict.fromkeys(r["allocator"] for r in self.rows))
        self.cases = list(OrderedDict.fromkeys(r["case"] for r in self.rows))
        self.outcome = {(r["allocator"], r["case"]): r.get("outcome", "") for r in self.rows}
        self.signal = {(r["allocator"], r["case"]): r.get("signal", "") for r in self.rows}
        self.detail = {(r["allocator"], r["case"]): r.get("detail", "") for r in self.rows}

    def cell(self, allocator, case):
        """The outcome, or the signal's name for a crash that names one."""
        outcome = self.outcome.get((allocator, case), "")
        signal = self.signal.get((allocator, case), "")
        return signal if outcome == "crash" and signal else outcome

    def matrix(self):
        """Cases down, allocators across: (header, rows)."""
        return (["case"] + self.allocators,
                [[c] + [self.cell(a, c) for a in self.allocators] for c in self.cases])


HARDENING_NOTE = ("Informational, no outcome is a failure: detected = stopped with a "
                  "message, abort = SIGABRT without a message, warned = a message and "
                  "carried on, silent = carried on and nothing broke, corrupted = a block "
                  "handed out twice, blocks overlapping or contents changed afterwards, "
                  "SIGxxx = killed by that signal (crash), hang = still running after 10 s, "
                  "error = the case could not be set up, missing = no answer.")


def read_benchmark_json(path):
    """A Google Benchmark JSON file (--benchmark_out_format=json) as
    (context, entries); RunError naming the file when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise RunError("%s: cannot be read as JSON (%s)" % (path, e))
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise RunError("%s: not Google Benchmark JSON (no \"benchmarks\" list)" % path)
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    return context, [b for b in data["benchmarks"] if isinstance(b, dict)]


def bench_name(entry):
    return str(entry.get("run_name") or entry.get("name") or "")


def is_memcore_name(name):
    lower = name.lower()
    return "memcpy" in lower or "memset" in lower


def bench_time_ns(entry):
    """An entry's time per iteration in nanoseconds (real_time, time_unit)."""
    value = number(entry.get("real_time"))
    if value is None:
        return None
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(entry.get("time_unit", "ns"), 1.0)
    return value * scale


# Parts Google Benchmark appends to a name that are settings, not arguments.
BENCH_MODIFIERS = ("real_time", "cpu_time", "process_time", "manual_time", "threads:",
                   "min_time:", "min_warmup_time:", "repeats:", "iterations:")


def split_bench_name(name):
    """'memcpy/erms/aligned/4096' -> (['memcpy', 'erms', 'aligned'], [4096.0]):
    the name's parts that are not numbers, and those that are ("size:64"
    counts as 64); settings such as real_time and threads:2 are left out."""
    words, numbers = [], []
    for part in name.split("/"):
        if part.startswith(BENCH_MODIFIERS):
            continue
        value = number(part.split(":")[-1])
        if value is not None:
            numbers.append(value)
        elif part:
            words.append(part)
    return words, numbers


def bench_points(entries):
    """Google Benchmark entries reduced to one point per run_name: the
    'median' aggregate when there are repetitions, otherwise the median of
    the iteration entries. Yields (run_name, entry-or-None, {field: Spread})."""
    by_name = OrderedDict()
    for e in entries:
        by_name.setdefault(bench_name(e), []).append(e)
    for name, group in by_name.items():
        iterations = [e for e in group if e.get("run_type", "iteration") == "iteration"
                      and not e.get("error_occurred")]
        medians = [e for e in group if e.get("run_type") == "aggregate"
                   and e.get("aggregate_name") == "median"]
        errors = [e for e in group if e.get("error_occurred")]
        fields = {
            "time_ns": Spread(bench_time_ns(e) for e in iterations),
            "bytes_per_second": Spread(number(e.get("bytes_per_second")) for e in iterations),
            "items_per_second": Spread(number(e.get("items_per_second")) for e in iterations),
        }
        if medians:
            m = medians[0]
            for field, value in (("time_ns", bench_time_ns(m)),
                                 ("bytes_per_second", number(m.get("bytes_per_second"))),
                                 ("items_per_second", number(m.get("items_per_second")))):
                if value is not None:
                    fields[field].median = value
        yield name, (errors[0] if errors and not iterations else None), fields
