// Fused optimizer steps over flat float32 buffers, with Keras 3 numerics.
//
// One step of every optimizer is, per parameter element (t = iterations + 1,
// the step being taken, starting at 1; lr = the learning rate of this step):
//
//   1. clip       g' = g * s                       clipnorm / global_clipnorm
//                 g' = min(max(g, -c), c)          clipvalue
//                 s = c / max(||g||_2, c) per tensor (clipnorm), or
//                 s = c * min(1 / ||g_all||_2, 1 / c) + (norm - norm) over all
//                 tensors (global_clipnorm; NaN/Inf norms give NaN, as Keras).
//   2. decay      w  = w - w * (wd * lr)            decoupled, only if wd != 0
//                 (and the tensor is not excluded: set_decayed)
//   3. update (Keras 3, keras/src/optimizers/<name>.py):
//
//   sgd       mu == 0:  w = w - g * lr
//             else:     b = b * mu - g * lr
//                       nesterov: w = w + (b * mu - g * lr)   else: w = w + b
//   adam,     m = m + (g - m) * (1 - beta_1)
//   adamw     v = v + (g*g - v) * (1 - beta_2)
//             amsgrad:  vhat = max(vhat, v), and vhat replaces v below
//             alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)   (in double)
//             w = w - (m * alpha) / (sqrt(v) + epsilon)
//   rmsprop   v = rho * v + (1 - rho) * g*g
//             centered: a = rho * a + (1 - rho) * g;  d = max(v - a*a, 0) + epsilon
//             (v - a*a >= 0 exactly; the max clamps its float32 rounding, not in Keras)
//             else:     d = v + epsilon
//             inc = lr * g / sqrt(d)
//             momentum > 0: b = momentum * b + inc; w = w - b   else: w = w - inc
//   adagrad   acc = acc + g*g              (acc starts at initial_accumulator_value)
//             w = w - lr * g / sqrt(acc + epsilon)
//   nadam     u_s = beta_1 * (1 - 0.5 * 0.96^s)          (momentum cache of step s)
//             U_t = u_1 * u_2 * ... * u_t                  (Keras's `u_product`)
//             m = m + (g - m) * (1 - beta_1);  v = v + (g*g - v) * (1 - beta_2)
//             c_m = lr * u_{t+1} / (1 - U_t * u_{t+1});  c_g = lr * (1 - u_t) / (1 - U_t)
//             w = w - (m * c_m + g * c_g) / (sqrt(v / (1 - beta_2^t)) + epsilon)
//             (c_m, c_g, 1 - beta_2^t in double; Keras's m_hat * lr with lr folded in)
//   adamax    m = m + (g - m) * (1 - beta_1);  u = max(beta_2 * u, |g|)
//             alpha = lr / (1 - beta_1^t)                  (in double)
//             w = w - (m * alpha) / (u + epsilon)
//   lion      c = m * beta_1 + g * (1 - beta_1)            (the old m)
//             w = w - lr * sign(c)                         (sign(0) = 0, NaN stays NaN)
//             m = m * beta_2 + g * (1 - beta_2)
//   adadelta  a = rho * a + (1 - rho) * g*g                 (accumulated_grad)
//             d = (sqrt(u + epsilon) * g) / sqrt(a + epsilon)   (u: accumulated_delta_var,
//             u = rho * u + (1 - rho) * d*d                  the old u in d; Keras's
//             w = w - lr * d                                 delta_var is -d)
//   ftrl      p = -learning_rate_power;  n = acc + g*g       (acc starts at
//                                                            initial_accumulator_value)
//             linear = linear + ((g + s2 * w) - ((n^p - acc^p) / lr) * w)
//             w = (clip(linear, -l1, l1) - linear) / (n^p / lr + l2x2);  acc = n
//             s2 = 2 * l2_shrinkage, l2x2 = 2 * l2 + beta / lr   (in double)
//             x^p: sqrt(x) when p = 0.5 (the default), else pow in double per
//             element, rounded to float32 (the same value for p = 0.5)
//   lamb      m = m + (g - m) * (1 - beta_1);  v = v + (g*g - v) * (1 - beta_2)
//             u = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon)
//             per tensor: r = ||w||_2 / ||u||_2 if both norms > 0, else 1
//             (w after the decay of step 2; NaN norms give 1, as Keras's where)
//             The squares are summed in double: where Keras's float32 sums
//             underflow to 0 (a gradient of 1e-30: ratio 1, no visible
//             step) or overflow (weights of 3e19: inf), r here is exact.
//             w = w - (r * lr) * u                         (r * lr in float32)
//             Two passes over each tensor: the first updates m and v, writes
//             u to a scratch buffer of the optimizer's and sums w^2 and u^2
//             per chunk; the second applies u once every chunk's sums are in.
//   schedule_free_adamw (Defazio et al.; keras/src/optimizers/schedule_free_adamw.py)
//             z: Keras's "momentum" slot, a copy of w when the optimizer is
//             built (here: at the first step the optimizer takes, before its
//             update, unless z was given: copy_z_pending())
//             lr' = lr * min(t / warmup_steps, 1)         (warmup_steps > 0)
//             v = v + (g*g - v) * (1 - beta_2)
//             z' = z - (lr' * g) / (sqrt(v / (1 - beta_2^t)) + epsilon)
//             x = (w - (1 - beta_1) * z) / beta_1          (the old z)
//             x = (1 - 1/t) * x + (1/t) * z'
//             w = (1 - beta_1) * z' + beta_1 * x;  z = z'
//             1 - beta_1, 1 - beta_2 and 1/t rounded as Keras's float32 ops.
//             Keras 3.15 on the torch backend reads "the old z" after the
//             in-place update of z (momentum.value aliases the slot), so it
//             computes x from z' instead; fastnn follows the paper (and
//             Keras's backends whose variables are immutable values).
//
// Exponential moving average (use_ema; keras/src/optimizers/base_optimizer.py,
// _update_model_variables_moving_average and
// _overwrite_model_variables_with_average_value), after the update of every
// step, for each tensor of the averaged set (set_averaged; all by default):
//
//   mu  = t == 1 ? 0 : float32(ema_momentum)     (Keras: momentum * (iterations != 0))
//   avg = mu * avg + (1 - mu) * w                (float32, 1 - mu rounded to float32)
//   ema_overwrite_frequency f > 0 and t % f == 0:  w = avg
//
// The first step copies w into the average (0 * avg + 1 * w). The set is
// Keras's list of the variables the optimizer was built for, so a tensor
// frozen since (or skipped with a null gradient) is averaged too; a step in
// which no tensor has a gradient leaves the averages alone (Keras applies
// nothing then). The average is the slot "average", first of the slots
// (Keras creates it in the base class's build, before the optimizer's own).
// The final overwrite at the end of fit (finalize_variable_values) is the
// caller's copy of the averages.
//
// Nadam's U_t: Keras keeps it as a float32 variable multiplied by u_t at every
// step (`_u_product`, saved with the slots). Here it is a function of t alone,
// computed in double as beta_1^t * prod_{s=1..min(t,K)} (1 - 0.5 * 0.96^s), where
// K = 900 is the first s whose factor rounds to 1.0 in double, so that the
// prefix products are one table of K doubles and a step's scalars cost a few
// pow calls, whatever t (see nadam_u_product). The values agree with Keras's
// running product to float32 rounding; they differ from it only if beta_1 is
// changed between steps (Keras's product keeps the old factors) or iterations
// is set by hand. Saving writes U_t for Keras; loading recomputes it from
// iterations.
//
// Where PyTorch (torch.optim) differs:
//   * Adam: torch computes w -= lr/(1-beta_1^t) * m / (sqrt(v)/sqrt(1-beta_2^t) + eps)
//     with eps = 1e-8: the same as Keras's form only with Keras's epsilon set to
//     torch_eps * sqrt(1 - beta_2^t), i.e. they agree exactly only as eps -> 0.
//   * AdamW: torch decays with w *= 1 - lr*wd before the update, like Keras;
//     torch's default wd is 0.01, Keras's 0.004.
//   * RMSprop: torch puts epsilon outside the root (g / (sqrt(v) + eps)), with
//     defaults rho (alpha) = 0.99, lr = 0.01, eps = 1e-8.
//   * SGD momentum: torch keeps b = mu*b + g, w -= lr*b (lr outside the
//     buffer); the same trajectory as Keras's only while lr is constant.
//   * Adagrad: torch adds epsilon outside the root and defaults to
//     initial_accumulator_value = 0.
//   * NAdam: torch's momentum_decay is 0.004 (mu_t = beta_1 * (1 - 0.5 *
//     0.96^(t * 0.004))) where Keras has 0.96^t; eps = 1e-8, lr = 2e-3.
//   * Adamax: torch adds epsilon inside the max (u = max(beta_2 u, |g| + eps)),
//     Keras outside (u + epsilon in the denominator); torch's lr is 2e-3.
//   * Lion is not in torch.optim.
//   * Adadelta: torch's formula is Keras's, with lr = 1.0, rho = 0.9, eps = 1e-6
//     by default (Keras: 0.001, 0.95, 1e-7); torch's weight_decay is an L2
//     term added to the gradient, not decoupled.
//   * Ftrl is not in torch.optim.
//   * LAMB and schedule-free AdamW are not in torch.optim.
//
// Numerics: all per-step scalars (alpha, 1 - beta, wd*lr, clip scales) are
// computed once per step in double and rounded to float32; the element loops
// are float32 without FMA contraction (the AVX2 path and the portable path
// execute the same IEEE operations in the same order, so they give
// bit-identical results for finite inputs). Norms are sums of squares in
// double over fixed chunks of kChunk elements (8 interleaved partial sums per
// chunk, combined in a fixed order), so they do not depend on the thread count.
//
// Threading: every tensor is cut into chunks of kChunk elements starting at the
// tensor's first element; chunks run in parallel (OpenMP, runtime::num_threads(),
// handed out one at a time: the tensors differ in size, and a static split by
// chunk count gave one of two threads 83 % of the seed network's parameters)
// and no result depends on which thread runs which chunk: parameters and slots
// are bit-identical for any thread count.
//
// Gradients are read only (never modified, clipping happens in registers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/aligned_buffer.h"

