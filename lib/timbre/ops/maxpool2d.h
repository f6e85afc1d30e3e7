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

// Whether the windows tile the input (strides equal to the pool, Keras' default),
// as the fused ops that end in a max pooling require.
inline bool windows_tile(const Pool2dOptions& o) {
  return o.pool_h >= 1 && o.pool_w >= 1 && (o.stride_h == 0 || o.stride_h == o.pool_h) &&
         (o.stride_w == 0 || o.stride_w == o.pool_w);
}

}  // namespace timbre::ops
