#!/usr/bin/env bash
# Fuzz the in-house backends with libFuzzer (fuzz/fuzz_allocator.c): set up
# the fuzz build (clang, AddressSanitizer and UndefinedBehaviorSanitizer,
# coverage for libFuzzer) in build-fuzz/, then fuzz each backend in turn and
# print each one's executions and what was found.
#
#   bash scripts/fuzz.sh [SECONDS [BACKEND...]]   (default: 600 s, every in-house backend)
#
# Each backend starts from the committed seeds (fuzz/corpus) plus what earlier
# runs found (build-fuzz/fuzz/work/corpus-BACKEND); an input that fails is
# written to build-fuzz/fuzz/work/crashes/ and named at the end, with how to
# keep it as a regression test (fuzz/regressions/, replayed by `meson test`).
# Exit status: 0 when nothing was found, 1 otherwise, 2 for bad arguments.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: SECONDS must be a positive whole number, not '$seconds'" >&2
  echo "usage: bash scripts/fuzz.sh [SECONDS [BACKEND...]]" >&2
  exit 2
fi
all=(mmap-only bump-brk bitmap firstfit slab)
backends=("$@")
[ ${#backends[@]} -eq 0 ] && backends=("${all[@]}")
for b in "${backends[@]}"; do
  if ! [[ " ${all[*]} " == *" $b "* ]]; then
    echo "fuzz.sh: '$b' is not an in-house backend; valid: ${all[*]}" >&2
    exit 2
  fi
done

CC=clang CXX=clang++ FUZZ=1 BUILD_DIR=build-fuzz \
  MESON_ARGS="-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false" \
  bash scripts/setup.sh || exit 1

status=0
summary=()
for b in "${backends[@]}"; do
  out=$(fuzz/run-fuzzer.sh build-fuzz/fuzz/fuzz-allocator "$b" "$seconds" fuzz/corpus \
    build-fuzz/fuzz/work) || status=1
  echo "$out"
  summary+=("$(tail -n 1 <<<"$out")")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
