// The BLIS-style driver: five loops around the per-ISA microkernel.
//
//   threads: a tm x tn grid of C rectangles (MR / NR aligned), one each
//   for jc in the rectangle's columns, step NC   B block op(B)[:, jc:jc+NC]
//     for pc in [0, k) step KC                   K is never split
//       pack B block (KC x NC) into NR-wide panels, per thread       (L3)
//       for ic in the rectangle's rows, step MC
//         pack A block (MC x KC) into MR-tall panels, per thread     (L2)
//         for jr in the B block's NR panels
//           for ir in the A block's MR panels
//             microkernel: MR x NR tile of C, epilogue on the last pc (L1)
//
// Small-problem path: an operand with little reuse is read in place by the
// microkernel instead of being packed (choose_packing(); only the partial
// edge panel is packed, so nothing outside the matrices is ever read).
//
// Small-M path (m <= kSmallMMaxRows, op(B) not transposed, no prologue): no
// tiles at all; the per-ISA SgemmSmallM kernel broadcasts A and streams B's
// rows (run_small_m()). Same KC blocks and epilogue operations as the tiled
// path, so the choice changes only the speed, never a bit of the result.
//
// Block sizes for this machine (AMD EPYC family 25 model 17, /sys/devices/
// system/cpu/cpu0/cache: L1d 32 KiB 8-way, L2 1 MiB 8-way per core, L3 32 MiB
// shared; AVX-512 with double-pumped 512-bit FMAs, so the AVX2 6 x 16 and the
// AVX-512 8 x 32 kernels have the same 32 FLOP/cycle peak):
//   KC = 512: one packed B micro-panel (512 x 16 x 4 B = 32 KiB) streams
//             through L1 against A micro-panels of 12 KiB; the C tile is
//             loaded and stored once per 512 k steps. (The AVX-512 tiles'
//             32-column panels, 64 KiB, stream from L2; KC stays 512 for
//             them because it fixes where the k-sums restart, so that both
//             levels give the same bits.)
//   MC = 96:  the packed A block (96 x 512 x 4 B = 192 KiB) stays in L2 while
//             every B micro-panel of the block streams past it; a multiple of
//             every ISA's MR (4, 6 and 8).
//   NC = 4064: the packed B block (512 x 4064 x 4 B = 8 MiB) fits L3; a
//             multiple of every NR (8, 16 and 32); blocks are evened out
//             (n = 4096 makes two of 2048).
// Measured with bench/bench_gemm.cpp BM_sgemm_square (n = 1024, 2048, one
// thread, three runs each): (MC, KC) = (96, 512) 95-97 GFLOP/s on both sizes;
// (144, 256) 86-92 at 1024 and 92-103 at 2048; (288, 256) and (480, 256) no
// better; KC = 384 runs were inconclusive on this shared machine.
// Only KC changes the arithmetic (the order of the k-sums); it is a constant,
// so a result never depends on the thread count, on how M/N are split, or on
// whether an operand was packed or read in place (the small-problem path).
#include "gemm/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "gemm/gemm_kernels.h"
#include "ops/activations.h"
#include "runtime/aligned_buffer.h"
#include "runtime/dispatch.h"
#include "runtime/team.h"
#include "runtime/threads.h"

namespace fastnn::gemm {

using ops::ActivationKind;

const SgemmKernels& sgemm_kernels() {
#if defined(FASTNN_HAVE_AVX512)
  if (runtime::isa_at_least(runtime::Isa::avx512)) return kSgemmKernelsAvx512;
#endif
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2)) return kSgemmKernelsAvx2;
#endif
  return kSgemmKernelsGeneric;
}

