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

#include <algorithm>
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
// Stores lanes [0, mr) of v at dst.
template <int mr>
inline void pack_store_step(float* dst, __m256 v) {
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
}

// 1 when any of lanes [0, mr) is not +-0 (NaN included).
template <int mr>
inline unsigned pack_step_kept(__m256 v) {
  const int lanes = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ));
  return (lanes & ((1 << mr) - 1)) != 0;
}

// Panels per packed block: the driver's MC (96) over the smallest MR (4).
constexpr int64_t kPackSkipMaxPanels = 24;

// Compacts one panel: step p (p < kc) is the vector load(p); the kept steps
// are stored in order from dst, their p in ks; returns their count. Steps go
// 8 at a time, loaded and tested first and then stored at the count so far
// plus the kept steps before them in the group (a dropped step is stored
// too, where the next kept one overwrites it), so that no step waits for the
// previous one's count. Every store lands at or below its own step: load(p)
// may read the panel being compacted.
template <int mr, class Load>
inline int64_t pack_compact_steps(int64_t kc, const Load& load, float* dst, int32_t* ks) {
  int64_t count = 0, p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 v[8];
    unsigned kept = 0;
    for (int j = 0; j < 8; ++j) {
      v[j] = load(p + j);
      kept |= pack_step_kept<mr>(v[j]) << j;
    }
    for (int j = 0; j < 8; ++j) {
      const int64_t at = count + __builtin_popcount(kept & ((1u << j) - 1u));
      pack_store_step<mr>(dst + at * mr, v[j]);
      ks[at] = static_cast<int32_t>(p + j);
    }
    count += __builtin_popcount(kept);
  }
  for (; p < kc; ++p) {
    const __m256 v = load(p);
    pack_store_step<mr>(dst + count * mr, v);
    ks[count] = static_cast<int32_t>(p);
    count += pack_step_kept<mr>(v);
  }
  return count;
}
#endif

template <int mr>
inline void pack_a_skip_zero_impl(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                  int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept) {
  const int64_t panels = (mc + mr - 1) / mr;
  const int64_t stride = sgemm_skip_panel_stride(mr, kc);
#if defined(__AVX2__)
  if constexpr (mr > 4 && mr <= 8) {
    if (trans) {
      // op(A)(i, p) = a[p * lda + i]: the block's row segment of each p is
      // read once, contiguously, and each panel's mr floats of it appended
      // to that panel (every panel has its own count: no chain between them).
      // A step is stored as 8 floats; the 8 - mr past it are overwritten by
      // the next step or land in the panel's padding.
      int64_t count[kPackSkipMaxPanels] = {};
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0;
        int64_t t        = 0;
        for (; t < panels && t * mr + 8 <= mc; ++t) {  // 8 floats of the block's rows
          const __m256 v = _mm256_loadu_ps(src + t * mr);
          _mm256_storeu_ps(dst + t * stride + count[t] * mr, v);
          ks[t * kc + count[t]] = static_cast<int32_t>(p);
          count[t] += pack_step_kept<mr>(v);
        }
        for (; t < panels; ++t) {
          const int rows = static_cast<int>(mc - t * mr < mr ? mc - t * mr : mr);
          const __m256 v = _mm256_maskload_ps(src + t * mr, pack_lanes_below(rows));
          _mm256_storeu_ps(dst + t * stride + count[t] * mr, v);
          ks[t * kc + count[t]] = static_cast<int32_t>(p);
          count[t] += pack_step_kept<mr>(v);
        }
      }
      for (int64_t t = 0; t < panels; ++t) kept[t] = count[t];
    } else {
      const __m256i all = pack_lanes_below(mr);
      for (int64_t t = 0; t < panels; ++t, dst += stride, ks += kc) {
        pack_a_impl<mr>(a, lda, trans, i0 + t * mr, p0, std::min<int64_t>(mr, mc - t * mr), kc,
                        nullptr, dst);
        if constexpr (mr == 8)
          kept[t] = pack_compact_steps<mr>(
              kc, [&](int64_t p) { return _mm256_loadu_ps(dst + p * mr); }, dst, ks);
        else
          kept[t] = pack_compact_steps<mr>(
              kc, [&](int64_t p) { return _mm256_maskload_ps(dst + p * mr, all); }, dst, ks);
      }
    }
    return;
  }
#endif
  for (int64_t t = 0; t < panels; ++t, dst += stride, ks += kc) {
    pack_a_impl<mr>(a, lda, trans, i0 + t * mr, p0, std::min<int64_t>(mr, mc - t * mr), kc, nullptr,
                    dst);
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
    kept[t] = count;
  }
}

template <int nr>
inline void pack_b_impl(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc,
                        int64_t nc, const Prologue* prologue, float* dst) {
  if (!trans) {
    // op(B)(p, j) = b[p * ldb + j]. Row by row: each row segment of the block
    // is read once, contiguously, and dealt out to the panels. (Panel by panel,
    // the reads strode through B by ldb for every 16 floats: a new cache line,
    // and for ldb >= 1024 a new page, each time, with nothing for the
    // prefetchers to follow; the session-19 speed survey found that packing
    // 17-27 % of a 128 x 784 x 1024 product.)
    const int64_t full = nc - nc % nr;
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b + (p0 + p) * ldb + j0;
      float* d         = dst + p * nr;
      for (int64_t s = 0; s < full; s += nr, d += nr * kc)
        std::memcpy(d, src + s, sizeof(float) * nr);
      if (full < nc) {
        const int cols = static_cast<int>(nc - full);
        for (int jj = 0; jj < cols; ++jj) d[jj] = src[full + jj];
        for (int jj = cols; jj < nr; ++jj) d[jj] = 0.0f;
      }
    }
  }
  for (int64_t s = 0; s < nc; s += nr, dst += nr * kc) {
    const int cols  = static_cast<int>(nc - s < nr ? nc - s : nr);
    const int64_t j = j0 + s;
    if (trans) {
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
