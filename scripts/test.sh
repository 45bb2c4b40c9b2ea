#!/usr/bin/env bash
# The README's test command: set up, build, run `meson test`, and close with
# one line "N passed, N failed" counted from meson's test log.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
build=${BUILD_DIR:-build}
meson test -C "$build" --print-errorlogs "$@"
status=$?
python3 scripts/count-tests.py "$build/meson-logs/testlog.json"
exit $status
