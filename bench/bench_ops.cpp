// Elementwise kernels: bytes moved per second (relu reads x, writes y).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/elementwise.h"
#include "runtime/dispatch.h"
#include "runtime/threads.h"

namespace {

void BM_relu_forward(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> x(n), y(n, std::numeric_limits<float>::quiet_NaN());
  for (int64_t i = 0; i < n; ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
  for (auto _ : state) {
    fastnn::ops::relu_forward(y.data(), x.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  // Sanity check so the benchmark cannot report the speed of a wrong kernel.
  for (int64_t i = 0; i < n; ++i)
    if (y[i] != (x[i] > 0 ? x[i] : 0.0f)) state.SkipWithError("relu_forward gave a wrong value");
  state.SetBytesProcessed(state.iterations() * n * 2 * static_cast<int64_t>(sizeof(float)));
  state.SetLabel(fastnn::runtime::isa_name(fastnn::runtime::active_isa()));
}
BENCHMARK(BM_relu_forward)->Arg(1 << 12)->Arg(1 << 16)->Arg(1 << 20)->Arg(1 << 24);

// The check of x before the engine reads it (ops::all_finite), beside the
// portable loop it replaced on AVX2 machines, in one process. Args: floats,
// threads. 100,352 floats is a batch of 128 seed-network rows, 802,816 one of
// 1,024 (3.2 MB, from L3 when repeated), 47,040,000 the Fashion-MNIST training
// set (188 MB, DRAM). Counters: GB/s of ops::all_finite (on `threads`) and of
// the portable loop (one thread, as the bindings ran it before), and their
// ratio.
void BM_all_finite(benchmark::State& state) {
  const int64_t n     = state.range(0);
  const int threads_0 = fastnn::runtime::num_threads();
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(1)));
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(i % 1001) - 500.0f;
  const auto portable = fastnn::ops::kElementwiseKernelsGeneric.all_finite;
  bool finite = true, portable_finite = true;
  double active_s = 0.0, portable_s = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    finite &= fastnn::ops::all_finite(x.data(), n);
    const auto t1 = std::chrono::steady_clock::now();
    portable_finite &= portable(x.data(), n);
    const auto t2 = std::chrono::steady_clock::now();
    active_s += std::chrono::duration<double>(t1 - t0).count();
    portable_s += std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  x[n / 2] = std::numeric_limits<float>::infinity();  // and a wrong kernel cannot pass
  if (!finite || !portable_finite || fastnn::ops::all_finite(x.data(), n))
    state.SkipWithError("all_finite gave a wrong answer");
  const double bytes = static_cast<double>(state.iterations()) * static_cast<double>(n) * 4.0;
  state.counters["GB_per_s"]          = bytes / active_s * 1e-9;
  state.counters["portable_GB_per_s"] = bytes / portable_s * 1e-9;
  state.counters["speedup"]           = portable_s / active_s;
  state.SetLabel(fastnn::runtime::isa_name(fastnn::runtime::active_isa()));
  fastnn::runtime::set_num_threads(threads_0);
}
BENCHMARK(BM_all_finite)
    ->ArgsProduct({{100352, 802816, 47040000}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseManualTime();

}  // namespace
