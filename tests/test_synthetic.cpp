// The synthetic default data set: deterministic, labelled, sized as documented,
// learnable by a simple classifier but not trivially.
#include <catch2/catch.hpp>

#include <cmath>

#include "timbre/core/parallel.h"
#include "timbre/data/split.h"
#include "timbre/data/synthetic.h"

using namespace timbre;
using namespace timbre::data;

namespace {

SyntheticOptions small(int64_t songs, double seconds) {
  SyntheticOptions o;
  o.songs_per_genre = songs;
  o.clip_seconds = seconds;
  return o;
}

FeatureOptions patches_per_clip(int64_t n) {
  FeatureOptions f;
  f.patch.patches_per_clip = n;
  return f;
}

}  // namespace

TEST_CASE("synthetic songs are deterministic and differ between seeds and songs", "[synthetic]") {
  const SyntheticOptions o = small(1, 3.0);
  const std::vector<float> a = synthesize_song("reggae", 3, o), b = synthesize_song("reggae", 3, o);
  REQUIRE(a.size() == static_cast<size_t>(3.0 * 22050));
  CHECK(a == b);
  CHECK(a != synthesize_song("reggae", 4, o));
  SyntheticOptions other_seed = o;
  other_seed.seed = 8;
  CHECK(a != synthesize_song("reggae", 3, other_seed));
  // Audible and inside [-1, 1].
  float peak = 0;
  for (float v : a) peak = std::max(peak, std::abs(v));
  CHECK(peak > 0.25f);
  CHECK(peak <= 1.0f);
}

TEST_CASE("synthetic data set: shapes, labels, names, thread-independent", "[synthetic]") {
  SyntheticOptions o = small(2, 4.0);
  o.genres = {"metal", "ambient", "techno"};
  const int threads = num_threads();
  set_num_threads(1);
  const PatchDataset one = make_synthetic_dataset(o, patches_per_clip(2));
  set_num_threads(2);
  const PatchDataset two = make_synthetic_dataset(o, patches_per_clip(2));
  set_num_threads(threads);
  REQUIRE(one.patches.shape() == Shape{12, 80, 80, 1});
  CHECK(one.class_names == std::vector<std::string>{"metal", "ambient", "techno"});
  CHECK(one.labels == std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  CHECK(one.songs == std::vector<int32_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5});
  CHECK(one.song_names.front() == "metal/metal.00000.wav");
  CHECK(one.song_names.back() == "techno/techno.00001.wav");
  CHECK(one.patches.to_vector<float>() == two.patches.to_vector<float>());
  // A song's audio does not depend on which other genres are chosen.
  SyntheticOptions only_techno = small(2, 4.0);
  only_techno.genres = {"techno"};
  const PatchDataset t = make_synthetic_dataset(only_techno, patches_per_clip(2));
  const std::vector<float> all = one.patches.to_vector<float>(), mine = t.patches.to_vector<float>();
  CHECK(std::equal(mine.begin(), mine.end(), all.end() - static_cast<int64_t>(mine.size())));
}

TEST_CASE("the default synthetic set holds 8 x 40 songs x 15 patches", "[synthetic]") {
  const SyntheticOptions o;
  CHECK(synthetic_genre_names().size() == 8);
  CHECK(o.songs_per_genre == 40);
  const MelExtractor mel(22050);
  const int64_t frames = mel.frames_for(static_cast<int64_t>(o.clip_seconds * 22050));
  CHECK(frames >= 15 * 80);  // every clip yields its 15 patches: 4,800 patches in all
}

TEST_CASE("synthetic genres are learnable but not trivially", "[synthetic]") {
  // A nearest-centroid classifier on each patch's per-band mean and spread,
  // trained on half the songs of each genre and scored on the other half.
  const PatchDataset ds = make_synthetic_dataset(small(8, 10.0), patches_per_clip(5));
  SplitOptions half;
  half.validation_fraction = 0.5;
  const Split split = split_dataset(ds, half);
  const int64_t H = 80, W = 80, C = ds.num_classes();
  auto features = [&](const PatchDataset& d, int64_t i) {
    std::vector<double> f(2 * H);
    const float* p = d.patches.data<float>() + i * H * W;
    for (int64_t m = 0; m < H; ++m) {
      double s = 0, ss = 0;
      for (int64_t t = 0; t < W; ++t) s += p[m * W + t], ss += double(p[m * W + t]) * p[m * W + t];
      f[m] = s / W;
      f[H + m] = std::sqrt(std::max(0.0, ss / W - f[m] * f[m]));
    }
    return f;
  };
  std::vector<std::vector<double>> centroid(C, std::vector<double>(2 * H, 0.0));
  std::vector<int64_t> count(C, 0);
  for (int64_t i = 0; i < split.train.size(); ++i) {
    const auto f = features(split.train, i);
    for (int64_t k = 0; k < 2 * H; ++k) centroid[split.train.labels[i]][k] += f[k];
    ++count[split.train.labels[i]];
  }
  for (int64_t c = 0; c < C; ++c)
    for (double& v : centroid[c]) v /= static_cast<double>(count[c]);
  int64_t right = 0;
  for (int64_t i = 0; i < split.validation.size(); ++i) {
    const auto f = features(split.validation, i);
    int64_t best = 0;
    double best_d = 1e300;
    for (int64_t c = 0; c < C; ++c) {
      double d = 0;
      for (int64_t k = 0; k < 2 * H; ++k) d += (f[k] - centroid[c][k]) * (f[k] - centroid[c][k]);
      if (d < best_d) best_d = d, best = c;
    }
    right += best == split.validation.labels[i];
  }
  const double accuracy = static_cast<double>(right) / static_cast<double>(split.validation.size());
  INFO("nearest-centroid accuracy " << accuracy << " (chance 0.125)");
  CHECK(accuracy > 0.3);
  CHECK(accuracy < 0.95);
}

TEST_CASE("synthetic options are checked", "[synthetic][bad-input]") {
  SyntheticOptions o = small(1, 2.0);
  o.genres = {"ambient", "polka"};
  CHECK_THROWS_WITH(make_synthetic_dataset(o), Catch::Contains("unknown genre \"polka\""));
  // 2 s clips hold 87 frames, not the seed's 15 patches of 80.
  CHECK_THROWS_WITH(make_synthetic_dataset(small(1, 2.0), FeatureOptions::seed()),
                    Catch::Contains("ambient/ambient.00000.wav") && Catch::Contains("clip too short"));
  CHECK_THROWS_WITH(make_synthetic_dataset(small(0, 2.0)), Catch::Contains("songs_per_genre"));
}
