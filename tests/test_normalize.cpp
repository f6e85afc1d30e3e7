// Normalization: adapt() against float64 two-pass statistics, streaming
// equivalence, the axis modes, gradient check, summary, bad input.
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "gradcheck.h"
#include "timbre/data/npy.h"
#include "timbre/nn/normalization.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

namespace {
// (N, 4, 3, 1) float32 "patches": band b is offset by 1e4 * b and scaled by (b + 1).
Tensor banded(int64_t n, uint64_t seed) {
  Generator g(seed);
  std::vector<float> v(static_cast<size_t>(n * 12));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < 4; ++b)
      for (int64_t w = 0; w < 3; ++w) v[((i * 4 + b) * 3 + w)] = static_cast<float>(1e4 * b + (b + 1) * g.normal());
  return Tensor::from<float>({n, 4, 3, 1}, v);
}

// Mean and population variance of band b, two passes in float64.
std::pair<double, double> band_moments(const Tensor& x, int64_t b) {
  const auto v = x.to_vector<float>();
  const int64_t n = x.dim(0);
  double s = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t w = 0; w < 3; ++w) s += v[(i * 4 + b) * 3 + w];
  const double mean = s / (n * 3);
  double m2 = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t w = 0; w < 3; ++w) m2 += std::pow(v[(i * 4 + b) * 3 + w] - mean, 2);
  return {mean, m2 / (n * 3)};
}
}  // namespace

TEST_CASE("Normalization.adapt per band matches two-pass statistics, in any batch size", "[normalization]") {
  Tensor x = banded(37, 1);
  for (int64_t batch : {1, 5, 37, 100}) {
    nn::Normalization norm(nn::Normalization::Axis::band);
    norm.adapt(x, batch);
    norm.build({4, 3, 1});
    const auto m = norm.mean.to_vector<float>(), v = norm.variance.to_vector<float>();
    for (int64_t b = 0; b < 4; ++b) {
      auto [mean, var] = band_moments(x, b);
      INFO("batch " << batch << " band " << b);
      CHECK(m[b] == Approx(mean).epsilon(1e-6));
      CHECK(v[b] == Approx(var).epsilon(1e-5));
    }
  }
}

TEST_CASE("Normalization output has zero mean and unit variance per band", "[normalization]") {
  Tensor x = banded(50, 2);
  nn::Normalization norm;
  norm.build({4, 3, 1});
  norm.adapt(x);  // after build: the variables are overwritten in place
  Tensor y = norm(x);
  nn::Normalization check_norm;
  check_norm.adapt(y);
  check_norm.build({4, 3, 1});
  for (float m : check_norm.mean.to_vector<float>()) CHECK(m == Approx(0).margin(1e-3));  // float32 x - mean at offsets of 3e4
  for (float v : check_norm.variance.to_vector<float>()) CHECK(v == Approx(1).epsilon(1e-3));
}

TEST_CASE("Normalization axis modes keep the right number of statistics", "[normalization]") {
  Tensor x = banded(3, 3);
  using Axis = nn::Normalization::Axis;
  for (auto [axis, groups] : {std::pair{Axis::global, 1}, {Axis::band, 4}, {Axis::channel, 1}, {Axis::element, 12}}) {
    nn::Normalization norm(axis);
    norm.adapt(x);
    norm.build({4, 3, 1});
    CHECK(norm.mean.numel() == groups);
    CHECK(norm.parameter_count(false) == 2 * groups + 1);
    CHECK(norm.parameter_count(true) == 0);
  }
  // A single sample: per-element variance is 0, and the output stays finite (epsilon floor).
  nn::Normalization one(Axis::element);
  one.adapt(x.view_at(0, {1, 4, 3, 1}));
  one.build({4, 3, 1});
  for (float v : one.variance.to_vector<float>()) CHECK(v == 0.f);
  for (float y : one(x).to_vector<float>()) CHECK(std::isfinite(y));
}

TEST_CASE("gradcheck normalize", "[gradcheck][normalization]") {
  Tensor mean = random_tensor({4}, 1), variance = random_tensor({4}, 2, 0.5, 3);
  auto r = gradcheck([&](auto& in) { return ops::normalize(in[0], mean, variance, {3, 4}); },
                     {random_tensor({2, 4, 3, 1}, 3).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
}

TEST_CASE("Normalization shows as non-trainable in a model summary", "[normalization][summary]") {
  nn::Sequential model(nn::Normalization(), nn::Flatten(), nn::Dense(2));
  model.build({4, 3, 1});
  std::ostringstream s;
  model.summary(s);
  CHECK_THAT(s.str(), Catch::Contains("normalization (Normalization)"));
  CHECK_THAT(s.str(), Catch::Contains("Non-trainable params: 9"));
  CHECK(model.parameter_count(true) == 26);
}

TEST_CASE("Normalization rejects bad input", "[normalization][errors]") {
  nn::Normalization norm;
  CHECK_THROWS_WITH(norm.adapt([](Tensor&) { return false; }), Catch::Contains("empty"));
  CHECK_THROWS_WITH(norm.adapt(banded(2, 1), 0), Catch::Contains("batch_size"));
  nn::Normalization built;
  built.build({4, 3, 1});
  CHECK_THROWS_WITH(built.adapt(Tensor::zeros({2, 5, 3, 1})), Catch::Contains("(4, 3, 1)") &&
                                                                  Catch::Contains("(5, 3, 1)"));
  nn::Normalization::Axis axis;
  CHECK_FALSE(nn::parse_normalization_axis("none", axis));
  CHECK_THROWS_WITH(nn::parse_normalization_axis("bands", axis), Catch::Contains("'bands'"));
}

TEST_CASE("Normalization matches keras.layers.Normalization (fixture written by Keras 3)", "[normalization][reference]") {
  using Axis = nn::Normalization::Axis;
  for (auto [file, axis] : {std::pair{"keras_band.npz", Axis::band}, {"keras_global.npz", Axis::global}}) {
    const auto arrays = data::read_npz(std::string(TIMBRE_FIXTURES) + "/normalization/" + file);
    const Tensor x = arrays.at("x").to_tensor();
    nn::Normalization norm(axis);
    norm.adapt(x, 4);
    norm.build(x.shape().drop_front());
    INFO(file);
    const auto mean = arrays.at("mean").to_tensor().to_vector<float>();
    const auto variance = arrays.at("variance").to_tensor().to_vector<float>();
    REQUIRE(norm.mean.numel() == static_cast<int64_t>(mean.size()));
    for (size_t i = 0; i < mean.size(); ++i) {
      CHECK(norm.mean.to_vector<float>()[i] == Approx(mean[i]).epsilon(1e-5).margin(1e-5));
      CHECK(norm.variance.to_vector<float>()[i] == Approx(variance[i]).epsilon(1e-5));
    }
    const auto expected = arrays.at("y").to_tensor().to_vector<float>();
    const auto got = norm(x).to_vector<float>();
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(expected[i]).margin(1e-4));
  }
}
