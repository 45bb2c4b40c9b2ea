"""The programs of a run (cells.csv rows with kind=program): their charts,
time against peak RSS and RSS over time, and their part of the report, the
tables with wrong and failed cells marked and slab's ratios to the
references. Reads only what results.py read from the run directory.
"""

import math
import re
from collections import OrderedDict

from charts import Chart, line_chart, quoted, scale_for, slug, field
from results import OK, SECOND_COPY, Spread, number, int_or, status_of

SECTION = "program"
SKIPPED = "skipped"
# The columns of cells.csv this module reads beyond the workloads' metrics.
COLUMNS = ["kind", "wall_s", "exit_status", "major_faults", "voluntary_switches",
           "involuntary_switches", "throughput", "throughput_unit", "latency_p50_us",
           "latency_p99_us", "output_checksum", "rss_samples", "sampler_cpu_s"]


def in_plan_order(run, field, values):
    """values (distinct, in cells.csv's order, which --order interleaved
    shuffles) in the order metadata.json's plan lists them, the rest after."""
    plan = []
    for x in run.metadata.get(field) or []:
        name = x.get("name") if isinstance(x, dict) else x
        plan += [name, name + SECOND_COPY]  # --aa: the second copy after the first
    values = list(OrderedDict.fromkeys(values))
    place = lambda v: plan.index(v) if v in plan else len(plan)  # noqa: E731
    return sorted(values, key=place)


def programs_of(run):
    return in_plan_order(run, "programs", (p for _, p in run.programs))


def allocators_of(run):
    return in_plan_order(run, "allocators", (a for a, _ in run.programs))


def slot(run, allocator):
    """The allocator's colour slot: its place among the workloads' allocators,
    else among the programs'."""
    ordered = run.ordered("allocator")
    if allocator in ordered:
        return ordered.index(allocator)
    extra = [a for a in allocators_of(run) if a not in ordered]
    return len(ordered) + extra.index(allocator)


def ok_reps(cell):
    return [r for r in cell.reps if status_of(r) == OK]


def problems(cell):
    """{status: count} of the repetitions that are neither ok nor skipped."""
    out = OrderedDict()
    for r in cell.reps:
        s = status_of(r)
        if s not in (OK, SKIPPED):
            out[s] = out.get(s, 0) + 1
    return out


def problem_text(cell):
    """The statuses that are neither ok nor skipped, with their counts; a
    timeout says its limit (from the cell's reason: "still running after
    X s"), so that a reader sees how long the allocator was given."""
    counts = problems(cell)
    limits = [m.group(1) for r in cell.reps if status_of(r) == "timeout"
              for m in [re.search(r"after ([0-9.]+) s", r.get("reason") or "")] if m]
    def text(s, n):
        t = s if n == len(cell.reps) else "%d %s" % (n, s)
        return t + " at %s s" % limits[0] if s == "timeout" and limits else t
    return ", ".join(text(s, n) for s, n in counts.items())


def uses_merit(cell):
    """Whether the program printed its own figure of merit (not runs/s)."""
    return any((r.get("throughput_unit") or "runs/s") != "runs/s" for r in ok_reps(cell))


def time_of(row):
    """A repetition's time, lower is better: the wall time, or for a program
    with its own figure of merit the time per unit of it (1 / throughput)."""
    if (row.get("throughput_unit") or "runs/s") != "runs/s":
        merit = number(row.get("throughput"))
        return 1.0 / merit if merit else None
    return number(row.get("wall_s"))


def spread_of(cell, metric):
    if metric == "time":
        return Spread(time_of(r) for r in ok_reps(cell))
    return Spread(number(r.get(metric)) for r in ok_reps(cell))


def time_axis(run, program):
    """(label, factor) of the time axis: seconds, or microseconds per unit."""
    cells = [c for (a, p), c in run.programs.items() if p == program]
    merit = next((c for c in cells if uses_merit(c)), None)
    if merit is None:
        return "wall time (s)", 1.0
    unit = next(r.get("throughput_unit") for r in ok_reps(merit))
    per = unit.split("/")[0] if "/" in unit else unit
    return "time per %s (us; 1 / %s)" % (per.rstrip("s") or "unit", unit), 1e6


# -- charts -------------------------------------------------------------------

