// GTZAN-style folders: discovery, labels and names, skipping bad files with a
// warning, the feature cache, and folders that cannot be used.
#include <catch2/catch.hpp>

#include <filesystem>

#include "data_test_support.h"
#include "timbre/data/audio.h"
#include "timbre/data/cache.h"
#include "timbre/data/gtzan.h"
#include "timbre/data/synthetic.h"

using namespace timbre;
using namespace timbre::data;
using timbre::testing::ScratchDir;
namespace fs = std::filesystem;

namespace {

// A small GTZAN-style folder: 3 genres x 2 songs of 6 s (259 frames: 3 patches of 80 frames each).
SyntheticOptions tiny() {
  SyntheticOptions o;
  o.songs_per_genre = 2;
  o.clip_seconds = 6.0;
  o.genres = {"metal", "classical", "reggae"};
  return o;
}

// Exactly 3 patches per clip, a clip too short for them skipped.
GtzanOptions three_patches(const std::string& cache_dir) {
  GtzanOptions o;
  o.features.patch.patches_per_clip = 3;
  o.features.patch.short_clip = PatchOptions::ShortClip::fail;
  o.cache_dir = cache_dir;
  return o;
}

}  // namespace

TEST_CASE("load_gtzan reads a genre folder tree like the synthetic set it was written from", "[gtzan]") {
  ScratchDir dir("gtzan-read");
  write_synthetic_gtzan(dir / "data", tiny());
  GtzanReport report;
  const PatchDataset ds = load_gtzan(dir / "data", three_patches(dir / "cache"), &report);
  CHECK(ds.class_names == std::vector<std::string>{"classical", "metal", "reggae"});  // sorted folder names
  REQUIRE(ds.patches.shape() == Shape{18, 80, 80, 1});
  CHECK(ds.song_names == std::vector<std::string>{"classical/classical.00000.wav", "classical/classical.00001.wav",
                                                  "metal/metal.00000.wav", "metal/metal.00001.wav",
                                                  "reggae/reggae.00000.wav", "reggae/reggae.00001.wav"});
  CHECK(ds.labels == std::vector<int32_t>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});
  CHECK(ds.songs == std::vector<int32_t>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5});
  CHECK(report.files == 6);
  CHECK(report.extracted == 6);
  CHECK(report.skipped.empty());
  // The same features as extracting the file directly.
  FeatureOptions f;
  f.patch.patches_per_clip = 3;
  const std::vector<float> direct = patches_from_file(dir / "data/metal/metal.00001.wav", f).to_vector<float>();
  const std::vector<float> all = ds.patches.to_vector<float>();
  CHECK(std::equal(direct.begin(), direct.end(), all.begin() + 9 * 6400));
  // A chosen genre list sets the labels' order.
  GtzanOptions two = three_patches(dir / "cache");
  two.genres = {"reggae", "metal"};
  const PatchDataset r = load_gtzan(dir / "data", two);
  CHECK(r.class_names == two.genres);
  CHECK(r.song_names.front() == "reggae/reggae.00000.wav");
  CHECK(r.size() == 12);
}

TEST_CASE("bad files in a GTZAN folder are skipped with a warning naming them", "[gtzan][bad-input]") {
  ScratchDir dir("gtzan-skip");
  write_synthetic_gtzan(dir / "data", tiny());
  const std::string metal = dir / "data/metal/";
  timbre::testing::copy_prefix(metal + "metal.00000.wav", metal + "metal.00002.wav", 50000);  // truncated
  timbre::testing::write_text(metal + "metal.00003.wav", "RIFF....WAVEjunk");                  // corrupt header
  write_wav(metal + "metal.00004.au", std::vector<float>(22050, 0.1f), 22050);                 // 1 s: too short
  timbre::testing::write_text(metal + "notes.txt", "not audio, not read");
  GtzanReport report;
  const PatchDataset ds = load_gtzan(dir / "data", three_patches(dir / "cache"), &report);
  CHECK(ds.size() == 18);
  CHECK(report.files == 9);
  REQUIRE(report.skipped.size() == 3);
  CHECK_THAT(report.skipped[0].message, Catch::Contains("metal.00002.wav") && Catch::Contains("truncated"));
  CHECK_THAT(report.skipped[1].message, Catch::Contains("metal.00003.wav") && Catch::Contains("cannot decode"));
  CHECK_THAT(report.skipped[2].message, Catch::Contains("metal.00004.au") && Catch::Contains("clip too short"));
  CHECK(report.skipped_for(ClipProblem::unreadable) == 2);
  CHECK(report.skipped_for(ClipProblem::too_short) == 1);
  CHECK(report.summary() == "used 6 of 9 files (18 patches; 6 extracted, 0 from the cache); skipped 3: 2 unreadable, 1 too short");
}

