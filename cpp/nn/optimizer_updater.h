// nn::OptimizerUpdater: the fused optimizers (cpp/optim) as the update step of
// Network::train_epoch. Step k of a run uses rates[k] as its learning rate
// (Python evaluates a schedule for the steps of a run in advance: a schedule
// depends on the step number only).
#pragma once

#include <cstdint>
#include <stdexcept>

#include "nn/network.h"
#include "optim/optimizer.h"

namespace fastnn::nn {

class OptimizerUpdater : public Updater {
 public:
  OptimizerUpdater(optim::Optimizer& optimizer, const double* rates, int64_t count)
      : optimizer_(optimizer), rates_(rates), count_(count) {}

  void step(float* params, const float* grads, int64_t n) override {
    if (next_ >= count_) throw std::logic_error("OptimizerUpdater: more steps than rates");
    optimizer_.step(params, grads, n, rates_[next_++]);
  }

 private:
  optim::Optimizer& optimizer_;
  const double* rates_;
  int64_t count_;
  int64_t next_ = 0;
};

}  // namespace fastnn::nn
