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

// A convolution's kernel (..., Cout) and bias (Cout, or undefined: zero) with
// an inference-mode batch norm after it folded in: conv2d(x, kernel', bias')
// equals batch_norm(conv2d(x, kernel, bias), ..., training = false) up to
// rounding. Computed in double on the host; no autograd (the results are new
// leaves), so it serves inference only.
struct FoldedConv {
  Tensor kernel, bias;
};
FoldedConv fold_batch_norm(const Tensor& kernel, const Tensor& bias, const Tensor& gamma, const Tensor& beta,
                           const Tensor& moving_mean, const Tensor& moving_variance, double epsilon);

}  // namespace timbre::ops
