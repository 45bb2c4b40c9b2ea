/*
 * allocmark-micro: Google Benchmark microbenchmarks of every allocator, each
 * in a process of its own prepared for it (harness/spawn.h: a reference is
 * the child's real malloc through LD_PRELOAD), all through the front end
 * (am_malloc/am_free on an am_heap), so every allocator pays the same
 * indirection. Every block is written (first and last byte) so that no
 * allocator wins by leaving memory untouched.
 *
 *   allocmark-micro [--allocators=a,b] [--out=DIR] [--rounds=N] [--timeout=S]
 *                   [--benchmark_...]        microbenchmarks, JSON per child
 *   allocmark-micro --rss [--allocators=a,b] [--out=DIR]
 *                                            peak RSS of fixed workloads
 *
 * Benchmarks (registered at run time, per allocator and size):
 *   pair/A/SIZE      malloc, touch, free
 *   batch/A/SIZE     malloc BATCH blocks, then free them in the same order
 *   larson/A         one thread replaces random slots of random size 16-512 B
 *   xthread/A/SIZE   2 threads: the producer allocates, the consumer frees
 *   larson2/A        2 threads replace random slots; their slot arrays change
 *                    hands every SWAP_EVERY iterations, so most blocks are
 *                    freed by the thread that did not allocate them
 * Children write DIR/micro-A.json (round 1) and DIR/micro-A.rN.json (round N);
 * `allocmark report --micro` prints medians and slab's ratios to the others.
 */
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "frontend.h"
#include "os.h"
#include "cli.h"
#include "spawn.h"
}

namespace
{

constexpr const char *CHILD = "__micro-child";
constexpr const char *RSS_CHILD = "__rss-child";

constexpr size_t SIZES[] = {16, 32, 64, 128, 256, 512, 1024, 4096};
constexpr int BATCH = 1000;
constexpr int LARSON_SLOTS = 1000;
constexpr size_t LARSON_MIN = 16, LARSON_MAX = 512;
constexpr int XTHREAD_CHUNK = 64; /* blocks per iteration */
constexpr int RING_SLOTS = 1024;  /* blocks in flight, at most */
constexpr int SWAP_EVERY = 1024;  /* larson2 iterations between swaps */

am_heap heap;

/* ---------------------------------------------------------------------------
 * Helpers shared by the benchmarks and the RSS workloads
 * ------------------------------------------------------------------------ */

inline uint64_t next_random(uint64_t &s)
{
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
}

inline size_t random_size(uint64_t &s, size_t lo, size_t hi)
{
    return lo + (size_t)(next_random(s) % (hi - lo + 1));
}

/* Write the first and last byte, so the allocator's memory is really used. */
inline void touch(void *p, size_t n)
{
    auto *b = static_cast<unsigned char *>(p);
    b[0] = (unsigned char)n;
    b[n - 1] = (unsigned char)(n >> 1);
}

inline void spin_pause(unsigned &spins)
{
    if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        sched_yield(); /* two cores, shared: let the other side run */
        spins = 0;
    }
}

/* Single-producer single-consumer ring of blocks. */
struct Ring {
    alignas(64) std::atomic<size_t> head{0}; /* next slot to read */
    alignas(64) std::atomic<size_t> tail{0}; /* next slot to write */
    alignas(64) void *slot[RING_SLOTS];

    void push(void *p)
    {
        size_t t = tail.load(std::memory_order_relaxed);
        unsigned spins = 0;
        while (t - head.load(std::memory_order_acquire) == RING_SLOTS)
            spin_pause(spins);
        slot[t % RING_SLOTS] = p;
        tail.store(t + 1, std::memory_order_release);
    }
    void *pop()
    {
        size_t h = head.load(std::memory_order_relaxed);
        unsigned spins = 0;
        while (tail.load(std::memory_order_acquire) == h)
            spin_pause(spins);
        void *p = slot[h % RING_SLOTS];
        head.store(h + 1, std::memory_order_release);
        return p;
    }
};

