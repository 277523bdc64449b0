// Optimizer steps against their memory roofline.
//
// An optimizer step is a streaming kernel: its limit is memory bandwidth. The
// roofline kernel here moves exactly the same bytes as the optimizer (Adam:
// read p, g, m, v and write p, m, v = 28 bytes per parameter) with no
// arithmetic: it ORs every loaded stream into a mask the compiler cannot see
// is zero and writes each written stream back unchanged, over the same
// buffers, with the same chunking and OpenMP threads. Each benchmark iteration
// times the roofline and the optimizer back to back (same cache state, same
// neighbours on a shared machine) and reports
//
//   roofline_frac = median(roofline time) / median(optimizer time)   (1 = at the limit)
//   GB/s          = optimizer bytes / median(optimizer time)
//
// and, for the optimizers that divide by a square root, the time of one exact
// sqrt + divide per parameter on L1-resident data (divide_sqrt_floor) over
// the optimizer's (divsqrt_frac) and over the roofline's (floor_vs_roofline).
//
// Arguments: {parameters, threads}. The time column is the optimizer's.
//   build/bench/bench/fastnn_bench --benchmark_filter=BM_optim
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "optim/optimizer.h"
#include "runtime/aligned_buffer.h"
#include "runtime/cpu_features.h"
#include "runtime/dispatch.h"
#include "runtime/threads.h"

namespace {

using fastnn::optim::Config;
using fastnn::optim::Kind;
using fastnn::runtime::AlignedBuffer;

// Reads kWritten + kReadOnly streams and writes the kWritten ones back
// unchanged (x | (all & mask) with mask == 0 at run time): the optimizer's
// memory traffic and no arithmetic.
template <int kWritten, int kReadOnly>
__attribute__((target("avx2"))) void roofline_chunk(uint32_t* const* written_ptrs,
                                                    const uint32_t* const* read_only_ptrs,
                                                    uint32_t mask, int64_t n) {
  uint32_t* w[kWritten];
  const uint32_t* r[kReadOnly];
  for (int j = 0; j < kWritten; ++j) w[j] = written_ptrs[j];
  for (int j = 0; j < kReadOnly; ++j) r[j] = read_only_ptrs[j];
  const __m256i vmask = _mm256_set1_epi32(static_cast<int>(mask));
  int64_t i           = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i x[kWritten];
    __m256i all = _mm256_setzero_si256();
    for (int j = 0; j < kWritten; ++j) {
      x[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[j] + i));
      all  = _mm256_or_si256(all, x[j]);
    }
    for (int j = 0; j < kReadOnly; ++j)
      all = _mm256_or_si256(all, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r[j] + i)));
    all = _mm256_and_si256(all, vmask);
    for (int j = 0; j < kWritten; ++j)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(w[j] + i), _mm256_or_si256(x[j], all));
  }
  for (; i < n; ++i) {
    uint32_t all = 0;
    for (int j = 0; j < kWritten; ++j) all |= w[j][i];
    for (int j = 0; j < kReadOnly; ++j) all |= r[j][i];
    all &= mask;
    for (int j = 0; j < kWritten; ++j) w[j][i] |= all;
  }
}

using RooflineChunk = void (*)(uint32_t* const*, const uint32_t* const*, uint32_t, int64_t);

RooflineChunk roofline_for(size_t n_written) {
  switch (n_written) {
    case 1:
      return roofline_chunk<1, 1>;
    case 2:
      return roofline_chunk<2, 1>;
    case 3:
      return roofline_chunk<3, 1>;
    default:
      return roofline_chunk<4, 1>;
  }
}

void roofline(const std::vector<float*>& written, const std::vector<const float*>& read_only,
              uint32_t mask, int64_t n, int threads) {
  constexpr int64_t kChunk   = fastnn::optim::kChunk;
  const int64_t chunks       = (n + kChunk - 1) / kChunk;
  const RooflineChunk kernel = roofline_for(written.size());
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunk;
    uint32_t* w[4];
    const uint32_t* r[1];
    for (size_t j = 0; j < written.size(); ++j) w[j] = reinterpret_cast<uint32_t*>(written[j] + b);
    for (size_t j = 0; j < read_only.size(); ++j)
      r[j] = reinterpret_cast<const uint32_t*>(read_only[j] + b);
    kernel(w, r, mask, std::min(kChunk, n - b));
  }
}

