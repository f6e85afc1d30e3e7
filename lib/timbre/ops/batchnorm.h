// BatchNorm over the last (channel) axis, Keras' semantics: training
// normalises with the batch mean and biased variance and updates the moving
// statistics in place; inference uses the moving statistics.
#pragma once

#include <functional>

#include "timbre/core/tensor.h"
#include "timbre/ops/maxpool2d.h"

namespace timbre::ops {

struct BatchNormOptions {
  double momentum = 0.99;
  double epsilon = 1e-3;
};

Tensor batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                 const Tensor& moving_variance, bool training, const BatchNormOptions& options = {});

// Training-mode batchnorm whose batch is the rows of several processes
// together: `sum_across` adds a tensor (on x's device; x's dtype, or float64)
// in place over all of them (dist::sync_batchnorm passes a communicator's
// all-reduce; the identity makes it ops::batchnorm's training mode).
// Collective: every process calls it, forward and backward. The gradients of gamma and beta are this process's
// share; x's gradient is that of the global batch.
using SumAcrossProcesses = std::function<void(const Tensor&)>;
Tensor sync_batchnorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, const SumAcrossProcesses& sum_across,
                      const BatchNormOptions& options = {});

// Training-mode batchnorm, leaky_relu(negative_slope) and maxpool2d(pool) as one op
// on (N, H, W, C): values, moving-statistics updates and gradients equal the
// three ops' (negative_slope in [0, 1], 1: no activation; pool strides equal to the
// pool), but the normalised activations are never stored and backward reads
// only each window's maximum and one pass over x. nn::Sequential uses it.
Tensor batchnorm_pool(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                      const Tensor& moving_variance, const BatchNormOptions& options, double negative_slope,
                      const Pool2dOptions& pool);

// A convolution's kernel (..., Cout) and bias (Cout, or undefined: zero) with
// an inference-mode batch norm after it folded in: conv2d(x, kernel', bias')
// equals batchnorm(conv2d(x, kernel, bias), ..., training = false) up to
// rounding. Computed in double on the host; no autograd (the results are new
// leaves), so it serves inference only.
struct FoldedConv {
  Tensor kernel, bias;
};
FoldedConv fold_batchnorm(const Tensor& kernel, const Tensor& bias, const Tensor& gamma, const Tensor& beta,
                          const Tensor& moving_mean, const Tensor& moving_variance, double epsilon);

}  // namespace timbre::ops
