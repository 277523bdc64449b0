// AVX2/FMA 6 x 16 microkernel (contract in gemm_kernels.h), compiled with
// -mavx2 -mfma. Twelve ymm accumulators (vacc<row>x<lanes>), two B vectors and
// one broadcast A value per k step: 12 FMAs for 8 loads, enough to keep both
// FMA pipes of a Zen core busy. The epilogue (alpha, beta, bias, the
// pre-activation store and relu) is applied while the tile is in registers.
#include <immintrin.h>

#include "gemm/gemm_kernels.h"
#include "runtime/avx2_tail.h"

namespace fastnn::gemm {

namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

// Writes one row of the tile through the epilogue: lanes j < n only (n <= 16;
// masked loads and the partial stores never touch the other lanes' memory).
template <bool kFull>
inline void store_row(__m256 v0, __m256 v1, float* c, float* pre, const TileEpilogue& ep,
                      __m256i mask0, __m256i mask1, int n) {
  auto load = [&](const float* p, int half) {
    if constexpr (kFull) return _mm256_loadu_ps(p + 8 * half);
    return _mm256_maskload_ps(p + 8 * half, half ? mask1 : mask0);
  };
  auto store = [&](float* p, int half, __m256 v) {
    if constexpr (kFull)
      _mm256_storeu_ps(p + 8 * half, v);
    else
      runtime::store_first_lanes(p + 8 * half, v, half ? n - 8 : n);
  };
  const __m256 valpha = _mm256_set1_ps(ep.alpha);
  v0                  = _mm256_mul_ps(v0, valpha);
  v1                  = _mm256_mul_ps(v1, valpha);
  if (ep.beta != 0.0f) {
    const __m256 vbeta = _mm256_set1_ps(ep.beta);
    v0                 = _mm256_fmadd_ps(vbeta, load(c, 0), v0);
    v1                 = _mm256_fmadd_ps(vbeta, load(c, 1), v1);
  }
  if (ep.bias) {
    v0 = _mm256_add_ps(v0, load(ep.bias, 0));
    v1 = _mm256_add_ps(v1, load(ep.bias, 1));
  }
  if (pre) {
    store(pre, 0, v0);
    store(pre, 1, v1);
  }
  if (ep.relu) {
    const __m256 vzero = _mm256_setzero_ps();
    v0                 = _mm256_andnot_ps(_mm256_cmp_ps(v0, vzero, _CMP_LT_OQ), v0);
    v1                 = _mm256_andnot_ps(_mm256_cmp_ps(v1, vzero, _CMP_LT_OQ), v1);
  }
  store(c, 0, v0);
  store(c, 1, v1);
}

// k-loop of the packed case in assembly: GCC's allocation of the 12
// accumulators around the intrinsics version adds register moves to the
// loop body. ymm4..15 hold rows 0..5 (row r: ymm(4+2r) lanes 0-7, ymm(5+2r)
// lanes 8-15); ymm0/1 the B row, ymm2/3 broadcast A values. The FMA of each
// lane, in k order, is the same as the intrinsics kernel's (bit-identical).
// Ends by storing the accumulators to the 6 x 16 block at out, rows ld floats
// apart.
void kloop_packed_asm(int64_t k, const float* a, const float* b, float* out, int64_t ld) {
  int64_t k4 = k >> 2, k1 = k & 3;
  const int64_t ld_bytes = ld * static_cast<int64_t>(sizeof(float));
  float* row             = nullptr;
  asm volatile(
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n\t"
      "vxorps %%ymm13, %%ymm13, %%ymm13\n\t"
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
      "test %[k4], %[k4]\n\t"
      "jz 2f\n\t"
      ".p2align 5\n\t"
      "1:\n\t"
      "prefetcht0 384(%[a])\n\t"
      "vmovups 0(%[b]), %%ymm0\n\t"
      "vmovups 32(%[b]), %%ymm1\n\t"
      "vbroadcastss 0(%[a]), %%ymm2\n\t"
      "vbroadcastss 4(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"
      "vbroadcastss 8(%[a]), %%ymm2\n\t"
      "vbroadcastss 12(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"
      "vbroadcastss 16(%[a]), %%ymm2\n\t"
      "vbroadcastss 20(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"
      "vmovups 64(%[b]), %%ymm0\n\t"
      "vmovups 96(%[b]), %%ymm1\n\t"
      "vbroadcastss 24(%[a]), %%ymm2\n\t"
      "vbroadcastss 28(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"
      "vbroadcastss 32(%[a]), %%ymm2\n\t"
      "vbroadcastss 36(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"
      "vbroadcastss 40(%[a]), %%ymm2\n\t"
      "vbroadcastss 44(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"
      "vmovups 128(%[b]), %%ymm0\n\t"
      "vmovups 160(%[b]), %%ymm1\n\t"
      "vbroadcastss 48(%[a]), %%ymm2\n\t"
      "vbroadcastss 52(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"
      "vbroadcastss 56(%[a]), %%ymm2\n\t"
      "vbroadcastss 60(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"
      "vbroadcastss 64(%[a]), %%ymm2\n\t"
      "vbroadcastss 68(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"
      "vmovups 192(%[b]), %%ymm0\n\t"
      "vmovups 224(%[b]), %%ymm1\n\t"
      "vbroadcastss 72(%[a]), %%ymm2\n\t"
      "vbroadcastss 76(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"
      "vbroadcastss 80(%[a]), %%ymm2\n\t"
      "vbroadcastss 84(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"
      "vbroadcastss 88(%[a]), %%ymm2\n\t"
      "vbroadcastss 92(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"
      "add $96, %[a]\n\t"
      "add $256, %[b]\n\t"
      "dec %[k4]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "test %[k1], %[k1]\n\t"
      "jz 4f\n\t"
      "3:\n\t"
      "vmovups 0(%[b]), %%ymm0\n\t"
      "vmovups 32(%[b]), %%ymm1\n\t"
      "vbroadcastss 0(%[a]), %%ymm2\n\t"
      "vbroadcastss 4(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm4\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm5\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm6\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm7\n\t"
      "vbroadcastss 8(%[a]), %%ymm2\n\t"
      "vbroadcastss 12(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm8\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm9\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm10\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm11\n\t"
      "vbroadcastss 16(%[a]), %%ymm2\n\t"
      "vbroadcastss 20(%[a]), %%ymm3\n\t"
      "vfmadd231ps %%ymm0, %%ymm2, %%ymm12\n\t"
      "vfmadd231ps %%ymm1, %%ymm2, %%ymm13\n\t"
      "vfmadd231ps %%ymm0, %%ymm3, %%ymm14\n\t"
      "vfmadd231ps %%ymm1, %%ymm3, %%ymm15\n\t"
      "add $24, %[a]\n\t"
      "add $64, %[b]\n\t"
      "dec %[k1]\n\t"
      "jnz 3b\n\t"
      "4:\n\t"
      "vmovups %%ymm4, 0(%[out])\n\t"
      "vmovups %%ymm5, 32(%[out])\n\t"
      "vmovups %%ymm6, 0(%[out],%[ld],1)\n\t"
      "vmovups %%ymm7, 32(%[out],%[ld],1)\n\t"
      "vmovups %%ymm8, 0(%[out],%[ld],2)\n\t"
      "vmovups %%ymm9, 32(%[out],%[ld],2)\n\t"
      "lea (%[out],%[ld],2), %[row]\n\t"
      "vmovups %%ymm10, 0(%[row],%[ld],1)\n\t"
      "vmovups %%ymm11, 32(%[row],%[ld],1)\n\t"
      "vmovups %%ymm12, 0(%[out],%[ld],4)\n\t"
      "vmovups %%ymm13, 32(%[out],%[ld],4)\n\t"
      "lea (%[out],%[ld],4), %[row]\n\t"
      "vmovups %%ymm14, 0(%[row],%[ld],1)\n\t"
      "vmovups %%ymm15, 32(%[row],%[ld],1)\n\t"
      : [a] "+r"(a), [b] "+r"(b), [k4] "+r"(k4), [k1] "+r"(k1), [row] "=&r"(row)
      : [out] "r"(out), [ld] "r"(ld_bytes)
      : "ymm0", "ymm1", "ymm2", "ymm3", "ymm4", "ymm5", "ymm6", "ymm7", "ymm8", "ymm9", "ymm10",
        "ymm11", "ymm12", "ymm13", "ymm14", "ymm15", "memory", "cc");
}

// kPackedA: A is a packed panel (rs_a = 1, cs_a = 6) and its offsets are
// compile-time constants; otherwise A is read in place with any strides.
// kIndexedB: A is a compacted panel of k steps, step q of B's row ks[q]
// (SgemmSkipUkernel). Stores the accumulators to the 6 x 16 block at out,
// rows ld floats apart.
template <bool kPackedA, bool kIndexedB = false>
void accumulate_6x16(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                     int64_t rs_b, float* out, int64_t ld, const int32_t* ks = nullptr) {
  __m256 vacc0x0 = _mm256_setzero_ps(), vacc0x8 = _mm256_setzero_ps();
  __m256 vacc1x0 = _mm256_setzero_ps(), vacc1x8 = _mm256_setzero_ps();
  __m256 vacc2x0 = _mm256_setzero_ps(), vacc2x8 = _mm256_setzero_ps();
  __m256 vacc3x0 = _mm256_setzero_ps(), vacc3x8 = _mm256_setzero_ps();
  __m256 vacc4x0 = _mm256_setzero_ps(), vacc4x8 = _mm256_setzero_ps();
  __m256 vacc5x0 = _mm256_setzero_ps(), vacc5x8 = _mm256_setzero_ps();

#define FASTNN_UK_STEP(A0, A1, A2, A3, A4, A5)     \
  do {                                             \
    const __m256 vb0 = _mm256_loadu_ps(b);         \
    const __m256 vb8 = _mm256_loadu_ps(b + 8);     \
    b += rs_b;                                     \
    __m256 va = _mm256_broadcast_ss(A0);           \
    vacc0x0   = _mm256_fmadd_ps(va, vb0, vacc0x0); \
    vacc0x8   = _mm256_fmadd_ps(va, vb8, vacc0x8); \
    va        = _mm256_broadcast_ss(A1);           \
    vacc1x0   = _mm256_fmadd_ps(va, vb0, vacc1x0); \
    vacc1x8   = _mm256_fmadd_ps(va, vb8, vacc1x8); \
    va        = _mm256_broadcast_ss(A2);           \
    vacc2x0   = _mm256_fmadd_ps(va, vb0, vacc2x0); \
    vacc2x8   = _mm256_fmadd_ps(va, vb8, vacc2x8); \
    va        = _mm256_broadcast_ss(A3);           \
    vacc3x0   = _mm256_fmadd_ps(va, vb0, vacc3x0); \
    vacc3x8   = _mm256_fmadd_ps(va, vb8, vacc3x8); \
    va        = _mm256_broadcast_ss(A4);           \
    vacc4x0   = _mm256_fmadd_ps(va, vb0, vacc4x0); \
    vacc4x8   = _mm256_fmadd_ps(va, vb8, vacc4x8); \
    va        = _mm256_broadcast_ss(A5);           \
    vacc5x0   = _mm256_fmadd_ps(va, vb0, vacc5x0); \
    vacc5x8   = _mm256_fmadd_ps(va, vb8, vacc5x8); \
  } while (0)

  if constexpr (kIndexedB) {
    // A compacted panel: step q reads B's row ks[q].
    (void)rs_a;
    (void)cs_a;
    const float* b0 = b;
    for (int64_t q = 0; q < k; ++q, a += 6) {
      b = b0 + ks[q] * rs_b;
      FASTNN_UK_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
    }
  } else if constexpr (kPackedA) {
    (void)rs_a;
    (void)cs_a;
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      _mm_prefetch(reinterpret_cast<const char*>(b + 8 * rs_b), _MM_HINT_T0);
      FASTNN_UK_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
      FASTNN_UK_STEP(a + 6, a + 7, a + 8, a + 9, a + 10, a + 11);
      FASTNN_UK_STEP(a + 12, a + 13, a + 14, a + 15, a + 16, a + 17);
      FASTNN_UK_STEP(a + 18, a + 19, a + 20, a + 21, a + 22, a + 23);
      a += 24;
    }
    for (; p < k; ++p, a += 6) FASTNN_UK_STEP(a + 0, a + 1, a + 2, a + 3, a + 4, a + 5);
  } else {
    const float* a0 = a;
    const float* a1 = a0 + rs_a;
    const float* a2 = a1 + rs_a;
    const float* a3 = a2 + rs_a;
    const float* a4 = a3 + rs_a;
    const float* a5 = a4 + rs_a;
    int64_t off     = 0;
    for (int64_t p = 0; p < k; ++p, off += cs_a)
      FASTNN_UK_STEP(a0 + off, a1 + off, a2 + off, a3 + off, a4 + off, a5 + off);
  }
#undef FASTNN_UK_STEP

