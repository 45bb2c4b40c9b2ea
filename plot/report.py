"""The report of a run: report.md and report.html in the run directory, built
from one list of blocks (headings, paragraphs, tables, preformatted text,
images) so that the two say the same thing."""

import html
import os
import statistics

import fragmentation
import stats
import tables
from results import HARDENING_NOTE, METRICS
import programs

# The metric that the tables rank by.
ABSOLUTE = "ops_per_sec"


class Bad(str):
    """Table text that reports a failure or a wrong output: red in HTML,
    bold in Markdown."""
class Report:
    """An ordered list of blocks, rendered as Markdown or HTML."""

    def __init__(self):
        self.blocks = []

    def heading(self, level, text):
        self.blocks.append(("heading", level, text))

    def para(self, text):
        self.blocks.append(("para", text))

    def bullets(self, items):
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, header, rows):
        if rows:
            self.blocks.append(("table", header, rows))

    def pre(self, text):
        self.blocks.append(("pre", text.rstrip("\n")))

    def image(self, png, svg, alt, caption):
        self.blocks.append(("image", png, svg, alt, caption))

    def markdown(self):
        out = []
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out.append("#" * block[1] + " " + block[2])
            elif kind == "para":
                out.append(block[1])
            elif kind == "bullets":
                out.append("\n".join("- " + item for item in block[1]))
            elif kind == "table":
                cell = lambda text: ("**%s**" if isinstance(text, Bad) else "%s") % \
                    str(text).replace("|", "\\|")
                lines = ["| " + " | ".join(cell(h) for h in block[1]) + " |",
                         "|" + "---|" * len(block[1])]
                lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in block[2]]
                out.append("\n".join(lines))
            elif kind == "pre":
                out.append("```\n%s\n```" % block[1])
            elif kind == "image":
                _, png, svg, alt, caption = block
                out.append("![%s](%s)\n\n%s ([SVG](%s))" % (alt, png, caption, svg))
        return "\n\n".join(out) + "\n"

    def html(self, title):
        e = html.escape
        out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
               "<title>%s</title>" % e(title),
               "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;"
               "padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}"
               "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
               "td:first-child,th:first-child{text-align:left}"
               "pre{background:#f5f5f5;padding:1em;overflow-x:auto}"
               "img{max-width:100%;border:1px solid #eee}figure{margin:1.5em 0}"
               "td.bad{color:#b00000;font-weight:bold}"
               "</style></head><body>"]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out.append("<h%d>%s</h%d>" % (block[1], e(block[2]), block[1]))
            elif kind == "para":
                out.append("<p>%s</p>" % e(block[1]))
            elif kind == "bullets":
                out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % e(i) for i in block[1]))
            elif kind == "table":
                head = "".join("<th>%s</th>" % e(str(h)) for h in block[1])
                body = "".join("<tr>%s</tr>" % "".join(
                    ("<td class=\"bad\">%s</td>" if isinstance(c, Bad) else "<td>%s</td>")
                    % e(str(c)) for c in row) for row in block[2])
                out.append("<table><tr>%s</tr>%s</table>" % (head, body))
            elif kind == "pre":
                out.append("<pre>%s</pre>" % e(block[1]))
            elif kind == "image":
                _, png, svg, alt, caption = block
                out.append("<figure><img src=\"%s\" alt=\"%s\"><figcaption>%s "
                           "(<a href=\"%s\">PNG</a>)</figcaption></figure>"
                           % (e(svg), e(alt), e(caption), e(png)))
        out.append("</body></html>")
        return "\n".join(out) + "\n"