namespace {

constexpr int64_t kKC = 512;
constexpr int64_t kMC = 96;
constexpr int64_t kNC = 4064;

// Below this many flops (2*m*n*k) a call runs on one thread. Measured with
// fastnn.ops.matmul on squares, 1 vs 2 threads, libgomp's default wait policy,
// on this 2-core machine while other jobs ran: s = 80 (1 MFLOP) 1.01x,
// s = 100 (2 MFLOP) 1.22x, s = 128 (4 MFLOP) 1.60x; at s <= 64 the second
// thread lost (and a preempted spinning thread can stall a call for a whole
// scheduler slice, ~10 ms).
constexpr double kParallelMinFlops = 2.0e6;

// Inside a team session (runtime/team.h) the workers are awake and a region
// costs ~1-2 us, so smaller products pay for a second thread: the seed
// network's 32 x 128 x 128 layer (1.05 MFLOP) made the 2-thread batch-32 step
// 1.13x faster (paired, other batch sizes unchanged).
constexpr double kTeamParallelMinFlops = 1.0e6;

// Small-problem thresholds (see choose_packing()).
constexpr int64_t kSupMaxNForUnpackedA     = 256;
constexpr int64_t kSupMaxMForUnpackedB     = 64;
constexpr int64_t kSupMaxTransposedAFloats = (512 << 10) / 4;  // half of L2
constexpr int64_t kSupMinNForPackedTransA  = 64;
constexpr int64_t kSupWideNForPackedB      = 512;
constexpr int64_t kSupWideKForPackedB      = 512;
constexpr int64_t kSupWiderNForPackedB     = 1024;
constexpr int64_t kSupWiderKForPackedB     = 256;

// Small-M path (SgemmSmallM in gemm_kernels.h): up to this many rows of C
// are computed without packing or tiles. Measured single-thread with
// bench/bench_gemm.cpp BM_sgemm_small_m (forward X * W + bias, relu), medians,
// tiled driver -> small-M path, microseconds (3.6 GHz; the other core busy):
//   784 -> 128: m = 1: 13.2-17.4 -> 3.6 (B streams from L2 at ~32 B/cycle:
//               the floor), m = 2: 12.2 -> 6.1, m = 3: 13.3 -> 5.5,
//               m = 4: 13.2 -> 7.5, m = 5: 13.1 -> 11.2 (a second run: the
//               tiled one faster), m = 6: 11.4 -> 13.5 (tiled wins: full 6-row
//               tiles).
//   128 -> 128: m = 1: 2.16 -> 0.76, m = 4: 2.3 -> 1.46, m = 6: 2.0 -> 2.7.
//   128 -> 10:  m = 1: 0.85 -> 0.17, m = 4: 0.99 -> 0.21.
// Threshold: m <= 4, where it wins on every shape.
constexpr int64_t kSmallMMaxRows = 4;
// Columns per thread share of the small-M path (a multiple of every chunk).
constexpr int64_t kSmallMColumnUnit = 192;

std::atomic<int> g_force_pack_a{-1};
std::atomic<int> g_force_pack_b{-1};
std::atomic<int> g_force_small_m{-1};
std::atomic<int> g_force_narrow_n{-1};
std::atomic<int> g_force_skip_zero{-1};

// Rows per thread share of the narrow-N path (a multiple of its row blocks).
constexpr int64_t kNarrowNRowUnit = 32;
static_assert(kKC == kNarrowNMaxKc, "the narrow-N path restarts its sums at the same KC blocks");

bool is_active(const Prologue* p) { return p != nullptr && p->act != ActivationKind::linear; }

bool epilogue_act_supported(ActivationKind act) {
  return act == ActivationKind::linear || act == ActivationKind::relu ||
         act == ActivationKind::sigmoid || act == ActivationKind::tanh;
}

// n consecutive floats of a row of C through the epilogue's activation:
// sigmoid and tanh by the active ISA's vectorized activation kernel, the one
// ops::activation_forward uses, so a fused layer gives the values of the
// unfused GEMM + activation.
void activate_row(ActivationKind act, float* row, int64_t n) {
  switch (act) {
    case ActivationKind::relu:
      for (int64_t j = 0; j < n; ++j) row[j] = row[j] < 0.0f ? 0.0f : row[j];
      break;
    case ActivationKind::sigmoid:
    case ActivationKind::tanh:
      ops::activation_kernels().forward(act, row, row, n, ops::ActivationParams{});
      break;
    default:
      break;
  }
}

struct Plan {
  const SgemmKernels* kern;
  bool trans_a, trans_b;
  int64_t m, n, k;
  float alpha, beta;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  const Epilogue* epilogue;
  const Prologue* prologue_a;
  const Prologue* prologue_b;
  bool pack_a, pack_b;
  // sgemm_skip_zero_a: A packed into compacted panels (pack_a is then true),
  // the kept steps counted into *kept_steps.
  bool skip_zero_a                 = false;
  std::atomic<int64_t>* kept_steps = nullptr;
};

// The packing decision (the small-problem path reads an operand in place).
// A packed A block is reused by every NR panel of the B block, a packed B
// block by every MR panel of A; with little reuse the copy costs more than the
// strided reads it saves. Measured single-thread with bench/bench_gemm.cpp,
// medians of 7 (BM_sgemm_path: MLP shapes, every combination forced;
// BM_sgemm_square_path: m x n x n with small m):
//   A in place wins while n is small: n = 10: 32-51 vs 16-29 GFLOP/s packed;
//     n = 128 (m = 128 or 1024, NN): 95-106 vs 85-89; n = 784: packed wins
//     (104 vs 92). Threshold: n <= 256.
//   A transposed (TN) and read in place touches one cache line per k step
//   per MR panel and uses 6 of its 16 floats; the rest are read by later
//   panels, so all of op(A) must stay in L2 meanwhile. CPU time, n = 128:
//   m x k = 784 x 128 or 128 x 1024 (<= 512 KiB): in place 1.06-1.19x faster;
//   784 x 256, 784 x 512, 784 x 1024 (>= 784 KiB): packed 1.05-1.10x faster.
//   Threshold: op(A) <= 512 KiB, half of this L2.
//   B in place wins only for a few row panels: m = 6..48: 56-108 vs 39-89
//     GFLOP/s packed; m = 96: mixed (106 vs 79 at n = k = 128, 87 vs 98 at
//     512); m = 128, k = 784: packed 97 vs 70. Threshold: m <= 64. The
//     AVX-512 8 x 32 tiles read two whole cache lines of B per k step, and
//     a B of at most 256 columns is read in place for more rows
//     (SgemmKernels::max_m_unpacked_narrow_b); single-thread medians of 5,
//     in place vs packed, n = 128: NN m = 128 113.0 vs 108.4 (k = 784) and
//     112.0 vs 109.8 (k = 128), TN m = 128 111.3-113.1 vs 108.3-109.6;
//     m = 256 112.4-112.9 vs 111.7-112.5; m = 784 (TN) 109.4-111.1 vs
//     112.1-112.8 and m = 1024 (NN) 109.2-111.5 vs 112.6-113.1: packed.
//     Alternated in one process through ops.matmul, in place / packed:
//     128 x 784 x 128 0.93 (1 thread), 0.83-0.93 (2); 128 x 128 x 128
//     0.91-0.97; 256 x 784 x 128 0.96 (1 thread) but 0.95-1.15 (2).
//     Threshold for those tiles: m <= 128 (n <= 256; wider B unmeasured).
// Few rows (m <= 64) but wide (n >= 512): a sweep through fastnn.ops.matmul,
// NN and TN, m in {16..64}, n in {256, 512, 1024}, k in {64, 256, 784}, every
// combination forced, one thread, showed A packed with B in place (the rules
// above) up to 1.8x slower than the best: the few MR panels of A are in cache
// anyway, while B read in place streams rows n floats apart. There, A stays in
// place and B is packed once k >= 512 (n >= 512) or k >= 256 (n >= 1024):
// 64 x 1024 x 256 376 us against 694, 64 x 512 x 784 544 against 653; below
// those, B in place is 5-10 % faster. And a transposed A is packed only when C
// has more than 64 columns to reuse it: 256 x 32 x 784 TN 127 us in place
// against 160 packed. Over the 126 shapes of each sweep the chosen path now
// averages 1.009x the best one's time (was 1.06x), at worst 1.11x (was 1.85x).
// Reading in place needs no prologue on that operand, and B needs unit column
// stride (not transposed).
void choose_packing(Plan& p) {
  const bool few_rows = p.m <= kSupMaxMForUnpackedB;
  const bool b_in_place_rows =
      few_rows || (p.m <= p.kern->max_m_unpacked_narrow_b && p.n <= kSupMaxNForUnpackedA);
  p.pack_a = is_active(p.prologue_a) || (p.n > kSupMaxNForUnpackedA && !few_rows) ||
             (p.trans_a && p.m * p.k > kSupMaxTransposedAFloats && p.n > kSupMinNForPackedTransA);
  p.pack_b = is_active(p.prologue_b) || p.trans_b || !b_in_place_rows ||
             (p.n >= kSupWideNForPackedB && p.k >= kSupWideKForPackedB) ||
             (p.n >= kSupWiderNForPackedB && p.k >= kSupWiderKForPackedB);
  const int fa = g_force_pack_a.load(std::memory_order_relaxed);
  const int fb = g_force_pack_b.load(std::memory_order_relaxed);
  if (fa >= 0) p.pack_a = fa == 1 || is_active(p.prologue_a);
  if (fb >= 0) p.pack_b = fb == 1 || is_active(p.prologue_b) || p.trans_b;
  if (p.skip_zero_a) p.pack_a = true;  // the compacted panels are packed
}

// Thread grid tm x tn (tm * tn == threads) minimizing the largest share of
// work: its tiles, plus the panels it packs. Every thread packs the B panels
// of its own columns and the A panels of its own rows, so splitting M makes
// each thread pack all of B: per k step a tile costs 12 FMAs (6 cycles), a
// packed 16-column B panel about 2 cycles, a packed 6-row A panel about 3.
// For X * W of the seed network at batch 128 (22 x 8 tiles, B packed) the
// two splits hold 88 tiles each and splitting N packs half as much. Ties
// prefer splitting M.
void choose_grid(int64_t mp, int64_t np, int threads, bool pack_a, bool pack_b, int* tm, int* tn) {
  double best = -1.0;
  for (int t = threads; t >= 1; --t) {
    if (threads % t) continue;
    const int u       = threads / t;
    const double rows = static_cast<double>((mp + t - 1) / t);
    const double cols = static_cast<double>((np + u - 1) / u);
    const double cost = rows * cols + (pack_b ? cols / 3.0 : 0.0) + (pack_a ? rows / 2.0 : 0.0);
    if (best < 0.0 || cost < best) {
      best = cost;
      *tm  = t;
      *tn  = u;
    }
  }
}

// One thread's share: the rectangle rows [row_begin, row_end) x columns
// [col_begin, col_end) of C (MR / NR aligned), computed with no
// synchronization: each thread packs the A and B blocks its rectangle needs
// into its own buffers. When the grid splits M, B blocks are packed by every
// thread; that duplicate copy costs ~16/m of the compute (m / threads rows
// share it) and buys a region without barriers, which matters on a machine
// whose other core is busy (a preempted thread stalls every barrier).
void run_rectangle(const Plan& P, int64_t row_begin, int64_t row_end, int64_t col_begin,
                   int64_t col_end) {
  const SgemmKernels& K = *P.kern;
  const int mr = K.mr, nr = K.nr;

  // Per-thread buffers, allocated once per thread and reused by later calls.
  thread_local runtime::AlignedBuffer<float> abuf;
  thread_local runtime::AlignedBuffer<float> bbuf;
  thread_local runtime::AlignedBuffer<float> edge_a;
  thread_local runtime::AlignedBuffer<float> edge_b;
  // sgemm_skip_zero_a: each A panel's kept k offsets and their count.
  thread_local std::vector<int32_t> kept_k;
  thread_local std::vector<int64_t> kept_count;
  if (P.pack_a) abuf.reserve(static_cast<size_t>(kMC * kKC));
  if (P.skip_zero_a) {
    abuf.reserve(static_cast<size_t>((kMC + mr - 1) / mr * sgemm_skip_panel_stride(mr, kKC)));
    kept_k.resize(static_cast<size_t>((kMC + mr - 1) / mr * kKC));
    kept_count.resize(static_cast<size_t>((kMC + mr - 1) / mr));
  }
  if (P.pack_b) {
    const int64_t width_pad = (std::min(col_end - col_begin, kNC) + nr - 1) / nr * nr;
    bbuf.reserve(static_cast<size_t>(width_pad * std::min(P.k, kKC)));
  }
  edge_a.reserve(static_cast<size_t>(mr * kKC));
  edge_b.reserve(static_cast<size_t>(nr * kKC));

  const Epilogue* E        = P.epilogue;
  const ActivationKind act = E ? E->act : ActivationKind::linear;
  const bool post_act      = act == ActivationKind::sigmoid || act == ActivationKind::tanh;

  // B blocks of equal width (a multiple of NR, at most NC): 4096 columns make
  // two blocks of 2048, not 4080 + 16.
  const int64_t width   = col_end - col_begin;
  const int64_t nblocks = (width + kNC - 1) / kNC;
  const int64_t nc_step = ((width + nblocks - 1) / nblocks + nr - 1) / nr * nr;
  for (int64_t jc = col_begin; jc < col_end; jc += nc_step) {
    const int64_t nc = std::min(nc_step, col_end - jc);
    const int64_t np = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < P.k; pc += kKC) {
      const int64_t kc = std::min(kKC, P.k - pc);
      const bool first = pc == 0, last = pc + kc == P.k;
      if (P.pack_b) K.pack_b(P.b, P.ldb, P.trans_b, pc, jc, kc, nc, P.prologue_b, bbuf.data());
      TileEpilogue ep;
      ep.alpha = P.alpha;
      ep.beta  = first ? P.beta : 1.0f;
      ep.relu  = last && act == ActivationKind::relu;

      for (int64_t ib = row_begin; ib < row_end; ib += kMC) {
        const int64_t mc = std::min(kMC, row_end - ib);
        if (P.skip_zero_a) {
          K.pack_a_skip_zero(P.a, P.lda, P.trans_a, ib, pc, mc, kc, abuf.data(), kept_k.data(),
                             kept_count.data());
          if (jc == 0) {  // counted once, by the rectangles holding C's first columns
            int64_t kept = 0;
            for (int64_t t = 0; t < (mc + mr - 1) / mr; ++t) kept += kept_count[t];
            P.kept_steps->fetch_add(kept, std::memory_order_relaxed);
          }
        } else if (P.pack_a) {
          K.pack_a(P.a, P.lda, P.trans_a, ib, pc, mc, kc, P.prologue_a, abuf.data());
        } else if (mc % mr) {
          const int64_t tail = mc / mr * mr;
          K.pack_a(P.a, P.lda, P.trans_a, ib + tail, pc, mc - tail, kc, nullptr, edge_a.data());
        }
        for (int64_t s = 0; s < np; ++s) {
          const int64_t j = jc + s * nr;
          const int ncols = static_cast<int>(std::min<int64_t>(nr, P.n - j));
          const float* bp = nullptr;
          int64_t rs_b    = nr;
          if (P.pack_b) {
            bp = bbuf.data() + s * nr * kc;
          } else if (ncols == nr) {
            bp   = P.b + pc * P.ldb + j;
            rs_b = P.ldb;
          } else {
            K.pack_b(P.b, P.ldb, P.trans_b, pc, j, kc, ncols, nullptr, edge_b.data());
            bp = edge_b.data();
          }
          ep.bias = last && E && E->bias ? E->bias + j : nullptr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int rows  = static_cast<int>(std::min<int64_t>(mr, mc - ir));
            const int64_t i = ib + ir;
            const float* ap;
            int64_t rs_a = 1, cs_a = mr;
            if (P.skip_zero_a) {
              ap = abuf.data() + ir / mr * sgemm_skip_panel_stride(mr, kc);
            } else if (P.pack_a) {
              ap = abuf.data() + ir * kc;
            } else if (rows < mr) {
              ap = edge_a.data();
            } else if (P.trans_a) {
              ap   = P.a + pc * P.lda + i;
              cs_a = P.lda;
            } else {
              ap   = P.a + i * P.lda + pc;
              rs_a = P.lda;
              cs_a = 1;
            }
            ep.pre =
                last && E && E->pre_activation ? E->pre_activation + i * E->ld_pre + j : nullptr;
            ep.ld_pre = E ? E->ld_pre : 0;
            float* ct = P.c + i * P.ldc + j;
            if (P.skip_zero_a)
              K.ukernel_skip(kept_count[ir / mr], kept_k.data() + ir / mr * kc, ap, bp, rs_b, ct,
                             P.ldc, rows, ncols, ep);
            else
              K.ukernel(kc, ap, rs_a, cs_a, bp, rs_b, ct, P.ldc, rows, ncols, ep);
            if (last && post_act)
              for (int ii = 0; ii < rows; ++ii) activate_row(act, ct + ii * P.ldc, ncols);
          }
        }
      }
    }
  }
}

