#include "ops/elementwise.h"

#include <algorithm>

#include "runtime/dispatch.h"
#include "runtime/team.h"
#include "runtime/threads.h"

namespace fastnn::ops {

namespace {
constexpr int64_t kChunk = 1 << 15;  // elements per parallel chunk (128 KiB)
}

const ElementwiseKernels& elementwise_kernels() {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2)) return kElementwiseKernelsAvx2;
#endif
  return kElementwiseKernelsGeneric;
}

void relu_forward(float* y, const float* x, int64_t n) {
  const auto kernel    = elementwise_kernels().relu_forward;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return kernel(y, x, n);
  runtime::parallel_for_static(runtime::num_threads(), chunks, [&](int64_t c) {
    const int64_t begin = c * kChunk;
    kernel(y + begin, x + begin, std::min(kChunk, n - begin));
  });
}

void relu_backward(float* dx, const float* dy, const float* x, int64_t n) {
  const auto kernel    = elementwise_kernels().relu_backward;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return kernel(dx, dy, x, n);
  runtime::parallel_for_static(runtime::num_threads(), chunks, [&](int64_t c) {
    const int64_t begin = c * kChunk;
    kernel(dx + begin, dy + begin, x + begin, std::min(kChunk, n - begin));
  });
}

}  // namespace fastnn::ops
