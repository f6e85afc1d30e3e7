// Input standardisation per mel band: log-mel patches in dB (means near -20,
// spreads near 20) make SGD with momentum diverge on the seed's models, so the
// trainers shift and scale each band by the training set's statistics, kept
// outside the model (its parameter totals stay Keras') and recorded in
// checkpoints so that prediction applies the same transform.
#pragma once

#include <string>
#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::train {

struct Standardization {
  std::vector<double> mean, stddev;  // one per band (axis 1 of (N, H, W, C) patches); empty: identity

  bool identity() const { return mean.empty(); }
  std::string to_json() const;
  // Parses to_json()'s output ("" gives the identity); throws timbre::Error otherwise.
  static Standardization from_json(const std::string& text);
};

// Per-band mean and standard deviation over every patch, frame and channel (computed in float64).
Standardization fit_standardization(const Tensor& patches);
// x = (x - mean) / max(stddev, 1e-6) in place, per band; patches (N, H, W, C) float32 on the CPU.
void apply_standardization(const Tensor& patches, const Standardization& s);

}  // namespace timbre::train
