// Initializers with Keras' definitions, drawn from timbre's seeded generator.
#pragma once

#include "timbre/core/random.h"
#include "timbre/core/tensor.h"

namespace timbre::nn::init {

// U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
Tensor glorot_uniform(const Shape& shape, int64_t fan_in, int64_t fan_out, Generator& g = default_generator());
// An orthogonal matrix over (prod(shape[:-1]), shape[-1]), from the QR of a Gaussian matrix.
Tensor orthogonal(const Shape& shape, Generator& g = default_generator());
Tensor zeros(const Shape& shape);
Tensor ones(const Shape& shape);

}  // namespace timbre::nn::init
