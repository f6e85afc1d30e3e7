// Evaluation of a classifier on a PatchDataset: loss and accuracy over
// patches, accuracy over songs (the mean of each song's patch probabilities),
// the confusion matrix and per-class precision and recall.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "timbre/data/dataset.h"
#include "timbre/nn/module.h"

namespace timbre::train {

struct ClassScore {
  std::string name;
  int64_t support = 0;     // patches of this class
  int64_t predicted = 0;   // patches predicted as this class
  double precision = 0.0;  // 0 when nothing was predicted as this class
  double recall = 0.0;     // 0 when the class has no patches
};

struct Evaluation {
  double loss = 0.0;      // mean categorical cross-entropy over patches
  double accuracy = 0.0;  // over patches
  int64_t patches = 0;
  int64_t songs = 0;             // songs with a known id (0: song accuracy unknown)
  double song_accuracy = 0.0;    // over songs, from the mean of their patches' probabilities
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class], patch counts
  std::vector<ClassScore> classes;
};

// Softmax probabilities (N, C) of `model` for `patches` (N, ...), in inference
// mode without autograd, `batch_size` rows at a time on `device`. Returned on the CPU.
Tensor predict_probabilities(nn::Module& model, const Tensor& patches, int64_t batch_size,
                             Device device = Device::cpu());

// Evaluates `model` on `dataset` in inference mode (the model is left in inference mode).
Evaluation evaluate(nn::Module& model, const data::PatchDataset& dataset, int64_t batch_size,
                    Device device = Device::cpu());

// Scores given probabilities (N, C), row-major, against `dataset`'s labels and songs;
// `loss` is the mean cross-entropy measured elsewhere and is only carried along.
Evaluation score_probabilities(const std::vector<float>& probabilities, const data::PatchDataset& dataset,
                               double loss);

// A readable table: per-class precision, recall and support, then the accuracies.
std::string format_class_report(const Evaluation& e);
// evaluation.json (everything) and per_class.csv (class, support, predicted, precision, recall), atomically.
void write_evaluation(const std::filesystem::path& dir, const Evaluation& e, const std::string& split_note);

}  // namespace timbre::train
