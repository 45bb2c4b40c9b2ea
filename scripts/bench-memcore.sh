#!/usr/bin/env bash
# memcore's benchmark: the dispatched memcpy and memset, every variant this
# CPU runs, glibc, a byte loop and seed 002's word loop, 16 B to 1 GiB,
# aligned and misaligned. Writes results/memcore/<UTC date>.json (and the
# console output next to it as .txt), then prints the ratio tables.
# About 8 minutes on a quiet machine (far longer under load); needs 2 GiB of
# free memory. Several JSON files (a run, then reruns of the points it
# lists) go to `allocmark report --memcore` together, later files winning.
#
#   bash scripts/bench-memcore.sh [memcore-bench flags, e.g. --max-size=1048576]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${BUILD_DIR:-build}
mkdir -p results/memcore
out=results/memcore/$(date -u +%Y%m%dT%H%M%SZ)
# Random interleaving spreads every contender's repetitions over the whole
# run, so a burst of load from elsewhere does not land on one contender.
"$build/bench/memcore-bench" --benchmark_enable_random_interleaving=true \
  --benchmark_out="$out.json" --benchmark_out_format=json "$@" >"$out.txt"
echo "wrote $out.json"
"$build/harness/allocmark" report --memcore "$out.json"
