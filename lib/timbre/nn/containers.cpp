#include "timbre/nn/containers.h"

#include "timbre/nn/layers.h"
#include "timbre/ops/conv2d_pool.h"
#include "timbre/ops/reshape.h"

namespace timbre::nn {

namespace {
std::vector<Module*> raw(const std::vector<ModulePtr>& modules) {
  std::vector<Module*> out;
  for (const ModulePtr& m : modules) out.push_back(m.get());
  return out;
}
}  // namespace

// The fused kernel is a direct convolution, which beats im2col + GEMM only for
// few channels (the unfused Conv2D switches at the same count).
constexpr int64_t kFusedMaxChannels = 16;

std::vector<Module*> Sequential::children() { return raw(layers_); }

Shape Sequential::on_build(const Shape& input) {
  check(!layers_.empty(), name(), "a Sequential needs at least one layer");
  Shape s = input;
  for (const ModulePtr& layer : layers_) s = layer->build(s, dtype());
  fused_.clear();
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    const auto* conv = dynamic_cast<const Conv2D*>(layers_[i].get());
    if (!conv || conv->input_shape()[2] > kFusedMaxChannels || conv->output_shape()[2] > kFusedMaxChannels) continue;
    // Conv2D(relu) + pool, Conv2D + pool (slope 1: linear), Conv2D + LeakyReLU + pool.
    size_t length = 2;
    double slope = conv->activation() == Activation::relu ? 0.0 : 1.0;
    if (conv->activation() != Activation::linear && conv->activation() != Activation::relu) continue;
    if (const auto* leaky = dynamic_cast<const LeakyReLU*>(layers_[i + 1].get());
        leaky && conv->activation() == Activation::linear && i + 2 < layers_.size()) {
      slope = leaky->negative_slope();
      length = 3;
    }
    const auto* pool = dynamic_cast<const MaxPooling2D*>(layers_[i + length - 1].get());
    if (!pool || !ops::conv2d_pool_supports(conv->options(), slope, pool->options())) continue;
    fused_.push_back({i, length, slope});
    i += length - 1;
  }
  return s;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  auto run = fused_.begin();
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (run == fused_.end() || run->first != i) {
      y = (*layers_[i])(y);
      continue;
    }
    const auto& conv = static_cast<const Conv2D&>(*layers_[i]);
    const auto& pool = static_cast<const MaxPooling2D&>(*layers_[i + run->length - 1]);
    y = ops::conv2d_pool(y, conv.kernel, conv.bias, conv.options(), run->slope, pool.options());
    i += run->length - 1;
    ++run;
  }
  return y;
}

void Sequential::summary_rows(std::vector<SummaryRow>& rows) {
  for (const ModulePtr& layer : layers_) layer->summary_rows(rows);
}

std::vector<Module*> Concatenate::children() { return raw(branches_); }

Shape Concatenate::on_build(const Shape& input) {
  check(branches_.size() >= 2, name(), "Concatenate needs at least two branches, got ", branches_.size());
  Shape joined;
  for (const ModulePtr& branch : branches_) {
    const Shape s = branch->build(input, dtype());
    if (joined.rank() == 0) {
      joined = s;
      continue;
    }
    check(s.rank() == joined.rank(), name(), "branches give shapes ", joined.prepend(-1), " and ", s.prepend(-1),
          " of different rank");
    for (int64_t i = 0; i + 1 < s.rank(); ++i)
      check(s[i] == joined[i], name(), "branches give shapes ", joined.prepend(-1), " and ", s.prepend(-1),
            " that differ before the last axis");
    joined[-1] += s[-1];
  }
  return joined;
}

Tensor Concatenate::forward(const Tensor& x) {
  std::vector<Tensor> outs;
  for (const ModulePtr& branch : branches_) outs.push_back((*branch)(x));
  return ops::concatenate(outs, -1);
}

void Concatenate::summary_rows(std::vector<SummaryRow>& rows) {
  for (const ModulePtr& branch : branches_) branch->summary_rows(rows);
  rows.push_back({name(), type_name(), output_shape().prepend(-1), 0});
}

}  // namespace timbre::nn
