// PatchDataset: labelled log-mel patches held in memory, the common currency
// between the data sources (synthetic audio, GTZAN folders, tf.data
// directories) and the training loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "timbre/core/tensor.h"

namespace timbre::data {

struct PatchDataset {
  Tensor patches;                        // (N, H, W, 1) float32, channels-last (H = mel bands, W = frames)
  std::vector<int32_t> labels;           // class index of each patch, in [0, class_names.size())
  std::vector<int32_t> songs;            // song (clip) index of each patch into song_names; -1 when unknown
  std::vector<std::string> class_names;  // genre names, in label order
  std::vector<std::string> song_names;   // e.g. "blues/blues.00042.wav"

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
  // Per-sample shape of a patch, e.g. (80, 80, 1).
  Shape sample_shape() const { return patches.shape().drop_front(); }

  // The patches at `indices`, in that order (songs and names carried along).
  PatchDataset subset(const std::vector<int64_t>& indices) const;
  // Throws timbre::Error when sizes disagree or a label is out of range.
  void validate(const std::string& source) const;
};

}  // namespace timbre::data
