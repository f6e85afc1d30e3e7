#include "timbre/nn/recurrent.h"

#include <vector>

#include "timbre/nn/init.h"
#include "timbre/ops/reshape.h"

namespace timbre::nn {

// ---------------------------------------------------------------- LSTM
LSTM::LSTM(int64_t units, bool return_sequences, bool go_backwards)
    : units_(units), return_sequences_(return_sequences), go_backwards_(go_backwards) {
  check(units >= 1, "LSTM", "units must be >= 1, got ", units);
}

Shape LSTM::on_build(const Shape& input) {
  check(input.rank() == 2, name(), "LSTM expects samples (steps, features), got ", input);
  check(input[0] >= 1 && input[1] >= 1, name(), "LSTM needs at least one step and one feature, got ", input);
  const int64_t features = input[1], gates = 4 * units_;
  kernel = add_variable("kernel", init::glorot_uniform({features, gates}, features, gates));
  recurrent_kernel = add_variable("recurrent_kernel", init::orthogonal({units_, gates}));
  std::vector<float> unit_forget_bias(static_cast<size_t>(gates), 0.f);
  std::fill(unit_forget_bias.begin() + units_, unit_forget_bias.begin() + 2 * units_, 1.f);
  bias = add_variable("bias", Tensor::from<float>({gates}, unit_forget_bias));
  workspace_ = std::make_shared<ops::LstmWorkspace>();
  return return_sequences_ ? Shape{input[0], units_} : Shape{units_};
}

Tensor LSTM::forward(const Tensor& x) {
  return ops::lstm(x, kernel, recurrent_kernel, bias, {return_sequences_, go_backwards_}, workspace_);
}

// ---------------------------------------------------------------- Bidirectional
Bidirectional::Bidirectional(LSTM layer)
    : forward_layer_(layer), backward_layer_(layer.units(), layer.return_sequences(), !layer.go_backwards()) {
  check(!layer.built(), "Bidirectional", "wrap an LSTM that is not built yet (each half gets its own weights)");
  // A name now keeps the backward half out of the automatic naming; on_build derives the real one.
  backward_layer_.set_name("backward_");
}

Shape Bidirectional::on_build(const Shape& input) {
  // Named as Keras names them: the wrapped layer's name (given or automatic) with a prefix.
  const std::string inner = forward_layer_.name();
  forward_layer_.set_name("forward_" + inner);
  backward_layer_.set_name("backward_" + inner);
  Shape out = forward_layer_.build(input, dtype());
  backward_layer_.build(input, dtype());
  out[-1] *= 2;
  return out;
}

Tensor Bidirectional::forward(const Tensor& x) {
  const Tensor forward_half = forward_layer_(x);
  Tensor backward_half = backward_layer_(x);
  if (backward_layer_.return_sequences()) backward_half = ops::reverse_steps(backward_half);
  return ops::concatenate({forward_half, backward_half}, -1);
}

}  // namespace timbre::nn
