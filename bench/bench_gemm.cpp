// sgemm: GFLOP/s for squares and for the GEMMs of a 784-128-128-10 MLP.
//
//   BM_sgemm_square/N          C = A * B, N x N (NN), NaN-prefilled C
//   BM_sgemm_mlp/...           every GEMM of one training step of the seed
//                              network at batch 128 and 1024:
//                                forward   X * W      (batch, out, in)  NN
//                                backward  dY * W^T   (batch, in, out)  NT
//                                          X^T * dY   (in, out, batch)  TN
//   BM_sgemm_dense_relu/...    forward with the fused bias + relu epilogue
//   BM_sgemm_path/...          the MLP shapes with packing forced on/off
//                              (how choose_packing()'s thresholds were set)
//   BM_sgemm_small_m/...       forward at batch 1..8, small-M path on/off
//                              (how kSmallMMaxRows was set)
//   BM_sgemm_skip_zero/...     the first layer's X^T * dY with X 28 x 28
//                              "images" (a blob on zeros, or no zeros),
//                              sgemm_skip_zero_a on/off; GFLOP/s counts the
//                              dense product's flops, `kept` the fraction of
//                              steps the compacted panels kept
//   BM_cpu_clock               core clock measured by a chain of dependent
//                              adds (1 cycle each) per CPU second: the GHz
//                              counter, for peak = 32 FLOP/cycle x GHz
//                              (2 FMA pipes x 8 lanes x 2 flops).
// Every case checks sampled outputs against a float64 dot product and fails
// (SkipWithError) on a wrong value.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gemm/gemm.h"
#include "runtime/dispatch.h"
#include "runtime/threads.h"

namespace {

using fastnn::gemm::Epilogue;
using fastnn::gemm::sgemm;

std::vector<float> random_matrix(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  return v;
}

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  std::vector<float> a, b, c, bias;
  int64_t lda, ldb;
  Case(bool ta_, bool tb_, int64_t m_, int64_t n_, int64_t k_)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_) {
    a    = random_matrix(m * k, 1);
    b    = random_matrix(k * n, 2);
    bias = random_matrix(n, 3);
    c.assign(static_cast<size_t>(m * n), std::numeric_limits<float>::quiet_NaN());
    lda = ta ? m : k;
    ldb = tb ? k : n;
  }
  double expected(int64_t i, int64_t j, bool fused_relu) const {
    double acc = 0;
    for (int64_t p = 0; p < k; ++p)
      acc += static_cast<double>(ta ? a[p * lda + i] : a[i * lda + p]) *
             static_cast<double>(tb ? b[j * ldb + p] : b[p * ldb + j]);
    if (fused_relu) acc = std::max(acc + bias[j], 0.0);
    return acc;
  }
  void run(const Epilogue* ep = nullptr) {
    sgemm(ta, tb, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n, ep);
  }
  // Samples 64 outputs (and the corners) against float64.
  bool verify(bool fused_relu) const {
    std::mt19937 gen(7);
    for (int s = 0; s < 66; ++s) {
      int64_t i      = s == 64 ? m - 1 : s == 65 ? 0 : static_cast<int64_t>(gen() % m);
      int64_t j      = s == 64 ? n - 1 : s == 65 ? 0 : static_cast<int64_t>(gen() % n);
      const double e = expected(i, j, fused_relu);
      if (!(std::fabs(c[i * n + j] - e) <= 1e-4 * std::sqrt(static_cast<double>(k)) + 1e-5))
        return false;
    }
    return true;
  }
};

void report(benchmark::State& state, const Case& cs, bool fused_relu) {
  if (!cs.verify(fused_relu)) state.SkipWithError("sgemm gave a wrong value");
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * cs.m * cs.n * cs.k * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = fastnn::runtime::num_threads();
  state.SetLabel(fastnn::runtime::isa_name(fastnn::runtime::active_isa()));
}

