#include "timbre/ops/normalize.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor normalize(const Tensor& x, const Tensor& mean, const Tensor& variance, NormalizeLayout layout,
                 double epsilon) {
  detail::check_compatible("normalize", {&x, &mean, &variance});
  check(layout.inner >= 1 && layout.groups >= 1, "normalize", "inner and groups must be >= 1, got ", layout.inner,
        " and ", layout.groups);
  check(mean.numel() == layout.groups && variance.numel() == layout.groups, "normalize", "expected ", layout.groups,
        " means and variances, got ", mean.shape(), " and ", variance.shape());
  check(x.numel() % (layout.inner * layout.groups) == 0, "normalize", "input ", x.shape(),
        " is not a whole number of blocks of ", layout.inner * layout.groups, " elements");
  check(epsilon > 0, "normalize", "epsilon must be > 0, got ", epsilon);
  const int64_t n = x.numel();
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), normalize_forward, n, layout.inner, layout.groups,
                                               T(epsilon), x.data<T>(), mean.data<T>(), variance.data<T>(),
                                               y.data<T>()));
  autograd::record(
      y, detail::node_name(kernels::Op::normalize), {x}, [=](const Tensor& gy, const std::vector<Tensor>& g) {
        TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), normalize_backward, n, layout.inner, layout.groups,
                                                     T(epsilon), variance.data<T>(), gy.data<T>(), g[0].data<T>()));
      });
  return y;
}

}  // namespace timbre::ops
