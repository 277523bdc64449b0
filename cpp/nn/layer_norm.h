// Layer normalization kernels of the network engine's LayerNormalization
// layer (Keras 3's keras/src/layers/normalization/layer_normalization.py with
// axis=-1; its torch backend calls torch.nn.functional.layer_norm). x, y,
// xhat, dy and dx are (rows, cols) row-major; the statistics are per row
// (sample), over its cols features, in double, each a sum over 8 lanes in
// a fixed order (lane l: the features j with j % 8 == l). Each function works on the
// rows [r0, r1) only (rows are independent): results do not depend on how
// callers split the rows across threads. The weight gradients are
// batch_norm_sums (nn/batch_norm.h) of dy and xhat.
//
//   forward:  mean[r] = sum_j x[r,j] / cols,
//             var[r]  = sum_j (x[r,j] - mean[r])^2 / cols     (biased, as torch)
//             inv[r]  = 1 / sqrt(var[r] + epsilon)             (in double, rounded
//                                                              once; epsilon float32)
//             xhat[r,j] = (x[r,j] - mean[r]) * inv[r]
//             y[r,j]    = xhat[r,j] * gamma[j] + beta[j]       (gamma, beta null: 1, 0)
//   weights:  dgamma[j] = sum_r dy[r,j] * xhat[r,j],  dbeta[j] = sum_r dy[r,j]
//   dx:       g = dy * gamma;  dx[r,j] = inv[r] * (g[r,j] - mean_j g - xhat[r,j] * mean_j(g xhat))
//             (the sums over j in double, rounded once; dx may alias dy).
#pragma once

#include <cstdint>

namespace fastnn::nn {

// y and (when not null) xhat for rows [r0, r1); inv[r] receives 1/sqrt(var + eps).
void layer_norm_forward(float* y, float* xhat, float* inv, const float* x, const float* gamma,
                        const float* beta, float epsilon, int64_t cols, int64_t r0, int64_t r1);

void layer_norm_dx(float* dx, const float* dy, const float* xhat, const float* inv,
                   const float* gamma, int64_t cols, int64_t r0, int64_t r1);

}  // namespace fastnn::nn
