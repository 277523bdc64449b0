// lane_sum: a sum in double over 8 lanes in a fixed order, for the row
// statistics of the normalization layers (nn/layer_norm.h, nn/unit_norm.h).
#pragma once

#include <cstdint>

namespace fastnn::nn {

// sum_j f(j) for j < n in double, over 8 lanes (lane l takes the j with
// j % 8 == l, in order), combined ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)): a
// fixed order, so the result depends on n and f only, and the compiler
// vectorizes the lanes (one running sum would wait for each add).
template <class F>
double lane_sum(int64_t n, F f) {
  double lanes[8]    = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t full = n / 8 * 8;
  for (int64_t j = 0; j < full; j += 8)
    for (int l = 0; l < 8; ++l) lanes[l] += f(j + l);
  for (int64_t j = full; j < n; ++j) lanes[j - full] += f(j);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

}  // namespace fastnn::nn
