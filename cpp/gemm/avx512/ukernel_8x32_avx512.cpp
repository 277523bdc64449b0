// AVX-512F 8 x 32 microkernel (contract in gemm_kernels.h), compiled with
// -mavx512f -mavx2 -mfma.
//
// Why a second x86 kernel when the AVX2 6 x 16 one already runs its k-loop at
// 99 % of the core's peak in L1 (116.7 of 117.3 GFLOP/s at 3.67 GHz): on a
// core with AVX-512 (Zen 4 here: 512-bit FMAs are double-pumped, so the peak
// is the same 32 FLOP/cycle) the 32 zmm registers hold a tile four times as
// large. Sixteen zmm accumulators (8 rows x 2 vectors of 16 columns), two B
// vectors and one broadcast A value per k step:
//   - an MR of 8 divides the batch sizes dense networks use (32, 128, 1024)
//     and 784, where 6-row panels leave a partial one (128 = 21 x 6 + 2);
//   - A read in place is re-read once per 32 columns instead of 16;
//   - a tile's epilogue and call overhead are spread over 256 outputs, not 96.
// Tile shapes measured single-thread through fastnn.ops.matmul on the seed
// network's products (128 x 784 x 128 NN/NT/TN, 128 x 128 x 128, 1024 x 784 x
// 128) against the AVX2 kernel, GFLOP/s: 8 x 32 105.7-112.4 (AVX2: 93.6-106.7);
// 4 x 64 85.4-112.9 (NT 0.90x the AVX2 kernel); 16 x 16 88.1-104.0; 12 x 32
// 92.7-107.5; 8 x 48 89.4-99.0. 8 x 32 is at least as fast on every one.
//
// Arithmetic per output element is the AVX2 kernel's exactly (one FMA per k
// step in k order from zero, then * alpha, + beta * C by FMA, + bias, relu as
// x < 0 ? 0 : x), so the two ISA levels give bit-identical GEMMs; the AVX2
// small-M and narrow-N kernels, which promise bit-identity with the tiled path,
// serve this table unchanged.
#include <immintrin.h>

#include "gemm/gemm_kernels.h"
#include "gemm/pack_impl.h"

namespace fastnn::gemm {

namespace {

constexpr int kMr = 8;
constexpr int kNv = 2;  // zmm vectors per row
constexpr int kNr = 16 * kNv;

// acc[r][v] = sum_{p < k} A(r, p) * B(p, 16 v .. 16 v + 15), p in order.
// kPackedA: A is a packed panel (rs_a = 1, cs_a = kMr), offsets known at
// compile time; otherwise A is read in place with any strides.
// kIndexedB: A is a compacted panel of k steps, step q of B's row ks[q]
// (SgemmSkipUkernel).
template <bool kPackedA, bool kIndexedB = false>
inline void accumulate(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                       int64_t rs_b, __m512 (&acc)[kMr][kNv], const int32_t* ks = nullptr) {
  const float* b0 = b;
  (void)b0;
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    if constexpr (kIndexedB) b = b0 + ks[p] * rs_b;
    __m512 vb[kNv];
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) vb[v] = _mm512_loadu_ps(b + 16 * v);
    b += rs_b;
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      const __m512 va = _mm512_set1_ps(kPackedA ? a[r] : a[r * rs_a]);
#pragma GCC unroll 2
      for (int v = 0; v < kNv; ++v) acc[r][v] = _mm512_fmadd_ps(va, vb[v], acc[r][v]);
    }
    a += kPackedA ? kMr : cs_a;
  }
}

