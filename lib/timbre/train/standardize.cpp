#include "timbre/train/standardize.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace timbre::train {

namespace {
void check_patches(const Tensor& patches, const char* where) {
  check(patches.defined() && patches.rank() == 4 && patches.dtype() == DType::f32 && patches.device().is_cpu(), where,
        "expected float32 patches (N, H, W, C) in host memory, got ",
        patches.defined() ? patches.shape().str() : "nothing");
}
}  // namespace

std::string Standardization::to_json() const { return nlohmann::json{{"mean", mean}, {"stddev", stddev}}.dump(); }

Standardization Standardization::from_json(const std::string& text) {
  if (text.empty()) return {};
  Standardization s;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    s.mean = j.at("mean").get<std::vector<double>>();
    s.stddev = j.at("stddev").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("Standardization: malformed statistics: ") + e.what());
  }
  check(s.mean.size() == s.stddev.size(), "Standardization", s.mean.size(), " means but ", s.stddev.size(),
        " standard deviations");
  return s;
}

Standardization fit_standardization(const Tensor& patches) {
  check_patches(patches, "fit_standardization");
  const int64_t n = patches.dim(0), bands = patches.dim(1), per_band = patches.dim(2) * patches.dim(3);
  check(n > 0, "fit_standardization", "no patches");
  std::vector<double> sum(static_cast<size_t>(bands), 0.0), squares(static_cast<size_t>(bands), 0.0);
  const float* x = patches.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < bands; ++b) {
      const float* row = x + (i * bands + b) * per_band;
      double s = 0, q = 0;
      for (int64_t k = 0; k < per_band; ++k) s += row[k], q += static_cast<double>(row[k]) * row[k];
      sum[static_cast<size_t>(b)] += s;
      squares[static_cast<size_t>(b)] += q;
    }
  Standardization out;
  const double count = static_cast<double>(n * per_band);
  for (int64_t b = 0; b < bands; ++b) {
    const double mean = sum[static_cast<size_t>(b)] / count;
    out.mean.push_back(mean);
    out.stddev.push_back(std::sqrt(std::max(squares[static_cast<size_t>(b)] / count - mean * mean, 0.0)));
  }
  return out;
}

void apply_standardization(const Tensor& patches, const Standardization& s) {
  if (s.identity()) return;
  check_patches(patches, "apply_standardization");
  const int64_t n = patches.dim(0), bands = patches.dim(1), per_band = patches.dim(2) * patches.dim(3);
  check(static_cast<int64_t>(s.mean.size()) == bands, "apply_standardization", "statistics for ", s.mean.size(),
        " bands, patches have ", bands);
  float* x = patches.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < bands; ++b) {
      const float mean = static_cast<float>(s.mean[static_cast<size_t>(b)]);
      const float scale = static_cast<float>(1.0 / std::max(s.stddev[static_cast<size_t>(b)], 1e-6));
      float* row = x + (i * bands + b) * per_band;
      for (int64_t k = 0; k < per_band; ++k) row[k] = (row[k] - mean) * scale;
    }
}

}  // namespace timbre::train
