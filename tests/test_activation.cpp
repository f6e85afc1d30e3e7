// LeakyReLU, ReLU, sigmoid, tanh, softmax: values against a naive reference and float64 gradient checks.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

namespace {
Tensor leaf(const Shape& s, uint64_t seed, double min_magnitude = 0) {
  return random_tensor(s, seed, -2, 2, min_magnitude).set_requires_grad();
}
}  // namespace

TEST_CASE("leaky_relu values", "[leaky_relu]") {
  Tensor x = Tensor::from<float>({4}, {-2.f, -0.5f, 0.5f, 3.f});
  CHECK(ops::leaky_relu(x, 0.3).to_vector<float>() == std::vector<float>{-0.6f, -0.15f, 0.5f, 3.f});
  CHECK(ops::relu(x).to_vector<float>() == std::vector<float>{0.f, 0.f, 0.5f, 3.f});
}

TEST_CASE("gradcheck leaky_relu", "[gradcheck][leaky_relu]") {
  auto r = gradcheck([](auto& in) { return ops::leaky_relu(in[0], 0.3); }, {leaf({3, 5, 7}, 1, 0.05)});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("gradcheck relu", "[gradcheck][relu]") {
  auto r = gradcheck([](auto& in) { return ops::relu(in[0]); }, {leaf({4, 9}, 2, 0.05)});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("gradcheck sigmoid", "[gradcheck][sigmoid]") {
  auto r = gradcheck([](auto& in) { return ops::sigmoid(in[0]); }, {leaf({2, 3, 5}, 3)});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("gradcheck tanh", "[gradcheck][tanh]") {
  auto r = gradcheck([](auto& in) { return ops::tanh(in[0]); }, {leaf({5, 7}, 4)});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("softmax values sum to one and match exp(x)/sum", "[softmax]") {
  Tensor x = random_tensor({3, 8}, 5, -5, 5);
  const auto y = ops::softmax(x).to_vector<double>();
  const auto xv = x.to_vector<double>();
  for (int r = 0; r < 3; ++r) {
    double sum = 0;
    for (int c = 0; c < 8; ++c) sum += std::exp(xv[r * 8 + c]);
    for (int c = 0; c < 8; ++c) CHECK(y[r * 8 + c] == Approx(std::exp(xv[r * 8 + c]) / sum).epsilon(1e-12));
  }
}

TEST_CASE("gradcheck softmax", "[gradcheck][softmax]") {
  auto r = gradcheck([](auto& in) { return ops::softmax(in[0]); }, {leaf({4, 6}, 6)});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("leaky_relu rejects a bad negative_slope", "[leaky_relu][errors]") {
  CHECK_THROWS_WITH(ops::leaky_relu(Tensor::zeros({2}), -1.0), Catch::Contains("negative_slope must lie in [0, 1)"));
  CHECK_THROWS_WITH(nn::LeakyReLU(1.5), Catch::Contains("negative_slope"));
}
