#!/usr/bin/env python3
"""End-to-end tests of `allocmark run`: they run the real binary and read what
it wrote through results_check.py, the way a plot or a report would.

Usage: harness_test.py ALLOCMARK TEST [ALLOCATORS]
  smoke [NAMES]  the smoke profile over the default allocators (or NAMES):
                 exit 0, every cell present and ok, the results parse
  isolation      crash-test and hang-test beside mmap-only: a crash (SIGSEGV,
                 SIGABRT), a hang, NULL and a block handed out twice each cost
                 one failed row with its reason, and the run goes on; the
                 memory guard turns a backend that never reuses into "oom"
  sigint         SIGINT in the middle of a cell: exit 130, the cell's process
                 group gone, finished rows kept, metadata says interrupted
  badinput       every malformed option: exit 2, a message naming the flag,
                 existing results untouched
  schedule       interleaved passes from a seed, sequential order, warm-ups,
                 --precision up to --max-reps, --pin; program cells in the
                 same passes, with warm-ups and --precision
  series         the time series stays out of the measured time: with
                 statistics that sleep 5 ms a point (delay-test), series_s
                 holds that time and seconds does not
Ends with "N passed, N failed" like the C tests; exit 1 on any failure.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results_check  # noqa: E402
from tally import Tally  # noqa: E402

check = Tally()


def run(allocmark, args, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([allocmark] + args, capture_output=True, text=True, env=full_env,
                          timeout=timeout)


def latest(root):
    return os.path.join(root, os.readlink(os.path.join(root, "latest")))


def rows_by_allocator(run_dir):
    _, rows, _ = results_check.load(run_dir)
    return {(r["allocator"], r["workload"], r["threads"]): r for r in rows}


def test_smoke(allocmark, root, names):
    args = ["run", "--profile", "smoke", "-o", root]
    if names:
        args += ["-a", names]
    p = run(allocmark, args)
    check(p.returncode == 0, f"smoke run exited {p.returncode}:\n{p.stdout}{p.stderr}")
    run_dir = latest(root)
    for problem in results_check.problems(run_dir):
        check(False, f"smoke results: {problem}")
    meta, rows, _ = results_check.load(run_dir)
    check(len(rows) == meta["cells_total"] and rows, f"{len(rows)} rows")
    check(rows and "series_s" in rows[0], "cells.csv has series_s, the time series' cost")
    for r in rows:
        check(r["status"] == "ok",
              f"{r['allocator']} {r['workload']} t={r['threads']}: {r['status']} {r['reason']}")
        if r["threads"] != "1" and r["status"] == "ok":
            thread_safe = r["allocator"] not in meta_unsafe(meta)
            check(r["label"] == r["allocator"] + ("" if thread_safe else "+lock"),
                  f"label {r['label']} at {r['threads']} threads")


def test_schedule(allocmark, root):
    """The order of the cells: interleaved passes (every cell once per pass),
    the same order for the same seed and another for another seed; sequential
    repetitions back to back; warm-ups run and not written; --precision adds
    repetitions up to --max-reps; --pin keeps every cell on the CPU named."""
    base = ["run", "--profile", "smoke", "-a", "bump-brk,bitmap", "-w", "churn,phases",
            "-t", "1,2", "--no-micro"]

    def order_of(label, *extra):
        out = os.path.join(root, label)
        p = run(allocmark, base + ["-o", out] + list(extra))
        check(p.returncode == 0, f"{label}: exit {p.returncode}: {p.stderr[-300:]}")
        run_dir = latest(out)
        for problem in results_check.problems(run_dir):
            check(False, f"{label}: {problem}")
        meta, rows, _ = results_check.load(run_dir)
        return meta, rows, [(r["allocator"], r["workload"], r["threads"], r["rep"]) for r in rows]

    meta, rows, first = order_of("seed7", "-r", "3", "--warmup", "1", "--seed", "7")
    check(meta["order"] == "interleaved" and meta["seed"] == 7 and meta["warmup"] == 1,
          f"metadata records order, seed and warm-up: {meta['order']} {meta['seed']}")
    check(len(rows) == 6 * 3, f"warm-ups are not written: {len(rows)} rows, 18 planned")
    cells = 6
    for i, key in enumerate(first):
        check(key[3] == str(i // cells + 1), f"row {i} is of pass {i // cells + 1}: {key}")
    _, _, again = order_of("seed7-again", "-r", "3", "--warmup", "1", "--seed", "7")
    check(again == first, "the same seed gives the same order")
    _, _, other = order_of("seed8", "-r", "3", "--warmup", "1", "--seed", "8")
    check(other != first and sorted(other) == sorted(first), "another seed, another order")
    _, _, seq = order_of("sequential", "-r", "2", "--order", "sequential")
    check(all(seq[i][:3] == seq[i + 1][:3] for i in range(0, len(seq), 2)),
          "sequential: each cell's repetitions back to back")
    meta, rows, _ = order_of("precision", "-r", "2", "--precision", "0.01", "--max-reps", "6")
    per_cell = {}
    for r in rows:
        key = (r["allocator"], r["workload"], r["threads"])
        per_cell[key] = per_cell.get(key, 0) + 1
    check(all(n == 6 for n in per_cell.values()),
          f"an unreachable precision runs every cell to --max-reps: {per_cell}")
    check(meta["cells_total"] == len(rows) and meta["precision_pct"] == 0.01,
          "cells_total counts the repetitions added")
    # --aa: every allocator twice, the second labelled NAME#2 and told so
    # (AM_AA_COPY): delay-test slows only that copy, by 20 us a call: ten
    # times an operation's cost even in a sanitizer build on a loaded machine,
    # so the halved rate says which copy was told, not how fast the machine is.
    out = os.path.join(root, "aa")
    p = run(allocmark, ["run", "--profile", "smoke", "--aa", "-a", "delay-test", "-w",
                        "churn,larson", "-t", "1", "-r", "1", "--no-micro", "-o", out],
            env={"AM_DELAY_TEST_NS": "20000", "AM_DELAY_TEST_COPY": "2"})
    check(p.returncode == 0, f"--aa run: exit {p.returncode}: {p.stderr[-300:]}")
    run_dir = latest(out)
    for problem in results_check.problems(run_dir):
        check(False, f"aa: {problem}")
    meta, rows, _ = results_check.load(run_dir)
    rate = {(r["label"], r["workload"]): float(r["ops_per_sec"]) for r in rows
            if r["status"] == "ok"}
    check(meta["aa"] and len(rows) == 4, f"--aa: 2 copies x 2 workloads: {len(rows)} rows")
    for w in ("churn", "larson"):
        a, b = rate.get(("delay-test", w)), rate.get(("delay-test#2", w))
        check(a and b and b < a / 2, f"{w}: the delayed second copy is slower: {a} {b}")
    # --aa doubles program cells too.
    out = os.path.join(root, "aa-program")
    p = run(allocmark, ["run", "--profile", "smoke", "--aa", "-a", "glibc", "-r", "2",
                        "--no-micro", "-o", out, "--", "sh", "-c", "echo 7"])
    check(p.returncode == 0, f"--aa with a program: exit {p.returncode}: {p.stderr[-300:]}")
    run_dir = latest(out)
    for problem in results_check.problems(run_dir):
        check(False, f"aa-program: {problem}")
    _, rows, _ = results_check.load(run_dir)
    labels = sorted(r["label"] for r in rows if r["status"] == "ok")
    check(labels == ["glibc", "glibc", "glibc#2", "glibc#2"],
          f"--aa: both copies of the program cell, twice each: {labels}")
    # Program cells (here `-- sh -c 'echo 300'`) share the schedule: each pass
    # runs one repetition of every workload and program cell, in one
    # shuffled order; warm-ups and --precision apply to them too. In a
    # sanitizer build glibc's workload cells and bump-brk's program cells
    # fail (no reference library there; the drop-in is not the process's
    # malloc): a failed cell still takes its place in each pass, and exits 1.
    prog = ["run", "--profile", "smoke", "-a", "glibc,bump-brk", "-w", "churn", "-t", "1",
            "--no-micro"]
    command = ["--", "sh", "-c", "echo 300"]

    def program_run(label, *extra):
        out = os.path.join(root, label)
        p = run(allocmark, prog + ["-o", out] + list(extra) + command)
        check(p.returncode in (0, 1), f"{label}: exit {p.returncode}: {p.stderr[-300:]}")
        run_dir = latest(out)
        for problem in results_check.problems(run_dir):
            check(False, f"{label}: {problem}")
        meta, rows, _ = results_check.load(run_dir)
        return p, meta, rows

    p, meta, rows = program_run("programs", "-r", "3", "--warmup", "1", "--seed", "7")
    kinds = [r["kind"] for r in rows]
    check(len(rows) == 12 and kinds.count("program") == 6,
          f"2 workload and 2 program cells x 3 repetitions, warm-ups not written: {kinds}")
    for i, r in enumerate(rows):
        check(r["rep"] == str(i // 4 + 1),
              f"row {i} ({r['allocator']} {r['workload']}) is of pass {i // 4 + 1}: rep {r['rep']}")
    check(p.stderr.count("sh warm-up") == 2 and p.stderr.count("churn t=1 warm-up") == 2,
          "every program and workload cell has its warm-up")
    _, _, again = program_run("programs-again", "-r", "3", "--warmup", "1", "--seed", "7")
    check([(r["allocator"], r["workload"], r["rep"]) for r in again]
          == [(r["allocator"], r["workload"], r["rep"]) for r in rows],
          "the same seed gives the same order, program cells included")
    _, meta, rows = program_run("programs-precision", "-r", "2", "--precision", "0.01",
                                "--max-reps", "6")
    reps, ok = {}, set()
    for r in rows:
        key = (r["allocator"], r["kind"])
        reps[key] = reps.get(key, 0) + 1
        if r["status"] == "ok":
            ok.add(key)
    # A cell with no ok repetition gets no more of them.
    check(("glibc", "program") in ok and ("bump-brk", "workload") in ok
          and all(reps[k] == (6 if k in ok else 2) for k in reps),
          f"--precision adds repetitions to program cells too, up to --max-reps: {reps}")
    p, _, rows = program_run("programs-noglibc", "-a", "bump-brk", "-r", "1")
    check(len(rows) == 2, f"without glibc: one workload and one program row: {len(rows)}")

    meta, rows, _ = order_of("pin", "-r", "1", "--pin", "0")
    check(meta["environment"]["pinned"] == "0", "metadata says the cells were pinned")
    check(all(r["cpu"] == "0" for r in rows if r["status"] == "ok"),
          f"--pin 0: every cell on CPU 0: {[r['cpu'] for r in rows]}")


def test_series(allocmark, root):
    """The time series' points (RSS, the allocator's statistics) are taken
    inside the measured phase but left out of `seconds`; series_s says how
    long they took. delay-test's statistics sleep 5 ms (AM_DELAY_TEST_STATS_US),
    so that the series costs far more than the workload: were it still in the
    measured time, seconds + series_s would count it twice and exceed the
    cell process's whole wall time."""
    p = run(allocmark, ["run", "--profile", "smoke", "-a", "delay-test", "-w", "churn,larson",
                        "-t", "1,2", "-r", "1", "--no-micro", "-o", root],
            env={"AM_DELAY_TEST_STATS_US": "5000"})
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-300:]}")
    run_dir = latest(root)
    for problem in results_check.problems(run_dir):
        check(False, f"series: {problem}")
    _, rows, series = results_check.load(run_dir)
    check(len(rows) == 4, f"2 workloads x 2 thread counts: {len(rows)} rows")
    for r in rows:
        name = f"{r['workload']} t={r['threads']}"
        if not check(r["status"] == "ok", f"{name}: {r['status']} {r['reason']}"):
            continue
        points = sum(1 for s in series if (s["workload"], s["threads"]) == (r["workload"],
                                                                             r["threads"]))
        seconds, series_s, wall = (float(r[c]) for c in ("seconds", "series_s", "wall_s"))
        # Every point but the first (taken before the clock starts) and the
        # last (after it stops) slept at least 5 ms.
        check(series_s >= 0.005 * (points - 2) > 0,
              f"{name}: series_s {series_s} for {points} points of at least 5 ms")
        check(seconds + series_s / int(r["threads"]) < wall,
              f"{name}: the series is not in seconds: {seconds} + {series_s} / {r['threads']} "
              f">= the whole process's {wall} s")
        check(abs(float(r["ops_per_sec"]) * seconds - float(r["ops"])) <= 1e-3 * float(r["ops"]),
              f"{name}: ops_per_sec is ops / seconds")


