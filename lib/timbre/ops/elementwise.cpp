#include "timbre/ops/elementwise.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

void add_into(const Tensor& dst, const Tensor& src) {
  detail::check_compatible("add_into", {&dst, &src});
  check(dst.shape() == src.shape(), "add_into", "expected ", dst.shape(), ", got ", src.shape());
  TIMBRE_WITH_DTYPE(dst.dtype(), TIMBRE_DISPATCH(dst.device(), axpy, dst.numel(), T(1), src.data<T>(), dst.data<T>()));
}

Tensor add(const Tensor& x, const Tensor& y) {
  detail::check_compatible("add", {&x, &y});
  check(x.shape() == y.shape(), "add", "shapes differ: ", x.shape(), " and ", y.shape());
  Tensor out = x.clone();
  add_into(out, y);
  autograd::record(out, "add", {x, y}, [](const Tensor& gy, const std::vector<Tensor>& gx) {
    for (const Tensor& g : gx)
      if (g.defined()) add_into(g, gy);
  });
  return out;
}

}  // namespace timbre::ops
