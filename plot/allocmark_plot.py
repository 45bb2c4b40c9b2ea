#!/usr/bin/env python3
"""allocmark's plots, reports, tables and comparison, reading only raw results.

    allocmark_plot.py plot [RUN_DIR]          charts and report of a run
                                              (default: results/latest)
    allocmark_plot.py report [RUN_DIR]        its table in the terminal
    allocmark_plot.py report --baseline NAME [RUN_DIR]
                                              the table against NAME, and the
                                              whole report against NAME in
                                              RUN_DIR/baseline-NAME/
    allocmark_plot.py report --micro [RUN_DIR]      allocmark-micro's table
    allocmark_plot.py report --memcore [RUN_DIR|FILE...]  memcore-bench's ratios
    allocmark_plot.py report --conformance [RUN_DIR]   the conformance matrix
    allocmark_plot.py compare RUN_A RUN_B     cell by cell, B against A

`allocmark plot`, `allocmark report` and `allocmark compare` run this script;
every one reads run directories through results.py. gnuplot (pngcairo and
svg terminals) draws the charts.

Exit status: 0 done; 1 some chart could not be drawn (the report says which);
2 bad arguments or a run directory that does not exist or has no cells.csv.
"""

import argparse
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree clean

from interpreter import ensure_numpy_scipy  # noqa: E402  (after the path is set)

ensure_numpy_scipy()

import charts  # noqa: E402
import compare  # noqa: E402
import programs  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402
import tables  # noqa: E402
from results import Run, RunError, read_benchmark_json  # noqa: E402

DEFAULT_RUN = os.path.join("results", "latest")
DEFAULT_BASELINE = "glibc"


def clean(out_dir):
    """Remove the charts and data of an earlier report in out_dir."""
    plots = os.path.join(out_dir, "plots")
    for pattern in ("*.png", "*.svg", os.path.join("data", "*.dat")):
        for path in glob.glob(os.path.join(plots, pattern)):
            os.remove(path)


def baseline_dir(run, name):
    """Where `report --baseline NAME` writes: a directory of the run's own,
    so that the report `plot` wrote (against glibc) stays as it is."""
    return os.path.join(run.path, "baseline-" + charts.slug(name))


def write_report(run, wanted_baseline, out_dir, command):
    """Every chart and report.md/report.html of run in out_dir, ratios
    against wanted_baseline; returns the exit status (1: a chart failed)."""
    clean(out_dir)
    baseline = run.baseline_of(wanted_baseline)
    wanted = charts.all_charts(run, baseline)
    failed = charts.draw(wanted, run, HERE, gnuplot=os.environ.get("GNUPLOT", "gnuplot"),
                         out_dir=out_dir)
    drawn = [c for c in wanted if c not in failed]
    skipped = list(run.notes)
    if len(run.ordered("threads")) < 2:
        skipped.append("one thread count in this run: no thread-scaling charts")
    for c in wanted:
        if c.error:
            sys.stderr.write("allocmark %s: %s: %s\n" % (command, c.name, c.error))
    skipped += ["chart %s could not be drawn: %s" % (c.name, c.error) for c in failed]
    if baseline is None and run.cells:
        skipped.append("no cells of the baseline %s: absolute throughput instead of ratios"
                       % wanted_baseline)
    md = report.write(run, drawn, skipped, baseline, out_dir=out_dir,
                      program_baseline=wanted_baseline)
    # Name the run's own directory, not results/latest, which moves on.
    real = os.path.realpath(md)
    shown = os.path.relpath(real) if not os.path.relpath(real).startswith("..") else real
    print("allocmark %s: %d charts (PNG and SVG) in %s" % (
        command, len(drawn), os.path.join(os.path.dirname(shown), "plots")))
    print("report: %s (and report.html)" % shown)
    return 1 if failed else 0


def cmd_plot(args):
    run = Run(args.run_dir)
    return write_report(run, args.baseline, run.path, "plot")


def cmd_report(args):
    if args.baseline is not None and (args.micro or args.memcore or args.conformance):
        raise RunError("--baseline is for the run's throughput table and report, not for "
                       "--micro (its ratios are --subject's), --memcore or --conformance")
    if args.memcore:
        sources = []
        for given in args.run_dir or [DEFAULT_RUN]:
            path = given
            if os.path.isdir(path):
                path = os.path.join(path, "memcore.json")
                if not os.path.exists(path):
                    raise RunError("%s: no memcore.json in the run directory" % given)
            elif not os.path.exists(path):
                raise RunError("%s: no such run directory or memcore-bench JSON file" % path)
            context, entries = read_benchmark_json(path)
            sources.append((path, context, entries))
        return tables.memcore_table(sources, sys.stdout)
    if len(args.run_dir) > 1:
        raise RunError("report: one run directory at a time (several only with --memcore, "
                       "got %d)" % len(args.run_dir))
    run = Run(args.run_dir[0] if args.run_dir else DEFAULT_RUN, need_cells=not args.micro)
    if args.micro:
        return tables.micro_table(run, sys.stdout, args.subject)
    if args.conformance:
        return tables.conformance_table(run, sys.stdout)
    if args.baseline is None:
        return tables.run_table(run, sys.stdout, DEFAULT_BASELINE)
    # Against another allocator: the table, then the whole report (every
    # table and chart) redrawn against it beside the run's own.
    known = run.ordered("allocator")
    known += [a for a in programs.allocators_of(run) if a not in known]
    if args.baseline not in known:
        raise RunError("--baseline %s: no cells of %s in %s (its allocators: %s)" % (
            args.baseline, args.baseline, run.path, ", ".join(known) or "none"))
    status = tables.run_table(run, sys.stdout, args.baseline)
    sys.stdout.write("\n")
    sys.stdout.flush()
    out_dir = baseline_dir(run, args.baseline)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise RunError("cannot create %s for the report against %s: %s" % (
            out_dir, args.baseline, e.strerror))
    return write_report(run, args.baseline, out_dir, "report") or status


