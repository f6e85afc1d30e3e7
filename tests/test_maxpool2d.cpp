// MaxPool2D: values, first-maximum gradient routing, gradient checks, bad input.
#include <catch2/catch.hpp>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

TEST_CASE("maxpool2d picks window maxima and floors odd extents", "[maxpool2d]") {
  // 1 x 5 x 4 x 1 with pool 2: output 2 x 2 (the last row is dropped, as Keras' 'valid' does).
  Tensor x = Tensor::from<float>({1, 5, 4, 1}, {1, 2, 3, 4,  //
                                                5, 6, 7, 8,  //
                                                9, 1, 2, 3,  //
                                                4, 5, 6, 0,  //
                                                99, 99, 99, 99});
  Tensor y = ops::maxpool2d(x);
  CHECK(y.shape() == Shape{1, 2, 2, 1});
  CHECK(y.to_vector<float>() == std::vector<float>{6, 8, 9, 6});
  nn::MaxPooling2D pool(4);
  CHECK(pool.build({80, 80, 3}) == Shape{20, 20, 3});
}

TEST_CASE("maxpool2d backward sends the gradient to the first maximum", "[maxpool2d]") {
  Tensor x = Tensor::from<double>({1, 2, 2, 1}, {3, 3, 1, 3}).set_requires_grad();
  ops::maxpool2d(x).backward(Tensor::from<double>({1, 1, 1, 1}, {2.0}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 0, 0, 0});
}

TEST_CASE("maxpool2d backward routes to the first maximum for any channel count", "[maxpool2d]") {
  // Values from {0, 1, 2} make ties common; channel counts cover the kernel's fixed-width paths (3, 8),
  // its generic one (1, 5), whole chunks (32) and a chunk plus a remainder (20).
  for (int64_t channels : {1, 3, 5, 8, 20, 32}) {
    const int64_t H = 5, W = 6, pool = 2, OH = 2, OW = 3;
    std::vector<double> xs(static_cast<size_t>(2 * H * W * channels)), gys(static_cast<size_t>(2 * OH * OW * channels));
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<double>((i * 7919 + i / 5) % 3);
    for (size_t i = 0; i < gys.size(); ++i) gys[i] = 1.0 + static_cast<double>(i);
    std::vector<double> expected(xs.size(), 0.0);
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t c = 0; c < channels; ++c) {
            int64_t best = -1;
            for (int64_t ph = 0; ph < pool; ++ph)
              for (int64_t pw = 0; pw < pool; ++pw) {
                const int64_t i = ((n * H + oh * pool + ph) * W + ow * pool + pw) * channels + c;
                if (best < 0 || xs[i] > xs[best]) best = i;
              }
            expected[best] += gys[((n * OH + oh) * OW + ow) * channels + c];
          }
    Tensor x = Tensor::from<double>({2, H, W, channels}, xs).set_requires_grad();
    ops::maxpool2d(x).backward(Tensor::from<double>({2, OH, OW, channels}, gys));
    INFO("channels " << channels);
    CHECK(x.grad().to_vector<double>() == expected);
  }
}

TEST_CASE("gradcheck maxpool2d", "[gradcheck][maxpool2d]") {
  for (auto [pool, stride] : {std::pair<int64_t, int64_t>{2, 0}, {3, 0}, {3, 2}}) {
    // Distinct values so no window has a tie within the finite-difference step.
    Tensor x = random_tensor({2, 7, 6, 3}, 11, -1, 1).set_requires_grad();
    auto r = gradcheck([&](auto& in) { return ops::maxpool2d(in[0], {pool, pool, stride, stride}); }, {x});
    INFO("pool " << pool << " stride " << stride << "\n" << r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("maxpool2d rejects bad shapes and settings", "[maxpool2d][errors]") {
  CHECK_THROWS_WITH(ops::maxpool2d(Tensor::zeros({4, 4, 1})), Catch::Contains("maxpool2d") &&
                                                                  Catch::Contains("(N, H, W, C)"));
  CHECK_THROWS_WITH(ops::maxpool2d(Tensor::zeros({1, 1, 4, 1})), Catch::Contains("smaller than the pool"));
  CHECK_THROWS_WITH(nn::MaxPooling2D(0), Catch::Contains("pool_size"));
}
