// Internal to cpp/gemm: the per-ISA microkernel table and packing routines
// the five-loop driver (gemm.cpp) is built on. Not a public header.
//
// Microkernel contract (BLIS style), one MR x NR tile of C:
//
//   acc[i][j] = sum_{p < k} A(i, p) * B(p, j)      i < MR, j < NR, p in order
//   C(i, j)   = alpha * acc[i][j] + beta * C(i, j)  for i < m, j < n only
//             (+ bias[j]; pre(i, j) = that value; relu)   when `ep` asks
//
//   A(i, p) = a[i * rs_a + p * cs_a]   packed panel: rs_a = 1, cs_a = MR
//   B(p, j) = b[p * rs_b + j]          packed panel: rs_b = NR (unit column stride)
//
//   Packed A micro-panel (MR x k), column after column:   Packed B micro-panel (k x NR):
//     p=0: a00 a10 .. a(MR-1)0                               p=0: b00 b01 .. b0(NR-1)
//     p=1: a01 a11 .. a(MR-1)1                               p=1: b10 b11 .. b1(NR-1)
//     ...                                                    ...
//
//   The kernel reads exactly MR rows of A and NR columns of B for every p, so
//   edge panels (m < MR or n < NR) must be zero-padded packed panels; it never
//   reads or writes C outside the m x n corner. beta == 0: C is not read.
//   The k-loop order is fixed, so a tile's value does not depend on which
//   thread computes it or on whether its operands were packed.
#pragma once

#include <cstdint>

#include "gemm/gemm.h"

