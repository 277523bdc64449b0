// Portable penalty_pass and the dispatch on the active ISA.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "nn/penalty.h"

#include "nn/penalty_body.h"
#include "runtime/dispatch.h"

namespace fastnn::nn {

double penalty_pass_generic(const float* w, float* g, int64_t begin, int64_t end, float l1,
                            float l2) {
  return penalty_pass_body(w, g, begin, end, l1, l2);
}

double penalty_pass(const float* w, float* g, int64_t begin, int64_t end, float l1, float l2) {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2)) return penalty_pass_avx2(w, g, begin, end, l1, l2);
#endif
  return penalty_pass_generic(w, g, begin, end, l1, l2);
}

}  // namespace fastnn::nn
