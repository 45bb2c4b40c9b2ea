"""The terminal tables of `allocmark report`: a run's throughput relative to a
baseline allocator (the default), allocmark-micro's benchmarks against one
subject allocator (--micro), memcore-bench's bandwidth ratios (--memcore) and
the conformance matrix (--conformance). Each reads a Run (results.py) and
prints plain text; none writes anything."""

import datetime
import re
import statistics
from collections import OrderedDict

import programs
import stats
from results import bench_name, bench_points, split_bench_name


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

def cell_marks(run, cell):
    """'+lock' behind the front end's lock, '*' stopped by the time budget,
    '^' reached --max-reps short of --precision, ' (1 failed)' for
    repetitions that failed."""
    ok = cell.ok_reps
    marks = ("+lock" if any((r.get("label") or "").endswith("+lock") for r in ok) else "")
    marks += "*" if any(r.get("complete") == "0" for r in ok) else ""
    marks += "^" if run.hit_cap(cell) else ""
    failed = len(cell.reps) - len(ok)
    return marks + (" (%d failed)" % failed if failed else "")


def run_table(run, out, baseline):
    """Workloads down, allocators across: the baseline's median ops/s in
    millions, every other allocator's median relative to it; each with its
    95 % confidence interval."""
    allocators = run.ordered("allocator")
    for a in programs.allocators_of(run):
        if a not in allocators:
            allocators.append(a)
    if not allocators:
        out.write("%s: no cells\n" % run.path)
        return 0
    base = run.baseline_of(baseline) or allocators[0]
    others = [a for a in allocators if a != base]
    out.write("%s\n" % (run.command or run.meta("command")))
    reps = run.meta("reps", "?")
    out.write("%s profile, %s repetition%s, %s of %s cells, %s failed, %s, %s\n" % (
        run.meta("profile", "?"), reps, "" if reps == "1" else "s", run.meta("cells_done", "?"),
        run.meta("cells_total", "?"), run.meta("cells_failed", "?"), duration(run),
        run.meta("state", "?")))
    for line in method_lines(run):
        out.write(line + "\n")
    for line in environment_warnings(run):
        out.write("warning: " + line + "\n")
    out.write("\n")
    if run.cells:
        workload_rows(run, out, base, others)
    if run.programs:
        if run.cells:
            out.write("\n")
        program_rows(run, out, base, others)
    if base != baseline:
        out.write("(the baseline %s is not in this run: %s stands in)\n" % (baseline, base))
    return 0


def workload_rows(run, out, base, others):
    allocators = [base] + others
    rows = []
    for workload in run.ordered("workload"):
        for threads in run.ordered("threads"):
            if not any(run.cell(a, workload, threads) for a in allocators):
                continue
            line = [workload, str(threads)]
            b = run.cell(base, workload, threads)
            base_ok = b is not None and not b.failed
            line.append("-" if b is None else b.failure_text() if b.failed
                        else stats.fmt(b.estimate("ops_per_sec"), scale=1e6) + cell_marks(run, b))
            for a in others:
                cell = run.cell(a, workload, threads)
                if cell is None:
                    line.append("-")
                elif cell.failed:
                    line.append(cell.failure_text())
                elif base_ok:
                    line.append(stats.fmt(run.ratio(cell, b)) + cell_marks(run, cell))
                else:
                    line.append(stats.fmt(cell.estimate("ops_per_sec"), scale=1e6) + "M"
                                + cell_marks(run, cell))
            rows.append(line)
    markdown_table(out, ["workload", "threads", "%s (Mops/s)" % base] + others, rows,
                   right_from=2)
    out.write("\nMedian of each cell's repetitions and its 95 %% confidence interval in "
              "brackets; %s in millions of operations per second, the others as a ratio to "
              "it (higher is faster; the interval is the ratio's, from a bootstrap of both "
              "cells' repetitions). * the time budget (%s s) stopped a repetition first; "
              "+lock: behind the front end's lock; ^ more repetitions would be needed for "
              "the precision asked (--max-reps reached).\n" % (base, run.meta("budget_s", "?")))
    out.write(interval_note(run) + "\n")


