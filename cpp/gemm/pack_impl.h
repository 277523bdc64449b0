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
