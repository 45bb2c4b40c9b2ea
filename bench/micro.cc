/*
 * allocmark-micro: Google Benchmark microbenchmarks of every allocator, each
 * in a process of its own prepared for it by the harness's spawnproc.c (a
 * reference is the child's real malloc through LD_PRELOAD), all through the
 * front end (am_malloc/am_free on an am_heap), so every allocator pays the
 * same indirection. Every block is written (first and last byte) so that no
 * allocator wins by leaving memory untouched.
 *
 *   allocmark-micro [--allocators=A,B] [--out=DIR] [--rounds=N] [--timeout=S]
 *                   [--benchmark_...]
 *
 * Benchmarks (registered at run time, per allocator and size):
 *   pair/A/SIZE      malloc, touch, free
 *   batch/A/SIZE     malloc BATCH blocks, then free them in the same order
 * Workloads with state, threads or peak memory (larson, prodcons, ...) are
 * the harness's cells, not microbenchmarks; their peak RSS is in cells.csv.
 * Children write DIR/micro-A.json (round 1) and DIR/micro-A.rN.json (round
 * N); `allocmark run` starts this program into each run's directory, and
 * `allocmark report --micro` prints medians and ratios from them.
 */
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>

extern "C" {
#include "arglist.h"
#include "cli.h"
#include "frontend.h"
#include "spawnproc.h"
}

namespace
{

constexpr const char *CHILD = "__micro-child";

constexpr size_t SIZES[] = {16, 32, 64, 128, 256, 512, 1024, 4096};
constexpr int BATCH = 1000;
constexpr unsigned MAX_ALLOCATORS = 64;

am_heap heap;

/* Write the first and last byte, so the allocator's memory is really used. */
inline void touch(void *p, size_t n)
{
    auto *b = static_cast<unsigned char *>(p);
    b[0] = (unsigned char)n;
    b[n - 1] = (unsigned char)(n >> 1);
}

/* ---------------------------------------------------------------------------
 * The benchmarks
 * ------------------------------------------------------------------------ */

void bench_pair(benchmark::State &state, size_t size)
{
    for (auto _ : state) {
        void *p = am_malloc(&heap, size);
        if (!p) {
            state.SkipWithError("out of memory");
            break;
        }
        touch(p, size);
        benchmark::DoNotOptimize(p);
        am_free(&heap, p);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * (int64_t)size);
}

void bench_batch(benchmark::State &state, size_t size)
{
    std::vector<void *> blocks(BATCH);
    for (auto _ : state) {
        for (int i = 0; i < BATCH; i++) {
            void *p = am_malloc(&heap, size);
            if (!p) {
                state.SkipWithError("out of memory");
                return;
            }
            touch(p, size);
            blocks[i] = p;
        }
        benchmark::ClobberMemory();
        for (int i = 0; i < BATCH; i++)
            am_free(&heap, blocks[i]);
    }
    state.SetItemsProcessed(state.iterations() * BATCH);
    state.SetBytesProcessed(state.iterations() * BATCH * (int64_t)size);
}

void register_benchmarks(const char *name)
{
    char buf[128];
    for (size_t size : SIZES) {
        snprintf(buf, sizeof buf, "pair/%s/%zu", name, size);
        benchmark::RegisterBenchmark(buf, bench_pair, size);
    }
    for (size_t size : SIZES) {
        snprintf(buf, sizeof buf, "batch/%s/%zu", name, size);
        benchmark::RegisterBenchmark(buf, bench_batch, size);
    }
}

/* ---------------------------------------------------------------------------
 * The child: one allocator's benchmarks
 * ------------------------------------------------------------------------ */

int run_child(int argc, char **argv)
{
    const am_allocator *a = am_find_allocator(argv[2]);
    if (!a)
        return 1;
    int err = am_heap_open(&heap, a, 0);
    if (err) {
        fprintf(stderr, "allocmark-micro: cannot open %s: %s\n", a->name, strerror(err));
        return 1;
    }
    register_benchmarks(a->name);
    benchmark::AddCustomContext("allocator", a->name);
    /* Google Benchmark sees argv[0] and the options after the allocator. */
    std::vector<char *> args{argv[0]};
    for (int i = 3; i < argc; i++)
        args.push_back(argv[i]);
    int n = (int)args.size();
    args.push_back(nullptr);
    benchmark::Initialize(&n, args.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    am_heap_close(&heap);
    return 0;
}

/* ---------------------------------------------------------------------------
 * The parent: one child per allocator and round
 * ------------------------------------------------------------------------ */

struct Options {
    const am_allocator *allocators[MAX_ALLOCATORS];
    unsigned n_allocators = 0;
    std::string out = "results/micro";
    unsigned long rounds = 1;
    double timeout_s = 900;
    std::vector<std::string> passthrough; /* --benchmark_* */
};

void usage(FILE *to)
{
    fprintf(to, "usage: allocmark-micro [--allocators=A,B] [--out=DIR] [--rounds=N] "
                "[--timeout=S] [--benchmark_...]\n"
                "Runs each allocator's microbenchmarks in a child process of its own; JSON\n"
                "goes to DIR (micro-A.json, micro-A.rN.json for round N > 1; default\n"
                "results/micro). --timeout limits each child (seconds, default 900).\n"
                "Options starting with --benchmark_ are passed to Google Benchmark.\n");
}

bool parse_count(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < 1 || v > 1000)
        return false;
    *out = v;
    return true;
}

bool parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0))
        return false;
    *out = v;
    return true;
}

