// An 8 x 8 float transpose from memory to memory, shared by the narrow-N
// kernel's panel packing and the tiled driver's packings (pack_impl.h).
// Include only from translation units compiled with -mavx2 (the AVX2 and
// AVX-512 folders). Internal linkage (anonymous namespace), as pack_impl.h:
// each TU keeps its own copy built with its own flags, so the linker can never
// hand the AVX2 path a copy built with AVX-512 instructions.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fastnn::gemm {
namespace {

// The 8 x 8 block at src (rows q = 0..7 at src + q * lda) transposed into
// out[q * ld_out + r] = src[r * lda + q]. The 128-bit halves are loaded into the
// lanes they end up in (vinsertf128 from memory), so the transpose needs 12
// shuffles and 8 blends instead of 24 shuffles: a Zen core runs shuffles on
// two of its vector pipes and blends on all four.
inline void transpose8_from(const float* src, int64_t lda, float* out, int64_t ld_out) {
  auto halves = [&](int lo_row, int64_t col) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(src + lo_row * lda + col)),
                                _mm_loadu_ps(src + (lo_row + 4) * lda + col), 1);
  };
  const __m256 r0 = halves(0, 0), r1 = halves(1, 0), r2 = halves(2, 0), r3 = halves(3, 0);
  const __m256 r4 = halves(0, 4), r5 = halves(1, 4), r6 = halves(2, 4), r7 = halves(3, 4);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  auto pair = [&](__m256 x, __m256 y, int q) {
    const __m256 v = _mm256_shuffle_ps(x, y, _MM_SHUFFLE(1, 0, 3, 2));
    _mm256_storeu_ps(out + q * ld_out, _mm256_blend_ps(x, v, 0xCC));
    _mm256_storeu_ps(out + (q + 1) * ld_out, _mm256_blend_ps(y, v, 0x33));
  };
  pair(t0, t2, 0);
  pair(t1, t3, 2);
  pair(t4, t6, 4);
  pair(t5, t7, 6);
}

}  // namespace
}  // namespace fastnn::gemm
