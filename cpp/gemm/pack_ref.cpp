// Portable packing of op(A) and op(B) into microkernel panels (layouts in
// gemm_kernels.h): the templates of pack_impl.h at the generic table's panel
// sizes, plus the prologue's derivative shared by every ISA.
#include <stdexcept>

#include "gemm/gemm_kernels.h"
#include "gemm/pack_impl.h"

namespace fastnn::gemm {

using ops::ActivationKind;

float sgemm_derivative_from_output(ActivationKind act, float y) {
  switch (act) {
    case ActivationKind::linear:
      return 1.0f;
    case ActivationKind::relu:
      return y <= 0.0f ? 0.0f : 1.0f;
    case ActivationKind::sigmoid:
      return y * (1.0f - y);
    case ActivationKind::tanh:
      return 1.0f - y * y;
    default:
      throw std::invalid_argument("sgemm prologue: unsupported activation");
  }
}

void sgemm_pack_a_4_ref(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc,
                        int64_t kc, const Prologue* prologue, float* dst) {
  pack_a_impl<4>(a, lda, trans, i0, p0, mc, kc, prologue, dst);
}

void sgemm_pack_b_8_ref(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc,
                        int64_t nc, const Prologue* prologue, float* dst) {
  pack_b_impl<8>(b, ldb, trans, p0, j0, kc, nc, prologue, dst);
}

void sgemm_pack_a_skip_zero_4_ref(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                  int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept) {
  pack_a_skip_zero_impl<4>(a, lda, trans, i0, p0, mc, kc, dst, ks, kept);
}

}  // namespace fastnn::gemm
