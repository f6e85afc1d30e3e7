#include "timbre/ops/fusion.h"

namespace timbre::ops {
namespace {
kernels::Pool2dGeometry pool_geometry(int64_t channels, const Pool2dOptions& pool) {
  kernels::Pool2dGeometry g{};
  g.channels = channels;
  g.pool_h = pool.pool_h;
  g.pool_w = pool.pool_w;
  g.stride_h = pool.stride_h == 0 ? pool.pool_h : pool.stride_h;  // 0: the pool, as in Keras
  g.stride_w = pool.stride_w == 0 ? pool.pool_w : pool.stride_w;
  return g;
}
}  // namespace

kernels::FusionGeometry conv_pool_fusion(int64_t in_channels, int64_t out_channels, const Conv2dOptions& conv,
                                         double negative_slope, const Pool2dOptions& pool) {
  kernels::FusionGeometry f{};
  f.conv.in_c = in_channels;
  f.conv.out_c = out_channels;
  f.conv.stride_h = conv.stride_h;
  f.conv.stride_w = conv.stride_w;
  f.pool = pool_geometry(out_channels, pool);
  f.negative_slope = negative_slope;
  return f;
}

kernels::FusionGeometry norm_pool_fusion(int64_t channels, double negative_slope, const Pool2dOptions& pool) {
  kernels::FusionGeometry f{};
  f.pool = pool_geometry(channels, pool);
  f.negative_slope = negative_slope;
  return f;
}

}  // namespace timbre::ops
