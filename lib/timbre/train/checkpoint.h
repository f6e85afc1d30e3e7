// Training checkpoints as safetensors files: the model's variables under their
// qualified names ("conv2d/kernel"), the optimizer's state under "optimizer/<name>"
// ("optimizer/velocity", "optimizer/m"), and in __metadata__ what a resumed
// run needs: completed epochs, history, both random generators' states, the
// model's name and classes, and the run's settings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "timbre/data/features.h"
#include "timbre/io/safetensors.h"
#include "timbre/nn/module.h"
#include "timbre/optim/optimizer.h"
#include "timbre/train/history.h"

namespace timbre::train {

inline constexpr const char* checkpoint_format = "timbre-checkpoint";
inline constexpr int checkpoint_version = 1;

struct CheckpointInfo {
  std::string model;                     // the seed model's name, e.g. "cnn_bilstm"
  std::vector<std::string> class_names;  // in label order
  int64_t epoch = 0;                     // completed epochs
  History history;
  double best_val_accuracy = -1;
  std::string optimizer;                 // "SGD" or "Adam"
  int64_t optimizer_iterations = 0;
  std::string shuffle_rng;               // Generator::state() of the shuffling generator
  std::string default_rng;               // Generator::state() of timbre's default generator (Dropout)
  std::string config;                    // the run's settings as JSON
  std::string normalize;                 // the model's input Normalization: "band", "global" or "none"
  data::FeatureOptions features;         // how the training audio became patches; predict cuts files alike
  // The run's identity as a JSON object (data source and song lists, split, seed, features, model, recipe);
  // empty in checkpoints written before fingerprints.
  std::string fingerprint;
  std::string resume_overrides = "[]";   // JSON: each --resume-anyway, {after_epoch, differences}
};

// The keys whose values differ between two fingerprints, as "key: A in the checkpoint, B now; ...".
std::string fingerprint_differences(const std::string& stored, const std::string& current);
// Whether a run with fingerprint `current` may continue `info`: throws timbre::Error saying what differs
// unless `anyway`.
struct ResumeCheck {
  std::string differences;       // fingerprint_differences; empty when the runs are the same
  std::string resume_overrides;  // to record from now on: info's, plus this override if any
};
ResumeCheck check_resumable(const CheckpointInfo& info, const std::string& current, bool anyway,
                            const std::string& source);

// The feature options a trainer's flags change, as JSON: patches_per_clip, patch_hop, short_clips ("pad" or
// "skip"), min_clip_seconds. Parsing starts from the defaults; throws timbre::Error for a malformed text.
std::string features_to_json(const data::FeatureOptions& features);
data::FeatureOptions features_from_json(const std::string& json, const std::string& source);

// Writes `path` atomically. `optimizer` may be null (weights only).
void save_checkpoint(const std::filesystem::path& path, nn::Module& model, optim::Optimizer* optimizer,
                     const CheckpointInfo& info);

struct LoadedCheckpoint {
  io::SafetensorsFile file;
  CheckpointInfo info;
};
// Reads and checks the format and version; throws timbre::Error naming the file.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

// Copies the checkpoint's variables into `model`: every variable must be present
// with its shape, and the checkpoint may hold no other weights.
void restore_model(nn::Module& model, const LoadedCheckpoint& checkpoint, const std::string& source);
// Copies the optimizer's state (and its iteration count) back.
void restore_optimizer(optim::Optimizer& optimizer, const LoadedCheckpoint& checkpoint, const std::string& source);

}  // namespace timbre::train