// Thread `tid` of `threads` computes its rectangle of the tm x tn grid.
void run_plan(const Plan& P, int tid, int threads) {
  const int mr = P.kern->mr, nr = P.kern->nr;
  const int64_t mp = (P.m + mr - 1) / mr, np = (P.n + nr - 1) / nr;
  int tm = 1, tn = 1;
  choose_grid(mp, np, threads, P.pack_a, P.pack_b, &tm, &tn);
  int64_t r0, r1, s0, s1;
  runtime::split_range(mp, tm, tid / tn, &r0, &r1);
  runtime::split_range(np, tn, tid % tn, &s0, &s1);
  if (r0 >= r1 || s0 >= s1) return;
  run_rectangle(P, r0 * mr, std::min(r1 * mr, P.m), s0 * nr, std::min(s1 * nr, P.n));
}

// C := beta * C (C not read when beta == 0), then the epilogue: the result
// when op(A) * op(B) contributes nothing (k == 0 or alpha == 0).
void scale_and_epilogue(int64_t m, int64_t n, float beta, float* c, int64_t ldc,
                        const Epilogue* e) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float v = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      if (e) {
        if (e->bias) v += e->bias[j];
        if (e->pre_activation) e->pre_activation[i * e->ld_pre + j] = v;
      }
      c[i * ldc + j] = v;
    }
    if (e) activate_row(e->act, c + i * ldc, n);
  }
}

