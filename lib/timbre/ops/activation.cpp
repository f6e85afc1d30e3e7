#include "timbre/ops/activation.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor leaky_relu(const Tensor& x, double alpha) {
  check(alpha >= 0 && alpha < 1, "leaky_relu", "alpha must lie in [0, 1), got ", alpha);
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), leaky_relu_forward, x.numel(), T(alpha), x.data<T>(), y.data<T>()));
  autograd::record(y, alpha == 0 ? "relu" : "leaky_relu", {x}, [x, alpha](const Tensor& gy, const std::vector<Tensor>& gx) {
    TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), leaky_relu_backward, x.numel(), T(alpha), x.data<T>(),
                                                 gy.data<T>(), gx[0].data<T>()));
  });
  return y;
}

Tensor relu(const Tensor& x) { return leaky_relu(x, 0.0); }

Tensor sigmoid(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), sigmoid_forward, x.numel(), x.data<T>(), y.data<T>()));
  autograd::record(y, "sigmoid", {x}, [y = y.detach()](const Tensor& gy, const std::vector<Tensor>& gx) {
    TIMBRE_WITH_DTYPE(y.dtype(), TIMBRE_DISPATCH(y.device(), sigmoid_backward, y.numel(), y.data<T>(), gy.data<T>(),
                                                 gx[0].data<T>()));
  });
  return y;
}

Tensor tanh(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), tanh_forward, x.numel(), x.data<T>(), y.data<T>()));
  autograd::record(y, "tanh", {x}, [y = y.detach()](const Tensor& gy, const std::vector<Tensor>& gx) {
    TIMBRE_WITH_DTYPE(y.dtype(), TIMBRE_DISPATCH(y.device(), tanh_backward, y.numel(), y.data<T>(), gy.data<T>(),
                                                 gx[0].data<T>()));
  });
  return y;
}

Tensor softmax(const Tensor& x) {
  check(x.rank() >= 1, "softmax", "expected a tensor of rank >= 1, got a scalar");
  const int64_t cols = x.dim(-1), rows = x.numel() / std::max<int64_t>(cols, 1);
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), softmax_forward, rows, cols, x.data<T>(), y.data<T>()));
  autograd::record(y, "softmax", {x}, [y = y.detach(), rows, cols](const Tensor& gy, const std::vector<Tensor>& gx) {
    TIMBRE_WITH_DTYPE(y.dtype(), TIMBRE_DISPATCH(y.device(), softmax_backward, rows, cols, y.data<T>(), gy.data<T>(),
                                                 gx[0].data<T>()));
  });
  return y;
}

}  // namespace timbre::ops
