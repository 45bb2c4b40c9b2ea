"""The terminal tables of `allocmark report`: a run's throughput relative to a
baseline allocator (the default), allocmark-micro's benchmarks against one
subject allocator (--micro), memcore-bench's bandwidth ratios (--memcore) and
the conformance matrix (--conformance). Each reads a Run (results.py) and
prints plain text; none writes anything."""

import datetime
import re
from collections import OrderedDict

from results import bench_points, split_bench_name


def duration(run):
    started, finished = run.meta("started"), run.meta("finished")
    if not finished or not started:
        return "unfinished"
    parse = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    try:
        seconds = int((parse(finished) - parse(started)).total_seconds())
    except ValueError:
        return "?"
    return "%d min %02d s" % (seconds // 60, seconds % 60)


def markdown_table(out, header, rows, right_from=1):
    """A Markdown table whose columns from right_from on are right-aligned."""
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "|".join(" --- " if i < right_from else " ---: "
                             for i in range(len(header))) + "|\n")
    for row in rows:
        out.write("| " + " | ".join(str(c) for c in row) + " |\n")


def aligned(out, header, rows, left=1):
    """Columns padded to their widest cell; the first `left` left-aligned."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        out.write("  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths))).rstrip() + "\n")


# -- allocmark report [RUN]: throughput against a baseline --------------------

def cell_marks(cell):
    """'+lock' behind the front end's lock, '*' stopped by the time budget,
    ' (1 failed)' for repetitions that failed."""
    ok = cell.ok_reps
    marks = ("+lock" if any((r.get("label") or "").endswith("+lock") for r in ok) else "")
    marks += "*" if any(r.get("complete") == "0" for r in ok) else ""
    failed = len(cell.reps) - len(ok)
    return marks + (" (%d failed)" % failed if failed else "")


def run_table(run, out, baseline):
    """Workloads down, allocators across: the baseline's median ops/s in
    millions, every other allocator's median relative to it."""
    allocators = run.ordered("allocator")
    base = baseline if baseline in allocators else allocators[0]
    others = [a for a in allocators if a != base]
    out.write("%s\n" % (run.command or run.meta("command")))
    reps = run.meta("reps", "?")
    out.write("%s profile, %s repetition%s, %s of %s cells, %s failed, %s, %s\n\n" % (
        run.meta("profile", "?"), reps, "" if reps == "1" else "s", run.meta("cells_done", "?"),
        run.meta("cells_total", "?"), run.meta("cells_failed", "?"), duration(run),
        run.meta("state", "?")))
    rows = []
    for workload in run.ordered("workload"):
        for threads in run.ordered("threads"):
            if not any(run.cell(a, workload, threads) for a in allocators):
                continue
            line = [workload, str(threads)]
            b = run.cell(base, workload, threads)
            base_rate = b.spread("ops_per_sec").median if b and not b.failed else None
            line.append("-" if b is None else b.failure_text() if b.failed
                        else "%.3g%s" % (base_rate / 1e6, cell_marks(b)))
            for a in others:
                cell = run.cell(a, workload, threads)
                if cell is None:
                    line.append("-")
                elif cell.failed:
                    line.append(cell.failure_text())
                else:
                    rate = cell.spread("ops_per_sec").median
                    line.append("%.3g%s" % (rate / base_rate, cell_marks(cell)) if base_rate
                                else "%.3gM%s" % (rate / 1e6, cell_marks(cell)))
            rows.append(line)
    markdown_table(out, ["workload", "threads", "%s (Mops/s)" % base] + others, rows,
                   right_from=2)
    out.write("\nMedian of each cell's repetitions; %s in millions of operations per second, "
              "the others relative to it (higher is faster). * the time budget (%s s) "
              "stopped a repetition first; +lock: behind the front end's lock.\n"
              % (base, run.meta("budget_s", "?")))
    if base != baseline:
        out.write("(the baseline %s is not in this run: %s stands in)\n" % (baseline, base))
    return 0


# -- allocmark report --micro [RUN]: the microbenchmarks against one allocator

def micro_throughput(fields):
    """Items per second of one benchmark point, or 1e9 / time per iteration."""
    ips = fields["items_per_second"]
    if ips:
        return ips.median, ips.n
    t = fields["time_ns"]
    return (1e9 / t.median, t.n) if t and t.median else (None, 0)


def micro_medians(run):
    """{benchmark with '*' for the allocator: {allocator: (median, n)}}."""
    table = OrderedDict()
    for allocator, entries in run.micro.items():
        for name, error, fields in bench_points(entries):
            if error:
                continue
            parts = [p for p in name.split("/")
                     if p != "real_time" and not p.startswith("threads:")]
            bench = "/".join("*" if p == allocator else p for p in parts)
            value, n = micro_throughput(fields)
            if value is not None:
                table.setdefault(bench, OrderedDict())[allocator] = (value, n)
    return table


