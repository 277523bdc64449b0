// AVX2/FMA activation kernels (compiled with -mavx2 -mfma). Vector body of 8
// lanes; the tail runs the same vector code on masked loads and stores, so a
// value does not depend on its position.
#include <immintrin.h>

#include <cmath>

#include "ops/activations.h"
#include "ops/avx2/vmath_avx2.h"
#include "runtime/avx2_tail.h"

namespace fastnn::ops {

namespace {

using avx2::exp256;
using avx2::expm1_256;
using avx2::log1p_pos256;
using avx2::sigmoid256;
using avx2::tanh256;
using avx2::vset;

inline __m256i tail_mask(int64_t r) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)), idx);
}

// y = f(x)
template <typename F>
inline void map1(float* y, const float* x, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    runtime::store_first_lanes(y + i, f(_mm256_maskload_ps(x + i, m)), n - i);
  }
}

// dx = f(dy, a)
template <typename F>
inline void map2(float* dx, const float* dy, const float* a, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dx + i, f(_mm256_loadu_ps(dy + i), _mm256_loadu_ps(a + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    runtime::store_first_lanes(
        dx + i, f(_mm256_maskload_ps(dy + i, m), _mm256_maskload_ps(a + i, m)), n - i);
  }
}

const __m256 kZero = _mm256_setzero_ps();

// max(0, v) + log1p(exp(-|v|)), NaN propagating (as the softplus kernel)
inline __m256 softplus256(__m256 v) {
  const __m256 ax = _mm256_andnot_ps(vset(-0.0f), v);
  return _mm256_add_ps(_mm256_max_ps(kZero, v), log1p_pos256(exp256(_mm256_sub_ps(kZero, ax))));
}

// (v + 3) / 6 clipped to [0, 1], as the hard_sigmoid kernel
inline __m256 hard_sigmoid256(__m256 v) {
  const __m256 t = _mm256_div_ps(_mm256_add_ps(v, vset(3.0f)), vset(6.0f));
  return _mm256_min_ps(vset(1.0f), _mm256_max_ps(kZero, t));
}

inline __m256 gt0(__m256 v) { return _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ); }

// v <= lo || v >= hi (false for NaN)
inline __m256 outside(__m256 v, float lo, float hi) {
  return _mm256_or_ps(_mm256_cmp_ps(v, vset(lo), _CMP_LE_OQ),
                      _mm256_cmp_ps(v, vset(hi), _CMP_GE_OQ));
}

// -a <= v <= a (false for NaN)
inline __m256 within(__m256 v, __m256 a) {
  return _mm256_and_ps(_mm256_cmp_ps(v, _mm256_sub_ps(kZero, a), _CMP_GE_OQ),
                       _mm256_cmp_ps(v, a, _CMP_LE_OQ));
}

// sqrt(v^2 + b), |v| sqrt(1 + (b / |v|) / |v|) beyond 2^60, as the generic kernel
inline __m256 squareplus_root256(__m256 v, __m256 b) {
  const __m256 ax  = _mm256_andnot_ps(vset(-0.0f), v);
  const __m256 big = _mm256_mul_ps(
      ax, _mm256_sqrt_ps(_mm256_add_ps(vset(1.0f), _mm256_div_ps(_mm256_div_ps(b, ax), ax))));
  const __m256 small = _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(v, v), b));
  return _mm256_blendv_ps(small, big, _mm256_cmp_ps(ax, vset(0x1p60f), _CMP_GT_OQ));
}

inline __m256 ge0(__m256 v) { return _mm256_cmp_ps(v, kZero, _CMP_GE_OQ); }

// x < 0 ? 0 : x, as torch.relu: NaN and -0 pass through.
inline __m256 relu256(__m256 v) {
  return _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ), v);
}

inline __m256 gelu_inner(__m256 v) {  // sqrt(2/pi) * (v + 0.044715 v^3)
  const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
  return _mm256_mul_ps(vset(0.7978845608028654f), _mm256_fmadd_ps(vset(0.044715f), v3, v));
}

