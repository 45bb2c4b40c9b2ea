# The python3 program's work: object churn, dicts, strings and JSON, each
# round building and dropping a few hundred thousand small objects. Prints
# only deterministic results (counts and digests), which the harness compares
# with glibc's run. Usage: python_churn.py SCALE
import hashlib
import json
import sys


class Node:
    __slots__ = ("key", "value", "children")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.children = []


def objects(n, seed):
    """Build a forest of small objects, keep one in seven, drop the rest."""
    kept = []
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        node = Node(i, [x & 0xFF] * (x % 7 + 1))
        for k in range(x % 4):
            node.children.append(Node(k, str(x)))
        if x % 7 == 0:
            kept.append(node)
    return sum(len(n.value) + len(n.children) for n in kept)


def dicts(n, seed):
    """Insert, look up and delete string keys; rebuild with comprehensions."""
    d = {}
    x = seed
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        d["k%x" % (x >> 40)] = i
    hits = sum(1 for i in range(0, n, 3) if ("k%x" % i) in d)
    for key in list(d)[::2]:
        del d[key]
    inverted = {v: k for k, v in d.items()}
    return len(d), hits, len(inverted)


def strings(n):
    """Build, split, join and format strings of many sizes."""
    parts = ["%d:%s" % (i, "ab" * (i % 17)) for i in range(n)]
    text = ",".join(parts)
    words = text.split(",")
    upper = [w.upper() for w in words if len(w) % 3 == 0]
    return hashlib.sha256(("|".join(upper) + text[:: max(1, n // 100)]).encode()).hexdigest()[:16]


def json_roundtrip(n):
    """Nested records to JSON text and back."""
    records = [
        {"id": i, "name": "user%d" % i, "tags": ["t%d" % (i % 11), "g%d" % (i % 5)],
         "score": i * 0.5, "nested": {"a": i % 3, "b": [i, i + 1, i + 2]}}
        for i in range(n)
    ]
    text = json.dumps(records, sort_keys=True)
    back = json.loads(text)
    return len(text), sum(r["nested"]["b"][2] for r in back)


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for r in range(scale):
        print("round", r)
        print(" objects", objects(20000, r + 1))
        print(" dicts", *dicts(20000, r + 7))
        print(" strings", strings(20000))
        print(" json", *json_roundtrip(4000))


main()
