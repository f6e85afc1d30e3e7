#include "timbre/train/classifier.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "timbre/core/error.h"
#include "timbre/data/audio.h"
#include "timbre/data/features.h"
#include "timbre/models/seed_models.h"
#include "timbre/nn/containers.h"
#include "timbre/train/checkpoint.h"
#include "timbre/train/metrics.h"

namespace timbre {

namespace {
// The checkpoint's patches (bands, frames, hop, first frame), over the whole buffer whatever its length:
// a training run's patches_per_clip or skip rule is a data-set choice, not a property of the model.
data::FeatureOptions whole_buffer(data::FeatureOptions f) {
  f.patch.patches_per_clip = 0;
  f.patch.short_clip = data::PatchOptions::ShortClip::pad;
  f.min_clip_seconds = 0;
  return f;
}
void check_audio_format(const char* where, int sample_rate, int channels) {
  check(channels >= 1 && channels <= 64, where, "channels must be 1-64, got ", channels);
  check(sample_rate >= 1000 && sample_rate <= 384000, where, "sample rate must be 1-384 kHz, got ", sample_rate);
}
}  // namespace

struct Classifier::Impl {
  Impl(const std::string& path, Device device)
      : checkpoint(train::load_checkpoint(path)),
        model(models::make_trainer_model(models::seed_model(checkpoint.info.model),
                                         static_cast<int64_t>(checkpoint.info.class_names.size()),
                                         checkpoint.info.normalize)),
        extractor(whole_buffer(checkpoint.info.features)),
        device(device) {
    train::restore_model(model, checkpoint, path);
    model.to(device);
    model.set_training(false);
  }
  train::LoadedCheckpoint checkpoint;
  nn::Sequential model;
  data::FeatureExtractor extractor;
  Device device;
  std::mutex forward;  // one forward pass at a time
};

int Classification::top() const {
  return static_cast<int>(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
}

Classifier::Classifier(const std::string& checkpoint_path, Device device)
    : impl_(std::make_unique<Impl>(checkpoint_path, device)) {}
Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

const std::vector<std::string>& Classifier::genres() const { return impl_->checkpoint.info.class_names; }

double Classifier::patch_seconds() const {
  const data::FeatureOptions& f = impl_->checkpoint.info.features;
  // Centred frames: frame t is centred on sample t * hop, so 80 frames span 79 hops.
  return static_cast<double>(f.patch.frames_per_patch - 1) * f.mel.hop_length / f.sample_rate;
}

Classification Classifier::classify(const float* samples, size_t frames, int sample_rate, int channels) const {
  check(samples != nullptr && frames > 0, "Classifier::classify", "no samples given");
  check_audio_format("Classifier::classify", sample_rate, channels);
  data::Audio audio;
  audio.sample_rate = sample_rate;
  audio.channels = channels;
  audio.samples.assign(samples, samples + frames * static_cast<size_t>(channels));
  const std::vector<float> mono = data::resample(data::mix_to_mono(std::move(audio)), sample_rate,
                                                 impl_->checkpoint.info.features.sample_rate);
  const Tensor patches = impl_->extractor.from_audio(mono, "Classifier::classify");
  Tensor probabilities;
  {
    const std::lock_guard<std::mutex> lock(impl_->forward);
    probabilities = train::predict_probabilities(impl_->model, patches, 128, impl_->device);
  }
  const std::vector<float> p = probabilities.to_vector<float>();
  const size_t classes = genres().size();
  Classification out;
  out.probabilities.assign(classes, 0.f);
  for (size_t i = 0; i < p.size() / classes; ++i) {
    out.patches.emplace_back(p.begin() + static_cast<std::ptrdiff_t>(i * classes),
                             p.begin() + static_cast<std::ptrdiff_t>((i + 1) * classes));
    for (size_t c = 0; c < classes; ++c) out.probabilities[c] += out.patches.back()[c];
  }
  for (float& v : out.probabilities) v /= static_cast<float>(out.patches.size());
  return out;
}

ClassifierStream::ClassifierStream(const Classifier& classifier, int sample_rate, int channels)
    : classifier_(classifier),
      sample_rate_(sample_rate),
      channels_(channels),
      // One sample more than a patch spans, so that the resampled window never falls a frame short.
      window_frames_(static_cast<size_t>(std::ceil(classifier.patch_seconds() * sample_rate)) + 1) {
  check_audio_format("ClassifierStream", sample_rate, channels);
}

std::vector<Classification> ClassifierStream::push(const float* samples, size_t frames) {
  pending_.insert(pending_.end(), samples, samples + frames * static_cast<size_t>(channels_));
  std::vector<Classification> out;
  const size_t window = window_frames_ * static_cast<size_t>(channels_);
  size_t used = 0;
  for (; pending_.size() - used >= window; used += window)
    out.push_back(classifier_.classify(pending_.data() + used, window_frames_, sample_rate_, channels_));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
  return out;
}

}  // namespace timbre
