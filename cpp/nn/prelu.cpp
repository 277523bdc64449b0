#include "nn/prelu.h"

#include <algorithm>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fastnn::nn {

// Branch-free selects in `omp simd` loops: vectorized at the baseline ISA on
// every machine, so the arithmetic (no FMA) is the same everywhere; a
// branch on the sign of x would mispredict half the time.

void prelu_forward(float* y, const float* x, const float* alpha, int64_t cols, int64_t r0,
                   int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* yr       = y + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) {
      const float v   = xr[j];
      const float pos = v < 0.0f ? 0.0f : v;  // torch.relu: -0 stays -0
      const float neg = -v < 0.0f ? 0.0f : -v;
      yr[j]           = pos + -alpha[j] * neg;
    }
  }
}

void prelu_dx(float* dx, const float* dy, const float* x, const float* alpha, int64_t cols,
              int64_t r0, int64_t r1) {
  // keep + leak: at most one of the two is nonzero (both 0 where x = 0 or
  // NaN). GCC does not if-convert this loop ("control flow in loop"), so
  // x86-64's baseline SSE2 does it by hand with the same operations.
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    const float* dr = dy + r * cols;
    float* out      = dx + r * cols;
    int64_t j       = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps();
    for (; j + 4 <= cols; j += 4) {  // each vector read before it is written
      const __m128 v    = _mm_loadu_ps(xr + j);
      const __m128 g    = _mm_loadu_ps(dr + j);
      const __m128 keep = _mm_and_ps(_mm_cmpgt_ps(v, zero), g);
      const __m128 leak = _mm_and_ps(_mm_cmplt_ps(v, zero), _mm_mul_ps(g, _mm_loadu_ps(alpha + j)));
      _mm_storeu_ps(out + j, _mm_add_ps(keep, leak));
    }
#endif
    for (; j < cols; ++j) {
      const float g    = dr[j];
      const float neg  = g * alpha[j];
      const float keep = xr[j] > 0.0f ? g : 0.0f;
      const float leak = xr[j] < 0.0f ? neg : 0.0f;
      out[j]           = keep + leak;
    }
  }
}

void prelu_dalpha(double* dalpha, const float* dy, const float* x, int64_t rows, int64_t cols,
                  int64_t j0, int64_t j1) {
  // float sums over blocks of kBlock rows, added in double in row order (the
  // columns' float loop vectorizes; accurate past 2^24 rows).
  constexpr int64_t kBlock = 256;
  thread_local std::vector<float> block;
  block.resize(static_cast<size_t>(cols));
  for (int64_t j = j0; j < j1; ++j) dalpha[j] = 0.0;
  for (int64_t b0 = 0; b0 < rows; b0 += kBlock) {
    const int64_t b1 = std::min(rows, b0 + kBlock);
    float* acc       = block.data();
    for (int64_t j = j0; j < j1; ++j) acc[j] = 0.0f;
    for (int64_t r = b0; r < b1; ++r) {
      const float* xr = x + r * cols;
      const float* dr = dy + r * cols;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) acc[j] += dr[j] * (xr[j] < 0.0f ? xr[j] : 0.0f);
    }
    for (int64_t j = j0; j < j1; ++j) dalpha[j] += acc[j];
  }
}

}  // namespace fastnn::nn
