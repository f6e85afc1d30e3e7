#include "timbre/ops/activation.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  check(negative_slope >= 0 && negative_slope < 1, "leaky_relu", "negative_slope must lie in [0, 1), got ",
        negative_slope);
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), leaky_relu_forward, x.numel(), T(negative_slope),
                                               x.data<T>(), y.data<T>()));
  autograd::record(y, negative_slope == 0 ? std::string("relu") : detail::node_name(kernels::Op::leaky_relu), {x},
                   [x, negative_slope](const Tensor& gy, const std::vector<Tensor>& gx) {
                     TIMBRE_WITH_DTYPE(x.dtype(),
                                       TIMBRE_DISPATCH(x.device(), leaky_relu_backward, x.numel(), T(negative_slope),
                                                       x.data<T>(), gy.data<T>(), gx[0].data<T>()));
                   });
  return y;
}

Tensor relu(const Tensor& x) { return leaky_relu(x, 0.0); }

Tensor sigmoid(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), sigmoid_forward, x.numel(), x.data<T>(), y.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::sigmoid), {x},
                   [y = y.detach()](const Tensor& gy, const std::vector<Tensor>& gx) {
                     TIMBRE_WITH_DTYPE(y.dtype(), TIMBRE_DISPATCH(y.device(), sigmoid_backward, y.numel(), y.data<T>(),
                                                                  gy.data<T>(), gx[0].data<T>()));
                   });
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), tanh_forward, x.numel(), x.data<T>(), y.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::tanh), {x},
                   [y = y.detach()](const Tensor& gy, const std::vector<Tensor>& gx) {
                     TIMBRE_WITH_DTYPE(y.dtype(), TIMBRE_DISPATCH(y.device(), tanh_backward, y.numel(), y.data<T>(),
                                                                  gy.data<T>(), gx[0].data<T>()));
                   });
  return y;
}

Tensor softmax(const Tensor& x) {
  check(x.rank() >= 1, "softmax", "expected a tensor of rank >= 1, got a scalar");
  const int64_t cols = x.dim(-1), rows = x.numel() / std::max<int64_t>(cols, 1);
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), softmax_forward, rows, cols, x.data<T>(), y.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::softmax), {x},
                   [y = y.detach(), rows, cols](const Tensor& gy, const std::vector<Tensor>& gx) {
                     TIMBRE_WITH_DTYPE(y.dtype(), TIMBRE_DISPATCH(y.device(), softmax_backward, rows, cols, y.data<T>(),
                                                                  gy.data<T>(), gx[0].data<T>()));
                   });
  return y;
}

}  // namespace timbre::ops
