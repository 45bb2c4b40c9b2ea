#!/usr/bin/env bash
# check_debug.sh: AM_DEBUG=1 makes a drop-in say whether it is the process's
# malloc: yes when preloaded alone, and naming the other library when one
# preloaded before it (jemalloc here) overrides it. Without AM_DEBUG it is
# silent. Usage: check_debug.sh LIBAM_SO BACKEND
set -uo pipefail
lib=$1 backend=$2
jemalloc=$(ldconfig -p | awk '/libjemalloc\.so\.2 /{print $NF; exit}')
status=0
expect() { # what, stderr, pattern
  if grep -q -- "$3" <<<"$2"; then
    echo "ok   $1"
  else
    echo "FAIL $1: stderr was: $2 (expected /$3/)"
    status=1
  fi
}
err=$(AM_DEBUG=1 LD_PRELOAD="$lib" /bin/true 2>&1 >/dev/null)
expect "alone: it is the process's malloc" "$err" "the process's malloc is the $backend backend"
err=$(LD_PRELOAD="$lib" /bin/true 2>&1 >/dev/null)
if [ -n "$err" ]; then echo "FAIL without AM_DEBUG it printed: $err"; status=1; else echo "ok   silent without AM_DEBUG"; fi
if [ -n "$jemalloc" ]; then
  err=$(AM_DEBUG=1 LD_PRELOAD="$jemalloc:$lib" /bin/true 2>&1 >/dev/null)
  expect "after jemalloc: overridden, and by whom" "$err" "another malloc overrides this drop-in's, from .*libjemalloc"
else
  echo "FAIL libjemalloc.so.2 is not installed (scripts/setup.sh installs libjemalloc2)"
  status=1
fi
exit $status
