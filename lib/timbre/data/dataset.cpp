#include "timbre/data/dataset.h"

#include <cstring>

#include "timbre/core/error.h"

namespace timbre::data {

PatchDataset PatchDataset::subset(const std::vector<int64_t>& indices) const {
  PatchDataset out;
  out.class_names = class_names;
  out.song_names = song_names;
  Shape shape = patches.shape();
  shape[0] = static_cast<int64_t>(indices.size());
  out.patches = Tensor::empty(shape, patches.dtype());
  const int64_t per = sample_shape().numel();
  const float* src = patches.data<float>();
  float* dst = out.patches.data<float>();
  out.labels.reserve(indices.size());
  out.songs.reserve(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t j = indices[i];
    check(j >= 0 && j < size(), "PatchDataset::subset", "index ", j, " out of range [0, ", size(), ")");
    std::memcpy(dst + i * per, src + j * per, sizeof(float) * per);
    out.labels.push_back(labels[j]);
    out.songs.push_back(songs.empty() ? -1 : songs[j]);
  }
  return out;
}

void PatchDataset::validate(const std::string& source) const {
  check(patches.defined() && patches.rank() >= 2, source, "no patches");
  check(patches.dtype() == DType::f32, source, "patches must be float32");
  check(patches.dim(0) == size(), source, patches.dim(0), " patches but ", size(), " labels");
  check(songs.empty() || static_cast<int64_t>(songs.size()) == size(), source, songs.size(), " song ids but ",
        size(), " labels");
  for (int32_t l : labels)
    check(l >= 0 && l < num_classes(), source, "label ", l, " outside [0, ", num_classes(), ")");
  for (int32_t s : songs)
    check(s >= -1 && s < static_cast<int32_t>(song_names.size()), source, "song id ", s, " outside [-1, ",
          song_names.size(), ")");
}

}  // namespace timbre::data
