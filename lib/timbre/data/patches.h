// Cutting a log-mel spectrogram into fixed-size patches, the CNN's inputs.
#pragma once

#include <cstdint>
#include <string>

#include "timbre/core/tensor.h"
#include "timbre/data/melspec.h"

namespace timbre::data {

struct PatchOptions {
  enum class ShortClip {
    fail,  // a clip with too few frames is an error (folder readers warn and skip it)
    pad    // missing frames are filled with the clip's floor (its lowest value: silence)
  };
  int64_t patches_per_clip = 15;  // <= 0: as many as fit
  int64_t frames_per_patch = 80;
  int64_t patch_hop = 0;    // frames from one patch's start to the next; <= 0: frames_per_patch (no overlap)
  int64_t first_frame = 0;  // where the first patch starts
  ShortClip short_clip = ShortClip::fail;

  int64_t hop() const { return patch_hop > 0 ? patch_hop : frames_per_patch; }
};

// Patches of `spectrogram` as a tensor (P, n_mels, frames_per_patch, 1):
// patch p holds frames [first_frame + p * hop, ... + frames_per_patch).
// `source` names the clip in error messages.
Tensor cut_patches(const MelSpectrogram& spectrogram, const PatchOptions& options, const std::string& source);

}  // namespace timbre::data
