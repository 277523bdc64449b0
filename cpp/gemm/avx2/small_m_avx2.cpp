// AVX2/FMA small-M sgemm (contract in gemm_kernels.h, SgemmSmallM), compiled
// with -mavx2 -mfma. For a group of R <= 4 rows and a chunk of V ymm columns:
//
//   for p in the KC block:      vb[v] = B(p, j + 8v .. j + 8v + 7)  (v < V)
//     for r < R:                va    = broadcast A(r, p)
//       for v < V:              vacc[r][v] = fma(va, vb[v], vacc[r][v])
//
// R * V accumulators (R = 1: 8, 2: 12, 3: 12, 4: 12) plus V B vectors and one
// broadcast fit the 16 ymm registers; nothing is packed, A and B are read in
// place. The last vector of a row is masked when n is not a multiple of 8.
// The FMA order per element (p ascending, restarting every kc) and the
// epilogue's operations (alpha multiply, beta FMA, bias add, pre store, relu
// mask) are those of the 6 x 16 microkernel (ukernel_6x16_avx2.cpp), so each
// result is bit-identical to the packed path.
#include <immintrin.h>

#include <algorithm>

#include "gemm/gemm_kernels.h"
#include "runtime/avx2_tail.h"

namespace fastnn::gemm {

namespace {

// Columns per chunk (in ymm vectors) for a group of R rows.
template <int R>
constexpr int max_vectors() {
  return R == 1 ? 8 : R == 2 ? 4 : R == 3 ? 4 : 3;
}

template <bool kMasked>
inline __m256 load(const float* p, __m256i mask) {
  if constexpr (kMasked) return _mm256_maskload_ps(p, mask);
  (void)mask;
  return _mm256_loadu_ps(p);
}

// The first `count` lanes when kMasked (plain stores: see avx2_tail.h).
template <bool kMasked>
inline void store(float* p, __m256 v, int64_t count) {
  if constexpr (kMasked)
    runtime::store_first_lanes(p, v, count);
  else {
    (void)count;
    _mm256_storeu_ps(p, v);
  }
}

// Rows [0, R) of the group (a, c, pre already offset to its first row),
// columns [j, j + 8V) with the last vector masked by `tail` (its first
// tail_count lanes) when kMasked.
template <int R, int V, bool kMasked>
void tile(const SgemmSmallM& s, const float* a, float* c, float* pre, int64_t j, __m256i tail,
          int64_t tail_count) {
  const __m256 valpha = _mm256_set1_ps(s.alpha);
  const __m256 vzero  = _mm256_setzero_ps();
  const int64_t rs_a = s.rs_a, cs_a = s.cs_a, ldb = s.ldb;
  for (int64_t p0 = 0; p0 < s.k; p0 += s.kc) {
    const int64_t p1 = std::min(s.k, p0 + s.kc);
    __m256 vacc[R][V];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < V; ++v) vacc[r][v] = _mm256_setzero_ps();
    const float* bp = s.b + p0 * ldb + j;
    const float* ap = a + p0 * cs_a;
    for (int64_t p = p0; p < p1; ++p, bp += ldb, ap += cs_a) {
      __m256 vb[V];
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v)
        vb[v] =
            kMasked && v == V - 1 ? load<true>(bp + 8 * v, tail) : load<false>(bp + 8 * v, tail);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const __m256 va = _mm256_broadcast_ss(ap + r * rs_a);
#pragma GCC unroll 16
        for (int v = 0; v < V; ++v) vacc[r][v] = _mm256_fmadd_ps(va, vb[v], vacc[r][v]);
      }
    }
    // Accumulators to memory (as the microkernel's acc tile), so that the
    // epilogue's runtime loops do not keep vacc itself in memory in the k-loop.
    alignas(32) float acc[R][8 * V];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) _mm256_store_ps(&acc[r][8 * v], vacc[r][v]);
    // The epilogue of this K block, as the microkernel's store_row applies it.
    const float beta   = p0 == 0 ? s.beta : 1.0f;
    const bool last    = p1 == s.k;
    const __m256 vbeta = _mm256_set1_ps(beta);
    for (int r = 0; r < R; ++r) {
      float* cr = c + r * s.ldc + j;
      float* pr = last && pre ? pre + r * s.ld_pre + j : nullptr;
      for (int v = 0; v < V; ++v) {
        const bool masked = kMasked && v == V - 1;
        __m256 x          = _mm256_mul_ps(_mm256_load_ps(&acc[r][8 * v]), valpha);
        if (beta != 0.0f) {
          const __m256 cv = masked ? load<true>(cr + 8 * v, tail) : load<false>(cr + 8 * v, tail);
          x               = _mm256_fmadd_ps(vbeta, cv, x);
        }
        if (last && s.bias) {
          const float* bb = s.bias + j + 8 * v;
          x               = _mm256_add_ps(x, masked ? load<true>(bb, tail) : load<false>(bb, tail));
        }
        if (pr) {
          if (masked)
            store<true>(pr + 8 * v, x, tail_count);
          else
            store<false>(pr + 8 * v, x, tail_count);
        }
        if (last && s.relu) x = _mm256_andnot_ps(_mm256_cmp_ps(x, vzero, _CMP_LT_OQ), x);
        if (masked)
          store<true>(cr + 8 * v, x, tail_count);
        else
          store<false>(cr + 8 * v, x, tail_count);
      }
    }
  }
}

// The chunk [j, j + cols) of a group of R rows, cols <= 8 * max_vectors<R>().
template <int R, int V>
void chunk(const SgemmSmallM& s, const float* a, float* c, float* pre, int64_t j, int64_t cols) {
  if constexpr (V > 1) {
    if (cols <= 8 * (V - 1)) return chunk<R, V - 1>(s, a, c, pre, j, cols);
  }
  if (cols == 8 * V) return tile<R, V, false>(s, a, c, pre, j, _mm256_setzero_si256(), 8);
  const int64_t tail_count = cols - 8 * (V - 1);
  const __m256i lanes      = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(tail_count)), lanes);
  tile<R, V, true>(s, a, c, pre, j, tail, tail_count);
}

template <int R>
void row_group(const SgemmSmallM& s, int64_t i) {
  constexpr int kV    = max_vectors<R>();
  const float* a      = s.a + i * s.rs_a;
  float* c            = s.c + i * s.ldc;
  float* pre          = s.pre ? s.pre + i * s.ld_pre : nullptr;
  constexpr int64_t w = 8 * kV;
  for (int64_t j = 0; j < s.n; j += w) chunk<R, kV>(s, a, c, pre, j, std::min(w, s.n - j));
}

}  // namespace

void sgemm_small_m_avx2(const SgemmSmallM& s) {
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