  _mm256_storeu_ps(out + 0 * ld, vacc0x0), _mm256_storeu_ps(out + 0 * ld + 8, vacc0x8);
  _mm256_storeu_ps(out + 1 * ld, vacc1x0), _mm256_storeu_ps(out + 1 * ld + 8, vacc1x8);
  _mm256_storeu_ps(out + 2 * ld, vacc2x0), _mm256_storeu_ps(out + 2 * ld + 8, vacc2x8);
  _mm256_storeu_ps(out + 3 * ld, vacc3x0), _mm256_storeu_ps(out + 3 * ld + 8, vacc3x8);
  _mm256_storeu_ps(out + 4 * ld, vacc4x0), _mm256_storeu_ps(out + 4 * ld + 8, vacc4x8);
  _mm256_storeu_ps(out + 5 * ld, vacc5x0), _mm256_storeu_ps(out + 5 * ld + 8, vacc5x8);
}

// Writes the accumulated tile acc[6 * 16] to C through the epilogue, rows
// r < m, lanes j < n (masked for an edge tile: no access outside it).
void finish_tile(const float* acc, float* c, int64_t ldc, int m, int n, const TileEpilogue& ep) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes);
  const __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), lanes);
  for (int r = 0; r < m; ++r) {
    const __m256 v0 = _mm256_load_ps(acc + r * kNr), v1 = _mm256_load_ps(acc + r * kNr + 8);
    float* pre = ep.pre ? ep.pre + r * ep.ld_pre : nullptr;
    if (n == kNr)
      store_row<true>(v0, v1, c + r * ldc, pre, ep, mask0, mask1, n);
    else
      store_row<false>(v0, v1, c + r * ldc, pre, ep, mask0, mask1, n);
  }
}

