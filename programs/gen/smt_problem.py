# Input generator of the z3 program: an SMT-LIB 2 script of SCALE rounds,
# each in its own push/pop scope: a random 3-SAT instance near the
# satisfiability threshold, a small job-shop schedule in linear integer
# arithmetic with a tight makespan, and factoring a product of two primes
# with bit-vectors (the factors ordered, so the answer is unique). Only
# sat/unsat and the factors are printed. Deterministic for a given SCALE.
# Usage: smt_problem.py SCALE OUT.smt2
import random
import sys

scale, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(17)


def primes(lo, hi):
    return [p for p in range(lo, hi) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


small_primes = primes(20000, 40000)
with open(out, "w") as f:
    w = f.write
    w("(set-option :produce-models true)\n")
    for r in range(scale):
        # 3-SAT, 160 variables, 4.2 clauses per variable.
        n, m = 160, 672
        w("(push 1)\n")
        for v in range(n):
            w("(declare-const p%d Bool)\n" % v)
        for _ in range(m):
            lits = []
            for v in rng.sample(range(n), 3):
                lits.append(("p%d" % v) if rng.random() < 0.5 else ("(not p%d)" % v))
            w("(assert (or %s))\n" % " ".join(lits))
        w("(check-sat)\n(pop 1)\n")
        # Job shop: 6 jobs x 4 machines, makespan bound from a greedy schedule.
        jobs, machines = 6, 4
        w("(push 1)\n")
        dur = [[rng.randint(1, 9) for _ in range(machines)] for _ in range(jobs)]
        order = [rng.sample(range(machines), machines) for _ in range(jobs)]
        for j in range(jobs):
            for k in range(machines):
                w("(declare-const s%d_%d Int)\n(assert (>= s%d_%d 0))\n" % (j, k, j, k))
            for a, b in zip(order[j], order[j][1:]):
                w("(assert (>= s%d_%d (+ s%d_%d %d)))\n" % (j, b, j, a, dur[j][a]))
        for k in range(machines):
            for j1 in range(jobs):
                for j2 in range(j1 + 1, jobs):
                    w("(assert (or (>= s%d_%d (+ s%d_%d %d)) (>= s%d_%d (+ s%d_%d %d))))\n"
                      % (j1, k, j2, k, dur[j2][k], j2, k, j1, k, dur[j1][k]))
        bound = max(sum(d) for d in dur) + rng.randint(0, 6)
        for j in range(jobs):
            last = order[j][-1]
            w("(assert (<= (+ s%d_%d %d) %d))\n" % (j, last, dur[j][last], bound))
        w("(check-sat)\n(pop 1)\n")
        # Factoring with 36-bit vectors.
        p, q = sorted(rng.sample(small_primes, 2))
        w("(push 1)\n(declare-const x (_ BitVec 36))\n(declare-const y (_ BitVec 36))\n")
        w("(assert (= (bvmul x y) (_ bv%d 36)))\n" % (p * q))
        w("(assert (bvult x (_ bv65536 36)))\n(assert (bvult y (_ bv65536 36)))\n")
        w("(assert (bvugt x (_ bv1 36)))\n(assert (bvule x y))\n")
        w("(check-sat)\n(get-value (x y))\n(pop 1)\n")