def test_plot(allocmark, root):
    """A real smoke run, with the microbenchmarks and a crashing test double
    among the allocators, then `allocmark plot` on it, checked by
    tests/plots/check_plots.py: valid PNG and SVG files, a report naming
    every allocator, failed cells missing rather than zero."""
    # `allocmark list`: a header, one line per allocator, a blank line, workloads.
    listing = run(allocmark, ["list"]).stdout.split("\n\n")[0].splitlines()[1:]
    allocators = [line.split()[0] for line in listing if line.strip()]
    p = run(allocmark, ["run", "--profile", "smoke", "--micro", "-o", root,
                        "-a", ",".join(allocators + ["crash-test"])], timeout=240)
    check(p.returncode == 1, f"a run with crash-test cells exits 1, not {p.returncode}")
    run_dir = latest(root)
    for a in allocators:
        path = os.path.join(run_dir, f"micro-{a}.json")
        check(os.path.exists(path) and os.path.getsize(path) > 0, f"{path} written")
    checker = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "plots", "check_plots.py")
    # The conformance matrix as scripts/run.sh keeps it, then every table of
    # `allocmark report` on the real files.
    # (Exit 1 is a failed check, which a loaded machine can cause: a hang
    # past the check's time limit. The format is what is tested here.)
    c = run(allocmark, ["check", "-a", "glibc,bump-brk", "--format", "csv"], timeout=240)
    lines = c.stdout.splitlines()
    check(c.returncode in (0, 1) and lines[:2] == ["# allocmark check -a glibc,bump-brk --format "
                                                   "csv", "allocator,check,verdict,detail"]
          and all(line.count(",") >= 3 for line in lines[2:]) and len(lines) > 10,
          f"check --format csv: {c.returncode} {lines[:3]}")
    with open(os.path.join(run_dir, "conformance.csv"), "w") as f:
        f.write(c.stdout)
    for mode in ([], ["--micro"], ["--conformance"]):
        r = run(allocmark, ["report"] + mode + [run_dir])
        check(r.returncode in ((0, 1) if mode == ["--conformance"] else (0,)) and r.stdout,
              f"report {mode} on the smoke run: {r.stderr}")
    q = subprocess.run([sys.executable, checker, "--allocmark", allocmark, run_dir],
                       capture_output=True, text=True, timeout=240)
    check(q.returncode == 0, f"check_plots on the smoke run:\n{q.stdout}{q.stderr}")


