// Activation functions forward and backward, one kernel table per ISA.
//
// Elementwise kinds (every ActivationKind except softmax and log_softmax), n floats:
//   activation_forward:  y[i]  = f(x[i])                         (y may alias x)
//   activation_backward: dx[i] = dy[i] * f'(x[i])                (dx may alias dy)
//     f' is computed from x (the forward input) and/or y (the forward output),
//     whichever is cheaper and exact: relu, sigmoid, tanh and exponential read
//     y; leaky_relu, elu, selu, gelu, gelu_exact, silu, softplus, softsign and
//     hard_sigmoid read x (elu's a exp(x) keeps its relative accuracy where
//     y + a, the form read from y, cancels as x -> -inf). Pass both when you
//     have them; a kind that needs only y accepts x == nullptr
//     (activation_needs_input()).
// Softmax over the last axis of a rows x cols row-major matrix:
//   y[r, j]  = exp(x[r, j] - max_j x[r, :]) / sum_j exp(x[r, j] - max)
//   dx[r, j] = y[r, j] * (dy[r, j] - sum_k dy[r, k] * y[r, k])   (reads y only)
// Log-softmax likewise (Keras's log_softmax, torch's formulas):
//   y[r, j]  = (x[r, j] - max) - log(sum_j exp(x[r, j] - max))   (the sum in double)
//   dx[r, j] = dy[r, j] - exp(y[r, j]) * sum_k dy[r, k]           (reads y only)
// A row holding +inf, NaN, or only -inf gives NaN throughout, as softmax.
// Gradients are overwritten, never accumulated.
//
// One parameter `a` is configurable: leaky_relu's negative slope
// (y = x > 0 ? x : a x; Keras default 0.2), elu's alpha (y = x > 0 ? x :
// a (exp(x) - 1); Keras default 1.0; a >= 0), celu's alpha (Keras default
// 1.0; a != 0), soft_shrink's and hard_shrink's threshold (Keras default 0.5;
// a >= 0) and squareplus's b (Keras default 4; a >= 0); the other kinds
// ignore it. activation_default_param(kind) gives the Keras default, and the
// overloads without `a` use it; activation_param_rule(kind, a) says whether
// `a` is valid.
// The kinds added for Keras 3's other activations (keras/src/backend/torch/nn.py,
// torch's kernels; at the boundaries as torch, f' as torch's backward):
//   celu         x >= 0 ? x : a expm1(x / a);  f' = x <= 0 ? exp(x / a) : 1 (NaN: 1)
//   hard_tanh    clip(x, -1, 1) (NaN stays); f' = x <= -1 || x >= 1 ? 0 : 1 (NaN: 1)
//   log_sigmoid  min(x, 0) - log1p(exp(-|x|)); f' = sigmoid(-x)
//   soft_shrink  x > a ? x - a : x < -a ? x + a : x * 0 (-0 for x < 0, as torch);
//                f' = -a <= x <= a ? 0 : 1 (0 at +-a; NaN: 1)
//   hard_shrink  -a <= x <= a ? 0 : x;  f' = -a <= x <= a ? 0 : 1 (NaN: 1)
//   tanh_shrink  x - tanh(x), in double (a series below |x| = 0.1, where the
//                float32 subtraction cancels: torch loses all digits near 0);
//                f' = tanh(x)^2
//   squareplus   (x + sqrt(x^2 + a)) / 2, as x / 2 + s / 2 for x >= 0 and
//                (a / 2) / (s - x) below, s = sqrt(x^2 + a) (|x| sqrt(1 +
//                a / x^2) beyond 2^60), so that x -> -inf does not cancel and
//                x^2 does not overflow; f' = (1 + x / s) / 2 (x >= 0; 1 at
//                x = +inf, and at x = 0 for a = 0), (a / 2) / (s (s - x)) below
//   sparse_plus  x <= -1 ? 0 : x < 1 ? (x + 1)^2 / 4 : x;
//                f' = x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2 (NaN: NaN)
//   sparse_sigmoid  x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2;
//                f' = x <= -1 || x >= 1 ? 0 : 1/2 (NaN: 1/2, as torch.where's)
// relu_clipped is keras.activations.relu with its three parameters
// (ActivationParams: a = negative_slope s >= 0, max_value m >= 0 (+inf:
// None), threshold t >= 0), as Keras 3 computes it
// (keras/src/activations/activations.py, ReLU.static_call):
//   y  = x > t ? min(x, m) : s (x - t) + 0   (+0, not -0, for s = 0; NaN in, NaN out)
//   f' = s for x < t; 0 at x == t; 1 for t < x < m; 0 for x > m; at x == m
//        (> t) p.max_grad: 1 where Keras clips (torch.clip passes the
//        gradient at the bound), 0 on Keras's relu6 path (t == 0, m == 6:
//        torch's relu6 does not). relu_clipped_params() sets it. Reads x.
// Plain relu (s = 0, no m, t = 0) and leaky_relu (s > 0, no m, t = 0) are
// what Keras computes for those arguments and keep their own kinds.
// Fixed parameters follow keras.activations: selu alpha 1.67326324 / scale 1.05070098,
// hard_sigmoid = clip((x + 3) / 6, 0, 1) (Keras 3; torch's rounding), gelu tanh form
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), gelu_exact 0.5 x (1 + erf(x / sqrt 2)).
// No kind gives NaN for a finite x, up to |x| = FLT_MAX (exponential and its
// gradient are +inf above log(FLT_MAX), as exp is; selu overflows to +inf
// above FLT_MAX / 1.0507). NaN in, NaN out (relu too, as torch.relu and
// Keras), except the gradients that select dy by comparing x (relu passes dy
// where y is NaN, as torch does; leaky_relu, hard_sigmoid);
// +-inf give the IEEE value of the formula (tests/test_extremes.py has the table).
//
// Threading: rows are split into fixed chunks; results do not depend on the
// thread count.
#pragma once

