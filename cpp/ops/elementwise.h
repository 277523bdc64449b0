// Elementwise kernels over contiguous float32 arrays, one table per ISA.
//
//   relu_forward:  y[i]  = x[i] < 0 ? 0 : x[i]              (y may alias x)
//   relu_backward: dx[i] = x[i] <= 0 ? 0 : dy[i]            (dx may alias dy)
// As torch.relu and its backward: NaN in x gives NaN out and passes dy.
//                  x is the forward *input*; gradients are overwritten, never
//                  accumulated.
//   exp_shifted:   out[i] = exp((double)x[i] - m) in double precision, within
//                  2 ulp of std::exp (the cross-entropy's softmax terms; n is
//                  a row's width, so no threads).
//   all_finite:    true when no x[i] is NaN or +-Inf (exponent bits all ones).
//                  The check of every array the engine takes: it reads x
//                  once, so it runs at memory speed (a 1,024-row batch of
//                  784 features, 3.2 MB: the baseline loop took 69 us on one
//                  core, 3 % of that batch's predict).
//
// Threading: the public functions split n into fixed chunks of kChunk
// elements with OpenMP; results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace fastnn::ops {

struct ElementwiseKernels {
  void (*relu_forward)(float* y, const float* x, int64_t n);
  void (*relu_backward)(float* dx, const float* dy, const float* x, int64_t n);
  void (*exp_shifted)(double* out, const float* x, double m, int64_t n);
  bool (*all_finite)(const float* x, int64_t n);
};

// Defined in elementwise_ref.cpp and avx2/elementwise_avx2.cpp.
extern const ElementwiseKernels kElementwiseKernelsGeneric;
#if defined(FASTNN_HAVE_AVX2)
extern const ElementwiseKernels kElementwiseKernelsAvx2;
#endif

// The table of the active ISA (runtime::active_isa()).
const ElementwiseKernels& elementwise_kernels();

void relu_forward(float* y, const float* x, int64_t n);
void relu_backward(float* dx, const float* dy, const float* x, int64_t n);
// all_finite over chunks of kChunk (32,768) floats, on the runtime's threads
// from 8 chunks (more than 7 x 32,768 floats) up.
bool all_finite(const float* x, int64_t n);

}  // namespace fastnn::ops
