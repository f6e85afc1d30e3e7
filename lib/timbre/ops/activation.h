// Activations: LeakyReLU, ReLU, sigmoid, tanh, softmax (over the last axis).
#pragma once

#include "timbre/core/tensor.h"

namespace timbre::ops {

Tensor leaky_relu(const Tensor& x, double negative_slope);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softmax(const Tensor& x);

}  // namespace timbre::ops
