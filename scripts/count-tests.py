#!/usr/bin/env python3
"""Print 'N passed, N failed' (and ', N skipped') from meson testlog.json files.

Each file holds one JSON object per test. An expected failure counts as passed
(meson's own view); anything that is not OK, EXPECTEDFAIL or SKIP failed.
Exits 1 when a file is missing or unreadable.
"""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                result = json.loads(line).get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except (OSError, ValueError) as e:
        print(f"count-tests: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(1)
summary = f"{passed} passed, {failed} failed"
if skipped:
    summary += f", {skipped} skipped"
print(summary)
