// Genre probabilities of whole audio files: the file's log-mel patches through
// the model (whose Normalization layer scales them as in training), averaged over patches.
#pragma once

#include <string>
#include <vector>

#include "timbre/data/features.h"
#include "timbre/nn/module.h"

namespace timbre::train {

struct FilePrediction {
  std::vector<double> probabilities;  // per class, the mean over the file's patches
  int64_t patches = 0;
  std::vector<int32_t> patch_votes;   // per patch, in time order, its most probable class
};

// Throws timbre::Error (a data::ClipError) naming the file when it cannot be used: unreadable, too short
// under `features`, silent, or holding NaN samples.
FilePrediction predict_file(nn::Module& model, const std::string& path, const data::FeatureOptions& features = {}, int64_t batch_size = 128,
                            Device device = Device::cpu());

}  // namespace timbre::train
