/*
 * dropin-bench: malloc/free pairs through plain calls to the process's malloc,
 * the way a program makes them, for whatever malloc the process has: glibc's,
 * a reference preloaded (libmimalloc, libjemalloc) or one of allocmark's
 * drop-ins (LD_PRELOAD=allocators/<name>/libam-<name>.so). The loop is
 * allocmark-micro's pair/A/SIZE (malloc, write the first and last byte,
 * free), so that scripts/bench-dropin.py can set the drop-in beside the same
 * backend through the harness's front end.
 *
 *   dropin-bench [--benchmark_...]     benchmarks pair/SIZE
 */
#include <benchmark/benchmark.h>

#include <cstdlib>

namespace
{

constexpr size_t SIZES[] = {16, 64, 256, 512};

inline void touch(void *p, size_t n)
{
    auto *b = static_cast<unsigned char *>(p);
    b[0] = (unsigned char)n;
    b[n - 1] = (unsigned char)(n >> 1);
}

void bench_pair(benchmark::State &state, size_t size)
{
    for (auto _ : state) {
        void *p = malloc(size);
        if (!p) {
            state.SkipWithError("out of memory");
            break;
        }
        touch(p, size);
        benchmark::DoNotOptimize(p);
        free(p);
    }
    state.SetItemsProcessed(state.iterations());
}

} // namespace

int main(int argc, char **argv)
{
    for (size_t size : SIZES)
        benchmark::RegisterBenchmark(("pair/" + std::to_string(size)).c_str(), bench_pair, size);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
