#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "optim/optim_kernels.h"
#include "runtime/dispatch.h"
#include "runtime/team.h"
#include "runtime/threads.h"

#if defined(__linux__)
#include <sys/mman.h>

#include <cstdint>
#endif

namespace fastnn::optim {

const OptimKernels& optim_kernels() {
#if defined(FASTNN_HAVE_AVX512)
  if (runtime::isa_at_least(runtime::Isa::avx512)) return kOptimKernelsAvx512;
#endif
#if defined(FASTNN_HAVE_AVX2)
  if (runtime::isa_at_least(runtime::Isa::avx2)) return kOptimKernelsAvx2;
#endif
  return kOptimKernelsGeneric;
}

namespace {

std::string fmt(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

void check_range(const char* name, double x, double lo, double hi, bool hi_open) {
  const bool ok = std::isfinite(x) && x >= lo && (hi_open ? x < hi : x <= hi);
  if (!ok)
    throw std::invalid_argument(std::string("optimizer: `") + name + "` must be in [" + fmt(lo) +
                                ", " + fmt(hi) + (hi_open ? ")" : "]") + ", got " + fmt(x));
}

void check_nonneg(const char* name, double x) {
  if (!(std::isfinite(x) && x >= 0.0))
    throw std::invalid_argument(std::string("optimizer: `") + name +
                                "` must be a finite number >= 0, got " + fmt(x));
}

bool clips_by_norm(const Config& c) {
  return (c.clip == Clip::clipnorm || c.clip == Clip::global_clipnorm) && c.clip_value > 0.0;
}

// The per-step scalars, in double, rounded once to float32.
StepParams make_step_params(const Config& c, int64_t t, double lr) {
  StepParams s;
  s.lr         = static_cast<float>(lr);
  s.decay      = c.weight_decay != 0.0;
  s.wd_lr      = static_cast<float>(c.weight_decay * lr);
  s.clip_value = c.clip == Clip::clipvalue && c.clip_value > 0.0;
  s.clip       = static_cast<float>(c.clip_value);
  s.scale_grad = clips_by_norm(c);
  s.epsilon    = static_cast<float>(c.epsilon);
  if (c.use_ema) {
    // Keras: momentum = float32(iterations != 0) * ema_momentum; 1 - momentum in float32
    s.ema_momentum  = t == 1 ? 0.0f : static_cast<float>(c.ema_momentum);
    s.ema_one_minus = 1.0f - s.ema_momentum;
    s.ema_overwrite = c.ema_overwrite_frequency > 0 && t % c.ema_overwrite_frequency == 0;
  }
  switch (c.kind) {
    case Kind::sgd:
      s.momentum     = static_cast<float>(c.momentum);
      s.has_momentum = c.momentum != 0.0;
      s.nesterov     = c.nesterov;
      break;
    case Kind::adam:
    case Kind::adamw: {
      const double td    = static_cast<double>(t);
      s.one_minus_beta_1 = static_cast<float>(1.0 - c.beta_1);
      s.one_minus_beta_2 = static_cast<float>(1.0 - c.beta_2);
      s.alpha            = static_cast<float>(lr * std::sqrt(1.0 - std::pow(c.beta_2, td)) /
                                   (1.0 - std::pow(c.beta_1, td)));
      s.amsgrad          = c.amsgrad;
      break;
    }
    case Kind::rmsprop:
      s.rho           = static_cast<float>(c.rho);
      s.one_minus_rho = static_cast<float>(1.0 - c.rho);
      s.momentum      = static_cast<float>(c.momentum);
      s.has_momentum  = c.momentum > 0.0;
      s.centered      = c.centered;
      break;
    case Kind::adagrad:
      break;
    case Kind::nadam: {
      // keras/src/optimizers/nadam.py: u_t and u_{t+1}, U_t = u_1 ... u_t
      // (the product after this step's update), U_{t+1} = U_t u_{t+1}.
      const double td     = static_cast<double>(t);
      const double u_t    = c.beta_1 * (1.0 - 0.5 * std::pow(0.96, td));
      const double u_next = c.beta_1 * (1.0 - 0.5 * std::pow(0.96, td + 1.0));
      const double prod   = nadam_u_product(c.beta_1, t);
      s.one_minus_beta_1  = static_cast<float>(1.0 - c.beta_1);
      s.one_minus_beta_2  = static_cast<float>(1.0 - c.beta_2);
      s.nadam_m           = static_cast<float>(lr * u_next / (1.0 - prod * u_next));
      s.nadam_g           = static_cast<float>(lr * (1.0 - u_t) / (1.0 - prod));
      s.bias_2            = static_cast<float>(1.0 - std::pow(c.beta_2, td));
      break;
    }
    case Kind::adamax:
      s.one_minus_beta_1 = static_cast<float>(1.0 - c.beta_1);
      s.beta_2           = static_cast<float>(c.beta_2);
      s.alpha = static_cast<float>(lr / (1.0 - std::pow(c.beta_1, static_cast<double>(t))));
      break;
    case Kind::lion:
      s.beta_1           = static_cast<float>(c.beta_1);
      s.beta_2           = static_cast<float>(c.beta_2);
      s.one_minus_beta_1 = static_cast<float>(1.0 - c.beta_1);
      s.one_minus_beta_2 = static_cast<float>(1.0 - c.beta_2);
      break;
    case Kind::adadelta:
      s.rho           = static_cast<float>(c.rho);
      s.one_minus_rho = static_cast<float>(1.0 - c.rho);
      break;
    case Kind::lamb: {
      // keras/src/optimizers/lamb.py
      const double td    = static_cast<double>(t);
      s.one_minus_beta_1 = static_cast<float>(1.0 - c.beta_1);
      s.one_minus_beta_2 = static_cast<float>(1.0 - c.beta_2);
      s.bias_1           = static_cast<float>(1.0 - std::pow(c.beta_1, td));
      s.bias_2           = static_cast<float>(1.0 - std::pow(c.beta_2, td));
      break;
    }
    case Kind::schedule_free_adamw: {
      // keras/src/optimizers/schedule_free_adamw.py: beta_1, beta_2 and t are
      // float32 tensors there, so 1 - beta and 1/t are float32 operations.
      const float t32 = static_cast<float>(t);
      const float b1  = static_cast<float>(c.beta_1);
      const float b2  = static_cast<float>(c.beta_2);
      float lr32      = static_cast<float>(lr);
      if (c.warmup_steps > 0)
        lr32 = lr32 * std::min(t32 / static_cast<float>(c.warmup_steps), 1.0f);
      s.lr               = lr32;
      s.beta_1           = b1;
      s.one_minus_beta_1 = 1.0f - b1;
      s.one_minus_beta_2 = 1.0f - b2;
      s.bias_2           = static_cast<float>(1.0 - std::pow(c.beta_2, static_cast<double>(t)));
      s.sf_weight        = 1.0f / t32;
      s.sf_one_minus_w   = 1.0f - s.sf_weight;
      break;
    }
    case Kind::ftrl:
      // keras/src/optimizers/ftrl.py: quadratic = n^p / lr + 2 * (l2 + beta / (2 lr))
      s.ftrl_power     = static_cast<float>(-c.learning_rate_power);
      s.ftrl_sqrt      = s.ftrl_power == 0.5f;
      s.ftrl_l1        = static_cast<float>(c.l1_regularization_strength);
      s.ftrl_l2        = static_cast<float>(2.0 * c.l2_regularization_strength + c.beta / lr);
      s.ftrl_shrinkage = static_cast<float>(2.0 * c.l2_shrinkage_regularization_strength);
      break;
  }
  return s;
}

// Large slot buffers stream like the parameters: ask Linux for transparent
// huge pages (as NumPy does for its large arrays), so the hardware prefetchers
// are not stopped at every 4 KiB page and the TLB covers the buffer. Must run
// before the first touch. A no-op where THP is off or unsupported.
void advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end   = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

struct WorkItem {
  int32_t tensor;
  int64_t begin;
  int64_t count;
};

// Every tensor cut into kChunk-element chunks from its first element.
template <class Item>
void build_items(const std::vector<int64_t>& offsets, std::vector<Item>& items) {
  items.clear();
  for (size_t k = 0; k + 1 < offsets.size(); ++k) {
    const int64_t size = offsets[k + 1] - offsets[k];
    for (int64_t b = 0; b < size; b += kChunk)
      items.push_back(Item{static_cast<int32_t>(k), b, std::min(kChunk, size - b)});
  }
}

void run_kernel(const OptimKernels& kern, const Config& c, const StepParams& s, float* p,
                const float* g, float* const* slots, int64_t off, int64_t n) {
  // slots[i] + off: the slot elements of this chunk (layouts: slot_names()).
  auto at = [&](int i) { return slots[i] + off; };
  switch (c.kind) {
    case Kind::sgd:
      kern.sgd(s, p, g, s.has_momentum ? at(0) : nullptr, n);
      break;
    case Kind::adam:
    case Kind::adamw:
      kern.adam(s, p, g, at(0), at(1), s.amsgrad ? at(2) : nullptr, n);
      break;
    case Kind::rmsprop: {
      int next     = 1;
      float* mom   = s.has_momentum ? at(next++) : nullptr;
      float* avg_g = s.centered ? at(next++) : nullptr;
      kern.rmsprop(s, p, g, at(0), mom, avg_g, n);
      break;
    }
    case Kind::adagrad:
      kern.adagrad(s, p, g, at(0), n);
      break;
    case Kind::nadam:
      kern.nadam(s, p, g, at(0), at(1), n);
      break;
    case Kind::adamax:
      kern.adamax(s, p, g, at(0), at(1), n);
      break;
    case Kind::lion:
      kern.lion(s, p, g, at(0), n);
      break;
    case Kind::adadelta:
      kern.adadelta(s, p, g, at(0), at(1), n);
      break;
    case Kind::ftrl:
      kern.ftrl(s, p, g, at(0), at(1), n);
      break;
    case Kind::schedule_free_adamw:
      kern.schedule_free(s, p, g, at(0), at(1), n);
      break;
    case Kind::lamb:  // two passes: run_step
      break;
  }
}

// The whole step: norms (when clipping by norm), then the fused update and,
// chunk by chunk while it is in cache, the moving average (use_ema).
// params[k] / grads[k]: tensor k; slot i of tensor k starts at
// slot_bases[i] + offsets[k] (slot 0 the average with use_ema). grads[k] ==
// nullptr skips tensor k's update; averaged[k] (nullptr: all) says whether
// its average is kept; decayed[k] (nullptr: all) whether weight decay applies.
// partial: 2 * items.size() doubles; tensor_sum: 2 * num_tensors; scratch:
// offsets.back() floats for LAMB (its u), else unused. copy_z: schedule-free
// AdamW first copies the weights into z (its first kind slot).
template <class Item>
void run_step(const Config& c, int64_t t, double lr, const std::vector<int64_t>& offsets,
              const std::vector<Item>& items, float* const* params, const float* const* grads,
              float* const* slot_bases, const uint8_t* averaged, const uint8_t* decayed,
              double* partial, double* tensor_sum, float* scales, float* scratch, bool copy_z) {
  const OptimKernels& kern = optim_kernels();
  const int64_t n_items    = static_cast<int64_t>(items.size());
  const int num_tensors    = static_cast<int>(offsets.size()) - 1;
  const int64_t elements   = offsets.back();  // the items cover every tensor
  // A step over fewer than kChunk elements (a small network: 5,000
  // parameters take ~2 us for Adam) stays on one thread: a second one saves
  // at most ~1 us and waits for a core that other jobs may hold.
  const int threads = n_items > 1 && elements >= kChunk ? runtime::num_threads() : 1;
  StepParams base   = make_step_params(c, t, lr);

  for (int k = 0; k < num_tensors; ++k) scales[k] = 1.0f;
  if (base.scale_grad) {
    runtime::parallel_for_dynamic(threads, n_items, [&](int64_t i) {
      const Item& it = items[i];
      const float* g = grads[it.tensor];
      partial[i]     = g ? kern.sum_squares(g + it.begin, it.count) : 0.0;
    });
    // Per-tensor sums in chunk order, then (global) in tensor order.
    for (int k = 0; k < num_tensors; ++k) tensor_sum[k] = 0.0;
    for (int64_t i = 0; i < n_items; ++i) tensor_sum[items[i].tensor] += partial[i];
    const double cv = c.clip_value;
    if (c.clip == Clip::clipnorm) {
      // base_optimizer.py _clip_by_norm: g * c / max(norm, c)
      for (int k = 0; k < num_tensors; ++k) {
        const double l2 = tensor_sum[k] > 0.0 ? std::sqrt(tensor_sum[k]) : tensor_sum[k];
        scales[k]       = static_cast<float>(cv / std::max(l2, cv));  // NaN norm -> NaN
      }
    } else {
      // base_optimizer.py clip_by_global_norm: g * c * min(1/norm, 1/c) + (norm - norm)
      double total = 0.0;
      for (int k = 0; k < num_tensors; ++k)
        if (grads[k]) total += tensor_sum[k];
      const double norm  = std::sqrt(total);
      const double scale = cv * std::min(1.0 / norm, 1.0 / cv) + (norm - norm);
      for (int k = 0; k < num_tensors; ++k) scales[k] = static_cast<float>(scale);
    }
  }

  // Keras averages after an update of at least one variable (none: no update at all).
  bool ema = false;
  if (c.use_ema)
    for (int k = 0; k < num_tensors && !ema; ++k) ema = grads[k] != nullptr;
  float* const* kind_slots = slot_bases + (c.use_ema ? 1 : 0);

  if (c.kind == Kind::lamb) {
    // Pass 1: decay, moments, u into scratch, and each chunk's sums of w^2 and u^2.
    double* w_partial = partial;
    double* u_partial = partial + n_items;
    runtime::parallel_for_dynamic(threads, n_items, [&](int64_t i) {
      const Item& it = items[i];
      const float* g = grads[it.tensor];
      w_partial[i] = u_partial[i] = 0.0;
      if (g == nullptr) return;
      StepParams s      = base;
      s.scale           = scales[it.tensor];
      s.decay           = base.decay && (decayed == nullptr || decayed[it.tensor] != 0);
      float* p          = params[it.tensor] + it.begin;
      const int64_t off = offsets[it.tensor] + it.begin;
      kern.lamb_moments(s, p, g + it.begin, kind_slots[0] + off, kind_slots[1] + off, scratch + off,
                        it.count);
      w_partial[i] = kern.sum_squares(p, it.count);
      u_partial[i] = kern.sum_squares(scratch + off, it.count);
    });
    // Per tensor, in chunk order: the trust ratio times the learning rate.
    double* w_sum = tensor_sum;
    double* u_sum = tensor_sum + num_tensors;
    for (int k = 0; k < num_tensors; ++k) w_sum[k] = u_sum[k] = 0.0;
    for (int64_t i = 0; i < n_items; ++i) {
      w_sum[items[i].tensor] += w_partial[i];
      u_sum[items[i].tensor] += u_partial[i];
    }
    for (int k = 0; k < num_tensors; ++k) {
      const float w_norm = static_cast<float>(std::sqrt(w_sum[k]));
      const float u_norm = static_cast<float>(std::sqrt(u_sum[k]));
      const float ratio  = w_norm > 0.0f && u_norm > 0.0f ? w_norm / u_norm : 1.0f;
      scales[k]          = ratio * base.lr;  // NaN norms: ratio 1, as Keras's where
    }
    // Pass 2: the update, then the moving average.
    runtime::parallel_for_dynamic(threads, n_items, [&](int64_t i) {
      const Item& it    = items[i];
      float* p          = params[it.tensor] + it.begin;
      const int64_t off = offsets[it.tensor] + it.begin;
      if (grads[it.tensor] != nullptr) {
        StepParams s = base;
        s.lr         = scales[it.tensor];
        kern.lamb_apply(s, p, scratch + off, it.count);
      }
      if (ema && (averaged == nullptr || averaged[it.tensor]))
        kern.ema(base, p, slot_bases[0] + off, it.count);
    });
    return;
  }

  runtime::parallel_for_dynamic(threads, n_items, [&](int64_t i) {
    const Item& it    = items[i];
    const float* g    = grads[it.tensor];
    float* p          = params[it.tensor] + it.begin;
    const int64_t off = offsets[it.tensor] + it.begin;
    if (copy_z) std::copy(p, p + it.count, kind_slots[0] + off);
    if (g != nullptr) {
      StepParams s = base;
      s.scale      = scales[it.tensor];
      s.decay      = base.decay && (decayed == nullptr || decayed[it.tensor] != 0);
      run_kernel(kern, c, s, p, g + it.begin, kind_slots, off, it.count);
    }
    if (ema && (averaged == nullptr || averaged[it.tensor]))
      kern.ema(base, p, slot_bases[0] + off, it.count);
  });
}

}  // namespace

void validate_config(const Config& c) {
  switch (c.kind) {
    case Kind::sgd:
      check_range("momentum", c.momentum, 0.0, 1.0, false);
      break;
    case Kind::adam:
    case Kind::adamw:
    case Kind::nadam:
    case Kind::adamax:
    case Kind::lamb:
      check_range("beta_1", c.beta_1, 0.0, 1.0, true);
      check_range("beta_2", c.beta_2, 0.0, 1.0, true);
      check_nonneg("epsilon", c.epsilon);
      break;
    case Kind::lion:
      // keras/src/optimizers/lion.py: beta_1 in (0, 1] (0 degenerates to signSGD).
      if (!(std::isfinite(c.beta_1) && c.beta_1 > 0.0 && c.beta_1 <= 1.0))
        throw std::invalid_argument("optimizer: `beta_1` must be in (0, 1], got " + fmt(c.beta_1));
      check_range("beta_2", c.beta_2, 0.0, 1.0, false);
      break;
    case Kind::schedule_free_adamw:
      // x = (w - (1 - beta_1) z) / beta_1: beta_1 in (0, 1]
      if (!(std::isfinite(c.beta_1) && c.beta_1 > 0.0 && c.beta_1 <= 1.0))
        throw std::invalid_argument("optimizer: `beta_1` must be in (0, 1], got " + fmt(c.beta_1));
      check_range("beta_2", c.beta_2, 0.0, 1.0, true);
      check_nonneg("epsilon", c.epsilon);
      if (!(c.warmup_steps >= 0.0) || std::isinf(c.warmup_steps))
        throw std::invalid_argument("optimizer: `warmup_steps` must be a finite number >= 0, got " +
                                    fmt(c.warmup_steps));
      break;
    case Kind::rmsprop:
      check_range("rho", c.rho, 0.0, 1.0, true);
      check_range("momentum", c.momentum, 0.0, 1.0, false);
      check_nonneg("epsilon", c.epsilon);
      break;
    case Kind::adagrad:
      check_nonneg("initial_accumulator_value", c.initial_accumulator_value);
      check_nonneg("epsilon", c.epsilon);
      break;
    case Kind::adadelta:
      check_range("rho", c.rho, 0.0, 1.0, false);
      check_nonneg("epsilon", c.epsilon);
      break;
    case Kind::ftrl:
      // keras/src/optimizers/ftrl.py's checks (beta: any finite value, as Keras).
      if (!(std::isfinite(c.learning_rate_power) && c.learning_rate_power <= 0.0))
        throw std::invalid_argument(
            "optimizer: `learning_rate_power` must be a finite number <= 0, got " +
            fmt(c.learning_rate_power));
      check_nonneg("initial_accumulator_value", c.initial_accumulator_value);
      check_nonneg("l1_regularization_strength", c.l1_regularization_strength);
      check_nonneg("l2_regularization_strength", c.l2_regularization_strength);
      check_nonneg("l2_shrinkage_regularization_strength", c.l2_shrinkage_regularization_strength);
      if (!std::isfinite(c.beta))
        throw std::invalid_argument("optimizer: `beta` must be finite, got " + fmt(c.beta));
      break;
  }
  check_nonneg("weight_decay", c.weight_decay);
  if (c.clip != Clip::none) check_nonneg(clip_name(c.clip), c.clip_value);
  if (c.use_ema) {
    check_range("ema_momentum", c.ema_momentum, 0.0, 1.0, false);
    if (c.ema_overwrite_frequency < 0)
      throw std::invalid_argument("optimizer: `ema_overwrite_frequency` must be >= 0, got " +
                                  fmt(static_cast<double>(c.ema_overwrite_frequency)));
  }
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::sgd:
      return "sgd";
    case Kind::adam:
      return "adam";
    case Kind::adamw:
      return "adamw";
    case Kind::rmsprop:
      return "rmsprop";
    case Kind::adagrad:
      return "adagrad";
    case Kind::nadam:
      return "nadam";
    case Kind::adamax:
      return "adamax";
    case Kind::lion:
      return "lion";
    case Kind::adadelta:
      return "adadelta";
    case Kind::ftrl:
      return "ftrl";
    case Kind::lamb:
      return "lamb";
    case Kind::schedule_free_adamw:
      return "schedule_free_adamw";
  }
  return "unknown";
}

Kind parse_kind(const std::string& name) {
  for (Kind k :
       {Kind::sgd, Kind::adam, Kind::adamw, Kind::rmsprop, Kind::adagrad, Kind::nadam, Kind::adamax,
        Kind::lion, Kind::adadelta, Kind::ftrl, Kind::lamb, Kind::schedule_free_adamw})
    if (name == kind_name(k)) return k;
  throw std::invalid_argument("optimizer: unknown kind '" + name +
                              "'; expected one of: sgd, adam, adamw, rmsprop, adagrad, nadam, "
                              "adamax, lion, adadelta, ftrl, lamb, schedule_free_adamw");
}

const char* clip_name(Clip clip) {
  switch (clip) {
    case Clip::none:
      return "none";
    case Clip::clipnorm:
      return "clipnorm";
    case Clip::clipvalue:
      return "clipvalue";
    case Clip::global_clipnorm:
      return "global_clipnorm";
  }
  return "unknown";
}

Clip parse_clip(const std::string& name) {
  for (Clip c : {Clip::none, Clip::clipnorm, Clip::clipvalue, Clip::global_clipnorm})
    if (name == clip_name(c)) return c;
  throw std::invalid_argument("optimizer: unknown clip mode '" + name +
                              "'; expected one of: none, clipnorm, clipvalue, global_clipnorm");
}

namespace {

std::vector<std::string> kind_slot_names(const Config& c) {
  switch (c.kind) {
    case Kind::sgd:
      if (c.momentum != 0.0) return {"momentum"};
      return {};
    case Kind::adam:
    case Kind::adamw:
      if (c.amsgrad) return {"momentum", "velocity", "velocity_hat"};
      return {"momentum", "velocity"};
    case Kind::rmsprop: {
      std::vector<std::string> names{"velocity"};
      if (c.momentum > 0.0) names.push_back("momentum");
      if (c.centered) names.push_back("average_gradient");
      return names;
    }
    case Kind::adagrad:
      return {"accumulator"};
    case Kind::nadam:
      return {"momentum", "velocity"};
    case Kind::adamax:
      return {"momentum", "norm"};
    case Kind::lion:
      return {"momentum"};
    case Kind::adadelta:
      return {"accumulated_grad", "accumulated_delta_var"};
    case Kind::ftrl:
      return {"accumulator", "linear"};
    case Kind::lamb:
    case Kind::schedule_free_adamw:
      return {"momentum", "velocity"};
  }
  return {};
}

}  // namespace

std::vector<std::string> slot_names(const Config& c) {
  std::vector<std::string> names = kind_slot_names(c);
  if (c.use_ema) names.insert(names.begin(), "average");
  return names;
}

namespace {

// prefix[s] = prod_{i=1..s} (1 - 0.5 * 0.96^i) in double, up to the first s
// whose factor rounds to 1.0 (s = 900): later prefixes all equal the last entry.
const std::vector<double>& nadam_prefix_products() {
  static const std::vector<double> table = [] {
    std::vector<double> t{1.0};
    for (int i = 1;; ++i) {
      const double f = 1.0 - 0.5 * std::pow(0.96, static_cast<double>(i));
      if (f == 1.0) break;
      t.push_back(t.back() * f);
    }
    return t;
  }();
  return table;
}

}  // namespace

double nadam_u_product(double beta_1, int64_t t) {
  const std::vector<double>& prefix = nadam_prefix_products();
  const int64_t last                = static_cast<int64_t>(prefix.size()) - 1;
  return std::pow(beta_1, static_cast<double>(t)) *
         prefix[static_cast<size_t>(std::min(std::max<int64_t>(t, 0), last))];
}

float slot_initial_value(const Config& c, int slot) {
  if (c.use_ema) {  // the average, then the kind's slots
    if (slot == 0) return 0.0f;
    --slot;
  }
  const bool accumulator = c.kind == Kind::adagrad || (c.kind == Kind::ftrl && slot == 0);
  return accumulator ? static_cast<float>(c.initial_accumulator_value) : 0.0f;
}

void update(const Config& config, float* param, const float* grad, float* const* slots, int64_t n,
            int64_t step, double learning_rate) {
  validate_config(config);
  if (n < 0) throw std::invalid_argument("optimizer: n must be >= 0");
  if (step < 1) throw std::invalid_argument("optimizer: step must be >= 1, got " + fmt(step));
  const std::vector<int64_t> offsets{0, n};
  std::vector<WorkItem> items;
  build_items(offsets, items);
  std::vector<double> partial(2 * items.size());
  double tensor_sum[2] = {0.0, 0.0};
  float scale          = 1.0f;
  std::vector<float> scratch(config.kind == Kind::lamb ? static_cast<size_t>(n) : 0);
  // Stateless: the caller's z is the weights' copy when the step is the first.
  const bool copy_z = config.kind == Kind::schedule_free_adamw && step == 1;
  run_step(config, step, learning_rate, offsets, items, &param, &grad, slots, nullptr, nullptr,
           partial.data(), tensor_sum, &scale, scratch.data(), copy_z);
}

Optimizer::Optimizer(const Config& config, std::vector<int64_t> offsets)
    : config_(config), offsets_(std::move(offsets)), slot_names_(slot_names(config)) {
  validate_config(config_);
  if (offsets_.empty() || offsets_[0] != 0)
    throw std::invalid_argument("Optimizer: offsets must start with 0");
  for (size_t k = 1; k < offsets_.size(); ++k)
    if (offsets_[k] < offsets_[k - 1])
      throw std::invalid_argument("Optimizer: offsets must be non-decreasing");
  const auto n = static_cast<size_t>(size());
  slots_.resize(slot_names_.size());
  for (auto& s : slots_) {
    s.reserve(std::max<size_t>(n, 1));
    advise_huge_pages(s.data(), n * sizeof(float));
  }
  if (config_.kind == Kind::lamb) {
    scratch_.reserve(std::max<size_t>(n, 1));
    advise_huge_pages(scratch_.data(), n * sizeof(float));
  }
  std::vector<WorkItem> items;
  build_items(offsets_, items);
  items_.reserve(items.size());
  for (const auto& it : items) items_.push_back({it.tensor, it.begin, it.count});
  partial_sums_.assign(2 * items_.size(), 0.0);
  scales_.assign(num_tensors(), 1.0f);
  tensor_sums_.assign(2 * static_cast<size_t>(num_tensors()), 0.0);
  param_ptrs_.assign(num_tensors(), nullptr);
  grad_ptrs_.assign(num_tensors(), nullptr);
  frozen_.assign(num_tensors(), 0);
  averaged_.assign(num_tensors(), 1);
  decayed_.assign(num_tensors(), 1);
  reset();
}

void Optimizer::set_frozen(const std::vector<bool>& frozen) {
  if (static_cast<int>(frozen.size()) != num_tensors())
    throw std::invalid_argument("Optimizer::set_frozen: " + fmt(frozen.size()) + " flags for " +
                                fmt(num_tensors()) + " tensors");
  for (size_t k = 0; k < frozen.size(); ++k) frozen_[k] = frozen[k] ? 1 : 0;
}

void Optimizer::set_averaged(const std::vector<bool>& averaged) {
  if (static_cast<int>(averaged.size()) != num_tensors())
    throw std::invalid_argument("Optimizer::set_averaged: " + fmt(averaged.size()) + " flags for " +
                                fmt(num_tensors()) + " tensors");
  for (size_t k = 0; k < averaged.size(); ++k) averaged_[k] = averaged[k] ? 1 : 0;
}

void Optimizer::set_decayed(const std::vector<bool>& decayed) {
  if (static_cast<int>(decayed.size()) != num_tensors())
    throw std::invalid_argument("Optimizer::set_decayed: " + fmt(decayed.size()) + " flags for " +
                                fmt(num_tensors()) + " tensors");
  for (size_t k = 0; k < decayed.size(); ++k) decayed_[k] = decayed[k] ? 1 : 0;
}

void Optimizer::reset() {
  iterations_     = 0;
  copy_z_pending_ = config_.kind == Kind::schedule_free_adamw;
  for (int i = 0; i < num_slots(); ++i) {
    const float v = slot_initial_value(config_, i);
    std::fill(slots_[i].data(), slots_[i].data() + size(), v);
  }
}

void Optimizer::set_iterations(int64_t iterations) {
  if (iterations < 0)
    throw std::invalid_argument("Optimizer: iterations must be >= 0, got " + fmt(iterations));
  iterations_ = iterations;
}

void Optimizer::step(float* params, const float* grads, int64_t n, double learning_rate) {
  if (n != size())
    throw std::invalid_argument("Optimizer::step: n = " + fmt(n) + " but the optimizer has " +
                                fmt(size()) + " parameters");
  for (int k = 0; k < num_tensors(); ++k) {
    param_ptrs_[k] = params + offsets_[k];
    grad_ptrs_[k]  = frozen_[k] ? nullptr : grads + offsets_[k];
  }
  step_tensors(param_ptrs_.data(), grad_ptrs_.data(), learning_rate);
}

void Optimizer::step_tensors(float* const* params, const float* const* grads,
                             double learning_rate) {
  float* bases[4] = {nullptr, nullptr, nullptr, nullptr};  // at most average + 3 slots
  for (int i = 0; i < num_slots(); ++i) bases[i] = slots_[i].data();
  run_step(config_, iterations_ + 1, learning_rate, offsets_, items_, params, grads, bases,
           averaged_.data(), decayed_.data(), partial_sums_.data(), tensor_sums_.data(),
           scales_.data(), scratch_.data(), copy_z_pending_);
  copy_z_pending_ = false;
  ++iterations_;
}

}  // namespace fastnn::optim