def program_rows(run, out, base, others):
    """Programs (cells.csv rows with kind=program) down, allocators across:
    the base's median time and median peak RSS of the process tree, the
    others' relative to it (lower is better)."""
    def summary(program, allocator):
        cell = run.programs.get((allocator, program))
        if cell is None:
            return None, None, "-"
        ok = programs.ok_reps(cell)
        bad = programs.problem_text(cell)
        if not ok:
            return None, None, bad or (programs.status_of(cell.reps[0]) if cell.reps else "-")
        return (programs.spread_of(cell, "time").median,
                programs.spread_of(cell, "peak_rss_bytes").median,
                " (%s)" % bad if bad else "")

    with_programs = programs.allocators_of(run)
    others = [a for a in others if a in with_programs]
    rows = []
    for program in programs.programs_of(run):
        t0, m0, note0 = summary(program, base)
        line = [program, "%.3g, %.0f%s" % (t0, m0 / 2**20, note0) if t0 and m0 else note0]
        for a in others:
            t, m, note = summary(program, a)
            if t is None or m is None:
                line.append(note)
            elif t0 and m0:
                line.append("%.2f, %.2f%s" % (t / t0, m / m0, note))
            else:
                line.append("%.3g s, %.0f MiB%s" % (t, m / 2**20, note))
        rows.append(line)
    markdown_table(out, ["program", "%s s, MiB" % base] + others, rows)
    out.write("\nPrograms: median time (wall, or per unit where the program reports its own "
              "figure of merit) and median peak RSS of the process tree; %s absolute, the "
              "others relative to it (lower is better). A status (wrong, timeout, "
              "skipped...) where no repetition was ok, or in brackets how many were not.\n"
              % base)


def method_lines(run):
    """How the repetitions were run, in a line or two (order, warm-up,
    precision), from metadata.json."""
    plan = run.plan()
    lines = []
    if plan["order"] in ("interleaved", "sequential"):
        lines.append("order: %s%s" % (
            "interleaved (repetition 1 of every cell in a shuffled order, then repetition 2, "
            "...)" if plan["order"] == "interleaved" else "sequential (each cell's repetitions "
            "back to back)", ", seed %s" % plan["seed"] if plan["seed"] is not None else ""))
    if plan["warmup"]:
        lines.append("warm-up: the first %d repetition%s of every cell ran and %s discarded"
                     % (plan["warmup"], "" if plan["warmup"] == 1 else "s",
                        "was" if plan["warmup"] == 1 else "were"))
    cpus = sorted({int(float(r["cpu"])) for c in run.cells.values() for r in c.ok_reps
                   if (r.get("cpu") or "").strip()})
    env = run.metadata.get("environment") if isinstance(run.metadata.get("environment"),
                                                         dict) else {}
    if env.get("pinned"):
        lines.append("pinned: every cell's process ran on CPUs %s only (--pin)" % env["pinned"])
    elif env:
        lines.append("not pinned: cells ran wherever the scheduler put them")
    if cpus:
        lines.append("the cells' main threads ended their measured phase on CPU%s %s"
                     % ("" if len(cpus) == 1 else "s", ", ".join(map(str, cpus))))
    if plan["precision_pct"]:
        capped = sum(1 for c in run.cells.values() if not c.failed and run.hit_cap(c))
        lines.append("precision: repetitions added until each cell's interval was within "
                     "+-%g %% of its median, at most %s repetitions; %d cell%s reached the "
                     "cap first (marked ^)" % (plan["precision_pct"], plan["max_reps"], capped,
                                               "" if capped == 1 else "s"))
    return lines


def interval_note(run):
    """What the intervals of this run are worth, given its repetitions."""
    ns = sorted({len(c.values("ops_per_sec")) for c in run.cells.values() if not c.failed})
    if not ns:
        return ""
    low = ns[0]
    if low >= 6:
        return ("Intervals: the median's is between two order statistics (at least 95 %% "
                "coverage at %d repetitions)." % low)
    if low == 1:
        return ("Intervals: a cell with one repetition has none ([-]); run more "
                "repetitions (-r) for intervals.")
    k, coverage = stats.order_statistic_ranks(low)
    return ("Intervals: with %d repetitions the median's interval is the range of the "
            "repetitions, which covers the median only %.0f %% of the time (95 %% needs 6); "
            "bootstrap intervals of ratios are also too narrow at so few repetitions. Use "
            "-r 6 or more, or --precision, for intervals worth their name." % (low, 100 * coverage))


