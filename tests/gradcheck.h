// The reusable gradient checker: float64 central differences against the
// analytic gradient of <G, f(inputs)> for a random upstream gradient G, for
// every input that requires grad. It refuses checks that cannot fail: an input
// whose numerical gradient is identically zero proves nothing (pick inputs away
// from kinks and dead regions), and so fails the check.
#pragma once

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "timbre/timbre.h"

namespace timbre::testing {

struct GradCheckOptions {
  double step = 1e-6;
  double rtol = 1e-5;
  double atol = 1e-8;
  uint64_t seed = 1234;
};

struct GradCheckResult {
  bool ok = true;
  std::string report;  // the first mismatches, or why the check was refused
  double max_abs_error = 0;
};

// float64 tensor of `shape` with entries uniform in [lo, hi); with min_magnitude > 0,
// entries are pushed to |v| >= min_magnitude (away from kinks such as LeakyReLU at 0).
inline Tensor random_tensor(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1,
                            double min_magnitude = 0) {
  Generator g(seed);
  std::vector<double> v(static_cast<size_t>(shape.numel()));
  for (double& x : v) {
    x = g.uniform(lo, hi);
    if (std::abs(x) < min_magnitude) x = x < 0 ? x - min_magnitude : x + min_magnitude;
  }
  return Tensor::from<double>(shape, v);
}

inline double weighted_sum(const Tensor& upstream, const Tensor& out) {
  const std::vector<double> g = upstream.to_vector<double>(), y = out.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += g[i] * y[i];
  return s;
}

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

inline GradCheckResult gradcheck(const Function& f, const std::vector<Tensor>& inputs,
                                 const GradCheckOptions& options = {}) {
  GradCheckResult result;
  std::ostringstream report;
  auto refuse = [&](const std::string& why) {
    result.ok = false;
    report << why << "\n";
  };
  for (const Tensor& x : inputs)
    if (x.dtype() != DType::f64) {
      refuse("gradcheck needs float64 inputs");
      result.report = report.str();
      return result;
    }

  // Analytic gradients, with a Gaussian upstream gradient.
  for (const Tensor& x : inputs)
    if (x.requires_grad()) x.set_grad(Tensor());
  Tensor out = f(inputs);
  Generator g(options.seed);
  std::vector<double> up(static_cast<size_t>(out.numel()));
  for (double& u : up) u = g.normal();
  const Tensor upstream = Tensor::from<double>(out.shape(), up);
  if (out.requires_grad()) out.backward(upstream);  // else no input reaches the output: analytic gradients are 0

  int mismatches = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    const std::vector<double> analytic =
        x.grad().defined() ? x.grad().to_vector<double>() : std::vector<double>(static_cast<size_t>(x.numel()), 0.0);
    double* data = x.data<double>();
    bool numerical_all_zero = true;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double saved = data[i];
      double plus, minus;
      {
        NoGrad no_grad;
        data[i] = saved + options.step;
        plus = weighted_sum(upstream, f(inputs));
        data[i] = saved - options.step;
        minus = weighted_sum(upstream, f(inputs));
      }
      data[i] = saved;
      const double numerical = (plus - minus) / (2 * options.step);
      const double a = analytic[static_cast<size_t>(i)];
      if (numerical != 0) numerical_all_zero = false;
      const double err = std::abs(a - numerical);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (err > options.atol + options.rtol * std::max(std::abs(a), std::abs(numerical))) {
        result.ok = false;
        if (mismatches++ < 8)
          report << "input " << k << " " << x.shape() << " element " << i << ": analytic " << a << ", numerical "
                 << numerical << "\n";
      }
    }
    if (numerical_all_zero)
      refuse("input " + std::to_string(k) + " " + x.shape().str() +
             ": numerical gradient is identically zero, so this check could not detect an error");
  }
  if (mismatches > 8) report << "... " << mismatches << " mismatches in all\n";
  result.report = report.str();
  return result;
}

// Gradient check of a layer: its trainable variables and the input x, in the given mode.
inline GradCheckResult gradcheck_module(nn::Module& m, const Tensor& x, bool training,
                                        const GradCheckOptions& options = {}) {
  m.set_training(training);
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : m.trainable_parameters()) inputs.push_back(p);
  return gradcheck([&m](const std::vector<Tensor>& in) { return m(in[0]); }, inputs, options);
}

}  // namespace timbre::testing
