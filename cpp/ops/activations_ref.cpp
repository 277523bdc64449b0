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

// x - tanh(x) in double, rounded once: below |x| = 0.1 its Taylor series
// x^3/3 - 2x^5/15 + 17x^7/315 - ... (six terms: 4e-15 relative), where the
// subtraction cancels; above, the subtraction loses at most 8 of double's bits.
inline float tanh_shrink(float x) {
  const double v = x;
  if (!(std::fabs(v) < 0.1)) return static_cast<float>(v - std::tanh(v));
  const double z = v * v;
  const double p =
      1.0 / 3 +
      z * (-2.0 / 15 + z * (17.0 / 315 +
                            z * (-62.0 / 2835 + z * (1382.0 / 155925 + z * (-21844.0 / 6081075)))));
  return static_cast<float>(v * z * p);
}

// sqrt(x^2 + b), |x| sqrt(1 + (b / |x|) / |x|) beyond 2^60 where x^2 would overflow
inline float squareplus_root(float x, float b) {
  const float ax = std::fabs(x);
  return ax > 0x1p60f ? ax * std::sqrt(1.0f + b / ax / ax) : std::sqrt(x * x + b);
}

// (x + s) / 2 for x >= 0 (as x / 2 + s / 2: no overflow), (b / 2) / (s - x)
// below: the same value without the cancellation of x + s as x -> -inf
inline float squareplus(float x, float b) {
  const float s = squareplus_root(x, b);
  return x >= 0.0f ? 0.5f * x + 0.5f * s : (0.5f * b) / (s - x);
}

// (1 + x / s) / 2, as (b / 2) / (s (s - x)) for x < 0 (no cancellation);
// x / s is 1 where x == s (x = +inf; x = 0 with b = 0), not NaN
inline float squareplus_grad(float x, float b) {
  const float s = squareplus_root(x, b);
  if (x >= 0.0f) return 0.5f + 0.5f * (x == s ? 1.0f : x / s);
  return (0.5f * b) / (s * (s - x));
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
    case ActivationKind::celu:
      // x >= 0: x itself (celu(-0) = -0, as torch)
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] >= 0.0f ? x[i] : a * std::expm1(x[i] / a);
      break;
    case ActivationKind::hard_tanh:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < -1.0f ? -1.0f : (x[i] > 1.0f ? 1.0f : x[i]);
      break;
    case ActivationKind::log_sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = -softplus(-x[i]);
      break;
    case ActivationKind::soft_shrink:
      // x * 0: -0 below 0 and NaN kept, as torch
      for (int64_t i = 0; i < n; ++i)
        y[i] = x[i] > a ? x[i] - a : (x[i] < -a ? x[i] + a : x[i] * 0.0f);
      break;
    case ActivationKind::hard_shrink:
      for (int64_t i = 0; i < n; ++i) y[i] = (x[i] >= -a && x[i] <= a) ? 0.0f : x[i];
      break;
    case ActivationKind::tanh_shrink:
      for (int64_t i = 0; i < n; ++i) y[i] = tanh_shrink(x[i]);
      break;
    case ActivationKind::squareplus:
      for (int64_t i = 0; i < n; ++i) y[i] = squareplus(x[i], a);
      break;
    case ActivationKind::sparse_plus:
      for (int64_t i = 0; i < n; ++i) {
        const float t = x[i] + 1.0f;
        y[i]          = x[i] <= -1.0f ? 0.0f : (x[i] >= 1.0f ? x[i] : 0.25f * (t * t));
      }
      break;
    case ActivationKind::sparse_sigmoid:
      for (int64_t i = 0; i < n; ++i)
        y[i] = x[i] <= -1.0f ? 0.0f : (x[i] >= 1.0f ? 1.0f : 0.5f * (x[i] + 1.0f));
      break;
    case ActivationKind::relu_clipped: {
      const float m = p.max_value, t = p.threshold;
      // + 0: Keras's 0 below the threshold is +0 (a = 0 would give -0)
      for (int64_t i = 0; i < n; ++i)
        y[i] = x[i] > t ? (x[i] < m ? x[i] : m) : a * (x[i] - t) + 0.0f;
      break;
    }
    case ActivationKind::softmax:
    case ActivationKind::log_softmax:
      break;  // row-wise: softmax_forward_ref, log_softmax_forward_ref
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
    case ActivationKind::celu:  // torch's elu backward: x <= 0 ? exp(x / a) : 1 (NaN: 1)
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] <= 0.0f ? dy[i] * std::exp(x[i] / a) : dy[i];
      break;
    case ActivationKind::hard_tanh:  // torch: 0 at and beyond +-1, NaN passes dy
      for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] <= -1.0f || x[i] >= 1.0f) ? 0.0f : dy[i];
      break;
    case ActivationKind::log_sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * sigmoid(-x[i]);
      break;
    case ActivationKind::soft_shrink:  // torch: 0 on [-a, a], NaN passes dy
    case ActivationKind::hard_shrink:
      for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] >= -a && x[i] <= a) ? 0.0f : dy[i];
      break;
    case ActivationKind::tanh_shrink:
      for (int64_t i = 0; i < n; ++i) {
        const double t = std::tanh(static_cast<double>(x[i]));
        dx[i]          = dy[i] * static_cast<float>(t * t);
      }
      break;
    case ActivationKind::squareplus:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * squareplus_grad(x[i], a);
      break;
    case ActivationKind::sparse_plus:  // torch.where's: (x + 1) / 2 inside, NaN: NaN
      for (int64_t i = 0; i < n; ++i)
        dx[i] = x[i] <= -1.0f ? 0.0f : (x[i] >= 1.0f ? dy[i] : dy[i] * (0.5f * (x[i] + 1.0f)));
      break;
    case ActivationKind::sparse_sigmoid:  // torch.where's: 1/2 inside, NaN: 1/2
      for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] <= -1.0f || x[i] >= 1.0f) ? 0.0f : 0.5f * dy[i];
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
    case ActivationKind::log_softmax:
      break;  // row-wise: softmax_backward_ref, log_softmax_backward_ref
  }
}

float row_max(const float* xr, int64_t cols) {
  float m = xr[0];
  for (int64_t j = 1; j < cols; ++j) m = std::fmax(m, xr[j]);
  return m;
}

void softmax_forward_ref(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr       = y + r * cols;
    const float m   = row_max(xr, cols);
    float s         = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    const float inv = 1.0f / s;
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

// x read before y is written: y may alias x
void log_softmax_forward_ref(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr       = y + r * cols;
    const float m   = row_max(xr, cols);
    double s        = 0.0;  // float exps summed in double: log(s) stays exact to float
    for (int64_t j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
    const float l = static_cast<float>(std::log(s));
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - l;
  }
}

void log_softmax_backward_ref(float* dx, const float* dy, const float* y, int64_t rows,
                              int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * cols;
    const float* yr  = y + r * cols;
    float* dxr       = dx + r * cols;
    float sum        = 0.0f;
    for (int64_t j = 0; j < cols; ++j) sum += dyr[j];
    for (int64_t j = 0; j < cols; ++j) dxr[j] = dyr[j] - std::exp(yr[j]) * sum;
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
    log_softmax_forward_ref,
    log_softmax_backward_ref,
};

}  // namespace fastnn::ops