def environment_warnings(run):
    """What metadata.json says could add noise: a load average above 0.5
    per CPU when the run started, a CPU governor other than performance."""
    out = []
    env = run.metadata.get("environment") if isinstance(run.metadata.get("environment"),
                                                         dict) else {}
    nproc = run.metadata.get("machine", {}).get("nproc") if isinstance(
        run.metadata.get("machine"), dict) else None
    load = env.get("loadavg_start")
    if isinstance(load, list) and load and nproc:
        if float(load[0]) > 0.5 * float(nproc):
            out.append("the load average was %.2f on %s CPUs when the run started (above 0.5 "
                       "per CPU): other processes competed with the cells" % (load[0], nproc))
    governor = env.get("governor")
    if governor and governor not in ("performance", "unknown", "none"):
        out.append("CPU frequency governor %s, not performance: clock speed changes between "
                   "cells add noise" % governor)
    return out


# -- allocmark report --micro [RUN]: the microbenchmarks against one allocator

def micro_values(fields):
    """Items per second of each repetition of one benchmark point (or
    1e9 / time per iteration), and its median as the file states it."""
    ips = fields["items_per_second"]
    if ips:
        return ips.values, ips.median
    t = fields["time_ns"]
    return [1e9 / v for v in t.values if v], (1e9 / t.median if t and t.median else None)


def micro_samples(run):
    """{benchmark with '*' for the allocator: {allocator: [items/s per rep]}}."""
    table = OrderedDict()
    for allocator, entries in run.micro.items():
        for name, error, fields in bench_points(entries):
            if error:
                continue
            parts = [p for p in name.split("/")
                     if p != "real_time" and not p.startswith("threads:")]
            bench = "/".join("*" if p == allocator else p for p in parts)
            values, median = micro_values(fields)
            if values or median is not None:
                table.setdefault(bench, OrderedDict())[allocator] = values or [median]
    return table


def micro_table(run, out, subject):
    table = micro_samples(run)
    if not table:
        out.write("no micro-<allocator>.json in %s (allocmark run writes them unless "
                  "--no-micro)\n" % run.path)
        return 1
    allocators = [a for a in sorted(run.micro, key=run.slot)]
    others = [a for a in allocators if a != subject]
    header = ["benchmark"] + allocators
    if subject in allocators:
        header += ["%s/%s" % (subject, o) for o in others]
    rows, ratios = [], {o: [] for o in others}
    for bench in sorted(table, key=lambda b: [int(p) if p.isdigit() else p for p in
                                              re.split(r"(\d+)", b)]):
        reps = table[bench]
        row = [bench] + [stats.fmt(stats.median_ci(reps[a]), scale=1e6) if a in reps else "-"
                         for a in allocators]
        if subject in allocators:
            for o in others:
                if subject in reps and o in reps:
                    r = stats.ratio_ci(reps[o], reps[subject])
                    ratios[o].append(r.value)
                    row.append(stats.fmt(r))
                else:
                    row.append("-")
        rows.append(row)
    n = sorted({len(v) for per in table.values() for v in per.values()})
    span = lambda v: "%d-%d" % (v[0], v[-1]) if len(v) > 1 else "%d" % v[0]  # noqa: E731
    rounds = sorted(set(run.micro_rounds.values()))
    out.write("allocmark-micro, %s: median throughput in millions of items per second with "
              "its 95 %% interval, then %s's throughput relative to each other allocator "
              "with the ratio's interval (above 1: %s is faster); %s repetitions per "
              "benchmark%s.\n\n" % (
                  run.path, subject, subject, span(n),
                  "" if rounds == [1] else ", pooled over %s rounds (micro-NAME.rN.json)"
                  % span(rounds)))
    aligned(out, header, rows)
    if subject not in allocators:
        out.write("\n%s has no micro-%s.json here: no ratios (--subject names another)\n"
                  % (subject, subject))
        return 0
    out.write("\ngeometric mean of %s's ratios over the benchmarks both ran "
              "(interval: bootstrap over the benchmarks):\n" % subject)
    for o in others:
        if ratios[o]:
            gm = stats.geometric_mean_ci(ratios[o])
            out.write("  %s/%s %s over %d benchmarks (lowest %s)\n" % (
                subject, o, stats.fmt(gm), len(ratios[o]), stats.sig(min(ratios[o]))))
    return 0


# -- allocmark report --memcore [RUN|FILE]: memcore-bench's ratio tables ------

