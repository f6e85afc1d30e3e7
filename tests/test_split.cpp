// Train/validation splits: song-level (default), patch-level and from song
// lists; stratified by genre, deterministic under a seed; bad lists.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "data_test_support.h"
#include "timbre/data/split.h"

using namespace timbre;
using namespace timbre::data;
using timbre::testing::ScratchDir;
using timbre::testing::write_text;

namespace {

// `genres` x `songs` songs of `patches` patches each; patch value = its index.
PatchDataset songs_dataset(int genres, int songs, int patches) {
  PatchDataset ds;
  const int64_t n = int64_t{genres} * songs * patches;
  std::vector<float> values(static_cast<size_t>(n * 4));
  for (int64_t i = 0; i < n * 4; ++i) values[i] = static_cast<float>(i / 4);
  ds.patches = Tensor::from<float>({n, 2, 2, 1}, values);
  for (int g = 0; g < genres; ++g) {
    ds.class_names.push_back("g" + std::to_string(g));
    for (int s = 0; s < songs; ++s) {
      const auto id = static_cast<int32_t>(ds.song_names.size());
      ds.song_names.push_back("g" + std::to_string(g) + "/g" + std::to_string(g) + ".000" + std::to_string(s) + ".wav");
      for (int p = 0; p < patches; ++p) ds.labels.push_back(g), ds.songs.push_back(id);
    }
  }
  return ds;
}

std::set<int32_t> song_set(const PatchDataset& d) { return {d.songs.begin(), d.songs.end()}; }

std::vector<int64_t> per_class(const PatchDataset& d) {
  std::vector<int64_t> c(static_cast<size_t>(d.num_classes()), 0);
  for (int32_t l : d.labels) ++c[l];
  return c;
}

}  // namespace

TEST_CASE("song-level split keeps songs whole, stratified and seeded", "[split]") {
  const PatchDataset ds = songs_dataset(4, 10, 3);
  const Split a = split_dataset(ds, {});
  CHECK(a.train.size() + a.validation.size() == ds.size());
  CHECK(per_class(a.validation) == std::vector<int64_t>{6, 6, 6, 6});  // 2 of 10 songs per genre, 3 patches each
  const std::set<int32_t> train_songs = song_set(a.train), val_songs = song_set(a.validation);
  for (int32_t s : val_songs) CHECK(train_songs.count(s) == 0);
  CHECK(val_songs.size() == 8);
  // Patches keep their data and order.
  const std::vector<float> v = a.validation.patches.to_vector<float>();
  for (int64_t i = 1; i < a.validation.size(); ++i) CHECK(v[i * 4] > v[(i - 1) * 4]);
  // Same seed, same split; another seed, another split.
  const Split again = split_dataset(ds, {});
  CHECK(again.validation.songs == a.validation.songs);
  SplitOptions other;
  other.seed = 43;
  CHECK(split_dataset(ds, other).validation.songs != a.validation.songs);
}

TEST_CASE("patch-level split takes a fraction of each genre's patches", "[split]") {
  const PatchDataset ds = songs_dataset(3, 4, 5);
  SplitOptions o;
  o.kind = SplitOptions::patch;
  const Split s = split_dataset(ds, o);
  CHECK(per_class(s.validation) == std::vector<int64_t>{4, 4, 4});
  CHECK(per_class(s.train) == std::vector<int64_t>{16, 16, 16});
  CHECK(split_dataset(ds, o).validation.patches.to_vector<float>() == s.validation.patches.to_vector<float>());
}

TEST_CASE("files split follows the given song lists", "[split]") {
  ScratchDir dir("split-lists");
  const PatchDataset ds = songs_dataset(2, 3, 2);
  write_text(dir / "val.txt", "# validation songs\ng0/g0.0001.wav\n\n  g1.0002.wav  \n");
  SplitOptions o;
  o.kind = SplitOptions::files;
  o.validation_list = dir / "val.txt";
  Split s = split_dataset(ds, o);
  CHECK(song_set(s.validation) == std::set<int32_t>{1, 5});
  CHECK(s.train.size() == 8);
  // Both lists: songs in neither are left out.
  write_text(dir / "train.txt", "g0/g0.0000.wav\ng1/g1.0000.wav\n");
  o.train_list = dir / "train.txt";
  s = split_dataset(ds, o);
  CHECK(song_set(s.train) == std::set<int32_t>{0, 3});
  CHECK(song_set(s.validation) == std::set<int32_t>{1, 5});
}

