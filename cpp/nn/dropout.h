// Inverted dropout's mask and output over elements [begin, end) of a layer's
// rows x width activations (the network engine's Dropout layer):
//   mask[e] = uniform01(key + e) >= rate ? scale : 0,   y[e] = x[e] * mask[e]
// with uniform01 the counter-based generator of nn/initializers.h (the top 24
// bits of mix64). `key` mixes the layer's seed, the step and the layer index
// (network.cpp), so a mask depends on them and on e only: not on the ISA, the
// thread count or the chunking. The generic and AVX2 paths give the same bits.
#pragma once

#include <cstdint>

namespace fastnn::nn {

void dropout_forward(float* mask, float* y, const float* x, int64_t begin, int64_t end,
                     uint64_t key, float rate, float scale);

// The per-ISA kernels (dropout.cpp, avx2/dropout_avx2.cpp).
void dropout_forward_generic(float* mask, float* y, const float* x, int64_t begin, int64_t end,
                             uint64_t key, float rate, float scale);
#if defined(FASTNN_HAVE_AVX2)
void dropout_forward_avx2(float* mask, float* y, const float* x, int64_t begin, int64_t end,
                          uint64_t key, float rate, float scale);
#endif

}  // namespace fastnn::nn
