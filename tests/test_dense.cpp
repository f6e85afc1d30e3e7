// Dense: values against a naive product, gradient checks, bad input.
#include <catch2/catch.hpp>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

TEST_CASE("dense matches x.W + b", "[dense]") {
  Tensor x = random_tensor({3, 5}, 1), w = random_tensor({5, 4}, 2), b = random_tensor({4}, 3);
  const auto y = ops::dense(x, w, b).to_vector<double>();
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  for (int r = 0; r < 3; ++r)
    for (int o = 0; o < 4; ++o) {
      double s = bv[o];
      for (int i = 0; i < 5; ++i) s += xv[r * 5 + i] * wv[i * 4 + o];
      CHECK(y[r * 4 + o] == Approx(s).margin(1e-13));
    }
}

TEST_CASE("gradcheck dense", "[gradcheck][dense]") {
  for (Shape xs : {Shape{4, 7}, Shape{3, 2, 6}}) {
    const int64_t in = xs[-1];
    auto r = gradcheck([](auto& in) { return ops::dense(in[0], in[1], in[2]); },
                       {random_tensor(xs, 1).set_requires_grad(), random_tensor({in, 5}, 2).set_requires_grad(),
                        random_tensor({5}, 3).set_requires_grad()});
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("gradcheck Dense layer without bias", "[gradcheck][dense][nn]") {
  nn::Dense dense(3, nn::Activation::sigmoid, false);
  dense.build({6}, DType::f64);
  CHECK(dense.parameter_count(true) == 18);
  auto r = timbre::testing::gradcheck_module(dense, random_tensor({5, 6}, 4).set_requires_grad(), true);
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("dense rejects mismatched shapes", "[dense][errors]") {
  CHECK_THROWS_WITH(ops::dense(Tensor::zeros({2, 5}), Tensor::zeros({4, 3}), Tensor::zeros({3})),
                    Catch::Contains("dense") && Catch::Contains("(2, 5)") && Catch::Contains("(4, 3)"));
  CHECK_THROWS_WITH(ops::dense(Tensor::zeros({2, 4}), Tensor::zeros({4, 3}), Tensor::zeros({2})),
                    Catch::Contains("bias must be (3,)"));
  CHECK_THROWS_WITH(ops::dense(Tensor::zeros({2, 4}), Tensor::zeros({4, 3}, DType::f64), Tensor()),
                    Catch::Contains("mixed element types"));
  CHECK_THROWS_WITH(nn::Dense(0), Catch::Contains("units must be >= 1"));
  nn::Dense layer(3);
  layer.build({4});
  CHECK_THROWS_WITH(layer(Tensor::zeros({2, 5})), Catch::Contains("dense") && Catch::Contains("(None, 4)"));
}
