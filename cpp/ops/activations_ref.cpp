// Portable activation kernels: plain loops over <cmath>, one per kind, that
// the compiler may vectorize for the baseline ISA. Also the oracle the AVX2
// twin is tested against.
#include <cmath>

#include "ops/activations.h"

namespace fastnn::ops {

namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCoeff   = 0.044715f;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

inline float sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

// Phi(x) = erfc(-x / sqrt 2) / 2, in double so that the scaling of x does
// not cost relative accuracy in the lower tail.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x * 0.7071067811865476); }

inline float softplus(float x) { return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
// (x + 3) / 6 clipped to [0, 1], as torch (NaN stays NaN)
inline float hard_sigmoid(float x) {
  const float t = (x + 3.0f) / 6.0f;
  return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
}

void forward_ref(ActivationKind kind, float* y, const float* x, int64_t n,
                 const ActivationParams& p) {
  const float a = p.a;
  switch (kind) {
    case ActivationKind::linear:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i];
      break;
    case ActivationKind::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
      break;
    case ActivationKind::sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = sigmoid(x[i]);
      break;
    case ActivationKind::tanh:
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case ActivationKind::leaky_relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
      break;
    case ActivationKind::elu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : a * std::expm1(x[i]);
      break;
    case ActivationKind::selu:
      for (int64_t i = 0; i < n; ++i)
        y[i] = kSeluScale * (x[i] > 0.0f ? x[i] : kSeluAlpha * std::expm1(x[i]));
      break;
    case ActivationKind::gelu:
      // 0.5 v (1 + tanh u) as v sigmoid(2u): 1 + tanh u cancels as u -> -inf
      for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i]          = v * sigmoid(2.0f * kSqrt2OverPi * (v + kGeluCoeff * v * v * v));
      }
      break;
    case ActivationKind::gelu_exact:
      // in double, rounded once: x Phi(x) stays accurate where Phi(x) is subnormal
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * normal_cdf(x[i]));
      break;
    case ActivationKind::silu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid(x[i]);
      break;
    case ActivationKind::softplus:
      for (int64_t i = 0; i < n; ++i) y[i] = softplus(x[i]);
      break;
    case ActivationKind::softsign:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (1.0f + std::fabs(x[i]));
      break;
    case ActivationKind::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) {
        // (x + 3) / 6, as torch: x + 3 is exact near -3, where x / 6 + 0.5 cancels
        const float t = (x[i] + 3.0f) / 6.0f;
        y[i]          = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);  // NaN stays NaN (as AVX2)
      }
      break;
    case ActivationKind::mish:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * std::tanh(softplus(x[i]));
      break;
    case ActivationKind::hard_silu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * hard_sigmoid(x[i]);
      break;
    case ActivationKind::exponential:
      for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
      break;
    case ActivationKind::relu_clipped: {
      const float m = p.max_value, t = p.threshold;
      // + 0: Keras's 0 below the threshold is +0 (a = 0 would give -0)
      for (int64_t i = 0; i < n; ++i)
        y[i] = x[i] > t ? (x[i] < m ? x[i] : m) : a * (x[i] - t) + 0.0f;
      break;
    }
    case ActivationKind::softmax:
      break;  // row-wise: softmax_forward_ref
  }
}

