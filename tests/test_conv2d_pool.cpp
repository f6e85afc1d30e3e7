// The fused Conv2D + LeakyReLU + MaxPool2D op: values and gradients against
// the three unfused ops, gradient checks, bad settings, and Sequential's use of
// it (same outputs and gradients as running the layers one by one).
#include <catch2/catch.hpp>

#include "fused_support.h"
#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_integers;
using timbre::testing::random_tensor;
using timbre::testing::require_close;
using timbre::testing::run_with_gradients;

namespace {
struct Case {
  int64_t h, w, c, k, f;
  ops::Padding padding;
  int64_t pool_h, pool_w;
  double negative_slope;
};

// P1.1's two branches and P1.2's convolutions in small; 'same' padding; more
// than 8 output channels (two channel blocks); pool 2x1; ReLU, LeakyReLU, linear.
const Case kCases[] = {
    {21, 19, 1, 8, 3, ops::Padding::valid, 4, 4, 0.3}, {17, 23, 1, 4, 4, ops::Padding::valid, 2, 2, 0.3},
    {13, 37, 1, 4, 8, ops::Padding::same, 2, 2, 0.3},  {12, 11, 8, 3, 6, ops::Padding::valid, 2, 2, 1.0},
    {9, 10, 3, 3, 11, ops::Padding::same, 2, 1, 0.0},   {7, 9, 2, 2, 5, ops::Padding::same, 3, 2, 0.1},
};

}  // namespace

TEST_CASE("conv2d_pool equals conv2d, leaky_relu and maxpool2d, values and gradients", "[conv2d_pool]") {
  for (const Case& cs : kCases)
    for (DType dtype : {DType::f64, DType::f32}) {
      INFO("input " << cs.h << "x" << cs.w << "x" << cs.c << " kernel " << cs.k << " filters " << cs.f << " pool "
                    << cs.pool_h << "x" << cs.pool_w << " negative_slope " << cs.negative_slope << " "
                    << dtype_name(dtype));
      const Tensor x = random_tensor({3, cs.h, cs.w, cs.c}, 1).to(dtype);
      const Tensor w = random_tensor({cs.k, cs.k, cs.c, cs.f}, 2).to(dtype), b = random_tensor({cs.f}, 3).to(dtype);
      const ops::Conv2dOptions conv{1, 1, cs.padding};
      const ops::Pool2dOptions pool{cs.pool_h, cs.pool_w};
      const Tensor pooled_shape = ops::maxpool2d(ops::conv2d(x, w, b, conv), pool);
      const Tensor upstream = random_tensor(pooled_shape.shape(), 4);
      const auto fused = run_with_gradients(
          [&](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
            return ops::conv2d_pool(xi, wi, bi, conv, cs.negative_slope, pool);
          },
          x, w, b, upstream);
      const auto chain = run_with_gradients(
          [&](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
            Tensor z = ops::conv2d(xi, wi, bi, conv);
            if (cs.negative_slope != 1.0) z = ops::leaky_relu(z, cs.negative_slope);
            return ops::maxpool2d(z, pool);
          },
          x, w, b, upstream);
      const double tolerance = dtype == DType::f64 ? 1e-12 : 2e-4;
      require_close(fused.y, chain.y, tolerance, "y");
      require_close(fused.grads[0], chain.grads[0], tolerance, "gx");
      require_close(fused.grads[1], chain.grads[1], tolerance, "gw");
      require_close(fused.grads[2], chain.grads[2], tolerance, "gb");
    }
}

TEST_CASE("conv2d_pool sends the gradient to the first maximum of tied windows, as maxpool2d", "[conv2d_pool]") {
  // Inputs and weights from {-1, 0, 1} make the convolution's outputs small integers: most windows tie.
  for (const Case& cs : kCases) {
    INFO("kernel " << cs.k << " filters " << cs.f << " pool " << cs.pool_h << "x" << cs.pool_w);
    const Tensor x = random_integers({2, cs.h, cs.w, cs.c}, 31), w = random_integers({cs.k, cs.k, cs.c, cs.f}, 32),
                 b = Tensor::zeros({cs.f}, DType::f64);
    const ops::Conv2dOptions conv{1, 1, cs.padding};
    const ops::Pool2dOptions pool{cs.pool_h, cs.pool_w};
    const Tensor upstream = random_tensor(ops::conv2d_pool(x, w, b, conv, 0.5, pool).shape(), 33);
    const auto fused = run_with_gradients([&](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
      return ops::conv2d_pool(xi, wi, bi, conv, 0.5, pool);
    }, x, w, b, upstream);
    const auto chain = run_with_gradients([&](const Tensor& xi, const Tensor& wi, const Tensor& bi) {
      return ops::maxpool2d(ops::leaky_relu(ops::conv2d(xi, wi, bi, conv), 0.5), pool);
    }, x, w, b, upstream);
    require_close(fused.y, chain.y, 1e-12, "y");
    require_close(fused.grads[0], chain.grads[0], 1e-12, "gx");
    require_close(fused.grads[1], chain.grads[1], 1e-12, "gw");
  }
}

