// MaxPool2D on (N, H, W, C), padding 'valid': output floor((in - pool) / stride) + 1.
#pragma once

#include <cstdint>

#include "timbre/core/tensor.h"

namespace timbre::ops {

struct Pool2dOptions {
  int64_t pool_h = 2, pool_w = 2;
  int64_t stride_h = 0, stride_w = 0;  // 0: the pool size, as in Keras
};

Tensor maxpool2d(const Tensor& x, const Pool2dOptions& options = {});

}  // namespace timbre::ops
