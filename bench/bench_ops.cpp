// Elementwise kernels: bytes moved per second (relu reads x, writes y).
#include <benchmark/benchmark.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ops/elementwise.h"
#include "runtime/dispatch.h"

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

}  // namespace