// x Phi(x) with Phi = m e (vmath_avx2.h): (x m) e for x <= 0, x m still a
// normal float where Phi is subnormal; x - (x m) e above, rounded once. x m
// takes the clipped x there, so that x = inf gives inf (not inf * 0); below,
// the unclipped x, so that -inf gives NaN as x Phi(x) does.
inline __m256 gelu_exact256(__m256 v) {
  const avx2::NormalParts p = avx2::normal_parts256(v);
  const __m256 neg          = _mm256_mul_ps(_mm256_mul_ps(v, p.m), p.e);
  const __m256 pos = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_min_ps(vset(15.0f), v), p.m), p.e, v);
  return _mm256_blendv_ps(pos, neg, _mm256_cmp_ps(v, kZero, _CMP_LE_OQ));
}

// Phi(x) + x phi(x) = e (m + x k) + 0 for x <= 0 and e (x k - m) + 1 above
// (vmath_avx2.h's parts): no cancellation but the derivative's own, at its
// root near -0.75. The + 0 turns e q = -0 (x < -15) into 0 as the generic path.
inline __m256 gelu_exact_grad256(__m256 v) {
  const avx2::NormalParts p = avx2::normal_parts256(v);
  const __m256 le           = _mm256_cmp_ps(v, kZero, _CMP_LE_OQ);
  const __m256 m            = _mm256_xor_ps(p.m, _mm256_andnot_ps(le, vset(-0.0f)));
  const __m256 q            = _mm256_fmadd_ps(v, p.k, m);
  return _mm256_fmadd_ps(p.e, q, _mm256_andnot_ps(le, vset(1.0f)));
}

