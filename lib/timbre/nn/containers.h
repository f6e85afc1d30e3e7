// Containers: Sequential (one layer after another) and Concatenate (parallel
// branches on the same input, joined along the last axis: P1.1's shape).
// Sequential runs some layer patterns as one fused op, with the same values
// and gradients, where the op takes the settings:
// - Conv2D [+ LeakyReLU] + MaxPooling2D (few channels): ops::conv2d_pool;
// - BatchNormalization [+ LeakyReLU] + MaxPooling2D in training:
//   ops::batchnorm_pool;
// - Conv2D + BatchNormalization [+ LeakyReLU] + MaxPooling2D in inference
//   without gradients: the moving statistics folded into the convolution.
#pragma once

#include <vector>

#include "timbre/nn/module.h"

namespace timbre::nn {

class Sequential : public Module {
 public:
  template <class... Layers>
    requires(!std::is_same_v<std::decay_t<Layers>, Sequential> && ...)  // leave copy and move alone
  explicit Sequential(Layers&&... layers) {
    (add(std::forward<Layers>(layers)), ...);
  }
  template <class M>
  Sequential& add(M&& layer) {
    layers_.push_back(make_module(std::forward<M>(layer)));
    return *this;
  }
  std::string type_name() const override { return "Sequential"; }
  std::vector<Module*> children() override;
  bool transparent() const override { return true; }
  void summary_rows(std::vector<SummaryRow>& rows) override;
  // The runs of layers that run fused on `device` (kernels::supports), by layer
  // name: "conv2d+leaky_re_lu+max_pooling2d".
  std::vector<std::string> fused_runs(const Device& device = Device::cpu()) const;

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  // A run of layers that may run as one op: layers_[first] is its Conv2D
  // (or BatchNormalization for norm_pool), layers_[first + length - 1] the
  // MaxPooling2D. Found at build; whether it runs fused depends on the device
  // the input is on, as the op table's supports() says.
  struct FusedRun {
    enum class Kind { conv_pool, conv_norm_pool, norm_pool } kind;
    size_t first, length;
    double negative_slope;
  };
  bool runs_fused_on(const FusedRun& run, const Device& device) const;
  // The run's result, or an undefined tensor when it cannot run fused now.
  Tensor run_fused(const FusedRun& run, const Tensor& x) const;
  std::vector<ModulePtr> layers_;
  std::vector<FusedRun> fused_;
};

class Concatenate : public Module {
 public:
  template <class... Branches>
    requires(!std::is_same_v<std::decay_t<Branches>, Concatenate> && ...)
  explicit Concatenate(Branches&&... branches) {
    (branches_.push_back(make_module(std::forward<Branches>(branches))), ...);
  }
  template <class M>
  Concatenate& add(M&& branch) {
    branches_.push_back(make_module(std::forward<M>(branch)));
    return *this;
  }
  std::string type_name() const override { return "Concatenate"; }
  std::vector<Module*> children() override;
  bool transparent() const override { return true; }
  void summary_rows(std::vector<SummaryRow>& rows) override;

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  std::vector<ModulePtr> branches_;
};

}  // namespace timbre::nn
