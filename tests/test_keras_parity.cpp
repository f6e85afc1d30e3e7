// timbre against Keras 3 (tests/fixtures/keras, tools/reference/make_keras_fixtures.py):
// each layer's output, input and weight gradients, BatchNorm's moving statistics,
// Keras' SGD-momentum and Adam steps, categorical cross-entropy on softmax
// outputs against the fused op on logits, and one training step of each seed
// model. float32 on both sides; tolerance in keras_fixture.h (1e-4 relative).
// LSTM and Bidirectional have their own Keras fixture (test_lstm.cpp); the seed
// models cover them again here.
#include <catch2/catch.hpp>
#include <functional>

#include "keras_fixture.h"

using namespace timbre;
using timbre::testing::check_close;
using timbre::testing::KerasFixture;
using timbre::testing::load_keras_fixture;
using timbre::testing::short_name;

namespace {

const KerasFixture& layer_fixture() {
  static const KerasFixture fixture = load_keras_fixture("layers.safetensors");
  return fixture;
}

Shape per_sample(const Shape& batch) {
  std::vector<int64_t> dims;
  for (int64_t i = 1; i < batch.rank(); ++i) dims.push_back(batch[i]);
  return Shape(dims);
}

// Builds `layer` for the case's input and gives it the case's variables.
void prepare(nn::Module& layer, const std::string& name, bool training) {
  const KerasFixture& f = layer_fixture();
  layer.build(per_sample(f[name + ".x"].shape()));
  for (const nn::Variable& v : layer.variables()) v.value.copy_from(f[name + "." + short_name(v.name)]);
  layer.set_training(training);
}

// Output, input gradient and weight gradients of sum(upstream * y).
void check_layer_case(nn::Module& layer, const std::string& name, bool training = false) {
  const KerasFixture& f = layer_fixture();
  prepare(layer, name, training);
  Tensor x = f[name + ".x"].clone();
  x.set_requires_grad();
  const Tensor y = layer(x);
  check_close(y, f[name + ".y"], name + " output");
  y.backward(f[name + ".upstream"]);
  check_close(x.grad(), f[name + ".grad.x"], name + " input gradient");
  for (const nn::Variable& v : layer.variables())
    if (v.trainable) check_close(v.value.grad(), f[name + ".grad." + short_name(v.name)], name + " gradient of " + v.name);
}

// Two optimizer steps with the case's gradients, against Keras' variables after each.
void check_optimizer_steps(const std::function<nn::ModulePtr()>& make_layer, const std::string& name) {
  const KerasFixture& f = layer_fixture();
  for (const std::string kind : {"sgd", "adam"}) {
    const nn::ModulePtr layer = make_layer();
    prepare(*layer, name, false);
    std::vector<nn::Variable> variables = layer->variables();
    std::unique_ptr<optim::Optimizer> optimizer;
    if (kind == "sgd")
      optimizer = std::make_unique<optim::SGD>(layer->trainable_parameters(), 0.01, 0.9);
    else
      optimizer = std::make_unique<optim::Adam>(layer->trainable_parameters(), 1e-3);
    for (int step = 1; step <= 2; ++step) {
      for (const nn::Variable& v : variables) v.value.grad().copy_from(f[name + ".grad." + short_name(v.name)]);
      optimizer->step();
      for (const nn::Variable& v : variables)
        check_close(v.value, f[name + "." + kind + std::to_string(step) + "." + short_name(v.name)],
                    name + " " + kind + " step " + std::to_string(step) + " " + v.name);
    }
  }
}

// Dropout runs as the identity, as Keras' Dropout(0) in the fixture's training step.
void dropout_to_inference(nn::Module& module) {
  if (module.type_name() == "Dropout") module.set_training(false);
  for (nn::Module* child : module.children()) dropout_to_inference(*child);
}

}  // namespace

TEST_CASE("keras parity: Conv2D valid and same, odd and even kernels", "[keras]") {
  for (const std::string padding : {"valid", "same"})
    for (const auto& [kh, kw] : {std::pair{3, 3}, std::pair{4, 4}, std::pair{4, 3}}) {
      const std::string name = "conv2d_" + padding + "_" + std::to_string(kh) + "x" + std::to_string(kw);
      nn::Conv2D layer(4, {kh, kw}, padding == "same" ? nn::Padding::same : nn::Padding::valid);
      check_layer_case(layer, name);
    }
}

TEST_CASE("keras parity: SGD momentum and Adam steps on Conv2D and Dense", "[keras]") {
  check_optimizer_steps([] { return nn::make_module(nn::Conv2D(4, {3, 3})); }, "conv2d_valid_3x3");
  check_optimizer_steps([] { return nn::make_module(nn::Dense(5)); }, "dense");
}

TEST_CASE("keras parity: MaxPooling2D", "[keras]") {
  nn::MaxPooling2D pool2(2), pool4(4);
  check_layer_case(pool2, "maxpool_2");
  check_layer_case(pool4, "maxpool_4");
}

TEST_CASE("keras parity: BatchNormalization in training and inference", "[keras]") {
  nn::BatchNormalization train, infer;
  check_layer_case(train, "batchnorm_train", /*training=*/true);
  check_close(train.moving_mean, layer_fixture()["batchnorm_train.moving_mean.after"], "moving mean after training");
  check_close(train.moving_variance, layer_fixture()["batchnorm_train.moving_variance.after"],
              "moving variance after training");
  check_layer_case(infer, "batchnorm_infer", /*training=*/false);
  check_close(infer.moving_mean, layer_fixture()["batchnorm_infer.moving_mean"], "inference leaves the moving mean");
}