void forward_avx2(ActivationKind kind, float* y, const float* x, int64_t n,
                  const ActivationParams& p) {
  const float a = p.a;
  switch (kind) {
    case ActivationKind::linear:
      map1(y, x, n, [](__m256 v) { return v; });
      break;
    case ActivationKind::relu:
      map1(y, x, n, [](__m256 v) { return relu256(v); });
      break;
    case ActivationKind::sigmoid:
      map1(y, x, n, [](__m256 v) { return sigmoid256(v); });
      break;
    case ActivationKind::tanh:
      map1(y, x, n, [](__m256 v) { return tanh256(v); });
      break;
    case ActivationKind::leaky_relu:
      map1(y, x, n,
           [a](__m256 v) { return _mm256_blendv_ps(_mm256_mul_ps(vset(a), v), v, gt0(v)); });
      break;
    case ActivationKind::elu:
      map1(y, x, n, [a](__m256 v) {
        return _mm256_blendv_ps(_mm256_mul_ps(vset(a), expm1_256(v)), v, gt0(v));
      });
      break;
    case ActivationKind::selu:
      map1(y, x, n, [](__m256 v) {
        const __m256 neg = _mm256_mul_ps(vset(kSeluAlpha), expm1_256(v));
        return _mm256_mul_ps(vset(kSeluScale), _mm256_blendv_ps(neg, v, gt0(v)));
      });
      break;
    case ActivationKind::gelu:
      map1(y, x, n, [](__m256 v) {
        // 0.5 v (1 + tanh u) as v sigmoid(2u): 1 + tanh u cancels as u -> -inf
        return _mm256_mul_ps(v, sigmoid256(_mm256_mul_ps(vset(2.0f), gelu_inner(v))));
      });
      break;
    case ActivationKind::gelu_exact:
      map1(y, x, n, [](__m256 v) { return gelu_exact256(v); });
      break;
    case ActivationKind::silu:
      map1(y, x, n, [](__m256 v) { return _mm256_mul_ps(v, sigmoid256(v)); });
      break;
    case ActivationKind::softplus:
      map1(y, x, n, [](__m256 v) { return softplus256(v); });
      break;
    case ActivationKind::softsign:
      map1(y, x, n, [](__m256 v) {
        const __m256 ax = _mm256_andnot_ps(vset(-0.0f), v);
        return _mm256_div_ps(v, _mm256_add_ps(vset(1.0f), ax));
      });
      break;
    case ActivationKind::hard_sigmoid:
      // (x + 3) / 6, as torch: x + 3 is exact near -3, where x / 6 + 0.5 cancels
      map1(y, x, n, [](__m256 v) { return hard_sigmoid256(v); });
      break;
    case ActivationKind::exponential:
      map1(y, x, n, [](__m256 v) { return exp256(v); });
      break;
    case ActivationKind::mish:
      map1(y, x, n, [](__m256 v) { return _mm256_mul_ps(v, tanh256(softplus256(v))); });
      break;
    case ActivationKind::hard_silu:
      map1(y, x, n, [](__m256 v) { return _mm256_mul_ps(v, hard_sigmoid256(v)); });
      break;
    case ActivationKind::celu:
      map1(y, x, n, [a](__m256 v) {
        return _mm256_blendv_ps(_mm256_mul_ps(vset(a), expm1_256(_mm256_div_ps(v, vset(a)))), v,
                                ge0(v));
      });
      break;
    case ActivationKind::hard_tanh:  // NaN survives max and min (second operand)
      map1(y, x, n,
           [](__m256 v) { return _mm256_min_ps(vset(1.0f), _mm256_max_ps(vset(-1.0f), v)); });
      break;
    case ActivationKind::log_sigmoid:
      map1(y, x, n,
           [](__m256 v) { return _mm256_sub_ps(kZero, softplus256(_mm256_sub_ps(kZero, v))); });
      break;
    case ActivationKind::soft_shrink:
      map1(y, x, n, [a](__m256 v) {
        const __m256 va = vset(a);
        __m256 r        = _mm256_mul_ps(v, kZero);  // -0 below 0, NaN kept
        r = _mm256_blendv_ps(r, _mm256_add_ps(v, va), _mm256_cmp_ps(v, vset(-a), _CMP_LT_OQ));
        return _mm256_blendv_ps(r, _mm256_sub_ps(v, va), _mm256_cmp_ps(v, va, _CMP_GT_OQ));
      });
      break;
    case ActivationKind::hard_shrink:
      map1(y, x, n, [a](__m256 v) { return _mm256_andnot_ps(within(v, vset(a)), v); });
      break;
    case ActivationKind::tanh_shrink:  // in double (see activations.h): the generic kernel
      kActivationKernelsGeneric.forward(kind, y, x, n, p);
      break;
    case ActivationKind::squareplus:
      map1(y, x, n, [a](__m256 v) {
        const __m256 s = squareplus_root256(v, vset(a));
        const __m256 pos =
            _mm256_add_ps(_mm256_mul_ps(vset(0.5f), v), _mm256_mul_ps(vset(0.5f), s));
        const __m256 neg = _mm256_div_ps(vset(0.5f * a), _mm256_sub_ps(s, v));
        return _mm256_blendv_ps(neg, pos, ge0(v));
      });
      break;
    case ActivationKind::sparse_plus:
      map1(y, x, n, [](__m256 v) {
        const __m256 t = _mm256_add_ps(v, vset(1.0f));
        const __m256 r = _mm256_blendv_ps(_mm256_mul_ps(vset(0.25f), _mm256_mul_ps(t, t)), v,
                                          _mm256_cmp_ps(v, vset(1.0f), _CMP_GE_OQ));
        return _mm256_andnot_ps(_mm256_cmp_ps(v, vset(-1.0f), _CMP_LE_OQ), r);
      });
      break;
    case ActivationKind::sparse_sigmoid:
      map1(y, x, n, [](__m256 v) {
        const __m256 h = _mm256_mul_ps(vset(0.5f), _mm256_add_ps(v, vset(1.0f)));
        const __m256 r = _mm256_blendv_ps(h, vset(1.0f), _mm256_cmp_ps(v, vset(1.0f), _CMP_GE_OQ));
        return _mm256_andnot_ps(_mm256_cmp_ps(v, vset(-1.0f), _CMP_LE_OQ), r);
      });
      break;
    case ActivationKind::softmax:
    case ActivationKind::log_softmax:
      break;  // row-wise: softmax_forward_avx2, log_softmax_forward_avx2
    case ActivationKind::relu_clipped: {
      const __m256 va = vset(a), vm = vset(p.max_value), vt = vset(p.threshold);
      map1(y, x, n, [va, vm, vt](__m256 v) {
        // x > t ? (x < m ? x : m) : a (x - t) + 0, as the generic path (NaN: a * NaN)
        const __m256 pos = _mm256_blendv_ps(vm, v, _mm256_cmp_ps(v, vm, _CMP_LT_OQ));
        const __m256 neg =
            _mm256_add_ps(_mm256_mul_ps(va, _mm256_sub_ps(v, vt)), _mm256_setzero_ps());
        return _mm256_blendv_ps(neg, pos, _mm256_cmp_ps(v, vt, _CMP_GT_OQ));
      });
      break;
    }
  }
}

