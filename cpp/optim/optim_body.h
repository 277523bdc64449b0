// The optimizer update bodies, written once over an "ops" type O that supplies
// V (float, or a SIMD register of O::kWidth floats) and load / store / set1 /
// add / sub / mul / div / sqrt / min / max / abs / sign. Each ISA's translation unit
// instantiates them with its vector ops for the body and with ScalarOps for
// the tail, so the tail mirrors the body operation for operation and every
// path rounds the same way: this header turns FMA contraction off for the
// rest of the including file (its ops structs and these bodies).
//
// Everything here has internal linkage (anonymous namespace): each ISA's TU
// gets its own copy compiled with its own flags, so no instantiation built
// with -mavx2 can be picked by the linker for the portable path.
//
// Formulas: cpp/optim/optimizer.h (Keras 3, keras/src/optimizers/*.py).
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "optim/optim_kernels.h"

// No FMA contraction: every path must round like the others.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace fastnn::optim {
namespace {

struct ScalarOps {
  using V                     = float;
  static constexpr int kWidth = 1;
  static V load(const float* p) { return *p; }
  static void store(float* p, V x) { *p = x; }
  static V set1(float x) { return x; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V sqrt(V a) { return std::sqrt(a); }
  // Same selection as x86 minps/maxps: the second operand when unordered.
  static V min(V a, V b) { return a < b ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V abs(V a) { return std::fabs(a); }
  // 1, -1 or +0 (for either zero); NaN stays NaN (as Keras's ops.sign).
  static V sign(V a) { return a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : (a == a ? 0.0f : a)); }
};

template <class O>
struct Consts {
  typename O::V lr, wd_lr, scale, clip_hi, clip_lo, momentum, one_minus_beta_1, one_minus_beta_2,
      alpha, epsilon, rho, one_minus_rho, beta_1, beta_2, nadam_m, nadam_g, bias_2, l1_hi, l1_lo,
      ftrl_l2, ftrl_shrinkage, bias_1, sf_weight, sf_one_minus_w;
  float ftrl_power;  // the exponent of pow_lanes
};

template <class O>
Consts<O> make_consts(const StepParams& s) {
  Consts<O> k;
  k.lr               = O::set1(s.lr);
  k.wd_lr            = O::set1(s.wd_lr);
  k.scale            = O::set1(s.scale);
  k.clip_hi          = O::set1(s.clip);
  k.clip_lo          = O::set1(-s.clip);
  k.momentum         = O::set1(s.momentum);
  k.one_minus_beta_1 = O::set1(s.one_minus_beta_1);
  k.one_minus_beta_2 = O::set1(s.one_minus_beta_2);
  k.alpha            = O::set1(s.alpha);
  k.epsilon          = O::set1(s.epsilon);
  k.rho              = O::set1(s.rho);
  k.one_minus_rho    = O::set1(s.one_minus_rho);
  k.beta_1           = O::set1(s.beta_1);
  k.beta_2           = O::set1(s.beta_2);
  k.nadam_m          = O::set1(s.nadam_m);
  k.nadam_g          = O::set1(s.nadam_g);
  k.bias_2           = O::set1(s.bias_2);
  k.l1_hi            = O::set1(s.ftrl_l1);
  k.l1_lo            = O::set1(-s.ftrl_l1);
  k.ftrl_l2          = O::set1(s.ftrl_l2);
  k.ftrl_shrinkage   = O::set1(s.ftrl_shrinkage);
  k.ftrl_power       = s.ftrl_power;
  k.bias_1           = O::set1(s.bias_1);
  k.sf_weight        = O::set1(s.sf_weight);
  k.sf_one_minus_w   = O::set1(s.sf_one_minus_w);
  return k;
}

// Clip (keras/src/optimizers/base_optimizer.py, _clip_gradients): scale for
// clipnorm / global_clipnorm, then clip to [-c, c] (NaN stays NaN).
template <class O, bool kClipValue, bool kScale>
inline typename O::V load_grad(const Consts<O>& k, const float* g) {
  typename O::V x = O::load(g);
  if constexpr (kScale) x = O::mul(x, k.scale);
  if constexpr (kClipValue) x = O::max(k.clip_lo, O::min(k.clip_hi, x));
  return x;
}

// The moving average x + (target - x) * one_minus (Adam's, Nadam's and
// Adamax's first moment, Adam's and Nadam's second).
template <class O>
inline typename O::V moving_average(typename O::V x, typename O::V target,
                                    typename O::V one_minus) {
  return O::add(x, O::mul(O::sub(target, x), one_minus));
}

// Decoupled weight decay (base_optimizer.py, _apply_weight_decay).
template <class O, bool kDecay>
inline typename O::V load_param(const Consts<O>& k, const float* p) {
  typename O::V w = O::load(p);
  if constexpr (kDecay) w = O::sub(w, O::mul(w, k.wd_lr));
  return w;
}

// keras/src/optimizers/sgd.py
template <class O, bool kClipValue, bool kScale, bool kDecay, bool kMomentum, bool kNesterov>
inline void sgd_at(const Consts<O>& k, float* p, const float* gp, float* bp) {
  using V   = typename O::V;
  const V g = load_grad<O, kClipValue, kScale>(k, gp);
  V w       = load_param<O, kDecay>(k, p);
  if constexpr (!kMomentum) {
    w = O::sub(w, O::mul(g, k.lr));
  } else {
    const V b = O::sub(O::mul(O::load(bp), k.momentum), O::mul(g, k.lr));
    O::store(bp, b);
    if constexpr (kNesterov)
      w = O::add(w, O::sub(O::mul(b, k.momentum), O::mul(g, k.lr)));
    else
      w = O::add(w, b);
  }
  O::store(p, w);
}

// keras/src/optimizers/adam.py (AdamW is Adam with weight decay, adamw.py)
template <class O, bool kClipValue, bool kScale, bool kDecay, bool kAmsgrad>
inline void adam_at(const Consts<O>& k, float* p, const float* gp, float* mp, float* vp,
                    float* vhp) {
  using V   = typename O::V;
  const V g = load_grad<O, kClipValue, kScale>(k, gp);
  V w       = load_param<O, kDecay>(k, p);
  V m       = O::load(mp);
  V v       = O::load(vp);
  m         = moving_average<O>(m, g, k.one_minus_beta_1);
  v         = moving_average<O>(v, O::mul(g, g), k.one_minus_beta_2);
  O::store(mp, m);
  O::store(vp, v);
  if constexpr (kAmsgrad) {
    v = O::max(O::load(vhp), v);
    O::store(vhp, v);
  }
  w = O::sub(w, O::div(O::mul(m, k.alpha), O::add(O::sqrt(v), k.epsilon)));
  O::store(p, w);
}

// keras/src/optimizers/rmsprop.py
template <class O, bool kClipValue, bool kScale, bool kDecay, bool kMomentum, bool kCentered>
inline void rmsprop_at(const Consts<O>& k, float* p, const float* gp, float* vp, float* bp,
                       float* ap) {
  using V   = typename O::V;
  const V g = load_grad<O, kClipValue, kScale>(k, gp);
  V w       = load_param<O, kDecay>(k, p);
  const V v = O::add(O::mul(k.rho, O::load(vp)), O::mul(k.one_minus_rho, O::mul(g, g)));
  O::store(vp, v);
  V d;
  if constexpr (kCentered) {
    const V a = O::add(O::mul(k.rho, O::load(ap)), O::mul(k.one_minus_rho, g));
    O::store(ap, a);
    // v - a^2 >= 0 exactly (Cauchy-Schwarz on the moving averages); clamp its
    // float32 rounding, negative once it shrinks below ~eps v, at 0 so that
    // sqrt(d) is not NaN (Keras's formula otherwise; max keeps a NaN second operand).
    d = O::add(O::max(O::set1(0.0f), O::sub(v, O::mul(a, a))), k.epsilon);
  } else {
    d = O::add(v, k.epsilon);
  }
  const V inc = O::div(O::mul(k.lr, g), O::sqrt(d));
  if constexpr (kMomentum) {
    const V b = O::add(O::mul(k.momentum, O::load(bp)), inc);
    O::store(bp, b);
    w = O::sub(w, b);
  } else {
    w = O::sub(w, inc);
  }
  O::store(p, w);
}

// keras/src/optimizers/adagrad.py
template <class O, bool kClipValue, bool kScale, bool kDecay>
inline void adagrad_at(const Consts<O>& k, float* p, const float* gp, float* accp) {
  using V     = typename O::V;
  const V g   = load_grad<O, kClipValue, kScale>(k, gp);
  V w         = load_param<O, kDecay>(k, p);
  const V acc = O::add(O::load(accp), O::mul(g, g));
  O::store(accp, acc);
  w = O::sub(w, O::div(O::mul(k.lr, g), O::sqrt(O::add(acc, k.epsilon))));
  O::store(p, w);
}

// keras/src/optimizers/nadam.py (U_t, u_t, u_{t+1} folded into nadam_m / nadam_g)
template <class O, class CV, class SC, class WD>
inline void nadam_at(const Consts<O>& k, CV, SC, WD, float* p, const float* gp, float* mp,
                     float* vp) {
  using V   = typename O::V;
  const V g = load_grad<O, CV::value, SC::value>(k, gp);
  V w       = load_param<O, WD::value>(k, p);
  V m       = O::load(mp);
  V v       = O::load(vp);
  m         = moving_average<O>(m, g, k.one_minus_beta_1);
  v         = moving_average<O>(v, O::mul(g, g), k.one_minus_beta_2);
  O::store(mp, m);
  O::store(vp, v);
  const V m_hat_lr = O::add(O::mul(m, k.nadam_m), O::mul(g, k.nadam_g));
  w                = O::sub(w, O::div(m_hat_lr, O::add(O::sqrt(O::div(v, k.bias_2)), k.epsilon)));
  O::store(p, w);
}

// keras/src/optimizers/adamax.py
template <class O, class CV, class SC, class WD>
inline void adamax_at(const Consts<O>& k, CV, SC, WD, float* p, const float* gp, float* mp,
                      float* up) {
  using V   = typename O::V;
  const V g = load_grad<O, CV::value, SC::value>(k, gp);
  V w       = load_param<O, WD::value>(k, p);
  V m       = O::load(mp);
  m         = moving_average<O>(m, g, k.one_minus_beta_1);
  const V u = O::max(O::mul(k.beta_2, O::load(up)), O::abs(g));  // NaN g -> NaN u
  O::store(mp, m);
  O::store(up, u);
  w = O::sub(w, O::div(O::mul(m, k.alpha), O::add(u, k.epsilon)));
  O::store(p, w);
}

// keras/src/optimizers/lion.py
template <class O, class CV, class SC, class WD>
inline void lion_at(const Consts<O>& k, CV, SC, WD, float* p, const float* gp, float* mp) {
  using V   = typename O::V;
  const V g = load_grad<O, CV::value, SC::value>(k, gp);
  V w       = load_param<O, WD::value>(k, p);
  const V m = O::load(mp);
  const V c = O::add(O::mul(m, k.beta_1), O::mul(g, k.one_minus_beta_1));
  w         = O::sub(w, O::mul(k.lr, O::sign(c)));
  O::store(mp, O::add(O::mul(m, k.beta_2), O::mul(g, k.one_minus_beta_2)));
  O::store(p, w);
}

// keras/src/optimizers/adadelta.py. Keras's delta_var is -d: the update
// w + lr*(-d) is w - lr*d to the bit, and (-d)^2 = d^2.
template <class O, class CV, class SC, class WD>
inline void adadelta_at(const Consts<O>& k, CV, SC, WD, float* p, const float* gp, float* agp,
                        float* adp) {
  using V    = typename O::V;
  const V g  = load_grad<O, CV::value, SC::value>(k, gp);
  V w        = load_param<O, WD::value>(k, p);
  const V ag = O::add(O::mul(k.rho, O::load(agp)), O::mul(k.one_minus_rho, O::mul(g, g)));
  const V ad = O::load(adp);
  const V d  = O::div(O::mul(O::sqrt(O::add(ad, k.epsilon)), g), O::sqrt(O::add(ag, k.epsilon)));
  O::store(agp, ag);
  O::store(adp, O::add(O::mul(k.rho, ad), O::mul(k.one_minus_rho, O::mul(d, d))));
  w = O::sub(w, O::mul(k.lr, d));
  O::store(p, w);
}

// x^e lane by lane, in double rounded to float32: Ftrl's pow for any
// learning_rate_power (no vector pow; the same libm call on every path).
template <class O>
inline typename O::V pow_lanes(typename O::V x, float e) {
  alignas(32) float lanes[O::kWidth];
  O::store(lanes, x);
  for (int j = 0; j < O::kWidth; ++j)
    lanes[j] = static_cast<float>(std::pow(static_cast<double>(lanes[j]), static_cast<double>(e)));
  return O::load(lanes);
}

// x^ftrl_power; kSqrt (power 0.5, Keras's default): sqrt(x), the same value
// (sqrt rounded once to float32 equals the double pow rounded to float32).
template <class O, bool kSqrt>
inline typename O::V ftrl_pow(const Consts<O>& k, typename O::V x) {
  if constexpr (kSqrt)
    return O::sqrt(x);
  else
    return pow_lanes<O>(x, k.ftrl_power);
}

// keras/src/optimizers/ftrl.py (p = -learning_rate_power):
//   n = acc + g*g;  linear += (g + shrinkage*w) - ((n^p - acc^p) / lr) * w
//   w = (clip(linear, -l1, l1) - linear) / (n^p / lr + ftrl_l2);  acc = n
template <class O, class CV, class SC, class WD, class SQ>
inline void ftrl_at(const Consts<O>& k, CV, SC, WD, SQ, float* p, const float* gp, float* accp,
                    float* linp) {
  using V     = typename O::V;
  const V g   = load_grad<O, CV::value, SC::value>(k, gp);
  const V w   = load_param<O, WD::value>(k, p);
  const V acc = O::load(accp);
  const V n   = O::add(acc, O::mul(g, g));
  const V pn  = ftrl_pow<O, SQ::value>(k, n);
  const V pa  = ftrl_pow<O, SQ::value>(k, acc);
  const V gs  = O::add(g, O::mul(k.ftrl_shrinkage, w));
  const V lin = O::add(O::load(linp), O::sub(gs, O::mul(O::div(O::sub(pn, pa), k.lr), w)));
  const V q   = O::add(O::div(pn, k.lr), k.ftrl_l2);
  const V lc  = O::max(k.l1_lo, O::min(k.l1_hi, lin));  // NaN stays NaN
  O::store(accp, n);
  O::store(linp, lin);
  O::store(p, O::div(O::sub(lc, lin), q));
}

// keras/src/optimizers/lamb.py, first pass: decay, moments, and the
// direction u = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon).
template <class O, class CV, class SC, class WD>
inline void lamb_moments_at(const Consts<O>& k, CV, SC, WD, float* p, const float* gp, float* mp,
                            float* vp, float* up) {
  using V   = typename O::V;
  const V g = load_grad<O, CV::value, SC::value>(k, gp);
  const V w = load_param<O, WD::value>(k, p);
  const V m = moving_average<O>(O::load(mp), g, k.one_minus_beta_1);
  const V v = moving_average<O>(O::load(vp), O::mul(g, g), k.one_minus_beta_2);
  O::store(mp, m);
  O::store(vp, v);
  O::store(up, O::div(O::div(m, k.bias_1), O::add(O::sqrt(O::div(v, k.bias_2)), k.epsilon)));
  if constexpr (WD::value) O::store(p, w);
}

// LAMB's second pass: w - (ratio * lr) * u, with k.lr = ratio * lr.
template <class O>
inline void lamb_apply_at(const Consts<O>& k, float* p, const float* up) {
  O::store(p, O::sub(O::load(p), O::mul(k.lr, O::load(up))));
}

// keras/src/optimizers/schedule_free_adamw.py, with x from the old z (optimizer.h).
template <class O, class CV, class SC, class WD>
inline void schedule_free_at(const Consts<O>& k, CV, SC, WD, float* p, const float* gp, float* zp,
                             float* vp) {
  using V       = typename O::V;
  const V g     = load_grad<O, CV::value, SC::value>(k, gp);
  const V y     = load_param<O, WD::value>(k, p);
  const V z_old = O::load(zp);
  const V v     = moving_average<O>(O::load(vp), O::mul(g, g), k.one_minus_beta_2);
  const V denom = O::add(O::sqrt(O::div(v, k.bias_2)), k.epsilon);
  const V z     = O::sub(z_old, O::div(O::mul(k.lr, g), denom));
  const V x_old = O::div(O::sub(y, O::mul(k.one_minus_beta_1, z_old)), k.beta_1);
  const V x     = O::add(O::mul(k.sf_one_minus_w, x_old), O::mul(k.sf_weight, z));
  O::store(vp, v);
  O::store(zp, z);
  O::store(p, O::add(O::mul(k.one_minus_beta_1, z), O::mul(k.beta_1, x)));
}

// Calls f(std::bool_constant<b0>{}, std::bool_constant<b1>{}, ...) for the
// run-time flags, so each combination gets its own branch-free loop.
template <bool... kDone, class F>
inline void with_flags(F&& f) {
  f(std::bool_constant<kDone>{}...);
}
template <bool... kDone, class F, class... Rest>
inline void with_flags(F&& f, bool b, Rest... rest) {
  if (b)
    with_flags<kDone..., true>(std::forward<F>(f), rest...);
  else
    with_flags<kDone..., false>(std::forward<F>(f), rest...);
}

// The loops: vector body with VecOps, then the tail with ScalarOps.
template <class VecOps>
void sgd_kernel(const StepParams& s, float* p, const float* g, float* b, int64_t n) {
  with_flags(
      [&](auto cv, auto sc, auto wd, auto mom, auto nest) {
        constexpr bool CV = decltype(cv)::value, SC = decltype(sc)::value, WD = decltype(wd)::value,
                       MOM = decltype(mom)::value, NEST = decltype(nest)::value;
        const auto kv        = make_consts<VecOps>(s);
        const auto ks        = make_consts<ScalarOps>(s);
        constexpr int64_t kW = VecOps::kWidth;
        int64_t i            = 0;
        if constexpr (kW > 1)
          for (; i + kW <= n; i += kW)
            sgd_at<VecOps, CV, SC, WD, MOM, NEST>(kv, p + i, g + i, MOM ? b + i : nullptr);
        for (; i < n; ++i)
          sgd_at<ScalarOps, CV, SC, WD, MOM, NEST>(ks, p + i, g + i, MOM ? b + i : nullptr);
      },
      s.clip_value, s.scale_grad, s.decay, s.has_momentum, s.has_momentum && s.nesterov);
}

template <class VecOps>
void adam_kernel(const StepParams& s, float* p, const float* g, float* m, float* v, float* vhat,
                 int64_t n) {
  with_flags(
      [&](auto cv, auto sc, auto wd, auto ams) {
        constexpr bool CV = decltype(cv)::value, SC = decltype(sc)::value, WD = decltype(wd)::value,
                       AMS   = decltype(ams)::value;
        const auto kv        = make_consts<VecOps>(s);
        const auto ks        = make_consts<ScalarOps>(s);
        constexpr int64_t kW = VecOps::kWidth;
        int64_t i            = 0;
        if constexpr (kW > 1)
          for (; i + kW <= n; i += kW)
            adam_at<VecOps, CV, SC, WD, AMS>(kv, p + i, g + i, m + i, v + i,
                                             AMS ? vhat + i : nullptr);
        for (; i < n; ++i)
          adam_at<ScalarOps, CV, SC, WD, AMS>(ks, p + i, g + i, m + i, v + i,
                                              AMS ? vhat + i : nullptr);
      },
      s.clip_value, s.scale_grad, s.decay, s.amsgrad);
}

template <class VecOps>
void rmsprop_kernel(const StepParams& s, float* p, const float* g, float* v, float* b, float* a,
                    int64_t n) {
  with_flags(
      [&](auto cv, auto sc, auto wd, auto mom, auto cen) {
        constexpr bool CV = decltype(cv)::value, SC = decltype(sc)::value, WD = decltype(wd)::value,
                       MOM = decltype(mom)::value, CEN = decltype(cen)::value;
        const auto kv        = make_consts<VecOps>(s);
        const auto ks        = make_consts<ScalarOps>(s);
        constexpr int64_t kW = VecOps::kWidth;
        int64_t i            = 0;
        if constexpr (kW > 1)
          for (; i + kW <= n; i += kW)
            rmsprop_at<VecOps, CV, SC, WD, MOM, CEN>(kv, p + i, g + i, v + i, MOM ? b + i : nullptr,
                                                     CEN ? a + i : nullptr);
        for (; i < n; ++i)
          rmsprop_at<ScalarOps, CV, SC, WD, MOM, CEN>(ks, p + i, g + i, v + i,
                                                      MOM ? b + i : nullptr, CEN ? a + i : nullptr);
      },
      s.clip_value, s.scale_grad, s.decay, s.has_momentum, s.centered);
}

template <class VecOps>
void adagrad_kernel(const StepParams& s, float* p, const float* g, float* acc, int64_t n) {
  with_flags(
      [&](auto cv, auto sc, auto wd) {
        constexpr bool CV = decltype(cv)::value, SC = decltype(sc)::value, WD = decltype(wd)::value;
        const auto kv        = make_consts<VecOps>(s);
        const auto ks        = make_consts<ScalarOps>(s);
        constexpr int64_t kW = VecOps::kWidth;
        int64_t i            = 0;
        if constexpr (kW > 1)
          for (; i + kW <= n; i += kW) adagrad_at<VecOps, CV, SC, WD>(kv, p + i, g + i, acc + i);
        for (; i < n; ++i) adagrad_at<ScalarOps, CV, SC, WD>(ks, p + i, g + i, acc + i);
      },
      s.clip_value, s.scale_grad, s.decay);
}

// The loop of the kernels below: body(k, i) over whole vectors with
// Consts<VecOps>, then element by element with Consts<ScalarOps>, for the
// clip / decay flags of s and then the kernel's own `flags` as
// std::bool_constant arguments: body(k, i, cv, sc, wd, flags...).
template <class VecOps, class Body, class... Flags>
void for_each_element(const StepParams& s, int64_t n, Body&& body, Flags... flags) {
  with_flags(
      [&](auto cv, auto sc, auto wd, auto... own) {
        const auto kv        = make_consts<VecOps>(s);
        const auto ks        = make_consts<ScalarOps>(s);
        constexpr int64_t kW = VecOps::kWidth;
        int64_t i            = 0;
        if constexpr (kW > 1)
          for (; i + kW <= n; i += kW) body(kv, i, cv, sc, wd, own...);
        for (; i < n; ++i) body(ks, i, cv, sc, wd, own...);
      },
      s.clip_value, s.scale_grad, s.decay, flags...);
}

template <class VecOps>
void nadam_kernel(const StepParams& s, float* p, const float* g, float* m, float* v, int64_t n) {
  for_each_element<VecOps>(s, n, [&](const auto& k, int64_t i, auto cv, auto sc, auto wd) {
    nadam_at(k, cv, sc, wd, p + i, g + i, m + i, v + i);
  });
}

template <class VecOps>
void adamax_kernel(const StepParams& s, float* p, const float* g, float* m, float* u, int64_t n) {
  for_each_element<VecOps>(s, n, [&](const auto& k, int64_t i, auto cv, auto sc, auto wd) {
    adamax_at(k, cv, sc, wd, p + i, g + i, m + i, u + i);
  });
}

template <class VecOps>
void lion_kernel(const StepParams& s, float* p, const float* g, float* m, int64_t n) {
  for_each_element<VecOps>(s, n, [&](const auto& k, int64_t i, auto cv, auto sc, auto wd) {
    lion_at(k, cv, sc, wd, p + i, g + i, m + i);
  });
}

template <class VecOps>
void adadelta_kernel(const StepParams& s, float* p, const float* g, float* acc_g, float* acc_d,
                     int64_t n) {
  for_each_element<VecOps>(s, n, [&](const auto& k, int64_t i, auto cv, auto sc, auto wd) {
    adadelta_at(k, cv, sc, wd, p + i, g + i, acc_g + i, acc_d + i);
  });
}

template <class VecOps>
void ftrl_kernel(const StepParams& s, float* p, const float* g, float* acc, float* linear,
                 int64_t n) {
  for_each_element<VecOps>(
      s, n,
      [&](const auto& k, int64_t i, auto cv, auto sc, auto wd, auto sq) {
        ftrl_at(k, cv, sc, wd, sq, p + i, g + i, acc + i, linear + i);
      },
      s.ftrl_sqrt);
}

template <class VecOps>
void lamb_moments_kernel(const StepParams& s, float* p, const float* g, float* m, float* v,
                         float* u, int64_t n) {
  for_each_element<VecOps>(s, n, [&](const auto& k, int64_t i, auto cv, auto sc, auto wd) {
    lamb_moments_at(k, cv, sc, wd, p + i, g + i, m + i, v + i, u + i);
  });
}

template <class VecOps>
void lamb_apply_kernel(const StepParams& s, float* p, const float* u, int64_t n) {
  const auto kv        = make_consts<VecOps>(s);
  const auto ks        = make_consts<ScalarOps>(s);
  constexpr int64_t kW = VecOps::kWidth;
  int64_t i            = 0;
  if constexpr (kW > 1)
    for (; i + kW <= n; i += kW) lamb_apply_at<VecOps>(kv, p + i, u + i);
  for (; i < n; ++i) lamb_apply_at<ScalarOps>(ks, p + i, u + i);
}

template <class VecOps>
void schedule_free_kernel(const StepParams& s, float* p, const float* g, float* z, float* v,
                          int64_t n) {
  for_each_element<VecOps>(s, n, [&](const auto& k, int64_t i, auto cv, auto sc, auto wd) {
    schedule_free_at(k, cv, sc, wd, p + i, g + i, z + i, v + i);
  });
}

// keras/src/optimizers/base_optimizer.py, _update_model_variables_moving_average
// (then _overwrite_model_variables_with_average_value when kOverwrite):
// avg = momentum * avg + (1 - momentum) * w, as Keras's three float32 ops.
template <class O, bool kOverwrite>
inline void ema_at(typename O::V momentum, typename O::V one_minus, float* p, float* ap) {
  const typename O::V w = O::load(p);
  const typename O::V a = O::add(O::mul(momentum, O::load(ap)), O::mul(one_minus, w));
  O::store(ap, a);
  if constexpr (kOverwrite) O::store(p, a);
}

template <class VecOps>
void ema_kernel(const StepParams& s, float* p, float* avg, int64_t n) {
  with_flags(
      [&](auto ow) {
        constexpr bool OW    = decltype(ow)::value;
        constexpr int64_t kW = VecOps::kWidth;
        const auto mv = VecOps::set1(s.ema_momentum), ov = VecOps::set1(s.ema_one_minus);
        int64_t i = 0;
        if constexpr (kW > 1)
          for (; i + kW <= n; i += kW) ema_at<VecOps, OW>(mv, ov, p + i, avg + i);
        for (; i < n; ++i) ema_at<ScalarOps, OW>(s.ema_momentum, s.ema_one_minus, p + i, avg + i);
      },
      s.ema_overwrite);
}

// Tail of sum_squares shared by every ISA: lanes[j] already hold the sums of
// the full blocks of 8; adds the last n % 8 elements to lanes 0.. and combines.
inline double sum_squares_finish(double lanes[8], const float* x, int64_t full, int64_t n) {
  for (int64_t i = full; i < n; ++i) {
    const double d = static_cast<double>(x[i]);
    lanes[i - full] += d * d;
  }
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace
}  // namespace fastnn::optim
