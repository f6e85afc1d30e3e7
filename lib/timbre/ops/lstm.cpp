#include "timbre/ops/lstm.h"

#include "timbre/ops/op_support.h"

namespace timbre::ops {

namespace {
// The cached buffer when it is big enough, matches and nothing else refers to
// it (no live autograd graph saved it); otherwise a new one, which is cached.
Tensor reuse_or_allocate(Tensor& cached, int64_t size, DType dtype, Device device) {
  const bool reusable = cached.defined() && cached.numel() >= size && cached.dtype() == dtype &&
                        cached.device() == device && cached.impl_ptr().use_count() == 1 &&
                        cached.impl().storage.use_count() == 1;
  if (!reusable) cached = Tensor::empty({size}, dtype, device);
  return cached.numel() == size ? cached : cached.view_at(0, {size});
}
}  // namespace

Tensor LstmWorkspace::saved(int64_t size, DType dtype, Device device) {
  return reuse_or_allocate(saved_, size, dtype, device);
}

Tensor LstmWorkspace::scratch(int64_t size, DType dtype, Device device) {
  return reuse_or_allocate(scratch_, size, dtype, device);
}

Tensor lstm(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
            LstmOptions options, const std::shared_ptr<LstmWorkspace>& workspace) {
  detail::check_compatible("lstm", {&x, &kernel, &recurrent_kernel, &bias});
  check(x.rank() == 3, "lstm", "input must be (batch, steps, features), got ", x.shape());
  check(x.dim(1) >= 1, "lstm", "input ", x.shape(), " has no steps");
  check(recurrent_kernel.rank() == 2 && recurrent_kernel.dim(0) >= 1 &&
            recurrent_kernel.dim(1) == 4 * recurrent_kernel.dim(0),
        "lstm", "recurrent_kernel must be (units, 4*units) with units >= 1, got ", recurrent_kernel.shape());
  const int64_t units = recurrent_kernel.dim(0);
  check(kernel.shape() == Shape{x.dim(2), 4 * units}, "lstm", "kernel must be (features, 4*units) = ",
        Shape{x.dim(2), 4 * units}, " for input ", x.shape(), ", got ", kernel.shape());
  check(bias.defined() && bias.shape() == Shape{4 * units}, "lstm", "bias must be (", 4 * units, ",), got ",
        bias.defined() ? bias.shape().str() : "none");

  const bool backward_follows = autograd::grad_enabled() &&
                                autograd::any_requires_grad({x, kernel, recurrent_kernel, bias});
  const kernels::LstmGeometry g{x.dim(0), x.dim(1), x.dim(2), units, options.return_sequences, options.go_backwards,
                                backward_follows};
  const kernels::LstmLayout layout = kernels::lstm_layout(g);
  const Tensor saved = workspace ? workspace->saved(layout.saved_size, x.dtype(), x.device())
                                 : Tensor::empty({layout.saved_size}, x.dtype(), x.device());
  const Shape y_shape = options.return_sequences ? Shape{g.batch, g.steps, units} : Shape{g.batch, units};
  Tensor y = Tensor::empty(y_shape, x.dtype(), x.device());
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), lstm_forward, g, x.data<T>(), kernel.data<T>(),
                                               recurrent_kernel.data<T>(), bias.data<T>(), y.data<T>(),
                                               saved.data<T>()));
  autograd::record(y, detail::node_name(kernels::Op::lstm), {x, kernel, recurrent_kernel, bias},
                   [=](const Tensor& gy, const std::vector<Tensor>& grads) {
                     const Tensor scratch = workspace
                                                ? workspace->scratch(layout.scratch_size, gy.dtype(), gy.device())
                                                : Tensor::empty({layout.scratch_size}, gy.dtype(), gy.device());
                     TIMBRE_WITH_DTYPE(
                         gy.dtype(),
                         TIMBRE_DISPATCH(gy.device(), lstm_backward, g, x.data<T>(), kernel.data<T>(),
                                         recurrent_kernel.data<T>(),
                                         saved.data<T>(), gy.data<T>(), scratch.data<T>(),
                                         detail::data_or_null<T>(grads[0]), detail::data_or_null<T>(grads[1]),
                                         detail::data_or_null<T>(grads[2]), detail::data_or_null<T>(grads[3])));
                   });
  return y;
}

Tensor reverse_steps(const Tensor& x) {
  check(x.rank() == 3, "reverse_steps", "input must be (batch, steps, width), got ", x.shape());
  const int64_t batch = x.dim(0), steps = x.dim(1), width = x.dim(2);
  Tensor y = Tensor::empty_like(x);
  TIMBRE_WITH_DTYPE(x.dtype(), TIMBRE_DISPATCH(x.device(), reverse_steps, batch, steps, width, x.data<T>(),
                                               y.data<T>(), false));
  autograd::record(y, detail::node_name(kernels::Op::reverse_steps), {x},
                   [=](const Tensor& gy, const std::vector<Tensor>& grads) {
                     TIMBRE_WITH_DTYPE(gy.dtype(), TIMBRE_DISPATCH(gy.device(), reverse_steps, batch, steps, width,
                                                                   gy.data<T>(), grads[0].data<T>(), true));
                   });
  return y;
}

}  // namespace timbre::ops
