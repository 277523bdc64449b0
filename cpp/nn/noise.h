// The network engine's noise layers (Keras 3's GaussianNoise, GaussianDropout
// and AlphaDropout) over elements [begin, end) of a layer's rows x width
// activations, training mode only (inference is the identity):
//   gaussian_noise    noise[e] = stddev * z[e],          y[e] = x[e] + noise[e]
//   gaussian_dropout  noise[e] = 1 + stddev * z[e],      y[e] = x[e] * noise[e]
//                     (stddev = sqrt(rate / (1 - rate)), computed by the caller)
//   alpha_dropout     kept = uniform01(key + e) >= rate (as dropout.h's mask),
//                     noise[e] = kept ? a : 0,
//                     y[e] = kept ? a * x[e] + b : a * alpha_p + b
//                     with alpha_p = -selu_alpha * selu_scale,
//                     a = ((1 - rate) (1 + rate alpha_p^2))^-1/2, b = -a alpha_p rate
//                     (keras/src/layers/regularization/alpha_dropout.py; a, b
//                     computed in double, rounded to float once; a * alpha_p + b
//                     in float as Keras's float32 tensors).
// Backward: dx = dy for gaussian_noise, dx = dy * noise for the others:
// `noise` is what the layer keeps for it (dropout.h's mask).
//
// z[e] = normal01(key + e), a standard normal variate from ONE counter-based
// hash (nn/initializers.h's mix64): Box-Muller in float on two 24-bit
// uniforms u1 in (0, 1], u2 in [0, 1):  z = sqrt(-2 log u1) cos(2 pi u2).
// |z| <= sqrt(-2 log 2^-24) = 5.77 (the normal's mass beyond is 8e-9). Like
// dropout's mask, a value depends on (key, e) only: not on the thread count,
// the chunking or the ISA (there is one portable kernel).
#pragma once

#include <cstdint>

namespace fastnn::nn {

float normal01(uint64_t key);

void gaussian_noise_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                            uint64_t key, float stddev);
void gaussian_dropout_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                              uint64_t key, float stddev);
// Keras's AlphaDropout constants for `rate` (in [0, 1), the user's double, as
// Keras computes them from a Python float): a, b and a * alpha_p + b.
struct AlphaDropoutCoeffs {
  float a, b, dropped;
};
AlphaDropoutCoeffs alpha_dropout_coeffs(double rate);
// GaussianDropout's stddev sqrt(rate / (1 - rate)), from the double rate.
float gaussian_dropout_stddev(double rate);

// `rate` (float) is compared with the uniforms, as Keras's float32 tensors;
// `c` = alpha_dropout_coeffs(rate as a double). Dispatches on the active ISA:
// the AVX2 kernel draws the mask eight lanes at a time (bit-identical).
void alpha_dropout_forward(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                           uint64_t key, float rate, const AlphaDropoutCoeffs& c);

// The per-ISA kernels (noise.cpp, avx2/noise_avx2.cpp), and the affine step
// y[e] = noise[e] != 0 ? a * x[e] + b : dropped over [begin, end) that the
// AVX2 kernel leaves to this (non-FMA) translation unit, so that a * x + b
// rounds twice on every path, as Keras's float32 ops.
void alpha_dropout_forward_generic(float* noise, float* y, const float* x, int64_t begin,
                                   int64_t end, uint64_t key, float rate,
                                   const AlphaDropoutCoeffs& c);
void alpha_dropout_affine(const float* noise, float* y, const float* x, int64_t begin, int64_t end,
                          const AlphaDropoutCoeffs& c);
#if defined(FASTNN_HAVE_AVX2)
void alpha_dropout_forward_avx2(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                                uint64_t key, float rate, const AlphaDropoutCoeffs& c);
#endif

}  // namespace fastnn::nn
