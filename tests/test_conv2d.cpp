// Conv2D: values against a naive loop with TensorFlow's padding rule, gradient
// checks (valid and same, odd and even kernels, strides), and bad input.
#include <catch2/catch.hpp>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

namespace {
// Direct convolution in float64: x (N,H,W,C), w (KH,KW,C,F), TF 'same' padding puts the odd pixel after.
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, bool same) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const int64_t KH = w.dim(0), KW = w.dim(1), F = w.dim(3);
  const int64_t OH = same ? (H + stride - 1) / stride : (H - KH) / stride + 1;
  const int64_t OW = same ? (W + stride - 1) / stride : (W - KW) / stride + 1;
  const int64_t pad_h = same ? std::max<int64_t>((OH - 1) * stride + KH - H, 0) / 2 : 0;
  const int64_t pad_w = same ? std::max<int64_t>((OW - 1) * stride + KW - W, 0) / 2 : 0;
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> y(static_cast<size_t>(N * OH * OW * F));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t f = 0; f < F; ++f) {
          double s = bv[f];
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t ih = oh * stride + kh - pad_h, iw = ow * stride + kw - pad_w;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < C; ++c)
                s += xv[((n * H + ih) * W + iw) * C + c] * wv[((kh * KW + kw) * C + c) * F + f];
            }
          y[((n * OH + oh) * OW + ow) * F + f] = s;
        }
  return y;
}

struct Case {
  int64_t h, w, c, k, f, stride;
  ops::Padding padding;
};
}  // namespace

TEST_CASE("conv2d matches a direct convolution", "[conv2d]") {
  for (const Case& cs : {Case{9, 8, 3, 4, 5, 1, ops::Padding::same}, Case{9, 8, 3, 3, 2, 1, ops::Padding::same},
                         Case{10, 7, 2, 4, 3, 1, ops::Padding::valid}, Case{11, 9, 2, 3, 4, 2, ops::Padding::valid},
                         Case{11, 9, 2, 4, 4, 2, ops::Padding::same},
                         // Stride 1 with few channels takes the direct kernel: rows wider than one vector
                         // tile (16 floats), a partial last tile, more than 8 output channels (two blocks).
                         Case{6, 37, 1, 4, 8, 1, ops::Padding::same}, Case{7, 21, 8, 3, 6, 1, ops::Padding::valid},
                         Case{5, 19, 3, 3, 11, 1, ops::Padding::same},
                         // Too many channels for the direct kernel: im2col + GEMM at stride 1.
                         Case{5, 6, 2, 3, 20, 1, ops::Padding::same}}) {
    Tensor x = random_tensor({2, cs.h, cs.w, cs.c}, 1), w = random_tensor({cs.k, cs.k, cs.c, cs.f}, 2),
           b = random_tensor({cs.f}, 3);
    Tensor y = ops::conv2d(x, w, b, {cs.stride, cs.stride, cs.padding});
    const auto expected = naive_conv(x, w, b, cs.stride, cs.padding == ops::Padding::same);
    const auto got = y.to_vector<double>();
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(expected[i]).margin(1e-12));
    // float32 agrees with float64 to float precision.
    const auto y32 = ops::conv2d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), {cs.stride, cs.stride,
                                                                                         cs.padding})
                         .to_vector<float>();
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(y32[i] == Approx(expected[i]).margin(1e-5));
  }
}

TEST_CASE("conv2d same padding of an even kernel is 1 before, 2 after (TensorFlow's rule)", "[conv2d]") {
  // A 4x4 kernel that picks its top-left tap reads x[i-1, j-1]: one row/column of padding before.
  Tensor x = Tensor::from<double>({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  std::vector<double> w(16, 0.0);
  w[0] = 1;
  Tensor y = ops::conv2d(x, Tensor::from<double>({4, 4, 1, 1}, w), Tensor::zeros({1}, DType::f64),
                         {1, 1, ops::Padding::same});
  CHECK(y.to_vector<double>() == std::vector<double>{0, 0, 0, 0, 1, 2, 0, 4, 5});
}

TEST_CASE("gradcheck conv2d", "[gradcheck][conv2d]") {
  for (const Case& cs : {Case{7, 6, 2, 4, 3, 1, ops::Padding::same}, Case{6, 7, 3, 3, 2, 1, ops::Padding::same},
                         Case{7, 6, 2, 3, 3, 1, ops::Padding::valid}, Case{9, 8, 2, 4, 2, 2, ops::Padding::valid},
                         Case{8, 9, 2, 3, 2, 2, ops::Padding::same}, Case{3, 19, 2, 3, 10, 1, ops::Padding::same},
                         Case{4, 18, 1, 4, 3, 1, ops::Padding::valid}, Case{3, 5, 2, 2, 17, 1, ops::Padding::same}}) {
    const ops::Conv2dOptions options{cs.stride, cs.stride, cs.padding};
    auto r = gradcheck([&](auto& in) { return ops::conv2d(in[0], in[1], in[2], options); },
                       {random_tensor({2, cs.h, cs.w, cs.c}, 4).set_requires_grad(),
                        random_tensor({cs.k, cs.k, cs.c, cs.f}, 5).set_requires_grad(),
                        random_tensor({cs.f}, 6).set_requires_grad()});
    INFO("k " << cs.k << " stride " << cs.stride << "\n" << r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("gradcheck Conv2D layer with activation", "[gradcheck][conv2d][nn]") {
  nn::Conv2D conv(3, {3, 3}, ops::Padding::same, {1, 1}, nn::Activation::tanh);
  conv.build({5, 5, 2}, DType::f64);
  auto r = timbre::testing::gradcheck_module(conv, random_tensor({2, 5, 5, 2}, 7).set_requires_grad(), true);
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("conv2d rejects bad shapes and settings", "[conv2d][errors]") {
  Tensor x = Tensor::zeros({2, 8, 8, 3});
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({3, 3, 4, 5}), Tensor::zeros({5})),
                    Catch::Contains("conv2d") && Catch::Contains("(2, 8, 8, 3)") && Catch::Contains("4"));
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({8, 8, 3}), Tensor::zeros({3, 3, 3, 5}), Tensor::zeros({5})),
                    Catch::Contains("conv2d") && Catch::Contains("(N, H, W, C)"));
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({9, 9, 3, 5}), Tensor::zeros({5})),
                    Catch::Contains("conv2d") && Catch::Contains("9"));
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({3, 3, 3, 5}), Tensor::zeros({4})), Catch::Contains("bias"));
  CHECK_THROWS_WITH(nn::Conv2D(0, {3, 3}), Catch::Contains("Conv2D") && Catch::Contains("filters"));
  CHECK_THROWS_WITH(nn::Conv2D(4, {0, 3}), Catch::Contains("Conv2D") && Catch::Contains("kernel_size"));
}
