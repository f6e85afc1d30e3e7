// Modules: Keras naming, lazy build, summaries with Keras' totals, shape checks.
#include <catch2/catch.hpp>
#include <sstream>

#include "gradcheck.h"

using namespace timbre;

namespace {
// The seed's P1.1: two convolutional branches on the same patch, concatenated, then Dense 8.
nn::Sequential parallel_cnn() {
  return nn::Sequential(
      nn::Concatenate(nn::Sequential(nn::Conv2D(3, {8, 8}), nn::LeakyReLU(0.3), nn::MaxPooling2D(4), nn::Flatten()),
                      nn::Sequential(nn::Conv2D(4, {4, 4}), nn::LeakyReLU(0.3), nn::MaxPooling2D(2), nn::Flatten())),
      nn::Dense(8, nn::Activation::softmax));
}
}  // namespace

TEST_CASE("P1.1 has Keras' parameter total and layer names", "[module][summary]") {
  nn::Sequential model = parallel_cnn();
  CHECK(model.build({80, 80, 1}) == Shape{8});
  CHECK(model.parameter_count(true) == 54255);
  CHECK(model.parameter_count(false) == 0);
  std::ostringstream summary;
  model.summary(summary);
  CHECK_THAT(summary.str(), Catch::Contains("Total params: 54,255"));
  CHECK_THAT(summary.str(), Catch::Contains("conv2d_1 (Conv2D)"));
  CHECK_THAT(summary.str(), Catch::Contains("(None, 18, 18, 3)"));
  const auto vars = model.variables();
  CHECK(vars.front().name == "conv2d/kernel");
  CHECK(vars.back().name == "dense/bias");
}

TEST_CASE("P2's convolutional front end with BatchNorm counts non-trainable statistics", "[module][summary]") {
  nn::Sequential front(nn::Conv2D(8, {4, 4}, ops::Padding::same), nn::BatchNormalization(), nn::LeakyReLU(0.3),
                       nn::MaxPooling2D(2), nn::Conv2D(6, {3, 3}, ops::Padding::same), nn::BatchNormalization(),
                       nn::LeakyReLU(0.3), nn::MaxPooling2D(2), nn::Reshape({100, 24}));
  CHECK(front.build({80, 80, 1}) == Shape{100, 24});
  // conv 136 + bn 32 + conv 438 + bn 24 = 630, of which 28 are moving statistics.
  CHECK(front.parameter_count(true) + front.parameter_count(false) == 630);
  CHECK(front.parameter_count(false) == 28);
  Tensor y = front(Tensor::zeros({2, 80, 80, 1}));
  CHECK(y.shape() == Shape{2, 100, 24});
}

TEST_CASE("a module checks its input against the built shape", "[module][errors]") {
  nn::Sequential model = parallel_cnn();
  CHECK_THROWS_WITH(model(Tensor::zeros({1, 80, 80, 1})), Catch::Contains("build"));
  model.build({80, 80, 1});
  CHECK_THROWS_WITH(model(Tensor::zeros({2, 64, 80, 1})),
                    Catch::Contains("(2, 64, 80, 1)") && Catch::Contains("(None, 80, 80, 1)"));
  CHECK_THROWS_WITH(model(Tensor::zeros({2, 80, 80, 1}, DType::f64)), Catch::Contains("float32"));
  CHECK_THROWS_WITH(nn::Sequential(nn::Conv2D(3, {8, 8})).build({4, 4, 1}), Catch::Contains("smaller than"));
}

TEST_CASE("gradcheck a small model end to end through every CNN layer", "[gradcheck][module]") {
  // No convolution bias: the batch norm after it cancels it, so its true gradient is zero (a check of it
  // passed only on rounding noise, and failed without OpenMP's summation order).
  nn::Sequential model(nn::Conv2D(2, {3, 3}, ops::Padding::same, {1, 1}, nn::Activation::linear, false),
                       nn::BatchNormalization(), nn::LeakyReLU(0.3),
                       nn::MaxPooling2D(2), nn::Flatten(), nn::Dense(3));
  model.build({6, 6, 1}, DType::f64);
  auto r = timbre::testing::gradcheck_module(model, timbre::testing::random_tensor({3, 6, 6, 1}, 9).set_requires_grad(),
                                             true, {.step = 1e-5, .rtol = 1e-4, .atol = 1e-7});
  INFO(r.report);
  CHECK(r.ok);
}
