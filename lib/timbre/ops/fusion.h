// The fused ops' question to the op table (kernels/ops.h), in the ops' own
// terms. Internal, like op_support.h: nn's fusion and the fused ops include it;
// it is not installed.
#pragma once

#include <cstdint>

#include "kernels/ops.h"
#include "timbre/ops/conv2d.h"
#include "timbre/ops/maxpool2d.h"

namespace timbre::ops {

// conv2d_pool's geometry as supports() reads it: channels, strides, the pool.
kernels::FusionGeometry conv_pool_fusion(int64_t in_channels, int64_t out_channels, const Conv2dOptions& conv,
                                         double negative_slope, const Pool2dOptions& pool);
// batchnorm_pool's: the pool and the slope.
kernels::FusionGeometry norm_pool_fusion(int64_t channels, double negative_slope, const Pool2dOptions& pool);

}  // namespace timbre::ops