// The fields every direct (small-M, narrow-N) path fills alike: sizes, op(A),
// C, and what the kernels fuse from the epilogue (bias, pre-activation, relu).
// Returns the activation; sigmoid and tanh are applied after the kernel, by
// apply_post_activation.
ActivationKind set_direct(SgemmDirect& s, bool trans_a, int64_t m, int64_t n, int64_t k,
                          float alpha, const float* a, int64_t lda, float beta, float* c,
                          int64_t ldc, const Epilogue* e) {
  s.m = m, s.n = n, s.k = k, s.kc = kKC;
  s.alpha = alpha, s.beta = beta;
  s.a    = a;
  s.rs_a = trans_a ? 1 : lda;
  s.cs_a = trans_a ? lda : 1;
  s.c = c, s.ldc = ldc;
  const ActivationKind act = e ? e->act : ActivationKind::linear;
  if (e) s.bias = e->bias, s.pre = e->pre_activation, s.ld_pre = e->ld_pre;
  s.relu = act == ActivationKind::relu;
  return act;
}

// Rows [i0, i1) x columns [j0, j1) of C through the activations the direct
// kernels do not fuse (sigmoid, tanh); nothing for the others.
void apply_post_activation(ActivationKind act, float* c, int64_t ldc, int64_t i0, int64_t i1,
                           int64_t j0, int64_t j1) {
  if (act != ActivationKind::sigmoid && act != ActivationKind::tanh) return;
  for (int64_t i = i0; i < i1; ++i) activate_row(act, c + i * ldc + j0, j1 - j0);
}

