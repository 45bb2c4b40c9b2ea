// memcore_bench.cc: memcore's memcpy and memset against the C library's, at
// sizes from 16 B to 1 GiB, with aligned and misaligned buffers.
//
// Contenders: the dispatched entry (am_memcpy, am_memset), every memcore
// variant this CPU runs (erms is bare `rep movsb`/`rep stosb`), glibc, a
// byte loop and Crystal OS's 8-byte word loop. Every benchmark name is
// op/contender/alignment/bytes, the alignment one of aligned, src+1 and
// dst+1 (memcpy) or aligned and dst+1 (memset); SetBytesProcessed gives
// bytes_per_second.
// The buffers are mapped and touched once, up front; a size's source and
// destination are the same every iteration, so sizes below the caches run
// from the caches and the largest ones from DRAM.
//
//   memcore-bench [--max-size=BYTES] [--sizes=BYTES,...] [--tune=KEY=BYTES,...]
//                 [Google Benchmark flags]
//
// --sizes replaces the default sizes; --tune sets memcore's thresholds
// (struct am_mem_tuning's member names); both are for threshold sweeps.
// Without --benchmark_repetitions, each benchmark runs 15 times (3 from
// 64 MiB up); without --benchmark_min_time, each repetition runs for 10 ms
// (250 ms from 64 MiB up). The flags, when given, hold for every size.
// Only the aggregates are reported: mean, median, stddev, cv and the
// quartiles q1 and q3, whose distance over the median is the spread that
// `allocmark report --memcore` prints next to each ratio (and from which it
// lists the points to measure again). scripts/bench-memcore.sh runs it all.
#include <benchmark/benchmark.h>

#include <gnu/libc-version.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "memcore.h"
#include "memcore_baselines.h"

namespace
{

constexpr size_t kMinSize = 16;
constexpr size_t kMaxSize = size_t(1) << 30;
constexpr size_t kHuge = size_t(64) << 20;             // from here: fewer repetitions
constexpr size_t kMisalign = 1;                        // bytes added to the misaligned pointer
constexpr double kMinTime = 0.01, kHugeMinTime = 0.25; // seconds per repetition
constexpr int kRepetitions = 15, kHugeRepetitions = 3;

enum class Skew { none, src, dst }; // which pointer is one byte off

using CopyFn = void *(*)(void *, const void *, size_t);
using SetFn = void *(*)(void *, int, size_t);
using Runner = std::function<void(benchmark::State &, size_t n, Skew skew)>;

struct Contender {
    std::string name;
    Runner copy, set;
};

unsigned char *src_buf, *dst_buf;

unsigned char *map_touched(size_t len)
{
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        std::perror("memcore-bench: mmap");
        std::exit(1);
    }
    std::memset(p, 0x5a, len); // every page faulted in before timing
    return static_cast<unsigned char *>(p);
}