def meta_unsafe(meta):
    return {a["name"] for a in meta["allocators"] if "thread-safe" not in a["capabilities"]}


def test_isolation(allocmark, root):
    # The 100th malloc misbehaves (the default, the 1000th, was not always
    # reached within smoke's time budget on a loaded machine).
    p = run(allocmark, ["run", "-a", "crash-test,hang-test,mmap-only", "-w", "churn", "-t", "1",
                        "--timeout", "3", "-p", "smoke", "-o", root],
            env={"AM_CRASH_TEST_AFTER": "100"})
    check(p.returncode == 1, f"a run with failed cells exits 1, not {p.returncode}")
    run_dir = latest(root)
    for problem in results_check.problems(run_dir):
        check(False, f"isolation results: {problem}")
    got = rows_by_allocator(run_dir)
    crash = got.get(("crash-test", "churn", "1"), {})
    check(crash.get("status") == "crash" and "SIGSEGV" in crash.get("reason", ""),
          f"crash-test: {crash.get('status')} {crash.get('reason')}")
    # The last line the cell's process wrote to stderr (crash-test says one
    # before it misbehaves) ends the reason: cells.log is read back for it.
    check(crash.get("reason", "").endswith(": crash-test: allocation 101 misbehaves (segv)"),
          f"crash-test's reason ends with its last stderr line: {crash.get('reason')}")
    hang = got.get(("hang-test", "churn", "1"), {})
    check(hang.get("status") == "timeout", f"hang-test: {hang.get('status')} {hang.get('reason')}")
    check(float(hang.get("wall_s", 99)) < 8, f"hang-test killed after {hang.get('wall_s')} s")
    fine = got.get(("mmap-only", "churn", "1"), {})
    check(fine.get("status") == "ok", f"mmap-only after them: {fine.get('status')}")

    # The memory guard: bump-brk never reuses what churn frees, so with 32 MiB
    # it runs out, and the cell ends as "oom" instead of eating the machine.
    p = run(allocmark, ["run", "-a", "bump-brk", "-w", "churn", "-t", "1", "-r", "1", "-p",
                        "quick", "--mem-limit", "32", "--budget", "2", "-o", root])
    r = rows_by_allocator(latest(root)).get(("bump-brk", "churn", "1"), {})
    check(p.returncode == 1 and r.get("status") == "oom" and "NULL" in r.get("reason", ""),
          f"memory guard: exit {p.returncode}, {r.get('status')} {r.get('reason')}")

    # The 100th malloc misbehaves: early enough that a loaded machine still
    # reaches it inside smoke's time budget.
    for mode, status, reason in (("abort", "crash", "SIGABRT"), ("null", "oom", "NULL"),
                                 ("overlap", "corrupt", "changed")):
        p = run(allocmark, ["run", "-a", "crash-test,mmap-only", "-w", "churn,prodcons", "-t",
                            "2", "-p", "smoke", "-o", root],
                env={"AM_CRASH_TEST": mode, "AM_CRASH_TEST_AFTER": "100"})
        check(p.returncode == 1, f"{mode}: exit {p.returncode}")
        run_dir = latest(root)
        for problem in results_check.problems(run_dir):
            check(False, f"{mode} results: {problem}")
        got = rows_by_allocator(run_dir)
        for workload in ("churn", "prodcons"):
            r = got.get(("crash-test", workload, "2"), {})
            check(r.get("status") == status and reason in r.get("reason", ""),
                  f"{mode} {workload}: {r.get('status')} {r.get('reason')}")
            if status == "crash":
                check(r.get("reason", "").endswith("crash-test: allocation 101 misbehaves (%s)"
                                                   % mode),
                      f"{mode} {workload}: the reason ends with the stderr line: "
                      f"{r.get('reason')}")
            # Not thread-safe: two threads run it behind the front end's lock.
            check(r.get("label") == "crash-test+lock", f"{mode}: label {r.get('label')}")
            r = got.get(("mmap-only", workload, "2"), {})
            check(r.get("status") == "ok", f"{mode}: mmap-only {workload}: {r.get('status')}")


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigint(allocmark, root):
    # Sequential, one repetition: mmap-only's cell, then hang-test's (the
    # default order is shuffled).
    proc = subprocess.Popen([allocmark, "run", "-a", "mmap-only,hang-test", "-w", "churn", "-t",
                             "1", "-r", "1", "--order", "sequential", "--timeout", "60", "-p",
                             "smoke", "-o", root],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until mmap-only's row is written and hang-test's cell is running.
    deadline = time.time() + 30
    cells, kids = None, []
    while time.time() < deadline:
        time.sleep(0.05)
        link = os.path.join(root, "latest")
        if not cells and os.path.islink(link):
            cells = os.path.join(latest(root), "cells.csv")
        if cells and os.path.exists(cells):
            with open(cells) as f:
                if len(f.read().splitlines()) >= 3:
                    kids = children_of(proc.pid)
                    if kids:
                        break
    check(bool(kids), "the run got as far as a hanging cell")
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    check(proc.returncode == 130, f"SIGINT exit status {proc.returncode}: {out}{err}")
    check("interrupted" in out, f"says it was interrupted: {out}")
    time.sleep(0.2)
    for kid in kids:
        check(not alive(kid), f"the cell's process {kid} is gone")
    run_dir = latest(root)
    for problem in results_check.problems(run_dir, interrupted=True):
        check(False, f"interrupted results: {problem}")
    meta, rows, _ = results_check.load(run_dir)
    check([r["allocator"] for r in rows] == ["mmap-only"],
          f"only the finished cell is kept: {[r['allocator'] for r in rows]}")
    check(meta["cells_done"] == 1 and meta["finished"], "metadata completed")


BAD = [
    (["-t", "0"], "-t/--threads"),
    (["-t", "abc"], "-t/--threads"),
    (["-t", "1,x"], "-t/--threads"),
    (["-t", "257"], "-t/--threads"),
    (["-t", ""], "-t/--threads"),
    (["-r", "-1"], "-r/--reps"),
    (["-r", "0"], "-r/--reps"),
    (["-r", "2x"], "-r/--reps"),
    (["--profile", "fast"], "smoke, quick, full"),
    (["-a", "nosuch"], "valid allocators: glibc"),
    (["-a", "glibc,,nosuch"], "nosuch"),
    (["-w", "nosuch"], "valid workloads: churn"),
    (["--budget", "0"], "--budget"),
    (["--budget", "abc"], "--budget"),
    (["--timeout", "-3"], "--timeout"),
    (["--mem-limit", "lots"], "--mem-limit"),
    (["-l", "a b"], "-l/--label"),
    (["-o", ""], "-o/--output"),
    (["--order", "random"], "interleaved, sequential"),
    (["--seed", "-1"], "--seed"),
    (["--warmup", "x"], "--warmup"),
    (["--precision", "0"], "--precision"),
    (["--precision", "101"], "--precision"),
    (["--max-reps", "10"], "--max-reps is the cap of --precision"),
    (["--precision", "5", "--max-reps", "2", "-r", "3"], "--max-reps 2"),
    (["--pin", "99999"], "--pin"),
    (["--pin", "1-0"], "--pin"),
    (["--bogus"], "--bogus"),
    (["-t"], "-t"),
    (["extra"], "extra"),
]


def snapshot(root):
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                state[path] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    state[path] = ("file", f.read())
            else:
                state[path] = ("dir", None)
    return state


def test_badinput(allocmark, root):
    # An earlier run's results, which bad input must leave as they are.
    old = os.path.join(root, "20000101-000000")
    os.makedirs(old)
    with open(os.path.join(old, "cells.csv"), "w") as f:
        f.write("# earlier\nallocator\nglibc\n")
    os.symlink("20000101-000000", os.path.join(root, "latest"))
    before = snapshot(root)
    for args, says in BAD:
        p = run(allocmark, ["run"] + args + ["-o", root], timeout=30)
        check(p.returncode == 2, f"{args}: exit {p.returncode}")
        check(says in p.stderr, f"{args}: stderr does not say '{says}': {p.stderr.strip()}")
        check(p.stdout == "", f"{args}: wrote to stdout: {p.stdout.strip()}")
    check(snapshot(root) == before, "bad input changed the results directory")
    p = run(allocmark, ["nosuchcommand"])
    check(p.returncode == 2 and "valid" in p.stderr, f"unknown command: {p.returncode}")
    p = run(allocmark, ["run", "--help"])
    check(p.returncode == 0 and "--profile" in p.stdout, "run --help")
    p = run(allocmark, ["list"])
    check(p.returncode == 0 and "churn" in p.stdout and "crash-test" not in p.stdout,
          "list shows workloads, not test doubles")
    p = run(allocmark, ["list", "--all"])
    check(p.returncode == 0 and "crash-test" in p.stdout, "list --all shows test doubles")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    allocmark, test = os.path.abspath(sys.argv[1]), sys.argv[2]
    tests = {"smoke": lambda a, r: test_smoke(a, r, sys.argv[3] if len(sys.argv) > 3 else None),
             "isolation": test_isolation, "sigint": test_sigint, "badinput": test_badinput,
             "plot": test_plot, "schedule": test_schedule, "series": test_series}
    if test not in tests:
        print(f"unknown test {test}; valid: {', '.join(tests)}", file=sys.stderr)
        sys.exit(2)
    root = tempfile.mkdtemp(prefix=f"allocmark-{test}-")
    try:
        tests[test](allocmark, root)
    except (subprocess.TimeoutExpired, OSError) as e:
        check(False, f"{type(e).__name__}: {e}")
    print(f"{test}: {check.summary()}")
    if check.failed:
        print(f"results kept in {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