def tradeoff_chart(run, program):
    """Median time against median peak RSS, one point per allocator, with
    the slowest and fastest repetition (and the smallest and largest peak)
    as bars. Allocators with wrong output or failures have no point: the red
    note names them."""
    ylabel, factor = time_axis(run, program)
    series, notes = [], []
    for a in allocators_of(run):
        cell = run.programs.get((a, program))
        if cell is None:
            continue
        bad = problem_text(cell)
        if bad:
            notes.append("%s: %s" % (a, bad))
        t, rss = spread_of(cell, "time"), spread_of(cell, "peak_rss_bytes")
        if not t or not rss or bad:
            continue
        mib = 1.0 / (1 << 20)
        series.append((a, slot(run, a), [
            rss.median * mib, t.median * factor, rss.min * mib, rss.max * mib,
            t.min * factor, t.max * factor]))
    if not series:
        return None
    chart = Chart(slug("tradeoff-%s" % program), "%s: time against peak memory" % program,
                  "points.gp", SECTION, workload=program,
                  caption="Median over the repetitions that succeeded, bars from the "
                          "lowest to the highest; lower left is best. Peak RSS is the "
                          "whole process tree's.")
    for key, _, point in series:
        chart.blocks.append(["x\t%s\txlow\txhigh\tylow\tyhigh" % quoted(key),
                             "\t".join(field(v) for v in point)])
    chart.vars.update(keys=" ".join(k for k, _, _ in series),
                      slots=" ".join(str(s) for _, s, _ in series),
                      xlabel="peak RSS of the process tree (MiB)", ylabel=ylabel,
                      notes="no point (wrong or failed): " + "; ".join(notes) if notes else "")
    return chart


def rss_chart(run, program):
    """RSS of the process tree against seconds, the first ok repetition of
    each allocator."""
    rows = [r for r in run.timeseries if r.get("workload") == program
            and not (r.get("threads") or "").strip()]
    if not rows:
        return None
    values = [number(r.get("rss_bytes")) for r in rows]
    divisor, unit = scale_for(values, "B", binary=True)
    series = []
    for a in allocators_of(run):
        cell = run.programs.get((a, program))
        mine = [r for r in rows if r.get("allocator") == a]
        if cell is None or not mine:
            continue
        ok = [int_or(r.get("rep"), 0) for r in ok_reps(cell)]
        rep = next((x for x in ok if any(int_or(r.get("rep"), 0) == x for r in mine)), None)
        if rep is None:
            continue
        chosen = sorted((r for r in mine if int_or(r.get("rep"), 0) == rep),
                        key=lambda r: number(r.get("sample")) or 0)
        points = [(number(r.get("seconds")), number(r.get("rss_bytes")) / divisor, None, None)
                  for r in chosen if number(r.get("seconds")) is not None
                  and number(r.get("rss_bytes")) is not None]
        if points:
            series.append((a, slot(run, a), "%s (rep %d)" % (a, rep), points))
    if not series:
        return None
    chart = Chart(slug("rss-%s" % program), "%s: resident memory over time" % program,
                  "lines.gp", SECTION, workload=program,
                  caption="RSS of the whole process tree sampled from /proc every 10 ms "
                          "(each point the highest of its stretch), from the program's start; "
                          "one repetition per allocator (the first that succeeded).")
    chart.vars.update(xlabel="time since start (s)", ylabel="RSS (%s)" % unit, points=0,
                      errorbars=0)
    return line_chart(chart, series, [])


def program_charts(run):
    charts = []
    for p in programs_of(run):
        charts.append(tradeoff_chart(run, p))
        charts.append(rss_chart(run, p))
    return [c for c in charts if c is not None]


# -- report -------------------------------------------------------------------

def si(value):
    if value is None:
        return "-"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return "%.3g %s" % (value / div, prefix)
    return "%.3g" % value


def fixed(value, digits=2):
    return "-" if value is None else "%.*f" % (digits, value)


def program_table(run, program, bad, baseline="glibc"):
    """One program's rows; bad(text) marks a cell's text as a failure; time
    and peak RSS also as ratios to baseline's."""
    header = ["allocator", "reps ok", "wall s (median)", "min - max", "throughput",
              "time vs %s" % baseline, "peak RSS MiB", "vs %s" % baseline, "user s", "sys s",
              "minor faults", "major", "ctx switches vol / invol", "latency p50 / p99 us",
              "exit"]
    base = run.programs.get((baseline, program))
    base_t = spread_of(base, "time").median if base else None
    base_m = spread_of(base, "peak_rss_bytes").median if base else None
    rows = []
    for a in allocators_of(run):
        cell = run.programs.get((a, program))
        if cell is None:
            continue
        ok = ok_reps(cell)
        skipped = [r for r in cell.reps if status_of(r) == SKIPPED]
        count = "%d/%d" % (len(ok), len(cell.reps))
        if skipped and len(skipped) == len(cell.reps):
            rows.append([a, count, "skipped: " + (skipped[0].get("reason") or "")]
                        + ["-"] * (len(header) - 3))
            continue
        if problems(cell):
            count = bad(count + " (" + problem_text(cell) + ")")
        if not ok:
            rows.append([a, count, bad(problem_text(cell))] + ["-"] * (len(header) - 3))
            continue
        med = lambda m: spread_of(cell, m).median
        wall = spread_of(cell, "wall_s")
        t, rss = med("time"), med("peak_rss_bytes")
        unit = ok[0].get("throughput_unit") or "runs/s"
        rows.append([
            a, count, fixed(wall.median, 3),
            "%s - %s" % (fixed(wall.min, 3), fixed(wall.max, 3)) if wall.n > 1 else "1 rep",
            "%s %s" % (si(med("throughput")), unit),
            "%.2f" % (t / base_t) if t and base_t else "-",
            fixed(rss / (1 << 20) if rss else None, 1),
            "%.2f" % (rss / base_m) if rss and base_m else "-",
            fixed(med("user_s")), fixed(med("sys_s")), si(med("minor_faults")),
            si(med("major_faults")),
            "%s / %s" % (si(med("voluntary_switches")), si(med("involuntary_switches"))),
            "%s / %s" % (fixed(med("latency_p50_us"), 0), fixed(med("latency_p99_us"), 0))
            if med("latency_p50_us") is not None else "-",
            ok[0].get("exit_status") or "-",
        ])
    return header, rows