// Calls part(begin, end) on contiguous ranges of [0, count) in multiples of
// `unit`, one range per thread (one thread below kParallelMinFlops): for the
// paths whose elements depend only on their own row and column, so any split
// gives bit-identical results.
template <class Part>
void split_among_threads(int64_t count, int64_t unit, double flops, const Part& part) {
  int threads         = flops < parallel_min_flops() ? 1 : runtime::num_threads();
  const int64_t units = (count + unit - 1) / unit;
  threads             = static_cast<int>(std::min<int64_t>(threads, units));
  if (threads <= 1) return part(0, count);
  runtime::parallel(threads, [&](int tid, int team) {
    int64_t u0, u1;
    runtime::split_range(units, team, tid, &u0, &u1);
    if (u0 < u1) part(u0 * unit, std::min(count, u1 * unit));
  });
}

// Whether sgemm takes the small-M path: legal when op(B) has unit column
// stride (not transposed) and no prologue is active; chosen by shape alone
// (m), unless a testing override says otherwise.
bool use_small_m(bool trans_b, int64_t m, const Prologue* pa, const Prologue* pb) {
  if (trans_b || is_active(pa) || is_active(pb)) return false;
  const int force = g_force_small_m.load(std::memory_order_relaxed);
  if (force >= 0) return force == 1;
  if (g_force_pack_a.load(std::memory_order_relaxed) >= 0 ||
      g_force_pack_b.load(std::memory_order_relaxed) >= 0)
    return false;  // a packing override asks for the tiled driver
  return m <= kSmallMMaxRows;
}

