#include "timbre/ops/dense.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias) {
  detail::check_compatible("dense", {&x, &kernel, &bias});
  check(kernel.rank() == 2, "dense", "kernel must be (in, out), got ", kernel.shape());
  check(x.rank() >= 1 && x.dim(-1) == kernel.dim(0), "dense", "input ", x.shape(), " does not match kernel ",
        kernel.shape(), ": expected the last axis to be ", kernel.dim(0));
  check(!bias.defined() || bias.shape() == Shape{kernel.dim(1)}, "dense", "bias must be (", kernel.dim(1),
        ",), got ", bias.defined() ? bias.shape().str() : "");
  const int64_t in = kernel.dim(0), out = kernel.dim(1), rows = x.numel() / in;
  Shape y_shape = x.shape();
  y_shape[-1] = out;
  Tensor y = Tensor::empty(y_shape, x.dtype(), x.device());
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), dense_forward, rows, in, out, x.data<T>(), kernel.data<T>(),
                                               detail::data_or_null<T>(bias), y.data<T>()));
  autograd::record(
      y, detail::node_name(kernels::Op::dense), {x, kernel, bias}, [=](const Tensor& gy, const std::vector<Tensor>& g) {
        TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), dense_backward, rows, in, out, x.data<T>(),
                                                     kernel.data<T>(), gy.data<T>(), detail::data_or_null<T>(g[0]),
                                                     detail::data_or_null<T>(g[1]), detail::data_or_null<T>(g[2])));
      });
  return y;
}

}  // namespace timbre::ops
