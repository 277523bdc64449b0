// alpha_dropout_forward for AVX2 (compiled with -mavx2 -mfma): the keep mask
// from avx2::uniform01_x8 (bit-identical to uniform01) eight lanes at a time,
// then the affine step in the generic translation unit (alpha_dropout_affine),
// where a * x + b is never contracted to an FMA: outputs equal the generic
// path's bit for bit.
#include <immintrin.h>

#include "nn/avx2/mix64_avx2.h"
#include "nn/noise.h"

namespace fastnn::nn {

void alpha_dropout_forward_avx2(float* noise, float* y, const float* x, int64_t begin, int64_t end,
                                uint64_t key, float rate, const AlphaDropoutCoeffs& c) {
  const __m256 vrate = _mm256_set1_ps(rate);
  const __m256 va    = _mm256_set1_ps(c.a);
  int64_t e          = begin;
  for (; e + 8 <= end; e += 8) {
    const __m256 u = avx2::uniform01_x8(key, e);
    _mm256_storeu_ps(noise + e, _mm256_and_ps(_mm256_cmp_ps(u, vrate, _CMP_GE_OQ), va));
  }
  alpha_dropout_affine(noise, y, x, begin, e, c);
  alpha_dropout_forward_generic(noise, y, x, e, end, key, rate, c);
}

}  // namespace fastnn::nn