/* A reusable barrier for two or more threads. */
struct Barrier {
    std::atomic<int> waiting{0};
    std::atomic<unsigned> generation{0};
    int n;
    explicit Barrier(int threads) : n(threads) {}
    void wait()
    {
        unsigned gen = generation.load(std::memory_order_acquire);
        if (waiting.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
            waiting.store(0, std::memory_order_relaxed);
            generation.fetch_add(1, std::memory_order_acq_rel);
            return;
        }
        unsigned spins = 0;
        while (generation.load(std::memory_order_acquire) == gen)
            spin_pause(spins);
    }
};

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

/* Slot indices and sizes drawn up front, so every allocator replays the same
 * sequence and the loop does not time the random number generator. */
struct Script {
    std::vector<uint32_t> slot;
    std::vector<uint32_t> size;
    Script(uint64_t seed, size_t n, int slots)
    {
        slot.resize(n);
        size.resize(n);
        for (size_t i = 0; i < n; i++) {
            slot[i] = (uint32_t)(next_random(seed) % (uint64_t)slots);
            size[i] = (uint32_t)random_size(seed, LARSON_MIN, LARSON_MAX);
        }
    }
};

const Script &larson_script(int which)
{
    static const Script scripts[2] = {Script(0x1234567, 1 << 16, LARSON_SLOTS),
                                      Script(0x7654321, 1 << 16, LARSON_SLOTS)};
    return scripts[which];
}

/* Replace one random slot; returns false when out of memory. */
inline bool larson_step(void **slots, const Script &s, size_t i)
{
    size_t k = i & (s.slot.size() - 1);
    void *&slot = slots[s.slot[k]];
    am_free(&heap, slot);
    slot = am_malloc(&heap, s.size[k]);
    if (!slot)
        return false;
    touch(slot, s.size[k]);
    return true;
}

bool fill_slots(void **slots, int n, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        size_t size = random_size(seed, LARSON_MIN, LARSON_MAX);
        if (!(slots[i] = am_malloc(&heap, size)))
            return false;
        touch(slots[i], size);
    }
    return true;
}

void free_slots(void **slots, int n)
{
    for (int i = 0; i < n; i++)
        am_free(&heap, slots[i]);
}

void bench_larson(benchmark::State &state)
{
    std::vector<void *> slots(LARSON_SLOTS);
    const Script &script = larson_script(0);
    if (!fill_slots(slots.data(), LARSON_SLOTS, 99)) {
        state.SkipWithError("out of memory");
        return;
    }
    size_t i = 0;
    for (auto _ : state) {
        if (!larson_step(slots.data(), script, i++)) {
            state.SkipWithError("out of memory");
            break;
        }
    }
    free_slots(slots.data(), LARSON_SLOTS);
    state.SetItemsProcessed(state.iterations());
}

Ring ring;

void bench_xthread(benchmark::State &state, size_t size)
{
    if (state.thread_index() == 0) {
        for (auto _ : state) {
            for (int k = 0; k < XTHREAD_CHUNK; k++) {
                void *p = am_malloc(&heap, size);
                if (!p)
                    abort(); /* the consumer would wait forever */
                touch(p, size);
                ring.push(p);
            }
        }
        state.SetItemsProcessed(state.iterations() * XTHREAD_CHUNK);
        state.SetBytesProcessed(state.iterations() * XTHREAD_CHUNK * (int64_t)size);
    } else {
        for (auto _ : state) {
            for (int k = 0; k < XTHREAD_CHUNK; k++) {
                void *p = ring.pop();
                unsigned char first = *static_cast<volatile unsigned char *>(p);
                benchmark::DoNotOptimize(first);
                am_free(&heap, p);
            }
        }
    }
}

struct Larson2 {
    void *slots[2][LARSON_SLOTS];
    Barrier swap{2};
} larson2;

void bench_larson2(benchmark::State &state)
{
    int t = state.thread_index();
    if (t == 0 && (!fill_slots(larson2.slots[0], LARSON_SLOTS, 1) ||
                   !fill_slots(larson2.slots[1], LARSON_SLOTS, 2)))
        abort();
    const Script &script = larson_script(t);
    size_t i = 0;
    int mine = t;
    for (auto _ : state) {
        if (!larson_step(larson2.slots[mine], script, i))
            abort();
        if (++i % SWAP_EVERY == 0) {
            larson2.swap.wait();
            mine ^= 1;
        }
    }
    /* Both threads ran the same number of iterations, hence of swaps. */
    state.SetItemsProcessed(state.iterations());
    if (t == 0) {
        larson2.swap.wait();
        free_slots(larson2.slots[0], LARSON_SLOTS);
        free_slots(larson2.slots[1], LARSON_SLOTS);
    } else {
        larson2.swap.wait();
    }
}

