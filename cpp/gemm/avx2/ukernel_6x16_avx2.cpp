// AVX2/FMA 6 x 16 microkernel (contract in gemm_kernels.h), compiled with
// -mavx2 -mfma. Twelve ymm accumulators (vacc<row>x<lanes>), two B vectors and
// one broadcast A value per k step: 12 FMAs for 8 loads, enough to keep both
// FMA pipes of a Zen core busy. The epilogue (alpha, beta, bias, the
// pre-activation store and relu) is applied while the tile is in registers.
#include <immintrin.h>

#include <cmath>

#include "gemm/gemm_kernels.h"

namespace fastnn::gemm {

namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

// Writes one 16-wide row of the tile through the epilogue (full tiles only).
inline void store_row(__m256 v0, __m256 v1, float* c, float* pre, const TileEpilogue& ep) {
  const __m256 valpha = _mm256_set1_ps(ep.alpha);
  v0                  = _mm256_mul_ps(v0, valpha);
  v1                  = _mm256_mul_ps(v1, valpha);
  if (ep.beta != 0.0f) {
    const __m256 vbeta = _mm256_set1_ps(ep.beta);
    v0                 = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c), v0);
    v1                 = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(c + 8), v1);
  }
  if (ep.bias) {
    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ep.bias));
    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ep.bias + 8));
  }
  if (pre) {
    _mm256_storeu_ps(pre, v0);
    _mm256_storeu_ps(pre + 8, v1);
  }
  if (ep.relu) {
    const __m256 vzero = _mm256_setzero_ps();
    v0                 = _mm256_and_ps(v0, _mm256_cmp_ps(v0, vzero, _CMP_GT_OQ));
    v1                 = _mm256_and_ps(v1, _mm256_cmp_ps(v1, vzero, _CMP_GT_OQ));
  }
  _mm256_storeu_ps(c, v0);
  _mm256_storeu_ps(c + 8, v1);
}

// kPackedA: A is a packed panel (rs_a = 1, cs_a = 6) and its offsets are
// compile-time constants; otherwise A is read in place with any strides.
template <bool kPackedA>
void ukernel_6x16(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                  int64_t rs_b, float* c, int64_t ldc, int m, int n, const TileEpilogue& ep) {
  __m256 vacc0x0 = _mm256_setzero_ps(), vacc0x8 = _mm256_setzero_ps();
  __m256 vacc1x0 = _mm256_setzero_ps(), vacc1x8 = _mm256_setzero_ps();
  __m256 vacc2x0 = _mm256_setzero_ps(), vacc2x8 = _mm256_setzero_ps();
  __m256 vacc3x0 = _mm256_setzero_ps(), vacc3x8 = _mm256_setzero_ps();
  __m256 vacc4x0 = _mm256_setzero_ps(), vacc4x8 = _mm256_setzero_ps();
  __m256 vacc5x0 = _mm256_setzero_ps(), vacc5x8 = _mm256_setzero_ps();

#define FASTNN_UK_STEP(A0, A1, A2, A3, A4, A5)     \
  do {                                             \
    const __m256 vb0 = _mm256_loadu_ps(b);         \
    const __m256 vb8 = _mm256_loadu_ps(b + 8);     \
    b += rs_b;                                     \
    __m256 va = _mm256_broadcast_ss(A0);           \
    vacc0x0   = _mm256_fmadd_ps(va, vb0, vacc0x0); \
    vacc0x8   = _mm256_fmadd_ps(va, vb8, vacc0x8); \
    va        = _mm256_broadcast_ss(A1);           \
    vacc1x0   = _mm256_fmadd_ps(va, vb0, vacc1x0); \
    vacc1x8   = _mm256_fmadd_ps(va, vb8, vacc1x8); \
    va        = _mm256_broadcast_ss(A2);           \
    vacc2x0   = _mm256_fmadd_ps(va, vb0, vacc2x0); \
    vacc2x8   = _mm256_fmadd_ps(va, vb8, vacc2x8); \
    va        = _mm256_broadcast_ss(A3);           \
    vacc3x0   = _mm256_fmadd_ps(va, vb0, vacc3x0); \
    vacc3x8   = _mm256_fmadd_ps(va, vb8, vacc3x8); \
    va        = _mm256_broadcast_ss(A4);           \
    vacc4x0   = _mm256_fmadd_ps(va, vb0, vacc4x0); \
    vacc4x8   = _mm256_fmadd_ps(va, vb8, vacc4x8); \
    va        = _mm256_broadcast_ss(A5);           \
    vacc5x0   = _mm256_fmadd_ps(va, vb0, vacc5x0); \
    vacc5x8   = _mm256_fmadd_ps(va, vb8, vacc5x8); \
  } while (0)

  if constexpr (kPackedA) {
    (void)rs_a;
    (void)cs_a;
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      _mm_prefetch(reinterpret_cast<const char*>(b + 8 * rs_b), _MM_HINT_T0);
      FASTNN_UK_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
      FASTNN_UK_STEP(a + 6, a + 7, a + 8, a + 9, a + 10, a + 11);
      FASTNN_UK_STEP(a + 12, a + 13, a + 14, a + 15, a + 16, a + 17);
      FASTNN_UK_STEP(a + 18, a + 19, a + 20, a + 21, a + 22, a + 23);
      a += 24;
    }
    for (; p < k; ++p, a += 6) FASTNN_UK_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
  } else {
    const float* a0 = a;
    const float* a1 = a0 + rs_a;
    const float* a2 = a1 + rs_a;
    const float* a3 = a2 + rs_a;
    const float* a4 = a3 + rs_a;
    const float* a5 = a4 + rs_a;
    int64_t off     = 0;
    for (int64_t p = 0; p < k; ++p, off += cs_a)
      FASTNN_UK_STEP(a0 + off, a1 + off, a2 + off, a3 + off, a4 + off, a5 + off);
  }