// Dispatches on whether A is a packed panel (the common, faster case).
void sgemm_ukernel_6x16_avx2(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* b,
                             int64_t rs_b, float* c, int64_t ldc, int m, int n,
                             const TileEpilogue& ep) {
  sgemm_prefetch_c_tile(c, ldc, m, n);
  // The plain product of a full tile (most tiles of a GEMM with one K block)
  // goes from the registers straight to C: that is what the epilogue computes
  // (x * 1 = x, no other term). Otherwise the tile goes through acc.
  const bool plain = m == kMr && n == kNr && sgemm_plain_epilogue(ep);
  alignas(32) float acc[kMr * kNr];
  float* out       = plain ? c : acc;
  const int64_t ld = plain ? ldc : kNr;
  if (rs_a == 1 && cs_a == kMr && rs_b == kNr)
    kloop_packed_asm(k, a, b, out, ld);
  else if (rs_a == 1 && cs_a == kMr)
    accumulate_6x16<true>(k, a, rs_a, cs_a, b, rs_b, out, ld);
  else
    accumulate_6x16<false>(k, a, rs_a, cs_a, b, rs_b, out, ld);
  if (!plain) finish_tile(acc, c, ldc, m, n, ep);
}

// The tile over a compacted panel (SgemmSkipUkernel): the intrinsics k-loop
// with B's rows by index, the same FMAs per lane as the dense kernel's.
void sgemm_ukernel_skip_6x16_avx2(int64_t count, const int32_t* ks, const float* a, const float* b,
                                  int64_t rs_b, float* c, int64_t ldc, int m, int n,
                                  const TileEpilogue& ep) {
  sgemm_prefetch_c_tile(c, ldc, m, n);
  // A plain full tile goes from the registers straight to C (see below).
  const bool plain = m == kMr && n == kNr && sgemm_plain_epilogue(ep);
  alignas(32) float acc[kMr * kNr];
  accumulate_6x16<true, true>(count, a, 1, kMr, b, rs_b, plain ? c : acc, plain ? ldc : kNr, ks);
  if (!plain) finish_tile(acc, c, ldc, m, n, ep);
}

}  // namespace

const SgemmKernels kSgemmKernelsAvx2 = {
    kMr,
    kNr,
    sgemm_ukernel_6x16_avx2,
    sgemm_pack_a_6_avx2,
    sgemm_pack_b_16_avx2,
    sgemm_small_m_avx2,
    sgemm_narrow_n_avx2,
    64,
    sgemm_ukernel_skip_6x16_avx2,
    sgemm_pack_a_skip_zero_6_avx2,
};

}  // namespace fastnn::gemm