void backward_avx2(ActivationKind kind, float* dx, const float* dy, const float* x, const float* y,
                   int64_t n, const ActivationParams& p) {
  const float a = p.a;
  switch (kind) {
    case ActivationKind::linear:
      map2(dx, dy, dy, n, [](__m256 g, __m256) { return g; });
      break;
    case ActivationKind::relu:
      map2(dx, dy, y, n, [](__m256 g, __m256 o) {
        return _mm256_andnot_ps(_mm256_cmp_ps(o, kZero, _CMP_LE_OQ), g);
      });
      break;
    case ActivationKind::sigmoid:
      map2(dx, dy, y, n, [](__m256 g, __m256 o) {
        return _mm256_mul_ps(g, _mm256_mul_ps(o, _mm256_sub_ps(vset(1.0f), o)));
      });
      break;
    case ActivationKind::tanh:
      map2(dx, dy, y, n,
           [](__m256 g, __m256 o) { return _mm256_mul_ps(g, _mm256_fnmadd_ps(o, o, vset(1.0f))); });
      break;
    case ActivationKind::leaky_relu:
      map2(dx, dy, x, n, [a](__m256 g, __m256 v) {
        return _mm256_blendv_ps(_mm256_mul_ps(vset(a), g), g, gt0(v));
      });
      break;
    case ActivationKind::elu:  // a exp(x): y + a would cancel as y -> -a
      map2(dx, dy, x, n, [a](__m256 g, __m256 v) {
        return _mm256_blendv_ps(_mm256_mul_ps(g, _mm256_mul_ps(vset(a), exp256(v))), g, gt0(v));
      });
      break;
    case ActivationKind::selu:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        const __m256 neg =
            _mm256_mul_ps(g, _mm256_mul_ps(vset(kSeluScale * kSeluAlpha), exp256(v)));
        return _mm256_blendv_ps(neg, _mm256_mul_ps(vset(kSeluScale), g), gt0(v));
      });
      break;
    case ActivationKind::gelu:
      // f = v s(w), w = 2u: f' = s(w) + v w' s(w) s(-w), with s(w) s(-w) = e q^2,
      // e = exp(-|w|), q = 1 / (1 + e): no cancellation as w -> -inf
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        const __m256 w = _mm256_mul_ps(vset(2.0f), gelu_inner(v));
        const __m256 e = exp256(_mm256_sub_ps(kZero, _mm256_andnot_ps(vset(-0.0f), w)));
        const __m256 q = _mm256_div_ps(vset(1.0f), _mm256_add_ps(vset(1.0f), e));
        const __m256 s =
            _mm256_blendv_ps(_mm256_mul_ps(e, q), q, _mm256_cmp_ps(w, kZero, _CMP_GE_OQ));
        // |v| >= 20: e is 0 exactly and the second term 0; v clamped there
        // so that 0 * inf (v * v overflows beyond 1.8e19) is not NaN
        const __m256 c = _mm256_min_ps(_mm256_max_ps(v, vset(-20.0f)), vset(20.0f));
        const __m256 dw =
            _mm256_mul_ps(vset(2.0f * 0.7978845608028654f),
                          _mm256_fmadd_ps(vset(3.0f * 0.044715f), _mm256_mul_ps(c, c), vset(1.0f)));
        const __m256 d =
            _mm256_fmadd_ps(_mm256_mul_ps(c, dw), _mm256_mul_ps(e, _mm256_mul_ps(q, q)), s);
        return _mm256_mul_ps(g, d);
      });
      break;
    case ActivationKind::gelu_exact:
      map2(dx, dy, x, n,
           [](__m256 g, __m256 v) { return _mm256_mul_ps(g, gelu_exact_grad256(v)); });
      break;
    case ActivationKind::silu:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        const __m256 s   = sigmoid256(v);
        const __m256 oms = _mm256_sub_ps(vset(1.0f), s);
        return _mm256_mul_ps(g, _mm256_mul_ps(s, _mm256_fmadd_ps(v, oms, vset(1.0f))));
      });
      break;
    case ActivationKind::softplus:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) { return _mm256_mul_ps(g, sigmoid256(v)); });
      break;
    case ActivationKind::softsign:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        const __m256 d = _mm256_add_ps(vset(1.0f), _mm256_andnot_ps(vset(-0.0f), v));
        return _mm256_div_ps(g, _mm256_mul_ps(d, d));
      });
      break;
    case ActivationKind::hard_sigmoid:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, vset(-3.0f), _CMP_GT_OQ),
                                        _mm256_cmp_ps(v, vset(3.0f), _CMP_LT_OQ));
        return _mm256_and_ps(_mm256_mul_ps(g, vset(1.0f / 6.0f)), in);
      });
      break;
    case ActivationKind::exponential:
      map2(dx, dy, y, n, [](__m256 g, __m256 o) { return _mm256_mul_ps(g, o); });
      break;
    case ActivationKind::mish:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        // tanh(sp) + x sech^2(sp) sigmoid(x), sp = softplus(x)
        const __m256 t    = tanh256(softplus256(v));
        const __m256 sech = _mm256_fnmadd_ps(t, t, vset(1.0f));
        const __m256 d    = _mm256_fmadd_ps(_mm256_mul_ps(v, sech), sigmoid256(v), t);
        return _mm256_mul_ps(g, d);
      });
      break;
    case ActivationKind::hard_silu:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        // hard_sigmoid(x) + x / 6 inside (-3, 3)
        const __m256 in     = _mm256_and_ps(_mm256_cmp_ps(v, vset(-3.0f), _CMP_GT_OQ),
                                            _mm256_cmp_ps(v, vset(3.0f), _CMP_LT_OQ));
        const __m256 inside = _mm256_and_ps(_mm256_mul_ps(v, vset(1.0f / 6.0f)), in);
        return _mm256_mul_ps(g, _mm256_add_ps(hard_sigmoid256(v), inside));
      });
      break;
    case ActivationKind::celu:  // torch's elu backward: x <= 0 ? exp(x / a) : 1 (NaN: 1)
      map2(dx, dy, x, n, [a](__m256 g, __m256 v) {
        const __m256 neg = _mm256_mul_ps(g, exp256(_mm256_div_ps(v, vset(a))));
        return _mm256_blendv_ps(g, neg, _mm256_cmp_ps(v, kZero, _CMP_LE_OQ));
      });
      break;
    case ActivationKind::hard_tanh:  // torch: 0 at and beyond +-1, NaN passes dy
      map2(dx, dy, x, n,
           [](__m256 g, __m256 v) { return _mm256_andnot_ps(outside(v, -1.0f, 1.0f), g); });
      break;
    case ActivationKind::log_sigmoid:
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        return _mm256_mul_ps(g, sigmoid256(_mm256_sub_ps(kZero, v)));
      });
      break;
    case ActivationKind::soft_shrink:  // torch: 0 on [-a, a], NaN passes dy
    case ActivationKind::hard_shrink:
      map2(dx, dy, x, n,
           [a](__m256 g, __m256 v) { return _mm256_andnot_ps(within(v, vset(a)), g); });
      break;
    case ActivationKind::tanh_shrink:
      kActivationKernelsGeneric.backward(kind, dx, dy, x, y, n, p);
      break;
    case ActivationKind::squareplus:
      map2(dx, dy, x, n, [a](__m256 g, __m256 v) {
        // (1 + x / s) / 2 for x >= 0 (x / s = 1 where x == s), (b / 2) / (s (s - x)) below
        const __m256 s = squareplus_root256(v, vset(a));
        const __m256 ratio =
            _mm256_blendv_ps(_mm256_div_ps(v, s), vset(1.0f), _mm256_cmp_ps(v, s, _CMP_EQ_OQ));
        const __m256 pos = _mm256_add_ps(vset(0.5f), _mm256_mul_ps(vset(0.5f), ratio));
        const __m256 neg = _mm256_div_ps(vset(0.5f * a), _mm256_mul_ps(s, _mm256_sub_ps(s, v)));
        return _mm256_mul_ps(g, _mm256_blendv_ps(neg, pos, ge0(v)));
      });
      break;
    case ActivationKind::sparse_plus:  // torch.where's: (x + 1) / 2 inside, NaN: NaN
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        const __m256 in = _mm256_mul_ps(g, _mm256_mul_ps(vset(0.5f), _mm256_add_ps(v, vset(1.0f))));
        const __m256 r  = _mm256_blendv_ps(in, g, _mm256_cmp_ps(v, vset(1.0f), _CMP_GE_OQ));
        return _mm256_andnot_ps(_mm256_cmp_ps(v, vset(-1.0f), _CMP_LE_OQ), r);
      });
      break;
    case ActivationKind::sparse_sigmoid:  // torch.where's: 1/2 inside, NaN: 1/2
      map2(dx, dy, x, n, [](__m256 g, __m256 v) {
        return _mm256_andnot_ps(outside(v, -1.0f, 1.0f), _mm256_mul_ps(vset(0.5f), g));
      });
      break;
    case ActivationKind::softmax:
    case ActivationKind::log_softmax:
      break;  // row-wise: softmax_backward_avx2, log_softmax_backward_avx2
    case ActivationKind::relu_clipped: {
      const __m256 va = vset(a), vm = vset(p.max_value), vt = vset(p.threshold);
      const int at_max = p.max_grad != 0.0f ? _CMP_LE_OQ : _CMP_LT_OQ;
      map2(dx, dy, x, n, [va, vm, vt, at_max](__m256 g, __m256 v) {
        // t < x < m (or <= m): dy; x < t: a dy; else 0 (NaN x: 0, as generic)
        const __m256 below = at_max == _CMP_LE_OQ ? _mm256_cmp_ps(v, vm, _CMP_LE_OQ)
                                                  : _mm256_cmp_ps(v, vm, _CMP_LT_OQ);
        const __m256 pass  = _mm256_and_ps(_mm256_cmp_ps(v, vt, _CMP_GT_OQ), below);
        const __m256 neg   = _mm256_and_ps(_mm256_cmp_ps(v, vt, _CMP_LT_OQ), _mm256_mul_ps(va, g));
        return _mm256_blendv_ps(neg, g, pass);
      });
      break;
    }
  }
}

