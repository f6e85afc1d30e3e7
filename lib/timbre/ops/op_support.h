// Helpers shared by the op implementations (compiled files only).
#pragma once

#include <initializer_list>
#include <string>

#include "kernels/dispatch.h"
#include "timbre/autograd/node.h"
#include "timbre/core/tensor.h"
#include "timbre/ops/conv2d.h"

namespace timbre::ops::detail {

// Every defined tensor must share the first one's dtype and device.
inline void check_compatible(const std::string& op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    check(t->dtype() == first->dtype(), op, "mixed element types: ", dtype_name(first->dtype()), " and ",
          dtype_name(t->dtype()));
    check(t->device() == first->device(), op, "tensors on different devices: ", first->device().str(), " and ",
          t->device().str());
  }
}

// An autograd node's name: its op's name in the op table (kernels/ops.def).
inline std::string node_name(kernels::Op op) { return std::string(kernels::op_name(op)); }

// The data pointer of an optional tensor (a null gradient buffer means "not needed").
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The kernels' geometry of conv2d(x, kernel) after checking the shapes and
// options (shared by conv2d and the fused conv2d_pool).
kernels::Conv2dGeometry conv2d_geometry(const Shape& x, const Shape& kernel, const Conv2dOptions& options);

}  // namespace timbre::ops::detail

// Runs the statement with `T` bound to the C++ element type of `dtype`.
#define TIMBRE_WITH_DTYPE(dtype, ...)                      \
  ::timbre::visit_dtype((dtype), [&](auto timbre_tag_) {   \
    using T = decltype(timbre_tag_);                       \
    __VA_ARGS__;                                           \
  })
