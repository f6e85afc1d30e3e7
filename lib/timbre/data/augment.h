// Training-time augmentation of log-mel batches, drawn anew every epoch: a
// random crop of each song (instead of the same fixed patches), SpecAugment's
// time and frequency masks, a random gain, mixup, and label smoothing. Every
// draw comes from the Generator given, so a seeded run is reproducible.
#pragma once

#include <cstdint>

#include "timbre/core/random.h"
#include "timbre/data/batcher.h"
#include "timbre/data/dataset.h"

namespace timbre::data {

struct Augmentation {
  // Each patch is replaced by a window of the same width starting at a random frame offset in the song: the
  // frames of the patch from the offset on, then the start of the song's next patch (the previous one's end
  // for a song's last patch). Needs a song's patches side by side without overlap, in time order, as the
  // readers cut them with the default patch hop and a song-level split keeps them.
  bool random_crop = false;
  int time_masks = 0;         // SpecAugment: masks of up to time_mask_frames frames each,
  int time_mask_frames = 0;   // filled with the patch's mean
  int freq_masks = 0;         // and of up to freq_mask_bands mel bands each
  int freq_mask_bands = 0;
  double gain_db = 0;         // a random gain in [-gain_db, gain_db] dB per patch (added to its dB values)
  double mixup_alpha = 0;     // > 0: each row mixed with another row of the batch, weight ~ Beta(alpha, alpha)
  double label_smoothing = 0; // targets (1 - s) one-hot + s / classes

  bool any() const {
    return random_crop || (time_masks > 0 && time_mask_frames > 0) || (freq_masks > 0 && freq_mask_bands > 0) ||
           gain_db > 0 || mixup_alpha > 0 || label_smoothing > 0;
  }
  // Throws timbre::Error naming the setting that is out of range.
  void validate() const;
};

// Applies `a` to `batch` (rows gathered from `dataset`, whose indices it holds) in place. The labels keep
// each row's own class (for accuracy); the targets carry mixup's and smoothing's soft rows.
void augment_batch(Batch& batch, const PatchDataset& dataset, const Augmentation& a, Generator& rng);

}  // namespace timbre::data
