#include "ops/activations.h"

#include <algorithm>
#include <cmath>

#include "runtime/dispatch.h"
#include "runtime/team.h"
#include "runtime/threads.h"

namespace fastnn::ops {

namespace {
constexpr int64_t kChunk = 1 << 14;  // elements per parallel chunk (64 KiB)
}

const ActivationKernels& activation_kernels() {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2)) return kActivationKernelsAvx2;
#endif
  return kActivationKernelsGeneric;
}

bool activation_needs_input(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::leaky_relu:
    case ActivationKind::elu:
    case ActivationKind::selu:
    case ActivationKind::gelu:
    case ActivationKind::gelu_exact:
    case ActivationKind::silu:
    case ActivationKind::softplus:
    case ActivationKind::softsign:
    case ActivationKind::hard_sigmoid:
    case ActivationKind::relu_clipped:
    case ActivationKind::mish:
    case ActivationKind::hard_silu:
    case ActivationKind::celu:
    case ActivationKind::hard_tanh:
    case ActivationKind::log_sigmoid:
    case ActivationKind::soft_shrink:
    case ActivationKind::hard_shrink:
    case ActivationKind::tanh_shrink:
    case ActivationKind::squareplus:
    case ActivationKind::sparse_plus:
    case ActivationKind::sparse_sigmoid:
      return true;
    default:
      return false;
  }
}

bool activation_has_param(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::leaky_relu:
    case ActivationKind::elu:
    case ActivationKind::celu:
    case ActivationKind::soft_shrink:
    case ActivationKind::hard_shrink:
    case ActivationKind::squareplus:
      return true;
    default:
      return false;
  }
}

const char* activation_param_rule(ActivationKind kind, float a) {
  if (!std::isfinite(a)) return "finite";
  switch (kind) {
    case ActivationKind::elu:
    case ActivationKind::soft_shrink:  // torch refuses a negative lambda
    case ActivationKind::squareplus:   // sqrt(x^2 + b) is NaN near 0 for b < 0
      return a >= 0.0f ? nullptr : ">= 0";
    case ActivationKind::celu:  // x / alpha
      return a != 0.0f ? nullptr : "nonzero";
    default:
      return nullptr;
  }
}

ActivationParams relu_clipped_params(float negative_slope, float max_value, float threshold) {
  ActivationParams p;
  p.a         = negative_slope;
  p.max_value = max_value;
  p.threshold = threshold;
  // Keras's relu6 path (no threshold, max_value 6): torch.nn.functional.relu6,
  // whose gradient is 0 at 6; elsewhere Keras clips, and torch.clip passes it.
  p.max_grad = (threshold == 0.0f && max_value == 6.0f) ? 0.0f : 1.0f;
  return p;
}

void activation_forward(ActivationKind kind, float* y, const float* x, int64_t rows, int64_t cols,
                        float a) {
  ActivationParams p;
  p.a = a;
  activation_forward(kind, y, x, rows, cols, p);
}

void activation_backward(ActivationKind kind, float* dx, const float* dy, const float* x,
                         const float* y, int64_t rows, int64_t cols, float a) {
  ActivationParams p;
  p.a = a;
  activation_backward(kind, dx, dy, x, y, rows, cols, p);
}

float activation_default_param(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::leaky_relu:
      return kLeakyReluSlope;
    case ActivationKind::elu:
      return kEluAlpha;
    case ActivationKind::celu:
      return kCeluAlpha;
    case ActivationKind::soft_shrink:
    case ActivationKind::hard_shrink:
      return kShrinkLambda;
    case ActivationKind::squareplus:
      return kSquareplusB;
    default:
      return 0.0f;
  }
}

void activation_forward(ActivationKind kind, float* y, const float* x, int64_t rows, int64_t cols) {
  activation_forward(kind, y, x, rows, cols, activation_default_param(kind));
}

void activation_backward(ActivationKind kind, float* dx, const float* dy, const float* x,
                         const float* y, int64_t rows, int64_t cols) {
  activation_backward(kind, dx, dy, x, y, rows, cols, activation_default_param(kind));
}

void activation_forward(ActivationKind kind, float* y, const float* x, int64_t rows, int64_t cols,
                        const ActivationParams& a) {
  const ActivationKernels& k = activation_kernels();
  if (rows <= 0 || cols <= 0) return;
  if (kind == ActivationKind::softmax || kind == ActivationKind::log_softmax) {
    const auto rowwise =
        kind == ActivationKind::softmax ? k.softmax_forward : k.log_softmax_forward;
    const int64_t chunk_rows = std::max<int64_t>(1, kChunk / cols);
    const int64_t chunks     = (rows + chunk_rows - 1) / chunk_rows;
    if (chunks <= 1) return rowwise(y, x, rows, cols);
    runtime::parallel_for_static(runtime::num_threads(), chunks, [&](int64_t c) {
      const int64_t r0 = c * chunk_rows;
      rowwise(y + r0 * cols, x + r0 * cols, std::min(chunk_rows, rows - r0), cols);
    });
    return;
  }
  const int64_t n      = rows * cols;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return k.forward(kind, y, x, n, a);
  runtime::parallel_for_static(runtime::num_threads(), chunks, [&](int64_t c) {
    const int64_t b = c * kChunk;
    k.forward(kind, y + b, x + b, std::min(kChunk, n - b), a);
  });
}

void activation_backward(ActivationKind kind, float* dx, const float* dy, const float* x,
                         const float* y, int64_t rows, int64_t cols, const ActivationParams& a) {
  const ActivationKernels& k = activation_kernels();
  if (rows <= 0 || cols <= 0) return;
  if (kind == ActivationKind::softmax || kind == ActivationKind::log_softmax) {
    const auto rowwise =
        kind == ActivationKind::softmax ? k.softmax_backward : k.log_softmax_backward;
    const int64_t chunk_rows = std::max<int64_t>(1, kChunk / cols);
    const int64_t chunks     = (rows + chunk_rows - 1) / chunk_rows;
    if (chunks <= 1) return rowwise(dx, dy, y, rows, cols);
    runtime::parallel_for_static(runtime::num_threads(), chunks, [&](int64_t c) {
      const int64_t r0 = c * chunk_rows;
      rowwise(dx + r0 * cols, dy + r0 * cols, y + r0 * cols, std::min(chunk_rows, rows - r0), cols);
    });
    return;
  }
  const int64_t n      = rows * cols;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) return k.backward(kind, dx, dy, x, y, n, a);
  runtime::parallel_for_static(runtime::num_threads(), chunks, [&](int64_t c) {
    const int64_t b = c * kChunk;
    k.backward(kind, dx + b, dy + b, x ? x + b : nullptr, y ? y + b : nullptr,
               std::min(kChunk, n - b), a);
  });
}

}  // namespace fastnn::ops
