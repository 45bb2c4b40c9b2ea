#!/usr/bin/env bash
# Record the sample traces (docs/trace-format.md) into BUILD/traces/, once:
# short runs of real programs, so that `allocmark run` replays them out of the
# box (`-w trace:python` and friends; a run without -w includes them).
# A trace is recorded again when the recording library is newer than it.
#
#   python          CPython (PYTHONMALLOC=malloc, so every object is a malloc):
#                   dicts, strings, JSON, sorting; one thread
#   python-threads  the same in four threads (cross-thread frees)
#   sqlite          the sqlite3 shell: an in-memory table of 40000 rows,
#                   an index, joins and aggregates
#
# Usage: scripts/record-samples.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
allocmark=$build/harness/allocmark
recorder=$build/trace/libam-trace-record.so
out=$build/traces
mkdir -p "$out"

record() {
  local name=$1; shift
  local file=$out/$name.amtrace
  if [ -s "$file" ] && [ "$file" -nt "$recorder" ]; then
    return 0
  fi
  if ! command -v "$1" >/dev/null; then
    echo "allocmark samples: $1 not found; no $name trace" >&2
    return 0
  fi
  "$allocmark" record -o "$file" -- "$@" >"$out/$name.log" 2>&1 || {
    echo "allocmark samples: recording $name failed; see $out/$name.log" >&2
    rm -f "$file"
    return 0
  }
  echo "allocmark samples: $(grep -h 'events,' "$out/$name.log" | head -1)"
}

record python env PYTHONMALLOC=malloc python3 scripts/sample_work.py 12000
record python-threads env PYTHONMALLOC=malloc python3 scripts/sample_work.py 4000 4

sql="
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, pad BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40000)
INSERT INTO t SELECT x, printf('name-%08d', (x * 7919) % 100003), x % 97, randomblob(x % 200) FROM c;
CREATE INDEX t_name ON t(name);
CREATE TABLE g AS SELECT grp, count(*) AS n, group_concat(name) AS names FROM t GROUP BY grp;
SELECT count(*), sum(length(names)) FROM g;
SELECT count(*) FROM t a JOIN t b ON a.grp = b.grp AND a.id < b.id WHERE a.id < 2000 AND b.id < 2000;
UPDATE t SET name = name || '-x' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
VACUUM;
SELECT count(*) FROM t;
"
if command -v sqlite3 >/dev/null; then
  printf '%s' "$sql" >"$out/sqlite.sql"
  record sqlite sqlite3 -batch :memory: ".read $out/sqlite.sql"
fi
