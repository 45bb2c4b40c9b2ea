# The Python work behind the sample traces (scripts/record-samples.sh) and the
# recorder's overhead benchmark (scripts/bench-record.py): dicts of small
# objects, strings and JSON, built and dropped.
#   python3 scripts/sample_work.py N [THREADS]   (N items; THREADS workers)
import json
import random
import sys
import threading


def work(n):
    rng = random.Random(7)
    d = {}
    for i in range(n):
        d["k%d" % i] = {"id": i, "name": "item-%d" % rng.randrange(10**6),
                        "tags": [str(j) for j in range(i % 7)]}
    s = json.dumps(d)
    e = json.loads(s)
    rows = sorted(e.values(), key=lambda r: r["name"])
    words = " ".join(r["name"] for r in rows).split()
    return len(words) + len(s)


def main():
    n = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if threads == 1:
        work(n)
        return
    ts = [threading.Thread(target=work, args=(n,)) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
