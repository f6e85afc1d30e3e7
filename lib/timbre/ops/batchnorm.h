// BatchNorm over the last (channel) axis, Keras' semantics: training
// normalises with the batch mean and biased variance and updates the moving
// statistics in place; inference uses the moving statistics.
#pragma once

#include "timbre/core/tensor.h"

namespace timbre::ops {

struct BatchNormOptions {
  double momentum = 0.99;
  double epsilon = 1e-3;
};

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                  const Tensor& moving_variance, bool training, const BatchNormOptions& options = {});

}  // namespace timbre::ops
