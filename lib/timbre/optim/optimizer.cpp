#include "timbre/optim/optimizer.h"

#include "timbre/ops/op_support.h"

namespace timbre::optim {

Optimizer::Optimizer(std::vector<Tensor> parameters) {
  check(!parameters.empty(), "Optimizer", "no trainable parameters given (was the model built?)");
  const Tensor& first = parameters.front();
  int64_t total = 0;
  for (const Tensor& p : parameters) {
    ops::detail::check_compatible("Optimizer", {&first, &p});
    check(p.requires_grad() && !p.grad_fn(), "Optimizer", "parameters must be leaf tensors that require grad");
    total += p.numel();
  }
  values_ = Tensor::empty({total}, first.dtype(), first.device());
  gradients_ = Tensor::zeros({total}, first.dtype(), first.device());
  int64_t offset = 0;
  for (const Tensor& p : parameters) {
    Tensor slot = values_.view_at(offset, p.shape());
    slot.copy_from(p);
    // Rebind the parameter to its slot: every module holding it now sees the arena.
    p.impl().storage = slot.impl().storage;
    p.impl().offset = slot.impl().offset;
    p.set_grad(gradients_.view_at(offset, p.shape()));
    offset += p.numel();
  }
}

void Optimizer::zero_grad() {
  TIMBRE_WITH_DTYPE(gradients_.dtype(), TIMBRE_DISPATCH(gradients_.device(), fill, gradients_.numel(), T(0),
                                                        gradients_.data<T>()));
}

void Optimizer::step() {
  ++iterations_;
  if (global_clipnorm_ > 0)
    TIMBRE_WITH_DTYPE(gradients_.dtype(), TIMBRE_DISPATCH(gradients_.device(), clip_by_global_norm, gradients_.numel(),
                                                          T(global_clipnorm_), gradients_.data<T>()));
  if (weight_decay_ > 0)
    TIMBRE_WITH_DTYPE(values_.dtype(), TIMBRE_DISPATCH(values_.device(), axpy, values_.numel(), T(-lr_ * weight_decay_),
                                                       values_.data<T>(), values_.data<T>()));
  update();
}

void Optimizer::set_weight_decay(double weight_decay) {
  check(weight_decay >= 0 && weight_decay < 1, "Optimizer", "weight decay must lie in [0, 1), got ", weight_decay);
  weight_decay_ = weight_decay;
}

void Optimizer::set_learning_rate(double lr) {
  check(lr > 0, "Optimizer", "learning rate must be > 0, got ", lr);
  lr_ = lr;
}

void Optimizer::set_global_clipnorm(double max_norm) {
  check(max_norm >= 0, "Optimizer", "global_clipnorm must be >= 0 (0: no clipping), got ", max_norm);
  global_clipnorm_ = max_norm;
}

Tensor& Optimizer::add_state(const std::string& name) {
  return state_[name] = Tensor::zeros_like(values_);
}

SGD::SGD(std::vector<Tensor> parameters, double learning_rate, double momentum, bool nesterov)
    : Optimizer(std::move(parameters)), momentum_(momentum), nesterov_(nesterov) {
  set_learning_rate(learning_rate);
  check(momentum >= 0 && momentum < 1, "SGD", "momentum must lie in [0, 1), got ", momentum);
  if (momentum_ > 0) add_state("velocity");
}

void SGD::update() {
  const Tensor velocity = momentum_ > 0 ? state_.at("velocity") : Tensor();
  TIMBRE_WITH_DTYPE(values_.dtype(),
                    TIMBRE_DISPATCH(values_.device(), sgd_update, values_.numel(), T(lr_), T(momentum_), nesterov_,
                                    gradients_.data<T>(), values_.data<T>(), ops::detail::data_or_null<T>(velocity)));
}

Adam::Adam(std::vector<Tensor> parameters, double learning_rate, double beta_1, double beta_2, double epsilon)
    : Optimizer(std::move(parameters)), beta_1_(beta_1), beta_2_(beta_2), epsilon_(epsilon) {
  set_learning_rate(learning_rate);
  check(beta_1 >= 0 && beta_1 < 1 && beta_2 >= 0 && beta_2 < 1 && epsilon > 0, "Adam",
        "expected beta_1, beta_2 in [0, 1) and epsilon > 0, got ", beta_1, ", ", beta_2, ", ", epsilon);
  add_state("m");
  add_state("v");
}

void Adam::update() {
  TIMBRE_WITH_DTYPE(values_.dtype(),
                    TIMBRE_DISPATCH(values_.device(), adam_update, values_.numel(), T(lr_), T(beta_1_), T(beta_2_),
                                    T(epsilon_), iterations_, gradients_.data<T>(), values_.data<T>(),
                                    state_.at("m").data<T>(), state_.at("v").data<T>()));
}

}  // namespace timbre::optim