void register_benchmarks(const char *name, bool threads)
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
    snprintf(buf, sizeof buf, "larson/%s", name);
    benchmark::RegisterBenchmark(buf, bench_larson);
    if (!threads)
        return;
    for (size_t size : {(size_t)16, (size_t)64, (size_t)256, (size_t)512}) {
        snprintf(buf, sizeof buf, "xthread/%s/%zu", name, size);
        benchmark::RegisterBenchmark(buf, bench_xthread, size)->Threads(2)->UseRealTime();
    }
    snprintf(buf, sizeof buf, "larson2/%s", name);
    benchmark::RegisterBenchmark(buf, bench_larson2)->Threads(2)->UseRealTime();
}

/* ---------------------------------------------------------------------------
 * Fixed workloads for peak RSS (--rss)
 * ------------------------------------------------------------------------ */

constexpr int RSS_SLOTS = 200000;
constexpr long RSS_STEPS = 4000000;
constexpr int RSS_BATCH = 250000;
constexpr long RSS_TRANSFERS = 4000000;

bool rss_larson()
{
    std::vector<void *> slots(RSS_SLOTS);
    uint64_t seed = 7;
    if (!fill_slots(slots.data(), RSS_SLOTS, seed))
        return false;
    for (long i = 0; i < RSS_STEPS; i++) {
        void *&slot = slots[next_random(seed) % RSS_SLOTS];
        size_t size = random_size(seed, LARSON_MIN, LARSON_MAX);
        am_free(&heap, slot);
        if (!(slot = am_malloc(&heap, size)))
            return false;
        touch(slot, size);
    }
    free_slots(slots.data(), RSS_SLOTS);
    return true;
}

bool rss_batch()
{
    std::vector<void *> blocks(RSS_BATCH);
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < RSS_BATCH; i++) {
            size_t size = 16 + (size_t)((i + round) % 32) * 16;
            if (!(blocks[i] = am_malloc(&heap, size)))
                return false;
            touch(blocks[i], size);
        }
        for (int i = 0; i < RSS_BATCH; i++)
            am_free(&heap, blocks[i]);
    }
    return true;
}

bool rss_xthread()
{
    static Ring rss_ring;
    std::thread consumer([] {
        for (long i = 0; i < RSS_TRANSFERS; i++)
            am_free(&heap, rss_ring.pop());
    });
    uint64_t seed = 11;
    bool ok = true;
    for (long i = 0; i < RSS_TRANSFERS; i++) {
        size_t size = random_size(seed, LARSON_MIN, LARSON_MAX);
        void *p = am_malloc(&heap, size);
        if (!p)
            abort();
        touch(p, size);
        rss_ring.push(p);
    }
    consumer.join();
    return ok;
}

bool rss_larson2()
{
    static void *slots[2][RSS_SLOTS / 2];
    constexpr int n = RSS_SLOTS / 2;
    if (!fill_slots(slots[0], n, 3) || !fill_slots(slots[1], n, 4))
        return false;
    Barrier swap(2);
    auto work = [&](int t) {
        uint64_t seed = 100 + (uint64_t)t;
        int mine = t;
        for (long i = 1; i <= RSS_STEPS / 2; i++) {
            void *&slot = slots[mine][next_random(seed) % n];
            size_t size = random_size(seed, LARSON_MIN, LARSON_MAX);
            am_free(&heap, slot);
            if (!(slot = am_malloc(&heap, size)))
                abort();
            touch(slot, size);
            if (i % 65536 == 0) {
                swap.wait();
                mine ^= 1;
            }
        }
    };
    std::thread other(work, 1);
    work(0);
    other.join();
    free_slots(slots[0], n);
    free_slots(slots[1], n);
    return true;
}

