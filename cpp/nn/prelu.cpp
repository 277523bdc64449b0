#include "nn/prelu.h"

namespace fastnn::nn {

namespace {

// torch.relu: x < 0 ? 0 : x, so -0 stays -0 (and Keras's sum gives -0 for it).
float relu(float v) { return v < 0.0f ? 0.0f : v; }

}  // namespace

void prelu_forward(float* y, const float* x, const float* alpha, int64_t cols, int64_t r0,
                   int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* yr       = y + r * cols;
    for (int64_t j = 0; j < cols; ++j) yr[j] = relu(xr[j]) + -alpha[j] * relu(-xr[j]);
  }
}

void prelu_dx(float* dx, const float* dy, const float* x, const float* alpha, int64_t cols,
              int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    const float* dr = dy + r * cols;
    float* out      = dx + r * cols;
    for (int64_t j = 0; j < cols; ++j)
      out[j] = xr[j] > 0.0f ? dr[j] : (xr[j] < 0.0f ? dr[j] * alpha[j] : 0.0f);
  }
}

void prelu_dalpha(double* dalpha, const float* dy, const float* x, int64_t rows, int64_t cols,
                  int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) dalpha[j] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    const float* dr = dy + r * cols;
    for (int64_t j = j0; j < j1; ++j)
      if (xr[j] < 0.0f) dalpha[j] += static_cast<double>(dr[j]) * xr[j];
  }
}

}  // namespace fastnn::nn
