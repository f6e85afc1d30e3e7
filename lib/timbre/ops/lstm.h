// LSTM as one differentiable op, with Keras' weights and gate order (i, f, c, o),
// and the step reversal that Bidirectional needs.
#pragma once

#include <memory>

#include "timbre/core/tensor.h"

namespace timbre::ops {

struct LstmOptions {
  bool return_sequences = false;  // output every state (N, T, units) instead of the last one (N, units)
  bool go_backwards = false;      // read the steps last to first (outputs stay in reading order, as in Keras)
};

// The LSTM's buffers, kept between calls so that batches of one shape reuse them
// instead of allocating: the forward's saved activations and backward's scratch.
// A saved buffer that an autograd graph still holds is never overwritten: the
// next forward then takes a fresh one.
class LstmWorkspace {
 public:
  Tensor saved(int64_t size, DType dtype, Device device);
  Tensor scratch(int64_t size, DType dtype, Device device);

 private:
  Tensor saved_, scratch_;
};

// x (batch, steps, features), kernel (features, 4u), recurrent_kernel (u, 4u),
// bias (4u); zero initial states. Returns (batch, steps, u) with
// return_sequences, else (batch, u). Without a workspace, buffers are allocated
// per call.
Tensor lstm(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
            LstmOptions options = {}, const std::shared_ptr<LstmWorkspace>& workspace = nullptr);

// x (batch, steps, width) with its step axis reversed: y[n, t] = x[n, steps-1-t].
Tensor reverse_steps(const Tensor& x);

}  // namespace timbre::ops
