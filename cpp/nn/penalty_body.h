// The body of penalty_pass (nn/penalty.h), written once as plain loops the
// compiler vectorizes for each ISA's flags. Internal linkage (anonymous
// namespace): each including TU gets its own copy built with its own flags.
#pragma once

#include <cmath>
#include <cstdint>

namespace fastnn::nn {
namespace {

constexpr int kPenaltyLanes = 32;

// sign(v) in {-1, 0, 1} without branches, so the gradient loop vectorizes
// (with the branches GCC kept it scalar: two unpredictable jumps per weight,
// 5 ns each; session 19's speed survey measured an l2-regularized step 37 %
// longer than a plain one).
inline float penalty_sign(float v) {
  return static_cast<float>(v > 0.0f) - static_cast<float>(v < 0.0f);
}

// One pass of penalty_pass over [begin, end): the sums of |w| (when kL1) and
// w^2 (when kL2) in double, and g += l1 * sign(w) + 2 * l2 * w when g is set.
// A term whose factor is zero is neither summed nor added: it is zero for
// finite weights (adding 0 * sign(w) to g changes only the sign of a zero).
template <bool kL1, bool kL2>
double penalty_pass_lanes(const float* w, float* g, int64_t begin, int64_t end, float l1,
                          float l2) {
  double s1[kPenaltyLanes] = {}, s2[kPenaltyLanes] = {};
  const float l2x2 = 2.0f * l2;
  int64_t i        = begin;
  for (; i + kPenaltyLanes <= end; i += kPenaltyLanes) {
    for (int k = 0; k < kPenaltyLanes; ++k) {
      const double v = w[i + k];
      if (kL1) s1[k] += std::fabs(v);
      if (kL2) s2[k] += v * v;
    }
    if (g) {
      if (kL1 && kL2) {
        for (int k = 0; k < kPenaltyLanes; ++k)
          g[i + k] += l1 * penalty_sign(w[i + k]) + l2x2 * w[i + k];
      } else if (kL1) {
        for (int k = 0; k < kPenaltyLanes; ++k) g[i + k] += l1 * penalty_sign(w[i + k]);
      } else {
        for (int k = 0; k < kPenaltyLanes; ++k) g[i + k] += l2x2 * w[i + k];
      }
    }
  }
  for (int k = 0; i < end; ++i, ++k) {
    const double v = w[i];
    if (kL1) s1[k] += std::fabs(v);
    if (kL2) s2[k] += v * v;
    if (g) g[i] += (kL1 ? l1 * penalty_sign(w[i]) : 0.0f) + (kL2 ? l2x2 * w[i] : 0.0f);
  }
  double t1 = 0.0, t2 = 0.0;
  for (int k = 0; k < kPenaltyLanes; ++k) {
    t1 += s1[k];
    t2 += s2[k];
  }
  return (kL1 ? static_cast<double>(l1) * t1 : 0.0) + (kL2 ? static_cast<double>(l2) * t2 : 0.0);
}

inline double penalty_pass_body(const float* w, float* g, int64_t begin, int64_t end, float l1,
                                float l2) {
  if (l1 != 0.0f && l2 != 0.0f) return penalty_pass_lanes<true, true>(w, g, begin, end, l1, l2);
  if (l1 != 0.0f) return penalty_pass_lanes<true, false>(w, g, begin, end, l1, l2);
  if (l2 != 0.0f) return penalty_pass_lanes<false, true>(w, g, begin, end, l1, l2);
  return 0.0;
}

}  // namespace
}  // namespace fastnn::nn
