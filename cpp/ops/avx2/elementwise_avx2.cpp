// AVX2 elementwise kernels (compiled with -mavx2 -mfma). Vector body of 8
// lanes, scalar tail that mirrors it.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops/elementwise.h"

namespace fastnn::ops {

namespace {

// NaN handling matches the reference and torch.relu: x < 0 and x <= 0 are false
// for NaN, so relu(NaN) = NaN and its gradient passes dy.
void relu_forward_avx2(float* y, const float* x, int64_t n) {
  const __m256 vzero = _mm256_setzero_ps();
  int64_t i          = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vx       = _mm256_loadu_ps(x + i);
    const __m256 negative = _mm256_cmp_ps(vx, vzero, _CMP_LT_OQ);
    _mm256_storeu_ps(y + i, _mm256_andnot_ps(negative, vx));
  }
  for (; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward_avx2(float* dx, const float* dy, const float* x, int64_t n) {
  const __m256 vzero = _mm256_setzero_ps();
  int64_t i          = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 blocked = _mm256_cmp_ps(_mm256_loadu_ps(x + i), vzero, _CMP_LE_OQ);
    _mm256_storeu_ps(dx + i, _mm256_andnot_ps(blocked, _mm256_loadu_ps(dy + i)));
  }
  for (; i < n; ++i) dx[i] = x[i] <= 0.0f ? 0.0f : dy[i];
}

// exp of 2 x 4 doubles in [-708, 709] (2^k * exp(r), k = round(x / ln 2),
// |r| <= ln 2 / 2 reduced with fdlibm's two-part ln 2 by FMA, exp(r) by its
// degree-13 Taylor polynomial: truncation below 1e-17 relative, Horner
// rounding about one ulp). Two vectors in one body so that their two chains of
// 14 dependent FMAs overlap. Lanes outside that range, NaN among them, are the
// caller's.
inline void exp_in_range(__m256d x[2]) {
  const __m256d shifter                   = _mm256_set1_pd(6755399441055744.0);  // 1.5 * 2^52
  static constexpr double kInvFactorial[] = {1.0 / 6227020800.0,
                                             1.0 / 479001600.0,
                                             1.0 / 39916800.0,
                                             1.0 / 3628800.0,
                                             1.0 / 362880.0,
                                             1.0 / 40320.0,
                                             1.0 / 5040.0,
                                             1.0 / 720.0,
                                             1.0 / 120.0,
                                             1.0 / 24.0,
                                             1.0 / 6.0,
                                             0.5,
                                             1.0,
                                             1.0};  // 1/13! .. 1/0!
  __m256d t[2], r[2], p[2];
  for (int q = 0; q < 2; ++q) {
    t[q]            = _mm256_fmadd_pd(x[q], _mm256_set1_pd(1.4426950408889634074), shifter);
    const __m256d k = _mm256_sub_pd(t[q], shifter);  // round(x / ln 2), ties to even
    r[q]            = _mm256_fnmadd_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), x[q]);
    r[q]            = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r[q]);
    p[q]            = _mm256_set1_pd(kInvFactorial[0]);
  }
  for (int i = 1; i < 14; ++i)
    for (int q = 0; q < 2; ++q)
      p[q] = _mm256_fmadd_pd(p[q], r[q], _mm256_set1_pd(kInvFactorial[i]));
  for (int q = 0; q < 2; ++q) {
    // t's low bits hold k: 2^k from the exponent field (k in [-1021, 1023]).
    const __m256i ki = _mm256_sub_epi64(_mm256_castpd_si256(t[q]), _mm256_castpd_si256(shifter));
    const __m256d two_k =
        _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(ki, _mm256_set1_epi64x(1023)), 52));
    x[q] = _mm256_mul_pd(p[q], two_k);
  }
}

// Two floats at x (any alignment) in the low lanes, zeros above.
inline __m128 load_two(const float* x) {
  int64_t bits;
  std::memcpy(&bits, x, sizeof(bits));
  return _mm_castsi128_ps(_mm_cvtsi64_si128(bits));
}

// x[0 .. count) as doubles, zeros after (count in [1, 4]), reading nothing
// past them.
inline __m256d load_first_as_double(const float* x, int64_t count) {
  __m128 v;
  switch (count) {
    case 1:
      v = _mm_load_ss(x);
      break;
    case 2:
      v = load_two(x);
      break;
    case 3:
      v = _mm_movelh_ps(load_two(x), _mm_load_ss(x + 2));
      break;
    default:
      v = _mm_loadu_ps(x);
  }
  return _mm256_cvtps_pd(v);
}

// Eight values at a time (the last group zero-padded); a group with a value
// outside [-708, 709] (a subnormal or overflowing result, NaN, an infinity)
// takes std::exp for all its values.
void exp_shifted_avx2(double* out, const float* x, double m, int64_t n) {
  const __m256d vm = _mm256_set1_pd(m);
  const __m256d lo = _mm256_set1_pd(-708.0), hi = _mm256_set1_pd(709.0);
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t count = n - i < 8 ? n - i : 8;
    __m256d v[2];
    bool all_inside = true;
    for (int q = 0; q < 2; ++q) {
      const int64_t part = std::min<int64_t>(std::max<int64_t>(count - 4 * q, 0), 4);
      // a group of 4 or fewer: the second vector is all padding (its pointer
      // would point past the row)
      const __m256d loaded =
          part > 0 ? load_first_as_double(x + i + 4 * q, part) : _mm256_setzero_pd();
      v[q] = _mm256_sub_pd(loaded, vm);
      const __m256d in =
          _mm256_and_pd(_mm256_cmp_pd(v[q], lo, _CMP_GE_OQ), _mm256_cmp_pd(v[q], hi, _CMP_LE_OQ));
      const int valid = (1 << part) - 1;  // lanes past count are padding: they do not decide
      all_inside      = all_inside && (valid & ~_mm256_movemask_pd(in)) == 0;
    }
    if (!all_inside) {
      for (int64_t j = 0; j < count; ++j) out[i + j] = std::exp(static_cast<double>(x[i + j]) - m);
      continue;
    }
    exp_in_range(v);
    if (count == 8) {
      _mm256_storeu_pd(out + i, v[0]);
      _mm256_storeu_pd(out + i + 4, v[1]);
    } else {
      alignas(32) double values[8];
      _mm256_store_pd(values, v[0]);
      _mm256_store_pd(values + 4, v[1]);
      for (int64_t j = 0; j < count; ++j) out[i + j] = values[j];
    }
  }
}

// Four vectors a step, their exponent fields compared with all ones and the
// masks OR-ed together; then single vectors, and the last 0-7 elements by the
// portable kernel (the same test).
bool all_finite_avx2(const float* x, int64_t n) {
  const __m256i exponent = _mm256_set1_epi32(0x7f800000);
  __m256i bad            = _mm256_setzero_si256();
  auto test              = [&](int64_t i) {
    const __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    return _mm256_cmpeq_epi32(_mm256_and_si256(u, exponent), exponent);
  };
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_or_si256(test(i), test(i + 8)),
                                               _mm256_or_si256(test(i + 16), test(i + 24))));
  for (; i + 8 <= n; i += 8) bad = _mm256_or_si256(bad, test(i));
  return _mm256_testz_si256(bad, bad) && kElementwiseKernelsGeneric.all_finite(x + i, n - i);
}

}  // namespace

const ElementwiseKernels kElementwiseKernelsAvx2 = {
    relu_forward_avx2,
    relu_backward_avx2,
    exp_shifted_avx2,
    all_finite_avx2,
};

}  // namespace fastnn::ops
