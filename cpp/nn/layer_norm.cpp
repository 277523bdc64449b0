#include "nn/layer_norm.h"

#include <cmath>

#include "nn/lane_sum.h"

namespace fastnn::nn {

namespace {

// y[j] = (x[j] - m) * k, times gamma[j] and plus beta[j] where given.
void normalize_row(float* y, const float* x, float m, float k, const float* gamma,
                   const float* beta, int64_t cols) {
#pragma omp simd
  for (int64_t j = 0; j < cols; ++j) y[j] = (x[j] - m) * k;
  if (gamma) {
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) y[j] *= gamma[j];
  }
  if (beta) {
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) y[j] += beta[j];
  }
}

}  // namespace

void layer_norm_forward(float* y, float* xhat, float* inv, const float* x, const float* gamma,
                        const float* beta, float epsilon, int64_t cols, int64_t r0, int64_t r1) {
  const double n = static_cast<double>(cols);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr   = x + r * cols;
    const double mean = lane_sum(cols, [&](int64_t j) { return static_cast<double>(xr[j]); }) / n;
    const double sq   = lane_sum(cols, [&](int64_t j) {
      const double d = static_cast<double>(xr[j]) - mean;
      return d * d;
    });
    // inv in double, rounded once: a variance beyond float32's range (a
    // row spread over ~1e19) still normalizes (torch's float32 gives NaN).
    const float m = static_cast<float>(mean);
    const float k = static_cast<float>(1.0 / std::sqrt(sq / n + static_cast<double>(epsilon)));
    inv[r]        = k;
    float* yr     = y + r * cols;
    if (xhat) normalize_row(xhat + r * cols, xr, m, k, nullptr, nullptr, cols);
    normalize_row(yr, xr, m, k, gamma, beta, cols);
  }
}

void layer_norm_dx(float* dx, const float* dy, const float* xhat, const float* inv,
                   const float* gamma, int64_t cols, int64_t r0, int64_t r1) {
  const double n = static_cast<double>(cols);
  for (int64_t r = r0; r < r1; ++r) {
    const float* dr = dy + r * cols;
    const float* hr = xhat + r * cols;
    auto g          = [&](int64_t j) {
      return gamma ? static_cast<double>(dr[j]) * gamma[j] : static_cast<double>(dr[j]);
    };
    const double mg  = lane_sum(cols, g) / n;
    const double mgh = lane_sum(cols, [&](int64_t j) { return g(j) * hr[j]; }) / n;
    const double k   = inv[r];
    float* out       = dx + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j)  // each element read before it is written
      out[j] = static_cast<float>(k * (g(j) - mg - static_cast<double>(hr[j]) * mgh));
  }
}

}  // namespace fastnn::nn
