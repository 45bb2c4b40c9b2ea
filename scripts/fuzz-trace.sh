#!/usr/bin/env bash
# Fuzz the trace reader (trace/fuzz_reader.c) with libFuzzer under
# AddressSanitizer and UndefinedBehaviorSanitizer. Seeds: the sample traces
# in build/traces/ when set-up has recorded them, plus small traces written by
# tests/test_trace (build/tests/trace-seeds/). Usage:
#   bash scripts/fuzz-trace.sh [RUNS]      (default 1000000)
# Ends with libFuzzer's summary; a crash leaves crash-* in build/fuzz-trace/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
out=build/fuzz-trace
mkdir -p "$out/corpus"
clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Itrace trace/fuzz_reader.c trace/reader.c trace/idmap.c -o "$out/fuzz-reader"
# Seeds: the unit test's traces (build/trace-seeds/, written by test-trace)
# and the first events of each sample trace.
for seeds in build/trace-seeds build/tests/trace-seeds; do
    if [ -d "$seeds" ]; then
        find "$seeds" -name '*.amtrace' -size -64k -exec cp {} "$out/corpus/" \;
    fi
done
for t in build/traces/*.amtrace; do
    [ -f "$t" ] || continue
    build/harness/allocmark trace cut "$t" -o "$out/corpus/$(basename "$t" .amtrace)-head.amtrace" \
        --events 0:300 >/dev/null
done
cd "$out"
./fuzz-reader -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
    -print_final_stats=1 corpus 2>&1 | tail -25
