// The noise layers' kernels for AVX2 (compiled with -mavx2 -mfma), each
// bit-identical to its generic twin in nn/noise.cpp:
//   alpha_dropout: the keep mask from avx2::uniform01_x8 (= uniform01),
//   gaussian_*:    normal01 on eight lanes, step for step the generic one
//                  (the same integer steps, the same correctly rounded float
//                  operations, the generic std::fma as vfmadd; no multiply
//                  feeds a plain add, so nothing is contracted differently).
// The last steps (a * x + b, x + noise, 1 + noise) run in the generic
// translation unit (alpha_dropout_affine, gaussian_*_finish), where no
// multiply-add can be contracted to an FMA.
#include <immintrin.h>

#include "nn/avx2/mix64_avx2.h"
#include "nn/noise.h"

namespace fastnn::nn {

namespace {

inline __m256 vset(float v) { return _mm256_set1_ps(v); }

// log_poly (noise.cpp) on eight lanes.
inline __m256 log_poly8(__m256 u) {
  using namespace normal_poly;
  const __m256i bits = _mm256_castps_si256(u);
  const __m256 k0 =
      _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  const __m256 m     = _mm256_castsi256_ps(_mm256_or_si256(
          _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFF)), _mm256_set1_epi32(0x3F000000)));
  const __m256 small = _mm256_cmp_ps(m, vset(kSqrtHalf), _CMP_LT_OQ);
  const __m256 k     = _mm256_blendv_ps(k0, _mm256_sub_ps(k0, vset(1.0f)), small);
  const __m256 f     = _mm256_blendv_ps(_mm256_sub_ps(m, vset(1.0f)),
                                        _mm256_sub_ps(_mm256_add_ps(m, m), vset(1.0f)), small);
  const __m256 z     = _mm256_mul_ps(f, f);
  __m256 p           = vset(kLog[0]);
  for (int i = 1; i < 9; ++i) p = _mm256_fmadd_ps(p, f, vset(kLog[i]));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  y        = _mm256_fmadd_ps(vset(kLn2Lo), k, y);
  y        = _mm256_fmadd_ps(vset(-0.5f), z, y);
  return _mm256_fmadd_ps(vset(kLn2Hi), k, _mm256_add_ps(f, y));
}

// cos_turns (noise.cpp) on eight 24-bit integers.
inline __m256 cos_turns8(__m256i k) {
  using namespace normal_poly;
  const __m256i q    = _mm256_srli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(1 << 21)), 22);
  const __m256i fi   = _mm256_sub_epi32(k, _mm256_slli_epi32(q, 22));
  const __m256 f     = _mm256_mul_ps(_mm256_cvtepi32_ps(fi), vset(1.0f / 4194304.0f));
  const __m256 theta = _mm256_mul_ps(f, vset(kHalfPi));
  const __m256 z     = _mm256_mul_ps(theta, theta);
  const __m256 ps =
      _mm256_fmadd_ps(_mm256_fmadd_ps(vset(kSin[0]), z, vset(kSin[1])), z, vset(kSin[2]));
  const __m256 sin_t = _mm256_fmadd_ps(_mm256_mul_ps(ps, z), theta, theta);
  const __m256 pc =
      _mm256_fmadd_ps(_mm256_fmadd_ps(vset(kCos[0]), z, vset(kCos[1])), z, vset(kCos[2]));
  const __m256 cos_t =
      _mm256_fmadd_ps(_mm256_mul_ps(pc, z), z, _mm256_fmadd_ps(vset(-0.5f), z, vset(1.0f)));
  // q & 3 = 0: cos, 1: -sin, 2: -cos, 3: sin
  const __m256i q3 = _mm256_and_si256(q, _mm256_set1_epi32(3));
  const __m256 odd = _mm256_castsi256_ps(
      _mm256_cmpeq_epi32(_mm256_and_si256(q3, _mm256_set1_epi32(1)), _mm256_set1_epi32(1)));
  const __m256 neg = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_cmpeq_epi32(q3, _mm256_set1_epi32(1)), _mm256_cmpeq_epi32(q3, _mm256_set1_epi32(2))));
  const __m256 v   = _mm256_blendv_ps(cos_t, sin_t, odd);
  return _mm256_xor_ps(v, _mm256_and_ps(neg, vset(-0.0f)));
}

// stddev * normal01(key + e + j), j = 0..7.
inline __m256 scaled_normal8(uint64_t key, int64_t e, __m256 vstd) {
  __m256i lo, hi;
  avx2::mix64_x8(key, e, &lo, &hi);
  const __m256i top    = avx2::low_dwords_x8(_mm256_srli_epi64(lo, 40), _mm256_srli_epi64(hi, 40));
  const __m256i mask24 = _mm256_set1_epi64x(0xFFFFFF);
  const __m256i k      = avx2::low_dwords_x8(_mm256_and_si256(_mm256_srli_epi64(lo, 16), mask24),
                                             _mm256_and_si256(_mm256_srli_epi64(hi, 16), mask24));
  const __m256 u1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(top, _mm256_set1_epi32(1))),
                                  vset(1.0f / 16777216.0f));
  const __m256 r  = _mm256_sqrt_ps(_mm256_mul_ps(vset(-2.0f), log_poly8(u1)));
  return _mm256_mul_ps(vstd, _mm256_mul_ps(r, cos_turns8(k)));
}

}  // namespace

void gaussian_noise_forward_avx2(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                                 uint64_t key, float stddev) {
  const __m256 vstd = vset(stddev);
  int64_t e         = begin;
  for (; e + 8 <= end; e += 8) _mm256_storeu_ps(noise + e, scaled_normal8(key, e, vstd));
  gaussian_noise_finish(noise, y, x, begin, e);
  gaussian_noise_forward_generic(noise, y, x, e, end, key, stddev);
}

void gaussian_dropout_forward_avx2(float* noise, float* y, const float* x, int64_t begin,
                                   int64_t end, uint64_t key, float stddev) {
  const __m256 vstd = vset(stddev);
  int64_t e         = begin;
  for (; e + 8 <= end; e += 8) _mm256_storeu_ps(noise + e, scaled_normal8(key, e, vstd));
  gaussian_dropout_finish(noise, y, x, begin, e);
  gaussian_dropout_forward_generic(noise, y, x, e, end, key, stddev);
}

void alpha_dropout_forward_avx2(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                                uint64_t key, float rate, const AlphaDropoutCoeffs& c) {
  const __m256 vrate = vset(rate);
  const __m256 va    = vset(c.a);
  int64_t e          = begin;
  for (; e + 8 <= end; e += 8) {
    const __m256 u = avx2::uniform01_x8(key, e);
    _mm256_storeu_ps(noise + e, _mm256_and_ps(_mm256_cmp_ps(u, vrate, _CMP_GE_OQ), va));
  }
  alpha_dropout_affine(noise, y, x, begin, e, c);
  alpha_dropout_forward_generic(noise, y, x, e, end, key, rate, c);
}

}  // namespace fastnn::nn
