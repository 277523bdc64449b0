// Portable elementwise kernels: plain loops the compiler may vectorize for the
// baseline ISA (SSE2 on x86-64).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/elementwise.h"

namespace fastnn::ops {

namespace {

void relu_forward_ref(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward_ref(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] <= 0.0f ? 0.0f : dy[i];
}

void exp_shifted_ref(double* out, const float* x, double m, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::exp(static_cast<double>(x[i]) - m);
}

// Branch-free, so that the compiler vectorizes it.
bool all_finite_ref(const float* x, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

}  // namespace

const ElementwiseKernels kElementwiseKernelsGeneric = {
    relu_forward_ref,
    relu_backward_ref,
    exp_shifted_ref,
    all_finite_ref,
};

}  // namespace fastnn::ops
