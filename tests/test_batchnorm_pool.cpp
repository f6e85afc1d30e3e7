// The fused training-mode BatchNorm + LeakyReLU + MaxPool2D op: values,
// moving-statistics updates and gradients against the three unfused ops,
// tied windows, gradient checks, bad settings, and Sequential's use of it.
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
  int64_t h, w, c, pool_h, pool_w;
  double negative_slope;
};

// P2's two shapes in small (8 and 6 channels), a leftover row and column, one
// full chunk of 8 plus a partial one (10), pool 3x2, ReLU and linear.
const Case kCases[] = {
    {9, 10, 8, 2, 2, 0.3}, {9, 10, 8, 2, 2, 0.0}, {8, 8, 6, 2, 2, 0.3}, {7, 9, 10, 3, 2, 0.0}, {6, 7, 3, 2, 2, 1.0}};

struct Parameters {
  Tensor gamma, beta, mean, variance;
};

// Scales with a negative entry (the normalisation then reverses the order within a window).
Parameters parameters(int64_t c, uint64_t seed) {
  Parameters p{random_tensor({c}, seed, 0.5, 1.5), random_tensor({c}, seed + 1), random_tensor({c}, seed + 2),
               random_tensor({c}, seed + 3, 0.5, 2.0)};
  std::vector<double> g = p.gamma.to_vector<double>();
  g[0] = -g[0];
  p.gamma = Tensor::from<double>({c}, g);
  return p;
}
}  // namespace

TEST_CASE("batchnorm_pool equals batchnorm, leaky_relu and maxpool2d in training", "[batchnorm_pool]") {
  for (const Case& cs : kCases)
    for (DType dtype : {DType::f64, DType::f32}) {
      INFO("input " << cs.h << "x" << cs.w << "x" << cs.c << " pool " << cs.pool_h << "x" << cs.pool_w
                    << " negative_slope " << cs.negative_slope << " " << dtype_name(dtype));
      const Tensor x = random_tensor({3, cs.h, cs.w, cs.c}, 1, -3, 5).to(dtype);
      const Parameters p = parameters(cs.c, 2);
      const ops::Pool2dOptions pool{cs.pool_h, cs.pool_w};
      const ops::BatchNormOptions options{};
      // Each run updates its own copy of the moving statistics.
      Tensor fused_mean = p.mean.to(dtype).clone(), fused_variance = p.variance.to(dtype).clone();
      Tensor chain_mean = p.mean.to(dtype).clone(), chain_variance = p.variance.to(dtype).clone();
      const Tensor upstream = random_tensor({3, cs.h / cs.pool_h, cs.w / cs.pool_w, cs.c}, 3);
      const auto fused = run_with_gradients(
          [&](const Tensor& xi, const Tensor& g, const Tensor& b) {
            return ops::batchnorm_pool(xi, g, b, fused_mean, fused_variance, options, cs.negative_slope, pool);
          },
          x, p.gamma.to(dtype), p.beta.to(dtype), upstream);
      const auto chain = run_with_gradients(
          [&](const Tensor& xi, const Tensor& g, const Tensor& b) {
            Tensor z = ops::batchnorm(xi, g, b, chain_mean, chain_variance, true, options);
            if (cs.negative_slope != 1.0) z = ops::leaky_relu(z, cs.negative_slope);
            return ops::maxpool2d(z, pool);
          },
          x, p.gamma.to(dtype), p.beta.to(dtype), upstream);
      const double tolerance = dtype == DType::f64 ? 1e-12 : 2e-4;
      require_close(fused.y, chain.y, tolerance, "y");
      require_close(fused.grads[0], chain.grads[0], tolerance, "gx");
      require_close(fused.grads[1], chain.grads[1], tolerance, "ggamma");
      require_close(fused.grads[2], chain.grads[2], tolerance, "gbeta");
      require_close(fused_mean.to_vector<double>(), chain_mean.to_vector<double>(), tolerance, "moving_mean");
      require_close(fused_variance.to_vector<double>(), chain_variance.to_vector<double>(), tolerance,
                    "moving_variance");
    }
}

