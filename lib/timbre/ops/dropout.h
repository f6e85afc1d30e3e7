// Inverted dropout: in training each element is zeroed with probability
// `rate` and the rest scaled by 1/(1-rate); identity in inference. The mask is
// a pure function of (seed, element index), the same on every backend.
#pragma once

#include <cstdint>

#include "timbre/core/tensor.h"

namespace timbre::ops {

Tensor dropout(const Tensor& x, double rate, uint64_t seed, bool training);

}  // namespace timbre::ops
