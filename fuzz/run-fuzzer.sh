#!/usr/bin/env bash
# Run the libFuzzer allocator target on one backend for a fixed time and end
# with one summary line:
#   fuzz BACKEND: EXECS execs in SECONDS s (RATE/s), corpus N inputs, RESULT
#
#   run-fuzzer.sh FUZZER BACKEND SECONDS SEED_DIR WORK_DIR
#
# New inputs go to WORK_DIR/corpus-BACKEND (kept between runs; the committed
# SEED_DIR is only read), a failing input to WORK_DIR/crashes/, libFuzzer's
# log to WORK_DIR/BACKEND.log. Exit status: 0 when nothing was found.
set -uo pipefail
if [ $# -ne 5 ]; then
  echo "usage: run-fuzzer.sh FUZZER BACKEND SECONDS SEED_DIR WORK_DIR" >&2
  exit 2
fi
fuzzer=$1 backend=$2 seconds=$3 seeds=$4 work=$5
mkdir -p "$work/corpus-$backend" "$work/crashes" || exit 2
log=$work/$backend.log
start=$(date +%s)
AM_FUZZ_ALLOCATOR=$backend "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
  -max_len=4096 -timeout=30 -rss_limit_mb=4096 \
  -artifact_prefix="$work/crashes/$backend-" "$work/corpus-$backend" "$seeds" >"$log" 2>&1
status=$?
elapsed=$(( $(date +%s) - start ))
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
corpus=$(find "$work/corpus-$backend" -type f | wc -l)
if [ $status -eq 0 ]; then
  result=ok
else
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  tail -n 40 "$log"
  result="FAILED (exit $status)${artifact:+; input: $artifact}"
  [ -n "$artifact" ] && echo "replay it: build/fuzz/fuzz-replay $backend $artifact;" \
    "keep it as a regression: cp $artifact fuzz/regressions/$backend-<what>"
fi
echo "fuzz $backend: ${execs:-?} execs in $elapsed s (${rate:-?}/s), corpus $corpus inputs, $result"
exit $status
