// Portable 4 x 8 microkernel (contract in gemm_kernels.h). Plain loops over a
// small accumulator array that the compiler keeps in vector registers at the
// baseline ISA (8 x 128-bit accumulators with SSE2).
#include "gemm/gemm_kernels.h"

namespace fastnn::gemm {

namespace {

constexpr int kMr = 4;
constexpr int kNr = 8;

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

}  // namespace

const SgemmKernels kSgemmKernelsGeneric = {
    kMr,     kNr, sgemm_ukernel_4x8_ref, sgemm_pack_a_4_ref, sgemm_pack_b_8_ref, sgemm_small_m_ref,
    nullptr, 64,
};

}  // namespace fastnn::gemm
