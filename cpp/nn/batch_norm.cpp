#include "nn/batch_norm.h"

namespace fastnn::nn {

void batch_norm_moments(const float* x, int64_t rows, int64_t cols, int64_t j0, int64_t j1,
                        double* mean, double* var) {
  for (int64_t j = j0; j < j1; ++j) mean[j] = var[j] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    for (int64_t j = j0; j < j1; ++j) mean[j] += xr[j];
  }
  const double n = static_cast<double>(rows);
  for (int64_t j = j0; j < j1; ++j) mean[j] /= n;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    for (int64_t j = j0; j < j1; ++j) {
      const double d = static_cast<double>(xr[j]) - mean[j];
      var[j] += d * d;
    }
  }
  for (int64_t j = j0; j < j1; ++j) var[j] /= n;
}

void batch_norm_apply(float* y, float* xhat, const float* x, const float* mean, const float* inv,
                      const float* a, const float* beta, int64_t rows, int64_t cols, int64_t j0,
                      int64_t j1) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr       = y + r * cols;
    for (int64_t j = j0; j < j1; ++j) {
      const float d = xr[j] - mean[j];
      yr[j]         = beta ? d * a[j] + beta[j] : d * a[j];
    }
    if (!xhat) continue;
    float* hr = xhat + r * cols;
    for (int64_t j = j0; j < j1; ++j) hr[j] = (xr[j] - mean[j]) * inv[j];
  }
}

void batch_norm_sums(const float* dy, const float* xhat, int64_t rows, int64_t cols, int64_t j0,
                     int64_t j1, double* sdy, double* sdx) {
  for (int64_t j = j0; j < j1; ++j) sdy[j] = sdx[j] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * cols;
    const float* hr = xhat + r * cols;
    for (int64_t j = j0; j < j1; ++j) {
      sdy[j] += dr[j];
      sdx[j] += static_cast<double>(dr[j]) * hr[j];
    }
  }
}

void batch_norm_dx(float* dx, const float* dy, const float* xhat, const float* a, const double* sdy,
                   const double* sdx, int64_t rows, int64_t cols, int64_t j0, int64_t j1) {
  const double n = static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * cols;
    const float* hr = xhat + r * cols;
    float* out      = dx + r * cols;
    for (int64_t j = j0; j < j1; ++j)  // (in double: n * dy - sdy cancels)
      out[j] = static_cast<float>(static_cast<double>(a[j]) / n *
                                  (n * dr[j] - sdy[j] - static_cast<double>(hr[j]) * sdx[j]));
  }
}

}  // namespace fastnn::nn
