#!/usr/bin/env python3
"""End-to-end tests of programs as cells of `allocmark run`: tiny programs
described in a --programs file (written here, with this Python as their
interpreter), the user's command after --, and the bad input. They run the
real binary and read what it wrote through tests/harness/results_check.py.

Usage: programs_test.py ALLOCMARK TEST
  programs   glibc and mimalloc on a suite of tiny programs: ok cells with
             their measurements (a process tree's summed RSS, its samples, a
             figure of merit parsed), a server started and stopped on a free
             port, and each way a cell fails (wrong output, crash, non-zero
             exit, a tool that is not installed: skipped, 5 x glibc's time
             + 2 s: timeout, then skipped)
  user       `allocmark run -- CMD` with --expect-output and --check, on glibc
  badinput   a missing or non-executable command, --check without a command,
             a malformed --programs file, an unknown -P name: exit 2, the
             message names it, nothing written
Ends with "N passed, N failed"; exit 1 on any failure.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import results_check  # noqa: E402
from tally import Tally  # noqa: E402

PY = os.path.realpath(sys.executable)

# The suite: each program is one line of Python or shell. {py} is this
# interpreter; the rest are allocmark's placeholders.
PROGRAMS = """
# A process tree: two children, each holding 24 MiB until both do, then
# 0.3 s more. The tree's peak is their sum; no single process ever had more
# than 24 MiB.
[tree]
summary  = two children holding 24 MiB each
command  = {py} {child} & {py} {child} & wait
# What it tests is the sampling; its output is sort's, server's and differs'
# concern (in one loaded CI run its first output differed once, unexplained).
check    = none

# Input generated once, sorted: the same output under every allocator.
[sort]
summary  = sort a generated file
requires = sort seq
generate = seq 5000 -1 1 > {input}/numbers
command  = sort -n {input}/numbers

# Its own figure of merit.
[merit]
command  = echo "warming up"; echo "rate: 42.5 widgets/s"; echo "done"
merit    = regex:rate: ([0-9.]+) widgets/s
merit_unit = widgets/s

# Output that depends on the allocator: wrong under mimalloc.
[differs]
command  = case "$LD_PRELOAD" in *mimalloc*) echo other ;; *) echo same ;; esac

[crashes]
command  = echo about to crash >&2; kill -SEGV $$

[fails]
command  = echo cannot go on >&2; exit 3

# Slow under mimalloc only: stopped at 5 x glibc's time + 2 s (well below
# the smoke profile's 30 s), then not run again.
[slow]
command  = case "$LD_PRELOAD" in *mimalloc*) exec sleep 25 ;; *) echo quick ;; esac

[missing]
requires = no-such-tool-am
packages = no-such-package
command  = no-such-tool-am

# A server on a free port, driven by a client on glibc; its output command
# runs while it serves.
[server]
server   = exec {py} -c "import http.server, sys; open('hello.txt', 'w').write('hello\\\\n'); http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()" {port} am-test-server-marker
command  = {py} -c "import sys, urllib.request; [urllib.request.urlopen('http://127.0.0.1:%s/hello.txt' % sys.argv[1]).read() for _ in range(30)]; print('30 requests')" {port}
output   = command:{py} -c "import sys, urllib.request; print(urllib.request.urlopen('http://127.0.0.1:%s/hello.txt' % sys.argv[1]).read().decode())" {port}
"""


# One child of [tree]: hold 24 MiB, say so with a file in the working
# directory, wait for the other child's file (10 s at most), hold 0.3 s more.
TREE_CHILD = """import os, time
x = bytearray(24 << 20)
x[::4096] = b"x" * len(x[::4096])
open("holding-%d" % os.getpid(), "w").close()
start = time.time()
while len([f for f in os.listdir(".") if f.startswith("holding-")]) < 2:
    if time.time() - start > 10:
        break
    time.sleep(0.01)
