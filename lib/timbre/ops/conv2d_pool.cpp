#include "timbre/ops/conv2d_pool.h"

#include "timbre/ops/fusion.h"
#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor conv2d_pool(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& conv,
                   double negative_slope, const Pool2dOptions& pool) {
  check(
      kernels::fusion_defined(kernels::Op::conv2d_pool, conv_pool_fusion(0, 0, conv, negative_slope, pool)),
      "conv2d_pool",
      "expected convolution strides (1, 1), negative_slope in [0, 1] and pool strides equal to the pool, got strides (",
      conv.stride_h, ", ", conv.stride_w, "), negative_slope ", negative_slope, ", pool (", pool.pool_h, ", ",
      pool.pool_w, ") with strides (", pool.stride_h, ", ", pool.stride_w, ")");
  detail::check_compatible("conv2d_pool", {&x, &kernel, &bias});
  kernels::ConvPoolGeometry g{};
  g.conv = detail::conv2d_geometry(x.shape(), kernel.shape(), conv);
  check(!bias.defined() || bias.shape() == Shape{g.conv.out_c}, "conv2d_pool", "bias must be (", g.conv.out_c,
        ",), got ", bias.defined() ? bias.shape().str() : "");
  g.pool_h = pool.pool_h;
  g.pool_w = pool.pool_w;
  g.out_h = g.conv.out_h / g.pool_h;
  g.out_w = g.conv.out_w / g.pool_w;
  check(g.out_h >= 1 && g.out_w >= 1, "conv2d_pool", "the convolution's output (", g.conv.out_h, ", ", g.conv.out_w,
        ") is smaller than the pool (", g.pool_h, ", ", g.pool_w, ")");
  Tensor y = Tensor::empty({g.conv.batch, g.out_h, g.out_w, g.conv.out_c}, x.dtype(), x.device());
  const bool differentiable = autograd::grad_enabled() && autograd::any_requires_grad({x, kernel, bias});
  const Tensor argmax = differentiable ? Tensor::empty(y.shape(), x.dtype(), x.device()) : Tensor();
  TIMBRE_WITH_DTYPE(
      x.dtype(), TIMBRE_DISPATCH(x.device(), conv2d_pool_forward, g, T(negative_slope), x.data<T>(), kernel.data<T>(),
                                 detail::data_or_null<T>(bias), y.data<T>(), detail::data_or_null<T>(argmax)));
  autograd::record(y, detail::node_name(kernels::Op::conv2d_pool), {x, kernel, bias},
                   [=, y = y.detach()](const Tensor& gy, const std::vector<Tensor>& gr) {
                     TIMBRE_WITH_DTYPE(
                         x.dtype(), TIMBRE_DISPATCH(x.device(), conv2d_pool_backward, g, T(negative_slope), x.data<T>(),
                                                    kernel.data<T>(), y.data<T>(), argmax.data<T>(), gy.data<T>(),
                                                    detail::data_or_null<T>(gr[0]), detail::data_or_null<T>(gr[1]),
                                                    detail::data_or_null<T>(gr[2])));
                   });
  return y;
}

}  // namespace timbre::ops
