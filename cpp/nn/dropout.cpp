// Portable dropout_forward and the dispatch on the active ISA.
#include "nn/dropout.h"

#include "nn/initializers.h"
#include "runtime/dispatch.h"

namespace fastnn::nn {

void dropout_forward_generic(float* mask, float* y, const float* x, int64_t begin, int64_t end,
                             uint64_t key, float rate, float scale) {
  for (int64_t e = begin; e < end; ++e) {
    mask[e] = uniform01(key + static_cast<uint64_t>(e)) >= rate ? scale : 0.0f;
    y[e]    = x[e] * mask[e];
  }
}

void dropout_forward(float* mask, float* y, const float* x, int64_t begin, int64_t end,
                     uint64_t key, float rate, float scale) {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2))
    return dropout_forward_avx2(mask, y, x, begin, end, key, rate, scale);
#endif
  dropout_forward_generic(mask, y, x, begin, end, key, rate, scale);
}

}  // namespace fastnn::nn
