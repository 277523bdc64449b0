// AVX2/FMA narrow-N sgemm (contract in gemm_kernels.h, SgemmNarrowN), compiled
// with -mavx2 -mfma. C has n <= 12 columns (a classifier's output layer, its
// weight gradient), so the 6 x 16 tile would leave 16 - n lanes of every FMA
// idle (6 of 16 for n = 10). Here the vectors run down M instead:
//
//   for p in the KC block:       vb[j] = broadcast B(p, j)   (j in the group)
//     for r < 4:                 va    = A(i + 8r .. i + 8r + 7, p)
//       for j in the group:      acc[r][j] = fma(va, vb[j], acc[r][j])
//
// Rows go in blocks of 4 vectors (32 rows) and columns in groups of at most 3
// (10 = 3 + 3 + 2 + 2): at most 12 accumulators, 3 broadcasts and one A vector
// fit the 16 ymm registers, every broadcast feeds 4 FMAs (one broadcast load
// issues per cycle) and at least 8 FMA chains are in flight. op(A) is read in
// place when it has unit row stride (A^T stored: the weight gradient X^T *
// dY); a row-major op(A) is packed 8 rows at a time with 8 x 8 transposes into
// a panel. B is read in place with any strides. After each KC block the
// accumulators are transposed back to rows and written through the 6 x 16
// microkernel's epilogue (alpha multiply, beta FMA, bias add, pre store,
// relu), in the same order: every C(i, j) is the same FMA chain (p ascending,
// restarting every kc) and the same epilogue as the microkernel and the
// small-M path compute, so results are bit-identical to those paths and to
// any split of the rows.
#include <immintrin.h>

#include <algorithm>

#include "gemm/avx2/transpose8_avx2.h"
#include "gemm/gemm_kernels.h"
#include "runtime/aligned_buffer.h"
#include "runtime/avx2_tail.h"

namespace fastnn::gemm {

namespace {

constexpr int kLanes = 8;
// Values of p per piece of a KC block (the panel: 4 * 8 * 128 floats, 16 KiB).
constexpr int64_t kNarrowSub = 128;
// The same for op(A) read in place (A^T stored, columns lda apart): with a
// leading dimension of a power of two, 128 values of p put 16 or more of the
// piece's cache lines on one L1 set (8 ways) and every column group after the
// first would reread them from L2; 32 keep the piece in L1 (4.9 us against
// 6.4 us for 128 x 128 x 10 from a numpy array 16 bytes off a line).
constexpr int64_t kNarrowSubInPlace = 32;
// Row vectors per block (32 rows) and columns per group (see accumulate).
constexpr int kNarrowRowVectors = 4;
constexpr int kNarrowGroupMax   = 3;

// r[q] holds column q of an 8 x 8 block (lanes = rows); afterwards r[q] holds
// row q (lanes = columns).
inline void transpose8(__m256 r[kLanes]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0]            = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1]            = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2]            = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3]            = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4]            = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5]            = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6]            = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7]            = _mm256_permute2f128_ps(s3, s7, 0x31);
}

inline __m256i lanes_below(int64_t count) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int clamped   = static_cast<int>(std::clamp<int64_t>(count, 0, kLanes));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(clamped), lanes);
}

// Packs rows [0, rows) x columns [0, kc) of a row-major block (leading
// dimension lda) into panel[p * 8 + r]; rows >= `rows` are zero.
void pack_rows_transposed(const float* a, int64_t lda, int rows, int64_t kc, float* panel) {
  int64_t p = 0;
  if (rows == kLanes) {
    for (; p + kLanes <= kc; p += kLanes) transpose8_from(a + p, lda, panel + p * kLanes, kLanes);
  }
  for (; p < kc; ++p)
    for (int q = 0; q < kLanes; ++q) panel[p * kLanes + q] = q < rows ? a[q * lda + p] : 0.0f;
}