namespace fastnn::optim {

enum class Kind : int {
  sgd      = 0,
  adam     = 1,
  adamw    = 2,
  rmsprop  = 3,
  adagrad  = 4,
  nadam    = 5,
  adamax   = 6,
  lion     = 7,
  adadelta = 8,
  ftrl     = 9,
  lamb     = 10,
  // schedule-free AdamW (Keras's ScheduleFreeAdamW)
  schedule_free_adamw = 11,
};
enum class Clip : int { none = 0, clipnorm = 1, clipvalue = 2, global_clipnorm = 3 };

// Elements per parallel chunk (and per partial norm sum). The seed network's
// 118,282 parameters make 19 chunks of up to 8,192: the last chunk a thread
// takes is shorter than with 16,384 (12 chunks), so the other thread waits
// less at the join. 2-thread fit epoch, Fashion-MNIST, processes alternated,
// medians of 20: 1 << 13 0.969x and 0.975x the time of 1 << 14 (1 thread
// 0.983x); 1 << 12 a further 0.989x, within the noise.
constexpr int64_t kChunk = 1 << 13;

// Hyperparameters of one optimizer. Fields that do not apply to `kind` are
// ignored. Validate with validate_config() (throws std::invalid_argument).
struct Config {
  Kind kind                        = Kind::adam;
  double momentum                  = 0.0;    // sgd, rmsprop
  bool nesterov                    = false;  // sgd
  double beta_1                    = 0.9;    // adam, adamw, nadam, adamax, lion
  double beta_2                    = 0.999;  // adam, adamw, nadam, adamax, lion
  double epsilon                   = 1e-7;   // adam(w), rmsprop, adagrad, nadam, adamax, adadelta
  bool amsgrad                     = false;  // adam, adamw
  double rho                       = 0.9;    // rmsprop, adadelta (Keras's default there: 0.95)
  bool centered                    = false;  // rmsprop
  double initial_accumulator_value = 0.1;    // adagrad, ftrl
  double weight_decay              = 0.0;    // every kind; 0 means none
  Clip clip                        = Clip::none;
  double clip_value                = 0.0;  // c of the clip mode; <= 0 disables clipping