namespace fastnn::gemm {

// What the microkernel applies when it writes its tile.
struct TileEpilogue {
  float alpha       = 1.0f;
  float beta        = 0.0f;     // 0: C is not read
  const float* bias = nullptr;  // NR-window of the bias (already offset), or null
  float* pre        = nullptr;  // pre-activation tile (already offset), or null
  int64_t ld_pre    = 0;
  bool relu         = false;  // x < 0 ? 0 : x, NaN passes (torch.relu)
};

// Starts fetching the lines of an m x n C tile, which the microkernels read
// (beta != 0, a later K block) and write after their k-loop, so the loop
// hides the misses.
inline void sgemm_prefetch_c_tile(const float* c, int64_t ldc, int m, int n) {
  for (int r = 0; r < m; ++r) {
    __builtin_prefetch(c + r * ldc, 0, 3);
    __builtin_prefetch(c + r * ldc + n - 1, 0, 3);
  }
}

// Whether the epilogue leaves the product as it is (x * 1, no other term):
// a full tile then goes from the registers straight to C.
inline bool sgemm_plain_epilogue(const TileEpilogue& ep) {
  return ep.alpha == 1.0f && ep.beta == 0.0f && !ep.bias && !ep.pre && !ep.relu;
}

using SgemmUkernel = void (*)(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                              int64_t rs_b, float* c, int64_t ldc, int m, int n,
                              const TileEpilogue& ep);

// The microkernel over a compacted A panel (sgemm_skip_zero_a): the panel
// holds only `count` of a KC block's k steps, step q being k offset ks[q]
// (ascending), so
//
//   acc[i][j] = sum_{q < count} A(i, q) * B(ks[q], j)   q in order
//   A(i, q)   = a[q * MR + i]          B(p, j) = b[p * rs_b + j]
//
// with the same FMAs in the same order and the same epilogue as SgemmUkernel
// on the full panel, minus the steps whose MR values of A are all zero.
using SgemmSkipUkernel = void (*)(int64_t count, const int32_t* ks, const float* a, const float* b,
                                  int64_t rs_b, float* c, int64_t ldc, int m, int n,
                                  const TileEpilogue& ep);

// Packs rows [i0, i0 + mc) and columns [p0, p0 + kc) of op(A) into ceil(mc/mr)
// panels of mr x kc (layout above), zero-padding the last panel's missing rows.
// With an active prologue, each element is multiplied by f'(Y(i, p)).
// The panel height mr is the table's (fixed per function).
using SgemmPackA = void (*)(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                            int64_t mc, int64_t kc, const Prologue* prologue, float* dst);

// Packs rows [p0, p0 + kc) and columns [j0, j0 + nc) of op(B) into ceil(nc/nr)
// panels of kc x nr, zero-padding the last panel's missing columns.
// Packs like SgemmPackA (no prologue), then drops from each panel the k steps
// whose MR values are all zero (+0 or -0; NaN is kept), moving the others to
// the front in order: panel t (at dst + t * sgemm_skip_panel_stride(MR, kc))
// keeps kept[t] steps, their k offsets (from p0) in ks[t * kc ..].
// The compacted panels' spacing: a panel and 8 floats of padding, so that
// the packing may store a step as one whole 8-float vector.
constexpr int64_t sgemm_skip_panel_stride(int64_t mr, int64_t kc) { return mr * kc + 8; }

using SgemmPackASkipZero = void (*)(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                    int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept);

using SgemmPackB = void (*)(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0,
                            int64_t kc, int64_t nc, const Prologue* prologue, float* dst);

// What the direct paths (small-M, narrow-N: no microkernel tiles) share: the
// sizes, op(A) with any strides, C and the epilogue they fuse.
//
//   A(i, p) = a[i * rs_a + p * cs_a]
struct SgemmDirect {
  int64_t m = 0, n = 0, k = 0, kc = 0;
  float alpha = 1.0f, beta = 0.0f;  // beta == 0: C is not read
  const float* a = nullptr;
  int64_t rs_a = 0, cs_a = 0;
  float* c          = nullptr;
  int64_t ldc       = 0;
  const float* bias = nullptr;  // n floats, or null
  float* pre        = nullptr;  // m x n pre-activation (C + bias before relu), or null
  int64_t ld_pre    = 0;
  bool relu         = false;
};

// Small-M path (no packing, no microkernel tiles): all of C's m x n in one
// call, for a few rows (the forward pass of a dense layer at batch 1..4).
//
//   A(i, p) = a[i * rs_a + p * cs_a]   (op(A) with any strides: A or A^T)
//   B(p, j) = b[p * ldb + j]           (op(B) not transposed: unit column stride)
//
// The k-sums restart every `kc` steps exactly as the packed driver's KC blocks
// do, and each block is written through the same epilogue, in the same order,
// with the same vector operations as that ISA's microkernel:
//   block 0:      C = alpha * acc + beta * C   (C not read when beta == 0)
//   later blocks: C = alpha * acc + 1 * C
//   last block:   + bias[j]; pre(i, j) = that value; relu
// so every C(i, j) is bit-identical to the packed path of the same ISA (which
// also does not depend on how C is tiled or split among threads). Rows are
// taken a few at a time; columns in register-sized chunks, the last masked.
// Nothing outside the m x n / m x k / k x n matrices is read or written.
struct SgemmSmallM : SgemmDirect {
  const float* b = nullptr;
  int64_t ldb    = 0;
};

using SgemmSmallMKernel = void (*)(const SgemmSmallM& args);

// Narrow-N path: all of C's m x n for n <= kNarrowNMaxCols columns, with
// vectors running down M (eight rows of one column per register) instead of
// across N, so no lane is spent on padding columns.
//
//   A(i, p) = a[i * rs_a + p * cs_a]   rs_a == 1 (read in place) or cs_a == 1
//                                      (row-major: packed by the kernel)
//   B(p, j) = b[p * rs_b + j * cs_b]   any strides (read in place)
//
// The k-sums restart every `kc` (<= kNarrowNMaxKc) steps and each block goes
// through the epilogue exactly as in the small-M path (see above), so every
// C(i, j) is bit-identical to the packed path and the small-M path of the same
// ISA, and to any split of the rows. Nothing outside the matrices is read or
// written.
constexpr int64_t kNarrowNMaxCols = 12;
constexpr int64_t kNarrowNMaxKc   = 512;
struct SgemmNarrowN : SgemmDirect {
  const float* b = nullptr;
  int64_t rs_b = 0, cs_b = 0;
};

using SgemmNarrowNKernel = void (*)(const SgemmNarrowN& args);

struct SgemmKernels {
  int mr;
  int nr;
  SgemmUkernel ukernel;
  SgemmPackA pack_a;
  SgemmPackB pack_b;
  SgemmSmallMKernel small_m;
  SgemmNarrowNKernel narrow_n;  // null: this ISA has none (the tiled path is used)
  // Up to this many rows of C the tiled driver reads an op(B) of at most 256
  // columns in place (when legal) instead of packing it: measured per tile
  // shape (choose_packing() in gemm.cpp).
  int64_t max_m_unpacked_narrow_b;
  SgemmSkipUkernel ukernel_skip;  // sgemm_skip_zero_a's tiles
  SgemmPackASkipZero pack_a_skip_zero;
};

// The small-M kernels (small_m_ref.cpp, avx2/small_m_avx2.cpp).
void sgemm_small_m_ref(const SgemmSmallM& args);
#if defined(FASTNN_HAVE_AVX2)
void sgemm_small_m_avx2(const SgemmSmallM& args);
void sgemm_narrow_n_avx2(const SgemmNarrowN& args);
#endif

// Packing at each table's panel sizes (pack_ref.cpp, avx2/pack_avx2.cpp).
void sgemm_pack_a_4_ref(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0, int64_t mc,
                        int64_t kc, const Prologue* prologue, float* dst);
void sgemm_pack_b_8_ref(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0, int64_t kc,
                        int64_t nc, const Prologue* prologue, float* dst);
void sgemm_pack_a_skip_zero_4_ref(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                  int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept);
#if defined(FASTNN_HAVE_AVX2)
void sgemm_pack_a_6_avx2(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                         int64_t mc, int64_t kc, const Prologue* prologue, float* dst);
void sgemm_pack_b_16_avx2(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t j0,
                          int64_t kc, int64_t nc, const Prologue* prologue, float* dst);
void sgemm_pack_a_skip_zero_6_avx2(const float* a, int64_t lda, bool trans, int64_t i0, int64_t p0,
                                   int64_t mc, int64_t kc, float* dst, int32_t* ks, int64_t* kept);
#endif

// f'(y) through the activation's output y (see gemm.h); scalar, shared.
float sgemm_derivative_from_output(ops::ActivationKind act, float y);

extern const SgemmKernels kSgemmKernelsGeneric;  // ukernel_ref.cpp: 4 x 8
#if defined(FASTNN_HAVE_AVX2)
extern const SgemmKernels kSgemmKernelsAvx2;  // avx2/ukernel_6x16_avx2.cpp: 6 x 16
#endif
#if defined(FASTNN_HAVE_AVX512)
extern const SgemmKernels kSgemmKernelsAvx512;  // avx512/ukernel_8x32_avx512.cpp: 8 x 32
#endif

// The table of the active ISA (runtime::active_isa()).
const SgemmKernels& sgemm_kernels();

}  // namespace fastnn::gemm
