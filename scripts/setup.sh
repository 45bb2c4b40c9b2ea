#!/usr/bin/env bash
# Set-up shared by the README's commands: install the Debian packages allocmark
# needs (only those missing), configure the build directory and build.
#
#   BUILD_DIR   build directory (default: build)
#   CI          when set, warnings are errors
#   MESON_ARGS  extra arguments for `meson setup`
#   FUZZ        when set, also the packages of the fuzz build (clang, libFuzzer)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build nasm gcc g++ pkg-config cmake python3 python3-numpy python3-scipy
          git clang-format sqlite3 perl lua5.4 xz-utils zstd
          libbenchmark-dev libjemalloc-dev libjemalloc2 libmimalloc-dev libmimalloc2.0
          libgoogle-perftools-dev libtcmalloc-minimal4 gnuplot-nox clang
          # the program suite (programs/*.program): the real programs run as cells
          redis-server redis-tools z3 ghostscript)
# The allocator fuzz build (scripts/fuzz.sh, CI) also needs libFuzzer and the
# sanitizers' runtimes for clang (Debian 12 ships them in libclang-rt-14-dev).
if [ -n "${FUZZ:-}" ]; then packages+=(libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "allocmark setup: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "allocmark setup: these Debian packages are missing and I am not root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${BUILD_DIR:-build}
args=(--buildtype=release -Db_ndebug=false)
[ -n "${CI:-}" ] && args+=(-Dwerror=true)
# shellcheck disable=SC2206
args+=(${MESON_ARGS:-})
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" "${args[@]}" >/dev/null
else
  meson setup "$build" "${args[@]}" >/dev/null
fi
ninja -C "$build" >/dev/null || ninja -C "$build"
# The sample traces that `allocmark run` replays (recorded once, in seconds).
bash scripts/record-samples.sh "$build"