TEST_CASE("bad split settings and lists are errors naming the problem", "[split][bad-input]") {
  ScratchDir dir("split-bad");
  const PatchDataset ds = songs_dataset(2, 3, 2);
  SplitOptions o;
  o.kind = SplitOptions::files;
  write_text(dir / "val.txt", "g0/g0.0001.wav\ng7/g7.0001.wav\n");
  o.validation_list = dir / "val.txt";
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("val.txt") && Catch::Contains("line 2") &&
                                              Catch::Contains("\"g7/g7.0001.wav\" is not a song"));
  write_text(dir / "unknown_genre.txt", "rock/g0.0001.wav\n");
  o.validation_list = dir / "unknown_genre.txt";
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("unknown_genre.txt") && Catch::Contains("not a song"));
  o.validation_list = dir / "missing.txt";
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("missing.txt") && Catch::Contains("cannot open"));
  write_text(dir / "a.txt", "g0/g0.0001.wav\n");
  o.train_list = o.validation_list = dir / "a.txt";
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("in both"));
  o = {};
  o.kind = SplitOptions::files;
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("needs train_list or validation_list"));
  o = {};
  o.validation_fraction = 1.0;
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("validation_fraction"));
  PatchDataset anonymous = ds;
  anonymous.songs.assign(anonymous.labels.size(), -1);
  CHECK_THROWS_WITH(split_dataset(anonymous, {}), Catch::Contains("needs every patch's song"));
  SplitOptions by_patch;
  by_patch.kind = SplitOptions::patch;
  CHECK(split_dataset(anonymous, by_patch).validation.size() == 2);
}

TEST_CASE("k-fold split by song: the folds partition the songs, stratified and seeded", "[split]") {
  const PatchDataset ds = songs_dataset(4, 10, 3);
  SplitOptions o;
  o.kind = SplitOptions::k_fold;
  o.folds = 3;
  std::vector<int> times_validated(ds.song_names.size(), 0);
  for (int k = 0; k < 3; ++k) {
    o.fold = k;
    const Split s = split_dataset(ds, o);
    CHECK(s.train.size() + s.validation.size() == ds.size());
    const std::set<int32_t> train_songs = song_set(s.train), val_songs = song_set(s.validation);
    for (int32_t v : val_songs) {
      CHECK(train_songs.count(v) == 0);
      ++times_validated[static_cast<size_t>(v)];
    }
    for (int64_t c : per_class(s.validation)) CHECK((c == 9 || c == 12));  // 3 or 4 of a genre's 10 songs
    CHECK(split_dataset(ds, o).validation.songs == s.validation.songs);
  }
  CHECK(std::all_of(times_validated.begin(), times_validated.end(), [](int n) { return n == 1; }));
  o.fold = 0;
  SplitOptions reseeded = o;
  reseeded.seed = 7;
  CHECK(split_dataset(ds, reseeded).validation.songs != split_dataset(ds, o).validation.songs);
  o.fold = 3;
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("0 <= fold < folds"));
  o.fold = 0;
  o.folds = 11;
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("genre \"g0\" has 10 songs, fewer than the 11 folds"));
}

TEST_CASE("a given split puts each song on its listed side", "[split]") {
  const PatchDataset ds = songs_dataset(2, 2, 1);
  SplitOptions o;
  o.kind = SplitOptions::given;
  o.song_sides = {1, 0, -1, 0};
  const Split s = split_dataset(ds, o);
  CHECK(s.validation.songs == std::vector<int32_t>{0});
  CHECK(s.train.songs == std::vector<int32_t>{1, 3});
  o.song_sides = {1, 0};
  CHECK_THROWS_WITH(split_dataset(ds, o), Catch::Contains("song_sides has 2 entries for 4 songs"));
}
