// The training loop: per-epoch seeded shuffling, mini-batches gathered on a
// background thread, softmax cross-entropy on the model's logits, validation
// after every epoch, history (CSV, JSON) and plots (PNG), and checkpoints
// (last.safetensors every epoch, best.safetensors at the best validation
// accuracy) from which --resume continues bit-identically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "timbre/data/augment.h"
#include "timbre/data/dataset.h"
#include "timbre/data/features.h"
#include "timbre/dist/communicator.h"
#include "timbre/nn/module.h"
#include "timbre/optim/optimizer.h"
#include "timbre/train/callbacks.h"
#include "timbre/train/history.h"
#include "timbre/train/metrics.h"

namespace timbre::train {

enum class ProgressStyle {
  automatic,  // a bar when the log is std::cout on a terminal, else one line per epoch
  bar,
  lines,
  quiet,
};

struct FitOptions {
  int64_t epochs = 50;
  int64_t batch_size = 128;
  uint64_t seed = 42;  // the shuffling generator's seed (the caller seeds timbre's default generator)
  Device device = Device::cpu();
  // Where history, plots, evaluation and checkpoints go; empty: nothing is written.
  std::filesystem::path out_dir;
  bool resume = false;     // continue from out_dir/last.safetensors
  std::string model_name;  // recorded in checkpoints (predict rebuilds the model from it)
  std::string model_title; // in plot titles
  std::string optimizer_name;
  std::string config_json = "{}";  // the run's settings, recorded in checkpoints
  // What makes a run the same run (checkpoint.h, run_fingerprint): a resume with another one is refused
  // unless resume_anyway, which records the differences in the checkpoints.
  std::string fingerprint = "{}";
  bool resume_anyway = false;
  std::string split_note;          // how train and validation were split, in evaluation.json
  std::string normalize = "none";  // the model's input Normalization mode, recorded in checkpoints
  data::FeatureOptions features;   // how the patches were cut from audio, recorded in checkpoints for predict
  data::Augmentation augmentation;  // applied to the training batches, drawn anew every epoch
  Callbacks callbacks;              // called around every epoch, in this order
  ProgressStyle progress = ProgressStyle::automatic;
  std::ostream* log = &std::cout;
  // Data parallel across this communicator's ranks (lib/timbre/dist): batch_size is the global batch (a
  // multiple of the world size), each rank trains on its shard, gradients are averaged, the epoch's metrics
  // summed over ranks; only rank 0 prints and writes. nullptr: this process alone.
  dist::Communicator* communicator = nullptr;
};

struct FitResult {
  History history;            // every epoch, the resumed ones included
  Evaluation validation;      // after the last epoch
  int64_t best_epoch = 0;     // by validation accuracy
  bool resumed_from = false;  // true when a checkpoint was loaded
};

// Trains `model` (built, on options.device) with `optimizer` (over its trainable
// parameters). Inputs holding NaN or infinity are refused before training, naming
// their songs; a non-finite training loss stops training with a timbre::Error
// that names the epoch and batch; the checkpoints then still hold the last good epoch.
// A stop asked for by a signal (stop_signal.h) ends after the current batch with
// Interrupted, dropping the partial epoch (a resume repeats it bit-identically).
FitResult fit(nn::Module& model, optim::Optimizer& optimizer, const data::PatchDataset& train,
              const data::PatchDataset& validation, const FitOptions& options);

}  // namespace timbre::train
