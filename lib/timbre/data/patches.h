// Cutting a log-mel spectrogram into fixed-size patches, the CNN's inputs.
#pragma once

#include <cstdint>
#include <string>

#include "timbre/core/error.h"
#include "timbre/core/tensor.h"
#include "timbre/data/melspec.h"

namespace timbre::data {

// Why a clip cannot be used; data-set readers skip such clips and count them by this.
enum class ClipProblem { unreadable, too_short, non_finite, silent };
std::string to_string(ClipProblem problem);  // "unreadable", "too short", "non-finite samples", "silent"

// A timbre::Error about one clip, with the reason's kind.
class ClipError : public Error {
 public:
  ClipError(ClipProblem problem, const std::string& message) : Error(message), problem_(problem) {}
  ClipProblem problem() const { return problem_; }

 private:
  ClipProblem problem_;
};

struct PatchOptions {
  enum class ShortClip {
    fail,  // a clip with too few frames is a ClipError (data-set readers skip it)
    pad    // missing frames are filled with the clip's floor (its lowest value: silence)
  };
  int64_t patches_per_clip = 0;  // <= 0: as many as fit (a clip of any length gives at least one)
  int64_t frames_per_patch = 80;
  int64_t patch_hop = 0;    // frames from one patch's start to the next; <= 0: frames_per_patch (no overlap)
  int64_t first_frame = 0;  // where the first patch starts
  ShortClip short_clip = ShortClip::pad;

  int64_t hop() const { return patch_hop > 0 ? patch_hop : frames_per_patch; }
  // The seed's patches: 15 per clip from its start, a clip too short for them refused.
  static PatchOptions seed() {
    PatchOptions o;
    o.patches_per_clip = 15;
    o.short_clip = ShortClip::fail;
    return o;
  }
};

// Patches of `spectrogram` as a tensor (P, n_mels, frames_per_patch, 1):
// patch p holds frames [first_frame + p * hop, ... + frames_per_patch).
// `source` names the clip in error messages; a clip too short under ShortClip::fail
// is a ClipError (too_short).
Tensor cut_patches(const MelSpectrogram& spectrogram, const PatchOptions& options, const std::string& source);

}  // namespace timbre::data
