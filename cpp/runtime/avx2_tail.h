// Partial-vector stores for AVX2 kernels (include only from translation units
// compiled with -mavx2).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fastnn::runtime {

// Stores lanes [0, count) of v at p (count <= 0: none, >= 8: all) with plain
// 8-, 4-, 2- and 1-lane stores. A masked store (vmaskmovps) is microcoded on Zen cores:
// with it, the two tail stores per row made a 128 x 10 softmax 2.5x slower
// than a 128 x 16 one, and cost the 10-wide GEMM more than its FMAs. With a
// constant count the branches fold away.
inline void store_first_lanes(float* p, __m256 v, int64_t count) {
  if (count >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  if (count <= 0) return;
  __m128 x = _mm256_castps256_ps128(v);
  if (count & 4) {
    _mm_storeu_ps(p, x);
    x = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (count & 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), x);
    x = _mm_movehl_ps(x, x);
    p += 2;
  }
  if (count & 1) _mm_store_ss(p, x);
}

}  // namespace fastnn::runtime