def geomean(values):
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ratio_table(run, subject="slab", references=("mimalloc", "jemalloc")):
    """subject's median time and peak RSS over each reference's, per program,
    and their geometric means (programs where both have ok data)."""
    refs = [r for r in references if any(a == r for a, _ in run.programs)]
    if not any(a == subject for a, _ in run.programs) or not refs:
        return None, None
    header = ["program"] + ["time / %s" % r for r in refs] + ["peak RSS / %s" % r for r in refs]
    rows, columns = [], [[] for _ in range(2 * len(refs))]
    for p in programs_of(run):
        mine = run.programs.get((subject, p))
        row = [p]
        for k, metric in enumerate(["time"] * len(refs) + ["peak_rss_bytes"] * len(refs)):
            other = run.programs.get((refs[k % len(refs)], p))
            a = spread_of(mine, metric).median if mine else None
            b = spread_of(other, metric).median if other else None
            if a and b and not problems(mine) and not problems(other):
                columns[k].append(a / b)
                row.append("%.2f" % (a / b))
            else:
                row.append("-")
        rows.append(row)
    means = [geomean(c) for c in columns]
    rows.append(["geometric mean (%d programs)" % min(len(c) for c in columns)]
                + ["%.2f" % m if m else "-" for m in means])
    return header, rows


def sampler_cost(run):
    """The median cost of one RSS sample, in microseconds of the harness's CPU."""
    per = [number(r.get("sampler_cpu_s")) / number(r.get("rss_samples"))
           for c in run.programs.values() for r in ok_reps(c)
           if number(r.get("sampler_cpu_s")) is not None and number(r.get("rss_samples"))]
    return Spread(per).median


def add_to_report(rep, run, charts, bad, baseline="glibc"):
    """The programs' section: rep is a report.Report, bad(text) marks text
    as a failure (red in HTML, bold in Markdown); the tables' ratios are
    relative to baseline."""
    if not run.programs:
        return
    rep.heading(2, "Programs")
    cost = sampler_cost(run)
    rep.para("Each cell runs a real program with the allocator as its malloc (a reference's "
             "library, an in-house backend's drop-in, glibc's own C library) as LD_PRELOAD, "
             "measured from outside: wall time from start to exit, user and system time, "
             "faults and context switches from wait4 (the program and the children it "
             "waited for), peak RSS as the larger of the highest sum of the process tree's "
             "RSS sampled from /proc every 10 ms and the largest single process's maxrss. "
             "Throughput is the program's own figure of merit where it prints one, else "
             "1 / wall time. An output that differs from glibc's run of the same program "
             "(or fails its check) is 'wrong' and has no metrics. Unless --timeout was "
             "given, an allocator other than glibc is stopped at 5 times glibc's time for "
             "the program plus 2 s ('timeout at X s'; the profile's limit where that is "
             "less) and skipped on that program in later repetitions: an allocator that "
             "hands each small block a page or a mapping of its own can be that slow.%s"
             % (" One sample costs the harness about %.0f us of CPU (median)." % (cost * 1e6)
                if cost else ""))
    header, rows = ratio_table(run)
    if rows:
        rep.para("slab against the references: median time (lower is better; for a program "
                 "with its own figure of merit, 1 / throughput) and median peak RSS, as "
                 "ratios; a ratio below 1 favours slab.")
        rep.table(header, rows)
    for p in programs_of(run):
        rep.heading(3, "Program: %s" % p)
        header, rows = program_table(run, p, bad, baseline)
        rep.table(header, rows)
        for c in charts:
            if c.section == SECTION and c.workload == p:
                rep.image(c.png(), c.svg(), c.title, c.caption)
    failed = [[a, p, r.get("rep", ""), bad(status_of(r)), r.get("reason", "")]
              for (a, p), c in run.programs.items() for r in c.reps
              if status_of(r) not in (OK, SKIPPED)]
    if failed:
        rep.heading(3, "Program cells that failed or gave wrong output")
        rep.table(["allocator", "program", "rep", "status", "reason"], failed)
