// Normalization: Keras' keras.layers.Normalization. adapt() learns the mean and
// variance of the training data in one streaming pass; the layer then maps
// x to (x - mean) / max(sqrt(variance), 1e-7). The statistics are
// non-trainable variables ("mean", "variance", "count"), so they travel with the model:
// checkpoints, device moves, summary() (as non-trainable parameters).
#pragma once

#include <functional>
#include <vector>

#include "timbre/nn/module.h"
#include "timbre/ops/normalize.h"

namespace timbre::nn {

class Normalization : public Module {
 public:
  // Which statistics are kept apart, for samples (H, W, C) of log-mel patches
  // (H = mel bands): one global pair, one per mel band (the first sample axis;
  // the default for spectrograms), one per channel (the last axis, Keras'
  // axis=-1) or one per element.
  enum class Axis { global, band, channel, element };

  explicit Normalization(Axis axis = Axis::band);
  std::string type_name() const override { return "Normalization"; }

  // One pass over a data source: next(batch) sets `batch` to the next float32
  // (N, sample...) tensor and returns false when the source is exhausted. Per
  // statistic, batch moments are computed in float64 and merged with Chan's
  // parallel rule, so nothing but the running moments is held. Throws on an
  // empty source or on samples whose shape differs from the built one.
  void adapt(const std::function<bool(Tensor&)>& next);
  // adapt() over the rows of an in-memory (N, sample...) tensor, `batch_size` at a time.
  void adapt(const Tensor& data, int64_t batch_size = 256);
  bool adapted() const { return adapted_; }
  Axis axis() const { return axis_; }

  Tensor mean, variance;  // (groups,), defined once built
  Tensor count;           // samples adapted on, a scalar (Keras' third weight)

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  ops::NormalizeLayout layout_for(const Shape& sample) const;

  Axis axis_;
  bool adapted_ = false;
  Shape adapted_shape_;
  std::vector<double> adapted_mean_, adapted_variance_;
  int64_t adapted_samples_ = 0;
};

// Parses "none" (returns false), "global", "band", "channel" or "element".
bool parse_normalization_axis(const std::string& spec, Normalization::Axis& axis);

}  // namespace timbre::nn
