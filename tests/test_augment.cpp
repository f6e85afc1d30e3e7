// Training-time augmentation (lib/timbre/data/augment.h): each transform on a
// batch whose values tell where every element came from, the draws' determinism,
// and the BatchLoader's per-batch seeding.
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "timbre/data/augment.h"
#include "timbre/data/batcher.h"

using namespace timbre;

namespace {

constexpr int64_t bands = 4, width = 6;

// Songs of three patches each; element (m, t) of patch i holds 1000 * i + 10 * m + t, so a value names
// its patch, band and frame. Labels cycle over three classes by song.
data::PatchDataset numbered(int64_t songs) {
  data::PatchDataset ds;
  std::vector<float> values;
  for (int64_t i = 0; i < 3 * songs; ++i) {
    for (int64_t m = 0; m < bands; ++m)
      for (int64_t t = 0; t < width; ++t) values.push_back(static_cast<float>(1000 * i + 10 * m + t));
    ds.labels.push_back(static_cast<int32_t>(i / 3 % 3));
    ds.songs.push_back(static_cast<int32_t>(i / 3));
  }
  ds.patches = Tensor::from<float>({3 * songs, bands, width, 1}, values);
  ds.class_names = {"a", "b", "c"};
  for (int64_t s = 0; s < songs; ++s) ds.song_names.push_back("song" + std::to_string(s));
  ds.validate("numbered");
  return ds;
}

data::Batch whole_batch(const data::PatchDataset& ds) {
  std::vector<int64_t> order(static_cast<size_t>(ds.size()));
  std::iota(order.begin(), order.end(), 0);
  data::BatchLoader loader(ds, order, ds.size());
  return *loader.next();
}

data::Batch augmented(const data::PatchDataset& ds, const data::Augmentation& a, uint64_t seed) {
  data::Batch b = whole_batch(ds);
  Generator rng(seed);
  data::augment_batch(b, ds, a, rng);
  return b;
}

float at(const data::Batch& b, int64_t row, int64_t m, int64_t t) {
  return b.inputs.data<float>()[(row * bands + m) * width + t];
}

}  // namespace

TEST_CASE("random crop: each patch is a window of its song at one offset for every band", "[augment]") {
  const data::PatchDataset ds = numbered(4);
  data::Augmentation a;
  a.random_crop = true;
  const data::Batch b = augmented(ds, a, 7);
  int shifted = 0;
  for (int64_t r = 0; r < ds.size(); ++r) {
    // Frame t of the window is song frame `start + t`; song frame f is patch f / width, frame f % width.
    const auto first = static_cast<int64_t>(at(b, r, 0, 0));
    const int64_t start = (first / 1000) * width + first % 10;
    const int64_t song_first_patch = r / 3 * 3;
    INFO("row " << r << " starts at song frame " << start);
    CHECK(first / 1000 / 3 == r / 3);  // never another song's frames
    for (int64_t m = 0; m < bands; ++m)
      for (int64_t t = 0; t < width; ++t) {
        const int64_t f = start + t;
        CHECK(at(b, r, m, t) == static_cast<float>(1000 * (f / width) + 10 * m + f % width));
      }
    CHECK(start >= song_first_patch * width);
    CHECK(start + width <= (song_first_patch + 3) * width);
    shifted += start != r * width;
  }
  CHECK(shifted > ds.size() / 2);  // offsets 1..5 of 0..5 shift a patch
  CHECK(b.labels == std::vector<int32_t>(ds.labels.begin(), ds.labels.end()));
}

TEST_CASE("gain adds one value in [-G, G] to a whole patch", "[augment]") {
  const data::PatchDataset ds = numbered(3);
  data::Augmentation a;
  a.gain_db = 6;
  const data::Batch plain = whole_batch(ds), b = augmented(ds, a, 3);
  std::vector<float> gains;
  for (int64_t r = 0; r < ds.size(); ++r) {
    const float g = at(b, r, 0, 0) - at(plain, r, 0, 0);
    CHECK(std::abs(g) <= 6.0f);
    for (int64_t m = 0; m < bands; ++m)
      for (int64_t t = 0; t < width; ++t) CHECK(at(b, r, m, t) - at(plain, r, m, t) == Approx(g).margin(1e-3));
    gains.push_back(g);
  }
  CHECK(std::adjacent_find(gains.begin(), gains.end()) == gains.end());  // drawn per patch
}

TEST_CASE("SpecAugment masks: whole frames or bands set to the patch mean, at most the given extent", "[augment]") {
  const data::PatchDataset ds = numbered(4);
  const data::Batch plain = whole_batch(ds);
  for (const bool along_time : {true, false}) {
    data::Augmentation a;
    (along_time ? a.time_masks : a.freq_masks) = 1;
    (along_time ? a.time_mask_frames : a.freq_mask_bands) = 3;
    const data::Batch b = augmented(ds, a, 11);
    int64_t masked_rows = 0;
    for (int64_t r = 0; r < ds.size(); ++r) {
      double mean = 0;
      for (int64_t m = 0; m < bands; ++m)
        for (int64_t t = 0; t < width; ++t) mean += at(plain, r, m, t) / static_cast<double>(bands * width);
      std::vector<int64_t> masked;  // the masked frames (or bands)
      for (int64_t k = 0; k < (along_time ? width : bands); ++k) {
        const float v = along_time ? at(b, r, 0, k) : at(b, r, k, 0);
        const float original = along_time ? at(plain, r, 0, k) : at(plain, r, k, 0);
        if (v == original) continue;
        CHECK(v == Approx(mean).margin(1e-3));
        masked.push_back(k);
        for (int64_t j = 0; j < (along_time ? bands : width); ++j)  // the whole frame or band
          CHECK((along_time ? at(b, r, j, k) : at(b, r, k, j)) == v);
      }
      CHECK(masked.size() <= 3);
      if (!masked.empty()) CHECK(masked.back() - masked.front() + 1 == static_cast<int64_t>(masked.size()));
      masked_rows += !masked.empty();
    }
    INFO((along_time ? "time" : "frequency"));
    CHECK(masked_rows > ds.size() / 2);
  }
}

