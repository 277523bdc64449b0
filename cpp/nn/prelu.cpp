#include "nn/prelu.h"

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
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    const float* dr = dy + r * cols;
    float* out      = dx + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) {
      const float g = dr[j];
      const float a = xr[j] < 0.0f ? alpha[j] : 0.0f;
      out[j]        = xr[j] > 0.0f ? g : g * a;  // 0 at x = 0 (g * 0, finite g)
    }
  }
}

void prelu_dalpha(double* dalpha, const float* dy, const float* x, int64_t rows, int64_t cols,
                  int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) dalpha[j] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float* dr = dy + r * cols;
#pragma omp simd
    for (int64_t j = j0; j < j1; ++j) {
      const float m = xr[j] < 0.0f ? xr[j] : 0.0f;  // min(x, 0)
      dalpha[j] += static_cast<double>(dr[j]) * m;
    }
  }
}

}  // namespace fastnn::nn
