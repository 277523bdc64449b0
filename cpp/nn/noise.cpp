// Portable kernels of the noise layers (nn/noise.h) and the dispatch of
// alpha_dropout_forward on the active ISA.
#include "nn/noise.h"

#include <cmath>
#include <cstring>

#include "nn/initializers.h"
#include "runtime/dispatch.h"

namespace fastnn::nn {

namespace {
// keras/src/layers/regularization/alpha_dropout.py
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

float bits_to_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

uint32_t float_to_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Cephes logf for u in [2^-24, 1] (normal floats): u = m 2^k, m in
// [sqrt(1/2), sqrt(2)), log u = k ln 2 + log1p(m - 1).
float log_poly(float u) {
  using namespace normal_poly;
  const uint32_t bits = float_to_bits(u);
  float k             = static_cast<float>(static_cast<int32_t>(bits >> 23) - 126);
  float m             = bits_to_float((bits & 0x7FFFFFu) | 0x3F000000u);  // [0.5, 1)
  float f;
  if (m < kSqrtHalf) {
    k -= 1.0f;
    f = (m + m) - 1.0f;
  } else {
    f = m - 1.0f;
  }
  const float z = f * f;
  float p       = kLog[0];
  for (int i = 1; i < 9; ++i) p = std::fma(p, f, kLog[i]);
  float y = (p * f) * z;
  y       = std::fma(kLn2Lo, k, y);
  y       = std::fma(-0.5f, z, y);
  return std::fma(kLn2Hi, k, f + y);
}

// cos(2 pi k 2^-24) for a 24-bit k: quadrant q = round(k / 2^22) (exact, in
// integers), theta = (k - q 2^22) 2^-22 pi/2 in [-pi/4, pi/4].
float cos_turns(uint32_t k) {
  using namespace normal_poly;
  const uint32_t q  = (k + (1u << 21)) >> 22;
  const float f     = static_cast<float>(static_cast<int32_t>(k - (q << 22))) * (1.0f / 4194304.0f);
  const float theta = f * kHalfPi;
  const float z     = theta * theta;
  const float ps    = std::fma(std::fma(kSin[0], z, kSin[1]), z, kSin[2]);
  const float sin_t = std::fma(ps * z, theta, theta);
  const float pc    = std::fma(std::fma(kCos[0], z, kCos[1]), z, kCos[2]);
  const float cos_t = std::fma(pc * z, z, std::fma(-0.5f, z, 1.0f));
  switch (q & 3u) {
    case 0:
      return cos_t;
    case 1:
      return -sin_t;
    case 2:
      return -cos_t;
    default:
      return sin_t;
  }
}
}  // namespace

float normal01(uint64_t key) {
  const uint64_t h = mix64(key);
  const float u1   = static_cast<float>((h >> 40) + 1) * (1.0f / 16777216.0f);
  const uint32_t k = static_cast<uint32_t>((h >> 16) & 0xFFFFFFull);
  return std::sqrt(-2.0f * log_poly(u1)) * cos_turns(k);
}

void gaussian_noise_finish(const float* noise, float* y, const float* x, int64_t begin,
                           int64_t end) {
  for (int64_t e = begin; e < end; ++e) y[e] = x[e] + noise[e];
}

void gaussian_dropout_finish(float* noise, float* y, const float* x, int64_t begin, int64_t end) {
  for (int64_t e = begin; e < end; ++e) {
    noise[e] = 1.0f + noise[e];
    y[e]     = x[e] * noise[e];
  }
}

void gaussian_noise_forward_generic(float* noise, float* y, const float* x, int64_t begin,
                                    int64_t end, uint64_t key, float stddev) {
  for (int64_t e = begin; e < end; ++e)
    noise[e] = stddev * normal01(key + static_cast<uint64_t>(e));
  gaussian_noise_finish(noise, y, x, begin, end);
}

void gaussian_dropout_forward_generic(float* noise, float* y, const float* x, int64_t begin,
                                      int64_t end, uint64_t key, float stddev) {
  for (int64_t e = begin; e < end; ++e)
    noise[e] = stddev * normal01(key + static_cast<uint64_t>(e));
  gaussian_dropout_finish(noise, y, x, begin, end);
}

void gaussian_noise_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                            uint64_t key, float stddev) {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2))
    return gaussian_noise_forward_avx2(noise, y, x, begin, end, key, stddev);
#endif
  gaussian_noise_forward_generic(noise, y, x, begin, end, key, stddev);
}

void gaussian_dropout_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                              uint64_t key, float stddev) {
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2))
    return gaussian_dropout_forward_avx2(noise, y, x, begin, end, key, stddev);
#endif
  gaussian_dropout_forward_generic(noise, y, x, begin, end, key, stddev);
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
  if (runtime::isa_at_least(runtime::Isa::avx2))
    return alpha_dropout_forward_avx2(noise, y, x, begin, end, key, rate, c);
#endif
  alpha_dropout_forward_generic(noise, y, x, begin, end, key, rate, c);
}

}  // namespace fastnn::nn