REPORT_HELP = """Print a table of a finished run in the terminal.
Without an option: each cell's median ops/s, glibc's in millions, the others
relative to it; writes nothing. With --baseline NAME: the same table against
NAME, and the whole report redrawn against NAME (every table and chart) in
RUN_DIR/baseline-NAME/ (report.md, report.html, plots/), leaving the run's
own report (`allocmark plot`) as it is."""


def main(argv):
    parser = argparse.ArgumentParser(prog="allocmark", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("plot", help="charts and report of a run")
    p.add_argument("run_dir", nargs="?", default=DEFAULT_RUN,
                   help="run directory (default: %s)" % DEFAULT_RUN)
    p.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="NAME",
                   help="the allocator every ratio is relative to (default: glibc); "
                        "plotting again with another redraws the run's charts and report "
                        "(`allocmark report --baseline NAME` writes them beside instead)")
    r = sub.add_parser("report", help="a table of a run in the terminal",
                       description=REPORT_HELP)
    r.add_argument("run_dir", nargs="*", metavar="RUN_DIR",
                   help="run directory (default: %s); with --memcore also "
                        "memcore-bench JSON files, several allowed (a full run, then "
                        "reruns of some points: later files win)" % DEFAULT_RUN)
    which = r.add_mutually_exclusive_group()
    which.add_argument("--micro", action="store_true",
                       help="allocmark-micro's benchmarks (micro-*.json): median throughput "
                            "per allocator and the subject's ratio to each other allocator")
    which.add_argument("--memcore", action="store_true",
                       help="memcore-bench's bandwidth (memcore.json): each contender "
                            "relative to glibc, per operation, alignment and size")
    which.add_argument("--conformance", action="store_true",
                       help="the conformance matrix (conformance.csv)")
    r.add_argument("--baseline", metavar="NAME",
                   help="the allocator the others are relative to (default: glibc); given, "
                        "also writes the whole report against NAME into "
                        "RUN_DIR/baseline-NAME/")
    r.add_argument("--subject", default="slab", metavar="NAME",
                   help="with --micro: the allocator whose ratios are shown (default: slab)")
    c = sub.add_parser("compare", help="compare two runs cell by cell",
                       description=compare.__doc__.split("\n\n")[0])
    c.add_argument("run_a")
    c.add_argument("run_b", nargs="?",
                   help="the run to compare with RUN_A (not with --aa)")
    c.add_argument("--aa", action="store_true",
                   help="RUN_A is a run of `allocmark run --aa`: compare each allocator's "
                        "second copy (NAME#2) with its first, the noise floor of this machine")
    c.add_argument("--correction", choices=sorted(stats.CORRECTIONS), default="holm",
                   help="how the p-values are corrected for the number of cells: holm "
                        "(family-wise error, the default) or bh (Benjamini-Hochberg, false "
                        "discovery rate)")
    c.add_argument("--alpha", type=float, default=0.05,
                   help="a cell differs when its corrected p-value is below this "
                        "(default 0.05)")
    c.add_argument("--fail-if-slower", type=float, metavar="PCT",
                   help="exit 1 when a cell is called slower and its ratio B/A is more "
                        "than PCT %% below 1")
    args = parser.parse_args(argv)
    try:
        if args.command == "plot":
            return cmd_plot(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "compare":
            if not 0 < args.alpha < 1:
                parser.error("--alpha: %g is not between 0 and 1" % args.alpha)
            if args.fail_if_slower is not None and not 0 <= args.fail_if_slower < 100:
                parser.error("--fail-if-slower: %g is not a percentage from 0 to 100"
                             % args.fail_if_slower)
            if (args.run_b is None) != args.aa:
                parser.error("compare takes RUN_A RUN_B, or --aa and one run")
            return compare.main(args.run_a, args.run_b, sys.stdout,
                                correction=args.correction, alpha=args.alpha,
                                fail_if_slower=args.fail_if_slower, aa=args.aa)
    except RunError as e:
        sys.stderr.write("allocmark %s: %s\n" % (args.command, e))
        return 2
    parser.print_usage(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
