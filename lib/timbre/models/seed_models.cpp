#include "timbre/models/seed_models.h"

#include "timbre/nn/layers.h"
#include "timbre/nn/normalization.h"
#include "timbre/nn/recurrent.h"

namespace timbre::models {

using namespace timbre::nn;

nn::Sequential parallel_cnn(int64_t classes) {
  Sequential model(Concatenate(Sequential(Conv2D(3, {8, 8}), LeakyReLU(0.3), MaxPooling2D(4), Flatten()),
                               Sequential(Conv2D(4, {4, 4}), LeakyReLU(0.3), MaxPooling2D(2), Flatten())),
                   Dense(classes));
  model.set_name("parallel_cnn");
  model.build(patch_shape);
  return model;
}

nn::Sequential cnn_lstm(int64_t classes) {
  // Keras' Conv2D default activation is linear, and P1.2 names none.
  Sequential model(Conv2D(8, {4, 4}), MaxPooling2D(2), Conv2D(6, {3, 3}), MaxPooling2D(2), Reshape({324, 6}),
                   LSTM(128, /*return_sequences=*/true), LSTM(32), Dense(200, Activation::relu), Dropout(0.2),
                   Dense(classes));
  model.set_name("cnn_lstm");
  model.build(patch_shape);
  return model;
}

nn::Sequential cnn_bilstm(int64_t classes) {
  Sequential model(Conv2D(8, {4, 4}, Padding::same), BatchNormalization(), LeakyReLU(0.3), MaxPooling2D(2),
                   Conv2D(6, {3, 3}, Padding::same), BatchNormalization(), LeakyReLU(0.3), MaxPooling2D(2),
                   Reshape({100, 24}), Bidirectional(LSTM(128, /*return_sequences=*/true)), Bidirectional(LSTM(32)),
                   Dense(200, Activation::relu), Dropout(0.3), Dense(classes));
  model.set_name("cnn_bilstm");
  model.build(patch_shape);
  return model;
}

const std::vector<SeedModel>& seed_models() {
  static const std::vector<SeedModel> all = {
      {"parallel_cnn", "P1.1 parallel CNN", parallel_cnn, OptimizerKind::sgd, 0.01, 0.9, 54'255},
      {"cnn_lstm", "P1.2 CNN-LSTM", cnn_lstm, OptimizerKind::sgd, 0.01, 0.9, 98'510},
      {"cnn_bilstm", "P2 CNN-BiLSTM", cnn_bilstm, OptimizerKind::adam, 1e-3, 0.0, 245'894},
  };
  return all;
}

const SeedModel& seed_model(const std::string& name) {
  std::string known;
  for (const SeedModel& m : seed_models()) {
    if (m.name == name) return m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  fail("seed_model: unknown model \"" + name + "\"; known models: " + known);
}

std::string optimizer_name(OptimizerKind kind) { return kind == OptimizerKind::sgd ? "SGD" : "Adam"; }

nn::Sequential make_trainer_model(const SeedModel& spec, int64_t classes, const std::string& normalize,
                                  const Tensor& adapt_on) {
  Normalization::Axis axis;
  if (!parse_normalization_axis(normalize, axis)) return spec.make(classes);
  check(axis == Normalization::Axis::band || axis == Normalization::Axis::global, "--normalize",
        "expected none, band or global, got '", normalize, "'");
  Normalization norm(axis);
  if (adapt_on.defined()) norm.adapt(adapt_on);
  Sequential model;
  model.add(std::move(norm)).add(spec.make(classes));
  model.set_name(spec.name);
  model.build(patch_shape);
  return model;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const SeedModel& model, std::vector<Tensor> parameters,
                                                 double learning_rate) {
  if (model.optimizer == OptimizerKind::sgd)
    return std::make_unique<optim::SGD>(std::move(parameters), learning_rate, model.momentum);
  return std::make_unique<optim::Adam>(std::move(parameters), learning_rate);
}

}  // namespace timbre::models