// One row of C (N columns: lanes 0-7 of v0, then v1) through the microkernel's
// epilogue; mask0/mask1 select columns j < N for the loads.
template <int N>
inline void finish_row(__m256 v0, __m256 v1, float* c, float* pre, const float* bias, float alpha,
                       float beta, bool relu, __m256i mask0, __m256i mask1) {
  constexpr bool kTwo = N > kLanes;
  constexpr int W0 = kTwo ? kLanes : N, W1 = kTwo ? N - kLanes : 0;
  const __m256 valpha = _mm256_set1_ps(alpha);
  v0                  = _mm256_mul_ps(v0, valpha);
  if (kTwo) v1 = _mm256_mul_ps(v1, valpha);
  if (beta != 0.0f) {
    const __m256 vbeta = _mm256_set1_ps(beta);
    v0                 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c, mask0), v0);
    if (kTwo) v1 = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps(c + kLanes, mask1), v1);
  }
  if (bias) {
    v0 = _mm256_add_ps(v0, _mm256_maskload_ps(bias, mask0));
    if (kTwo) v1 = _mm256_add_ps(v1, _mm256_maskload_ps(bias + kLanes, mask1));
  }
  if (pre) {
    runtime::store_first_lanes(pre, v0, W0);
    runtime::store_first_lanes(pre + kLanes, v1, W1);
  }
  if (relu) {
    const __m256 vzero = _mm256_setzero_ps();
    v0                 = _mm256_andnot_ps(_mm256_cmp_ps(v0, vzero, _CMP_LT_OQ), v0);
    if (kTwo) v1 = _mm256_andnot_ps(_mm256_cmp_ps(v1, vzero, _CMP_LT_OQ), v1);
  }
  runtime::store_first_lanes(c, v0, W0);
  runtime::store_first_lanes(c + kLanes, v1, W1);
}

// The k-loop of one KC block for a group of NG <= 3 columns starting at
// column j0: sums[r][j0 + j] = column j0 + j of rows 8r .. 8r + 7 (r < 4),
// the FMA chain over p ascending, continued from sums unless `start`; vector r
// of A at p is a[p * a_step + r * a_vec]. Per p: NG broadcasts of B, then each
// of the 4 A vectors is loaded once and feeds NG FMAs. 4 NG accumulators, NG
// broadcasts and one A vector fill at most the 16 ymm registers; a broadcast
// feeds 4 FMAs (a Zen core issues one broadcast load per cycle, so the FMA
// pipes, not the load port, set the pace), and with NG >= 2 at least 8 FMA
// chains are in flight. The accumulators are named registers (GCC keeps an
// array of vectors in memory when the loop around it is not unrolled first).
#define FASTNN_NARROW_ACC(J)                                             \
  __m256 acc0_##J = _mm256_setzero_ps(), acc1_##J = _mm256_setzero_ps(), \
         acc2_##J = _mm256_setzero_ps(), acc3_##J = _mm256_setzero_ps(); \
  if constexpr (J < NG) {                                                \
    if (!start) {                                                        \
      acc0_##J = _mm256_load_ps(sums[0][j0 + J]);                        \
      acc1_##J = _mm256_load_ps(sums[1][j0 + J]);                        \
      acc2_##J = _mm256_load_ps(sums[2][j0 + J]);                        \
      acc3_##J = _mm256_load_ps(sums[3][j0 + J]);                        \
    }                                                                    \
  }
#define FASTNN_NARROW_FMA(R, J) \
  if constexpr (J < NG) acc##R##_##J = _mm256_fmadd_ps(va, vb##J, acc##R##_##J);
#define FASTNN_NARROW_ROW(R)                                                \
  {                                                                         \
    __m256 va = _mm256_loadu_ps(a + p * a_step + R * a_vec);                \
    asm("" : "+x"(va)); /* one load, not one folded into each FMA */        \
    FASTNN_NARROW_FMA(R, 0) FASTNN_NARROW_FMA(R, 1) FASTNN_NARROW_FMA(R, 2) \
  }
