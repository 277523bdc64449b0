// Portable 4 x 8 microkernel (contract in gemm_kernels.h). Plain loops over a
// small accumulator array that the compiler keeps in vector registers at the
// baseline ISA (8 x 128-bit accumulators with SSE2).
#include "gemm/gemm_kernels.h"

namespace fastnn::gemm {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

// The tile's epilogue (gemm_kernels.h), rows i < m and columns j < n.
void finish_tile(const float (&acc)[kMr][kNr], float* c, int64_t ldc, int m, int n,
                 const TileEpilogue& ep) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float v = ep.alpha * acc[i][j];
      if (ep.beta != 0.0f) v += ep.beta * c[i * ldc + j];
      if (ep.bias) v += ep.bias[j];
      if (ep.pre) ep.pre[i * ep.ld_pre + j] = v;
      if (ep.relu) v = v < 0.0f ? 0.0f : v;
      c[i * ldc + j] = v;
    }
  }
}

void sgemm_ukernel_4x8_ref(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                           int64_t rs_b, float* c, int64_t ldc, int m, int n,
                           const TileEpilogue& ep) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = b + p * rs_b;
    const float* ap = a + p * cs_a;
    for (int i = 0; i < kMr; ++i) {
      const float av = ap[i * rs_a];
      for (int j = 0; j < kNr; ++j) acc[i][j] += av * bp[j];
    }
  }
  finish_tile(acc, c, ldc, m, n, ep);
}

// The same sums over the kept steps of a compacted panel (SgemmSkipUkernel).
void sgemm_ukernel_skip_4x8_ref(int64_t count, const int32_t* ks, const float* a, const float* b,
                                int64_t rs_b, float* c, int64_t ldc, int m, int n,
                                const TileEpilogue& ep) {
  float acc[kMr][kNr] = {};
  for (int64_t q = 0; q < count; ++q) {
    const float* bp = b + ks[q] * rs_b;
    const float* ap = a + q * kMr;
    for (int i = 0; i < kMr; ++i) {
      const float av = ap[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += av * bp[j];
    }
  }
  finish_tile(acc, c, ldc, m, n, ep);
}

}  // namespace

const SgemmKernels kSgemmKernelsGeneric = {
    kMr,
    kNr,
    sgemm_ukernel_4x8_ref,
    sgemm_pack_a_4_ref,
    sgemm_pack_b_8_ref,
    sgemm_small_m_ref,
    nullptr,
    64,
    sgemm_ukernel_skip_4x8_ref,
    sgemm_pack_a_skip_zero_4_ref,
};

}  // namespace fastnn::gemm