// The small-M path: the kernel on column ranges of C. Every element's value
// depends only on its own row and column (K order fixed, same KC blocks as the
// tiled driver), so any column split gives bit-identical results.
void run_small_m(bool trans_a, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                 const Epilogue* e) {
  SgemmSmallM s;
  const ActivationKind act = set_direct(s, trans_a, m, n, k, alpha, a, lda, beta, c, ldc, e);
  s.b = b, s.ldb = ldb;
  const SgemmSmallMKernel run = sgemm_kernels().small_m;

  // Columns [j0, j1) of every row, then the activations the kernel does not fuse.
  auto columns = [&](int64_t j0, int64_t j1) {
    SgemmSmallM part = s;
    part.n           = j1 - j0;
    part.b           = b + j0;
    part.c           = c + j0;
    if (s.bias) part.bias = s.bias + j0;
    if (s.pre) part.pre = s.pre + j0;
    run(part);
    apply_post_activation(act, c, ldc, 0, m, j0, j1);
  };

  split_among_threads(n, kSmallMColumnUnit, 2.0 * static_cast<double>(m) * n * k, columns);
}

// Whether sgemm gives n columns (all of C, or its last partial NR panel) to
// the narrow-N path (after the small-M path declined):
// chosen by shape alone (n), when this ISA has the kernel, op(A) has no
// prologue (a prologue on B is applied while copying B) and no testing
// override asks for another path.
bool use_narrow_n(int64_t n, const Prologue* pa) {
  const SgemmKernels& K = sgemm_kernels();
  // n <= nr: a prologue's op(B) is packed into one panel (run_narrow_n).
  const bool legal = K.narrow_n != nullptr && !is_active(pa) && n <= kNarrowNMaxCols && n <= K.nr;
  if (!legal) return false;
  const int force = g_force_narrow_n.load(std::memory_order_relaxed);
  if (force >= 0) return force == 1;
  return g_force_pack_a.load(std::memory_order_relaxed) < 0 &&
         g_force_pack_b.load(std::memory_order_relaxed) < 0 &&
         g_force_small_m.load(std::memory_order_relaxed) != 1;  // no override asks for another path
}

