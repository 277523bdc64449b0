// Packing of op(A) / op(B) into microkernel panels (layouts in
// gemm_kernels.h), as templates on the panel size so that each ISA's TU
// instantiates them with compile-time MR / NR and its own vector flags
// (pack_ref.cpp: baseline; avx2/pack_avx2.cpp: -mavx2). Everything here has
// internal linkage (anonymous namespace): each TU keeps its own copy compiled
// with its own flags, so the linker can never hand the generic path a copy
// built with AVX2 instructions.
#pragma once

#if defined(__AVX2__)
#include "gemm/avx2/transpose8_avx2.h"
#endif

#include <cstring>

#include "gemm/gemm_kernels.h"

namespace fastnn::gemm {
namespace {

inline bool pack_prologue_active(const Prologue* prologue) {
  return prologue != nullptr && prologue->act != ops::ActivationKind::linear;
}

// dst[t * dst_step] *= f'(y[t * y_step]) for t < len: one panel row or column.
inline void pack_apply_prologue(const Prologue& pro, const float* y, int64_t y_step, float* dst,
                                int64_t dst_step, int64_t len) {
  for (int64_t t = 0; t < len; ++t)
    dst[t * dst_step] *= sgemm_derivative_from_output(pro.act, y[t * y_step]);
}

template <int mr>
inline void pack_a_impl(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc,
                        int64_t kc, const Prologue* prologue, float* dst) {
  for (int64_t r = 0; r < mc; r += mr, dst += mr * kc) {
    const int rows  = static_cast<int>(mc - r < mr ? mc - r : mr);
    const int64_t i = i0 + r;
    if (!trans) {
      // op(A)(i, p) = a[i * lda + p]: read each row contiguously.
      int64_t p_done = 0;
#if defined(__AVX2__)
      if constexpr (mr == 8) {
        if (rows == mr)
          for (; p_done + 8 <= kc; p_done += 8)
            transpose8_from(a + i * lda + p0 + p_done, lda, dst + p_done * mr, mr);
      }
#endif
      for (int ii = 0; ii < rows; ++ii) {
        const float* src = a + (i + ii) * lda + p0;
        for (int64_t p = p_done; p < kc; ++p) dst[p * mr + ii] = src[p];
      }
    } else {
      // op(A)(i, p) = a[p * lda + i]: mr contiguous floats per p.
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i;
        for (int ii = 0; ii < rows; ++ii) dst[p * mr + ii] = src[ii];
      }
    }
    for (int ii = rows; ii < mr; ++ii)
      for (int64_t p = 0; p < kc; ++p) dst[p * mr + ii] = 0.0f;
    if (pack_prologue_active(prologue)) {
      for (int ii = 0; ii < rows; ++ii)
        pack_apply_prologue(*prologue, prologue->y + (i + ii) * prologue->ld_y + p0, 1, dst + ii,
                            mr, kc);
    }
  }
}

// SgemmPackASkipZero: a step is kept when any of its mr values is not +-0
// (NaN is kept). An op(A) stored transposed (mr contiguous floats per step:
// the weight gradient's X^T) is copied and tested in one pass; otherwise the
// panel is packed by pack_a_impl, then compacted in place.
#if defined(__AVX2__)
// Lanes [0, count) set.
inline __m256i pack_lanes_below(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Copies one step (lanes of `mask`: at most mr <= 8 floats, zeros past
// `mask`) from src to dst; whether any of them is not +-0.
template <int mr>
inline bool pack_copy_step(const float* src, __m256i mask, float* dst) {
  const __m256 v = _mm256_maskload_ps(src, mask);
  if constexpr (mr == 8) {
    _mm256_storeu_ps(dst, v);
  } else {
    static_assert(mr > 4 && mr < 8, "a step is one vector");
    const __m128 hi = _mm256_extractf128_ps(v, 1);
    _mm_storeu_ps(dst, _mm256_castps256_ps128(v));
    if constexpr (mr == 6) {
      _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), hi);
    } else {
      alignas(16) float rest[4];
      _mm_store_ps(rest, hi);
      for (int t = 4; t < mr; ++t) dst[t] = rest[t - 4];
    }
  }
  return _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ)) != 0;
}
#endif

