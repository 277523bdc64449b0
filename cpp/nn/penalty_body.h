// The body of penalty_pass (nn/penalty.h), written once as plain loops the
// compiler vectorizes for each ISA's flags. Internal linkage (anonymous
// namespace): each including TU gets its own copy built with its own flags.
#pragma once

#include <cmath>
#include <cstdint>

namespace fastnn::nn {
namespace {

constexpr int kPenaltyLanes = 32;

inline float penalty_sign(float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); }

inline double penalty_pass_body(const float* w, float* g, int64_t begin, int64_t end, float l1,
                                float l2) {
  double s1[kPenaltyLanes] = {}, s2[kPenaltyLanes] = {};
  const float l2x2 = 2.0f * l2;
  int64_t i        = begin;
  for (; i + kPenaltyLanes <= end; i += kPenaltyLanes) {
    for (int k = 0; k < kPenaltyLanes; ++k) {
      const double v = w[i + k];
      s1[k] += std::fabs(v);
      s2[k] += v * v;
    }
    if (g)
      for (int k = 0; k < kPenaltyLanes; ++k) {
        const float v = w[i + k];
        g[i + k] += l1 * penalty_sign(v) + l2x2 * v;
      }
  }
  for (int k = 0; i < end; ++i, ++k) {
    const double v = w[i];
    s1[k] += std::fabs(v);
    s2[k] += v * v;
    if (g) g[i] += l1 * penalty_sign(w[i]) + l2x2 * w[i];
  }
  double t1 = 0.0, t2 = 0.0;
  for (int k = 0; k < kPenaltyLanes; ++k) {
    t1 += s1[k];
    t2 += s2[k];
  }
  return static_cast<double>(l1) * t1 + static_cast<double>(l2) * t2;
}

}  // namespace
}  // namespace fastnn::nn