  // ftrl (Keras's names)
  double learning_rate_power                  = -0.5;
  double l1_regularization_strength           = 0.0;
  double l2_regularization_strength           = 0.0;
  double l2_shrinkage_regularization_strength = 0.0;
  double beta                                 = 0.0;

  // schedule_free_adamw: steps of linear learning-rate warmup (0: none); a
  // real number, as Keras takes any (lr * min(t / warmup_steps, 1) in float32)
  double warmup_steps = 0.0;

  // exponential moving average of the averaged tensors (see the top of this file)
  bool use_ema                    = false;
  double ema_momentum             = 0.99;  // in [0, 1]
  int64_t ema_overwrite_frequency = 0;     // steps between overwrites; 0: never (Keras's None)
};

// Throws std::invalid_argument naming the field when a value is out of range
// (beta_1/beta_2/rho outside [0, 1), but lion's beta_1 outside (0, 1] as
// Keras and its beta_2 outside [0, 1], schedule_free_adamw's beta_1 outside
// (0, 1] (it divides by beta_1) and warmup_steps < 0, adadelta's rho outside [0, 1];
// momentum outside [0, 1], epsilon < 0, weight_decay < 0,
// initial_accumulator_value < 0, ftrl's learning_rate_power > 0 and
// l1/l2/l2_shrinkage strengths < 0 (Keras's checks), non-finite values;
// with use_ema, ema_momentum outside [0, 1] or ema_overwrite_frequency < 0).
void validate_config(const Config& config);

const char* kind_name(Kind kind);
Kind parse_kind(const std::string& name);  // "sgd", "adam", ...; throws std::invalid_argument
const char* clip_name(Clip clip);
Clip parse_clip(const std::string& name);  // "none", "clipnorm", ...; throws std::invalid_argument

// Slots (optimizer state buffers) the config needs, in Keras's order:
//   sgd: momentum (if momentum != 0); adam/adamw: momentum, velocity,
//   velocity_hat (if amsgrad); rmsprop: velocity, momentum (if momentum > 0),
//   average_gradient (if centered); adagrad: accumulator; nadam: momentum,
//   velocity; adamax: momentum, norm; lion: momentum; adadelta:
//   accumulated_grad, accumulated_delta_var; ftrl: accumulator, linear;
//   lamb: momentum, velocity; schedule_free_adamw: momentum (z), velocity;
//   preceded by "average" with use_ema.
std::vector<std::string> slot_names(const Config& config);

// Nadam's U_t = prod_{s=1..t} beta_1 * (1 - 0.5 * 0.96^s), in double (1 for
// t = 0): Keras's `u_product` after step t (see the top of this file).
double nadam_u_product(double beta_1, int64_t t);

// Value slot `slot` (an index into slot_names(config)) starts at
// (initial_accumulator_value for adagrad's and ftrl's accumulator, else 0).
float slot_initial_value(const Config& config, int slot);

// ---------------------------------------------------------------------------
// Single-buffer step (the NumPy API): one tensor of n elements, updated in
// place. `slots` holds slot_names(config).size() pointers of n floats each.
// `step` is t (>= 1), the number of this update. Clip modes apply to this one
// tensor (clipnorm and global_clipnorm coincide). Threads over chunks.
void update(const Config& config, float* param, const float* grad, float* const* slots, int64_t n,
            int64_t step, double learning_rate);

// ---------------------------------------------------------------------------
// An optimizer over T tensors laid out back to back in one flat buffer:
// tensor k is elements [offsets[k], offsets[k+1]). It owns its slot buffers
// (64-byte aligned, same flat layout as the parameters) and the iteration
// counter.
//
//   Optimizer opt(config, {0, 784*128, 784*128 + 128, ...});
//   opt.step(params, grads, n, lr);   // n == opt.size(); iterations() += 1
//
// The learning rate is passed per step (a schedule is evaluated by the
// caller at iterations(), before the step, as Keras does; a C++ loop over an
// epoch can take the rates of its steps precomputed by Python, since a
// schedule depends on the step number only).
//
// From Python: fastnn.optimizers.<X>(...)._kernel_config() is the Config as a
// dict (bindings/optim_config.h converts it); fastnn._core.optim.Optimizer
// binds this class.
class Optimizer {
 public:
  // offsets: T+1 non-decreasing values starting at 0. Throws
  // std::invalid_argument for a bad config or bad offsets.
  Optimizer(const Config& config, std::vector<int64_t> offsets);

