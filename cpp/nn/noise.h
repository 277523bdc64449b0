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
// hash h = mix64(key + e) (nn/initializers.h): Box-Muller in float on two
// 24-bit uniforms, u1 = (h[63:40] + 1) 2^-24 in (0, 1] and u2 = h[39:16]
// 2^-24 in [0, 1):  z = sqrt(-2 log u1) cos(2 pi u2).
// |z| <= sqrt(-2 log 2^-24) = 5.77 (the normal's mass beyond is 8e-9).
// log and cos are Cephes's float polynomials (logf; sinf/cosf on
// [-pi/4, pi/4] after an exact integer quadrant reduction of u2), every
// multiply-add an explicit fused one (std::fma / vfmadd): with sqrt, all
// steps are correctly rounded IEEE operations, so the generic and AVX2
// kernels give the same bits; the value is within a few float ulps of the
// exact formula. Like dropout's mask, a value depends on (key, e) only: not
// on the thread count, the chunking or the ISA.
#pragma once

#include <cstdint>

namespace fastnn::nn {

float normal01(uint64_t key);

// The polynomials' coefficients (Cephes logf, sinf, cosf), shared by the kernels.
namespace normal_poly {
constexpr float kSqrtHalf = 0.707106781186547524f;
constexpr float kLog[9]   = {7.0376836292E-2f,  -1.1514610310E-1f, 1.1676998740E-1f,
                             -1.2420140846E-1f, 1.4249322787E-1f,  -1.6668057665E-1f,
                             2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kSin[3] = {-1.9515295891E-4f, 8.3321608736E-3f, -1.6666654611E-1f};
constexpr float kCos[3] = {2.443315711809948E-005f, -1.388731625493765E-003f,
                           4.166664568298827E-002f};
constexpr float kHalfPi = 1.57079632679489661923f;
}  // namespace normal_poly

// The kernels' last steps over [begin, end), in this (non-FMA) translation
// unit so that every ISA rounds them alike; `noise` holds stddev * z on entry.
//   gaussian_noise_finish:    y = x + noise
//   gaussian_dropout_finish:  noise = 1 + noise, y = x * noise
void gaussian_noise_finish(const float* noise, float* y, const float* x, int64_t begin,
                           int64_t end);
void gaussian_dropout_finish(float* noise, float* y, const float* x, int64_t begin, int64_t end);
// The portable kernels (the dispatching ones above pick them or the AVX2 twins).
void gaussian_noise_forward_generic(float* noise, float* y, const float* x, int64_t begin,
                                    int64_t end, uint64_t key, float stddev);
void gaussian_dropout_forward_generic(float* noise, float* y, const float* x, int64_t begin,
                                      int64_t end, uint64_t key, float stddev);
#if defined(FASTNN_HAVE_AVX2)
void gaussian_noise_forward_avx2(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                                 uint64_t key, float stddev);
void gaussian_dropout_forward_avx2(float* noise, float* y, const float* x, int64_t begin,
                                   int64_t end, uint64_t key, float stddev);
#endif

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