TEST_CASE("mixup: convex pairs of rows, targets mixed alike, each row's own class weighs most", "[augment]") {
  const data::PatchDataset ds = numbered(6);
  data::Augmentation a;
  a.mixup_alpha = 0.4;
  const data::Batch plain = whole_batch(ds), b = augmented(ds, a, 5);
  const std::vector<float> t = b.targets.to_vector<float>();
  for (int64_t r = 0; r < ds.size(); ++r) {
    const float* row = t.data() + r * 3;
    CHECK(row[0] + row[1] + row[2] == Approx(1.0f));
    CHECK(row[b.labels[static_cast<size_t>(r)]] >= 0.5f - 1e-6f);
    // The input is own * x_r + (1 - own) * x_j for one partner j; frame 0 of band 0 gives j.
    const float own = row[b.labels[static_cast<size_t>(r)]];
    if (own > 0.999f) continue;  // a partner of the same class leaves one class at weight 1
    const float partner_value = (at(b, r, 0, 0) - own * at(plain, r, 0, 0)) / (1 - own);
    const auto j = static_cast<int64_t>(std::lround(partner_value / 1000));
    for (int64_t m = 0; m < bands; ++m)
      for (int64_t k = 0; k < width; ++k)
        CHECK(at(b, r, m, k) == Approx(own * at(plain, r, m, k) + (1 - own) * at(plain, j, m, k)).epsilon(1e-4));
  }
  CHECK(b.labels == std::vector<int32_t>(ds.labels.begin(), ds.labels.end()));  // accuracy counts the own class
}

TEST_CASE("label smoothing: (1 - s) one-hot + s / classes", "[augment]") {
  const data::PatchDataset ds = numbered(2);
  data::Augmentation a;
  a.label_smoothing = 0.3f;
  const data::Batch b = augmented(ds, a, 1);
  const std::vector<float> t = b.targets.to_vector<float>();
  for (int64_t r = 0; r < ds.size(); ++r)
    for (int64_t c = 0; c < 3; ++c)
      CHECK(t[static_cast<size_t>(r * 3 + c)] == Approx((c == ds.labels[static_cast<size_t>(r)] ? 0.7 : 0.0) + 0.1));
}

TEST_CASE("augmentation: the same seed gives the same batch, another seed another", "[augment]") {
  const data::PatchDataset ds = numbered(5);
  data::Augmentation a;
  a.random_crop = true;
  a.time_masks = a.freq_masks = 2;
  a.time_mask_frames = a.freq_mask_bands = 2;
  a.gain_db = 3;
  a.mixup_alpha = 0.2;
  a.label_smoothing = 0.1;
  CHECK(a.any());
  CHECK_FALSE(data::Augmentation{}.any());
  const data::Batch x = augmented(ds, a, 9), y = augmented(ds, a, 9), z = augmented(ds, a, 10);
  CHECK(x.inputs.to_vector<float>() == y.inputs.to_vector<float>());
  CHECK(x.targets.to_vector<float>() == y.targets.to_vector<float>());
  CHECK(x.inputs.to_vector<float>() != z.inputs.to_vector<float>());

  // The loader seeds each batch from (seed, batch number): the same batches whichever order they are built in.
  std::vector<int64_t> order(static_cast<size_t>(ds.size()));
  std::iota(order.begin(), order.end(), 0);
  auto batches = [&](uint64_t seed) {
    data::BatchLoader loader(ds, order, 4, &a, seed);
    std::vector<std::vector<float>> out;
    while (auto b = loader.next()) out.push_back(b->inputs.to_vector<float>());
    return out;
  };
  CHECK(batches(1) == batches(1));
  CHECK(batches(1) != batches(2));
}

TEST_CASE("augmentation settings out of range are refused by name", "[augment][bad-input]") {
  data::Augmentation a;
  a.label_smoothing = 1;
  CHECK_THROWS_WITH(a.validate(), Catch::Contains("label_smoothing"));
  a = {};
  a.mixup_alpha = -1;
  CHECK_THROWS_WITH(a.validate(), Catch::Contains("mixup_alpha"));
  a = {};
  a.gain_db = -2;
  CHECK_THROWS_WITH(a.validate(), Catch::Contains("gain_db"));
  a = {};
  a.time_masks = -1;
  CHECK_THROWS_WITH(a.validate(), Catch::Contains("mask"));
  // Patches that are not (H, W, 1) cannot be cropped or masked.
  data::PatchDataset flat;
  flat.patches = Tensor::zeros({2, 4}, DType::f32);
  flat.labels = {0, 1};
  flat.class_names = {"a", "b"};
  data::Batch b;
  b.inputs = Tensor::zeros({2, 4}, DType::f32);
  b.targets = Tensor::zeros({2, 2}, DType::f32);
  b.indices = {0, 1};
  Generator rng(1);
  a = {};
  a.gain_db = 1;
  CHECK_THROWS_WITH(data::augment_batch(b, flat, a, rng), Catch::Contains("expected patches (H, W, 1)"));
}
