// AVX2/FMA vector math for the kernels in this folder (include only from
// translation units compiled with -mavx2 -mfma). Cephes-style range reduction
// and minimax polynomials; each function is within a few ulp of the correctly
// rounded float result over its whole domain and propagates NaN.
#pragma once

#include <immintrin.h>

namespace fastnn::ops::avx2 {

inline __m256 vset(float v) { return _mm256_set1_ps(v); }

// p * 2^n for integer-valued n in [-151, 128]: p is scaled by two normal
// powers of two in turn, so that a subnormal result rounds once and p near 1
// with n = 128 stays finite.
inline __m256 scale_pow2(__m256 p, __m256 n) {
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i b  = _mm256_set1_epi32(127);
  const __m256 p1  = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, b), 23));
  const __m256 p2  = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, b), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, p1), p2);
}

// p 2^n = exp(x) for x in [-104, 88.73] or NaN (Cephes expf's range reduction
// and polynomial). NaN: n converts to INT_MIN; the product with p keeps NaN.
inline __m256 exp_reduced256(__m256 x) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, vset(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r       = _mm256_fnmadd_ps(n, vset(0.693359375f), x);
  r              = _mm256_fnmadd_ps(n, vset(-2.12194440e-4f), r);
  __m256 p       = vset(1.9875691500e-4f);
  p              = _mm256_fmadd_ps(p, r, vset(1.3981999507e-3f));
  p              = _mm256_fmadd_ps(p, r, vset(8.3334519073e-3f));
  p              = _mm256_fmadd_ps(p, r, vset(4.1665795894e-2f));
  p              = _mm256_fmadd_ps(p, r, vset(1.6666665459e-1f));
  p              = _mm256_fmadd_ps(p, r, vset(5.0000001201e-1f));
  p              = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, vset(1.0f)));
  return scale_pow2(p, n);
}

