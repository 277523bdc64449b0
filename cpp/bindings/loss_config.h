// Loss arguments shared by the bindings that build an ops::LossConfig
// (fastnn.ops.loss, Network.set_loss).
#pragma once

#include <pybind11/pybind11.h>

#include "ops/losses.h"

namespace fastnn::bindings {

// The focal cross-entropies' `alpha` as Python passes it: a number
// (config.alpha) or a 1-D sequence or array of numbers, one per class
// (config.class_alpha, as float32). TypeError for a non-number, ValueError
// for an empty or multi-dimensional sequence; the values themselves are
// checked by ops::check_loss_config.
void set_focal_alpha(ops::LossConfig& config, const pybind11::handle& alpha);

}  // namespace fastnn::bindings
