// Single-precision GEMM with fused epilogue, row-major view.
//
//   C := alpha * op(A) * op(B) + beta * C        then, if `epilogue` is given,
//   C := act(C + bias)                            (bias per output column)
//
// op(A) is m x k, op(B) is k x n, C is m x n. All matrices are row-major with
// leading dimensions lda, ldb, ldc (>= their row length); a column-major matrix
// is the transpose of a row-major one, so callers map layouts through `trans_*`
// without copying. `trans_a`: op(A) = A^T, i.e. A is stored k x m.
//
// beta == 0 means C is never read (a NaN in C cannot leak). m, n or k may be
// zero: with k == 0 the result is beta * C (then the epilogue).
//
// Epilogue (forward pass of a dense layer):
//   pre_activation, when not null, receives C + bias before the activation
//   (m x n, leading dimension ld_pre). Supported activations: linear, relu,
//   sigmoid, tanh; others throw std::invalid_argument (apply them separately).
//
// Prologue (backward pass): when `prologue_a.act` is not linear, op(A) is
// replaced elementwise by op(A) ⊙ f'(Y) where Y (same shape as op(A), stored
// row-major m x k with leading dimension ld_y, never transposed) is the
// activation's *output*; f' is expressed through the output: relu: !(Y <= 0) (NaN passes, as
// torch), sigmoid: Y(1-Y), tanh: 1-Y². Same for `prologue_b` on op(B) (k x n).
//
// Threads: the result is bit-identical for any thread count (K is never split;
// the blocking chosen for a shape does not depend on the thread count).
#pragma once

#include <cstdint>

#include "ops/activation_kind.h"

namespace fastnn::gemm {

struct Epilogue {
  const float* bias       = nullptr;  // n floats, or null
  ops::ActivationKind act = ops::ActivationKind::linear;
  float* pre_activation   = nullptr;  // m x n, or null
  int64_t ld_pre          = 0;
};

struct Prologue {
  ops::ActivationKind act = ops::ActivationKind::linear;  // linear: no prologue
  const float* y          = nullptr;
  int64_t ld_y            = 0;
};

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           const Epilogue* epilogue = nullptr, const Prologue* prologue_a = nullptr,
           const Prologue* prologue_b = nullptr);

// Products of fewer flops (2*m*n*k) run on one thread: in a team session
// (runtime/team.h), 1 MFLOP, otherwise 2 (measured in gemm.cpp).
double parallel_min_flops();

// Testing and benchmarking hook: forces whether op(A) / op(B) are packed
// (-1: the measured automatic choice; 0: read in place where legal, i.e. no
// prologue on that operand and, for B, not transposed; 1: always pack). Only
// the speed changes: results are bit-identical either way. Process-wide.
void set_sgemm_packing_override(int pack_a, int pack_b);

// Testing and benchmarking hook for the small-M path (a few rows of C computed
// without packing; see gemm.cpp): -1: the measured automatic choice (m <= a
// few rows, op(B) not transposed, no prologue, no packing override); 0: never;
// 1: always where legal (any m). Results are bit-identical either way.
// Process-wide.
void set_sgemm_small_m_override(int mode);

// Testing and benchmarking hook for the narrow-N path (C with at most 12
// columns computed with vectors down M; see gemm.cpp): -1: the measured
// automatic choice (n <= 12, no prologue on A, no other override, an ISA that
// has the kernel); 0: never; 1: always where legal. Results are bit-identical
// either way. Process-wide.
void set_sgemm_narrow_n_override(int mode);

// sgemm for an op(A) with many exact zeros (a batch of images: the first
// dense layer's weight gradient X^T dY, its forward X W). Each MR-row panel
// of op(A) is packed without the k steps where all its MR values are zero,
// and the microkernel runs over the steps left: the same FMAs in the same
// order, minus terms 0 * b that add +-0 to a sum, so C is bit-identical to
// sgemm's, but for the sign of a sum that is exactly zero after underflowing
// (-0 here where sgemm may give +0). op(B) holding an infinity or a NaN
// (0 * inf is NaN) runs sgemm itself, as do empty products, and C's last
// partial column panel goes to the narrow-N path as in sgemm. Returns the
// fraction of the panels' k steps that were kept (1 when no panel was
// compacted), for callers that choose between the two by it. No prologue.
double sgemm_skip_zero_a(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc, const Epilogue* epilogue = nullptr);

// Testing and benchmarking hook for the compacted panels: -1: automatic
// (sgemm_skip_zero_a compacts, sgemm does not); 0: never (sgemm_skip_zero_a
// runs sgemm); 1: sgemm too compacts wherever legal (no prologue, op(B)
// finite). Results are bit-identical either way, but for the sign of zero
// noted above. Process-wide.
void set_sgemm_skip_zero_override(int mode);

// The naive triple loop, kept on purpose as an oracle for tests and benchmarks
// (same contract, single-threaded, float accumulation in k order).
void sgemm_naive(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc, const Epilogue* epilogue = nullptr,
                 const Prologue* prologue_a = nullptr, const Prologue* prologue_b = nullptr);

}  // namespace fastnn::gemm
