// Softmax cross-entropy: values against the definition, one-hot and index
// targets, gradient check, accuracy, bad input.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

TEST_CASE("softmax_cross_entropy is the mean of -log softmax at the target", "[loss]") {
  Tensor logits = random_tensor({3, 4}, 1, -3, 3);
  const auto l = logits.to_vector<double>();
  const std::vector<double> idx{2, 0, 3};
  double expected = 0;
  for (int r = 0; r < 3; ++r) {
    double z = 0;
    for (int c = 0; c < 4; ++c) z += std::exp(l[r * 4 + c]);
    expected += -(l[r * 4 + static_cast<int>(idx[r])] - std::log(z)) / 3;
  }
  CHECK(ops::softmax_cross_entropy(logits, Tensor::from<double>({3}, idx)).item<double>() == Approx(expected));
  Tensor onehot = ops::one_hot_targets(Tensor::from<double>({3}, idx), 4, "test");
  CHECK(ops::softmax_cross_entropy(logits, onehot).item<double>() == Approx(expected));
  // Large logits stay finite.
  Tensor big = Tensor::from<float>({1, 2}, {1000.f, -1000.f});
  CHECK(std::isfinite(ops::softmax_cross_entropy(big, Tensor::from<float>({1}, {1.f})).item<float>()));
}

TEST_CASE("gradcheck softmax_cross_entropy", "[gradcheck][loss]") {
  Tensor soft_targets = ops::softmax(random_tensor({4, 5}, 3));
  auto r = gradcheck([&](auto& in) { return ops::softmax_cross_entropy(in[0], soft_targets); },
                     {random_tensor({4, 5}, 2, -2, 2).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
  Tensor idx = Tensor::from<double>({4}, {1, 4, 0, 2});
  auto ri = gradcheck([&](auto& in) { return ops::softmax_cross_entropy(in[0], idx); },
                      {random_tensor({4, 5}, 4, -2, 2).set_requires_grad()});
  INFO(ri.report);
  CHECK(ri.ok);
}

TEST_CASE("accuracy counts argmax hits", "[loss]") {
  Tensor logits = Tensor::from<float>({3, 3}, {1, 5, 0, 9, 1, 1, 0, 0, 2});
  CHECK(ops::accuracy(logits, Tensor::from<float>({3}, {1, 0, 0})) == Approx(2.0 / 3));
}

TEST_CASE("softmax_cross_entropy rejects bad targets", "[loss][errors]") {
  Tensor logits = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH(ops::softmax_cross_entropy(logits, Tensor::zeros({3})), Catch::Contains("softmax_cross_entropy"));
  CHECK_THROWS_WITH(ops::softmax_cross_entropy(logits, Tensor::zeros({2, 4})), Catch::Contains("3 classes"));
  CHECK_THROWS_WITH(ops::softmax_cross_entropy(logits, Tensor::from<float>({2}, {0, 3})),
                    Catch::Contains("class index 3"));
}
