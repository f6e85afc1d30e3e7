// Shape ops: reshape (a view of the same memory, channels-last order kept, as
// Keras' Reshape), flatten, and concatenate along an axis.
#pragma once

#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::ops {

// One extent may be -1: inferred from the others.
Tensor reshape(const Tensor& x, const Shape& shape);
// (N, ...) -> (N, prod(...)).
Tensor flatten(const Tensor& x);
// Joins tensors that agree on every axis but `axis` (negative counts from the end).
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis = -1);

}  // namespace timbre::ops
