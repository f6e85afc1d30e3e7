#include "timbre/ops/maxpool2d.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor maxpool2d(const Tensor& x, const Pool2dOptions& o) {
  check(x.rank() == 4, "maxpool2d", "input must be (N, H, W, C), got ", x.shape());
  check(o.pool_h >= 1 && o.pool_w >= 1 && o.stride_h >= 0 && o.stride_w >= 0, "maxpool2d",
        "pool sizes must be >= 1 and strides >= 0, got pool (", o.pool_h, ", ", o.pool_w, ") stride (", o.stride_h,
        ", ", o.stride_w, ")");
  kernels::Pool2dGeometry g{};
  g.batch = x.dim(0);
  g.in_h = x.dim(1);
  g.in_w = x.dim(2);
  g.channels = x.dim(3);
  g.pool_h = o.pool_h;
  g.pool_w = o.pool_w;
  g.stride_h = o.stride_h ? o.stride_h : o.pool_h;
  g.stride_w = o.stride_w ? o.stride_w : o.pool_w;
  check(g.in_h >= g.pool_h && g.in_w >= g.pool_w, "maxpool2d", "input ", x.shape(), " is smaller than the pool (",
        g.pool_h, ", ", g.pool_w, ")");
  g.out_h = (g.in_h - g.pool_h) / g.stride_h + 1;
  g.out_w = (g.in_w - g.pool_w) / g.stride_w + 1;
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, g.channels}, x.dtype(), x.device());
  const bool differentiable = autograd::grad_enabled() && x.requires_grad();
  const Tensor argmax = differentiable ? Tensor::empty(y.shape(), x.dtype(), x.device()) : Tensor();
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), maxpool2d_forward, g, x.data<T>(), y.data<T>(),
                                               detail::data_or_null<T>(argmax)));
  autograd::record(y, detail::node_name(kernels::Op::maxpool2d), {x},
                   [argmax, g](const Tensor& gy, const std::vector<Tensor>& gx) {
                     TIMBRE_WITH_DTYPE(gy.dtype(), TIMBRE_DISPATCH(gy.device(), maxpool2d_backward, g, argmax.data<T>(),
                                                                   gy.data<T>(), gx[0].data<T>()));
                   });
  return y;
}

}  // namespace timbre::ops