def flatten(data, prefix=""):
    """Metadata as (dotted key, printable value) pairs, long values cut."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from flatten(value, prefix + str(key) + ".")
        return
    if isinstance(data, list) and all(not isinstance(v, (dict, list)) for v in data):
        data = " ".join(str(v) for v in data)
    text = str(data)
    if len(text) > 160:
        text = text[:157] + "..."
    yield prefix.rstrip("."), text


def machine_rows(run):
    """The machine and the build in a few lines, from metadata.json."""
    memory = run.meta("machine.memory_bytes")
    if memory.isdigit():
        memory = "%.1f GiB" % (int(memory) / 2**30)
    commit = run.meta("git.commit")
    if commit and run.meta("git.dirty") == "true":
        commit += " (with uncommitted changes)"
    compiler = " ".join(v for v in (run.meta("build.compiler"), run.meta("build.c_args")) if v)
    rows = [
        ("host", run.meta("machine.hostname")),
        ("CPU", run.meta("machine.cpu_model")),
        ("CPUs online", run.meta("machine.nproc")),
        ("memory", memory),
        ("kernel", run.meta("machine.kernel")),
        ("C library", run.meta("libraries.glibc.version")),
        ("compiler", compiler),
        ("allocmark", commit),
        ("profile", run.meta("profile")),
        ("started", run.meta("started")),
        ("finished", run.meta("finished")),
    ]
    return [[k, v] for k, v in rows if v]


def ci_si(estimate, unit=""):
    """'19.4 M [19.1 M, 20.5 M]': an SI-scaled median and its interval."""
    if not estimate:
        return "-"
    top = max(abs(v) for v in (estimate.value, estimate.low, estimate.high) if v is not None)
    for divisor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")):
        if top >= divisor or divisor == 1.0:
            return stats.fmt(estimate, scale=divisor) + (" " + prefix + unit).rstrip()
    return "-"


def ci_mib(estimate):
    return stats.fmt(estimate, scale=2**20) if estimate else "-"


def workload_table(run, workload, baseline):
    """One row per allocator and thread count: every median with its 95 %
    interval, and the throughput's ratio to the baseline with the ratio's."""
    header = ["allocator", "threads", "reps ok", "ops/s median [95% CI]",
              "vs %s [95%% CI]" % baseline, "ns/op", "malloc p50 ns", "malloc p99 ns",
              "free p50 ns", "free p99 ns", "peak RSS MiB", "peak live MiB", "fragmentation"]
    rows = []
    for threads in run.ordered("threads"):
        base = run.cell(baseline, workload, threads)
        for allocator in run.ordered("allocator"):
            cell = run.cell(allocator, workload, threads)
            if cell is None:
                continue
            ok = "%d/%d" % (len(cell.ok_reps), len(cell.reps))
            if cell.failures:
                ok += " (%s)" % cell.failure_text()
            if run.hit_cap(cell):
                ok += " ^"
            if cell.failed:
                rows.append([cell.label, threads, ok] + ["failed: " + cell.failure_text()]
                            + ["-"] * (len(header) - 4))
                continue
            est = cell.estimate
            rows.append([
                cell.label, threads, ok, ci_si(est(ABSOLUTE)),
                stats.fmt(run.ratio(cell, base)) if base else "-",
                stats.fmt(est("ns_per_op")),
                stats.fmt(est("malloc_p50_ns")), stats.fmt(est("malloc_p99_ns")),
                stats.fmt(est("free_p50_ns")), stats.fmt(est("free_p99_ns")),
                ci_mib(est("peak_rss_bytes")), ci_mib(est("peak_live_bytes")),
                stats.fmt(est("fragmentation")),
            ])
    return header, rows


def summary_table(run, threads, baseline):
    """Workloads down, allocators across: median throughput as a ratio to the
    baseline's, with the ratio's 95 % interval."""
    allocators = [a for a in run.ordered("allocator")
                  if any(c.allocator == a and c.threads == threads for c in run.cells.values())]
    rows = []
    for workload in run.ordered("workload"):
        base = run.cell(baseline, workload, threads) if baseline else None
        row = [workload]
        for allocator in allocators:
            cell = run.cell(allocator, workload, threads)
            if cell is None:
                row.append("")
            elif cell.failed:
                row.append("failed: " + cell.failure_text())
            elif base is not None and not base.failed:
                row.append(stats.fmt(run.ratio(cell, base)) + ("^" if run.hit_cap(cell) else ""))
            else:
                row.append(ci_si(cell.estimate(ABSOLUTE), "ops/s"))
        if any(row[1:]):
            rows.append(row)
    return ["workload"] + allocators, rows


def noise_floor(run):
    """Per workload and thread count: the half-width of the ops/s interval
    relative to the median, the median and the largest over the allocators
    (the cells that succeeded with at least two repetitions)."""
    rows = []
    for workload in run.ordered("workload"):
        for threads in run.ordered("threads"):
            halves = [c.estimate(ABSOLUTE).half_width() for c in run.cells.values()
                      if c.workload == workload and c.threads == threads and not c.failed]
            halves = [h for h in halves if h is not None]
            if halves:
                halves.sort()
                rows.append([workload, threads, len(halves),
                             "%.1f %%" % (100 * statistics.median(halves)),
                             "%.1f %%" % (100 * halves[-1])])
    # Programs: the interval of their throughput (figure of merit or 1 / wall).
    for program in programs.programs_of(run):
        halves = [c.estimate("throughput").half_width() for (a, p), c in run.programs.items()
                  if p == program and not c.failed]
        halves = sorted(h for h in halves if h is not None)
        if halves:
            rows.append([program, "-", len(halves),
                         "%.1f %%" % (100 * statistics.median(halves)),
                         "%.1f %%" % (100 * halves[-1])])
    return rows


FRAGMENTATION = ["frag_peak", "frag_mean", "os_frag_peak", "os_frag_mean"]


def fragmentation_rows(run):
    """One row per cell that reports fragmentation: its medians."""
    rows = []
    for workload in run.ordered("workload"):
        for threads in run.ordered("threads"):
            for allocator in run.ordered("allocator"):
                cell = run.cell(allocator, workload, threads)
                if cell is None:
                    continue
                med = []
                for column in FRAGMENTATION:
                    values = [float(r[column]) for r in cell.ok_reps if r.get(column)]
                    med.append(statistics.median(values) if values else None)
                if any(m is not None for m in med):
                    rows.append([workload, threads, cell.label]
                                + ["-" if m is None else "%.2f" % m for m in med])
    return rows


def add_replays(rep, run, charts, figure):
    """A section per trace replay: memory against the recorded program's live
    bytes, as a table with intervals and fragmentation.py's charts."""
    workloads = fragmentation.replay_workloads(run)
    if not workloads:
        return
    rep.heading(2, "Trace replays: memory against the ideal")
    rep.para("A trace replay knows the recorded program's live bytes at every event, so "
             "what an allocator holds above them is its own waste: peak RSS above the "
             "baseline / peak live bytes, the time-weighted mean of RSS above the baseline / "
             "that of live bytes, and the same with the allocator's own OS bytes where it "
             "reports them; 1.0 would hold exactly the live bytes. Medians over the "
             "repetitions that succeeded, each with its 95 % confidence interval in brackets "
             "([-]: one repetition). Waiting: thread-seconds the replay's threads waited for "
             "each other, never counted as allocator time. Calls issued: the replay's calls "
             "by function; on glibc, a trace recorded on glibc gives its recording's "
             "operation mix (docs/trace-format.md).")
    for workload in workloads:
        rep.heading(3, "Replay: %s" % workload)
        rep.table(*fragmentation.table(run, workload))
        for c in charts:
            if c.section == "replay" and c.workload == workload:
                figure(c)


