# alloc_heavy.py: a short Python program that allocates heavily (dicts,
# strings, lists, json), for the drop-in tests (programs.py). It prints a
# digest of what it built, so that any wrong byte shows in its output.
import hashlib
import json

digest = hashlib.sha256()
for round_ in range(2):
    table = {}
    for i in range(20000):
        key = "k%d-%d" % (round_, i * 7919 % 100003)
        table[key] = [i, str(i) * (i % 7), {"n": i, "s": key.upper()}]
    text = json.dumps(table, sort_keys=True)
    back = json.loads(text)
    assert back == table
    words = text.split('"')
    joined = "|".join(sorted(set(words[:20000])))
    digest.update(text.encode())
    digest.update(joined.encode())
    # grow and shrink: strings built piece by piece, lists trimmed
    s = ""
    for i in range(3000):
        s += chr(65 + i % 26) * (i % 13)
    digest.update(s.encode())
    big = [bytearray(i % 5000) for i in range(3000)]
    del big[::2]
    digest.update(str(sum(len(b) for b in big)).encode())
print(digest.hexdigest())
