#include "timbre/data/patches.h"

#include <algorithm>

namespace timbre::data {

std::string to_string(ClipProblem problem) {
  switch (problem) {
    case ClipProblem::unreadable: return "unreadable";
    case ClipProblem::too_short: return "too short";
    case ClipProblem::non_finite: return "non-finite samples";
    case ClipProblem::silent: return "silent";
  }
  return "unknown";
}

Tensor cut_patches(const MelSpectrogram& s, const PatchOptions& o, const std::string& source) {
  check(o.frames_per_patch >= 1, source, "frames_per_patch must be at least 1, got ", o.frames_per_patch);
  check(o.first_frame >= 0, source, "first_frame must be non-negative, got ", o.first_frame);
  check(s.n_mels >= 1 && static_cast<int64_t>(s.values.size()) == s.n_mels * s.frames, source,
        "malformed spectrogram of ", s.values.size(), " values for ", s.n_mels, " x ", s.frames);
  const int64_t hop = o.hop(), width = o.frames_per_patch;
  const int64_t available = s.frames - o.first_frame;
  const int64_t fitting = available >= width ? 1 + (available - width) / hop : 0;
  int64_t count = o.patches_per_clip > 0 ? o.patches_per_clip : std::max<int64_t>(fitting, 1);
  const int64_t needed = o.first_frame + (count - 1) * hop + width;
  if (fitting < count && o.short_clip != PatchOptions::ShortClip::pad)
    throw ClipError(ClipProblem::too_short,
                    detail::concat(source, ": clip too short: ", s.frames, " frames, but ", count, " patch(es) of ",
                                   width, " frames (hop ", hop, ", from frame ", o.first_frame, ") need ", needed));
  // The floor is only needed where patches run past the last frame.
  const float floor = needed > s.frames ? *std::min_element(s.values.begin(), s.values.end()) : 0.0f;
  Tensor out = Tensor::empty({count, s.n_mels, width, 1});
  float* dst = out.data<float>();
  for (int64_t p = 0; p < count; ++p) {
    const int64_t start = o.first_frame + p * hop;
    const int64_t present = std::clamp<int64_t>(s.frames - start, 0, width);
    for (int64_t m = 0; m < s.n_mels; ++m) {
      const float* row = s.values.data() + m * s.frames + std::min(start, s.frames);
      dst = std::copy(row, row + present, dst);
      dst = std::fill_n(dst, width - present, floor);
    }
  }
  return out;
}

}  // namespace timbre::data