// exp(x): 0 below -103.972 = log(2^-150) (the float result rounds to 0), +inf above log(FLT_MAX).
inline __m256 exp256(__m256 x) {
  const __m256 hi = vset(88.72283935546875f);
  const __m256 lo = vset(-103.972084f);
  // max(lo, x) returns x when x is NaN (the second operand), so NaN survives.
  __m256 xc     = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
  xc            = _mm256_blendv_ps(xc, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  __m256 result = exp_reduced256(xc);
  result = _mm256_blendv_ps(result, vset(__builtin_inff()), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
  result = _mm256_blendv_ps(result, vset(0.0f), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  return result;
}

// exp(z) for z <= 0 or NaN, without exp256's range blends: z is clipped at
// -104, where the result rounds to 0; NaN survives the max (second operand).
inline __m256 exp_neg256(__m256 z) { return exp_reduced256(_mm256_max_ps(vset(-104.0f), z)); }

// exp(x) - 1, accurate near 0 (Taylor polynomial for |x| < 0.5).
inline __m256 expm1_256(__m256 x) {
  __m256 p         = vset(1.0f / 362880.0f);
  p                = _mm256_fmadd_ps(p, x, vset(1.0f / 40320.0f));
  p                = _mm256_fmadd_ps(p, x, vset(1.0f / 5040.0f));
  p                = _mm256_fmadd_ps(p, x, vset(1.0f / 720.0f));
  p                = _mm256_fmadd_ps(p, x, vset(1.0f / 120.0f));
  p                = _mm256_fmadd_ps(p, x, vset(1.0f / 24.0f));
  p                = _mm256_fmadd_ps(p, x, vset(1.0f / 6.0f));
  p                = _mm256_fmadd_ps(p, x, vset(0.5f));
  p                = _mm256_fmadd_ps(_mm256_mul_ps(p, x), x, x);
  const __m256 big = _mm256_sub_ps(exp256(x), vset(1.0f));
  const __m256 ax  = _mm256_andnot_ps(vset(-0.0f), x);
  return _mm256_blendv_ps(big, p, _mm256_cmp_ps(ax, vset(0.5f), _CMP_LT_OQ));
}

// log(x) for x > 0 normal (Cephes logf); x <= 0 or subnormal are not used by
// the callers (they clip first).
inline __m256 log256(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e =
      _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  __m256 m           = _mm256_castsi256_ps(_mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
  const __m256 small = _mm256_cmp_ps(m, vset(0.707106781186547524f), _CMP_LT_OQ);
  e                  = _mm256_sub_ps(e, _mm256_and_ps(vset(1.0f), small));
  m                  = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(m, small)), vset(1.0f));
  const __m256 z     = _mm256_mul_ps(m, m);
  __m256 y           = vset(7.0376836292e-2f);
  y                  = _mm256_fmadd_ps(y, m, vset(-1.1514610310e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(1.1676998740e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(-1.2420140846e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(1.4249322787e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(-1.6668057665e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(2.0000714765e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(-2.4999993993e-1f));
  y                  = _mm256_fmadd_ps(y, m, vset(3.3333331174e-1f));
  y                  = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
  y                  = _mm256_fmadd_ps(e, vset(-2.12194440e-4f), y);
  y                  = _mm256_fnmadd_ps(vset(0.5f), z, y);
  __m256 r           = _mm256_add_ps(m, y);
  r                  = _mm256_fmadd_ps(e, vset(0.693359375f), r);
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// log(1 + u) for u >= 0 (u = exp(-|x|) in softplus): log(w) * u / (w - 1)
// with w = 1 + u corrects the rounding of w; u where w == 1.
inline __m256 log1p_pos256(__m256 u) {
  const __m256 w   = _mm256_add_ps(vset(1.0f), u);
  const __m256 wm1 = _mm256_sub_ps(w, vset(1.0f));
  const __m256 eq  = _mm256_cmp_ps(wm1, vset(0.0f), _CMP_EQ_OQ);
  const __m256 r =
      _mm256_div_ps(_mm256_mul_ps(log256(w), u), _mm256_blendv_ps(wm1, vset(1.0f), eq));
  return _mm256_blendv_ps(r, u, eq);
}

// 1 / (1 + exp(-x)), stable for any x: e = exp(-|x|), s = 1 / (1 + e),
// x >= 0 ? s : e * s.
inline __m256 sigmoid256(__m256 x) {
  const __m256 ax = _mm256_andnot_ps(vset(-0.0f), x);
  const __m256 e  = exp256(_mm256_sub_ps(vset(0.0f), ax));
  const __m256 s  = _mm256_div_ps(vset(1.0f), _mm256_add_ps(vset(1.0f), e));
  return _mm256_blendv_ps(_mm256_mul_ps(e, s), s, _mm256_cmp_ps(x, vset(0.0f), _CMP_GE_OQ));
}

// tanh(x) (Cephes tanhf): odd polynomial for |x| < 0.625, else
// sign(x) * (1 - 2 / (exp(2|x|) + 1)).
inline __m256 tanh256(__m256 x) {
  const __m256 sign   = _mm256_and_ps(vset(-0.0f), x);
  const __m256 ax     = _mm256_andnot_ps(vset(-0.0f), x);
  const __m256 z      = _mm256_mul_ps(x, x);
  __m256 p            = vset(-5.70498872745e-3f);
  p                   = _mm256_fmadd_ps(p, z, vset(2.06390887954e-2f));
  p                   = _mm256_fmadd_ps(p, z, vset(-5.37397155531e-2f));
  p                   = _mm256_fmadd_ps(p, z, vset(1.33314422036e-1f));
  p                   = _mm256_fmadd_ps(p, z, vset(-3.33332819422e-1f));
  const __m256 smallr = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 e      = exp256(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(vset(1.0f), _mm256_div_ps(vset(2.0f), _mm256_add_ps(e, vset(1.0f))));
  big        = _mm256_or_ps(big, sign);
  return _mm256_blendv_ps(big, smallr, _mm256_cmp_ps(ax, vset(0.625f), _CMP_LT_OQ));
}

// Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2 and density
// phi(x) = exp(-x^2 / 2) / sqrt(2 pi), from parts shared by both, with x
// clipped to [-15, 15] (beyond, phi is 0 and Phi is 0 or 1 in float):
//   e = exp(-hi / 2), where hi + lo = x^2 exactly (FMA), and
//   c = 1 - lo / 2 ~ exp(-lo / 2), so that the exponent keeps full accuracy;
//   erfc(|x| / sqrt 2) / 2 = m e, m = c R(|x|) / 2, with
//   R(a) = erfc(a / sqrt 2) exp(a^2 / 2) ~ t P(t - tm), t = 1 / (1 + 0.4 a),
//   P of degree 9 in u = t - tm (relative minimax on a in [0, 14.5] by
//   Lawson-weighted least squares in float64: 1.5e-8; 4 * 2^-24 as the float
//   code below evaluates it, the roundings of t included);
//   phi(x) = k e, k = c / sqrt(2 pi).
// Phi(x) = m e for x <= 0 keeps full relative accuracy in the lower tail, and
// 1 - m e above does not cancel (m e <= 1/2). One exponential, one division.
struct NormalParts {
  __m256 m, e, k;
};

inline NormalParts normal_parts256(__m256 x) {
  // min(15, x) and max(-15, .) return x when x is NaN (the second operand)
  const __m256 xc = _mm256_max_ps(vset(-15.0f), _mm256_min_ps(vset(15.0f), x));
  const __m256 a  = _mm256_andnot_ps(vset(-0.0f), xc);
  const __m256 hi = _mm256_mul_ps(xc, xc);
  const __m256 lo = _mm256_fmsub_ps(xc, xc, hi);
  const __m256 t  = _mm256_div_ps(vset(1.0f), _mm256_fmadd_ps(vset(0.4f), a, vset(1.0f)));
  const __m256 u  = _mm256_sub_ps(t, vset(0.5735294222831726f));
  __m256 p        = vset(6.441642344e-02f);
  p               = _mm256_fmadd_ps(p, u, vset(-2.103658952e-02f));
  p               = _mm256_fmadd_ps(p, u, vset(-9.498914331e-02f));
  p               = _mm256_fmadd_ps(p, u, vset(8.563703299e-02f));
  p               = _mm256_fmadd_ps(p, u, vset(8.884496242e-02f));
  p               = _mm256_fmadd_ps(p, u, vset(-1.852837205e-01f));
  p               = _mm256_fmadd_ps(p, u, vset(-1.176338643e-01f));
  p               = _mm256_fmadd_ps(p, u, vset(4.027316272e-01f));
  p               = _mm256_fmadd_ps(p, u, vset(7.547340393e-01f));
  p               = _mm256_fmadd_ps(p, u, vset(6.186019182e-01f));
  const __m256 hc = _mm256_fnmadd_ps(vset(0.25f), lo, vset(0.5f));  // c / 2
  NormalParts r;
  r.m = _mm256_mul_ps(_mm256_mul_ps(t, p), hc);
  r.e = exp_neg256(_mm256_mul_ps(vset(-0.5f), hi));
  r.k = _mm256_fnmadd_ps(vset(0.5f * 0.3989422804014327f), lo, vset(0.3989422804014327f));
  return r;
}

// Horizontal reductions in a fixed lane order.
inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s        = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s        = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
inline float hmax256(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s        = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s        = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

}  // namespace fastnn::ops::avx2