TEST_CASE("batchnorm_pool sends the gradient to the first maximum of tied windows", "[batchnorm_pool]") {
  // Inputs from {-1, 0, 1}: most windows tie, and the gradient must reach the same element as maxpool2d's.
  for (const Case& cs : kCases) {
    INFO("channels " << cs.c << " pool " << cs.pool_h << "x" << cs.pool_w);
    const Tensor x = random_integers({2, cs.h, cs.w, cs.c}, 7);
    const Parameters p = parameters(cs.c, 8);
    const ops::Pool2dOptions pool{cs.pool_h, cs.pool_w};
    const Tensor upstream = random_tensor({2, cs.h / cs.pool_h, cs.w / cs.pool_w, cs.c}, 9);
    Tensor m1 = p.mean.clone(), v1 = p.variance.clone(), m2 = p.mean.clone(), v2 = p.variance.clone();
    const auto fused =
        run_with_gradients([&](const Tensor& xi, const Tensor& g,
                               const Tensor& b) { return ops::batchnorm_pool(xi, g, b, m1, v1, {}, 0.5, pool); },
                           x, p.gamma, p.beta, upstream);
    const auto chain = run_with_gradients(
        [&](const Tensor& xi, const Tensor& g, const Tensor& b) {
          return ops::maxpool2d(ops::leaky_relu(ops::batchnorm(xi, g, b, m2, v2, true), 0.5), pool);
        },
        x, p.gamma, p.beta, upstream);
    require_close(fused.y, chain.y, 1e-12, "y");
    require_close(fused.grads[0], chain.grads[0], 1e-12, "gx");
    require_close(fused.grads[1], chain.grads[1], 1e-12, "ggamma");
  }
}

