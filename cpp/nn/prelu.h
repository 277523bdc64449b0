// Kernels of the network engine's PReLU layer (Keras 3's
// keras/src/layers/activations/prelu.py with shared_axes=None: one alpha per
// feature). x, y, dy and dx are (rows, cols) row-major.
//
//   forward:  y = relu(x) + (-alpha) * relu(-x)      (Keras's expression with
//             torch's relu, x < 0 ? 0 : x, so that signed zeros come out as
//             Keras's: +0 for x < 0 with alpha = 0, -0 for x = -0)
//   dx:       dy where x > 0, dy * alpha where x < 0, dy * 0 where x = 0
//             (torch's relu derivative, 0 at 0, in both terms)
//   dalpha:   dalpha[j] = sum_r dy[r,j] * min(x[r,j], 0), rows in order:
//             float sums over blocks of 256 rows, added in double (as the
//             dense layers' bias gradients); the columns [j0, j1), so callers
//             split columns across threads without changing a bit; a term with
//             x >= 0 adds dy * 0
// forward and dx work on the rows [r0, r1); dx may alias dy.
#pragma once

#include <cstdint>

namespace fastnn::nn {

void prelu_forward(float* y, const float* x, const float* alpha, int64_t cols, int64_t r0,
                   int64_t r1);

void prelu_dx(float* dx, const float* dy, const float* x, const float* alpha, int64_t cols,
              int64_t r0, int64_t r1);

void prelu_dalpha(double* dalpha, const float* dy, const float* x, int64_t rows, int64_t cols,
                  int64_t j0, int64_t j1);

}  // namespace fastnn::nn
