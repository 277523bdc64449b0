// Portable optimizer kernels: the bodies of optim_body.h with scalar ops only,
// plain loops the compiler may vectorize for the baseline ISA.
#include <cstdint>

#include "optim/optim_body.h"
#include "optim/optim_kernels.h"

namespace fastnn::optim {

namespace {

double sum_squares_ref(const float* x, int64_t n) {
  double lanes[8]    = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t full = n / 8 * 8;
  for (int64_t i = 0; i < full; i += 8)
    for (int j = 0; j < 8; ++j) {
      const double d = static_cast<double>(x[i + j]);
      lanes[j] += d * d;
    }
  return sum_squares_finish(lanes, x, full, n);
}

}  // namespace

const OptimKernels kOptimKernelsGeneric = {
    sgd_kernel<ScalarOps>,        adam_kernel<ScalarOps>,
    rmsprop_kernel<ScalarOps>,    adagrad_kernel<ScalarOps>,
    nadam_kernel<ScalarOps>,      adamax_kernel<ScalarOps>,
    lion_kernel<ScalarOps>,       adadelta_kernel<ScalarOps>,
    ftrl_kernel<ScalarOps>,       lamb_moments_kernel<ScalarOps>,
    lamb_apply_kernel<ScalarOps>, schedule_free_kernel<ScalarOps>,
    ema_kernel<ScalarOps>,        sum_squares_ref,
};

}  // namespace fastnn::optim