// Writes the accumulated tile through the epilogue (gemm_kernels.h).
__attribute__((always_inline)) inline void finish_tile(const __m512 (&acc)[kMr][kNv], float* c,
                                                       int64_t ldc, int m, int n,
                                                       const TileEpilogue& ep) {
  // Lanes j < n of each vector (an edge tile's masked loads and stores never
  // touch memory outside the m x n corner); rows r < m.
  __mmask16 mask[kNv];
  for (int v = 0; v < kNv; ++v) {
    const int lanes = n - 16 * v;
    mask[v]         = lanes >= 16  ? static_cast<__mmask16>(0xFFFF)
                      : lanes <= 0 ? static_cast<__mmask16>(0)
                                   : static_cast<__mmask16>((1u << lanes) - 1u);
  }
  // The plain product goes from the registers straight to C: that is what the
  // epilogue computes (x * 1 = x, no other term).
  const bool plain    = sgemm_plain_epilogue(ep);
  const __m512 valpha = _mm512_set1_ps(ep.alpha);
  const __m512 vbeta  = _mm512_set1_ps(ep.beta);
  const __m512 vzero  = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    if (r >= m) break;
    float* crow = c + r * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < kNv; ++v) {
      __m512 x = acc[r][v];
      if (!plain) {
        x = _mm512_mul_ps(x, valpha);
        if (ep.beta != 0.0f)
          x = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mask[v], crow + 16 * v), x);
        if (ep.bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], ep.bias + 16 * v));
        if (ep.pre) _mm512_mask_storeu_ps(ep.pre + r * ep.ld_pre + 16 * v, mask[v], x);
        // x < 0 ? 0 : x (NaN passes), as the AVX2 kernel's andnot of the compare.
        if (ep.relu) x = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, vzero, _CMP_LT_OQ), vzero);
      }
      _mm512_mask_storeu_ps(crow + 16 * v, mask[v], x);
    }
  }
}

void sgemm_ukernel_8x32_avx512(int64_t k, const float* a, int64_t rs_a, int64_t cs_a,
                               const float* b, int64_t rs_b, float* c, int64_t ldc, int m, int n,
                               const TileEpilogue& ep) {
  sgemm_prefetch_c_tile(c, ldc, m, n);
  __m512 acc[kMr][kNv];
  if (rs_a == 1 && cs_a == kMr)
    accumulate<true>(k, a, rs_a, cs_a, b, rs_b, acc);
  else
    accumulate<false>(k, a, rs_a, cs_a, b, rs_b, acc);

  finish_tile(acc, c, ldc, m, n, ep);
}

// The tile over a compacted panel (SgemmSkipUkernel): the same FMAs per lane
// as the dense kernel's, B's rows by index.
void sgemm_ukernel_skip_8x32_avx512(int64_t count, const int32_t* ks, const float* a,
                                    const float* b, int64_t rs_b, float* c, int64_t ldc, int m,
                                    int n, const TileEpilogue& ep) {
  sgemm_prefetch_c_tile(c, ldc, m, n);
  __m512 acc[kMr][kNv];
  accumulate<true, true>(count, a, 1, kMr, b, rs_b, acc, ks);
  finish_tile(acc, c, ldc, m, n, ep);
}

void sgemm_pack_a_skip_zero_8_avx512(const float* a, int64_t lda, bool trans, int64_t i0,
                                     int64_t p0, int64_t mc, int64_t kc, float* dst, int32_t* ks,
                                     int64_t* kept) {
  pack_a_skip_zero_impl<kMr>(a, lda, trans, i0, p0, mc, kc, dst, ks, kept);
}

void sgemm_pack_a_8_avx512(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                           int64_t mc, int64_t kc, const Prologue* prologue, float* dst) {
  pack_a_impl<kMr>(a, lda, trans, i0, p0, mc, kc, prologue, dst);
}

void sgemm_pack_b_32_avx512(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0,
                            int64_t kc, int64_t nc, const Prologue* prologue, float* dst) {
  pack_b_impl<kNr>(b, ldb, trans, p0, j0, kc, nc, prologue, dst);
}

}  // namespace

const SgemmKernels kSgemmKernelsAvx512 = {
    kMr,
    kNr,
    sgemm_ukernel_8x32_avx512,
    sgemm_pack_a_8_avx512,
    sgemm_pack_b_32_avx512,
    sgemm_small_m_avx2,
    sgemm_narrow_n_avx2,
    128,  // a narrow B in place up to 128 rows: see choose_packing() in gemm.cpp
    sgemm_ukernel_skip_8x32_avx512,
    sgemm_pack_a_skip_zero_8_avx512,
};

}  // namespace fastnn::gemm