def micro_table(run, out, subject):
    table = micro_medians(run)
    if not table:
        out.write("no micro-<allocator>.json in %s (allocmark run writes them unless "
                  "--no-micro)\n" % run.path)
        return 1
    allocators = [a for a in sorted(run.micro, key=run.slot)]
    others = [a for a in allocators if a != subject]
    header = ["benchmark"] + ["%s (n)" % a for a in allocators]
    if subject in allocators:
        header += ["%s/%s" % (subject, o) for o in others]
    rows = []
    for bench in sorted(table, key=lambda b: [int(p) if p.isdigit() else p for p in
                                              re.split(r"(\d+)", b)]):
        med = table[bench]
        row = [bench] + ["%.1f (%d)" % (med[a][0] / 1e6, med[a][1]) if a in med else "-"
                         for a in allocators]
        if subject in allocators:
            row += ["%.2f" % (med[subject][0] / med[o][0]) if subject in med and o in med
                    else "-" for o in others]
        rows.append(row)
    out.write("allocmark-micro, %s: median throughput in millions of items per second "
              "(n: repetitions), then %s's throughput relative to each other allocator "
              "(above 1: %s is faster)\n\n" % (run.path, subject, subject))
    aligned(out, header, rows)
    if subject not in allocators:
        out.write("\n%s has no micro-%s.json here: no ratios (--subject names another)\n"
                  % (subject, subject))
        return 0
    out.write("\ngeometric mean of %s's ratios over the benchmarks both ran:\n" % subject)
    for o in others:
        ratios = [table[b][subject][0] / table[b][o][0] for b in table
                  if subject in table[b] and o in table[b]]
        if ratios:
            product = 1.0
            for r in ratios:
                product *= r
            out.write("  %s/%s %.2f over %d benchmarks (lowest %.2f)\n"
                      % (subject, o, product ** (1.0 / len(ratios)), len(ratios), min(ratios)))
    return 0


# -- allocmark report --memcore [RUN|FILE]: memcore-bench's ratio tables ------

# Columns in this order; contenders the file has beyond these follow.
MEMCORE_ORDER = ["dispatch", "avx512", "avx2", "sse2", "erms", "words", "bytes"]


def size_text(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d %s" % (n >> shift, unit)
    return "%d B" % n


def memcore_table(source, context, entries, out):
    """For each operation and alignment, one row per size: glibc's and the
    dispatched entry's median GB/s, each contender relative to glibc, and the
    dispatched entry as a share of the best contender at that size."""
    table, seen = OrderedDict(), []
    for name, error, fields in bench_points(entries):
        words, numbers = split_bench_name(name)
        bw = fields["bytes_per_second"]
        if error or len(words) != 3 or len(numbers) != 1 or not bw:
            continue
        op, contender, align = words
        table.setdefault((op, align), OrderedDict()).setdefault(
            int(numbers[0]), {})[contender] = bw.median / 1e9
        if contender not in seen:
            seen.append(contender)
    if not table:
        out.write("%s: no memcpy/memset benchmarks (op/contender/alignment/size)\n" % source)
        return 1
    ratio_of = [c for c in MEMCORE_ORDER if c in seen] + [
        c for c in seen if c not in MEMCORE_ORDER and c != "glibc"]
    out.write("# %s\n" % source)
    for key in ("memcore", "command", "glibc", "date", "host_name"):
        if key in context:
            out.write("# %s: %s\n" % (key, context[key]))
    for (op, align), rows in table.items():
        out.write("\n## %s, %s: median GB/s of glibc and of the dispatched entry, then each "
                  "contender / glibc, then dispatch / the best contender at that size\n"
                  % (op, align))
        header = ["size", "glibc", "dispatch"] + ratio_of + ["of best"]
        lines = []
        for size in sorted(rows):
            rates = rows[size]
            glibc = rates.get("glibc")
            best = max(rates.values())
            line = [size_text(size)]
            line += ["%.1f" % rates[c] if c in rates else "-" for c in ("glibc", "dispatch")]
            line += ["%.2f" % (rates[c] / glibc) if glibc and c in rates else "-"
                     for c in ratio_of]
            line.append("%.0f%%" % (100 * rates["dispatch"] / best) if "dispatch" in rates
                        else "-")
            lines.append(line)
        aligned(out, header, lines)
    return 0


# -- allocmark report --conformance [RUN] -------------------------------------

def conformance_table(run, out):
    conf = run.conformance
    if conf is None:
        out.write("no conformance.csv in %s (scripts/run.sh writes it with "
                  "`allocmark check --format csv`)\n" % run.path)
        return 1
    header, rows = conf.matrix()
    aligned(out, header, rows, left=len(header))
    for note in conf.notes():
        out.write(note + "\n")
    out.write("%d checks failed\n" % conf.failures())
    return 1 if conf.failures() else 0
