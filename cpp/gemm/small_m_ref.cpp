// Portable small-M sgemm (contract in gemm_kernels.h, SgemmSmallM): the twin
// of avx2/small_m_avx2.cpp in plain loops. Groups of up to 4 rows, chunks of
// 32 / 16 / 8 columns (1 / 2 / 3-4 rows) held in a small accumulator array the
// compiler keeps in vector registers at the baseline ISA. Measured (generic
// ISA, one thread, 784 -> 128): m = 1: 94 -> 7.5 us against the tiled
// driver, m = 2: 94 -> 52, m = 3: 95 -> 77, m = 4: 91 -> 94. Per element, the same operations in
// the same order as the 4 x 8 microkernel (ukernel_ref.cpp): acc += a * b over p (restarting every
// kc), then alpha * acc, + beta * C, + bias, pre, relu; so each result is bit-identical to the
// packed generic path.
#include <algorithm>

#include "gemm/gemm_kernels.h"

namespace fastnn::gemm {

namespace {

// Columns per chunk for a group of R rows: R x W accumulators in at most 8
// of the 16 SSE registers (more spill: R = 4 at 16 columns ran 1.8x slower).
template <int R>
constexpr int width() {
  return R == 1 ? 32 : R == 2 ? 16 : 8;
}

// Rows [0, R) (a, c, pre already offset to the group's first row), columns
// [j, j + cols), cols <= width<R>(). kFull: all of them (constant trip counts).
template <int R, bool kFull>
void tile(const SgemmSmallM& s, const float* a, float* c, float* pre, int64_t j, int cols) {
  constexpr int kW = width<R>();
  const int w      = kFull ? kW : cols;
  for (int64_t p0 = 0; p0 < s.k; p0 += s.kc) {
    const int64_t p1 = std::min(s.k, p0 + s.kc);
    float acc[R][kW] = {};
    const float* bp  = s.b + p0 * s.ldb + j;
    const float* ap  = a + p0 * s.cs_a;
    for (int64_t p = p0; p < p1; ++p, bp += s.ldb, ap += s.cs_a) {
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const float av = ap[r * s.rs_a];
#pragma GCC unroll 32
        for (int jj = 0; jj < w; ++jj) acc[r][jj] += av * bp[jj];
      }
    }
    const float beta = p0 == 0 ? s.beta : 1.0f;
    const bool last  = p1 == s.k;
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * s.ldc + j;
      float* pr = last && pre ? pre + r * s.ld_pre + j : nullptr;
      for (int jj = 0; jj < w; ++jj) {
        float v = s.alpha * acc[r][jj];
        if (beta != 0.0f) v += beta * cr[jj];
        if (last && s.bias) v += s.bias[j + jj];
        if (pr) pr[jj] = v;
        if (last && s.relu) v = v < 0.0f ? 0.0f : v;
        cr[jj] = v;
      }
    }
  }
}

template <int R>
void row_group(const SgemmSmallM& s, int64_t i) {
  const float* a   = s.a + i * s.rs_a;
  float* c         = s.c + i * s.ldc;
  float* pre       = s.pre ? s.pre + i * s.ld_pre : nullptr;
  constexpr int kW = width<R>();
  int64_t j        = 0;
  for (; j + kW <= s.n; j += kW) tile<R, true>(s, a, c, pre, j, kW);
  if (j < s.n) tile<R, false>(s, a, c, pre, j, static_cast<int>(s.n - j));
}

}  // namespace

void sgemm_small_m_ref(const SgemmSmallM& s) {
  int64_t i = 0;
  for (; i + 4 <= s.m; i += 4) row_group<4>(s, i);
  switch (s.m - i) {
    case 3:
      return row_group<3>(s, i);
    case 2:
      return row_group<2>(s, i);
    case 1:
      return row_group<1>(s, i);
    default:
      return;
  }
}

}  // namespace fastnn::gemm
