#include "nn/layer_norm.h"

#include <cmath>

namespace fastnn::nn {

void layer_norm_forward(float* y, float* xhat, float* inv, const float* x, const float* gamma,
                        const float* beta, float epsilon, int64_t cols, int64_t r0, int64_t r1) {
  const double n = static_cast<double>(cols);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    double sum      = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += xr[j];
    const double mean = sum / n;
    double sq         = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const double d = static_cast<double>(xr[j]) - mean;
      sq += d * d;
    }
    // inv in double, rounded once: a variance beyond float32's range (a
    // row spread over ~1e19) still normalizes (torch's float32 gives NaN).
    const float m = static_cast<float>(mean);
    const float k = static_cast<float>(1.0 / std::sqrt(sq / n + static_cast<double>(epsilon)));
    inv[r]        = k;
    float* yr     = y + r * cols;
    float* hr     = xhat ? xhat + r * cols : nullptr;
    for (int64_t j = 0; j < cols; ++j) {
      const float h = (xr[j] - m) * k;
      if (hr) hr[j] = h;
      float v = gamma ? h * gamma[j] : h;
      if (beta) v += beta[j];
      yr[j] = v;
    }
  }
}

void layer_norm_dx(float* dx, const float* dy, const float* xhat, const float* inv,
                   const float* gamma, int64_t cols, int64_t r0, int64_t r1) {
  const double n = static_cast<double>(cols);
  for (int64_t r = r0; r < r1; ++r) {
    const float* dr = dy + r * cols;
    const float* hr = xhat + r * cols;
    double sg = 0.0, sgh = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const double g = gamma ? static_cast<double>(dr[j]) * gamma[j] : dr[j];
      sg += g;
      sgh += g * hr[j];
    }
    const double mg = sg / n, mgh = sgh / n, k = inv[r];
    float* out = dx + r * cols;
    for (int64_t j = 0; j < cols; ++j) {  // each element read before it is written
      const double g = gamma ? static_cast<double>(dr[j]) * gamma[j] : dr[j];
      out[j]         = static_cast<float>(k * (g - mg - static_cast<double>(hr[j]) * mgh));
    }
  }
}

}  // namespace fastnn::nn
