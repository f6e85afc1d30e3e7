#include "timbre/data/augment.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "timbre/core/error.h"

namespace timbre::data {

namespace {

// Draws from the generator's 64-bit output alone, so the same seed gives the same draws with every library.
double uniform01(Generator& g) { return static_cast<double>(g.next_u64() >> 11) * 0x1.0p-53; }
int64_t below(Generator& g, int64_t n) { return static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(n)); }

// A patch (H bands x W frames) as the frames [offset, offset + W) of `first` followed by `second`.
void join_frames(const float* first, const float* second, int64_t offset, int64_t bands, int64_t width, float* out) {
  for (int64_t m = 0; m < bands; ++m) {
    const float* a = first + m * width;
    const float* b = second + m * width;
    float* o = out + m * width;
    std::copy(a + offset, a + width, o);
    std::copy(b, b + offset, o + (width - offset));
  }
}

void random_crop(float* row, int64_t i, const PatchDataset& ds, int64_t bands, int64_t width, Generator& rng) {
  const int64_t offset = below(rng, width);
  const int32_t song = ds.songs.empty() ? -1 : ds.songs[static_cast<size_t>(i)];
  if (offset == 0 || song < 0) return;
  const int64_t per = bands * width;
  const float* all = ds.patches.data<float>();
  if (i + 1 < ds.size() && ds.songs[static_cast<size_t>(i + 1)] == song)
    join_frames(all + i * per, all + (i + 1) * per, offset, bands, width, row);
  else if (i > 0 && ds.songs[static_cast<size_t>(i - 1)] == song)  // the song's last patch: shift back
    join_frames(all + (i - 1) * per, all + i * per, width - offset, bands, width, row);
}

void mask(float* row, int64_t bands, int64_t width, bool along_time, int64_t longest, float fill, Generator& rng) {
  const int64_t extent = along_time ? width : bands;
  const int64_t length = below(rng, std::min(longest, extent) + 1);
  const int64_t start = below(rng, extent - length + 1);
  for (int64_t m = 0; m < bands; ++m)
    for (int64_t t = 0; t < width; ++t) {
      const int64_t at = along_time ? t : m;
      if (at >= start && at < start + length) row[m * width + t] = fill;
    }
}

double beta(double alpha, Generator& rng) {
  std::gamma_distribution<double> gamma(alpha, 1.0);
  const double x = gamma(rng.engine()), y = gamma(rng.engine());
  return x + y > 0 ? x / (x + y) : 0.5;
}

void mixup(Batch& b, double alpha, Generator& rng) {
  const int64_t rows = b.inputs.dim(0), per = b.inputs.numel() / std::max<int64_t>(rows, 1);
  const int64_t classes = b.targets.dim(1);
  std::vector<int64_t> partner(static_cast<size_t>(rows));
  std::iota(partner.begin(), partner.end(), 0);
  for (int64_t r = rows - 1; r > 0; --r) std::swap(partner[static_cast<size_t>(r)], partner[static_cast<size_t>(below(rng, r + 1))]);
  const std::vector<float> x0 = b.inputs.to_vector<float>(), t0 = b.targets.to_vector<float>();
  float* x = b.inputs.data<float>();
  float* t = b.targets.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const double l = beta(alpha, rng);
    const auto own = static_cast<float>(std::max(l, 1 - l));  // the row's own class keeps the larger weight
    const int64_t j = partner[static_cast<size_t>(r)];
    for (int64_t k = 0; k < per; ++k) x[r * per + k] = own * x0[r * per + k] + (1 - own) * x0[j * per + k];
    for (int64_t c = 0; c < classes; ++c) t[r * classes + c] = own * t0[r * classes + c] + (1 - own) * t0[j * classes + c];
  }
}

}  // namespace

void Augmentation::validate() const {
  const std::string where = "augmentation";
  check(time_masks >= 0 && time_mask_frames >= 0 && freq_masks >= 0 && freq_mask_bands >= 0, where,
        "mask counts and sizes must be non-negative");
  check(gain_db >= 0 && gain_db <= 60, where, "gain_db must be in [0, 60], got ", gain_db);
  check(mixup_alpha >= 0 && mixup_alpha <= 100, where, "mixup_alpha must be in [0, 100], got ", mixup_alpha);
  check(label_smoothing >= 0 && label_smoothing < 1, where, "label_smoothing must be in [0, 1), got ", label_smoothing);
}

void augment_batch(Batch& b, const PatchDataset& ds, const Augmentation& a, Generator& rng) {
  const Shape sample = ds.sample_shape();
  check(sample.rank() == 3 && sample[2] == 1, "augment_batch", "expected patches (H, W, 1), got ", sample);
  const int64_t bands = sample[0], width = sample[1], per = bands * width;
  float* x = b.inputs.data<float>();
  for (size_t r = 0; r < b.indices.size(); ++r) {
    float* row = x + static_cast<int64_t>(r) * per;
    if (a.random_crop) random_crop(row, b.indices[r], ds, bands, width, rng);
    if (a.gain_db > 0) {
      const auto gain = static_cast<float>((2 * uniform01(rng) - 1) * a.gain_db);
      for (int64_t k = 0; k < per; ++k) row[k] += gain;
    }
    if ((a.time_masks > 0 && a.time_mask_frames > 0) || (a.freq_masks > 0 && a.freq_mask_bands > 0)) {
      const auto fill = static_cast<float>(std::accumulate(row, row + per, 0.0) / static_cast<double>(per));
      for (int k = 0; k < a.time_masks && a.time_mask_frames > 0; ++k)
        mask(row, bands, width, true, a.time_mask_frames, fill, rng);
      for (int k = 0; k < a.freq_masks && a.freq_mask_bands > 0; ++k)
        mask(row, bands, width, false, a.freq_mask_bands, fill, rng);
    }
  }
  if (a.mixup_alpha > 0) mixup(b, a.mixup_alpha, rng);
  if (a.label_smoothing > 0) {
    const auto classes = static_cast<float>(b.targets.dim(1));
    const auto s = static_cast<float>(a.label_smoothing);
    float* t = b.targets.data<float>();
    for (int64_t k = 0; k < b.targets.numel(); ++k) t[k] = (1 - s) * t[k] + s / classes;
  }
}

}  // namespace timbre::data