#include <cstdint>
#include <limits>

#include "ops/activation_kind.h"

namespace fastnn::ops {

constexpr float kLeakyReluSlope = 0.2f;
constexpr float kEluAlpha       = 1.0f;
constexpr float kSeluAlpha      = 1.6732632423543772f;
constexpr float kSeluScale      = 1.0507009873554805f;
constexpr float kCeluAlpha      = 1.0f;
constexpr float kShrinkLambda   = 0.5f;  // soft_shrink and hard_shrink
constexpr float kSquareplusB    = 4.0f;

// The parameters of the parametrized kinds (see above).
struct ActivationParams {
  float a         = 0.0f;  // leaky_relu slope, elu alpha, relu_clipped negative slope
  float max_value = std::numeric_limits<float>::infinity();  // relu_clipped
  float threshold = 0.0f;                                    // relu_clipped
  float max_grad  = 1.0f;                                    // relu_clipped: f' at x == max_value
};
// Keras's relu(negative_slope, max_value (+inf: None), threshold) as relu_clipped's params.
ActivationParams relu_clipped_params(float negative_slope, float max_value, float threshold);

struct ActivationKernels {
  // Elementwise kinds only (not softmax); `p` as activation_forward's.
  void (*forward)(ActivationKind kind, float* y, const float* x, int64_t n,
                  const ActivationParams& p);
  void (*backward)(ActivationKind kind, float* dx, const float* dy, const float* x, const float* y,
                   int64_t n, const ActivationParams& p);
  void (*softmax_forward)(float* y, const float* x, int64_t rows, int64_t cols);
  void (*softmax_backward)(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols);
  void (*log_softmax_forward)(float* y, const float* x, int64_t rows, int64_t cols);
  void (*log_softmax_backward)(float* dx, const float* dy, const float* y, int64_t rows,
                               int64_t cols);
};

// Defined in activations_ref.cpp and avx2/activations_avx2.cpp.
extern const ActivationKernels kActivationKernelsGeneric;
#if defined(FASTNN_HAVE_AVX2)
extern const ActivationKernels kActivationKernelsAvx2;
#endif

// The table of the active ISA (runtime::active_isa()).
const ActivationKernels& activation_kernels();

// True when activation_backward of `kind` reads x (the forward input).
bool activation_needs_input(ActivationKind kind);

// True for the kinds that read the parameter `a` (leaky_relu, elu, celu,
// soft_shrink, hard_shrink, squareplus).
bool activation_has_param(ActivationKind kind);
// Keras's default `a`: 0.2 for leaky_relu, 1.0 for elu and celu, 0.5 for the
// shrinks, 4 for squareplus, 0 for the others.
float activation_default_param(ActivationKind kind);
// nullptr when `a` is a valid parameter of `kind`, else what it must be
// besides finite: "finite" for inf or NaN, else ">= 0" (elu, soft_shrink,
// squareplus) or "nonzero" (celu). Kinds without a parameter take any finite `a`.
const char* activation_param_rule(ActivationKind kind, float a);

// x, y, dx, dy are rows x cols, row-major, contiguous.
void activation_forward(ActivationKind kind, float* y, const float* x, int64_t rows, int64_t cols,
                        const ActivationParams& p);
void activation_backward(ActivationKind kind, float* dx, const float* dy, const float* x,
                         const float* y, int64_t rows, int64_t cols, const ActivationParams& p);
// The same with ActivationParams{a} (the kinds with one parameter).
void activation_forward(ActivationKind kind, float* y, const float* x, int64_t rows, int64_t cols,
                        float a);
void activation_backward(ActivationKind kind, float* dx, const float* dy, const float* x,
                         const float* y, int64_t rows, int64_t cols, float a);
// The same with a = activation_default_param(kind).
void activation_forward(ActivationKind kind, float* y, const float* x, int64_t rows, int64_t cols);
void activation_backward(ActivationKind kind, float* dx, const float* dy, const float* x,
                         const float* y, int64_t rows, int64_t cols);

}  // namespace fastnn::ops
