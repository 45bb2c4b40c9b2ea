#!/usr/bin/env bash
# The README's main command: set up and build, run the quick benchmark matrix
# of every allocator and workload (and the microbenchmarks), measure the
# memory cores, check every allocator's conformance (and make the hardening
# matrix), then draw the plots and write the report. The last line says where
# the report is.
#
#   BUILD_DIR   build directory (default: build)
#   Arguments are passed to `allocmark run` (e.g. -a glibc,jemalloc -r 1).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
build=${BUILD_DIR:-build}
"$build/harness/allocmark" list
echo
"$build/harness/allocmark" run "$@"
run=$?
case $run in
  0) ;;
  1) echo "allocmark: some cells failed; their rows in cells.csv say why" ;;
  *) exit $run ;; # bad arguments (2) or interrupted (130)
esac
run_dir=results/$(readlink results/latest)
echo
"$build/harness/allocmark" report "$run_dir"
echo
# memcpy/memset bandwidth of every memcore variant against glibc and the
# baselines, at one size per cache level and two in DRAM (about 90 s; the full
# sweep is scripts/bench-memcore.sh).
echo "memcore-bench -> $run_dir/memcore.json"
"$build/bench/memcore-bench" --sizes=64,1024,16384,262144,4194304,67108864,268435456 \
  --benchmark_repetitions=3 --benchmark_out="$run_dir/memcore.json" \
  --benchmark_out_format=json >"$run_dir/memcore.log" 2>&1 || echo "memcore-bench failed: see $run_dir/memcore.log"
echo
# The conformance matrix, kept in the run as CSV for its report, and shown
# here from that file; the hardening matrix goes to hardening.csv beside it
# (--format csv keeps standard output for the records alone).
"$build/harness/allocmark" check --format csv --hardening-csv "$run_dir/hardening.csv" \
  >"$run_dir/conformance.csv"
check=$?
"$build/harness/allocmark" report --conformance "$run_dir"
echo "hardening matrix: $run_dir/hardening.csv"
echo
"$build/harness/allocmark" plot "$run_dir"
plot=$?
echo
echo "Results: $run_dir (format: results/README.md)"
echo "Report:  $run_dir/report.html (and report.md)"
[ $check -eq 0 ] && [ $run -eq 0 ] && [ $plot -eq 0 ]
