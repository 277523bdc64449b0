// Unit normalization kernels of the network engine's UnitNormalization layer
// (Keras 3's keras/src/layers/normalization/unit_normalization.py, axis=-1:
// ops.normalize(x, order=2, epsilon=1e-12), i.e. x * min(rsqrt(sum x^2),
// 1 / epsilon)). x, y, dy and dx are (rows, cols) row-major; each row
// (sample) is scaled to unit L2 norm. The sums run in double over 8 lanes in
// a fixed order (nn/lane_sum.h). Each function works on the rows [r0, r1)
// only (rows are independent): results do not depend on how callers split
// the rows across threads.
//
//   forward:  s[r]   = min(1 / sqrt(sum_j x[r,j]^2), kUnitNormMaxInv)  (in double; a
//                      zero row gets the cap; NaN stays NaN)
//             y[r,j] = x[r,j] * float32(s[r])                        (float32, as Keras)
//   dx:       s[r] again from x (in double, not the rounded float32: where
//             the two terms below nearly cancel, s's rounding would show)
//             rows below the cap:  dx = s dy - x s^3 sum_j(dy x)  (in double, rounded once)
//             capped rows:         dx = s dy  (the derivative through the cap is 0, as a
//                                  clamp's; torch's autograd of Keras's formula gives
//                                  NaN there: 0 * s^3 with s^3 overflowing float32, or
//                                  rsqrt'(0) = inf for a zero row)
//             (dx may alias dy.)
// Unlike Keras's float32 sum of squares, a row whose sum overflows float32
// (entries ~1e19 and more) still normalizes (torch gives 0 * inf = NaN or 0).
#pragma once

#include <cstdint>

namespace fastnn::nn {

// 1 / epsilon with Keras's epsilon 1e-12, as float32 (999999995904).
constexpr float kUnitNormMaxInv = static_cast<float>(1.0 / 1e-12);

void unit_norm_forward(float* y, const float* x, int64_t cols, int64_t r0, int64_t r1);

void unit_norm_dx(float* dx, const float* dy, const float* x, int64_t cols, int64_t r0, int64_t r1);

}  // namespace fastnn::nn
