// Recurrent layers with Keras' names, defaults and variables: LSTM and its
// Bidirectional wrapper (merge mode concat).
#pragma once

#include <cstdint>
#include <memory>

#include "timbre/nn/module.h"
#include "timbre/ops/lstm.h"

namespace timbre::nn {

// LSTM(units, return_sequences, go_backwards) on samples (steps, features):
// kernel (features, 4*units) glorot_uniform, recurrent_kernel (units, 4*units)
// orthogonal, bias (4*units) zeros but the forget gate's ones (unit_forget_bias).
class LSTM : public Module {
 public:
  explicit LSTM(int64_t units, bool return_sequences = false, bool go_backwards = false);
  std::string type_name() const override { return "LSTM"; }
  int64_t units() const { return units_; }
  bool return_sequences() const { return return_sequences_; }
  bool go_backwards() const { return go_backwards_; }
  Tensor kernel, recurrent_kernel, bias;

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  int64_t units_;
  bool return_sequences_, go_backwards_;
  std::shared_ptr<ops::LstmWorkspace> workspace_;  // made at build: each built layer owns its own
};

// Bidirectional(LSTM): a forward copy of the layer and a backward one that reads
// the steps in the other direction, their outputs joined on the last axis. With
// return_sequences the backward output is reversed back, so step t of both
// halves refers to input step t; without, the backward half is its state after
// reading step 0. The halves are named forward_<layer> and backward_<layer>.
class Bidirectional : public Module {
 public:
  explicit Bidirectional(LSTM layer);
  std::string type_name() const override { return "Bidirectional"; }
  std::vector<Module*> children() override { return {&forward_layer_, &backward_layer_}; }
  LSTM& forward_layer() { return forward_layer_; }
  LSTM& backward_layer() { return backward_layer_; }

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  LSTM forward_layer_, backward_layer_;
};

}  // namespace timbre::nn
