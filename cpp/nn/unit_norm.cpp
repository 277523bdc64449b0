#include "nn/unit_norm.h"

#include <cmath>

#include "nn/lane_sum.h"

namespace fastnn::nn {

namespace {

// min(1 / sqrt(sum_j x[j]^2), kUnitNormMaxInv) in double (inf before the
// cap for a zero row; NaN kept: NaN > cap is false).
double row_inv_norm(const float* x, int64_t cols) {
  const double sq  = lane_sum(cols, [&](int64_t j) {
    const double v = x[j];
    return v * v;
  });
  const double k   = 1.0 / std::sqrt(sq);
  const double cap = kUnitNormMaxInv;
  return k > cap ? cap : k;
}

}  // namespace

void unit_norm_forward(float* y, const float* x, int64_t cols, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    const float s   = static_cast<float>(row_inv_norm(xr, cols));
    float* yr       = y + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] * s;
  }
}

void unit_norm_dx(float* dx, const float* dy, const float* x, int64_t cols, int64_t r0,
                  int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* dr = dy + r * cols;
    const float* xr = x + r * cols;
    float* out      = dx + r * cols;
    const double s  = row_inv_norm(xr, cols);
    // below the cap: d(x s)/dx with ds/dx_j = -x_j s^3; at it (or NaN): s dy
    const double g =
        s < kUnitNormMaxInv
            ? s * s * s *
                  lane_sum(cols, [&](int64_t j) { return static_cast<double>(dr[j]) * xr[j]; })
            : 0.0;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j)  // each element read before it is written
      out[j] = static_cast<float>(s * dr[j] - static_cast<double>(xr[j]) * g);
  }
}

}  // namespace fastnn::nn
