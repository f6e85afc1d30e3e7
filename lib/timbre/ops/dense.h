// Dense: x (..., in) . kernel (in, out) + bias (out), over the last axis.
#pragma once

#include "timbre/core/tensor.h"

namespace timbre::ops {

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias);

}  // namespace timbre::ops
