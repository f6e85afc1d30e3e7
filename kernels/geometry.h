// Typed parameters of the kernels: plain structs, so a wrong field is a
// compile error rather than a misread integer. All tensors are contiguous and
// channels-last (N, H, W, C); counts are int64_t.
#pragma once

#include <cstdint>

namespace timbre::kernels {

struct Conv2dGeometry {
  int64_t batch, in_h, in_w, in_c;
  int64_t out_h, out_w, out_c;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left;  // rows/columns of zeros before the input; padding after is implied by out_h/out_w
};

struct Pool2dGeometry {
  int64_t batch, in_h, in_w, channels;
  int64_t out_h, out_w;
  int64_t pool_h, pool_w;
  int64_t stride_h, stride_w;
};

// Keras' BatchNormalization over every axis but the last: `rows` = N*H*W positions of `channels`.
struct BatchNormGeometry {
  int64_t rows, channels;
};

}  // namespace timbre::kernels
