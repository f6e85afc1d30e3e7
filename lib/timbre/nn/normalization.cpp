#include "timbre/nn/normalization.h"

#include <algorithm>

#include "timbre/core/error.h"

namespace timbre::nn {

Normalization::Normalization(Axis axis) : axis_(axis) {}

ops::NormalizeLayout Normalization::layout_for(const Shape& sample) const {
  check(sample.rank() >= 1, "Normalization", "expects samples of rank >= 1, got ", sample);
  switch (axis_) {
    case Axis::global: return {1, 1};
    case Axis::band: return {sample.drop_front().numel(), sample[0]};
    case Axis::channel: return {1, sample[-1]};
    case Axis::element: return {1, sample.numel()};
  }
  return {};
}

Shape Normalization::on_build(const Shape& input) {
  const ops::NormalizeLayout layout = layout_for(input);
  check(!adapted_ || input == adapted_shape_, name(), "adapted on samples ", adapted_shape_,
        " but built for samples ", input);
  std::vector<double> m(static_cast<size_t>(layout.groups), 0.0), v(static_cast<size_t>(layout.groups), 1.0);
  if (adapted_) m = adapted_mean_, v = adapted_variance_;
  mean = add_variable("mean", Tensor::from<double>({layout.groups}, m), false);
  variance = add_variable("variance", Tensor::from<double>({layout.groups}, v), false);
  // Keras keeps the number of samples adapted on as a third non-trainable weight.
  count = add_variable("count", Tensor::from<double>({}, {static_cast<double>(adapted_samples_)}), false);
  return input;
}

Tensor Normalization::forward(const Tensor& x) {
  return ops::normalize(x, mean, variance, layout_for(input_shape()));
}

void Normalization::adapt(const std::function<bool(Tensor&)>& next) {
  Shape sample;
  ops::NormalizeLayout layout;
  std::vector<double> counts, mean_acc, m2;  // running moments per statistic
  std::vector<double> batch_sum, batch_mean, batch_m2;
  int64_t batches = 0, samples = 0;
  Tensor batch;
  while (next(batch)) {
    check(batch.defined() && batch.rank() >= 2, "Normalization.adapt", "expected (N, sample...) batches, got ",
          batch.defined() ? batch.shape().str() : "an undefined tensor");
    check(batch.device().is_cpu(), "Normalization.adapt", "batches must be on the CPU, got ", batch.device().str());
    const Shape s = batch.shape().drop_front();
    if (batches++ == 0) {
      sample = s;
      layout = layout_for(sample);
      check(!built() || sample == input_shape(), name(), "built for samples ", input_shape(),
            " but adapt() got samples ", sample);
      counts.assign(layout.groups, 0.0), mean_acc.assign(layout.groups, 0.0), m2.assign(layout.groups, 0.0);
    }
    check(s == sample, "Normalization.adapt", "sample shape changed from ", sample, " to ", s);
    if (batch.dim(0) == 0) continue;
    samples += batch.dim(0);
    const Tensor values = batch.to(DType::f64);
    const double* x = values.data<double>();
    const int64_t n = values.numel();
    const double per_group = static_cast<double>(n / layout.groups);
    // Two passes over the batch in float64, then Chan's merge into the running moments.
    batch_sum.assign(layout.groups, 0.0), batch_m2.assign(layout.groups, 0.0);
    for (int64_t i = 0; i < n; ++i) batch_sum[(i / layout.inner) % layout.groups] += x[i];
    batch_mean.resize(layout.groups);
    for (int64_t g = 0; g < layout.groups; ++g) batch_mean[g] = batch_sum[g] / per_group;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t g = (i / layout.inner) % layout.groups;
      const double d = x[i] - batch_mean[g];
      batch_m2[g] += d * d;
    }
    for (int64_t g = 0; g < layout.groups; ++g) {
      const double total = counts[g] + per_group, delta = batch_mean[g] - mean_acc[g];
      mean_acc[g] += delta * per_group / total;
      m2[g] += batch_m2[g] + delta * delta * counts[g] * per_group / total;
      counts[g] = total;
    }
  }
  check(batches > 0 && !counts.empty() && counts[0] > 0, "Normalization.adapt", "the data source is empty");
  adapted_mean_ = mean_acc;
  adapted_variance_.resize(m2.size());
  for (size_t g = 0; g < m2.size(); ++g) adapted_variance_[g] = m2[g] / counts[g];
  adapted_shape_ = sample;
  adapted_samples_ = samples;
  adapted_ = true;
  if (built()) {
    // Already built: overwrite the variables in place (they may live on a GPU).
    mean.copy_from(Tensor::from<double>({layout.groups}, adapted_mean_).to(mean.dtype()).to(mean.device()));
    variance.copy_from(
        Tensor::from<double>({layout.groups}, adapted_variance_).to(variance.dtype()).to(variance.device()));
    count.copy_from(Tensor::full({}, static_cast<double>(samples), count.dtype()).to(count.device()));
  }
}

void Normalization::adapt(const Tensor& data, int64_t batch_size) {
  check(batch_size >= 1, "Normalization.adapt", "batch_size must be >= 1, got ", batch_size);
  check(data.defined() && data.rank() >= 2, "Normalization.adapt", "expected an (N, sample...) tensor");
  const int64_t rows = data.dim(0), per = data.shape().drop_front().numel();
  int64_t begin = 0;
  adapt([&](Tensor& batch) {
    if (begin >= rows) return false;
    const int64_t taken = std::min(batch_size, rows - begin);
    batch = data.view_at(begin * per, data.shape().drop_front().prepend(taken));
    begin += taken;
    return true;
  });
}

bool parse_normalization_axis(const std::string& spec, Normalization::Axis& axis) {
  if (spec == "none") return false;
  if (spec == "global")
    axis = Normalization::Axis::global;
  else if (spec == "band")
    axis = Normalization::Axis::band;
  else if (spec == "channel")
    axis = Normalization::Axis::channel;
  else if (spec == "element")
    axis = Normalization::Axis::element;
  else
    fail("normalize: expected none, global, band, channel or element, got '" + spec + "'");
  return true;
}

}  // namespace timbre::nn