#define FASTNN_NARROW_STORE(J)                  \
  if constexpr (J < NG) {                       \
    _mm256_store_ps(sums[0][j0 + J], acc0_##J); \
    _mm256_store_ps(sums[1][j0 + J], acc1_##J); \
    _mm256_store_ps(sums[2][j0 + J], acc2_##J); \
    _mm256_store_ps(sums[3][j0 + J], acc3_##J); \
  }
template <int NG>
inline void accumulate(const float* a, int64_t a_step, int64_t a_vec, int64_t kq, const float* b,
                       int64_t rs_b, int64_t cs_b, bool start, int j0,
                       float sums[][kNarrowNMaxCols][kLanes]) {
  static_assert(NG >= 1 && NG <= kNarrowGroupMax, "register budget");
  FASTNN_NARROW_ACC(0);
  FASTNN_NARROW_ACC(1);
  FASTNN_NARROW_ACC(2);
  for (int64_t p = 0; p < kq; ++p, b += rs_b) {
    const __m256 vb0 = _mm256_broadcast_ss(b);
    const __m256 vb1 = NG > 1 ? _mm256_broadcast_ss(b + cs_b) : vb0;
    const __m256 vb2 = NG > 2 ? _mm256_broadcast_ss(b + 2 * cs_b) : vb0;
    (void)vb1, (void)vb2;
    FASTNN_NARROW_ROW(0);
    FASTNN_NARROW_ROW(1);
    FASTNN_NARROW_ROW(2);
    FASTNN_NARROW_ROW(3);
  }
  FASTNN_NARROW_STORE(0);
  FASTNN_NARROW_STORE(1);
  FASTNN_NARROW_STORE(2);
}
#undef FASTNN_NARROW_ACC
#undef FASTNN_NARROW_FMA
#undef FASTNN_NARROW_ROW
#undef FASTNN_NARROW_STORE

// The group of columns starting at J0 and those after it: the N columns are
// split into ceil(N / 3) groups as evenly as possible (10 = 3 + 3 + 2 + 2),
// so no group is narrower than 2 (8 FMA chains) unless N is 1.
template <int N, int J0>
inline void accumulate_groups(const float* a, int64_t a_step, int64_t a_vec, int64_t kq,
                              const float* b, int64_t rs_b, int64_t cs_b, bool start,
                              float sums[][kNarrowNMaxCols][kLanes]) {
  constexpr int groups = (N + kNarrowGroupMax - 1) / kNarrowGroupMax;
  // Width of the group starting at J0: the first N % groups groups are one wider.
  constexpr int base = N / groups, wide = N % groups;
  constexpr int width = J0 < wide * (base + 1) ? base + 1 : base;
  accumulate<width>(a, a_step, a_vec, kq, b + J0 * cs_b, rs_b, cs_b, start, J0, sums);
  if constexpr (J0 + width < N)
    accumulate_groups<N, J0 + width>(a, a_step, a_vec, kq, b, rs_b, cs_b, start, sums);
}

// Copies rows [0, rows) (rows <= 8) of an op(A) with unit row stride, for kq
// values of p (stride cs_a), into panel[p * 8 + r]; rows >= `rows` are zero.
void copy_rows(const float* a, int64_t cs_a, int rows, int64_t kq, float* panel) {
  const __m256i mask = lanes_below(rows);
  if (rows == kLanes)
    for (int64_t p = 0; p < kq; ++p)
      _mm256_store_ps(panel + p * kLanes, _mm256_loadu_ps(a + p * cs_a));
  else
    for (int64_t p = 0; p < kq; ++p)
      _mm256_store_ps(panel + p * kLanes, _mm256_maskload_ps(a + p * cs_a, mask));
}

// Rows [i, i + rows) (rows <= 8R) of C, all N columns, in column groups of at
// most 3. Each KC block is taken kNarrowSub (in place: kNarrowSubInPlace)
// values of p at a time, so that the column groups after the first find those
// rows of A in L1: read in place when op(A) has unit row stride (a partial
// last block is copied, masked), else transposed into `panel` (R * 8 *
// kNarrowSub floats). The accumulators go through `sums` between pieces,
// which continues the same FMA chains.
template <int N>
void row_block(const SgemmNarrowN& s, int64_t i, int rows, float* panel) {
  constexpr int R         = kNarrowRowVectors;
  const __m256i col_mask0 = lanes_below(N), col_mask1 = lanes_below(N - kLanes);
  alignas(32) float sums[R][kNarrowNMaxCols][kLanes];
  // Full rows with unit row stride are read in place, in pieces of
  // kNarrowSubInPlace values of p.
  const bool in_place = s.rs_a == 1 && rows == kLanes * R;
  const int64_t sub   = in_place ? kNarrowSubInPlace : kNarrowSub;

  for (int64_t p0 = 0; p0 < s.k; p0 += s.kc) {
    const int64_t kc = std::min(s.kc, s.k - p0);
    const bool first = p0 == 0;
    const bool last  = p0 + kc == s.k;
    for (int64_t q0 = 0; q0 < kc; q0 += sub) {
      const int64_t kq = std::min<int64_t>(sub, kc - q0);
      const float* a   = panel;  // the panel: R blocks of kq x 8
      int64_t a_step = kLanes, a_vec = kq * kLanes;
      if (in_place) {
        a      = s.a + i + (p0 + q0) * s.cs_a;
        a_step = s.cs_a;
        a_vec  = kLanes;
      } else {
        for (int r = 0; r < R; ++r) {
          const int rows_r = static_cast<int>(std::clamp<int64_t>(rows - kLanes * r, 0, kLanes));
          float* dst       = panel + r * kq * kLanes;
          const int64_t i0 = i + kLanes * r, p = p0 + q0;
          if (rows_r == 0)
            std::fill(dst, dst + kq * kLanes, 0.0f);
          else if (s.rs_a == 1)
            copy_rows(s.a + i0 + p * s.cs_a, s.cs_a, rows_r, kq, dst);
          else
            pack_rows_transposed(s.a + i0 * s.rs_a + p, s.rs_a, rows_r, kq, dst);
        }
      }
      const float* b = s.b + (p0 + q0) * s.rs_b;
      accumulate_groups<N, 0>(a, a_step, a_vec, kq, b, s.rs_b, s.cs_b, q0 == 0, sums);
    }

    const float beta  = first ? s.beta : 1.0f;
    const bool relu   = last && s.relu;
    const float* bias = last ? s.bias : nullptr;
    for (int r = 0; r < R; ++r) {
      const int rows_r = static_cast<int>(std::clamp<int64_t>(rows - kLanes * r, 0, kLanes));
      if (rows_r == 0) break;
      __m256 lo[kLanes], hi[kLanes];
      for (int q = 0; q < kLanes; ++q)
        lo[q] = q < N ? _mm256_load_ps(sums[r][q]) : _mm256_setzero_ps();
      transpose8(lo);
      if constexpr (N > kLanes) {
        for (int q = 0; q < kLanes; ++q)
          hi[q] = kLanes + q < N ? _mm256_load_ps(sums[r][kLanes + q]) : _mm256_setzero_ps();
        transpose8(hi);
      }
      for (int q = 0; q < rows_r; ++q) {
        const int64_t row = i + kLanes * r + q;
        float* c          = s.c + row * s.ldc;
        float* pre        = last && s.pre ? s.pre + row * s.ld_pre : nullptr;
        finish_row<N>(lo[q], N > kLanes ? hi[q] : lo[q], c, pre, bias, s.alpha, beta, relu,
                      col_mask0, col_mask1);
      }
    }
  }
}

template <int N>
void run_columns(const SgemmNarrowN& s) {
  constexpr int rows = kLanes * kNarrowRowVectors;
  thread_local runtime::AlignedBuffer<float> panel;
  panel.reserve(static_cast<size_t>(rows * kNarrowSub));
  for (int64_t i = 0; i < s.m; i += rows)
    row_block<N>(s, i, static_cast<int>(std::min<int64_t>(rows, s.m - i)), panel.data());
}

}  // namespace

void sgemm_narrow_n_avx2(const SgemmNarrowN& s) {
  switch (s.n) {
    case 1:
      return run_columns<1>(s);
    case 2:
      return run_columns<2>(s);
    case 3:
      return run_columns<3>(s);
    case 4:
      return run_columns<4>(s);
    case 5:
      return run_columns<5>(s);
    case 6:
      return run_columns<6>(s);
    case 7:
      return run_columns<7>(s);
    case 8:
      return run_columns<8>(s);
    case 9:
      return run_columns<9>(s);
    case 10:
      return run_columns<10>(s);
    case 11:
      return run_columns<11>(s);
    case 12:
      return run_columns<12>(s);
    default:
      return;  // the driver never calls with n outside 1..kNarrowNMaxCols
  }
}

}  // namespace fastnn::gemm
