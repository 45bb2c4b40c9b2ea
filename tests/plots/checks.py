"""What the plot tests share: a tally of failed checks, running a command
with its output passed through, and reading cells.csv straight from the file
(not through plot/results.py, so that a reader that misreads it is caught)."""

import csv
import statistics
import subprocess
import sys


def rows_of(path):
    """The rows of a cells.csv, its comment lines skipped."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def median_ops(rows, allocator, workload, threads):
    """The median ops/s of a cell's ok repetitions, or None."""
    values = [float(r["ops_per_sec"]) for r in rows if r["allocator"] == allocator
              and r["workload"] == workload and r["threads"] == str(threads)
              and r["status"] == "ok"]
    return statistics.median(values) if values else None


class Checks:
    """check(condition, what) records and prints a failed check; result()
    prints the count and gives the exit status."""

    def __init__(self):
        self.failures = []

    def __call__(self, condition, what):
        if not condition:
            self.failures.append(what)
            print("FAIL: " + what)
        return condition

    def result(self):
        print("%d failures" % len(self.failures))
        return 1 if self.failures else 0


def run(*command):
    """Run a command, echo its output, return the CompletedProcess."""
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=600, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    return proc