  // One step over the flat buffer; n must equal size() (std::invalid_argument
  // otherwise). params updated in place; grads read only. Frozen tensors
  // (set_frozen) are skipped as step_tensors skips a nullptr gradient.
  void step(float* params, const float* grads, int64_t n, double learning_rate);

  // Per tensor, whether step() leaves it alone (a layer with trainable=False:
  // no update, no weight decay, its slots kept, outside the global norm, as
  // Keras applies gradients to the trainable variables only). num_tensors()
  // flags; throws std::invalid_argument otherwise.
  void set_frozen(const std::vector<bool>& frozen);
  bool frozen(int k) const { return frozen_.at(static_cast<size_t>(k)) != 0; }

  // Per tensor, whether the moving average (use_ema) covers it: the tensors
  // the optimizer was built for, as Keras averages its built variable list
  // whatever their gradients. All by default; num_tensors() flags, else
  // std::invalid_argument.
  void set_averaged(const std::vector<bool>& averaged);
  bool averaged(int k) const { return averaged_.at(static_cast<size_t>(k)) != 0; }

  // Per tensor, whether weight decay (step 2) applies to it: Keras's
  // exclude_from_weight_decay() leaves the rest of the step as it is. All by
  // default; num_tensors() flags, else std::invalid_argument.
  void set_decayed(const std::vector<bool>& decayed);
  bool decayed(int k) const { return decayed_.at(static_cast<size_t>(k)) != 0; }