# Columns in this order; contenders the file has beyond these follow.
MEMCORE_ORDER = ["dispatch", "avx512", "avx2", "sse2", "erms", "words", "bytes"]


def size_text(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d %s" % (n >> shift, unit)
    return "%d B" % n


# Our variants: the dispatched entry should reach 0.95 of the best of them.
MEMCORE_VARIANTS = ["avx512", "avx2", "sse2", "erms"]
GLIBC_TARGET, BEST_TARGET = 1.0, 0.95


def quartiles(values):
    """(q1, median, q3), interpolated as memcore-bench computes them."""
    v = sorted(values)

    def at(q):
        x = q * (len(v) - 1)
        lo = int(x)
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (x - lo)
    return at(0.25), at(0.5), at(0.75)


def memcore_points(entries):
    """{(op, contender, align, size): (q1, median, q3) in GB/s} of one file:
    its aggregates ("median", "q1", "q3") where it has them, else the
    quartiles of the repetitions."""
    quart = {}
    for e in entries:
        if e.get("run_type") == "aggregate" and e.get("aggregate_name") in ("q1", "q3"):
            bw = e.get("bytes_per_second")
            if isinstance(bw, (int, float)):
                quart.setdefault(bench_name(e), {})[e["aggregate_name"]] = bw / 1e9
    points = {}
    for name, error, fields in bench_points(entries):
        words, numbers = split_bench_name(name)
        bw = fields["bytes_per_second"]
        if error or len(words) != 3 or len(numbers) != 1 or not bw:
            continue
        med = bw.median / 1e9
        q = quart.get(name, {})
        if "q1" in q and "q3" in q:
            point = (q["q1"], med, q["q3"])
        elif bw.n > 1:
            q1, _, q3 = quartiles([v / 1e9 for v in bw.values])
            point = (q1, med, q3)
        else:
            point = (med, med, med)
        points[(words[0], words[1], words[2], int(numbers[0]))] = point
    return points


def spread(q):
    q1, med, q3 = q
    return (q3 - q1) / med if med else 0.0


def context_variant(context):
    """The variant the dispatch chose, from memcore-bench's "memcore"
    context line ("avx512 (cpu: ...)"), or None."""
    line = context.get("memcore", "")
    word = line.split(" ", 1)[0]
    return word if word in MEMCORE_VARIANTS else None


def same_code_floor(table, variant):
    """The run's own noise floor: the dispatched entry against `variant`,
    the code it dispatches to, timed through the same loop. Any difference
    between the two is noise. Returns (ratios, floor): every point's
    dispatch / variant, and the 90th percentile of |ratio - 1|."""
    ratios = sorted(q["dispatch"][1] / q[variant][1]
                    for rows in table.values() for q in rows.values()
                    if "dispatch" in q and variant in q and q[variant][1])
    if not ratios:
        return ratios, None
    dev = sorted(abs(r - 1) for r in ratios)
    return ratios, dev[min(len(dev) - 1, int(0.9 * len(dev)))]


def beyond_floor(ratio, target, floor):
    """Whether a ratio misses its target by more than the same-code floor."""
    return floor is not None and ratio < target * (1 - floor)


def memcore_table(sources, out):
    """sources: [(path, context, entries)], later files winning for a point
    they share (a full run, then reruns of some points). For each operation
    and alignment, one row per size: glibc's and the dispatched entry's
    median GB/s, each contender relative to glibc, the dispatched entry as a
    share of the best contender at that size, and the spread: the largest
    (q3 - q1) / median of glibc, the dispatched entry and our best variant.
    Then the targets: dispatch >= 1.0 x glibc and >= 0.95 x our best variant
    at every point, the points that miss and a --sizes list to measure them
    again."""
    points, context = {}, {}
    for path, ctx, entries in sources:
        more = memcore_points(entries)
        if not more:
            out.write("%s: no memcpy/memset benchmarks (op/contender/alignment/size)\n" % path)
            return 1
        points.update(more)
        context = ctx
    table, seen = OrderedDict(), []
    for (op, contender, align, size), q in points.items():
        table.setdefault((op, align), OrderedDict()).setdefault(size, {})[contender] = q
        if contender not in seen:
            seen.append(contender)
    ratio_of = [c for c in MEMCORE_ORDER if c in seen] + [
        c for c in seen if c not in MEMCORE_ORDER and c != "glibc"]
    for path, _, _ in sources:
        out.write("# %s\n" % path)
    out.write("# medians and quartiles as memcore-bench reports them (its aggregates); "
              "where files share a point, the later one's\n")
    for key in ("memcore", "command", "glibc", "date", "host_name"):
        if key in context:
            out.write("# %s: %s\n" % (key, context[key]))
    misses, checked = [], 0
    for (op, align), rows in table.items():
        out.write("\n## %s, %s: median GB/s of glibc and of the dispatched entry, then each "
                  "contender / glibc, then dispatch / the best contender at that size, then "
                  "the spread\n" % (op, align))
        header = ["size", "glibc", "dispatch"] + ratio_of + ["of best", "spread"]
        lines = []
        for size in sorted(rows):
            q = rows[size]
            rates = {c: v[1] for c, v in q.items()}
            glibc = rates.get("glibc")
            best = max(rates.values())
            ours = [c for c in MEMCORE_VARIANTS if c in rates]
            best_ours = max(ours, key=lambda c: rates[c]) if ours else None
            noisy = [spread(q[c]) for c in ("glibc", "dispatch", best_ours) if c in q]
            line = [size_text(size)]
            line += ["%.1f" % rates[c] if c in rates else "-" for c in ("glibc", "dispatch")]
            line += ["%.2f" % (rates[c] / glibc) if glibc and c in rates else "-"
                     for c in ratio_of]
            line.append("%.0f%%" % (100 * rates["dispatch"] / best) if "dispatch" in rates
                        else "-")
            line.append("%.0f%%" % (100 * max(noisy)) if noisy else "-")
            lines.append(line)
            if "dispatch" not in rates or not glibc or not best_ours:
                continue
            checked += 1
            vs_glibc = rates["dispatch"] / glibc
            vs_ours = rates["dispatch"] / rates[best_ours]
            if vs_glibc < GLIBC_TARGET or vs_ours < BEST_TARGET:
                misses.append((op, align, size, vs_glibc, vs_ours, best_ours, max(noisy)))
        aligned(out, header, lines)
    chosen = context_variant(context)
    ratios, floor = same_code_floor(table, chosen) if chosen else ([], None)
    if floor is not None:
        out.write("\n## noise floor: the dispatched entry against %s, the same code through "
                  "the same loop, over %d points: %.2f to %.2f, median %.2f; 90 %% of them "
                  "within %.0f %% of 1\n" % (chosen, len(ratios), ratios[0], ratios[-1],
                                             statistics.median(ratios), 100 * floor))
    clear = [m for m in misses if beyond_floor(m[3], GLIBC_TARGET, floor)
             or beyond_floor(m[4], BEST_TARGET, floor)]
    out.write("\n## targets: dispatch >= %g x glibc and >= %g x our best variant at every "
              "point: %d of %d points met" % (GLIBC_TARGET, BEST_TARGET,
                                               checked - len(misses), checked))
    if floor is not None:
        out.write("; of the %d missed, %d by more than the noise floor, %d within it"
                  % (len(misses), len(clear), len(misses) - len(clear)))
    out.write("\n")
    for m in misses:
        op, align, size, vs_glibc, vs_ours, best_ours, noise = m
        out.write("  miss %s/%s/%s: %.2f x glibc, %.2f x %s (spread %.0f%%)%s\n" % (
            op, align, size_text(size), vs_glibc, vs_ours, best_ours, 100 * noise,
            ", beyond the floor" if m in clear else ""))
    if misses:
        sizes = sorted({m[2] for m in misses})
        out.write("  measure again: memcore-bench --sizes=" + ",".join(map(str, sizes)) + "\n")
    return 0


# -- allocmark report --conformance [RUN] -------------------------------------

def conformance_table(run, out):
    conf = run.conformance
    if conf is None:
        out.write("no conformance.csv in %s (scripts/run.sh writes it with "
                  "`allocmark check --format csv`)\n" % run.path)
        status = 1
    else:
        header, rows = conf.matrix()
        aligned(out, header, rows, left=len(header))
        for note in conf.notes():
            out.write(note + "\n")
        out.write("%d checks failed\n" % conf.failures())
        status = 1 if conf.failures() else 0
    if run.hardening is not None:
        # Informational: the hardening matrix never changes the exit status.
        out.write("\nhardening matrix (hardening.csv)\n")
        header, rows = run.hardening.matrix()
        aligned(out, header, rows, left=len(header))
    return status
