#!/usr/bin/env python3
"""allocmark record, trace info/cut/convert and the replay, end to end.

Usage: test_record.py ALLOCMARK TRACE_TARGET WORKDIR

Records tests/trace/trace_target.c in each of its modes and counts, in the
trace's CSV, the calls it is known to make: the cross-thread frees, the
callocs, the realloc chain, the aligned allocations; the forked child's
calls are absent (and present, in a trace of their own, with
--follow-forks); a program killed by SIGSEGV or by abort, one that calls
_exit and one that execs still leave a readable trace (the exec'd image's),
and so does one killed by SIGKILL, which no handler sees (everything but its
last 10 ms). Then `trace cut` keeps live bytes, bad traces exit 2 with the
byte offset, and the replay on glibc, jemalloc and slab is faithful: every
cell ok (a one-thread replay, of a one-thread recording, fails its cell when
live bytes diverge from the recording's at any event; so does a two-thread
replay in --strict-order; without it, the replay ends with the recording's
live bytes) with as many operations as the trace has events, and the calls it issued by function
(cells.csv's `calls`) are the recording's operation mix: on glibc exactly
trace info's counts, every aligned call (posix_memalign, aligned_alloc,
memalign, valloc, pvalloc) replayed as itself.
"""
import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def rows_of(allocmark, trace):
    p = run([allocmark, "trace", "convert", trace, "-o", "-"])
    check(p.returncode == 0, f"convert {os.path.basename(trace)} (stderr: {p.stderr.strip()})")
    return list(csv.DictReader(io.StringIO(p.stdout)))


def replayed_mix(rows):
    """The calls a faithful replay issues, by function: every event but the
    calls that failed when recorded (a realloc(p, 0) that freed p is
    replayed; docs/trace-format.md, "How a replay calls the allocator")."""
    mix = {}
    for r in rows:
        freed_by_realloc0 = r["op"] == "realloc" and r["ref"] != "" and r["size"] == "0"
        if r["result"] == "null" and not freed_by_realloc0:
            continue
        mix[r["op"]] = mix.get(r["op"], 0) + 1
    return mix


def info_mix(allocmark, trace):
    """`trace info`'s events by operation."""
    p = run([allocmark, "trace", "info", trace])
    mix = {}
    for line in p.stdout.splitlines():
        words = line.split()
        if len(words) >= 3 and line.startswith("  ") and words[1].isdigit() and words[2].endswith("%"):
            mix[words[0]] = int(words[1])
    return mix


def calls_of(cell):
    return {k: int(v) for k, v in (w.split("=") for w in cell["calls"].split())}


def count(rows, op, size=None):
    return sum(1 for r in rows if r["op"] == op and (size is None or r["size"] == str(size)))