TEST_CASE("conv2d_pool without gradients gives the same values", "[conv2d_pool]") {
  const Tensor x = random_tensor({2, 21, 19, 1}, 5).to(DType::f32), w = random_tensor({8, 8, 1, 3}, 6).to(DType::f32),
               b = random_tensor({3}, 7).to(DType::f32);
  const Tensor with_grad = ops::conv2d_pool(x, w.clone().set_requires_grad(), b, {}, 0.3, {4, 4});
  Tensor without;
  {
    autograd::NoGrad no_grad;
    without = ops::conv2d_pool(x, w, b, {}, 0.3, {4, 4});
  }
  CHECK(without.to_vector<float>() == with_grad.to_vector<float>());
}

TEST_CASE("gradcheck conv2d_pool", "[gradcheck][conv2d_pool]") {
  for (const Case& cs : {kCases[0], kCases[3], kCases[4], kCases[5]}) {
    Tensor x = random_tensor({2, cs.h, cs.w, cs.c}, 11).set_requires_grad();
    Tensor w = random_tensor({cs.k, cs.k, cs.c, cs.f}, 12).set_requires_grad();
    Tensor b = random_tensor({cs.f}, 13).set_requires_grad();
    auto r = gradcheck(
        [&](auto& in) {
          return ops::conv2d_pool(in[0], in[1], in[2], {1, 1, cs.padding}, cs.negative_slope, {cs.pool_h, cs.pool_w});
        },
        {x, w, b});
    INFO("kernel " << cs.k << " filters " << cs.f << " negative_slope " << cs.negative_slope << "\n" << r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("conv2d_pool rejects settings it does not fuse and bad shapes", "[conv2d_pool][errors]") {
  const Tensor x = Tensor::zeros({1, 9, 9, 2}), w = Tensor::zeros({3, 3, 2, 4}), b = Tensor::zeros({4});
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w, b, {2, 2}, 0.3, {2, 2}), Catch::Contains("conv2d_pool") &&
                                                                         Catch::Contains("strides (2, 2)"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w, b, {}, 0.3, {2, 2, 1, 1}),
                    Catch::Contains("pool (2, 2) with strides (1, 1)"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w, b, {}, 1.5, {2, 2}), Catch::Contains("negative_slope 1.5"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w, b, {}, -0.1, {2, 2}), Catch::Contains("negative_slope -0.1"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w, b, {}, 0.3, {8, 8}), Catch::Contains("smaller than the pool (8, 8)"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, Tensor::zeros({3, 3, 1, 4}), b, {}, 0.3, {2, 2}),
                    Catch::Contains("2 channels but kernel"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w, Tensor::zeros({3}), {}, 0.3, {2, 2}), Catch::Contains("bias must be (4,)"));
  CHECK_THROWS_WITH(ops::conv2d_pool(x, w.to(DType::f64), b, {}, 0.3, {2, 2}), Catch::Contains("mixed element types"));
}

TEST_CASE("Sequential fuses Conv2D + LeakyReLU + MaxPooling2D with the layers' results", "[conv2d_pool][module]") {
  // P1.1's branches and P1.2's front end; the fused model and its layers run one by one must agree.
  nn::Sequential model(nn::Conv2D(4, {4, 4}), nn::LeakyReLU(0.3), nn::MaxPooling2D(2), nn::Conv2D(6, {3, 3}),
                       nn::MaxPooling2D(2), nn::Conv2D(5, {2, 2}, nn::Padding::same, {1, 1}, nn::Activation::relu),
                       nn::MaxPooling2D({2, 1}));
  model.build({21, 22, 1}, DType::f64);
  CHECK(model.fused_runs() == std::vector<std::string>{"conv2d+leaky_re_lu+max_pooling2d",
                                                       "conv2d_1+max_pooling2d_1", "conv2d_2+max_pooling2d_2"});
  const Tensor x = random_tensor({3, 21, 22, 1}, 21);
  const Tensor fused = model(x);
  REQUIRE(fused.requires_grad());
  CHECK(fused.grad_fn()->op == "conv2d_pool");
  const Tensor upstream = random_tensor(fused.shape(), 22);
  fused.backward(upstream);
  std::vector<std::vector<double>> fused_grads;
  for (Tensor& p : model.trainable_parameters()) {
    fused_grads.push_back(p.grad().to_vector<double>());
    p.set_grad(Tensor());
  }
  // The same layers, each called on its own.
  Tensor y = x;
  for (nn::Module* layer : model.children()) y = (*layer)(y);
  REQUIRE(y.grad_fn()->op == "maxpool2d");
  y.backward(upstream);
  require_close(fused.to_vector<double>(), y.to_vector<double>(), 1e-12, "y");
  const std::vector<Tensor> parameters = model.trainable_parameters();
  REQUIRE(parameters.size() == fused_grads.size());
  for (size_t i = 0; i < parameters.size(); ++i)
    require_close(fused_grads[i], parameters[i].grad().to_vector<double>(), 1e-12, "parameter gradient");
}

TEST_CASE("fold_batchnorm gives a convolution equal to conv2d then inference batchnorm", "[conv2d_pool][batchnorm]") {
  const Tensor x = random_tensor({2, 9, 8, 3}, 41), k = random_tensor({3, 3, 3, 5}, 42), b = random_tensor({5}, 43);
  const Tensor gamma = random_tensor({5}, 44), beta = random_tensor({5}, 45), mean = random_tensor({5}, 46),
               variance = random_tensor({5}, 47, 0.1, 2.0);
  const ops::FoldedConv folded = ops::fold_batchnorm(k, b, gamma, beta, mean, variance, 1e-3);
  const auto expected =
      ops::batchnorm(ops::conv2d(x, k, b, {1, 1, ops::Padding::same}), gamma, beta, mean, variance, false)
          .to_vector<double>();
  require_close(ops::conv2d(x, folded.kernel, folded.bias, {1, 1, ops::Padding::same}).to_vector<double>(), expected,
                1e-12, "folded");
  // Without a bias the convolution's is zero.
  const ops::FoldedConv unbiased = ops::fold_batchnorm(k, Tensor(), gamma, beta, mean, variance, 1e-3);
  require_close(ops::conv2d(x, unbiased.kernel, unbiased.bias).to_vector<double>(),
                ops::batchnorm(ops::conv2d(x, k, Tensor()), gamma, beta, mean, variance, false).to_vector<double>(),
                1e-12, "unbiased");
  CHECK_THROWS_WITH(ops::fold_batchnorm(k, b, Tensor::zeros({4}, DType::f64), beta, mean, variance, 1e-3),
                    Catch::Contains("fold_batchnorm") && Catch::Contains("must be (5,)"));
}

TEST_CASE("Sequential folds inference batch norm into the fused convolution only without gradients",
          "[conv2d_pool][batchnorm][module]") {
  // P2's front end.
  nn::Sequential model(nn::Conv2D(8, {4, 4}, nn::Padding::same), nn::BatchNormalization(), nn::LeakyReLU(0.3),
                       nn::MaxPooling2D(2), nn::Conv2D(6, {3, 3}, nn::Padding::same), nn::BatchNormalization(),
                       nn::LeakyReLU(0.3), nn::MaxPooling2D(2));
  model.build({20, 20, 1}, DType::f64);
  CHECK(model.fused_runs() == std::vector<std::string>{
                                 "conv2d+batch_normalization+leaky_re_lu+max_pooling2d",
                                 "batch_normalization+leaky_re_lu+max_pooling2d",
                                 "conv2d_1+batch_normalization_1+leaky_re_lu_1+max_pooling2d_1",
                                 "batch_normalization_1+leaky_re_lu_1+max_pooling2d_1"});
  // Moving statistics and scales away from their initial values, so that a wrong fold shows.
  uint64_t seed = 50;
  for (nn::Module* layer : model.children())
    if (auto* norm = dynamic_cast<nn::BatchNormalization*>(layer)) {
      const int64_t c = norm->gamma.dim(0);
      for (Tensor* t : {&norm->gamma, &norm->beta, &norm->moving_mean})
        t->copy_from(random_tensor({c}, seed++));
      norm->moving_variance.copy_from(random_tensor({c}, seed++, 0.2, 3.0));
    }
  const Tensor x = random_tensor({3, 20, 20, 1}, 60);
  const auto layer_by_layer = [&] {
    Tensor y = x;
    for (nn::Module* layer : model.children()) y = (*layer)(y);
    return y.to_vector<double>();
  };
  model.set_training(false);
  std::vector<double> fused;
  {
    autograd::NoGrad no_grad;
    fused = model(x).to_vector<double>();
  }
  require_close(fused, layer_by_layer(), 1e-12, "inference");
  // With gradients on, the run goes through the layers (the kernel and gamma get their gradients).
  const Tensor y = model(x);
  CHECK(y.grad_fn()->op == "maxpool2d");
  // In training the batch norm uses and updates batch statistics: the convolution runs on its own.
  model.set_training(true);
  auto* norm = dynamic_cast<nn::BatchNormalization*>(model.children()[1]);
  REQUIRE(norm);
  const std::vector<double> before = norm->moving_mean.to_vector<double>();
  {
    autograd::NoGrad no_grad;
    model(x);
  }
  CHECK(norm->moving_mean.to_vector<double>() != before);
}
