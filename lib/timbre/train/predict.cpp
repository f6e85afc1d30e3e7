#include "timbre/train/predict.h"

#include <algorithm>

#include "timbre/train/metrics.h"

namespace timbre::train {

FilePrediction predict_file(nn::Module& model, const std::string& path, const data::FeatureOptions& features, int64_t batch_size, Device device) {
  const Tensor patches = data::patches_from_file(path, features);
  const std::vector<float> p = predict_probabilities(model, patches, batch_size, device).to_vector<float>();
  FilePrediction out;
  out.patches = patches.dim(0);
  const int64_t classes = static_cast<int64_t>(p.size()) / out.patches;
  out.probabilities.assign(static_cast<size_t>(classes), 0.0);
  for (int64_t i = 0; i < out.patches; ++i) {
    const float* row = p.data() + i * classes;
    for (int64_t c = 0; c < classes; ++c)
      out.probabilities[static_cast<size_t>(c)] += row[c] / static_cast<double>(out.patches);
    out.patch_votes.push_back(static_cast<int32_t>(std::max_element(row, row + classes) - row));
  }
  return out;
}

}  // namespace timbre::train
