// nn::mix64 and nn::uniform01 (nn/initializers.h) on AVX2 lanes, for the
// kernels of the random layers (dropout_avx2.cpp, noise_avx2.cpp; included
// only by files compiled with -mavx2). mix64 runs on four 64-bit lanes, its
// 64-bit products built from three 32x32->64 multiplies (vpmuludq; AVX2 has
// no 64-bit multiply); the integer steps are exact and the float steps
// (convert a 24-bit integer, scale by 2^-24) are the scalar ones, so the
// uniforms equal uniform01 bit for bit.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace fastnn::nn::avx2 {

// x * c mod 2^64 per 64-bit lane.
inline __m256i mul64_const(__m256i x, uint64_t c) {
  const __m256i c_lo  = _mm256_set1_epi64x(static_cast<int64_t>(c & 0xFFFFFFFFull));
  const __m256i c_hi  = _mm256_set1_epi64x(static_cast<int64_t>(c >> 32));
  const __m256i lo_lo = _mm256_mul_epu32(x, c_lo);
  const __m256i hi_lo = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), c_lo);
  const __m256i lo_hi = _mm256_mul_epu32(x, c_hi);
  const __m256i cross = _mm256_add_epi64(hi_lo, lo_hi);
  return _mm256_add_epi64(lo_lo, _mm256_slli_epi64(cross, 32));
}

// nn::mix64 (initializers.cpp) on four lanes.
inline __m256i mix64_x4(__m256i x) {
  x = _mm256_add_epi64(x, _mm256_set1_epi64x(static_cast<int64_t>(0x9E3779B97F4A7C15ull)));
  x = mul64_const(_mm256_xor_si256(x, _mm256_srli_epi64(x, 30)), 0xBF58476D1CE4E5B9ull);
  x = mul64_const(_mm256_xor_si256(x, _mm256_srli_epi64(x, 27)), 0x94D049BB133111EBull);
  return _mm256_xor_si256(x, _mm256_srli_epi64(x, 31));
}

// mix64(key + e + j) for j = 0..3 (*lo) and 4..7 (*hi).
inline void mix64_x8(uint64_t key, int64_t e, __m256i* lo, __m256i* hi) {
  const __m256i base = _mm256_set1_epi64x(static_cast<int64_t>(key + static_cast<uint64_t>(e)));
  *lo                = mix64_x4(_mm256_add_epi64(base, _mm256_setr_epi64x(0, 1, 2, 3)));
  *hi                = mix64_x4(_mm256_add_epi64(base, _mm256_setr_epi64x(4, 5, 6, 7)));
}

// The low dwords of the 64-bit lanes of a (elements 0..3) and b (4..7), in
// element order.
inline __m256i low_dwords_x8(__m256i a, __m256i b) {
  // dwords interleaved as [a0 b0 a1 b1 a2 b2 a3 b3] back to [a0..a3 b0..b3]
  const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i ab    = _mm256_blend_epi32(a, _mm256_slli_epi64(b, 32), 0xAA);
  return _mm256_permutevar8x32_epi32(ab, order);
}

// uniform01(key + e + j) for the lanes j = 0..7.
inline __m256 uniform01_x8(uint64_t key, int64_t e) {
  __m256i lo, hi;
  mix64_x8(key, e, &lo, &hi);
  // the top 24 bits of each hash
  const __m256i bits = low_dwords_x8(_mm256_srli_epi64(lo, 40), _mm256_srli_epi64(hi, 40));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(bits), _mm256_set1_ps(1.0f / 16777216.0f));
}

}  // namespace fastnn::nn::avx2
