// The activation functions fastnn knows, shared by the GEMM epilogue, the
// elementwise kernels and the network engine. Names follow Keras
// (keras.activations): activation_from_name accepts Keras's string ids.
#pragma once

#include <string>

namespace fastnn::ops {

enum class ActivationKind : int {
  linear = 0,
  relu,
  sigmoid,
  tanh,
  softmax,  // over the last axis, max-subtracted
  leaky_relu,
  elu,
  selu,
  gelu,        // tanh approximation (Keras approximate=True)
  gelu_exact,  // erf form (Keras approximate=False, the Keras 3 default)
  silu,        // a.k.a. swish
  softplus,
  softsign,
  hard_sigmoid,
  exponential,
  relu_clipped,    // Keras's relu(x, negative_slope, max_value, threshold) (ops/activations.h)
  mish,            // x tanh(softplus(x))
  hard_silu,       // x hard_sigmoid(x), a.k.a. hard_swish
  celu,            // x >= 0 ? x : a (exp(x / a) - 1), a = alpha
  hard_tanh,       // clip(x, -1, 1)
  log_sigmoid,     // -softplus(-x)
  soft_shrink,     // x > a ? x - a : (x < -a ? x + a : 0), a = threshold
  hard_shrink,     // |x| > a ? x : 0, a = threshold
  tanh_shrink,     // x - tanh(x)
  squareplus,      // (x + sqrt(x^2 + a)) / 2, a = b
  sparse_plus,     // 0, (x + 1)^2 / 4, x on (-inf, -1], (-1, 1), [1, inf)
  sparse_sigmoid,  // 0, (x + 1) / 2, 1 on (-inf, -1], (-1, 1), [1, inf)
  log_softmax,     // over the last axis, max-subtracted
};

constexpr int kNumActivationKinds = static_cast<int>(ActivationKind::log_softmax) + 1;

// Keras string id -> kind ("swish" == "silu", "linear" == None). Throws
// std::invalid_argument naming the valid ids when the name is unknown.
ActivationKind activation_from_name(const std::string& name);
const char* activation_name(ActivationKind kind);

}  // namespace fastnn::ops
