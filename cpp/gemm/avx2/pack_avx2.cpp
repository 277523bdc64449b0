// AVX2 instantiation of the packing templates (pack_impl.h) at the 6 x 16
// microkernel's panel sizes, compiled with -mavx2 -mfma so the compiler
// vectorizes the copies with 256-bit moves.
#include "gemm/gemm_kernels.h"
#include "gemm/pack_impl.h"

namespace fastnn::gemm {

void sgemm_pack_a_6_avx2(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                         int64_t mc, int64_t kc, const Prologue* prologue, float* dst) {
  pack_a_impl<6>(a, lda, trans, i0, p0, mc, kc, prologue, dst);
}

void sgemm_pack_b_16_avx2(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0,
                          int64_t kc, int64_t nc, const Prologue* prologue, float* dst) {
  pack_b_impl<16>(b, ldb, trans, p0, j0, kc, nc, prologue, dst);
}

void sgemm_pack_a_skip_zero_6_avx2(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                   int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept) {
  pack_a_skip_zero_impl<6>(a, lda, trans, i0, p0, mc, kc, dst, ks, kept);
}

}  // namespace fastnn::gemm