TEST_CASE("keras parity: LeakyReLU, Dense, Dropout in inference, softmax", "[keras]") {
  nn::LeakyReLU leaky(0.3);
  check_layer_case(leaky, "leaky_relu");
  nn::Dense dense(5), dense_relu(5, nn::Activation::relu);
  check_layer_case(dense, "dense");
  check_layer_case(dense_relu, "dense_relu");
  nn::Dropout dropout(0.3);
  check_layer_case(dropout, "dropout_infer", /*training=*/false);
  nn::ActivationLayer softmax(nn::Activation::softmax);
  check_layer_case(softmax, "softmax");
}

TEST_CASE("keras parity: categorical cross-entropy on softmax outputs vs the fused op on logits", "[keras]") {
  const KerasFixture& f = layer_fixture();
  for (const std::string targets : {"onehot", "soft"}) {
    const std::string name = "xent_" + targets;
    Tensor logits = f[name + ".logits"].clone();
    logits.set_requires_grad();
    const Tensor loss = ops::softmax_cross_entropy(logits, f[name + ".targets"]);
    check_close(loss, f[name + ".loss"], name + " loss");
    loss.backward();
    check_close(logits.grad(), f[name + ".grad.logits"], name + " gradient of the logits");
  }
}

TEST_CASE("keras parity: seed models, forward and one training step", "[keras]") {
  for (const models::SeedModel& seed : models::seed_models()) {
    SECTION(seed.name) {
      const KerasFixture f = load_keras_fixture(seed.name + ".safetensors");
      nn::Sequential model = seed.make(8);
      io::load_keras_weights(model, testing::keras_fixture_path(seed.name + ".weights.h5"));

      model.set_training(false);
      check_close(ops::softmax(model(f["x"])), f["probs"], seed.name + " inference probabilities");

      // The training step: BatchNorm on batch statistics, Dropout as the identity (Keras ran rate 0).
      model.set_training(true);
      dropout_to_inference(model);
      const std::vector<nn::Variable> variables = model.variables();
      std::vector<Tensor> before;
      for (const nn::Variable& v : variables) before.push_back(v.value.clone());
      const std::unique_ptr<optim::Optimizer> optimizer =
          models::make_optimizer(seed, model.trainable_parameters(), seed.learning_rate);
      optimizer->zero_grad();
      Tensor x = f["x"].clone();
      x.set_requires_grad();
      const Tensor logits = model(x);
      check_close(ops::softmax(logits), f["probs.train"], seed.name + " training-mode probabilities");
      const Tensor loss = ops::softmax_cross_entropy(logits, f["targets"]);
      check_close(loss, f["loss"], seed.name + " loss");
      loss.backward();
      check_close(x.grad(), f["grad.x"], seed.name + " input gradient");
      // A convolution's bias feeding BatchNorm in training has an exactly zero gradient (the batch mean
      // removes it): both sides hold float32 rounding noise there, judged against the model's largest gradient.
      double largest_gradient = 0;
      std::vector<bool> vanishing(variables.size(), false);
      for (size_t i = 0; i < variables.size(); ++i)
        if (variables[i].trainable)
          for (double g : f["grad." + std::to_string(i)].to_vector<double>())
            largest_gradient = std::max(largest_gradient, std::abs(g));
      for (size_t i = 0; i < variables.size(); ++i) {
        if (!variables[i].trainable) continue;
        const Tensor& want = f["grad." + std::to_string(i)];
        double largest = 0;
        for (double g : want.to_vector<double>()) largest = std::max(largest, std::abs(g));
        vanishing[i] = largest < 1e-5 * largest_gradient;
        check_close(variables[i].value.grad(), want, seed.name + " gradient of " + variables[i].name,
                    vanishing[i] ? largest_gradient : 0);
      }
      optimizer->step();
      for (size_t i = 0; i < variables.size(); ++i) {
        const std::string key = "after." + std::to_string(i);
        const std::string what = seed.name + " after the step: " + variables[i].name;
        if (vanishing[i]) {
          // Adam turns rounding noise into steps of up to lr (g / (|g| + 1e-7)): only the bound is defined.
          const std::vector<double> w0 = before[i].to_vector<double>(), w1 = variables[i].value.to_vector<double>();
          double largest_step = 0;
          for (size_t k = 0; k < w0.size(); ++k) largest_step = std::max(largest_step, std::abs(w1[k] - w0[k]));
          INFO(what << ": largest step " << largest_step);
          CHECK(largest_step <= seed.learning_rate * (1 + 1e-4));
        } else if (f.has(key)) {
          check_close(variables[i].value, f[key], what);
        } else {
          // Keras' first SGD-momentum step from zero velocity is w - lr * g (the fixture keeps g only).
          REQUIRE(seed.optimizer == models::OptimizerKind::sgd);
          const std::vector<double> w = before[i].to_vector<double>(),
                                    g = f["grad." + std::to_string(i)].to_vector<double>();
          std::vector<double> want(w.size());
          for (size_t k = 0; k < w.size(); ++k) want[k] = w[k] - seed.learning_rate * g[k];
          check_close(variables[i].value, Tensor::from<double>(before[i].shape(), want), what);
        }
      }
    }
  }
}
