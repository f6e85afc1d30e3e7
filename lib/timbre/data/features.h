// Audio to CNN inputs in one call: decode, mono, resample, log-mel, patches.
// The same path serves real files (GTZAN folders, the trainers' predict
// program) and synthetic audio.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "timbre/core/tensor.h"
#include "timbre/data/dataset.h"
#include "timbre/data/melspec.h"
#include "timbre/data/patches.h"

namespace timbre::data {

// Peak amplitude at or below which a clip counts as silent: under half of 16-bit audio's
// smallest step (3.05e-5), so only digital silence and near-silence qualify.
inline constexpr float kSilence = 1.5e-5f;

struct FeatureOptions {
  int sample_rate = 22050;  // audio is resampled to this rate before the STFT
  MelOptions mel;
  PatchOptions patch;
  // Clips shorter than this are refused (ClipProblem::too_short) rather than padded into patches
  // that are mostly floor.
  double min_clip_seconds = 1.0;

  // The seed's features: its patches (PatchOptions::seed()), no minimum length beyond them.
  static FeatureOptions seed() {
    FeatureOptions o;
    o.patch = PatchOptions::seed();
    o.min_clip_seconds = 0;
    return o;
  }
};

// A canonical text of every option that changes the features (the feature cache's key).
std::string describe(const FeatureOptions& options);

// Reusable, thread-safe extraction for one set of options (builds the
// filterbank and FFT plan once).
class FeatureExtractor {
 public:
  explicit FeatureExtractor(const FeatureOptions& options = {});

  // Patches (P, n_mels, frames_per_patch, 1) of mono audio at options.sample_rate.
  // `source` names the clip in errors. Throws ClipError for a clip shorter than
  // min_clip_seconds or its patches, with NaN or infinite samples, or silent
  // (no sample above kSilence).
  Tensor from_audio(const std::vector<float>& mono, const std::string& source = "audio") const;
  // Patches of an audio file (any rate, any channel count). Throws ClipError naming the file
  // (ClipProblem::unreadable when it cannot be decoded).
  Tensor from_file(const std::string& path) const;

  const FeatureOptions& options() const { return options_; }
  const MelExtractor& mel() const { return *mel_; }

 private:
  FeatureOptions options_;
  std::shared_ptr<const MelExtractor> mel_;
};

Tensor patches_from_file(const std::string& path, const FeatureOptions& options = {});

// One clip's patches with its label and song name.
struct ClipPatches {
  Tensor patches;  // (P, H, W, 1)
  int32_t label = 0;
  std::string song_name;
};
// The clips' patches stacked in order into one data set, clip i becoming song i.
// Throws timbre::Error (prefixed by `source`) when there are no patches or their shapes differ.
PatchDataset stack_clips(const std::vector<ClipPatches>& clips, const std::vector<std::string>& class_names,
                         const std::string& source);
Tensor patches_from_audio(const std::vector<float>& mono_22050, const FeatureOptions& options = {});

}  // namespace timbre::data