  // One step over tensors stored apart: params[k] and grads[k] point to tensor
  // k's elements. A tensor whose grads[k] is nullptr is skipped (no update, no
  // decay, not counted in the global norm), as Keras skips None gradients.
  void step_tensors(float* const* params, const float* const* grads, double learning_rate);

  const Config& config() const { return config_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }
  int64_t size() const { return offsets_.back(); }
  int num_tensors() const { return static_cast<int>(offsets_.size()) - 1; }

  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t iterations);  // >= 0 (loading a checkpoint)

  // Slot buffers, each size() floats in the flat layout (for save/load).
  int num_slots() const { return static_cast<int>(slot_names_.size()); }
  const std::string& slot_name(int i) const { return slot_names_.at(i); }
  float* slot(int i) { return slots_.at(i).data(); }
  const float* slot(int i) const { return slots_.at(i).data(); }

  // Slots back to their initial values and iterations to 0 (and, for
  // schedule-free AdamW, z copied from the weights at the next step).
  void reset();

  // Schedule-free AdamW: whether the next step first copies the weights into
  // z (Keras copies them when it builds the optimizer). True when the
  // optimizer is made and after reset(), false after a step; whoever writes
  // z itself (a build from known weights, a loaded checkpoint) clears it.
  // Always false for the other kinds.
  bool copy_z_pending() const { return copy_z_pending_; }
  void set_copy_z_pending(bool pending) {
    copy_z_pending_ = pending && config_.kind == Kind::schedule_free_adamw;
  }

 private:
  Config config_;
  std::vector<int64_t> offsets_;
  std::vector<std::string> slot_names_;
  std::vector<runtime::AlignedBuffer<float>> slots_;
  runtime::AlignedBuffer<float> scratch_;  // LAMB's update direction u (size() floats)
  int64_t iterations_  = 0;
  bool copy_z_pending_ = false;  // set by reset() (the constructor calls it)
  // Preallocated per-step scratch (no allocation in step()).
  struct WorkItem {
    int32_t tensor;
    int64_t begin;  // element offset inside the tensor
    int64_t count;
  };
  std::vector<WorkItem> items_;
  std::vector<double> partial_sums_;  // two per work item (LAMB's w and u sums)
  std::vector<double> tensor_sums_;   // two per tensor
  std::vector<float> scales_;         // one per tensor
  std::vector<float*> param_ptrs_;
  std::vector<const float*> grad_ptrs_;
  std::vector<uint8_t> frozen_;    // one flag per tensor
  std::vector<uint8_t> averaged_;  // one flag per tensor (use_ema)
  std::vector<uint8_t> decayed_;   // one flag per tensor (weight decay)
};

}  // namespace fastnn::optim
