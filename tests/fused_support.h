// Shared by the tests of fused ops: run an op or the chain of ops it replaces
// on copies of three inputs, back-propagate a given upstream gradient, and
// compare the results.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "gradcheck.h"
#include "timbre/timbre.h"

namespace timbre::testing {

struct GradientRun {
  std::vector<double> y;
  std::vector<double> grads[3];  // of the three inputs, in order
};

// f(a, b, c) on fresh copies that require grad, with a backward from `upstream`: the
// output and the three inputs' gradients, as float64.
template <class F>
GradientRun run_with_gradients(F&& f, const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& upstream) {
  Tensor x = x0.detach().clone().set_requires_grad(), w = w0.detach().clone().set_requires_grad(),
         b = b0.detach().clone().set_requires_grad();
  Tensor y = f(x, w, b);
  y.backward(upstream.to(y.dtype()));
  return {y.to(DType::f64).to_vector<double>(),
          {x.grad().to(DType::f64).to_vector<double>(), w.grad().to(DType::f64).to_vector<double>(),
           b.grad().to(DType::f64).to_vector<double>()}};
}

// float64 values from {-1, 0, 1}: through convolutions and batch norm they give
// windows with exactly tied maxima on every backend.
inline Tensor random_integers(const Shape& shape, uint64_t seed) {
  std::vector<double> v = random_tensor(shape, seed, -1.5, 1.5).to_vector<double>();
  for (double& e : v) e = std::round(e);
  return Tensor::from<double>(shape, v);
}

inline void require_close(const std::vector<double>& got, const std::vector<double>& expected, double tolerance,
                   const char* what) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(what << "[" << i << "]");
    REQUIRE(got[i] == Approx(expected[i]).margin(tolerance));
  }
}
}  // namespace timbre::testing
