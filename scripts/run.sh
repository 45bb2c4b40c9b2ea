#!/usr/bin/env bash
# The README's main command: set up, build, then run allocmark's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${BUILD_DIR:-build}
"$build/harness/allocmark" list
echo
"$build/harness/allocmark" check

# Plots and report of the newest run (plot/): the conformance matrix goes into
# the run directory for the report; the last line says where the report is.
if [ -d results/latest ]; then
  "$build/harness/allocmark" check > results/latest/conformance.txt || true
  "$build/harness/allocmark" plot results/latest
else
  echo "no run in results/ yet: nothing to plot"
fi