void backward_ref(ActivationKind kind, float* dx, const float* dy, const float* x, const float* y,
                  int64_t n, const ActivationParams& p) {
  const float a = p.a;
  switch (kind) {
    case ActivationKind::linear:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i];
      break;
    case ActivationKind::relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
      break;
    case ActivationKind::sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
      break;
    case ActivationKind::tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case ActivationKind::leaky_relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : a * dy[i];
      break;
    case ActivationKind::elu:
      // a exp(x), not y + a: that cancels as y -> -a (x = -17: 44 % off, 0 below -17)
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * (a * std::exp(x[i]));
      break;
    case ActivationKind::selu:
      for (int64_t i = 0; i < n; ++i)
        dx[i] =
            x[i] > 0.0f ? kSeluScale * dy[i] : dy[i] * ((kSeluScale * kSeluAlpha) * std::exp(x[i]));
      break;
    case ActivationKind::gelu:
      // f = v s(w), w = 2u: f' = s(w) + v w' s(w) s(-w), with s(w) s(-w) = e q^2,
      // e = exp(-|w|), q = 1 / (1 + e): no cancellation as w -> -inf
      for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        const float w = 2.0f * kSqrt2OverPi * (v + kGeluCoeff * v * v * v);
        const float e = std::exp(-std::fabs(w));
        const float q = 1.0f / (1.0f + e);
        const float s = w >= 0.0f ? q : e * q;
        // |v| >= 20: e is 0 exactly and the second term 0; v clamped there
        // so that 0 * inf (v * v overflows beyond 1.8e19) is not NaN
        const float c  = std::fmin(std::fmax(v, -20.0f), 20.0f);
        const float dw = 2.0f * kSqrt2OverPi * (1.0f + 3.0f * kGeluCoeff * c * c);
        dx[i]          = dy[i] * (s + c * dw * (e * q * q));
      }
      break;
    case ActivationKind::gelu_exact:
      for (int64_t i = 0; i < n; ++i) {
        // Phi(x) + x phi(x) in double: exp(-x^2 / 2) from a float x^2 is
        // off by |x^2 / 2| ulps (60 ulps at x = -11)
        const double v = x[i];
        const double d = normal_cdf(v) + v * kInvSqrt2Pi * std::exp(-0.5 * v * v);
        dx[i]          = dy[i] * static_cast<float>(d);
      }
      break;
    case ActivationKind::silu:
      for (int64_t i = 0; i < n; ++i) {
        const float s = sigmoid(x[i]);
        dx[i]         = dy[i] * (s * (1.0f + x[i] * (1.0f - s)));
      }
      break;
    case ActivationKind::softplus:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * sigmoid(x[i]);
      break;
    case ActivationKind::softsign:
      for (int64_t i = 0; i < n; ++i) {
        const float d = 1.0f + std::fabs(x[i]);
        dx[i]         = dy[i] / (d * d);
      }
      break;
    case ActivationKind::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i)
        dx[i] = (x[i] > -3.0f && x[i] < 3.0f) ? dy[i] * (1.0f / 6.0f) : 0.0f;
      break;
    case ActivationKind::exponential:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i];
      break;
    case ActivationKind::mish:
      // tanh(sp) + x sech^2(sp) sigmoid(x), sp = softplus(x)
      for (int64_t i = 0; i < n; ++i) {
        const float t = std::tanh(softplus(x[i]));
        dx[i]         = dy[i] * (t + x[i] * (1.0f - t * t) * sigmoid(x[i]));
      }
      break;
    case ActivationKind::hard_silu:
      // hard_sigmoid(x) + x / 6 inside (-3, 3)
      for (int64_t i = 0; i < n; ++i) {
        const float inside = (x[i] > -3.0f && x[i] < 3.0f) ? x[i] * (1.0f / 6.0f) : 0.0f;
        dx[i]              = dy[i] * (hard_sigmoid(x[i]) + inside);
      }
      break;
    case ActivationKind::relu_clipped: {
      const float m = p.max_value, t = p.threshold;
      const bool at_max_passes = p.max_grad != 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        const float v   = x[i];
        const bool pass = v > t && (v < m || (v == m && at_max_passes));
        dx[i]           = pass ? dy[i] : (v < t ? a * dy[i] : 0.0f);
      }
      break;
    }
    case ActivationKind::softmax:
      break;  // row-wise: softmax_backward_ref
  }
}

void softmax_forward_ref(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr       = y + r * cols;
    float m         = xr[0];
    for (int64_t j = 1; j < cols; ++j) m = std::fmax(m, xr[j]);
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

void softmax_backward_ref(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * cols;
    const float* yr  = y + r * cols;
    float* dxr       = dx + r * cols;
    float dot        = 0.0f;
    for (int64_t j = 0; j < cols; ++j) dot += dyr[j] * yr[j];
    for (int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}

}  // namespace

const ActivationKernels kActivationKernelsGeneric = {
    forward_ref,
    backward_ref,
    softmax_forward_ref,
    softmax_backward_ref,
};

}  // namespace fastnn::ops