struct RssWorkload {
    const char *name;
    bool (*run)();
    bool threads;
};
constexpr RssWorkload RSS_WORKLOADS[] = {
    {"larson", rss_larson, false},
    {"batch", rss_batch, false},
    {"xthread", rss_xthread, true},
    {"larson2", rss_larson2, true},
};

/* ---------------------------------------------------------------------------
 * Children
 * ------------------------------------------------------------------------ */

bool open_heap(const am_allocator *a)
{
    unsigned flags = (a->caps & AM_CAP_THREAD_SAFE) ? AM_OPEN_THREADED : 0;
    int err = am_heap_open(&heap, a, flags);
    if (err)
        fprintf(stderr, "allocmark-micro: cannot open %s: %s\n", a->name, strerror(err));
    return err == 0;
}

int run_child(int argc, char **argv)
{
    const am_allocator *a = am_find_allocator(argv[2]);
    if (!a || !open_heap(a))
        return 1;
    bool threads = (a->caps & AM_CAP_THREAD_SAFE) != 0;
    register_benchmarks(a->name, threads);
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

int run_rss_child(char **argv)
{
    const am_allocator *a = am_find_allocator(argv[2]);
    const RssWorkload *w = nullptr;
    for (const auto &x : RSS_WORKLOADS)
        if (!strcmp(x.name, argv[3]))
            w = &x;
    if (!a || !w || !open_heap(a))
        return 1;
    long before = (long)(am__os_resident_bytes() / 1024);
    bool ok = w->run();
    printf("baseline_kib %ld\n", before);
    am_heap_close(&heap);
    return ok ? 0 : 3;
}

/* ---------------------------------------------------------------------------
 * The parent: one child per allocator (and round, or workload)
 * ------------------------------------------------------------------------ */

struct Options {
    std::vector<const am_allocator *> allocators;
    std::string out = "results/micro";
    int rounds = 1;
    double timeout_s = 900;
    bool rss = false;
    std::vector<std::string> passthrough; /* --benchmark_* */
};

void usage(FILE *to)
{
    fprintf(to, "usage: allocmark-micro [--allocators=A,B] [--out=DIR] [--rounds=N] "
                "[--timeout=S] [--benchmark_...]\n"
                "       allocmark-micro --rss [--allocators=A,B] [--out=DIR]\n"
                "Runs each allocator's microbenchmarks (or, with --rss, fixed workloads whose\n"
                "peak RSS is reported) in a child process of its own; JSON goes to DIR\n"
                "(micro-A.json, micro-A.rN.json for round N > 1, rss.json).\n"
                "Options starting with --benchmark_ are passed to Google Benchmark.\n");
}

void print_allocator_names(FILE *to)
{
    fprintf(to, "valid allocators:");
    for (size_t i = 0; i < am_registry_count; i++)
        fprintf(to, " %s", am_registry[i]->name);
    fprintf(to, "\n");
}

bool parse_allocators(const char *list, Options &o)
{
    std::string s(list);
    size_t start = 0;
    while (start <= s.size()) {
        size_t comma = s.find(',', start);
        std::string name =
            s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const am_allocator *a = am_find_allocator(name.c_str());
        if (!a) {
            fprintf(stderr, "allocmark-micro: unknown allocator '%s'\n", name.c_str());
            print_allocator_names(stderr);
            return false;
        }
        o.allocators.push_back(a);
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return true;
}

int parse_options(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strncmp(arg, "--allocators=", 13)) {
            if (!parse_allocators(arg + 13, o))
                return AM_EXIT_USAGE;
        } else if (!strncmp(arg, "--out=", 6)) {
            o.out = arg + 6;
        } else if (!strncmp(arg, "--rounds=", 9)) {
            o.rounds = atoi(arg + 9);
        } else if (!strncmp(arg, "--timeout=", 10)) {
            o.timeout_s = atof(arg + 10);
        } else if (!strcmp(arg, "--rss")) {
            o.rss = true;
        } else if (!strncmp(arg, "--benchmark_", 12)) {
            o.passthrough.push_back(arg);
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "allocmark-micro: unknown option '%s'\n", arg);
            usage(stderr);
            return AM_EXIT_USAGE;
        }
    }
    if (o.rounds < 1) {
        fprintf(stderr, "allocmark-micro: --rounds needs a number >= 1\n");
        return AM_EXIT_USAGE;
    }
    if (o.allocators.empty())
        for (size_t i = 0; i < am_registry_count; i++)
            if (!(am_registry[i]->caps & AM_CAP_TEST_ONLY))
                o.allocators.push_back(am_registry[i]);
    return 0;
}

