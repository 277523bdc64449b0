// The optimizer config dict <-> optim::Config, for bindings that build an
// optim::Optimizer (e.g. the network's): the dict is what
// fastnn.optimizers.<X>()._kernel_config() returns.
#pragma once

#include <pybind11/pybind11.h>

#include "optim/optimizer.h"

namespace fastnn::bindings {

// Keys: kind ("sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam",
// "adamax", "lion", "adadelta", "ftrl", "lamb", "schedule_free_adamw"), momentum,
// nesterov, beta_1, beta_2, epsilon, amsgrad, rho, centered,
// initial_accumulator_value, learning_rate_power, l1_regularization_strength,
// l2_regularization_strength, l2_shrinkage_regularization_strength, beta,
// weight_decay (0 = none), clip ("none",
// "clipnorm", "clipvalue", "global_clipnorm"), clip_value, use_ema,
// ema_momentum, ema_overwrite_frequency (0 = none), warmup_steps. Missing keys keep
// optim::Config's defaults. Raises ValueError for an unknown key, a missing
// kind or an out-of-range value (naming it), TypeError for a non-number.
optim::Config optim_config_from_dict(const pybind11::dict& config);

pybind11::dict optim_config_to_dict(const optim::Config& config);

}  // namespace fastnn::bindings