void BM_sgemm_square(benchmark::State& state) {
  const int64_t n = state.range(0);
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(1)));
  Case cs(false, false, n, n, n);
  for (auto _ : state) {
    cs.run();
    benchmark::ClobberMemory();
  }
  report(state, cs, false);
}
BENCHMARK(BM_sgemm_square)
    ->ArgsProduct({{256, 512, 1024, 2048, 4096}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->UseRealTime();

// {batch, form, layer, threads}: form 0 = X*W, 1 = dY*W^T, 2 = X^T*dY;
// layer 0 = 784->128, 1 = 128->128, 2 = 128->10.
Case mlp_case(int64_t batch, int64_t form, int64_t layer) {
  const int64_t ins[]  = {784, 128, 128};
  const int64_t outs[] = {128, 128, 10};
  const int64_t in = ins[layer], out = outs[layer];
  if (form == 0) return Case(false, false, batch, out, in);
  if (form == 1) return Case(false, true, batch, in, out);
  return Case(true, false, in, out, batch);
}

const std::vector<std::vector<int64_t>> kMlpArgs = {{128, 1024}, {0, 1, 2}, {0, 1, 2}, {1, 2}};

void BM_sgemm_mlp(benchmark::State& state) {
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(3)));
  Case cs = mlp_case(state.range(0), state.range(1), state.range(2));
  for (auto _ : state) {
    cs.run();
    benchmark::ClobberMemory();
  }
  report(state, cs, false);
}
BENCHMARK(BM_sgemm_mlp)
    ->ArgsProduct(kMlpArgs)
    ->ArgNames({"batch", "form", "layer", "threads"})
    ->UseRealTime();

void BM_sgemm_dense_relu(benchmark::State& state) {
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(2)));
  Case cs = mlp_case(state.range(0), 0, state.range(1));
  Epilogue ep;
  ep.bias = cs.bias.data();
  ep.act  = fastnn::ops::ActivationKind::relu;
  for (auto _ : state) {
    cs.run(&ep);
    benchmark::ClobberMemory();
  }
  report(state, cs, true);
}
BENCHMARK(BM_sgemm_dense_relu)
    ->ArgsProduct({{128, 1024}, {0, 1, 2}, {1, 2}})
    ->ArgNames({"batch", "layer", "threads"})
    ->UseRealTime();

// Single thread; pack = 0: both operands read in place where legal, 1: A
// packed, B in place, 2: A in place, B packed, 3: both packed.
void BM_sgemm_path(benchmark::State& state) {
  fastnn::runtime::set_num_threads(1);
  Case cs         = mlp_case(state.range(0), state.range(1), state.range(2));
  const int64_t p = state.range(3);
  fastnn::gemm::set_sgemm_packing_override(p & 1 ? 1 : 0, p & 2 ? 1 : 0);
  for (auto _ : state) {
    cs.run();
    benchmark::ClobberMemory();
  }
  fastnn::gemm::set_sgemm_packing_override(-1, -1);
  report(state, cs, false);
}
BENCHMARK(BM_sgemm_path)
    ->ArgsProduct({{32, 128, 256, 512, 1024}, {0, 1, 2}, {0, 1, 2}, {0, 1, 2, 3}})
    ->ArgNames({"batch", "form", "layer", "pack"});

void BM_sgemm_square_path(benchmark::State& state) {
  fastnn::runtime::set_num_threads(1);
  const int64_t n = state.range(0);
  Case cs(false, false, state.range(1), n, n);
  const int64_t p = state.range(2);
  fastnn::gemm::set_sgemm_packing_override(p & 1 ? 1 : 0, p & 2 ? 1 : 0);
  for (auto _ : state) {
    cs.run();
    benchmark::ClobberMemory();
  }
  fastnn::gemm::set_sgemm_packing_override(-1, -1);
  report(state, cs, false);
}
BENCHMARK(BM_sgemm_square_path)
    ->ArgsProduct({{128, 512}, {6, 12, 24, 48, 96}, {0, 2}})
    ->ArgNames({"nk", "m", "pack"});

