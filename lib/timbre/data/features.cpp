#include "timbre/data/features.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "timbre/core/error.h"
#include "timbre/data/audio.h"

namespace timbre::data {

std::string describe(const FeatureOptions& o) {
  const MelOptions& m = o.mel;
  const PatchOptions& p = o.patch;
  std::ostringstream s;
  s.precision(17);
  s << "sr=" << o.sample_rate << " n_fft=" << m.n_fft << " hop=" << m.hop_length << " center=" << m.center
    << " padding=" << static_cast<int>(m.padding) << " power=" << m.power << " n_mels=" << m.n_mels
    << " fmin=" << m.fmin << " fmax=" << m.fmax << " htk=" << m.htk << " norm=" << static_cast<int>(m.norm)
    << " to_db=" << m.to_db << " amin=" << m.amin << " top_db=" << m.top_db
    << " ref=" << static_cast<int>(m.reference) << " patches=" << p.patches_per_clip
    << " width=" << p.frames_per_patch << " patch_hop=" << p.hop() << " first=" << p.first_frame
    << " short=" << static_cast<int>(p.short_clip) << " min_seconds=" << o.min_clip_seconds;
  return s.str();
}

FeatureExtractor::FeatureExtractor(const FeatureOptions& options)
    : options_(options), mel_(std::make_shared<MelExtractor>(options.sample_rate, options.mel)) {}

// The decoded samples and the spectrogram of each clip live in buffers kept per
// thread from clip to clip: fresh multi-megabyte allocations each time would
// cost a page fault per 4 KB, about as much as the log-mel itself.
Tensor FeatureExtractor::from_audio(const std::vector<float>& mono, const std::string& source) const {
  const double seconds = static_cast<double>(mono.size()) / options_.sample_rate;
  if (mono.empty() || seconds < options_.min_clip_seconds)
    throw ClipError(ClipProblem::too_short, detail::concat(source, ": clip too short: ", seconds, " s, the minimum is ",
                                                           options_.min_clip_seconds, " s"));
  float peak = 0;
  for (float x : mono) {
    if (!std::isfinite(x))
      throw ClipError(ClipProblem::non_finite, source + ": the audio holds NaN or infinite samples");
    peak = std::max(peak, std::abs(x));
  }
  if (peak <= kSilence)
    throw ClipError(ClipProblem::silent, detail::concat(source, ": silent (peak amplitude ", peak, ")"));
  thread_local MelSpectrogram spectrogram;
  mel_->compute(mono.data(), static_cast<int64_t>(mono.size()), spectrogram);
  return cut_patches(spectrogram, options_.patch, source);
}

Tensor FeatureExtractor::from_file(const std::string& path) const {
  thread_local std::vector<float> mono;
  try {
    load_mono(path, options_.sample_rate, mono);
  } catch (const Error& e) {
    throw ClipError(ClipProblem::unreadable, e.what());
  }
  return from_audio(mono, path);
}

Tensor patches_from_file(const std::string& path, const FeatureOptions& options) {
  return FeatureExtractor(options).from_file(path);
}

Tensor patches_from_audio(const std::vector<float>& mono_22050, const FeatureOptions& options) {
  return FeatureExtractor(options).from_audio(mono_22050);
}

PatchDataset stack_clips(const std::vector<ClipPatches>& clips, const std::vector<std::string>& class_names,
                         const std::string& source) {
  check(!clips.empty(), source, "no clips");
  const Shape sample = clips.front().patches.shape().drop_front();
  int64_t total = 0;
  for (const ClipPatches& c : clips) {
    check(c.patches.shape().drop_front() == sample, source, c.song_name, " has patches of shape ", c.patches.shape(),
          ", the first clip ", clips.front().patches.shape());
    total += c.patches.dim(0);
  }
  PatchDataset ds;
  ds.class_names = class_names;
  ds.patches = Tensor::empty(sample.prepend(total));
  float* dst = ds.patches.data<float>();
  for (const ClipPatches& c : clips) {
    std::memcpy(dst, c.patches.data<float>(), c.patches.bytes());
    dst += c.patches.numel();
    const auto song = static_cast<int32_t>(ds.song_names.size());
    ds.song_names.push_back(c.song_name);
    ds.labels.insert(ds.labels.end(), static_cast<size_t>(c.patches.dim(0)), c.label);
    ds.songs.insert(ds.songs.end(), static_cast<size_t>(c.patches.dim(0)), song);
  }
  ds.validate(source);
  return ds;
}

}  // namespace timbre::data
