#!/usr/bin/env bash
# The README's main command: set up, build, then run allocmark's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${BUILD_DIR:-build}
"$build/harness/allocmark" list
echo
"$build/harness/allocmark" check