// Single thread, forward X * W of the three layers at batch m = 1..8: the
// small-M path (path 1) against the tiled driver (path 0, automatic packing).
void BM_sgemm_small_m(benchmark::State& state) {
  fastnn::runtime::set_num_threads(1);
  Case cs = mlp_case(state.range(0), 0, state.range(1));
  fastnn::gemm::set_sgemm_small_m_override(static_cast<int>(state.range(2)));
  Epilogue ep;
  ep.bias = cs.bias.data();
  ep.act  = fastnn::ops::ActivationKind::relu;
  for (auto _ : state) {
    cs.run(&ep);
    benchmark::ClobberMemory();
  }
  fastnn::gemm::set_sgemm_small_m_override(-1);
  report(state, cs, true);
}
BENCHMARK(BM_sgemm_small_m)
    ->ArgsProduct({{1, 2, 3, 4, 5, 6, 7, 8}, {0, 1, 2}, {0, 1}})
    ->ArgNames({"m", "layer", "small"});

// {batch, zeros, skip, threads}: zeros 0 = uniform values (no zeros), 1 =
// each image an ellipse of values on a zero background (about half zeros,
// as Fashion-MNIST's 49.8 %); skip 0 = the dense product, 1 = compacted.
void BM_sgemm_skip_zero(benchmark::State& state) {
  fastnn::runtime::set_num_threads(static_cast<int>(state.range(3)));
  const int64_t batch = state.range(0), side = 28, pixels = side * side;
  Case cs(true, false, pixels, 128, batch);  // A^T stored: batch x 784
  if (state.range(1) == 1) {
    std::mt19937 gen(11);
    std::uniform_real_distribution<double> centre(8.0, 20.0), radius(5.0, 13.0);
    for (int64_t img = 0; img < batch; ++img) {
      const double cy = centre(gen), cx = centre(gen), ry = radius(gen), rx = radius(gen);
      for (int64_t r = 0; r < side; ++r)
        for (int64_t c = 0; c < side; ++c) {
          const double dy = (r - cy) / ry, dx = (c - cx) / rx;
          if (dy * dy + dx * dx >= 1.0) cs.a[img * pixels + r * side + c] = 0.0f;
        }
    }
  }
  fastnn::gemm::set_sgemm_skip_zero_override(state.range(2) ? -1 : 0);
  double kept = 0.0;
  for (auto _ : state) {
    kept = fastnn::gemm::sgemm_skip_zero_a(true, false, cs.m, cs.n, cs.k, 1.0f, cs.a.data(), cs.lda,
                                           cs.b.data(), cs.ldb, 0.0f, cs.c.data(), cs.n);
    benchmark::ClobberMemory();
  }
  fastnn::gemm::set_sgemm_skip_zero_override(-1);
  report(state, cs, false);
  state.counters["kept"] = kept;
}
BENCHMARK(BM_sgemm_skip_zero)
    ->ArgsProduct({{32, 128, 1024}, {0, 1}, {0, 1}, {1, 2}})
    ->ArgNames({"batch", "zeros", "skip", "threads"})
    ->UseRealTime();

void BM_cpu_clock(benchmark::State& state) {
  constexpr int64_t kIters = 1 << 22;
  double cycles            = 0;
  for (auto _ : state) {
    uint64_t x = 0;
    for (int64_t i = 0; i < kIters; ++i) {
      // Ten dependent adds: 10 cycles per iteration on any modern x86 core.
      asm volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
          : "+r"(x));
    }
    benchmark::DoNotOptimize(x);
    cycles += 10.0 * kIters;
  }
  state.counters["GHz"] = benchmark::Counter(cycles * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_cpu_clock);  // CPU time: preemption by other jobs does not count

}  // namespace
