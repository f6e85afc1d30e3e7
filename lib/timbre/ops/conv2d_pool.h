// Conv2D + LeakyReLU + MaxPool2D as one op, for the seed models' front ends:
// conv2d_pool(x, kernel, bias, conv, slope, pool) equals
// maxpool2d(leaky_relu(conv2d(x, kernel, bias, conv), slope), pool), values and
// gradients, but the convolution's output is never stored and backward touches
// only each window's maximum. nn::Sequential uses it for such runs of layers.
#pragma once

#include "timbre/core/tensor.h"
#include "timbre/ops/conv2d.h"
#include "timbre/ops/maxpool2d.h"

namespace timbre::ops {

// Whether conv2d_pool takes these settings: stride-1 convolution, pool stride
// equal to the pool (Keras' default), slope in [0, 1] (1: no activation).
bool conv2d_pool_supports(const Conv2dOptions& conv, double slope, const Pool2dOptions& pool);

Tensor conv2d_pool(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& conv, double slope,
                   const Pool2dOptions& pool);

}  // namespace timbre::ops
