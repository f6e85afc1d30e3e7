// Shared by the Keras parity and weight-file tests: the fixtures written by
// tools/reference/make_keras_fixtures.py (tests/fixtures/keras/) and the tolerance.
#pragma once

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <string>

#include "timbre/timbre.h"
#include "timbre/io/keras_weights.h"
#include "timbre/io/safetensors.h"

namespace timbre::testing {

inline std::string keras_fixture_path(const std::string& file) {
  return std::string(TIMBRE_FIXTURES) + "/keras/" + file;
}

struct KerasFixture {
  io::TensorMap tensors;
  bool has(const std::string& name) const { return tensors.count(name) > 0; }
  const Tensor& operator[](const std::string& name) const {
    INFO("fixture tensor " << name);
    REQUIRE(has(name));
    return tensors.at(name);
  }
};

inline KerasFixture load_keras_fixture(const std::string& file) {
  return {io::load_safetensors(keras_fixture_path(file)).tensors};
}

// float32 against Keras' float32: each element within kRelative of its own
// magnitude plus kRelative of the largest magnitude in the tensor (sums of
// products cancel, so small elements carry the rounding of large ones).
constexpr double kRelative = 1e-4;

// `scale` replaces the largest magnitude where the tensor itself is rounding noise (see its use).
inline void check_close(const Tensor& got, const Tensor& want, const std::string& what, double scale = 0) {
  INFO(what);
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (double v : w) scale = std::max(scale, std::abs(v));
  double worst = 0, worst_abs = 0;
  size_t where = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double error = std::abs(g[i] - w[i]);
    const double ratio = error / (kRelative * (std::abs(w[i]) + scale) + 1e-30);
    if (ratio > worst) worst = ratio, where = i;
    worst_abs = std::max(worst_abs, error);
  }
  INFO("largest error / tolerance " << worst << " at element " << where << " (got " << g[where] << ", Keras "
                                    << w[where] << "); largest absolute error " << worst_abs << ", largest |Keras| "
                                    << scale);
  CHECK(worst <= 1.0);
}

inline std::string short_name(const std::string& qualified) { return qualified.substr(qualified.rfind('/') + 1); }

}  // namespace timbre::testing