def failed_reps(run):
    rows = []
    for cell in run.cells.values():
        for r in cell.reps:
            status = (r.get("status") or "ok").lower()
            if status != "ok":
                rows.append([r.get("label") or cell.allocator, cell.workload, cell.threads,
                             r.get("rep", ""), status, r.get("reason", "")])
    return rows


def build(run, charts, skipped, baseline, program_baseline="glibc"):
    """The report's blocks. charts: those drawn; skipped: notes on what the
    run did not hold or what could not be drawn; baseline: the allocator
    that ratios are relative to (None: the run does not have the one asked);
    program_baseline: the one the programs' ratios are relative to."""
    rep = Report()
    rep.heading(1, "allocmark report: %s" % run.name)
    rep.para(run.footer())
    warnings = tables.environment_warnings(run)
    if warnings:
        rep.bullets(["Warning: " + w for w in warnings])

    rep.heading(2, "Machine")
    rep.table(["machine", "value"], machine_rows(run))
    if not run.metadata:
        rep.para("No metadata.json in the run directory.")
    else:
        rep.para("Everything metadata.json records is at the end of this report.")

    rep.heading(2, "Command")
    rep.pre(run.command or run.meta("command") or "(not recorded)")
    cells = list(run.cells.values())
    failed = [c for c in cells if c.failed]
    partial = [c for c in cells if c.failures and not c.failed]
    rep.para("%d cells (allocator, workload, threads) over %d rows: %d with every "
             "repetition ok, %d with some repetitions failed, %d with none ok. "
             "Allocators: %s. Workloads: %s. Threads: %s." % (
                 len(cells), sum(len(c.reps) for c in cells),
                 len(cells) - len(failed) - len(partial), len(partial), len(failed),
                 ", ".join(run.ordered("allocator")), ", ".join(run.ordered("workload")),
                 ", ".join(str(t) for t in run.ordered("threads"))))
    stopped = sum(1 for c in cells for r in c.ok_reps if (r.get("complete") or "1") == "0")
    if stopped:
        rep.para("%d successful repetitions stopped at the time budget before finishing "
                 "their operations (complete = 0): their throughput covers the operations "
                 "they did." % stopped)
    if run.meta("interrupted").lower() in ("true", "1", "yes"):
        rep.para("The run was interrupted: cells after the interruption are absent.")

    rep.heading(2, "How to read the numbers")
    rep.para("Every median comes with its 95 % confidence interval in brackets, "
             "`1.42 [1.35, 1.50]`, and every chart draws that interval as its whisker. "
             "A median's interval lies between two of its repetitions (an order-statistic "
             "interval, which assumes nothing about the distribution); a ratio's comes "
             "from a bootstrap that resamples both cells' repetitions. Two cells whose "
             "intervals overlap may still differ, and two whose ratio interval excludes "
             "1 are likely to: `allocmark compare` tests it.")
    rep.bullets(tables.method_lines(run) + [tables.interval_note(run)])
    if baseline:
        rep.para("Ratios are relative to %s (`allocmark report --baseline NAME RUN` writes "
                 "this report against another allocator into RUN/baseline-NAME/)." % baseline)
    floor = noise_floor(run)
    if floor:
        rep.heading(3, "Noise floor of this run")
        rep.para("Half the width of each cell's ops/s interval (a program's: its "
                 "throughput's, threads -), relative to its median: "
                 "the median over the allocators, and the widest. A difference between "
                 "two allocators much smaller than this cannot be told from noise in this "
                 "run. The machine's typical values are in docs/statistics.md.")
        rep.table(["workload", "threads", "cells", "median half-width", "widest"], floor)

    rep.heading(2, "Conformance")
    if run.conformance:
        conf = run.conformance
        rep.para("`%s`: %d checks failed." % (conf.command or "allocmark check",
                                               conf.failures()))
        rep.table(*conf.matrix())
        rep.bullets(conf.notes())
    else:
        rep.para("Not recorded: the run directory has no conformance.csv "
                 "(scripts/run.sh saves `allocmark check --format csv` there).")

    rep.heading(2, "Hardening matrix")
    if run.hardening:
        rep.para("`allocmark check --hardening-csv`: what each allocator did with each "
                 "misuse. " + HARDENING_NOTE)
        rep.table(*run.hardening.matrix())
    else:
        rep.para("Not recorded: the run directory has no hardening.csv "
                 "(scripts/run.sh saves `allocmark check --hardening-csv` there).")

    by_section = lambda section, workload=None: [
        c for c in charts if c.section == section and c.workload == workload]
    figure = lambda c: rep.image(c.png(), c.svg(), c.title, c.caption)

    rep.heading(2, "Throughput")
    for threads in run.ordered("threads"):
        header, rows = summary_table(run, threads, baseline)
        if rows:
            rep.para(("Median throughput relative to %s (%s = 1, higher is better) with the "
                      "ratio's 95 %% interval, " % (baseline, baseline) if baseline else
                      "Median throughput with its 95 % interval (no baseline in this run), ")
                     + "%d thread%s:" % (threads, "" if threads == 1 else "s"))
            rep.table(header, rows)
    for c in by_section("throughput"):
        figure(c)

    if by_section("memory"):
        rep.heading(2, "Memory")
        for c in by_section("memory"):
            figure(c)

    for workload in run.ordered("workload"):
        rep.heading(2, "Workload: %s" % workload)
        rep.para("Medians over the repetitions that succeeded, each with its 95 % "
                 "confidence interval in brackets ([-]: one repetition, no interval).")
        header, rows = workload_table(run, workload, baseline)
        rep.table(header, rows)
        for c in by_section("workload", workload):
            figure(c)

    add_replays(rep, run, charts, figure)

    rows = fragmentation_rows(run)
    if rows:
        rep.heading(2, "Fragmentation against the ideal")
        rep.para("Medians over the repetitions that succeeded; 1.0 would hold exactly the "
                 "live bytes. frag_peak: peak RSS above the baseline / peak live bytes; "
                 "frag_mean: the same as time-weighted means; os_frag_*: with the "
                 "allocator's own OS bytes instead of RSS, where it reports them. In a trace "
                 "replay the live bytes are the recorded program's. `python3 "
                 "plot/fragmentation.py RUN_DIR` draws them, and RSS over live bytes in time.")
        rep.table(["workload", "threads", "allocator"] + FRAGMENTATION, rows)

    for section, heading in (("bandwidth", "memcpy and memset"),
                             ("micro", "Microbenchmarks (allocmark-micro)")):
        if by_section(section):
            rep.heading(2, heading)
            for c in by_section(section):
                figure(c)

    programs.add_to_report(rep, run, charts, Bad, program_baseline)

    rows = failed_reps(run)
    if rows:
        rep.heading(2, "Failed repetitions")
        rep.para("A failed repetition has no metrics: it is missing from the medians "
                 "and from the charts, never counted as zero.")
        rep.table(["allocator", "workload", "threads", "rep", "status", "reason"], rows)

    if skipped:
        rep.heading(2, "Not in this report")
        rep.bullets(skipped)

    if run.metadata:
        rep.heading(2, "Run metadata")
        rep.table(["metadata.json", "value"], [[k, v] for k, v in flatten(run.metadata)])
    if os.path.exists(os.path.join(run.path, "cells.log")):
        rep.para("What the cells' processes wrote to stderr is in cells.log.")

    extra = [c for c in run.columns if c not in METRICS and c not in (
        "allocator", "label", "workload", "threads", "rep", "status", "reason", "complete",
        "cpu") and c not in FRAGMENTATION and not (run.programs and c in programs.COLUMNS)
        and not (fragmentation.replay_workloads(run) and c in fragmentation.REPLAY_COLUMNS)]
    if extra:
        rep.para("Columns of cells.csv this report does not use: %s." % ", ".join(extra))
    return rep


def write(run, charts, skipped, baseline, out_dir=None, program_baseline="glibc"):
    """Write report.md and report.html into out_dir (default: the run
    directory; its charts in out_dir/plots/); return the path of report.md.
    program_baseline: what the programs' ratios are relative to (baseline
    is None when the workloads do not have it; the programs may)."""
    rep = build(run, charts, skipped, baseline, program_baseline)
    out_dir = out_dir or run.path
    md = os.path.join(out_dir, "report.md")
    with open(md, "w", encoding="utf-8") as f:
        f.write(rep.markdown())
    with open(os.path.join(out_dir, "report.html"), "w", encoding="utf-8") as f:
        f.write(rep.html("allocmark report: %s" % run.name))
    return md

