// Weight initializers (keras.initializers), deterministic from a seed.
//
//   zeros, ones, constant(a)
//   random_normal(mean a, stddev b)         N(a, b^2)
//   random_uniform(minval a, maxval b)      U(a, b)
//   truncated_normal(mean a, stddev b)      N(a, b^2) redrawn until within 2 stddev
//   glorot_uniform  U(+-sqrt(6 / (fan_in + fan_out)))
//   he_uniform      U(+-sqrt(6 / fan_in))
//   lecun_uniform   U(+-sqrt(3 / fan_in))
//   glorot_normal   truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / .87962566103423978
//   he_normal       truncated normal, stddev sqrt(2 / fan_in) / .87962566103423978
//   lecun_normal    truncated normal, stddev sqrt(1 / fan_in) / .87962566103423978
// (Keras VarianceScaling: the constant corrects the variance of a normal
// truncated at two standard deviations.)
//
// Element i is a pure function of (seed, i): counter-based random numbers
// (SplitMix64 finalizer), so the values do not depend on threads or on how
// the tensor is split. Keras's own random stream is not reproduced.
#pragma once

#include <cstdint>
#include <string>

namespace fastnn::nn {

enum class InitKind : int {
  zeros = 0,
  ones,
  constant,
  random_normal,
  random_uniform,
  truncated_normal,
  glorot_uniform,
  glorot_normal,
  he_uniform,
  he_normal,
  lecun_uniform,
  lecun_normal,
};

// Keras ids ("glorot_uniform", "GlorotUniform", "he_normal", ...). Throws
// std::invalid_argument naming the valid ids.
InitKind init_from_name(const std::string& name);

// Fills out[0..n). `a`, `b`: the parameters listed above (ignored otherwise).
void initialize(InitKind kind, float* out, int64_t n, int64_t fan_in, int64_t fan_out,
                uint64_t seed, double a = 0.0, double b = 0.0);

// Counter-based random numbers shared with dropout.
uint64_t mix64(uint64_t x);
// Uniform in [0, 1) from the top 24 bits of mix64(key).
inline float uniform01(uint64_t key) {
  return static_cast<float>(mix64(key) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace fastnn::nn
