#!/usr/bin/env bash
# The README's main command: set up, build, check every allocator's
# conformance, then run the quick benchmark matrix and print its table.
#
#   BUILD_DIR   build directory (default: build)
#   Arguments are passed to `allocmark run` (e.g. -a glibc,jemalloc -r 1).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
build=${BUILD_DIR:-build}
"$build/harness/allocmark" list
echo
"$build/harness/allocmark" check
check=$?
echo
"$build/harness/allocmark" run "$@"
run=$?
case $run in
  0) ;;
  1) echo "allocmark: some cells failed; their rows in cells.csv say why" ;;
  *) exit $run ;; # bad arguments (2) or interrupted (130)
esac
echo
python3 scripts/report.py results/latest
echo
echo "Results: results/latest -> results/$(readlink results/latest) (format: results/README.md)"
[ $check -eq 0 ] && [ $run -eq 0 ]
