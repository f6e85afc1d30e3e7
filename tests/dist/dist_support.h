// Shared by the data-parallel tests: the small model with Dense, Conv2D and
// LSTM layers, its synthetic data and one training step.
#pragma once

#include <vector>

#include "timbre/dist/data_parallel.h"
#include "timbre/dist/sampler.h"
#include "timbre/timbre.h"

namespace timbre::testing {

// (8, 6, 1) samples: Conv2D 4 3x3 relu -> (6, 4, 4), read as 6 steps of 16 features by an LSTM(8), then Dense(5) logits.
inline nn::Sequential small_dist_model(int64_t classes = 5) {
  using namespace nn;
  Sequential model(Conv2D(4, {3, 3}, Padding::valid, {1, 1}, Activation::relu), Reshape({6, 16}), LSTM(8),
                   Dense(classes));
  model.build({8, 6, 1});
  return model;
}

struct SmallData {
  Tensor x;                 // (N, 8, 6, 1)
  std::vector<int32_t> y;   // class of each row
};

inline SmallData small_dist_data(int64_t n, int64_t classes = 5, uint64_t seed = 3) {
  Generator g(seed);
  std::vector<float> values(static_cast<size_t>(n * 48));
  SmallData d;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = static_cast<int32_t>(g.next_u64() % static_cast<uint64_t>(classes));
    d.y.push_back(label);
    for (int64_t k = 0; k < 48; ++k) values[static_cast<size_t>(i * 48 + k)] = static_cast<float>(g.normal(0.3 * label, 1));
  }
  d.x = Tensor::from<float>({n, 8, 6, 1}, values);
  return d;
}

// Rows `rows` of the data: inputs and one-hot targets.
inline std::pair<Tensor, Tensor> gather_rows(const SmallData& d, const std::vector<int64_t>& rows, int64_t classes = 5) {
  const int64_t n = static_cast<int64_t>(rows.size());
  Tensor x = Tensor::empty({n, 8, 6, 1});
  std::vector<float> targets(static_cast<size_t>(n * classes), 0.f);
  const float* src = d.x.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    std::copy(src + rows[i] * 48, src + rows[i] * 48 + 48, x.data<float>() + i * 48);
    targets[static_cast<size_t>(i * classes + d.y[static_cast<size_t>(rows[i])])] = 1.f;
  }
  return {x, Tensor::from<float>({n, classes}, targets)};
}

// Forward, backward (the mean loss over the rows), gradients into the optimizer's arena.
inline void forward_backward(nn::Module& model, optim::Optimizer& optimizer, const SmallData& d,
                             const std::vector<int64_t>& rows) {
  auto [x, targets] = gather_rows(d, rows);
  optimizer.zero_grad();
  ops::softmax_cross_entropy(model(x), targets).backward();
}

}  // namespace timbre::testing