int parse_options(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strncmp(arg, "--allocators=", 13)) {
            int n = am_arglist_allocators("allocmark-micro", "--allocators", arg + 13, o.allocators,
                                          MAX_ALLOCATORS);
            if (n < 0)
                return AM_EXIT_USAGE;
            o.n_allocators = (unsigned)n;
        } else if (!strncmp(arg, "--out=", 6) && arg[6]) {
            o.out = arg + 6;
        } else if (!strncmp(arg, "--rounds=", 9)) {
            if (!parse_count(arg + 9, &o.rounds)) {
                fprintf(stderr,
                        "allocmark-micro: --rounds: '%s' is not a number of rounds "
                        "(a whole number from 1 to 1000)\n",
                        arg + 9);
                return AM_EXIT_USAGE;
            }
        } else if (!strncmp(arg, "--timeout=", 10)) {
            if (!parse_seconds(arg + 10, &o.timeout_s)) {
                fprintf(stderr, "allocmark-micro: --timeout: '%s' is not a number of seconds > 0\n",
                        arg + 10);
                return AM_EXIT_USAGE;
            }
        } else if (!strncmp(arg, "--benchmark_", 12)) {
            o.passthrough.push_back(arg);
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            exit(AM_EXIT_OK);
        } else {
            fprintf(stderr, "allocmark-micro: unknown option '%s'\n", arg);
            usage(stderr);
            return AM_EXIT_USAGE;
        }
    }
    if (o.n_allocators == 0)
        o.n_allocators = am_arglist_default_allocators(o.allocators, MAX_ALLOCATORS);
    return 0;
}

/* Run argv in a child prepared for a; false when it failed. */
bool spawn_and_report(const am_allocator *a, std::vector<std::string> &argv, double timeout_s,
                      am_child &child)
{
    std::vector<char *> args;
    for (auto &s : argv)
        args.push_back(&s[0]);
    args.push_back(nullptr);
    am_spawn_options opt = am_spawn_defaults();
    opt.timeout_s = timeout_s;
    int err = am_spawn(a, args.data(), &opt, &child);
    if (err) {
        fprintf(stderr, "allocmark-micro: %s: cannot start a child: %s\n", a->name, strerror(err));
        return false;
    }
    char fate[64];
    bool ok = child.exited && child.exit_code == 0;
    if (!ok)
        fprintf(stderr, "allocmark-micro: %s: child failed (%s); going on\n", a->name,
                am_child_describe(&child, fate, sizeof fate));
    return ok;
}

int run_rounds(const Options &o, const char *self)
{
    int failures = 0;
    unsigned n = o.n_allocators;
    for (unsigned long round = 1; round <= o.rounds; round++) {
        for (unsigned k = 0; k < n; k++) {
            /* Rotate the order each round so no allocator always runs first. */
            const am_allocator *a = o.allocators[(k + round - 1) % n];
            std::string file = o.out + "/micro-" + a->name +
                               (round == 1 ? std::string() : ".r" + std::to_string(round)) +
                               ".json";
            std::vector<std::string> argv{self, CHILD, a->name, "--benchmark_out=" + file,
                                          "--benchmark_out_format=json"};
            argv.insert(argv.end(), o.passthrough.begin(), o.passthrough.end());
            printf("== %s (round %lu) -> %s\n", a->name, round, file.c_str());
            fflush(stdout);
            am_child child{};
            if (!spawn_and_report(a, argv, o.timeout_s, child))
                failures++;
            fputs(child.output ? child.output : "", stdout);
            free(child.output);
        }
    }
    return failures ? AM_EXIT_FAILED : AM_EXIT_OK;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], CHILD))
        return run_child(argc, argv);
    Options o;
    if (int err = parse_options(argc, argv, o))
        return err;
    std::string mk = o.out;
    for (size_t i = 1; i <= mk.size(); i++)
        if (i == mk.size() || mk[i] == '/')
            mkdir(mk.substr(0, i).c_str(), 0777);
    struct stat st;
    if (stat(o.out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "allocmark-micro: cannot create %s\n", o.out.c_str());
        return AM_EXIT_FAILED;
    }
    return run_rounds(o, argv[0]);
}