// max_j xr[j] (a NaN may or may not win; it makes the row NaN either way)
float row_max256(const float* xr, int64_t cols) {
  const __m256 ninf = vset(-__builtin_inff());
  __m256 vm         = ninf;
  int64_t j         = 0;
  for (; j + 8 <= cols; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(xr + j));
  const __m256i tm = tail_mask(cols - j);
  if (j < cols)
    vm = _mm256_max_ps(
        vm, _mm256_blendv_ps(ninf, _mm256_maskload_ps(xr + j, tm), _mm256_castsi256_ps(tm)));
  return avx2::hmax256(vm);
}

void softmax_forward_avx2(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr  = x + r * cols;
    float* yr        = y + r * cols;
    const __m256 m   = vset(row_max256(xr, cols));
    const __m256i tm = tail_mask(cols % 8);
    __m256 vs        = _mm256_setzero_ps();
    int64_t j;
    for (j = 0; j + 8 <= cols; j += 8) {
      const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(xr + j), m));
      _mm256_storeu_ps(yr + j, e);
      vs = _mm256_add_ps(vs, e);
    }
    if (j < cols) {
      const __m256 e = _mm256_and_ps(exp256(_mm256_sub_ps(_mm256_maskload_ps(xr + j, tm), m)),
                                     _mm256_castsi256_ps(tm));
      runtime::store_first_lanes(yr + j, e, cols - j);
      vs = _mm256_add_ps(vs, e);
    }
    const __m256 inv = vset(1.0f / avx2::hsum256(vs));
    for (j = 0; j + 8 <= cols; j += 8)
      _mm256_storeu_ps(yr + j, _mm256_mul_ps(_mm256_loadu_ps(yr + j), inv));
    if (j < cols)
      runtime::store_first_lanes(yr + j, _mm256_mul_ps(_mm256_maskload_ps(yr + j, tm), inv),
                                 cols - j);
  }
}

