#include "timbre/ops/conv2d.h"

#include <algorithm>

#include "timbre/ops/op_support.h"

namespace timbre::ops {

int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, Padding padding) {
  return padding == Padding::same ? (in + stride - 1) / stride : (in - kernel) / stride + 1;
}

namespace detail {
kernels::Conv2dGeometry conv2d_geometry(const Shape& x, const Shape& kernel, const Conv2dOptions& o) {
  check(x.rank() == 4, "conv2d", "input must be (N, H, W, C), got ", x);
  check(kernel.rank() == 4, "conv2d", "kernel must be (KH, KW, Cin, Cout), got ", kernel);
  check(x[3] == kernel[2], "conv2d", "input ", x, " has ", x[3], " channels but kernel ", kernel, " expects ",
        kernel[2]);
  check(o.stride_h >= 1 && o.stride_w >= 1, "conv2d", "strides must be >= 1, got (", o.stride_h, ", ", o.stride_w,
        ")");
  check(kernel[0] >= 1 && kernel[1] >= 1 && kernel[3] >= 1, "conv2d", "kernel extents must be >= 1, got ", kernel);
  if (o.padding == Padding::valid)
    check(x[1] >= kernel[0] && x[2] >= kernel[1], "conv2d", "input ", x, " is smaller than the ", kernel[0], "x",
          kernel[1], " kernel with padding 'valid'");
  kernels::Conv2dGeometry g{};
  g.batch = x[0];
  g.in_h = x[1];
  g.in_w = x[2];
  g.in_c = x[3];
  g.out_c = kernel[3];
  g.kernel_h = kernel[0];
  g.kernel_w = kernel[1];
  g.stride_h = o.stride_h;
  g.stride_w = o.stride_w;
  g.out_h = conv_output_size(g.in_h, g.kernel_h, g.stride_h, o.padding);
  g.out_w = conv_output_size(g.in_w, g.kernel_w, g.stride_w, o.padding);
  if (o.padding == Padding::same) {
    g.pad_top = std::max<int64_t>((g.out_h - 1) * g.stride_h + g.kernel_h - g.in_h, 0) / 2;
    g.pad_left = std::max<int64_t>((g.out_w - 1) * g.stride_w + g.kernel_w - g.in_w, 0) / 2;
  }
  return g;
}
}  // namespace detail

Tensor conv2d(const Tensor& x, const Tensor& kernel, const Tensor& bias, const Conv2dOptions& options) {
  detail::check_compatible("conv2d", {&x, &kernel, &bias});
  const kernels::Conv2dGeometry g = detail::conv2d_geometry(x.shape(), kernel.shape(), options);
  check(!bias.defined() || bias.shape() == Shape{g.out_c}, "conv2d", "bias must be (", g.out_c, ",), got ",
        bias.defined() ? bias.shape().str() : "");
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, g.out_c}, x.dtype(), x.device());
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), conv2d_forward, g, x.data<T>(), kernel.data<T>(),
                                               detail::data_or_null<T>(bias), y.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::conv2d), {x, kernel, bias},
                   [=](const Tensor& gy, const std::vector<Tensor>& gr) {
                     TIMBRE_WITH_DTYPE(x.dtype(),
                                       TIMBRE_DISPATCH(x.device(), conv2d_backward, g, x.data<T>(), kernel.data<T>(),
                                                       gy.data<T>(), detail::data_or_null<T>(gr[0]),
                                                       detail::data_or_null<T>(gr[1]), detail::data_or_null<T>(gr[2])));
                   });
  return y;
}

}  // namespace timbre::ops