// The arithmetic floor of the optimizers that divide by a square root (Adam,
// AdamW, RMSprop, Adagrad): one exact sqrt and one exact divide per
// parameter, as Keras's update needs, on data that stays in L1 (8 KiB blocks
// per thread), so memory costs nothing; n results in all. On a Zen core both
// go through the one divide/sqrt unit.
__attribute__((target("avx2"))) void divide_sqrt_floor(int64_t n, int threads, float* sink) {
  constexpr int64_t kBlock = 2048;
  const int64_t blocks     = (n + kBlock - 1) / kBlock;
#pragma omp parallel num_threads(threads)
  {
    alignas(32) float x[kBlock], y[kBlock];
    for (int64_t i = 0; i < kBlock; ++i) x[i] = 1.0f + static_cast<float>(i) * 1e-3f;
    const __m256 eps = _mm256_set1_ps(1e-7f);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t i = 0; i < kBlock; i += 8) {
        const __m256 v = _mm256_load_ps(x + i);
        _mm256_store_ps(y + i, _mm256_div_ps(v, _mm256_sqrt_ps(_mm256_add_ps(v, eps))));
      }
#pragma omp critical
    sink[0] += y[kBlock - 1];
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

// a / b correctly rounded without the divider: a quotient within one ulp from
// vrcpps and Newton steps on the FMA units, then the exact residual
// a - b*q (one FMA) picks it or its neighbour towards the true quotient,
// whichever leaves the smaller residual (no quotient of floats lies halfway).
// Valid for b in [2^-60, 2^60] and a = 0 or |a| in [2^-60, 2^60] (no
// overflow or underflow on the way), which BM_divide_in_software keeps to.
__attribute__((target("avx2,fma"))) inline __m256 divide_rounded_fma(__m256 a, __m256 b) {
  __m256 y         = _mm256_rcp_ps(b);
  y                = _mm256_fmadd_ps(_mm256_fnmadd_ps(b, y, _mm256_set1_ps(1.0f)), y, y);
  __m256 q         = _mm256_mul_ps(a, y);
  q                = _mm256_fmadd_ps(_mm256_fnmadd_ps(b, q, a), y, q);
  const __m256 r   = _mm256_fnmadd_ps(b, q, a);
  const __m256i up = _mm256_or_si256(
      _mm256_srai_epi32(_mm256_castps_si256(_mm256_xor_ps(r, q)), 31), _mm256_set1_epi32(1));
  const __m256 next   = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(q), up));
  const __m256 r_next = _mm256_fnmadd_ps(b, next, a);
  const __m256 abs    = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  return _mm256_blendv_ps(
      q, next, _mm256_cmp_ps(_mm256_and_ps(r_next, abs), _mm256_and_ps(r, abs), _CMP_LT_OQ));
}

// How divide_rounds divides.
enum class Divide { by_divider, in_software, split };

// `rounds` passes of out = a / sqrt(v + eps) over n L1-resident elements (n a
// multiple of 16). Split: one vector of each pair divides on the divider,
// the other in software, so that the divider and the FMA units share the work.
__attribute__((target("avx2,fma"))) void divide_rounds(const float* a, const float* v, float* out,
                                                       int64_t n, int64_t rounds, Divide how) {
  const __m256 eps = _mm256_set1_ps(1e-7f);
  for (int64_t round = 0; round < rounds; ++round)
    for (int64_t i = 0; i < n; i += 16) {
      const __m256 d0 = _mm256_sqrt_ps(_mm256_add_ps(_mm256_load_ps(v + i), eps));
      const __m256 d1 = _mm256_sqrt_ps(_mm256_add_ps(_mm256_load_ps(v + i + 8), eps));
      const __m256 x0 = _mm256_load_ps(a + i), x1 = _mm256_load_ps(a + i + 8);
      _mm256_store_ps(
          out + i, how == Divide::in_software ? divide_rounded_fma(x0, d0) : _mm256_div_ps(x0, d0));
      _mm256_store_ps(out + i + 8, how == Divide::by_divider ? _mm256_div_ps(x1, d1)
                                                             : divide_rounded_fma(x1, d1));
    }
  benchmark::ClobberMemory();
}

