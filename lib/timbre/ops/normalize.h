// normalize: standardise with fixed statistics, broadcast over a block of axes.
#pragma once

#include "timbre/core/tensor.h"

namespace timbre::ops {

// How statistics map onto a sample: element i of the flattened batch uses
// statistic (i / inner) % groups.
struct NormalizeLayout {
  int64_t inner = 1;
  int64_t groups = 1;
};

// y = (x - mean) / max(sqrt(variance), epsilon), Keras' Normalization. mean and
// variance hold layout.groups values and receive no gradient.
Tensor normalize(const Tensor& x, const Tensor& mean, const Tensor& variance, NormalizeLayout layout,
                 double epsilon = 1e-7);

}  // namespace timbre::ops
