#!/usr/bin/env python3
"""The recording's overhead on real programs, and the size of what it writes.

Usage: scripts/bench-record.py [BUILD_DIR] [REPS]   (defaults: build, 5)

Each program runs REPS times plainly and REPS times under `allocmark record`,
alternating, and the table gives the median wall time of each (for a recorded
run: the program's own time, which allocmark record prints, not the
conversion after it) and their ratio, the same for CPU time (user + system,
the program's own), the median conversion time, the events recorded and the
trace's bytes per million events. The programs are the
sample traces' (scripts/record-samples.sh) and git. On a shared machine read
the ratio of medians, not lone numbers.
"""
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The sample traces' Python work (scripts/sample_work.py), as record-samples.sh runs it.
PY = ["python3", os.path.join(ROOT, "scripts", "sample_work.py"), "12000"]


def programs(build):
    sql = os.path.join(build, "traces", "sqlite.sql")
    return [
        ("python (pymalloc)", PY, {}),
        ("python (PYTHONMALLOC=malloc)", PY, {"PYTHONMALLOC": "malloc"}),
        ("sqlite3", ["sqlite3", "-batch", ":memory:", ".read " + sql], {}),
        ("git log --stat", ["git", "-C", ROOT, "log", "--stat", "-n", "400"], {}),
    ]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    allocmark = os.path.join(build, "harness", "allocmark")
    tmp = tempfile.mkdtemp(prefix="am-bench-record-")
    out = os.path.join(tmp, "t.amtrace")
    print(f"{'program':30} {'plain s':>8} {'recorded s':>10} {'ratio':>6} {'plain cpu':>9} "
          f"{'rec cpu':>8} {'ratio':>6} {'convert s':>9} {'events':>9} {'bytes/Mev':>10}")
    for name, cmd, env_extra in programs(build):
        env = dict(os.environ, **env_extra)
        plain, rec, conv, plain_cpu, rec_cpu = [], [], [], [], []
        events = size = 0
        for _ in range(reps):
            t0 = time.perf_counter()
            u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            plain.append(time.perf_counter() - t0)
            u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            plain_cpu.append(u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime)
            t0 = time.perf_counter()
            p = subprocess.run([allocmark, "record", "-o", out, "--"] + cmd, env=env,
                               capture_output=True, text=True, check=True)
            total = time.perf_counter() - t0
            m = re.search(r"after ([0-9.]+) s \(([0-9.]+) s user, ([0-9.]+) s system\)", p.stderr)
            prog = float(m.group(1)) if m else total
            rec.append(prog)
            rec_cpu.append(float(m.group(2)) + float(m.group(3)) if m else 0)
            conv.append(total - prog)
            m = re.search(r"(\d+) events, .* (\d+) bytes \(", p.stdout)
            if m:
                events, size = int(m.group(1)), int(m.group(2))
        mp, mr = statistics.median(plain), statistics.median(rec)
        cp, cr = statistics.median(plain_cpu), statistics.median(rec_cpu)
        print(f"{name:30} {mp:8.3f} {mr:10.3f} {mr / mp:6.2f} {cp:9.3f} {cr:8.3f} "
              f"{cr / cp if cp else 0:6.2f} {statistics.median(conv):9.3f} "
              f"{events:9d} {size / events * 1e6 if events else 0:10.0f}", flush=True)


if __name__ == "__main__":
    main()
