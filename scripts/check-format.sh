#!/usr/bin/env bash
# Every tracked C, C++ and header file is formatted as .clang-format says.
# Exit 77 (meson's "skipped") without clang-format or outside a git checkout.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format not installed"; exit 77; }
files=$(git ls-files '*.c' '*.h' '*.cc' 2>/dev/null) || { echo "not a git checkout"; exit 77; }
# shellcheck disable=SC2086
clang-format --dry-run --Werror --style=file $files && echo "$(echo "$files" | wc -l) files formatted"
