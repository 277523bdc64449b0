// AVX2 optimizer kernels (compiled with -mavx2 -mfma): the bodies of
// optim_body.h over 8-lane registers, scalar tail with the same operations.
// FMA contraction is off (optim_body.h) so the results equal the portable
// path's bit for bit.
#include <immintrin.h>

#include <cstdint>

#include "optim/optim_body.h"
#include "optim/optim_kernels.h"

namespace fastnn::optim {

namespace {

struct Avx2Ops {
  using V                     = __m256;
  static constexpr int kWidth = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V x) { _mm256_storeu_ps(p, x); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  // 1, -1 or +0 (for either zero); NaN stays NaN: ScalarOps::sign lane by lane.
  static V sign(V a) {
    const V zero = _mm256_setzero_ps();
    const V one  = _mm256_set1_ps(1.0f);
    const V pos  = _mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_GT_OQ), one);
    const V neg  = _mm256_and_ps(_mm256_cmp_ps(a, zero, _CMP_LT_OQ), one);
    return _mm256_blendv_ps(_mm256_sub_ps(pos, neg), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  }
};

double sum_squares_avx2(const float* x, int64_t n) {
  __m256d lo         = _mm256_setzero_pd();  // lanes 0..3
  __m256d hi         = _mm256_setzero_pd();  // lanes 4..7
  const int64_t full = n / 8 * 8;
  for (int64_t i = 0; i < full; i += 8) {
    const __m256 v  = _mm256_loadu_ps(x + i);
    const __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    lo              = _mm256_add_pd(lo, _mm256_mul_pd(a, a));
    hi              = _mm256_add_pd(hi, _mm256_mul_pd(b, b));
  }
  alignas(32) double lanes[8];
  _mm256_store_pd(lanes, lo);
  _mm256_store_pd(lanes + 4, hi);
  return sum_squares_finish(lanes, x, full, n);
}

}  // namespace

const OptimKernels kOptimKernelsAvx2 = {
    sgd_kernel<Avx2Ops>,          adam_kernel<Avx2Ops>,       rmsprop_kernel<Avx2Ops>,
    adagrad_kernel<Avx2Ops>,      nadam_kernel<Avx2Ops>,      adamax_kernel<Avx2Ops>,
    lion_kernel<Avx2Ops>,         adadelta_kernel<Avx2Ops>,   ftrl_kernel<Avx2Ops>,
    lamb_moments_kernel<Avx2Ops>, lamb_apply_kernel<Avx2Ops>, schedule_free_kernel<Avx2Ops>,
    ema_kernel<Avx2Ops>,          sum_squares_avx2,
};

}  // namespace fastnn::optim
