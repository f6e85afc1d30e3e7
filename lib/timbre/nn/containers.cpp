#include "timbre/nn/containers.h"

#include <typeinfo>

#include "timbre/autograd/grad_mode.h"
#include "timbre/nn/layers.h"
#include "timbre/ops/batchnorm.h"
#include "timbre/ops/conv2d_pool.h"
#include "timbre/ops/fusion.h"
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
  fused_.clear();
  // Exactly an L: a subclass may compute something else (SyncBatchNormalization's statistics span ranks).
  const auto layer_is = [&]<class L>(size_t i, const L*& out) {
    const Module* layer = i < layers_.size() ? layers_[i].get() : nullptr;
    out = layer && typeid(*layer) == typeid(L) ? static_cast<const L*>(layer) : nullptr;
    return out != nullptr;
  };
  // [+ LeakyReLU] + MaxPooling2D from layer i: the pool (null if none), the
  // run's last layer and the negative_slope (1 without an activation).
  const auto activation_and_pool = [&](size_t i, size_t& last, double& negative_slope) {
    const LeakyReLU* leaky = nullptr;
    const MaxPooling2D* pool = nullptr;
    negative_slope = layer_is(i, leaky) ? leaky->negative_slope() : 1.0;
    last = leaky ? i + 1 : i;
    return layer_is(last, pool) ? pool : nullptr;
  };
  using Kind = FusedRun::Kind;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Conv2D* conv = nullptr;
    const BatchNormalization* norm = nullptr;
    size_t last = 0;
    double negative_slope = 1.0;
    if (layer_is(i, norm)) {
      const MaxPooling2D* pool = activation_and_pool(i + 1, last, negative_slope);
      if (pool) fused_.push_back({Kind::norm_pool, i, last - i + 1, negative_slope});
      continue;
    }
    if (!layer_is(i, conv)) continue;
    const MaxPooling2D* pool = nullptr;
    Kind kind = Kind::conv_pool;
    if (conv->activation() == Activation::relu) {  // Conv2D(relu) + MaxPooling2D
      negative_slope = 0.0;
      last = i + 1;
      layer_is(last, pool);
    } else if (conv->activation() == Activation::linear) {
      if (layer_is(i + 1, norm)) kind = Kind::conv_norm_pool;
      pool = activation_and_pool(kind == Kind::conv_norm_pool ? i + 2 : i + 1, last, negative_slope);
    }
    if (pool) fused_.push_back({kind, i, last - i + 1, negative_slope});
  }
  return s;
}

bool Sequential::runs_fused_on(const FusedRun& run, const Device& device) const {
  const auto& pool = static_cast<const MaxPooling2D&>(*layers_[run.first + run.length - 1]);
  const Module& first = *layers_[run.first];
  if (run.kind == FusedRun::Kind::norm_pool)
    return kernels::supports(kernels::Op::batchnorm_pool, device,
                             ops::norm_pool_fusion(first.input_shape()[-1], run.negative_slope, pool.options()));
  const auto& conv = static_cast<const Conv2D&>(first);
  return kernels::supports(kernels::Op::conv2d_pool, device,
                           ops::conv_pool_fusion(conv.input_shape()[-1], conv.output_shape()[-1], conv.options(),
                                                 run.negative_slope, pool.options()));
}

std::vector<std::string> Sequential::fused_runs(const Device& device) const {
  std::vector<std::string> out;
  for (const FusedRun& run : fused_) {
    if (!runs_fused_on(run, device)) continue;
    std::string names;
    for (size_t i = run.first; i < run.first + run.length; ++i)
      names += (names.empty() ? "" : "+") + layers_[i]->name();
    out.push_back(names);
  }
  return out;
}

Tensor Sequential::run_fused(const FusedRun& run, const Tensor& x) const {
  if (!runs_fused_on(run, x.device())) return Tensor();
  const auto& pool = static_cast<const MaxPooling2D&>(*layers_[run.first + run.length - 1]);
  if (run.kind == FusedRun::Kind::norm_pool) {
    const auto& norm = static_cast<const BatchNormalization&>(*layers_[run.first]);
    if (!norm.training()) return Tensor();  // inference: the convolution's run folds it, or the layers run
    return ops::batchnorm_pool(x, norm.gamma, norm.beta, norm.moving_mean, norm.moving_variance, norm.options(),
                               run.negative_slope, pool.options());
  }
  const auto& conv = static_cast<const Conv2D&>(*layers_[run.first]);
  if (run.kind == FusedRun::Kind::conv_pool)
    return ops::conv2d_pool(x, conv.kernel, conv.bias, conv.options(), run.negative_slope, pool.options());
  // Folding the moving statistics into the kernel needs inference mode, and
  // leaves the kernel and batch-norm parameters without gradients.
  const auto& norm = static_cast<const BatchNormalization&>(*layers_[run.first + 1]);
  if (norm.training() || autograd::grad_enabled()) return Tensor();
  const ops::FoldedConv folded = ops::fold_batchnorm(conv.kernel, conv.bias, norm.gamma, norm.beta, norm.moving_mean,
                                                     norm.moving_variance, norm.options().epsilon);
  return ops::conv2d_pool(x, folded.kernel, folded.bias, conv.options(), run.negative_slope, pool.options());
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  auto run = fused_.begin();
  for (size_t i = 0; i < layers_.size(); ++i) {
    while (run != fused_.end() && run->first < i) ++run;  // runs inside a fused one, or not taken
    if (run != fused_.end() && run->first == i) {
      if (Tensor fused = run_fused(*run, y); fused.defined()) {
        y = fused;
        i += run->length - 1;
        continue;
      }
    }
    y = (*layers_[i])(y);
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
