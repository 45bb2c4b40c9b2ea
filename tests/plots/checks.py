"""What the plot tests share: a tally of failed checks, and running a command
with its output passed through."""

import subprocess
import sys


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
