// The seed's three models (reference-notes.md, "The seed's three models"),
// defined once for the examples, tests and benchmarks. Each takes one log-mel
// patch (80, 80, 1) and is returned built. The last Dense is linear: it gives
// logits, which training feeds to ops::softmax_cross_entropy and inference to
// ops::softmax, so the parameter totals are Keras' own (54,255 / 98,510 / 245,894).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "timbre/nn/containers.h"
#include "timbre/optim/optimizer.h"

namespace timbre::models {

inline const Shape patch_shape{80, 80, 1};

// P1.1: two convolutional branches side by side, concatenated, one Dense.
nn::Sequential parallel_cnn(int64_t classes = 8);
// P1.2: two convolutions, then LSTM 128 (sequences) and LSTM 32, Dense 200, Dropout 0.2.
nn::Sequential cnn_lstm(int64_t classes = 8);
// P2: convolutions with BatchNorm, then two bidirectional LSTMs, Dense 200, Dropout 0.3.
nn::Sequential cnn_bilstm(int64_t classes = 8);

enum class OptimizerKind { sgd, adam };

// A seed model with its training recipe (optimizer and defaults as in the seed).
struct SeedModel {
  std::string name;   // "parallel_cnn", the name checkpoints record
  std::string title;  // "P1.1 parallel CNN"
  std::function<nn::Sequential(int64_t classes)> make;
  OptimizerKind optimizer;
  double learning_rate;
  double momentum;             // SGD only
  int64_t keras_parameters;    // Keras' total for 8 classes
};

const std::vector<SeedModel>& seed_models();
// The model called `name`; throws timbre::Error listing the known names.
const SeedModel& seed_model(const std::string& name);

// The recipe's optimizer over `parameters` at `learning_rate`.
std::unique_ptr<optim::Optimizer> make_optimizer(const SeedModel& model, std::vector<Tensor> parameters,
                                                 double learning_rate);
std::string optimizer_name(OptimizerKind kind);

// The model as the trainers build it (issue 13): with `normalize` "band" (one
// mean and variance per mel band, the default) or "global", an input
// Normalization layer comes first, adapted on `adapt_on` (the training patches)
// when it is given; predict leaves it undefined and restores the statistics from
// a checkpoint. "none" gives the seed's model exactly, as Keras had it.
nn::Sequential make_trainer_model(const SeedModel& spec, int64_t classes, const std::string& normalize,
                                  const Tensor& adapt_on = Tensor());

}  // namespace timbre::models
