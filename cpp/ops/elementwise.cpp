#include "ops/elementwise.h"

#include <algorithm>
#include <atomic>

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

bool all_finite(const float* x, int64_t n) {
  constexpr int64_t kMinParallelChunks = 8;  // below ~1 MiB a region costs more than it saves
  const auto kernel                    = elementwise_kernels().all_finite;
  const int64_t chunks                 = (n + kChunk - 1) / kChunk;
  const int threads = static_cast<int>(std::min<int64_t>(runtime::num_threads(), chunks));
  if (chunks < kMinParallelChunks || threads <= 1) return kernel(x, n);
  std::atomic<bool> finite{true};
  runtime::parallel(threads, [&](int tid, int team) {
    int64_t c0, c1;
    runtime::split_range(chunks, team, tid, &c0, &c1);
    const int64_t begin = c0 * kChunk, end = std::min(n, c1 * kChunk);
    if (begin < end && !kernel(x + begin, end - begin)) finite.store(false);
  });
  return finite.load();
}

}  // namespace fastnn::ops
