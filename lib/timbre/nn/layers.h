// The layers of the seed models, with Keras' names, defaults and variables.
// Each layer does no arithmetic itself: it calls timbre::ops.
#pragma once

#include <array>
#include <cstdint>

#include "timbre/nn/module.h"
#include "timbre/ops/batchnorm.h"
#include "timbre/ops/conv2d.h"
#include "timbre/ops/maxpool2d.h"

namespace timbre::nn {

using ops::Padding;

enum class Activation { linear, relu, sigmoid, tanh, softmax };
Tensor apply_activation(Activation a, const Tensor& x);
std::string activation_name(Activation a);

// Conv2D(filters, {kh, kw}, padding, strides, activation); kernel (KH, KW, Cin, Cout), bias (Cout).
class Conv2D : public Module {
 public:
  Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, Padding padding = Padding::valid,
         std::array<int64_t, 2> strides = {1, 1}, Activation activation = Activation::linear, bool use_bias = true);
  std::string type_name() const override { return "Conv2D"; }
  ops::Conv2dOptions options() const { return {strides_[0], strides_[1], padding_}; }
  Activation activation() const { return activation_; }
  Tensor kernel, bias;

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  int64_t filters_;
  std::array<int64_t, 2> kernel_size_, strides_;
  Padding padding_;
  Activation activation_;
  bool use_bias_;
};

// Dense(units, activation) over the last axis; kernel (in, units), bias (units).
class Dense : public Module {
 public:
  explicit Dense(int64_t units, Activation activation = Activation::linear, bool use_bias = true);
  std::string type_name() const override { return "Dense"; }
  Activation activation() const { return activation_; }
  Tensor kernel, bias;

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  int64_t units_;
  Activation activation_;
  bool use_bias_;
};

// MaxPooling2D(pool, strides = pool), padding 'valid'.
class MaxPooling2D : public Module {
 public:
  explicit MaxPooling2D(std::array<int64_t, 2> pool_size = {2, 2}, std::array<int64_t, 2> strides = {0, 0});
  explicit MaxPooling2D(int64_t pool) : MaxPooling2D({pool, pool}) {}
  std::string type_name() const override { return "MaxPooling2D"; }
  ops::Pool2dOptions options() const { return {pool_[0], pool_[1], strides_[0], strides_[1]}; }

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  std::array<int64_t, 2> pool_, strides_;
};

// BatchNormalization over the last axis: gamma, beta (trainable), moving_mean, moving_variance (not).
class BatchNormalization : public Module {
 public:
  explicit BatchNormalization(ops::BatchNormOptions options = {});
  std::string type_name() const override { return "BatchNormalization"; }
  const ops::BatchNormOptions& options() const { return options_; }
  Tensor gamma, beta, moving_mean, moving_variance;

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  ops::BatchNormOptions options_;
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.3);  // Keras' default slope
  std::string type_name() const override { return "LeakyReLU"; }
  double negative_slope() const { return negative_slope_; }

 protected:
  Shape on_build(const Shape& input) override { return input; }
  Tensor forward(const Tensor& x) override;

 private:
  double negative_slope_;
};

// Activation("relu"), Activation("softmax"), ... as a layer.
class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(Activation activation) : activation_(activation) {}
  std::string type_name() const override { return "Activation"; }
  Activation activation() const { return activation_; }

 protected:
  Shape on_build(const Shape& input) override { return input; }
  Tensor forward(const Tensor& x) override { return apply_activation(activation_, x); }

 private:
  Activation activation_;
};

// Dropout(rate): inverted dropout in training, identity in inference. Each
// training call draws its mask seed from timbre's generator.
class Dropout : public Module {
 public:
  explicit Dropout(double rate);
  std::string type_name() const override { return "Dropout"; }

 protected:
  Shape on_build(const Shape& input) override { return input; }
  Tensor forward(const Tensor& x) override;

 private:
  double rate_;
};

class Flatten : public Module {
 public:
  std::string type_name() const override { return "Flatten"; }

 protected:
  Shape on_build(const Shape& input) override { return Shape{input.numel()}; }
  Tensor forward(const Tensor& x) override;
};

// Reshape(target) of each sample, in channels-last memory order, as Keras does.
class Reshape : public Module {
 public:
  explicit Reshape(Shape target) : target_(std::move(target)) {}
  std::string type_name() const override { return "Reshape"; }
  const Shape& target() const { return target_; }

 protected:
  Shape on_build(const Shape& input) override;
  Tensor forward(const Tensor& x) override;

 private:
  Shape target_;
};

}  // namespace timbre::nn
