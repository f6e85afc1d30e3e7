// Reshape, Flatten and Concatenate: channels-last order, views, gradient checks, bad input.
#include <catch2/catch.hpp>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

TEST_CASE("reshape keeps channels-last memory order as Keras does", "[reshape]") {
  // (20, 20, 6) -> (100, 24): row r holds 4 consecutive positions x 6 channels.
  std::vector<float> v(2 * 20 * 20 * 6);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Tensor x = Tensor::from<float>({2, 20, 20, 6}, v);
  nn::Reshape layer({100, 24});
  CHECK(layer.build({20, 20, 6}) == Shape{100, 24});
  Tensor y = layer(x);
  CHECK(y.shape() == Shape{2, 100, 24});
  CHECK(y.shares_storage_with(x));  // a view, no copy
  CHECK(y.to_vector<float>()[24 * 3 + 7] == v[24 * 3 + 7]);
  CHECK(ops::reshape(x, {2, -1, 6}).shape() == Shape{2, 400, 6});
  CHECK(ops::flatten(x).shape() == Shape{2, 2400});
}

TEST_CASE("gradcheck reshape and flatten", "[gradcheck][reshape][flatten]") {
  auto r = gradcheck([](auto& in) { return ops::tanh(ops::reshape(in[0], {3, -1})); },
                     {random_tensor({3, 2, 5}, 1).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
  auto rf = gradcheck([](auto& in) { return ops::sigmoid(ops::flatten(in[0])); },
                      {random_tensor({2, 3, 4, 2}, 2).set_requires_grad()});
  INFO(rf.report);
  CHECK(rf.ok);
}

TEST_CASE("concatenate joins along an axis", "[concatenate]") {
  Tensor a = Tensor::from<float>({2, 2}, {1, 2, 3, 4}), b = Tensor::from<float>({2, 1}, {9, 8});
  CHECK(ops::concatenate({a, b}).to_vector<float>() == std::vector<float>{1, 2, 9, 3, 4, 8});
  CHECK(ops::concatenate({a, a}, 0).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4});
}

TEST_CASE("gradcheck concatenate", "[gradcheck][concatenate]") {
  for (int64_t axis : {-1, 1, 0}) {
    auto r = gradcheck([&](auto& in) { return ops::concatenate({in[0], in[1]}, axis); },
                       {random_tensor({2, 3, 4}, 1).set_requires_grad(),
                        random_tensor(axis == 0 ? Shape{1, 3, 4} : axis == 1 ? Shape{2, 2, 4} : Shape{2, 3, 5}, 2)
                            .set_requires_grad()});
    INFO("axis " << axis << "\n" << r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("reshape and concatenate reject bad shapes", "[reshape][concatenate][errors]") {
  Tensor x = Tensor::zeros({2, 6});
  CHECK_THROWS_WITH(ops::reshape(x, {5, 2}), Catch::Contains("reshape") && Catch::Contains("(2, 6)") &&
                                                 Catch::Contains("(5, 2)"));
  CHECK_THROWS_WITH(ops::reshape(x, {-1, -1}), Catch::Contains("only one extent may be -1"));
  CHECK_THROWS_WITH(ops::concatenate({x, Tensor::zeros({3, 6})}), Catch::Contains("concatenate") &&
                                                                      Catch::Contains("(3, 6)"));
  CHECK_THROWS_WITH(nn::Reshape({7}).build({2, 3}), Catch::Contains("cannot reshape"));
}