template <int mr>
inline void pack_a_skip_zero_impl(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                  int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept) {
#if defined(__AVX2__)
  if constexpr (mr > 4 && mr <= 8) {
    const __m256i all = pack_lanes_below(mr);
    if (!trans) pack_a_impl<mr>(a, lda, trans, i0, p0, mc, kc, nullptr, dst);
    for (int64_t r = 0; r < mc; r += mr, dst += mr * kc, ks += kc) {
      const int rows = static_cast<int>(mc - r < mr ? mc - r : mr);
      int64_t count  = 0;
      if (trans) {
        const __m256i mask = pack_lanes_below(rows);
        const float* src   = a + p0 * lda + i0 + r;
        for (int64_t p = 0; p < kc; ++p, src += lda) {
          const bool any = pack_copy_step<mr>(src, mask, dst + count * mr);
          ks[count]      = static_cast<int32_t>(p);
          count += any;
        }
      } else {
        for (int64_t p = 0; p < kc; ++p) {  // count <= p: the copy moves down
          const bool any = pack_copy_step<mr>(dst + p * mr, all, dst + count * mr);
          ks[count]      = static_cast<int32_t>(p);
          count += any;
        }
      }
      *kept++ = count;
    }
    return;
  }
#endif
  pack_a_impl<mr>(a, lda, trans, i0, p0, mc, kc, nullptr, dst);
  for (int64_t r = 0; r < mc; r += mr, dst += mr * kc, ks += kc) {
    int64_t count = 0;
    for (int64_t p = 0; p < kc; ++p) {
      uint32_t bits[mr];
      std::memcpy(bits, dst + p * mr, sizeof(bits));
      uint32_t any = 0;
      for (int ii = 0; ii < mr; ++ii) any |= bits[ii] << 1;
      std::memcpy(dst + count * mr, bits, sizeof(bits));  // count <= p
      ks[count] = static_cast<int32_t>(p);
      count += any != 0;
    }
    *kept++ = count;
  }
}

template <int nr>
inline void pack_b_impl(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc,
                        int64_t nc, const Prologue* prologue, float* dst) {
  for (int64_t s = 0; s < nc; s += nr, dst += nr * kc) {
    const int cols  = static_cast<int>(nc - s < nr ? nc - s : nr);
    const int64_t j = j0 + s;
    if (!trans) {
      // op(B)(p, j) = b[p * ldb + j]: a contiguous row segment per p.
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = b + (p0 + p) * ldb + j;
        float* d         = dst + p * nr;
        for (int jj = 0; jj < cols; ++jj) d[jj] = src[jj];
        for (int jj = cols; jj < nr; ++jj) d[jj] = 0.0f;
      }
    } else {
      // op(B)(p, j) = b[j * ldb + p]: read each stored row contiguously,
      // 8 of them at a time where the panel has them.
      int jj = 0;
#if defined(__AVX2__)
      if constexpr (nr % 8 == 0) {
        for (; jj + 8 <= cols; jj += 8) {
          const float* src = b + (j + jj) * ldb + p0;
          int64_t p        = 0;
          for (; p + 8 <= kc; p += 8) transpose8_from(src + p, ldb, dst + p * nr + jj, nr);
          for (; p < kc; ++p)
            for (int t = 0; t < 8; ++t) dst[p * nr + jj + t] = src[t * ldb + p];
        }
      }
#endif
      for (; jj < cols; ++jj) {
        const float* src = b + (j + jj) * ldb + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * nr + jj] = src[p];
      }
      for (int64_t p = 0; p < kc; ++p)
        for (int jj = cols; jj < nr; ++jj) dst[p * nr + jj] = 0.0f;
    }
    if (pack_prologue_active(prologue)) {
      for (int jj = 0; jj < cols; ++jj)
        pack_apply_prologue(*prologue, prologue->y + p0 * prologue->ld_y + j + jj, prologue->ld_y,
                            dst + jj, nr, kc);
    }
  }
}

}  // namespace
}  // namespace fastnn::gemm
