// penalty_pass for AVX2 (compiled with -mavx2 -mfma): the body of
// nn/penalty_body.h vectorized with 8-lane registers. FMA contraction is off
// so the result equals the portable path's bit for bit.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "nn/penalty.h"
#include "nn/penalty_body.h"

namespace fastnn::nn {

double penalty_pass_avx2(const float* w, float* g, int64_t begin, int64_t end, float l1, float l2) {
  return penalty_pass_body(w, g, begin, end, l1, l2);
}

}  // namespace fastnn::nn
