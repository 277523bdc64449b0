// AVX-512F optimizer kernels (compiled with -mavx512f): the bodies of
// optim_body.h over 16-lane registers, scalar tail with the same operations.
// FMA contraction is off (optim_body.h) so the results equal the portable
// path's bit for bit.
// An optimizer step is a stream over the parameters with one division and one
// square root per element for most kinds: twice the lanes per instruction
// halve its instruction count where the core has full-width AVX-512 units.
// GCC 12's avx512fintrin.h passes _mm512_undefined_*() as the unused source
// of several intrinsics (max, extract, convert), which -Wmaybe-uninitialized
// reports where they are inlined (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "optim/optim_body.h"
#include "optim/optim_kernels.h"

namespace fastnn::optim {

namespace {

struct Avx512Ops {
  using V                     = __m512;
  static constexpr int kWidth = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V x) { _mm512_storeu_ps(p, x); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  // vminps/vmaxps: the second operand when unordered, as ScalarOps.
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V abs(V a) { return _mm512_abs_ps(a); }
  // 1, -1 or +0 (for either zero); NaN stays NaN: ScalarOps::sign lane by lane.
  static V sign(V a) {
    const V zero           = _mm512_setzero_ps();
    const __mmask16 pos    = _mm512_cmp_ps_mask(a, zero, _CMP_GT_OQ);
    const __mmask16 neg    = _mm512_cmp_ps_mask(a, zero, _CMP_LT_OQ);
    const __mmask16 is_nan = _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    V s                    = _mm512_mask_blend_ps(pos, zero, _mm512_set1_ps(1.0f));
    s                      = _mm512_mask_blend_ps(neg, s, _mm512_set1_ps(-1.0f));
    return _mm512_mask_blend_ps(is_nan, s, a);
  }
};

// Lane j (0..7) sums x[i]^2 for i % 8 == j in index order, as the other
// paths do (optim_kernels.h): the low and high halves of each 16-float load
// are added to the same eight double lanes one after the other.
double sum_squares_avx512(const float* x, int64_t n) {
  __m512d lanes8     = _mm512_setzero_pd();
  const int64_t full = n / 8 * 8;
  int64_t i          = 0;
  for (; i + 16 <= full; i += 16) {
    const __m512 v  = _mm512_loadu_ps(x + i);
    const __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d b =
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    lanes8 = _mm512_add_pd(lanes8, _mm512_mul_pd(a, a));
    lanes8 = _mm512_add_pd(lanes8, _mm512_mul_pd(b, b));
  }
  if (i < full) {  // one more block of 8
    const __m512d a = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
    lanes8          = _mm512_add_pd(lanes8, _mm512_mul_pd(a, a));
  }
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, lanes8);
  return sum_squares_finish(lanes, x, full, n);
}

}  // namespace

const OptimKernels kOptimKernelsAvx512 = {
    sgd_kernel<Avx512Ops>,          adam_kernel<Avx512Ops>,       rmsprop_kernel<Avx512Ops>,
    adagrad_kernel<Avx512Ops>,      nadam_kernel<Avx512Ops>,      adamax_kernel<Avx512Ops>,
    lion_kernel<Avx512Ops>,         adadelta_kernel<Avx512Ops>,   ftrl_kernel<Avx512Ops>,
    lamb_moments_kernel<Avx512Ops>, lamb_apply_kernel<Avx512Ops>, schedule_free_kernel<Avx512Ops>,
    ema_kernel<Avx512Ops>,          sum_squares_avx512,
};

}  // namespace fastnn::optim
