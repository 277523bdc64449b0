// AVX2 elementwise kernels (compiled with -mavx2 -mfma). Vector body of 8
// lanes, scalar tail that mirrors it.
#include <immintrin.h>

#include "ops/elementwise.h"

namespace fastnn::ops {

namespace {

// NaN handling matches the reference and torch.relu: x < 0 and x <= 0 are false
// for NaN, so relu(NaN) = NaN and its gradient passes dy.
void relu_forward_avx2(float* y, const float* x, int64_t n) {
  const __m256 vzero = _mm256_setzero_ps();
  int64_t i          = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vx       = _mm256_loadu_ps(x + i);
    const __m256 negative = _mm256_cmp_ps(vx, vzero, _CMP_LT_OQ);
    _mm256_storeu_ps(y + i, _mm256_andnot_ps(negative, vx));
  }
  for (; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward_avx2(float* dx, const float* dy, const float* x, int64_t n) {
  const __m256 vzero = _mm256_setzero_ps();
  int64_t i          = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 blocked = _mm256_cmp_ps(_mm256_loadu_ps(x + i), vzero, _CMP_LE_OQ);
    _mm256_storeu_ps(dx + i, _mm256_andnot_ps(blocked, _mm256_loadu_ps(dy + i)));
  }
  for (; i < n; ++i) dx[i] = x[i] <= 0.0f ? 0.0f : dy[i];
}

}  // namespace

const ElementwiseKernels kElementwiseKernelsAvx2 = {
    relu_forward_avx2,
    relu_backward_avx2,
};

}  // namespace fastnn::ops
