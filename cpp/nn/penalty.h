// Weight penalty of keras.regularizers L1/L2/L1L2, one pass over a tensor
// range (the network engine's regularization, see nn/network.h):
//   returns l1 * sum_i |w[i]| + l2 * sum_i w[i]^2   over i in [begin, end)
//   and, when g is not null, adds l1 * sign(w[i]) + 2 * l2 * w[i] to g[i]
//   (sign(0) = 0; g is ACCUMULATED into: the penalty's gradient joins the
//   loss gradient backward wrote).
// The sums run in 32 double accumulators (element i in lane (i - begin) % 32,
// enough independent chains to hide the add latency)
// combined in lane order; the generic and AVX2 paths compute the same
// operations in the same order (no FMA contraction), so both return the same
// bits. One thread; the engine splits the work into fixed chunks.
#pragma once

#include <cstdint>

namespace fastnn::nn {

double penalty_pass(const float* w, float* g, int64_t begin, int64_t end, float l1, float l2);

// The per-ISA kernels (penalty.cpp, avx2/penalty_avx2.cpp).
double penalty_pass_generic(const float* w, float* g, int64_t begin, int64_t end, float l1,
                            float l2);
#if defined(FASTNN_HAVE_AVX2)
double penalty_pass_avx2(const float* w, float* g, int64_t begin, int64_t end, float l1, float l2);
#endif

}  // namespace fastnn::nn
