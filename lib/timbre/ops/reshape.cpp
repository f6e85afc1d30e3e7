#include "timbre/ops/reshape.h"

#include "timbre/ops/elementwise.h"
#include "timbre/ops/op_support.h"

namespace timbre::ops {

Tensor reshape(const Tensor& x, const Shape& requested) {
  Shape shape = requested;
  int64_t known = 1, inferred = -1;
  for (int64_t i = 0; i < shape.rank(); ++i) {
    if (shape[i] == -1) {
      check(inferred < 0, "reshape", "only one extent may be -1, got ", requested);
      inferred = i;
    } else {
      check(shape[i] >= 0, "reshape", "extents must be >= 0 or -1, got ", requested);
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    check(known > 0 && x.numel() % known == 0, "reshape", "cannot infer the -1 in ", requested, " for input ",
          x.shape());
    shape[inferred] = x.numel() / known;
  }
  check(shape.numel() == x.numel(), "reshape", "cannot reshape ", x.shape(), " (", x.numel(), " elements) to ",
        requested, " (", shape.numel(), " elements)");
  Tensor y = x.view(shape);
  autograd::record(y, "reshape", {x}, [in_shape = x.shape()](const Tensor& gy, const std::vector<Tensor>& gx) {
    add_into(gx[0], gy.view(in_shape));
  });
  return y;
}

Tensor flatten(const Tensor& x) {
  check(x.rank() >= 1, "flatten", "expected a batch axis, got a scalar");
  return reshape(x, {x.dim(0), x.dim(0) == 0 ? 0 : x.numel() / x.dim(0)});
}

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) {
  check(!xs.empty(), "concatenate", "needs at least one tensor");
  const Tensor& first = xs.front();
  const int64_t rank = first.rank();
  if (axis < 0) axis += rank;
  check(axis >= 0 && axis < rank, "concatenate", "axis out of range for rank ", rank);
  Shape out_shape = first.shape();
  out_shape[axis] = 0;
  for (const Tensor& x : xs) {
    detail::check_compatible("concatenate", {&first, &x});
    check(x.rank() == rank, "concatenate", "ranks differ: ", first.shape(), " and ", x.shape());
    for (int64_t i = 0; i < rank; ++i)
      check(i == axis || x.dim(i) == first.dim(i), "concatenate", "shapes ", first.shape(), " and ", x.shape(),
            " differ on axis ", i, " (only axis ", axis, " may differ)");
    out_shape[axis] += x.dim(axis);
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= first.dim(i);
  const int64_t out_inner = outer ? out_shape.numel() / outer : 0;
  Tensor y = Tensor::empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> widths, offsets;
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    const int64_t inner = outer ? x.numel() / outer : 0;
    TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), copy_block, outer, inner, x.data<T>(), inner,
                                                 y.data<T>() + offset, out_inner, false));
    widths.push_back(inner);
    offsets.push_back(offset);
    offset += inner;
  }
  autograd::record(y, "concatenate", xs, [=](const Tensor& gy, const std::vector<Tensor>& gx) {
    for (size_t i = 0; i < gx.size(); ++i) {
      if (!gx[i].defined()) continue;
      TIMBRE_WITH_DTYPE(gy.dtype(), TIMBRE_DISPATCH(gy.device(), copy_block, outer, widths[i],
                                                    gy.data<T>() + offsets[i], out_inner, gx[i].data<T>(), widths[i],
                                                    true));
    }
  });
  return y;
}

}  // namespace timbre::ops