// The narrow-N path: the kernel on row ranges of C (each element depends only
// on its own row and column: any split gives bit-identical results).
void run_narrow_n(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc, const Epilogue* e, const Prologue* pb) {
  SgemmNarrowN s;
  const ActivationKind act = set_direct(s, trans_a, m, n, k, alpha, a, lda, beta, c, ldc, e);
  const SgemmKernels& K    = sgemm_kernels();
  // With a prologue, op(B) (k x n, small) is packed once, by the tiled path's
  // packing routine, into one zero-padded panel of k x nr (n <= 12 <= nr):
  // the same multiply by the same derivative.
  thread_local runtime::AlignedBuffer<float> b_packed;
  if (is_active(pb)) {
    b_packed.reserve(static_cast<size_t>(k * K.nr));
    K.pack_b(b, ldb, trans_b, 0, 0, k, n, pb, b_packed.data());
    s.b = b_packed.data(), s.rs_b = K.nr, s.cs_b = 1;
  } else {
    s.b    = b;
    s.rs_b = trans_b ? 1 : ldb;
    s.cs_b = trans_b ? ldb : 1;
  }
  const SgemmNarrowNKernel run = K.narrow_n;

  auto rows = [&](int64_t i0, int64_t i1) {
    SgemmNarrowN part = s;
    part.m            = i1 - i0;
    part.a            = a + i0 * s.rs_a;
    part.c            = c + i0 * ldc;
    if (s.pre) part.pre = s.pre + i0 * s.ld_pre;
    run(part);
    apply_post_activation(act, c, ldc, i0, i1, 0, n);
  };

  split_among_threads(m, kNarrowNRowUnit, 2.0 * static_cast<double>(m) * n * k, rows);
}

// Columns [main, main + edge) of C (its last partial NR panel) by the
// narrow-N path.
void run_narrow_edge(bool trans_a, bool trans_b, int64_t m, int64_t main, int64_t edge, int64_t k,
                     float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                     float beta, float* c, int64_t ldc, const Epilogue* epilogue,
                     const Prologue* prologue_b) {
  Epilogue edge_epilogue;
  if (epilogue) {
    edge_epilogue = *epilogue;
    if (edge_epilogue.bias) edge_epilogue.bias += main;
    if (edge_epilogue.pre_activation) edge_epilogue.pre_activation += main;
  }
  Prologue edge_prologue;
  if (prologue_b) {
    edge_prologue = *prologue_b;
    if (edge_prologue.y) edge_prologue.y += main;  // indexed like op(B)
  }
  run_narrow_n(trans_a, trans_b, m, edge, k, alpha, a, lda, trans_b ? b + main * ldb : b + main,
               ldb, beta, c + main, ldc, epilogue ? &edge_epilogue : nullptr,
               prologue_b ? &edge_prologue : nullptr);
}

// The tiled (packed or in-place) driver over all of C.
void run_tiled(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc, const Epilogue* epilogue, const Prologue* prologue_a,
               const Prologue* prologue_b, std::atomic<int64_t>* kept_steps = nullptr) {
  Plan P{
      &sgemm_kernels(), trans_a,    trans_b,    m,     n,    k, alpha, beta, a, lda, b, ldb, c, ldc,
      epilogue,         prologue_a, prologue_b, false, false};
  P.skip_zero_a = kept_steps != nullptr;
  P.kept_steps  = kept_steps;
  choose_packing(P);
  const SgemmKernels& K = *P.kern;

  int threads = runtime::num_threads();
  if (2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) <
      parallel_min_flops())
    threads = 1;
  const int64_t tiles = ((m + K.mr - 1) / K.mr) * ((n + K.nr - 1) / K.nr);
  threads             = static_cast<int>(std::min<int64_t>(threads, tiles));

  if (threads <= 1) {
    run_plan(P, 0, 1);
  } else {
    runtime::parallel(threads, [&](int tid, int team) { run_plan(P, tid, team); });
  }
}

}  // namespace

double parallel_min_flops() {
  return runtime::in_team_session() ? kTeamParallelMinFlops : kParallelMinFlops;
}

void set_sgemm_narrow_n_override(int mode) {
  g_force_narrow_n.store(mode < 0 ? -1 : (mode ? 1 : 0), std::memory_order_relaxed);
}

void set_sgemm_small_m_override(int mode) {
  g_force_small_m.store(mode < 0 ? -1 : (mode ? 1 : 0), std::memory_order_relaxed);
}

void set_sgemm_packing_override(int pack_a, int pack_b) {
  g_force_pack_a.store(pack_a < 0 ? -1 : (pack_a ? 1 : 0), std::memory_order_relaxed);
  g_force_pack_b.store(pack_b < 0 ? -1 : (pack_b ? 1 : 0), std::memory_order_relaxed);
}

void set_sgemm_skip_zero_override(int mode) {
  g_force_skip_zero.store(mode < 0 ? -1 : (mode ? 1 : 0), std::memory_order_relaxed);
}

