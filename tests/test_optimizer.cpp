// SGD (plain, momentum, Nesterov) and Adam: a few steps on the quadratic
// f(w) = sum a_i w_i^2 / 2 checked against Keras' update rules computed by hand.
#include <catch2/catch.hpp>
#include <cmath>

#include "gradcheck.h"

using namespace timbre;

namespace {
const std::vector<double> kCurvature{1.0, 3.0, 0.5, 2.0, 10.0};
const std::vector<double> kStart{1.0, -2.0, 0.5, 3.0, -0.1};

// Two parameters (sizes 2 and 3) so the packed arena is exercised.
std::vector<Tensor> make_parameters() {
  return {Tensor::from<double>({2}, {kStart[0], kStart[1]}).set_requires_grad(),
          Tensor::from<double>({3}, {kStart[2], kStart[3], kStart[4]}).set_requires_grad()};
}

// Writes g = a * w into the parameters' gradient buffers, as backward() would.
void set_quadratic_gradient(const std::vector<Tensor>& params) {
  size_t i = 0;
  for (const Tensor& p : params) {
    double* w = p.data<double>();
    double* g = p.grad().data<double>();
    for (int64_t j = 0; j < p.numel(); ++j, ++i) g[j] = kCurvature[i] * w[j];
  }
}

std::vector<double> values(const std::vector<Tensor>& params) {
  std::vector<double> out;
  for (const Tensor& p : params)
    for (double v : p.to_vector<double>()) out.push_back(v);
  return out;
}

void check_close(const std::vector<double>& got, const std::vector<double>& expected) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).epsilon(1e-12).margin(1e-15));
}
}  // namespace

TEST_CASE("SGD with and without momentum follows Keras' rule", "[optimizer][sgd]") {
  for (auto [momentum, nesterov] : {std::pair{0.0, false}, {0.9, false}, {0.9, true}}) {
    auto params = make_parameters();
    optim::SGD sgd(params, 0.05, momentum, nesterov);
    std::vector<double> w = kStart, v(w.size(), 0.0);
    for (int step = 0; step < 4; ++step) {
      sgd.zero_grad();
      set_quadratic_gradient(params);
      sgd.step();
      for (size_t i = 0; i < w.size(); ++i) {
        const double g = kCurvature[i] * w[i];
        v[i] = momentum * v[i] - 0.05 * g;
        w[i] += nesterov ? momentum * v[i] - 0.05 * g : v[i];
      }
    }
    INFO("momentum " << momentum << " nesterov " << nesterov);
    check_close(values(params), w);
    CHECK(sgd.iterations() == 4);
    if (momentum > 0) CHECK(sgd.state().count("velocity") == 1);
  }
}

TEST_CASE("Adam follows Keras' rule with bias correction", "[optimizer][adam]") {
  auto params = make_parameters();
  optim::Adam adam(params, 0.01);
  std::vector<double> w = kStart, m(w.size(), 0.0), v(w.size(), 0.0);
  for (int t = 1; t <= 5; ++t) {
    adam.zero_grad();
    set_quadratic_gradient(params);
    adam.step();
    const double lr_t = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (size_t i = 0; i < w.size(); ++i) {
      const double g = kCurvature[i] * w[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + 1e-7);
    }
  }
  check_close(values(params), w);
  check_close(adam.state().at("m").to_vector<double>(), m);
  check_close(adam.state().at("v").to_vector<double>(), v);
}

TEST_CASE("decoupled weight decay shrinks each weight by lr * decay before the update, as Keras 3 does",
          "[optimizer][weight-decay]") {
  auto params = make_parameters();
  optim::Adam adam(params, 0.01);
  adam.set_weight_decay(0.1);
  std::vector<double> w = kStart, m(w.size(), 0.0), v(w.size(), 0.0);
  for (int t = 1; t <= 5; ++t) {
    adam.zero_grad();
    set_quadratic_gradient(params);  // the gradient at the weights before the decay
    adam.step();
    const double lr_t = 0.01 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (size_t i = 0; i < w.size(); ++i) {
      const double g = kCurvature[i] * w[i];
      w[i] -= w[i] * 0.1 * 0.01;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + 1e-7);
    }
  }
  check_close(values(params), w);

  auto plain = make_parameters();
  optim::SGD sgd(plain, 0.5);
  sgd.set_weight_decay(0.2);
  sgd.zero_grad();  // no gradient: only the decay acts
  sgd.step();
  std::vector<double> shrunk = kStart;
  for (double& x : shrunk) x *= 1 - 0.5 * 0.2;
  check_close(values(plain), shrunk);
  CHECK_THROWS_WITH(sgd.set_weight_decay(-0.1), Catch::Contains("weight decay must lie in [0, 1)"));
  CHECK_THROWS_WITH(sgd.set_weight_decay(1.0), Catch::Contains("weight decay"));
}

TEST_CASE("global_clipnorm scales the gradients to at most the norm before the update", "[optimizer][clipnorm]") {
  // The quadratic's gradient at the start has norm sqrt(sum (a_i w_i)^2).
  double norm = 0;
  for (size_t i = 0; i < kStart.size(); ++i) norm += std::pow(kCurvature[i] * kStart[i], 2);
  norm = std::sqrt(norm);
  for (const double max_norm : {1.0, 100.0}) {
    auto params = make_parameters();
    optim::SGD sgd(params, 0.1);
    sgd.set_global_clipnorm(max_norm);
    sgd.zero_grad();
    set_quadratic_gradient(params);
    sgd.step();
    std::vector<double> w = kStart;
    const double scale = max_norm < norm ? max_norm / norm : 1.0;  // 100 leaves the gradient as it is
    for (size_t i = 0; i < w.size(); ++i) w[i] -= 0.1 * scale * kCurvature[i] * kStart[i];
    INFO("max_norm " << max_norm << ", norm " << norm);
    check_close(values(params), w);
  }
  CHECK_THROWS_WITH(optim::SGD(make_parameters(), 0.1).set_global_clipnorm(-1), Catch::Contains("global_clipnorm"));
}

TEST_CASE("optimizers reject bad settings", "[optimizer][errors]") {
  CHECK_THROWS_WITH(optim::SGD({}, 0.1), Catch::Contains("no trainable parameters"));
  CHECK_THROWS_WITH(optim::SGD(make_parameters(), -1.0), Catch::Contains("learning rate must be > 0"));
  CHECK_THROWS_WITH(optim::SGD(make_parameters(), 0.1, 1.5), Catch::Contains("momentum"));
  CHECK_THROWS_WITH(optim::Adam(make_parameters(), 0.1, 1.0), Catch::Contains("beta_1"));
  Tensor not_leaf = ops::tanh(make_parameters()[0]);
  CHECK_THROWS_WITH(optim::SGD({not_leaf}, 0.1), Catch::Contains("leaf"));
}
