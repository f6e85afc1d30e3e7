// Genre recognition to embed in an application: load a trained checkpoint once,
// then classify audio buffers of any rate, channel count and length, whole or
// as a stream fed chunk by chunk. Heavy headers stay out (the model is private).
//
//   timbre::Classifier classifier("runs/cnn_bilstm/best.safetensors");
//   timbre::Classification c = classifier.classify(samples, frames, 44100, 2);
//   std::cout << classifier.genres()[c.top()] << "\n";
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "timbre/core/device.h"

namespace timbre {

struct Classification {
  std::vector<float> probabilities;               // per genre: the mean over the patches
  std::vector<std::vector<float>> patches;        // per patch, in time order: its probabilities per genre
  int top() const;                                // the most probable genre's index
};

class Classifier {
 public:
  // Throws timbre::Error naming the file when it is not a usable timbre checkpoint (a checksum fails, an
  // unknown model, ...).
  explicit Classifier(const std::string& checkpoint_path, Device device = Device::cpu());
  ~Classifier();
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;

  const std::vector<std::string>& genres() const;
  // Seconds of audio in one patch (80 frames of the checkpoint's features: about 1.86 s).
  double patch_seconds() const;

  // Probabilities of `frames` frames of interleaved float samples (`channels` per frame, in [-1, 1]) at
  // `sample_rate` Hz, from patches cut as in training (the checkpoint's bands, frames and hop), over the
  // whole buffer (patches_per_clip and the short-clip rule of training do not apply); a buffer shorter
  // than one patch is padded. Thread-safe: any number of threads may call it at once (feature extraction
  // runs concurrently; the model's forward pass one call at a time). Throws timbre::Error for audio it
  // cannot use (silent, NaN samples, a rate outside 1-384 kHz, no samples).
  Classification classify(const float* samples, size_t frames, int sample_rate, int channels) const;

 private:
  friend class ClassifierStream;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A live stream: push() chunks of any size; every time a patch's worth of audio has arrived (patch_seconds
// of it), that window is classified as a clip of its own (so its probabilities equal classify() of the same
// window) and returned. One stream per thread; the classifier must outlive it.
class ClassifierStream {
 public:
  ClassifierStream(const Classifier& classifier, int sample_rate, int channels);
  std::vector<Classification> push(const float* samples, size_t frames);
  // Frames of input per window.
  size_t window_frames() const { return window_frames_; }

 private:
  const Classifier& classifier_;
  int sample_rate_, channels_;
  size_t window_frames_;
  std::vector<float> pending_;  // interleaved samples not yet in a window
};

}  // namespace timbre
