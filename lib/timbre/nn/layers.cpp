#include "timbre/nn/layers.h"

#include "timbre/core/random.h"
#include "timbre/nn/init.h"
#include "timbre/ops/activation.h"
#include "timbre/ops/dense.h"
#include "timbre/ops/dropout.h"
#include "timbre/ops/maxpool2d.h"
#include "timbre/ops/reshape.h"

namespace timbre::nn {

Tensor apply_activation(Activation a, const Tensor& x) {
  switch (a) {
    case Activation::relu: return ops::relu(x);
    case Activation::sigmoid: return ops::sigmoid(x);
    case Activation::tanh: return ops::tanh(x);
    case Activation::softmax: return ops::softmax(x);
    case Activation::linear: break;
  }
  return x;
}

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::softmax: return "softmax";
    case Activation::linear: break;
  }
  return "linear";
}

// ---------------------------------------------------------------- Conv2D
Conv2D::Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, Padding padding, std::array<int64_t, 2> strides,
               Activation activation, bool use_bias)
    : filters_(filters), kernel_size_(kernel_size), strides_(strides), padding_(padding), activation_(activation),
      use_bias_(use_bias) {
  check(filters >= 1, "Conv2D", "filters must be >= 1, got ", filters);
  check(kernel_size[0] >= 1 && kernel_size[1] >= 1, "Conv2D", "kernel_size must be >= 1, got (", kernel_size[0],
        ", ", kernel_size[1], ")");
  check(strides[0] >= 1 && strides[1] >= 1, "Conv2D", "strides must be >= 1, got (", strides[0], ", ", strides[1],
        ")");
}

Shape Conv2D::on_build(const Shape& input) {
  check(input.rank() == 3, name(), "Conv2D expects samples (H, W, C), got ", input);
  const int64_t kh = kernel_size_[0], kw = kernel_size_[1], cin = input[2];
  if (padding_ == Padding::valid)
    check(input[0] >= kh && input[1] >= kw, name(), "input ", input, " is smaller than the ", kh, "x", kw,
          " kernel with padding 'valid'");
  kernel = add_variable("kernel", init::glorot_uniform({kh, kw, cin, filters_}, kh * kw * cin, kh * kw * filters_));
  if (use_bias_) bias = add_variable("bias", init::zeros({filters_}));
  return {ops::conv_output_size(input[0], kh, strides_[0], padding_),
          ops::conv_output_size(input[1], kw, strides_[1], padding_), filters_};
}

Tensor Conv2D::forward(const Tensor& x) {
  return apply_activation(activation_, ops::conv2d(x, kernel, bias, options()));
}

// ---------------------------------------------------------------- Dense
Dense::Dense(int64_t units, Activation activation, bool use_bias)
    : units_(units), activation_(activation), use_bias_(use_bias) {
  check(units >= 1, "Dense", "units must be >= 1, got ", units);
}

Shape Dense::on_build(const Shape& input) {
  check(input.rank() >= 1, name(), "Dense expects samples of rank >= 1");
  kernel = add_variable("kernel", init::glorot_uniform({input[-1], units_}, input[-1], units_));
  if (use_bias_) bias = add_variable("bias", init::zeros({units_}));
  Shape out = input;
  out[-1] = units_;
  return out;
}

Tensor Dense::forward(const Tensor& x) { return apply_activation(activation_, ops::dense(x, kernel, bias)); }

// ---------------------------------------------------------------- MaxPooling2D
MaxPooling2D::MaxPooling2D(std::array<int64_t, 2> pool_size, std::array<int64_t, 2> strides)
    : pool_(pool_size), strides_(strides) {
  check(pool_[0] >= 1 && pool_[1] >= 1, "MaxPooling2D", "pool_size must be >= 1, got (", pool_[0], ", ", pool_[1],
        ")");
  if (strides_[0] == 0) strides_ = pool_;
}

Shape MaxPooling2D::on_build(const Shape& input) {
  check(input.rank() == 3, name(), "MaxPooling2D expects samples (H, W, C), got ", input);
  check(input[0] >= pool_[0] && input[1] >= pool_[1], name(), "input ", input, " is smaller than the pool (",
        pool_[0], ", ", pool_[1], ")");
  return {(input[0] - pool_[0]) / strides_[0] + 1, (input[1] - pool_[1]) / strides_[1] + 1, input[2]};
}

Tensor MaxPooling2D::forward(const Tensor& x) {
  return ops::maxpool2d(x, options());
}

// ---------------------------------------------------------------- BatchNormalization
BatchNormalization::BatchNormalization(ops::BatchNormOptions options) : options_(options) {
  check(options.epsilon > 0 && options.momentum >= 0 && options.momentum <= 1, "BatchNormalization",
        "epsilon must be > 0 and momentum in [0, 1]");
}

Shape BatchNormalization::on_build(const Shape& input) {
  check(input.rank() >= 1, name(), "BatchNormalization expects samples with a channel axis");
  const int64_t c = input[-1];
  gamma = add_variable("gamma", init::ones({c}));
  beta = add_variable("beta", init::zeros({c}));
  moving_mean = add_variable("moving_mean", init::zeros({c}), false);
  moving_variance = add_variable("moving_variance", init::ones({c}), false);
  return input;
}

Tensor BatchNormalization::forward(const Tensor& x) {
  return ops::batchnorm(x, gamma, beta, moving_mean, moving_variance, training(), options_);
}

// ---------------------------------------------------------------- activations, Dropout, shapes
LeakyReLU::LeakyReLU(double negative_slope) : negative_slope_(negative_slope) {
  check(negative_slope >= 0 && negative_slope < 1, "LeakyReLU", "negative_slope must lie in [0, 1), got ",
        negative_slope);
}

Tensor LeakyReLU::forward(const Tensor& x) { return ops::leaky_relu(x, negative_slope_); }

Dropout::Dropout(double rate) : rate_(rate) {
  check(rate >= 0 && rate < 1, "Dropout", "rate must lie in [0, 1), got ", rate);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!training()) return x;
  return ops::dropout(x, rate_, default_generator().next_u64(), true);
}

Tensor Flatten::forward(const Tensor& x) { return ops::flatten(x); }

Shape Reshape::on_build(const Shape& input) {
  check(target_.numel() == input.numel(), name(), "cannot reshape samples ", input, " (", input.numel(),
        " values) to ", target_, " (", target_.numel(), " values)");
  return target_;
}

Tensor Reshape::forward(const Tensor& x) { return ops::reshape(x, target_.prepend(x.dim(0))); }

}  // namespace timbre::nn