// The timed loops, instantiated per way of calling (a function pointer, or
// a lambda whose call the compiler writes in place).
template <typename Copy> void copy_loop(benchmark::State &state, Copy copy, size_t n, Skew skew)
{
    unsigned char *dst = dst_buf + (skew == Skew::dst ? kMisalign : 0);
    unsigned char *src = src_buf + (skew == Skew::src ? kMisalign : 0);
    for (auto _ : state) {
        benchmark::DoNotOptimize(copy(dst, src, n));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

template <typename Set> void set_loop(benchmark::State &state, Set set, size_t n, Skew skew)
{
    unsigned char *dst = dst_buf + (skew == Skew::none ? 0 : kMisalign);
    for (auto _ : state) {
        benchmark::DoNotOptimize(set(dst, 0x2a, n));
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

// Every contender but the baselines runs the very same timed loop (one
// instantiation, one address), calling am_memcpy and am_memset: a direct
// call, then am_memcpy's one indirect jump to wherever memcore's table
// points. am_mem_force points it at a variant, am_mem_route at glibc's
// memcpy and memset (the functions its IFUNC chose), so columns differ only
// by the code behind the jump. A program's call to glibc pays the same: a
// direct call to the PLT, then one indirect jump through the GOT. At 16 B a
// call takes 2 ns, and two copies of the same loop placed differently in
// the binary measured 10 to 25 % apart; "glibc-plt" is glibc called from a
// loop of its own through the PLT, which shows that effect in every run.
// The baselines are called through a function pointer.
std::string chosen_variant; // what the dispatch picked at start-up

struct EntryCopy {
    void *operator()(void *d, const void *s, size_t k) const { return am_memcpy(d, s, k); }
};
struct EntrySet {
    void *operator()(void *d, int c, size_t k) const { return am_memset(d, c, k); }
};

__attribute__((noinline)) void entry_copy(benchmark::State &s, size_t n, Skew m)
{
    copy_loop(s, EntryCopy(), n, m);
}

__attribute__((noinline)) void entry_set(benchmark::State &s, size_t n, Skew m)
{
    set_loop(s, EntrySet(), n, m);
}

// Runs the entry's loop with memcore's table sent elsewhere by `route`.
Contender through_entry(const std::string &name, std::function<void()> route)
{
    return {name,
            [route](benchmark::State &s, size_t n, Skew m) {
                route();
                entry_copy(s, n, m);
                am_mem_force(chosen_variant.c_str());
            },
            [route](benchmark::State &s, size_t n, Skew m) {
                route();
                entry_set(s, n, m);
                am_mem_force(chosen_variant.c_str());
            }};
}

// name: a variant, or "dispatch" for what the dispatch chose.
Contender variant_entry(const std::string &name)
{
    std::string variant = name == "dispatch" ? chosen_variant : name;
    return through_entry(name, [variant] { am_mem_force(variant.c_str()); });
}

void *glibc_memmove(void *d, const void *s, size_t n)
{
    return memmove(d, s, n);
}

// glibc's memcpy and memset themselves, not wrappers: their addresses are
// what the PLT jumps to.
const am_mem_ops glibc_ops = {"glibc", "", true, memcpy, glibc_memmove, memset};

Contender through_pointers(const std::string &name, CopyFn copy, SetFn set)
{
    return {name, [copy](benchmark::State &s, size_t n, Skew m) { copy_loop(s, copy, n, m); },
            [set](benchmark::State &s, size_t n, Skew m) { set_loop(s, set, n, m); }};
}

std::vector<size_t> default_sizes(size_t max)
{
    // Every power of two up to 1 MiB (where the small-size paths and the rep
    // windows change), then every power of four.
    std::vector<size_t> out;
    for (size_t n = kMinSize; n <= max; n *= n < (size_t(1) << 20) ? 2 : 4)
        out.push_back(n);
    return out;
}

// "4096,8192": false when a size is not a number in 1..max.
bool parse_sizes(const char *list, size_t max, std::vector<size_t> *out)
{
    out->clear();
    for (const char *p = list; *p;) {
        char *end;
        size_t n = std::strtoull(p, &end, 0);
        if (end == p || n == 0 || n > max || (*end && *end != ','))
            return false;
        out->push_back(n);
        p = *end ? end + 1 : end;
    }
    return !out->empty();
}

std::vector<Contender> contenders()
{
    std::vector<Contender> out;
    out.push_back(through_entry("glibc", [] { am_mem_route(&glibc_ops); }));
    out.push_back({"glibc-plt",
                   [](benchmark::State &s, size_t n, Skew m) {
                       copy_loop(
                           s, [](void *d, const void *src, size_t k) { return memcpy(d, src, k); },
                           n, m);
                   },
                   [](benchmark::State &s, size_t n, Skew m) {
                       set_loop(
                           s, [](void *d, int c, size_t k) { return memset(d, c, k); }, n, m);
                   }});
    size_t count;
    const am_mem_ops *variants = am_mem_variants(&count);
    chosen_variant = am_mem_variant();
    out.push_back(variant_entry("dispatch"));
    for (size_t i = 0; i < count; i++)
        if (variants[i].supported)
            out.push_back(variant_entry(variants[i].name));
    out.push_back(through_pointers("bytes", am_bench_byte_copy, am_bench_byte_fill));
    out.push_back(through_pointers("words", am_bench_word_copy, am_bench_word_fill));
    return out;
}

// The quartiles of the repetitions, as aggregates next to Google
// Benchmark's mean, median, stddev and cv (the ratio script's spread).
double quantile(std::vector<double> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    double at = q * static_cast<double>(v.size() - 1);
    size_t lo = static_cast<size_t>(at);
    size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}
double first_quartile(const std::vector<double> &v)
{
    return quantile(v, 0.25);
}
double third_quartile(const std::vector<double> &v)
{
    return quantile(v, 0.75);
}

// What the command line left to us: the defaults apply only to what the
// user did not set.
struct Defaults {
    bool repetitions, min_time;
};

void register_all(const std::vector<size_t> &sizes, Defaults defaults)
{
    static const struct {
        Skew skew;
        const char *copy, *set; // the name's alignment part; null: not run
    } skews[] = {{Skew::none, "aligned", "aligned"},
                 {Skew::src, "src+1", nullptr},
                 {Skew::dst, "dst+1", "dst+1"}};
    for (const char *op : {"memcpy", "memset"}) {
        bool copy = op[3] == 'c';
        for (const Contender &c : contenders()) {
            for (const auto &sk : skews) {
                const char *align = copy ? sk.copy : sk.set;
                if (!align)
                    continue;
                for (size_t n : sizes) {
                    std::string name =
                        std::string(op) + "/" + c.name + "/" + align + "/" + std::to_string(n);
                    Runner run = copy ? c.copy : c.set;
                    Skew skew = sk.skew;
                    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
                        name.c_str(), [run, n, skew](benchmark::State &s) { run(s, n, skew); });
                    // This machine is shared and noisy: many short
                    // repetitions (interleaved, see the script) and their
                    // median, except where one iteration takes milliseconds.
                    if (defaults.min_time)
                        b->MinTime(n >= kHuge ? kHugeMinTime : kMinTime);
                    if (defaults.repetitions)
                        b->Repetitions(n >= kHuge ? kHugeRepetitions : kRepetitions);
                    b->ComputeStatistics("q1", first_quartile);
                    b->ComputeStatistics("q3", third_quartile);
                }
            }
        }
    }
}

// --tune=nt_copy_min=16777216,rep_movsb_max=0: returns false on a bad key.
bool apply_tuning(const char *spec)
{
    am_mem_tuning t;
    am_mem_get_tuning(&t);
    const struct {
        const char *key;
        size_t *field;
    } keys[] = {
        {"rep_movsb_min", &t.rep_movsb_min},   {"rep_movsb_max", &t.rep_movsb_max},
        {"rep_stosb_min", &t.rep_stosb_min},   {"rep_stosb_max", &t.rep_stosb_max},
        {"nt_copy_min", &t.nt_copy_min},       {"nt_set_min", &t.nt_set_min},
        {"nt_copy_narrow", &t.nt_copy_narrow},
    };
    std::string rest = spec;
    while (!rest.empty()) {
        std::string item = rest.substr(0, rest.find(','));
        rest = item.size() < rest.size() ? rest.substr(item.size() + 1) : "";
        size_t eq = item.find('=');
        bool found = false;
        for (const auto &k : keys) {
            if (eq != std::string::npos && item.compare(0, eq, k.key) == 0 &&
                std::strlen(k.key) == eq) {
                *k.field = std::strtoull(item.c_str() + eq + 1, nullptr, 0);
                found = true;
            }
        }
        if (!found) {
            std::fprintf(stderr, "memcore-bench: unknown tuning '%s'\n", item.c_str());
            return false;
        }
    }
    am_mem_set_tuning(&t);
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    std::string command;
    for (int i = 0; i < argc; i++)
        command += (i ? " " : "") + std::string(argv[i]);

    // Our flags out, defaults for Google Benchmark's in (the user's win:
    // later flags override earlier ones).
    size_t max = kMaxSize;
    const char *size_list = nullptr;
    Defaults defaults{true, true};
    std::vector<char *> args = {argv[0]};
    static char aggregates[] = "--benchmark_report_aggregates_only=true";
    args.push_back(aggregates);
    for (int i = 1; i < argc; i++) {
        if (!std::strncmp(argv[i], "--max-size=", 11)) {
            max = std::strtoull(argv[i] + 11, nullptr, 0);
        } else if (!std::strncmp(argv[i], "--sizes=", 8)) {
            size_list = argv[i] + 8;
        } else if (!std::strncmp(argv[i], "--tune=", 7)) {
            if (!apply_tuning(argv[i] + 7))
                return 2;
        } else {
            if (!std::strncmp(argv[i], "--benchmark_repetitions", 23))
                defaults.repetitions = false;
            if (!std::strncmp(argv[i], "--benchmark_min_time", 20))
                defaults.min_time = false;
            args.push_back(argv[i]);
        }
    }
    if (max < kMinSize || max > kMaxSize) {
        std::fprintf(stderr, "memcore-bench: --max-size must be %zu..%zu\n", kMinSize, kMaxSize);
        return 2;
    }
    std::vector<size_t> sizes = default_sizes(max);
    if (size_list && !parse_sizes(size_list, max, &sizes)) {
        std::fprintf(stderr, "memcore-bench: --sizes wants sizes from 1 to --max-size\n");
        return 2;
    }
    if (size_list)
        max = *std::max_element(sizes.begin(), sizes.end());
    int n_args = static_cast<int>(args.size());
    benchmark::Initialize(&n_args, args.data());
    if (benchmark::ReportUnrecognizedArguments(n_args, args.data()))
        return 2;

    src_buf = map_touched(max + 64);
    dst_buf = map_touched(max + 64);
    register_all(sizes, defaults);

    char line[512];
    am_mem_describe(line, sizeof line);
    benchmark::AddCustomContext("command", command);
    benchmark::AddCustomContext("memcore", line);
    benchmark::AddCustomContext("glibc", gnu_get_libc_version());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
