// ops::sync_batchnorm on one process: the training-mode batchnorm that its
// split kernels must reproduce, the sums it hands to the processes' all-reduce,
// a gradient check, bad input. Across MPI ranks: tests/dist/dist_tests.cpp;
// the kernels on every backend: tests/op_driver/batchnorm.cpp.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

namespace {
const ops::SumAcrossProcesses alone = [](const Tensor&) {};

double max_difference(const Tensor& a, const Tensor& b) {
  const auto u = a.to_vector<double>(), v = b.to_vector<double>();
  REQUIRE(u.size() == v.size());
  double d = 0;
  for (size_t i = 0; i < u.size(); ++i) d = std::max(d, std::abs(u[i] - v[i]));
  return d;
}
}  // namespace

TEST_CASE("sync_batchnorm of one process is batchnorm's training mode", "[sync_batchnorm]") {
  for (const DType dtype : {DType::f32, DType::f64}) {
    INFO(dtype_name(dtype));
    const double tolerance = dtype == DType::f32 ? 2e-4 : 1e-10;
    // dB-like values far from zero: the two-pass statistics must not lose them to cancellation.
    const Tensor x0 = random_tensor({6, 5, 7, 3}, 1, -70, -40).to(dtype), gy = random_tensor({6, 5, 7, 3}, 2).to(dtype);
    const Tensor gamma0 = random_tensor({3}, 3, 0.5, 1.5).to(dtype), beta0 = random_tensor({3}, 4).to(dtype);
    const ops::BatchNormOptions options{.momentum = 0.9, .epsilon = 1e-3};
    Tensor results[2][6];
    for (int sync = 0; sync < 2; ++sync) {
      Tensor x = x0.clone().set_requires_grad(), gamma = gamma0.clone().set_requires_grad(),
             beta = beta0.clone().set_requires_grad();
      Tensor mm = Tensor::zeros({3}, dtype), mv = Tensor::ones({3}, dtype);
      Tensor y = sync ? ops::sync_batchnorm(x, gamma, beta, mm, mv, alone, options)
                      : ops::batchnorm(x, gamma, beta, mm, mv, true, options);
      y.backward(gy);
      const Tensor r[] = {y, x.grad(), gamma.grad(), beta.grad(), mm, mv};
      for (int i = 0; i < 6; ++i) results[sync][i] = r[i];
    }
    const char* names[] = {"y", "x gradient", "gamma gradient", "beta gradient", "moving mean", "moving variance"};
    for (int i = 0; i < 6; ++i) {
      INFO(names[i]);
      CHECK(max_difference(results[0][i], results[1][i]) < tolerance * (1 + i / 2 * 30));
    }
  }
}

TEST_CASE("sync_batchnorm hands the processes' all-reduce the row count and its channel sums", "[sync_batchnorm]") {
  // A stand-in for 3 processes holding the same rows: every sum triples, which changes nothing but the count.
  std::vector<int64_t> sizes;
  const ops::SumAcrossProcesses three = [&](const Tensor& t) {
    sizes.push_back(t.numel());
    std::vector<double> v = t.to_vector<double>();
    for (double& e : v) e *= 3;
    t.copy_from(Tensor::from<double>(t.shape(), v).to(t.dtype()));
  };
  const Tensor x = random_tensor({8, 4}, 5).set_requires_grad(), gamma = random_tensor({4}, 6, 0.5, 1.5),
               beta = random_tensor({4}, 7);
  Tensor mm = Tensor::zeros({4}, DType::f64), mv = Tensor::ones({4}, DType::f64);
  Tensor y = ops::sync_batchnorm(x, gamma, beta, mm, mv, three);
  CHECK(sizes == std::vector<int64_t>{1, 8, 8});  // the count, then two passes of [sum, sum of squares]
  Tensor mm1 = Tensor::zeros({4}, DType::f64), mv1 = Tensor::ones({4}, DType::f64);
  CHECK(max_difference(y, ops::batchnorm(x.detach(), gamma, beta, mm1, mv1, true)) < 1e-12);
  y.backward(random_tensor({8, 4}, 8));
  CHECK(sizes.size() == 4);
  CHECK(sizes.back() == 8);  // backward: [sum gy, sum gy * xhat]
}

TEST_CASE("gradcheck sync_batchnorm", "[gradcheck][sync_batchnorm]") {
  for (Shape s : {Shape{6, 3}, Shape{2, 3, 5, 4}}) {
    const int64_t c = s[-1];
    Tensor mm = Tensor::zeros({c}, DType::f64), mv = Tensor::ones({c}, DType::f64);
    auto r = gradcheck([&](auto& in) { return ops::sync_batchnorm(in[0], in[1], in[2], mm, mv, alone); },
                       {random_tensor(s, 1, 10, 14).set_requires_grad(),
                        random_tensor({c}, 2, 0.5, 1.5).set_requires_grad(), random_tensor({c}, 3).set_requires_grad()},
                       {.step = 1e-5, .rtol = 1e-5, .atol = 1e-7});
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("sync_batchnorm rejects bad shapes and an empty batch", "[sync_batchnorm][errors]") {
  Tensor mm = Tensor::zeros({3}, DType::f64), mv = Tensor::ones({3}, DType::f64);
  const Tensor gamma = Tensor::ones({3}, DType::f64), beta = Tensor::zeros({3}, DType::f64);
  CHECK_THROWS_WITH(ops::sync_batchnorm(Tensor::zeros({3}, DType::f64), gamma, beta, mm, mv, alone),
                    Catch::Contains("sync_batchnorm") && Catch::Contains("batch and a channel axis"));
  CHECK_THROWS_WITH(ops::sync_batchnorm(Tensor::zeros({2, 4}, DType::f64), gamma, beta, mm, mv, alone),
                    Catch::Contains("must be (4,)"));
  CHECK_THROWS_WITH(ops::sync_batchnorm(Tensor::zeros({0, 3}, DType::f64), gamma, beta, mm, mv, alone),
                    Catch::Contains("empty batch"));
}
