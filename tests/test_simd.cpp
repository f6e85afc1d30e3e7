// The CPU kernels' vector functions (kernels/cpu/simd.h) against the C library
// in double precision. Built with the library's -march (tests/CMakeLists.txt),
// so it runs the instructions the kernels run.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "kernels/cpu/simd.h"

namespace simd = timbre::kernels::cpu::simd;
using VecF = simd::Vec<float>;
constexpr int64_t L = simd::kLanes<float>;

namespace {
// Largest |f(x) - reference(x)| (relative when `relative`) over x = from..to in `points` steps.
template <class F, class R>
double worst_error(F f, R reference, double from, double to, int64_t points, bool relative) {
  double worst = 0;
  for (int64_t k = 0; k < points; k += L) {
    VecF x;
    for (int64_t lane = 0; lane < L; ++lane) x[lane] = static_cast<float>(from + (to - from) * (k + lane) / points);
    const VecF y = f(x);
    for (int64_t lane = 0; lane < L; ++lane) {
      const double want = reference(static_cast<double>(x[lane]));
      const double error = std::abs(y[lane] - want) / (relative ? std::abs(want) : 1.0);
      worst = std::max(worst, error);
    }
  }
  return worst;
}
}  // namespace

TEST_CASE("simd exp, sigmoid and tanh in float are within float rounding of the C library's", "[simd][lstm]") {
  const auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  const auto tanh = [](double x) { return std::tanh(x); };
  const auto exp = [](double x) { return std::exp(x); };
  CHECK(worst_error([](VecF x) { return simd::exp(x); }, exp, -80, 80, 1 << 18, true) < 4e-7);
  CHECK(worst_error([](VecF x) { return simd::sigmoid(x); }, sigmoid, -100, 100, 1 << 18, false) < 3e-7);
  CHECK(worst_error([](VecF x) { return simd::tanh(x); }, tanh, -100, 100, 1 << 18, false) < 3e-7);
  CHECK(worst_error([](VecF x) { return simd::tanh(x); }, tanh, -1e-3, 1e-3, 1 << 12, false) < 3e-7);
}

TEST_CASE("simd exp saturates far out and passes NaN through", "[simd][lstm]") {
  VecF x{};
  x[0] = -1e30f;
  x[1] = 1e30f;
  x[2] = std::numeric_limits<float>::quiet_NaN();
  const VecF e = simd::exp(x), s = simd::sigmoid(x), t = simd::tanh(x);
  CHECK(e[0] >= 0.0f);
  CHECK(e[0] < 1e-37f);
  CHECK(std::isfinite(e[1]));
  CHECK(e[1] > 1e38f);
  CHECK(s[0] == Approx(0.0).margin(1e-37));
  CHECK(s[1] == 1.0f);
  CHECK(t[0] == -1.0f);
  CHECK(t[1] == 1.0f);
  CHECK(std::isnan(e[2]));
  CHECK(std::isnan(s[2]));
  CHECK(std::isnan(t[2]));
}