time.sleep(0.3)
print(1)
"""


check = Tally()


def run(allocmark, args, timeout=240):
    return subprocess.run([allocmark] + args, capture_output=True, text=True, timeout=timeout)


def latest(root):
    return os.path.join(root, os.readlink(os.path.join(root, "latest")))


def rows_of(run_dir):
    _, rows, series = results_check.load(run_dir)
    return {(r["allocator"], r["workload"], r["rep"]): r for r in rows}, series


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def marker_processes():
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"am-test-server-marker" in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_programs(allocmark, tmp):
    path = os.path.join(tmp, "tiny.programs")
    child = os.path.join(tmp, "tree_child.py")
    with open(child, "w") as f:
        f.write(TREE_CHILD)
    with open(path, "w") as f:
        f.write(PROGRAMS.replace("{py}", PY).replace("{child}", child))
    root = os.path.join(tmp, "results")
    p = run(allocmark, ["run", "-p", "smoke", "-a", "glibc,mimalloc", "-r", "2",
                        "--programs", path, "-o", root])
    check(p.returncode == 1, f"exit {p.returncode} (want 1: some cells failed):\n"
                             f"{p.stdout}{p.stderr}")
    run_dir = latest(root)
    for problem in results_check.problems(run_dir):
        check(False, f"results: {problem}")
    rows, series = rows_of(run_dir)
    get = lambda a, prog, rep="1": rows.get((a, prog, rep), {})

    for a in ("glibc", "mimalloc"):
        for rep in ("1", "2"):
            tree = get(a, "tree", rep)
            if check(tree.get("status") == "ok", f"{a} tree rep {rep}: {tree}"):
                # Two processes of 24 MiB each: the sampled sum passes 40 MiB.
                check(number(tree["peak_rss_bytes"]) > 40 << 20,
                      f"{a} tree peak RSS {tree['peak_rss_bytes']} (two children of 24 MiB)")
                check(number(tree["wall_s"]) >= 0.3, f"{a} tree wall {tree['wall_s']}")
                points = [s for s in series if (s["allocator"], s["workload"], s["rep"])
                          == (a, "tree", rep)]
                seconds = [number(s["seconds"]) for s in points]
                check(len(points) >= 10 and seconds == sorted(seconds),
                      f"{a} tree: {len(points)} samples, in order: {seconds == sorted(seconds)}")
                check(number(tree["throughput"]) == number(f"{1 / number(tree['wall_s']):.6g}")
                      or abs(number(tree["throughput"]) * number(tree["wall_s"]) - 1) < 0.01,
                      f"{a} tree throughput {tree['throughput']} is not 1 / wall")
                check(tree["throughput_unit"] == "runs/s", f"unit {tree['throughput_unit']}")
            s = get(a, "sort", rep)
            check(s.get("status") == "ok" and s.get("exit_status") == "exit 0",
                  f"{a} sort rep {rep}: {s}")
            m = get(a, "merit", rep)
            check(m.get("status") == "ok" and number(m.get("throughput")) == 42.5
                  and m.get("throughput_unit") == "widgets/s", f"{a} merit rep {rep}: {m}")
            c = get(a, "crashes", rep)
            check(c.get("status") == "crash" and "SIGSEGV" in c.get("reason", "")
                  and "about to crash" in c.get("reason", ""), f"{a} crashes: {c}")
            e = get(a, "fails", rep)
            check(e.get("status") == "error" and "exit 3" in e.get("reason", "")
                  and "cannot go on" in e.get("reason", ""), f"{a} fails: {e}")
            k = get(a, "missing", rep)
            check(k.get("status") == "skipped" and "no-such-tool-am" in k.get("reason", ""),
                  f"{a} missing: {k}")
            if a == "glibc":
                check(get(a, "slow", rep).get("status") == "ok", f"glibc slow: {get(a, 'slow', rep)}")
            srv = get(a, "server", rep)
            check(srv.get("status") == "ok", f"{a} server rep {rep}: {srv}")
    check(get("glibc", "sort")["output_checksum"] == get("mimalloc", "sort")["output_checksum"],
          "sort: the same checksum under both")
    check(get("glibc", "server")["output_checksum"] == get("mimalloc", "server")["output_checksum"],
          "server: the same checksum under both")
    check(get("glibc", "differs").get("status") == "ok", f"glibc differs: {get('glibc', 'differs')}")
    wrong = get("mimalloc", "differs")
    check(wrong.get("status") == "wrong" and "glibc" in wrong.get("reason", "")
          and wrong.get("output_checksum"), f"mimalloc differs: {wrong}")
    check(os.path.exists(os.path.join(run_dir, "outputs", "differs.mimalloc.r1.out"))
          and os.path.exists(os.path.join(run_dir, "outputs", "differs.glibc.out")),
          "the wrong output and glibc's are kept in outputs/")
    check(not marker_processes(), f"the server outlived its cell: {marker_processes()}")
    slow = get("mimalloc", "slow")
    check(slow.get("status") == "timeout" and "5 x glibc's time + 2 s" in slow.get("reason", "")
          and 2 <= number(slow.get("wall_s")) < 10, f"mimalloc slow rep 1: {slow}")
    again = get("mimalloc", "slow", "2")
    check(again.get("status") == "skipped" and "ran out of time in repetition 1"
          in again.get("reason", ""), f"mimalloc slow rep 2: {again}")

    # Without glibc among the allocators, a run of it that is not a cell
    # gives the output to check against.
    numbers = os.path.join(tmp, "numbers")
    with open(numbers, "w") as f:
        f.write("".join(f"{i}\n" for i in range(200, 0, -1)))
    p = run(allocmark, ["run", "-a", "mimalloc", "-r", "2", "--no-micro", "-o",
                        os.path.join(tmp, "noglibc"), "--", "sort", "-n", numbers])
    check(p.returncode == 0 and "reference output" in p.stderr,
          f"-a mimalloc -- sort: exit {p.returncode}:\n{p.stdout}{p.stderr}")
    rows, _ = rows_of(latest(os.path.join(tmp, "noglibc")))
    check(sorted(k for k in rows) == [("mimalloc", "sort", "1"), ("mimalloc", "sort", "2")]
          and all(r["status"] == "ok" for r in rows.values()),
          f"-a mimalloc -- sort: rows {[(k, r['status'], r['reason']) for k, r in rows.items()]}")

    p = run(allocmark, ["plot", run_dir])
    check(p.returncode == 0, f"plot exited {p.returncode}: {p.stdout}{p.stderr}")
    for chart in ("tradeoff-tree", "rss-tree", "tradeoff-server"):
        check(os.path.exists(os.path.join(run_dir, "plots", chart + ".png")), f"no {chart}.png")
    with open(os.path.join(run_dir, "report.html")) as f:
        html = f.read()
    check('<td class="bad">wrong</td>' in html, "report.html: wrong in red")
    check(re.search(r'<td class="bad">[^<]*timeout at [0-9.]+ s', html),
          "report.html: a timeout says its limit, in red")


def test_user(allocmark, tmp):
    numbers = os.path.join(tmp, "numbers")
    expect = os.path.join(tmp, "sorted")
    with open(numbers, "w") as f:
        f.write("".join(f"{i}\n" for i in range(300, 0, -1)))
    with open(expect, "w") as f:
        f.write("".join(f"{i}\n" for i in range(1, 301)))
    root = os.path.join(tmp, "user")
    for extra, want, status in (
            (["--expect-output", expect], 0, "ok"),
            (["--check", "grep -qx 300 \"$AM_OUTPUT\""], 0, "ok"),
            (["--check", "grep -qx 301 \"$AM_OUTPUT\""], 1, "wrong"),
            ([], 0, "ok")):
        p = run(allocmark, ["run", "-a", "glibc", "-r", "2", "--no-micro", "-o", root] + extra
                + ["--", "sort", "-n", numbers])
        check(p.returncode == want, f"{extra}: exit {p.returncode}:\n{p.stdout}{p.stderr}")
        run_dir = latest(root)
        for problem in results_check.problems(run_dir):
            check(False, f"{extra}: results: {problem}")
        rows, _ = rows_of(run_dir)
        check(len(rows) == 2 and all(r["status"] == status and r["workload"] == "sort"
                                     and r["kind"] == "program" for r in rows.values()),
              f"{extra}: rows {[(r['status'], r['reason']) for r in rows.values()]}")


def test_badinput(allocmark, tmp):
    root = os.path.join(tmp, "bad")
    bad_file = os.path.join(tmp, "bad.programs")
    with open(bad_file, "w") as f:
        f.write("[ok]\ncommand = true\n\n[second]\ncommand = true\nfrobnicate = 1\n")
    no_command = os.path.join(tmp, "nocommand.programs")
    with open(no_command, "w") as f:
        f.write("[lonely]\nsummary = nothing to run\n")
    plain = os.path.join(tmp, "plain-file")
    with open(plain, "w") as f:
        f.write("not a program\n")
    cases = [
        (["--", "./no-such-program-am"], "./no-such-program-am"),
        (["--", "no-such-program-am"], "no-such-program-am"),
        (["--", plain], "not an executable"),
        (["--"], "needs a command"),
        (["--check", "true"], "--check"),
        (["--expect-output", plain], "--expect-output"),
        (["--expect-output", os.path.join(tmp, "absent"), "--", "true"], "absent"),
        (["--programs", bad_file], "bad.programs:6: unknown key 'frobnicate'"),
        (["--programs", no_command], "nocommand.programs:1: [lonely] has no 'command'"),
        (["--programs", os.path.join(tmp, "absent.programs")], "absent.programs"),
        (["-P", "no-such-program"], "unknown program 'no-such-program'"),
        (["--no-programs", "-P", "python3"], "--no-programs"),
    ]
    for args, words in cases:
        p = run(allocmark, ["run", "-a", "glibc", "-o", root] + args)
        check(p.returncode == 2 and words in p.stderr,
              f"{args}: exit {p.returncode}, stderr {p.stderr.strip()!r} (want 2 and {words!r})")
        check(not os.path.exists(root), f"{args}: wrote {root}")


def main():
    allocmark, test = sys.argv[1], sys.argv[2]
    tests = {"programs": test_programs, "user": test_user, "badinput": test_badinput}
    if test not in tests:
        print(f"programs_test.py: unknown test '{test}' (valid: {', '.join(tests)})",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="am-programs-") as tmp:
        tests[test](allocmark, tmp)
    print(check.summary())
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
