// Conv2D + LeakyReLU + MaxPool2D as one op, for the seed models' front ends:
// conv2d_pool(x, kernel, bias, conv, negative_slope, pool) equals
// maxpool2d(leaky_relu(conv2d(x, kernel, bias, conv), negative_slope), pool), values and
// gradients, but the convolution's output is never stored and backward touches
// only each window's maximum. nn::Sequential uses it for such runs of layers.
#pragma once

#include "timbre/core/tensor.h"
#include "timbre/ops/conv2d.h"
#include "timbre/ops/maxpool2d.h"

namespace timbre::ops {

// It takes a stride-1 convolution, pool strides equal to the pool (Keras'
// default) and a negative_slope in [0, 1] (1: no activation): kernels::fusion_defined.

Tensor conv2d_pool(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& conv,
                   double negative_slope, const Pool2dOptions& pool);

}  // namespace timbre::ops
