// The gradient checker must be able to fail: a wrong backward and an all-zero
// gradient are both caught.
#include <catch2/catch.hpp>

#include "gradcheck.h"
#include "timbre/autograd/node.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

namespace {
// y = x^3 elementwise with a backward that is off by `error` (0: correct).
Tensor cube(const Tensor& x, double error) {
  Tensor y = Tensor::empty_like(x);
  const int64_t n = x.numel();
  const double* xv = x.data<double>();
  double* yv = y.data<double>();
  for (int64_t i = 0; i < n; ++i) yv[i] = xv[i] * xv[i] * xv[i];
  autograd::record(y, "cube", {x}, [x, error, n](const Tensor& gy, const std::vector<Tensor>& g) {
    const double* xv = x.data<double>();
    const double* gyv = gy.data<double>();
    double* gx = g[0].data<double>();
    for (int64_t i = 0; i < n; ++i) gx[i] += gyv[i] * (3 + error) * xv[i] * xv[i];
  });
  return y;
}
}  // namespace

TEST_CASE("gradcheck accepts a correct backward", "[gradcheck][selftest]") {
  auto r = gradcheck([](auto& in) { return cube(in[0], 0.0); }, {random_tensor({3, 4}, 1).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("gradcheck catches a wrong backward", "[gradcheck][selftest]") {
  auto r = gradcheck([](auto& in) { return cube(in[0], 0.01); }, {random_tensor({3, 4}, 1).set_requires_grad()});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.report, Catch::Contains("analytic"));
}

TEST_CASE("gradcheck refuses a function whose gradient is identically zero", "[gradcheck][selftest]") {
  // ReLU of negative inputs: analytic and numerical gradients agree (both 0), but prove nothing.
  auto r = gradcheck([](auto& in) { return ops::relu(in[0]); },
                     {random_tensor({3, 4}, 2, -2, -1).set_requires_grad()});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.report, Catch::Contains("identically zero"));
}

TEST_CASE("gradcheck catches a missing backward", "[gradcheck][selftest]") {
  // The op records nothing: the analytic gradient is zero, the numerical one is not.
  auto r = gradcheck([](auto& in) { return ops::tanh(in[0]).detach(); },
                     {random_tensor({5}, 3).set_requires_grad()});
  CHECK_FALSE(r.ok);
}

TEST_CASE("gradcheck requires float64 inputs", "[gradcheck][selftest]") {
  auto r = gradcheck([](auto& in) { return ops::tanh(in[0]); }, {Tensor::ones({3}).set_requires_grad()});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.report, Catch::Contains("float64"));
}
