#include "timbre/nn/containers.h"

#include "timbre/ops/reshape.h"

namespace timbre::nn {

namespace {
std::vector<Module*> raw(const std::vector<ModulePtr>& modules) {
  std::vector<Module*> out;
  for (const ModulePtr& m : modules) out.push_back(m.get());
  return out;
}
}  // namespace

std::vector<Module*> Sequential::children() { return raw(layers_); }

Shape Sequential::on_build(const Shape& input) {
  check(!layers_.empty(), name(), "a Sequential needs at least one layer");
  Shape s = input;
  for (const ModulePtr& layer : layers_) s = layer->build(s, dtype());
  return s;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const ModulePtr& layer : layers_) y = (*layer)(y);
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