#undef FASTNN_UK_STEP

  if (m == kMr && n == kNr) {
    float* pre = ep.pre;
    store_row(vacc0x0, vacc0x8, c + 0 * ldc, pre ? pre + 0 * ep.ld_pre : nullptr, ep);
    store_row(vacc1x0, vacc1x8, c + 1 * ldc, pre ? pre + 1 * ep.ld_pre : nullptr, ep);
    store_row(vacc2x0, vacc2x8, c + 2 * ldc, pre ? pre + 2 * ep.ld_pre : nullptr, ep);
    store_row(vacc3x0, vacc3x8, c + 3 * ldc, pre ? pre + 3 * ep.ld_pre : nullptr, ep);
    store_row(vacc4x0, vacc4x8, c + 4 * ldc, pre ? pre + 4 * ep.ld_pre : nullptr, ep);
    store_row(vacc5x0, vacc5x8, c + 5 * ldc, pre ? pre + 5 * ep.ld_pre : nullptr, ep);
    return;
  }
  // Edge tile: spill the accumulators, then the same operations in scalar
  // form on the m x n corner only (no access outside it).
  alignas(32) float acc[kMr * kNr];
  _mm256_store_ps(acc + 0 * kNr, vacc0x0), _mm256_store_ps(acc + 0 * kNr + 8, vacc0x8);
  _mm256_store_ps(acc + 1 * kNr, vacc1x0), _mm256_store_ps(acc + 1 * kNr + 8, vacc1x8);
  _mm256_store_ps(acc + 2 * kNr, vacc2x0), _mm256_store_ps(acc + 2 * kNr + 8, vacc2x8);
  _mm256_store_ps(acc + 3 * kNr, vacc3x0), _mm256_store_ps(acc + 3 * kNr + 8, vacc3x8);
  _mm256_store_ps(acc + 4 * kNr, vacc4x0), _mm256_store_ps(acc + 4 * kNr + 8, vacc4x8);
  _mm256_store_ps(acc + 5 * kNr, vacc5x0), _mm256_store_ps(acc + 5 * kNr + 8, vacc5x8);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float v = ep.alpha * acc[i * kNr + j];
      if (ep.beta != 0.0f) v = std::fma(ep.beta, c[i * ldc + j], v);
      if (ep.bias) v += ep.bias[j];
      if (ep.pre) ep.pre[i * ep.ld_pre + j] = v;
      if (ep.relu) v = v > 0.0f ? v : 0.0f;
      c[i * ldc + j] = v;
    }
  }
}

// Dispatches on whether A is a packed panel (the common, faster case).
void sgemm_ukernel_6x16_avx2(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                             int64_t rs_b, float* c, int64_t ldc, int m, int n,
                             const TileEpilogue& ep) {
  if (rs_a == 1 && cs_a == kMr)
    ukernel_6x16<true>(k, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, ep);
  else
    ukernel_6x16<false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, ep);
}

}  // namespace

const SgemmKernels kSgemmKernelsAvx2 = {
    kMr, kNr, sgemm_ukernel_6x16_avx2, sgemm_pack_a_ref, sgemm_pack_b_ref,
};

}  // namespace fastnn::gemm
