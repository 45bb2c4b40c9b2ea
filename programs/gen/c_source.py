# Input generator of the gcc program: one C file of SCALE x 20 generated
# functions (loops, switches, structs, inline helpers, string tables), enough
# for cc1 to build and free large IR and RTL. Deterministic for a given SCALE.
# Usage: c_source.py SCALE OUT.c
import random
import sys

scale, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(5)
n = 20 * scale
ops = ["+", "-", "*", "^", "|", "&"]

with open(out, "w") as f:
    w = f.write
    w("#include <stddef.h>\n#include <string.h>\n\n")
    w("struct rec { int a, b; long c; double d; char name[16]; struct rec *next; };\n\n")
    w("static inline int mix(int x, int y) { return (x << 3) ^ (y >> 2) ^ (x * 31 + y); }\n\n")
    w("static const char *const names[] = {\n")
    for i in range(200):
        w('    "%s",\n' % "".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 14))))
    w("};\n\n")
    for i in range(n):
        w("int f%d(struct rec *r, int *v, size_t len, int k)\n{\n" % i)
        w("    int acc = %d;\n" % rng.randint(0, 1000))
        for j in range(rng.randint(1, 3)):
            op = rng.choice(ops)
            w("    for (size_t i%d = 0; i%d < len; i%d++) {\n" % (j, j, j))
            w("        int t = v[i%d] %s (int)i%d;\n" % (j, op, j))
            w("        switch ((t + k) & 7) {\n")
            for c in range(rng.randint(2, 5)):
                w("        case %d: acc = mix(acc, t %s %d); break;\n"
                  % (c, rng.choice(ops), rng.randint(1, 99)))
            w("        default: acc += t; break;\n        }\n")
            w("        if (acc > %d) { r->a += acc; r = r->next ? r->next : r; }\n"
              % rng.randint(1000, 100000))
            w("    }\n")
        w("    r->d += acc * %.3f;\n" % rng.uniform(0, 3))
        w("    strncpy(r->name, names[(acc & 0x7fffffff) % 200], sizeof r->name - 1);\n")
        if i:
            w("    if (k > 0) acc += f%d(r, v, len / 2, k - 1);\n" % rng.randrange(i))
        w("    return acc;\n}\n\n")