void softmax_backward_avx2(float* dx, const float* dy, const float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * cols;
    const float* yr  = y + r * cols;
    float* dxr       = dx + r * cols;
    __m256 vd        = _mm256_setzero_ps();
    int64_t j        = 0;
    for (; j + 8 <= cols; j += 8)
      vd = _mm256_fmadd_ps(_mm256_loadu_ps(dyr + j), _mm256_loadu_ps(yr + j), vd);
    const __m256i tm = tail_mask(cols - j);
    if (j < cols)
      vd = _mm256_fmadd_ps(_mm256_maskload_ps(dyr + j, tm), _mm256_maskload_ps(yr + j, tm), vd);
    const __m256 dot = vset(avx2::hsum256(vd));
    for (j = 0; j + 8 <= cols; j += 8)
      _mm256_storeu_ps(dxr + j, _mm256_mul_ps(_mm256_loadu_ps(yr + j),
                                              _mm256_sub_ps(_mm256_loadu_ps(dyr + j), dot)));
    if (j < cols)
      runtime::store_first_lanes(dxr + j,
                                 _mm256_mul_ps(_mm256_maskload_ps(yr + j, tm),
                                               _mm256_sub_ps(_mm256_maskload_ps(dyr + j, tm), dot)),
                                 cols - j);
  }
}