namespace {

void check_sgemm_arguments(int64_t m, int64_t n, int64_t k, const Epilogue* epilogue,
                           const Prologue* prologue_a, const Prologue* prologue_b) {
  if (m < 0 || n < 0 || k < 0)
    throw std::invalid_argument("sgemm: negative size m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  if (epilogue && !epilogue_act_supported(epilogue->act))
    throw std::invalid_argument(std::string("sgemm epilogue: unsupported activation '") +
                                ops::activation_name(epilogue->act) + "'");
  for (const Prologue* p : {prologue_a, prologue_b})
    if (p && !epilogue_act_supported(p->act))
      throw std::invalid_argument(std::string("sgemm prologue: unsupported activation '") +
                                  ops::activation_name(p->act) + "'");
}

// Whether op(B) (k x n) holds an infinity or a NaN: 0 * inf is NaN, so a
// skipped zero of A would change the result.
bool has_non_finite(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb) {
  const int64_t rows = trans_b ? n : k, cols = trans_b ? k : n;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = b + r * ldb;
    uint32_t bad     = 0;
    for (int64_t j = 0; j < cols; ++j) {
      uint32_t bits;
      std::memcpy(&bits, row + j, sizeof(bits));
      bad |= static_cast<uint32_t>((bits & 0x7F800000u) == 0x7F800000u);
    }
    if (bad) return true;
  }
  return false;
}

// The compacted tiled driver (sgemm_skip_zero_a): the fraction of A panels'
// k steps kept.
double run_skip_zero(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                     int64_t ldc, const Epilogue* epilogue) {
  std::atomic<int64_t> kept{0};
  run_tiled(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, nullptr,
            nullptr, &kept);
  const int mr = sgemm_kernels().mr;
  return static_cast<double>(kept.load()) / static_cast<double>((m + mr - 1) / mr * k);
}

}  // namespace

double sgemm_skip_zero_a(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                         float* c, int64_t ldc, const Epilogue* epilogue) {
  check_sgemm_arguments(m, n, k, epilogue, nullptr, nullptr);
  if (g_force_skip_zero.load(std::memory_order_relaxed) == 0 || m == 0 || n == 0 || k == 0 ||
      alpha == 0.0f || has_non_finite(trans_b, k, n, b, ldb)) {
    sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
    return 1.0;
  }
  // C's last partial NR panel goes where sgemm sends it, to the narrow-N path
  // (a 784 -> 10 layer is all edge: 10 of a tile's 32 columns would be used).
  const int64_t edge = n % sgemm_kernels().nr;
  if (edge > 0 && use_narrow_n(edge, nullptr)) {
    const int64_t main = n - edge;
    double kept        = 1.0;
    if (main > 0)
      kept = run_skip_zero(trans_a, trans_b, m, main, k, alpha, a, lda, b, ldb, beta, c, ldc,
                           epilogue);
    run_narrow_edge(trans_a, trans_b, m, main, edge, k, alpha, a, lda, b, ldb, beta, c, ldc,
                    epilogue, nullptr);
    return kept;
  }
  return run_skip_zero(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
           const Epilogue* epilogue, const Prologue* prologue_a, const Prologue* prologue_b) {
  check_sgemm_arguments(m, n, k, epilogue, prologue_a, prologue_b);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) return scale_and_epilogue(m, n, beta, c, ldc, epilogue);
  // The testing override runs every product it legally can through the
  // compacted panels (no prologue; op(B) finite).
  if (g_force_skip_zero.load(std::memory_order_relaxed) == 1 && !is_active(prologue_a) &&
      !is_active(prologue_b) && !has_non_finite(trans_b, k, n, b, ldb)) {
    run_skip_zero(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
    return;
  }
  if (use_small_m(trans_b, m, prologue_a, prologue_b))
    return run_small_m(trans_a, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);

  // Columns past the last full NR panel (all of a C narrower than NR; n = 100:
  // six panels and four columns) would cost a whole tile's FMAs; the narrow-N
  // path computes them with vectors down M instead, the full panels go to the
  // tiled driver. Every element keeps its FMA chain and epilogue, so the
  // result is the one the tiled path alone gives.
  const int64_t edge = n % sgemm_kernels().nr;
  if (edge > 0 && use_narrow_n(edge, prologue_a)) {
    const int64_t main = n - edge;
    if (main > 0)
      run_tiled(trans_a, trans_b, m, main, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue,
                prologue_a, prologue_b);
    return run_narrow_edge(trans_a, trans_b, m, main, edge, k, alpha, a, lda, b, ldb, beta, c, ldc,
                           epilogue, prologue_b);
  }
  run_tiled(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, prologue_a,
            prologue_b);
}

}  // namespace fastnn::gemm