/* Run argv in a child for a; print its output; false when it failed. */
bool spawn_and_report(const am_allocator *a, std::vector<std::string> &argv, double timeout_s,
                      am_child &child)
{
    std::vector<char *> args;
    for (auto &s : argv)
        args.push_back(&s[0]);
    args.push_back(nullptr);
    am_spawn_options opt{};
    opt.timeout_s = timeout_s;
    opt.stderr_fd = -1;
    opt.cancel_fd = -1;
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

int run_micro(const Options &o, const char *self)
{
    int failures = 0;
    size_t n = o.allocators.size();
    for (int round = 1; round <= o.rounds; round++) {
        for (size_t k = 0; k < n; k++) {
            /* Rotate the order each round so no allocator always runs first. */
            const am_allocator *a = o.allocators[(k + (size_t)round - 1) % n];
            std::string file = o.out + "/micro-" + a->name +
                               (round == 1 ? std::string() : ".r" + std::to_string(round)) +
                               ".json";
            std::vector<std::string> argv{self, CHILD, a->name, "--benchmark_out=" + file,
                                          "--benchmark_out_format=json"};
            argv.insert(argv.end(), o.passthrough.begin(), o.passthrough.end());
            printf("== %s (round %d) -> %s\n", a->name, round, file.c_str());
            fflush(stdout);
            am_child child;
            if (!spawn_and_report(a, argv, o.timeout_s, child))
                failures++;
            fputs(child.output ? child.output : "", stdout);
            free(child.output);
        }
    }
    return failures ? 1 : 0;
}

int run_rss(const Options &o, const char *self)
{
    std::string path = o.out + "/rss.json";
    FILE *json = fopen(path.c_str(), "w");
    if (!json) {
        fprintf(stderr, "allocmark-micro: cannot write %s: %s\n", path.c_str(), strerror(errno));
        return 1;
    }
    fprintf(json, "{\n  \"unit\": \"KiB\",\n  \"runs\": [");
    printf("%-10s %-12s %14s %14s\n", "workload", "allocator", "peak_rss_kib", "baseline_kib");
    int failures = 0;
    bool first = true;
    for (const auto &w : RSS_WORKLOADS) {
        for (const am_allocator *a : o.allocators) {
            if (w.threads && !(a->caps & AM_CAP_THREAD_SAFE))
                continue;
            std::vector<std::string> argv{self, RSS_CHILD, a->name, w.name};
            am_child child;
            bool ok = spawn_and_report(a, argv, o.timeout_s, child);
            long baseline = -1;
            if (child.output) {
                const char *at = strstr(child.output, "baseline_kib ");
                if (at)
                    baseline = atol(at + 13);
            }
            free(child.output);
            if (!ok) {
                failures++;
                continue;
            }
            long peak = child.usage.ru_maxrss;
            printf("%-10s %-12s %14ld %14ld\n", w.name, a->name, peak, baseline);
            fprintf(json,
                    "%s\n    {\"workload\": \"%s\", \"allocator\": \"%s\", \"peak_rss_kib\": %ld, "
                    "\"baseline_kib\": %ld, \"wall_s\": %.3f}",
                    first ? "" : ",", w.name, a->name, peak, baseline, child.wall_s);
            first = false;
        }
    }
    fprintf(json, "\n  ]\n}\n");
    fclose(json);
    printf("wrote %s\n", path.c_str());
    return failures ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], CHILD))
        return run_child(argc, argv);
    if (argc >= 4 && !strcmp(argv[1], RSS_CHILD))
        return run_rss_child(argv);
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
        return 1;
    }
    return o.rss ? run_rss(o, argv[0]) : run_micro(o, argv[0]);
}
