// GTZAN-style folders: discovery, labels and names, skipping bad files with a
// warning, the feature cache, and folders that cannot be used.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

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
  // A torn entry, then one whose patch bytes changed (its checksum no longer matches): both are misses,
  // reported as damaged, and extracted again to the same patches.
  std::string whole;
  {
    std::ifstream in(cache.entry_path(h), std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string flipped = whole;
  flipped[flipped.size() - 100] ^= 0x04;
  for (const std::string& damage : {std::string("TMBRPC02 garbage"), flipped}) {
    timbre::testing::write_text(cache.entry_path(h), damage);
    bool damaged = false;
    CHECK_FALSE(cache.load(h, &damaged).has_value());
    CHECK(damaged);
    GtzanReport report;
    const PatchDataset b = load_gtzan(dir / "data", o, &report);
    CHECK(report.extracted == 1);
    CHECK(report.cache_repaired == 1);
    CHECK_THAT(report.summary(), Catch::Contains("1 damaged cache entries extracted again"));
    CHECK(b.patches.to_vector<float>() == a.patches.to_vector<float>());
  }
  bool damaged = false;
  CHECK(cache.load(h, &damaged).has_value());  // replaced by a good entry
  CHECK_FALSE(damaged);
}

TEST_CASE("the feature cache keeps within its size by removing the least recently used entries", "[gtzan][cache]") {
  ScratchDir dir("gtzan-cache-prune");
  const FeatureCache cache(dir / "cache", FeatureOptions{});
  const Tensor patches = Tensor::zeros({2, 80, 80, 1});  // 51,200 bytes an entry
  const auto now = fs::file_time_type::clock::now();
  for (uint64_t h = 1; h <= 4; ++h) {
    cache.store(h, patches);
    fs::last_write_time(cache.entry_path(h), now - std::chrono::minutes(10 * (5 - h)));  // entry 1 the oldest
  }
  timbre::testing::write_text(dir / "cache/x.patches.tmp.99.0", "a killed writer's");
  fs::last_write_time(dir / "cache/x.patches.tmp.99.0", now - std::chrono::hours(2));
  REQUIRE(cache.load(1).has_value());  // used now: the most recent
  const uintmax_t entry = fs::file_size(cache.entry_path(1));
  CHECK(cache.prune(2 * entry) == 2);
  CHECK(fs::exists(cache.entry_path(1)));
  CHECK_FALSE(fs::exists(cache.entry_path(2)));
  CHECK_FALSE(fs::exists(cache.entry_path(3)));
  CHECK(fs::exists(cache.entry_path(4)));
  CHECK_FALSE(fs::exists(dir / "cache/x.patches.tmp.99.0"));
  CHECK(cache.prune(2 * entry) == 0);
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

TEST_CASE("a folder of clips of mixed lengths, formats and nesting loads with the defaults", "[gtzan]") {
  ScratchDir dir("gtzan-mixed");
  using timbre::testing::tone;
  using timbre::testing::write_audio;
  const std::string root = dir / "music";
  fs::create_directories(root + "/blues/live/1999");
  fs::create_directories(root + "/jazz/.hidden");
  fs::create_directories(root + "/.timbre-cache");
  write_wav(root + "/blues/a.wav", tone(220, 6.0), 22050);                                          // 3 patches
  write_audio(root + "/blues/live/1999/b.FLAC", tone(330, 3.0, 44100), 44100, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);  // 1
  write_audio(root + "/jazz/c.ogg", tone(440, 20.0), 22050, SF_FORMAT_OGG | SF_FORMAT_VORBIS);      // 10 patches
  write_audio(root + "/jazz/d.AIFF", tone(550, 1.5), 22050, SF_FORMAT_AIFF | SF_FORMAT_PCM_16);     // 1, padded
  write_wav(root + "/jazz/e.wav", tone(660, 0.5), 22050);                                           // too short
  write_wav(root + "/jazz/.hidden/f.wav", tone(660, 6.0), 22050);                                   // not a song
  write_wav(root + "/jazz/silence.au", std::vector<float>(66150, 0.0f), 22050);                    // silent
  GtzanReport report;
  const PatchDataset ds = load_gtzan(root, {}, &report);
  CHECK(ds.class_names == std::vector<std::string>{"blues", "jazz"});
  CHECK(ds.song_names == std::vector<std::string>{"blues/a.wav", "blues/live/1999/b.FLAC", "jazz/c.ogg", "jazz/d.AIFF"});
  CHECK(ds.size() == 3 + 1 + 10 + 1);
  CHECK(report.skipped_for(ClipProblem::too_short) == 1);
  CHECK(report.skipped_for(ClipProblem::silent) == 1);
  CHECK(report.summary() == "used 4 of 6 files (15 patches; 4 extracted, 0 from the cache); skipped 2: 1 too short, 1 silent");
}

TEST_CASE("a list file of path,genre[,split] rows is a data set with its own split", "[gtzan][list]") {
  ScratchDir dir("gtzan-list");
  using timbre::testing::tone;
  using timbre::testing::write_text;
  fs::create_directories(dir / "audio/x");
  for (const char* name : {"a", "b", "c", "d", "e"}) write_wav(dir / "audio/x/" + name + ".wav", tone(200, 2.0), 22050);
  write_wav(dir / "audio/x/with, comma.wav", tone(300, 2.0), 22050);
  const std::string list = dir / "tracks.csv";
  write_text(list, "path,genre,split\n# a comment\naudio/x/a.wav,rock,train\naudio/x/b.wav, pop ,VAL\n"
                   "\"audio/x/with, comma.wav\",rock,validation\naudio/x/c.wav,pop,train\n"
                   "audio/x/d.wav,rock,test\naudio/x/e.wav,folk,train\naudio/x/gone.wav,pop,train\n");
  GtzanReport report;
  GtzanOptions two;
  two.genres = {"rock", "pop"};
  const TrackList t = load_track_list(list, two, &report);
  CHECK(t.has_splits);
  CHECK(t.dataset.class_names == std::vector<std::string>{"rock", "pop"});
  CHECK(t.dataset.song_names == std::vector<std::string>{"audio/x/a.wav", "audio/x/b.wav", "audio/x/with, comma.wav",
                                                         "audio/x/c.wav"});
  CHECK(t.song_splits == std::vector<std::string>{"train", "validation", "validation", "train"});
  CHECK(t.dataset.labels == std::vector<int32_t>{0, 1, 0, 1});
  CHECK(report.left_out == 2);  // the test row and the folk row
  REQUIRE(report.skipped.size() == 1);
  CHECK_THAT(report.skipped[0].message, Catch::Contains("gone.wav"));
  // Without --genres the genres are the list's own, sorted; the cache sits beside the list.
  const TrackList all = load_track_list(list);
  CHECK(all.dataset.class_names == std::vector<std::string>{"folk", "pop", "rock"});
  CHECK(fs::is_directory(dir / ".timbre-cache"));

  const auto error_for = [&](const std::string& text, const std::string& expected) {
    write_text(list, text);
    CHECK_THROWS_WITH(load_track_list(list), Catch::Contains(list) && Catch::Contains(expected));
  };
  error_for("audio/x/a.wav\n", "line 1: expected path,genre or path,genre,split, got 1 fields");
  error_for("audio/x/a.wav,rock,holdout\naudio/x/b.wav,pop,train\n", "line 1: split \"holdout\" is none of");
  error_for("audio/x/a.wav,rock\naudio/x/a.wav,pop\n", "line 2: \"audio/x/a.wav\" is listed twice");
  error_for("audio/x/a.wav,rock,train\naudio/x/b.wav,pop\n", "some rows name a split and others do not");
  error_for("audio/x/a.wav,rock\naudio/x/b.wav,rock\n", "need at least two genres");
  error_for("\"audio/x/a.wav,rock\n", "a quoted field is not closed");
  error_for("path,genre\n", "lists no files");
  GtzanOptions polka;
  polka.genres = {"rock", "polka"};
  write_text(list, "audio/x/a.wav,rock\naudio/x/b.wav,pop\n");
  CHECK_THROWS_WITH(load_track_list(list, polka), Catch::Contains("no row of genre \"polka\""));
  CHECK_THROWS_WITH(load_track_list(dir / "none.csv"), Catch::Contains("cannot open"));
}
