// Element-wise arithmetic used by autograd and the optimizers.
#pragma once

#include "timbre/core/tensor.h"

namespace timbre::ops {

// dst += src (same shape, dtype and device); not recorded by autograd.
void add_into(const Tensor& dst, const Tensor& src);
// x + y, recorded by autograd.
Tensor add(const Tensor& x, const Tensor& y);

}  // namespace timbre::ops
