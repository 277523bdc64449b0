// Portable kernels of the noise layers (nn/noise.h) and the dispatch of
// alpha_dropout_forward on the active ISA.
#include "nn/noise.h"

#include <cmath>

#include "nn/initializers.h"
#include "runtime/dispatch.h"

namespace fastnn::nn {

namespace {
constexpr float kTwoPi = 6.28318530717958647692f;
// keras/src/layers/regularization/alpha_dropout.py
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
}  // namespace

float normal01(uint64_t key) {
  const uint64_t h = mix64(key);
  const float u1   = static_cast<float>((h >> 40) + 1) * (1.0f / 16777216.0f);
  const float u2   = static_cast<float>((h >> 16) & 0xFFFFFFull) * (1.0f / 16777216.0f);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(kTwoPi * u2);
}

void gaussian_noise_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                            uint64_t key, float stddev) {
  for (int64_t e = begin; e < end; ++e) {
    noise[e] = stddev * normal01(key + static_cast<uint64_t>(e));
    y[e]     = x[e] + noise[e];
  }
}

void gaussian_dropout_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                              uint64_t key, float stddev) {
  for (int64_t e = begin; e < end; ++e) {
    noise[e] = 1.0f + stddev * normal01(key + static_cast<uint64_t>(e));
    y[e]     = x[e] * noise[e];
  }
}

float gaussian_dropout_stddev(double rate) {
  return static_cast<float>(std::sqrt(rate / (1.0 - rate)));
}

AlphaDropoutCoeffs alpha_dropout_coeffs(double rate) {
  const double r       = rate;
  const double alpha_p = -kSeluAlpha * kSeluScale;
  const double a       = 1.0 / std::sqrt((1.0 - r) * (1.0 + r * alpha_p * alpha_p));
  const double b       = -a * alpha_p * r;
  AlphaDropoutCoeffs c;
  c.a       = static_cast<float>(a);
  c.b       = static_cast<float>(b);
  c.dropped = c.a * static_cast<float>(alpha_p) + c.b;
  return c;
}

void alpha_dropout_forward_generic(float* noise, float* y, const float* x, int64_t begin,
                                   int64_t end, uint64_t key, float rate,
                                   const AlphaDropoutCoeffs& c) {
  for (int64_t e = begin; e < end; ++e)
    noise[e] = uniform01(key + static_cast<uint64_t>(e)) >= rate ? c.a : 0.0f;
  alpha_dropout_affine(noise, y, x, begin, end, c);
}

void alpha_dropout_affine(const float* noise, float* y, const float* x, int64_t begin, int64_t end,
                          const AlphaDropoutCoeffs& c) {
  for (int64_t e = begin; e < end; ++e) y[e] = noise[e] != 0.0f ? c.a * x[e] + c.b : c.dropped;
}

void alpha_dropout_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                           uint64_t key, float rate, const AlphaDropoutCoeffs& c) {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::active_isa() == runtime::Isa::avx2)
    return alpha_dropout_forward_avx2(noise, y, x, begin, end, key, rate, c);
#endif
  alpha_dropout_forward_generic(noise, y, x, begin, end, key, rate, c);
}

}  // namespace fastnn::nn
