#!/usr/bin/env python3
"""Write the seed corpus (fuzz/corpus/) of the allocator fuzz target.

Each seed is a short program in the target's input format (see
fuzz_allocator.c): one per kind of call, so that fuzzing starts from inputs
that already reach every operation. Deterministic: rerunning it rewrites the
same files.  Usage: python3 fuzz/make_seeds.py [DIR]
"""
import os
import random
import sys

MALLOC, CALLOC, REALLOC, FREE, MEMALIGN, ALIGNED, USABLE, CHECK = range(8)


def size(n=None, edge=None, large=None):
    """The two size bytes: a small or medium size, a large one (in 64-byte
    steps), or an index into the target's table of edge sizes."""
    if edge is not None:
        v = 0xC000 | edge
    elif large is not None:
        v = 0x8000 | (large // 64)
    elif n < 256:
        v = n
    else:
        v = 0x4000 | n
    return bytes([v & 0xFF, v >> 8])


def op(kind, slot=0, sz=b"", extra=b""):
    return bytes([kind]) + (bytes([slot]) if kind != CHECK else b"") + sz + extra


def seeds():
    s = {}
    s["small"] = b"".join(
        [op(MALLOC, i, size(n)) for i, n in enumerate([0, 1, 8, 16, 17, 24, 100, 255])]
        + [op(FREE, i) for i in (1, 3, 5)]
        + [op(MALLOC, i, size(48)) for i in (1, 3, 5)]
        + [op(CHECK)]
    )
    s["calloc"] = b"".join(
        [op(CALLOC, i, size(n), bytes([k])) for i, (n, k) in
         enumerate([(1, 0), (100, 3), (4000, 15), (200, 130), (16383, 200), (1, 191)])]
        + [op(CHECK)]
    )
    s["realloc"] = b"".join(
        [op(MALLOC, 0, size(16)), op(REALLOC, 0, size(64)), op(REALLOC, 0, size(1000)),
         op(REALLOC, 0, size(8)), op(REALLOC, 1, size(32)), op(REALLOC, 1, size(0)),
         op(REALLOC, 0, size(large=200000)), op(REALLOC, 0, size(3000)), op(CHECK)]
    )
    s["aligned"] = b"".join(
        [op(MEMALIGN, i, size(n), bytes([a])) for i, (n, a) in
         enumerate([(1, 5), (100, 6), (4000, 12), (64, 16), (0, 4), (10, 0xE1), (10, 0xE2)])]
        + [op(ALIGNED, 8 + i, size(n), bytes([a])) for i, (n, a) in
           enumerate([(64, 6), (4096, 12), (3, 0), (100, 0xE0), (100, 20)])]
        + [op(CHECK)]
    )
    s["large"] = b"".join(
        [op(MALLOC, 0, size(large=70000)), op(MALLOC, 1, size(large=(1 << 20) - 64)),
         op(MALLOC, 2, size(edge=38)), op(REALLOC, 1, size(edge=39)), op(REALLOC, 2, size(100)), op(FREE, 0), op(CHECK)]
    )
    s["huge"] = b"".join(
        [op(MALLOC, 0, size(edge=e)) for e in range(40, 47)]
        + [op(MALLOC, 1, size(50)), op(REALLOC, 1, size(edge=46)), op(CALLOC, 2, size(4000), bytes([190]))]
        + [op(MEMALIGN, 3, size(edge=45), bytes([6])), op(CHECK)]
    )
    s["usable"] = b"".join(
        [op(MALLOC, 0, size(20)), op(USABLE, 0), op(REALLOC, 0, size(200)), op(USABLE, 0),
         op(USABLE, 5), op(MALLOC, 1, size(large=5000)), op(USABLE, 1), op(REALLOC, 1, size(10)),
         op(CHECK)]
    )
    rng = random.Random(2026)
    churn = []
    for _ in range(600):
        kind = rng.choice([MALLOC, MALLOC, FREE, FREE, REALLOC, CALLOC, MEMALIGN, USABLE])
        slot = rng.randrange(64)
        if kind in (FREE, USABLE):
            churn.append(op(kind, slot))
        elif kind == CALLOC:
            churn.append(op(kind, slot, size(rng.randrange(1, 2000)), bytes([rng.randrange(16)])))
        elif kind == MEMALIGN:
            churn.append(op(kind, slot, size(rng.randrange(1, 3000)), bytes([rng.randrange(4, 13)])))
        else:
            churn.append(op(kind, slot, size(rng.choice([rng.randrange(256), rng.randrange(16384)]))))
    s["churn"] = b"".join(churn) + op(CHECK)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