TEST_CASE("the feature cache skips extraction and notices changed files and options", "[gtzan][cache]") {
  ScratchDir dir("gtzan-cache");
  write_synthetic_gtzan(dir / "data", tiny());
  const GtzanOptions o = three_patches("");  // the default cache folder, <root>/.timbre-cache
  GtzanReport first, second, third, fourth;
  const PatchDataset a = load_gtzan(dir / "data", o, &first);
  CHECK(first.extracted == 6);
  CHECK(fs::is_directory(dir / "data/.timbre-cache"));
  const PatchDataset b = load_gtzan(dir / "data", o, &second);
  CHECK(second.cached == 6);
  CHECK(second.extracted == 0);
  CHECK(b.patches.to_vector<float>() == a.patches.to_vector<float>());
  CHECK(b.song_names == a.song_names);
  // A changed file is extracted again, the others still come from the cache.
  SyntheticOptions other = tiny();
  other.seed = 99;
  other.genres = {"metal"};
  other.songs_per_genre = 1;
  write_synthetic_gtzan(dir / "other", other);
  fs::copy_file(dir / "other/metal/metal.00000.wav", dir / "data/metal/metal.00000.wav",
                fs::copy_options::overwrite_existing);
  load_gtzan(dir / "data", o, &third);
  CHECK(third.extracted == 1);
  CHECK(third.cached == 5);
  // A changed feature option misses every entry.
  GtzanOptions mels64 = o;
  mels64.features.mel.n_mels = 64;
  const PatchDataset c = load_gtzan(dir / "data", mels64, &fourth);
  CHECK(fourth.extracted == 6);
  CHECK(c.sample_shape() == Shape{64, 80, 1});
  // No temporary files are left behind.
  for (const auto& e : fs::directory_iterator(dir / "data/.timbre-cache"))
    CHECK(e.path().string().find(".tmp") == std::string::npos);
}

TEST_CASE("a damaged cache entry is treated as a miss", "[gtzan][cache]") {
  ScratchDir dir("gtzan-cache-damage");
  write_synthetic_gtzan(dir / "data", tiny());
  const GtzanOptions o = three_patches(dir / "cache");
  const PatchDataset a = load_gtzan(dir / "data", o);
  const FeatureCache cache(dir / "cache", o.features);
  const uint64_t h = hash_file(dir / "data/metal/metal.00001.wav");
  REQUIRE(cache.load(h).has_value());
  timbre::testing::write_text(cache.entry_path(h), "TMBRPC01 garbage");
  CHECK_FALSE(cache.load(h).has_value());
  GtzanReport report;
  const PatchDataset b = load_gtzan(dir / "data", o, &report);
  CHECK(report.extracted == 1);
  CHECK(b.patches.to_vector<float>() == a.patches.to_vector<float>());
}

TEST_CASE("unusable GTZAN folders are errors naming the problem", "[gtzan][bad-input]") {
  ScratchDir dir("gtzan-bad");
  CHECK_THROWS_WITH(load_gtzan(dir / "missing"), Catch::Contains("missing") && Catch::Contains("no such folder"));
  fs::create_directories(dir / "empty");
  CHECK_THROWS_WITH(load_gtzan(dir / "empty"), Catch::Contains("no genre folders"));
  fs::create_directories(dir / "flat");
  write_wav(dir / "flat/blues.00000.wav", std::vector<float>(1000, 0.1f), 22050);
  CHECK_THROWS_WITH(load_gtzan(dir / "flat"), Catch::Contains("flat") && Catch::Contains("no genre folders"));
  fs::create_directories(dir / "nofiles/blues");
  fs::create_directories(dir / "nofiles/jazz");
  CHECK_THROWS_WITH(load_gtzan(dir / "nofiles"), Catch::Contains("blues") && Catch::Contains("holds no audio files"));
  // One genre is nothing to classify; a genre named twice is a mistake.
  fs::create_directories(dir / "single/blues");
  CHECK_THROWS_WITH(load_gtzan(dir / "single"), Catch::Contains("need at least two genres") && Catch::Contains("blues"));
  write_synthetic_gtzan(dir / "data", tiny());
  GtzanOptions unknown = three_patches(dir / "cache");
  unknown.genres = {"metal", "polka"};
  CHECK_THROWS_WITH(load_gtzan(dir / "data", unknown), Catch::Contains("no folder for genre \"polka\""));
  GtzanOptions twice = three_patches(dir / "cache");
  twice.genres = {"metal", "metal"};
  CHECK_THROWS_WITH(load_gtzan(dir / "data", twice), Catch::Contains("genre \"metal\" is given twice"));
  // Every file unusable: an error, not an empty data set.
  fs::create_directories(dir / "broken/jazz");
  fs::create_directories(dir / "broken/rock");
  timbre::testing::write_text(dir / "broken/jazz/jazz.00054.wav", "not a wav");
  timbre::testing::write_text(dir / "broken/rock/rock.00001.wav", "not a wav either");
  CHECK_THROWS_WITH(load_gtzan(dir / "broken", three_patches(dir / "cache")),
                    Catch::Contains("none of the 2 audio files could be used"));
}
