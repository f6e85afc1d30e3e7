// The autograd graph, built as ops run (define-by-run). Each recorded op
// leaves one Node on its output: the inputs it read and a backward function
// that adds the op's vector-Jacobian product into its inputs' gradient buffers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "timbre/autograd/grad_mode.h"
#include "timbre/core/tensor.h"

namespace timbre::autograd {

// grad_inputs[i] is input i's gradient buffer, already sized and zeroed or
// holding earlier contributions; it is undefined when input i needs no
// gradient. A backward function only ever adds into it.
using BackwardFn = std::function<void(const Tensor& grad_output, const std::vector<Tensor>& grad_inputs)>;

class Node {
 public:
  Node(std::string op, std::vector<Tensor> inputs, BackwardFn backward)
      : op(std::move(op)), inputs(std::move(inputs)), backward(std::move(backward)) {}

  std::string op;
  std::vector<Tensor> inputs;
  BackwardFn backward;
  Tensor grad_output;  // accumulated while backward() runs, released after use
};

inline bool any_requires_grad(const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

// Attaches a Node to `output` when grad mode is on and an input requires grad.
// The backward function must not hold `output` itself (that would be a cycle):
// it may hold output.detach().
inline void record(const Tensor& output, std::string op, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!grad_enabled() || !any_requires_grad(inputs)) return;
  output.impl().grad_fn = std::make_shared<Node>(std::move(op), std::move(inputs), std::move(backward));
  output.impl().requires_grad = true;
}

// Runs backward from `root`. Without `upstream`, root must hold one element and
// its gradient is 1. Leaf tensors that require grad accumulate into .grad().
void backward(const Tensor& root, const Tensor& upstream = Tensor());

}  // namespace timbre::autograd
