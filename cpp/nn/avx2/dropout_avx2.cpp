// dropout_forward for AVX2 (compiled with -mavx2 -mfma): eight uniforms per
// step from avx2::uniform01_x8 (nn/avx2/mix64_avx2.h, bit-identical to
// uniform01), then the generic path's float steps (compare, multiply), so the
// masks and outputs equal it bit for bit. About 2 cycles per element, against
// ~16 for the scalar path.
#include <immintrin.h>

#include "nn/avx2/mix64_avx2.h"
#include "nn/dropout.h"

namespace fastnn::nn {

void dropout_forward_avx2(float* mask, float* y, const float* x, int64_t begin, int64_t end,
                          uint64_t key, float rate, float scale) {
  const __m256 vrate  = _mm256_set1_ps(rate);
  const __m256 vscale = _mm256_set1_ps(scale);
  int64_t e           = begin;
  for (; e + 8 <= end; e += 8) {
    const __m256 u = avx2::uniform01_x8(key, e);
    const __m256 m = _mm256_and_ps(_mm256_cmp_ps(u, vrate, _CMP_GE_OQ), vscale);
    _mm256_storeu_ps(mask + e, m);
    _mm256_storeu_ps(y + e, _mm256_mul_ps(_mm256_loadu_ps(x + e), m));
  }
  dropout_forward_generic(mask, y, x, e, end, key, rate, scale);
}

}  // namespace fastnn::nn
