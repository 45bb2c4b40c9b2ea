"""The tally the harness and program tests keep: check(ok, message) counts a
passed check, or counts and prints a failed one, and returns ok."""

import sys


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, ok, message):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {message}", file=sys.stderr)
        return ok

    def summary(self):
        return f"{self.passed} passed, {self.failed} failed"
