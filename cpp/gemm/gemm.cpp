// Placeholder-free starting point: sgemm forwards to the naive loop until the
// packed BLIS-style implementation replaces this file's body.
#include "gemm/gemm.h"

namespace fastnn::gemm {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           const Epilogue* epilogue, const Prologue* prologue_a, const Prologue* prologue_b) {
  sgemm_naive(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, prologue_a,
              prologue_b);
}

}  // namespace fastnn::gemm