// lo += v[0:4], hi += v[4:8] in double
inline void add_pd(__m256d* lo, __m256d* hi, __m256 v) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// x read before y is written: y may alias x
void log_softmax_forward_avx2(float* y, const float* x, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr  = x + r * cols;
    float* yr        = y + r * cols;
    const __m256 m   = vset(row_max256(xr, cols));
    const __m256i tm = tail_mask(cols % 8);
    // float exps summed in double (as the generic kernel): log(s) stays exact to float
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    int64_t j;
    for (j = 0; j + 8 <= cols; j += 8)
      add_pd(&lo, &hi, exp256(_mm256_sub_ps(_mm256_loadu_ps(xr + j), m)));
    if (j < cols)
      add_pd(&lo, &hi,
             _mm256_and_ps(exp256(_mm256_sub_ps(_mm256_maskload_ps(xr + j, tm), m)),
                           _mm256_castsi256_ps(tm)));
    alignas(32) double part[4];
    _mm256_store_pd(part, _mm256_add_pd(lo, hi));
    const __m256 l = vset(static_cast<float>(std::log((part[0] + part[1]) + (part[2] + part[3]))));
    for (j = 0; j + 8 <= cols; j += 8)
      _mm256_storeu_ps(yr + j, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), m), l));
    if (j < cols)
      runtime::store_first_lanes(
          yr + j, _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + j, tm), m), l), cols - j);
  }
}

// dx = dy - exp(y) sum(dy); dy read before dx is written: dx may alias dy
void log_softmax_backward_avx2(float* dx, const float* dy, const float* y, int64_t rows,
                               int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * cols;
    const float* yr  = y + r * cols;
    float* dxr       = dx + r * cols;
    const __m256i tm = tail_mask(cols % 8);
    __m256 vd        = _mm256_setzero_ps();
    int64_t j;
    for (j = 0; j + 8 <= cols; j += 8) vd = _mm256_add_ps(vd, _mm256_loadu_ps(dyr + j));
    if (j < cols) vd = _mm256_add_ps(vd, _mm256_maskload_ps(dyr + j, tm));
    const __m256 sum = vset(avx2::hsum256(vd));
    for (j = 0; j + 8 <= cols; j += 8)
      _mm256_storeu_ps(dxr + j, _mm256_fnmadd_ps(exp256(_mm256_loadu_ps(yr + j)), sum,
                                                 _mm256_loadu_ps(dyr + j)));
    if (j < cols)
      runtime::store_first_lanes(dxr + j,
                                 _mm256_fnmadd_ps(exp256(_mm256_maskload_ps(yr + j, tm)), sum,
                                                  _mm256_maskload_ps(dyr + j, tm)),
                                 cols - j);
  }
}

}  // namespace

const ActivationKernels kActivationKernelsAvx2 = {
    forward_avx2,
    backward_avx2,
    softmax_forward_avx2,
    softmax_backward_avx2,
    log_softmax_forward_avx2,
    log_softmax_backward_avx2,
};

}  // namespace fastnn::ops
