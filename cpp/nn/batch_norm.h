// Batch normalization kernels of the network engine's BatchNormalization
// layer (Keras 3's keras/src/layers/normalization/batch_normalization.py with
// axis=-1, computed as its torch backend's batch_normalization does). x, y,
// xhat, dy and dx are (rows, cols) row-major; the statistics are per column
// (feature). Every function works on the columns [j0, j1) only, so callers
// split the columns across threads; each column's sums run over the rows in
// order, in double: results do not depend on the split.
//
//   moments:  mean[j] = sum_r x[r,j] / rows,
//             var[j]  = sum_r (x[r,j] - mean[j])^2 / rows   (biased, as Keras)
//   apply:    y[r,j]    = (x[r,j] - mean[j]) * a[j] + beta[j]  (beta null: 0)
//             xhat[r,j] = (x[r,j] - mean[j]) * inv[j]          (xhat null: not kept)
//             with inv = 1 / sqrt(var + epsilon) and a = inv * gamma (float32;
//             Keras: x.subtract(mean).mul_(variance.add(eps).rsqrt_().mul(scale)).add_(offset))
//   sums:     sdy[j] = sum_r dy[r,j],  sdx[j] = sum_r dy[r,j] * xhat[r,j]
//             (then dbeta = sdy, dgamma = sdx)
//   dx:       training mode (batch statistics):
//             dx[r,j] = a[j] / rows * (rows * dy[r,j] - sdy[j] - xhat[r,j] * sdx[j])
//             (computed in double, rounded once); dx may alias dy (each element
//             is read before it is written).
#pragma once

#include <cstdint>

namespace fastnn::nn {

void batch_norm_moments(const float* x, int64_t rows, int64_t cols, int64_t j0, int64_t j1,
                        double* mean, double* var);

void batch_norm_apply(float* y, float* xhat, const float* x, const float* mean, const float* inv,
                      const float* a, const float* beta, int64_t rows, int64_t cols, int64_t j0,
                      int64_t j1);

void batch_norm_sums(const float* dy, const float* xhat, int64_t rows, int64_t cols, int64_t j0,
                     int64_t j1, double* sdy, double* sdx);

void batch_norm_dx(float* dx, const float* dy, const float* xhat, const float* a, const double* sdy,
                   const double* sdx, int64_t rows, int64_t cols, int64_t j0, int64_t j1);

}  // namespace fastnn::nn