// Could the divide/sqrt floor above be undercut on the FMA units? The same
// a / sqrt(v + eps) on L1-resident data, the square roots on the divider and
// the divides on the divider, in software (divide_rounded_fma) or half each.
// Counters: ns per element of each, their time over the divider's, and the
// results that differ from the divider's (0: the software divide is exact).
void BM_divide_in_software(benchmark::State& state) {
  if (!fastnn::runtime::cpu_features().avx2 || !fastnn::runtime::cpu_features().fma) {
    state.SkipWithError("needs AVX2 and FMA");
    return;
  }
  constexpr int64_t kBlock = 2048, kRounds = 64;
  alignas(32) float a[kBlock], v[kBlock];
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-40, 10);
  for (int64_t i = 0; i < kBlock; ++i) {
    a[i] = std::ldexp(mantissa(gen), exponent(gen)) * (i % 3 ? 1.0f : -1.0f);
    v[i] = std::ldexp(mantissa(gen), exponent(gen));
  }
  constexpr Divide kWays[] = {Divide::by_divider, Divide::in_software, Divide::split};
  alignas(32) float out[3][kBlock];
  std::vector<double> times[3];
  using clock = std::chrono::steady_clock;
  for (auto _ : state) {
    for (int w = 0; w < 3; ++w) {
      const auto t0 = clock::now();
      divide_rounds(a, v, out[w], kBlock, kRounds, kWays[w]);
      times[w].push_back(std::chrono::duration<double>(clock::now() - t0).count());
    }
    state.SetIterationTime(times[2].back());
  }
  int64_t differ = 0;
  for (int64_t i = 0; i < kBlock; ++i)
    differ += std::memcmp(&out[0][i], &out[1][i], sizeof(float)) != 0 ||
              std::memcmp(&out[0][i], &out[2][i], sizeof(float)) != 0;
  const double elements                  = static_cast<double>(kBlock * kRounds);
  state.counters["divider_ns_per_elem"]  = median(times[0]) / elements * 1e9;
  state.counters["software_ns_per_elem"] = median(times[1]) / elements * 1e9;
  state.counters["split_ns_per_elem"]    = median(times[2]) / elements * 1e9;
  state.counters["software_vs_divider"]  = median(times[1]) / median(times[0]);
  state.counters["split_vs_divider"]     = median(times[2]) / median(times[0]);
  state.counters["results_differing"]    = static_cast<double>(differ);
}

void run_case(benchmark::State& state, const Config& config) {
  if (!fastnn::runtime::cpu_features().avx2) {
    state.SkipWithError("the roofline kernel needs AVX2");
    return;
  }
  const int64_t n     = state.range(0);
  const int threads   = static_cast<int>(state.range(1));
  const int threads_0 = fastnn::runtime::num_threads();
  fastnn::runtime::set_num_threads(threads);

  AlignedBuffer<float> params(n), grads(n);
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) {
    params.data()[i] = normal(gen);
    grads.data()[i]  = normal(gen);
  }
  fastnn::optim::Optimizer opt(config, {0, n});
  std::vector<float*> written{params.data()};
  for (int s = 0; s < opt.num_slots(); ++s) written.push_back(opt.slot(s));
  std::vector<const float*> read_only{grads.data()};
  int64_t it    = 0;
  uint32_t mask = 0;
  benchmark::DoNotOptimize(mask);

  const double lr = 1e-3;
  opt.step(params.data(), grads.data(), n, lr);  // warm-up (and page-in)
  roofline(written, read_only, mask, n, threads);
  std::vector<double> t_roof, t_opt, t_floor;
  const bool divides = config.kind != Kind::sgd;
  float sink         = 0.0f;
  using clock        = std::chrono::steady_clock;
  for (auto _ : state) {
    // Alternate which kernel runs first, so neither always finds the data
    // as the other left it.
    const bool roof_first = (it++ % 2) == 0;
    const auto t0         = clock::now();
    if (roof_first)
      roofline(written, read_only, mask, n, threads);
    else
      opt.step(params.data(), grads.data(), n, lr);
    const auto t1 = clock::now();
    if (roof_first)
      opt.step(params.data(), grads.data(), n, lr);
    else
      roofline(written, read_only, mask, n, threads);
    const auto t2 = clock::now();
    benchmark::ClobberMemory();
    const double first_s  = std::chrono::duration<double>(t1 - t0).count();
    const double second_s = std::chrono::duration<double>(t2 - t1).count();
    const double roof_s   = roof_first ? first_s : second_s;
    const double opt_s    = roof_first ? second_s : first_s;
    t_roof.push_back(roof_s);
    t_opt.push_back(opt_s);
    state.SetIterationTime(opt_s);
    if (divides) {
      const auto t3 = clock::now();
      divide_sqrt_floor(n, threads, &sink);
      t_floor.push_back(std::chrono::duration<double>(clock::now() - t3).count());
    }
  }
  benchmark::DoNotOptimize(sink);
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(params.data()[i])) {
      state.SkipWithError("optimizer produced a non-finite parameter");
      break;
    }
  const double bytes =
      static_cast<double>(n) * 4.0 * static_cast<double>(2 * written.size() + read_only.size());
  state.counters["roofline_frac"] = median(t_roof) / median(t_opt);
  state.counters["GB/s"]          = bytes / median(t_opt) / 1e9;
  // divsqrt_frac: the divide/sqrt floor over the optimizer's time (1 = the
  // step is bound by that unit); floor_vs_roofline > 1: exact arithmetic alone
  // takes longer than moving the bytes, so the roofline is out of reach.
  if (divides) {
    state.counters["divsqrt_frac"]      = median(t_floor) / median(t_opt);
    state.counters["floor_vs_roofline"] = median(t_floor) / median(t_roof);
  }
  state.counters["B/param"] = bytes / static_cast<double>(n);
  state.SetLabel(std::string(fastnn::runtime::isa_name(fastnn::runtime::active_isa())));
  fastnn::runtime::set_num_threads(threads_0);
}