def main():
    allocmark, target, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)  # what an earlier run left
    os.makedirs(work)
    traces = {}
    for mode in ["exit", "_exit", "crash", "abort", "exec", "one-thread"]:
        out = os.path.join(work, f"target-{mode.strip('_')}.amtrace")
        p = run([allocmark, "record", "-o", out, "--", target, mode])
        check(p.returncode == 0, f"record {mode}: exit 0 (stderr: {p.stderr.strip()})")
        check(os.path.exists(out), f"record {mode}: {out} written")
        traces[mode] = out
        rows = rows_of(allocmark, out)
        if mode == "exec":
            check(count(rows, "malloc", 3003) == 300, "exec: the trace is the exec'd image's")
            check(count(rows, "malloc", 1001) == 0, "exec: not the image before the exec")
            continue
        frees_1001 = {r["ref"] for r in rows if r["op"] == "malloc" and r["size"] == "1001"}
        check(count(rows, "malloc", 1001) == 1000, f"{mode}: 1000 malloc(1001)")
        ids = {r["id"]: r["thread"] for r in rows if r["op"] == "malloc" and r["size"] == "1001"}
        cross = sum(1 for r in rows if r["op"] == "free" and r["ref"] in ids
                    and r["thread"] != ids[r["ref"]])
        want_cross = 0 if mode == "one-thread" else 1000
        check(cross == want_cross, f"{mode}: {want_cross} cross-thread frees (found {cross})")
        del frees_1001
        check(sum(1 for r in rows if r["op"] == "calloc" and r["nmemb"] == "3"
                  and r["elem"] == "333") == 500, f"{mode}: 500 calloc(3, 333)")
        chain = [int(r["size"]) for r in rows if r["op"] == "realloc" and r["size"]
                 and int(r["size"]) % 7 == 0 and 7 <= int(r["size"]) <= 1400]
        check(chain == list(range(7, 1401, 7)), f"{mode}: the realloc chain, in order")
        check(sum(1 for r in rows if r["op"] == "posix_memalign" and r["align"] == "64"
                  and r["size"] == "777") == 10, f"{mode}: 10 posix_memalign(64, 777)")
        for op, size, n in [("aligned_alloc", 640, 10), ("memalign", 555, 10), ("memalign", 556, 5),
                            ("valloc", 5000, 5), ("pvalloc", 3000, 5)]:
            check(count(rows, op, size) == n, f"{mode}: {n} {op}({size})")
        check(sum(1 for r in rows if r["op"] == "realloc" and r["size"] == "0"
                  and r["result"] == "null" and r["ref"]) == 5, f"{mode}: 5 realloc(p, 0) that freed")
        check(count(rows, "malloc", 2002) == 0, f"{mode}: the forked child is not recorded")
        live = [int(r["live_bytes"]) for r in rows]
        check(min(live) >= 0, f"{mode}: live bytes never negative")
        ns = [int(r["ns"]) for r in rows]
        check(ns == sorted(ns), f"{mode}: time never goes backwards")

    # SIGKILL, which no handler sees: the chunks written so far make a
    # readable trace. A thread writes its buffer before a call that comes
    # more than 10 ms after the buffer's first record, so the 2000 calls
    # made before "ready" are in it (the program goes on calling until the
    # kill); before that bound, a program this slow lost everything.
    out = os.path.join(work, "target-killed.amtrace")
    p = subprocess.Popen([allocmark, "record", "-o", out, "--", target, "slow"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = p.stdout.readline().strip()
    # Killed once the spool holds about the 4000 records before "ready" (7
    # bytes each, give or take), or after 5 s when it never does (a loaded
    # machine does not make it flaky; a recorder that never writes fails).
    spool, deadline = out + ".spool", time.monotonic() + 5
    while time.monotonic() < deadline and \
            (not os.path.exists(spool) or os.path.getsize(spool) < 28000):
        time.sleep(0.05)
    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
        children = f.read().split()
    check(ready == "ready" and len(children) == 1, f"SIGKILL: the target runs ({ready}, {children})")
    for c in children:
        os.kill(int(c), signal.SIGKILL)
    o, e = p.communicate(timeout=120)
    check(p.returncode == 0 and "killed by signal 9" in e,
          f"SIGKILL: record exits 0 and says so ({p.returncode}: {e.strip()[-200:]})")
    info = run([allocmark, "trace", "info", out])
    check(info.returncode == 0, f"SIGKILL: trace info reads the trace ({info.stderr.strip()[:200]})")
    rows = rows_of(allocmark, out)
    n = count(rows, "malloc", 4004)
    check(n >= 2000, f"SIGKILL: the {n} malloc(4004) recorded include the 2000 before 'ready'")

    # --follow-forks: the child in a trace of its own.
    out = os.path.join(work, "target-forks.amtrace")
    p = run([allocmark, "record", "--follow-forks", "-o", out, "--", target])
    child = [f for f in os.listdir(work) if f.startswith("target-forks.") and f != "target-forks.amtrace"]
    check(p.returncode == 0 and len(child) == 1, f"--follow-forks: one child trace ({child})")
    if child:
        rows = rows_of(allocmark, os.path.join(work, child[0]))
        check(count(rows, "malloc", 2002) == 5000, "--follow-forks: the child's 5000 malloc(2002)")

    # On top of another allocator.
    out = os.path.join(work, "target-jemalloc.amtrace")
    p = run([allocmark, "record", "--allocator", "jemalloc", "-o", out, "--", target])
    check(p.returncode == 0, f"record --allocator jemalloc (stderr: {p.stderr.strip()})")
    info = run([allocmark, "trace", "info", out])
    check(info.returncode == 0 and "allocator:  jemalloc" in info.stdout, "info names jemalloc")
    p = run([allocmark, "record", "--allocator", "no-such", "-o", out, "--", target])
    check(p.returncode == 2 and "no-such" in p.stderr, "an unknown allocator: exit 2, named")

    # info and cut.
    info = run([allocmark, "trace", "info", traces["exit"]])
    check(info.returncode == 0 and "cross-thread frees: 1" in info.stdout,
          "info counts the cross-thread frees")
    rows = rows_of(allocmark, traces["exit"])
    cut = os.path.join(work, "cut.amtrace")
    p = run([allocmark, "trace", "cut", traces["exit"], "-o", cut, "--events", "1500:2500"])
    check(p.returncode == 0, f"cut (stderr: {p.stderr.strip()})")
    crows = rows_of(allocmark, cut)
    window = [r for r in crows if r["ns"] != "0" or r["op"] != "malloc"]
    check(int(crows[-1]["live_bytes"]) == int(rows[2499]["live_bytes"]),
          "cut: live bytes at the window's end are the original's")
    del window

    # Bad input: exit 2 with the byte offset, never a crash.
    bad = os.path.join(work, "bad.amtrace")
    with open(traces["exit"], "rb") as f:
        data = f.read()
    for name, blob in [("truncated", data[: len(data) // 2]), ("magic", b"XX" + data[2:]),
                       ("trailing bytes", data + b"\0")]:
        with open(bad, "wb") as f:
            f.write(blob)
        p = run([allocmark, "trace", "info", bad])
        check(p.returncode == 2 and "byte " in p.stderr,
              f"info on a {name} trace: exit 2, offset named ({p.stderr.strip()[:120]})")
    p = run([allocmark, "run", "-w", "trace:" + bad, "-a", "glibc", "--no-micro", "-o", work])
    check(p.returncode == 2, f"run -w trace:<bad>: exit 2 (got {p.returncode})")

    # The replay: faithful on every allocator.
    events = len(rows)
    for mode, order in [("exit", "--strict-order"), ("crash", "--strict-order"), ("exit", None),
                        ("one-thread", None)]:
        args = [allocmark, "run", "-w", "trace:" + traces[mode], "-a", "glibc,jemalloc,slab",
                "-p", "quick", "-r", "1", "--no-micro", "-o", os.path.join(work, "runs")]
        p = run(args + ([order] if order else []))
        check(p.returncode == 0, f"replay of {mode}: exit 0 ({p.stderr.strip()[-300:]})")
        runs = sorted(os.listdir(os.path.join(work, "runs")))
        cells = os.path.join(work, "runs", runs[-1], "cells.csv")
        with open(cells) as f:
            cr = list(csv.DictReader(l for l in f if not l.startswith("#")))
        trows = rows_of(allocmark, traces[mode])
        # The operation mix: the calls the replay issued, by function, are
        # the recording's (trace info's counts less the calls that failed
        # when recorded); on glibc exactly, each aligned call as itself; on
        # an allocator whose realloc(p, 0) returns a block, that block's free
        # comes on top.
        mix, want = info_mix(allocmark, traces[mode]), replayed_mix(trows)
        check(mix == {op: sum(1 for r in trows if r["op"] == op) for op in mix} and len(mix) == 9,
              f"replay {mode}: trace info counts the CSV's operations, all nine ({mix})")
        realloc0 = sum(1 for r in trows if r["op"] == "realloc" and r["size"] == "0" and r["ref"])
        for c in cr:
            got = calls_of(c) if c["calls"] else {}
            if c["allocator"] == "glibc":
                check(got == want, f"replay {mode} on glibc: the recording's operation mix "
                      f"(issued {got}, recorded {want})")
            else:
                extra = got.get("free", 0) - want.get("free", 0)
                same = {k: v for k, v in got.items() if k != "free"} == \
                    {k: v for k, v in want.items() if k != "free"}
                check(same and 0 <= extra <= realloc0,
                      f"replay {mode} on {c['allocator']}: the recording's operation mix, "
                      f"{extra} frees of realloc(p, 0)'s blocks on top (issued {got})")
            check(c["status"] == "ok", f"replay {mode} on {c['allocator']}: {c['status']} {c['reason']}")
            if c["status"] != "ok":
                continue  # a failed cell has no metrics: said above
            check(int(c["ops"]) + int(c["skipped"] or 0) == len(trows),
                  f"replay {mode} on {c['allocator']}: {c['ops']} operations for {len(trows)} events")
            threads = "1" if mode == "one-thread" else "2"
            if order or threads == "1":
                # Strict order or one thread: live bytes checked at every
                # event (the cell fails otherwise), and the peak is the
                # recording's.
                check(int(c["peak_live_bytes"]) == max(int(r["live_bytes"]) for r in trows),
                      f"replay {mode} on {c['allocator']}: peak live bytes are the recording's")
            # Whatever the order, the replay ends with the recording's live
            # bytes (its last time-series point).
            with open(os.path.join(work, "runs", runs[-1], "timeseries.csv")) as f:
                series = [r for r in csv.DictReader(l for l in f if not l.startswith("#"))
                          if r["allocator"] == c["allocator"]]
            check(series and series[-1]["live_bytes"] == trows[-1]["live_bytes"],
                  f"replay {mode} on {c['allocator']}: ends with the recording's "
                  f"{trows[-1]['live_bytes']} bytes live")
            check(c["threads"] == threads, f"replay {mode}: the recorded {threads} threads")
            check(c["frag_peak"] != "" and c["wait_s"] != "", "fragmentation and wait reported")
    del events

    # --paced keeps the recorded gaps: the replay lasts at least as long as
    # the recording's span of events.
    p = run([allocmark, "run", "-w", "trace:" + traces["exit"], "-a", "glibc", "-r", "1",
             "--paced", "--no-micro", "-o", os.path.join(work, "paced")])
    runs = sorted(os.listdir(os.path.join(work, "paced")))
    with open(os.path.join(work, "paced", runs[-1], "cells.csv")) as f:
        c = list(csv.DictReader(l for l in f if not l.startswith("#")))[0]
    span = int(rows[-1]["ns"]) * 1e-9
    check(p.returncode == 0 and c["status"] == "ok", f"--paced: {c['status']} {c['reason']}")
    check(float(c["seconds"]) + float(c["wait_s"]) >= 0.9 * span,
          f"--paced: {c['seconds']} s + {c['wait_s']} s waiting for a {span:.3f} s recording")

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
