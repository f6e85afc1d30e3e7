// BatchNormalization: Keras' statistics and moving-average rule, gradient
// checks in training and inference mode, bad input.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

TEST_CASE("batchnorm normalises with batch statistics and updates the moving ones", "[batchnorm]") {
  // Two channels over four rows.
  Tensor x = Tensor::from<double>({4, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  Tensor gamma = Tensor::from<double>({2}, {2, 1}), beta = Tensor::from<double>({2}, {0.5, 0});
  Tensor mm = Tensor::zeros({2}, DType::f64), mv = Tensor::ones({2}, DType::f64);
  const auto y = ops::batchnorm(x, gamma, beta, mm, mv, true).to_vector<double>();
  const double var0 = 1.25, var1 = 125;  // biased variances
  CHECK(y[0] == Approx(2 * (1 - 2.5) / std::sqrt(var0 + 1e-3) + 0.5));
  CHECK(y[7] == Approx((40 - 25) / std::sqrt(var1 + 1e-3)));
  CHECK(mm.to_vector<double>()[0] == Approx(0.01 * 2.5));
  CHECK(mm.to_vector<double>()[1] == Approx(0.01 * 25));
  CHECK(mv.to_vector<double>()[0] == Approx(0.99 + 0.01 * var0));
  CHECK(mv.to_vector<double>()[1] == Approx(0.99 + 0.01 * var1));
  // Inference uses the moving statistics.
  const auto yi = ops::batchnorm(x, gamma, beta, mm, mv, false).to_vector<double>();
  CHECK(yi[1] == Approx((10 - 0.25) / std::sqrt(0.99 + 1.25 + 1e-3)));
}

TEST_CASE("gradcheck batchnorm training", "[gradcheck][batchnorm]") {
  for (Shape s : {Shape{6, 3}, Shape{2, 3, 5, 4}}) {
    const int64_t c = s[-1];
    Tensor mm = Tensor::zeros({c}, DType::f64), mv = Tensor::ones({c}, DType::f64);
    auto r = gradcheck([&](auto& in) { return ops::batchnorm(in[0], in[1], in[2], mm, mv, true); },
                       {random_tensor(s, 1).set_requires_grad(), random_tensor({c}, 2, 0.5, 1.5).set_requires_grad(),
                        random_tensor({c}, 3).set_requires_grad()},
                       {.step = 1e-5, .rtol = 1e-5, .atol = 1e-7});
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("gradcheck batchnorm inference", "[gradcheck][batchnorm]") {
  Tensor mm = random_tensor({4}, 4), mv = random_tensor({4}, 5, 0.5, 2);
  auto r = gradcheck([&](auto& in) { return ops::batchnorm(in[0], in[1], in[2], mm, mv, false); },
                     {random_tensor({3, 5, 4}, 6).set_requires_grad(), random_tensor({4}, 7).set_requires_grad(),
                      random_tensor({4}, 8).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("BatchNormalization layer has Keras' variables", "[batchnorm][nn]") {
  nn::BatchNormalization bn;
  bn.build({80, 80, 8});
  CHECK(bn.parameter_count(true) == 16);
  CHECK(bn.parameter_count(false) == 16);
  const auto vars = bn.variables();
  REQUIRE(vars.size() == 4);
  CHECK(vars[2].name == "batch_normalization/moving_mean");
  CHECK_FALSE(vars[3].trainable);
}

TEST_CASE("batchnorm rejects bad shapes and settings", "[batchnorm][errors]") {
  Tensor c3 = Tensor::ones({3});
  CHECK_THROWS_WITH(ops::batchnorm(Tensor::zeros({2, 4}), c3, c3, c3, c3, true),
                    Catch::Contains("batchnorm") && Catch::Contains("(3,)") && Catch::Contains("(2, 4)"));
  CHECK_THROWS_WITH(ops::batchnorm(Tensor::zeros({0, 3}), c3, c3, c3, c3, true), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(nn::BatchNormalization({.momentum = 2}), Catch::Contains("BatchNormalization"));
}
