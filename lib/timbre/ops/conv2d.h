// Conv2D on channels-last input (N, H, W, Cin) with Keras' kernel layout
// (KH, KW, Cin, Cout). Padding `same` follows TensorFlow: total padding
// max((out-1)*stride + k - in, 0), the smaller half before (k=4: 1 before, 2 after).
#pragma once

#include <cstdint>

#include "timbre/core/tensor.h"

namespace timbre::ops {

enum class Padding { valid, same };

struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  Padding padding = Padding::valid;
};

// Output extent of a convolution along one axis.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, Padding padding);

Tensor conv2d(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& options = {});

}  // namespace timbre::ops
