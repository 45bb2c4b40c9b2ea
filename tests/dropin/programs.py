#!/usr/bin/env python3
"""programs.py: real programs from Debian packages run on a drop-in.

Usage: programs.py LIBAM_SO BACKEND

Each program runs twice, on glibc's malloc and with LIBAM_SO preloaded, on the
same input in a fresh temporary directory; the outputs (or their checksums)
must be identical. A program that dies by a signal, or that exits 0 with
different output, is a failure for every backend. A program that runs out of
memory (it says so and exits non-zero) or out of time is recorded and
explained, and is a failure only for the backends that are meant to run
real programs: bump-brk (which reuses only the newest block) and mmap-only
(a system call and a page per block) are allowed to run out. Each run may use
1 GiB of data (RLIMIT_DATA) and TIME_LIMIT seconds.
"""
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TIME_LIMIT = 120
DATA_LIMIT = 1 << 30
MAY_RUN_OUT = {"bump-brk", "mmap-only"}
OOM_WORDS = ("memoryerror", "cannot allocate memory", "out of memory", "memory exhausted")


def generate_text(path, size):
    """Deterministic text that compresses a little: words from a small LCG."""
    words = [b"alloc", b"free", b"slab", b"page", b"block", b"heap", b"arena", b"thread"]
    x = 12345
    out = bytearray()
    while len(out) < size:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out += words[x % 8] + (b"%d" % (x % 1000)) + (b"\n" if x % 11 == 0 else b" ")
    with open(path, "wb") as f:
        f.write(out[:size])


def sqlite_script():
    return """
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, payload BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO t SELECT i, 'name-' || (i * 7919 % 30011), i % 97, zeroblob(i % 300) FROM n;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, name);
UPDATE t SET name = name || '-x' WHERE grp % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT grp, count(*), sum(length(payload)), min(name), max(name) FROM t GROUP BY grp ORDER BY grp;
SELECT count(DISTINCT name), group_concat(name, ',') IS NOT NULL FROM t;
SELECT name FROM t ORDER BY name DESC LIMIT 5;
"""


PERL = r"""
my %h; my @a;
for my $i (1..15000) { my $k = "k" . ($i * 7919 % 100003); $h{$k} .= $i; push @a, [$i, $k] if $i % 3; }
my $s = join(",", map { "$_=$h{$_}" } sort keys %h);
@a = sort { $a->[1] cmp $b->[1] or $a->[0] <=> $b->[0] } @a;
my $t = ""; $t .= $_->[1] for @a[0..499];
print length($s), " ", scalar(keys %h), " ", scalar(@a), " ", substr($t, 0, 60), "\n";
"""

LUA = r"""
local t, parts = {}, {}
for i = 1, 50000 do t["k" .. (i * 7919 % 100003)] = string.rep("x", i % 17) .. i end
local keys = {}
for k in pairs(t) do keys[#keys + 1] = k end
table.sort(keys)
for i = 1, #keys, 97 do parts[#parts + 1] = keys[i] .. "=" .. t[keys[i]] end
local s = table.concat(parts, ",")
print(#keys, #s, s:sub(1, 60))
"""


def cases(tmp):
    """(name, argv, stdin file or None, output files to checksum) per program."""
    data = os.path.join(tmp, "data.txt")
    generate_text(data, 2 << 20)
    sql = os.path.join(tmp, "script.sql")
    with open(sql, "w") as f:
        f.write(sqlite_script())
    py = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
    return [
        ("python3", [py, "-S", os.path.join(HERE, "alloc_heavy.py")], None, []),
        ("sqlite3", ["sqlite3", "db.sqlite"], sql, []),
        ("perl", ["perl", "-e", PERL], None, []),
        ("lua5.4", ["lua5.4", "-e", LUA], None, []),
        # Multi-threaded: compress with two threads, decompress, both checked.
        ("xz -T2", ["sh", "-c", "xz -T2 -6 --block-size=1MiB -c data.txt > data.xz &&"
                    " xz -T2 -dc data.xz | sha256sum && sha256sum < data.xz"], None, []),
        ("zstd -T2", ["sh", "-c", "zstd -q -T2 -5 -c data.txt > data.zst &&"
                      " zstd -q -dc data.zst | sha256sum && sha256sum < data.zst"], None, []),
    ]


def limits():
    resource.setrlimit(resource.RLIMIT_DATA, (DATA_LIMIT, DATA_LIMIT))
    os.setpgrp()


def run(argv, stdin, cwd, preload):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
        p = subprocess.Popen(argv, stdin=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=cwd, env=env, preexec_fn=limits)
        try:
            out, err = p.communicate(timeout=TIME_LIMIT)
            return p.returncode, out, err, False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return p.returncode, out, err, True


def fresh_copy(src, name):
    dst = tempfile.mkdtemp(prefix="am-%s-" % name.split()[0])
    shutil.copy(os.path.join(src, "data.txt"), dst)
    return dst


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    lib, backend = os.path.abspath(sys.argv[1]), sys.argv[2]
    if not os.path.exists(lib):
        print("programs.py: no such drop-in: %s" % lib, file=sys.stderr)
        return 2
    failures = 0
    tmp = tempfile.mkdtemp(prefix="am-programs-")
    try:
        for name, argv, stdin, _ in cases(tmp):
            if not shutil.which(argv[0]):
                print("%-10s FAILED: %s is not installed (scripts/setup.sh installs it)"
                      % (name, argv[0]))
                failures += 1
                continue
            dirs = [fresh_copy(tmp, name), fresh_copy(tmp, name)]
            ref = run(argv, stdin, dirs[0], None)
            got = run(argv, stdin, dirs[1], lib)
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
            verdict, why = judge(ref, got, backend)
            failures += verdict == "FAILED"
            summary = hashlib.sha256(got[1]).hexdigest()[:12]
            print("%-10s %-9s %s" % (name, verdict, why or "output %s identical to glibc's" % summary))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d programs failed on %s" % (failures, backend))
    return 1 if failures else 0


def judge(ref, got, backend):
    rc_ref, out_ref, err_ref, to_ref = ref
    rc, out, err, timed_out = got
    if to_ref or rc_ref != 0:
        return "FAILED", "on glibc itself: exit %s, %s" % (rc_ref, err_ref.decode(errors="replace")[-300:])
    tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
    allowed = backend in MAY_RUN_OUT
    if timed_out:
        return ("ran-out" if allowed else "FAILED",
                "ran out of time (%d s); %s" % (TIME_LIMIT, explain(backend)))
    if rc < 0:
        return "FAILED", "killed by signal %d (%s)" % (-rc, tail[0])
    if rc != 0:
        if any(w in err.decode(errors="replace").lower() for w in OOM_WORDS):
            return ("ran-out" if allowed else "FAILED",
                    "ran out of memory (%s); %s" % (tail[0], explain(backend)))
        return "FAILED", "exit %d: %s" % (rc, tail[0])
    if out != out_ref:
        return "FAILED", "output differs from glibc's: %r vs %r" % (out[:80], out_ref[:80])
    return "ok", None


def explain(backend):
    if backend == "bump-brk":
        return "bump-brk reuses only the newest block, so a program's freed memory piles up"
    if backend == "mmap-only":
        return "mmap-only makes a system call and maps a page per block"
    return "this backend is expected to run real programs"


if __name__ == "__main__":
    sys.exit(main())