TEST_CASE("gradcheck batchnorm_pool", "[gradcheck][batchnorm_pool]") {
  for (const Case& cs : kCases) {
    Tensor x = random_tensor({2, cs.h, cs.w, cs.c}, 11).set_requires_grad();
    const Parameters p = parameters(cs.c, 12);
    Tensor gamma = p.gamma.clone().set_requires_grad(), beta = p.beta.clone().set_requires_grad();
    // The moving statistics change at every call; the check reads only outputs and gradients.
    Tensor mean = p.mean.clone(), variance = p.variance.clone();
    // atol 1e-7: every output depends on every input through the batch statistics, and the central
    // differences of x's gradient round at ~2e-8 (the unfused chain shows the same deviations).
    testing::GradCheckOptions options;
    options.atol = 1e-7;
    auto r = gradcheck(
        [&](auto& in) {
          return ops::batchnorm_pool(in[0], in[1], in[2], mean, variance, {}, cs.negative_slope,
                                     {cs.pool_h, cs.pool_w});
        },
        {x, gamma, beta}, options);
    INFO("channels " << cs.c << " negative_slope " << cs.negative_slope << "\n" << r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("batchnorm_pool rejects bad shapes and settings", "[batchnorm_pool][errors]") {
  const Tensor x = Tensor::zeros({2, 6, 6, 4}), s = Tensor::zeros({4});
  CHECK_THROWS_WITH(ops::batchnorm_pool(Tensor::zeros({6, 6, 4}), s, s, s, s, {}, 0.3, {2, 2}),
                    Catch::Contains("batchnorm_pool") && Catch::Contains("(N, H, W, C)"));
  CHECK_THROWS_WITH(ops::batchnorm_pool(x, s, s, s, s, {}, 0.3, {2, 2, 1, 1}),
                    Catch::Contains("pool (2, 2) with strides (1, 1)"));
  CHECK_THROWS_WITH(ops::batchnorm_pool(x, s, s, s, s, {}, 2.0, {2, 2}), Catch::Contains("negative_slope 2"));
  CHECK_THROWS_WITH(ops::batchnorm_pool(x, Tensor::zeros({3}), s, s, s, {}, 0.3, {2, 2}),
                    Catch::Contains("must be (4,)"));
  CHECK_THROWS_WITH(ops::batchnorm_pool(x, s, s, s, s, {}, 0.3, {8, 8}), Catch::Contains("no smaller than the pool"));
  CHECK_THROWS_WITH(ops::batchnorm_pool(Tensor::zeros({0, 6, 6, 4}), s, s, s, s, {}, 0.3, {2, 2}),
                    Catch::Contains("must hold a sample"));
  CHECK_THROWS_WITH(ops::batchnorm_pool(x, s, s, s, s, {0.99, 0.0}, 0.3, {2, 2}), Catch::Contains("epsilon"));
}

TEST_CASE("Sequential trains BatchNormalization + LeakyReLU + MaxPooling2D fused, as the layers",
          "[batchnorm_pool][module]") {
  // P2's front end: in training the batch norm runs fused with its activation and pooling.
  nn::Sequential model(nn::Conv2D(8, {4, 4}, nn::Padding::same), nn::BatchNormalization(), nn::LeakyReLU(0.3),
                       nn::MaxPooling2D(2), nn::Conv2D(6, {3, 3}, nn::Padding::same), nn::BatchNormalization(),
                       nn::LeakyReLU(0.3), nn::MaxPooling2D(2));
  model.build({12, 14, 1}, DType::f64);
  model.set_training(true);
  const Tensor x = random_tensor({3, 12, 14, 1}, 21);
  const auto moving = [&] {
    std::vector<double> all;
    for (const nn::Variable& v : model.variables())
      if (!v.trainable)
        for (double e : v.value.to_vector<double>()) all.push_back(e);
    return all;
  };
  const Tensor fused = model(x);
  REQUIRE(fused.grad_fn()->op == "batchnorm_pool");
  const std::vector<double> fused_moving = moving();
  const Tensor upstream = random_tensor(fused.shape(), 22);
  fused.backward(upstream);
  std::vector<std::vector<double>> fused_grads;
  for (Tensor& p : model.trainable_parameters()) {
    fused_grads.push_back(p.grad().to_vector<double>());
    p.set_grad(Tensor());
  }
  // Restore the moving statistics' first update by running the layers from the same start: rebuild.
  nn::Sequential layers(nn::Conv2D(8, {4, 4}, nn::Padding::same), nn::BatchNormalization(), nn::LeakyReLU(0.3),
                        nn::MaxPooling2D(2), nn::Conv2D(6, {3, 3}, nn::Padding::same), nn::BatchNormalization(),
                        nn::LeakyReLU(0.3), nn::MaxPooling2D(2));
  layers.build({12, 14, 1}, DType::f64);
  const std::vector<Tensor> from = model.trainable_parameters(), to = layers.trainable_parameters();
  REQUIRE(from.size() == to.size());
  for (size_t i = 0; i < from.size(); ++i) to[i].copy_from(from[i]);
  layers.set_training(true);
  Tensor y = x;
  for (nn::Module* layer : layers.children()) y = (*layer)(y);
  REQUIRE(y.grad_fn()->op == "maxpool2d");
  y.backward(upstream);
  require_close(fused.to_vector<double>(), y.to_vector<double>(), 1e-12, "y");
  std::vector<double> layer_moving;
  for (const nn::Variable& v : layers.variables())
    if (!v.trainable)
      for (double e : v.value.to_vector<double>()) layer_moving.push_back(e);
  require_close(fused_moving, layer_moving, 1e-12, "moving statistics");
  for (size_t i = 0; i < to.size(); ++i) require_close(fused_grads[i], to[i].grad().to_vector<double>(), 1e-12, "grad");
}

namespace {
// A batch norm that computes its own way (as dist::SyncBatchNormalization does): never fused.
class CountingNorm : public nn::BatchNormalization {
 public:
  int calls = 0;

 protected:
  Tensor forward(const Tensor& x) override {
    ++calls;
    return nn::BatchNormalization::forward(x);
  }
};
}  // namespace

TEST_CASE("Sequential leaves subclasses of the fused layers to their own forward", "[batchnorm_pool][module]") {
  auto norm = std::make_shared<CountingNorm>();
  nn::Sequential model(nn::Conv2D(4, {3, 3}), norm, nn::LeakyReLU(0.3), nn::MaxPooling2D(2));
  model.build({10, 10, 1}, DType::f64);
  CHECK(model.fused_runs().empty());
  model.set_training(true);
  model(random_tensor({2, 10, 10, 1}, 31));
  CHECK(norm->calls == 1);
}
