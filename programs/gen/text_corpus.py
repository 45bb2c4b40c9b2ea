# Input generator shared by the perl and xz programs: LINES lines of
# web-server-like log text (addresses, dates, paths, user agents, free text
# drawn from a generated vocabulary with a Zipf-like skew). Deterministic for
# given arguments. Usage: text_corpus.py LINES OUT
import random
import sys

lines, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(3)
vocab = ["".join(rng.choice("etaoinshrdlucmfwypvbgkqjxz") for _ in range(rng.randint(2, 10)))
         for _ in range(5000)]
cum = []
total = 0.0
for i in range(len(vocab)):
    total += 1.0 / (i + 1)
    cum.append(total)
methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
agents = ["curl/7.%d" % i for i in range(20)] + ["Mozilla/5.0 (X11; rev %d)" % i for i in range(40)]
with open(out, "w") as f:
    for i in range(lines):
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(3, 25))
        path = "/" + "/".join(words[:rng.randint(1, 4)])
        f.write("%d.%d.%d.%d - - [%02d/Dec/2026:%02d:%02d:%02d] \"%s %s HTTP/1.1\" %d %d \"%s\" %s\n"
                % (rng.randint(1, 254), rng.randint(0, 255), rng.randint(0, 255),
                   rng.randint(1, 254), 1 + i * 28 // lines, rng.randint(0, 23),
                   rng.randint(0, 59), rng.randint(0, 59), rng.choice(methods), path,
                   rng.choice([200, 200, 200, 301, 404, 500]), rng.randint(0, 100000),
                   rng.choice(agents), " ".join(words)))