Config make(Kind kind) {
  Config c;
  c.kind = kind;
  if (kind == Kind::sgd) c.momentum = 0.0;
  if (kind == Kind::adamw) c.weight_decay = 0.004;
  return c;
}

void BM_optim_sgd(benchmark::State& s) { run_case(s, make(Kind::sgd)); }
void BM_optim_sgd_momentum(benchmark::State& s) {
  Config c   = make(Kind::sgd);
  c.momentum = 0.9;
  run_case(s, c);
}
void BM_optim_sgd_nesterov(benchmark::State& s) {
  Config c   = make(Kind::sgd);
  c.momentum = 0.9;
  c.nesterov = true;
  run_case(s, c);
}
void BM_optim_adam(benchmark::State& s) { run_case(s, make(Kind::adam)); }
void BM_optim_adam_amsgrad(benchmark::State& s) {
  Config c  = make(Kind::adam);
  c.amsgrad = true;
  run_case(s, c);
}
void BM_optim_adamw(benchmark::State& s) { run_case(s, make(Kind::adamw)); }
void BM_optim_rmsprop(benchmark::State& s) { run_case(s, make(Kind::rmsprop)); }
void BM_optim_rmsprop_centered_momentum(benchmark::State& s) {
  Config c   = make(Kind::rmsprop);
  c.centered = true;
  c.momentum = 0.9;
  c.epsilon  = 1e-3;  // a constant gradient rounds v - a^2 to about +-1e-7 g^2
  run_case(s, c);
}
void BM_optim_adagrad(benchmark::State& s) { run_case(s, make(Kind::adagrad)); }
// LAMB: two passes (the trust ratio needs the whole tensor's norms first).
void BM_optim_lamb(benchmark::State& s) { run_case(s, make(Kind::lamb)); }
void BM_optim_schedule_free_adamw(benchmark::State& s) {
  run_case(s, make(Kind::schedule_free_adamw));
}

void args(benchmark::internal::Benchmark* b) {
  for (int64_t n : {int64_t{1} << 20, int64_t{1} << 24})
    for (int64_t t : {1, 2}) b->Args({n, t});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_optim_sgd)->Apply(args);
BENCHMARK(BM_optim_sgd_momentum)->Apply(args);
BENCHMARK(BM_optim_sgd_nesterov)->Apply(args);
BENCHMARK(BM_optim_adam)->Apply(args);
BENCHMARK(BM_optim_adam_amsgrad)->Apply(args);
BENCHMARK(BM_optim_adamw)->Apply(args);
BENCHMARK(BM_optim_rmsprop)->Apply(args);
BENCHMARK(BM_optim_rmsprop_centered_momentum)->Apply(args);
BENCHMARK(BM_optim_adagrad)->Apply(args);
BENCHMARK(BM_optim_lamb)->Apply(args);
BENCHMARK(BM_optim_schedule_free_adamw)->Apply(args);
BENCHMARK(BM_divide_in_software)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
