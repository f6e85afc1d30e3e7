#include <unordered_set>

#include "timbre/autograd/node.h"
#include "timbre/ops/elementwise.h"

namespace timbre::autograd {

namespace {
// Nodes reachable from `root`, each after every node that consumes its output.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      Node* child = in.defined() ? in.impl().grad_fn.get() : nullptr;
      if (child && visited.insert(child).second) stack.emplace_back(child, 0);
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  std::reverse(order.begin(), order.end());
  return order;
}

// The buffer that gradients for `t` accumulate into: its producer's grad_output,
// or for a leaf its .grad(). Created zeroed on first use.
Tensor gradient_buffer(const Tensor& t) {
  if (Node* producer = t.impl().grad_fn.get()) {
    if (!producer->grad_output.defined()) producer->grad_output = Tensor::zeros_like(t);
    return producer->grad_output;
  }
  if (!t.impl().grad) t.set_grad(Tensor::zeros_like(t));
  return t.grad();
}
}  // namespace

void backward(const Tensor& root, const Tensor& upstream) {
  check(root.requires_grad(), "backward", "the tensor does not require grad (no parameter or input led to it)");
  Tensor seed = upstream;
  if (!seed.defined()) {
    check(root.numel() == 1, "backward", "without an upstream gradient the root must be a scalar, got shape ",
          root.shape());
    seed = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  check(seed.shape() == root.shape() && seed.dtype() == root.dtype(), "backward", "upstream gradient ",
        dtype_name(seed.dtype()), " ", seed.shape(), " does not match the root's ", dtype_name(root.dtype()), " ",
        root.shape());
  ops::add_into(gradient_buffer(root), seed);
  if (!root.grad_fn()) return;

  NoGrad no_history;  // backward computations are not themselves recorded
  for (Node* node : topological_order(root.grad_fn().get())) {
    if (!node->grad_output.defined()) continue;  // nothing flowed into this branch
    std::vector<Tensor> grad_inputs(node->inputs.size());
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Tensor& in = node->inputs[i];
      if (in.defined() && in.requires_grad()) grad_inputs[i] = gradient_buffer(in);
    }
    node->backward(node->grad_output, grad_inputs);
    node->grad_output = Tensor();
  }
}

}  // namespace timbre::autograd

namespace timbre {
void Tensor::backward(const Tensor& upstream) const { autograd::backward(*this, upstream); }
}  // namespace timbre
