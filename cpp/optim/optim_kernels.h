// The per-ISA optimizer kernel table (internal to cpp/optim).
//
// Each kernel updates n contiguous elements of one tensor in place with the
// formulas of optimizer.h, reading the gradient once and writing the
// parameter and each slot once. StepParams carries the per-step scalars,
// already rounded to float32 (computed in double by optimizer.cpp).
#pragma once

#include <cstdint>

namespace fastnn::optim {

struct StepParams {
  float lr               = 0.0f;  // learning rate
  float wd_lr            = 0.0f;  // weight_decay * lr
  float scale            = 1.0f;  // clipnorm / global_clipnorm factor of this tensor
  float clip             = 0.0f;  // clipvalue c
  float momentum         = 0.0f;  // sgd / rmsprop
  float one_minus_beta_1 = 0.0f;
  float one_minus_beta_2 = 0.0f;
  float alpha            = 0.0f;  // adam: lr sqrt(1-beta_2^t)/(1-beta_1^t); adamax: lr/(1-beta_1^t)
  float beta_1           = 0.0f;  // lion
  float beta_2           = 0.0f;  // adamax, lion
  float nadam_m          = 0.0f;  // nadam c_m = lr * u_{t+1} / (1 - U_t * u_{t+1})
  float nadam_g          = 0.0f;  // nadam c_g = lr * (1 - u_t) / (1 - U_t)
  float bias_2           = 0.0f;  // nadam, lamb, schedule_free_adamw 1 - beta_2^t
  float bias_1           = 0.0f;  // lamb 1 - beta_1^t
  float sf_weight        = 0.0f;  // schedule_free_adamw 1/t
  float sf_one_minus_w   = 0.0f;  // schedule_free_adamw 1 - 1/t
  float epsilon          = 0.0f;
  float rho              = 0.0f;   // rmsprop, adadelta
  float one_minus_rho    = 0.0f;   // rmsprop, adadelta
  float ftrl_power       = 0.0f;   // ftrl -learning_rate_power (>= 0)
  float ftrl_l1          = 0.0f;   // ftrl l1_regularization_strength
  float ftrl_l2          = 0.0f;   // ftrl 2 * l2_regularization_strength + beta / lr
  float ftrl_shrinkage   = 0.0f;   // ftrl 2 * l2_shrinkage_regularization_strength
  bool decay             = false;  // apply w -= w * wd_lr
  bool clip_value        = false;  // apply clip to [-clip, clip]
  bool scale_grad        = false;  // apply g *= scale
  bool has_momentum      = false;  // sgd: momentum != 0; rmsprop: momentum > 0
  bool nesterov          = false;  // sgd
  bool amsgrad           = false;  // adam
  bool centered          = false;  // rmsprop
  bool ftrl_sqrt         = false;  // ftrl: ftrl_power == 0.5, x^0.5 taken as sqrt(x)
  // use_ema: avg = ema_momentum * avg + ema_one_minus * w; w = avg if ema_overwrite
  float ema_momentum  = 0.0f;
  float ema_one_minus = 1.0f;
  bool ema_overwrite  = false;
};

struct OptimKernels {
  // b: momentum slot (unused unless has_momentum).
  void (*sgd)(const StepParams& s, float* p, const float* g, float* b, int64_t n);
  // vhat unused unless amsgrad.
  void (*adam)(const StepParams& s, float* p, const float* g, float* m, float* v, float* vhat,
               int64_t n);
  // b unused unless has_momentum; a unused unless centered.
  void (*rmsprop)(const StepParams& s, float* p, const float* g, float* v, float* b, float* a,
                  int64_t n);
  void (*adagrad)(const StepParams& s, float* p, const float* g, float* acc, int64_t n);
  void (*nadam)(const StepParams& s, float* p, const float* g, float* m, float* v, int64_t n);
  // u: the exponentially weighted infinity norm (Keras's "norm" slot).
  void (*adamax)(const StepParams& s, float* p, const float* g, float* m, float* u, int64_t n);
  void (*lion)(const StepParams& s, float* p, const float* g, float* m, int64_t n);
  // acc_g, acc_d: Keras's accumulated_grad and accumulated_delta_var slots.
  void (*adadelta)(const StepParams& s, float* p, const float* g, float* acc_g, float* acc_d,
                   int64_t n);
  // acc starts at initial_accumulator_value, linear at 0.
  void (*ftrl)(const StepParams& s, float* p, const float* g, float* acc, float* linear, int64_t n);
  // LAMB's first pass: p decayed (weight decay), m and v updated, u[i] the
  // update (m / bias_1) / (sqrt(v / bias_2) + epsilon).
  void (*lamb_moments)(const StepParams& s, float* p, const float* g, float* m, float* v, float* u,
                       int64_t n);
  // LAMB's second pass: p -= s.lr * u (s.lr is the tensor's trust ratio
  // times the learning rate).
  void (*lamb_apply)(const StepParams& s, float* p, const float* u, int64_t n);
  // z: Keras's "momentum" slot (already a copy of p at the first step).
  void (*schedule_free)(const StepParams& s, float* p, const float* g, float* z, float* v,
                        int64_t n);
  // The moving average of n updated parameters p (use_ema): avg = ema_momentum *
  // avg + ema_one_minus * p, then p = avg when ema_overwrite.
  void (*ema)(const StepParams& s, float* p, float* avg, int64_t n);
  // Sum of x[i]^2 in double: lane j (0..7) sums the elements i with i % 8 == j
  // in index order, then ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)). Same bits on
  // every ISA.
  double (*sum_squares)(const float* x, int64_t n);
};

// Defined in optim_ref.cpp, avx2/optim_avx2.cpp and avx512/optim_avx512.cpp.
extern const OptimKernels kOptimKernelsGeneric;
#if defined(FASTNN_HAVE_AVX2)
extern const OptimKernels kOptimKernelsAvx2;
#endif
#if defined(FASTNN_HAVE_AVX512)
extern const OptimKernels kOptimKernelsAvx512;
#endif

// The table of the active ISA (runtime::active_isa()).
const OptimKernels& optim_kernels();

}  // namespace fastnn::optim
