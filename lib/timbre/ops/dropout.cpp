#include "timbre/ops/dropout.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor dropout(const Tensor& x, double rate, uint64_t seed, bool training) {
  check(rate >= 0 && rate < 1, "dropout", "rate must lie in [0, 1), got ", rate);
  if (!training || rate == 0) return x;
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), dropout_forward, x.numel(), T(rate), seed, x.data<T>(),
                                               y.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::dropout), {x},
                   [n = x.numel(), rate, seed](const Tensor& gy, const std::vector<Tensor>& gx) {
                     TIMBRE_WITH_DTYPE(gy.dtype(), TIMBRE_DISPATCH(gy.device(), dropout_backward, n, T(rate), seed,
                                                                   gy.data<T>(), gx[0].data<T>()));
                   });
  return y;
}

}  // namespace timbre::ops
